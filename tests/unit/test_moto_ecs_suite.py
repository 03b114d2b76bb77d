"""The moto ECS suite check's verdict and its reading of JUnit reports (scripts/moto_ecs_suite.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "moto_ecs_suite.py"


@pytest.fixture(scope="module")
def suite() -> ModuleType:
    spec = importlib.util.spec_from_file_location("moto_ecs_suite", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["moto_ecs_suite"] = module
    spec.loader.exec_module(module)
    return module


def test_a_regression_fails_unless_listed_and_a_listed_test_that_passes_is_stale(suite: ModuleType) -> None:
    baseline = {"a": "passed", "b": "passed", "c": "passed", "d": "failed", "e": "skipped"}
    emulator = {"a": "passed", "b": "failed", "c": "error", "d": "failed", "e": "passed"}

    assert suite.verdict(baseline, emulator, {"b": "why", "a": "why", "d": "why", "gone": "why"}, everything=True) == (
        ["b", "c"], ["c"], ["a", "d", "gone"])
    # With -k only some tests ran: an exception for a test not run is not stale.
    assert suite.verdict(baseline, emulator, {"b": "why", "gone": "why"}, everything=False) == (
        ["b", "c"], ["c"], [])
    # A test the emulator run does not have at all (it crashed before) is a regression.
    assert suite.verdict({"a": "passed"}, {}, {}, everything=True) == (["a"], ["a"], [])


def test_outcomes_are_read_from_junit_xml(suite: ModuleType, tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    report.write_text(
        '<testsuites><testsuite>'
        '<testcase classname="tests.test_ecs.test_ecs" name="test_ok"/>'
        '<testcase classname="tests.test_ecs.test_ecs" name="test_bad[x y]"><failure message="m"/></testcase>'
        '<testcase classname="tests.test_ecs.test_tags" name="test_err"><error message="m"/></testcase>'
        '<testcase classname="tests.test_ecs.test_tags" name="test_skip"><skipped message="m"/></testcase>'
        '</testsuite></testsuites>')

    assert suite.outcomes(report) == {
        "tests/test_ecs/test_ecs.py::test_ok": "passed",
        "tests/test_ecs/test_ecs.py::test_bad[x y]": "failed",
        "tests/test_ecs/test_tags.py::test_err": "error",
        "tests/test_ecs/test_tags.py::test_skip": "skipped",
    }


def test_the_exceptions_file_gives_each_test_a_reason(suite: ModuleType) -> None:
    exceptions = suite.read_exceptions()

    assert exceptions and all(t.startswith("tests/test_ecs/") and "::" in t for t in exceptions)
    assert all(reason.endswith(".") and reason.count(". ") == 0 for reason in exceptions.values())
