"""docs/strategies.md's per-step scenario runs as written against the embedded local AWS, through pytester (a
subprocess: one LocalAWS per process): paused before the first production step, then after the canary step, then
continued to the end; and the same files with a failing check at the canary pause, which rolls back through it.
The local AWS runs faster than the page's (tests/speedup.py): every line checked here lasts, whatever the clock."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from fakes import SCENARIO_RUN_OPTIONS
from speedup import SIMULATED, at_speed

PAGE = Path(__file__).resolve().parents[2] / "docs" / "strategies.md"
DOCUMENTED_PORTS = ("18392", "18393")  # the scenario's production and test listeners
FILES = {"toml": "deployments/ecsdeploy.toml", "json": "deployments/web/taskdef.json",
         "python": "deployments/test_web.py"}
FAILING_CANARY = '''

def test_the_canary_answers_what_we_built(smoke):
    smoke.http("/version", contains="3.0.0", within=1)  # neither revision is 3.0.0
'''


def step_files(page: str) -> dict[str, str]:
    """``{path: text}`` of the toml, json and python blocks of the page's per-step section."""
    section = page.split("## A pause before each production step", 1)[1].split("\n## ", 1)[0]
    return {FILES[kind]: text for kind, text in re.findall(r"```(toml|json|python)\n(.*?)```", section, re.DOTALL)}


def free_port() -> str:
    with socket.socket() as sock:  # a free port, so that another run can go on beside this one
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


def write(pytester: pytest.Pytester, extra: str = "") -> Path:
    files = step_files(PAGE.read_text())
    assert sorted(files) == sorted(FILES.values())
    ports = {documented: free_port() for documented in DOCUMENTED_PORTS}
    assert all(files["deployments/ecsdeploy.toml"].count(port) == 2 for port in DOCUMENTED_PORTS)
    for path, text in files.items():
        for documented, port in ports.items():
            text = text.replace(documented, port)
        if path.endswith("test_web.py") and extra:  # the failing check goes right after the canary step
            text = text.replace("\n\ndef test_the_rest_of_production", extra + "\n\ndef test_the_rest_of_production")
            assert extra in text
        if path.endswith("ecsdeploy.toml"):
            text = at_speed(text, SIMULATED)
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return pytester.path / "record.json"


def test_the_per_step_scenario_runs_as_written(pytester: pytest.Pytester) -> None:
    report = write(pytester)
    result = pytester.runpytest_subprocess("deployments", "--env", "local", "--image-tag", "2.0.0",
                                           "--ecsdeploy-report", str(report),
                                           *SCENARIO_RUN_OPTIONS, timeout=300)
    result.assert_outcomes(passed=3)
    record = json.loads(report.read_text())["services"]["web"]
    assert record["outcome"] == "deployed" and record["strategy"] == "CANARY"
    paused = [s["productionWeight"] for s in record["stages"] if s["stage"] == "PRE_PRODUCTION_TRAFFIC_SHIFT"]
    assert sorted(set(paused)) == [0.0, 10.0]
    assert len(re.findall(r"ContinueServiceDeployment CONTINUE for hook \w+ at PRE_PRODUCTION_TRAFFIC_SHIFT",
                          result.stdout.str())) == 2


def test_a_failing_check_at_the_canary_pause_rolls_back_through_it(pytester: pytest.Pytester) -> None:
    report = write(pytester, FAILING_CANARY)
    result = pytester.runpytest_subprocess("deployments", "--env", "local", "--image-tag", "2.0.0",
                                           "--ecsdeploy-report", str(report),
                                           *SCENARIO_RUN_OPTIONS, timeout=300)
    result.assert_outcomes(passed=2, failed=1, skipped=1)  # the steps after a failed one are skipped
    record = json.loads(report.read_text())["services"]["web"]
    assert record["outcome"] == "rolled back", record["reason"]
    assert "paused at PRE_PRODUCTION_TRAFFIC_SHIFT" in record["reason"]
    assert record["stages"][-1]["status"] == "ROLLBACK_SUCCESSFUL"
    result.stdout.fnmatch_lines(["*through the pause: ContinueServiceDeployment ROLLBACK for hook *"])
