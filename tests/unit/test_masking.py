"""The one masking layer: secrets of every shape, in every structure, reach no output; masking is linear.

The property test generates secret values of each shape the layer knows (by name or by detect-secrets' patterns)
and places each inside each structure a task definition, a command line, a message or a record has, then renders
every output the run writes from it: the task-definition diff, an error message, a check line, the deployment
record, the Octopus service messages (decoded) and a failure report as the terminal and JUnit show it.
"""

from __future__ import annotations

import base64
import json
import re
import string
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_ecsdeploy.actions.taskdef import render_diff
from pytest_ecsdeploy.actions.taskdef.payload import payload_from
from pytest_ecsdeploy.checks import Checks
from pytest_ecsdeploy.errors import ActionError, CheckFailed
from pytest_ecsdeploy.redact import MASK, clean_block, clean_line, clean_report, mask, mask_argv, mask_tree
from pytest_ecsdeploy.report.octopus import OctopusReporter, ServiceMessages
from pytest_ecsdeploy.report.record import RunRecord

ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits
LOWER = string.ascii_lowercase + string.digits


def text_of(alphabet: str, size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=size, max_size=size)


# Secret values by shape: found whatever name they stand under.
SHAPES: dict[str, st.SearchStrategy[str]] = {
    "aws access key": text_of(UPPER, 16).map(lambda s: f"AKIA{s}"),
    "github token": text_of(ALNUM, 36).map(lambda s: f"ghp_{s}"),
    "slack token": st.tuples(text_of(string.digits, 12), text_of(LOWER, 24)).map(lambda p: f"xoxb-{p[0]}-{p[1]}"),
    "stripe key": text_of(ALNUM, 24).map(lambda s: f"sk_live_{s}"),
    "jwt": st.tuples(text_of(ALNUM, 20), text_of(ALNUM, 30)).map(
        lambda p: f"eyJhbGciOiJIUzI1NiJ9.eyJ{p[0]}.{p[1]}"),
    "private key": text_of(ALNUM + "+/", 64).map(
        lambda s: f"-----BEGIN RSA PRIVATE KEY-----\\nMII{s}\\n-----END RSA PRIVATE KEY-----"),
}
# Secret values with no shape: found only by where they stand. Letters and digits both, so a drawn value is not a
# word or a number the outputs' own text holds ("register", a timestamp), which would be found without leaking.
PLAIN = st.text(ALNUM + "_.~%!*", min_size=12, max_size=40).filter(
    lambda s: s != MASK and any(c.isdigit() for c in s) and any(c.isalpha() for c in s))
# Where a value stands: a function of the secret giving a task definition (what the diff and the record show).
STRUCTURES: dict[str, Callable[[str], dict[str, Any]]] = {
    "environment": lambda s: container(environment=[{"name": "DB_PASSWORD", "value": s}]),
    "shell string": lambda s: container(command=["sh", "-c", f"export API_TOKEN={s} && exec app"]),
    "flag=value": lambda s: container(command=["app", f"--db-password={s}"]),
    "flag value": lambda s: container(entryPoint=["app", "--token", s]),
    "url password": lambda s: container(command=["migrate", f"postgres://app:{s}@db:5432/x"]),
    "docker label": lambda s: container(dockerLabels={"traefik.auth.secret": s}),
    "log option": lambda s: container(logConfiguration={"logDriver": "splunk", "options": {"splunk-token": s}}),
    "health check": lambda s: container(healthCheck={"command": ["CMD-SHELL", f"curl -H X-Api-Key={s} localhost"]}),
    "tag": lambda s: {**container(), "tags": [{"key": "deploy-token", "value": s}]},
    "driver option": lambda s: {**container(), "volumes": [{"name": "data", "dockerVolumeConfiguration": {
        "driver": "rexray", "driverOpts": {"password": s}}}]},
}


def container(**fields: Any) -> dict[str, Any]:
    return {"family": "web", "containerDefinitions": [{"name": "app", "image": "web:1", "memory": 128, **fields}]}


def decoded_service_messages(lines: list[str]) -> str:
    return "\n".join(
        base64.b64decode(value).decode() for line in lines for value in re.findall(r"='([A-Za-z0-9+/=]*)'", line)
    ) + "\n".join(lines)


def every_output(payload: dict[str, Any], secret: str, tmp: Path) -> dict[str, str]:
    """Every output a run makes of ``payload`` and of a failure whose message carries ``secret``."""
    outputs = {"diff": render_diff(None, payload, "none", "web (new)")}
    checks = Checks()
    try:
        checks.failed("task_definition.validate", "pre", "task definition is valid", f"got {json.dumps(payload)}")
    except CheckFailed as exc:
        outputs["error"] = clean_line(str(exc))
    run = RunRecord(environment="prod", backend="aws", region="eu-west-1")
    record = run.service("web", "prod")
    record.checks = checks
    record.set_outcome("failed", f"AWS said: {json.dumps(payload)}")
    record.add_event(0.0, f"(service web) was unable to place a task: {secret}")
    outputs["record"] = run.write(tmp / "record.json").read_text()
    lines: list[str] = []
    reporter = OctopusReporter(ServiceMessages(lines.append))
    reporter.service_finished(record, 1, 1)
    reporter.warning(f"event: {secret}")
    reporter.run_finished(run, None, None, failed=True)
    outputs["octopus"] = decoded_service_messages(lines)

    class Report:
        longrepr = f"ActionError: could not register ({payload})"
        sections = [("Captured stdout call", f"payload {payload}\nsecret {secret}")]

    report = clean_report(Report())
    outputs["terminal and junit"] = f"{report.longrepr}\n{report.sections}"
    outputs["log line"] = clean_block(f"line one\n{secret}")
    return outputs


@pytest.mark.parametrize("structure", sorted(STRUCTURES))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_secret_of_any_shape_in_any_structure_reaches_any_output(
    structure: str, data: st.DataObject, tmp_path: Path
) -> None:
    shape = data.draw(st.sampled_from(["plain", *sorted(SHAPES)]))
    secret = data.draw(PLAIN if shape == "plain" else SHAPES[shape])
    payload = STRUCTURES[structure](secret)
    outputs = every_output(payload, secret if shape != "plain" else "", tmp_path)
    for where, text in outputs.items():
        assert secret not in text, f"a {shape} secret in the {structure} reaches the {where}:\n{text}"


@pytest.mark.parametrize("shape", sorted(SHAPES))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_a_secret_of_any_shape_is_masked_under_any_name(shape: str, data: st.DataObject) -> None:
    secret = data.draw(SHAPES[shape])
    prefix = data.draw(st.sampled_from(["", "value ", "x=", "(", "'", "LOG_LEVEL="]))
    assert secret not in mask(f"{prefix}{secret} and more")


# -- structure: names anywhere -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("export API_TOKEN=tok1 && exec app", "export API_TOKEN=<masked> && exec app"),
        ("app --db-password=pw1 --port=80", "app --db-password=<masked> --port=80"),
        ("app --token tok2 -v", "app --token <masked> -v"),
        ("GET /x?sig=abc&page=2", "GET /x?sig=<masked>&page=2"),
        ('{"DB_PASSWORD": "pw3", "PORT": "80"}', '{"DB_PASSWORD": "<masked>", "PORT": "80"}'),
        ("got 'DB_PASSWORD=pw4' (a string)", "got 'DB_PASSWORD=<masked>' (a string)"),
        ("Authorization=Bearer tok5", "Authorization=<masked>"),
        ("postgres://app:pa/ss w0rd@db/x", "postgres://app:<masked>@db/x"),
        ("pass --var DB_PASSWORD=VALUE or set it", "pass --var DB_PASSWORD=VALUE or set it"),
        ("DB_PASSWORD=${DB_PASSWORD}", "DB_PASSWORD=${DB_PASSWORD}"),
        ("secret key=arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf",
         "secret key=arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf"),
        ("https://example.com/a:b@c", "https://example.com/a:b@c"),
        ("LOG_LEVEL=debug PORT=8080", "LOG_LEVEL=debug PORT=8080"),
    ],
)
def test_secrets_in_text_are_masked_by_where_they_stand(text: str, shown: str) -> None:
    assert mask(text) == shown


def test_commands_mask_the_value_after_a_secret_flag() -> None:
    assert mask_argv(["./migrate", "--url", "postgres://app:pw@db/x", "--password", "pw2", "--verbose"]) == [
        "./migrate", "--url", f"postgres://app:{MASK}@db/x", "--password", MASK, "--verbose"]


def test_trees_mask_pairs_and_keys_and_keep_references() -> None:
    tree = {"tags": [{"key": "api-key", "value": "k"}, {"key": "team", "value": "shop"}],
            "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:eu-west-1:111122223333:parameter/db"}],
            "options": {"splunk-token": "t", "splunk-url": "https://splunk"}}
    assert mask_tree(tree) == {
        "tags": [{"key": "api-key", "value": MASK}, {"key": "team", "value": "shop"}],
        "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:eu-west-1:111122223333:parameter/db"}],
        "options": {"splunk-token": MASK, "splunk-url": "https://splunk"}}


def test_a_value_cannot_start_a_line_or_forge_a_service_message() -> None:
    forged = "2.0.0\n##octopus[setVariable name='ZXZpbA==' value='ZXZpbA==']"
    assert clean_line(forged) == "2.0.0\\n# #octopus[setVariable name='ZXZpbA==' value='ZXZpbA==']"
    assert clean_line("tag #") == "tag # "
    assert clean_line("a\rb\x1b[31mc\u2028d") == "a\\rb\\u001b[31mc\\u2028d"
    assert clean_block("one\n##octopus[x]\ntwo") == "one\n# #octopus[x]\ntwo"


def test_aws_error_messages_are_masked() -> None:
    error = ActionError(mask("could not reach https://ci:hunter2@example.com/ (token=abc)"))
    assert "hunter2" not in str(error) and "abc" not in str(error)


def test_an_error_message_quoting_a_template_value_masks_it() -> None:
    with pytest.raises(ActionError) as exc:
        payload_from({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "x", "environment": ["DB_PASSWORD=hunter2"]}]}, "web.json")
    assert "hunter2" not in clean_line(str(exc.value))


# -- linear time --------------------------------------------------------------------------------------------------

#: Inputs that made a pattern backtrack: long runs that look like the start of a URL, an assignment, a flag, a JWT
#: or a token, many times over.
ADVERSARIAL = {
    "url schemes": "a://",
    "url user colons": "http://a:",
    "colons": "a:",
    "assignments": "x=",
    "flags": "--token ",
    "jwt starts": "eyJ",
    "openai starts": "sk-",
    "slack starts": "xoxb-1-",
    "aws key starts": "AKIA",
    "letters": "a",
    "dashes": "-",
    "ordinary text": "DB_PASSWORD=hunter2 postgres://u:p@h/x LOG=1 ",
}


def _best_times(unit: str, sizes: tuple[int, ...], rounds: int = 3) -> list[float]:
    """The best of ``rounds`` timings of masking ``unit`` repeated to each of ``sizes`` characters, the sizes
    interleaved. The time is this thread's CPU time, not the wall clock's: other work on the machine preempting the
    test does not count, so a loaded machine cannot make a linear pattern look quadratic."""
    texts = [(unit * (size // len(unit) + 1))[:size] for size in sizes]
    best = [float("inf")] * len(sizes)
    for _ in range(rounds):
        for index, text in enumerate(texts):
            start = time.thread_time()
            mask(text)
            best[index] = min(best[index], time.thread_time() - start)
    return best


@pytest.mark.parametrize("unit", sorted(ADVERSARIAL), ids=sorted(ADVERSARIAL))
def test_masking_time_grows_linearly_with_the_input(unit: str) -> None:
    """Four times the input may cost at most twelve times the time (linear is four, quadratic sixteen); the sizes
    (15 000 and 60 000 characters, the larger about ECS's 64 KiB environment value) are large enough that fixed
    costs do not dominate."""
    small, large = _best_times(ADVERSARIAL[unit], (15_000, 60_000))
    assert large <= 12 * small + 0.05, f"{unit}: 15 000 characters in {small:.3f} s, 60 000 in {large:.3f} s"
