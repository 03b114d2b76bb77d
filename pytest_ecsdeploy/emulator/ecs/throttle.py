"""ECS's service throttle logic: a service whose tasks keep failing to start is relaunched less and less often.

Developer Guide, "Amazon ECS service throttle logic": when a service's tasks fail to reach RUNNING (PENDING
straight to STOPPED), the time between restart attempts is increased step by step up to 27 minutes (15 in
earlier editions), retries go on forever, the service says ``(service X) is unable to consistently start tasks
successfully.``, and updating the service to a new task definition returns it to normal at once. Tasks that
stop after they reached RUNNING (an essential container exiting, failed health checks) never throttle, and on
ECS a container's command runs only once its task is RUNNING, so here only tasks stopped with stopCode
TaskFailedToStart (an image that cannot be pulled, a container that cannot be created) count. A task
that no container instance can take (insufficient CPU, memory or ports) is among the documented causes, and
counts as a failed start here.

ECS does not publish the steps; here the n-th consecutive start failure delays the next launch by
``Timings.launch_backoff * 2 ** (n - 1)`` simulated seconds, at most ``Timings.launch_backoff_max`` (27 min).
While a circuit breaker judges the PRIMARY deployment (enabled, rollout IN_PROGRESS) the failures are its to
count and relaunches are not delayed, so the breaker trips as fast as on ECS with its threshold of failures.
"""

from __future__ import annotations

from ..clock import Timings
from . import events
from .models import RegionState, Service, Task


def delay(failures: int, timings: Timings) -> float:
    """Seconds before the next launch after ``failures`` consecutive start failures (0 for none).

    >>> [delay(n, Timings()) for n in (0, 1, 2, 3, 12)]
    [0.0, 10.0, 20.0, 40.0, 1620.0]
    """
    if failures <= 0:
        return 0.0
    return float(min(timings.launch_backoff * 2 ** min(failures - 1, 32), timings.launch_backoff_max))


def record_start_failure(state: RegionState, task: Task, t: float, timings: Timings) -> None:
    """A task of a service failed to start at ``t`` (it never reached RUNNING): count it, and hold the service's
    next launch back (unless a circuit breaker judges its PRIMARY deployment)."""
    service = state.service_of(task)
    if service is None or task.started_at is not None:
        return
    primary = service.primary
    if service.config.breaker_enable and primary.rollout_state == "IN_PROGRESS":
        return
    service.start_failures += 1
    service.launch_not_before = t + delay(service.start_failures, timings)


def record_placement_failure(service: Service, t: float, timings: Timings) -> None:
    """No container instance could take a task of ``service`` at ``t``: insufficient resources throttle launches
    too (the guide lists them first among the causes), and the back-off paces the retries of the placement."""
    service.start_failures += 1
    service.launch_not_before = t + delay(service.start_failures, timings)


def record_started(state: RegionState, task: Task) -> None:
    """A task reached RUNNING: its service's launches are no longer held back."""
    service = state.service_of(task)
    if service is not None:
        service.unthrottle()


def held_back(service: Service, t: float) -> bool:
    """Whether the service may not launch a task at ``t``; the first time in a row of failures, it says so."""
    if service.launch_not_before is None or t >= service.launch_not_before:
        return False
    if not service.throttle_reported:
        service.throttle_reported = True
        service.add_event(t, events.UNABLE_TO_START)
    return True
