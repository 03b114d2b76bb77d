"""EcsService deploying to BLUE_GREEN, LINEAR and CANARY services of the embedded local AWS, in simulated time:
the emulator's clock moves only when the service sleeps between looks, so a bake of half an hour takes no wall
time, and the stages printed, the time-out and the verdicts are exact."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_ecsdeploy.actions.service import EcsService
from pytest_ecsdeploy.aws import ClientFactory
from pytest_ecsdeploy.config import Environment, Service
from pytest_ecsdeploy.context import Hooks, PrintLog, RunOptions, ServiceContext
from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.clock import FakeClock
from pytest_ecsdeploy.emulator.seed import parse_seed
from pytest_ecsdeploy.emulator.seeding import apply_seed
from pytest_ecsdeploy.errors import RolloutFailed
from pytest_ecsdeploy.report.record import ServiceRecord

TASK_DEFINITION = {
    "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
    "containerDefinitions": [{"name": "app", "image": "web:placeholder", "essential": True}],
}
STAGES = ["PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
          "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"]


def stages(log: PrintLog) -> list[str]:
    return [line.split("lifecycle stage ", 1)[1].split(" ", 1)[0] for line in log.lines if ": lifecycle stage " in line]


class World:
    """One LocalAWS on a FakeClock with the service ``web`` (2 tasks of web:1.0.0); EcsService's sleeps move it."""

    def __init__(self, local: LocalAWS, clock: FakeClock, tmp_path: Path) -> None:
        self.local, self.clock, self.tmp_path = local, clock, tmp_path
        self.ecs = local.client("ecs")
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[], None] | None = None
        self.start = clock.now()

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
            aws=ClientFactory(environment, local_endpoint=self.local.endpoint_url),
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


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = FakeClock()
    local = LocalAWS(runner="simulated", clock=clock).start()
    try:
        yield World(local, clock, tmp_path)
    finally:
        local.stop()


def test_a_half_hour_bake_is_waited_out_within_the_time_out_it_adds_and_every_stage_is_printed(world: World) -> None:
    world.seed(strategy="BLUE_GREEN", bake_time_minutes=30)
    service, log = world.service(wait_timeout=600)
    rollout = service.deploy(world.revision("2.0.0"))
    assert rollout.is_completed and rollout.duration >= 1800
    assert stages(log) == STAGES
    assert max(world.sleeps) == EcsService.poll_max  # the bake is watched at the steady pace, never slower
    assert any(line.startswith("service deployment ") and " SUCCESSFUL (stage CLEAN_UP" in line for line in log.lines)
    assert service.is_steady and service.revision == rollout.revision


def test_a_time_out_the_user_chose_is_kept_and_says_which_stage_it_ended_in(world: World) -> None:
    world.seed(strategy="BLUE_GREEN", bake_time_minutes=30)
    service, log = world.service(chosen_timeout=600, rollback=False)
    with pytest.raises(RolloutFailed) as failure:
        service.deploy(world.revision("2.0.0"))
    assert service.rollout is not None and service.rollout.is_timed_out
    assert "did not end within 600 s (stage BAKE_TIME, production traffic 100% / test 100% on web:2" in str(
        failure.value)
    assert "not rolled back (--no-rollback)" in str(failure.value)


@pytest.mark.parametrize(
    ("config", "weights"),
    [
        ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 2}},
         ["0%", "25%", "50%", "75%", "100%"]),
        ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 5.0, "canaryBakeTimeInMinutes": 5}},
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

    def answer_after_five_minutes() -> None:
        current = world.describe().get("currentServiceDeployment")
        found = world.ecs.describe_service_deployments(serviceDeploymentArns=[current])["serviceDeployments"][0]
        waiting = [h for h in found.get("lifecycleHookDetails") or [] if h["status"] == "AWAITING_ACTION"]
        if waiting and not answered and world.clock.now() - world.start > 300:
            world.ecs.continue_service_deployment(serviceDeploymentArn=current, hookId=waiting[0]["hookId"],
                                                  action=action)
            answered.append(waiting[0]["hookId"])

    world.on_sleep = answer_after_five_minutes
    if completed:
        assert service.deploy(world.revision("2.0.0")).is_completed
    else:
        with pytest.raises(RolloutFailed, match="asked for a rollback"):
            service.deploy(world.revision("2.0.0"))
    assert any(f"lifecycle hook {answered[0]} at POST_TEST_TRAFFIC_SHIFT awaits ContinueServiceDeployment until "
               in line for line in log.lines)
    assert service.revision is not None and service.revision.endswith("web:2" if completed else "web:1")
