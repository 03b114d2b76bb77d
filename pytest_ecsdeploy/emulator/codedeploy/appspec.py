"""The AppSpec of an ECS deployment: read from CreateDeployment's revision and checked.

Shape (CodeDeploy user guide reference-appspec-file-structure-resources / -hooks)::

    version: 0.0
    Resources:
      - TargetService:
          Type: AWS::ECS::Service
          Properties:
            TaskDefinition: "arn:aws:ecs:…:task-definition/web:2"
            LoadBalancerInfo: {ContainerName: "app", ContainerPort: 80}
            PlatformVersion: "LATEST"                      # optional
            NetworkConfiguration: {AwsvpcConfiguration: {Subnets: [...], SecurityGroups: [...],
                                                         AssignPublicIp: "ENABLED"}}   # optional
            CapacityProviderStrategy: [{Base: 1, CapacityProvider: "FARGATE_SPOT", Weight: 2}]   # optional
    Hooks:
      - BeforeInstall: "LambdaFunctionName"   # also AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic,
                                              # AfterAllowTraffic

The revision is ``{revisionType: AppSpecContent, appSpecContent: {content, sha256}}``; content is YAML or JSON, and
a given ``sha256`` must be that of the content (botocore codedeploy AppSpecContent). Every refusal is
InvalidRevisionException (RevisionRequiredException without a revision). CodeDeploy may report some of these
(a container name the task definition lacks) as a failed deployment rather than a refused request; the local
CodeDeploy refuses them at once (unverified which AWS does).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import CodeDeployError

HOOKS = ("BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic")


@dataclass(frozen=True)
class AppSpec:
    """What an ECS AppSpec asks: ``network_configuration`` in ECS's API shape (awsvpcConfiguration...), ``hooks``
    event name -> Lambda function name."""

    task_definition: str
    container_name: str
    container_port: int
    platform_version: str | None = None
    network_configuration: dict[str, Any] | None = None
    capacity_provider_strategy: list[dict[str, Any]] | None = None
    hooks: dict[str, str] = field(default_factory=dict)


def _invalid(message: str) -> CodeDeployError:
    return CodeDeployError("InvalidRevisionException", message)


def read_revision(revision: Any) -> tuple[AppSpec, str]:
    """The AppSpec of a CreateDeployment ``revision`` and the sha256 of its content."""
    if not isinstance(revision, dict) or not revision:
        raise CodeDeployError("RevisionRequiredException", "The revision must be specified.")
    if revision.get("revisionType") != "AppSpecContent":
        raise _invalid("An ECS deployment's revision must be of revisionType AppSpecContent.")
    given = revision.get("appSpecContent") or {}
    content = given.get("content")
    if not isinstance(content, str) or not content.strip():
        raise _invalid("The AppSpec content must not be empty.")
    digest = hashlib.sha256(content.encode()).hexdigest()
    if given.get("sha256") and str(given["sha256"]).lower() != digest:
        raise _invalid("The sha256 of the AppSpec content does not match the sha256 given.")
    return parse(content), digest


def parse(content: str) -> AppSpec:
    """An AppSpec from its YAML or JSON ``content``; InvalidRevisionException when it is not one."""
    try:
        document = json.loads(content)
    except ValueError:
        try:
            document = yaml.safe_load(content)
        except yaml.YAMLError as exc:
            raise _invalid(f"The AppSpec content is neither JSON nor YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(document, dict):
        raise _invalid("The AppSpec content must be a mapping with Resources.")
    resources = document.get("Resources")
    if not isinstance(resources, list) or len(resources) != 1 or not isinstance(resources[0], dict) \
            or len(resources[0]) != 1:
        raise _invalid("The AppSpec of an ECS deployment must list exactly one resource in Resources.")
    target = next(iter(resources[0].values()))
    if not isinstance(target, dict) or target.get("Type") != "AWS::ECS::Service":
        raise _invalid("The AppSpec resource must be of Type AWS::ECS::Service.")
    properties = target.get("Properties")
    if not isinstance(properties, dict) or not isinstance(properties.get("TaskDefinition"), str):
        raise _invalid("The AppSpec resource's Properties must name a TaskDefinition.")
    balancer = properties.get("LoadBalancerInfo")
    if not isinstance(balancer, dict) or not isinstance(balancer.get("ContainerName"), str):
        raise _invalid("The AppSpec resource's LoadBalancerInfo must name a ContainerName.")
    port = balancer.get("ContainerPort")
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise _invalid("The AppSpec resource's LoadBalancerInfo must give a ContainerPort from 1 to 65535.")
    return AppSpec(str(properties["TaskDefinition"]), str(balancer["ContainerName"]), port,
                   _optional_str(properties.get("PlatformVersion")),
                   _network(properties.get("NetworkConfiguration")),
                   _strategy(properties.get("CapacityProviderStrategy")), _hooks(document.get("Hooks")))


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _network(given: Any) -> dict[str, Any] | None:
    """AppSpec's NetworkConfiguration in ECS's API shape."""
    if given is None:
        return None
    awsvpc = given.get("AwsvpcConfiguration") if isinstance(given, dict) else None
    if not isinstance(awsvpc, dict) or not isinstance(awsvpc.get("Subnets"), list):
        raise _invalid("The AppSpec's NetworkConfiguration must have an AwsvpcConfiguration with Subnets.")
    shaped: dict[str, Any] = {"subnets": [str(s) for s in awsvpc["Subnets"]]}
    if awsvpc.get("SecurityGroups") is not None:
        shaped["securityGroups"] = [str(g) for g in awsvpc["SecurityGroups"]]
    if awsvpc.get("AssignPublicIp") is not None:
        if awsvpc["AssignPublicIp"] not in ("ENABLED", "DISABLED"):
            raise _invalid("The AppSpec's AssignPublicIp must be ENABLED or DISABLED.")
        shaped["assignPublicIp"] = awsvpc["AssignPublicIp"]
    return {"awsvpcConfiguration": shaped}


def _strategy(given: Any) -> list[dict[str, Any]] | None:
    if given is None:
        return None
    if not isinstance(given, list) or not all(isinstance(i, dict) and i.get("CapacityProvider") for i in given):
        raise _invalid("The AppSpec's CapacityProviderStrategy must list items with a CapacityProvider.")
    return [{"capacityProvider": str(i["CapacityProvider"]), "weight": int(i.get("Weight", 0)),
             "base": int(i.get("Base", 0))} for i in given]


def _hooks(given: Any) -> dict[str, str]:
    if given is None:
        return {}
    if not isinstance(given, list):
        raise _invalid("The AppSpec's Hooks must be a list of one-key mappings.")
    hooks: dict[str, str] = {}
    for item in given:
        if not isinstance(item, dict) or len(item) != 1:
            raise _invalid("The AppSpec's Hooks must be a list of one-key mappings.")
        (name, function), = item.items()
        if name not in HOOKS:
            raise _invalid(f"The AppSpec hook {name} is not an ECS lifecycle event hook; "
                           f"ECS takes {', '.join(HOOKS)}.")
        if not isinstance(function, str) or not function:
            raise _invalid(f"The AppSpec hook {name} must name a Lambda function.")
        hooks[name] = function
    return hooks


def check_against(spec: AppSpec, containers: tuple[dict[str, Any], ...]) -> None:
    """InvalidRevisionException when the task definition's ``containers`` have no container
    ``spec.container_name`` mapping port ``spec.container_port``."""
    container = next((c for c in containers if c.get("name") == spec.container_name), None)
    if container is None:
        raise _invalid(f"The container {spec.container_name} in the AppSpec's LoadBalancerInfo is not in the task "
                       "definition.")
    ports = {int(m.get("containerPort", 0)) for m in container.get("portMappings") or []}
    if spec.container_port not in ports:
        raise _invalid(f"The container {spec.container_name} does not map port {spec.container_port} in the task "
                       "definition.")
