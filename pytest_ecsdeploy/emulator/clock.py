"""Simulated time for the rollout engine: the clocks and the durations of each task state.

The engine never reads the wall clock itself. It asks a :class:`Clock` for the current simulated time (epoch
seconds, the same numbers it writes into ``createdAt`` and ``startedAt``) and moves every task through its
states when that time passes the state's end, so the same rollout gives the same result whether the clock is
:class:`RealClock` (scaled wall time) or :class:`FakeClock` (moved by a test)::

    clock = FakeClock()
    engine = RolloutEngine(clock=clock)
    ...                                   # UpdateService
    clock.advance(5)
    engine.tick()                         # the rollout has completed, exactly as it would have in real time
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    """Where the engine reads simulated time from, in epoch seconds."""

    def now(self) -> float: ...


class RealClock:
    """Wall time scaled by ``speed``: ``RealClock(speed=10)`` runs ten simulated seconds per wall second.

    It starts at the current wall time, so timestamps look real at speed 1.0.
    """

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed!r}")
        self.speed = speed
        self._epoch = time.time()
        self._mono = time.monotonic()

    def now(self) -> float:
        return self._epoch + (time.monotonic() - self._mono) * self.speed


class FakeClock:
    """A clock that only moves when a test calls :meth:`advance`; thread-safe.

    >>> clock = FakeClock(start=1_000.0)
    >>> clock.advance(2.5); clock.now()
    1002.5
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot go back: advance({seconds!r})")
        with self._lock:
            self._now += seconds

    def advance_to(self, when: float) -> None:
        """Move to ``when`` (epoch seconds) exactly, e.g. to the engine's ``next_change()``; ValueError if it is
        in the past."""
        with self._lock:
            if when < self._now:
                raise ValueError(f"a clock cannot go back: advance_to({when!r}) at {self._now!r}")
            self._now = float(when)


@dataclass(frozen=True)
class Timings:
    """How long each step of a task's life lasts, in simulated seconds.

    The defaults make a 2-task rollout (minimumHealthyPercent 100, maximumPercent 200) complete in about 2 s:
    provisioning + pull + container_start + activating (1.0 s) until the new tasks run, healthy_grace (0.4 s)
    until they count as healthy, then deactivating + stopping + deprovisioning (0.5 s) for the old ones.
    Real ECS takes minutes; ``healthy_grace`` stands for the 40 s ECS waits before a task without health
    checks counts as healthy.
    """

    provisioning: float = 0.3  # PROVISIONING -> PENDING (network interface attached)
    pull: float = 0.4  # simulated image pull (SimulatedRunner)
    container_start: float = 0.2  # pulled -> container running (SimulatedRunner)
    activating: float = 0.1  # ACTIVATING -> RUNNING (load balancer registration)
    healthy_grace: float = 0.4  # RUNNING this long without health checks -> counts as healthy
    health_check: float = 0.4  # RUNNING this long -> first HEALTHY result of a container health check
    deactivating: float = 0.1  # DEACTIVATING -> STOPPING (load balancer deregistration)
    stopping: float = 0.2  # SIGTERM -> the simulated container exits
    deprovisioning: float = 0.2  # DEPROVISIONING -> STOPPED
    stopped_retention: float = 3600.0  # how long a STOPPED task stays visible
    steady_event_interval: float = 21600.0  # "has reached a steady state." repeats this often while steady
    inactive_service_retention: float = 3600.0  # how long a deleted service stays describable as INACTIVE
    launch_backoff: float = 10.0  # a service's first relaunch delay after a task failed to start, then doubled
    launch_backoff_max: float = 1620.0  # ECS's documented cap of that delay: 27 minutes
    lifecycle_stage: float = 0.5  # a blue/green lifecycle stage without work to wait for (bluegreen.py)
    # What ECS adds to PRE_SCALE_UP, TEST_TRAFFIC_SHIFT and each PRODUCTION_TRAFFIC_SHIFT step behind a Network
    # Load Balancer: "a 10 minute delay" (AWS doc nlb-resources-for-blue-green; ecs/traffic.py).
    nlb_delay: float = 600.0

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"Timings.{name} must be a non-negative number of seconds, got {value!r}")

    @property
    def startup(self) -> float:
        """Simulated seconds from RunTask/launch until a healthy task is RUNNING."""
        return self.provisioning + self.pull + self.container_start + self.activating
