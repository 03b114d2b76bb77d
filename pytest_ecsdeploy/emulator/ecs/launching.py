"""Where RunTask and StartTask start their tasks: on the capacity providers of their strategy
(``capacity.py``), on the cluster's container instances (``placement.py``) for the EC2 launch type and for
providers of Auto Scaling groups, each awsvpc task with its network interface (``network.py``).

A task no container instance can take is not started; each ACTIVE instance that could not take it is in the
response's ``failures`` (``{"arn": <container instance ARN>, "reason": "RESOURCE:CPU"}``: once each, however many
tasks it refused), as ECS answers RunTask. StartTask starts one task on each container instance it names; one
that the cluster does not have is a failure with reason MISSING.
"""

from __future__ import annotations

from typing import Any

from .. import moto_state
from . import capacity, network, placement
from .capacity import Strategy
from .exceptions import ClientException, InvalidParameterException
from .models import RegionState, Task, TaskDefinitionInfo
from .simulation import Simulation

Params = dict[str, Any]


def run_tasks(sim: Simulation, state: RegionState, cluster: moto_state.EcsCluster, taskdef: TaskDefinitionInfo,
              params: Params, *, count: int, launch_type: str, strategy: Strategy | None, group: str,
              started_by: str | None) -> tuple[list[Task], list[Params]]:
    """RunTask's ``count`` tasks of ``taskdef``, and its failures. Raises InvalidParameterException when tasks
    must run on container instances and the cluster has none."""
    providers: list[str | None] = list(capacity.spread(strategy, count)) if strategy else [None] * count
    needs = placement.needs_of(taskdef)
    tasks: list[Task] = []
    failures: list[Params] = []
    for provider in providers:
        instance = None
        if placement.on_instances(launch_type, provider):
            instance, refusals = placement.choose(state.account, state.region, cluster.name, needs)
            if instance is None:
                _add(failures, [refusal.as_json() for refusal in refusals])
                continue
        on = "FARGATE" if provider in capacity.FARGATE_PROVIDERS else "EC2" if provider else launch_type
        tasks.append(_start(sim, state, cluster, taskdef, params, on, provider, instance, needs, group, started_by))
    return tasks, failures


def start_tasks(sim: Simulation, state: RegionState, cluster: moto_state.EcsCluster, taskdef: TaskDefinitionInfo,
                params: Params, *, group: str, started_by: str | None) -> tuple[list[Task], list[Params]]:
    """StartTask: a task of ``taskdef`` on each of ``params["containerInstances"]`` (1 to 10 IDs or ARNs), and the
    failures. Raises ClientException for no container instance, InvalidParameterException for more than 10."""
    references = params.get("containerInstances")
    if not references:
        raise ClientException("Container Instances cannot be empty.")
    if not isinstance(references, list) or len(references) > 10:
        raise InvalidParameterException("containerInstances must list between 1 and 10 container instance IDs or ARNs.")
    known = {i.id: i for i in moto_state.ecs_container_instances(state.account, state.region, cluster.name)}
    needs = placement.needs_of(taskdef)
    tasks: list[Task] = []
    failures: list[Params] = []
    for reference in references:
        instance_id = str(reference).rsplit("/", 1)[-1]
        if instance_id not in known:
            arn = str(reference) if str(reference).startswith("arn:") else \
                f"arn:aws:ecs:{state.region}:{state.account}:container-instance/{cluster.name}/{instance_id}"
            _add(failures, [{"arn": arn, "reason": "MISSING"}])
            continue
        instance, refusals = placement.choose(state.account, state.region, cluster.name, needs, only=[instance_id])
        if instance is None:
            _add(failures, [refusal.as_json() for refusal in refusals])
            continue
        tasks.append(_start(sim, state, cluster, taskdef, params, "EC2", None, instance, needs, group, started_by))
    return tasks, failures


def _add(failures: list[Params], new: list[Params]) -> None:
    failures.extend(failure for failure in new if failure not in failures)


def _start(sim: Simulation, state: RegionState, cluster: moto_state.EcsCluster, taskdef: TaskDefinitionInfo,
           params: Params, launch_type: str, provider: str | None, instance: moto_state.EcsContainerInstance | None,
           needs: placement.Needs, group: str, started_by: str | None) -> Task:
    task = sim.run_task(state, cluster.name, cluster.arn, taskdef, group=group, started_by=started_by,
                        launch_type=launch_type, overrides=params.get("overrides"), tags=params.get("tags"))
    task.capacity_provider = provider
    if instance is not None:
        placement.reserve(task, instance, needs)
    network.attach(task, params.get("networkConfiguration"), sim.rng)
    return task
