"""The state of the local ECS control plane (services, deployments, tasks) and the rules that move it.

moto keeps clusters and task definitions; this module keeps what moto does not: services that roll out. A
:class:`Simulation` holds one :class:`RegionState` per (account, region) and advances it to a simulated time:
each task moves through PROVISIONING -> PENDING -> ACTIVATING -> RUNNING -> DEACTIVATING -> STOPPING ->
DEPROVISIONING -> STOPPED as its runner reports, and each service's scheduler starts and stops tasks within
minimumHealthyPercent / maximumPercent, counts failures for the circuit breaker, completes, fails and rolls
back deployments, and writes ECS's service events. Nothing here parses requests or shapes responses
(``responses.py`` does); every mutation happens under the engine's lock, at one simulated instant.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..clock import Timings
from ..runners.base import ContainerSpec, ContainerState, Runner, TaskSpec

MAX_EVENTS = 100
_OVERRIDABLE = ("command", "environment", "cpu", "memory", "memoryReservation")


def new_deployment_id(rng: random.Random) -> str:
    """``ecs-svc/`` and 19 digits, as ECS names deployments."""
    return f"ecs-svc/{rng.randrange(10**18, 10**19)}"


@dataclass(frozen=True)
class TaskDefinitionInfo:
    """What a deployment or RunTask needs of a task definition, copied when the deployment is created."""

    arn: str
    family: str
    revision: int
    containers: tuple[dict[str, Any], ...]
    cpu: str | None = None
    memory: str | None = None
    network_mode: str | None = None
    requires_compatibilities: tuple[str, ...] = ()


@dataclass
class ContainerRecord:
    """One container of a task as DescribeTasks shows it; ``spec`` is what its runner was given."""

    spec: ContainerSpec
    arn: str
    last_status: str = "PENDING"
    exit_code: int | None = None
    reason: str | None = None
    health_status: str = "UNKNOWN"
    image_digest: str | None = None
    runtime_id: str | None = None


@dataclass
class Task:
    """A task: its ECS status and timestamps, and what the engine needs to move it along."""

    id: str
    arn: str
    account: str
    region: str
    cluster_name: str
    cluster_arn: str
    task_definition: TaskDefinitionInfo
    containers: list[ContainerRecord]
    created_at: float
    group: str
    started_by: str | None
    launch_type: str
    private_ip: str
    spec: TaskSpec
    service_key: tuple[str, str] | None = None
    deployment_id: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    tags: list[dict[str, str]] = field(default_factory=list)
    last_status: str = "PROVISIONING"
    desired_status: str = "RUNNING"
    health_status: str = "UNKNOWN"
    stop_code: str | None = None
    stopped_reason: str | None = None
    pull_started_at: float | None = None
    pull_stopped_at: float | None = None
    connectivity_at: float | None = None
    started_at: float | None = None
    stopping_at: float | None = None
    execution_stopped_at: float | None = None
    stopped_at: float | None = None
    version: int = 1
    due_at: float | None = None
    healthy: bool = False
    health_checked: bool = False
    runner_started: bool = False
    lb_targets: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.last_status != "STOPPED"

    @property
    def wanted(self) -> bool:
        """Desired RUNNING: the scheduler counts it as one of the service's tasks."""
        return self.desired_status == "RUNNING"

    @property
    def serving(self) -> bool:
        """RUNNING, desired RUNNING and healthy: what minimumHealthyPercent counts."""
        return self.wanted and self.last_status == "RUNNING" and self.healthy

    def set_status(self, status: str) -> None:
        self.last_status = status
        self.version += 1


@dataclass
class Deployment:
    """One deployment of a service (PRIMARY, ACTIVE or gone)."""

    id: str
    task_definition: TaskDefinitionInfo
    created_at: float
    updated_at: float
    launch_type: str
    platform_version: str | None
    network_configuration: dict[str, Any] | None
    status: str = "PRIMARY"
    rollout_state: str = "IN_PROGRESS"
    rollout_state_reason: str = ""
    failed_tasks: int = 0
    succeeded: bool = False  # has had a task running healthy: failed_tasks stops being evaluated
    is_rollback: bool = False

    def __post_init__(self) -> None:
        if not self.rollout_state_reason:
            self.rollout_state_reason = f"ECS deployment {self.id} in progress."


@dataclass(frozen=True)
class ServiceEvent:
    id: str
    created_at: float
    message: str


@dataclass
class DeploymentConfiguration:
    """A service's deploymentConfiguration; ``breaker_threshold`` is the circuit breaker's
    ``thresholdConfiguration``, None when the service gives none (ECS's default applies)."""

    minimum_healthy_percent: int = 100
    maximum_percent: int = 200
    breaker_enable: bool = False
    breaker_rollback: bool = False
    breaker_threshold: ThresholdConfiguration | None = None


@dataclass(frozen=True)
class ThresholdConfiguration:
    """``deploymentCircuitBreaker.thresholdConfiguration``: ``type`` is COUNT, BOUNDED_PERCENT or
    UNBOUNDED_PERCENT (see :func:`breaker_threshold`), ``value`` a count or a percentage of desiredCount."""

    type: str = "BOUNDED_PERCENT"
    value: int = 50


@dataclass
class Service:
    """An ECS service with the ECS deployment controller (rolling update)."""

    account: str
    region: str
    name: str
    cluster_name: str
    cluster_arn: str
    desired_count: int
    created_at: float
    launch_type: str
    platform_version: str | None = None
    load_balancers: list[dict[str, Any]] = field(default_factory=list)
    network_configuration: dict[str, Any] | None = None
    config: DeploymentConfiguration = field(default_factory=DeploymentConfiguration)
    extra: dict[str, Any] = field(default_factory=dict)  # echoed fields: role, placement, tags...
    status: str = "ACTIVE"
    deployments: list[Deployment] = field(default_factory=list)
    events: deque[ServiceEvent] = field(default_factory=lambda: deque(maxlen=MAX_EVENTS))
    task_ids: list[str] = field(default_factory=list)
    last_completed: Deployment | None = None
    steady: bool = False
    last_steady_event: float | None = None
    stuck_reported: bool = False
    unhealthy_replaced: int = 0
    deleted_at: float | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:ecs:{self.region}:{self.account}:service/{self.cluster_name}/{self.name}"

    @property
    def key(self) -> tuple[str, str]:
        return (self.cluster_name, self.name)

    @property
    def primary(self) -> Deployment:
        return self.deployments[0]

    @property
    def task_definition_arn(self) -> str:
        return self.primary.task_definition.arn

    def add_event(self, t: float, message: str) -> None:
        self.events.appendleft(ServiceEvent(str(uuid.uuid4()), t, f"(service {self.name}) {message}"))


@dataclass
class RegionState:
    """Everything the engine holds for one account and region."""

    account: str
    region: str
    services: dict[tuple[str, str], Service] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    ip_counter: int = 0

    def next_ip(self) -> str:
        self.ip_counter += 1
        n = self.ip_counter
        return f"10.0.{(n >> 8) % 256}.{n % 256}"


class TargetRegistry(Protocol):
    """Registers tasks' targets in load balancer target groups (moto's ELBv2 in the engine)."""

    def register(self, account: str, region: str, target_group_arn: str, targets: list[tuple[str, int]]) -> bool: ...

    def deregister(self, account: str, region: str, target_group_arn: str, targets: list[tuple[str, int]]) -> bool: ...


THRESHOLD_TYPES = ("COUNT", "BOUNDED_PERCENT", "UNBOUNDED_PERCENT")


def breaker_threshold(desired_count: int, threshold: ThresholdConfiguration | None = None) -> int:
    """How many failed tasks make a deployment FAILED when its circuit breaker is on, as ECS computes it from
    the service's (latest) desiredCount and ``thresholdConfiguration``:

    - ``COUNT`` n: n (at least 1);
    - ``BOUNDED_PERCENT`` p (the default, p = 50): p % of desiredCount rounded up, at least 3, at most 200;
    - ``UNBOUNDED_PERCENT`` p: p % of desiredCount rounded up, at least 1.

    >>> breaker_threshold(25), breaker_threshold(25, ThresholdConfiguration("COUNT", 5))
    (13, 5)
    """
    config = threshold or ThresholdConfiguration()
    if config.type == "COUNT":
        return max(config.value, 1)
    share = -(-config.value * desired_count // 100)  # rounded up, in integers: 7 % of 100 is 7, not 7.000...1
    if config.type == "UNBOUNDED_PERCENT":
        return max(share, 1)
    return min(max(share, 3), 200)


def _task_list(tasks: list[Task]) -> str:
    return " ".join(f"(task {task.id})" for task in tasks)


class Simulation:
    """Advances every region's services and tasks to a simulated time; see the module docstring."""

    def __init__(self, runner: Runner, timings: Timings, targets: TargetRegistry,
                 image_aliases: Callable[[str], tuple[str, ...]], rng: random.Random, now: float) -> None:
        self.runner = runner
        self.timings = timings
        self.targets = targets
        self.image_aliases = image_aliases
        self.rng = rng
        self.now = now
        self.regions: dict[tuple[str, str], RegionState] = {}
        self.dirty = True  # something changed outside a step: the scheduler must look at the current instant
        self._lb_events: dict[tuple[int, str, str], tuple[Service, int]] = {}

    def region(self, account: str, region: str) -> RegionState:
        key = (account, region)
        if key not in self.regions:
            self.regions[key] = RegionState(account, region)
        return self.regions[key]

    # Time ---------------------------------------------------------------------------------------------------

    def advance_to(self, target: float) -> None:
        """Process every state change due up to ``target``, in time order, then settle at ``target``."""
        if target <= self.now and not self.dirty:
            return
        for _ in range(1_000_000):
            due = self._next_due()
            if due is None or due > target:
                break
            self._step(due)
        self._step(max(target, self.now))

    def _next_due(self) -> float | None:
        after = self.now
        best: float | None = None

        def consider(t: float | None) -> None:
            nonlocal best
            if t is not None and t > after and (best is None or t < best):
                best = t

        for state in self.regions.values():
            for task in state.tasks.values():
                consider(task.due_at)
                if task.last_status == "RUNNING" and not task.healthy and not task.health_checked:
                    consider((task.started_at or after) + self.timings.healthy_grace)
                if task.runner_started and task.last_status not in ("STOPPED", "DEPROVISIONING"):
                    consider(self.runner.next_change(task.id, after))
            for service in state.services.values():
                if service.steady and service.last_steady_event is not None:
                    consider(service.last_steady_event + self.timings.steady_event_interval)
                if service.deleted_at is not None:
                    consider(service.deleted_at + self.timings.inactive_service_retention)
        return best

    def _step(self, t: float) -> None:
        self.now = t
        for state in list(self.regions.values()):
            for _ in range(50):
                changed = False
                for task in [task for task in state.tasks.values() if task.live]:
                    changed |= self._advance_task(state, task, t)
                for service in list(state.services.values()):
                    changed |= self._schedule(state, service, t)
                self._flush_lb_events(t)
                if not changed:
                    break
            self._sweep(state, t)
        self.dirty = False

    def _sweep(self, state: RegionState, t: float) -> None:
        for task in list(state.tasks.values()):
            if task.stopped_at is not None and t >= task.stopped_at + self.timings.stopped_retention:
                del state.tasks[task.id]
                if task.service_key in state.services:
                    ids = state.services[task.service_key].task_ids
                    if task.id in ids:
                        ids.remove(task.id)
        for key, service in list(state.services.items()):
            if service.deleted_at is not None and t >= service.deleted_at + self.timings.inactive_service_retention:
                del state.services[key]

    # Tasks --------------------------------------------------------------------------------------------------

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

    def request_stop(self, task: Task, t: float, stop_code: str, reason: str) -> None:
        """Set desiredStatus STOPPED and begin the stop sequence from wherever the task is."""
        if not task.wanted:
            return
        task.desired_status = "STOPPED"
        task.stop_code, task.stopped_reason, task.stopping_at = stop_code, reason, t
        if task.last_status == "PROVISIONING" or not task.runner_started:
            task.set_status("DEPROVISIONING")
            task.due_at = t + self.timings.deprovisioning
        elif task.last_status == "RUNNING":
            self._deregister_targets(task)
            task.set_status("DEACTIVATING")
            task.due_at = t + self.timings.deactivating
        else:
            self.runner.stop(task.id, t)
            task.set_status("STOPPING")
            task.due_at = None

    def _advance_task(self, state: RegionState, task: Task, t: float) -> bool:
        status, version = task.last_status, task.version
        if status == "PROVISIONING" and task.due_at is not None and t >= task.due_at:
            task.runner_started = True
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
            if task.runner_started:
                self.runner.release(task.id)
        return task.last_status != status or task.version != version

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
        service = state.services.get(task.service_key) if task.service_key else None
        if task.health_status == "UNHEALTHY":
            if service is None or not task.wanted:
                return  # ECS does not replace an unhealthy standalone task
            service.add_event(t, f"(task {task.id}) failed container health checks.")
            service.unhealthy_replaced += 1
            self._count_failure(state, task, t)
            self.request_stop(task, t, "ServiceSchedulerInitiated", "Task failed container health checks")
            return
        if task.healthy or task.started_at is None:
            return
        graced = not task.health_checked and t >= task.started_at + self.timings.healthy_grace
        if task.health_status == "HEALTHY" or graced:
            task.healthy = True
            deployment = self._deployment_of(state, task)
            if deployment is not None and not deployment.succeeded:
                deployment.succeeded = True
                deployment.failed_tasks = 0

    def _fail(self, state: RegionState, task: Task, t: float, stop_code: str, reason: str) -> None:
        if task.wanted:
            self._count_failure(state, task, t)
            self.request_stop(task, t, stop_code, reason)

    def _deployment_of(self, state: RegionState, task: Task) -> Deployment | None:
        service = state.services.get(task.service_key) if task.service_key else None
        if service is None:
            return None
        return next((d for d in service.deployments if d.id == task.deployment_id), None)

    def _count_failure(self, state: RegionState, task: Task, t: float) -> None:
        service = state.services.get(task.service_key) if task.service_key else None
        deployment = self._deployment_of(state, task)
        if service is None or deployment is None or deployment.succeeded or deployment.rollout_state == "FAILED":
            return
        deployment.failed_tasks += 1
        deployment.updated_at = t
        breaker = service.config.breaker_enable and deployment.rollout_state == "IN_PROGRESS"
        tripped = deployment.failed_tasks >= breaker_threshold(service.desired_count, service.config.breaker_threshold)
        if breaker and tripped and deployment is service.primary:
            self._fail_deployment(state, service, deployment, t)

    def _fail_deployment(self, state: RegionState, service: Service, deployment: Deployment, t: float) -> None:
        deployment.rollout_state = "FAILED"
        deployment.rollout_state_reason = "ECS deployment circuit breaker: tasks failed to start."
        deployment.updated_at = t
        service.add_event(t, f"(deployment {deployment.id}) deployment failed: tasks failed to start.")
        target = service.last_completed
        if not service.config.breaker_rollback or target is None or deployment.is_rollback:
            return
        service.add_event(t, f"rolling back to deployment {target.id}.")
        reason = f"ECS deployment circuit breaker: rolling back to deploymentId {target.id}."
        rollback = Deployment(new_deployment_id(self.rng), target.task_definition, t, t, deployment.launch_type,
                              deployment.platform_version, deployment.network_configuration, is_rollback=True,
                              rollout_state_reason=reason)
        self.add_deployment(service, rollback)

    def _register_targets(self, state: RegionState, task: Task) -> None:
        service = state.services.get(task.service_key) if task.service_key else None
        if service is None:
            return
        for lb in service.load_balancers:
            arn = lb.get("targetGroupArn")
            if not arn:
                continue
            port = int(lb.get("containerPort") or 80)
            if self.targets.register(task.account, task.region, arn, [(task.private_ip, port)]):
                task.lb_targets.append((arn, task.private_ip, port))
                self._lb_event(service, "registered", arn)

    def _deregister_targets(self, task: Task) -> None:
        state = self.regions.get((task.account, task.region))
        service = state.services.get(task.service_key) if state and task.service_key else None
        for arn, ip, port in task.lb_targets:
            if self.targets.deregister(task.account, task.region, arn, [(ip, port)]) and service is not None:
                self._lb_event(service, "deregistered", arn)
        task.lb_targets.clear()

    def _lb_event(self, service: Service, verb: str, arn: str) -> None:
        key = (id(service), verb, arn)
        _, count = self._lb_events.get(key, (service, 0))
        self._lb_events[key] = (service, count + 1)

    def _flush_lb_events(self, t: float) -> None:
        for (_, verb, arn), (service, count) in self._lb_events.items():
            if verb == "deregistered":
                service.add_event(t, f"has begun draining connections on {count} tasks.")
            service.add_event(t, f"{verb} {count} targets in (target-group {arn})")
        self._lb_events.clear()

    # Services -----------------------------------------------------------------------------------------------

    def create_service(self, state: RegionState, service: Service, taskdef: TaskDefinitionInfo) -> None:
        """CreateService's effect: ``service`` is stored, its first deployment PRIMARY on ``taskdef``."""
        self.add_deployment(service, self.new_deployment(service, taskdef))
        state.services[service.key] = service

    def update_service(self, service: Service, *, taskdef: TaskDefinitionInfo | None, desired: int | None,
                       config: DeploymentConfiguration, shape: dict[str, Any], echoed: dict[str, Any],
                       force: bool) -> None:
        """UpdateService's effect. ``shape`` holds the given fields that change how tasks run (attribute name ->
        value: load_balancers, network_configuration, platform_version), ``echoed`` those DescribeServices only
        echoes. A new deployment starts when the revision or the shape changes or ``force`` is set; otherwise
        the PRIMARY deployment is only touched (updatedAt)."""
        primary = service.primary
        changed_shape = False
        for attribute, value in shape.items():
            if value != getattr(service, attribute):
                setattr(service, attribute, value)
                changed_shape = True
        if desired is not None and desired != service.desired_count:
            service.desired_count = desired
            service.stuck_reported = False
        if config != service.config:
            service.config = config
            service.stuck_reported = False
        service.extra.update(echoed)
        new_revision = taskdef is not None and taskdef.arn != primary.task_definition.arn
        if new_revision or changed_shape or force:
            self.add_deployment(service, self.new_deployment(service, taskdef or primary.task_definition))
        else:
            primary.updated_at = self.now

    def delete_service(self, service: Service) -> None:
        """DeleteService's effect: desiredCount 0 and DRAINING; the scheduler stops its tasks, then it is INACTIVE."""
        service.desired_count = 0
        service.status = "DRAINING"
        service.steady = False

    def new_deployment(self, service: Service, taskdef: TaskDefinitionInfo) -> Deployment:
        """A deployment of ``taskdef`` created now, with the service's launch type and network configuration."""
        return Deployment(new_deployment_id(self.rng), taskdef, self.now, self.now, service.launch_type,
                          service.platform_version, service.network_configuration)

    def add_deployment(self, service: Service, deployment: Deployment) -> None:
        """Make ``deployment`` PRIMARY; the others become ACTIVE and drain."""
        for old in service.deployments:
            old.status = "ACTIVE"
        service.deployments.insert(0, deployment)
        service.steady = False
        service.stuck_reported = False

    def service_tasks(self, state: RegionState, service: Service) -> list[Task]:
        return [state.tasks[i] for i in service.task_ids if i in state.tasks]

    def launch(self, state: RegionState, service: Service, deployment: Deployment, t: float) -> Task:
        tags = service.extra.get("tags") if service.extra.get("propagateTags") == "SERVICE" else None
        task = self.new_task(state, service.cluster_name, service.cluster_arn, deployment.task_definition, t,
                             group=f"service:{service.name}", started_by=deployment.id,
                             launch_type=service.launch_type, tags=tags)
        task.service_key = service.key
        task.deployment_id = deployment.id
        service.task_ids.append(task.id)
        return task

    def _schedule(self, state: RegionState, service: Service, t: float) -> bool:
        """One decision of the service scheduler at time ``t``; True when it changed anything."""
        if service.status == "INACTIVE":
            return False
        tasks = self.service_tasks(state, service)
        changed = False
        if service.status == "DRAINING":
            doomed = [task for task in tasks if task.wanted]
            self._stop_tasks(service, doomed, t)
            if not any(task.live for task in tasks):
                service.status, service.deleted_at = "INACTIVE", t
                changed = True
            return changed or bool(doomed)
        primary = service.primary
        for drained in service.deployments[1:]:
            if not any(task.live and task.deployment_id == drained.id for task in tasks):
                drained.status = "INACTIVE"
                service.deployments.remove(drained)
                changed = True
        desired = service.desired_count
        minimum = math.ceil(desired * service.config.minimum_healthy_percent / 100)
        maximum = math.floor(desired * service.config.maximum_percent / 100)
        started: list[Task] = []
        stopped: list[Task] = []
        mine = [task for task in tasks if task.deployment_id == primary.id and task.wanted]
        old = [task for task in tasks if task.deployment_id != primary.id and task.wanted]
        if primary.rollout_state != "FAILED":
            if len(mine) > desired:  # scale in: pending tasks first, then the newest
                surplus = sorted(mine, key=lambda x: (x.serving, x.last_status == "RUNNING", -x.created_at))
                stopped += surplus[: len(mine) - desired]
            serving = sum(1 for task in tasks if task.serving and task not in stopped)
            rank = {d.id: i for i, d in enumerate(reversed(service.deployments))}
            for task in sorted(old, key=lambda x: (x.serving, rank.get(x.deployment_id or "", 0), x.created_at)):
                if not task.serving:
                    stopped.append(task)
                elif serving - 1 >= minimum:
                    stopped.append(task)
                    serving -= 1
            self._stop_tasks(service, stopped, t, primary)
            live = sum(1 for task in tasks if task.live)
            need = desired - sum(1 for task in mine if task.wanted)
            for _ in range(max(0, min(need, maximum - live))):
                started.append(self.launch(state, service, primary, t))
            if started:
                message = f"has started {len(started)} tasks: {_task_list(started)}."
                replaced = min(service.unhealthy_replaced, len(started))
                if replaced:
                    message += f" Amazon ECS replaced {replaced} tasks due to an unhealthy status."
                    service.unhealthy_replaced -= replaced
                service.add_event(t, message)
            pending_work = need > 0 or any(task.wanted for task in old)
            settled = all(task.serving or not task.live for task in tasks)
            if pending_work and settled and not started and not stopped and not service.stuck_reported:
                service.stuck_reported = True
                service.add_event(t, "was unable to stop or start tasks during a deployment because of the service "
                                     "deployment configuration. Update the minimumHealthyPercent or maximumPercent "
                                     "value and try again.")
                changed = True
        changed |= bool(started or stopped)
        changed |= self._settle(state, service, t)
        return changed

    def _stop_tasks(self, service: Service, tasks: list[Task], t: float, primary: Deployment | None = None) -> None:
        if not tasks:
            return
        reason = f"Scaling activity initiated by (deployment {(primary or service.primary).id})"
        for task in tasks:
            self.request_stop(task, t, "ServiceSchedulerInitiated", reason)
        service.add_event(t, f"has stopped {len(tasks)} running tasks: {_task_list(tasks)}.")

    def _settle(self, state: RegionState, service: Service, t: float) -> bool:
        """Complete the PRIMARY deployment and write steady-state events when the service has settled."""
        primary = service.primary
        tasks = self.service_tasks(state, service)
        live = [task for task in tasks if task.live]
        settled = len(service.deployments) == 1 and len(live) == service.desired_count
        settled = settled and all(task.serving and task.deployment_id == primary.id for task in live)
        changed = False
        if settled and primary.rollout_state == "IN_PROGRESS":
            primary.rollout_state = "COMPLETED"
            primary.rollout_state_reason = f"ECS deployment {primary.id} completed."
            primary.updated_at = t
            service.last_completed = primary
            service.add_event(t, f"(deployment {primary.id}) deployment completed.")
            changed = True
        steady = settled and primary.rollout_state == "COMPLETED"
        last = service.last_steady_event
        repeat = last is not None and t >= last + self.timings.steady_event_interval
        if steady and (not service.steady or repeat):
            service.add_event(t, "has reached a steady state.")
            service.last_steady_event = t
            changed = True
        service.steady = steady
        return changed

    def seed_tasks(self, state: RegionState, service: Service, t: float) -> None:
        """Start the PRIMARY deployment's tasks as if they had started a while ago (seeding): with the simulated
        runner they are RUNNING and healthy now and the deployment COMPLETED; a runner of real containers starts
        them now, and they go through PENDING as any task does."""
        started = [self.launch(state, service, service.primary, t) for _ in range(service.desired_count)]
        head_start = self.timings.pull + self.timings.container_start + self.timings.health_check
        for task in started:
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
        if started:
            service.add_event(t, f"has started {len(started)} tasks: {_task_list(started)}.")
        service.primary.succeeded = any(task.healthy for task in started)
        self._flush_lb_events(t)
        self._settle(state, service, t)


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
