"""Blue/green traffic that really moves on LocalAWS: the listener rules' forward weights per lifecycle stage as
boto3's DescribeRules shows them, the target groups swapping roles, rollbacks writing the weights back, the
production and test listener endpoints answering blue's or green's version by those weights, and the checks of
``advancedConfiguration``; simulated runner, on a clock only the test moves."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from module_aws import ModuleAWS, next_instant

from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.clock import FakeClock
from pytest_ecsdeploy.emulator.ecs.traffic import NOT_ASSOCIATED

STEP = 0.25  # simulated seconds per look: half a stage without work (Timings.lifecycle_stage)
TEMPLATE = {
    "family": "web", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
    "containerDefinitions": [{"name": "app", "image": "placeholder", "essential": True}],
}
FINISHED = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
PAUSE_AT_TEST_TRAFFIC = {"stages": ["POST_TEST_TRAFFIC_SHIFT"], "timeout_minutes": 60}


class Traffic:
    """LocalAWS seeded with a blue/green-ready service ``web`` (2 tasks of web:1.0.0 in target group web-blue,
    alternate web-green, production and test listener rules), its clients and the clock."""

    def __init__(self, aws: LocalAWS, clock: FakeClock, client: Callable[[str], Any] | None = None) -> None:
        self.aws, self.clock = aws, clock
        self.client = client or aws.client  # a module's clients, built once (module_aws.py)
        self.ecs, self.elbv2 = self.client("ecs"), self.client("elbv2")
        balancer = self.service()["loadBalancers"][0]
        self.balancer = balancer
        self.advanced = balancer["advancedConfiguration"]
        self.names = {balancer["targetGroupArn"]: "blue", self.advanced["alternateTargetGroupArn"]: "green"}

    def service(self) -> dict[str, Any]:
        return self.ecs.describe_services(cluster="local", services=["web"])["services"][0]  # type: ignore[no-any-return]

    def configure(self, **config: Any) -> None:
        self.ecs.update_service(cluster="local", service="web", deploymentConfiguration=config)

    def deploy(self, tag: str) -> str:
        current = self.ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]
        payload = {k: current[k] for k in ("family", "containerDefinitions", "networkMode", "requiresCompatibilities",
                                           "cpu", "memory")}
        payload["containerDefinitions"][0]["image"] = payload["containerDefinitions"][0]["image"].rsplit(":", 1)[0] + \
            f":{tag}"
        arn = self.ecs.register_task_definition(**payload)["taskDefinition"]["taskDefinitionArn"]
        return str(self.ecs.update_service(cluster="local", service="web", taskDefinition=arn)["service"][
            "currentServiceDeployment"])

    def describe(self, arn: str) -> dict[str, Any]:
        return self.ecs.describe_service_deployments(serviceDeploymentArns=[arn])[  # type: ignore[no-any-return]
            "serviceDeployments"][0]

    def weights(self, rule: str = "productionListenerRule") -> dict[str, int]:
        """The rule's forward weights as DescribeRules shows them: {"blue": w, "green": w}."""
        (found,) = self.elbv2.describe_rules(RuleArns=[self.advanced[rule]])["Rules"]
        (action,) = found["Actions"]
        return {self.names[g["TargetGroupArn"]]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]}

    def rules(self) -> tuple[dict[str, int], dict[str, int]]:
        return self.weights(), self.weights("testListenerRule")

    def version(self, *, test: bool = False) -> tuple[int, str, str]:
        """(status, body, target group) of ``GET /version`` through the production (or test) listener."""
        try:
            with urllib.request.urlopen(self.aws.listener_url("web", test=test) + "/version", timeout=10) as answer:
                return answer.status, answer.read().decode().strip(), answer.headers["X-Ecsdeploy-Target-Group"]
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode().strip(), error.headers.get("X-Ecsdeploy-Target-Group", "")

    def follow(self, arn: str, until: Callable[[dict[str, Any]], bool] | None = None,
               simulated: float = 900.0) -> list[dict[str, Any]]:
        """Each distinct (status, stage, rule weights) of service deployment ``arn`` until it finishes or
        ``until`` holds: a look now, then one at each instant the engine has a change due (nothing changes in
        between, so a minute's bake costs one look, not 240), or every STEP when none is."""
        looks: list[dict[str, Any]] = []
        end = self.clock.now() + simulated
        while True:
            found = self.describe(arn)
            production, test = self.rules()
            look = {"status": found["status"], "stage": found.get("lifecycleStage"), "production": production,
                    "test": test, "requested": found["targetServiceRevision"]["requestedProductionTrafficWeight"]}
            if not looks or looks[-1] != look:
                looks.append(look)
            if found["status"] in FINISHED or (until is not None and until(found)):
                return looks
            if self.clock.now() >= end:
                break
            next_instant(self.aws, self.clock, STEP)
        raise AssertionError(f"not finished within {simulated} simulated seconds: {looks[-1]}")

    def paused(self, arn: str) -> str:
        """Follow ``arn`` to its pause; the hook id."""
        self.follow(arn, until=lambda found: any(h["status"] == "AWAITING_ACTION"
                                                 for h in found.get("lifecycleHookDetails") or []))
        return str(self.describe(arn)["lifecycleHookDetails"][0]["hookId"])

    def registered(self, color: str) -> int:
        arn = next(arn for arn, name in self.names.items() if name == color)
        return len(self.elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"])


def seed(deployment: dict[str, Any]) -> dict[str, Any]:
    return {
        "clusters": ["local"],
        "repositories": {"web": {"tags": ["1.0.0", "1.1.0", "2.0.0"]}},
        "services": {"web": {
            "task_definition": "web.json", "images": {"app": "web:1.0.0"}, "desired_count": 2,
            "deployment_configuration": {"circuit_breaker": True, "rollback": True, **deployment},
            "load_balancer": {"target_group": "web-blue", "alternate_target_group": "web-green", "container": "app",
                              "port": 8080},
        }},
    }


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleAWS]:
    deployment = {"strategy": "BLUE_GREEN", "bake_time_minutes": 1, "lifecycle_hooks": [PAUSE_AT_TEST_TRAFFIC]}
    with ModuleAWS(seed(deployment), base_dir=tmp_path_factory.mktemp("traffic"), files={"web.json": TEMPLATE}) as aws:
        yield aws


@pytest.fixture
def traffic(shared: ModuleAWS) -> Traffic:
    shared.fresh()
    return Traffic(shared.local, shared.clock, shared.client)


def test_the_seed_makes_a_service_ready_for_blue_green(traffic: Traffic) -> None:
    advanced = traffic.advanced
    assert set(advanced) == {"alternateTargetGroupArn", "productionListenerRule", "testListenerRule", "roleArn"}
    assert advanced["roleArn"].endswith(":role/ecsInfrastructureRoleForLoadBalancers")
    assert traffic.rules() == ({"blue": 1, "green": 0}, {"blue": 1, "green": 0})
    config = traffic.service()["deploymentConfiguration"]
    assert config["lifecycleHooks"] == [{"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                                         "timeoutConfiguration": {"timeoutInMinutes": 60, "action": "ROLLBACK"}}]
    assert (traffic.registered("blue"), traffic.registered("green")) == (2, 0)
    assert traffic.version() == (200, "1.0.0", "web-blue") and traffic.version(test=True) == (200, "1.0.0", "web-blue")


def test_test_traffic_moves_first_then_production_and_the_target_groups_swap_roles(traffic: Traffic) -> None:
    arn = traffic.deploy("1.1.0")
    hook = traffic.paused(arn)
    assert traffic.rules() == ({"blue": 100, "green": 0}, {"blue": 0, "green": 100})
    assert (traffic.registered("blue"), traffic.registered("green")) == (2, 2)
    assert traffic.version() == (200, "1.0.0", "web-blue")  # production still blue
    assert traffic.version(test=True) == (200, "1.1.0", "web-green")  # the test listener reaches green
    traffic.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook)
    looks = traffic.follow(arn)
    assert looks[-1]["status"] == "SUCCESSFUL"
    moved = next(look for look in looks if look["production"]["green"] == 100)
    assert moved["stage"] == "POST_PRODUCTION_TRAFFIC_SHIFT" and moved["requested"] == 100.0
    assert all(look["production"] == {"blue": 100, "green": 0} for look in looks[: looks.index(moved)])
    assert traffic.rules() == ({"blue": 0, "green": 100}, {"blue": 0, "green": 100})
    assert (traffic.registered("blue"), traffic.registered("green")) == (0, 2)
    assert traffic.version() == (200, "1.1.0", "web-green")

    second = traffic.deploy("2.0.0")  # the next green registers where blue used to be
    traffic.ecs.continue_service_deployment(serviceDeploymentArn=second, hookId=traffic.paused(second))
    assert traffic.rules()[1] == {"blue": 100, "green": 0}
    assert traffic.follow(second)[-1]["status"] == "SUCCESSFUL"
    assert traffic.rules() == ({"blue": 100, "green": 0}, {"blue": 100, "green": 0})
    assert (traffic.registered("blue"), traffic.registered("green")) == (2, 0)
    assert traffic.version() == (200, "2.0.0", "web-blue")


@pytest.mark.parametrize(
    ("config", "steps"),
    [({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 30.0, "stepBakeTimeInMinutes": 1}},
      [30, 60, 90, 100]),
     ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 2}}, [10, 100]),
     ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 0.5, "canaryBakeTimeInMinutes": 2}}, [1, 100])],
    ids=["linear", "canary", "canary-below-one-percent"],
)
def test_linear_and_canary_rewrite_the_production_rule_step_by_step(traffic: Traffic, config: dict[str, Any],
                                                                   steps: list[int]) -> None:
    traffic.configure(bakeTimeInMinutes=1, lifecycleHooks=[], **config)
    arn = traffic.deploy("1.1.0")
    looks = traffic.follow(arn)
    assert looks[-1]["status"] == "SUCCESSFUL"
    seen: list[int] = []
    for look in looks:
        green = look["production"]["green"]
        assert look["production"]["blue"] == (100 - green if seen or green else look["production"]["blue"])
        if green and (not seen or seen[-1] != green):
            seen.append(green)
    assert seen == steps


def test_the_production_listener_routes_by_the_weights_of_the_moment(traffic: Traffic) -> None:
    traffic.configure(strategy="CANARY", bakeTimeInMinutes=1, lifecycleHooks=[],
                      canaryConfiguration={"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 10})
    arn = traffic.deploy("1.1.0")
    traffic.follow(arn, until=lambda found: found["targetServiceRevision"]["requestedProductionTrafficWeight"] == 10.0)
    answers = [traffic.version()[1] for _ in range(20)]
    assert answers.count("1.1.0") == 2 and answers.count("1.0.0") == 18  # 10 %, exactly, request by request


def test_a_rollback_at_the_pause_writes_every_rule_back_to_blue_at_once(traffic: Traffic) -> None:
    arn = traffic.deploy("1.1.0")
    hook = traffic.paused(arn)
    traffic.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook, action="ROLLBACK")
    assert traffic.rules() == ({"blue": 100, "green": 0}, {"blue": 100, "green": 0})  # at the request's instant
    assert traffic.version(test=True) == (200, "1.0.0", "web-blue")
    assert traffic.follow(arn)[-1]["status"] == "ROLLBACK_SUCCESSFUL"
    assert (traffic.registered("blue"), traffic.registered("green")) == (2, 0)


@pytest.mark.parametrize("stage", ["POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME"])
def test_stopping_after_production_moved_flips_it_back_to_blue(traffic: Traffic, stage: str) -> None:
    arn = traffic.deploy("1.1.0")
    traffic.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=traffic.paused(arn))
    traffic.follow(arn, until=lambda found: found.get("lifecycleStage") == stage)
    assert traffic.weights() == {"blue": 0, "green": 100}
    traffic.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert traffic.rules() == ({"blue": 100, "green": 0}, {"blue": 100, "green": 0})
    assert traffic.version() == (200, "1.0.0", "web-blue")
    assert traffic.follow(arn)[-1]["status"] == "ROLLBACK_SUCCESSFUL"


def test_a_crashing_green_never_gets_traffic(traffic: Traffic) -> None:
    traffic.aws.set_image_behaviour("web:2.0.0", "crash", exit_code=1)
    arn = traffic.deploy("2.0.0")
    looks = traffic.follow(arn)
    assert looks[-1]["status"] == "ROLLBACK_SUCCESSFUL"
    assert all(look["production"]["green"] == 0 and look["test"]["green"] == 0 for look in looks)
    assert traffic.version(test=True) == (200, "1.0.0", "web-blue")


def test_a_rule_without_both_target_groups_rolls_the_deployment_back(traffic: Traffic) -> None:
    blue = traffic.balancer["targetGroupArn"]
    traffic.elbv2.modify_rule(RuleArn=traffic.advanced["testListenerRule"], Actions=[
        {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": blue, "Weight": 1}]}}])
    arn = traffic.deploy("1.1.0")
    looks = traffic.follow(arn)
    assert looks[-1]["status"] == "ROLLBACK_SUCCESSFUL"
    done = traffic.describe(arn)
    assert done["statusReason"] == done["rollback"]["reason"] == NOT_ASSOCIATED
    assert traffic.weights() == {"blue": 1, "green": 0}  # nothing was written


def bad(traffic: Traffic, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """The service's loadBalancers entry with ``change`` applied to a copy."""
    entry = json.loads(json.dumps(traffic.balancer))
    change(entry)
    return entry  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t, e: e["advancedConfiguration"].pop("alternateTargetGroupArn"),
         "advancedConfiguration.alternateTargetGroupArn must be specified."),
        (lambda t, e: e["advancedConfiguration"].pop("productionListenerRule"),
         "advancedConfiguration.productionListenerRule must be specified."),
        (lambda t, e: e["advancedConfiguration"].pop("roleArn"), "advancedConfiguration.roleArn must be specified."),
        (lambda t, e: e["advancedConfiguration"].update(alternateTargetGroupArn=e["targetGroupArn"]),
         "alternateTargetGroupArn must differ from targetGroupArn."),
        (lambda t, e: e["advancedConfiguration"].update(
            alternateTargetGroupArn=e["targetGroupArn"].replace("web-blue", "nope")), "does not exist"),
        (lambda t, e: e["advancedConfiguration"].update(testListenerRule=e["advancedConfiguration"][
            "productionListenerRule"][:-4] + "0000"), "advancedConfiguration.testListenerRule: the listener rule"),
    ],
    ids=["no-alternate", "no-production-rule", "no-role", "same-target-group", "unknown-target-group",
         "unknown-test-rule"],
)
def test_what_an_advanced_configuration_must_hold(traffic: Traffic, change: Callable[[Traffic, dict[str, Any]], None],
                                                  message: str) -> None:
    entry = bad(traffic, lambda e: change(traffic, e))
    for call in (lambda: traffic.ecs.update_service(cluster="local", service="web", loadBalancers=[entry]),
                 lambda: traffic.ecs.create_service(cluster="local", serviceName="other", taskDefinition="web",
                                                    desiredCount=1, loadBalancers=[entry],
                                                    networkConfiguration=traffic.service()["networkConfiguration"])):
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
        assert message in refused.value.response["Error"]["Message"]
    assert traffic.service()["loadBalancers"] == [traffic.balancer]


def test_listener_url_names_what_is_missing(traffic: Traffic, tmp_path: Path) -> None:
    with pytest.raises(LookupError, match="no service named 'api'"):
        traffic.aws.listener_url("api")
    traffic.ecs.update_service(cluster="local", service="web", loadBalancers=[bad(
        traffic, lambda e: e["advancedConfiguration"].pop("testListenerRule"))])
    with pytest.raises(LookupError, match="testListenerRule"):
        traffic.aws.listener_url("web", test=True)
    assert traffic.version()[0] == 200


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.usefixtures("alone")
def test_seeded_ports_and_reset_keep_the_listeners(tmp_path: Path) -> None:
    (tmp_path / "web.json").write_text(json.dumps(TEMPLATE))
    production, test = _free_port(), _free_port()
    seeded = seed({"strategy": "BLUE_GREEN", "bake_time_minutes": 1})
    seeded["services"]["web"]["load_balancer"].update(listen_port=production, test_listen_port=test)
    with LocalAWS(seeded, base_dir=tmp_path, clock=FakeClock()) as aws:
        assert aws.listener_url("web") == f"http://127.0.0.1:{production}"
        assert aws.listener_url("web", test=True) == f"http://127.0.0.1:{test}"
        aws.reset()
        with urllib.request.urlopen(f"http://127.0.0.1:{test}/version", timeout=10) as answer:
            assert answer.read().decode().strip() == "1.0.0"


# -- AWS_LAMBDA hooks: answered, since no Lambda runs -------------------------------------------------------------

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:smoke"


def lambda_at(stage: str, **timeout: Any) -> dict[str, Any]:
    hook: dict[str, Any] = {"targetType": "AWS_LAMBDA", "hookTargetArn": FUNCTION, "lifecycleStages": [stage],
                            "roleArn": "arn:aws:iam::123456789012:role/hooks"}
    if timeout:
        hook["timeoutConfiguration"] = timeout
    return hook


def test_a_lambda_hook_in_progress_is_invoked_again_after_its_call_back_delay_then_succeeds(traffic: Traffic) -> None:
    traffic.configure(strategy="BLUE_GREEN", bakeTimeInMinutes=1, lifecycleHooks=[lambda_at("TEST_TRAFFIC_SHIFT")])
    assert traffic.service()["deploymentConfiguration"]["lifecycleHooks"] == [
        {**lambda_at("TEST_TRAFFIC_SHIFT"), "timeoutConfiguration": {"timeoutInMinutes": 1440, "action": "ROLLBACK"}}]
    traffic.aws.set_hook_answers("smoke", ["IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED"], call_back_delay=20)
    arn = traffic.deploy("1.1.0")
    traffic.follow(arn, until=lambda found: found.get("lifecycleStage") == "TEST_TRAFFIC_SHIFT")
    entered = traffic.clock.now()
    (hook,) = traffic.describe(arn)["lifecycleHookDetails"]
    assert (hook["targetType"], hook["targetArn"], hook["status"]) == ("AWS_LAMBDA", FUNCTION, "IN_PROGRESS")
    assert traffic.weights("testListenerRule") == {"blue": 1, "green": 0}  # the stage waits for its hook
    traffic.follow(arn, until=lambda found: found.get("lifecycleStage") != "TEST_TRAFFIC_SHIFT")
    assert traffic.clock.now() - entered == pytest.approx(40.0, abs=STEP)  # invoked at 0, 20 and 40 s
    assert traffic.weights("testListenerRule") == {"blue": 0, "green": 100}
    assert traffic.follow(arn)[-1]["status"] == "SUCCESSFUL"


@pytest.mark.parametrize("answers", [["FAILED"], ["IN_PROGRESS", "FAILED"], None], ids=["failed", "later", "none"])
def test_a_lambda_hook_that_fails_or_has_no_answer_rolls_back(traffic: Traffic, answers: list[str] | None) -> None:
    traffic.configure(strategy="BLUE_GREEN", bakeTimeInMinutes=1, lifecycleHooks=[lambda_at("POST_SCALE_UP")])
    if answers is not None:
        traffic.aws.set_hook_answers(FUNCTION, answers, call_back_delay=5)
    arn = traffic.deploy("1.1.0")
    looks = traffic.follow(arn)
    assert looks[-1]["status"] == "ROLLBACK_SUCCESSFUL"
    done = traffic.describe(arn)
    assert done["lifecycleHookDetails"][0]["status"] == "FAILED"
    expected = "failed: " + FUNCTION + " answered FAILED." if answers else "runs no Lambda function"
    assert expected in done["statusReason"] and done["rollback"]["reason"] == done["statusReason"]
    assert traffic.rules() == ({"blue": 1, "green": 0}, {"blue": 1, "green": 0})


def test_a_lambda_hook_still_in_progress_at_its_time_out_takes_its_action(traffic: Traffic) -> None:
    traffic.configure(strategy="BLUE_GREEN", bakeTimeInMinutes=1, lifecycleHooks=[
        lambda_at("POST_SCALE_UP", timeoutInMinutes=1, action="CONTINUE")])
    traffic.aws.set_hook_answers("smoke", ["IN_PROGRESS"], call_back_delay=30)
    arn = traffic.deploy("1.1.0")
    traffic.follow(arn, until=lambda found: found.get("lifecycleStage") == "TEST_TRAFFIC_SHIFT")
    assert traffic.follow(arn)[-1]["status"] == "SUCCESSFUL"


@pytest.mark.usefixtures("alone")
def test_hook_answers_come_from_the_seed_and_the_control_route(tmp_path: Path) -> None:
    (tmp_path / "web.json").write_text(json.dumps(TEMPLATE))
    seeded = seed({"strategy": "BLUE_GREEN", "bake_time_minutes": 1})
    seeded["hook_answers"] = [{"function": "smoke", "answers": ["FAILED"]}]
    clock = FakeClock()
    with LocalAWS(seeded, base_dir=tmp_path, clock=clock) as aws:
        traffic = Traffic(aws, clock)
        traffic.configure(lifecycleHooks=[lambda_at("PRE_SCALE_UP")])
        assert traffic.follow(traffic.deploy("1.1.0"))[-1]["status"] == "ROLLBACK_SUCCESSFUL"

        def post(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            request = urllib.request.Request(aws.endpoint_url + "/_ecsdeploy/hook-answers",
                                             data=json.dumps(body).encode(), method="POST")
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    return answer.status, json.loads(answer.read())
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read())

        assert post({"function": "smoke", "answers": ["SUCCEEDED"]}) == (
            200, {"function": "smoke", "answers": ["SUCCEEDED"], "call_back_delay": 30.0})
        assert traffic.follow(traffic.deploy("2.0.0"))[-1]["status"] == "SUCCESSFUL"
        assert post({"function": "smoke", "answers": ["MAYBE"]})[0] == 400
        assert post({"function": "smoke", "answers": []})[0] == 400
        assert post({"function": "", "answers": ["FAILED"]})[0] == 400
        assert post({"function": "smoke", "answers": ["FAILED"], "delay": 3}) == (
            400, {"error": "unknown key 'delay'; the keys are function, answers and call_back_delay."})


# -- CloudWatch alarms ----------------------------------------------------------------------------------------------


def alarm(traffic: Traffic, name: str, state: str = "OK") -> None:
    cloudwatch = traffic.client("cloudwatch")
    cloudwatch.put_metric_alarm(AlarmName=name, MetricName="5xx", Namespace="web", Statistic="Sum", Period=60,
                                EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


@pytest.mark.parametrize("stage", ["SCALE_UP", "POST_TEST_TRAFFIC_SHIFT", "BAKE_TIME"])
def test_an_alarm_in_alarm_during_the_deployment_rolls_it_back(traffic: Traffic, stage: str) -> None:
    alarm(traffic, "web-5xx")
    alarm(traffic, "web-latency")
    traffic.configure(strategy="BLUE_GREEN", bakeTimeInMinutes=5, lifecycleHooks=[], alarms={
        "alarmNames": ["web-5xx", "web-latency"], "enable": True, "rollback": True})
    assert traffic.service()["deploymentConfiguration"]["alarms"] == {
        "alarmNames": ["web-5xx", "web-latency"], "enable": True, "rollback": True}
    arn = traffic.deploy("1.1.0")
    traffic.follow(arn, until=lambda found: found.get("lifecycleStage") == stage)
    assert traffic.describe(arn)["alarms"] == {"status": "MONITORING", "alarmNames": ["web-5xx", "web-latency"],
                                               "triggeredAlarmNames": []}
    traffic.client("cloudwatch").set_alarm_state(AlarmName="web-latency", StateValue="ALARM", StateReason="slow")
    looks = traffic.follow(arn)
    assert looks[-1]["status"] == "ROLLBACK_SUCCESSFUL"
    done = traffic.describe(arn)
    assert done["statusReason"] == done["rollback"]["reason"] == "CloudWatch alarm(s) web-latency in ALARM state."
    assert done["alarms"] == {"status": "TRIGGERED", "alarmNames": ["web-5xx", "web-latency"],
                              "triggeredAlarmNames": ["web-latency"]}
    assert traffic.rules()[0] == ({"blue": 1, "green": 0} if stage == "SCALE_UP" else {"blue": 100, "green": 0})
    assert traffic.version() == (200, "1.0.0", "web-blue")


def test_an_alarm_without_rollback_stops_the_deployment_and_an_ok_one_completes(traffic: Traffic) -> None:
    alarm(traffic, "web-5xx")
    traffic.configure(strategy="BLUE_GREEN", bakeTimeInMinutes=1, lifecycleHooks=[], alarms={
        "alarmNames": ["web-5xx"], "enable": True, "rollback": False})
    good = traffic.deploy("1.1.0")
    assert traffic.follow(good)[-1]["status"] == "SUCCESSFUL"
    assert traffic.describe(good)["alarms"]["status"] == "MONITORING_COMPLETE"
    traffic.client("cloudwatch").set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="5xx")
    bad_one = traffic.deploy("2.0.0")
    assert traffic.follow(bad_one)[-1]["status"] == "STOPPED"
    done = traffic.describe(bad_one)
    assert done["statusReason"] == "CloudWatch alarm(s) web-5xx in ALARM state." and "stoppedAt" in done
    assert "rollback" not in done and done["alarms"]["status"] == "TRIGGERED"


def test_alarms_on_a_rolling_update_are_refused_not_ignored(traffic: Traffic) -> None:
    with pytest.raises(ClientError) as refused:
        traffic.configure(strategy="ROLLING", alarms={"alarmNames": ["a"], "enable": True, "rollback": True})
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert refused.value.response["Error"]["Message"] == (
        "The local ECS engine watches CloudWatch alarms during BLUE_GREEN, LINEAR and CANARY deployments only, not "
        "rolling updates.")
    traffic.configure(strategy="ROLLING", alarms={"alarmNames": ["a"], "enable": False, "rollback": False})
