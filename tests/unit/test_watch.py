"""The rollout watcher on response sequences: hand-written ones for the edge cases, and the rollout engine's own
answers (fake clock, looked at every 50 ms) for completion, the circuit breaker, crashes and pull errors."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fakes import FakeClock as Ticker
from fakes import default_network
from moto import mock_aws
from moto.ecs.models import ecs_backends

from pytest_ecsdeploy.actions.watch import (
    COMPLETED,
    ECS_CATCH_UP,
    FAILED,
    ROLLED_BACK,
    SUPERSEDED,
    TIMED_OUT,
    DeploymentWatch,
    Look,
    TaskView,
    failure_threshold,
)
from pytest_ecsdeploy.emulator.clock import FakeClock
from pytest_ecsdeploy.emulator.ecs.responses import RolloutEngine

A, R = "123456789012", "us-east-1"
ECR = f"{A}.dkr.ecr.{R}.amazonaws.com"
TD = f"arn:aws:ecs:{R}:{A}:task-definition/web"
BREAKER: dict[str, Any] = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}


# -- hand-written answers -------------------------------------------------------------------------------------


def deployment(id: str, revision: int, status: str = "PRIMARY", state: str | None = "IN_PROGRESS", **more: Any
               ) -> dict[str, Any]:
    body = {"id": id, "status": status, "taskDefinition": f"{TD}:{revision}", "desiredCount": 2,
            "runningCount": 0, "pendingCount": 0, "failedTasks": 0, "createdAt": 100.0, "updatedAt": 100.0, **more}
    if state is not None:
        body["rolloutState"] = state
    return body


def service(*deployments: dict[str, Any], events: tuple[tuple[str, float, str], ...] = (), **more: Any
            ) -> dict[str, Any]:
    return {
        "serviceName": "web", "status": "ACTIVE", "desiredCount": 2, "runningCount": 2,
        "deployments": list(deployments),
        "events": [{"id": i, "createdAt": t, "message": m} for i, t, m in sorted(events, key=lambda e: -e[1])],
        **more,
    }


def task(n: int, revision: int, started_by: str, last: str = "RUNNING", desired: str = "RUNNING", **more: Any
         ) -> dict[str, Any]:
    return {"taskArn": f"arn:aws:ecs:{R}:{A}:task/local/{n:032x}", "taskDefinitionArn": f"{TD}:{revision}",
            "lastStatus": last, "desiredStatus": desired, "startedBy": started_by, **more}


def crashed(n: int, started_by: str, at: float = 110.0, last: str = "STOPPING") -> dict[str, Any]:
    return task(n, 2, started_by, last=last, desired="STOPPED", stopCode="EssentialContainerExited",
                stoppedReason="Essential container in task exited", stoppingAt=at,
                containers=[{"name": "app", "lastStatus": "STOPPED", "exitCode": 1}, {"name": "log", "lastStatus": "RUNNING"}])


def new_watch(**kwargs: Any) -> DeploymentWatch:
    return DeploymentWatch("web", revision=f"{TD}:2", deployment_id="ecs-svc/2", **kwargs)


@pytest.mark.parametrize(
    ("desired", "config", "threshold"),
    [
        (0, None, 3), (1, None, 3), (7, None, 4), (25, None, 13), (399, None, 200), (800, None, 200),
        (10, {"type": "COUNT", "value": 5}, 5),
        (100, {"type": "UNBOUNDED_PERCENT", "value": 10}, 10),
        (1000, {"type": "UNBOUNDED_PERCENT", "value": 50}, 500),
        (10, {"type": "BOUNDED_PERCENT", "value": 10}, 3),
    ],
)
def test_failure_threshold_follows_the_circuit_breaker(desired: int, config: dict[str, Any] | None, threshold: int) -> None:
    breaker: dict[str, Any] = {"enable": True, "rollback": False}
    if config is not None:
        breaker["thresholdConfiguration"] = config
    assert failure_threshold({"desiredCount": desired, "deploymentConfiguration": {"deploymentCircuitBreaker": breaker}}) == threshold


@pytest.mark.parametrize(
    ("fields", "failure"),
    [
        ({"stopCode": "TaskFailedToStart", "stoppedReason": "CannotPullContainerError: pull image manifest has been retried 5 time(s)"}, True),
        ({"stopCode": "EssentialContainerExited", "stoppedReason": "Essential container in task exited"}, True),
        ({"stopCode": "ServiceSchedulerInitiated", "stoppedReason": "Task failed ELB health checks in (target-group arn:tg)"}, True),
        ({"stopCode": "ServiceSchedulerInitiated", "stoppedReason": "Task failed container health checks"}, True),
        ({"stoppedReason": "ResourceInitializationError: unable to pull secrets or registry auth"}, True),
        ({"stopCode": "ServiceSchedulerInitiated", "stoppedReason": "Scaling activity initiated by (deployment ecs-svc/1)"}, False),
        ({"stopCode": "UserInitiated", "stoppedReason": "Task stopped by user"}, False),
        ({"stopCode": "SpotInterruption", "stoppedReason": "Your Spot Task was interrupted."}, False),
    ],
)
def test_which_stopped_tasks_are_failures(fields: dict[str, Any], failure: bool) -> None:
    assert TaskView.from_api(task(1, 2, "ecs-svc/2", last="STOPPED", desired="STOPPED", **fields)).is_failure is failure
    assert TaskView.from_api(task(1, 2, "ecs-svc/2", **fields)).is_failure is False  # still meant to run


def test_only_new_events_are_printed_oldest_first_and_each_once() -> None:
    watch = new_watch(seen_events=["e0"])
    before = ("e0", 90.0, "(service web) has reached a steady state.")
    first = watch.observe(service(deployment("ecs-svc/2", 2), events=(
        before, ("e1", 101.0, "(service web) has started 2 tasks: (task a) (task b)."),
    )))
    assert first.lines == ["(service web) has started 2 tasks: (task a) (task b)."]
    assert first.events == [(101.0, "(service web) has started 2 tasks: (task a) (task b).")]
    # Two events at the same instant keep ECS's order (the answer lists the newest first).
    answer = service(deployment("ecs-svc/2", 2, "PRIMARY", "COMPLETED"), events=(before,))
    answer["events"] = [
        {"id": "e3", "createdAt": 105.0, "message": "(service web) has reached a steady state."},
        {"id": "e2", "createdAt": 105.0, "message": "(service web) (deployment ecs-svc/2) deployment completed."},
        {"id": "e1", "createdAt": 101.0, "message": "(service web) has started 2 tasks: (task a) (task b)."},
        {"id": "e0", "createdAt": 90.0, "message": "(service web) has reached a steady state."},
    ]
    second = watch.observe(answer)
    assert second.lines == ["(service web) (deployment ecs-svc/2) deployment completed.",
                            "(service web) has reached a steady state."]
    assert second.verdict is not None and second.verdict.outcome == COMPLETED
    assert watch.events == ["(service web) has started 2 tasks: (task a) (task b).", *second.lines]


def test_datetime_timestamps_from_boto3_are_understood() -> None:
    at = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    look = new_watch().observe(service(deployment("ecs-svc/2", 2, state="COMPLETED", updatedAt=at),
                                       events=(("e1", 0.0, "x"),)))
    assert look.verdict is not None and look.verdict.decided_at == at.timestamp()


def test_task_lines_running_once_failures_once_with_exit_codes_history_ignored() -> None:
    watch = new_watch()
    old_stopped = task(9, 1, "ecs-svc/1", last="STOPPED", desired="STOPPED", stopCode="EssentialContainerExited",
                       stoppedReason="Essential container in task exited")
    old_running = task(8, 1, "ecs-svc/1")
    first = watch.observe(service(deployment("ecs-svc/2", 2)), [old_stopped, old_running, task(1, 2, "ecs-svc/2", last="PENDING")])
    assert first.lines == []
    second = watch.observe(service(deployment("ecs-svc/2", 2)), [task(1, 2, "ecs-svc/2")])
    assert second.lines == [f"task {1:032x} (web:2) RUNNING"]
    assert watch.observe(service(deployment("ecs-svc/2", 2)), [task(1, 2, "ecs-svc/2")]).lines == []
    third = watch.observe(service(deployment("ecs-svc/2", 2)), [crashed(1, "ecs-svc/2")])
    assert third.lines == [
        f"task {1:032x} (web:2) stopping: EssentialContainerExited: Essential container in task exited, app exited 1"
    ]
    assert third.events == [(110.0, third.lines[0])]
    later = crashed(1, "ecs-svc/2", last="STOPPED")
    later["containers"][1]["exitCode"] = 0
    assert watch.observe(service(deployment("ecs-svc/2", 2)), [later]).lines == []
    # The old revision's tasks stopped by the scheduler are in the service events, not printed again.
    scaled = task(8, 1, "ecs-svc/1", last="STOPPED", desired="STOPPED", stopCode="ServiceSchedulerInitiated",
                  stoppedReason="Scaling activity initiated by (deployment ecs-svc/2)")
    assert watch.observe(service(deployment("ecs-svc/2", 2)), [scaled]).lines == []
    # STOPPED tasks cannot change: they are not described again; the still-RUNNING ones are, listed or not.
    assert watch.tasks_to_describe(service(deployment("ecs-svc/2", 2)), []) == []
    assert watch.tasks_to_describe(service(deployment("ecs-svc/2", 2)), [old_running["taskArn"]]) == [old_running["taskArn"]]


def test_tasks_to_describe_the_listed_the_known_unstopped_and_those_new_events_name_once_each() -> None:
    watch = new_watch(seen_events=["e0"])
    leaving, gone = task(1, 1, "ecs-svc/1"), task(2, 1, "ecs-svc/1", last="STOPPED", desired="STOPPED")
    watch.observe(service(deployment("ecs-svc/2", 2)), [leaving, gone])
    new = task(3, 2, "ecs-svc/2")["taskArn"]
    events = (("e0", 100.0, f"(service web) has started 1 tasks: (task {9:032x})."),  # seen: not again
              ("e1", 101.0, f"(service web) has started 2 tasks: (task {4:032x}) (task {3:032x})."),
              ("e2", 102.0, f"(service web) has stopped 2 running tasks: (task {1:032x}) (task {2:032x})."),
              ("e3", 103.0, "(service web) has reached a steady state."))
    # the listed new task, the known task not yet STOPPED (it left the RUNNING list), and the task that started
    # and stopped between two reads, named only by its event; the STOPPED task and the listed one not twice.
    assert watch.tasks_to_describe(service(deployment("ecs-svc/2", 2), events=events), [new]) == [
        new, leaving["taskArn"], f"{4:032x}"]


def test_failed_tasks_reaching_the_threshold_fail_the_deployment_when_the_breaker_is_off() -> None:
    watch = new_watch()
    answer = service(deployment("ecs-svc/2", 2), deployment("ecs-svc/1", 1, "ACTIVE", "COMPLETED"))
    assert watch.observe(answer, [crashed(1, "ecs-svc/2", 101.0), crashed(2, "ecs-svc/2", 102.0)]).verdict is None
    look = watch.observe(answer, [crashed(3, "ecs-svc/2", 103.5)])
    assert look.verdict is not None
    assert look.verdict.outcome == FAILED and look.verdict.decided_at == 103.5
    assert look.verdict.reason == (
        f"deployment ecs-svc/2 of web:2 failed: 3 of its tasks stopped with failures (threshold 3), the last task "
        f"{3:032x} (web:2) with EssentialContainerExited: Essential container in task exited, app exited 1 "
        f"(0 of 2 tasks running on web:2, 3 failed (threshold 3), rolloutState IN_PROGRESS)"
    )


def test_a_task_crashing_between_the_service_and_the_task_read_is_not_counted_running_beside_its_failure() -> None:
    # The look's DescribeServices still counts the third task running; the DescribeTasks after it shows it
    # crashed. The verdict's counts come from that task read, as its failures do: 0 running, not 1 and 3 failed.
    watch = new_watch()
    one = {"desiredCount": 1, "runningCount": 1}
    assert watch.observe(service(deployment("ecs-svc/2", 2, **one), **one),
                         [crashed(1, "ecs-svc/2", 101.0), crashed(2, "ecs-svc/2", 102.0), task(3, 2, "ecs-svc/2")]
                         ).verdict is None
    look = watch.observe(service(deployment("ecs-svc/2", 2, **one), **one, pendingCount=0),
                         [crashed(3, "ecs-svc/2", 103.0), task(4, 2, "ecs-svc/2", last="PROVISIONING")])
    assert look.verdict is not None and look.verdict.outcome == FAILED
    assert look.verdict.reason.endswith(
        "(0 of 1 tasks running on web:2, 1 pending, 3 failed (threshold 3), rolloutState IN_PROGRESS)")


def test_once_the_service_moved_past_the_last_task_read_its_own_counts_are_shown() -> None:
    watch = new_watch()
    watch.observe(service(deployment("ecs-svc/2", 2)), [task(1, 2, "ecs-svc/2", last="PENDING")])
    assert watch.progress().startswith("0 of 2 tasks running on web:2, 1 pending, ")
    done = service(deployment("ecs-svc/2", 2, state="COMPLETED", runningCount=2))
    verdict = watch.observe(done, None).verdict  # the service alone shows it: the tasks are not read
    assert verdict is not None and "(2 of 2 tasks running on web:2, 0 failed" in verdict.reason


def test_while_the_breaker_counts_its_verdict_is_awaited_then_followed() -> None:
    watch = new_watch()
    config: dict[str, Any] = {"deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": False}}}
    tasks = [crashed(n, "ecs-svc/2", 100.0 + n) for n in (1, 2, 3)]
    counting = service(deployment("ecs-svc/2", 2, failedTasks=2), **config)
    assert watch.observe(counting, tasks).verdict is None
    failed = service(deployment("ecs-svc/2", 2, state="FAILED", failedTasks=3, updatedAt=104.0,
                                rolloutStateReason="ECS deployment circuit breaker: tasks failed to start."), **config)
    verdict = watch.observe(failed).verdict
    assert verdict is not None and (verdict.outcome, verdict.decided_at) == (FAILED, 104.0)
    assert verdict.reason.startswith("deployment ecs-svc/2 of web:2 failed: ECS deployment circuit breaker: tasks failed to start (")


ROLLING_BACK = "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1."
BREAKER_FAILED = "ECS deployment circuit breaker: tasks failed to start."


def breaker(rollback: bool = True) -> dict[str, Any]:
    return {"deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": rollback}}}


@pytest.mark.parametrize("rollback", [True, False], ids=["ecs-rolls-back", "ecs-fails-it"])
@pytest.mark.parametrize("counted_at_the_first_look", [False, True], ids=["service-read-first", "tasks-read-first"])
def test_with_the_breaker_failures_ecs_is_about_to_count_are_left_to_ecs(rollback: bool,
                                                                        counted_at_the_first_look: bool) -> None:
    # A look reads DescribeServices, then DescribeTasks: the failures can show in the tasks before failedTasks
    # counts them (service read first), or already be counted (the tasks read first, at the same instant).
    clock = Ticker()
    watch = new_watch(clock=clock)
    tasks = [crashed(n, "ecs-svc/2", 100.0 + n) for n in (1, 2, 3)]
    before = service(deployment("ecs-svc/2", 2, failedTasks=2 if counted_at_the_first_look else 0), **breaker(rollback))
    assert watch.observe(before, tasks).verdict is None
    for _ in range(3):  # ECS lagging behind, well within the time it is given
        clock.sleep(ECS_CATCH_UP / 4)
        assert watch.observe(before).verdict is None
    clock.sleep(1.0)
    failed = deployment("ecs-svc/2", 2, "ACTIVE" if rollback else "PRIMARY", "FAILED", failedTasks=3,
                        updatedAt=104.0, rolloutStateReason=BREAKER_FAILED)
    back = [deployment("ecs-svc/3", 1, createdAt=104.0, rolloutStateReason=ROLLING_BACK)] if rollback else []
    verdict = watch.observe(service(*back, failed, **breaker(rollback))).verdict
    assert verdict is not None
    assert verdict.outcome == (ROLLED_BACK if rollback else FAILED) and verdict.decided_at == 104.0
    assert "ECS deployment circuit breaker: tasks failed to start" in verdict.reason
    assert "stopped with failures" not in verdict.reason


def test_with_the_breaker_failures_ecs_does_not_count_end_the_deployment_once_ecs_had_the_chance() -> None:
    # ECS resets failedTasks once a task ran healthy and stops counting, so its breaker never fires for tasks
    # that crash later (copilot-cli #1180): the watch decides, once a service answer asked ECS_CATCH_UP seconds
    # after the task read still shows no count. Looks every second; the failures are read at 0, 3 and 6 s.
    clock = Ticker()
    watch = new_watch(clock=clock)
    answer = service(deployment("ecs-svc/2", 2, failedTasks=0, runningCount=1), **breaker())
    read = {0: [crashed(1, "ecs-svc/2", 101.0)], 3: [crashed(2, "ecs-svc/2", 104.0)], 6: [crashed(3, "ecs-svc/2", 107.0)]}
    verdicts = {}
    for second in range(30):
        look = watch.observe(answer, read.get(second))
        verdicts[second] = look.verdict
        if look.verdict is not None:
            break
        clock.sleep(1.0)
    # The look at 17 s is the first whose service answer was asked (after the look at 16 s) 10 s after the
    # third failure was read.
    assert [s for s, v in verdicts.items() if v is not None] == [6 + ECS_CATCH_UP + 1]
    verdict = verdicts[6 + ECS_CATCH_UP + 1]
    assert verdict is not None and verdict.outcome == FAILED and verdict.decided_at == 107.0
    assert "3 of its tasks stopped with failures (threshold 3)" in verdict.reason


def test_with_the_breaker_counting_its_verdict_or_the_time_out_is_waited_for() -> None:
    # failedTasks above 0: ECS evaluates, however long it lags; only the time-out ends the watch then.
    clock = Ticker()
    watch = new_watch(clock=clock)
    counting = service(deployment("ecs-svc/2", 2, failedTasks=1), **breaker())
    assert watch.observe(counting, [crashed(n, "ecs-svc/2", 100.0 + n) for n in (1, 2, 3)]).verdict is None
    for _ in range(10):
        clock.sleep(ECS_CATCH_UP)
        assert watch.observe(counting).verdict is None
    assert watch.timed_out(100).outcome == TIMED_OUT


def test_without_the_breaker_the_threshold_decides_at_the_look_that_reads_it() -> None:
    watch = new_watch(clock=Ticker())  # the clock stands still: nothing is waited for
    answer = service(deployment("ecs-svc/2", 2), deploymentConfiguration={"deploymentCircuitBreaker": {"enable": False}})
    verdict = watch.observe(answer, [crashed(n, "ecs-svc/2", 100.0 + n) for n in (1, 2, 3)]).verdict
    assert verdict is not None and verdict.outcome == FAILED


def test_ecs_rolling_back_is_a_failure_never_a_success() -> None:
    watch = new_watch()
    rolled = service(
        deployment("ecs-svc/3", 1, createdAt=120.0,
                   rolloutStateReason="ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1."),
        deployment("ecs-svc/2", 2, "ACTIVE", "FAILED", rolloutStateReason="ECS deployment circuit breaker: tasks failed to start."),
        deployment("ecs-svc/1", 1, "ACTIVE", "COMPLETED"),
    )
    verdict = watch.observe(rolled).verdict
    assert verdict is not None and verdict.outcome == ROLLED_BACK and not verdict.is_completed
    assert verdict.ecs_rollback is not None and verdict.ecs_rollback.id == "ecs-svc/3"
    assert verdict.reason == (
        "ECS's circuit breaker failed deployment ecs-svc/2 of web:2 (ECS deployment circuit breaker: tasks failed "
        "to start) and is rolling the service back to web:1 (deployment ecs-svc/3)"
    )
    # Even once our deployment has drained away and the rollback completed, it is not taken for a success.
    later = service(deployment("ecs-svc/3", 1, state="COMPLETED",
                               rolloutStateReason="ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1."))
    assert new_watch().observe(later).verdict.outcome == ROLLED_BACK  # type: ignore[union-attr]


def test_ecs_s_rollback_seen_only_once_completed_is_known_by_the_failed_deployment_s_event() -> None:
    # A fast clock: the first look after the update finds ECS's rollback COMPLETED (its reason "… completed.") and
    # our failed deployment drained out of the answer; its service event still says ECS failed it.
    events = (("e1", 101.0, "(service web) (deployment ecs-svc/2) deployment failed: tasks failed to start."),
              ("e2", 101.0, "(service web) rolling back to deployment ecs-svc/1."))
    done = deployment("ecs-svc/3", 1, state="COMPLETED", createdAt=101.0,
                      rolloutStateReason="ECS deployment ecs-svc/3 completed.")
    verdict = new_watch().observe(service(done, events=events, **breaker())).verdict
    assert verdict is not None and verdict.outcome == ROLLED_BACK and verdict.decided_at == 101.0
    assert verdict.reason == ("ECS's circuit breaker failed deployment ecs-svc/2 of web:2 (deployment failed: tasks "
                              "failed to start) and is rolling the service back to web:1 (deployment ecs-svc/3)")
    # Another deployment's failure says nothing about ours; without ECS's rollback, a new deployment is someone's.
    other = (("e1", 101.0, "(service web) (deployment ecs-svc/7) deployment failed: tasks failed to start."),)
    assert new_watch().observe(service(done, events=other, **breaker())).verdict.outcome == SUPERSEDED  # type: ignore[union-attr]
    assert new_watch().observe(service(done, events=events, **breaker(rollback=False))).verdict.outcome == SUPERSEDED  # type: ignore[union-attr]


def test_someone_elses_deployment_supersedes_ours() -> None:
    verdict = new_watch().observe(service(deployment("ecs-svc/9", 7, createdAt=130.0),
                                          deployment("ecs-svc/2", 2, "ACTIVE"))).verdict
    assert verdict is not None and verdict.outcome == SUPERSEDED and verdict.decided_at == 130.0
    assert verdict.reason == ("deployment ecs-svc/2 of web:2 was replaced by deployment ecs-svc/9 of web:7, "
                              "which someone else started")


def test_without_rollout_state_one_deployment_at_the_desired_count_completes() -> None:
    watch = new_watch()
    two = service(deployment("ecs-svc/2", 2, state=None, runningCount=2), deployment("ecs-svc/1", 1, "ACTIVE", None))
    assert watch.observe(two).verdict is None
    one = watch.observe(service(deployment("ecs-svc/2", 2, state=None, runningCount=2)))
    assert one.verdict is not None and one.verdict.outcome == COMPLETED


def test_a_service_deleted_meanwhile_fails_and_an_unlisted_deployment_waits() -> None:
    assert new_watch().observe(service(deployment("ecs-svc/1", 1, state="COMPLETED"), status="ACTIVE",
                                       deployments=[])).verdict is None
    verdict = new_watch().observe(service(deployment("ecs-svc/2", 2), status="DRAINING")).verdict
    assert verdict is not None and verdict.outcome == FAILED
    assert verdict.reason == "the service became DRAINING during deployment ecs-svc/2 of web:2"


def test_timed_out_names_the_deployment_and_where_it_stands() -> None:
    watch = new_watch()
    watch.observe(service(deployment("ecs-svc/2", 2, runningCount=1, pendingCount=1)))
    verdict = watch.timed_out(600)
    assert verdict.outcome == TIMED_OUT
    assert verdict.reason == ("deployment ecs-svc/2 of web:2 did not complete within 600 s (1 of 2 tasks running "
                              "on web:2, 1 pending, 0 failed (threshold 3), rolloutState IN_PROGRESS)")


@pytest.mark.parametrize(
    ("change", "read"),
    [
        ({}, False),
        ({"runningCount": 1}, True),
        ({"pendingCount": 1}, True),
        ({"desiredCount": 3}, True),
        ({"status": "DRAINING"}, True),
        ({"deployments": [deployment("ecs-svc/2", 2, runningCount=1)]}, True),
        ({"deployments": [deployment("ecs-svc/2", 2, pendingCount=1)]}, True),
        ({"deployments": [deployment("ecs-svc/2", 2, failedTasks=1)]}, True),
        ({"deployments": [deployment("ecs-svc/2", 2, state="FAILED")]}, True),
        ({"deployments": [deployment("ecs-svc/2", 2), deployment("ecs-svc/1", 1, status="ACTIVE")]}, True),
        ({"deployments": [deployment("ecs-svc/2", 2, updatedAt=105.0)]}, False),  # touched, no task moved
        ({"events": [{"id": "e2", "createdAt": 104.0, "message": "(service web) has started 1 tasks: (task 9)."}]},
         True),
    ],
)
def test_tasks_are_read_at_the_first_look_and_then_only_when_the_service_shows_a_change(change: dict[str, Any],
                                                                                        read: bool) -> None:
    before = service(deployment("ecs-svc/2", 2), runningCount=0, pendingCount=0,
                     events=(("e1", 101.0, "(service web) has started 2 tasks: (task 1) (task 2)."),))
    watch = new_watch()
    assert watch.needs_tasks(before)
    watch.observe(before, None)
    assert watch.needs_tasks(before), "not read yet: the next look still reads them"
    watch.observe(before, [task(1, 2, "ecs-svc/2", last="PENDING")])
    assert not watch.needs_tasks(before)
    assert watch.needs_tasks({**before, **change}) is read


def test_tasks_are_not_read_once_the_service_alone_shows_the_deployment_completed() -> None:
    watch = new_watch()
    done = service(deployment("ecs-svc/2", 2, state="COMPLETED", runningCount=2))
    assert not watch.needs_tasks(done)
    assert watch.needs_tasks(service(deployment("ecs-svc/2", 2, state="FAILED")))  # a failure's reasons are read


# -- the rollout engine's answers ----------------------------------------------------------------------------


class Engine:
    """The rollout engine under a fake clock, with a watch looking at it every ``step`` seconds; ``gated``: the
    watch is given the tasks only when it asks for them (``needs_tasks``), and only those ``ecs_service`` reads."""

    def __init__(self, gated: bool = False) -> None:
        self.gated = gated
        self.task_reads = 0
        self.clock = FakeClock()
        self.engine = RolloutEngine(clock=self.clock, seed=7)
        ecs_backends[A][R].create_cluster("local")
        self.network = default_network(A, R)  # awsvpc: ECS runs these tasks only with one
        for tag in ("1", "2"):
            ecs_backends[A][R].register_task_definition(
                "web", [{"name": "app", "image": f"{ECR}/web:{tag}", "memory": 128}], requires_compatibilities=["FARGATE"]
            )

    def call(self, action: str, **params: Any) -> dict[str, Any]:
        return self.engine.handle(action, A, R, {"cluster": "local", **params})

    def service(self) -> dict[str, Any]:
        return self.call("DescribeServices", services=["web"])["services"][0]  # type: ignore[no-any-return]

    def tasks(self, watch: DeploymentWatch | None = None, service: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every task of the service (ListTasks RUNNING and STOPPED); with ``watch``, those ``ecs_service`` reads:
        ListTasks RUNNING, then DescribeTasks of ``watch.tasks_to_describe``."""
        if watch is None:
            arns = [a for status in ("RUNNING", "STOPPED") for a in self.call("ListTasks", serviceName="web", desiredStatus=status)["taskArns"]]
        else:
            assert service is not None
            arns = watch.tasks_to_describe(service, self.call("ListTasks", serviceName="web", desiredStatus="RUNNING")["taskArns"])
        return self.call("DescribeTasks", tasks=arns)["tasks"] if arns else []  # type: ignore[no-any-return]

    def seed(self, desired: int = 2, **config: Any) -> None:
        params: dict[str, Any] = {"cluster": "local", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": desired,
                                  "networkConfiguration": self.network}
        if config:
            params["deploymentConfiguration"] = config
        self.engine.seed_service(A, R, params)

    def deploy(self) -> DeploymentWatch:
        seen = [e["id"] for e in self.service()["events"]]
        answer = self.call("UpdateService", service="web", taskDefinition="web:2")["service"]
        return DeploymentWatch("web", revision=answer["deployments"][0]["taskDefinition"],
                               deployment_id=answer["deployments"][0]["id"], seen_events=seen)

    def follow(self, watch: DeploymentWatch, decisive: Callable[[dict[str, Any], list[dict[str, Any]]], bool],
               step: float = 0.05, limit: float = 60.0) -> tuple[Look, list[Look]]:
        """Look every ``step`` until a verdict; assert it came at the first look whose answer held the decisive
        state (``decisive(service, tasks)``), never before and never later."""
        looks: list[Look] = []
        for _ in range(round(limit / step)):
            self.clock.advance(step)
            self.engine.tick()
            service, tasks = self.service(), self.tasks()
            given = tasks if not self.gated else self.tasks(watch, service) if watch.needs_tasks(service) else None
            self.task_reads += given is not None
            look = watch.observe(service, given)
            looks.append(look)
            assert (look.verdict is not None) == decisive(service, tasks), f"look {len(looks)}: {look.verdict}"
            if look.verdict is not None:
                return look, looks
        raise AssertionError("no verdict in simulated time")


@pytest.fixture(params=[False, True], ids=["tasks-every-look", "tasks-on-change"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    with mock_aws():
        env = Engine(gated=request.param)
        yield env
        env.engine.close()


def ours(watch: DeploymentWatch, service: dict[str, Any]) -> dict[str, Any] | None:
    return next((d for d in service["deployments"] if d["id"] == watch.deployment_id), None)


def test_engine_rollout_completes_at_the_first_look_that_shows_it(engine: Engine) -> None:
    engine.seed()
    watch = engine.deploy()
    look, looks = engine.follow(watch, lambda s, t: (ours(watch, s) or {}).get("rolloutState") == "COMPLETED")
    assert look.verdict is not None and look.verdict.outcome == COMPLETED
    lines = [line for earlier in looks for line in earlier.lines]
    assert lines[0].startswith("(service web) has started 2 tasks: ")
    assert sum(line.endswith("(web:2) RUNNING") for line in lines) == 2
    assert lines[-2:] == [f"(service web) (deployment {watch.deployment_id}) deployment completed.",
                          "(service web) has reached a steady state."]
    assert watch.failures == {}
    if engine.gated:  # the tasks are read when something moved, not at each of the ~40 looks
        assert engine.task_reads <= len(looks) // 4, (engine.task_reads, len(looks))


def test_engine_crash_with_the_breaker_is_a_rollback_by_ecs_seen_at_once(engine: Engine) -> None:
    engine.seed(**BREAKER)
    engine.engine.set_image_behaviour("web:2", "crash", exit_code=3)
    watch = engine.deploy()
    look, looks = engine.follow(watch, lambda s, t: s["deployments"][0]["id"] != watch.deployment_id)
    assert look.verdict is not None and look.verdict.outcome == ROLLED_BACK
    assert look.verdict.ecs_rollback is not None and look.verdict.ecs_rollback.revision.endswith("web:1")  # type: ignore[union-attr]
    lines = [line for earlier in looks for line in earlier.lines]
    assert f"(service web) (deployment {watch.deployment_id}) deployment failed: tasks failed to start." in lines
    crashes = [line for line in lines if "stopping: EssentialContainerExited" in line]
    assert len(crashes) == len(watch.failures) >= 3 and all(line.endswith("app exited 3") for line in crashes)


def test_engine_crash_without_the_breaker_fails_at_the_threshold(engine: Engine) -> None:
    engine.seed()
    engine.engine.set_image_behaviour("web:2", "crash")

    def threshold_reached(service: dict[str, Any], tasks: list[dict[str, Any]]) -> bool:
        failed = [t for t in tasks if t["startedBy"] == watch.deployment_id and t["desiredStatus"] == "STOPPED"]
        return len(failed) >= 3

    watch = engine.deploy()
    look, _ = engine.follow(watch, threshold_reached)
    assert look.verdict is not None and look.verdict.outcome == FAILED
    assert (ours(watch, engine.service()) or {})["rolloutState"] == "IN_PROGRESS"  # ECS would go on forever


def test_engine_pull_error_is_named(engine: Engine) -> None:
    engine.seed(desired=1)
    engine.engine.set_image_behaviour("web:2", "pull-error")
    watch = engine.deploy()
    look, _ = engine.follow(watch, lambda s, t: sum(
        1 for x in t if x["startedBy"] == watch.deployment_id and x["desiredStatus"] == "STOPPED") >= 3)
    assert look.verdict is not None and look.verdict.outcome == FAILED
    assert "TaskFailedToStart: CannotPullContainerError: " in look.verdict.reason


@pytest.mark.parametrize("gap", [0.2, 0.5, 1.0])
def test_engine_crash_without_the_breaker_counts_running_tasks_as_its_task_read_does(gap: float) -> None:
    # ``gap`` simulated seconds between a look's service read and its task read: the verdict's running count is
    # the task read's, whichever task crashed in between.
    with mock_aws():
        env = Engine()
        try:
            env.seed(desired=1)
            env.engine.set_image_behaviour("web:2", "crash", exit_code=1, after=0.5)
            watch = env.deploy()
            look = None
            for _ in range(400):
                service = env.service()
                env.clock.advance(gap)
                env.engine.tick()
                tasks = env.tasks()
                look = watch.observe(service, tasks)
                if look.verdict is not None:
                    break
                env.clock.advance(0.05)
                env.engine.tick()
            assert look is not None and look.verdict is not None and look.verdict.outcome == FAILED
            running = sum(1 for t in tasks if t["startedBy"] == watch.deployment_id and t["lastStatus"] == "RUNNING"
                          and t["desiredStatus"] == "RUNNING")
            assert f"({running} of 1 tasks running on web:2, " in look.verdict.reason
        finally:
            env.engine.close()


@pytest.mark.parametrize("gap", [0.3, 1.0, 3.0])
@pytest.mark.parametrize("service_first", [True, False], ids=["service-then-tasks", "tasks-then-service"])
def test_engine_crash_with_the_breaker_is_ecs_s_rollback_whichever_read_comes_first(service_first: bool,
                                                                                     gap: float) -> None:
    # The engine moves ``gap`` simulated seconds between a look's two reads (a fast clock, a loaded machine):
    # tasks crash in between, and the watch must follow ECS's verdict, not one of its own.
    with mock_aws():
        env = Engine()
        try:
            env.seed(**BREAKER)
            env.engine.set_image_behaviour("web:2", "crash", exit_code=3)
            watch = env.deploy()
            watch = DeploymentWatch("web", revision=watch.revision, deployment_id=watch.deployment_id,
                                    seen_events=watch.seen_events, clock=env.clock.now)
            verdict = None
            for _ in range(200):
                first = env.service() if service_first else env.tasks()
                env.clock.advance(gap)
                env.engine.tick()
                service, tasks = (first, env.tasks()) if service_first else (env.service(), first)
                verdict = watch.observe(service, tasks).verdict
                if verdict is not None:
                    break
                env.clock.advance(0.25)
                env.engine.tick()
            assert verdict is not None and verdict.outcome == ROLLED_BACK, verdict
            assert "tasks failed to start)" in verdict.reason
        finally:
            env.engine.close()

