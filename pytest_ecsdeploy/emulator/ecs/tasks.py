"""A task's life, as ECS's agent reports it: PROVISIONING -> PENDING -> ACTIVATING -> RUNNING -> DEACTIVATING ->
STOPPING -> DEPROVISIONING -> STOPPED, each step taken when its time (``Timings``) has passed or when the runner
reports the task's containers pulled, running, healthy or stopped.

:class:`TaskLifecycle` creates tasks (RunTask's and the scheduler's), stops them (StopTask, the scheduler, a
failure), registers a service's RUNNING tasks in its target groups and deregisters them when they stop, and
reports to the circuit breaker (``models.record_failure``) each task that fails: a container that could not
start, an essential container that exited, a task of a service that failed its health checks. A task counts as
healthy once its health checks pass, or after ``healthy_grace`` RUNNING when none of its containers has one
(:func:`task_health` is the agent's rule for a task's healthStatus).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from ..clock import Timings
from ..runners.base import ContainerSpec, ContainerState, Runner, TaskSpec
from . import events, network, placement, throttle
from .events import TargetEvents
from .models import ContainerRecord, RegionState, Task, TaskDefinitionInfo, record_failure, record_healthy

# What RunTask's containerOverrides may change in a container definition.
_OVERRIDABLE = ("command", "environment", "cpu", "memory", "memoryReservation")


class TargetRegistry(Protocol):
    """Registers tasks' targets in load balancer target groups (moto's ELBv2 in the engine)."""

    def register(self, account: str, region: str, target_group_arn: str, targets: list[tuple[str, int]]) -> bool: ...

    def deregister(self, account: str, region: str, target_group_arn: str, targets: list[tuple[str, int]]) -> bool: ...


class TaskLifecycle:
    """Creates, advances and stops tasks; see the module docstring. ``image_aliases`` gives the other names the
    local ECR knows for an image (``runners.base.ContainerSpec.aliases``); ``rng`` names a rollback's deployment
    when a failure trips the circuit breaker; registrations are counted in ``target_events``."""

    def __init__(self, runner: Runner, timings: Timings, targets: TargetRegistry,
                 image_aliases: Callable[[str], tuple[str, ...]], rng: random.Random,
                 target_events: TargetEvents) -> None:
        self.runner = runner
        self.timings = timings
        self.targets = targets
        self.image_aliases = image_aliases
        self.rng = rng
        self.target_events = target_events

    def new_task(self, state: RegionState, cluster_name: str, cluster_arn: str, taskdef: TaskDefinitionInfo, t: float,
                 *, group: str, started_by: str | None, launch_type: str, overrides: dict[str, Any] | None = None,
                 tags: list[dict[str, str]] | None = None) -> Task:
        """Create a task in PROVISIONING (it is added to ``state.tasks``)."""
        task_id = uuid.uuid4().hex
        arn = f"arn:aws:ecs:{state.region}:{state.account}:task/{cluster_name}/{task_id}"
        container_overrides = {o.get("name"): o for o in (overrides or {}).get("containerOverrides", [])}
        records: list[ContainerRecord] = []
        for definition in taskdef.containers:
            name, image = str(definition.get("name", "")), str(definition.get("image", ""))
            override = container_overrides.get(name) or {}
            merged = {**definition, **{k: v for k, v in override.items() if k in _OVERRIDABLE}}
            essential, health_check = bool(definition.get("essential", True)), definition.get("healthCheck") or None
            stop_timeout = float(definition.get("stopTimeout") or 30)
            spec = ContainerSpec(name, image, essential, health_check, stop_timeout, self.image_aliases(image), merged)
            records.append(ContainerRecord(spec, f"{arn.replace(':task/', ':container/', 1)}/{uuid.uuid4()}"))
        task = Task(
            id=task_id, arn=arn, account=state.account, region=state.region, cluster_name=cluster_name,
            cluster_arn=cluster_arn, task_definition=taskdef, containers=records, created_at=t, group=group,
            started_by=started_by, launch_type=launch_type, private_ip=state.next_ip(), overrides=overrides or {},
            spec=TaskSpec(task_id, arn, cluster_name, taskdef.arn, tuple(c.spec for c in records), group,
                          started_by or ""),
            tags=tags or [], due_at=t + self.timings.provisioning,
        )
        task.health_checked = any(c.spec.health_check is not None for c in records)
        state.tasks[task_id] = task
        return task

    def request_stop(self, state: RegionState, task: Task, t: float, stop_code: str, reason: str) -> None:
        """Set desiredStatus STOPPED and begin the stop sequence from wherever the task is."""
        if not task.wanted:
            return
        task.desired_status = "STOPPED"
        task.stop_code, task.stopped_reason, task.stopping_at = stop_code, reason, t
        if task.last_status == "PROVISIONING" or not task.runner_started:
            task.set_status("DEPROVISIONING")
            task.due_at = t + self.timings.deprovisioning
        elif task.last_status == "RUNNING":
            self._deregister_targets(state, task)
            task.set_status("DEACTIVATING")
            task.due_at = t + self.timings.deactivating
        else:
            self.runner.stop(task.id, t)
            task.set_status("STOPPING")
            task.due_at = None

    def advance(self, state: RegionState, task: Task, t: float) -> bool:
        """Take the step of ``task`` due at ``t``, if any; True when its status or containers changed."""
        status, version = task.last_status, task.version
        if status == "PROVISIONING" and task.due_at is not None and t >= task.due_at:
            task.runner_started = True
            network.in_use(task)
            self.runner.start(task.spec, t)
            task.pull_started_at = t
            task.connectivity_at = t
            task.due_at = None
            task.set_status("PENDING")
        elif status in ("PENDING", "ACTIVATING", "RUNNING"):
            states = self.runner.poll(task.id, t)
            self._update_containers(task, states)
            if status == "PENDING" and states and all(s.phase in ("PULLED", "RUNNING") for s in states.values()):
                task.pull_stopped_at = task.pull_stopped_at or t
            failed = [s for s in states.values() if s.failed_to_start]
            exited = [c for c in task.containers if c.spec.essential and c.last_status == "STOPPED"]
            if failed:
                task.pull_stopped_at = task.pull_stopped_at or t
                self._fail(state, task, t, "TaskFailedToStart", failed[0].reason or "CannotStartContainerError")
            elif exited:
                self._fail(state, task, t, "EssentialContainerExited", "Essential container in task exited")
            elif status == "PENDING" and states and all(s.phase == "RUNNING" for s in states.values()):
                task.set_status("ACTIVATING")
                task.due_at = t + self.timings.activating
            elif status == "ACTIVATING" and task.due_at is not None and t >= task.due_at:
                task.due_at = None
                task.started_at = t
                task.set_status("RUNNING")
                throttle.record_started(state, task)
                self._register_targets(state, task)
                self._check_health(state, task, t)
            elif status == "RUNNING":
                self._check_health(state, task, t)
        elif status == "DEACTIVATING" and task.due_at is not None and t >= task.due_at:
            self.runner.stop(task.id, t)
            task.due_at = None
            task.set_status("STOPPING")
        elif status == "STOPPING":
            states = self.runner.poll(task.id, t)
            self._update_containers(task, states)
            if all(s.phase == "STOPPED" for s in states.values()):
                task.execution_stopped_at = t
                task.due_at = t + self.timings.deprovisioning
                task.set_status("DEPROVISIONING")
        elif status == "DEPROVISIONING" and task.due_at is not None and t >= task.due_at:
            for container in task.containers:
                container.last_status = "STOPPED"
            task.stopped_at = t
            task.execution_stopped_at = task.execution_stopped_at or t
            task.due_at = t + self.timings.stopped_retention
            task.set_status("STOPPED")
            placement.release(task)
            network.release(task)
            if task.runner_started:
                self.runner.release(task.id)
        return task.last_status != status or task.version != version

    def start_seeded(self, state: RegionState, task: Task, t: float) -> None:
        """Start a new task as if it had started a while before ``t`` (seeding): with the simulated runner it is
        RUNNING and healthy at ``t``; a runner of real containers starts it now, and it goes through PENDING."""
        head_start = self.timings.pull + self.timings.container_start + self.timings.health_check
        self.runner.start(task.spec, t - head_start)
        task.runner_started, task.due_at = True, None
        task.pull_started_at = task.connectivity_at = t - head_start
        task.set_status("PENDING")
        states = self.runner.poll(task.id, t)
        self._update_containers(task, states)
        if states and all(s.phase == "RUNNING" for s in states.values()) and task.health_status != "UNHEALTHY":
            task.pull_stopped_at = t - head_start + self.timings.pull
            task.started_at, task.healthy = t - self.timings.healthy_grace, True
            task.set_status("RUNNING")
            self._register_targets(state, task)

    def _update_containers(self, task: Task, states: dict[str, ContainerState]) -> None:
        for container in task.containers:
            s = states.get(container.spec.name)
            if s is None:
                continue
            phase = "PENDING" if s.phase in ("PULLING", "PULLED") else s.phase
            if phase != container.last_status or s.health != container.health_status:
                task.version += 1
            container.last_status = phase
            container.health_status = s.health if phase == "RUNNING" else container.health_status
            container.image_digest = s.image_digest or container.image_digest
            container.runtime_id = s.runtime_id or container.runtime_id
            if s.exit_code is not None:
                container.exit_code = s.exit_code
            if s.reason is not None:
                container.reason = s.reason
            if s.health != "UNKNOWN" and container.spec.essential:
                task.health_checked = True
        task.health_status = task_health(task.containers)

    def _check_health(self, state: RegionState, task: Task, t: float) -> None:
        if task.health_status == "UNHEALTHY":
            service = state.service_of(task)
            if service is None or not task.wanted:
                return  # ECS does not replace an unhealthy standalone task
            service.add_event(t, events.TASK_UNHEALTHY.format(task=task.id))
            service.unhealthy_replaced += 1
            record_failure(state, task, t, self.rng)
            self.request_stop(state, task, t, "ServiceSchedulerInitiated", "Task failed container health checks")
            return
        if task.healthy or task.started_at is None:
            return
        graced = not task.health_checked and t >= task.started_at + self.timings.healthy_grace
        if task.health_status == "HEALTHY" or graced:
            task.healthy = True
            record_healthy(state, task)

    def _fail(self, state: RegionState, task: Task, t: float, stop_code: str, reason: str) -> None:
        if task.wanted:
            if stop_code == "TaskFailedToStart":  # a container that ran and exited never throttles (throttle.py)
                throttle.record_start_failure(state, task, t, self.timings)
            record_failure(state, task, t, self.rng)
            self.request_stop(state, task, t, stop_code, reason)

    def _register_targets(self, state: RegionState, task: Task) -> None:
        service = state.service_of(task)
        if service is None:
            return
        deployment = state.deployment_of(task)
        own = deployment.load_balancers if deployment is not None else None  # a task set's target group
        for lb in own if own is not None else service.load_balancers:
            arn = lb.get("targetGroupArn")
            if not arn:
                continue
            port = int(lb.get("containerPort") or 80)
            if self.targets.register(task.account, task.region, arn, [(task.private_ip, port)]):
                task.lb_targets.append((arn, task.private_ip, port))
                self.target_events.count(service, "registered", arn)

    def _deregister_targets(self, state: RegionState, task: Task) -> None:
        service = state.service_of(task)
        for arn, ip, port in task.lb_targets:
            if self.targets.deregister(task.account, task.region, arn, [(ip, port)]) and service is not None:
                self.target_events.count(service, "deregistered", arn)
        task.lb_targets.clear()


def task_health(containers: list[Any]) -> str:
    """A task's healthStatus as the ECS agent derives it from its containers' health checks.

    Only containers with a health check in the task definition count (a FireLens router without one does not
    keep the task UNKNOWN): the essential ones, or the non-essential ones when no essential container has a
    health check. UNHEALTHY wins over UNKNOWN, which wins over HEALTHY; no health check at all is UNKNOWN.
    """
    checked = [c for c in containers if c.spec.health_check is not None]
    counted = [c for c in checked if c.spec.essential] or checked
    if not counted:
        return "UNKNOWN"
    statuses = {c.health_status for c in counted}
    if "UNHEALTHY" in statuses:
        return "UNHEALTHY"
    return "HEALTHY" if statuses == {"HEALTHY"} else "UNKNOWN"
