"""What the ecsdeploy command prints goes through the run's one masking layer: on stdout and stderr alike."""

from __future__ import annotations

import io

import pytest

from pytest_ecsdeploy.cli.common import Output


@pytest.mark.parametrize(("text", "shown"), [
    ("url postgres://app:pw0rd@db/x", "url postgres://app:<masked>@db/x"),
    ("export API_TOKEN=abc123 && run", "export API_TOKEN=<masked> && run"),
    ("key AKIAIOSFODNN7EXAMPLE refused", "key <masked> refused"),
    ("##octopus[setVariable name='x']", "# #octopus[setVariable name='x']"),
    ("service web: web:2, 1 desired", "service web: web:2, 1 desired"),
])
def test_every_stream_shows_what_the_run_would_show(text: str, shown: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    output = Output(out, err)
    output.line(text)
    output.warning(text)
    output.error("status", text)
    assert out.getvalue() == f"{shown}\n"
    assert err.getvalue() == f"WARNING: {shown}\necsdeploy status: {shown}\n"


def test_lines_stay_lines() -> None:
    out = io.StringIO()
    Output(out, io.StringIO()).line("deployment failed; rolled back.\n  why: DB_PASSWORD=s3cr3t rejected")
    assert out.getvalue() == "deployment failed; rolled back.\n  why: DB_PASSWORD=<masked> rejected\n"
