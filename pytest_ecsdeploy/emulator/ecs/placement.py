"""Tasks on container instances (the EC2 launch type, and capacity providers of Auto Scaling groups).

moto keeps the container instances a cluster has (RegisterContainerInstance) and what each has left
(``remainingResources``); the engine reads and changes them through ``moto_state``. A task needs
(:func:`needs_of`) its task definition's CPU units and MiB of memory (the task-level values, else the sum of its
containers' ``cpu`` and ``memory`` or ``memoryReservation``) and, in ``bridge`` or ``host`` network mode, the TCP
host ports of its port mappings (``host`` mode: the container port; ``bridge``: the ``hostPort`` when one is
given and not 0, a dynamic port otherwise). An ``awsvpc`` task has its own network interface and takes no host
port.

:func:`choose` picks an ACTIVE instance that has all of it (the one with the most CPU left, then memory: ECS's
default spread); when none has, the reason for each instance is its first lacking resource in ECS's order and
words, ``RESOURCE:CPU``, ``RESOURCE:MEMORY`` or ``RESOURCE:PORTS`` (RunTask's ``failures[].reason``, API
Reference "Failure"; Developer Guide "API failure reasons"). :func:`reserve` takes a placed task's resources
and :func:`release` gives them back once it is STOPPED, so DescribeContainerInstances shows
``remainingResources`` and ``runningTasksCount`` as ECS does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .. import moto_state
from .capacity import FARGATE_PROVIDERS
from .exceptions import InvalidParameterException
from .models import Task, TaskDefinitionInfo

# RunTask on the EC2 launch type in a cluster without a container instance
NO_INSTANCES = "No Container Instances were found in your cluster."
RESOURCES = ("CPU", "MEMORY", "PORTS")
# What the event of a service that cannot place a task says of the closest instance, per lacking resource
CLOSEST = {
    "CPU": "has insufficient CPU units available.",
    "MEMORY": "has insufficient memory available.",
    "PORTS": "is already using a port required by your task.",
}


@dataclass(frozen=True)
class Needs:
    """What a task takes of a container instance: CPU units, MiB of memory and TCP host ports."""

    cpu: int
    memory: int
    ports: tuple[int, ...] = ()


@dataclass(frozen=True)
class Failure:
    """A container instance that cannot take a task, and the resource it lacks (CPU, MEMORY or PORTS)."""

    arn: str
    instance_id: str
    resource: str

    def as_json(self) -> dict[str, str]:
        return {"arn": self.arn, "reason": f"RESOURCE:{self.resource}"}


def on_instances(launch_type: str, capacity_provider: str | None) -> bool:
    """Whether a task of that launch type or capacity provider runs on the cluster's container instances (EC2, or
    a provider of an Auto Scaling group) rather than on Fargate (or EXTERNAL instances, not modelled)."""
    if capacity_provider:
        return capacity_provider not in FARGATE_PROVIDERS
    return launch_type == "EC2"


def needs_of(taskdef: TaskDefinitionInfo) -> Needs:
    """What a task of ``taskdef`` needs of a container instance (see the module docstring)."""
    containers = taskdef.containers
    cpu = _units(taskdef.cpu, 1024) if taskdef.cpu else sum(_int(c.get("cpu")) for c in containers)
    memory = _units(taskdef.memory, 1024) if taskdef.memory else sum(
        _int(c.get("memory")) or _int(c.get("memoryReservation")) for c in containers)
    ports: list[int] = []
    mode = taskdef.network_mode or "bridge"
    if mode in ("bridge", "host"):
        for container in containers:
            for mapping in container.get("portMappings") or []:
                if str(mapping.get("protocol", "tcp")).lower() != "tcp":
                    continue  # UDP ports are not tracked
                port = _int(mapping.get("hostPort")) or (_int(mapping.get("containerPort")) if mode == "host" else 0)
                if port:
                    ports.append(port)
    return Needs(cpu, memory, tuple(ports))


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _units(value: str, per_unit: int) -> int:
    """A task-level ``cpu`` or ``memory``: a number of units, or ``1 vCPU`` / ``2 GB`` (times ``per_unit``)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", value)
    if match is None:
        return 0
    number, unit = float(match.group(1)), match.group(2)
    return round(number * per_unit) if unit else round(number)


def lacking(instance: moto_state.EcsContainerInstance, needs: Needs) -> str | None:
    """The first resource (CPU, MEMORY, PORTS) ``instance`` has too little of for ``needs``; None when it fits."""
    if needs.cpu > instance.cpu:
        return "CPU"
    if needs.memory > instance.memory:
        return "MEMORY"
    if len(set(needs.ports)) < len(needs.ports) or instance.ports & set(needs.ports):
        return "PORTS"
    return None


def choose(account: str, region: str, cluster: str, needs: Needs,
           only: list[str] | None = None) -> tuple[moto_state.EcsContainerInstance | None, list[Failure]]:
    """An ACTIVE container instance of ``cluster`` (among the ids ``only``, when given) with room for ``needs``,
    else None and why each ACTIVE instance has none. Raises InvalidParameterException when the cluster has no
    container instance at all."""
    instances = moto_state.ecs_container_instances(account, region, cluster)
    if not instances:
        raise InvalidParameterException(NO_INSTANCES)
    candidates = [i for i in instances if i.status == "ACTIVE" and (only is None or i.id in only)]
    fitting = [i for i in candidates if lacking(i, needs) is None]
    if fitting:
        return max(fitting, key=lambda i: (i.cpu, i.memory, -instances.index(i))), []
    return None, [Failure(i.arn, i.id, lacking(i, needs) or "CPU") for i in candidates]


def closest(failures: list[Failure]) -> str:
    """What a service's placement event says of the instance that came closest (its lacking resource the last
    in ECS's order), or nothing when there is no ACTIVE instance."""
    if not failures:
        return ""
    best = max(failures, key=lambda f: RESOURCES.index(f.resource))
    return f" The closest matching container-instance {best.instance_id} {CLOSEST[best.resource]}"


def reserve(task: Task, instance: moto_state.EcsContainerInstance, needs: Needs) -> None:
    """Place ``task`` on ``instance``: its resources are taken until :func:`release`."""
    moto_state.ecs_reserve(task.account, task.region, task.cluster_name, instance.id, needs.cpu, needs.memory,
                           needs.ports)
    task.container_instance_arn = instance.arn
    task.reserved = (instance.id, needs.cpu, needs.memory, needs.ports)


def release(task: Task) -> None:
    """Give back what ``task`` took of its container instance (once; nothing for a task not on one)."""
    if task.reserved is None:
        return
    instance_id, cpu, memory, ports = task.reserved
    task.reserved = None
    moto_state.ecs_reserve(task.account, task.region, task.cluster_name, instance_id, cpu, memory, ports,
                           release=True)
