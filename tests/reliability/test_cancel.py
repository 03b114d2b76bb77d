"""Real signals sent to a real ``pytest`` run at each phase of a deployment, and a re-run after SIGKILL.

Every run deploys web (steady on web:1, two tasks) to web:2 on the module's emulator, whose clock the test holds
(``driven_clock``): a phase lasts until the test lets simulated time go, so each signal lands in its phase by
construction, after a line of the run's output (or a state of the emulator) says the phase has begun. What each
run leaves is read back (the record, the Octopus messages, the summary) and compared with what ECS shows.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_ecsdeploy.emulator import LocalAWS

from .conftest import Background, DrivenClock
from .test_octopus_run import UNDER_OCTOPUS, service_messages, variables

RUN_ARGS = ("deployments", "--env", "outside", "-rA", "--ecsdeploy-report", "record.json", "--image-tag", "2.0.0")
START = r"deployment (ecs-svc/\d+) of web:2 started$"
ROLLING_BACK = r"rolling service web back to web:1$"
CRASHED = r"\(web:2\) (STOPPED|stopping): EssentialContainerExited"
INTERRUPTED = 2  # pytest's exit status for a run stopped by KeyboardInterrupt (our Cancelled is one)

# A first step that holds the run before the update until it is signalled: the image is pinned (ecr.image()
# reads ECR), nothing is written yet.
HOLD_BEFORE_UPDATE = '''
import time

import pytest

pytestmark = pytest.mark.ecs_service("web")


def test_image(ecr):
    ecr.image()
    print("HOLDING BEFORE THE UPDATE", flush=True)
    while True:
        time.sleep(0.05)


def test_deploy(deploy):
    deploy()
'''


def web_service(local: LocalAWS) -> dict[str, Any]:
    return local.client("ecs").describe_services(cluster="local", services=["web"])["services"][0]  # type: ignore[no-any-return]


def steady_on(local: LocalAWS, revision: str) -> dict[str, Any]:
    """The service's only deployment, after checking it is COMPLETED on ``revision`` with its 2 tasks."""
    service = web_service(local)
    (only,) = service["deployments"]
    assert only["rolloutState"] == "COMPLETED" and only["taskDefinition"].endswith(f"/{revision}"), only
    assert service["runningCount"] == service["desiredCount"] == 2, service
    return only  # type: ignore[no-any-return]


def record_of(project: Path) -> dict[str, Any]:
    return json.loads((project / "record.json").read_text())["services"]["web"]  # type: ignore[no-any-return]


def short(arn: str | None) -> str | None:
    return arn.rsplit("/", 1)[-1] if arn else arn


def failed_web2_tasks(local: LocalAWS) -> int:
    ecs = local.client("ecs")
    arns = ecs.list_tasks(cluster="local", serviceName="web", desiredStatus="STOPPED")["taskArns"]
    tasks = ecs.describe_tasks(cluster="local", tasks=arns)["tasks"] if arns else []
    return sum(1 for t in tasks if t["taskDefinitionArn"].endswith("/web:2") and t.get("stopCode"))


def advance_until(clock: DrivenClock, done: Callable[[], bool], *, step: float = 0.5, limit: float = 300) -> None:
    """Move frozen simulated time on by ``step`` seconds at a time until ``done()`` (asked between steps)."""
    moved = 0.0
    while not done():
        assert moved < limit, f"nothing happened within {limit} simulated seconds"
        clock.advance(step)
        moved += step
        time.sleep(0.02)  # let the emulator's HTTP threads answer between steps


def wait_until(done: Callable[[], bool], timeout: float = 120) -> None:
    """Wait (the clock running) until ``done()``; simulated time follows the wall clock, so this is a bound."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"not done within {timeout} s"
        time.sleep(0.05)


def crash_twice(local: LocalAWS, clock: DrivenClock) -> None:
    """Let simulated time go just until web:2's first two tasks (started together) crash: 2 failures, below the
    threshold of 3, and no third while the clock stands still."""
    advance_until(clock, lambda: failed_web2_tasks(local) >= 1, step=0.05)
    assert failed_web2_tasks(local) == 2


@pytest.fixture
def web(driven_emulator: LocalAWS, driven_clock: DrivenClock) -> LocalAWS:
    """The emulator back at its seed (web on web:1), its clock frozen."""
    driven_clock.run()
    driven_emulator.reset()
    driven_clock.freeze()
    return driven_emulator


def assert_cancelled_and_back_on_web1(project: Path, local: LocalAWS, output: str) -> None:
    """The record, the Octopus messages and the summary say cancelled and rolled back to web:1, as ECS shows."""
    rec = record_of(project)
    only = steady_on(local, "web:1")
    assert rec["outcome"] == "cancelled", rec
    assert short(rec["revision"]["before"]) == "web:1" and short(rec["revision"]["after"]) == "web:2", rec
    assert rec["rollback"]["outcome"] == "completed" and rec["rollback"]["deployment_id"] == only["id"], rec
    values = variables(service_messages(output))
    assert values["EcsDeploy.web.Outcome"] == "cancelled"
    assert short(values["EcsDeploy.web.PreviousTaskDefinitionArn"]) == "web:1"
    results = [a["message"] for name, a in service_messages(output) if name == "resultMessage"]
    assert len(results) == 1 and "web was cancelled and rolled back to web:1: SIG" in results[0], results
    assert "cancelled (rolled back to web:1)" in output and "web:1 -> web:2" in output


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_before_the_update_changes_nothing_and_says_cancelled(
    signum: int, web: LocalAWS, scenario_project: Path, start_pytest: Callable[..., Background]
) -> None:
    (scenario_project / "deployments" / "test_web.py").write_text(HOLD_BEFORE_UPDATE)
    run = start_pytest(web.endpoint_url, *RUN_ARGS, "-s", name="run", env=UNDER_OCTOPUS)
    run.wait_for("HOLDING BEFORE THE UPDATE")
    run.process.send_signal(signum)
    outcome = run.finish()
    assert outcome.returncode == INTERRUPTED, outcome.output
    name = signal.Signals(signum).name
    rec = record_of(scenario_project)
    assert (rec["outcome"], rec["reason"], rec["rollback"]) == (
        "cancelled", f"{name} received before the service was changed; nothing to undo", None)
    steady_on(web, "web:1")
    assert "updating service" not in outcome.output
    values = variables(service_messages(outcome.output))
    assert values["EcsDeploy.web.Outcome"] == "cancelled"
    results = [a["message"] for n, a in service_messages(outcome.output) if n == "resultMessage"]
    assert results == [f"ecsdeploy (outside): web was cancelled: {name} received before the service was changed; "
                       f"nothing to undo"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_watching_a_good_rollout_rolls_back_and_says_cancelled(
    signum: int, web: LocalAWS, driven_clock: DrivenClock, scenario_project: Path,
    start_pytest: Callable[..., Background]
) -> None:
    run = start_pytest(web.endpoint_url, *RUN_ARGS, name="run", env=UNDER_OCTOPUS)
    deployment = run.wait_for(START).group(1)
    run.wait_for(r"\(service web\) has started 2 tasks")  # the watch has taken its first look
    run.process.send_signal(signum)
    run.wait_for(ROLLING_BACK)
    driven_clock.run()
    outcome = run.finish()
    assert outcome.returncode == INTERRUPTED, outcome.output
    assert_cancelled_and_back_on_web1(scenario_project, web, outcome.output)
    rec = record_of(scenario_project)
    name = signal.Signals(signum).name
    assert rec["deploymentId"] == deployment
    assert rec["reason"].startswith(f"{name} received while deployment {deployment} of web:2 was in flight; "
                                    f"rolled back to web:1"), rec


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_watching_a_crash_loop_rolls_back_and_says_cancelled(
    signum: int, web: LocalAWS, driven_clock: DrivenClock, scenario_project: Path,
    start_pytest: Callable[..., Background]
) -> None:
    web.set_image_behaviour("web:2.0.0", "crash", exit_code=3)
    run = start_pytest(web.endpoint_url, *RUN_ARGS, name="run", env=UNDER_OCTOPUS)
    run.wait_for(START)
    crash_twice(web, driven_clock)
    run.wait_for(CRASHED)  # the watch has seen the crash
    run.process.send_signal(signum)
    run.wait_for(ROLLING_BACK)
    driven_clock.run()
    outcome = run.finish()
    assert outcome.returncode == INTERRUPTED, outcome.output
    assert_cancelled_and_back_on_web1(scenario_project, web, outcome.output)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_our_own_rollback_lets_it_finish_then_stops(
    signum: int, web: LocalAWS, driven_clock: DrivenClock, scenario_project: Path,
    start_pytest: Callable[..., Background]
) -> None:
    web.set_image_behaviour("web:2.0.0", "crash", exit_code=3)
    run = start_pytest(web.endpoint_url, *RUN_ARGS, name="run", env=UNDER_OCTOPUS)
    run.wait_for(START)
    advance_until(driven_clock, lambda: short(web_service(web)["taskDefinition"]) == "web:1")  # our rollback began
    run.wait_for(ROLLING_BACK)
    run.process.send_signal(signum)
    run.wait_for("received during a rollback: waiting for it up to 120 s; a second signal ends the run at once")
    driven_clock.run()
    outcome = run.finish()
    assert outcome.returncode == INTERRUPTED, outcome.output
    rec = record_of(scenario_project)
    only = steady_on(web, "web:1")
    assert rec["outcome"] == "rolled back" and rec["rollback"]["deployment_id"] == only["id"], rec
    values = variables(service_messages(outcome.output))
    assert (values["EcsDeploy.web.Outcome"], short(values["EcsDeploy.web.PreviousTaskDefinitionArn"])) == (
        "rolled back", "web:1")


def test_a_second_signal_ends_the_run_at_once_naming_the_good_revision(
    web: LocalAWS, driven_clock: DrivenClock, scenario_project: Path, start_pytest: Callable[..., Background]
) -> None:
    run = start_pytest(web.endpoint_url, *RUN_ARGS, name="run", env=UNDER_OCTOPUS)
    run.wait_for(START)
    run.wait_for(r"\(service web\) has started 2 tasks")
    run.process.send_signal(signal.SIGTERM)
    run.wait_for(r"deployment ecs-svc/\d+ of web:1 started$")  # the clock stands still: the rollback cannot end
    run.process.send_signal(signal.SIGINT)
    outcome = run.finish()
    assert outcome.returncode == 128 + signal.SIGINT, outcome.output
    service = web_service(web)
    primary = service["deployments"][0]
    assert (short(primary["taskDefinition"]), primary["rolloutState"]) == ("web:1", "IN_PROGRESS")  # mid-deployment
    arn = record_of(scenario_project)["revision"]["before"]
    sentence = f"service 'web' may be mid-deployment; its good revision is web:1 ({arn})."
    assert f"ecsdeploy: SIGINT received again, the run ends now: {sentence}" in outcome.output
    rec = record_of(scenario_project)
    assert rec["outcome"] == "cancelled" and rec["reason"].endswith(sentence), rec
    values = variables(service_messages(outcome.output))
    assert values["EcsDeploy.web.Outcome"] == "cancelled"
    results = [a["message"] for n, a in service_messages(outcome.output) if n == "resultMessage"]
    assert len(results) == 1 and sentence in results[0], results


def test_a_rollback_longer_than_the_grace_period_is_left_and_named(
    web: LocalAWS, driven_clock: DrivenClock, scenario_project: Path, start_pytest: Callable[..., Background]
) -> None:
    run = start_pytest(web.endpoint_url, *RUN_ARGS, "--cancel-grace", "1", name="run", env=UNDER_OCTOPUS)
    run.wait_for(START)
    run.wait_for(r"\(service web\) has started 2 tasks")
    run.process.send_signal(signal.SIGTERM)
    outcome = run.finish()  # the clock stands still: the rollback cannot end within the grace period
    assert outcome.returncode == INTERRUPTED, outcome.output
    rec = record_of(scenario_project)
    assert rec["outcome"] == "cancelled" and rec["rollback"]["outcome"] == "timed out", rec
    assert "did not complete within the 1 s grace period" in rec["rollback"]["reason"], rec
    sentence = f"service 'web' may be mid-deployment; its good revision is web:1 ({rec['revision']['before']})."
    assert rec["reason"].endswith(sentence), rec
    assert short(web_service(web)["taskDefinition"]) == "web:1"  # the rollback is what ECS is doing
    results = [a["message"] for n, a in service_messages(outcome.output) if n == "resultMessage"]
    assert len(results) == 1 and "its rollback to web:1 did not complete (timed out)" in results[0], results


def test_a_rerun_after_sigkill_in_a_crash_loop_rolls_back_to_the_revision_before_it(
    web: LocalAWS, driven_clock: DrivenClock, scenario_project: Path, start_pytest: Callable[..., Background]
) -> None:
    web.set_image_behaviour("web:2.0.0", "crash", exit_code=3)
    first = start_pytest(web.endpoint_url, *RUN_ARGS, name="first")
    deployment = first.wait_for(START).group(1)
    crash_twice(web, driven_clock)
    first.wait_for(CRASHED)
    first.process.kill()  # SIGKILL: no teardown, no rollback, no record
    first.finish()
    assert short(web_service(web)["taskDefinition"]) == "web:2"

    second = start_pytest(web.endpoint_url, *RUN_ARGS, name="second", env=UNDER_OCTOPUS)
    second.wait_for(rf"deployment {deployment} of web:2 is already in progress; waiting for it$")
    driven_clock.run()
    outcome = second.finish()
    assert outcome.returncode == 1, outcome.output
    rec = record_of(scenario_project)
    only = steady_on(web, "web:1")
    assert rec["outcome"] == "rolled back" and rec["deploymentId"] == deployment, rec
    assert short(rec["revision"]["before"]) == "web:1" and short(rec["rollback"]["to_revision"]) == "web:1", rec
    assert rec["rollback"]["deployment_id"] == only["id"], rec
    values = variables(service_messages(outcome.output))
    assert short(values["EcsDeploy.web.PreviousTaskDefinitionArn"]) == "web:1"
    assert "web:1 -> web:2" in outcome.output and "rolled back (to web:1)" in outcome.output


def test_a_rerun_after_sigkill_during_our_rollback_refuses_to_race_it_and_the_rollback_ends(
    web: LocalAWS, driven_clock: DrivenClock, scenario_project: Path, start_pytest: Callable[..., Background]
) -> None:
    web.set_image_behaviour("web:2.0.0", "crash", exit_code=3)
    first = start_pytest(web.endpoint_url, *RUN_ARGS, name="first")
    first.wait_for(START)
    advance_until(driven_clock, lambda: short(web_service(web)["taskDefinition"]) == "web:1")  # our rollback began
    rollback = first.wait_for(r"deployment (ecs-svc/\d+) of web:1 started$").group(1)
    first.process.kill()
    first.finish()

    second = start_pytest(web.endpoint_url, *RUN_ARGS, name="second", env=UNDER_OCTOPUS)
    outcome = second.finish()
    assert outcome.returncode == 1, outcome.output
    assert (f"no other deployment in progress: deployment {rollback} of web:1 is IN_PROGRESS on service 'web'"
            in outcome.output)
    assert "updating service" not in outcome.output
    rec = record_of(scenario_project)
    assert rec["outcome"] == "failed" and "the service was not changed by this run" in rec["reason"], rec
    results = [a["message"] for n, a in service_messages(outcome.output) if n == "resultMessage"]
    assert len(results) == 1 and f"deployment {rollback} of web:1 is IN_PROGRESS" in results[0], results
    driven_clock.run()  # ECS finishes the rollback on its own
    wait_until(lambda: len(web_service(web)["deployments"]) == 1)
    assert steady_on(web, "web:1")["id"] == rollback
