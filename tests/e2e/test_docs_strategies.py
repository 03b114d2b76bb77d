"""docs/strategies.md's CodeDeploy scenario runs as written against the embedded local AWS, through pytester (a
subprocess: one LocalAWS per process): paused at Ready, production still on the original, then continued. The
local AWS runs faster than the page's (tests/speedup.py)."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from fakes import SCENARIO_RUN_OPTIONS
from speedup import SIMULATED, at_speed

PAGE = Path(__file__).resolve().parents[2] / "docs" / "strategies.md"
DOCUMENTED_PORT = "18391"  # the scenario's test listener
FILES = {"toml": "deployments/ecsdeploy.toml", "json": "deployments/web/taskdef.json",
         "python": "deployments/test_web.py"}


def codedeploy_files(page: str) -> dict[str, str]:
    """``{path: text}`` of the toml, json and python blocks of the page's CodeDeploy section."""
    section = page.split("## CodeDeploy blue/green", 1)[1].split("\n## ", 1)[0]
    return {FILES[kind]: text for kind, text in re.findall(r"```(toml|json|python)\n(.*?)```", section, re.DOTALL)}


def test_the_codedeploy_scenario_runs_as_written(pytester: pytest.Pytester) -> None:
    files = codedeploy_files(PAGE.read_text())
    assert sorted(files) == sorted(FILES.values())
    assert files["deployments/ecsdeploy.toml"].count(DOCUMENTED_PORT) == 2  # test_listen_port and test_url
    with socket.socket() as sock:  # a free port instead, so that another run can go on beside this one
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    for path, text in files.items():
        text = text.replace(DOCUMENTED_PORT, port)
        if path.endswith("ecsdeploy.toml"):
            text = at_speed(text, SIMULATED)
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    report = pytester.path / "record.json"

    result = pytester.runpytest_subprocess("deployments", "--env", "local", "--image-tag", "2.0.0",
                                           "--ecsdeploy-report", str(report),
                                           *SCENARIO_RUN_OPTIONS, timeout=300)

    result.assert_outcomes(passed=3)
    record = json.loads(report.read_text())["services"]["web"]
    assert record["outcome"] == "deployed" and record["deploymentId"].startswith("d-")
    events = record["codedeploy"]["lifecycleEvents"]
    assert events[-1]["event"] == "AfterAllowTraffic" and events[-1]["weights"]["Green"] == 100.0
