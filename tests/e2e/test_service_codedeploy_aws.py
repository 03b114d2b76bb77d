"""EcsService deploying a CODE_DEPLOY service of the embedded local AWS through CodeDeploy, in simulated time: the
lifecycle events printed, the verdicts, the pause at Ready with continue_deployment(), and every rollback path
(CodeDeploy's own after a failure, StopDeployment while in progress, a new deployment after Succeeded)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from module_aws import ModuleAWS

from pytest_ecsdeploy.actions.service import EcsService
from pytest_ecsdeploy.cancel import Cancellation, Cancelled
from pytest_ecsdeploy.config import Environment, Service
from pytest_ecsdeploy.context import Hooks, PrintLog, RunOptions, ServiceContext
from pytest_ecsdeploy.emulator.seed import parse_seed
from pytest_ecsdeploy.emulator.seeding import apply_seed
from pytest_ecsdeploy.errors import ActionError, CheckFailed, RolloutFailed
from pytest_ecsdeploy.report.octopus import OctopusReporter, ServiceMessages
from pytest_ecsdeploy.report.record import ServiceRecord

TASK_DEFINITION = {
    "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
    "containerDefinitions": [{"name": "app", "image": "web:placeholder", "essential": True,
                              "portMappings": [{"containerPort": 8080}]}],
}
EVENTS = ["BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic",
          "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"]


def events(log: PrintLog) -> list[str]:
    """The lifecycle events printed, in order, each once (one shorter than a look is printed once it ended)."""
    seen: list[str] = []
    for line in log.lines:
        if ": lifecycle event " in line:
            name = line.split("lifecycle event ", 1)[1].split(" ", 1)[0]
            if name not in seen:
                seen.append(name)
    return seen


class World:
    """One LocalAWS on a FakeClock with the CODE_DEPLOY service ``web`` (2 tasks of web:1.0.0, application and
    deployment group ``web``); EcsService's sleeps move the clock."""

    def __init__(self, shared: ModuleAWS, tmp_path: Path) -> None:
        self.shared, self.local, self.clock, self.tmp_path = shared, shared.local, shared.clock, tmp_path
        self.ecs, self.cd = shared.client("ecs"), shared.client("codedeploy")
        self.start = self.clock.now()
        self.on_sleep: Callable[[], None] | None = None

    def seed(self, **codedeploy: Any) -> None:
        self.tmp_path.joinpath("taskdef.json").write_text(json.dumps(TASK_DEFINITION))
        seed = parse_seed({
            "clusters": ["local"], "repositories": {"web": {"tags": ["1.0.0", "2.0.0"]}},
            "services": {"web": {"task_definition": "taskdef.json", "images": {"app": "web:1.0.0"},
                                 "desired_count": 2,
                                 "load_balancer": {"target_group": "web-blue", "container": "app", "port": 8080},
                                 "codedeploy": {"alternate_target_group": "web-green", **codedeploy}}},
        }, "test", self.tmp_path, {})
        apply_seed(seed, self.local)

    def revision(self, tag: str) -> str:
        uri = self.local.client("ecr").describe_repositories(repositoryNames=["web"])["repositories"][0]["repositoryUri"]
        app = {**TASK_DEFINITION["containerDefinitions"][0], "image": f"{uri}:{tag}"}  # type: ignore[dict-item]
        return str(self.ecs.register_task_definition(**{**TASK_DEFINITION, "containerDefinitions": [app]})[
            "taskDefinition"]["taskDefinitionArn"])

    def service(self, *, chosen_timeout: float | None = None, rollback: bool = True, hooks: Hooks | None = None,
                **keys: Any) -> tuple[EcsService, PrintLog]:
        environment = Environment(name="local", backend="emulator", cluster="local", region="us-east-1")
        log = PrintLog("[web] ")
        ctx = ServiceContext(
            environment=environment, service=Service(name="web", service_name="web", repository="web", **keys),
            aws=self.shared.client_factory(environment),
            options=RunOptions(rollback=rollback, wait_timeout=chosen_timeout),
            record=ServiceRecord(service="web", environment="local", cluster="local"),
            log=log, hooks=hooks or Hooks(),
        )
        return EcsService(ctx, clock=lambda: self.clock.now() - self.start, sleep=self.sleep,
                          wall=self.clock.now), log

    def sleep(self, seconds: float) -> None:
        self.clock.advance(seconds)
        if self.on_sleep is not None:
            self.on_sleep()

    def describe(self) -> dict[str, Any]:
        return self.ecs.describe_services(cluster="local", services=["web"])["services"][0]  # type: ignore[no-any-return]

    def primary(self) -> dict[str, Any]:
        service = self.ecs.describe_services(cluster="local", services=["web"])["services"][0]
        return next(t for t in service["taskSets"] if t["status"] == "PRIMARY")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleAWS]:
    with ModuleAWS(base_dir=tmp_path_factory.mktemp("codedeploy"), runner="simulated") as aws:
        yield aws


@pytest.fixture
def world(shared: ModuleAWS, tmp_path: Path) -> World:
    return World(shared.fresh(seed=False), tmp_path)


def test_a_good_deployment_prints_each_lifecycle_event_with_weights_and_succeeds(world: World) -> None:
    world.seed(termination_wait_minutes=1)
    service, log = world.service()
    before = world.primary()["taskDefinition"]
    rollout = service.deploy(world.revision("2.0.0"))
    assert rollout.is_completed and rollout.deployment_id and rollout.deployment_id.startswith("d-")
    assert rollout.duration >= 60  # the termination wait is waited out: it is in the time-out
    assert events(log) == EVENTS
    assert any("lifecycle event AllowTraffic succeeded (status InProgress, production traffic Blue 0% / Green 100%"
               in line for line in log.lines)
    assert world.primary()["taskDefinition"] == rollout.revision == service.revision and service.is_steady
    record = service.ctx.record
    assert record.outcome == "deployed" and record.revision_before == before
    assert record.codedeploy["application"] == "web" and record.codedeploy["deploymentId"] == rollout.deployment_id
    assert [e["event"] for e in record.codedeploy["lifecycleEvents"] if e["status"] == "Succeeded"] == EVENTS
    assert record.codedeploy["lifecycleEvents"][-1]["weights"] == {"Blue": 0.0, "Green": 100.0}
    back = ServiceRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert back.codedeploy == json.loads(json.dumps(record.codedeploy)) and back.deployment_id == rollout.deployment_id
    checks = {c.name: c.result for c in record.checks.items}
    assert checks["CodeDeploy deployment group"] == "passed" and checks["PRIMARY task set on the new revision"] == \
        "passed"
    again = service.deploy(rollout.revision)  # already live: no second CodeDeploy deployment
    assert again.is_unchanged
    assert world.cd.list_deployments(applicationName="web", deploymentGroupName="web")["deployments"] == [
        rollout.deployment_id]


def test_the_configured_group_is_used_and_one_of_another_service_is_refused(world: World) -> None:
    world.seed(application="shop", deployment_group="shop-web")
    service, _ = world.service(codedeploy_application="shop", codedeploy_deployment_group="shop-web")
    assert service.deploy(world.revision("2.0.0")).is_completed
    world.cd.create_deployment_group(
        applicationName="shop", deploymentGroupName="other", serviceRoleArn="arn:aws:iam::123456789012:role/cd",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        ecsServices=[{"clusterName": "local", "serviceName": "api"}])
    other, _ = world.service(codedeploy_application="shop", codedeploy_deployment_group="other")
    with pytest.raises(CheckFailed, match="deploys local:api, not local:web; set codedeploy_application and "
                                          "codedeploy_deployment_group in \\[services.web\\]"):
        other.deploy(world.revision("1.0.0"))


def test_two_groups_naming_the_service_are_a_failed_pre_check_that_says_which_keys_to_set(world: World) -> None:
    world.seed()
    world.cd.create_deployment_group(
        applicationName="web", deploymentGroupName="second", serviceRoleArn="arn:aws:iam::123456789012:role/cd",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        ecsServices=[{"clusterName": "local", "serviceName": "web"}])
    service, _ = world.service()
    with pytest.raises(CheckFailed, match="2 CodeDeploy deployment groups name local:web: .*set "
                                          "codedeploy_application and codedeploy_deployment_group"):
        service.deploy(world.revision("2.0.0"))
    assert world.cd.list_deployments(applicationName="web", deploymentGroupName="web")["deployments"] == []


def test_a_failed_hook_fails_the_deployment_with_its_reason_and_codedeploy_rolls_back(world: World) -> None:
    world.seed(hooks={"web-check": "Failed"}, termination_wait_minutes=0)
    before = world.primary()["taskDefinition"]
    service, log = world.service(codedeploy_hooks={"AfterAllowTestTraffic": "web-check"})
    with pytest.raises(RolloutFailed) as failure:
        service.deploy(world.revision("2.0.0"))
    message = str(failure.value)
    assert "CodeDeploy deployment d-" in message and "failed; rolled back to web:1" in message
    assert "Failed at lifecycle event AfterAllowTestTraffic: HOOK_EXECUTION_FAILURE" in message
    assert any("lifecycle event AfterAllowTestTraffic FAILED" in line for line in log.lines)
    record = service.ctx.record
    assert record.outcome == "rolled back" and record.rollback is not None
    assert record.rollback.outcome == "completed" and record.rollback.deployment_id != record.deployment_id
    assert world.primary()["taskDefinition"] == before


def test_until_test_traffic_stops_at_ready_and_continue_deployment_shifts_production(world: World) -> None:
    world.seed(ready_wait_minutes=60, termination_wait_minutes=0)
    service, log = world.service()
    paused = service.deploy(world.revision("2.0.0"), until="test_traffic")
    assert paused.outcome == "PAUSED" and "is Ready" in paused.reason
    assert world.primary()["taskDefinition"] != paused.revision  # production still on the original
    with pytest.raises(ActionError, match="call continue_deployment"):
        service.deploy(world.revision("2.0.0"))
    done = service.continue_deployment()
    assert done.is_completed and world.primary()["taskDefinition"] == paused.revision
    assert any("ContinueDeployment READY_WAIT" in line for line in log.lines)
    with pytest.raises(ActionError, match="none is"):
        service.continue_deployment()


def test_until_test_traffic_on_a_group_that_does_not_stop_at_ready_is_a_failed_pre_check(world: World) -> None:
    world.seed()
    service, _ = world.service()
    with pytest.raises(CheckFailed, match="does not stop at Ready; set its blueGreenDeploymentConfiguration."
                                          "deploymentReadyOption to actionOnTimeout STOP_DEPLOYMENT"):
        service.deploy(world.revision("2.0.0"), until="test_traffic")
    assert world.cd.list_deployments(applicationName="web", deploymentGroupName="web")["deployments"] == []


def test_until_production_step_is_a_failed_pre_check_and_continue_deployment_takes_no_until(world: World) -> None:
    world.seed(ready_wait_minutes=60, termination_wait_minutes=0)
    service, _ = world.service()
    with pytest.raises(CheckFailed, match="CodeDeploy has no pause between production traffic steps; use "
                                          "until='test_traffic'"):
        service.deploy(world.revision("2.0.0"), until="production_step")
    assert world.cd.list_deployments(applicationName="web", deploymentGroupName="web")["deployments"] == []
    paused = service.deploy(world.revision("2.0.0"), until="test_traffic")
    with pytest.raises(ActionError, match="a CodeDeploy deployment continues to its end only; call "
                                          r"continue_deployment\(\) without until"):
        service.continue_deployment(until="traffic_shifted")
    info = world.cd.get_deployment(deploymentId=paused.deployment_id)["deploymentInfo"]
    assert info["status"] == "Ready"  # nothing was continued
    assert service.continue_deployment().is_completed


def test_a_failed_smoke_step_at_ready_rolls_back_through_stop_deployment(world: World) -> None:
    world.seed(ready_wait_minutes=60, termination_wait_minutes=0)
    before = world.primary()["taskDefinition"]
    service, log = world.service()
    paused = service.deploy(world.revision("2.0.0"), until="test_traffic")
    service.finish("test_green_answers", "smoke check failed")
    record = service.ctx.record
    assert record.outcome == "rolled back" and record.rollback is not None and record.rollback.outcome == "completed"
    assert any("stopping CodeDeploy deployment" in line and "(Ready)" in line for line in log.lines)
    info = world.cd.get_deployment(deploymentId=paused.deployment_id)["deploymentInfo"]
    assert info["status"] == "Stopped"
    assert world.primary()["taskDefinition"] == before


def test_until_traffic_shifted_returns_during_the_termination_wait(world: World) -> None:
    world.seed(termination_wait_minutes=120)
    service, _ = world.service()
    rollout = service.deploy(world.revision("2.0.0"), until="traffic_shifted")
    assert rollout.outcome == "TRAFFIC_SHIFTED" and rollout.duration < 3600
    assert service.ctx.record.codedeploy["terminationWaitRunning"] is True
    info = world.cd.get_deployment(deploymentId=rollout.deployment_id)["deploymentInfo"]
    assert info["status"] == "InProgress"


def test_a_later_failed_step_after_succeeded_deploys_the_previous_revision_anew(world: World) -> None:
    world.seed(termination_wait_minutes=0)
    before = world.primary()["taskDefinition"]
    service, log = world.service()
    rollout = service.deploy(world.revision("2.0.0"))
    service.finish("test_after", "assert False")
    record = service.ctx.record
    assert record.outcome == "rolled back" and record.rollback is not None
    assert record.rollback.deployment_id not in (None, rollout.deployment_id)
    assert world.primary()["taskDefinition"] == before
    assert any("a new CodeDeploy deployment" in line for line in log.lines)


def test_no_rollback_leaves_a_failed_deployment_to_codedeploy(world: World) -> None:
    world.seed(hooks={"web-check": "Failed"}, auto_rollback=False, termination_wait_minutes=0)
    service, _ = world.service(codedeploy_hooks={"BeforeInstall": "web-check"}, rollback=False)
    with pytest.raises(RolloutFailed, match="not rolled back \\(--no-rollback\\)"):
        service.deploy(world.revision("2.0.0"))
    assert service.ctx.record.outcome == "failed"


# -- a deployment group's CloudWatch alarm stopping the deployment ------------------------------------------------

ALARM = "ALARM_ACTIVE: The deployment was stopped because CloudWatch alarm(s) web-5xx are in the ALARM state"


def ring_at(world: World, service: EcsService, phase: str) -> list[str]:
    """Set the seeded alarm web-5xx to ALARM once this run's deployment is at ``phase`` (a lifecycle event in
    progress, or the termination wait); the phases it rang at."""
    rang: list[str] = []

    def ring() -> None:
        deployment = service.ctx.record.deployment_id
        if rang or not deployment:
            return
        info = world.cd.get_deployment(deploymentId=deployment)["deploymentInfo"]
        if info["status"] not in ("InProgress", "Ready"):
            return
        target = world.cd.get_deployment_target(deploymentId=deployment, targetId="local:web")["deploymentTarget"]
        events = {e["lifecycleEventName"]: e["status"] for e in target["ecsTarget"]["lifecycleEvents"]}
        if events.get(phase) == "InProgress" or (phase == "termination wait"
                                                 and info.get("instanceTerminationWaitTimeStarted")):
            world.local.client("cloudwatch").set_alarm_state(AlarmName="web-5xx", StateValue="ALARM",
                                                             StateReason="errors")
            rang.append(phase)

    world.on_sleep = ring
    return rang


@pytest.mark.parametrize("phase", ["Install", "AllowTraffic", "termination wait"])
def test_an_alarm_stopping_the_deployment_fails_it_and_codedeploy_rolls_back_once(world: World, phase: str) -> None:
    world.seed(alarms=["web-5xx"], deployment_config="CodeDeployDefault.ECSCanary10Percent5Minutes",
               termination_wait_minutes=10)
    before = world.primary()["taskDefinition"]
    service, log = world.service()
    rang = ring_at(world, service, phase)
    with pytest.raises(RolloutFailed) as failure:
        service.deploy(world.revision("2.0.0"))
    assert rang == [phase]
    message = str(failure.value)
    assert " Stopped" in message and ALARM in message and "failed; rolled back to web:1" in message
    record = service.ctx.record
    assert record.outcome == "rolled back" and ALARM in str(record.reason)
    info = world.cd.get_deployment(deploymentId=record.deployment_id)["deploymentInfo"]
    assert info["status"] == "Stopped" and info["errorInformation"]["code"] == "ALARM_ACTIVE"
    assert record.rollback is not None and record.rollback.outcome == "completed"
    assert record.rollback.deployment_id == info["rollbackInfo"]["rollbackDeploymentId"]  # CodeDeploy's, followed
    assert "CodeDeploy rolled it back to web:1" in message
    assert not any("stopping CodeDeploy deployment" in line or "a new CodeDeploy deployment" in line
                   for line in log.lines)
    deployments = world.cd.list_deployments(applicationName="web", deploymentGroupName="web")["deployments"]
    assert sorted(deployments) == sorted([record.deployment_id, record.rollback.deployment_id])
    assert world.primary()["taskDefinition"] == before and len(world.describe()["taskSets"]) == 1


def test_an_alarm_stopping_the_deployment_without_codedeploy_rollback_is_rolled_back_once_by_the_plugin(
        world: World) -> None:
    world.seed(alarms=["web-5xx"], auto_rollback=False, termination_wait_minutes=0)
    before = world.primary()["taskDefinition"]
    service, log = world.service()
    rang = ring_at(world, service, "Install")
    with pytest.raises(RolloutFailed) as failure:
        service.deploy(world.revision("2.0.0"))
    assert rang == ["Install"] and ALARM in str(failure.value)
    record = service.ctx.record
    assert record.outcome == "rolled back" and record.rollback is not None
    assert record.rollback.outcome == "completed"
    stopped = world.cd.get_deployment(deploymentId=record.deployment_id)["deploymentInfo"]
    assert stopped["status"] == "Stopped" and "rollbackInfo" not in stopped
    rollback = world.cd.get_deployment(deploymentId=record.rollback.deployment_id)["deploymentInfo"]
    # the alarm still rings: the plugin's rollback deployment does not poll it
    assert rollback["overrideAlarmConfiguration"] == {"enabled": False} and rollback["creator"] == "user"
    assert any("a new CodeDeploy deployment" in line for line in log.lines)
    deployments = world.cd.list_deployments(applicationName="web", deploymentGroupName="web")["deployments"]
    assert sorted(deployments) == sorted([record.deployment_id, record.rollback.deployment_id])
    assert world.primary()["taskDefinition"] == before


def deny_create_deployment(service: EcsService, answers: list[str | None]) -> list[dict[str, Any]]:
    """Make this run's CreateDeployment calls fail in turn with ``answers`` (an error code, or None to let the
    call through; calls past the list go through); the parameters of every call, in order."""
    from botocore.exceptions import ClientError

    client = service.ctx.aws.client("codedeploy")
    create = client.create_deployment
    asked: list[dict[str, Any]] = []

    def create_deployment(**params: Any) -> Any:
        asked.append(params)
        code = answers.pop(0) if answers else None
        if code is not None:
            raise ClientError({"Error": {"Code": code, "Message": "User: arn:aws:sts::123456789012:assumed-role/"
                                         "deploy/s is not authorized to perform: codedeploy:UpdateDeploymentGroup"}},
                              "CreateDeployment")
        return create(**params)

    client.create_deployment = create_deployment
    return asked


@pytest.mark.parametrize("code", ["AccessDeniedException", "AccessDenied"])
def test_a_rollback_not_allowed_to_turn_alarm_polling_off_is_created_again_polling_them(world: World,
                                                                                      code: str) -> None:
    world.seed(alarms=["web-5xx"], termination_wait_minutes=0)
    before = world.primary()["taskDefinition"]
    service, log = world.service()
    asked = deny_create_deployment(service, [None, code])
    service.deploy(world.revision("2.0.0"))
    service.finish("test_after", "assert False")
    record = service.ctx.record
    assert record.outcome == "rolled back" and record.rollback is not None
    assert record.rollback.outcome == "completed"
    assert [params.get("overrideAlarmConfiguration") for params in asked] == [None, {"enabled": False}, None]
    rollback = world.cd.get_deployment(deploymentId=record.rollback.deployment_id)["deploymentInfo"]
    assert rollback.get("overrideAlarmConfiguration") != {"enabled": False}
    assert any("not allowed to turn" in line and f"denied: {code}" in line and "will stop it too" in line
               for line in log.lines)
    assert world.primary()["taskDefinition"] == before


@pytest.mark.parametrize(("alarms", "code"), [
    (["web-5xx"], "InvalidAlarmConfigException"),  # not a denial: the same call again would be refused again
    ([], "AccessDeniedException"),  # no alarms, no override asked for: denied CreateDeployment itself
])
def test_a_rollback_refused_otherwise_is_not_created_again_and_the_run_says_why(world: World, alarms: list[str],
                                                                                code: str) -> None:
    world.seed(alarms=alarms, termination_wait_minutes=0)
    service, log = world.service()
    asked = deny_create_deployment(service, [None, code])
    service.deploy(world.revision("2.0.0"))
    with pytest.raises(RolloutFailed, match=f"the rollback to web:1 failed too: .*CreateDeployment: {code}"):
        service.finish("test_after", "assert False")
    record = service.ctx.record
    assert len(asked) == 2 and record.rollback is not None and record.rollback.outcome != "completed"
    assert code in str(record.rollback.reason) and "CreateDeployment" in str(record.rollback.reason)
    assert not any("not allowed to turn" in line for line in log.lines)


# -- a run cancelled (a signal) at each phase of a CodeDeploy deployment -------------------------------------------


def in_phase(world: World, deployment: str | None, phase: str) -> bool:
    """Whether ``deployment`` is at ``phase``: a lifecycle event in progress, or the termination wait."""
    if not deployment:
        return False
    info = world.cd.get_deployment(deploymentId=deployment)["deploymentInfo"]
    if info["status"] != "InProgress":
        return False
    if phase == "termination wait":
        return bool(info.get("instanceTerminationWaitTimeStarted"))
    target = world.cd.get_deployment_target(deploymentId=deployment, targetId="local:web")["deploymentTarget"]
    return any(e["lifecycleEventName"] == phase and e["status"] == "InProgress"
               for e in target["ecsTarget"]["lifecycleEvents"])


@pytest.mark.parametrize("phase", ["Install", "Ready", "AllowTraffic", "termination wait", "Succeeded"])
def test_a_run_cancelled_at_each_phase_rolls_back_once_within_the_grace_period(world: World, phase: str) -> None:
    world.seed(deployment_config="CodeDeployDefault.ECSCanary10Percent5Minutes",
               ready_wait_minutes=60 if phase == "Ready" else None,
               termination_wait_minutes=0 if phase == "Succeeded" else 10)
    before = world.primary()["taskDefinition"]
    service, log = world.service()
    # the grace period in simulated seconds, as the rollback's watch counts them
    cancellation = service.ctx.cancellation = Cancellation(grace=120, clock=world.clock.now)

    def sigterm_in_the_phase() -> None:
        if not cancellation.requested and in_phase(world, service.ctx.record.deployment_id, phase):
            cancellation.request("SIGTERM received")
            raise Cancelled("SIGTERM received")

    if phase in ("Ready", "Succeeded"):  # the signal comes during a later step: at Ready, or once it succeeded
        rollout = service.deploy(world.revision("2.0.0"), until="test_traffic" if phase == "Ready" else None)
        assert rollout.outcome == ("PAUSED" if phase == "Ready" else "COMPLETED")
        cancellation.request("SIGTERM received")
    else:
        world.on_sleep = sigterm_in_the_phase
        with pytest.raises(Cancelled):
            service.deploy(world.revision("2.0.0"))
        world.on_sleep = None
    service.finish(None)
    record = service.ctx.record
    deployment = record.deployment_id
    assert deployment is not None and record.outcome == "cancelled", (record.outcome, record.reason)
    assert record.rollback is not None and record.rollback.outcome == "completed", record.rollback
    assert not cancellation.expired()
    info = world.cd.get_deployment(deploymentId=deployment)["deploymentInfo"]
    if phase == "Succeeded":
        assert "SIGTERM received after deployment" in str(record.reason) and info["status"] == "Succeeded"
        assert any("a new CodeDeploy deployment" in line for line in log.lines)
        rollback = world.cd.get_deployment(deploymentId=record.rollback.deployment_id)["deploymentInfo"]
        assert rollback["deploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"  # not the canary's 5 minutes
    else:
        assert "SIGTERM received while deployment" in str(record.reason)
        status = "Ready" if phase == "Ready" else "InProgress"
        assert any(f"stopping CodeDeploy deployment {deployment} ({status}) with its rollback" in line
                   for line in log.lines)
        assert info["status"] == "Stopped" and info["errorInformation"]["code"] == "MANUAL_STOP"
        assert info["rollbackInfo"]["rollbackDeploymentId"] == record.rollback.deployment_id
    assert "CodeDeploy rolled it back" in str(record.reason) or "rolled back to web:1" in str(record.reason)
    deployments = world.cd.list_deployments(applicationName="web", deploymentGroupName="web")["deployments"]
    assert sorted(deployments) == sorted([deployment, record.rollback.deployment_id])  # one rollback
    assert world.primary()["taskDefinition"] == before


# -- Octopus: the progress bar per lifecycle event -----------------------------------------------------------------

PROGRESS = re.compile(r"##octopus\[progress percentage='([^']*)' message='([^']*)'\]")


def progress(lines: list[str]) -> list[tuple[int, str]]:
    """(percentage, message) of each Octopus progress message written, decoded."""
    found = [PROGRESS.fullmatch(line) for line in lines]
    return [(int(base64.b64decode(m[1])), base64.b64decode(m[2]).decode()) for m in found if m is not None]


def test_the_octopus_progress_bar_moves_per_lifecycle_event_and_sits_at_100_during_a_rollback(world: World) -> None:
    world.seed(termination_wait_minutes=0)
    written: list[str] = []
    reporter = OctopusReporter(ServiceMessages(written.append))
    service, _ = world.service(hooks=Hooks(stage=reporter.stage))
    rollout = service.deploy(world.revision("2.0.0"))
    bar = progress(written)
    assert [p for p, _ in bar] == sorted(p for p, _ in bar) and bar[-1][0] == 100
    for place, event in enumerate(EVENTS, start=1):
        assert (place * 100 // len(EVENTS), f"web: CodeDeploy deployment {rollout.deployment_id} of web:2: lifecycle "
                                            f"event {event} succeeded") in [(p, m.split(" (")[0]) for p, m in bar]
    assert (12, f"web: CodeDeploy deployment {rollout.deployment_id} of web:2: lifecycle event Install started") in [
        (p, m.split(" (")[0]) for p, m in bar]
    assert any("production traffic Blue 0% / Green 100%" in m for _, m in bar)
    written.clear()
    service.finish("test_after", "assert False")  # the plugin's rollback: a new deployment of web:1
    bar = progress(written)
    assert bar and all(p == 100 and m.startswith("web: rollback, CodeDeploy deployment ") for p, m in bar)
    assert any("of web:1: lifecycle event AllowTraffic succeeded" in m for _, m in bar)
