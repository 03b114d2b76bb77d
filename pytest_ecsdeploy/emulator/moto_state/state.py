"""moto's whole state as JSON-able data (:func:`snapshot`) and its reset (:func:`reset`), and the listing of every
backend of a service (:func:`_backends`, under moto's ``backend_lock``) that the other modules use."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

# -- the whole state -------------------------------------------------------------------------------------


def reset() -> None:
    """Empty every backend of every service, as moto's own ``/moto-api/reset`` does, leaving them to be built again
    by their first use.

    moto's reset builds every backend that existed again (``BaseBackend.reset``: ``__init__`` anew) and then drops
    it: EC2's default VPC and subnets, IAM's managed policies, for nothing. Here the backends are dropped unbuilt,
    and the two caches that kept dropped backends alive are emptied: ``AccountSpecificBackend._generate_regions``
    (an ``lru_cache`` keyed by the account's dictionary of backends, 128 of them) and EC2 ``Subnet``'s
    ``_base_avail_ip_iterator`` (a ``cache`` keyed by the subnet, which holds its backend); without that, a process
    that resets often (a LocalAWS per test module) carries every EC2 backend of its last hundred resets, and
    each collection of the garbage collector walks them.
    """
    from moto.core.base_backend import AccountSpecificBackend, BackendDict, backend_lock
    from moto.core.model_instances import reset_model_data
    from moto.moto_api._internal.models import moto_api_backend

    instances: list[Any] = BackendDict._instances  # type: ignore[misc]
    with backend_lock:
        for backend_dict in instances:
            for account_backends in list(dict.values(backend_dict)):
                dict.clear(account_backends)
            dict.clear(backend_dict)
        instances.clear()
        AccountSpecificBackend._generate_regions.cache_clear()  # type: ignore[attr-defined]
    reset_model_data()
    subnets = sys.modules.get("moto.ec2.models.subnets")  # imported by EC2's first use, not for its cache
    if subnets is not None:
        subnets.Subnet._base_avail_ip_iterator.cache_clear()
    moto_api_backend.__init__(moto_api_backend.region_name, moto_api_backend.account_id)  # type: ignore[misc]


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
