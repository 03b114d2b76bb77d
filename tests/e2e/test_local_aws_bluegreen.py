"""ECS-native BLUE_GREEN, LINEAR and CANARY service deployments on LocalAWS over HTTP, as boto3 sees them: the
lifecycle stages in order, both revisions running through the bake, the requested traffic weights, the circuit
breaker's and StopServiceDeployment's rollbacks (traffic back on the revision still running, nothing relaunched),
and what the engine refuses; on a clock only the test moves."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from module_aws import STEP, ModuleAWS

TEMPLATE = {
    "family": "web", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
    "containerDefinitions": [{"name": "app", "image": "placeholder", "essential": True}],
}
FINISHED = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
BLUE_GREEN_STAGES = ["PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
                     "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT",
                     "BAKE_TIME", "CLEAN_UP"]


class Driven:
    """LocalAWS seeded with a steady service ``web`` (2 tasks of web:1.0.0), an ECS client and the clock."""

    def __init__(self, shared: ModuleAWS) -> None:
        self.shared, self.aws, self.clock, self.ecs = shared, shared.local, shared.clock, shared.client("ecs")

    def configure(self, **config: Any) -> dict[str, Any]:
        """UpdateService with a deploymentConfiguration only (no new deployment); the service as answered."""
        return self.ecs.update_service(cluster="local", service="web",  # type: ignore[no-any-return]
                                       deploymentConfiguration=config)["service"]

    def register(self, tag: str) -> str:
        current = self.ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]
        payload = {k: current[k] for k in ("family", "containerDefinitions", "networkMode", "requiresCompatibilities",
                                           "cpu", "memory")}
        image = payload["containerDefinitions"][0]["image"]
        payload["containerDefinitions"][0]["image"] = image.rsplit(":", 1)[0] + f":{tag}"
        return str(self.ecs.register_task_definition(**payload)["taskDefinition"]["taskDefinitionArn"])

    def deploy(self, tag: str) -> str:
        """UpdateService to a new revision of image ``tag``; the ARN of the service deployment it answers."""
        answer = self.ecs.update_service(cluster="local", service="web", taskDefinition=self.register(tag))
        return str(answer["service"]["currentServiceDeployment"])

    def describe(self, arn: str) -> dict[str, Any]:
        answer = self.ecs.describe_service_deployments(serviceDeploymentArns=[arn])
        assert answer["failures"] == []
        return dict(answer["serviceDeployments"][0])

    def service(self) -> dict[str, Any]:
        return self.ecs.describe_services(cluster="local", services=["web"])["services"][0]  # type: ignore[no-any-return]

    def running_tasks(self) -> set[str]:
        arns = self.ecs.list_tasks(cluster="local", serviceName="web", desiredStatus="RUNNING")["taskArns"]
        return set(arns)

    def follow(self, arn: str, simulated: float = 600.0, until: Callable[[dict[str, Any]], bool] | None = None,
               ) -> list[dict[str, Any]]:
        """Every distinct look at service deployment ``arn`` (status, stage, weights, the service's deployments
        and running tasks, the simulated time) until it finishes or ``until`` holds: a look now, then one at each
        instant the engine has a change due (nothing changes in between, so a minute's bake costs one look, not
        240), or every STEP when none is."""
        looks: list[dict[str, Any]] = []
        end = self.clock.now() + simulated
        while True:
            found = self.describe(arn)
            service = self.service()
            look = {
                "status": found["status"], "stage": found.get("lifecycleStage"),
                "test": found["targetServiceRevision"].get("requestedTestTrafficWeight"),
                "production": found["targetServiceRevision"].get("requestedProductionTrafficWeight"),
                "deployments": len(service["deployments"]), "running": service["runningCount"],
            }
            if not looks or {k: v for k, v in looks[-1].items() if k != "t"} != look:
                looks.append({**look, "t": self.clock.now()})
            if found["status"] in FINISHED or (until is not None and until(found)):
                return looks
            if self.clock.now() >= end:
                break
            self.shared.next_instant()
        raise AssertionError(f"not finished within {simulated} simulated seconds: {looks[-1]}")


SEED = {
    "clusters": ["local"],
    "repositories": {"web": {"tags": ["1.0.0", "1.1.0", "2.0.0", "3.0.0"]}},
    "services": {"web": {"task_definition": "web.json", "images": {"app": "web:1.0.0"}, "desired_count": 2,
                         "deployment_configuration": {"circuit_breaker": True, "rollback": True}}},
}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleAWS]:
    with ModuleAWS(SEED, base_dir=tmp_path_factory.mktemp("bluegreen"), files={"web.json": TEMPLATE}) as aws:
        yield aws


@pytest.fixture
def driven(shared: ModuleAWS) -> Driven:
    return Driven(shared.fresh())


def stages(looks: list[dict[str, Any]]) -> list[str]:
    seen: list[str] = []
    for look in looks:
        if look["stage"] is not None and (not seen or seen[-1] != look["stage"]):
            seen.append(look["stage"])
    return seen


def test_a_good_blue_green_deployment_steps_through_the_stages_bakes_with_both_revisions_and_succeeds(
    driven: Driven,
) -> None:
    configured = driven.configure(strategy="BLUE_GREEN", bakeTimeInMinutes=2)["deploymentConfiguration"]
    assert configured["strategy"] == "BLUE_GREEN" and configured["bakeTimeInMinutes"] == 2
    assert len(driven.service()["deployments"]) == 1  # a configuration change is no deployment
    blue = driven.service()["taskDefinition"]
    arn = driven.deploy("1.1.0")
    looks = driven.follow(arn)
    assert stages(looks) == BLUE_GREEN_STAGES
    assert looks[-1]["status"] == "SUCCESSFUL"
    by_stage = {look["stage"]: look for look in looks}  # the last look of each stage
    assert (by_stage["PRE_SCALE_UP"]["test"], by_stage["PRE_SCALE_UP"]["production"]) == (0.0, 0.0)
    assert (by_stage["POST_TEST_TRAFFIC_SHIFT"]["test"], by_stage["POST_TEST_TRAFFIC_SHIFT"]["production"]) == (100.0,
                                                                                                                0.0)
    baking = [look for look in looks if look["stage"] == "BAKE_TIME"]
    assert baking[0]["production"] == 100.0
    assert all(look["deployments"] == 2 and look["running"] == 4 for look in baking)  # blue and green both run
    clean_up = next(look for look in looks if look["stage"] == "CLEAN_UP")
    assert clean_up["t"] - baking[0]["t"] == pytest.approx(120.0, abs=STEP)
    done = driven.describe(arn)
    assert done["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
    source = done["sourceServiceRevisions"][0]
    assert (source["requestedProductionTrafficWeight"], source["requestedTestTrafficWeight"]) == (0.0, 0.0)
    assert done["targetServiceRevision"]["runningTaskCount"] == 2
    service = driven.service()
    assert len(service["deployments"]) == 1 and service["taskDefinition"] != blue
    assert service["deployments"][0]["rolloutState"] == "COMPLETED" and service["runningCount"] == 2


def test_during_the_bake_the_service_is_not_stable_and_the_deployment_stays_in_progress(driven: Driven) -> None:
    driven.configure(strategy="BLUE_GREEN", bakeTimeInMinutes=10)
    arn = driven.deploy("1.1.0")
    driven.follow(arn, until=lambda found: found.get("lifecycleStage") == "BAKE_TIME")
    driven.clock.advance(300)
    found, service = driven.describe(arn), driven.service()
    assert (found["status"], found["lifecycleStage"]) == ("IN_PROGRESS", "BAKE_TIME")
    assert [d["status"] for d in service["deployments"]] == ["PRIMARY", "ACTIVE"]
    assert service["runningCount"] == 4 and service["desiredCount"] == 2


def test_a_crashing_green_rolls_back_to_blue_without_relaunching_it(driven: Driven) -> None:
    driven.configure(strategy="BLUE_GREEN", bakeTimeInMinutes=1)
    driven.aws.set_image_behaviour("web:2.0.0", "crash", exit_code=1)
    blue_tasks, blue = driven.running_tasks(), driven.service()["taskDefinition"]
    arn = driven.deploy("2.0.0")
    looks = driven.follow(arn)
    assert looks[-1]["status"] == "ROLLBACK_SUCCESSFUL"
    assert "ROLLBACK_IN_PROGRESS" in [look["status"] for look in looks]
    assert "TEST_TRAFFIC_SHIFT" not in stages(looks)  # it never got past SCALE_UP
    done = driven.describe(arn)
    assert done["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert done["statusReason"] == done["rollback"]["reason"] == "ECS deployment circuit breaker: tasks failed to start."
    source = done["sourceServiceRevisions"][0]
    assert done["rollback"]["serviceRevisionArn"] == source["arn"]
    assert (source["requestedProductionTrafficWeight"], done["targetServiceRevision"]["requestedProductionTrafficWeight"]
            ) == (100.0, 0.0)
    service = driven.service()
    assert [d["taskDefinition"] for d in service["deployments"]] == [blue]
    assert driven.running_tasks() == blue_tasks  # traffic moved back; blue's tasks never stopped
    messages = [e["message"] for e in service["events"]]
    assert any("rolling back to deployment" in m for m in messages)


def test_a_crashing_green_without_rollback_is_stopped_and_blue_keeps_serving(driven: Driven) -> None:
    driven.configure(strategy="BLUE_GREEN", bakeTimeInMinutes=1, deploymentCircuitBreaker={"enable": True,
                                                                                          "rollback": False})
    driven.aws.set_image_behaviour("web:2.0.0", "crash", exit_code=1)
    blue_tasks = driven.running_tasks()
    arn = driven.deploy("2.0.0")
    assert driven.follow(arn)[-1]["status"] == "STOPPED"
    done = driven.describe(arn)
    assert done["statusReason"] == "ECS deployment circuit breaker: tasks failed to start." and "stoppedAt" in done
    assert "rollback" not in done and done["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert blue_tasks <= driven.running_tasks()


@pytest.mark.parametrize("stage", ["PRE_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT", "BAKE_TIME"])
def test_stop_service_deployment_at_any_stage_rolls_back_to_blue(driven: Driven, stage: str) -> None:
    driven.configure(strategy="BLUE_GREEN", bakeTimeInMinutes=5)
    blue_tasks, blue = driven.running_tasks(), driven.service()["taskDefinition"]
    arn = driven.deploy("1.1.0")
    driven.follow(arn, until=lambda found: found.get("lifecycleStage") == stage)
    assert driven.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")[
        "serviceDeploymentArn"] == arn
    asked = driven.describe(arn)
    assert asked["status"] == "ROLLBACK_REQUESTED" and asked["rollback"]["startedAt"] == asked["stoppedAt"]
    assert asked["targetServiceRevision"]["requestedProductionTrafficWeight"] == 0.0
    assert driven.ecs.stop_service_deployment(serviceDeploymentArn=arn)["serviceDeploymentArn"] == arn  # again: ok
    looks = driven.follow(arn)
    assert looks[-1]["status"] == "ROLLBACK_SUCCESSFUL"
    assert [d["taskDefinition"] for d in driven.service()["deployments"]] == [blue]
    assert driven.running_tasks() == blue_tasks
    with pytest.raises(ClientError) as refused:
        driven.ecs.stop_service_deployment(serviceDeploymentArn=arn)
    assert refused.value.response["Error"]["Code"] == "ConflictException"


def test_a_newer_deployment_during_the_bake_stops_the_older_one(driven: Driven) -> None:
    driven.configure(strategy="BLUE_GREEN", bakeTimeInMinutes=5)
    first = driven.deploy("1.1.0")
    driven.follow(first, until=lambda found: found.get("lifecycleStage") == "BAKE_TIME")
    second = driven.deploy("3.0.0")
    assert driven.follow(second)[-1]["status"] == "SUCCESSFUL"
    older = driven.describe(first)
    assert older["status"] == "STOPPED" and older["statusReason"].startswith("A newer service deployment")
    service = driven.service()
    assert len(service["deployments"]) == 1 and service["taskDefinition"].endswith(":3")
    assert service["runningCount"] == 2


@pytest.mark.parametrize(
    ("config", "weights", "step_bake"),
    [
        ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 30.0, "stepBakeTimeInMinutes": 1}},
         [30.0, 60.0, 90.0, 100.0], 60.0),
        ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 2}},
         [10.0, 100.0], 120.0),
    ],
    ids=["linear", "canary"],
)
def test_linear_and_canary_shift_production_in_steps_with_a_bake_between(
    driven: Driven, config: dict[str, Any], weights: list[float], step_bake: float
) -> None:
    echoed = driven.configure(bakeTimeInMinutes=1, **config)["deploymentConfiguration"]
    assert {k: echoed[k] for k in config} == config
    arn = driven.deploy("1.1.0")
    looks = driven.follow(arn)
    assert looks[-1]["status"] == "SUCCESSFUL"
    shifts = ["PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"] * len(weights)  # once per step
    assert stages(looks) == BLUE_GREEN_STAGES[:5] + shifts + BLUE_GREEN_STAGES[-3:]
    moved = [look for before, look in itertools.pairwise(looks) if look["production"] != before["production"]]
    assert [look["production"] for look in moved] == weights
    times = [look["t"] for look in moved]
    # between two steps: the step's bake, then the next PRE_PRODUCTION_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT
    # stages (Timings.lifecycle_stage each) before its weight moves
    assert [b - a for a, b in itertools.pairwise(times)] == pytest.approx([step_bake + 1.0] * (len(weights) - 1),
                                                                          abs=STEP)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"strategy": "PURPLE"}, "strategy must be one of ROLLING, BLUE_GREEN, LINEAR, CANARY"),
        ({"strategy": "BLUE_GREEN"}, "bakeTimeInMinutes must be specified"),
        ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1441}, "bakeTimeInMinutes must be an integer between 0"),
        ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 2.0}}, "stepPercent must be between 3"),
        ({"strategy": "CANARY", "canaryConfiguration": {"canaryBakeTimeInMinutes": 2000}},
         "canaryBakeTimeInMinutes must be an integer"),
        ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1, "lifecycleHooks": [
            {"targetType": "AWS_LAMBDA", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]},
         "hookTargetArn must be the ARN of a Lambda function for an AWS_LAMBDA lifecycle hook."),
        ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1,
          "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["PRODUCTION_TRAFFIC_SHIFT"]}]},
         "PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT stages."),
        ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1,
          "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"],
                              "timeoutConfiguration": {"timeoutInMinutes": 20161}}]},
         "timeoutInMinutes must be an integer between 1 and 20160"),
    ],
    ids=["unknown-strategy", "no-bake-time", "bake-too-long", "step-too-small", "canary-bake-too-long",
         "lambda-hook-without-function",
         "pause-at-a-shift", "hook-timeout-too-long"],
)
def test_what_the_engine_refuses(driven: Driven, config: dict[str, Any], message: str) -> None:
    with pytest.raises(ClientError) as refused:
        driven.configure(**config)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert message in refused.value.response["Error"]["Message"]
    assert driven.service()["deploymentConfiguration"]["strategy"] == "ROLLING"


# -- PAUSE hooks -------------------------------------------------------------------------------------------------

PAUSE_AT_TEST_TRAFFIC = {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}


def paused(driven: Driven, arn: str) -> dict[str, Any]:
    """Follow ``arn`` until its current stage awaits a hook; that hook detail."""
    driven.follow(arn, until=lambda found: any(h["status"] == "AWAITING_ACTION"
                                               for h in found.get("lifecycleHookDetails") or []))
    (hook,) = driven.describe(arn)["lifecycleHookDetails"]
    return dict(hook)


def test_a_pause_hook_holds_the_deployment_with_test_traffic_on_green_until_continued(driven: Driven) -> None:
    echoed = driven.configure(strategy="BLUE_GREEN", bakeTimeInMinutes=1, lifecycleHooks=[PAUSE_AT_TEST_TRAFFIC])
    assert echoed["deploymentConfiguration"]["lifecycleHooks"] == [
        {**PAUSE_AT_TEST_TRAFFIC, "timeoutConfiguration": {"timeoutInMinutes": 1440, "action": "ROLLBACK"}}]
    arn = driven.deploy("1.1.0")
    hook = paused(driven, arn)
    assert (hook["targetType"], hook["status"], hook["timeoutAction"]) == ("PAUSE", "AWAITING_ACTION", "ROLLBACK")
    driven.clock.advance(3600)  # an hour later, still waiting
    found = driven.describe(arn)
    assert (found["status"], found["lifecycleStage"]) == ("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT")
    target = found["targetServiceRevision"]
    assert (target["requestedTestTrafficWeight"], target["requestedProductionTrafficWeight"]) == (100.0, 0.0)
    assert (hook["expiresAt"] - found["createdAt"]).total_seconds() == pytest.approx(1440 * 60, abs=10)
    answer = driven.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"], action="CONTINUE")
    assert answer["serviceDeploymentArn"] == arn
    looks = driven.follow(arn)
    assert looks[-1]["status"] == "SUCCESSFUL"
    assert stages(looks) == ["PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT",
                             "BAKE_TIME", "CLEAN_UP"]


def test_continue_with_rollback_at_the_pause_moves_traffic_back_to_blue(driven: Driven) -> None:
    driven.configure(strategy="BLUE_GREEN", bakeTimeInMinutes=1, lifecycleHooks=[PAUSE_AT_TEST_TRAFFIC])
    blue_tasks = driven.running_tasks()
    arn = driven.deploy("1.1.0")
    hook = paused(driven, arn)
    driven.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"], action="ROLLBACK")
    assert driven.describe(arn)["lifecycleHookDetails"][0]["status"] == "FAILED"
    assert driven.follow(arn)[-1]["status"] == "ROLLBACK_SUCCESSFUL"
    done = driven.describe(arn)
    reason = f"Lifecycle hook {hook['hookId']} at POST_TEST_TRAFFIC_SHIFT asked for a rollback."
    assert done["statusReason"] == done["rollback"]["reason"] == reason
    assert done["targetServiceRevision"]["requestedTestTrafficWeight"] == 0.0
    assert driven.running_tasks() == blue_tasks


@pytest.mark.parametrize("action", ["ROLLBACK", "CONTINUE"])
def test_a_hook_nobody_answers_times_out_into_its_timeout_action(driven: Driven, action: str) -> None:
    driven.configure(strategy="BLUE_GREEN", bakeTimeInMinutes=1, lifecycleHooks=[
        {**PAUSE_AT_TEST_TRAFFIC, "timeoutConfiguration": {"timeoutInMinutes": 2, "action": action}}])
    arn = driven.deploy("1.1.0")
    hook = paused(driven, arn)
    looks = driven.follow(arn)
    expected = {"ROLLBACK": "ROLLBACK_SUCCESSFUL", "CONTINUE": "SUCCESSFUL"}[action]
    assert looks[-1]["status"] == expected
    timed_out = next(look["t"] for look in looks if look["stage"] != "POST_TEST_TRAFFIC_SHIFT" or look["status"] !=
                     "IN_PROGRESS")
    assert timed_out - hook["expiresAt"].timestamp() == pytest.approx(0, abs=STEP)
    if action == "ROLLBACK":
        assert driven.describe(arn)["statusReason"] == (f"Lifecycle hook {hook['hookId']} at POST_TEST_TRAFFIC_SHIFT "
                                                        f"timed out.")


def test_continue_refuses_what_is_not_awaiting_action(driven: Driven) -> None:
    driven.configure(strategy="BLUE_GREEN", bakeTimeInMinutes=1, lifecycleHooks=[PAUSE_AT_TEST_TRAFFIC])
    arn = driven.deploy("1.1.0")
    hook = paused(driven, arn)

    def refused(**params: Any) -> str:
        with pytest.raises(ClientError) as error:
            driven.ecs.continue_service_deployment(**params)
        return str(error.value.response["Error"]["Code"])

    assert refused(serviceDeploymentArn=arn, hookId="no-such-hook") == "InvalidParameterException"
    assert refused(serviceDeploymentArn=arn[:-4] + "XXXX", hookId=hook["hookId"]) == "ServiceDeploymentNotFoundException"
    driven.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"])  # CONTINUE by default
    assert refused(serviceDeploymentArn=arn, hookId=hook["hookId"]) == "InvalidParameterException"  # answered
    assert driven.follow(arn)[-1]["status"] == "SUCCESSFUL"
