"""LocalStack's settings, skip reasons and container configuration (nothing is started), and the compose file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pytest_ecsdeploy.localstack import (
    DEFAULT_IMAGE,
    LocalStack,
    LocalStackSettings,
    docker_ping,
    localstack_container,
    skip_reason,
)

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ls-test-0000"


def reason(settings: LocalStackSettings, *, ping: str | None = None, missing: tuple[str, ...] = ()) -> str | None:
    asked: list[str] = []

    def image_present(image: str) -> bool:
        asked.append(image)
        return image not in missing

    return skip_reason(settings, docker_ping=lambda: ping, image_present=image_present)


def test_without_a_token_nothing_else_is_asked() -> None:
    def no_docker_call() -> str | None:
        raise AssertionError("Docker was asked although the token is missing")

    text = skip_reason(LocalStackSettings(token=None), docker_ping=no_docker_call, image_present=lambda i: True)

    assert text == ("LOCALSTACK_AUTH_TOKEN is not set: LocalStack's ECS and ECR need a paid plan's auth token; "
                    "export LOCALSTACK_AUTH_TOKEN=<your token> to run this, or deploy to the embedded local AWS "
                    "(--env local), which needs no token.")


def test_no_docker_engine_says_where_it_looked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/user/1000/docker.sock")

    assert reason(LocalStackSettings(token=TOKEN), ping="DockerException") == (
        "no Docker engine answers at unix:///run/user/1000/docker.sock (DockerException): LocalStack and the task "
        "containers of its ECS run on Docker; start dockerd or set DOCKER_HOST, then run again.")


def test_a_missing_image_says_which_docker_pull_to_run() -> None:
    assert reason(LocalStackSettings(token=TOKEN), missing=(DEFAULT_IMAGE,)) == (
        "the LocalStack image localstack/localstack-pro is not in the local Docker engine and is not pulled during a "
        "test run: run `docker pull localstack/localstack-pro` once, or set ECSDEPLOY_LOCALSTACK_IMAGE to a "
        "LocalStack image you have, then run again.")


def test_the_ryuk_image_is_needed_unless_ryuk_is_disabled() -> None:
    settings = LocalStackSettings.from_environ({"LOCALSTACK_AUTH_TOKEN": TOKEN})
    assert reason(settings, missing=("testcontainers/ryuk:0.8.1",)) == (
        "the testcontainers' Ryuk image testcontainers/ryuk:0.8.1 is not in the local Docker engine and is not "
        "pulled during a test run: run `docker pull testcontainers/ryuk:0.8.1` once, or set "
        "TESTCONTAINERS_RYUK_DISABLED=true, then run again.")
    disabled = LocalStackSettings.from_environ({"LOCALSTACK_AUTH_TOKEN": TOKEN, "TESTCONTAINERS_RYUK_DISABLED": "true"})
    assert reason(disabled, missing=("testcontainers/ryuk:0.8.1",)) is None


def test_settings_come_from_the_environment() -> None:
    settings = LocalStackSettings.from_environ({
        "LOCALSTACK_AUTH_TOKEN": TOKEN, "ECSDEPLOY_LOCALSTACK_IMAGE": "localstack/localstack:2026.3",
        "AWS_DEFAULT_REGION": "eu-west-1", "RYUK_CONTAINER_IMAGE": "mirror/ryuk:0.8.1",
    })

    assert settings == LocalStackSettings(image="localstack/localstack:2026.3", token=TOKEN, region="eu-west-1",
                                          ryuk_image="mirror/ryuk:0.8.1")
    assert TOKEN not in repr(settings)


def test_the_container_gets_the_token_the_docker_socket_and_a_loopback_port() -> None:
    settings = LocalStackSettings(token=TOKEN, region="eu-west-1")

    assert settings.container_environment() == {"LOCALSTACK_AUTH_TOKEN": TOKEN, "AWS_DEFAULT_REGION": "eu-west-1",
                                                "DEBUG": "0", "PERSISTENCE": "0"}
    assert settings.volumes() == {"/var/run/docker.sock": "/var/run/docker.sock"}
    assert settings.ports() == {"4566/tcp": ("127.0.0.1", None)}


def test_the_testcontainers_container_carries_that_configuration_without_starting() -> None:
    if docker_ping() is not None:
        pytest.skip("creating a testcontainers container asks a Docker engine for its API version; none answers")
    container = localstack_container(LocalStackSettings(token=TOKEN, region="eu-west-1"))
    container.get_docker_client().client.close()  # its client connected to ask for the API version

    assert container.image == DEFAULT_IMAGE
    assert container.env["LOCALSTACK_AUTH_TOKEN"] == TOKEN and container.env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert container.volumes == {"/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"}}
    assert container.ports == {"4566/tcp": ("127.0.0.1", None)}
    assert container._container is None  # created, not started


def test_a_running_localstack_points_localstack_client_at_itself() -> None:
    assert LocalStack(url="http://localhost:32771", region="us-east-1").environ == {
        "LOCALSTACK_HOST": "localhost", "EDGE_PORT": "32771"}


def test_the_compose_file_is_the_pro_setup_on_loopback_with_a_health_check() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.localstack.yml").read_text(encoding="utf-8"))
    service = compose["services"]["localstack"]

    assert service["image"] == DEFAULT_IMAGE
    token = [e for e in service["environment"] if e.startswith("LOCALSTACK_AUTH_TOKEN=")]
    assert token and token[0].startswith("LOCALSTACK_AUTH_TOKEN=${LOCALSTACK_AUTH_TOKEN:?")  # required, no default
    assert "/var/run/docker.sock:/var/run/docker.sock" in service["volumes"]
    assert all(str(port).startswith("127.0.0.1:") for port in service["ports"])
    assert any("/_localstack/health" in part for part in service["healthcheck"]["test"])
    hooks = [v.split(":")[0] for v in service["volumes"] if v.endswith("/etc/localstack/init/ready.d:ro")]
    assert hooks and (ROOT / hooks[0]).is_dir() and any((ROOT / hooks[0]).glob("*.sh"))
