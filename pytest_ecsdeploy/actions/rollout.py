"""What a deploy of :class:`~pytest_ecsdeploy.actions.service.EcsService` returns (:class:`Rollout`), where
``deploy(until="test_traffic")`` leaves a deployment (:class:`Pause`), and :class:`ServiceHost`: what a deployment
path other than UpdateService (``codedeploy.py``) uses of the EcsService it works for. Imports nothing of
``service*.py``, so that such a path needs no import of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .lifecycle import PAUSED, PAUSES, SHIFTED
from .polling import PollSchedule
from .watch import COMPLETED, FAILED, ROLLED_BACK, SUPERSEDED, TIMED_OUT, TaskView

if TYPE_CHECKING:
    from ..context import ServiceContext
    from ..report.record import ServiceRecord

__all__ = ["DEPLOY", "PLANNED", "ROLLBACK", "UNCHANGED", "Pause", "Rollout", "ServiceHost"]

DEPLOY = "ecs_service.deploy"
ROLLBACK = "ecs_service.rollback"
UNCHANGED = "UNCHANGED"
PLANNED = "PLANNED"


@dataclass(frozen=True)
class Rollout:
    """What :meth:`EcsService.deploy` did: the deployment, its outcome and what was seen on the way.

    ``outcome`` is ``COMPLETED``, ``UNCHANGED`` (already live: nothing written), ``PLANNED`` (``--plan``),
    ``PAUSED`` (``until="test_traffic"``: the new revision serves test traffic, production stays on the previous
    one until ``continue_deployment()``; ``until="production_step"``: before a production step, with
    ``production_weight`` on the new revision), ``TRAFFIC_SHIFTED`` (``until="traffic_shifted"``: production traffic is
    all on the new revision, the bake goes on), or, in a rollout that failed, ``FAILED``, ``ROLLED_BACK`` (ECS's
    circuit breaker), ``SUPERSEDED`` or ``TIMED_OUT`` (deploy raises RolloutFailed for those; the record keeps
    them). ``service_deployment`` is the ARN of the service deployment of a BLUE_GREEN, LINEAR or CANARY service,
    ``stages`` the stages seen (``{"stage", "at", "status", "productionWeight", "testWeight"}``).

    >>> rollout = ecs_service.deploy(task_definition.registered)
    >>> rollout.is_completed, rollout.deployment_id, rollout.revision
    (True, 'ecs-svc/4426977010927313474', 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:13')
    >>> rollout.events[-1], round(rollout.duration)
    ('(service web) has reached a steady state.', 94)
    """

    service: str
    revision: str | None
    previous_revision: str | None
    deployment_id: str | None
    outcome: str
    reason: str
    events: tuple[str, ...] = ()
    failed_tasks: tuple[TaskView, ...] = ()
    duration: float = 0.0
    detected_after: float | None = None  # seconds from ECS's deciding change to the watch noticing it
    service_deployment: str | None = None
    stages: tuple[Mapping[str, Any], ...] = ()

    @property
    def is_completed(self) -> bool:
        """The service runs the revision, steady: the rollout completed, or there was nothing to do."""
        return self.outcome in (COMPLETED, UNCHANGED)

    @property
    def is_unchanged(self) -> bool:
        """The service already ran the revision, steady; nothing was written."""
        return self.outcome == UNCHANGED

    @property
    def is_planned(self) -> bool:
        return self.outcome == PLANNED

    @property
    def is_paused(self) -> bool:
        """Paused at a PAUSE hook: at POST_TEST_TRAFFIC_SHIFT (green serves test traffic, production is on blue) or
        at PRE_PRODUCTION_TRAFFIC_SHIFT (before a production step)."""
        return self.outcome == PAUSED

    @property
    def production_weight(self) -> float | None:
        """The production traffic weight (0-100) ECS last reported requested for the new revision; None for a
        rolling update."""
        weight = self.stages[-1].get("productionWeight") if self.stages else None
        return float(weight) if weight is not None else None

    @property
    def is_traffic_shifted(self) -> bool:
        """Production traffic is all on the new revision; the bake was still running when deploy() returned."""
        return self.outcome == SHIFTED

    @property
    def is_failed(self) -> bool:
        return self.outcome in (FAILED, ROLLED_BACK, SUPERSEDED, TIMED_OUT)

    @property
    def is_rolled_back_by_ecs(self) -> bool:
        return self.outcome == ROLLED_BACK

    @property
    def is_timed_out(self) -> bool:
        return self.outcome == TIMED_OUT


@dataclass(frozen=True)
class Pause:
    """Where ``deploy(until="test_traffic" or "production_step")`` left a deployment: its revision (ARN and label),
    the deployment, the time-out ``deploy()`` allowed (seconds: ``continue_deployment()``'s default) and, for a
    service deployment, the PAUSE hook awaiting action (None for a CodeDeploy deployment at Ready) and its stage."""

    revision: str
    label: str
    deployment_id: str
    timeout: float
    hook_id: str | None = None
    stage: str = PAUSES["test_traffic"]  # where a service deployment is paused (a value of lifecycle.PAUSES)


class ServiceHost(Protocol):
    """What a deployment path other than UpdateService (``codedeploy.py``) uses of the EcsService it works for.

    ``clock`` (monotonic seconds), ``sleep`` and ``wall`` (epoch seconds) are the service's; ``schedule()`` a new
    pace for a watch and ``progress_every`` (seconds) how often a quiet watch says where it stands, as the service's
    own watch; ``updated``: this run changed the service (a rollback then has something to undo);
    ``rollback_summary`` and ``rollback_rollout``: the rollback's, once there was one (a second is never started);
    ``done()`` makes the Rollout a deploy returns and keeps it as the service's last; ``notify()`` calls a
    notification hook, a failing one only warned about.
    """

    ctx: ServiceContext
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    wall: Callable[[], float]
    updated: bool
    rollback_summary: str | None
    rollback_rollout: Rollout | None

    @property
    def name(self) -> str: ...

    @property
    def cluster(self) -> str: ...

    @property
    def progress_every(self) -> float: ...

    def schedule(self) -> PollSchedule: ...

    def describe(self) -> dict[str, Any]: ...

    def done(self, arn: str | None, before: str | None, deployment_id: str | None, outcome: str, reason: str,
             started: float) -> Rollout: ...

    def notify(self, hook: Callable[[ServiceRecord], None]) -> None: ...
