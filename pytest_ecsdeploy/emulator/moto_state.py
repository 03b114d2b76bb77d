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
  :func:`ecr_tag_of`), and what the local CodeDeploy reads and changes of its deployment groups (moto has no
  UpdateDeploymentGroup), reads of CloudWatch alarms and changes of listeners (:func:`codedeploy_group`,
  :func:`codedeploy_update_group`, :func:`codedeploy_traffic_route`, :func:`cloudwatch_alarm_states`,
  :func:`elbv2_target_group_arn`, :func:`elbv2_forward`), and the Docker runner of ECR, Secrets Manager and
  SSM (:func:`ecr_has_repository`, :func:`secret_string`, :func:`ssm_parameter_value`);
- the rollout engine's services and tasks made moto's ECS backend's (:func:`use_ecs_engine`, the adapter
  :class:`EcsEngine` the engine implements), so that every client of moto sees the engine's one state;
- what the ECR bridge reads and writes of ECR (:func:`ecr_locate`, :func:`ecr_put_image`,
  :func:`ecr_tags_by_digest`) and the ``Repository.uri`` patch (:func:`set_repository_host`);
- what the runners write to CloudWatch Logs for the awslogs driver (:func:`logs_open_stream`,
  :func:`logs_put_events`).

One state for ECS. The rollout engine's ``RegionState`` is the one store of ECS services and tasks; moto's ECS
backend is made to see it (:func:`use_ecs_engine`) rather than the engine keeping its state in moto's models or
replacing moto's backend whole. Why: moto's ``Service`` and ``Task`` have no deployments, task lifecycle or circuit
breaker, so keeping the engine's state in them means two representations kept in step; replacing the backend whole
means rewriting what moto does well (clusters, task definitions, container instances, capacity providers,
attributes, account settings). Instead moto's backend asks the engine, through the :class:`EcsEngine` adapter the
engine implements (this module imports nothing of the engine), whenever moto's other callers need a service or a
task: CloudFormation, the tagging operations and the Resource Groups Tagging API, DescribeClusters' counts,
DeleteCluster, Application Auto Scaling. ECS's HTTP requests for services and tasks never reach moto's backend (the
middleware sends them to the engine, whose answers keep their shapes), so moto's RunTask, StopTask, ListTasks and
DescribeTasks are left as they are: nothing else in moto calls them.

Every iteration over a backend dictionary holds moto's ``backend_lock`` (moto creates backends on first access,
from any request thread). Importing this module is cheap: moto's models are imported by the first call that needs
them. moto's ECS models come with :func:`use_ecs_engine` (a LocalAWS's start), moto's EC2 models only when a
request needs EC2 (:func:`_defer_ec2_package`), so that the first ECS answer does not wait for them.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.abc
import ipaddress
import logging
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "EcsCapacity",
    "EcsCluster",
    "EcsEngine",
    "EcsContainerInstance",
    "TaskInterface",
    "EcsTaskDefinition",
    "EngineResource",
    "Elbv2Targets",
    "account_of_access_key",
    "ecr_has_repository",
    "ecr_image",
    "ecr_locate",
    "ecr_put_image",
    "ecr_tag_of",
    "ecr_tags_by_digest",
    "cloudwatch_alarm_states",
    "cloudwatch_alarms_in_alarm",
    "elbv2_listener_rule",
    "elbv2_set_forward_weights",
    "elbv2_target_group_exists",
    "ec2_create_task_interface",
    "ec2_delete_interface",
    "ec2_set_interface_status",
    "ecs_cluster_capacity",
    "ecs_container_instances",
    "ecs_reserve",
    "ecs_cluster",
    "ecs_task_definition",
    "logs_open_stream",
    "logs_put_events",
    "registered_targets",
    "reset",
    "secret_string",
    "set_repository_host",
    "snapshot",
    "ssm_parameter_value",
    "target_group_arn",
    "use_ecs_engine",
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


# -- ECS services and tasks: the rollout engine's, as moto's ECS backend sees them ------------------------


class EcsEngine(Protocol):
    """What moto's ECS backend asks of the rollout engine, which holds every ECS service and task.

    Each method raises, for what ECS refuses, an exception with ECS's error ``code`` and ``message`` as attributes
    (moto answers it as that ECS error). Tags are ECS's ``[{"key": ..., "value": ...}]`` lists.
    """

    def handle(self, action: str, account: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
        """An ECS service or task action (CreateService, DescribeServices, ...): request body -> response body."""
        ...

    def resource_tags(self, account: str, region: str, arn: str) -> list[dict[str, str]] | None:
        """The tags of the service or task ``arn``; None when the engine has no such service or task."""
        ...

    def set_resource_tags(self, account: str, region: str, arn: str, tags: list[dict[str, str]]) -> None:
        """Replace the tags of the service or task ``arn`` (one :meth:`resource_tags` found)."""
        ...

    def tagged_resources(self, account: str, region: str) -> list[tuple[str, str, list[dict[str, str]]]]:
        """(ARN, ``ecs:service`` or ``ecs:task``, tags) of every service not INACTIVE and every task."""
        ...

    def cluster_counts(self, account: str, region: str, cluster: str) -> dict[str, int]:
        """DescribeClusters' ``activeServicesCount``, ``runningTasksCount`` and ``pendingTasksCount`` of the
        cluster named ``cluster``."""
        ...

    def check_delete_cluster(self, account: str, region: str, cluster: str, container_instances: int) -> None:
        """Raise ECS's refusal of DeleteCluster for the cluster named ``cluster``, which has
        ``container_instances`` container instances registered (ACTIVE or DRAINING)."""
        ...


#: The rollout engine's provider: called with True it returns the engine, creating it if needed; with False the
#: running one or None. Set by :func:`use_ecs_engine`.
EngineProvider = Callable[[bool], "EcsEngine | None"]
_engine_provider: EngineProvider | None = None


def use_ecs_engine(provider: EngineProvider | None) -> None:
    """Make moto's ECS backend see the rollout engine's services and tasks (None: moto's own again).

    The one state is the engine's. moto's ``EC2ContainerServiceBackend`` is replaced, in ``ecs_backends`` (for
    the backends to come) and in each existing backend's class, by a subclass whose service methods
    (create_service, update_service, delete_service, describe_services, list_services, ``_get_service``), whose
    ``_get_resource`` for service and task ARNs (so TagResource, UntagResource and ListTagsForResource reach the
    engine's tags), ``iter_tagged_resources`` (the Resource Groups Tagging API), ``describe_clusters`` (the
    counts) and ``delete_cluster`` (ECS's refusals) ask the engine through ``provider``; CloudFormation's
    ``AWS::ECS::Service`` creates, updates and deletes services through the engine with all its properties.
    The HTTP requests for services and tasks go to the engine's handlers directly (the middleware), so their
    answers keep the engine's shapes; moto's methods are for moto's other callers.
    """
    models = _ecs_models()
    global _engine_provider
    _engine_provider = provider
    engine_class = _engine_backend_class()
    target = engine_class if provider is not None else models.EC2ContainerServiceBackend
    models.ecs_backends.backend = target
    for _, _, backend in _backends(models.ecs_backends):
        backend.__class__ = target
    for account_backend in list(dict.values(models.ecs_backends)):
        account_backend.backend = target
    _patch_cloudformation_service(provider is not None)


def _ecs_models() -> Any:
    """moto's ECS models module, imported with moto's EC2 package deferred (:func:`_defer_ec2_package`)."""
    if "moto.ecs.models" not in sys.modules:
        _defer_ec2_package()
    from moto.ecs import models

    return models


#: The module of moto's EC2 models whose class body lists EC2's regions with three ``boto3.Session()``.
_EC2_REGION_TABLES = "moto.ec2.models.availability_zones_and_regions"


def _defer_ec2_package() -> None:
    """Make ``moto.ec2`` a package whose body (``from .models import ec2_backends``) runs at the first read of one
    of its attributes, unless it is imported already; its submodules import as usual meanwhile.

    Why: moto's ECS models bind ``ec2_backends`` at import but use it only for an awsvpc task's network interface,
    a network configuration's subnets and security groups and a container instance's EC2 instance, and importing
    moto's EC2 models costs about as much as the rest of a cold start (~0.3 s: 92 instance-type tables, and EC2's
    service model read to list its regions). So the ECS models get :class:`_DeferredEc2Backends`, and EC2 is
    imported by the first request that needs it; anyone else reading ``moto.ec2``'s attributes (moto's server for
    an EC2 request, moto's SSM or ELBv2 models) runs the body first and sees moto's own objects. The body is
    imports only, so two threads running it at once import the same modules once.
    """
    import importlib.util

    if "moto.ec2" in sys.modules:
        return
    _install_region_tables_finder()
    spec = importlib.util.find_spec("moto.ec2")
    if spec is None or spec.loader is None:
        return
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def attribute(name: str) -> Any:
        if name == "ec2_backends" and _deferring.active:
            return _DeferredEc2Backends()
        if name.startswith("__"):  # probes (__file__, __wrapped__...) are not a use of EC2
            raise AttributeError(f"module 'moto.ec2' has no attribute {name!r}")
        if "__getattr__" in package.__dict__:
            loader.exec_module(package)
            package.__dict__.pop("__getattr__", None)
        try:
            return package.__dict__[name]
        except KeyError:
            raise AttributeError(f"module 'moto.ec2' has no attribute {name!r}") from None

    package.__dict__["__getattr__"] = attribute
    sys.modules["moto.ec2"] = package
    import moto

    setattr(moto, "ec2", package)  # noqa: B010 - as the import system sets a package's submodule
    _deferring.active = True
    try:
        import moto.ecs.models  # noqa: F401 - bound to the deferred backends
    finally:
        _deferring.active = False


class _Deferring(threading.local):
    active = False


_deferring = _Deferring()


class _DeferredEc2Backends:
    """moto's ``ec2_backends`` as moto's ECS models hold it: ``[account][region]`` imports moto's EC2 models the
    first time and reads theirs."""

    def __getitem__(self, account: str) -> Any:
        from moto.ec2 import ec2_backends

        return ec2_backends[account]

    def __getattr__(self, name: str) -> Any:
        from moto.ec2 import ec2_backends

        return getattr(ec2_backends, name)


_finder_installed = False


def _install_region_tables_finder() -> None:
    """Import moto's EC2 region tables under :func:`one_boto3_session`, whichever thread imports them first (a
    request for EC2, an awsvpc task, moto's SSM models...), from now on in this process."""
    global _finder_installed
    with _finder_lock:
        if not _finder_installed:
            sys.meta_path.insert(0, _RegionTablesFinder())
            _finder_installed = True


_finder_lock = threading.Lock()


class _RegionTablesFinder:
    """A meta path finder for :data:`_EC2_REGION_TABLES` alone: the module found as usual, run by
    :class:`_OneSessionLoader`."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != _EC2_REGION_TABLES:
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _OneSessionLoader(spec.loader)
        return spec


class _OneSessionLoader(importlib.abc.Loader):
    """A module's own loader, its ``exec_module`` run under :func:`one_boto3_session`."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        with one_boto3_session():
            self._loader.exec_module(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename... for tracebacks and inspect
        return getattr(self._loader, name)


@contextlib.contextmanager
def one_boto3_session() -> Iterator[None]:
    """While it lasts, ``boto3.Session()`` without arguments, in this thread, is one shared session.

    For importing moto's ECS models, which import its EC2 models: ``RegionsAndZonesBackend``'s class body makes
    three ``Session()`` to list EC2's regions, and each new session loads botocore's endpoint data and EC2's
    service model again (about half of that import's ~0.6 s; botocore caches loaded data per session). Other
    threads, calls with arguments and calls after it are the real ``boto3.Session``, and so is the name moto's
    module bound."""
    import boto3

    real, importer = boto3.Session, threading.get_ident()
    shared: list[Any] = []
    active = True

    def session(*args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not active or threading.get_ident() != importer:
            return real(*args, **kwargs)
        if not shared:
            shared.append(real())
        return shared[0]

    boto3.Session = session  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        active = False
        boto3.Session = real  # type: ignore[misc]
        for module in list(sys.modules.values()):
            names = getattr(module, "__dict__", {})  # not getattr(module, "Session"): a module's __getattr__
            if names.get("Session") is session:
                names["Session"] = real


def _engine() -> EcsEngine:
    provider = _engine_provider
    engine = provider(True) if provider is not None else None
    if engine is None:
        raise RuntimeError("moto's ECS backend asked for the rollout engine while none is in use.")
    return engine


def _running_engine() -> EcsEngine | None:
    provider = _engine_provider
    return provider(False) if provider is not None else None


def _ecs_error(exc: Exception) -> Exception:
    """``exc`` as moto's ECS error when it carries ECS's ``code`` and ``message``, else ``exc``."""
    from moto.ecs.exceptions import ECSException

    code, message = getattr(exc, "code", None), getattr(exc, "message", None)
    if isinstance(code, str) and isinstance(message, str):
        return ECSException(code, message)
    return exc


def _ask(action: str, account: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
    try:
        return _engine().handle(action, account, region, params)
    except Exception as exc:
        error = _ecs_error(exc)
        if error is exc:
            raise
        raise error from None


class EngineResource:
    """A service or task of the rollout engine where moto expects one of its models: identity, the fields moto's
    other services read (CloudFormation, Application Auto Scaling), and ``tags`` read and written in the engine."""

    def __init__(self, account: str, region: str, body: dict[str, Any]) -> None:
        self._account, self._region = account, region
        self.arn = str(body.get("serviceArn") or body.get("taskArn"))
        self.task_arn = self.arn
        self.name = str(body.get("serviceName") or self.arn.rsplit("/", 1)[-1])
        self.cluster_arn = str(body.get("clusterArn"))
        self.cluster_name = self.cluster_arn.rsplit("/", 1)[-1]
        self.status = body.get("status") or body.get("lastStatus")
        self.desired_count = body.get("desiredCount")
        self.task_definition = body.get("taskDefinition") or body.get("taskDefinitionArn")
        self.task_sets: list[Any] = []

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @property
    def tags(self) -> list[dict[str, str]]:
        return list(_engine().resource_tags(self._account, self._region, self.arn) or [])

    @tags.setter
    def tags(self, tags: list[dict[str, str]]) -> None:
        _engine().set_resource_tags(self._account, self._region, self.arn, list(tags))

    def is_created(self) -> bool:
        """For CloudFormation: the service exists once CreateService has answered."""
        return True

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "Name":
            return self.name
        if attribute_name == "ServiceArn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    def delete(self, account: str, region: str) -> None:
        """CloudFormation's delete of the stack's service: DeleteService with force, as CloudFormation does."""
        _ask("DeleteService", account, region, {"cluster": self.cluster_arn, "service": self.arn, "force": True})


_engine_backend: type[Any] | None = None


def _engine_backend_class() -> type[Any]:
    """moto's ECS backend class with the engine's services and tasks (made once)."""
    global _engine_backend
    if _engine_backend is not None:
        return _engine_backend
    from moto.ecs import models

    base: Any = models.EC2ContainerServiceBackend  # overrides return the engine's, not moto's, models

    class EngineBackedEcsBackend(base):  # type: ignore[misc]
        """moto's ECS backend whose services and tasks are the rollout engine's (see use_ecs_engine)."""

        def _service(self, body: dict[str, Any]) -> EngineResource:
            return EngineResource(self.account_id, self.region_name, body)

        def create_service_request(self, params: dict[str, Any]) -> EngineResource:
            """CreateService with ``params`` as its request body."""
            return self._service(_ask("CreateService", self.account_id, self.region_name, params)["service"])

        def create_service(self, cluster_str: str, service_name: str, desired_count: int | None,
                           task_definition_str: str | None = None, load_balancers: Any = None,
                           scheduling_strategy: Any = None, tags: Any = None, deployment_controller: Any = None,
                           launch_type: str | None = None, service_registries: Any = None,
                           platform_version: str | None = None, propagate_tags: str = "NONE",
                           network_configuration: Any = None, role_arn: str | None = None) -> EngineResource:
            params = {"cluster": cluster_str, "serviceName": service_name, "desiredCount": desired_count,
                      "taskDefinition": task_definition_str, "loadBalancers": load_balancers,
                      "schedulingStrategy": scheduling_strategy, "tags": tags,
                      "deploymentController": deployment_controller, "launchType": launch_type,
                      "serviceRegistries": service_registries, "platformVersion": platform_version,
                      "propagateTags": propagate_tags, "networkConfiguration": network_configuration,
                      "role": role_arn}
            return self.create_service_request({k: v for k, v in params.items() if v is not None})

        def update_service(self, service_properties: dict[str, Any]) -> EngineResource:
            params = {_camel(key): value for key, value in service_properties.items() if value is not None}
            return self._service(_ask("UpdateService", self.account_id, self.region_name, params)["service"])

        def delete_service(self, cluster_name: str, service_name: str, force: bool) -> EngineResource:
            params = {"cluster": cluster_name, "service": service_name, "force": force}
            return self._service(_ask("DeleteService", self.account_id, self.region_name, params)["service"])

        def describe_services(self, cluster_str: str,
                              service_names_or_arns: list[str]) -> tuple[list[EngineResource], list[dict[str, str]]]:
            services: list[EngineResource] = []
            failures: list[dict[str, str]] = []
            for start in range(0, len(service_names_or_arns), 10):
                answer = _ask("DescribeServices", self.account_id, self.region_name,
                              {"cluster": cluster_str, "services": service_names_or_arns[start:start + 10]})
                services += [self._service(body) for body in answer["services"]]
                failures += answer["failures"]
            return services, failures

        def list_services(self, cluster_str: str, scheduling_strategy: str | None = None,
                          launch_type: str | None = None) -> list[str]:
            params = {"cluster": cluster_str, "schedulingStrategy": scheduling_strategy, "launchType": launch_type,
                      "maxResults": 100}
            params = {k: v for k, v in params.items() if v is not None}
            arns: list[str] = []
            while True:
                answer = _ask("ListServices", self.account_id, self.region_name, params)
                arns += answer["serviceArns"]
                if not answer.get("nextToken"):
                    return arns
                params["nextToken"] = answer["nextToken"]

        def _get_service(self, cluster_str: str, service_str: str) -> EngineResource:
            from moto.ecs.exceptions import ServiceNotFoundException

            services, _ = self.describe_services(cluster_str, [service_str])
            if not services:
                raise ServiceNotFoundException()
            return services[0]

        def _get_resource(self, resource_arn: str, parsed_arn: dict[str, str]) -> Any:
            from moto.ecs.exceptions import InvalidParameterException, ServiceNotFoundException

            kind = parsed_arn["service"]
            if kind not in ("service", "task"):
                return super()._get_resource(resource_arn, parsed_arn)
            if _engine().resource_tags(self.account_id, self.region_name, resource_arn) is None:
                if kind == "service":
                    raise ServiceNotFoundException()
                try:  # a task of moto's own (StartTask places tasks on container instances in moto)
                    return super()._get_resource(resource_arn, parsed_arn)
                except NotImplementedError:  # moto's answer to a task it does not have either
                    raise InvalidParameterException("The referenced task was not found.") from None
            return EngineResource(self.account_id, self.region_name,
                                  {"serviceArn" if kind == "service" else "taskArn": resource_arn,
                                   "clusterArn": resource_arn.rsplit("/", 1)[0].replace(f":{kind}/", ":cluster/")})

        def iter_tagged_resources(self) -> Any:
            from moto.core.resource_tagging import TaggedResource

            engine = _running_engine()
            for arn, kind, tags in engine.tagged_resources(self.account_id, self.region_name) if engine else []:
                yield TaggedResource(arn=arn, tags={t["key"]: t["value"] for t in tags}, resource_type=kind)
            yield from super().iter_tagged_resources()

        def describe_clusters(self, cluster_names: list[str]) -> tuple[list[Any], list[Any]]:
            clusters, failures = super().describe_clusters(cluster_names)
            engine = _running_engine()
            for cluster in clusters:
                counts = engine.cluster_counts(self.account_id, self.region_name, cluster.name) if engine else {}
                cluster.active_services_count = counts.get("activeServicesCount", 0)
                cluster.running_tasks_count = counts.get("runningTasksCount", 0)
                cluster.pending_tasks_count = counts.get("pendingTasksCount", 0)
                cluster.registered_container_instances_count = self._instances(cluster.name)
            return clusters, failures

        def delete_cluster(self, cluster_str: str) -> Any:
            cluster = self._get_cluster(cluster_str)
            try:
                _engine().check_delete_cluster(self.account_id, self.region_name, cluster.name,
                                               self._instances(cluster.name))
            except Exception as exc:
                error = _ecs_error(exc)
                if error is exc:
                    raise
                raise error from None
            return super().delete_cluster(cluster_str)

        def _instances(self, cluster_name: str) -> int:
            """The container instances registered in the cluster, ACTIVE or DRAINING."""
            instances = self.container_instances.get(cluster_name, {}).values()
            return sum(instance.status in ("ACTIVE", "DRAINING") for instance in instances)

    # moto finds a backend's URLs and responses by the module its class is defined in.
    EngineBackedEcsBackend.__module__ = models.EC2ContainerServiceBackend.__module__
    _engine_backend = EngineBackedEcsBackend
    return EngineBackedEcsBackend


def _camel(key: str) -> str:
    """moto's snake_case key of an UpdateService request (``task_definition``) in the API's camelCase."""
    head, *rest = key.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _patch_cloudformation_service(on: bool) -> None:
    """Make CloudFormation's ``AWS::ECS::Service`` create and update services through the engine, and its
    ``AWS::ECS::TaskDefinition`` register revisions, with every property the template gives (moto's own pass only
    a few: a service's cluster, name, task definition and count; a task definition's family, containers, volumes
    and memory, and an update's containers in the template's PascalCase), or undo it."""
    from moto.ecs import models

    patches: dict[Any, dict[str, Callable[..., Any]]] = {
        models.Service: {"create_from_cloudformation_json": _cfn_create,
                         "update_from_cloudformation_json": _cfn_update},
        models.TaskDefinition: {"create_from_cloudformation_json": _cfn_task_definition_create,
                                "update_from_cloudformation_json": _cfn_task_definition_update},
    }
    for model, methods in patches.items():
        originals = model.__dict__.get("_ecsdeploy_originals")
        if originals is None:
            originals = {name: model.__dict__[name] for name in methods}
            setattr(model, "_ecsdeploy_originals", originals)  # noqa: B010 - kept on moto's class to undo
        for name, method in methods.items():
            setattr(model, name, classmethod(method) if on else originals[name])


_TASK_DEFINITION_FIELDS = ("volumes", "network_mode", "tags", "placement_constraints", "requires_compatibilities",
                           "cpu", "memory", "task_role_arn", "execution_role_arn", "proxy_configuration",
                           "inference_accelerators", "runtime_platform", "ipc_mode", "pid_mode", "ephemeral_storage")


def _cfn_task_definition_create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
                                region_name: str, **kwargs: Any) -> Any:
    """RegisterTaskDefinition with the ``AWS::ECS::TaskDefinition``'s properties in camelCase; a template without
    Family gets a generated one, as CloudFormation names it."""
    from moto.core.utils import pascal_to_camelcase, remap_nested_keys
    from moto.ecs.models import ecs_backends

    params: dict[str, Any] = remap_nested_keys(cloudformation_json["Properties"], pascal_to_camelcase)
    fields = {name: params.get(_camel(name)) for name in _TASK_DEFINITION_FIELDS}
    for number in ("cpu", "memory"):
        if fields[number] is not None:
            fields[number] = str(fields[number])
    family = params.get("family") or f"{resource_name}-{uuid.uuid4().hex[:12]}"
    return ecs_backends[account_id][region_name].register_task_definition(
        family=family, container_definitions=params.get("containerDefinitions", []), **fields)


def _cfn_task_definition_update(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
                                account_id: str, region_name: str) -> Any:
    """A changed task definition is replaced: the new revision registered, then the old one deregistered."""
    from moto.ecs.models import ecs_backends

    created = _cfn_task_definition_create(cls, new_resource_name, cloudformation_json, account_id, region_name)
    ecs_backends[account_id][region_name].deregister_task_definition(original_resource.arn)
    return created


def _cfn_request(properties: dict[str, Any], *, new: bool) -> dict[str, Any]:
    """An ``AWS::ECS::Service``'s properties as a CreateService (``new``) or UpdateService request body: the same
    fields in camelCase (``Tags`` ``Key``/``Value`` too), the cluster and task definition by name or ARN.
    CloudFormation's DesiredCount defaults to 1 for a new service (the AWS::ECS::Service reference)."""
    from moto.core.utils import pascal_to_camelcase, remap_nested_keys

    params: dict[str, Any] = remap_nested_keys(
        {k: v for k, v in properties.items() if k not in ("Cluster", "TaskDefinition")}, pascal_to_camelcase)
    cluster, taskdef = properties.get("Cluster"), properties.get("TaskDefinition")
    if cluster is not None:
        params["cluster"] = getattr(cluster, "arn", cluster)
    if taskdef is not None:
        params["taskDefinition"] = getattr(taskdef, "arn", taskdef)
    count = params.get("desiredCount", 1 if new else None)
    if count is not None:
        params["desiredCount"] = int(count) if isinstance(count, str) and count.isdigit() else count
    return params


def _cfn_create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
                **kwargs: Any) -> EngineResource:
    from moto.ecs.models import ecs_backends

    params = _cfn_request(cloudformation_json["Properties"], new=True)
    params.setdefault("serviceName", resource_name)
    backend: Any = ecs_backends[account_id][region_name]
    return backend.create_service_request(params)  # type: ignore[no-any-return]


def _cfn_update(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
                account_id: str, region_name: str) -> EngineResource:
    """A new cluster or service name replaces the service (delete, then create); else UpdateService."""
    from moto.ecs.models import ecs_backends

    params = _cfn_request(cloudformation_json["Properties"], new=False)
    backend: Any = ecs_backends[account_id][region_name]
    cluster_name = str(params.get("cluster") or "default").rsplit("/", 1)[-1]
    name = params.get("serviceName", original_resource.name)
    if cluster_name != original_resource.cluster_name or name != original_resource.name:
        backend.delete_service(original_resource.cluster_arn, original_resource.arn, True)
        params["serviceName"] = params.get("serviceName", new_resource_name)
        params.setdefault("desiredCount", 1)
        return backend.create_service_request(params)  # type: ignore[no-any-return]
    update = {k: v for k, v in params.items() if k not in ("serviceName", "launchType", "tags", "role")}
    update["service"] = original_resource.arn
    return EngineResource(account_id, region_name, _ask("UpdateService", account_id, region_name, update)["service"])


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


def cloudwatch_alarm_states(account: str, region: str, names: tuple[str, ...]) -> dict[str, str]:
    """The state (OK, ALARM or INSUFFICIENT_DATA) of each of the CloudWatch alarms ``names`` that moto holds in that
    account and region; an alarm it does not hold is left out."""
    from moto.cloudwatch.models import cloudwatch_backends

    regions = dict.get(cloudwatch_backends, account)
    backend = dict.get(regions, region) if regions is not None else None
    alarms = dict(backend.alarms) if backend is not None else {}
    return {name: str(alarms[name].state_value) for name in names if name in alarms}


def cloudwatch_alarms_in_alarm(account: str, region: str, names: tuple[str, ...]) -> list[str]:
    """Those of the CloudWatch alarms ``names`` that moto holds in state ALARM in that account and region, in the
    order given (an alarm moto does not hold is not in ALARM)."""
    from moto.cloudwatch.models import cloudwatch_backends

    regions = dict.get(cloudwatch_backends, account)
    backend = dict.get(regions, region) if regions is not None else None
    if backend is None:
        return []
    alarms = dict(backend.alarms)
    return [name for name in names if name in alarms and alarms[name].state_value == "ALARM"]


def elbv2_target_group_exists(arn: str) -> bool:
    """True when moto's ELBv2 holds a target group of that ARN (in the account and region the ARN names)."""
    from moto.elbv2.models import elbv2_backends

    parts = arn.split(":")
    regions = dict.get(elbv2_backends, parts[4]) if len(parts) > 5 else None
    backend = dict.get(regions, parts[3]) if regions is not None else None
    return backend is not None and arn in backend.target_groups


def elbv2_listener_rule(arn: str) -> tuple[str, list[tuple[str, int]]] | None:
    """(the type of its load balancer, ``application`` or ``network``; the target groups its forward action sends
    to, each with its weight) of the listener rule ``arn``; a listener ARN gives its default rule's. None when
    moto's ELBv2 has no such rule or listener; the list is empty when the rule does not forward."""
    from moto.elbv2.models import elbv2_backends

    parts = arn.split(":")
    regions = dict.get(elbv2_backends, parts[4]) if len(parts) > 5 else None
    backend = dict.get(regions, parts[3]) if regions is not None else None
    if backend is None:
        return None
    for balancer in list(backend.load_balancers.values()):
        for listener in list(balancer.listeners.values()):
            for rule in list(listener.rules.values()):
                if arn in (rule.arn, listener.arn if rule.is_default else None):
                    return str(balancer.type), _forwarded(rule.actions)
    return None


def _forwarded(actions: list[Any]) -> list[tuple[str, int]]:
    for action in actions:
        data = getattr(action, "data", {})
        if data.get("Type") != "forward":
            continue
        groups = (data.get("ForwardConfig") or {}).get("TargetGroups")
        if groups:
            return [(str(group["TargetGroupArn"]), int(group.get("Weight", 1))) for group in groups]
        if data.get("TargetGroupArn"):
            return [(str(data["TargetGroupArn"]), 1)]
    return []


def elbv2_set_forward_weights(arn: str, weights: dict[str, int]) -> bool:
    """Give the target groups of ``weights`` (ARN -> 0-999) those weights in the forward action of the listener
    rule ``arn``, as ModifyRule would; False when there is no such rule or it forwards to none of them."""
    from moto.elbv2.models import FakeAction, elbv2_backends

    parts = arn.split(":")
    regions = dict.get(elbv2_backends, parts[4]) if len(parts) > 5 else None
    backend = dict.get(regions, parts[3]) if regions is not None else None
    if backend is None:
        return False
    for balancer in list(backend.load_balancers.values()):
        for listener in list(balancer.listeners.values()):
            for rule in list(listener.rules.values()):
                if arn not in (rule.arn, listener.arn if rule.is_default else None):
                    continue
                changed = False
                actions = []
                for action in rule.actions:
                    data = copy.deepcopy(action.data)
                    groups = (data.get("ForwardConfig") or {}).get("TargetGroups") or []
                    for group in groups:
                        if data.get("Type") == "forward" and group.get("TargetGroupArn") in weights:
                            group["Weight"], changed = weights[group["TargetGroupArn"]], True
                    actions.append(FakeAction(data))
                if changed:  # a new action list, as ModifyRule makes: readers never see half of one
                    rule.actions = actions
                    if rule.is_default:
                        listener.default_actions = actions
                return changed
    return False


def target_group_arn(name: str) -> str | None:
    """The ARN of a target group named ``name`` in any account and region, None when there is none."""
    from moto.elbv2.models import elbv2_backends

    for _, _, backend in _backends(elbv2_backends):
        for group in list(backend.target_groups.values()):
            if group.name == name:
                return str(group.arn)
    return None


def elbv2_target_group_arn(account: str, region: str, name: str) -> str | None:
    """The ARN of the target group named ``name`` in ``account`` and ``region``; None when there is none."""
    from moto.core.base_backend import backend_lock
    from moto.elbv2.models import elbv2_backends

    with backend_lock:
        groups = list(elbv2_backends[account][region].target_groups.values())
    return next((str(group.arn) for group in groups if group.name == name), None)


def elbv2_forward(account: str, region: str, listener_arn: str, weights: dict[str, int]) -> bool:
    """Point every forward action of listener ``listener_arn`` (its default action and its rules) that forwards to
    one of the target groups of ``weights`` (ARN -> weight) at those target groups with those weights; one with
    weight 0 is left out, and a single one left is forwarded to by ``TargetGroupArn``. False when the listener
    does not exist."""
    from moto.core.base_backend import backend_lock
    from moto.elbv2.models import FakeAction, elbv2_backends

    with backend_lock:
        backend = elbv2_backends[account][region]
        listener = next((found for balancer in backend.load_balancers.values()
                         for found in balancer.listeners.values() if found.arn == listener_arn), None)
    if listener is None:
        return False
    serving = [(arn, weight) for arn, weight in weights.items() if weight > 0]
    for actions in [listener.default_actions] + [rule.actions for rule in listener._non_default_rules.values()]:
        for index, action in enumerate(actions):
            data = action.data
            if data.get("Type") != "forward":
                continue
            named = {data.get("TargetGroupArn")} | {group.get("TargetGroupArn") for group in
                                                   (data.get("ForwardConfig") or {}).get("TargetGroups", [])}
            if not named & set(weights):
                continue
            forward: dict[str, Any] = {"Type": "forward", "ForwardConfig": {"TargetGroups": [
                {"TargetGroupArn": arn, "Weight": weight} for arn, weight in serving]}}
            if "Order" in data:
                forward["Order"] = data["Order"]
            if len(serving) == 1:
                forward["TargetGroupArn"] = serving[0][0]
            actions[index] = FakeAction(forward)
    return True


def codedeploy_group(account: str, region: str, application: str,
                     group: str) -> tuple[str | None, dict[str, Any] | None]:
    """CodeDeploy's application ``application`` and its deployment group ``group`` as moto keeps them: (the
    application's computePlatform or None when there is no such application, the group as GetDeploymentGroup shows
    it or None when there is no such group)."""
    from moto.codedeploy.models import codedeploy_backends
    from moto.codedeploy.responses import _deployment_group_info

    backend = codedeploy_backends[account][region]
    found = backend.applications.get(application)
    if found is None:
        return None, None
    platform = str(found.compute_platform or "Server")
    dg = backend.deployment_groups.get(application, {}).get(group)
    if dg is None:
        return platform, None
    # moto keeps the alarmConfiguration CreateDeploymentGroup sent (the request's dict, whatever its annotation
    # says) but shows {} in its place
    alarm_configuration: Any = dg.alarm_configuration or {}
    return platform, copy.deepcopy({**_deployment_group_info(dg), "alarmConfiguration": dict(alarm_configuration)})


#: DeploymentGroupInfo keys UpdateDeploymentGroup changes -> moto's DeploymentGroup attribute
CODEDEPLOY_GROUP_ATTRIBUTES = {
    "deploymentConfigName": "deployment_config_name", "serviceRoleArn": "service_role_arn",
    "triggerConfigurations": "trigger_configurations", "alarmConfiguration": "alarm_configuration",
    "autoRollbackConfiguration": "auto_rollback_configuration", "deploymentStyle": "deployment_style",
    "blueGreenDeploymentConfiguration": "blue_green_deployment_configuration",
    "loadBalancerInfo": "load_balancer_info", "ecsServices": "ecs_services",
}


def codedeploy_update_group(account: str, region: str, application: str, group: str,
                            changes: dict[str, Any]) -> None:
    """UpdateDeploymentGroup, which moto lacks, on group ``group`` of ``application`` (both exist): each key of
    :data:`CODEDEPLOY_GROUP_ATTRIBUTES` in ``changes`` replaces the group's setting; ``newDeploymentGroupName``
    renames it."""
    from moto.codedeploy.models import codedeploy_backends

    groups = codedeploy_backends[account][region].deployment_groups[application]
    dg = groups[group]
    for key, attribute in CODEDEPLOY_GROUP_ATTRIBUTES.items():
        if key in changes:
            setattr(dg, attribute, copy.deepcopy(changes[key]))
    renamed = changes.get("newDeploymentGroupName")
    if renamed and renamed != group:
        groups[renamed] = groups.pop(group)
        dg.deployment_group_name = renamed


def codedeploy_traffic_route(account: str, region: str, cluster: str, service: str, *, test: bool) -> str | None:
    """The first listener ARN of the production (``test``: the test) traffic route of the first target group pair
    of the CodeDeploy deployment group naming the ECS service ``service`` of ``cluster`` in its ecsServices; None
    when no group names it or the group has no such route."""
    from moto.codedeploy.models import codedeploy_backends

    backend = codedeploy_backends[account][region]
    route = "testTrafficRoute" if test else "prodTrafficRoute"
    for groups in list(backend.deployment_groups.values()):
        for dg in list(groups.values()):
            names = [(s.get("clusterName"), s.get("serviceName")) for s in dg.ecs_services or []]
            if (cluster, service) not in names:
                continue
            pairs = (dg.load_balancer_info or {}).get("targetGroupPairInfoList") or [{}]
            arns = (pairs[0].get(route) or {}).get("listenerArns") or []
            return str(arns[0]) if arns else None
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


# -- CloudWatch Logs -------------------------------------------------------------------------------------

_logs_lock = threading.Lock()  # moto's log streams append without a lock; the runners write from many threads


def logs_open_stream(account: str, region: str, group: str, stream: str, *, create_group: bool) -> bool:
    """Create log stream ``stream`` in log group ``group`` (the group too when ``create_group``), keeping one that
    exists; False, creating nothing, when the group does not exist and ``create_group`` is false, or ``region``
    is not a region of CloudWatch Logs."""
    backend = _logs_backend(account, region)
    if backend is None:
        return False
    with _logs_lock:
        if group not in backend.groups:
            if not create_group:
                return False
            backend.create_log_group(group, {})
        if stream not in backend.groups[group].streams:
            backend.groups[group].create_log_stream(stream)
    return True


def logs_put_events(account: str, region: str, group: str, stream: str, events: list[tuple[int, str]]) -> bool:
    """Append ``events`` (epoch milliseconds, message) to a log stream, creating the stream again if it was
    deleted; False, writing nothing, when the log group is gone."""
    backend = _logs_backend(account, region)
    if backend is None:
        return False
    with _logs_lock:
        found = backend.groups.get(group)
        if found is None:
            return False
        if stream not in found.streams:
            found.create_log_stream(stream)
        found.put_log_events(stream, [{"timestamp": ms, "message": message} for ms, message in events])
    return True


def _logs_backend(account: str, region: str) -> Any:
    """moto's CloudWatch Logs backend of an account and region; None for a region moto does not know."""
    from moto.logs.models import logs_backends

    try:
        return logs_backends[account][region]
    except KeyError:
        return None
