"""Stopping a run: SIGINT and SIGTERM turned into a controlled cancel, and a second signal into an exit at once.

One :class:`Cancellation` per run (``Run.cancellation``); the session installs its handler in the main thread
for the run's lifetime. What a signal does:

- the **first** signal raises :class:`Cancelled`, a ``KeyboardInterrupt``, where the run is, so pytest stops the
  way Ctrl-C stops it and tears the scenario down; the ``ecs_service`` teardown then rolls the service back
  (``EcsService.finish``) within :attr:`Cancellation.grace` seconds, and the record, the summary and the Octopus
  result say ``cancelled``. Inside :meth:`Cancellation.shield` (a rollback already running) it raises nothing:
  the rollback goes on, bounded by the grace period (:meth:`Cancellation.expired`), and ``notice`` says so;
- a **second** signal calls every ``last_words`` callback (the session's: one sentence naming the service that
  may be mid-deployment and its good revision, the record, the Octopus result) and ends the process at once with
  ``128 + signal number``, as a shell reports a process killed by that signal.

Example::

    cancellation = Cancellation(grace=120)
    restore = cancellation.install()          # main thread only; returns what undoes it
    with cancellation.shield():
        ...                                   # a rollback: not interrupted by the first signal
    restore()
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["DEFAULT_GRACE", "Cancellation", "Cancelled"]

#: Seconds a cancelled run waits for its rollback by default: a small service's rolling update back to a revision
#: whose image is cached takes one to two minutes on Fargate. CI systems often kill sooner (GitHub Actions sends
#: SIGTERM 7.5 s after SIGINT, ``docker stop`` SIGKILL after 10 s): their second signal ends the run at once.
DEFAULT_GRACE = 120.0
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Cancelled(KeyboardInterrupt):
    """The run was stopped by a signal; ``reason`` reads ``SIGTERM received``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Cancellation:
    """Whether the run was asked to stop, why, and how long its rollback may still take.

    ``clock`` is monotonic seconds; ``exit`` ends the process (``os._exit``: no cleanup that could hang);
    ``notice`` is told, in one sentence, when a first signal arrives during a shielded rollback.
    """

    def __init__(self, grace: float = DEFAULT_GRACE, *, clock: Callable[[], float] = time.monotonic,
                 exit: Callable[[int], object] = os._exit) -> None:
        self.grace = grace
        self.reason: str | None = None
        self.signals = 0
        self.last_words: list[Callable[[str], None]] = []
        self.notice: Callable[[str], None] | None = None
        self._clock = clock
        self._exit = exit
        self._shielded = 0
        self._deadline: float | None = None

    @property
    def requested(self) -> bool:
        return self.reason is not None

    def remaining(self) -> float | None:
        """Seconds left of the grace period once a cancel was requested (never below 0); None before."""
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - self._clock())

    def expired(self) -> bool:
        """A cancel was requested and its grace period is over."""
        remaining = self.remaining()
        return remaining is not None and remaining <= 0

    def bounded(self, timeout: float) -> float:
        """``timeout`` seconds, shortened to what is left of the grace period once a cancel was requested."""
        remaining = self.remaining()
        return timeout if remaining is None else min(timeout, max(remaining, 0.001))

    @contextmanager
    def shield(self) -> Iterator[None]:
        """While inside, a first signal requests the cancel without interrupting what runs."""
        self._shielded += 1
        try:
            yield
        finally:
            self._shielded -= 1

    def request(self, reason: str) -> None:
        """Ask for a cancel (``reason``: ``SIGTERM received``); starts the grace period."""
        if self.reason is None:
            self.reason = reason
            self._deadline = self._clock() + self.grace

    def handle(self, signum: int, frame: FrameType | None = None) -> None:
        """The signal handler (see the module docstring)."""
        name = signal.Signals(signum).name
        self.signals += 1
        if self.signals > 1:
            for words in self.last_words:
                try:
                    words(name)
                except Exception:  # noqa: BLE001, S110 - the process ends now: one failing callback must not stop the others
                    pass
            self._exit(128 + signum)
            return
        self.request(f"{name} received")
        if self._shielded:
            if self.notice is not None:
                self.notice(f"{name} received during a rollback: waiting for it up to {self.grace:g} s; "
                            f"a second signal ends the run at once")
            return
        raise Cancelled(f"{name} received")

    def install(self) -> Callable[[], None]:
        """Handle SIGINT and SIGTERM in this process (from the main thread only: elsewhere nothing is installed);
        returns the function that puts the previous handlers back."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {sig: signal.signal(sig, self.handle) for sig in SIGNALS}

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore
