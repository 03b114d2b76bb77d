"""The seed keys of blue/green, linear and canary services: what they become in CreateService's parameters, and
each mistake as one sentence naming its key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_ecsdeploy.emulator.seed import parse_seed
from pytest_ecsdeploy.errors import ConfigError

WHERE = "seed.toml"


def _seed(base: Path, deployment: dict[str, Any] | None = None, balancer: dict[str, Any] | None = None,
          **top: Any) -> dict[str, Any]:
    (base / "web.json").write_text(json.dumps({"family": "web", "containerDefinitions": [
        {"name": "app", "image": "placeholder"}]}))
    service: dict[str, Any] = {"task_definition": "web.json"}
    if deployment is not None:
        service["deployment_configuration"] = deployment
    if balancer is not None:
        service["load_balancer"] = {"target_group": "web-blue", "container": "app", "port": 8080, **balancer}
    return {"services": {"web": service}, **top}


def test_blue_green_keys_become_the_deployment_configuration_ecs_takes(tmp_path: Path) -> None:
    seed = parse_seed(_seed(tmp_path, {"strategy": "LINEAR", "bake_time_minutes": 3,
                                       "linear": {"step_percent": 25, "step_bake_minutes": 2},
                                       "lifecycle_hooks": [{"stages": ["POST_TEST_TRAFFIC_SHIFT"]},
                                                           {"stages": ["PRE_SCALE_UP"], "timeout_minutes": 5,
                                                            "timeout_action": "CONTINUE"}]},
                            {"alternate_target_group": "web-green", "listen_port": 8080, "test_listen_port": 9080},
                            hook_answers=[{"function": "smoke", "answers": ["IN_PROGRESS", "SUCCEEDED"],
                                           "call_back_delay": 5}]),
                      WHERE, tmp_path, {})
    service = seed.services["web"]
    assert service.deployment_configuration.as_api() == {
        "minimumHealthyPercent": 100, "maximumPercent": 200,
        "deploymentCircuitBreaker": {"enable": False, "rollback": False},
        "strategy": "LINEAR", "bakeTimeInMinutes": 3,
        "lifecycleHooks": [
            {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
             "timeoutConfiguration": {"timeoutInMinutes": 1440, "action": "ROLLBACK"}},
            {"targetType": "PAUSE", "lifecycleStages": ["PRE_SCALE_UP"],
             "timeoutConfiguration": {"timeoutInMinutes": 5, "action": "CONTINUE"}}],
        "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 2},
    }
    balancer = service.load_balancer
    assert balancer is not None
    assert (balancer.alternate_target_group, balancer.test_listener, balancer.listen_port,
            balancer.test_listen_port) == ("web-green", True, 8080, 9080)
    assert seed.hook_answers == (("smoke", ("IN_PROGRESS", "SUCCEEDED"), 5.0),)
    canary = parse_seed(_seed(tmp_path, {"strategy": "CANARY", "canary": {"percent": 0.5, "bake_minutes": 4}}),
                        WHERE, tmp_path, {})
    assert canary.services["web"].deployment_configuration.as_api()["canaryConfiguration"] == {
        "canaryPercent": 0.5, "canaryBakeTimeInMinutes": 4}


D = "seed.toml: [services.web.deployment_configuration]"
L = "seed.toml: [services.web.load_balancer]"


@pytest.mark.parametrize(
    ("deployment", "balancer", "top", "message"),
    [
        ({"strategy": "BLUE_GREEN", "bake_time_minutes": 1, "linear": {"step_percent": 10, "step_bake_minutes": 1}},
         None, {}, f"{D} linear: applies to strategy = \"LINEAR\" only, not BLUE_GREEN."),
        ({"strategy": "LINEAR", "linear": {"step_percent": 2, "step_bake_minutes": 1}}, None, {},
         "seed.toml: [services.web.deployment_configuration.linear] step_percent: expected a number from 3 to 100, "
         "got 2 (an integer)."),
        ({"strategy": "CANARY", "canary": {"percent": 5}}, None, {},
         "seed.toml: [services.web.deployment_configuration.canary]: missing the key 'bake_minutes'."),
        ({"strategy": "BLUE_GREEN", "bake_time_minutes": 1, "lifecycle_hooks": [{"stages": ["TEST_TRAFFIC_SHIFT"]}]},
         None, {}, "seed.toml: [services.web.deployment_configuration.lifecycle_hooks] entry 1 stages: expected a list "
                   "of stages among RECONCILE_SERVICE, PRE_SCALE_UP, POST_SCALE_UP, POST_TEST_TRAFFIC_SHIFT, "
                   "PRE_PRODUCTION_TRAFFIC_SHIFT, POST_PRODUCTION_TRAFFIC_SHIFT, got a list."),
        ({"lifecycle_hooks": [{"stages": ["PRE_SCALE_UP"], "timeout_minutes": 0}]}, None, {},
         "seed.toml: [services.web.deployment_configuration.lifecycle_hooks] entry 1 timeout_minutes: expected an "
         "integer from 1 to 20160, got 0."),
        ({"lifecycle_hooks": [{"stages": ["PRE_SCALE_UP"], "timeout_action": "ABORT"}]}, None, {},
         "seed.toml: [services.web.deployment_configuration.lifecycle_hooks] entry 1 timeout_action: 'ABORT' is not "
         "one of ROLLBACK, CONTINUE."),
        (None, {"alternate_target_group": "web-blue"}, {},
         f"{L} alternate_target_group: 'web-blue' is not a valid target group name other than target_group."),
        (None, {"test_listen_port": 9080}, {},
         f"{L}: test_listener, test_listen_port and type need alternate_target_group (a blue/green service's second "
         "target group)."),
        (None, {"type": "network"}, {},
         f"{L}: test_listener, test_listen_port and type need alternate_target_group (a blue/green service's second "
         "target group)."),
        (None, {"alternate_target_group": "web-green", "type": "netwrk"}, {},
         f"{L} type: 'netwrk' is not a load balancer type; did you mean 'network'? (types are: application, "
         "network)."),
        (None, {"alternate_target_group": "web-green", "type": 2}, {},
         f"{L} type: expected a non-empty string, got 2 (an integer)."),
        (None, {"alternate_target_group": "web-green", "test_listener": False, "test_listen_port": 9080}, {},
         f"{L} test_listen_port: needs test_listener = true and a port other than listen_port."),
        (None, None, {"hook_answers": [{"function": "smoke", "answers": ["OK"]}]},
         "seed.toml: [hook_answers] entry 1 answers: expected a list of SUCCEEDED, FAILED, IN_PROGRESS, got a list."),
        (None, None, {"hook_answers": [{"function": "smoke", "answers": ["FAILED"], "call_back_delay": -1}]},
         "seed.toml: [hook_answers] entry 1 call_back_delay: expected seconds (a number, 0 or more), got -1 (an "
         "integer)."),
        (None, None, {"hook_answers": [{"answers": ["FAILED"]}]},
         "seed.toml: [hook_answers] entry 1: missing the key 'function'."),
    ],
    ids=["linear-on-blue-green", "linear-step-too-small", "canary-without-bake", "hook-at-a-shift-stage",
         "hook-timeout-zero", "hook-unknown-action", "same-target-groups", "test-port-without-alternate",
         "type-without-alternate", "unknown-type", "type-not-a-string", "test-port-without-test-listener", "unknown-hook-status", "negative-call-back-delay", "answers-for-nobody"],
)
def test_each_mistake_names_its_key(tmp_path: Path, deployment: dict[str, Any] | None, balancer: dict[str, Any] | None,
                                    top: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_seed(_seed(tmp_path, deployment, balancer, **top), WHERE, tmp_path, {})
    assert str(refused.value) == message
