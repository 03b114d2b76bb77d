"""Pieces of the blue/green engine on their own: the alarms a deploymentConfiguration names, the answers of Lambda
hooks, and the integer weights written to listener rules."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_ecsdeploy.emulator.ecs import bluegreen, traffic
from pytest_ecsdeploy.emulator.ecs.exceptions import InvalidParameterException
from pytest_ecsdeploy.emulator.ecs.models import DeploymentConfiguration


@pytest.mark.parametrize(
    ("alarms", "message"),
    [({"alarmNames": "a", "enable": True, "rollback": True}, "alarms.alarmNames must list CloudWatch alarm names."),
     ({"alarmNames": [""], "enable": True, "rollback": True}, "alarms.alarmNames must list CloudWatch alarm names."),
     ({"alarmNames": ["a"], "enable": True}, "alarms.enable and alarms.rollback must be specified (true or false)."),
     ({"alarmNames": ["a"], "enable": "yes", "rollback": True},
      "alarms.enable and alarms.rollback must be specified (true or false)."),
     ([], "alarms.alarmNames must list CloudWatch alarm names.")],
    ids=["names-not-a-list", "empty-name", "no-rollback", "enable-not-a-boolean", "not-an-object"],
)
def test_alarms_are_checked_as_ecs_takes_them(alarms: Any, message: str) -> None:
    with pytest.raises(InvalidParameterException) as refused:
        bluegreen.parse({"strategy": "CANARY", "alarms": alarms}, DeploymentConfiguration())
    assert refused.value.message == message


def test_alarms_are_kept_until_changed_and_null_clears_them() -> None:
    base = DeploymentConfiguration(**bluegreen.parse(
        {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1,
         "alarms": {"alarmNames": ["a", "b"], "enable": True, "rollback": False}}, DeploymentConfiguration()))
    assert base.alarms == (("a", "b"), True, False)
    assert bluegreen.parse({"bakeTimeInMinutes": 2}, base)["alarms"] == (("a", "b"), True, False)
    assert bluegreen.parse({"alarms": None}, base)["alarms"] is None


@pytest.mark.parametrize(
    ("hook", "message"),
    [({"targetType": "AWS_LAMBDA", "lifecycleStages": ["PRE_SCALE_UP"], "hookTargetArn": "smoke"},
      "hookTargetArn must be the ARN of a Lambda function for an AWS_LAMBDA lifecycle hook."),
     ({"targetType": "SNS", "lifecycleStages": ["PRE_SCALE_UP"]}, "targetType must be AWS_LAMBDA or PAUSE, got SNS.")],
    ids=["not-an-arn", "unknown-type"],
)
def test_lambda_hooks_need_a_function(hook: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParameterException) as refused:
        bluegreen.parse({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1, "lifecycleHooks": [hook]},
                        DeploymentConfiguration())
    assert refused.value.message == message


def test_at_most_ten_hooks_of_each_type() -> None:
    pause = {"targetType": "PAUSE", "lifecycleStages": ["PRE_SCALE_UP"]}
    function = {"targetType": "AWS_LAMBDA", "lifecycleStages": ["PRE_SCALE_UP"],
                "hookTargetArn": "arn:aws:lambda:us-east-1:123456789012:function:f"}
    config = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1}
    assert len(bluegreen.parse({**config, "lifecycleHooks": [pause] * 10 + [function] * 10},
                               DeploymentConfiguration())["hooks"]) == 20
    with pytest.raises(InvalidParameterException, match="at most 10 PAUSE hooks"):
        bluegreen.parse({**config, "lifecycleHooks": [pause] * 11}, DeploymentConfiguration())


def test_hook_answers_come_in_turn_and_the_last_one_stays() -> None:
    answers = bluegreen.HookAnswers()
    assert answers.invoke("arn:aws:lambda:us-east-1:123456789012:function:smoke") is None
    answers.set("arn:aws:lambda:us-east-1:123456789012:function:smoke:live", ["IN_PROGRESS", "SUCCEEDED"], 5)
    arn = "arn:aws:lambda:us-east-1:123456789012:function:smoke"
    assert [answers.invoke(arn) for _ in range(3)] == [("IN_PROGRESS", 5.0), ("SUCCEEDED", 5.0), ("SUCCEEDED", 5.0)]
    for bad, delay in (([], 30.0), (["DONE"], 30.0), (["FAILED"], -1.0)):
        with pytest.raises(ValueError):
            answers.set("smoke", bad, delay)


@pytest.mark.parametrize(("percent", "expected"), [(0.0, (0, 100)), (0.1, (1, 99)), (3.3, (3, 97)),
                                                   (50.0, (50, 50)), (99.6, (99, 1)), (100.0, (100, 0))])
def test_weights_written_to_a_rule(percent: float, expected: tuple[int, int]) -> None:
    assert traffic.weights(percent) == expected
