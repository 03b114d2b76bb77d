"""Every extension hook, implemented in a conftest beside the scenarios, is called with the documented arguments
(the real ``Service``, ``Environment`` and ``ServiceRecord``), through pytester and the embedded local AWS."""

from __future__ import annotations

import json
import re

import pytest

from pytest_ecsdeploy import hookspecs

CONFIG = """
[defaults]
wait_timeout = 60

[environments.local]
backend = "emulator"
cluster = "local"
runner = "simulated"

[environments.local.seed]
clusters = ["local"]

[environments.local.seed.repositories.api]
tags = ["1.0.0", "2.0.0"]

[environments.local.seed.services.api]
task_definition = "api.json"
images = { app = "api:1.0.0" }
desired_count = 1

[services.api]
repository = "api"
task_definition = "api.json"
containers = ["app"]
"""

TASK_DEFINITION = {"family": "api", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256",
                   "memory": "512", "containerDefinitions": [{"name": "app", "image": "placeholder"}]}

CONFTEST = """
from pathlib import Path

from pytest_ecsdeploy import Environment, Service, ServiceRecord

CALLS = Path(__file__).parent / "calls.txt"


def called(line):
    with CALLS.open("a") as calls:
        calls.write(line + "\\n")


def pytest_ecsdeploy_render_task_definition(service, environment, task_definition):
    assert isinstance(service, Service) and isinstance(environment, Environment)
    called(f"render {service.name} {environment.name} {task_definition['family']}")
    task_definition.setdefault("tags", []).append({"key": "deployed-by", "value": "pytest-ecsdeploy"})


def pytest_ecsdeploy_pre_checks(service, environment, action):
    assert isinstance(service, Service) and isinstance(environment, Environment)
    called(f"pre {action}")
    return [("change window open", True, f"{service.name} in {environment.name}")]


def pytest_ecsdeploy_post_checks(service, environment, action):
    assert isinstance(service, Service) and isinstance(environment, Environment)
    called(f"post {action}")
    return [("dashboards green", True, action)]


def pytest_ecsdeploy_deployed(record):
    assert isinstance(record, ServiceRecord)
    called(f"deployed {record.service} {record.outcome}")


def pytest_ecsdeploy_rolled_back(record):
    assert isinstance(record, ServiceRecord)
    called(f"rolled back {record.service} {record.outcome}, rollback {record.rollback.outcome}")
"""

SCENARIO = """
def test_deploy(deploy, aws, task_definition):
    deploy()
    described = aws.client("ecs").describe_task_definition(taskDefinition=task_definition.registered.arn,
                                                           include=["TAGS"])
    assert {"key": "deployed-by", "value": "pytest-ecsdeploy"} in described["tags"]


def test_smoke():
    assert False, "the smoke test fails after the rollout"
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.mkdir("deployments")
    pytester.path.joinpath("deployments", "ecsdeploy.toml").write_text(CONFIG)
    pytester.path.joinpath("deployments", "api.json").write_text(json.dumps(TASK_DEFINITION))
    pytester.path.joinpath("deployments", "conftest.py").write_text(CONFTEST)
    pytester.path.joinpath("deployments", "test_api.py").write_text(SCENARIO)
    return pytester


def test_every_hook_of_a_conftest_is_called_with_real_objects(project: pytest.Pytester) -> None:
    result = project.runpytest("deployments", "--env", "local", "--image-tag", "2.0.0")

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*[[]ok  ] pre  ecs_service.deploy: change window open — api in local",
        "*[[]ok  ] post ecs_service.deploy: dashboards green — ecs_service.deploy",
    ])
    calls = project.path.joinpath("deployments", "calls.txt").read_text().splitlines()
    assert calls == [
        "render api local api",
        "pre ecs_service.deploy",
        "post ecs_service.deploy",
        "deployed api deployed",
        "post ecs_service.rollback",
        "rolled back api rolled back, rollback completed",
    ]


def test_the_conftest_above_implements_every_hookspec_each_declared_as_one() -> None:
    specs = {name for name in vars(hookspecs) if name.startswith("pytest_ecsdeploy_")}
    implemented = set(re.findall(r"^def (pytest_ecsdeploy_\w+)\(", CONFTEST, re.MULTILINE))

    assert specs and implemented == specs
    assert [name for name in specs if not hasattr(getattr(hookspecs, name), "pytest_spec")] == []
