"""The stage watch of blue/green, linear and canary deployments (``actions/lifecycle.py``) on stubbed ECS answers
(botocore checks each against ECS's shapes): which service deployment it follows, the lines it prints, every way
a service deployment ends, and the time-out it allows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fakes import stubbed

from pytest_ecsdeploy.actions.lifecycle import (
    PAUSED,
    QUIET_REREAD,
    SHIFTED,
    StageVerdict,
    StageWatch,
    budget,
    paused_hook,
    strategy_of,
)
from pytest_ecsdeploy.actions.watch import COMPLETED, FAILED, ROLLED_BACK, TIMED_OUT, Look

R, A = "eu-west-1", "123456789012"
TD = f"arn:aws:ecs:{R}:{A}:task-definition/web"
SD = f"arn:aws:ecs:{R}:{A}:service-deployment/prod/web"
REV = f"arn:aws:ecs:{R}:{A}:service-revision/prod/web"


class Aws:
    """What ``call`` needs of a ClientFactory: one stubbed ECS client."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def client(self, service: str, region: str | None = None) -> Any:
        assert service == "ecs"
        return self._client


@pytest.fixture
def ecs() -> Iterator[tuple[Aws, Any]]:
    with stubbed("ecs", R) as (client, stubber):
        yield Aws(client), stubber


def watch(aws: Aws, hint: str | None = f"{SD}/new") -> StageWatch:
    return StageWatch(aws, who="service 'web'", cluster="prod", service="web", revision=f"{TD}:2",  # type: ignore[arg-type]
                      deployment_id="ecs-svc/2", hint=hint)


def found(status: str, stage: str | None = None, **more: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "serviceDeploymentArn": f"{SD}/new", "status": status,
        "targetServiceRevision": {"arn": f"{REV}/2", "requestedTaskCount": 2, "runningTaskCount": 2,
                                  "requestedProductionTrafficWeight": 100.0, "requestedTestTrafficWeight": 100.0},
        "sourceServiceRevisions": [{"arn": f"{REV}/1", "runningTaskCount": 2}], **more,
    }
    if stage is not None:
        body["lifecycleStage"] = stage
    return body


def expect_deployment(stubber: Any, arn: str, target: str) -> None:
    stubber.add_response("describe_service_deployments", {"serviceDeployments": [
        {"serviceDeploymentArn": arn, "status": "IN_PROGRESS", "targetServiceRevision": {"arn": target}}]},
        {"serviceDeploymentArns": [arn]})


def expect_revision(stubber: Any, arn: str, taskdef: str) -> None:
    stubber.add_response("describe_service_revisions", {"serviceRevisions": [
        {"serviceRevisionArn": arn, "taskDefinition": taskdef}]}, {"serviceRevisionArns": [arn]})


def test_the_update_answers_service_deployment_is_followed_when_it_targets_the_revision(
    ecs: tuple[Aws, Any],
) -> None:
    aws, stubber = ecs
    expect_deployment(stubber, f"{SD}/new", f"{REV}/2")
    expect_revision(stubber, f"{REV}/2", f"{TD}:2")
    stubber.add_response("describe_service_deployments", {"serviceDeployments": [found("IN_PROGRESS", "SCALE_UP")]},
                         {"serviceDeploymentArns": [f"{SD}/new"]})
    stages = watch(aws)
    assert stages.look({"deployments": []})["lifecycleStage"] == "SCALE_UP"  # type: ignore[index]
    assert stages.arn == f"{SD}/new"


def test_a_hint_of_another_revision_is_not_taken_the_one_created_with_our_deployment_is(ecs: tuple[Aws, Any]) -> None:
    aws, stubber = ecs
    expect_deployment(stubber, f"{SD}/other", f"{REV}/9")
    expect_revision(stubber, f"{REV}/9", f"{TD}:9")
    window = {"cluster": "prod", "service": "web", "createdAt": {"after": 200.0}}
    stubber.add_response("list_service_deployments", {"serviceDeployments": [
        {"serviceDeploymentArn": f"{SD}/later", "targetServiceRevisionArn": f"{REV}/9", "createdAt": 1_000.0},
    ], "nextToken": "page2"}, window)
    stubber.add_response("list_service_deployments", {"serviceDeployments": [
        {"serviceDeploymentArn": f"{SD}/ours", "targetServiceRevisionArn": f"{REV}/2", "createdAt": 500.0},
    ]}, {**window, "nextToken": "page2"})
    expect_revision(stubber, f"{REV}/2", f"{TD}:2")  # nearest our deployment's createdAt first; REV/9 is known
    stubber.add_response("describe_service_deployments", {"serviceDeployments": [found("PENDING")]},
                         {"serviceDeploymentArns": [f"{SD}/ours"]})
    stages = watch(aws, hint=f"{SD}/other")
    service = {"deployments": [{"id": "ecs-svc/2", "status": "PRIMARY", "createdAt": 500.0}]}
    assert stages.look(service) is not None and stages.arn == f"{SD}/ours"


def test_without_our_deployment_listed_yet_nothing_is_followed_and_the_next_look_tries_again(
    ecs: tuple[Aws, Any],
) -> None:
    aws, _ = ecs
    stages = watch(aws, hint=None)
    assert stages.look({"deployments": []}) is None and stages.arn is None


def test_each_stage_is_printed_once_as_it_starts_unknown_ones_too_and_success_is_a_verdict(
    ecs: tuple[Aws, Any],
) -> None:
    stages = watch(ecs[0])
    stages.arn = f"{SD}/new"
    lines: list[str] = []
    for status, stage in [("PENDING", None), ("IN_PROGRESS", "PRE_SCALE_UP"), ("IN_PROGRESS", "PRE_SCALE_UP"),
                          ("IN_PROGRESS", "PRE_PRODUCTION_TRAFFIC_SHIFT"), ("IN_PROGRESS", "A_STAGE_FROM_2027")]:
        look = Look()
        assert stages.judge(look, found(status, stage)) is None
        lines += look.lines
    assert lines == [
        "service deployment new of web:2: lifecycle stage PRE_SCALE_UP (stage PRE_SCALE_UP, production traffic 100% "
        "/ test 100% on web:2, 2 of 2 tasks running, 2 on the previous revision, status IN_PROGRESS)",
        "service deployment new of web:2: lifecycle stage PRE_PRODUCTION_TRAFFIC_SHIFT (stage "
        "PRE_PRODUCTION_TRAFFIC_SHIFT, production traffic 100% / test 100% on web:2, 2 of 2 tasks running, 2 on the "
        "previous revision, status IN_PROGRESS)",
        "service deployment new of web:2: lifecycle stage A_STAGE_FROM_2027 (stage A_STAGE_FROM_2027, production "
        "traffic 100% / test 100% on web:2, 2 of 2 tasks running, 2 on the previous revision, status IN_PROGRESS)",
    ]
    look = Look()
    verdict = stages.judge(look, found("SUCCESSFUL", "CLEAN_UP", finishedAt=1_234.0))
    assert verdict is not None and verdict.outcome == COMPLETED and verdict.decided_at == 1_234.0
    assert look.lines == ["service deployment new of web:2: lifecycle stage CLEAN_UP (stage CLEAN_UP, production "
                          "traffic 100% / test 100% on web:2, 2 of 2 tasks running, 2 on the previous revision, "
                          "status SUCCESSFUL)"]
    assert stages.stages == ["PRE_SCALE_UP", "PRE_PRODUCTION_TRAFFIC_SHIFT", "A_STAGE_FROM_2027", "CLEAN_UP"]


@pytest.mark.parametrize(
    ("status", "outcome", "expected"),
    [
        ("STOPPED", FAILED, "service deployment new of web:2 ended STOPPED: the breaker tripped"),
        ("ROLLBACK_FAILED", FAILED, "service deployment new of web:2 ended ROLLBACK_FAILED: the breaker tripped"),
        ("ROLLBACK_SUCCESSFUL", ROLLED_BACK,
         "service deployment new of web:2 failed and ECS rolled it back to web:1: the breaker tripped"),
    ],
)
def test_every_other_end_is_a_failure_with_ecs_reason(ecs: tuple[Aws, Any], status: str, outcome: str,
                                                        expected: str) -> None:
    aws, stubber = ecs
    stages = watch(aws)
    stages.arn = f"{SD}/new"
    assert stages.judge(Look(), found("ROLLBACK_IN_PROGRESS", "SCALE_UP", statusReason="the breaker tripped.")) is None
    more: dict[str, Any] = {"statusReason": "the breaker tripped.", "finishedAt": 160.0}
    if status == "ROLLBACK_SUCCESSFUL":
        more["rollback"] = {"reason": "the breaker tripped.", "startedAt": 150.0, "serviceRevisionArn": f"{REV}/1"}
        expect_revision(stubber, f"{REV}/1", f"{TD}:1")
    verdict = stages.judge(Look(), found(status, "SCALE_UP", **more))
    assert isinstance(verdict, StageVerdict) and (verdict.outcome, verdict.reason) == (outcome, expected)
    if status == "ROLLBACK_SUCCESSFUL":
        assert (verdict.rolled_back_to, verdict.rollback_seconds, verdict.service_deployment) == (f"{TD}:1", 10.0, "new")


def test_a_rollback_in_progress_is_printed_with_its_reason(ecs: tuple[Aws, Any]) -> None:
    stages = watch(ecs[0])
    stages.arn = f"{SD}/new"
    look = Look()
    stages.judge(look, found("ROLLBACK_IN_PROGRESS", statusReason="ECS deployment circuit breaker: tasks failed."))
    assert look.lines == ["service deployment new of web:2: ROLLBACK_IN_PROGRESS: ECS deployment circuit breaker: "
                          "tasks failed"]
    assert stages.timed_out(90).outcome == TIMED_OUT


@pytest.mark.parametrize(
    ("config", "seconds"),
    [
        ({}, 600.0),
        ({"strategy": "ROLLING", "bakeTimeInMinutes": 30}, 600.0),
        ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 15}, 600.0 + 900.0),
        ({"strategy": "LINEAR", "bakeTimeInMinutes": 5}, 600.0 + 60.0 * (5 + 9 * 6)),  # defaults: 10 %, 6 min
        ({"strategy": "LINEAR", "bakeTimeInMinutes": 5, "linearConfiguration": {"stepPercent": 30.0,
                                                                                "stepBakeTimeInMinutes": 2}},
         600.0 + 60.0 * (5 + 3 * 2)),
        ({"strategy": "CANARY", "bakeTimeInMinutes": 0}, 600.0 + 600.0),  # default canary bake: 10 min
        ({"strategy": "CANARY", "bakeTimeInMinutes": 1, "canaryConfiguration": {"canaryBakeTimeInMinutes": 0}}, 660.0),
    ],
)
def test_the_time_out_adds_the_bake_times_of_the_strategy(config: dict[str, Any], seconds: float) -> None:
    service = {"deploymentConfiguration": config}
    assert budget(service, 600) == seconds
    assert strategy_of(service) == config.get("strategy", "ROLLING")
    alb = {"advancedConfiguration": {"productionListenerRule": f"{ELB}:listener-rule/app/web/1/2/3"}}
    assert budget({**service, "loadBalancers": [alb]}, 600) == seconds  # an ALB adds nothing


ELB = f"arn:aws:elasticloadbalancing:{R}:{A}"
NLB = {"targetGroupArn": f"{ELB}:targetgroup/web-blue/1", "advancedConfiguration": {
    "productionListenerRule": f"{ELB}:listener/net/web/1/2", "testListenerRule": f"{ELB}:listener/net/web/1/3"}}


@pytest.mark.parametrize(
    ("config", "delayed"),
    [
        ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 15}, 3),  # PRE_SCALE_UP, TEST_ and PRODUCTION_TRAFFIC_SHIFT
        ({"strategy": "CANARY", "bakeTimeInMinutes": 0}, 4),  # the canary step and the rest
        ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 100.0, "canaryBakeTimeInMinutes": 0}}, 3),
        ({"strategy": "LINEAR", "bakeTimeInMinutes": 5}, 2 + 10),  # 10 % steps: ten shifts
        ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 0}}, 2 + 4),
        ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 11.0, "stepBakeTimeInMinutes": 0}}, 2 + 10),
        ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 3.0, "stepBakeTimeInMinutes": 0}}, 2 + 34),
        ({"strategy": "ROLLING"}, 0),
    ],
)
def test_the_time_out_adds_ten_minutes_per_delayed_stage_behind_a_network_load_balancer(config: dict[str, Any],
                                                                                        delayed: int) -> None:
    alb = budget({"deploymentConfiguration": config}, 600)
    assert budget({"deploymentConfiguration": config, "loadBalancers": [NLB]}, 600) == alb + 600.0 * delayed


def at_step(weight: float, hook_id: str, stage: str = "PRE_PRODUCTION_TRAFFIC_SHIFT") -> dict[str, Any]:
    """A LINEAR deployment at ``stage`` with green at ``weight`` % of production and PAUSE hook ``hook_id``."""
    body = found("IN_PROGRESS", stage, lifecycleHookDetails=[
        {"hookId": hook_id, "targetType": "PAUSE", "status": "AWAITING_ACTION", "expiresAt": 1_767_312_000.0,
         "timeoutAction": "ROLLBACK"}])
    body["targetServiceRevision"]["requestedProductionTrafficWeight"] = weight
    return body


def test_until_production_step_stops_at_each_fresh_pause_and_fails_past_one_someone_else_continued(
        ecs: tuple[Aws, Any]) -> None:
    stages = watch(ecs[0])
    stages.arn, stages.until = f"{SD}/new", "production_step"
    look = Look()
    verdict = stages.judge(look, at_step(0.0, "h1"))
    assert isinstance(verdict, StageVerdict) and verdict.outcome == PAUSED
    assert (verdict.hook_id, verdict.paused_at) == ("h1", "PRE_PRODUCTION_TRAFFIC_SHIFT")
    assert look.lines[-1].endswith("awaits ContinueServiceDeployment until 2026-01-02T00:00:00Z (then ROLLBACK)")
    stages.resume("h1", "production_step")
    assert stages.judge(Look(), at_step(0.0, "h1")) is None  # the hook this run continued, not yet moved on
    assert stages.judge(Look(), at_step(25.0, "h0", "PRODUCTION_TRAFFIC_SHIFT")) is None  # the step it allows
    verdict = stages.judge(Look(), at_step(25.0, "h2"))
    assert isinstance(verdict, StageVerdict) and verdict.hook_id == "h2" and "production traffic 25% on web:2" in (
        verdict.reason)
    stages.resume("h2", "production_step")
    stages.judge(Look(), at_step(50.0, "h0", "PRODUCTION_TRAFFIC_SHIFT"))
    verdict = stages.judge(Look(), at_step(75.0, "h0", "PRODUCTION_TRAFFIC_SHIFT"))  # someone continued h3
    assert verdict is not None and verdict.outcome == FAILED
    assert "went past PRE_PRODUCTION_TRAFFIC_SHIFT without pausing there (someone continued it)" in verdict.reason


@pytest.mark.parametrize("first", ["fresh deploy", "continued at test traffic"])
def test_until_production_step_allows_no_step_before_the_first_pause(ecs: tuple[Aws, Any], first: str) -> None:
    """deploy(until="production_step"), or continue_deployment(until="production_step") from the test-traffic pause,
    stops before the first production step: a step taken before any pause was seen (someone continued it) fails."""
    stages = watch(ecs[0])
    stages.arn, stages.until = f"{SD}/new", "production_step"
    if first == "continued at test traffic":
        stages.until = "test_traffic"
        paused = stages.judge(Look(), at_step(0.0, "t1", "POST_TEST_TRAFFIC_SHIFT"))
        assert paused is not None and paused.outcome == PAUSED
        stages.resume("t1", "production_step")
    assert stages.judge(Look(), at_step(0.0, "h0", "PRODUCTION_TRAFFIC_SHIFT")) is None
    verdict = stages.judge(Look(), at_step(10.0, "h0", "PRODUCTION_TRAFFIC_SHIFT"))
    assert verdict is not None and verdict.outcome == FAILED
    assert "went past PRE_PRODUCTION_TRAFFIC_SHIFT without pausing there (someone continued it)" in verdict.reason


def test_until_production_step_fails_once_the_last_step_was_taken(ecs: tuple[Aws, Any]) -> None:
    stages = watch(ecs[0])
    stages.arn, stages.until = f"{SD}/new", "production_step"
    verdict = stages.judge(Look(), found("IN_PROGRESS", "POST_PRODUCTION_TRAFFIC_SHIFT"))
    assert verdict is not None and verdict.outcome == FAILED and "took its last production step" in verdict.reason


def test_a_pause_the_watch_does_not_stop_at_says_who_moves_it_on(ecs: tuple[Aws, Any]) -> None:
    stages = watch(ecs[0])
    stages.arn = f"{SD}/new"
    look = Look()
    assert stages.judge(look, at_step(10.0, "h1")) is None
    assert look.lines[-1].endswith("(then ROLLBACK); this run does not answer it: someone's ContinueServiceDeployment "
                                   "or its time-out moves it on (until='production_step' would stop here)")


def test_a_pause_hook_awaiting_action_is_shown_once_with_its_expiry(ecs: tuple[Aws, Any]) -> None:
    stages = watch(ecs[0])
    stages.arn = f"{SD}/new"
    hook = {"hookId": "h1", "targetType": "PAUSE", "status": "AWAITING_ACTION", "expiresAt": 1_767_312_000.0,
            "timeoutAction": "ROLLBACK"}
    first, second = Look(), Look()
    stages.judge(first, found("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", lifecycleHookDetails=[hook]))
    stages.judge(second, found("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", lifecycleHookDetails=[hook]))
    assert first.lines[-1] == ("service deployment new of web:2: lifecycle hook h1 at POST_TEST_TRAFFIC_SHIFT awaits "
                               "ContinueServiceDeployment until 2026-01-02T00:00:00Z (then ROLLBACK); this run does "
                               "not answer it: someone's ContinueServiceDeployment or its time-out moves it on")
    assert second.lines == []


# -- until=..., rollbacks this run asked for, and what a quiet look costs ---------------------------------------


def paused(stage: str = "POST_TEST_TRAFFIC_SHIFT", status: str = "AWAITING_ACTION", **hook: Any) -> dict[str, Any]:
    body = found("IN_PROGRESS", stage, lifecycleHookDetails=[
        {"hookId": "hook-1", "targetType": "PAUSE", "status": status, "timeoutAction": "ROLLBACK", **hook}])
    body["targetServiceRevision"].update(requestedProductionTrafficWeight=0.0, requestedTestTrafficWeight=100.0)
    return body


def test_until_test_traffic_is_a_paused_verdict_at_the_awaiting_pause_hook(ecs: tuple[Aws, Any]) -> None:
    stages = StageWatch(ecs[0], who="w", cluster="prod", service="web", revision=f"{TD}:2",  # type: ignore[arg-type]
                        deployment_id="ecs-svc/2", hint=None, arn=f"{SD}/new", until="test_traffic")
    assert stages.judge(Look(), paused(status="SUCCEEDED")) is None  # answered already: not a pause
    assert stages.judge(Look(), paused("POST_SCALE_UP")) is None  # a pause elsewhere is not test traffic
    verdict = stages.judge(Look(), paused())
    assert isinstance(verdict, StageVerdict) and verdict.outcome == PAUSED and verdict.hook_id == "hook-1"
    assert verdict.reason.startswith("service deployment new of web:2 paused at POST_TEST_TRAFFIC_SHIFT: the new "
                                     "revision serves test traffic, production stays on the previous one (stage "
                                     "POST_TEST_TRAFFIC_SHIFT, production traffic 0% / test 100% on web:2")
    lambda_hook = paused(targetType="AWS_LAMBDA", targetArn="arn:aws:lambda:eu-west-1:123456789012:function:f")
    assert paused_hook(lambda_hook) is None


@pytest.mark.parametrize("stage", ["PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME"])
def test_until_test_traffic_past_the_pause_without_pausing_fails(ecs: tuple[Aws, Any], stage: str) -> None:
    stages = StageWatch(ecs[0], who="w", cluster="prod", service="web", revision=f"{TD}:2",  # type: ignore[arg-type]
                        deployment_id="ecs-svc/2", hint=None, arn=f"{SD}/new", until="test_traffic")
    verdict = stages.judge(Look(), found("IN_PROGRESS", stage))
    assert verdict is not None and verdict.outcome == FAILED
    assert "went past POST_TEST_TRAFFIC_SHIFT without pausing there" in verdict.reason


@pytest.mark.parametrize(("stage", "weight", "shifted"), [
    ("PRODUCTION_TRAFFIC_SHIFT", 50.0, False), ("PRODUCTION_TRAFFIC_SHIFT", 100.0, False),
    ("POST_PRODUCTION_TRAFFIC_SHIFT", 100.0, True), ("BAKE_TIME", 100.0, True), ("A_STAGE_FROM_2027", 100.0, False),
])
def test_until_traffic_shifted_once_production_is_all_on_green_after_the_shift(
        ecs: tuple[Aws, Any], stage: str, weight: float, shifted: bool) -> None:
    stages = StageWatch(ecs[0], who="w", cluster="prod", service="web", revision=f"{TD}:2",  # type: ignore[arg-type]
                        deployment_id="ecs-svc/2", hint=None, arn=f"{SD}/new", until="traffic_shifted")
    body = found("IN_PROGRESS", stage)
    body["targetServiceRevision"]["requestedProductionTrafficWeight"] = weight
    verdict = stages.judge(Look(), body)
    assert (verdict.outcome if verdict else None) == (SHIFTED if shifted else None)


@pytest.mark.parametrize(("status", "outcome"), [
    ("ROLLBACK_REQUESTED", None), ("ROLLBACK_IN_PROGRESS", None), ("ROLLBACK_SUCCESSFUL", COMPLETED),
    ("ROLLBACK_FAILED", FAILED), ("SUCCESSFUL", FAILED), ("STOPPED", FAILED),
])
def test_a_rollback_this_run_asked_for_succeeds_only_as_rollback_successful(
        ecs: tuple[Aws, Any], status: str, outcome: str | None) -> None:
    stages = StageWatch(ecs[0], who="w", cluster="prod", service="web", revision=f"{TD}:2",  # type: ignore[arg-type]
                        deployment_id="ecs-svc/2", hint=None, arn=f"{SD}/new", rollback=True)
    verdict = stages.judge(Look(), found(status, "BAKE_TIME"))
    assert (verdict.outcome if verdict else None) == outcome
    assert stages.history[-1]["status"] == status and stages.history[-1]["productionWeight"] == 100.0


def test_a_quiet_service_deployment_is_read_again_only_every_few_seconds_or_on_a_change(
        ecs: tuple[Aws, Any]) -> None:
    aws, stubber = ecs
    now = [0.0]
    stages = StageWatch(aws, who="w", cluster="prod", service="web", revision=f"{TD}:2",  # type: ignore[arg-type]
                        deployment_id="ecs-svc/2", hint=None, arn=f"{SD}/new", clock=lambda: now[0])
    baking = found("IN_PROGRESS", "BAKE_TIME")
    service = {"deployments": [{"id": "ecs-svc/2", "runningCount": 2}]}
    for _ in range(3):  # the first read, a second that shows no change, then one after QUIET_REREAD seconds
        stubber.add_response("describe_service_deployments", {"serviceDeployments": [baking]},
                             {"serviceDeploymentArns": [f"{SD}/new"]})
    stubber.add_response("describe_service_deployments", {"serviceDeployments": [baking]},
                         {"serviceDeploymentArns": [f"{SD}/new"]})  # the service changed
    reads = [stages.look(service), stages.look(service)]  # both read: the first look had nothing to compare with
    now[0] = 1.0
    reads += [stages.look(service), stages.look(service)]  # quiet: the last answer again, no call
    now[0] = 1.0 + QUIET_REREAD
    reads.append(stages.look(service))  # due again
    reads.append(stages.look({"deployments": [{"id": "ecs-svc/2", "runningCount": 1}]}))  # DescribeServices moved
    assert all(r == baking for r in reads)
    stubber.assert_no_pending_responses()
