"""How an action waits for AWS: the adaptive schedule, and the one loop that looks, judges, sleeps and gives up.

A rollout watch, a one-off task's wait and the ECR scan gate all wait the same way (:func:`wait_for`): look
through a :class:`~pytest_ecsdeploy.aws.Patience` (a look that fails with a transient error is skipped), let the
caller judge what the look brought (:class:`Seen`), print where things stand when nothing was printed for a
while, and sleep as the :class:`PollSchedule` says, never past the deadline::

    verdict = wait_for(look, judge, timeout=600, schedule=PollSchedule(0.25, 5.0), clock=time.monotonic,
                       sleep=time.sleep, warn=log.warning, progress=lambda: log.info(watch.progress()))
    if verdict is None:
        ...  # timed out: the caller says what it was waiting for
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..aws import Patience

#: The share of a pause left between the end of a slow look and the next one. A pause counts from the look's start
#: (the cadence the schedule sets, whatever a look costs: a look that reads 20 tasks takes 0.1-0.2 s), but a look
#: slower than its pause (AWS throttling it, botocore retrying) must not make the looks back-to-back.
MIN_REST = 0.5

_A = TypeVar("_A")
_R = TypeVar("_R")


class PollSchedule:
    """Adaptive polling: fast while things change, backing off while nothing does, never slower than ``maximum``.

    >>> schedule = PollSchedule(first=0.25, maximum=5.0)
    >>> schedule.next(changed=False), schedule.next(changed=False), schedule.next(changed=True)
    (0.375, 0.5625, 0.25)

    ``first == maximum`` polls at a fixed pace.
    """

    def __init__(self, first: float = 0.25, maximum: float = 5.0, factor: float = 1.5) -> None:
        if not 0 < first <= maximum:
            raise ValueError(f"expected 0 < first <= maximum, got first={first!r}, maximum={maximum!r}")
        self.first = first
        self.maximum = maximum
        self.factor = factor
        self.current = first

    def next(self, changed: bool) -> float:
        """Seconds to wait before the next look, given whether the last look brought anything new."""
        self.current = self.first if changed else min(self.current * self.factor, self.maximum)
        return self.current


@dataclass(frozen=True)
class Seen(Generic[_R]):
    """The caller's judgement of one look: ``result`` (not None) ends the wait with it; ``changed`` (the look
    brought something new) makes the next look come soon; ``printed`` (a line was printed) puts the progress line
    off for another ``progress_every`` seconds."""

    result: _R | None = None
    changed: bool = False
    printed: bool = False


def wait_for(
    look: Callable[[], _A],
    judge: Callable[[_A], Seen[_R]],
    *,
    timeout: float,
    schedule: PollSchedule,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    warn: Callable[[str], None],
    progress: Callable[[], None] | None = None,
    progress_every: float = 30.0,
) -> _R | None:
    """Look and judge until ``judge`` gives a result (returned), or ``timeout`` seconds passed (None).

    ``look`` (which must not answer None) goes through a :class:`~pytest_ecsdeploy.aws.Patience` that warns
    through ``warn``: a look that fails with a TransientError is skipped and counts as bringing nothing new; any
    other error ends the wait. ``progress`` (which prints where things stand) is called when nothing was printed
    for ``progress_every`` seconds. The pauses come from ``schedule``, count from the start of a look (but leave at
    least :data:`MIN_REST` of a pause after its end) and never reach past the deadline; ``clock`` is in seconds.
    """
    patience = Patience(warn)
    deadline = clock() + timeout
    quiet_since = clock()
    while True:
        changed = False
        started = clock()
        answer = patience.look(look)
        if answer is not None:
            seen = judge(answer)
            if seen.result is not None:
                return seen.result
            changed = seen.changed
            if seen.printed:
                quiet_since = clock()
        now = clock()
        if now >= deadline:
            return None
        if progress is not None and now - quiet_since >= progress_every:
            progress()
            quiet_since = now
        pause = schedule.next(changed)
        sleep(min(max(started + pause - now, pause * MIN_REST), deadline - now))
