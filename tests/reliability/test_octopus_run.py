"""A whole run under Octopus Deploy, read back with Calamari's own parsing rules (its ServiceMessageParser).

The plugin is switched on by Octopus's environment (OctopusCalamariWorkingDirectory), not by --octopus, so this
is what an Octopus script step sees: output variables per service, the record and JUnit file as artifacts,
progress, and for a failed run a resultMessage naming the service, before pytest's non-zero exit.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_ecsdeploy.emulator import LocalAWS

UNDER_OCTOPUS = {"OctopusCalamariWorkingDirectory": "/etc/octopus/Work/20261126-1"}


def service_messages(output: str) -> list[tuple[str, dict[str, str]]]:
    """Calamari's rules: find '##octopus' anywhere in a line, read to the first ']', strip a leading '[', parse
    '<text/>' as XML, decode every attribute as Base64 of UTF-8 (names case-insensitive); one message a line."""
    messages = []
    for line in output.splitlines():
        start = line.find("##octopus")
        if start < 0:
            continue
        body = line[start + len("##octopus"):]
        end = body.find("]")
        if end < 0:
            continue
        text = body[:end].strip().lstrip("[").replace("\r", "").replace("\n", "")
        element = ET.fromstring(f"<{text}/>")
        attributes = {k.lower(): base64.b64decode(v).decode("utf-8") for k, v in element.attrib.items()}
        messages.append((element.tag, attributes))
    return messages


def variables(messages: list[tuple[str, dict[str, str]]]) -> dict[str, str]:
    return {a["name"]: a.get("value", "") for name, a in messages if name == "setVariable"}


def test_a_deployment_under_octopus_sets_variables_and_artifacts(
    scenario_project: Path, standing_emulator: LocalAWS, run_pytest: Callable[..., Any]
) -> None:
    standing_emulator.reset()
    outcome = run_pytest(standing_emulator.endpoint_url, "deployments", "--env", "outside", "--image-tag", "2.0.0",
                         "--ecsdeploy-report", "record.json", "--junitxml", "junit.xml", env=UNDER_OCTOPUS)
    assert outcome.returncode == 0, outcome.output
    messages = service_messages(outcome.output)
    values = variables(messages)
    assert values["EcsDeploy.web.Outcome"] == "deployed"
    assert values["EcsDeploy.web.TaskDefinitionArn"].endswith(":task-definition/web:2")
    assert values["EcsDeploy.web.PreviousTaskDefinitionArn"].endswith(":task-definition/web:1")
    assert values["EcsDeploy.web.ImageDigest"].startswith("sha256:")
    artifacts = {Path(a["path"]).name: int(a["length"]) for name, a in messages if name == "createArtifact"}
    assert set(artifacts) == {"record.json", "junit.xml"}
    assert artifacts["record.json"] == (scenario_project / "record.json").stat().st_size
    assert any(name == "progress" and a["percentage"] == "100" for name, a in messages), messages
    assert not any(name == "resultMessage" for name, _ in messages)


def test_a_failed_deployment_under_octopus_ends_with_a_result_message(
    scenario_project: Path, standing_emulator: LocalAWS, run_pytest: Callable[..., Any]
) -> None:
    standing_emulator.reset()
    scenario = scenario_project / "deployments" / "test_web.py"
    scenario.write_text(scenario.read_text() + "\n\ndef test_smoke():\n    assert False, 'the release answers 500'\n")
    outcome = run_pytest(standing_emulator.endpoint_url, "deployments", "--env", "outside", "--image-tag", "2.0.0",
                         env=UNDER_OCTOPUS)
    assert outcome.returncode == 1, outcome.output
    messages = service_messages(outcome.output)
    assert variables(messages)["EcsDeploy.web.Outcome"] == "rolled back"
    results = [a["message"] for name, a in messages if name == "resultMessage"]
    assert len(results) == 1 and "web" in results[0], results
    service = standing_emulator.client("ecs").describe_services(cluster="local", services=["web"])["services"][0]
    assert service["taskDefinition"].endswith("/web:1")
