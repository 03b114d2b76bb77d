"""The one seam into moto's internals: everything the embedded local AWS reads or changes of moto's state.

moto keeps each service's state in process-global backends (``ecs_backends[account][region]`` and so on) and
offers no public API for them; this module is the only one that imports them, so a moto upgrade that moves
something breaks here and nowhere else. It holds:

- the whole state as JSON-able data (:func:`snapshot`) and its reset (:func:`reset`);
- the account an access key belongs to (:func:`account_of_access_key`, moto's own rule);
- what the rollout engine reads of ECS (:func:`ecs_cluster`, :func:`ecs_task_definition`), ECR
  (:func:`ecr_image`) and changes in ELBv2 (:class:`Elbv2Targets`);
- where the rollout engine runs tasks: a cluster's capacity providers (:func:`ecs_cluster_capacity`), its
  container instances and the resources they have left (:func:`ecs_container_instances`, :func:`ecs_reserve`),
  and the elastic network interface of an awsvpc task in EC2 (:func:`ec2_create_task_interface`,
  :func:`ec2_set_interface_status`, :func:`ec2_delete_interface`);
- what the load balancers read of ELBv2 and ECR (:func:`target_group_arn`, :func:`registered_targets`,
  :func:`ecr_tag_of`), and the Docker runner of ECR, Secrets Manager and SSM (:func:`ecr_has_repository`,
  :func:`secret_string`, :func:`ssm_parameter_value`);
- what the ECR bridge reads and writes of ECR (:func:`ecr_locate`, :func:`ecr_put_image`,
  :func:`ecr_tags_by_digest`) and the ``Repository.uri`` patch (:func:`set_repository_host`).

Every iteration over a backend dictionary holds moto's ``backend_lock`` (moto creates backends on first access,
from any request thread). Importing this module is cheap: moto's models are imported by the first call that needs
them, so a LocalAWS that never sees an ECS request never imports moto's ECS and EC2 models.
"""

from __future__ import annotations

import copy
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EcsCapacity",
    "EcsCluster",
    "EcsContainerInstance",
    "TaskInterface",
    "EcsTaskDefinition",
    "Elbv2Targets",
    "account_of_access_key",
    "ecr_has_repository",
    "ecr_image",
    "ecr_locate",
    "ecr_put_image",
    "ecr_tag_of",
    "ecr_tags_by_digest",
    "ec2_create_task_interface",
    "ec2_delete_interface",
    "ec2_set_interface_status",
    "ecs_cluster_capacity",
    "ecs_container_instances",
    "ecs_reserve",
    "ecs_cluster",
    "ecs_task_definition",
    "registered_targets",
    "reset",
    "secret_string",
    "set_repository_host",
    "snapshot",
    "ssm_parameter_value",
    "target_group_arn",
]

log = logging.getLogger(__name__)


# -- the whole state -------------------------------------------------------------------------------------


def reset() -> None:
    """Empty every backend of every service, as moto's own ``/moto-api/reset`` does."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


def snapshot() -> dict[str, Any]:
    """What moto holds, per account and region, as JSON-able data without timestamps.

    Layout: ``{"ecr": {account: {region: {repository: {...}}}}, "ecs": {"clusters": ..., "task_definitions":
    ...}, "elbv2": ..., "secretsmanager": ..., "ssm": ...}``; empty regions are left out, so reading
    through the API (which creates empty backends) does not change it.
    """
    from moto.ecr.models import ecr_backends
    from moto.ecs.models import ecs_backends
    from moto.elbv2.models import elbv2_backends
    from moto.secretsmanager.models import secretsmanager_backends
    from moto.ssm.models import ssm_backends

    clusters: dict[str, Any] = {}
    task_definitions: dict[str, Any] = {}
    for account, region, backend in _backends(ecs_backends):
        if backend.clusters:
            clusters.setdefault(account, {})[region] = {
                name: {"clusterArn": cluster.arn, "status": cluster.status}
                for name, cluster in sorted(backend.clusters.items())
            }
        if backend.task_definitions:
            task_definitions.setdefault(account, {})[region] = {
                family: [_task_definition(revisions[number]) for number in sorted(revisions)]
                for family, revisions in sorted(backend.task_definitions.items())
            }
    return {
        "ecr": _per_region(ecr_backends, lambda b: {
            name: {
                "repositoryUri": repo.uri,
                "imageTagMutability": repo.image_tag_mutability,
                "images": sorted(
                    ({"imageDigest": image.get_image_digest(), "imageTags": sorted(image.image_tags),
                      "imageManifestMediaType": image.image_manifest_media_type} for image in repo.images),
                    key=lambda image: image["imageDigest"],
                ),
            }
            for name, repo in sorted(b.repositories.items())
        }),
        "ecs": {"clusters": clusters, "task_definitions": task_definitions},
        "elbv2": _per_region(elbv2_backends, lambda b: {
            "target_groups": {
                group.name: {"targetGroupArn": group.arn, "port": group.port, "protocol": group.protocol,
                             "targetType": group.target_type}
                for group in sorted(b.target_groups.values(), key=lambda group: group.name)
            },
        } if b.target_groups else {}),
        "secretsmanager": _per_region(secretsmanager_backends, lambda b: {
            secret.name: {"ARN": secret.arn} for secret in sorted(dict.values(b.secrets), key=lambda s: s.name)
        }),
        "ssm": _per_region(ssm_backends, lambda b: {
            "parameters": sorted(name for name in dict.keys(b._parameters) if not name.startswith("/aws/"))
        } if any(not name.startswith("/aws/") for name in dict.keys(b._parameters)) else {}),
    }


def _task_definition(definition: Any) -> dict[str, Any]:
    fields = {
        "family": definition.family,
        "revision": definition.revision,
        "taskDefinitionArn": definition.arn,
        "status": definition.status,
        "containerDefinitions": definition.container_definitions,
        "networkMode": definition.network_mode,
        "requiresCompatibilities": definition.requires_compatibilities,
        "cpu": definition.cpu,
        "memory": definition.memory,
        "taskRoleArn": getattr(definition, "task_role_arn", None),
        "executionRoleArn": getattr(definition, "execution_role_arn", None),
        "volumes": definition.volumes,
        "tags": definition.tags,
    }
    return {key: value for key, value in fields.items() if value not in (None, [])}


def _backends(backend_dict: Any) -> list[tuple[str, str, Any]]:
    """Every (account, region, backend) that exists, sorted; moto's lock held while they are listed."""
    from moto.core.base_backend import backend_lock

    with backend_lock:
        return [
            (account, region, backend)
            for account, regions in sorted(dict.items(backend_dict))
            for region, backend in sorted(dict.items(regions))
        ]


def _per_region(backend_dict: Any, describe: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for account, region, backend in _backends(backend_dict):
        described = describe(backend)
        if described:
            result.setdefault(account, {})[region] = described
    return result


# -- accounts --------------------------------------------------------------------------------------------


def account_of_access_key(access_key: str) -> str:
    """The account an access key acts in: an STS AssumeRole key's role account, else moto's default account."""
    from moto.iam.models import get_account_id_from

    return str(get_account_id_from(access_key))


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


# -- EC2 network interfaces of awsvpc tasks ----------------------------------------------------------------


@dataclass(frozen=True)
class TaskInterface:
    """An elastic network interface made for a task, as ECS's attachment details name its fields."""

    id: str
    subnet_id: str
    mac_address: str
    private_ip: str
    private_dns_name: str


def ec2_create_task_interface(account: str, region: str, subnet_id: str, security_groups: list[str],
                              description: str) -> TaskInterface | None:
    """A new network interface in ``subnet_id`` (on the subnet's first free address), ECS-managed
    (``requesterManaged``); None when EC2 has no such subnet or the subnet has no free address."""
    from moto.ec2.exceptions import InvalidSubnetIdError
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[account][region]
    try:
        subnet = backend.get_subnet(subnet_id)
    except InvalidSubnetIdError:
        return None
    groups = [g for g in security_groups if backend.get_security_group_from_id(g) is not None]
    address = _free_address(backend, subnet)
    if address is None:
        return None
    eni = backend.create_network_interface(subnet, address, group_ids=groups or None, description=description)
    eni.requester_managed = True
    ip = str(eni.private_ip_address)
    # EC2 names the address whether or not the VPC has DNS hostnames on; ECS shows that name
    dns = getattr(eni, "private_dns_name", None) or (
        f"ip-{ip.replace('.', '-')}.ec2.internal" if region == "us-east-1"
        else f"ip-{ip.replace('.', '-')}.{region}.compute.internal")
    return TaskInterface(str(eni.id), str(subnet.id), str(eni.mac_address), ip, str(dns))


def _free_address(backend: Any, subnet: Any) -> str | None:
    """The first address of the subnet no interface or instance has, past the 4 that AWS reserves; None when the
    subnet is full (moto would draw one at random, and two tasks could share it)."""
    used = {str(eni.private_ip_address) for eni in list(backend.enis.values())}
    used |= {str(instance.private_ip) for reservation in list(backend.reservations.values())
             for instance in reservation.instances if getattr(instance, "private_ip", None)}
    network = ipaddress.ip_network(str(subnet.cidr_block), strict=False)
    for offset in range(4, network.num_addresses - 1):
        candidate = str(network.network_address + offset)
        if candidate not in used:
            return candidate
    return None


def ec2_set_interface_status(account: str, region: str, interface_id: str, status: str) -> None:
    """Set a network interface's status (``in-use`` while its task runs); nothing when it is gone."""
    from moto.ec2.models import ec2_backends

    eni = ec2_backends[account][region].enis.get(interface_id)
    if eni is not None:
        eni.status = status


def ec2_delete_interface(account: str, region: str, interface_id: str) -> None:
    """Delete a network interface; nothing when it is gone already."""
    from moto.ec2.models import ec2_backends

    ec2_backends[account][region].enis.pop(interface_id, None)


# -- EC2 -------------------------------------------------------------------------------------------------


def ec2_missing(account: str, region: str, subnets: list[str],
                security_groups: list[str]) -> tuple[list[str], list[str]]:
    """The ``subnets`` and ``security_groups`` (IDs) that moto's EC2 does not have in this account and region, each
    in the order given."""
    from moto.ec2.exceptions import InvalidSubnetIdError
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[account][region]
    missing_subnets = []
    for subnet in subnets:
        try:
            backend.get_subnet(subnet)
        except InvalidSubnetIdError:
            missing_subnets.append(subnet)
    return missing_subnets, [group for group in security_groups if backend.get_security_group_from_id(group) is None]


# -- ELBv2 -----------------------------------------------------------------------------------------------


class Elbv2Targets:
    """Registers task targets (IP, container port) in moto's ELBv2 target groups, for the rollout engine."""

    def register(self, account: str, region: str, target_group_arn: str, targets: list[tuple[str, int]]) -> bool:
        """True when registered; False for a target group moto does not know (ECS would have refused the service)."""
        return self._call("register_targets", account, region, target_group_arn, targets)

    def deregister(self, account: str, region: str, target_group_arn: str, targets: list[tuple[str, int]]) -> bool:
        """True when deregistered; False for a target group moto does not know."""
        return self._call("deregister_targets", account, region, target_group_arn, targets)

    @staticmethod
    def _call(method: str, account: str, region: str, arn: str, targets: list[tuple[str, int]]) -> bool:
        from moto.elbv2.models import elbv2_backends

        try:
            getattr(elbv2_backends[account][region], method)(arn, [{"Id": ip, "Port": port} for ip, port in targets])
        except Exception:  # an unknown target group: no targets, no event
            log.debug("%s %s in %s failed", method, targets, arn, exc_info=True)
            return False
        return True


def target_group_arn(name: str) -> str | None:
    """The ARN of a target group named ``name`` in any account and region, None when there is none."""
    from moto.elbv2.models import elbv2_backends

    for _, _, backend in _backends(elbv2_backends):
        for group in list(backend.target_groups.values()):
            if group.name == name:
                return str(group.arn)
    return None


def registered_targets(arn: str) -> set[str]:
    """The target ids (task IPs) registered in a target group; none for a target group moto does not know."""
    from moto.elbv2.models import elbv2_backends

    parts = arn.split(":")
    try:
        group = elbv2_backends[parts[4]][parts[3]].target_groups.get(arn)
    except (IndexError, KeyError):
        return set()
    return set(group.targets) if group is not None else set()


# -- ECR -------------------------------------------------------------------------------------------------


def ecr_image(account: str, region: str, repository: str, *, tag: str | None = None,
              digest: str | None = None) -> tuple[str, tuple[str, ...]] | None:
    """(digest, tags) of the image of ``repository`` with that ``digest`` (else that ``tag``); None when ECR
    has no such image or repository."""
    from moto.ecr.models import ecr_backends

    try:
        found = ecr_backends[account][region].repositories.get(repository)
        images = list(found.images) if found is not None else []
    except Exception:  # a region moto does not know
        return None
    for image in images:
        image_digest = image.get_image_digest()
        if (digest and image_digest == digest) or (not digest and tag and tag in image.image_tags):
            return str(image_digest), tuple(image.image_tags)
    return None


def ecr_has_repository(account: str, region: str, repository: str) -> bool:
    """True when ECR has ``repository`` in that account and region (no backend is created to answer)."""
    from moto.ecr.models import ecr_backends

    regions = dict.get(ecr_backends, account)
    backend = dict.get(regions, region) if regions is not None else None
    return backend is not None and backend.repositories.get(repository) is not None


def ecr_tag_of(repository: str, digest: str) -> str | None:
    """The first tag of the image ``digest`` in a repository named ``repository``, in any account and region."""
    from moto.ecr.models import ecr_backends

    for _, _, backend in _backends(ecr_backends):
        found = backend.repositories.get(repository)
        for image in list(found.images) if found is not None else []:
            if image.get_image_digest() == digest and image.image_tags:
                return str(image.image_tags[0])
    return None


def ecr_locate(repository: str, account: str, region: str) -> tuple[str, str] | None:
    """(account, region) of the ECR repository named ``repository``: ``account`` and ``region`` when it is
    there, else the first other that has one; None when none has."""
    from moto.ecr.models import ecr_backends

    try:
        if repository in ecr_backends[account][region].repositories:
            return account, region
    except KeyError:
        pass
    for other_account, other_region, backend in _backends(ecr_backends):
        if repository in backend.repositories:
            return other_account, other_region
    return None


def ecr_put_image(account: str, region: str, repository: str, manifest: str, tag: str | None, media_type: str,
                  digest: str) -> str | None:
    """Store an image in ECR as PutImage would; None when stored, or ECR's refusal when the image or the tag
    is there already (an IMMUTABLE tag, or this very image again)."""
    from moto.ecr.exceptions import ImageAlreadyExistsException
    from moto.ecr.models import ecr_backends

    backend: Any = ecr_backends[account][region]  # moto annotates image_tag as str; a push by digest has none
    try:
        backend.put_image(repository, manifest, tag, media_type, digest)
    except ImageAlreadyExistsException as exc:
        return str(exc)
    return None


def ecr_tags_by_digest(account: str, region: str, repository: str) -> dict[str, set[str]]:
    """Digest -> tags of every image of the repository; empty when there is no such repository."""
    from moto.ecr.models import ecr_backends

    try:
        found = ecr_backends[account][region].repositories.get(repository)
    except KeyError:
        return {}
    if found is None:
        return {}
    return {image.get_image_digest(): set(image.image_tags) for image in found.images}


class _UriProperty:
    """Replaces moto's ``Repository.uri`` (set once in ``__init__``) with ``<registry host>/<name>`` while a
    registry is on; off, it answers what moto set."""

    host: str | None = None

    def __get__(self, repository: Any, owner: type | None = None) -> Any:
        if repository is None:
            return self
        if _UriProperty.host:
            return f"{_UriProperty.host}/{repository.name}"
        return repository.__dict__.get("_ecsdeploy_moto_uri", repository.__dict__.get("uri"))

    def __set__(self, repository: Any, value: str) -> None:
        repository.__dict__["_ecsdeploy_moto_uri"] = value


def set_repository_host(host: str | None) -> None:
    """Make moto's ECR report repository URIs on ``host`` (``127.0.0.1:PORT``), or moto's own when None."""
    from moto.ecr.models import Repository

    if not isinstance(Repository.__dict__.get("uri"), _UriProperty):
        setattr(Repository, "uri", _UriProperty())  # noqa: B010 - a data descriptor on moto's class
    _UriProperty.host = host


# -- Secrets Manager and SSM -----------------------------------------------------------------------------


def secret_string(account: str, region: str, secret_id: str, *, version_id: str | None = None,
                  version_stage: str | None = None) -> str | None:
    """A secret's SecretString (None when it has only a SecretBinary); raises moto's error when the secret or
    the version does not exist, whose text says which."""
    from moto.secretsmanager.models import secretsmanager_backends

    backend: Any = secretsmanager_backends[account][region]
    text = backend.get_secret_value(secret_id, version_id, version_stage).get("SecretString")
    return None if text is None else str(text)


def ssm_parameter_value(account: str, region: str, name: str) -> str | None:
    """An SSM parameter's value (a SecureString decrypted, as ECS reads it), None when it does not exist;
    ``name`` is the parameter's name or ARN."""
    from moto.ssm.models import ssm_backends

    parameter = ssm_backends[account][region].get_parameter(name)
    return None if parameter is None else str(parameter.decrypt(parameter.value))
