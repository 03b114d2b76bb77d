"""The example deployment (deployments/) end to end, the way its README runs it: ``pytest deployments/ --env local
--image-tag 1.1.0`` in a subprocess, from a copy of deployments/ whose web endpoint listens on a free port (so a
``make demo`` or another worker can run beside it) and whose local AWS runs faster than the example's own
(tests/speedup.py). Once with the simulated runner, once with real containers on Docker, chosen by
ECSDEPLOY_RUNNER as a user would.

Each test then starts one emulator from the same configuration (what the plugin starts in-process) and runs the
same command against it twice (``endpoint_url`` added to the copy): the second run, with the same tag, must
register no revision and update no service."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fakes import SCENARIO_RUN_OPTIONS
from speedup import at_speed, speed_for, without_speed

from pytest_ecsdeploy.context import RunOptions
from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.run import Run

EXAMPLE = Path(__file__).resolve().parents[2] / "deployments"
EXAMPLE_PORT = "18080"  # web's listen_port and WEB_URL in deployments/ecsdeploy.toml
COMMAND = ("deployments/", "--env", "local", "--image-tag", "1.1.0")
# One row of the ecsdeploy summary: service, from -> to, outcome, duration, checks ok/failed.
SUMMARY_ROW = re.compile(r"^(?P<service>\S+)\s+(?P<change>\S+ -> \S+)\s+(?P<outcome>\S.*?)\s+\d+\.\ds\s+\d+/0$", re.M)
DEPLOYED = {"api": ("api:1 -> api:2", "deployed"), "web": ("web:1 -> web:2", "deployed")}
UNCHANGED = {"api": ("api:2 -> api:2", "unchanged"), "web": ("web:2 -> web:2", "unchanged")}


@dataclass
class Example:
    """A copy of deployments/ under ``root`` (with a pytest.ini), its web endpoint on ``port``."""

    root: Path
    port: int

    @property
    def config(self) -> Path:
        return self.root / "deployments" / "ecsdeploy.toml"

    def run(self, runner: str) -> Finished:
        """``pytest deployments/ --env local --image-tag 1.1.0`` with ECSDEPLOY_RUNNER=runner."""
        environ = {key: value for key, value in os.environ.items() if key not in ("WEB_URL", "LOG_ROUTER_IMAGE")}
        process = subprocess.Popen([sys.executable, "-m", "pytest", *COMMAND, *SCENARIO_RUN_OPTIONS], cwd=self.root,
                                   text=True, env={**environ, "ECSDEPLOY_RUNNER": runner},
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output, _ = process.communicate(timeout=600)
        return Finished(process.returncode, output, f"{socket.gethostname()}:{process.pid}")

    @contextmanager
    def one_emulator(self, runner: str) -> Iterator[LocalAWS]:
        """The local environment's emulator, started here as the plugin would start it, and the copy pointed at
        it (``endpoint_url``) until the block ends."""
        run = Run.load(env_name="local", config_path=str(self.config), rootdir=self.root, args=[],
                       options=RunOptions(), environ={**os.environ, "ECSDEPLOY_RUNNER": runner})
        original = self.config.read_text()
        try:
            run.aws()
            local = run.local_aws
            assert local is not None
            section = "[environments.local]\n"
            assert original.count(section) == 1
            # the emulator runs at the speed it was started with; the copy may not name another
            pointed = without_speed(original).replace(section, f'{section}endpoint_url = "{local.endpoint_url}"\n')
            self.config.write_text(pointed)
            yield local
        finally:
            self.config.write_text(original)
            run.close()


@dataclass
class Finished:
    """A finished run: exit status, its output, and the ``host:pid`` its Docker containers were labelled with."""

    status: int
    output: str
    owner: str

    def summary(self) -> dict[str, tuple[str, str]]:
        """service -> (from -> to, outcome), from the ecsdeploy summary table."""
        table = self.output.split(" ecsdeploy summary ", 1)[-1]
        return {m["service"]: (m["change"], m["outcome"]) for m in SUMMARY_ROW.finditer(table)}

    def counts(self) -> str:
        """pytest's last line, without its duration: ``8 passed``."""
        last = self.output.strip().splitlines()[-1]
        return re.sub(r"\s+in [\d.]+s.*$", "", last).strip("= ")


@pytest.fixture
def example_copy(tmp_path: Path) -> Example:
    """deployments/ copied under tmp_path, its fixed web port replaced by a free one."""
    shutil.copytree(EXAMPLE, tmp_path / "deployments", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\nfilterwarnings = error\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = tmp_path / "deployments" / "ecsdeploy.toml"
    text = config.read_text()
    assert text.count(EXAMPLE_PORT) == 2, f"expected listen_port and WEB_URL on {EXAMPLE_PORT} in {EXAMPLE}"
    config.write_text(text.replace(EXAMPLE_PORT, str(port)))
    return Example(tmp_path, port)


def _deploys_then_is_a_no_op(example: Example, runner: str) -> Finished:
    """The checks both runners share; returns the first run."""
    example.config.write_text(at_speed(example.config.read_text(), speed_for(runner)))
    first = example.run(runner)
    assert first.status == 0, first.output
    assert first.summary() == DEPLOYED
    assert first.counts() == "8 passed"
    assert f"GET http://127.0.0.1:{example.port}/version -> 200" in first.output  # the smoke step reached it

    with example.one_emulator(runner) as local:
        assert local.runner_name == runner
        deploy, again = example.run(runner), example.run(runner)
        ecs = local.client("ecs")
        revisions = {family: ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]
                     for family in ("web", "api")}
    assert deploy.status == 0, deploy.output
    assert deploy.summary() == DEPLOYED
    assert again.status == 0, again.output
    assert again.summary() == UNCHANGED
    assert again.counts() == "7 passed, 1 skipped"  # api's migration: that revision already runs
    assert {family: [arn.rsplit("/", 1)[1] for arn in arns] for family, arns in revisions.items()} == {
        "web": ["web:1", "web:2"], "api": ["api:1", "api:2"]}
    return first


def test_the_example_deploys_with_simulated_tasks_and_a_rerun_changes_nothing(example_copy: Example) -> None:
    first = _deploys_then_is_a_no_op(example_copy, "simulated")
    # no registry: ECR keeps moto's repository URIs
    assert re.search(r"image references — app=123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com/web@sha256:",
                     first.output)


@pytest.mark.docker
def test_the_example_deploys_real_containers_on_docker_and_a_rerun_changes_nothing(
    example_copy: Example, managed_containers: Callable[..., list[str]]
) -> None:
    first = _deploys_then_is_a_no_op(example_copy, "docker")
    assert re.search(r"image references — app=127\.0\.0\.1:\d+/web@sha256:", first.output)  # the local registry
    assert managed_containers(first.owner) == []  # the run removed its containers
    assert managed_containers(f"{socket.gethostname()}:{os.getpid()}") == []  # and so did the emulator here
