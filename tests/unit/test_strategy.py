"""What a BLUE_GREEN, LINEAR or CANARY service must be configured with before deploy() writes
(``actions/strategy.py``): the configuration checks on DescribeServices answers, the listener-rule check and the
test listener's URL on stubbed ELBv2 answers (botocore checks each against ELBv2's shapes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fakes import stubbed

from pytest_ecsdeploy.actions.strategy import (
    check_step,
    check_until,
    configuration_checks,
    listener_checks,
    url_of_test_listener,
)
from pytest_ecsdeploy.errors import ActionError, ConfigError

R, A = "eu-west-1", "123456789012"
ELB = f"arn:aws:elasticloadbalancing:{R}:{A}"
BLUE, GREEN = f"{ELB}:targetgroup/web-blue/1111111111111111", f"{ELB}:targetgroup/web-green/2222222222222222"
LISTENER = f"{ELB}:listener/app/web/3333333333333333/4444444444444444"
TEST_LISTENER = f"{ELB}:listener/app/web/3333333333333333/5555555555555555"
PROD_RULE = f"{LISTENER.replace(':listener/', ':listener-rule/')}/6666666666666666"
TEST_RULE = f"{TEST_LISTENER.replace(':listener/', ':listener-rule/')}/7777777777777777"
ROLE = f"arn:aws:iam::{A}:role/ecs-infrastructure"
PAUSE = {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}


class Aws:
    def __init__(self, client: Any) -> None:
        self._client = client

    def client(self, service: str, region: str | None = None) -> Any:
        assert service == "elbv2"
        return self._client


@pytest.fixture
def elbv2() -> Iterator[tuple[Aws, Any]]:
    with stubbed("elbv2", R) as (client, stubber):
        yield Aws(client), stubber


def service(strategy: str = "BLUE_GREEN", *, bake: int | None = 5, hooks: list[dict[str, Any]] | None = None,
            advanced: dict[str, Any] | None = None, balanced: bool = True) -> dict[str, Any]:
    config: dict[str, Any] = {"strategy": strategy, "lifecycleHooks": hooks if hooks is not None else [PAUSE]}
    if bake is not None:
        config["bakeTimeInMinutes"] = bake
    advanced = advanced if advanced is not None else {
        "alternateTargetGroupArn": GREEN, "productionListenerRule": PROD_RULE, "testListenerRule": TEST_RULE,
        "roleArn": ROLE}
    balancers = [{"targetGroupArn": BLUE, "containerName": "app", "containerPort": 8080,
                  "advancedConfiguration": advanced}] if balanced else []
    return {"serviceName": "web", "deploymentConfiguration": config, "loadBalancers": balancers}


def failed(results: list[tuple[str, bool, str]]) -> dict[str, str]:
    return {name: detail for name, ok, detail in results if not ok}


@pytest.mark.parametrize("strategy", ["BLUE_GREEN", "LINEAR", "CANARY"])
@pytest.mark.parametrize("until", [None, "test_traffic", "traffic_shifted"])
def test_a_service_configured_for_its_strategy_passes_every_check(strategy: str, until: str | None) -> None:
    results = configuration_checks(service(strategy), until)
    assert failed(results) == {}
    names = [name for name, _, _ in results]
    assert ("PAUSE hook at POST_TEST_TRAFFIC_SHIFT" in names) == (until == "test_traffic")


@pytest.mark.parametrize(
    ("changes", "until", "name", "says"),
    [
        ({"bake": None}, None, "bakeTimeInMinutes set", "set it (0-1440)"),
        ({"hooks": [{"targetType": "PAUSE", "lifecycleStages": ["TEST_TRAFFIC_SHIFT"]}]}, None,
         "no PAUSE hook at a traffic-shift stage", "PAUSE hooks at TEST_TRAFFIC_SHIFT; move them"),
        ({"hooks": [{"targetType": "PAUSE", "lifecycleStages": ["PRODUCTION_TRAFFIC_SHIFT"]}]}, None,
         "no PAUSE hook at a traffic-shift stage", "PAUSE hooks at PRODUCTION_TRAFFIC_SHIFT; move them"),
        ({"advanced": {"roleArn": ROLE}}, None, "alternate target group and role",
         "add advancedConfiguration alternateTargetGroupArn on the load balancer of target group web-blue"),
        ({"advanced": {"alternateTargetGroupArn": GREEN}}, None, "alternate target group and role",
         "add advancedConfiguration roleArn on the load balancer of target group web-blue"),
        ({"hooks": []}, "test_traffic", "PAUSE hook at POST_TEST_TRAFFIC_SHIFT",
         "needs a PAUSE lifecycle hook at POST_TEST_TRAFFIC_SHIFT; add"),
        ({"hooks": [{"targetType": "AWS_LAMBDA", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]}, "test_traffic",
         "PAUSE hook at POST_TEST_TRAFFIC_SHIFT", "needs a PAUSE lifecycle hook"),
        ({"advanced": {"alternateTargetGroupArn": GREEN, "roleArn": ROLE, "productionListenerRule": PROD_RULE}},
         "test_traffic", "test listener rule", "add advancedConfiguration testListenerRule"),
    ],
    ids=["no-bake", "pause-at-test-shift", "pause-at-production-shift", "no-alternate", "no-role", "no-pause",
         "lambda-not-pause", "no-test-rule"],
)
def test_each_missing_piece_fails_its_check_saying_what_to_add(changes: dict[str, Any], until: str | None,
                                                               name: str, says: str) -> None:
    problems = failed(configuration_checks(service(**changes), until))
    assert list(problems) == [name] and says in problems[name]


def test_a_headless_service_needs_no_load_balancer_pieces() -> None:
    results = configuration_checks(service(balanced=False), "test_traffic")
    assert failed(results) == {}
    assert dict((n, d) for n, _, d in results)["test listener rule"].startswith("no load balancer")


@pytest.mark.parametrize("until", ["test_traffic", "traffic_shifted"])
def test_until_on_a_rolling_service_fails_and_a_rolling_deploy_has_no_checks(until: str) -> None:
    assert configuration_checks(service("ROLLING"), None) == []
    assert "needs a BLUE_GREEN, LINEAR or CANARY service; service 'web' uses ROLLING" in failed(
        configuration_checks(service("ROLLING"), until))["strategy pauses or shifts traffic"]


@pytest.mark.parametrize("until", ["bake", "TEST_TRAFFIC", 1, ""])
def test_an_unknown_until_is_refused_in_one_sentence(until: Any) -> None:
    with pytest.raises(ActionError, match=r"^deploy\(until=\.\.\.\) expects 'completed', 'test_traffic', "
                                          r"'production_step' or 'traffic_shifted'"):
        check_until(until)
    assert check_until(None) is None and check_until("completed") is None
    assert check_until("test_traffic") == "test_traffic" and check_until("production_step") == "production_step"


def test_continue_deployment_takes_the_next_step_or_the_shift_but_not_test_traffic() -> None:
    assert check_until("production_step", "continue_deployment") == "production_step"
    assert check_until("traffic_shifted", "continue_deployment") == "traffic_shifted"
    with pytest.raises(ActionError, match=r"^continue_deployment\(until=\.\.\.\) expects 'completed', "
                                          r"'production_step' or 'traffic_shifted', got 'test_traffic'\.$"):
        check_until("test_traffic", "continue_deployment")


@pytest.mark.parametrize(
    ("shift", "weight", "refused"),
    [
        ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 34.0}}, 34.0, False),
        ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 34.0}}, 68.0, True),
        ({"strategy": "LINEAR"}, 80.0, False),  # ECS's default step: 10 %
        ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0}}, 0.0, False),
        ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0}}, 10.0, True),
        ({"strategy": "BLUE_GREEN"}, 0.0, True),
    ],
)
def test_a_pause_is_asked_for_after_the_last_step_only_to_be_refused(shift: dict[str, Any], weight: float,
                                                                     refused: bool) -> None:
    service = {"serviceName": "web", "deploymentConfiguration": shift}
    step = "PRE_PRODUCTION_TRAFFIC_SHIFT"
    check_step(service, step, weight, None)  # to the end: any step may be the last
    check_step(service, step, weight, "traffic_shifted")
    check_step(service, "POST_TEST_TRAFFIC_SHIFT", 0.0, "production_step")  # the first step's pause comes next
    if refused:
        with pytest.raises(ActionError, match=rf"the next production step moves all production traffic "
                                              rf"\({weight:g}% -> 100%\)"):
            check_step(service, step, weight, "production_step")
    else:
        check_step(service, step, weight, "production_step")


def rule(arn: str, groups: list[tuple[str, int]]) -> dict[str, Any]:
    return {"RuleArn": arn, "Actions": [{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": g, "Weight": w} for g, w in groups]}}]}


def test_a_production_rule_forwarding_to_both_target_groups_passes_in_one_call(elbv2: tuple[Aws, Any]) -> None:
    aws, stubber = elbv2
    stubber.add_response("describe_rules", {"Rules": [rule(PROD_RULE, [(BLUE, 100), (GREEN, 0)])]},
                         {"RuleArns": [PROD_RULE]})
    assert failed(listener_checks(aws, service(), who="service 'web'")) == {}  # type: ignore[arg-type]


def test_a_production_rule_missing_the_alternate_target_group_fails_naming_it(elbv2: tuple[Aws, Any]) -> None:
    aws, stubber = elbv2
    stubber.add_response("describe_rules", {"Rules": [{"RuleArn": PROD_RULE, "Actions": [
        {"Type": "forward", "TargetGroupArn": BLUE}]}]}, {"RuleArns": [PROD_RULE]})
    problems = failed(listener_checks(aws, service(), who="service 'web'"))  # type: ignore[arg-type]
    assert problems == {"both target groups on the production listener rule":
                        "production listener rule 6666666666666666 does not forward to web-green: add both target "
                        "groups to its forward action (weights 100 and 0)"}


def test_an_nlb_production_listener_is_read_with_describe_listeners(elbv2: tuple[Aws, Any]) -> None:
    aws, stubber = elbv2
    nlb = f"{ELB}:listener/net/web/3333333333333333/4444444444444444"
    stubber.add_response("describe_listeners", {"Listeners": [{"ListenerArn": nlb, "DefaultActions": [
        {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": BLUE}]}}]}]},
        {"ListenerArns": [nlb]})
    advanced = {"alternateTargetGroupArn": GREEN, "productionListenerRule": nlb, "roleArn": ROLE}
    problems = failed(listener_checks(aws, service(advanced=advanced), who="x"))  # type: ignore[arg-type]
    assert "does not forward to web-green" in problems["both target groups on the production listener rule"]


def test_a_service_without_production_rules_costs_no_call(elbv2: tuple[Aws, Any]) -> None:
    aws, _ = elbv2
    assert listener_checks(aws, service(balanced=False), who="x") == []  # type: ignore[arg-type]


@pytest.mark.parametrize(("protocol", "port", "url"), [
    ("HTTP", 8080, "http://web-123.eu-west-1.elb.amazonaws.com:8080"),
    ("HTTP", 80, "http://web-123.eu-west-1.elb.amazonaws.com"),
    ("HTTPS", 443, "https://web-123.eu-west-1.elb.amazonaws.com"),
    ("HTTPS", 9443, "https://web-123.eu-west-1.elb.amazonaws.com:9443"),
])
def test_the_test_url_is_the_test_rules_listener_on_its_load_balancers_name(
        elbv2: tuple[Aws, Any], protocol: str, port: int, url: str) -> None:
    aws, stubber = elbv2
    balancer = f"{ELB}:loadbalancer/app/web/3333333333333333"
    stubber.add_response("describe_listeners", {"Listeners": [
        {"ListenerArn": TEST_LISTENER, "LoadBalancerArn": balancer, "Port": port, "Protocol": protocol}]},
        {"ListenerArns": [TEST_LISTENER]})
    stubber.add_response("describe_load_balancers", {"LoadBalancers": [
        {"LoadBalancerArn": balancer, "DNSName": "web-123.eu-west-1.elb.amazonaws.com"}]},
        {"LoadBalancerArns": [balancer]})
    assert url_of_test_listener(aws, service(), who="smoke") == url  # type: ignore[arg-type]


NLB_TEST_LISTENER = f"{ELB}:listener/net/web/3333333333333333/6666666666666666"


@pytest.mark.parametrize(("protocol", "port", "url"), [
    ("TCP", 8080, "http://web-123.elb.eu-west-1.amazonaws.com:8080"),
    ("TCP", 80, "http://web-123.elb.eu-west-1.amazonaws.com"),
    ("TCP_UDP", 8080, "http://web-123.elb.eu-west-1.amazonaws.com:8080"),
    ("TLS", 443, "https://web-123.elb.eu-west-1.amazonaws.com"),
    ("TLS", 8443, "https://web-123.elb.eu-west-1.amazonaws.com:8443"),
    ("UDP", 8080, None),
])
def test_an_nlb_test_listener_gives_the_url_of_its_port(elbv2: tuple[Aws, Any], protocol: str, port: int,
                                                        url: str | None) -> None:
    """The testListenerRule of an NLB is the listener itself (botocore ecs AdvancedConfiguration)."""
    aws, stubber = elbv2
    balancer = f"{ELB}:loadbalancer/net/web/3333333333333333"
    stubber.add_response("describe_listeners", {"Listeners": [
        {"ListenerArn": NLB_TEST_LISTENER, "LoadBalancerArn": balancer, "Port": port, "Protocol": protocol}]},
        {"ListenerArns": [NLB_TEST_LISTENER]})
    if url is not None:
        stubber.add_response("describe_load_balancers", {"LoadBalancers": [
            {"LoadBalancerArn": balancer, "DNSName": "web-123.elb.eu-west-1.amazonaws.com"}]},
            {"LoadBalancerArns": [balancer]})
    nlb = service(advanced={"alternateTargetGroupArn": GREEN, "productionListenerRule": NLB_TEST_LISTENER,
                            "testListenerRule": NLB_TEST_LISTENER, "roleArn": ROLE})
    if url is None:
        with pytest.raises(ConfigError, match=r"^service 'web': test listener .* is a UDP listener, which HTTP "
                                              r"cannot go through; set test_url in \[services\.web\]"):
            url_of_test_listener(aws, nlb, who="smoke")  # type: ignore[arg-type]
        stubber.assert_no_pending_responses()
        return
    assert url_of_test_listener(aws, nlb, who="smoke") == url  # type: ignore[arg-type]


def test_without_a_test_rule_the_test_url_must_be_set(elbv2: tuple[Aws, Any]) -> None:
    aws, _ = elbv2
    with pytest.raises(ConfigError, match=r"^service 'web' has no test listener rule .*; set test_url in "
                                          r"\[services\.web\] of ecsdeploy\.toml"):
        url_of_test_listener(aws, service(balanced=False), who="smoke")  # type: ignore[arg-type]


@pytest.mark.parametrize("strategy", ["LINEAR", "CANARY"])
def test_linear_and_canary_may_leave_the_bake_time_to_ecs(strategy: str) -> None:
    results = {name: (ok, detail) for name, ok, detail in configuration_checks(service(strategy, bake=None), None)}
    assert results["bakeTimeInMinutes set"] == (True, f"bakeTimeInMinutes not set: ECS's default for {strategy}")
