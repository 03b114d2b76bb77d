"""What every part of :class:`~pytest_ecsdeploy.actions.service.EcsService` shares (:class:`ServiceState`): the
service's context, clocks and watch pace, the run's state (whether it changed the service, the deployment it
follows, where it paused), DescribeServices of the service and of its tasks, UpdateService, and the Rollout a deploy
ends with. ``service_checks.py``, ``service_watch.py`` and ``service_rollback.py`` build on it; :class:`Host` shows
it to ``codedeploy.py`` as a :class:`~.rollout.ServiceHost`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..arns import short_revision
from ..aws import call, pages
from ..context import ServiceContext
from ..errors import ActionError
from ..report.record import ServiceRecord
from .codedeploy import CodeDeployPath
from .lifecycle import StageWatch
from .polling import PollSchedule
from .reads import describe_service
from .rollout import Pause, Rollout
from .watch import DeploymentWatch, primary_deployment

__all__ = ["Host", "ServiceState"]


class ServiceState:
    """The state and the common steps of an EcsService (``service.py`` says what its arguments are)."""

    poll_first = 0.5  # seconds between the looks at a rollout right after a change
    poll_max = 1.0  # never slower than this, so that a completion is seen within about a second
    poll_factor = 1.5  # how the pause grows while nothing changes
    progress_every = 30.0  # print where the rollout stands when nothing else was printed for this long
    ecs_rollback_grace = 30.0  # how long to wait for ECS's circuit breaker to start its rollback

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.ctx = ctx
        self._clock = clock
        self._sleep = sleep
        self._wall = wall
        self.rollout: Rollout | None = None  # the last deploy()'s
        self.rollback_rollout: Rollout | None = None
        self._updated = False  # this run changed the service
        self._adopted = False  # this run waits for a deployment of its revision that it found in progress
        self._rollback_summary: str | None = None
        self._seen_events: set[str] = set()
        self._service_deployments: dict[str, str] = {}  # deployment id -> the service deployment UpdateService named
        self._strategy = "ROLLING"  # the service's deployment strategy, as the pre-checks read it
        self._stages: StageWatch | None = None  # the service deployment this run's deploy() follows
        self._pause: Pause | None = None  # where deploy(until="test_traffic") left it
        self._go_on = False  # continue PAUSE hooks of the deployment deploy() follows (a rollback's)
        self._code_deploy: CodeDeployPath | None = None  # a CODE_DEPLOY service deploys through it (codedeploy.py)

    # -- reads ----------------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.ctx.service.service_name

    @property
    def cluster(self) -> str:
        return self.ctx.cluster

    @property
    def _who(self) -> str:
        """How messages name this service: ``service 'web'``."""
        return f"service '{self.name}'"

    def describe(self) -> dict[str, Any]:
        """DescribeServices for this service; ActionError when it is not there (missing or INACTIVE)."""
        service = describe_service(self.ctx.aws, self.cluster, self.name, who=self._who, required=True)
        assert service is not None
        return service

    # -- the common steps -----------------------------------------------------------------------------------

    def _update(self, arn: str, label: str, force: bool, current: str | None) -> tuple[str, float]:
        """UpdateService to ``arn``; returns the new deployment's id and when it was asked for."""
        self.ctx.log.info(f"updating service {self.name}: {short_revision(current)} -> {label}"
                          + (" (forceNewDeployment)" if force else ""))
        asked = self._clock()
        params: dict[str, Any] = {"cluster": self.cluster, "service": self.name, "taskDefinition": arn}
        if force:
            params["forceNewDeployment"] = True
        answer = call(self.ctx.aws, "ecs", "update_service", f"update the service to {label}", who=self._who,
                      **params)["service"]
        self._updated = True
        self.ctx.record.timings["update"] = round(self._clock() - asked, 3)
        primary = primary_deployment(answer)
        if primary is not None and answer.get("currentServiceDeployment"):
            self._service_deployments[primary.id] = str(answer["currentServiceDeployment"])
        if primary is None or primary.revision != arn:
            raise ActionError(f"service '{self.name}': UpdateService to {label} answered with PRIMARY deployment "
                              f"of {short_revision(primary.revision if primary else None)}, not {label}.")
        self.ctx.log.info(f"deployment {primary.id} of {label} started")
        return primary.id, asked

    def _notify(self, hook: Callable[[ServiceRecord], None]) -> None:
        """Call a notification hook; a failing one is a warning, never a reason to roll a service back."""
        try:
            hook(self.ctx.record)
        except Exception as exc:  # noqa: BLE001 - a user's hook (chat, email) may fail in any way
            self.ctx.log.warning(f"a pytest_ecsdeploy notification hook failed: {type(exc).__name__}: {exc}")

    def _done(self, arn: str | None, before: str | None, deployment_id: str | None, outcome: str, reason: str,
              started: float, watch: DeploymentWatch | None = None, detected_after: float | None = None) -> Rollout:
        self.rollout = Rollout(
            service=self.name, revision=arn, previous_revision=before, deployment_id=deployment_id,
            outcome=outcome, reason=reason,
            events=tuple(watch.events) if watch else (),
            failed_tasks=tuple(watch.failures.values()) if watch else (),
            duration=self._clock() - started, detected_after=detected_after,
            service_deployment=self._stages.arn if self._stages else None,
            stages=tuple(dict(stage) for stage in self._stages.history) if self._stages else (),
        )
        return self.rollout

    def _task_arns(self, desired_status: str) -> list[str]:
        """ListTasks of this service, every page (services may run far more than 100 tasks)."""
        return [str(arn) for page in pages(self.ctx.aws, "ecs", "list_tasks", f"list its {desired_status} tasks",
                                           who=self._who, cluster=self.cluster, serviceName=self.name,
                                           desiredStatus=desired_status)
                for arn in page.get("taskArns") or []]

    def _describe_tasks(self, arns: list[str]) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = []
        for i in range(0, len(arns), 100):
            answer = call(self.ctx.aws, "ecs", "describe_tasks", "describe its tasks", who=self._who,
                          cluster=self.cluster, tasks=arns[i:i + 100])
            tasks.extend(answer.get("tasks") or [])
        return tasks


class Host:
    """An EcsService as the :class:`~.rollout.ServiceHost` that ``codedeploy.py`` works through: its names, clocks,
    pace and shared state, and no more."""

    def __init__(self, service: ServiceState) -> None:
        self._service = service
        self.ctx = service.ctx
        self.clock, self.sleep, self.wall = service._clock, service._sleep, service._wall
        self.describe, self.done, self.notify = service.describe, service._done, service._notify

    @property
    def name(self) -> str:
        return self._service.name

    @property
    def cluster(self) -> str:
        return self._service.cluster

    @property
    def progress_every(self) -> float:
        return self._service.progress_every

    def schedule(self) -> PollSchedule:
        service = self._service
        return PollSchedule(service.poll_first, service.poll_max, service.poll_factor)

    @property
    def updated(self) -> bool:
        return self._service._updated

    @updated.setter
    def updated(self, value: bool) -> None:
        self._service._updated = value

    @property
    def rollback_summary(self) -> str | None:
        return self._service._rollback_summary

    @rollback_summary.setter
    def rollback_summary(self, value: str | None) -> None:
        self._service._rollback_summary = value

    @property
    def rollback_rollout(self) -> Rollout | None:
        return self._service.rollback_rollout

    @rollback_rollout.setter
    def rollback_rollout(self, value: Rollout | None) -> None:
        self._service.rollback_rollout = value
