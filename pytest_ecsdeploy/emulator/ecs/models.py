"""The state of the local ECS control plane and the rules of services and deployments.

moto keeps clusters and task definitions; the engine keeps what moto does not, one :class:`RegionState` per
(account, region): services that roll out (:class:`Service`), their deployments (:class:`Deployment`, PRIMARY
then ACTIVE ones draining) and tasks (:class:`Task`, with their containers). The rules here are what an action
or a task's fate does to a service: CreateService, UpdateService and DeleteService (:func:`create_service`...),
a new deployment becoming PRIMARY (:func:`add_deployment`), and the circuit breaker, which counts a
deployment's failed tasks until one runs healthy (:func:`record_failure`, :func:`record_healthy`) and fails the
deployment, then rolls back, at :func:`breaker_threshold` failures.

Elsewhere in ``ecs/``: ``tasks.py`` moves tasks through their lifecycle, ``scheduler.py`` starts and stops a
service's tasks within its deployment configuration, ``events.py`` words the events, ``simulation.py`` advances
it all in simulated time; ``capacity.py``, ``placement.py`` and ``network.py`` say where a task runs (capacity
provider, container instance, network interface), ``throttle.py`` when a failing service may launch again.
Times are epoch seconds of simulated time; every mutation happens under the engine's lock, at one simulated
instant.
"""

from __future__ import annotations

import random
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..runners.base import ContainerSpec, TaskSpec
from . import events

if TYPE_CHECKING:
    from .. import moto_state

MAX_EVENTS = 100


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
    # where it runs: a capacity provider; a container instance and what it took of it (placement.py);
    # its network interface (network.py)
    capacity_provider: str | None = None
    container_instance_arn: str | None = None
    reserved: tuple[str, int, int, tuple[int, ...]] | None = None
    interface: moto_state.TaskInterface | None = None
    attachment_id: str | None = None
    interface_deleted: bool = False

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
    capacity_provider_strategy: list[dict[str, Any]] | None = None
    # a task set of a CODE_DEPLOY service (tasksets.py): its scale (percent of desiredCount), who made it, the
    # load balancers its tasks register with (None: the service's), and its stabilityStatus since when
    scale: float = 100.0
    external_id: str | None = None
    started_by: str | None = None
    load_balancers: list[dict[str, Any]] | None = None
    stability: str = "STABILIZING"
    stability_at: float = 0.0

    def __post_init__(self) -> None:
        if not self.rollout_state_reason:
            self.rollout_state_reason = events.IN_PROGRESS_REASON.format(deployment=self.id)


@dataclass(frozen=True)
class ServiceEvent:
    id: str
    created_at: float
    message: str


@dataclass
class DeploymentConfiguration:
    """A service's deploymentConfiguration; ``breaker_threshold`` is the circuit breaker's
    ``thresholdConfiguration``, None when the service gives none (ECS's default applies). ``strategy``,
    ``bake_time_minutes``, ``hooks`` and ``shift`` (LINEAR's stepPercent and stepBakeTimeInMinutes, or CANARY's
    canaryPercent and canaryBakeTimeInMinutes) are read by ``bluegreen.py``."""

    minimum_healthy_percent: int = 100
    maximum_percent: int = 200
    breaker_enable: bool = False
    breaker_rollback: bool = False
    breaker_threshold: ThresholdConfiguration | None = None
    strategy: str = "ROLLING"
    bake_time_minutes: int | None = None
    shift: tuple[float, int] | None = None
    hooks: tuple[dict[str, Any], ...] = ()  # lifecycleHooks, checked (PAUSE only)


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
    start_failures: int = 0  # tasks in a row that stopped before RUNNING (throttle.py)
    launch_not_before: float | None = None
    throttle_reported: bool = False
    hold: str | None = None  # a blue/green deployment's say over the scheduler (bluegreen.py): "wait" or "both"
    controller: str = "ECS"  # deploymentController.type; CODE_DEPLOY services run task sets (tasksets.py)

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

    def unthrottle(self) -> None:
        """Launch tasks without the back-off of failed starts again (see ``throttle.py``)."""
        self.start_failures, self.launch_not_before, self.throttle_reported = 0, None, False


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

    def service_of(self, task: Task) -> Service | None:
        """The service that started ``task``; None for a task of RunTask."""
        return self.services.get(task.service_key) if task.service_key else None

    def deployment_of(self, task: Task) -> Deployment | None:
        """The deployment that started ``task``; None for a task of RunTask or of a deployment gone since."""
        service = self.service_of(task)
        if service is None:
            return None
        return next((d for d in service.deployments if d.id == task.deployment_id), None)

    def service_tasks(self, service: Service) -> list[Task]:
        """The tasks of ``service`` not yet forgotten (a STOPPED task is kept for ``stopped_retention``)."""
        return [self.tasks[i] for i in service.task_ids if i in self.tasks]


# Services and deployments -------------------------------------------------------------------------------------


def create_service(state: RegionState, service: Service, taskdef: TaskDefinitionInfo, rng: random.Random,
                   now: float) -> None:
    """CreateService's effect: ``service`` is stored, its first deployment PRIMARY on ``taskdef``."""
    add_deployment(service, new_deployment(service, taskdef, rng, now))
    state.services[service.key] = service


def update_service(service: Service, *, taskdef: TaskDefinitionInfo | None, desired: int | None,
                   config: DeploymentConfiguration, shape: dict[str, Any], echoed: dict[str, Any], force: bool,
                   rng: random.Random, now: float) -> None:
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
        add_deployment(service, new_deployment(service, taskdef or primary.task_definition, rng, now))
    else:
        primary.updated_at = now


def delete_service(service: Service) -> None:
    """DeleteService's effect: desiredCount 0 and DRAINING; the scheduler stops its tasks, then it is INACTIVE."""
    service.desired_count = 0
    service.status = "DRAINING"
    service.steady = False


def new_deployment(service: Service, taskdef: TaskDefinitionInfo, rng: random.Random, now: float) -> Deployment:
    """A deployment of ``taskdef`` created at ``now``, with the service's launch type and network configuration."""
    return Deployment(new_deployment_id(rng), taskdef, now, now, service.launch_type,
                      service.platform_version, service.network_configuration,
                      capacity_provider_strategy=service.extra.get("capacityProviderStrategy"))


def add_deployment(service: Service, deployment: Deployment) -> None:
    """Make ``deployment`` PRIMARY; the others become ACTIVE and drain. A new task definition ends the throttling
    of failed starts, as on ECS."""
    if service.deployments and deployment.task_definition.arn != service.primary.task_definition.arn:
        service.unthrottle()
    for old in service.deployments:
        old.status = "ACTIVE"
    service.deployments.insert(0, deployment)
    service.steady = False
    service.stuck_reported = False


# The circuit breaker ------------------------------------------------------------------------------------------

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


def record_failure(state: RegionState, task: Task, t: float, rng: random.Random) -> None:
    """A task of a service failed at ``t`` (a container could not start, an essential one exited, or the task
    failed its health checks): its deployment counts it until one of its tasks has run healthy; with the
    circuit breaker on, the PRIMARY deployment fails at :func:`breaker_threshold` failures and, with rollback
    on (and unless it is itself a rollback), a new deployment of the last completed one's task definition
    becomes PRIMARY."""
    service = state.service_of(task)
    deployment = state.deployment_of(task)
    if service is None or deployment is None or deployment.succeeded or deployment.rollout_state == "FAILED":
        return
    deployment.failed_tasks += 1
    deployment.updated_at = t
    breaker = service.config.breaker_enable and deployment.rollout_state == "IN_PROGRESS"
    tripped = deployment.failed_tasks >= breaker_threshold(service.desired_count, service.config.breaker_threshold)
    if breaker and tripped and deployment is service.primary:
        _fail_deployment(service, deployment, t, rng)


def record_healthy(state: RegionState, task: Task) -> None:
    """A task of a service runs healthy: its deployment has succeeded, and its failed tasks stop counting."""
    deployment = state.deployment_of(task)
    if deployment is not None and not deployment.succeeded:
        deployment.succeeded = True
        deployment.failed_tasks = 0


def _fail_deployment(service: Service, deployment: Deployment, t: float, rng: random.Random) -> None:
    deployment.rollout_state = "FAILED"
    deployment.rollout_state_reason = events.BREAKER_FAILED_REASON
    deployment.updated_at = t
    service.add_event(t, events.DEPLOYMENT_FAILED.format(deployment=deployment.id))
    target = service.last_completed
    if not service.config.breaker_rollback or target is None or deployment.is_rollback:
        return
    if service.hold is not None:  # a blue/green deployment rolls back by moving traffic back (bluegreen.py)
        return
    service.add_event(t, events.ROLLING_BACK.format(deployment=target.id))
    rollback = Deployment(new_deployment_id(rng), target.task_definition, t, t, deployment.launch_type,
                          deployment.platform_version, deployment.network_configuration, is_rollback=True,
                          rollout_state_reason=events.ROLLBACK_REASON.format(deployment=target.id),
                          capacity_provider_strategy=deployment.capacity_provider_strategy)
    add_deployment(service, rollback)
