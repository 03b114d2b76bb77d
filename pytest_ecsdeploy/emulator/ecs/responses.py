"""The ECS rollout engine: the ECS actions moto does not roll out, answered the way ECS answers them.

The HTTP middleware sends every ECS JSON request whose action is in :data:`ACTIONS` (the one table of what the
engine answers: operation name -> handler) to :meth:`RolloutEngine.handle`; everything else (clusters, task
definitions, ECR, ELBv2...) stays with moto, whose state the engine reads through ``moto_state`` for clusters,
task definitions, image digests and target groups::

    engine = RolloutEngine(clock=FakeClock())
    engine.handle("CreateService", "123456789012", "us-east-1",
                  {"cluster": "local", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": 2})
    engine.clock.advance(3); engine.tick()
    engine.handle("DescribeServices", "123456789012", "us-east-1", {"cluster": "local", "services": ["web"]})

This module parses and checks requests and shapes responses; ``simulation.py`` makes the changes and moves
time, ``models.py`` holds the state and the rules (what CreateService, UpdateService or a failed task does to
it), ``exceptions.py`` the errors; ``launching.py`` puts RunTask's and StartTask's tasks on their capacity
providers, container instances and network interfaces.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .. import moto_state
from ..clock import Clock, RealClock, Timings
from ..codedeploy import responses as codedeploy_responses
from ..runners.base import Runner, split_ecr_image, split_reference
from ..runners.simulated import SimulatedRunner
from . import bluegreen, capacity, launching, network, tasksets, traffic
from .exceptions import (
    ClientException,
    ClusterNotFoundException,
    InvalidParameterException,
    ServiceNotActiveException,
    ServiceNotFoundException,
    UnknownOperationException,
)
from .models import (
    THRESHOLD_TYPES,
    Deployment,
    DeploymentConfiguration,
    RegionState,
    Service,
    Task,
    TaskDefinitionInfo,
    ThresholdConfiguration,
)
from .refusals import check_delete_cluster, check_network, launch_type_or_strategy, require_network_configuration
from .simulation import Simulation

log = logging.getLogger(__name__)

# Fields CreateService and UpdateService take and DescribeServices echoes, with no effect on the rollout.
_ECHOED = ("healthCheckGracePeriodSeconds", "enableExecuteCommand", "propagateTags", "serviceRegistries",
           "placementConstraints", "placementStrategy", "capacityProviderStrategy")
Params = dict[str, Any]
_Found = TypeVar("_Found")


def image_aliases(image: str) -> tuple[str, ...]:
    """Other names the local ECR knows for an ECR image: its digest, and ``repository:tag`` for each tag."""
    ecr = split_ecr_image(image)
    if ecr is None:
        return ()
    account, region, path = ecr
    name, tag, digest = split_reference(path)
    found = moto_state.ecr_image(account, region, name, tag=tag, digest=digest)
    if found is None:
        return ()
    found_digest, tags = found
    short = name.rsplit("/", 1)[-1]
    return (found_digest, *(f"{short}:{t}" for t in tags))


def _int(params: Params, key: str, default: int | None = None, *, minimum: int = 0) -> int | None:
    value = params.get(key, default)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidParameterException(f"{key} must be an integer greater than or equal to {minimum}.")
    return value


def deployment_configuration(params: Params, current: DeploymentConfiguration | None) -> DeploymentConfiguration:
    """The ``deploymentConfiguration`` of a CreateService or UpdateService request, checked; what it leaves out
    keeps its ``current`` value (CreateService: ECS's defaults). Raises InvalidParameterException."""
    base = current or DeploymentConfiguration()
    given = params.get("deploymentConfiguration") or {}
    breaker = given.get("deploymentCircuitBreaker") or {}
    config = DeploymentConfiguration(
        minimum_healthy_percent=_int(given, "minimumHealthyPercent", base.minimum_healthy_percent) or 0,
        maximum_percent=_int(given, "maximumPercent", base.maximum_percent) or 0,
        breaker_enable=bool(breaker.get("enable", base.breaker_enable)),
        breaker_rollback=bool(breaker.get("rollback", base.breaker_rollback)),
        breaker_threshold=_threshold(breaker["thresholdConfiguration"]) if "thresholdConfiguration" in breaker
        else base.breaker_threshold,
        **bluegreen.parse(given, base),
    )
    if config.minimum_healthy_percent > 100:
        raise InvalidParameterException("minimumHealthyPercent must be between 0 and 100.")
    if config.maximum_percent < config.minimum_healthy_percent:
        raise InvalidParameterException("maximumPercent must not be lower than minimumHealthyPercent.")
    return config


def _threshold(given: Any) -> ThresholdConfiguration:
    """``deploymentCircuitBreaker.thresholdConfiguration`` checked: a type of THRESHOLD_TYPES (default
    BOUNDED_PERCENT) and a value that is an integer of 0 or more (default 50)."""
    if not isinstance(given, dict):
        raise InvalidParameterException("thresholdConfiguration must be an object with a type and a value.")
    kind = given.get("type", "BOUNDED_PERCENT")
    if kind not in THRESHOLD_TYPES:
        raise InvalidParameterException(f"thresholdConfiguration type must be one of {', '.join(THRESHOLD_TYPES)}.")
    return ThresholdConfiguration(str(kind), _int(given, "value", 50) or 0)


def _name(reference: str) -> str:
    return reference.rsplit("/", 1)[-1]


def _find_each(state: RegionState, cluster: str, params: Params, kind: str, limit: int, names: str,
              find: Callable[[str], _Found | None]) -> tuple[list[_Found], list[Params]]:
    """What DescribeServices and DescribeTasks find: ``params[kind + "s"]`` lists 1 to ``limit`` references
    (``names`` or ARNs; else InvalidParameterException), each found by ``find``, or else a failure: its ARN
    (built in ``cluster`` when a name or id is given) and reason MISSING."""
    references = params.get(f"{kind}s")
    if not isinstance(references, list) or not 1 <= len(references) <= limit:
        raise InvalidParameterException(f"{kind}s must list between 1 and {limit} {names} or ARNs.")
    found, failures = [], []
    for reference in references:
        item = find(str(reference))
        if item is None:
            arn = f"arn:aws:ecs:{state.region}:{state.account}:{kind}/{cluster}/{reference}"
            failures.append({"arn": reference if str(reference).startswith("arn:") else arn, "reason": "MISSING"})
        else:
            found.append(item)
    return found, failures


def _page(items: list[str], params: Params, default: int, limit: int = 100) -> Params:
    """One page of sorted ``items`` (ARNs): ``nextToken`` is the last ARN returned, encoded."""
    size = _int(params, "maxResults", default, minimum=1) or default
    if size > limit:
        raise InvalidParameterException(f"maxResults must be between 1 and {limit}.")
    items = sorted(items)
    token = params.get("nextToken")
    if token:
        try:
            after = json.loads(base64.urlsafe_b64decode(str(token).encode()))["after"]
            if not isinstance(after, str):
                raise TypeError(after)
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise InvalidParameterException("Invalid nextToken.") from None
        items = [item for item in items if item > after]
    page: Params = {"items": items[:size]}
    if len(items) > size:
        page["nextToken"] = base64.urlsafe_b64encode(json.dumps({"after": items[size - 1]}).encode()).decode()
    return page


class RolloutEngine:
    """ECS services, deployments and tasks on top of moto, moving in simulated time.

    ``clock`` gives simulated time (default ``RealClock()``), ``runner`` runs task containers (default a
    :class:`SimulatedRunner` using ``timings``). :meth:`start` runs a background ticker so state advances
    whether or not a client polls; with a ``FakeClock`` call :meth:`tick` after ``advance()`` instead.
    Every public method takes the engine's lock: clients only ever see a state between two changes.
    """

    def __init__(self, *, clock: Clock | None = None, runner: Runner | None = None, timings: Timings | None = None,
                 tick_interval: float = 0.025, seed: int | None = None) -> None:
        self.clock: Clock = clock or RealClock()
        self.timings = timings or Timings()
        self.runner: Runner = runner if runner is not None else SimulatedRunner(self.timings)
        self.tick_interval = tick_interval
        self._lock = threading.RLock()
        self._sim = Simulation(self.runner, self.timings, moto_state.Elbv2Targets(), image_aliases,
                               random.Random(seed), self.clock.now())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # Lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background ticker thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ecs-rollout-engine", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the ticker and the runner."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.runner.close()

    def __enter__(self) -> RolloutEngine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while not self._stop.wait(self.tick_interval):
            try:
                self.tick()
            except Exception:  # keep ticking: a client's next request still gets an answer; the log has why
                log.exception("rollout engine tick failed")

    @property
    def now(self) -> float:
        """The simulated time the state has been advanced to."""
        with self._lock:
            return self._sim.now

    def tick(self) -> None:
        """Advance every service and task to ``clock.now()``."""
        with self._lock:
            self._sim.advance_to(self.clock.now())

    def next_change(self) -> float | None:
        """After advancing to ``clock.now()``: the simulated time (epoch seconds) of the next state change the
        clock alone brings, None when nothing is due until an action comes; a test on a FakeClock can move
        straight to it (``FakeClock.advance_to``) instead of looking at every step in between."""
        with self._lock:
            self._sim.advance_to(self.clock.now())
            return self._sim.next_due()

    # The seam with the HTTP side ----------------------------------------------------------------------------

    def handle(self, action: str, account: str, region: str, params: Params) -> Params:
        """Answer one ECS action; ``params`` is the JSON request body, the result the JSON response body."""
        found = ACTIONS.get(action)
        if found is None:
            raise UnknownOperationException(f"The rollout engine does not implement {action}.")
        with self._lock:
            self._sim.advance_to(self.clock.now())
            try:
                return found.handler(self, self._sim.region(account, region), params or {})
            finally:
                if found.mutating:
                    self._sim.dirty = True
                    self._sim.advance_to(self._sim.now)  # the scheduler reacts at the instant of the request

    def handle_codedeploy(self, action: str, account: str, region: str, params: Params) -> Params:
        """Answer one CodeDeploy action of ``codedeploy.responses.ACTIONS`` (the local CodeDeploy plays its
        deployments on this engine's clock and task sets)."""
        found = codedeploy_responses.ACTIONS.get(action)
        if found is None:
            raise UnknownOperationException(f"The local CodeDeploy does not implement {action}.")
        with self._lock:
            self._sim.advance_to(self.clock.now())
            try:
                return found.handler(self._sim, self._sim.region(account, region), params or {})
            finally:
                if found.mutating:
                    self._sim.dirty = True
                    self._sim.advance_to(self._sim.now)

    def set_codedeploy_hook(self, function: str, result: str) -> None:
        """The result (Succeeded or Failed) CodeDeploy hooks naming Lambda ``function`` give from now on."""
        with self._lock:
            self._sim.codedeploy.set_hook_result(function, result)

    def set_image_behaviour(self, image: str, behaviour: str, **params: Any) -> None:
        """Set the outcome of tasks running ``image``; see :class:`SimulatedRunner`."""
        setter = getattr(self.runner, "set_image_behaviour", None)
        if setter is None:
            raise TypeError(f"the {type(self.runner).__name__} runner does not take image behaviours")
        setter(image, behaviour, **params)

    def set_hook_answers(self, function: str, answers: list[str], call_back_delay: float = 30.0) -> None:
        """What the Lambda function ``function`` (name or ARN) of AWS_LAMBDA lifecycle hooks answers, invocation
        after invocation (``bluegreen.HookAnswers``); raises ValueError for answers ECS would not take."""
        with self._lock:
            self._sim.service_deployments.hook_answers.set(function, answers, call_back_delay)

    def seed_service(self, account: str, region: str, params: Params) -> Params:
        """Create a service (CreateService parameters) already steady on its first revision."""
        with self._lock:
            self._sim.advance_to(self.clock.now())
            state = self._sim.region(account, region)
            response = self._create_service(state, params)
            service = state.services[(_name(response["service"]["clusterArn"]), params["serviceName"])]
            self._sim.seed_tasks(state, service)
            self._sim.dirty = True
            return {"service": self._service_json(state, service)}

    # What moto's ECS backend asks (moto_state.EcsEngine) -------------------------------------------------------

    def cluster_counts(self, account: str, region: str, cluster: str) -> dict[str, int]:
        """DescribeClusters' counts for cluster ``cluster`` (a name): services ACTIVE, tasks RUNNING, and tasks
        PROVISIONING, PENDING or ACTIVATING (ECS's pendingTasksCount)."""
        with self._lock:
            self._sim.advance_to(self.clock.now())
            state = self._sim.regions.get((account, region))
            services = [s for s in state.services.values() if s.cluster_name == cluster] if state else []
            tasks = [t for t in state.tasks.values() if t.cluster_name == cluster] if state else []
            counts = _counts(tasks)
            return {"activeServicesCount": sum(s.status == "ACTIVE" for s in services),
                    "runningTasksCount": counts["runningCount"], "pendingTasksCount": counts["pendingCount"]}

    def check_delete_cluster(self, account: str, region: str, cluster: str, container_instances: int) -> None:
        """Refuse DeleteCluster of cluster ``cluster`` (a name) as ECS does: see refusals.check_delete_cluster."""
        with self._lock:
            self._sim.advance_to(self.clock.now())
            state = self._sim.regions.get((account, region))
            services = sum(s.cluster_name == cluster and s.status != "INACTIVE"
                           for s in state.services.values()) if state else 0
            tasks = sum(t.cluster_name == cluster and t.live for t in state.tasks.values()) if state else 0
            check_delete_cluster(container_instances, services, tasks)

    def _tagged(self, account: str, region: str, arn: str) -> Service | Task | None:
        state = self._sim.regions.get((account, region))
        kind, _, rest = arn.split(":", 5)[-1].partition("/")
        if state is None or kind not in ("service", "task"):
            return None
        cluster, _, name = rest.rpartition("/")
        if kind == "task":
            task = state.tasks.get(name)
            return task if task is not None and task.arn == arn else None
        service = state.services.get((cluster, name))
        return service if service is not None and service.arn == arn and service.status != "INACTIVE" else None

    def resource_tags(self, account: str, region: str, arn: str) -> list[dict[str, str]] | None:
        """The tags of the service or task ``arn``; None when there is no such service (not INACTIVE) or task."""
        with self._lock:
            found = self._tagged(account, region, arn)
            if found is None:
                return None
            return [dict(tag) for tag in (found.tags if isinstance(found, Task) else found.extra.get("tags", []))]

    def set_resource_tags(self, account: str, region: str, arn: str, tags: list[dict[str, str]]) -> None:
        """Replace the tags of the service or task ``arn`` (TagResource and UntagResource have merged them)."""
        with self._lock:
            found = self._tagged(account, region, arn)
            if isinstance(found, Task):
                found.tags = [dict(tag) for tag in tags]
            elif found is not None:
                found.extra["tags"] = [dict(tag) for tag in tags]

    def tagged_resources(self, account: str, region: str) -> list[tuple[str, str, list[dict[str, str]]]]:
        """(ARN, ``ecs:service`` or ``ecs:task``, tags) of every service not INACTIVE and every task kept."""
        with self._lock:
            state = self._sim.regions.get((account, region))
            if state is None:
                return []
            services = [(s.arn, "ecs:service", list(s.extra.get("tags", []))) for s in state.services.values()
                        if s.status != "INACTIVE"]
            return services + [(t.arn, "ecs:task", list(t.tags)) for t in state.tasks.values()]

    def snapshot(self) -> Params:
        """Every service (with deployments and events) and task, as DescribeServices / DescribeTasks show them."""
        with self._lock:
            self._sim.advance_to(self.clock.now())
            result: Params = {}
            for (account, region), state in sorted(self._sim.regions.items()):
                services = sorted(state.services.items())
                tasks = sorted(state.tasks.values(), key=lambda t: t.arn)
                result[f"{account}/{region}"] = {
                    "services": {f"{c}/{n}": self._service_json(state, s, tags=True) for (c, n), s in services},
                    "tasks": {t.arn: self._task_json(t, tags=True) for t in tasks},
                }
            return result

    # moto lookups ---------------------------------------------------------------------------------------------

    def _cluster(self, state: RegionState, reference: str | None, *, active: bool = True) -> moto_state.EcsCluster:
        cluster = moto_state.ecs_cluster(state.account, state.region, _name(reference or "default"))
        if cluster is None:
            raise ClusterNotFoundException()
        if active and cluster.status != "ACTIVE":
            raise ClusterNotFoundException.inactive()
        return cluster

    def _task_definition(self, state: RegionState, reference: Any) -> TaskDefinitionInfo:
        if not isinstance(reference, str) or not reference:
            raise ClientException("TaskDefinition not found.")
        name = _name(reference) if reference.startswith("arn:") else reference
        family, _, revision = name.partition(":")
        if revision and not revision.isdigit():
            raise ClientException("TaskDefinition not found.")
        found = moto_state.ecs_task_definition(state.account, state.region, family, int(revision) if revision else None)
        if found is None:
            raise ClientException("TaskDefinition not found.")
        if found.status != "ACTIVE":
            raise ClientException("TaskDefinition is inactive")
        return TaskDefinitionInfo(
            found.arn, found.family, found.revision, tuple(found.container_definitions), found.cpu, found.memory,
            found.network_mode, found.requires_compatibilities,
        )

    def _service(self, state: RegionState, params: Params, key: str = "service", *, active: bool = True) -> Service:
        cluster = self._cluster(state, params.get("cluster"), active=active)
        reference = params.get(key)
        if not isinstance(reference, str) or not reference:
            raise InvalidParameterException(f"{key} must be specified.")
        service = state.services.get((cluster.name, _name(reference)))
        if service is None:
            raise ServiceNotFoundException()
        if active and service.status != "ACTIVE":
            raise ServiceNotActiveException()
        return service

    # Services -------------------------------------------------------------------------------------------------

    def _launch_type(self, params: Params, taskdef: TaskDefinitionInfo,
                     strategy: capacity.Strategy | None = None) -> str:
        if strategy is not None:
            return "FARGATE" if strategy.fargate else "EC2"
        launch_type = params.get("launchType")
        if launch_type is None:
            compatibilities = taskdef.requires_compatibilities
            return "FARGATE" if "FARGATE" in compatibilities and "EC2" not in compatibilities else "EC2"
        if launch_type not in ("EC2", "FARGATE", "EXTERNAL"):
            raise InvalidParameterException(f"launchType should be one of [EC2,FARGATE,EXTERNAL], got {launch_type}.")
        return str(launch_type)

    def _create_service(self, state: RegionState, params: Params) -> Params:
        name = params.get("serviceName")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", name):
            raise InvalidParameterException("serviceName must be up to 255 letters, numbers, underscores and hyphens.")
        cluster = self._cluster(state, params.get("cluster"))
        existing = state.services.get((cluster.name, name))
        if existing is not None and existing.status != "INACTIVE":
            raise InvalidParameterException("Creation of service was not idempotent.")
        controller = (params.get("deploymentController") or {}).get("type", "ECS")
        if controller not in tasksets.CONTROLLERS:
            message = (f"The local ECS engine supports only the ECS and CODE_DEPLOY deployment controllers, "
                       f"not {controller}.")
            raise InvalidParameterException(message)
        if params.get("schedulingStrategy", "REPLICA") != "REPLICA":
            raise InvalidParameterException("The local ECS engine supports only the REPLICA scheduling strategy.")
        if not params.get("taskDefinition"):
            raise InvalidParameterException("TaskDefinition must be specified for the ECS deployment controller.")
        taskdef = self._task_definition(state, params["taskDefinition"])
        launch_type_or_strategy(params)
        require_network_configuration(taskdef.network_mode, params.get("networkConfiguration"))
        check_network(state.account, state.region, params.get("networkConfiguration"))
        desired = _int(params, "desiredCount", 0) or 0
        traffic.check(params.get("loadBalancers"))
        config = deployment_configuration(params, None)
        now = self._sim.now
        strategy = capacity.strategy_for(state.account, state.region, cluster.name, params)
        launch_type = self._launch_type(params, taskdef, strategy)
        platform = params.get("platformVersion") or ("LATEST" if launch_type == "FARGATE" else None)
        service = Service(
            state.account, state.region, name, cluster.name, cluster.arn, desired, now, launch_type, platform,
            load_balancers=list(params.get("loadBalancers") or []), config=config,
            network_configuration=params.get("networkConfiguration"),
            extra={k: params[k] for k in ("role", "tags", "enableECSManagedTags", *_ECHOED) if k in params},
        )
        if strategy is not None:
            service.extra["capacityProviderStrategy"] = strategy.as_json()
        service.controller = controller
        self._sim.create_service(state, service, taskdef)
        return {"service": self._service_json(state, service)}

    def _update_service(self, state: RegionState, params: Params) -> Params:
        service = self._service(state, params)
        if service.controller != "ECS":
            tasksets.check_update(params)
        taskdef = self._task_definition(state, params["taskDefinition"]) if params.get("taskDefinition") else None
        if taskdef is not None:
            require_network_configuration(taskdef.network_mode,
                                          params.get("networkConfiguration") or service.network_configuration)
        check_network(state.account, state.region, params.get("networkConfiguration"))
        desired = _int(params, "desiredCount")
        traffic.check(params.get("loadBalancers"))
        config = deployment_configuration(params, service.config)
        shape = {attribute: params[key] for key, attribute in (("loadBalancers", "load_balancers"),
                                                                ("networkConfiguration", "network_configuration"))
                 if key in params}
        if params.get("platformVersion"):
            shape["platform_version"] = params["platformVersion"]
        echoed = {k: params[k] for k in _ECHOED if k in params}
        force = bool(params.get("forceNewDeployment"))
        if params.get("capacityProviderStrategy"):  # a new strategy is a new deployment, as on ECS
            strategy = capacity.checked(state.account, state.region, service.cluster_name,
                                        params["capacityProviderStrategy"])
            echoed["capacityProviderStrategy"] = strategy.as_json()
            shape["launch_type"] = "FARGATE" if strategy.fargate else "EC2"
            force = force or strategy.as_json() != service.extra.get("capacityProviderStrategy")
        self._sim.update_service(service, taskdef=taskdef, desired=desired, config=config, shape=shape,
                                 echoed=echoed, force=force)
        return {"service": self._service_json(state, service)}

    # Service deployments (service_deployments.py) -------------------------------------------------------------

    def _list_service_deployments(self, state: RegionState, params: Params) -> Params:
        return self._sim.service_deployments.list_deployments(self._service(state, params, active=False), params)

    def _describe_service_deployments(self, state: RegionState, params: Params) -> Params:
        return self._sim.service_deployments.describe_deployments(state, params)

    def _describe_service_revisions(self, state: RegionState, params: Params) -> Params:
        return self._sim.service_deployments.describe_revisions(state, params)

    def _stop_service_deployment(self, state: RegionState, params: Params) -> Params:
        return self._sim.service_deployments.stop(state, params, self._sim.now)

    def _continue_service_deployment(self, state: RegionState, params: Params) -> Params:
        return self._sim.service_deployments.continue_deployment(state, params, self._sim.now)

    def _describe_task_sets(self, state: RegionState, params: Params) -> Params:
        return tasksets.describe(state, self._service(state, params, active=False), params.get("taskSets"))

    def _describe_services(self, state: RegionState, params: Params) -> Params:
        cluster = self._cluster(state, params.get("cluster"), active=False)
        services, failures = _find_each(state, cluster.name, params, "service", 10, "service names",
                                       lambda reference: state.services.get((cluster.name, _name(reference))))
        tags = "TAGS" in (params.get("include") or [])
        return {"services": [self._service_json(state, s, tags=tags) for s in services], "failures": failures}

    def _delete_service(self, state: RegionState, params: Params) -> Params:
        service = self._service(state, params)
        if service.desired_count > 0 and not params.get("force"):
            raise InvalidParameterException("The service cannot be stopped while it is scaled above 0.")
        self._sim.delete_service(service)
        return {"service": self._service_json(state, service)}

    def _list_services(self, state: RegionState, params: Params) -> Params:
        cluster = self._cluster(state, params.get("cluster"), active=False)
        arns = [
            s.arn for s in state.services.values()
            if s.cluster_name == cluster.name and s.status != "INACTIVE"
            and params.get("launchType") in (None, s.launch_type)
            and params.get("schedulingStrategy") in (None, "REPLICA")
        ]
        page = _page(arns, params, default=10)
        return {"serviceArns": page.pop("items"), **page}

    # Tasks ----------------------------------------------------------------------------------------------------

    def _run_task(self, state: RegionState, params: Params) -> Params:
        cluster = self._cluster(state, params.get("cluster"))
        taskdef = self._task_definition(state, params.get("taskDefinition"))
        launch_type_or_strategy(params)
        require_network_configuration(taskdef.network_mode, params.get("networkConfiguration"))
        check_network(state.account, state.region, params.get("networkConfiguration"))
        count = _int(params, "count", 1, minimum=1) or 1
        if count > 10:
            raise InvalidParameterException("count must be between 1 and 10.")
        started_by = params.get("startedBy")
        if started_by is not None and (not isinstance(started_by, str) or len(started_by) > 128):
            raise InvalidParameterException("startedBy must be a string of up to 128 characters.")
        strategy = capacity.strategy_for(state.account, state.region, cluster.name, params)
        group, launch_type = params.get("group") or f"family:{taskdef.family}", self._launch_type(params, taskdef,
                                                                                                   strategy)
        tasks, failures = launching.run_tasks(self._sim, state, cluster, taskdef, params, count=count,
                                              launch_type=launch_type, strategy=strategy, group=group,
                                              started_by=started_by)
        return {"tasks": [self._task_json(task) for task in tasks], "failures": failures}

    def _start_task(self, state: RegionState, params: Params) -> Params:
        cluster = self._cluster(state, params.get("cluster"))
        taskdef = self._task_definition(state, params.get("taskDefinition"))
        require_network_configuration(taskdef.network_mode, params.get("networkConfiguration"))
        check_network(state.account, state.region, params.get("networkConfiguration"))
        started_by = params.get("startedBy")
        if started_by is not None and (not isinstance(started_by, str) or len(started_by) > 128):
            raise InvalidParameterException("startedBy must be a string of up to 128 characters.")
        tasks, failures = launching.start_tasks(self._sim, state, cluster, taskdef, params, started_by=started_by,
                                                group=params.get("group") or f"family:{taskdef.family}")
        return {"tasks": [self._task_json(task) for task in tasks], "failures": failures}

    def _find_task(self, state: RegionState, cluster_name: str, reference: str) -> Task | None:
        task = state.tasks.get(_name(reference))
        if task is None or task.cluster_name != cluster_name:
            return None
        return task

    def _stop_task(self, state: RegionState, params: Params) -> Params:
        cluster = self._cluster(state, params.get("cluster"), active=False)
        task = self._find_task(state, cluster.name, str(params.get("task") or ""))
        if task is None:
            raise InvalidParameterException("The referenced task was not found.")
        reason = params.get("reason") or "Task stopped by user"
        self._sim.stop_task(state, task, str(reason))
        return {"task": self._task_json(task)}

    def _list_tasks(self, state: RegionState, params: Params) -> Params:
        cluster = self._cluster(state, params.get("cluster"), active=False)
        desired = params.get("desiredStatus") or "RUNNING"
        if desired not in ("RUNNING", "PENDING", "STOPPED"):
            raise InvalidParameterException("desiredStatus must be one of RUNNING, PENDING, STOPPED.")
        service_name = params.get("serviceName")
        if service_name and (cluster.name, _name(service_name)) not in state.services:
            raise ServiceNotFoundException()
        arns = [
            task.arn for task in state.tasks.values()
            if task.cluster_name == cluster.name and task.desired_status == desired
            and (not service_name or task.service_key == (cluster.name, _name(service_name)))
            and params.get("family") in (None, task.task_definition.family)
            and params.get("startedBy") in (None, task.started_by)
            and params.get("launchType") in (None, task.launch_type)
            and _name(str(params.get("containerInstance") or "")) in ("", _name(task.container_instance_arn or ""))
        ]
        page = _page(arns, params, default=100)
        return {"taskArns": page.pop("items"), **page}

    def _describe_tasks(self, state: RegionState, params: Params) -> Params:
        cluster = self._cluster(state, params.get("cluster"), active=False)
        tasks, failures = _find_each(state, cluster.name, params, "task", 100, "task IDs",
                                    lambda reference: self._find_task(state, cluster.name, reference))
        tags = "TAGS" in (params.get("include") or [])
        return {"tasks": [self._task_json(t, tags=tags) for t in tasks], "failures": failures}

    # Response shapes ------------------------------------------------------------------------------------------

    def _service_json(self, state: RegionState, service: Service, *, tags: bool = False) -> Params:
        tasks = state.service_tasks(service)
        config, extra = service.config, service.extra
        body: Params = {
            "serviceArn": service.arn, "serviceName": service.name, "clusterArn": service.cluster_arn,
            "loadBalancers": service.load_balancers, "serviceRegistries": extra.get("serviceRegistries", []),
            "status": service.status, "desiredCount": service.desired_count, **_counts(tasks),
            "launchType": service.launch_type, "taskDefinition": service.task_definition_arn,
            "deploymentConfiguration": {
                "deploymentCircuitBreaker": _with(
                    {"enable": config.breaker_enable, "rollback": config.breaker_rollback},
                    thresholdConfiguration=None if config.breaker_threshold is None else {
                        "type": config.breaker_threshold.type, "value": config.breaker_threshold.value},
                ),
                "maximumPercent": config.maximum_percent, "minimumHealthyPercent": config.minimum_healthy_percent,
                **bluegreen.configuration_json(config),
            },
            "deployments": [self._deployment_json(service, d, tasks) for d in service.deployments
                            if service.controller == "ECS"],
            "events": [{"id": e.id, "createdAt": e.created_at, "message": e.message} for e in service.events],
            "createdAt": service.created_at,
            "placementConstraints": extra.get("placementConstraints", []),
            "placementStrategy": extra.get("placementStrategy", []),
            "schedulingStrategy": "REPLICA", "deploymentController": {"type": service.controller},
            "createdBy": f"arn:aws:iam::{service.account}:root",
            "enableECSManagedTags": bool(extra.get("enableECSManagedTags", False)),
            "propagateTags": extra.get("propagateTags", "NONE"),
            "enableExecuteCommand": bool(extra.get("enableExecuteCommand", False)),
        }
        if service.launch_type == "FARGATE":
            body.update(platformVersion=service.platform_version, platformFamily="Linux")
        if extra.get("capacityProviderStrategy"):
            del body["launchType"]  # ECS shows one or the other
        role = extra.get("role")
        grace = extra.get("healthCheckGracePeriodSeconds", 0 if service.load_balancers else None)
        return _with(
            body, capacityProviderStrategy=extra.get("capacityProviderStrategy"),
            networkConfiguration=service.network_configuration or None, healthCheckGracePeriodSeconds=grace,
            roleArn=role if not role or role.startswith("arn:") else f"arn:aws:iam::{service.account}:role/{role}",
            taskSets=[tasksets.task_set_json(state, service, s) for s in service.deployments]
            if service.controller != "ECS" else None,
            currentServiceDeployment=self._sim.service_deployments.current_arn(service),
            currentServiceRevisions=self._sim.service_deployments.current_revisions(state, service),
            tags=extra.get("tags", []) if tags else None,
        )

    @staticmethod
    def _deployment_json(service: Service, deployment: Deployment, tasks: list[Task]) -> Params:
        mine = [t for t in tasks if t.deployment_id == deployment.id]
        body: Params = {
            "id": deployment.id, "status": deployment.status, "taskDefinition": deployment.task_definition.arn,
            "desiredCount": service.desired_count if deployment is service.primary else sum(t.wanted for t in mine),
            **_counts(mine), "failedTasks": deployment.failed_tasks,
            "createdAt": deployment.created_at, "updatedAt": deployment.updated_at,
            "launchType": deployment.launch_type, "rolloutState": deployment.rollout_state,
            "rolloutStateReason": deployment.rollout_state_reason,
        }
        if deployment.launch_type == "FARGATE":
            body.update(platformVersion=deployment.platform_version, platformFamily="Linux")
        if deployment.capacity_provider_strategy:
            del body["launchType"]
        return _with(body, networkConfiguration=deployment.network_configuration or None,
                     capacityProviderStrategy=deployment.capacity_provider_strategy or None)

    @staticmethod
    def _task_json(task: Task, *, tags: bool = False) -> Params:
        taskdef = task.task_definition
        containers = [
            _with(
                {
                    "containerArn": c.arn, "taskArn": task.arn, "name": c.spec.name, "image": c.spec.image,
                    "lastStatus": c.last_status, "networkBindings": [], "healthStatus": c.health_status,
                    "networkInterfaces": [{"attachmentId": task.attachment_id or task.id,
                                           "privateIpv4Address": task.private_ip}],
                    "cpu": str(c.spec.definition.get("cpu", 0)),
                },
                imageDigest=c.image_digest, runtimeId=c.runtime_id, exitCode=c.exit_code, reason=c.reason,
                memory=None if c.spec.definition.get("memory") is None else str(c.spec.definition["memory"]),
            )
            for c in task.containers
        ]
        overrides = task.overrides.get("containerOverrides") or [{"name": c.spec.name} for c in task.containers]
        body: Params = {
            "attachments": [], "attributes": [{"name": "ecs.cpu-architecture", "value": "x86_64"}],
            "availabilityZone": f"{task.region}a", "clusterArn": task.cluster_arn, "connectivity": "CONNECTED",
            "containers": containers, "createdAt": task.created_at, "desiredStatus": task.desired_status,
            "enableExecuteCommand": False, "group": task.group, "healthStatus": task.health_status,
            "lastStatus": task.last_status, "launchType": task.launch_type,
            "overrides": {"containerOverrides": overrides, "inferenceAcceleratorOverrides": []},
            "taskArn": task.arn, "taskDefinitionArn": taskdef.arn, "version": task.version,
        }
        if task.launch_type == "FARGATE":
            body.update(platformVersion="1.4.0", platformFamily="Linux", ephemeralStorage={"sizeInGiB": 20})
        interface = network.attachment_json(task)
        if interface is not None:
            body["attachments"] = [interface]
        elif taskdef.network_mode == "awsvpc" or task.launch_type == "FARGATE":
            details = [{"name": "privateIPv4Address", "value": task.private_ip}]
            status = "DELETED" if task.last_status == "STOPPED" else "ATTACHED"
            eni = {"id": task.id, "type": "ElasticNetworkInterface", "status": status, "details": details}
            body["attachments"] = [eni]
        if task.capacity_provider:
            del body["launchType"]  # ECS shows the capacity provider instead
        return _with(
            body, cpu=taskdef.cpu, memory=taskdef.memory, startedBy=task.started_by,
            capacityProviderName=task.capacity_provider, containerInstanceArn=task.container_instance_arn,
            connectivityAt=task.connectivity_at, pullStartedAt=task.pull_started_at,
            pullStoppedAt=task.pull_stopped_at, startedAt=task.started_at,
            stopCode=task.stop_code, stoppedReason=task.stopped_reason, stoppingAt=task.stopping_at,
            executionStoppedAt=task.execution_stopped_at, stoppedAt=task.stopped_at, tags=task.tags if tags else None,
        )


def _with(body: Params, **optional: Any) -> Params:
    """``body`` plus the ``optional`` fields that are set (ECS leaves unset fields out)."""
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def _counts(tasks: list[Task]) -> Params:
    return {
        "runningCount": sum(t.last_status == "RUNNING" for t in tasks),
        "pendingCount": sum(t.last_status in ("PROVISIONING", "PENDING", "ACTIVATING") for t in tasks),
    }


@dataclass(frozen=True)
class Action:
    """One ECS operation the engine answers: its handler (engine, region state, request body -> response body)
    and whether it changes state (the scheduler then reacts at the instant of the request)."""

    handler: Callable[[RolloutEngine, RegionState, Params], Params]
    mutating: bool


#: The one table of what the engine answers, by ECS operation name; the middleware routes these here.
ACTIONS: dict[str, Action] = {
    "CreateService": Action(RolloutEngine._create_service, mutating=True),
    "UpdateService": Action(RolloutEngine._update_service, mutating=True),
    "DeleteService": Action(RolloutEngine._delete_service, mutating=True),
    "DescribeServices": Action(RolloutEngine._describe_services, mutating=False),
    "DescribeTaskSets": Action(RolloutEngine._describe_task_sets, mutating=False),
    "ListServices": Action(RolloutEngine._list_services, mutating=False),
    "RunTask": Action(RolloutEngine._run_task, mutating=True),
    "StartTask": Action(RolloutEngine._start_task, mutating=True),
    "StopTask": Action(RolloutEngine._stop_task, mutating=True),
    "ListTasks": Action(RolloutEngine._list_tasks, mutating=False),
    "DescribeTasks": Action(RolloutEngine._describe_tasks, mutating=False),
    "ListServiceDeployments": Action(RolloutEngine._list_service_deployments, mutating=False),
    "DescribeServiceDeployments": Action(RolloutEngine._describe_service_deployments, mutating=False),
    "DescribeServiceRevisions": Action(RolloutEngine._describe_service_revisions, mutating=False),
    "StopServiceDeployment": Action(RolloutEngine._stop_service_deployment, mutating=True),
    "ContinueServiceDeployment": Action(RolloutEngine._continue_service_deployment, mutating=True),
}
