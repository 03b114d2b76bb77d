"""CodeDeploy: an application's deployment group as moto keeps it, and the traffic routes of the group naming an
ECS service."""

from __future__ import annotations

from typing import Any


def codedeploy_group(account: str, region: str, application: str,
                     group: str) -> tuple[str | None, dict[str, Any] | None]:
    """CodeDeploy's application ``application`` and its deployment group ``group`` as moto keeps them: (the
    application's computePlatform or None when there is no such application, the group as GetDeploymentGroup shows
    it or None when there is no such group)."""
    from moto.codedeploy.models import codedeploy_backends

    backend = codedeploy_backends[account][region]
    found = backend.applications.get(application)
    if found is None:
        return None, None
    platform = str(found.compute_platform or "Server")
    dg = backend.deployment_groups.get(application, {}).get(group)
    if dg is None:
        return platform, None
    return platform, {
        "deploymentGroupName": dg.deployment_group_name, "deploymentGroupId": dg.deployment_group_id,
        "deploymentConfigName": dg.deployment_config_name, "serviceRoleArn": dg.service_role_arn,
        "autoRollbackConfiguration": dict(dg.auto_rollback_configuration or {}),
        "deploymentStyle": dict(dg.deployment_style or {}),
        "blueGreenDeploymentConfiguration": dict(dg.blue_green_deployment_configuration or {}),
        "loadBalancerInfo": dict(dg.load_balancer_info or {}), "ecsServices": list(dg.ecs_services or []),
    }


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
