"""The reliability suite: faults survived, bad input refused, secrets kept out of every output.

Every run here is a real ``pytest`` subprocess on a scenario project in a temporary directory, deploying to an
embedded local AWS that this process starts and owns (the project's ``outside`` environment reaches it through
``endpoint_url``), so a test can read or freeze the emulator's whole state around a run and break the network
in between. The project starts as a copy of ``bad_input/base``.

Fixture names here are not this plugin's (``aws``, ``ecr`` …): a fixture of ours in a test module would make it
a deployment scenario.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from fakes import SCENARIO_RUN_OPTIONS, DrivenClock
from forkserver import ForkServer

from pytest_ecsdeploy.emulator import LocalAWS

HERE = Path(__file__).parent
BASE = HERE / "bad_input" / "base"

collect_ignore = ["bad_input"]  # the base project's scenario is data, not a test of this suite

#: What the standing emulator holds: service web steady on web:1 (image web:1.0.0), three released tags.
SEED: dict[str, Any] = {
    "clusters": ["local"],
    "repositories": {"web": {"tags": ["1.0.0", "2.0.0", "3.0.0"]}},
    "services": {"web": {"task_definition": "web/taskdef.json", "images": {"app": "web:1.0.0"}, "desired_count": 2}},
}
SEED_VARIABLES = {"LOG_LEVEL": "info"}

# What a Python traceback or pytest's long failure report looks like in the output of a run.
_TRACEBACK = re.compile(
    r"^(Traceback \(most recent call last\)"  # Python's own
    r"|INTERNALERROR>"  # pytest's internal error
    r"|E {3}"  # pytest's exception lines in a long report
    r"|> {3}"  # pytest's failing source line
    r"|\S+\.py:\d+: (in \w+|\w*(Error|Exception|Failed)\b)"  # a traceback entry
    r")",
    re.MULTILINE,
)


# A service message as report/octopus.py writes it, alone on its line: every attribute value Base64.
_SERVICE_MESSAGE = re.compile(r"##octopus\[(?P<name>[\w.-]+)(?P<attributes>(?: \w+='[A-Za-z0-9+/=]*')*)\]")
_ATTRIBUTE = re.compile(r"(?P<key>\w+)='(?P<value>[A-Za-z0-9+/=]*)'")


@dataclass(frozen=True)
class Outcome:
    """One finished ``pytest`` subprocess: exit status and its whole output (stdout, then stderr)."""

    returncode: int
    output: str

    def tracebacks(self) -> list[str]:
        """The lines of the output that belong to a traceback (empty when there is none)."""
        return [m.group(0) for m in _TRACEBACK.finditer(self.output)]

    def octopus_messages(self) -> list[str]:
        """Every service message of the output with its attribute values decoded (Base64 of UTF-8)."""
        decoded = []
        for message in _SERVICE_MESSAGE.finditer(self.output):
            values = [f"{a['key']}={base64.b64decode(a['value']).decode()}"
                      for a in _ATTRIBUTE.finditer(message["attributes"])]
            decoded.append(" ".join([message["name"], *values]))
        return decoded

    def forged_lines(self) -> list[str]:
        """Lines holding ``##octopus`` that are not one whole, well-formed service message: what a value forged."""
        forged = []
        for line in self.output.splitlines():
            if "##octopus" not in line:
                continue
            match = _SERVICE_MESSAGE.fullmatch(line.strip())
            try:
                ok = match is not None and all(
                    base64.b64decode(a["value"], validate=True) is not None
                    for a in _ATTRIBUTE.finditer(match["attributes"]))
            except binascii.Error:
                ok = False
            if not ok:
                forged.append(line)
        return forged


def subprocess_environment(endpoint: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a run: fake credentials, no ECSDEPLOY_* or Octopus variables of the caller, the
    emulator's endpoint (also as AWS_ENDPOINT_URL, so nothing can reach a real account by mistake)."""
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("ECSDEPLOY_", "AWS_", "Octopus", "Tentacle", "PYTEST_"))
        and key not in ("OctopusCalamariWorkingDirectory", "LOCALSTACK_HOST", "EDGE_PORT")
    }
    env.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "RELIABILITY_ENDPOINT": endpoint, "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "200",
    })
    env.update(extra or {})
    return env


def python_pytest(*args: str) -> list[str]:
    """``python -m pytest ARGS`` without the cache plugin (a run must leave nothing but what it is asked to)."""
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *SCENARIO_RUN_OPTIONS, *args]


def copy_base(root: Path) -> Path:
    """A copy of the base project under ``root``; returns ``root``."""
    shutil.copytree(BASE, root, dirs_exist_ok=True)
    return root


class Background:
    """A pytest run in the background, its output going to a file that the test can wait on."""

    def __init__(self, project: Path, endpoint: str, *args: str, name: str, env: dict[str, str] | None = None) -> None:
        self.log = project / f"{name}.out"
        self._file: IO[str] = self.log.open("w")
        self.process = subprocess.Popen(
            python_pytest(*args), cwd=project, env=subprocess_environment(endpoint, env), stdout=self._file,
            stderr=subprocess.STDOUT, text=True,
        )

    def output(self) -> str:
        return self.log.read_text()

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        """Wait until a line of the output matches ``pattern`` (a regular expression)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.output(), re.MULTILINE)
            if match:
                return match
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no line matched {pattern!r} (exit {self.process.poll()}); output:\n{self.output()}")

    def finish(self, timeout: float = 120) -> Outcome:
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            self.close()
        return Outcome(code, self.output())

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._file.close()


#: How many simulated seconds the module's emulator runs per wall second, unless the module sets ``EMULATOR_SPEED``.
#: A rollout of the seed's two tasks takes about 2 simulated seconds and a crash loop's relaunches 10 s and more,
#: all of it waited for in real time by the runs at speed 1; the runs poll every 0.5-1 s of wall time whatever the
#: speed, so a faster clock only makes them wait less.
EMULATOR_SPEED = 10.0


def module_speed(request: pytest.FixtureRequest) -> float:
    return float(getattr(request.module, "EMULATOR_SPEED", EMULATOR_SPEED))


@pytest.fixture(scope="module")
def standing_emulator(request: pytest.FixtureRequest) -> Iterator[LocalAWS]:
    """An embedded local AWS in this process, seeded with :data:`SEED`, its clock at the module's speed (simulated
    runner)."""
    with LocalAWS(seed=SEED, runner="simulated", base_dir=BASE / "deployments", variables=SEED_VARIABLES,
                  speed=module_speed(request)) as local:
        yield local


@pytest.fixture(scope="module")
def driven_clock(request: pytest.FixtureRequest) -> Iterator[DrivenClock]:
    """The clock of ``driven_emulator``, at the module's speed: ``driven_clock.freeze()`` stops simulated time,
    ``.run()`` lets it go."""
    clock = DrivenClock(module_speed(request))
    yield clock
    clock.close()


@pytest.fixture(scope="module")
def driven_emulator(driven_clock: DrivenClock) -> Iterator[LocalAWS]:
    """Seeded like ``standing_emulator`` (one LocalAWS per process: a module uses one of the two), on
    ``driven_clock``."""
    with LocalAWS(seed=SEED, runner="simulated", base_dir=BASE / "deployments", variables=SEED_VARIABLES,
                  clock=driven_clock) as local:
        yield local


@pytest.fixture
def scenario_project(tmp_path: Path) -> Path:
    """A fresh copy of the base project; its ``deployments/`` is what the runs deploy."""
    return copy_base(tmp_path / "project")


RunPytest = Callable[..., Outcome]

@pytest.fixture(scope="session")
def fork_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer]:
    """Where the runs of ``run_pytest`` are forked from (forkserver.py): started in the environment of a run."""
    server = ForkServer(tmp_path_factory.mktemp("forkserver"), subprocess_environment("http://127.0.0.1:9"))
    yield server
    server.close()


@pytest.fixture
def run_pytest(scenario_project: Path, fork_server: ForkServer) -> RunPytest:
    """Run ``pytest ARGS`` in the scenario project against ``endpoint``: ``run_pytest(endpoint, *args, env={},
    timeout=120)``."""

    def run(endpoint: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Outcome:
        done = fork_server.run(python_pytest(*args), scenario_project, subprocess_environment(endpoint, env),
                               timeout)
        return Outcome(done.returncode, done.stdout + done.stderr)

    return run


@pytest.fixture
def start_pytest(scenario_project: Path) -> Iterator[Callable[..., Background]]:
    """Start ``pytest ARGS`` in the scenario project in the background: ``start_pytest(endpoint, *args,
    name="first", env={...})``; every run still going at the end of the test is killed."""
    started: list[Background] = []

    def start(endpoint: str, *args: str, name: str, env: dict[str, str] | None = None) -> Background:
        run = Background(scenario_project, endpoint, *args, name=name, env=env)
        started.append(run)
        return run

    yield start
    for run in started:
        run.close()
