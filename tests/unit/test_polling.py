"""The one wait loop and its schedule, on a fake clock: what ends a wait, what a transient error does to it, when
the progress line comes, and that no pause reaches past the deadline."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fakes import FakeClock

from pytest_ecsdeploy.actions.polling import PollSchedule, Seen, wait_for
from pytest_ecsdeploy.errors import ActionError, TransientError


def test_poll_schedule_backs_off_to_five_seconds_and_returns_to_fast_on_change() -> None:
    schedule = PollSchedule()
    waits = [schedule.next(changed=False) for _ in range(12)]
    assert waits[0] < 1 and waits == sorted(waits) and max(waits) == 5.0
    assert schedule.next(changed=True) == 0.25
    assert [PollSchedule(5.0, 5.0).next(changed=False) for _ in range(3)] == [5.0, 5.0, 5.0]
    with pytest.raises(ValueError, match="expected 0 < first <= maximum"):
        PollSchedule(first=6, maximum=5)


def looks(*answers: object) -> Callable[[], object]:
    """A look that gives ``answers`` in turn, raising those that are exceptions."""
    queue = list(answers)

    def look() -> object:
        answer = queue.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return look


def wait(look: Callable[[], object], judge: Callable[[object], Seen[str]], clock: FakeClock, *, timeout: float = 10.0,
         warnings: list[str] | None = None, progress: list[float] | None = None) -> str | None:
    return wait_for(look, judge, timeout=timeout, schedule=PollSchedule(1.0, 4.0, factor=2.0), clock=clock,
                    sleep=clock.sleep, warn=(warnings if warnings is not None else []).append,
                    progress=(lambda: progress.append(clock.now)) if progress is not None else None,
                    progress_every=5.0)


def done_at(value: object) -> Seen[str]:
    """The judge of these tests: ``"done"`` ends the wait, ``"new"`` is a change that printed a line."""
    if value == "done":
        return Seen("done")
    return Seen(changed=value == "new", printed=value == "new")


def test_the_wait_ends_with_the_judges_result_and_backs_off_while_nothing_changes() -> None:
    clock = FakeClock()
    assert wait(looks("same", "same", "new", "same", "done"), done_at, clock) == "done"
    assert clock.sleeps == [2.0, 4.0, 1.0, 2.0]  # a change brings the next look soon again


def test_a_transient_error_skips_one_look_and_is_warned_once_per_streak() -> None:
    clock = FakeClock()
    throttled = TransientError("ecs: could not describe (DescribeTasks: ThrottlingException: Rate exceeded).")
    warnings: list[str] = []

    answer = wait(looks(throttled, throttled, "same", throttled, "done"), done_at, clock, timeout=30.0,
                  warnings=warnings)

    assert answer == "done" and clock.sleeps == [2.0, 4.0, 4.0, 4.0]
    assert warnings == ["ecs: could not describe (DescribeTasks: ThrottlingException: Rate exceeded); trying again"] * 2


def test_any_other_error_ends_the_wait() -> None:
    denied = ActionError("ecs: could not describe (DescribeTasks: AccessDeniedException: no).")
    with pytest.raises(ActionError, match="AccessDeniedException"):
        wait(looks("same", denied), done_at, FakeClock())


def test_a_timeout_gives_none_and_no_pause_reaches_past_the_deadline() -> None:
    clock = FakeClock()
    assert wait(looks(*["same"] * 10), done_at, clock, timeout=5.0) is None
    assert clock.sleeps == [2.0, 3.0] and clock.now == 5.0


def test_the_progress_line_comes_after_quiet_seconds_and_a_printed_line_puts_it_off() -> None:
    clock = FakeClock()
    progress: list[float] = []
    wait(looks("same", "same", "new", "same", "same", "same", "same", *["same"] * 5), done_at, clock, timeout=20.0,
         progress=progress)
    # looks at 0, 2, 6 (new: quiet again from 6), 7, 9, 13 (7 s quiet: progress), 17, 20 (timeout)
    assert progress == [13.0]


@pytest.mark.parametrize(("takes", "rests"), [(0.0, [2.0, 4.0]), (0.5, [1.5, 3.5]), (1.0, [1.0, 3.0]),
                                              (3.0, [1.0, 2.0])])
def test_a_pause_counts_from_the_looks_start_but_a_slow_look_still_leaves_half_a_pause(takes: float,
                                                                                     rests: list[float]) -> None:
    clock = FakeClock()
    answers = iter(["same", "same", "done"])

    def slow_look() -> object:
        clock.now += takes  # the calls of the look take this long
        return next(answers)

    assert wait(slow_look, done_at, clock, timeout=30.0) == "done"
    assert clock.sleeps == rests  # pauses of 2 and 4 s from each look's start; at least 1 and 2 s after its end
