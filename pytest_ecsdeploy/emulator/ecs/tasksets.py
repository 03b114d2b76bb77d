"""Task sets: how a service on the CODE_DEPLOY deployment controller runs its revisions.

ECS keeps such a service's revisions as task sets (botocore ecs TaskSet), not deployments: CreateService makes one
PRIMARY task set of its task definition, and CodeDeploy adds a replacement task set (``startedBy`` CODE_DEPLOY,
``externalId`` its deployment id), makes it PRIMARY once production traffic is on it, and deletes the original.
The engine keeps each task set as a :class:`Deployment` of the service (``service.deployments``, PRIMARY first),
with its ``scale``; DescribeServices shows them under ``taskSets`` and ``deployments`` stays empty, as ECS shows it
("used only when a service uses the ECS deployment controller type", botocore ecs Deployment).

- :func:`schedule` (the scheduler's pass for such a service) keeps each task set at its ``computedDesiredCount``
  (desiredCount x scale %, rounded up; botocore ecs TaskSet), starting and stopping tasks as the rolling scheduler
  does; a DRAINING task set (deleted) is dropped once its tasks have stopped; ``stabilityStatus`` is STEADY_STATE
  when its running count is its computedDesiredCount, none pending, all healthy (botocore ecs TaskSet);
- :func:`check_update` refuses what UpdateService may not change on such a service, with ECS's message
  (boto/boto3#1936: "Unable to update task definition on services with a CODE_DEPLOY deployment controller. Use
  AWS CodeDeploy to trigger a new deployment."); the same wording for the other fields ECS names is unverified;
- :func:`describe` answers DescribeTaskSets; :func:`add`, :func:`make_primary` and :func:`remove` are what
  CodeDeploy does to them (``emulator/codedeploy``).

CreateTaskSet, UpdateTaskSet, DeleteTaskSet and UpdateServicePrimaryTaskSet (the EXTERNAL controller's calls) are
not answered by the engine.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, Any

from . import events, throttle
from .exceptions import InvalidParameterException
from .models import Deployment, RegionState, Service, Task, TaskDefinitionInfo, new_deployment_id

if TYPE_CHECKING:
    from .scheduler import Scheduler

CONTROLLERS = ("ECS", "CODE_DEPLOY")
NOT_ON_CODE_DEPLOY = ("Unable to update {what} on services with a CODE_DEPLOY deployment controller. "
                      "Use AWS CodeDeploy to trigger a new deployment.")
# UpdateService fields a CODE_DEPLOY service takes only through a CodeDeploy deployment (botocore ecs UpdateService)
_NEEDS_DEPLOYMENT = (("taskDefinition", "task definition"), ("networkConfiguration", "network configuration"),
                     ("platformVersion", "platform version"), ("loadBalancers", "load balancers"),
                     ("capacityProviderStrategy", "capacity provider strategy"),
                     ("forceNewDeployment", "force new deployment"))


def computed_desired(service: Service, task_set: Deployment) -> int:
    """``computedDesiredCount``: the service's desiredCount times the task set's scale percent, rounded up."""
    return math.ceil(service.desired_count * task_set.scale / 100 - 1e-9)


def check_update(params: dict[str, Any]) -> None:
    """Raise InvalidParameterException when an UpdateService request on a CODE_DEPLOY service carries a field only
    a CodeDeploy deployment may change (desiredCount, deploymentConfiguration, placement and the like pass)."""
    for key, what in _NEEDS_DEPLOYMENT:
        if params.get(key):
            raise InvalidParameterException(NOT_ON_CODE_DEPLOY.format(what=what))


def schedule(scheduler: Scheduler, state: RegionState, service: Service, t: float) -> bool:
    """One pass of the scheduler over a task-set service at ``t``; True when it changed anything."""
    tasks = state.service_tasks(service)
    changed = False
    started: list[Task] = []
    stopped: list[Task] = []
    for task_set in list(service.deployments):
        mine = [task for task in tasks if task.deployment_id == task_set.id]
        if task_set.status == "DRAINING" and not any(task.live for task in mine):
            service.deployments.remove(task_set)
            changed = True
            continue
        wanted = [task for task in mine if task.wanted]
        target = 0 if task_set.status == "DRAINING" else computed_desired(service, task_set)
        if len(wanted) > target:
            surplus = sorted(wanted, key=lambda x: (x.serving, x.last_status == "RUNNING", -x.created_at))
            stopped += surplus[: len(wanted) - target]
        elif len(wanted) < target and not throttle.held_back(service, t):
            for _ in range(target - len(wanted)):
                launched = scheduler.launch(state, service, task_set, t)
                if launched is None:
                    break
                started.append(launched)
    if stopped:
        reason = f"Scaling activity initiated by (deployment {service.primary.id})" if service.deployments else ""
        for task in stopped:
            scheduler.lifecycle.request_stop(state, task, t, "ServiceSchedulerInitiated", reason)
        service.add_event(t, events.tasks_stopped([task.id for task in stopped]))
    if started:
        service.add_event(t, events.tasks_started([task.id for task in started]))
    tasks = state.service_tasks(service)
    for task_set in service.deployments:
        mine = [task for task in tasks if task.deployment_id == task_set.id and task.live]
        stable = (len(mine) == computed_desired(service, task_set) and task_set.status != "DRAINING"
                  and all(task.serving for task in mine))
        stability = "STEADY_STATE" if stable else "STABILIZING"
        if stability != task_set.stability:
            task_set.stability, task_set.stability_at = stability, t
            if stable:
                service.add_event(t, f"updated taskSet {task_set.id} state to STEADY_STATE.")
            changed = True
    steady = len(service.deployments) == 1 and service.deployments[0].stability == "STEADY_STATE"
    if steady and not service.steady:
        service.add_event(t, events.STEADY_STATE)
        service.last_steady_event = t
    service.steady = steady
    return changed or bool(started or stopped)


def add(service: Service, taskdef: TaskDefinitionInfo, rng: random.Random, t: float, *, external_id: str | None,
        started_by: str | None, load_balancers: list[dict[str, Any]] | None,
        network_configuration: dict[str, Any] | None = None, platform_version: str | None = None) -> Deployment:
    """A new ACTIVE task set of ``taskdef`` at scale 100 %, after the PRIMARY one; returns it."""
    task_set = Deployment(new_deployment_id(rng), taskdef, t, t, service.launch_type,
                          platform_version or service.platform_version,
                          network_configuration or service.network_configuration, status="ACTIVE",
                          capacity_provider_strategy=service.extra.get("capacityProviderStrategy"),
                          external_id=external_id, started_by=started_by, load_balancers=load_balancers,
                          stability_at=t)
    service.deployments.append(task_set)
    service.steady = False
    return task_set


def make_primary(service: Service, task_set: Deployment, t: float) -> None:
    """``task_set`` serves production: PRIMARY (first), the others ACTIVE (UpdateServicePrimaryTaskSet)."""
    for other in service.deployments:
        if other.status == "PRIMARY":
            other.status, other.updated_at = "ACTIVE", t
    task_set.status, task_set.updated_at = "PRIMARY", t
    service.deployments.remove(task_set)
    service.deployments.insert(0, task_set)


def remove(task_set: Deployment, t: float) -> None:
    """DeleteTaskSet: DRAINING, its tasks stop, and it is gone once none is left."""
    task_set.status, task_set.scale, task_set.updated_at = "DRAINING", 0.0, t


def arn(service: Service, task_set: Deployment) -> str:
    return (f"arn:aws:ecs:{service.region}:{service.account}:task-set/{service.cluster_name}/{service.name}/"
            f"{task_set.id}")


def task_set_json(state: RegionState, service: Service, task_set: Deployment) -> dict[str, Any]:
    """One task set as DescribeTaskSets and DescribeServices show it (botocore ecs TaskSet)."""
    mine = [task for task in state.service_tasks(service) if task.deployment_id == task_set.id]
    body: dict[str, Any] = {
        "id": task_set.id, "taskSetArn": arn(service, task_set), "serviceArn": service.arn,
        "clusterArn": service.cluster_arn, "status": task_set.status,
        "taskDefinition": task_set.task_definition.arn,
        "computedDesiredCount": computed_desired(service, task_set),
        "pendingCount": sum(t.last_status in ("PROVISIONING", "PENDING", "ACTIVATING") for t in mine),
        "runningCount": sum(t.last_status == "RUNNING" for t in mine),
        "createdAt": task_set.created_at, "updatedAt": task_set.updated_at, "launchType": task_set.launch_type,
        "loadBalancers": task_set.load_balancers if task_set.load_balancers is not None else service.load_balancers,
        "serviceRegistries": [], "scale": {"value": task_set.scale, "unit": "PERCENT"},
        "stabilityStatus": task_set.stability, "stabilityStatusAt": task_set.stability_at or task_set.created_at,
    }
    for key, value in (("startedBy", task_set.started_by), ("externalId", task_set.external_id),
                       ("platformVersion", task_set.platform_version if task_set.launch_type == "FARGATE" else None),
                       ("networkConfiguration", task_set.network_configuration or None),
                       ("capacityProviderStrategy", task_set.capacity_provider_strategy or None)):
        if value is not None:
            body[key] = value
    if task_set.capacity_provider_strategy:
        del body["launchType"]
    return body


def describe(state: RegionState, service: Service, references: Any) -> dict[str, Any]:
    """DescribeTaskSets of ``service``: every task set, or those ``references`` names (ids or ARNs; 1 to 100), the
    others as failures with reason MISSING."""
    if service.controller == "ECS":
        raise InvalidParameterException("Amazon ECS only supports task set management on services configured to "
                                        "use external deployment controllers.")
    if references is None:
        return {"taskSets": [task_set_json(state, service, s) for s in service.deployments], "failures": []}
    if not isinstance(references, list) or len(references) > 100:
        raise InvalidParameterException("taskSets must list up to 100 task set IDs or ARNs.")
    found, failures = [], []
    for reference in references:
        match = next((s for s in service.deployments if str(reference) in (s.id, arn(service, s))), None)
        if match is None:
            failures.append({"arn": str(reference), "reason": "MISSING"})
        else:
            found.append(task_set_json(state, service, match))
    return {"taskSets": found, "failures": failures}
