"""Reading the logs of failed tasks without an endpoint: the exact GetLogEvents request (stubbed real clients, so
botocore validates it), where each log driver's output goes, masking, and every way the read can fail, none of
which fails the step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from fakes import stubbed

from pytest_ecsdeploy.actions.logs import MAX_TASKS, FailedTaskLogs, render_recorded
from pytest_ecsdeploy.actions.watch import ContainerView, TaskView
from pytest_ecsdeploy.config import Environment, Service
from pytest_ecsdeploy.context import PrintLog, RunOptions, ServiceContext
from pytest_ecsdeploy.report.octopus import OctopusReporter
from pytest_ecsdeploy.report.record import RunRecord, ServiceRecord

REVISION = "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:7"
TASK = "arn:aws:ecs:eu-west-1:111122223333:task/prod/1f2e3d4c5b6a79881726354453627180"
TASK_ID = TASK.rsplit("/", 1)[1]
AWSLOGS = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1",
                                               "awslogs-stream-prefix": "ecs"}}


def definition(*containers: dict[str, Any]) -> dict[str, Any]:
    return {"taskDefinition": {"taskDefinitionArn": REVISION, "family": "web", "revision": 7,
                               "containerDefinitions": list(containers)}}


def app(**more: Any) -> dict[str, Any]:
    return {"name": "app", "image": "web:2", "logConfiguration": AWSLOGS,
            "environment": [{"name": "DB_PASSWORD", "value": "hunter2-db"}, {"name": "LOG_LEVEL", "value": "info"}],
            **more}


def failed(task: str = TASK, *names: str) -> TaskView:
    return TaskView(task, REVISION, "STOPPED", "STOPPED", stop_code="EssentialContainerExited",
                    stopped_reason="Essential container in task exited",
                    containers=tuple(ContainerView(n, "STOPPED", 1) for n in names or ("app",)))


class Clients:
    """ecs and logs clients, each stubbed; logs in the region the test names."""

    def __init__(self, ecs: Any, logs: Any, logs_region: str, faults: dict[str, BaseException] | None = None
                 ) -> None:
        self.ecs, self.logs, self.logs_region = ecs, logs, logs_region
        self.faults = faults or {}

    def client(self, name: str, region: str | None = None) -> Any:
        if name in self.faults:
            raise self.faults[name]
        if name == "logs":
            assert region == self.logs_region
            return self.logs
        assert (name, region) == ("ecs", None)
        return self.ecs


@pytest.fixture
def clients() -> Iterator[tuple[Any, Any]]:
    with stubbed("ecs") as ecs, stubbed("logs", "us-east-1") as logs:
        yield ecs, logs


def reader(clients: tuple[Any, Any], *, limit: int = 20, region: str = "us-east-1",
           faults: dict[str, BaseException] | None = None) -> FailedTaskLogs:
    (ecs, _), (logs, _) = clients
    ctx = ServiceContext(
        environment=Environment(name="prod", backend="aws", cluster="prod", region="eu-west-1"),
        service=Service(name="web", service_name="web"),
        aws=Clients(ecs, logs, region, faults),  # type: ignore[arg-type]
        options=RunOptions(failed_log_lines=limit),
        record=ServiceRecord(service="web", environment="prod", cluster="prod"),
        log=PrintLog(),
    )
    return FailedTaskLogs(ctx, who="service 'web'")


def expect_definition(clients: tuple[Any, Any], answer: dict[str, Any]) -> None:
    clients[0][1].add_response("describe_task_definition", answer, {"taskDefinition": REVISION})


def expect_events(clients: tuple[Any, Any], messages: list[str], stream: str = f"ecs/app/{TASK_ID}",
                  limit: int = 20) -> None:
    clients[1][1].add_response(
        "get_log_events", {"events": [{"timestamp": 1, "message": m, "ingestionTime": 2} for m in messages]},
        {"logGroupName": "/ecs/web", "logStreamName": stream, "startFromHead": False, "limit": limit})


def test_the_last_lines_are_read_masked_printed_under_the_task_and_recorded(clients: tuple[Any, Any]) -> None:
    logs = reader(clients, limit=3)
    expect_definition(clients, definition(app()))
    expect_events(clients, ["connecting with DB_PASSWORD=hunter2-db", "dsn postgres://u:hunter2-db@db/x",
                            "FATAL: ORDERS_QUEUE_URL is not set"], limit=3)

    got = logs.read(failed())

    assert got is not None
    assert logs.ctx.log.lines == [  # type: ignore[attr-defined]
        f"  app, last 3 lines of log group /ecs/web, stream ecs/app/{TASK_ID} (us-east-1):",
        "    connecting with DB_PASSWORD=<masked>",
        "    dsn postgres://u:<masked>@db/x",
        "    FATAL: ORDERS_QUEUE_URL is not set",
    ]
    (entry,) = logs.ctx.record.failed_tasks
    assert entry["task"] == TASK_ID and entry["containers"][0]["lines"][-1] == "FATAL: ORDERS_QUEUE_URL is not set"
    assert "hunter2-db" not in str(entry)
    assert render_recorded(entry)[0] == failed().stop_line()
    run = RunRecord(environment="prod", backend="aws", region="eu-west-1", services={"web": logs.ctx.record})
    logs.ctx.record.set_outcome("failed", "deployment ecs-svc/1 of web:7 failed")
    assert OctopusReporter.failure_message(run) == (
        "ecsdeploy (prod): web failed: deployment ecs-svc/1 of web:7 failed (app logged: FATAL: ORDERS_QUEUE_URL "
        "is not set)")


def test_a_task_is_read_once_and_the_definition_described_once(clients: tuple[Any, Any]) -> None:
    logs = reader(clients)
    other = TASK[:-1] + "1"
    expect_definition(clients, definition(app()))
    expect_events(clients, ["one"])
    expect_events(clients, ["two"], stream=f"ecs/app/{other.rsplit('/', 1)[1]}")

    logs.follow({TASK: failed(), other: TaskView(other, REVISION, "RUNNING", "STOPPED",
                                                 stop_code="EssentialContainerExited")}, final=False)
    logs.follow({TASK: failed(), other: failed(other)}, final=False)
    logs.follow({TASK: failed(), other: failed(other)}, final=True)

    assert [e["containers"][0]["lines"] for e in logs.ctx.record.failed_tasks] == [["one"], ["two"]]


@pytest.mark.parametrize(
    ("configuration", "note"),
    [
        ({"logDriver": "awsfirelens", "options": {"Name": "cloudwatch_logs"}},
         "logs go through FireLens (Name=cloudwatch_logs), not read here: look where its log router sends them"),
        ({"logDriver": "splunk", "options": {"splunk-url": "https://splunk"}},
         "logs go to the splunk log driver (splunk-url=https://splunk), not CloudWatch Logs: not read here"),
        (None, "no logConfiguration: ECS kept none of its output where it can be read"),
        ({"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}},
         "log group /ecs/web (eu-west-1), in a stream named after the container's runtime id (no "
         "awslogs-stream-prefix): not read"),
        ({"logDriver": "awslogs", "options": {}}, "awslogs without awslogs-group: not read"),
    ],
    ids=["firelens", "other-driver", "none", "no-prefix", "no-group"],
)
def test_logs_that_are_not_in_a_readable_stream_are_one_line(clients: tuple[Any, Any], configuration: Any,
                                                            note: str) -> None:
    logs = reader(clients)
    container = {"name": "app", "image": "web:2"} | ({"logConfiguration": configuration} if configuration else {})
    expect_definition(clients, definition(container))

    logs.read(failed())

    assert logs.ctx.log.lines == [f"  app: {note}"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("code", "note"),
    [
        ("ResourceNotFoundException", f"no log stream ecs/app/{TASK_ID} in log group /ecs/web (us-east-1): it "
                                      f"wrote nothing there, or the group is missing"),
        ("AccessDeniedException", f"not allowed to read log group /ecs/web, stream ecs/app/{TASK_ID} (us-east-1) "
                                  f"(logs:GetLogEvents)"),
        ("InvalidParameterException", "service 'web': could not read the last lines of log group /ecs/web, stream "
                                      f"ecs/app/{TASK_ID} (us-east-1) (GetLogEvents: InvalidParameterException: "
                                      "no)"),
    ],
    ids=["missing", "access-denied", "other"],
)
def test_a_read_that_fails_is_one_line_never_a_failure(clients: tuple[Any, Any], code: str, note: str) -> None:
    logs = reader(clients)
    expect_definition(clients, definition(app()))
    clients[1][1].add_client_error("get_log_events", code, "no")

    logs.read(failed())

    assert logs.ctx.log.lines == [f"  app: {note}"]  # type: ignore[attr-defined]


def test_a_connection_that_fails_is_one_line_too(clients: tuple[Any, Any]) -> None:
    logs = reader(clients, faults={"ecs": EndpointConnectionError(endpoint_url="https://ecs")})

    logs.read(failed(TASK, "app", "sidecar"))

    assert len(logs.ctx.log.lines) == 2  # type: ignore[attr-defined]
    assert all("logs not read: service 'web': could not read where its containers log" in line
               for line in logs.ctx.log.lines)  # type: ignore[attr-defined]


def test_no_lines_when_asked_for_none(clients: tuple[Any, Any]) -> None:
    logs = reader(clients, limit=0)

    assert logs.read(failed()) is None
    assert logs.ctx.log.lines == [] and logs.ctx.record.failed_tasks == []  # type: ignore[attr-defined]


def test_at_most_max_tasks_are_read_per_watch(clients: tuple[Any, Any]) -> None:
    logs = reader(clients)
    expect_definition(clients, definition({"name": "app", "image": "web:2"}))
    tasks = {f"{TASK[:-2]}{i:02d}": failed(f"{TASK[:-2]}{i:02d}") for i in range(MAX_TASKS + 3)}

    logs.follow(tasks, final=True)

    assert len(logs.ctx.record.failed_tasks) == MAX_TASKS
    assert logs.ctx.log.lines.count(f"logs of failed tasks after the first {MAX_TASKS} are not read") == 1  # type: ignore[attr-defined]
