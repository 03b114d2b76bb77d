"""EcsService stopping a LINEAR or CANARY deployment of the embedded local AWS before each production step
(``until="production_step"``), in simulated time: the pause before the first step (0 %), continued one step at a
time, a failing step at a later pause rolling back through it, a pause nobody stops at shown and left to its
time-out, and what is refused before anything is written."""

from __future__ import annotations

from typing import Any

import pytest
from e2e.test_service_strategies_aws import World, service_deployment, shared, stages, world

from pytest_ecsdeploy.errors import ActionError, CheckFailed, RolloutFailed

__all__ = ["shared", "world"]  # the fixtures, shared with the strategies' tests

STEP_STAGE = "PRE_PRODUCTION_TRAFFIC_SHIFT"
PAUSE_PER_STEP = {"targetType": "PAUSE", "lifecycleStages": [STEP_STAGE]}
CANARY = {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 1}}
LINEAR = {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 34.0, "stepBakeTimeInMinutes": 1}}


def configure(world: World, shift: dict[str, Any], hooks: list[dict[str, Any]] | None = None) -> None:
    world.seed(strategy="BLUE_GREEN", bake_time_minutes=1)
    world.ecs.update_service(cluster="local", service="web", deploymentConfiguration={
        **shift, "bakeTimeInMinutes": 1, "lifecycleHooks": [PAUSE_PER_STEP] if hooks is None else hooks})


def at_pause(world: World, arn: str) -> tuple[float, str]:
    """Green's production weight and the hook awaiting action, as ECS shows the paused service deployment."""
    found = service_deployment(world, arn)
    assert (found["status"], found["lifecycleStage"]) == ("IN_PROGRESS", STEP_STAGE)
    (hook,) = [h["hookId"] for h in found["lifecycleHookDetails"] if h["status"] == "AWAITING_ACTION"]
    return found["targetServiceRevision"]["requestedProductionTrafficWeight"], hook


def test_a_canary_stops_before_each_production_step_and_continues_to_the_end(world: World) -> None:
    configure(world, CANARY)
    service, log = world.service()
    first = service.deploy(world.revision("2.0.0"), until="production_step")
    assert first.is_paused and first.production_weight == 0.0 and first.service_deployment is not None
    arn = first.service_deployment
    weight, hook = at_pause(world, arn)
    record = service.ctx.record
    assert weight == 0.0 and record.until == "production_step" and record.outcome == "pending"
    assert [c.name for c in record.checks.items if c.result == "passed"][-1] == "paused before a production step"
    world.clock.advance(300)  # the smoke steps take their time; the hook waits

    canary = service.continue_deployment(until="production_step")
    assert canary.is_paused and canary.production_weight == 10.0
    weight, second = at_pause(world, arn)
    assert weight == 10.0 and second != hook and record.until == "production_step"
    assert f"paused at {STEP_STAGE}: production traffic 10% on web:2 until the next step" in canary.reason

    done = service.continue_deployment()
    assert done.is_completed and done.production_weight == 100.0
    assert service_deployment(world, arn)["status"] == "SUCCESSFUL" and record.outcome == "deployed"
    assert record.until is None and service.is_steady and service.revision == first.revision
    continued = [line for line in log.lines if "ContinueServiceDeployment CONTINUE for hook" in line]
    assert [line.split(" for hook ", 1)[1].split(" ", 1)[0] for line in continued] == [hook, second]
    weights = [s["productionWeight"] for s in record.stages if s["stage"] == STEP_STAGE]
    assert sorted(set(weights)) == [0.0, 10.0]  # the record keeps every step's pause with its weight
    assert stages(log).count(STEP_STAGE) == 2 and stages(log).count("PRODUCTION_TRAFFIC_SHIFT") == 2


def test_a_failed_step_at_the_canary_pause_rolls_back_through_that_pause(world: World) -> None:
    configure(world, CANARY)
    service, log = world.service()
    arn = service.deploy(world.revision("2.0.0"), until="production_step").service_deployment
    assert arn is not None
    service.continue_deployment(until="production_step")
    _, hook = at_pause(world, arn)
    service.finish("test_canary_answers", "smoke: GET /version through production did not answer 2.0.0")
    record = service.ctx.record
    assert record.outcome == "rolled back", record.reason
    assert f"while deployment {record.deployment_id} was paused at {STEP_STAGE}" in str(record.reason)
    assert record.rollback is not None and record.rollback.outcome == "completed"
    assert any(f"through the pause: ContinueServiceDeployment ROLLBACK for hook {hook}" in line for line in log.lines)
    found = service_deployment(world, arn)
    assert found["status"] == "ROLLBACK_SUCCESSFUL"
    assert found["targetServiceRevision"]["requestedProductionTrafficWeight"] == 0.0
    assert not any("updating service web: web:2 -> web:1" in line for line in log.lines)  # no new deployment
    assert service.revision is not None and service.revision.endswith("web:1")


def test_a_linear_deployment_of_three_steps_pauses_before_each_and_refuses_a_pause_after_the_last(
        world: World) -> None:
    configure(world, LINEAR)
    service, _ = world.service()
    rollout = service.deploy(world.revision("2.0.0"), until="production_step")
    arn = rollout.service_deployment
    assert arn is not None
    seen = [rollout.production_weight]
    hooks = {at_pause(world, arn)[1]}
    for _ in range(2):
        rollout = service.continue_deployment(until="production_step")
        assert rollout.is_paused
        seen.append(rollout.production_weight)
        hooks.add(at_pause(world, arn)[1])
    assert seen == [0.0, 34.0, 68.0] and len(hooks) == 3  # a fresh hook per step
    with pytest.raises(ActionError, match=r"the next production step moves all production traffic \(68% -> 100%\) "
                                          r"and no PRE_PRODUCTION_TRAFFIC_SHIFT pause follows it"):
        service.continue_deployment(until="production_step")
    assert at_pause(world, arn)[0] == 68.0  # nothing was continued
    assert service.continue_deployment(until="traffic_shifted").is_traffic_shifted
    assert service.ctx.record.until == "traffic_shifted" and service.ctx.record.bake_running


def test_someone_continuing_the_next_pause_is_a_failure_rolled_back(world: World) -> None:
    configure(world, LINEAR)
    service, _ = world.service()
    arn = service.deploy(world.revision("2.0.0"), until="production_step").service_deployment
    assert arn is not None

    def someone_continues() -> None:
        found = service_deployment(world, arn)
        for hook in found.get("lifecycleHookDetails") or []:
            if hook["status"] == "AWAITING_ACTION":
                world.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"])

    world.on_sleep = someone_continues
    with pytest.raises(RolloutFailed, match=f"went past {STEP_STAGE} without pausing there"):
        service.continue_deployment(until="production_step")
    world.on_sleep = None
    assert service.ctx.record.outcome == "rolled back"
    assert service_deployment(world, arn)["status"] == "ROLLBACK_SUCCESSFUL"


def test_pauses_a_run_does_not_stop_at_are_shown_once_each_and_left_to_their_time_out(world: World) -> None:
    configure(world, CANARY, hooks=[{**PAUSE_PER_STEP, "timeoutConfiguration": {"timeoutInMinutes": 1,
                                                                                 "action": "CONTINUE"}}])
    service, log = world.service()
    assert service.deploy(world.revision("2.0.0")).is_completed
    shown = [line for line in log.lines if " awaits ContinueServiceDeployment until " in line]
    assert len(shown) == 2 and len({line.split("lifecycle hook ", 1)[1].split(" ", 1)[0] for line in shown}) == 2
    assert all(line.endswith("(then CONTINUE); this run does not answer it: someone's ContinueServiceDeployment or "
                             "its time-out moves it on (until='production_step' would stop here)") for line in shown)
    assert not any("ContinueServiceDeployment CONTINUE for hook" in line for line in log.lines)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({**CANARY, "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]},
         "deploy\\(until='production_step'\\) needs a PAUSE lifecycle hook at PRE_PRODUCTION_TRAFFIC_SHIFT; add "
         "{targetType = PAUSE, lifecycleStages = \\[PRE_PRODUCTION_TRAFFIC_SHIFT\\]}"),
        ({"strategy": "ROLLING"}, "needs a BLUE_GREEN, LINEAR or CANARY service"),
    ],
    ids=["no-pause-before-steps", "rolling"],
)
def test_a_service_not_configured_for_production_steps_fails_a_pre_check_before_any_write(
        world: World, config: dict[str, Any], message: str) -> None:
    world.seed(strategy="BLUE_GREEN", bake_time_minutes=1)
    world.ecs.update_service(cluster="local", service="web", deploymentConfiguration=config)
    before = world.describe()["deployments"]
    service, _ = world.service()
    with pytest.raises(CheckFailed, match=message):
        service.deploy(world.revision("2.0.0"), until="production_step")
    assert world.describe()["deployments"] == before


def test_continue_deployment_refuses_an_until_it_cannot_stop_at(world: World) -> None:
    configure(world, CANARY)
    service, _ = world.service()
    with pytest.raises(ActionError, match=r"^continue_deployment\(until=...\) expects 'completed', 'production_step' "
                                          r"or 'traffic_shifted', got 'test_traffic'\.$"):
        service.continue_deployment(until="test_traffic")


def test_from_the_test_traffic_pause_the_next_production_step_pause_comes_before_the_first_step(world: World) -> None:
    configure(world, {"strategy": "BLUE_GREEN"}, hooks=[
        {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT", STEP_STAGE]}])
    service, _ = world.service()
    arn = service.deploy(world.revision("2.0.0"), until="test_traffic").service_deployment
    assert arn is not None and service.ctx.record.until == "test_traffic"
    rollout = service.continue_deployment(until="production_step")
    assert rollout.is_paused and rollout.production_weight == 0.0 and service.ctx.record.until == "production_step"
    assert at_pause(world, arn)[0] == 0.0
    assert service.continue_deployment().is_completed
    assert service_deployment(world, arn)["status"] == "SUCCESSFUL"
