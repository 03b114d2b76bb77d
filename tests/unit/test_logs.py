"""actions/logs.py: where each log driver sends a container's output, and what a log line read back may show."""

from __future__ import annotations

import pytest

from pytest_ecsdeploy.actions.logs import MASK, LogMask, log_source

AWSLOGS = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1",
                                                "awslogs-stream-prefix": "web"}}


def test_awslogs_names_the_stream_as_the_driver_does() -> None:
    source = log_source({"name": "app", "logConfiguration": AWSLOGS}, "0123abcd")
    assert (source.group, source.stream, source.region, source.readable) == ("/ecs/web", "web/app/0123abcd",
                                                                             "eu-west-1", True)


@pytest.mark.parametrize(("config", "note"), [
    (None, "no logConfiguration: ECS kept none of its output where it can be read"),
    ({"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}},
     "log group /ecs/web (eu-west-1), in a stream named after the container's runtime id (no awslogs-stream-prefix): "
     "not read"),
    ({"logDriver": "awslogs", "options": {}}, "awslogs without awslogs-group: not read"),
    ({"logDriver": "awsfirelens", "options": {"Name": "datadog", "apikey": "s3cr3t", "dd_service": "web"}},
     "logs go through FireLens (Name=datadog, dd_service=web), not read here: look where its log router sends them"),
    ({"logDriver": "awsfirelens"}, "logs go through FireLens, not read here: look where its log router sends them"),
    ({"logDriver": "splunk", "options": {"splunk-url": "https://splunk:8088", "splunk-token": "s3cr3t"}},
     "logs go to the splunk log driver (splunk-url=https://splunk:8088), not CloudWatch Logs: not read here"),
], ids=["none", "no-prefix", "no-group", "firelens", "firelens-bare", "other-driver"])
def test_every_other_place_is_one_sentence_without_secrets(config: dict[str, object] | None, note: str) -> None:
    container = {"name": "app", **({"logConfiguration": config} if config else {})}
    source = log_source(container, "0123abcd", "eu-west-1")
    assert (source.readable, source.note, source.where) == (False, note, note)


def test_the_region_defaults_to_the_environments_and_says_where() -> None:
    source = log_source({"name": "app", "logConfiguration": {"logDriver": "awslogs", "options": {
        "awslogs-group": "g", "awslogs-stream-prefix": "p"}}}, "t", "eu-west-1")
    assert (source.group, source.stream, source.region) == ("g", "p/app/t", "eu-west-1")
    assert source.where == "log group g, stream p/app/t (eu-west-1)"


@pytest.mark.parametrize(("line", "shown"), [
    ("connecting with hunter2-db", f"connecting with {MASK}"),
    ("DB_PASSWORD=hunter2 and LOG_LEVEL=info", f"DB_PASSWORD={MASK} and LOG_LEVEL=info"),
    ('{"api_key": "abc123", "user": "ann"}', f'{{"api_key": "{MASK}", "user": "ann"}}'),
    ("url postgres://app:pw0rd@db:5432/x", f"url postgres://app:{MASK}@db:5432/x"),
    ("key AKIAIOSFODNN7EXAMPLE used", f"key {MASK} used"),
    ("bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", f"bearer {MASK}"),
    ("-----BEGIN RSA PRIVATE KEY-----MIIEow-----END RSA PRIVATE KEY-----", MASK),
    ("FATAL: ORDERS_QUEUE_URL is not set", "FATAL: ORDERS_QUEUE_URL is not set"),
])
def test_a_log_line_shows_no_secret_of_any_kind(line: str, shown: str) -> None:
    mask = LogMask.of_task_definition({"containerDefinitions": [
        {"name": "app", "environment": [{"name": "DB_PASSWORD", "value": "hunter2-db"},
                                         {"name": "LOG_LEVEL", "value": "info"}, {"name": "PIN", "value": "42"}]}]})
    assert mask.line(line) == shown


def test_short_and_ordinary_values_are_not_masked_by_value() -> None:
    mask = LogMask.of_task_definition({"containerDefinitions": [
        {"name": "app", "environment": [{"name": "API_TOKEN", "value": "abc"}, {"name": "LOG_LEVEL", "value": "info"}]}]})
    assert mask.line("abc info") == "abc info"
