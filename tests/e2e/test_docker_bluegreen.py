"""A blue/green deployment with real containers: during the pause at POST_TEST_TRAFFIC_SHIFT the test listener
reaches green's container and the production listener blue's, through the listener endpoints and the target
groups' proxies; after ContinueServiceDeployment production reaches green."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.runners.docker import DOCKER_TIMINGS

TASKDEF = {
    "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
    "containerDefinitions": [{"name": "app", "image": "web:placeholder", "essential": True,
                              "portMappings": [{"containerPort": 8080, "protocol": "tcp"}]}],
}
Get = Callable[[str], tuple[int, str, "str | None"]]


def blue_green(**balancer: str) -> dict[str, Any]:
    """The seed of web (web:1.0.0) blue/green-ready with a pause at POST_TEST_TRAFFIC_SHIFT; ``balancer``: more
    keys of its load_balancer."""
    return {
        "clusters": ["local"],
        "repositories": {"web": {"tags": ["1.0.0", "1.1.0"]}},
        "services": {"web": {
            "task_definition": "taskdef.json", "images": {"app": "web:1.0.0"},
            "deployment_configuration": {"strategy": "BLUE_GREEN", "bake_time_minutes": 0,
                                         "lifecycle_hooks": [{"stages": ["POST_TEST_TRAFFIC_SHIFT"]}]},
            "load_balancer": {"target_group": "web-blue", "alternate_target_group": "web-green", "container": "app",
                              "port": 8080, **balancer},
        }},
    }


def release(ecs: Any) -> str:
    """The ARN of web's next revision: its task definition with image tag 1.1.0 instead of 1.0.0."""
    payload = {k: v for k, v in ecs.describe_task_definition(taskDefinition="web")["taskDefinition"].items()
               if k in ("family", "containerDefinitions", "networkMode", "requiresCompatibilities", "cpu", "memory")}
    payload["containerDefinitions"][0]["image"] = payload["containerDefinitions"][0]["image"].replace(":1.0.0",
                                                                                                      ":1.1.0")
    return str(ecs.register_task_definition(**payload)["taskDefinition"]["taskDefinitionArn"])


@pytest.mark.docker
def test_the_test_listener_reaches_greens_container_while_production_stays_on_blue(
    tmp_path: Path, wait_for: Callable[..., Any], http_get: Get
) -> None:
    (tmp_path / "taskdef.json").write_text(json.dumps(TASKDEF))
    seed = blue_green()
    with LocalAWS(seed, base_dir=tmp_path, runner="docker", speed=4) as aws:
        production, test = aws.listener_url("web"), aws.listener_url("web", test=True)
        wait_for("blue to answer in production", lambda: http_get(production + "/version")[:2] == (200, "1.0.0"))
        ecs = aws.client("ecs")
        arn = release(ecs)
        deployment = ecs.update_service(cluster="local", service="web", taskDefinition=arn)["service"][
            "currentServiceDeployment"]

        def hook() -> str | None:
            found = ecs.describe_service_deployments(serviceDeploymentArns=[deployment])["serviceDeployments"][0]
            waiting = [h for h in found.get("lifecycleHookDetails") or [] if h["status"] == "AWAITING_ACTION"]
            return str(waiting[0]["hookId"]) if waiting else None

        hook_id = wait_for("the pause at POST_TEST_TRAFFIC_SHIFT", hook, timeout=120)
        assert wait_for("green on the test listener", lambda: http_get(test + "/version")[:2] == (200, "1.1.0"))
        assert http_get(production + "/version")[:2] == (200, "1.0.0")
        ecs.continue_service_deployment(serviceDeploymentArn=deployment, hookId=hook_id)
        assert wait_for("green in production", lambda: http_get(production + "/version")[:2] == (200, "1.1.0"),
                        timeout=120)


@pytest.mark.docker
def test_behind_a_network_load_balancer_each_connection_reaches_a_container_directly(
    tmp_path: Path, wait_for: Callable[..., Any], http_get: Get
) -> None:
    """The NLB's TCP endpoint joins a connection to the task's container port itself (the target group's proxy,
    which would add ``X-Ecsdeploy-Task``, is not on the way); ECS's ten minutes per delayed stage are shortened to
    one second here (``Timings.nlb_delay``) so that real containers need not wait them out."""
    (tmp_path / "taskdef.json").write_text(json.dumps(TASKDEF))
    seed = blue_green(type="network")
    timings = replace(DOCKER_TIMINGS, nlb_delay=1.0)
    with LocalAWS(seed, base_dir=tmp_path, runner="docker", speed=4, timings=timings) as aws:
        production, test = aws.listener_url("web"), aws.listener_url("web", test=True)
        assert wait_for("blue to answer in production", lambda: http_get(production + "/version")) == (
            200, "1.0.0", None)
        ecs = aws.client("ecs")
        arn = release(ecs)
        ecs.update_service(cluster="local", service="web", taskDefinition=arn)
        assert wait_for("green on the test listener", lambda: http_get(test + "/version")[:2] == (200, "1.1.0"),
                        timeout=120)
        assert http_get(production + "/version") == (200, "1.0.0", None)
