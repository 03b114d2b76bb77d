"""CloudFormation's ``AWS::ECS::Service`` and ``AWS::ECS::TaskDefinition`` through the rollout engine, with every
property a template gives (:func:`_patch_cloudformation_service`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from .engine import (
    EngineResource,
    _ask,
    _camel,
)


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
