"""The ``ecs_task`` fixture in a scenario, through pytester and the embedded local AWS: a failed migration is one
sentence and skips the rollout; the fixture alone makes a module a scenario (skipped without --env)."""

from __future__ import annotations

import json

import pytest

CONFIG = """
[environments.local]
backend = "emulator"
cluster = "local"
runner = "simulated"

[environments.local.seed]
clusters = ["local"]

[environments.local.seed.repositories.api]
tags = ["1.0.0"]

[environments.local.seed.services.api]
task_definition = "api.json"
images = { app = "api:1.0.0" }

[[environments.local.seed.image_behaviours]]
image = "api:1.0.0"
behaviour = "exit"
exit_code = 4
after = 0.2
command = ["migrate"]

[services.api]
repository = "api"
containers = ["app"]
"""

TASK_DEFINITION = {"family": "api", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256",
                   "memory": "512", "containerDefinitions": [{"name": "app", "image": "placeholder"}]}

SCENARIO = """
def test_migrate(ecs_task, ecs_service):
    ecs_task.run(ecs_service.revision, command=["migrate"], timeout=60)

def test_roll_out(ecs_service):
    raise AssertionError("never reached")
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.mkdir("deployments")
    pytester.path.joinpath("deployments", "ecsdeploy.toml").write_text(CONFIG)
    pytester.path.joinpath("deployments", "api.json").write_text(json.dumps(TASK_DEFINITION))
    pytester.path.joinpath("deployments", "test_api.py").write_text(SCENARIO)
    return pytester


def test_a_failed_migration_is_one_sentence_and_the_rollout_is_skipped(project: pytest.Pytester) -> None:
    result = project.runpytest("deployments", "--env", "local", "-rs")

    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines([
        "ActionError: ecs_task.run(): task * of api:1: container app exited 4.",
        "*an earlier step failed: test_migrate*",
    ])
    result.stdout.fnmatch_lines(["api *failed*", "api: one-off task: task * of api:1: container app exited 4."])
    assert "Traceback" not in result.stdout.str()


def test_a_module_using_only_ecs_task_is_a_scenario_skipped_without_env(project: pytest.Pytester) -> None:
    project.path.joinpath("deployments", "test_api.py").write_text(
        "def test_migrate(ecs_task):\n    ecs_task.run('api:1')\n"
    )

    result = project.runpytest("deployments", "-rs")

    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*deployment scenario: runs only with --env NAME*"])
