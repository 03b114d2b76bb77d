"""What a scenario step adds to pytest's JUnit report (``--junitxml``): its checks, and the logs of the tasks that
failed in it.

Each check recorded while a step ran becomes a property of the step's ``<testcase>`` (through the item's
``user_properties``, as ``record_property`` does): name ``check: <action> <phase> <name>``, value
``<result>: <detail>``, for example ``check: ecs_service.deploy post rolloutState COMPLETED`` =
``passed: deployment ecs-svc/4426 of web:7: rolloutState COMPLETED``.

The step's report carries the text as the attribute :data:`FAILED_LOGS` (set where the report is made, so it
reaches a pytest-xdist controller with the report), and :func:`write_failed_logs` appends it to the step's
``<testcase>`` as a ``<system-out>`` element, whatever ``junit_logging`` says: pytest writes captured output
there only when asked, and these lines are the first thing to read about a failed deployment.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

# The LogXML of --junitxml and its escaping of characters XML cannot hold: pytest offers no public way to add
# system-out to a testcase.
from _pytest.junitxml import bin_xml_escape, xml_key

from .actions.logs import render_recorded
from .checks import Check

FAILED_LOGS = "ecsdeploy_failed_logs"


def check_property(check: Check) -> tuple[str, str]:
    """A check as a JUnit property: ``("check: ACTION PHASE NAME", "RESULT: DETAIL")``."""
    return f"check: {check.action} {check.phase} {check.name}", f"{check.result}: {check.detail}"


def failed_logs_text(entries: Sequence[Mapping[str, Any]]) -> str:
    """The ``failedTasks`` entries of a record as the lines printed in the terminal, one text."""
    return "\n".join(line for entry in entries for line in render_recorded(entry))


def write_failed_logs(config: pytest.Config, report: pytest.TestReport) -> None:
    """Append the report's :data:`FAILED_LOGS` text to its ``<testcase>`` in the JUnit file, if one is written."""
    text = getattr(report, FAILED_LOGS, None)
    xml = config.stash.get(xml_key, None)
    if not text or xml is None:
        return
    element = ET.Element("system-out")
    element.text = bin_xml_escape(text)
    xml.node_reporter(report).append(element)
