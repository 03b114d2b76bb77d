"""The seed's ``[[image_behaviours]]``: checked like ``set_image_behaviour``, applied before the services, and a
behaviour with ``command`` concerning only the containers started with that command (a migration's RunTask
override), not the service's tasks of the same image."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.runners.base import ContainerSpec
from pytest_ecsdeploy.emulator.runners.simulated import SimulatedRunner
from pytest_ecsdeploy.emulator.seed import SeedImageBehaviour, parse_seed
from pytest_ecsdeploy.errors import ConfigError

WHERE = "deployments/ecsdeploy.toml: [environments.local.seed]"
MIGRATE = ["/bin/sh", "-c", "echo migrating"]


REPOSITORIES = {"api": {"tags": ["1.0.0", "1.1.0"]}, "web": {"tags": ["2.0.0"]}}


def parse(behaviours: Any, repositories: Any = None) -> tuple[SeedImageBehaviour, ...]:
    seed = {"image_behaviours": behaviours, "repositories": REPOSITORIES if repositories is None else repositories}
    return parse_seed(seed, WHERE, Path.cwd(), {}).image_behaviours


@pytest.mark.parametrize(
    ("image", "repositories", "message"),
    [
        ("api:1.1.1", None, "no seeded repository holds 'api:1.1.1'; did you mean 'api:1.1.0'? (the seeded images "
                            "are: api:1.0.0, api:1.1.0, web:2.0.0)."),
        ("wbe:2.0.0", None, "no seeded repository holds 'wbe:2.0.0'; did you mean 'web:2.0.0'? (the seeded images "
                            "are: api:1.0.0, api:1.1.0, web:2.0.0)."),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:3.1.4", None,
         "no seeded repository holds '123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:3.1.4'; the seeded "
         "images are: api:1.0.0, api:1.1.0, web:2.0.0."),
        ("api:1.1.0", {}, "no seeded repository holds 'api:1.1.0'; the seed has no repository with tags "
                          "(repositories.NAME.tags)."),
    ],
    ids=["tag-typo", "repository-typo", "unseeded-uri", "no-repositories"],
)
def test_a_behaviour_for_an_image_no_seeded_repository_holds_is_an_error(image: str, repositories: Any,
                                                                         message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse([{"image": image, "behaviour": "crash"}, {"image": "api:1.0.0", "behaviour": "healthy"}], repositories)
    assert str(caught.value) == f"{WHERE.split(':')[0]}: [environments.local.seed.image_behaviours] entry 1 image: " \
                                f"{message}"


def test_a_behaviour_may_name_a_seeded_image_by_its_registry_uri() -> None:
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:2.0.0"
    assert parse([{"image": image, "behaviour": "crash"}])[0].image == image


def test_entries_parse_with_their_parameters_and_command() -> None:
    assert parse([
        {"image": "api:1.1.0", "behaviour": "exit", "exit_code": 0, "after": 1.5, "command": MIGRATE},
        {"image": "web:2.0.0", "behaviour": "crash"},
    ]) == (
        SeedImageBehaviour("api:1.1.0", "exit", {"exit_code": 0, "after": 1.5, "command": tuple(MIGRATE)}),
        SeedImageBehaviour("web:2.0.0", "crash", {}),
    )


@pytest.mark.parametrize(
    ("behaviours", "message"),
    [
        ({"image": "api:1.1.0"}, "[environments.local.seed] image_behaviours: expected a list of tables "
                                 "([[image_behaviours]]), got a table."),
        ([{"image": "api:1.1.0", "behaviour": "exitt"}],
         "[environments.local.seed.image_behaviours] entry 1 behaviour: 'exitt' is not one of healthy, crash, "
         "unhealthy, pull-error, exit; did you mean 'exit'?"),
        ([{"image": "api:1.1.0"}], "[environments.local.seed.image_behaviours] entry 1: missing the key 'behaviour'."),
        ([{"image": "api:1.1.0", "behaviour": "exit", "code": 3}],
         "[environments.local.seed.image_behaviours] entry 1: unknown key 'code'; did you mean 'exit_code'? (valid "
         "keys are: after, behaviour, command, exit_code, image, logs, reason)."),
        ([{"image": "api:1.1.0", "behaviour": "exit", "exit_code": "3"}],
         "[environments.local.seed.image_behaviours] entry 1: exit_code must be an integer, got '3'."),
        ([{"image": "api:1.1.0", "behaviour": "healthy", "after": 2}],
         "[environments.local.seed.image_behaviours] entry 1: unknown parameter(s) after for image behaviour "
         "'healthy'; valid: logs."),
        ([{"image": "api:1.1.0", "behaviour": "crash", "logs": "boom"}],
         "[environments.local.seed.image_behaviours] entry 1: logs must be a list of strings, got 'boom'."),
        ([{"image": "api:1.1.0", "behaviour": "pull-error", "logs": ["never printed"]}],
         "[environments.local.seed.image_behaviours] entry 1: unknown parameter(s) logs for image behaviour "
         "'pull-error'; valid: reason."),
        ([{"image": "api:1.1.0", "behaviour": "exit", "command": "migrate"}],
         "[environments.local.seed.image_behaviours] entry 1 command: expected a list of strings, got 'migrate' "
         "(a string)."),
        ([{"image": "api:1.1.0", "behaviour": "exit", "command": []}],
         "[environments.local.seed.image_behaviours] entry 1 command: expected at least one string."),
        ([{"image": "", "behaviour": "exit"}],
         "[environments.local.seed.image_behaviours] entry 1 image: expected a non-empty string, got '' (a string)."),
    ],
    ids=["not-a-list", "unknown-behaviour", "no-behaviour", "unknown-key", "exit-code-type", "parameter-of-another",
         "logs-string", "logs-of-pull-error",
         "command-string", "command-empty", "image-empty"],
)
def test_each_mistake_is_one_sentence_naming_the_entry(behaviours: Any, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse(behaviours)

    assert str(raised.value) == f"deployments/ecsdeploy.toml: {message}"


def test_a_behaviour_with_a_command_wins_for_that_command_only() -> None:
    runner = SimulatedRunner()
    runner.set_image_behaviour("api:1.1.0", "crash", exit_code=2)
    runner.set_image_behaviour("api:1.1.0", "exit", command=MIGRATE)

    def container(command: list[str] | None) -> ContainerSpec:
        return ContainerSpec("app", "api:1.1.0", definition={"command": command} if command else {})

    assert runner.behaviour_for(container(MIGRATE)).behaviour == "exit"
    assert runner.behaviour_for(container(["serve"])).behaviour == "crash"
    assert runner.behaviour_for(container(None)).behaviour == "crash"
    with pytest.raises(ValueError, match="command must be a list of strings"):
        runner.set_image_behaviour("api:1.1.0", "exit", command="migrate")


def wait_until_stopped(local: LocalAWS, task_arn: str) -> dict[str, Any]:
    ecs = local.client("ecs")
    deadline = time.monotonic() + 30
    while True:
        [task] = ecs.describe_tasks(cluster="local", tasks=[task_arn])["tasks"]
        if task["lastStatus"] == "STOPPED" or time.monotonic() > deadline:
            return dict(task)
        time.sleep(0.1)


def test_a_seeded_behaviour_lets_a_one_off_task_finish_while_the_service_keeps_running(tmp_path: Path) -> None:
    (tmp_path / "api.json").write_text(json.dumps({
        "family": "api", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256",
        "memory": "512", "containerDefinitions": [{"name": "app", "image": "placeholder", "essential": True}],
    }))
    seed = {
        "clusters": ["local"],
        "repositories": {"api": {"tags": ["1.0.0"]}},
        "services": {"api": {"task_definition": "api.json", "images": {"app": "api:1.0.0"}}},
        "image_behaviours": [{"image": "api:1.0.0", "behaviour": "exit", "exit_code": 0, "after": 0.5,
                              "command": MIGRATE}],
    }
    with LocalAWS(seed=seed, base_dir=tmp_path, runner="simulated", speed=4) as local:
        ecs = local.client("ecs")
        described = ecs.describe_services(cluster="local", services=["api"])["services"][0]
        revision, network = described["taskDefinition"], described["networkConfiguration"]
        started = ecs.run_task(cluster="local", taskDefinition=revision, networkConfiguration=network, overrides={
            "containerOverrides": [{"name": "app", "command": MIGRATE}]})["tasks"][0]["taskArn"]

        task = wait_until_stopped(local, started)
        service = ecs.describe_services(cluster="local", services=["api"])["services"][0]

    assert (task["lastStatus"], task["stopCode"], task["containers"][0]["exitCode"]) == (
        "STOPPED", "EssentialContainerExited", 0)
    assert service["runningCount"] == 1 and service["deployments"][0]["rolloutState"] == "COMPLETED"
