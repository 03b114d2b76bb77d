"""The predefined CodeDeploy deployment configs for ECS and how each moves production traffic.

Names (aws-cdk aws-codedeploy/lib/ecs/deployment-config.ts ``EcsDeploymentConfig``; CodeDeploy user guide
deployment-configurations): ``CodeDeployDefault.ECSAllAtOnce`` moves all traffic at once;
``ECSLinear10PercentEvery1Minutes`` / ``…3Minutes`` move 10 % every 1 / 3 minutes; ``ECSCanary10Percent5Minutes``
/ ``…15Minutes`` move 10 %, then the rest 5 / 15 minutes later. Custom configs (CreateDeploymentConfig) are not
played: moto does not keep them.
"""

from __future__ import annotations

from typing import Any

from .errors import CodeDeployError

DEFAULT = "CodeDeployDefault.ECSAllAtOnce"
#: name -> (trafficRoutingConfig type, percent, interval in minutes)
PREDEFINED: dict[str, tuple[str, int, int]] = {
    "CodeDeployDefault.ECSAllAtOnce": ("AllAtOnce", 100, 0),
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes": ("TimeBasedLinear", 10, 1),
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes": ("TimeBasedLinear", 10, 3),
    "CodeDeployDefault.ECSCanary10Percent5Minutes": ("TimeBasedCanary", 10, 5),
    "CodeDeployDefault.ECSCanary10Percent15Minutes": ("TimeBasedCanary", 10, 15),
}


def checked(name: Any) -> str:
    """``name`` when it is a predefined ECS config; else DeploymentConfigDoesNotExistException."""
    if name not in PREDEFINED:
        raise CodeDeployError("DeploymentConfigDoesNotExistException",
                              f"The deployment configuration {name} does not exist with the user or AWS account, "
                              "or it is not an ECS deployment configuration.")
    return str(name)


def steps(name: str) -> list[tuple[float, int]]:
    """The production traffic shift of config ``name``: (seconds after the shift starts, green's weight in percent)
    for each step, the last at 100.

    >>> steps("CodeDeployDefault.ECSCanary10Percent5Minutes")
    [(0.0, 10), (300.0, 100)]
    """
    kind, percent, minutes = PREDEFINED[name]
    if kind == "AllAtOnce":
        return [(0.0, 100)]
    if kind == "TimeBasedCanary":
        return [(0.0, percent), (minutes * 60.0, 100)]
    count = -(-100 // percent)
    return [(i * minutes * 60.0, min(100, (i + 1) * percent)) for i in range(count)]


def config_json(name: str) -> dict[str, Any]:
    """GetDeploymentConfig's ``deploymentConfigInfo`` of a predefined config (botocore codedeploy)."""
    kind, percent, minutes = PREDEFINED[name]
    routing: dict[str, Any] = {"type": kind}
    if kind == "TimeBasedLinear":
        routing["timeBasedLinear"] = {"linearPercentage": percent, "linearInterval": minutes}
    elif kind == "TimeBasedCanary":
        routing["timeBasedCanary"] = {"canaryPercentage": percent, "canaryInterval": minutes}
    return {"deploymentConfigName": name, "computePlatform": "ECS", "trafficRoutingConfig": routing,
            "createTime": 0.0}
