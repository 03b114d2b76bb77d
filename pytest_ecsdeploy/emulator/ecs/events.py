"""What DescribeServices says in words, in ECS's own: the messages of a service's ``events`` and the
``rolloutStateReason`` of its deployments.

Every message the engine writes is here, as a template to ``format`` with task ids (32 hex digits) and
deployment ids (``ecs-svc/`` and 19 digits), or a function where the wording counts tasks;
:meth:`Service.add_event` puts ``(service <name>) `` before each event, as ECS does.
:class:`TargetEvents` gathers the load balancer registrations of one instant into one event per target group,
as ECS reports them. The tasks' ``stoppedReason`` stays with its ``stopCode`` where the task is stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Service

# A service's events -------------------------------------------------------------------------------------------
# Each follows ``(service <name>) ``. ``{task}`` is a task id, ``{deployment}`` a deployment id (for ROLLING_BACK,
# the one rolled back to), ``{verb}`` registered or deregistered, ``{arn}`` a target group's ARN.

STEADY_STATE = "has reached a steady state."
CANNOT_START_OR_STOP = ("was unable to stop or start tasks during a deployment because of the service deployment "
                        "configuration. Update the minimumHealthyPercent or maximumPercent value and try again.")
TASK_UNHEALTHY = "(task {task}) failed container health checks."
DEPLOYMENT_COMPLETED = "(deployment {deployment}) deployment completed."
DEPLOYMENT_FAILED = "(deployment {deployment}) deployment failed: tasks failed to start."
ROLLING_BACK = "rolling back to deployment {deployment}."
TARGETS = "{verb} {count} targets in (target-group {arn})"
DRAINING = "has begun draining connections on {count} tasks."
# Service throttle logic (throttle.py) and placement on container instances (placement.py; ``{closest}`` is
# empty or `` The closest matching container-instance <id> has insufficient CPU units available.``)
UNABLE_TO_START = "is unable to consistently start tasks successfully."
UNABLE_TO_PLACE = "was unable to place a task because no container instance met all of its requirements.{closest}"


def _task_list(task_ids: Sequence[str]) -> str:
    return " ".join(f"(task {task_id})" for task_id in task_ids)


def tasks_started(task_ids: Sequence[str], replaced_unhealthy: int = 0) -> str:
    """``has started 2 tasks: (task a) (task b).``, and how many of them replace tasks that failed their health
    checks."""
    message = f"has started {len(task_ids)} tasks: {_task_list(task_ids)}."
    if replaced_unhealthy:
        message += f" Amazon ECS replaced {replaced_unhealthy} tasks due to an unhealthy status."
    return message


def tasks_stopped(task_ids: Sequence[str]) -> str:
    return f"has stopped {len(task_ids)} running tasks: {_task_list(task_ids)}."


# A deployment's rolloutStateReason ----------------------------------------------------------------------------
# ``{deployment}`` is the deployment's id (for ROLLBACK_REASON, the one rolled back to).

IN_PROGRESS_REASON = "ECS deployment {deployment} in progress."
COMPLETED_REASON = "ECS deployment {deployment} completed."
BREAKER_FAILED_REASON = "ECS deployment circuit breaker: tasks failed to start."
ROLLBACK_REASON = "ECS deployment circuit breaker: rolling back to deploymentId {deployment}."


# Load balancer targets ----------------------------------------------------------------------------------------


class TargetEvents:
    """The targets registered and deregistered at one instant, counted per service, verb and target group:
    a scheduler pass that starts three tasks writes ``registered 3 targets in (target-group <arn>)`` once."""

    def __init__(self) -> None:
        self._counts: dict[tuple[int, str, str], tuple[Service, int]] = {}

    def count(self, service: Service, verb: str, target_group_arn: str) -> None:
        """One target ``registered`` or ``deregistered`` in that target group for ``service``."""
        key = (id(service), verb, target_group_arn)
        _, count = self._counts.get(key, (service, 0))
        self._counts[key] = (service, count + 1)

    def flush(self, t: float) -> None:
        """Write the counted events at time ``t`` (a deregistration also says that draining has begun)."""
        for (_, verb, arn), (service, count) in self._counts.items():
            if verb == "deregistered":
                service.add_event(t, DRAINING.format(count=count))
            service.add_event(t, TARGETS.format(verb=verb, count=count, arn=arn))
        self._counts.clear()
