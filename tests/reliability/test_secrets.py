"""Secret values in a task definition reach ECS and nothing else: not the terminal, the JUnit file, the deployment
record or the Octopus service messages.

The task definition's environment has DB_PASSWORD (from the process environment, as a CI secret would come), an
API token (from ``--var``) and a connection URL with a password in it (written in the template). The runs cover
every path that prints a task definition or a reason: a plan (the diff), a deployment, a deployment that fails
and is rolled back after the secrets were rotated (the diff of changed values, the failure reasons), and a
re-run of a live deployment.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_ecsdeploy.emulator import LocalAWS

PASSWORDS = ("hunter2-Pa55w0rd-4b1d", "hunter3-R0tated-9c2e")
TOKENS = ("tok_live_51Hq8ZpLx3vT7wK", "tok_live_rotated_77QmNs2aB")
URL_PASSWORD = "dsnSecretPart8841"
ENVIRONMENT = f'''
        {{"name": "PORT", "value": "8080"}},
        {{"name": "DB_PASSWORD", "value": "${{DB_PASSWORD}}"}},
        {{"name": "PAYMENTS_API_TOKEN", "value": "${{PAYMENTS_API_TOKEN}}"}},
        {{"name": "SENTRY_DSN", "value": "https://reporter:{URL_PASSWORD}@sentry.example.com/42"}},'''
_MESSAGE = re.compile(r"##octopus\[(?P<name>[\w-]+)(?P<attributes>[^\]]*)\]")
_ATTRIBUTE = re.compile(r"(?P<key>\w+)=(?P<quote>['\"])(?P<value>[^'\"]*)(?P=quote)")


def octopus_messages(output: str) -> list[str]:
    """Every service message of ``output`` with its attribute values decoded (Base64 of UTF-8)."""
    decoded = []
    for message in _MESSAGE.finditer(output):
        values = [
            f"{a['key']}={base64.b64decode(a['value']).decode()}" for a in _ATTRIBUTE.finditer(message["attributes"])
        ]
        decoded.append(" ".join([message["name"], *values]))
    return decoded


@pytest.fixture
def secret_project(scenario_project: Path, standing_emulator: LocalAWS) -> Path:
    standing_emulator.reset()
    taskdef = scenario_project / "deployments" / "web" / "taskdef.json"
    text = taskdef.read_text()
    assert '\n        {"name": "PORT", "value": "8080"},' in text
    taskdef.write_text(text.replace('\n        {"name": "PORT", "value": "8080"},', ENVIRONMENT, 1))
    return scenario_project


def test_secret_values_appear_in_no_output(
    secret_project: Path, standing_emulator: LocalAWS, run_pytest: Callable[..., Any]
) -> None:
    endpoint = standing_emulator.endpoint_url
    standing_emulator.set_image_behaviour("web:3.0.0", "crash", exit_code=1)
    runs = [  # (secret values, arguments, the run's expected exit status, whether it prints a diff)
        (0, ("--image-tag", "2.0.0", "--plan"), 0, True),
        (0, ("--image-tag", "2.0.0"), 0, True),
        (1, ("--image-tag", "3.0.0"), 1, True),  # rotated secrets, a crashing image: failure reasons, a rollback
        (0, ("--image-tag", "2.0.0"), 0, False),  # back on web:2 (its secrets as before): nothing to change
    ]
    texts: list[str] = []
    for number, (which, args, status, diff) in enumerate(runs):
        junit, report = f"junit-{number}.xml", f"record-{number}.json"
        outcome = run_pytest(
            endpoint, "deployments", "--env", "outside", "-v", "-rA", "--octopus", "--junitxml", junit,
            "--ecsdeploy-report", report, "--var", f"PAYMENTS_API_TOKEN={TOKENS[which]}", *args,
            env={"DB_PASSWORD": PASSWORDS[which]},
        )
        assert outcome.returncode == status, outcome.output
        assert "##octopus[setVariable " in outcome.output, outcome.output
        assert ("DB_PASSWORD" in outcome.output) is diff, outcome.output
        texts += [
            outcome.output, *octopus_messages(outcome.output),
            (secret_project / junit).read_text(), (secret_project / report).read_text(),
        ]
        if number == 0:
            assert '"DB_PASSWORD": "<masked>"' in outcome.output  # the plan's diff shows the variable, masked

    # The values did go through the product to ECS: the rotated ones are in web:3, the first ones in web:2.
    ecs = standing_emulator.client("ecs")
    for revision, which in (("web:2", 0), ("web:3", 1)):
        environment = {e["name"]: e["value"] for e in ecs.describe_task_definition(
            taskDefinition=revision)["taskDefinition"]["containerDefinitions"][0]["environment"]}
        assert (environment["DB_PASSWORD"], environment["PAYMENTS_API_TOKEN"]) == (PASSWORDS[which], TOKENS[which])
        assert URL_PASSWORD in environment["SENTRY_DSN"]

    for secret in (*PASSWORDS, *TOKENS, URL_PASSWORD):
        leaks = [text for text in texts if secret in text]
        assert not leaks, f"{secret!r} appears in:\n" + "\n----\n".join(leaks)
