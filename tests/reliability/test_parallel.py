"""Services deployed in parallel with pytest-xdist (``-n 2``) end up in one deployment record, one terminal summary
and one set of Octopus output variables, exactly as in a run without workers."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_ecsdeploy.emulator import LocalAWS

API_SCENARIO = '''
import pytest

pytestmark = pytest.mark.ecs_service("api")


def test_deploy(deploy):
    deploy()
'''


@pytest.fixture
def two_services(scenario_project: Path, standing_emulator: LocalAWS) -> Path:
    """The base project plus service ``api`` (family api, same image repository), running on api:1."""
    standing_emulator.reset()
    deployments = scenario_project / "deployments"
    template = json.loads((deployments / "web" / "taskdef.json").read_text().replace("${LOG_LEVEL}", "info"))
    template["family"] = "api"
    (deployments / "api").mkdir()
    (deployments / "api" / "taskdef.json").write_text(json.dumps(template, indent=2))
    config = deployments / "ecsdeploy.toml"
    config.write_text(config.read_text() + '\n[services.api]\nrepository = "web"\ntask_definition = '
                      '"api/taskdef.json"\ncontainers = ["app"]\n')
    (deployments / "test_api.py").write_text(API_SCENARIO)
    ecs = standing_emulator.client("ecs")
    uri = standing_emulator.client("ecr").describe_repositories(repositoryNames=["web"])["repositories"][0]
    template["containerDefinitions"][0]["image"] = f"{uri['repositoryUri']}:1.0.0"
    arn = ecs.register_task_definition(**template)["taskDefinition"]["taskDefinitionArn"]
    web = ecs.describe_services(cluster="local", services=["web"])["services"][0]
    standing_emulator.seed_service({"cluster": "local", "serviceName": "api", "taskDefinition": arn,
                                    "desiredCount": 2, "launchType": "FARGATE",
                                    "networkConfiguration": web.get("networkConfiguration") or {}})
    return scenario_project


def test_two_services_deployed_by_two_workers_are_recorded_and_reported_once(
    two_services: Path, standing_emulator: LocalAWS, run_pytest: Callable[..., Any]
) -> None:
    outcome = run_pytest(standing_emulator.endpoint_url, "deployments", "-n", "2", "--env", "outside", "--image-tag",
                         "2.0.0", "--octopus", "--ecsdeploy-report", "record.json", timeout=180)
    assert outcome.returncode == 0, outcome.output
    ecs = standing_emulator.client("ecs")
    for name in ("web", "api"):  # both were deployed
        service = ecs.describe_services(cluster="local", services=[name])["services"][0]
        assert service["taskDefinition"].endswith(f"/{name}:2"), service["taskDefinition"]
    record = json.loads((two_services / "record.json").read_text())["services"]
    assert {name: rec["outcome"] for name, rec in record.items()} == {"web": "deployed", "api": "deployed"}, record
    assert "ecsdeploy summary" in outcome.output, outcome.output
    summary = outcome.output.split("ecsdeploy summary", 1)[1]
    assert "web:1 -> web:2  deployed" in summary and "api:1 -> api:2  deployed" in summary, summary
    variables = [base64.b64decode(line.split("name='", 1)[1].split("'", 1)[0]).decode()
                 for line in outcome.output.splitlines() if line.startswith("##octopus[setVariable ")]
    assert {"EcsDeploy.web.Outcome", "EcsDeploy.api.Outcome"} <= set(variables), variables
