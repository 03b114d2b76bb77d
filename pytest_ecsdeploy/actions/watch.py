"""Following one ECS deployment: what changed since the last look, and whether its outcome is known.

Pure logic over DescribeServices / DescribeTasks answers (the dicts boto3 returns); ``service.py`` does the
calls, ``polling.py`` the waiting. Feed a :class:`DeploymentWatch` each new look at the service and its tasks;
it returns the lines to print (new service events, task state changes with stopCode, stoppedReason and container
exit codes) and, once the outcome is known, a :class:`Verdict`::

    watch = DeploymentWatch("web", revision=arn, deployment_id="ecs-svc/4426", seen_events=ids_before)
    while True:
        service = ecs.describe_services(...)["services"][0]
        tasks = list_and_describe_tasks() if watch.needs_tasks(service) else None
        look = watch.observe(service, tasks)
        for line in look.lines:
            log.info(line)
        if look.verdict is not None:
            break
        sleep(schedule.next(look.changed))

The outcome is decided, in this order, by:

1. the PRIMARY deployment no longer being ours: ECS's circuit breaker rolling back (``ROLLED_BACK``: the new
   deployment's reason says so while it is IN_PROGRESS; once it COMPLETED, ours FAILED or, drained out of the
   answer, its service event ``(deployment …) deployment failed: …`` does), or anyone else's deployment
   (``SUPERSEDED``); both are failures, never a success;
2. our deployment's ``rolloutState``: ``COMPLETED`` or ``FAILED`` (the circuit breaker); for a service without
   rolloutState (Classic Load Balancer), one deployment left with runningCount == desiredCount completes it;
3. tasks of our deployment stopping with failures (failed to start, essential container exited, failed health
   checks): when their number reaches :func:`failure_threshold` the deployment is ``FAILED``. The count is
   cumulative (a task that ran and then crashed counts too), so a deployment that ECS would retry forever
   ends. While the service's circuit breaker is on, ECS decides on the failures it counts, and the watch must
   not race it with a verdict from a read ECS has not caught up with. A look reads DescribeServices BEFORE
   DescribeTasks, so a task read shows failures the service answer of the same look cannot count yet, and the
   ECS API "follows an eventual consistency model" (Amazon ECS API Reference, RunTask): a later answer may
   still lag. So, with the breaker on, a failure counts toward the watch's own verdict only once a
   DescribeServices answer requested at least ``settle`` seconds (:data:`ECS_CATCH_UP`, on the watch's clock)
   after the task read that showed it still has our deployment IN_PROGRESS with failedTasks 0: ECS had the
   chance to count it and did not (failedTasks "resets to zero and stops being evaluated" once the deployment
   has a task running successfully, botocore's ``Deployment.failedTasks``), so ECS will never decide and the
   watch does. While failedTasks is above 0 ECS is counting, and its verdict (or the time-out) is waited for.

A timeout is not seen in the answers; the caller asks :meth:`DeploymentWatch.timed_out` for that verdict.

What the service says decides when the tasks are worth reading (:meth:`DeploymentWatch.needs_tasks`): a task
that starts, stops, fails or turns healthy shows in the service's or a deployment's counts (running, pending,
failedTasks), its deployments, or a new service event (``has started 1 tasks: (task …)``, ``has stopped …``), so
a look at a service where none of these moved since the last task read costs one DescribeServices, and the
ListTasks / DescribeTasks calls follow change, not time. A task read is ListTasks RUNNING and one DescribeTasks of
:meth:`DeploymentWatch.tasks_to_describe`: the listed tasks, the known ones not yet STOPPED (a task leaves the
RUNNING list once it is asked to stop) and those the new events name, so a task that started and stopped between
two reads is still seen without ListTasks STOPPED (the service scheduler names every task it starts or stops in
an event: "has started 1 tasks: (task …)", ECS Developer Guide, "Amazon ECS service event messages").
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..arns import short_revision, task_id
from ..redact import clean_line

if TYPE_CHECKING:
    from ..report.record import ServiceRecord

COMPLETED = "COMPLETED"
FAILED = "FAILED"
ROLLED_BACK = "ROLLED_BACK"  # ECS's circuit breaker failed the deployment and rolls the service back
SUPERSEDED = "SUPERSEDED"  # another deployment became PRIMARY
TIMED_OUT = "TIMED_OUT"

#: Seconds between the task read that shows a failure and a DescribeServices answer that must have counted it when
#: the circuit breaker counts it at all: a margin for the ECS API's eventual consistency, which AWS gives no bound.
ECS_CATCH_UP = 10.0

FAILURE_STOP_CODES = frozenset({"TaskFailedToStart", "EssentialContainerExited"})
_ERROR_REASON = re.compile(r"^\s*\w+Error\b")
_ROLLING_BACK = re.compile(r"circuit breaker.*rolling back", re.IGNORECASE)
_FAILED_EVENT = re.compile(r"\(deployment ([^)\s]+)\) deployment failed: (.+?)\.?$")  # "… deployment failed: tasks …"
_TASK_IN_EVENT = re.compile(r"\(task ([\w-]+)\)")  # "has started 2 tasks: (task 1f2e…) (task 9a8b…)."


def timestamp(value: Any) -> float | None:
    """A boto3 timestamp (datetime) or a number of epoch seconds, as epoch seconds."""
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def failure_threshold(service: Mapping[str, Any]) -> int:
    """How many failed tasks fail a deployment: ECS's circuit-breaker threshold for this service.

    ``min(max(ceil(0.5 * desiredCount), 3), 200)``, or what the service's ``thresholdConfiguration`` says when
    the API returns one (``COUNT`` n; ``BOUNDED_PERCENT`` p clamped to 3..200; ``UNBOUNDED_PERCENT`` p, at least 1).

    >>> failure_threshold({"desiredCount": 25})
    13
    """
    desired = int(service.get("desiredCount") or 0)
    breaker = (service.get("deploymentConfiguration") or {}).get("deploymentCircuitBreaker") or {}
    config = breaker.get("thresholdConfiguration") or {}
    kind = str(config.get("type") or "BOUNDED_PERCENT")
    try:
        value = int(config.get("value", 50))
    except (TypeError, ValueError):
        value = 50
    if kind == "COUNT":
        return max(value, 1)
    share = -(-value * desired // 100)  # rounded up in integers: 7 % of 100 is 7, not 7.000000000000001 -> 8
    if kind == "UNBOUNDED_PERCENT":
        return max(share, 1)
    return min(max(share, 3), 200)


@dataclass(frozen=True)
class ContainerView:
    """One container of a task: its status, exit code and reason."""

    name: str
    last_status: str | None = None
    exit_code: int | None = None
    reason: str | None = None
    health: str | None = None

    def describe(self, known: str | None = None) -> str | None:
        """``app exited 1``, ``app: CannotPullContainerError: …``; None when there is nothing to say. A reason
        equal to ``known`` (the task's stoppedReason) is not repeated."""
        parts = []
        if self.exit_code is not None:
            parts.append(f"{self.name} exited {self.exit_code}")
        if self.reason and self.reason != known:
            parts.append(f"{self.name}: {self.reason}" if self.exit_code is None else f"({self.reason})")
        return " ".join(parts) or None


@dataclass(frozen=True)
class TaskView:
    """A DescribeTasks entry: what a rollout watch follows, and what a one-off task's result holds
    (``result.tasks[0].stop_code``, ``.exit_code("app")``)."""

    arn: str
    revision: str | None
    last_status: str
    desired_status: str
    started_by: str | None = None
    stop_code: str | None = None
    stopped_reason: str | None = None
    health: str | None = None
    created_at: float | None = None
    stopping_at: float | None = None
    containers: tuple[ContainerView, ...] = ()

    @classmethod
    def from_api(cls, task: Mapping[str, Any]) -> TaskView:
        return cls(
            arn=str(task["taskArn"]),
            revision=task.get("taskDefinitionArn"),
            last_status=str(task.get("lastStatus") or "PROVISIONING"),
            desired_status=str(task.get("desiredStatus") or "RUNNING"),
            started_by=task.get("startedBy"),
            stop_code=task.get("stopCode"),
            stopped_reason=task.get("stoppedReason"),
            health=task.get("healthStatus"),
            created_at=timestamp(task.get("createdAt")),
            stopping_at=timestamp(task.get("stoppingAt")) or timestamp(task.get("stoppedAt")),
            containers=tuple(
                ContainerView(
                    name=str(c.get("name")),
                    last_status=c.get("lastStatus"),
                    exit_code=c.get("exitCode"),
                    reason=c.get("reason"),
                    health=c.get("healthStatus"),
                )
                for c in task.get("containers") or []
            ),
        )

    @property
    def id(self) -> str:
        return task_id(self.arn)

    @property
    def is_stopped(self) -> bool:
        """STOPPED (or DELETED): nothing about it will change any more."""
        return self.last_status in ("STOPPED", "DELETED")

    @property
    def is_stopping(self) -> bool:
        """Asked to stop (desiredStatus STOPPED) or already stopped."""
        return self.desired_status == "STOPPED" or self.is_stopped

    @property
    def is_running(self) -> bool:
        return self.last_status == "RUNNING" and self.desired_status == "RUNNING"

    @property
    def is_failure(self) -> bool:
        """Stopped because it failed: could not start, an essential container exited, or health checks failed.

        A task stopped by the scheduler to scale in or replace it in a deployment, by a user, or by a Spot
        interruption is not a failure.
        """
        if not self.is_stopping:
            return False
        if self.stop_code in FAILURE_STOP_CODES:
            return True
        reason = self.stopped_reason or ""
        return "health check" in reason.lower() or bool(_ERROR_REASON.match(reason))

    def exit_code(self, container: str) -> int | None:
        """The exit code of ``container`` (None while it has none); KeyError for a container the task does not
        have."""
        for entry in self.containers:
            if entry.name == container:
                return entry.exit_code
        raise KeyError(container)

    def stop_detail(self) -> str:
        """``EssentialContainerExited: Essential container in task exited, app exited 1``."""
        head = ": ".join(p for p in (self.stop_code, self.stopped_reason) if p) or "no reason given"
        containers = [d for d in (c.describe(known=self.stopped_reason) for c in self.containers) if d]
        return ", ".join([head, *containers])

    def stop_line(self) -> str:
        """The one line printed for a task that stops, in a rollout and for a one-off task alike:
        ``task 1f2e… (web:7) STOPPED: EssentialContainerExited: Essential container in task exited, app exited 1``
        (``stopping`` while it is not STOPPED yet)."""
        return f"{self.label()} {'STOPPED' if self.is_stopped else 'stopping'}: {self.stop_detail()}"

    def label(self) -> str:
        return f"task {self.id} ({short_revision(self.revision)})"


@dataclass(frozen=True)
class DeploymentView:
    """What a watch needs of one entry of a service's ``deployments``."""

    id: str
    status: str
    revision: str | None
    rollout_state: str | None
    reason: str | None
    desired: int
    running: int
    pending: int
    failed_tasks: int
    created_at: float | None
    updated_at: float | None

    @classmethod
    def from_api(cls, deployment: Mapping[str, Any]) -> DeploymentView:
        return cls(
            id=str(deployment.get("id")),
            status=str(deployment.get("status")),
            revision=deployment.get("taskDefinition"),
            rollout_state=deployment.get("rolloutState"),
            reason=deployment.get("rolloutStateReason"),
            desired=int(deployment.get("desiredCount") or 0),
            running=int(deployment.get("runningCount") or 0),
            pending=int(deployment.get("pendingCount") or 0),
            failed_tasks=int(deployment.get("failedTasks") or 0),
            created_at=timestamp(deployment.get("createdAt")),
            updated_at=timestamp(deployment.get("updatedAt")),
        )

    @property
    def is_rollback_by_ecs(self) -> bool:
        """ECS's circuit breaker created this deployment to roll the service back."""
        return bool(self.reason and _ROLLING_BACK.search(self.reason))


def service_deployments(service: Mapping[str, Any]) -> list[DeploymentView]:
    """The ``deployments`` of a DescribeServices entry."""
    return [DeploymentView.from_api(d) for d in service.get("deployments") or []]


def primary_deployment(service: Mapping[str, Any]) -> DeploymentView | None:
    """The PRIMARY deployment of a DescribeServices entry (None while it lists none)."""
    return next((d for d in service_deployments(service) if d.status == "PRIMARY"), None)


def running_revision(service: Mapping[str, Any]) -> str | None:
    """The task-definition ARN of the PRIMARY deployment (the service's ``taskDefinition`` without one)."""
    primary = primary_deployment(service)
    return primary.revision if primary else service.get("taskDefinition")


def is_in_progress(service: Mapping[str, Any]) -> bool:
    """The PRIMARY deployment is rolling out: rolloutState IN_PROGRESS (or, without rolloutState, more than one
    deployment)."""
    primary = primary_deployment(service)
    if primary is None:
        return False
    if primary.rollout_state is None:
        return len(service_deployments(service)) > 1
    return primary.rollout_state == "IN_PROGRESS"


def is_steady(service: Mapping[str, Any]) -> bool:
    """One deployment, COMPLETED (or without rolloutState), with runningCount == desiredCount."""
    deployments = service_deployments(service)
    return (
        len(deployments) == 1
        and deployments[0].rollout_state in ("COMPLETED", None)
        and service.get("runningCount") == service.get("desiredCount")
    )


@dataclass(frozen=True)
class Verdict:
    """How a deployment ended. ``decided_at`` is when the deciding change happened in ECS (epoch seconds, from
    the answers: the deployment's updatedAt, the last failed task's stoppingAt), when the answers tell.

    ``ecs_rollback`` is the deployment ECS's circuit breaker started to roll back, for ``ROLLED_BACK`` (and for
    ``FAILED`` when the service's circuit breaker rolls back, once it appears).
    """

    outcome: str
    reason: str
    decided_at: float | None = None
    ecs_rollback: DeploymentView | None = None

    @property
    def is_completed(self) -> bool:
        return self.outcome == COMPLETED


@dataclass
class Look:
    """What one look at the service brought: lines to print, events for the record (service events and failed
    tasks, with their time), the verdict if known."""

    lines: list[str] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)
    verdict: Verdict | None = None
    changed: bool = False


class DeploymentWatch:
    """Follows deployment ``deployment_id`` of ``revision`` on service ``service_name``; see the module docstring.

    ``seen_events`` are the ids of service events already shown (those from before the deployment), so only
    new ones are printed. Tasks already STOPPED at the first look that are not this deployment's are history
    and ignored. ``clock`` (monotonic seconds) times each look; with the circuit breaker on, a failure counts
    toward the watch's own verdict once a look's service answer was requested ``settle`` seconds after the look
    that read it (see the module docstring).
    """

    def __init__(
        self,
        service_name: str,
        *,
        revision: str,
        deployment_id: str,
        seen_events: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
        settle: float = ECS_CATCH_UP,
    ) -> None:
        self.service_name = service_name
        self.revision = revision
        self.deployment_id = deployment_id
        self.seen_events: set[str] = set(seen_events)
        self.tasks: dict[str, TaskView] = {}
        self.failures: dict[str, TaskView] = {}
        self.threshold = 3
        self.deployment: DeploymentView | None = None
        self.service: Mapping[str, Any] = {}
        self.events: list[str] = []
        self._printed_stop: set[str] = set()
        self._looks = 0
        self._read_at: tuple[Any, ...] | None = None  # the service's task signature at the last task read
        self._clock = clock
        self._settle = settle
        self._failed_read_at: dict[str, float] = {}  # failure ARN -> the clock at the look whose task read showed it
        self._asked_after: float | None = None  # this look's DescribeServices was requested after this time

    # -- the look -------------------------------------------------------------------------------------------

    def needs_tasks(self, service: Mapping[str, Any]) -> bool:
        """Whether the tasks must be read along with this DescribeServices answer: at the first look, and when
        the service shows a task changed since the last look that read them (a new event, or a change in its
        running/pending/desired counts, its deployments' counts, failedTasks, rolloutState or status). Not when
        the service alone shows the deployment completed: no task changes that verdict (the caller's post-checks
        read the running tasks)."""
        deployments = service_deployments(service)
        ours = next((d for d in deployments if d.id == self.deployment_id), None)
        verdict = self._decide(service, deployments, ours)
        if verdict is not None and verdict.is_completed:
            return False
        if self._read_at is None or _task_signature(service) != self._read_at:
            return True
        return any(str(e.get("id")) not in self.seen_events for e in service.get("events") or [])

    def tasks_to_describe(self, service: Mapping[str, Any], running: Iterable[str]) -> list[str]:
        """The tasks to DescribeTasks along with ``service`` (a DescribeServices entry): ``running`` (ARNs from
        ListTasks RUNNING), the tasks this watch knows that are not STOPPED, and the task ids named in the
        service's events not yet seen; each once, ARNs and ids alike (DescribeTasks takes either)."""
        wanted = dict.fromkeys(running)
        wanted.update(dict.fromkeys(arn for arn, task in self.tasks.items() if not task.is_stopped))
        known = {task_id(arn) for arn in [*self.tasks, *wanted]}
        for event in service.get("events") or []:
            if str(event.get("id")) in self.seen_events:
                continue
            for named in _TASK_IN_EVENT.findall(str(event.get("message", ""))):
                if named not in known:
                    known.add(named)
                    wanted[named] = None
        return list(wanted)

    def observe(self, service: Mapping[str, Any], tasks: Sequence[Mapping[str, Any]] | None = ()) -> Look:
        """Take one look: ``service`` from DescribeServices, ``tasks`` from DescribeTasks (any subset: tasks
        not given keep their last known state; None when they were not read this time, see :meth:`needs_tasks`)."""
        look = Look()
        first = self._looks == 0
        now = self._clock()  # the tasks given were read before now; the next look's service answer after it
        self._looks += 1
        self.service = service
        if tasks is not None:
            self._read_at = _task_signature(service)
        self.threshold = failure_threshold(service)
        self._new_events(service, look)
        for raw in tasks or ():
            self._task(TaskView.from_api(raw), look, first)
        for arn in self.failures:
            self._failed_read_at.setdefault(arn, now)
        deployments = service_deployments(service)
        ours = next((d for d in deployments if d.id == self.deployment_id), None)
        if ours is not None and ours != self.deployment:
            look.changed = True
        self.deployment = ours or self.deployment
        look.verdict = self._decide(service, deployments, ours)
        self._asked_after = now
        return look

    def timed_out(self, seconds: float) -> Verdict:
        """The verdict when ``seconds`` passed without an outcome."""
        return Verdict(
            TIMED_OUT,
            f"deployment {self.deployment_id} of {short_revision(self.revision)} did not complete within "
            f"{seconds:g} s ({self.progress()})",
        )

    # -- what the caller may ask ----------------------------------------------------------------------------

    def progress(self) -> str:
        """``1 of 2 tasks running on web:7, 1 pending, 3 failed (threshold 3), rolloutState IN_PROGRESS``."""
        d = self.deployment
        label = short_revision(self.revision)
        desired = int(self.service.get("desiredCount") or (d.desired if d else 0))
        from_tasks = self._task_counts()
        if from_tasks is not None:
            running, pending = from_tasks
        elif d is not None:
            running, pending = d.running, d.pending
        else:
            running, pending = sum(1 for t in self.tasks.values() if self._is_ours(t) and t.is_running), 0
        parts = [f"{running} of {desired} tasks running on {label}"]
        if pending:
            parts.append(f"{pending} pending")
        parts.append(f"{len(self.failures)} failed (threshold {self.threshold})")
        parts.append(f"rolloutState {d.rollout_state if d and d.rollout_state else 'unknown'}")
        return ", ".join(parts)

    # -- internals --------------------------------------------------------------------------------------------

    def _new_events(self, service: Mapping[str, Any], look: Look) -> None:
        # Newest first in the answer: reversed, then a stable sort keeps ECS's order within one instant.
        fresh = [e for e in reversed(service.get("events") or []) if str(e.get("id")) not in self.seen_events]
        fresh.sort(key=lambda e: timestamp(e.get("createdAt")) or 0.0)
        for event in fresh:
            self.seen_events.add(str(event.get("id")))
            message = str(event.get("message", ""))
            look.lines.append(message)
            look.events.append((timestamp(event.get("createdAt")) or 0.0, message))
            self.events.append(message)
            look.changed = True

    def _is_ours(self, task: TaskView) -> bool:
        if task.started_by:
            return task.started_by == self.deployment_id
        return task.revision == self.revision

    def _task(self, task: TaskView, look: Look, first: bool) -> None:
        previous = self.tasks.get(task.arn)
        self.tasks[task.arn] = task
        ours = self._is_ours(task)
        if previous is None and first and task.is_stopping and not ours:
            self._printed_stop.add(task.arn)
            return  # history from before this deployment
        if previous != task:
            look.changed = True
        if ours and task.is_failure:
            self.failures[task.arn] = task
        if ours and task.is_running and (previous is None or not previous.is_running):
            health = f", {task.health}" if task.health and task.health != "UNKNOWN" else ""
            look.lines.append(f"{task.label()} RUNNING{health}")
        elif ours and task.health == "UNHEALTHY" and (previous is None or previous.health != "UNHEALTHY"):
            look.lines.append(f"{task.label()} UNHEALTHY")
        if task.arn in self._printed_stop or not task.is_stopping or not (ours or task.is_failure):
            return
        if not task.is_failure and not task.is_stopped:
            return  # a scheduled stop of ours is printed once it is done, a failure as soon as it is known
        self._printed_stop.add(task.arn)
        line = task.stop_line()
        look.lines.append(line)
        if task.is_failure:
            look.events.append((task.stopping_at or 0.0, line))

    def _decide(
        self, service: Mapping[str, Any], deployments: list[DeploymentView], ours: DeploymentView | None
    ) -> Verdict | None:
        label = f"deployment {self.deployment_id} of {short_revision(self.revision)}"
        status = service.get("status")
        if status not in (None, "ACTIVE"):
            return Verdict(FAILED, f"the service became {status} during {label}")
        primary = primary_deployment(service)
        breaker = (service.get("deploymentConfiguration") or {}).get("deploymentCircuitBreaker") or {}
        if primary is not None and primary.id != self.deployment_id:
            # ECS's rollback deployment says so while IN_PROGRESS only (COMPLETED, its reason is "… completed."),
            # and ours may have drained out of the answer: its "deployment failed" event still tells.
            failed_event = self._failed_event()
            ours_failed = (ours is not None and ours.rollout_state == "FAILED") or failed_event is not None
            if primary.is_rollback_by_ecs or (ours_failed and breaker.get("rollback")):
                reason = ours.reason if ours is not None and ours.reason else failed_event
                why = f" ({reason.rstrip('.')})" if reason else ""
                return Verdict(
                    ROLLED_BACK,
                    f"ECS's circuit breaker failed {label}{why} and is rolling the service back to "
                    f"{short_revision(primary.revision)} (deployment {primary.id})",
                    decided_at=primary.created_at,
                    ecs_rollback=primary,
                )
            return Verdict(
                SUPERSEDED,
                f"{label} was replaced by deployment {primary.id} of {short_revision(primary.revision)}, "
                f"which someone else started",
                decided_at=primary.created_at,
            )
        if ours is None:
            return None  # not listed yet (eventual consistency); the next look will tell
        if ours.rollout_state == "COMPLETED":
            return Verdict(COMPLETED, f"{label} completed ({self.progress()})", decided_at=ours.updated_at)
        if ours.rollout_state is None and len(deployments) == 1 and ours.running == ours.desired:
            return Verdict(COMPLETED, f"{label} reached a steady state ({self.progress()})", decided_at=ours.updated_at)
        if ours.rollout_state == "FAILED":
            why = (ours.reason or "rolloutState FAILED").rstrip(".")
            return Verdict(FAILED, f"{label} failed: {why} ({self.progress()})", decided_at=ours.updated_at)
        if len(self._uncounted_failures(breaker, ours)) >= self.threshold:
            last = max((t.stopping_at for t in self.failures.values() if t.stopping_at is not None), default=None)
            return Verdict(
                FAILED,
                f"{label} failed: {len(self.failures)} of its tasks stopped with failures (threshold "
                f"{self.threshold}), the last {self._last_failure()} ({self.progress()})",
                decided_at=last,
            )
        return None

    def _failed_event(self) -> str | None:
        """Why ECS failed our deployment, from its service event (``(service web) (deployment ecs-svc/2)
        deployment failed: tasks failed to start.``, ECS Developer Guide, "Amazon ECS service event messages"): the
        deployment may have drained out of the answer before a look saw its rolloutStateReason."""
        for message in reversed(self.events):
            found = _FAILED_EVENT.search(message)
            if found and found.group(1) == self.deployment_id:
                return f"deployment failed: {found.group(2)}"
        return None

    def _uncounted_failures(self, breaker: Mapping[str, Any], ours: DeploymentView) -> list[TaskView]:
        """The failures the watch's own threshold counts: all of them without the circuit breaker; with it, none
        while ECS counts (failedTasks above 0), else those read ``settle`` seconds before this look's service
        answer was requested, which ECS had the chance to count."""
        if not breaker.get("enable"):
            return list(self.failures.values())
        if ours.failed_tasks > 0 or self._asked_after is None:
            return []
        offered = self._asked_after - self._settle
        return [task for arn, task in self.failures.items() if self._failed_read_at[arn] <= offered]

    def _task_counts(self) -> tuple[int, int] | None:
        """Our deployment's running and pending tasks by the last task read, when that read is as new as the
        service answer (read in the same look, or the service has not moved since) and holds tasks of ours; else
        None. The failures come from the task read, which follows the service answer: a task that crashed between
        the two is a failure there while the answer still counts it running, and a verdict saying "1 of 1 tasks
        running, 3 failed" would contradict itself."""
        if self._read_at is None or _task_signature(self.service) != self._read_at:
            return None
        ours = [task for task in self.tasks.values() if self._is_ours(task)]
        if not ours:
            return None
        running = sum(1 for task in ours if task.is_running)
        pending = sum(1 for task in ours if not task.is_stopping and task.last_status != "RUNNING")
        return running, pending

    def _last_failure(self) -> str:
        last = max(self.failures.values(), key=lambda t: t.stopping_at or 0.0)
        return f"{last.label()} with {last.stop_detail()}"


def _task_signature(service: Mapping[str, Any]) -> tuple[Any, ...]:
    """What of a DescribeServices entry moves when one of its tasks changes (events aside)."""
    counts = tuple(service.get(key) for key in ("status", "desiredCount", "runningCount", "pendingCount"))
    deployments = tuple(sorted((d.id, d.status, d.rollout_state, d.desired, d.running, d.pending, d.failed_tasks)
                               for d in service_deployments(service)))
    return counts + deployments


#: How the first line of a failed rollout's message says how the deployment ended.
_ENDED = {FAILED: "failed", ROLLED_BACK: "failed", SUPERSEDED: "was replaced by another deployment",
          TIMED_OUT: "did not complete in time"}


def failure_message(service: str, deployment_id: str, label: str, verdict: Verdict, summary: str,
                    record: ServiceRecord, kind: str = "deployment") -> str:
    """A failed rollout's message: one short sentence, then the details on the lines below it (``kind`` names
    the deployment: ``deployment`` for ECS's, ``CodeDeploy deployment``)::

        service 'web': deployment ecs-svc/4426 of web:7 failed; rolled back to web:6.
          why: 3 of its tasks stopped with failures (threshold 3), the last task 1f2e (web:7) with …
          rollback: rolled back to web:6 (deployment ecs-svc/5513 completed in 41.0 s)
    """
    if record.outcome == "rolled back" and record.rollback is not None:
        after = f"rolled back to {short_revision(record.rollback.to_revision)}"
    elif record.outcome == "rollback failed":
        after = "its rollback failed too"
    else:
        after = "not rolled back"
    ended = _ENDED.get(verdict.outcome, "failed")
    headline = f"service '{service}': {kind} {deployment_id} of {label} {ended}; {after}."
    # Each detail stays on its line whatever AWS wrote into it (clean_line escapes line breaks).
    return f"{headline}\n  why: {clean_line(verdict.reason)}\n  rollback: {clean_line(summary)}"
