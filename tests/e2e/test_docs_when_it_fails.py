"""docs/when-it-fails.md runs as written: its crash drill's three files, run through pytester (a subprocess: one
LocalAWS per process), print every output block of the page, in the page's order within each block (``…``
stands for ids and times; runs of blanks are one), and the record, JUnit and Octopus hold what its table says.
The drill runs at the page's speed, wall speed: the watch looks every half wall second or so, and the page shows
the verdict of a look that saw the third failure, the threshold, of tasks that crash about every two simulated
seconds. At a faster clock several tasks crash between two looks, and the verdict counts them all. The Octopus
run, which checks no count, runs faster (tests/speedup.py)."""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fakes import SCENARIO_RUN_OPTIONS
from speedup import SIMULATED, at_speed

PAGE = Path(__file__).resolve().parents[2] / "docs" / "when-it-fails.md"
PASSWORD = "hunter2-orders-db"


def drill_files(page: str) -> dict[str, str]:
    """``{path: text}`` of each fenced block that a ``<!-- file: path -->`` line names."""
    return dict(re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", page, flags=re.DOTALL))


def output_blocks(page: str) -> list[list[str]]:
    """The lines of each ```text block: what the page says the run prints."""
    return [block.strip("\n").splitlines() for block in re.findall(r"```text\n(.*?)```", page, flags=re.DOTALL)]


def pattern(line: str) -> re.Pattern[str]:
    """A page line as a pattern of an output line: ``…`` any text, a run of blanks any run of blanks."""
    parts = [r"\s+".join(re.escape(word) for word in piece.split()) for piece in line.split("…")]
    return re.compile(r"^\s*" + ".*?".join(parts) + r"\s*$")


def octopus_result(stdout: str) -> str:
    (encoded,) = re.findall(r"##octopus\[resultMessage message='([^']*)'\]", stdout)
    return base64.b64decode(encoded).decode()


def test_the_page_names_the_drills_files_and_output() -> None:
    page = PAGE.read_text()
    assert sorted(drill_files(page)) == ["deployments/ecsdeploy.toml", "deployments/test_web.py",
                                         "deployments/web/taskdef.json"]
    assert len(output_blocks(page)) == 4
    assert pattern("a … b   c").match("  a x y b c") and not pattern("a … b c").match("a b")


def test_the_crash_drill_prints_what_the_page_shows(pytester: pytest.Pytester) -> None:
    page = PAGE.read_text()
    for path, text in drill_files(page).items():
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    report, junit = pytester.path / "record.json", pytester.path / "junit.xml"

    result = pytester.runpytest_subprocess("deployments", "--env", "local", "--ecsdeploy-report", str(report),
                                           "--junitxml", str(junit), *SCENARIO_RUN_OPTIONS, timeout=300)

    result.assert_outcomes(failed=1)
    assert result.ret == 1
    stdout = result.stdout.str()
    lines = stdout.splitlines()
    for block in output_blocks(page):
        at = 0
        for wanted in block:
            found = next((i for i in range(at, len(lines)) if pattern(wanted).match(lines[i])), None)
            assert found is not None, f"not printed after line {at}: {wanted}\n{stdout}"
            at = found + 1
    record = json.loads(report.read_text())["services"]["web"]
    assert record["outcome"] == "rolled back"
    assert record["failedTasks"][0]["containers"][0]["lines"][-1] == "FATAL: ORDERS_QUEUE_URL is not set"
    (case,) = ET.parse(junit).getroot().iter("testcase")
    assert "FATAL: ORDERS_QUEUE_URL is not set" in "\n".join(e.text or "" for e in case.iter("system-out"))
    assert any(p.get("name", "").startswith("check: ecs_service.deploy pre ") for p in case.iter("property"))
    # from an Octopus step the same run reports its result message too
    config = pytester.path / "deployments" / "ecsdeploy.toml"
    config.write_text(at_speed(config.read_text(), SIMULATED))
    octopus = pytester.runpytest_subprocess("deployments", "--env", "local", "--octopus", *SCENARIO_RUN_OPTIONS,
                                             timeout=300)
    octopus.assert_outcomes(failed=1)
    message = octopus_result(octopus.stdout.str())
    assert message.startswith("ecsdeploy (local): web was rolled back to web:1: ")
    assert "app logged: FATAL: ORDERS_QUEUE_URL is not set" in message
    for text in (stdout, report.read_text(), junit.read_text(), octopus.stdout.str(), message):
        assert PASSWORD not in text
