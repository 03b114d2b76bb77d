"""The example deployment (deployments/) with pytest-xdist: every ``--dist`` mode, with two workers or four, deploys
exactly what a run without workers deploys, and says so the same way.

Each mode runs once, not once per worker count: the plugin hands out whole test files whatever the mode
(parallel.py), so what a mode could change is whether the plugin's scheduler replaces the mode's, and one run
shows that. The two worker counts are split between the modes: ``-n 2`` gives each of the example's two scenario
files a worker of its own, ``-n 4`` leaves two workers without a scenario, which must neither deploy nor start a
local AWS of their own. ``load`` and ``worksteal``, which would hand a scenario's steps to different workers, get
four, where that is likeliest; the rest two (each worker starts a Python of its own: four cost twice the CPU).
``no`` with ``-n`` is pytest-xdist's ``load``.

Each run is ``pytest deployments/ --env local --image-tag 1.1.0 --octopus --ecsdeploy-report record.json`` in a
subprocess, on a copy of deployments/ whose web endpoint listens on a free port and whose local AWS runs faster
than the example's own (tests/speedup.py), with simulated tasks. The copy gets a conftest that writes, per
process, which embedded local AWS it used: the controller starts one and every worker uses it. The record is compared with the serial run's, with what differs from run to run anyway (times,
generated ids, measured durations) put aside; the summary table and the Octopus output variables likewise.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes import SCENARIO_RUN_OPTIONS
from speedup import SIMULATED, at_speed

EXAMPLE = Path(__file__).resolve().parents[2] / "deployments"
EXAMPLE_PORT = "18080"
# Each --dist mode once, with the number of workers the module docstring gives it.
DIST_RUNS = (("load", "4"), ("loadscope", "2"), ("loadfile", "2"), ("loadgroup", "2"), ("worksteal", "4"),
             ("no", "2"))
SUMMARY_ROW = re.compile(r"^(?P<service>\S+)\s+(?P<change>\S+ -> \S+)\s+(?P<outcome>\S.*?)\s+\d+\.\ds\s+(?P<checks>\d+/\d+)$",
                         re.M)

# Which local AWS each process used: run.local_aws is the one it started, run.local_endpoint the one it was given.
PROBE = '''
import json, os
from pathlib import Path

from pytest_ecsdeploy.session import SESSION


def pytest_sessionfinish(session):
    ecsdeploy = session.config.stash.get(SESSION, None)
    if ecsdeploy is None:
        return
    run = ecsdeploy.run
    name = os.environ.get("PYTEST_XDIST_WORKER", "controller")
    used = run._aws.endpoint_url if run._aws is not None else None
    started = run.local_aws.endpoint_url if run.local_aws is not None else None
    (Path(__file__).parent.parent / f"probe-{name}.json").write_text(json.dumps({"used": used, "started": started}))
'''

#: What differs between two runs of the same deployment whatever the workers: generated ids, times, durations.
_VARIABLE = [
    (re.compile(r"ecs-svc/\d+"), "ecs-svc/ID"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "TASK"),
    (re.compile(r"\b(subnet|sg|vpc)-[0-9a-f]+"), r"\1-ID"),
    (re.compile(r"\d+(\.\d+)? (s|ms)\b"), r"N \2"),
    (re.compile(r"after \d+ attempts?"), "after N attempts"),
]


def normalised(value: Any) -> Any:
    """The record with times, measured durations and generated ids put aside (events: the last message)."""
    if isinstance(value, dict):
        dropped = {"startedAt", "finishedAt", "durationSeconds", "timings", "createdAt"}
        out = {key: normalised(item) for key, item in value.items() if key not in dropped}
        if "events" in value:  # ECS's timeline; its grouping of task starts is not what xdist changes
            out["events"] = normalised(value["events"][-1]["message"]) if value["events"] else None
        return out
    if isinstance(value, list):
        return [normalised(item) for item in value]
    if isinstance(value, str):
        for pattern, replacement in _VARIABLE:
            value = pattern.sub(replacement, value)
    return value


@dataclass
class Finished:
    status: int
    output: str
    record: dict[str, Any]
    probes: dict[str, dict[str, str | None]]

    def summary(self) -> list[tuple[str, ...]]:
        table = self.output.split(" ecsdeploy summary ", 1)[-1]
        return [(m["service"], m["change"], m["outcome"], m["checks"]) for m in SUMMARY_ROW.finditer(table)]

    def octopus(self) -> tuple[dict[str, str], list[str]]:
        """The output variables (generated ids put aside, as in the record), and the progress messages sorted
        (workers finish services in any order)."""
        variables: dict[str, str] = {}
        progress = []
        for line in self.output.splitlines():
            attributes = {key: base64.b64decode(value).decode() for key, value in re.findall(r"(\w+)='([^']*)'", line)}
            if line.startswith("##octopus[setVariable "):
                variables[attributes["name"]] = normalised(attributes["value"])
            elif line.startswith("##octopus[progress "):
                progress.append(re.sub(r"; \d+ of", "; N of", attributes["message"]))
        return variables, sorted(progress)


def run_example(root: Path, *args: str) -> Finished:
    for old in [*root.glob("probe-*.json"), root / "record.json"]:
        old.unlink(missing_ok=True)
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith(("PYTEST_", "ECSDEPLOY_", "Octopus", "Tentacle"))}
    done = subprocess.run([sys.executable, "-m", "pytest", "deployments/", "--env", "local", "--image-tag", "1.1.0",
                           "--octopus", "--ecsdeploy-report", "record.json", *SCENARIO_RUN_OPTIONS, *args],
                          cwd=root, text=True,
                          env={**environ, "ECSDEPLOY_RUNNER": "simulated"}, capture_output=True, timeout=900,
                          check=False)
    output = done.stdout + done.stderr
    record = json.loads((root / "record.json").read_text()) if (root / "record.json").is_file() else {}
    probes = {path.stem.removeprefix("probe-"): json.loads(path.read_text()) for path in root.glob("probe-*.json")}
    return Finished(done.returncode, output, record, probes)


@pytest.fixture(scope="module")
def example_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deployments/ copied, its web endpoint on a free port, with the probe conftest."""
    root = tmp_path_factory.mktemp("xdist-example")
    shutil.copytree(EXAMPLE, root / "deployments", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    (root / "deployments" / "conftest.py").write_text(PROBE)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = root / "deployments" / "ecsdeploy.toml"
    text = config.read_text()
    assert text.count(EXAMPLE_PORT) == 2
    config.write_text(at_speed(text.replace(EXAMPLE_PORT, str(port)), SIMULATED))
    return root


@pytest.fixture(scope="module")
def serial(example_root: Path) -> Iterator[Finished]:
    finished = run_example(example_root, "-p", "no:xdist")
    assert finished.status == 0, finished.output
    assert [row[:3] for row in finished.summary()] == [("api", "api:1 -> api:2", "deployed"),
                                                        ("web", "web:1 -> web:2", "deployed")], finished.output
    yield finished


@pytest.mark.parametrize(("dist", "workers"), DIST_RUNS)
def test_every_dist_mode_deploys_and_reports_what_a_run_without_workers_does(
    example_root: Path, serial: Finished, workers: str, dist: str
) -> None:
    finished = run_example(example_root, "-n", workers, "--dist", dist)
    assert finished.status == 0, finished.output
    assert "Address already in use" not in finished.output
    assert finished.summary() == serial.summary(), finished.output
    assert normalised(finished.record) == normalised(serial.record)
    assert list(finished.record["services"]) == ["api", "web"]  # collection order, as without workers
    assert finished.octopus() == serial.octopus()
    controller = finished.probes.pop("controller")
    assert controller["started"] is not None and controller["used"] == controller["started"]
    workers_used = {name: probe for name, probe in finished.probes.items() if probe["used"] is not None}
    assert workers_used, finished.probes  # some worker deployed ...
    assert all(probe == {"used": controller["started"], "started": None} for probe in finished.probes.values()
               if probe["used"] is not None), finished.probes  # ... through the controller's local AWS only


def test_dist_each_is_refused_in_one_sentence(example_root: Path) -> None:
    finished = run_example(example_root, "-n", "2", "--dist", "each")
    assert finished.status == 4, finished.output
    assert "ERROR: --dist each runs every test on every worker, so each service would be deployed once per worker;" \
        in finished.output
