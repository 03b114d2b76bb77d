"""``ecsdeploy-emulator --runner {auto,simulated,docker}``: the banner says how tasks run, simulated tasks answer
through their target group's endpoint, ``docker`` without an engine is refused with one line, exit 1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
TASKDEF = {"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256",
           "memory": "512", "containerDefinitions": [{"name": "app", "image": "web:placeholder", "essential": True,
                                                      "portMappings": [{"containerPort": 8080}]}]}
SEED = """\
clusters = ["local"]
[repositories.web]
tags = ["1.0.0"]
[services.web]
task_definition = "taskdef.json"
images = {{ app = "web:1.0.0" }}
load_balancer = {{ target_group = "web", container = "app", port = 8080, listen_port = {port} }}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def emulator(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, list[str], int]]:
    """``ecsdeploy-emulator --port 0 --seed <web behind a fixed port> ARGS``: yields its URL, the banner's lines
    and web's endpoint port; stops it with SIGINT and checks it ended cleanly."""
    port = _free_port()
    (tmp_path / "taskdef.json").write_text(json.dumps(TASKDEF))
    (tmp_path / "seed.toml").write_text(SEED.format(port=port))
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_ecsdeploy.emulator.cli", "--port", "0", "--seed", str(tmp_path / "seed.toml"),
         *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, **(env or {})})
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline()]
        assert " local AWS at http://127.0.0.1:" in lines[0], lines[0] + (process.stderr.read() if process.stderr else "")
        while not lines[-1].startswith("Control: "):
            lines.append(process.stdout.readline())
        yield lines[0].split(" at ", 1)[1].split(" ", 1)[0], [line.rstrip("\n") for line in lines], port
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        assert (process.returncode, out, err) == (0, "ecsdeploy-emulator: stopped.\n", "")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(("runner", "env"), [("simulated", {}), ("auto", {"DOCKER_HOST": "unix:///nonexistent.sock"})],
                         ids=["simulated", "auto-without-an-engine"])
def test_simulated_tasks_answer_through_the_seeded_endpoint(tmp_path: Path, runner: str, env: dict[str, str]) -> None:
    with emulator(tmp_path, "--runner", runner, env=env) as (url, banner, port):
        assert banner[1] == ("Tasks are simulated (their load balancer endpoints answer for them); --runner docker "
                             "runs them.")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/version", timeout=10) as answer:
            assert (answer.status, answer.read(), answer.headers["X-Ecsdeploy-Simulated"]) == (200, b"1.0.0\n", "1")


def test_runner_docker_without_an_engine_is_one_line_and_exit_1(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pytest_ecsdeploy.emulator.cli", "--port", "0", "--runner", "docker"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"})
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == ('ecsdeploy-emulator: error: runner "docker": no Docker engine answers (is dockerd running? '
                           'DOCKER_HOST?); use runner = "auto" or "simulated" without one.\n')


def test_an_unknown_runner_is_a_usage_error() -> None:
    done = subprocess.run([sys.executable, "-m", "pytest_ecsdeploy.emulator.cli", "--runner", "fargate"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert (done.returncode, done.stdout, done.stderr.count("\n")) == (2, "", 1)
    assert done.stderr.startswith("ecsdeploy-emulator: error: argument --runner: invalid choice: 'fargate'")




@pytest.mark.docker
def test_runner_docker_runs_real_containers_behind_the_endpoint(tmp_path: Path) -> None:
    with emulator(tmp_path, "--runner", "docker", "--speed", "4") as (url, banner, port):
        assert banner[1].startswith("Tasks run on Docker; ECR's registry is 127.0.0.1:")
        registry = banner[1].rsplit(" ", 1)[1].rstrip(".")
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                        region_name="us-east-1")
        repositories = session.client("ecr", endpoint_url=url).describe_repositories()["repositories"]
        assert [r["repositoryUri"] for r in repositories] == [f"{registry}/web"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/version", timeout=10) as answer:
            assert (answer.status, answer.read(), answer.headers.get("X-Ecsdeploy-Simulated")) == (200, b"1.0.0\n",
                                                                                                  None)
