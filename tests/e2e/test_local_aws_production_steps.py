"""LINEAR and CANARY production steps on LocalAWS over HTTP, as boto3 sees them: PRE_PRODUCTION_TRAFFIC_SHIFT before
each step and PRODUCTION_TRAFFIC_SHIFT at each, a PAUSE hook awaiting one ContinueServiceDeployment per step with a
fresh hookId (the old one refused once the step moved on), a Lambda hook invoked at each step, and the Lambda hooks of
PRODUCTION_TRAFFIC_SHIFT and TEST_TRAFFIC_SHIFT run again during a rollback; on a clock only the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from module_aws import ModuleAWS

from tests.e2e.test_local_aws_bluegreen import stages

TEMPLATE = {
    "family": "web", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
    "containerDefinitions": [{"name": "app", "image": "placeholder", "essential": True}],
}
FINISHED = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:{name}"
SHIFTS = {
    "LINEAR": ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 34.0, "stepBakeTimeInMinutes": 1}},
               [34.0, 68.0, 100.0]),
    "CANARY": ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 2}},
               [10.0, 100.0]),
    "BLUE_GREEN": ({"strategy": "BLUE_GREEN"}, [100.0]),
}


class Steps:
    """LocalAWS seeded with a steady service ``web`` (2 tasks of web:1.0.0), its ECS client and the clock."""

    def __init__(self, shared: ModuleAWS) -> None:
        self.aws, self.clock, self.ecs = shared.local, shared.clock, shared.client("ecs")
        self.next_instant = shared.next_instant

    def deploy(self, strategy: str, hooks: list[dict[str, Any]]) -> str:
        """Configure ``strategy`` (a key of SHIFTS) with ``hooks``, then UpdateService to web:2.0.0; the ARN of the
        service deployment."""
        self.ecs.update_service(cluster="local", service="web", deploymentConfiguration={
            **SHIFTS[strategy][0], "bakeTimeInMinutes": 1, "lifecycleHooks": hooks})
        current = self.ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]
        payload = {k: current[k] for k in ("family", "containerDefinitions", "networkMode", "requiresCompatibilities",
                                           "cpu", "memory")}
        payload["containerDefinitions"][0]["image"] = current["containerDefinitions"][0]["image"].rsplit(":", 1)[0] + \
            ":2.0.0"
        revision = self.ecs.register_task_definition(**payload)["taskDefinition"]["taskDefinitionArn"]
        return str(self.ecs.update_service(cluster="local", service="web", taskDefinition=revision)["service"][
            "currentServiceDeployment"])

    def describe(self, arn: str) -> dict[str, Any]:
        return dict(self.ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0])

    def follow(self, arn: str, *, stop_at_pause: bool = True, simulated: float = 900.0) -> list[dict[str, Any]]:
        """Each distinct look (status, stage, green's production weight, the hooks) at ``arn``, now and at each
        instant a change is due, until it finishes or, with ``stop_at_pause``, a PAUSE hook awaits action."""
        looks: list[dict[str, Any]] = []
        end = self.clock.now() + simulated
        while True:
            found = self.describe(arn)
            look = {"status": found["status"], "stage": found.get("lifecycleStage"),
                    "production": found["targetServiceRevision"]["requestedProductionTrafficWeight"],
                    "hooks": [(h["hookId"], h["targetType"], h["status"]) for h in found["lifecycleHookDetails"]]}
            if not looks or looks[-1] != look:
                looks.append(look)
            if found["status"] in FINISHED or (stop_at_pause and any(
                    h[1:] == ("PAUSE", "AWAITING_ACTION") for h in look["hooks"])):
                return looks
            if self.clock.now() >= end:
                break
            self.next_instant()
        raise AssertionError(f"not finished within {simulated} simulated seconds: {looks[-1]}")


SEED = {"clusters": ["local"], "repositories": {"web": {"tags": ["1.0.0", "2.0.0"]}},
        "services": {"web": {"task_definition": "web.json", "images": {"app": "web:1.0.0"}, "desired_count": 2}}}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleAWS]:
    with ModuleAWS(SEED, base_dir=tmp_path_factory.mktemp("steps"), files={"web.json": TEMPLATE}) as aws:
        yield aws


@pytest.fixture
def steps(shared: ModuleAWS) -> Steps:
    return Steps(shared.fresh())


@pytest.mark.parametrize("strategy", list(SHIFTS))
def test_a_pause_before_production_traffic_awaits_one_continue_per_step_each_with_a_fresh_hook_id(
        steps: Steps, strategy: str) -> None:
    arn = steps.deploy(strategy, [{"targetType": "PAUSE", "lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"]}])
    weights = SHIFTS[strategy][1]
    answered: list[str] = []
    at_pauses: list[float] = []
    for _ in weights:
        looks = steps.follow(arn)
        found = steps.describe(arn)
        assert (found["status"], found["lifecycleStage"]) == ("IN_PROGRESS", "PRE_PRODUCTION_TRAFFIC_SHIFT")
        (hook,) = found["lifecycleHookDetails"]
        assert hook["hookId"] not in answered and hook["status"] == "AWAITING_ACTION"
        at_pauses.append(found["targetServiceRevision"]["requestedProductionTrafficWeight"])
        steps.clock.advance(600)  # held: the weight does not move while the hook waits
        assert steps.describe(arn)["targetServiceRevision"]["requestedProductionTrafficWeight"] == at_pauses[-1]
        if answered:
            with pytest.raises(ClientError) as refused:  # the previous step's hook: no longer awaiting action
                steps.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=answered[-1])
            assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
            assert stages(looks) == ["PRODUCTION_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT"]  # one step
        steps.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"])
        answered.append(hook["hookId"])
    assert at_pauses == [0.0, *weights[:-1]]  # each pause comes before its step's traffic moves
    looks = steps.follow(arn)
    assert looks[-1]["status"] == "SUCCESSFUL"
    assert stages(looks) == ["PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"]
    with pytest.raises(ClientError) as refused:
        steps.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=answered[-1])
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"


def test_a_pause_continued_with_rollback_at_a_later_step_moves_every_step_back(steps: Steps) -> None:
    arn = steps.deploy("LINEAR", [{"targetType": "PAUSE", "lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"]}])
    for _ in range(2):
        steps.follow(arn)
        (hook,) = steps.describe(arn)["lifecycleHookDetails"]
        action = "CONTINUE" if not steps.describe(arn)["targetServiceRevision"][
            "requestedProductionTrafficWeight"] else "ROLLBACK"
        steps.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"], action=action)
    found = steps.describe(arn)
    assert found["targetServiceRevision"]["requestedProductionTrafficWeight"] == 0.0  # back at once
    assert steps.follow(arn)[-1]["status"] == "ROLLBACK_SUCCESSFUL"
    assert steps.describe(arn)["statusReason"] == (f"Lifecycle hook {hook['hookId']} at PRE_PRODUCTION_TRAFFIC_SHIFT "
                                                   f"asked for a rollback.")


@pytest.mark.parametrize("strategy", list(SHIFTS))
def test_a_lambda_hook_at_production_traffic_shift_is_invoked_at_each_step(steps: Steps, strategy: str) -> None:
    weights = SHIFTS[strategy][1]
    # SUCCEEDED for every step but the last, FAILED at the last, SUCCEEDED again when the rollback runs it
    steps.aws.set_hook_answers("shift", ["SUCCEEDED"] * (len(weights) - 1) + ["FAILED", "SUCCEEDED"])
    arn = steps.deploy(strategy, [{"targetType": "AWS_LAMBDA", "lifecycleStages": ["PRODUCTION_TRAFFIC_SHIFT"],
                                   "hookTargetArn": LAMBDA.format(name="shift")}])
    looks = steps.follow(arn, stop_at_pause=False)
    assert looks[-1]["status"] == "ROLLBACK_SUCCESSFUL"
    failing = [look for look in looks if look["status"] == "IN_PROGRESS"][-1]
    assert failing["production"] == ([0.0, *weights][-2])  # it failed before the last step moved
    hooks = {h[0] for look in looks if look["stage"] == "PRODUCTION_TRAFFIC_SHIFT" for h in look["hooks"]}
    # a fresh hook per step that succeeded, then the rollback's (it replaces the failed one at the same instant)
    assert len(hooks) == len(weights)
    found = steps.describe(arn)
    assert found["statusReason"].endswith(f"at PRODUCTION_TRAFFIC_SHIFT failed: {LAMBDA.format(name='shift')} "
                                          f"answered FAILED.")


def lambda_hooks(*stages: str) -> list[dict[str, Any]]:
    return [{"targetType": "AWS_LAMBDA", "lifecycleStages": [stage], "hookTargetArn": LAMBDA.format(name=stage.lower())}
            for stage in stages]


def test_a_rollback_runs_the_hooks_of_production_then_test_traffic_shift_again(steps: Steps) -> None:
    steps.aws.set_hook_answers("production_traffic_shift", ["SUCCEEDED", "IN_PROGRESS", "SUCCEEDED"],
                               call_back_delay=20)
    steps.aws.set_hook_answers("test_traffic_shift", ["SUCCEEDED"])
    steps.aws.set_hook_answers("post_scale_up", ["SUCCEEDED"])
    arn = steps.deploy("BLUE_GREEN", lambda_hooks("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_SCALE_UP"))
    while steps.describe(arn).get("lifecycleStage") != "BAKE_TIME":
        steps.next_instant()
    steps.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    rolling = steps.describe(arn)
    assert rolling["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT"
    assert [(h["targetArn"], h["status"]) for h in rolling["lifecycleHookDetails"]] == [
        (LAMBDA.format(name="production_traffic_shift"), "IN_PROGRESS")]  # run again
    looks = steps.follow(arn, stop_at_pause=False)
    assert looks[-1]["status"] == "ROLLBACK_SUCCESSFUL"
    assert stages(looks) == ["PRODUCTION_TRAFFIC_SHIFT", "TEST_TRAFFIC_SHIFT"]
    held = [look for look in looks if look["stage"] == "PRODUCTION_TRAFFIC_SHIFT"]
    assert all(look["status"] in ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS") for look in held)
    assert all(look["production"] == 0.0 for look in looks)  # traffic went back at once; the hooks run after
    assert not any("post_scale_up" in str(look["hooks"]) for look in looks)  # only the two shift stages run again


def test_a_hook_failing_during_the_rollback_fails_the_rollback(steps: Steps) -> None:
    steps.aws.set_hook_answers("test_traffic_shift", ["SUCCEEDED", "FAILED"])
    arn = steps.deploy("CANARY", lambda_hooks("TEST_TRAFFIC_SHIFT"))
    while steps.describe(arn).get("lifecycleStage") != "POST_PRODUCTION_TRAFFIC_SHIFT":
        steps.next_instant()
    steps.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    looks = steps.follow(arn, stop_at_pause=False)
    assert looks[-1]["status"] == "ROLLBACK_FAILED" and looks[-1]["stage"] == "TEST_TRAFFIC_SHIFT"
    found = steps.describe(arn)
    assert found["statusReason"].startswith("Rolling back: Lifecycle hook ")
    assert found["statusReason"].endswith(f"at TEST_TRAFFIC_SHIFT failed: {LAMBDA.format(name='test_traffic_shift')} "
                                          f"answered FAILED.")
