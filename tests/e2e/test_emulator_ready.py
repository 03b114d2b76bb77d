"""Ready means ready: the embedded local AWS's port answers nothing until its seed is applied.

A CI job waits for the port (``until curl -s localhost:4566; do sleep 1; done``) and then deploys; its first answer
must already see the seeded cluster and services. Seeding is held on a gate the test opens (the seed code is
wrapped, in the emulator's process), so what the port does while seeding is observed, not raced.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest

from pytest_ecsdeploy.emulator import LocalAWS, seeding

ROOT = Path(__file__).resolve().parents[2]
TASKDEF = {"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256",
           "memory": "512", "containerDefinitions": [{"name": "app", "image": "web:placeholder", "essential": True,
                                                      "portMappings": [{"containerPort": 8080}]}]}
SEED = """\
clusters = ["ci"]
[repositories.web]
tags = ["1.0.0"]
[services.web]
task_definition = "taskdef.json"
images = { app = "web:1.0.0" }
"""
# Runs ecsdeploy-emulator with the seed held: it writes the file "seeding" when seeding starts, and goes on once
# the file "go" exists (both next to the seed).
HELD_EMULATOR = textwrap.dedent("""\
    import sys, time
    from pathlib import Path
    from pytest_ecsdeploy.emulator import cli, seeding
    here = Path(sys.argv[1])
    original = seeding.apply_seed
    def held(*args, **kwargs):
        (here / "seeding").touch()
        while not (here / "go").exists():
            time.sleep(0.02)
        return original(*args, **kwargs)
    seeding.apply_seed = held
    sys.exit(cli.main(sys.argv[2:]))
""")
HOLD = 3.0  # seconds the seed stays held once a client waits on the port: before the change, answers came at once


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f} s"
        time.sleep(0.02)


class CiJob(threading.Thread):
    """A CI job against ``127.0.0.1:port``: with ``probe``, waits for any HTTP answer to ``GET probe`` as
    ``until curl -s URL; do sleep 1; done`` does; then (or at once) DescribeClusters until the port answers it (a
    refused connection is tried again a moment later), then DescribeServices."""

    def __init__(self, port: int, probe: str | None = None) -> None:
        super().__init__(name="ci-job", daemon=True)
        self.port = port
        self.probe = probe
        self.answers: list[dict[str, Any]] = []
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            while self.probe is not None:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{self.port}{self.probe}", timeout=300).close()
                    break
                except urllib.error.HTTPError:  # curl -s succeeds on any answer
                    break
                except urllib.error.URLError:
                    time.sleep(0.05)
            session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                            region_name="us-east-1")
            config = botocore.config.Config(retries={"max_attempts": 1}, read_timeout=300, connect_timeout=5)
            ecs = session.client("ecs", endpoint_url=f"http://127.0.0.1:{self.port}", config=config)
            while True:
                try:
                    self.answers.append(ecs.describe_clusters(clusters=["ci"]))
                    break
                except botocore.exceptions.EndpointConnectionError:
                    time.sleep(0.05)
            try:
                self.answers.append(ecs.describe_services(cluster="ci", services=["web"]))
            except botocore.exceptions.ClientError as exc:
                self.answers.append(exc.response)
        except BaseException as exc:
            self.failure = exc

    def check(self) -> None:
        """The first answers saw the seed: the cluster ci and its service web, steady."""
        assert self.failure is None, repr(self.failure)
        clusters, services = self.answers
        assert [(c["clusterName"], c["status"]) for c in clusters["clusters"]] == [("ci", "ACTIVE")], clusters
        assert services.get("Error") is None, services
        assert [(s["serviceName"], s["status"], s["runningCount"]) for s in services["services"]] == [
            ("web", "ACTIVE", 1)], services


def _hold_then_release(job: CiJob, release: Callable[[], None]) -> None:
    """Start ``job`` while the seed is held, give the port time to answer early (an answer ends the wait), then
    let the seed go on and wait for the job's first answers."""
    job.start()
    deadline = time.monotonic() + HOLD
    while time.monotonic() < deadline and not job.answers and job.failure is None:
        time.sleep(0.02)
    release()
    job.join(timeout=120)
    assert not job.is_alive(), "the CI job had no answer 120 s after the seed was let go"


@contextmanager
def held_emulator(tmp_path: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    (tmp_path / "taskdef.json").write_text(json.dumps(TASKDEF))
    (tmp_path / "seed.toml").write_text(SEED)
    process = subprocess.Popen(
        [sys.executable, "-c", HELD_EMULATOR, str(tmp_path), "--port", str(port), "--seed",
         str(tmp_path / "seed.toml"), "--runner", "simulated"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=dict(os.environ))
    try:
        yield process
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        assert (process.returncode, err) == (0, ""), out
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()  # closes the pipes


def test_the_emulator_port_answers_only_once_the_seed_is_in(tmp_path: Path) -> None:
    port = _free_port()
    with held_emulator(tmp_path, port) as process:
        _wait_for(lambda: (tmp_path / "seeding").exists() or process.poll() is not None, "seeding")
        assert process.poll() is None, process.communicate()
        job = CiJob(port, probe="/")
        _hold_then_release(job, lambda: (tmp_path / "go").touch())
        job.check()
        assert process.stdout is not None  # the banner, printed once ready, names the port
        assert process.stdout.readline().startswith(f"ecsdeploy-emulator: local AWS at http://127.0.0.1:{port} ")


def test_local_aws_on_a_fixed_port_answers_only_once_the_seed_is_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "taskdef.json").write_text(json.dumps(TASKDEF))
    seeding_started, go = threading.Event(), threading.Event()
    original = seeding.apply_seed

    def held(*args: Any, **kwargs: Any) -> Any:
        seeding_started.set()
        assert go.wait(timeout=120)
        return original(*args, **kwargs)

    monkeypatch.setattr(seeding, "apply_seed", held)
    port = _free_port()
    aws = LocalAWS({"clusters": ["ci"], "repositories": {"web": {"tags": ["1.0.0"]}},
                    "services": {"web": {"task_definition": "taskdef.json", "images": {"app": "web:1.0.0"}}}},
                   port=port, base_dir=tmp_path, runner="simulated")
    failures: list[BaseException] = []

    def start() -> None:
        try:
            aws.start()
        except BaseException as exc:
            failures.append(exc)

    starter = threading.Thread(target=start, name="starter", daemon=True)
    starter.start()
    try:
        assert seeding_started.wait(timeout=60), failures
        job = CiJob(port)
        _hold_then_release(job, go.set)
        starter.join(timeout=120)
        assert failures == []
        job.check()
    finally:
        go.set()
        starter.join(timeout=120)
        aws.stop()


def test_a_seed_that_fails_while_applied_leaves_the_port_free_and_no_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the seed could not be applied.")

    monkeypatch.setattr(seeding, "apply_seed", failing)
    port = _free_port()
    with pytest.raises(RuntimeError, match=r"^the seed could not be applied\.$"):
        LocalAWS({"clusters": ["ci"]}, port=port, runner="simulated").start()
    assert [t.name for t in threading.enumerate() if t.name.startswith("ecsdeploy-emulator")] == []
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
