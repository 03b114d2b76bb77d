"""EcsService deploying to BLUE_GREEN, LINEAR and CANARY services of the embedded local AWS, in simulated time:
the emulator's clock moves only when the service sleeps between looks, so a bake of half an hour takes no wall
time, and the stages printed, the time-out and the verdicts are exact."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from module_aws import ModuleAWS

from pytest_ecsdeploy.actions.service import EcsService
from pytest_ecsdeploy.cancel import Cancelled
from pytest_ecsdeploy.config import Environment, Service
from pytest_ecsdeploy.context import Hooks, PrintLog, RunOptions, ServiceContext
from pytest_ecsdeploy.emulator.seed import parse_seed
from pytest_ecsdeploy.emulator.seeding import apply_seed
from pytest_ecsdeploy.errors import ActionError, CheckFailed, RolloutFailed
from pytest_ecsdeploy.report.record import ServiceRecord

TASK_DEFINITION = {
    "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
    "containerDefinitions": [{"name": "app", "image": "web:placeholder", "essential": True}],
}
STAGES = ["PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
          "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"]


def stages(log: PrintLog) -> list[str]:
    return [line.split("lifecycle stage ", 1)[1].split(" ", 1)[0] for line in log.lines if ": lifecycle stage " in line]


class World:
    """The module's LocalAWS on its FakeClock, empty until ``seed()`` adds the service ``web`` (2 tasks of
    web:1.0.0); EcsService's sleeps move the clock."""

    def __init__(self, shared: ModuleAWS, tmp_path: Path) -> None:
        self.shared, self.local, self.clock, self.tmp_path = shared, shared.local, shared.clock, tmp_path
        self.ecs = shared.client("ecs")
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[], None] | None = None
        self.start = self.clock.now()

    def seed(self, **deployment: Any) -> None:
        self.tmp_path.joinpath("taskdef.json").write_text(json.dumps(TASK_DEFINITION))
        seed = parse_seed({
            "clusters": ["local"], "repositories": {"web": {"tags": ["1.0.0", "2.0.0"]}},
            "services": {"web": {"task_definition": "taskdef.json", "images": {"app": "web:1.0.0"},
                                 "desired_count": 2, "deployment_configuration": deployment}},
        }, "test", self.tmp_path, {})
        apply_seed(seed, self.local)

    def revision(self, tag: str) -> str:
        uri = self.local.client("ecr").describe_repositories(repositoryNames=["web"])["repositories"][0]["repositoryUri"]
        app = {**TASK_DEFINITION["containerDefinitions"][0], "image": f"{uri}:{tag}"}  # type: ignore[dict-item]
        return str(self.ecs.register_task_definition(**{**TASK_DEFINITION, "containerDefinitions": [app]})[
            "taskDefinition"]["taskDefinitionArn"])

    def service(self, *, wait_timeout: float = 600.0, chosen_timeout: float | None = None,
                rollback: bool = True) -> tuple[EcsService, PrintLog]:
        environment = Environment(name="local", backend="emulator", cluster="local", region="us-east-1",
                                  wait_timeout=wait_timeout)
        log = PrintLog("[web] ")
        ctx = ServiceContext(
            environment=environment, service=Service(name="web", service_name="web", repository="web"),
            aws=self.shared.client_factory(environment),
            options=RunOptions(rollback=rollback, wait_timeout=chosen_timeout),
            record=ServiceRecord(service="web", environment="local", cluster="local"),
            log=log, hooks=Hooks(),
        )
        return EcsService(ctx, clock=lambda: self.clock.now() - self.start, sleep=self.sleep,
                          wall=self.clock.now), log

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)
        if self.on_sleep is not None:
            self.on_sleep()

    def describe(self) -> dict[str, Any]:
        return self.ecs.describe_services(cluster="local", services=["web"])["services"][0]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleAWS]:
    with ModuleAWS(base_dir=tmp_path_factory.mktemp("strategies"), runner="simulated") as aws:
        yield aws


@pytest.fixture
def world(shared: ModuleAWS, tmp_path: Path) -> World:
    return World(shared.fresh(seed=False), tmp_path)


def test_a_bake_longer_than_the_time_out_is_waited_out_within_the_time_out_it_adds_and_every_stage_is_printed(
        world: World) -> None:
    # A five-minute bake against a two-minute time-out: waited out only if the time-out adds it.
    world.seed(strategy="BLUE_GREEN", bake_time_minutes=5)
    service, log = world.service(wait_timeout=120)
    rollout = service.deploy(world.revision("2.0.0"))
    assert rollout.is_completed and rollout.duration >= 300
    assert stages(log) == STAGES
    assert max(world.sleeps) == EcsService.poll_max  # the bake is watched at the steady pace, never slower
    assert any(line.startswith("service deployment ") and " SUCCESSFUL (stage CLEAN_UP" in line for line in log.lines)
    assert service.is_steady and service.revision == rollout.revision


def test_a_time_out_the_user_chose_is_kept_and_says_which_stage_it_ended_in(world: World) -> None:
    world.seed(strategy="BLUE_GREEN", bake_time_minutes=30)
    service, log = world.service(chosen_timeout=120, rollback=False)  # not lengthened by the bake
    with pytest.raises(RolloutFailed) as failure:
        service.deploy(world.revision("2.0.0"))
    assert service.rollout is not None and service.rollout.is_timed_out
    assert "did not end within 120 s (stage BAKE_TIME, production traffic 100% / test 100% on web:2" in str(
        failure.value)
    assert "not rolled back (--no-rollback)" in str(failure.value)


@pytest.mark.parametrize(
    ("config", "weights"),
    [
        ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 1}},
         ["0%", "25%", "50%", "75%", "100%"]),
        ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 5.0, "canaryBakeTimeInMinutes": 1}},
         ["0%", "5%", "100%"]),
    ],
    ids=["linear", "canary"],
)
def test_linear_and_canary_steps_are_printed_with_their_weights(world: World, config: dict[str, Any],
                                                               weights: list[str]) -> None:
    world.seed(strategy="BLUE_GREEN", bake_time_minutes=1)
    world.ecs.update_service(cluster="local", service="web", deploymentConfiguration=config)
    service, log = world.service()
    assert service.deploy(world.revision("2.0.0")).is_completed
    printed: list[str] = []
    for line in log.lines:  # stage lines and step lines alike name green's production weight
        if line.startswith("service deployment ") and "production traffic " in line:
            weight = line.split("production traffic ", 1)[1].split(" ", 1)[0]
            if not printed or printed[-1] != weight:
                printed.append(weight)
    assert printed == weights
    assert sum(": production traffic " in line for line in log.lines) == len(weights) - 2  # the steps but the last
    assert stages(log)[:2] == STAGES[:2] and stages(log)[-2:] == STAGES[-2:]


def test_a_deployment_of_the_revision_already_in_progress_is_found_by_its_revision_and_followed(world: World) -> None:
    world.seed(strategy="BLUE_GREEN", bake_time_minutes=1)
    revision = world.revision("2.0.0")
    started = world.ecs.update_service(cluster="local", service="web", taskDefinition=revision)["service"]
    service, log = world.service()
    rollout = service.deploy(revision)
    assert rollout.is_completed
    ours = started["currentServiceDeployment"].rsplit("/", 1)[1]
    assert any(line.startswith(f"service deployment {ours} of web:2: lifecycle stage") for line in log.lines)


def test_someone_stopping_the_deployment_is_a_failure_ecs_already_rolled_back(world: World) -> None:
    world.seed(strategy="BLUE_GREEN", bake_time_minutes=10)
    service, log = world.service()

    def stop_during_the_bake() -> None:
        current = world.describe().get("currentServiceDeployment")
        found = world.ecs.describe_service_deployments(serviceDeploymentArns=[current])["serviceDeployments"]
        if found and found[0].get("lifecycleStage") == "BAKE_TIME" and found[0]["status"] == "IN_PROGRESS":
            world.ecs.stop_service_deployment(serviceDeploymentArn=current, stopType="ROLLBACK")

    world.on_sleep = stop_during_the_bake
    with pytest.raises(RolloutFailed) as failure:
        service.deploy(world.revision("2.0.0"))
    assert "failed and ECS rolled it back to web:1: StopServiceDeployment requested a rollback" in str(failure.value)
    assert not any("updating service web: web:2 -> web:1" in line for line in log.lines)  # no second rollback
    record = service.ctx.record
    assert record.outcome == "rolled back" and record.rollback is not None and record.rollback.outcome == "completed"
    assert service.revision is not None and service.revision.endswith("web:1")


@pytest.mark.parametrize(("action", "completed"), [("CONTINUE", True), ("ROLLBACK", False)])
def test_a_pause_hook_is_shown_and_someone_elses_answer_decides(world: World, action: str, completed: bool) -> None:
    world.seed(strategy="BLUE_GREEN", bake_time_minutes=1)
    world.ecs.update_service(cluster="local", service="web", deploymentConfiguration={"lifecycleHooks": [
        {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]})
    service, log = world.service()
    answered: list[str] = []

    def answer_after_a_minute() -> None:
        current = world.describe().get("currentServiceDeployment")
        found = world.ecs.describe_service_deployments(serviceDeploymentArns=[current])["serviceDeployments"][0]
        waiting = [h for h in found.get("lifecycleHookDetails") or [] if h["status"] == "AWAITING_ACTION"]
        if waiting and not answered and world.clock.now() - world.start > 60:
            world.ecs.continue_service_deployment(serviceDeploymentArn=current, hookId=waiting[0]["hookId"],
                                                  action=action)
            answered.append(waiting[0]["hookId"])

    world.on_sleep = answer_after_a_minute
    if completed:
        assert service.deploy(world.revision("2.0.0")).is_completed
    else:
        with pytest.raises(RolloutFailed, match="asked for a rollback"):
            service.deploy(world.revision("2.0.0"))
    assert any(f"lifecycle hook {answered[0]} at POST_TEST_TRAFFIC_SHIFT awaits ContinueServiceDeployment until "
               in line for line in log.lines)
    assert service.revision is not None and service.revision.endswith("web:2" if completed else "web:1")


# -- until=..., continue_deployment() and rollbacks through the service deployment --------------------------------

SHIFTS: dict[str, dict[str, Any]] = {
    "BLUE_GREEN": {"strategy": "BLUE_GREEN"},
    "LINEAR": {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 50.0, "stepBakeTimeInMinutes": 1}},
    "CANARY": {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 1}},
}
PAUSE = {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}


def configure(world: World, strategy: str, *, bake: int = 1, hooks: list[dict[str, Any]] | None = None) -> None:
    world.seed(strategy="BLUE_GREEN", bake_time_minutes=bake)
    world.ecs.update_service(cluster="local", service="web", deploymentConfiguration={
        **SHIFTS[strategy], "bakeTimeInMinutes": bake, "lifecycleHooks": hooks if hooks is not None else [PAUSE]})


def service_deployment(world: World, arn: str) -> dict[str, Any]:
    return world.ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]  # type: ignore[no-any-return]


def count_calls(service: EcsService, operation: str) -> list[str]:
    """Each call of ECS ``operation`` the service's client makes, as it is made."""
    calls: list[str] = []
    service.ctx.aws.client("ecs").meta.events.register(f"before-call.ecs.{operation}",
                                                       lambda **_: calls.append(operation))
    return calls


@pytest.mark.parametrize("strategy", list(SHIFTS))
def test_deploy_until_test_traffic_pauses_with_production_on_blue_and_continue_finishes_it(world: World,
                                                                                           strategy: str) -> None:
    configure(world, strategy)
    service, log = world.service()
    paused = service.deploy(world.revision("2.0.0"), until="test_traffic")
    assert paused.is_paused and not paused.is_completed and paused.service_deployment is not None
    found = service_deployment(world, paused.service_deployment)
    assert found["status"] == "IN_PROGRESS" and found["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"
    assert found["targetServiceRevision"]["requestedTestTrafficWeight"] == 100.0
    assert found["targetServiceRevision"]["requestedProductionTrafficWeight"] == 0.0
    record = service.ctx.record
    assert record.until == "test_traffic" and record.outcome == "pending" and record.strategy == strategy
    assert record.service_deployment == paused.service_deployment
    world.clock.advance(600)  # the smoke steps take their time; the hook waits (24 h by default)

    rollout = service.continue_deployment()
    assert rollout.is_completed and rollout.revision == paused.revision
    assert service.is_steady and service.revision == paused.revision
    assert service_deployment(world, paused.service_deployment)["status"] == "SUCCESSFUL"
    assert record.outcome == "deployed" and record.until is None
    seen = [stage["stage"] for i, stage in enumerate(record.stages)
            if i == 0 or stage["stage"] != record.stages[i - 1]["stage"]]  # a status change repeats its stage
    assert seen[seen.index("POST_TEST_TRAFFIC_SHIFT") + 1:][:1] in (["PRODUCTION_TRAFFIC_SHIFT"],
                                                                    ["PRE_PRODUCTION_TRAFFIC_SHIFT"])
    assert seen[-2:] == ["BAKE_TIME", "CLEAN_UP"]
    assert record.stages[-1]["productionWeight"] == 100.0 and all(isinstance(s["at"], float) for s in record.stages)
    assert any("ContinueServiceDeployment CONTINUE for hook" in line for line in log.lines)
    assert rollout.stages and rollout.stages[-1]["status"] == "SUCCESSFUL"


@pytest.mark.parametrize("strategy", list(SHIFTS))
def test_a_failed_step_at_the_pause_rolls_back_through_the_pause(world: World, strategy: str) -> None:
    configure(world, strategy)
    service, log = world.service()
    paused = service.deploy(world.revision("2.0.0"), until="test_traffic")
    assert paused.service_deployment is not None
    service.finish("test_green_answers", "smoke: GET /version did not answer status 200")
    record = service.ctx.record
    assert record.outcome == "rolled back", record.reason
    assert record.reason is not None and "paused at POST_TEST_TRAFFIC_SHIFT" in record.reason
    assert record.rollback is not None and record.rollback.outcome == "completed"
    assert record.rollback.deployment_id == paused.service_deployment.rsplit("/", 1)[1]
    assert record.rollback.to_revision is not None and record.rollback.to_revision.endswith("web:1")
    found = service_deployment(world, paused.service_deployment)
    assert found["status"] == "ROLLBACK_SUCCESSFUL"
    assert any("through the pause: ContinueServiceDeployment ROLLBACK" in line for line in log.lines)
    assert not any("updating service web: web:2 -> web:1" in line for line in log.lines)  # no new deployment
    assert service.revision is not None and service.revision.endswith("web:1")
    assert [c.name for c in record.checks.items if c.action == "ecs_service.rollback" and c.result == "failed"] == []
    with pytest.raises(ActionError, match="continue_deployment\\(\\) needs a deployment"):
        service.continue_deployment()


def test_a_scenario_that_ends_paused_is_rolled_back_rather_than_left_waiting(world: World) -> None:
    configure(world, "BLUE_GREEN")
    service, _ = world.service()
    paused = service.deploy(world.revision("2.0.0"), until="test_traffic")
    service.finish(None)
    record = service.ctx.record
    assert record.outcome == "rolled back" and "continue_deployment() was not called" in str(record.reason)
    assert paused.service_deployment is not None
    assert service_deployment(world, paused.service_deployment)["status"] == "ROLLBACK_SUCCESSFUL"


@pytest.mark.parametrize("strategy", list(SHIFTS))
def test_until_traffic_shifted_returns_within_a_long_bake_and_a_later_failure_stops_it_with_a_rollback(
        world: World, strategy: str) -> None:
    configure(world, strategy, bake=120, hooks=[])
    service, log = world.service()
    rollout = service.deploy(world.revision("2.0.0"), until="traffic_shifted")
    assert rollout.is_traffic_shifted and rollout.duration < 1800  # the two-hour bake is not waited out
    assert rollout.service_deployment is not None
    found = service_deployment(world, rollout.service_deployment)
    assert found["status"] == "IN_PROGRESS" and found["targetServiceRevision"]["requestedProductionTrafficWeight"] == 100
    record = service.ctx.record
    assert record.outcome == "deployed" and record.bake_running and record.until == "traffic_shifted"
    assert "the bake was still running" in str(record.reason)

    service.finish("test_after_the_shift", "assert False")
    assert record.outcome == "rolled back" and record.rollback is not None and record.rollback.outcome == "completed"
    assert any(": StopServiceDeployment ROLLBACK of service deployment " in line for line in log.lines)
    assert service_deployment(world, rollout.service_deployment)["status"] == "ROLLBACK_SUCCESSFUL"
    assert service.revision is not None and service.revision.endswith("web:1")


def test_a_deployment_that_times_out_mid_bake_is_stopped_with_a_rollback_not_redeployed(world: World) -> None:
    world.seed(strategy="BLUE_GREEN", bake_time_minutes=30)
    service, log = world.service(chosen_timeout=120)
    with pytest.raises(RolloutFailed) as failure:
        service.deploy(world.revision("2.0.0"))
    assert "did not complete in time; rolled back to web:1." in str(failure.value)
    assert any("StopServiceDeployment ROLLBACK of service deployment" in line and "BAKE_TIME" in line
               for line in log.lines)
    assert not any("updating service web: web:2 -> web:1" in line for line in log.lines)
    assert service.ctx.record.stages[-1]["status"] == "ROLLBACK_SUCCESSFUL"


def test_a_bake_is_watched_for_about_one_call_a_second(world: World) -> None:
    # Ten minutes of bake outweigh the few seconds of the other stages, which are watched more closely.
    world.seed(strategy="BLUE_GREEN", bake_time_minutes=10)
    service, _ = world.service()
    described = count_calls(service, "DescribeServices")
    deployments = count_calls(service, "DescribeServiceDeployments")
    rollout = service.deploy(world.revision("2.0.0"))
    assert rollout.is_completed
    assert len(deployments) < 600 / 4  # every 5 s during the ten-minute bake, not on every look
    assert (len(described) + len(deployments)) / rollout.duration < 1.25


@pytest.mark.parametrize(
    ("config", "until", "message"),
    [
        ({"lifecycleHooks": []}, "test_traffic", "needs a PAUSE lifecycle hook at POST_TEST_TRAFFIC_SHIFT"),
        ({"strategy": "ROLLING"}, "test_traffic", "needs a BLUE_GREEN, LINEAR or CANARY service"),
        ({"strategy": "ROLLING"}, "traffic_shifted", "needs a BLUE_GREEN, LINEAR or CANARY service"),
    ],
    ids=["no-pause-hook", "rolling-test-traffic", "rolling-traffic-shifted"],
)
def test_a_service_not_configured_for_until_fails_a_pre_check_before_any_write(
        world: World, config: dict[str, Any], until: str, message: str) -> None:
    world.seed(strategy="BLUE_GREEN", bake_time_minutes=1)
    world.ecs.update_service(cluster="local", service="web", deploymentConfiguration=config)
    before = world.describe()["deployments"]
    service, _ = world.service()
    with pytest.raises(CheckFailed, match=message):
        service.deploy(world.revision("2.0.0"), until=until)
    assert world.describe()["deployments"] == before


def test_an_unknown_until_is_one_sentence(world: World) -> None:
    world.seed(strategy="BLUE_GREEN", bake_time_minutes=1)
    service, _ = world.service()
    with pytest.raises(ActionError, match=r"^deploy\(until=...\) expects 'completed', 'test_traffic', 'production_step' "
                                          r"or 'traffic_shifted', got 'bake'\.$"):
        service.deploy(world.revision("2.0.0"), until="bake")


def test_the_production_listener_rule_must_forward_to_both_target_groups(world: World) -> None:
    """ELBv2 here is moto's: the pre-check reads the rule ECS would shift weights on, with one DescribeRules."""
    world.seed(strategy="BLUE_GREEN", bake_time_minutes=1)
    ec2, elb = world.local.client("ec2"), world.local.client("elbv2")
    subnets = ec2.describe_subnets()["Subnets"]
    balancer = elb.create_load_balancer(Name="web", Subnets=[s["SubnetId"] for s in subnets[:2]])["LoadBalancers"][0]
    blue, green = (elb.create_target_group(Name=name, Protocol="HTTP", Port=8080, VpcId=subnets[0]["VpcId"],
                                           TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
                   for name in ("web-blue", "web-green"))
    listener = elb.create_listener(LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                   DefaultActions=[{"Type": "fixed-response",
                                                    "FixedResponseConfig": {"StatusCode": "404"}}])["Listeners"][0]
    rule = elb.create_rule(ListenerArn=listener["ListenerArn"], Priority=1,
                           Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
                           Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
                               {"TargetGroupArn": blue, "Weight": 100}]}}])["Rules"][0]["RuleArn"]
    world.ecs.update_service(cluster="local", service="web", loadBalancers=[{
        "targetGroupArn": blue, "containerName": "app", "containerPort": 8080, "advancedConfiguration": {
            "alternateTargetGroupArn": green, "productionListenerRule": rule,
            "roleArn": "arn:aws:iam::123456789012:role/ecs-infrastructure"}}])
    while len(world.describe()["deployments"]) > 1:  # the load balancer change is a deployment of its own
        world.clock.advance(5)
    service, _ = world.service()
    before = world.describe()["deployments"]
    with pytest.raises(CheckFailed, match=r"production listener rule \w+ does not forward to web-green: add both "
                                          r"target groups to its forward action"):
        service.deploy(world.revision("2.0.0"))
    with pytest.raises(CheckFailed, match="needs a PAUSE lifecycle hook at POST_TEST_TRAFFIC_SHIFT"):
        service.deploy(world.revision("2.0.0"), until="test_traffic")
    assert [c.detail for c in service.ctx.record.checks.items if c.result == "failed"][-2:] == [
        "deploy(until='test_traffic') needs a PAUSE lifecycle hook at POST_TEST_TRAFFIC_SHIFT; add {targetType = "
        "PAUSE, lifecycleStages = [POST_TEST_TRAFFIC_SHIFT]} to the service's deploymentConfiguration.lifecycleHooks",
        "add advancedConfiguration testListenerRule on the load balancer of target group web-blue, so that the new "
        "revision gets test traffic"]  # every missing piece is said at once
    assert world.describe()["deployments"] == before  # nothing was written

    elb.modify_rule(RuleArn=rule, Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": blue, "Weight": 100}, {"TargetGroupArn": green, "Weight": 0}]}}])
    assert service.deploy(world.revision("2.0.0")).is_completed
    [check] = [c for c in service.ctx.record.checks.items if c.name == "both target groups on the production "
                                                                      "listener rule" and c.result == "passed"]
    assert check.detail == "1 production listener rule(s) forward to both"


# -- every failure of the matrix, for each strategy: an alarm, a failed hook, a cancel at each stage -------------


def alarm(world: World, name: str) -> None:
    """A CloudWatch alarm ``name`` in OK, which the emulator's ECS reads while a service deployment runs."""
    cloudwatch = world.local.client("cloudwatch")
    cloudwatch.put_metric_alarm(AlarmName=name, MetricName="5xx", Namespace="web", Statistic="Sum", Period=60,
                                EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="quiet")


def at_stage(world: World, stage: str) -> bool:
    current = world.describe().get("currentServiceDeployment")
    return current is not None and service_deployment(world, current).get("lifecycleStage") == stage


def ecs_rolled_back_once(world: World, service: EcsService, log: PrintLog, reason: str) -> None:
    """The record of a deployment ECS itself rolled back for ``reason``: followed, not rolled back a second time."""
    record = service.ctx.record
    assert record.outcome == "rolled back" and reason in str(record.reason), record.reason
    assert record.rollback is not None and record.rollback.outcome == "completed"
    assert record.rollback.to_revision is not None and record.rollback.to_revision.endswith("web:1")
    assert record.service_deployment is not None and record.stages[-1]["status"] == "ROLLBACK_SUCCESSFUL"
    assert service_deployment(world, record.service_deployment)["status"] == "ROLLBACK_SUCCESSFUL"
    assert not any("updating service web: web:2 -> web:1" in line for line in log.lines)  # no second rollback
    assert not any("StopServiceDeployment ROLLBACK" in line for line in log.lines)
    assert service.revision is not None and service.revision.endswith("web:1")


@pytest.mark.parametrize("strategy", list(SHIFTS))
@pytest.mark.parametrize("stage", ["SCALE_UP", "TEST_TRAFFIC_SHIFT", "BAKE_TIME"])
def test_an_alarm_going_off_fails_the_deployment_with_ecs_reason_and_ecs_rollback(world: World, strategy: str,
                                                                                   stage: str) -> None:
    alarm(world, "web-5xx")
    alarm(world, "web-latency")
    configure(world, strategy, bake=10, hooks=[])
    world.ecs.update_service(cluster="local", service="web", deploymentConfiguration={
        **SHIFTS[strategy], "bakeTimeInMinutes": 10, "lifecycleHooks": [],
        "alarms": {"alarmNames": ["web-5xx", "web-latency"], "enable": True, "rollback": True}})
    service, log = world.service()
    rang: list[str] = []

    def ring_at_the_stage() -> None:
        if not rang and at_stage(world, stage):
            world.local.client("cloudwatch").set_alarm_state(AlarmName="web-latency", StateValue="ALARM",
                                                             StateReason="slow")
            rang.append(stage)

    world.on_sleep = ring_at_the_stage
    with pytest.raises(RolloutFailed) as failure:
        service.deploy(world.revision("2.0.0"))
    assert rang == [stage]
    reason = "CloudWatch alarm(s) web-latency in ALARM state"
    assert "failed; rolled back to web:1." in str(failure.value) and reason in str(failure.value)
    assert "rollback: ECS rolled it back to web:1 (deployment " in str(failure.value)
    ecs_rolled_back_once(world, service, log, reason)


FAILED_HOOK = "failed: arn:aws:lambda:us-east-1:123456789012:function:smoke answered FAILED"


@pytest.mark.parametrize("strategy", list(SHIFTS))
@pytest.mark.parametrize("stage", ["POST_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"])
def test_a_lambda_hook_answering_failed_fails_the_deployment_with_ecs_reason_and_ecs_rollback(
        world: World, strategy: str, stage: str) -> None:
    configure(world, strategy, hooks=[{"targetType": "AWS_LAMBDA", "lifecycleStages": [stage],
                                       "hookTargetArn": "arn:aws:lambda:us-east-1:123456789012:function:smoke",
                                       "roleArn": "arn:aws:iam::123456789012:role/hooks"}])
    world.local.set_hook_answers("smoke", ["IN_PROGRESS", "FAILED"], call_back_delay=10)
    service, log = world.service()
    with pytest.raises(RolloutFailed) as failure:
        service.deploy(world.revision("2.0.0"))
    assert "failed; rolled back to web:1." in str(failure.value) and FAILED_HOOK in str(failure.value)
    assert "rollback: ECS rolled it back to web:1 (deployment " in str(failure.value)
    ecs_rolled_back_once(world, service, log, FAILED_HOOK)
    assert [s["stage"] for s in service.ctx.record.stages if s["status"] == "IN_PROGRESS"][-1:] == [stage]


@pytest.mark.parametrize("strategy", list(SHIFTS))
@pytest.mark.parametrize("stage", ["SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
                                   "PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME"])
def test_a_run_cancelled_at_each_stage_stops_the_service_deployment_with_a_rollback(world: World, strategy: str,
                                                                                    stage: str) -> None:
    # A pause at POST_TEST_TRAFFIC_SHIFT holds that stage until the cancel; the others last a poll or more.
    configure(world, strategy, bake=60, hooks=[PAUSE] if stage == "POST_TEST_TRAFFIC_SHIFT" else [])
    service, log = world.service()

    def sigterm_at_the_stage() -> None:
        if at_stage(world, stage) and not service.ctx.cancellation.requested:
            service.ctx.cancellation.request("SIGTERM received")
            raise Cancelled("SIGTERM received")

    world.on_sleep = sigterm_at_the_stage
    with pytest.raises(Cancelled):
        service.deploy(world.revision("2.0.0"))
    world.on_sleep = None
    service.finish(None)
    record = service.ctx.record
    assert record.outcome == "cancelled" and "SIGTERM received while deployment" in str(record.reason)
    assert record.rollback is not None and record.rollback.outcome == "completed"
    if stage == "POST_TEST_TRAFFIC_SHIFT":  # a waiting pause hook is answered ROLLBACK rather than stopped
        assert any("through the pause: ContinueServiceDeployment ROLLBACK" in line for line in log.lines)
    else:
        assert any("StopServiceDeployment ROLLBACK of service deployment" in line and stage in line
                   for line in log.lines)
    assert record.service_deployment is not None
    assert service_deployment(world, record.service_deployment)["status"] == "ROLLBACK_SUCCESSFUL"
    assert service.revision is not None and service.revision.endswith("web:1")


# -- the record read back ------------------------------------------------------------------------------------------

PRODUCTION_WEIGHTS = {"BLUE_GREEN": [0.0, 100.0], "LINEAR": [0.0, 50.0, 100.0], "CANARY": [0.0, 10.0, 100.0]}


def read_back(record: ServiceRecord) -> ServiceRecord:
    """``record`` as a pytest-xdist controller gets it: through JSON."""
    again = ServiceRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again.to_dict() == record.to_dict()
    return again


@pytest.mark.parametrize("strategy", list(SHIFTS))
@pytest.mark.parametrize("good", [True, False], ids=["deployed", "rolled-back"])
def test_the_record_reads_back_with_its_strategy_service_deployment_and_weighted_stages(world: World, strategy: str,
                                                                                       good: bool) -> None:
    configure(world, strategy, hooks=[] if good else [{
        "targetType": "AWS_LAMBDA", "lifecycleStages": ["POST_PRODUCTION_TRAFFIC_SHIFT"],
        "hookTargetArn": "arn:aws:lambda:us-east-1:123456789012:function:smoke",
        "roleArn": "arn:aws:iam::123456789012:role/hooks"}])
    world.local.set_hook_answers("smoke", ["IN_PROGRESS", "FAILED"], call_back_delay=30)  # seen at 100%, then failed
    service, _ = world.service()
    if good:
        arn = service.deploy(world.revision("2.0.0")).service_deployment
    else:
        with pytest.raises(RolloutFailed):
            service.deploy(world.revision("2.0.0"))
        arn = service.ctx.record.service_deployment
    record = read_back(service.ctx.record)
    assert record.outcome == ("deployed" if good else "rolled back")
    assert record.strategy == strategy and record.service_deployment == arn and arn is not None
    assert all(set(stage) == {"stage", "at", "status", "productionWeight", "testWeight"} for stage in record.stages)
    assert [s["at"] for s in record.stages] == sorted(s["at"] for s in record.stages)
    weights = [s["productionWeight"] for s in record.stages if s["status"] == "IN_PROGRESS"]
    assert sorted(set(weights)) == PRODUCTION_WEIGHTS[strategy]  # every step of the shift is in the record
    assert max(s["testWeight"] for s in record.stages) == 100.0
    assert record.stages[-1]["status"] == ("SUCCESSFUL" if good else "ROLLBACK_SUCCESSFUL")
    if good:
        assert record.stages[-1]["stage"] == "CLEAN_UP" and record.rollback is None
    else:
        assert record.rollback is not None and record.rollback.outcome == "completed" and FAILED_HOOK in str(
            record.reason)
    assert record.revision_after is not None and record.revision_after.endswith("web:2")
