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
    (None, "container app has no logConfiguration: its output stays with the Docker daemon's default log driver "
           "on the container instance"),
    ({"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}},
     "container app logs to /ecs/web without awslogs-stream-prefix, so its stream is named by the Docker container "
     "id on the instance"),
    ({"logDriver": "awslogs", "options": {}}, "container app logs through awslogs without awslogs-group"),
    ({"logDriver": "awsfirelens", "options": {"Name": "datadog", "apikey": "s3cr3t", "dd_service": "web"}},
     "container app logs through FireLens (Name=datadog, dd_service=web): read them where its log router sends "
     "them"),
    ({"logDriver": "awsfirelens"}, "container app logs through FireLens: read them where its log router sends them"),
    ({"logDriver": "splunk", "options": {"splunk-url": "https://splunk:8088", "splunk-token": "s3cr3t"}},
     "container app logs through the splunk driver (splunk-url=https://splunk:8088): read them there"),
])
def test_every_other_place_is_one_sentence_without_secrets(config: dict[str, object] | None, note: str) -> None:
    container = {"name": "app", **({"logConfiguration": config} if config else {})}
    source = log_source(container, "0123abcd")
    assert (source.readable, source.note) == (False, note)


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
