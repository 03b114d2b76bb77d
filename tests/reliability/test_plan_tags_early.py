"""A plan that meets steps it cannot run, per-service image tags, and a run that fails before any write: each run's
record and Octopus output read back and compared with what ECS shows."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_ecsdeploy.emulator import LocalAWS

from .test_octopus_run import UNDER_OCTOPUS, service_messages, variables

# A scenario whose later steps need what only the writes make: a registered revision and a rollout.
NEEDS_THE_WRITES = '''
import pytest

pytestmark = pytest.mark.ecs_service("web")


def test_register(task_definition, ecr):
    task_definition.with_image("app", ecr.image()).register()


def test_revision_is_new(task_definition):
    assert task_definition.registered.arn.endswith(":2"), task_definition.registered


def test_roll_out(ecs_service, task_definition):
    ecs_service.deploy(task_definition.registered)


def test_release_answers(ecs_service):
    assert ecs_service.revision.endswith("/web:2")


def test_smoke(smoke):
    smoke.targets_healthy()
'''

WITHOUT_CREDENTIALS = '''
[environments.awsless]
backend = "aws"
cluster = "local"
endpoint_url = "${RELIABILITY_ENDPOINT}"
'''


def web_revision(local: LocalAWS) -> str:
    service = local.client("ecs").describe_services(cluster="local", services=["web"])["services"][0]
    return str(service["taskDefinition"]).rsplit("/", 1)[-1]


def record(project: Path) -> dict[str, Any]:
    return json.loads((project / "record.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture
def emulator(standing_emulator: LocalAWS) -> LocalAWS:
    standing_emulator.reset()
    return standing_emulator


def test_a_plan_skips_the_steps_that_need_its_writes_and_says_so(
    emulator: LocalAWS, scenario_project: Path, run_pytest: Callable[..., Any]
) -> None:
    (scenario_project / "deployments" / "test_web.py").write_text(NEEDS_THE_WRITES)
    outcome = run_pytest(emulator.endpoint_url, "deployments", "--env", "outside", "--image-tag", "2.0.0", "--plan",
                         "-rA", "--ecsdeploy-report", "record.json")
    assert outcome.returncode == 0, outcome.output
    assert not outcome.tracebacks(), outcome.output
    assert "2 passed, 3 skipped" in outcome.output, outcome.output
    assert "plan: not run: it needs the writes this plan did not make (AttributeError" in outcome.output
    assert "plan: not run: it comes after the rollout this plan did not make" in outcome.output
    assert "plan: not run: 3 step(s) need the writes this plan did not make: test_revision_is_new, " \
           "test_release_answers, test_smoke" in outcome.output
    assert record(scenario_project)["services"]["web"]["outcome"] == "planned"
    assert web_revision(emulator) == "web:1"


def test_each_service_deploys_its_own_tag(
    emulator: LocalAWS, scenario_project: Path, run_pytest: Callable[..., Any]
) -> None:
    outcome = run_pytest(emulator.endpoint_url, "deployments", "--env", "outside", "--image-tag", "web=3.0.0",
                         "--ecsdeploy-report", "record.json")
    assert outcome.returncode == 0, outcome.output
    assert "image-tag=web=3.0.0 " in outcome.output
    rec = record(scenario_project)
    assert rec["imageTags"] == {"web": "3.0.0"} and rec["imageTag"] is None
    assert rec["services"]["web"]["outcome"] == "deployed"
    assert ":3.0.0" not in str(rec["services"]["web"]["image"]["after"])  # pinned by digest
    assert web_revision(emulator) == "web:2"
    image = emulator.client("ecs").describe_task_definition(taskDefinition="web:2")["taskDefinition"]
    digest = emulator.client("ecr").describe_images(repositoryName="web", imageIds=[{"imageTag": "3.0.0"}])
    assert image["containerDefinitions"][0]["image"].endswith(digest["imageDetails"][0]["imageDigest"])


def test_a_run_without_credentials_fails_naming_the_cause_everywhere(
    emulator: LocalAWS, scenario_project: Path, run_pytest: Callable[..., Any]
) -> None:
    config = scenario_project / "deployments" / "ecsdeploy.toml"
    config.write_text(config.read_text() + WITHOUT_CREDENTIALS)
    no_credentials = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_EC2_METADATA_DISABLED": "true"}
    outcome = run_pytest(emulator.endpoint_url, "deployments", "--env", "awsless", "--image-tag", "2.0.0",
                         "--ecsdeploy-report", "record.json", env={**UNDER_OCTOPUS, **no_credentials})
    assert outcome.returncode == 1, outcome.output
    assert not outcome.tracebacks(), outcome.output
    web = record(scenario_project)["services"]["web"]
    assert web["outcome"] == "failed" and "Unable to locate credentials" in web["reason"], web
    assert web["reason"].endswith("; the service was not changed by this run"), web
    messages = service_messages(outcome.output)
    assert variables(messages)["EcsDeploy.web.Outcome"] == "failed"
    (result,) = [a["message"] for name, a in messages if name == "resultMessage"]
    assert result.startswith("ecsdeploy (awsless): web failed: ") and "Unable to locate credentials" in result
    assert web_revision(emulator) == "web:1"
