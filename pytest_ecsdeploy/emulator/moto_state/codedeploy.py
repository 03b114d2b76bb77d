"""CodeDeploy: an application's deployment group as moto keeps it, UpdateDeploymentGroup (which moto lacks), and
the traffic routes of the group naming an ECS service."""

from __future__ import annotations

import copy
from typing import Any


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
