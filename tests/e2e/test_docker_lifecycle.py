"""The Docker side of LocalAWS over its life: choosing the runner, seeded images that really run behind
a fixed load-balancer port, leftovers of a crashed run, nothing left behind, and a whole scenario through the
plugin (ecr.push, deploy, smoke) against real containers. Each test starts its own LocalAWS."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.errors import ActionError

OWNER = f"{socket.gethostname()}:{os.getpid()}"  # how the emulator labels the containers this process starts
TASKDEF = {
    "family": "web",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [{
        "name": "app", "image": "web:placeholder", "essential": True,
        "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
        "healthCheck": {"command": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/health || exit 1"],
                        "interval": 5, "timeout": 5, "retries": 3},  # 1.25 s a probe at speed 4, for a loaded host
    }],
}


Containers = Callable[..., list[str]]
Get = Callable[[str], tuple[int, str, "str | None"]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _nothing_listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


# -- without Docker ---------------------------------------------------------------------------------------------


def test_without_an_engine_docker_is_refused_and_auto_is_simulated(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    with pytest.raises(ActionError, match=r'^runner "docker": no Docker engine answers \(is dockerd running\? '
                                          r'DOCKER_HOST\?\); use runner = "auto" or "simulated" without one\.$'):
        LocalAWS(runner="docker").start()
    with LocalAWS(runner="auto") as aws:
        assert (aws.runner_name, aws.registry_host) == ("simulated", None)
        uri = aws.client("ecr").create_repository(repositoryName="web")["repository"]["repositoryUri"]
        assert uri == "123456789012.dkr.ecr.us-east-1.amazonaws.com/web"
        with pytest.raises(LookupError, match="no target group named 'web'"):  # simulated endpoints exist too
            aws.load_balancer_url("web")


# -- with Docker ------------------------------------------------------------------------------------------------


@pytest.mark.docker
def test_auto_picks_docker_and_ecr_uris_point_at_the_registry() -> None:
    with LocalAWS(runner="auto") as aws:
        assert aws.runner_name == "docker"
        host = str(aws.registry_host)
        assert host.startswith("127.0.0.1:")
        ecr = aws.client("ecr")
        assert ecr.create_repository(repositoryName="web")["repository"]["repositoryUri"] == f"{host}/web"
        assert ecr.describe_repositories()["repositories"][0]["repositoryUri"] == f"{host}/web"
    # the registry went with it; a LocalAWS without Docker reports moto's URIs again
    assert _nothing_listens(int(host.rsplit(":", 1)[1]))
    with LocalAWS() as aws:
        uri = aws.client("ecr").create_repository(repositoryName="web")["repository"]["repositoryUri"]
        assert uri == "123456789012.dkr.ecr.us-east-1.amazonaws.com/web"


@pytest.fixture
def leftover(example_image: Callable[..., str]) -> Iterator[str]:
    """A container labelled like one of a LocalAWS in a process that died (its pid is gone)."""
    image = example_image("0.0.1")
    gone = subprocess.Popen(["true"])
    gone.wait()  # reaped: no process has its pid any more
    name = f"ecsdeploy-local-{uuid.uuid4().hex}-app"
    client = docker.from_env()
    try:
        client.containers.create(image, name=name, labels={
            "ecsdeploy.managed": "true", "ecsdeploy.owner": f"{socket.gethostname()}:{gone.pid}"})
        yield name
    finally:
        try:
            client.api.remove_container(name, force=True)
        except docker.errors.NotFound:
            pass
        client.close()


@pytest.mark.docker
def test_seeded_services_run_real_images_behind_the_listen_port_and_nothing_is_left(
    tmp_path: Path, leftover: str, managed_containers: Containers, wait_for: Callable[..., Any], http_get: Get
) -> None:
    (tmp_path / "taskdef.json").write_text(json.dumps(TASKDEF))
    port = _free_port()
    seed = {
        "clusters": ["local"],
        "repositories": {"web": {"tags": ["1.0.0", "1.1.0"]}},
        "services": {"web": {"task_definition": "taskdef.json", "images": {"app": "web:1.0.0"}, "desired_count": 2,
                             "load_balancer": {"target_group": "web", "container": "app", "port": 8080,
                                               "listen_port": port}}},
    }
    assert leftover in managed_containers()
    with LocalAWS(seed, base_dir=tmp_path, runner="docker", speed=4) as aws:
        assert leftover not in managed_containers()  # removed at start: its process is gone
        assert aws.load_balancer_url("web") == f"http://127.0.0.1:{port}"

        def from_both_tasks() -> list[tuple[int, str, str | None]] | None:
            seen = [http_get(f"http://127.0.0.1:{port}/version") for _ in range(4)]
            return seen if len({task for _, _, task in seen}) == 2 else None

        answers = wait_for("both seeded tasks to answer", from_both_tasks)
        assert {(status, body) for status, body, _ in answers} == {(200, "1.0.0")}
        # seeded tags are real images in the registry, with the digests ECR reports
        ecr = aws.client("ecr")
        images = {tag: d["imageDigest"] for d in ecr.describe_images(repositoryName="web")["imageDetails"]
                  for tag in d["imageTags"]}
        api = docker.from_env().api
        for tag in ("1.0.0", "1.1.0"):
            assert api.inspect_distribution(f"{aws.registry_host}/web:{tag}")["Descriptor"]["digest"] == images[tag]
        ecs = aws.client("ecs")
        running = ecs.describe_tasks(cluster="local", tasks=ecs.list_tasks(cluster="local")["taskArns"])["tasks"]
        assert {(t["healthStatus"], t["containers"][0]["imageDigest"]) for t in running} == {("HEALTHY",
                                                                                              images["1.0.0"])}
        assert len(managed_containers(OWNER)) == 2
        registry_port = int(str(aws.registry_host).rsplit(":", 1)[1])
        # reset empties the registry with ECR: a new repository of the same name has no images
        aws.reset(seed=False)
        assert managed_containers(OWNER) == []
        ecr.create_repository(repositoryName="web")
        assert ecr.describe_images(repositoryName="web")["imageDetails"] == []
    assert managed_containers(OWNER) == []
    assert _nothing_listens(port) and _nothing_listens(registry_port)


@pytest.mark.docker
def test_a_seeded_service_that_cannot_run_on_docker_fails_the_start_with_the_reason(
    tmp_path: Path, managed_containers: Containers
) -> None:
    taskdef = json.loads(json.dumps(TASKDEF))
    taskdef["containerDefinitions"].append({"name": "log_router", "image": "ecsdeploy-test/not-here:1",
                                            "essential": True, "memoryReservation": 50})
    (tmp_path / "taskdef.json").write_text(json.dumps(taskdef))
    seed = {"repositories": {"web": {"tags": ["1.0.0"]}},
            "services": {"web": {"task_definition": "taskdef.json", "images": {"app": "web:1.0.0"}}}}
    with pytest.raises(ActionError, match=r"^seeded service 'web' cannot run on Docker: task [0-9a-f]{32} stopped: "
                                          r"CannotPullContainerError: .*ecsdeploy-test/not-here:1"):
        LocalAWS(seed, base_dir=tmp_path, runner="docker").start()
    assert managed_containers(OWNER) == []
    with LocalAWS() as aws:  # the failed start released the process-wide slot
        assert aws.running


# -- a scenario through the plugin -----------------------------------------------------------------------------


SCENARIO = '''
"""Push the image built from deployments/image, deploy it, and check every task answers its version."""
import urllib.request

import pytest

pytestmark = pytest.mark.ecs_service("web")


def test_push(ecr):
    ecr.push("{image}")


def test_register_revision(task_definition, ecr):
    task_definition.with_image("app", ecr.image()).register()


def test_roll_out(ecs_service, task_definition):
    assert ecs_service.deploy(task_definition.registered).is_completed


def test_every_task_answers_the_new_version(smoke, deploy_env):
    smoke.http("/health", expect_status=200, contains="ok", within=30)
    versions = {{urllib.request.urlopen("{url}/version", timeout=10).read().decode().strip() for _ in range(6)}}
    assert versions == {{"2.0.0"}}
'''


@pytest.mark.docker
def test_a_scenario_pushes_deploys_and_smoke_checks_real_containers(
    pytester: pytest.Pytester, example_image: Callable[..., str], managed_containers: Containers
) -> None:
    image = example_image("2.0.0")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    deployments = pytester.mkdir("deployments")
    (deployments / "web").mkdir()
    (deployments / "web" / "taskdef.json").write_text(json.dumps(TASKDEF))
    (deployments / "ecsdeploy.toml").write_text(textwrap.dedent(f"""
        [environments.local]
        backend = "emulator"
        cluster = "local"
        runner = "docker"
        wait_timeout = 120

        [environments.local.seed]
        clusters = ["local"]
        repositories.web.tags = ["1.0.0"]

        [environments.local.seed.services.web]
        task_definition = "web/taskdef.json"
        images = {{ app = "web:1.0.0" }}
        desired_count = 2
        deployment_configuration = {{ circuit_breaker = true, rollback = true }}
        load_balancer = {{ target_group = "web", container = "app", port = 8080, listen_port = {port} }}

        [services.web]
        repository = "web"
        task_definition = "web/taskdef.json"
        containers = ["app"]
        health_url = "{url}"
    """))
    (deployments / "test_web.py").write_text(SCENARIO.format(image=image, url=url))
    result = pytester.runpytest("deployments", "--env", "local", "--image-tag", "2.0.0", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    assert managed_containers(OWNER) == []
