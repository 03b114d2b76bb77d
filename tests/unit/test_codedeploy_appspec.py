"""The local CodeDeploy's AppSpec reading and deployment configs, without a server."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import yaml

from pytest_ecsdeploy.emulator.codedeploy import configs
from pytest_ecsdeploy.emulator.codedeploy.appspec import AppSpec, check_against, parse, read_revision
from pytest_ecsdeploy.emulator.codedeploy.errors import CodeDeployError

FULL = {
    "version": 0.0,
    "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
        "TaskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2",
        "LoadBalancerInfo": {"ContainerName": "app", "ContainerPort": 8080},
        "PlatformVersion": "LATEST",
        "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"], "SecurityGroups": ["sg-1"],
                                                         "AssignPublicIp": "DISABLED"}},
        "CapacityProviderStrategy": [{"Base": 1, "CapacityProvider": "FARGATE_SPOT", "Weight": 2}]}}}],
    "Hooks": [{"BeforeInstall": "before"}, {"AfterAllowTestTraffic": "smoke"}],
}


def test_yaml_and_json_appspecs_read_the_same() -> None:
    expected = AppSpec(
        "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2", "app", 8080, "LATEST",
        {"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}},
        [{"capacityProvider": "FARGATE_SPOT", "weight": 2, "base": 1}],
        {"BeforeInstall": "before", "AfterAllowTestTraffic": "smoke"})
    assert parse(json.dumps(FULL)) == parse(yaml.safe_dump(FULL)) == expected


def _with(path: tuple[Any, ...], value: Any) -> str:
    document = json.loads(json.dumps(FULL))
    node = document
    for key in path[:-1]:
        node = node[key]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return json.dumps(document)


PROPERTIES = ("Resources", 0, "TargetService", "Properties")


@pytest.mark.parametrize("content", [
    "Resources: [unclosed", "[]", json.dumps({"version": 0.0}),
    _with(("Resources",), [{"A": {}}, {"B": {}}]),
    _with(("Resources", 0, "TargetService", "Type"), "AWS::Lambda::Function"),
    _with((*PROPERTIES, "TaskDefinition"), None),
    _with((*PROPERTIES, "LoadBalancerInfo"), {"ContainerPort": 80}),
    _with((*PROPERTIES, "LoadBalancerInfo"), {"ContainerName": "app", "ContainerPort": 0}),
    _with((*PROPERTIES, "LoadBalancerInfo"), {"ContainerName": "app", "ContainerPort": True}),
    _with((*PROPERTIES, "NetworkConfiguration"), {"AwsvpcConfiguration": {}}),
    _with((*PROPERTIES, "NetworkConfiguration", "AwsvpcConfiguration", "AssignPublicIp"), "YES"),
    _with((*PROPERTIES, "CapacityProviderStrategy"), [{"Weight": 1}]),
    _with(("Hooks",), [{"Install": "f"}]),
    _with(("Hooks",), [{"BeforeInstall": ""}]),
    _with(("Hooks",), {"BeforeInstall": "f"}),
    _with(("Hooks",), [{"BeforeInstall": "f", "AfterInstall": "g"}]),
])
def test_what_is_not_an_ecs_appspec_is_an_invalid_revision(content: str) -> None:
    with pytest.raises(CodeDeployError) as exc:
        parse(content)
    assert exc.value.code == "InvalidRevisionException"


def test_the_revision_and_its_sha256() -> None:
    content = json.dumps(FULL)
    digest = hashlib.sha256(content.encode()).hexdigest()
    revision = {"revisionType": "AppSpecContent", "appSpecContent": {"content": content, "sha256": digest.upper()}}
    assert read_revision(revision)[1] == digest
    for bad, code in (({}, "RevisionRequiredException"),
                      ({"revisionType": "S3"}, "InvalidRevisionException"),
                      ({"revisionType": "AppSpecContent", "appSpecContent": {"content": " "}}, "InvalidRevisionException"),
                      ({"revisionType": "AppSpecContent", "appSpecContent": {"content": content, "sha256": "ab"}},
                       "InvalidRevisionException")):
        with pytest.raises(CodeDeployError) as exc:
            read_revision(bad)
        assert exc.value.code == code


def test_the_container_and_port_must_be_in_the_task_definition() -> None:
    spec = parse(json.dumps(FULL))
    check_against(spec, ({"name": "app", "portMappings": [{"containerPort": 8080}]},))
    for containers in (({"name": "other", "portMappings": [{"containerPort": 8080}]},),
                       ({"name": "app", "portMappings": [{"containerPort": 80}]},), ({"name": "app"},)):
        with pytest.raises(CodeDeployError):
            check_against(spec, containers)


@pytest.mark.parametrize("name, steps", [
    ("CodeDeployDefault.ECSAllAtOnce", [(0.0, 100)]),
    ("CodeDeployDefault.ECSCanary10Percent5Minutes", [(0.0, 10), (300.0, 100)]),
    ("CodeDeployDefault.ECSCanary10Percent15Minutes", [(0.0, 10), (900.0, 100)]),
    ("CodeDeployDefault.ECSLinear10PercentEvery1Minutes", [(60.0 * i, 10 * (i + 1)) for i in range(10)]),
    ("CodeDeployDefault.ECSLinear10PercentEvery3Minutes", [(180.0 * i, 10 * (i + 1)) for i in range(10)]),
])
def test_each_predefined_config_moves_traffic_in_its_steps(name: str, steps: list[tuple[float, int]]) -> None:
    assert configs.steps(name) == steps
    assert configs.config_json(name)["deploymentConfigName"] == name


def test_a_config_that_is_not_a_predefined_ecs_one_does_not_exist() -> None:
    for name in ("CodeDeployDefault.OneAtATime", "Custom", None):
        with pytest.raises(CodeDeployError) as exc:
            configs.checked(name)
        assert exc.value.code == "DeploymentConfigDoesNotExistException"
