"""What the rollout engine reads of moto's ECS: clusters and task definitions, and where tasks run: a cluster's
capacity providers and its container instances with the resources they have left."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

# -- ECS -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EcsCluster:
    """An ECS cluster as moto keeps it (``status`` ACTIVE or INACTIVE)."""

    name: str
    arn: str
    status: str


@dataclass(frozen=True)
class EcsTaskDefinition:
    """One revision of a task definition as moto keeps it; ``container_definitions`` is a deep copy."""

    arn: str
    family: str
    revision: int
    status: str
    container_definitions: list[dict[str, Any]]
    cpu: str | None
    memory: str | None
    network_mode: str | None
    requires_compatibilities: tuple[str, ...]


def ecs_cluster(account: str, region: str, name: str) -> EcsCluster | None:
    """The cluster ``name``; None when there is none (or moto does not know the region)."""
    from moto.ecs.models import ecs_backends

    try:
        cluster = ecs_backends[account][region].clusters.get(name)
    except KeyError:
        return None
    return None if cluster is None else EcsCluster(str(cluster.name), str(cluster.arn), str(cluster.status))


def ecs_task_definition(account: str, region: str, family: str, revision: int | None) -> EcsTaskDefinition | None:
    """Revision ``revision`` of ``family``, or its latest ACTIVE revision when ``revision`` is None; None when
    there is no such revision (whatever its status: the caller decides what an INACTIVE one means)."""
    from moto.ecs.models import ecs_backends

    try:
        revisions = ecs_backends[account][region].task_definitions.get(family, {})
    except KeyError:
        return None
    if revision is None:
        active = [number for number, definition in revisions.items() if definition.status == "ACTIVE"]
        revision = max(active) if active else None
    found = revisions.get(revision) if revision is not None else None
    if found is None:
        return None
    return EcsTaskDefinition(
        str(found.arn), str(found.family), int(found.revision), str(found.status),
        copy.deepcopy(list(found.container_definitions)), found.cpu, found.memory, found.network_mode,
        tuple(found.requires_compatibilities or ()),
    )


# -- ECS capacity: providers, container instances --------------------------------------------------------


@dataclass(frozen=True)
class EcsCapacity:
    """A cluster's capacity providers (names) and its default capacity provider strategy (items as ECS's API
    gives them: ``capacityProvider``, ``weight``, ``base``)."""

    providers: tuple[str, ...]
    default_strategy: tuple[dict[str, Any], ...]


def ecs_cluster_capacity(account: str, region: str, name: str) -> EcsCapacity | None:
    """The capacity providers of cluster ``name``; None when there is no such cluster."""
    from moto.ecs.models import ecs_backends

    try:
        cluster = ecs_backends[account][region].clusters.get(name)
    except KeyError:
        return None
    if cluster is None:
        return None
    return EcsCapacity(tuple(str(p) for p in cluster.capacity_providers or ()),
                       tuple(copy.deepcopy(dict(item)) for item in cluster.default_capacity_provider_strategy or ()))


@dataclass(frozen=True)
class EcsContainerInstance:
    """A container instance of a cluster and what it has left: ``cpu`` units, ``memory`` MiB and the TCP host
    ``ports`` already taken (moto's ``remainingResources``)."""

    arn: str
    id: str
    status: str
    cpu: int
    memory: int
    ports: frozenset[int]


def ecs_container_instances(account: str, region: str, cluster: str) -> list[EcsContainerInstance]:
    """Every container instance registered in ``cluster`` (a name), whatever its status, by registration."""
    from moto.ecs.models import ecs_backends

    try:
        instances = list(ecs_backends[account][region].container_instances.get(cluster, {}).values())
    except KeyError:
        return []
    found = []
    for instance in instances:
        left = {r["name"]: r for r in instance.remaining_resources}
        found.append(EcsContainerInstance(
            str(instance.container_instance_arn), str(instance.id), str(instance.status),
            int(left["CPU"]["integerValue"]), int(left["MEMORY"]["integerValue"]),
            frozenset(int(p) for p in left["PORTS"]["stringSetValue"]),
        ))
    return found


def ecs_reserve(account: str, region: str, cluster: str, instance_id: str, cpu: int, memory: int,
                ports: tuple[int, ...], *, release: bool = False) -> None:
    """Take (or, with ``release``, give back) a task's ``cpu``, ``memory`` and TCP host ``ports`` on a container
    instance, and count the task in its runningTasksCount, as DescribeContainerInstances shows them; nothing when
    the instance is gone (deregistered, or moto reset)."""
    from moto.ecs.models import ecs_backends

    try:
        backend = ecs_backends[account][region]
        instance = backend.container_instances.get(cluster, {}).get(instance_id)
    except KeyError:
        return
    if instance is None:
        return
    taken = {r["name"]: r for r in instance.remaining_resources}["PORTS"]["stringSetValue"]
    if release:
        ports = tuple(p for p in ports if str(p) in taken)
    backend.update_container_instance_resources(instance, {"CPU": cpu, "MEMORY": memory, "PORTS": list(ports)},
                                                removing=release)
