"""The awslogs log driver (``emulator/runners/awslogs.py``): the simulated runner's image behaviours write their
``logs`` lines to moto's CloudWatch Logs in the group, region and stream a container's logConfiguration names,
at simulated times, and a task whose log group does not exist fails to start as on Fargate. The engine on a fake
clock; what a client reads back through plain boto3 GetLogEvents / FilterLogEvents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from fakes import default_network
from moto import mock_aws
from moto.ecs.models import ecs_backends

from pytest_ecsdeploy.emulator.clock import FakeClock, Timings
from pytest_ecsdeploy.emulator.ecs.responses import RolloutEngine
from pytest_ecsdeploy.emulator.runners.awslogs import MISSING_GROUP, destination
from pytest_ecsdeploy.emulator.runners.base import ContainerSpec
from pytest_ecsdeploy.emulator.runners.docker import docker_log_event

A, R = "123456789012", "us-east-1"
ECR = f"{A}.dkr.ecr.{R}.amazonaws.com"
RUNNING_AFTER_PULL = Timings().pull + Timings().container_start  # pullStartedAt -> the container runs


def awslogs(group: str = "/ecs/web", prefix: str | None = "ecs", region: str | None = R, **more: str) -> dict[str, Any]:
    options = {"awslogs-group": group, **({"awslogs-stream-prefix": prefix} if prefix else {}),
               **({"awslogs-region": region} if region else {}), **more}
    return {"logDriver": "awslogs", "options": options}


class Env:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.engine = RolloutEngine(clock=self.clock, seed=3)
        ecs_backends[A][R].create_cluster("local")
        self.logs = boto3.client("logs", region_name=R)

    def taskdef(self, image: str, **container: Any) -> str:
        definition = {"name": "app", "image": image, "memory": 128, "essential": True, **container}
        registered = ecs_backends[A][R].register_task_definition(
            "web", [definition], requires_compatibilities=["FARGATE"], cpu="256", memory="512", network_mode="awsvpc")
        return str(registered.arn)

    def call(self, action: str, **params: Any) -> dict[str, Any]:
        return self.engine.handle(action, A, R, {"cluster": "local", **params})

    def run_task(self, taskdef: str) -> str:
        (task,) = self.call("RunTask", taskDefinition=taskdef, networkConfiguration=default_network(A, R))["tasks"]
        return str(task["taskArn"])

    def describe(self, arn: str) -> dict[str, Any]:
        return self.call("DescribeTasks", tasks=[arn])["tasks"][0]  # type: ignore[no-any-return]

    def run(self, seconds: float, step: float = 0.05) -> None:
        for _ in range(round(seconds / step)):
            self.clock.advance(step)
            self.engine.tick()

    def events(self, group: str, stream: str, region: str = R) -> list[tuple[int, str]]:
        answer = boto3.client("logs", region_name=region).get_log_events(logGroupName=group, logStreamName=stream,
                                                                         startFromHead=True)
        return [(event["timestamp"], event["message"]) for event in answer["events"]]


@pytest.fixture
def env() -> Iterator[Env]:
    with mock_aws():
        environment = Env()
        yield environment
        environment.engine.close()


def test_a_crashing_container_writes_its_lines_when_it_exits_in_its_task_stream(env: Env) -> None:
    env.logs.create_log_group(logGroupName="/ecs/web")
    env.engine.set_image_behaviour("web:2", "crash", exit_code=7, after=1.5,
                                   logs=["starting", "panic: no DATABASE_URL"])
    arn = env.run_task(env.taskdef(f"{ECR}/web:2", logConfiguration=awslogs()))
    task_id = arn.rsplit("/", 1)[1]
    env.run(1.0)  # running, not yet crashed: nothing written, the stream is open
    streams = env.logs.describe_log_streams(logGroupName="/ecs/web")["logStreams"]
    assert [s["logStreamName"] for s in streams] == [f"ecs/app/{task_id}"]
    assert env.events("/ecs/web", f"ecs/app/{task_id}") == []
    env.run(3.0)
    task = env.describe(arn)
    assert (task["lastStatus"], task["containers"][0]["exitCode"]) == ("STOPPED", 7)
    exited = round((task["pullStartedAt"] + RUNNING_AFTER_PULL + 1.5) * 1000)
    assert env.events("/ecs/web", f"ecs/app/{task_id}") == [(exited, "starting"), (exited, "panic: no DATABASE_URL")]
    found = env.logs.filter_log_events(logGroupName="/ecs/web", filterPattern="panic")["events"]
    assert [(e["logStreamName"], e["message"]) for e in found] == [(f"ecs/app/{task_id}", "panic: no DATABASE_URL")]


def test_a_running_container_writes_its_lines_when_it_starts_in_the_options_region(env: Env) -> None:
    boto3.client("logs", region_name="eu-west-1").create_log_group(logGroupName="/ecs/web")
    env.engine.set_image_behaviour("web:1", "healthy", logs=["listening on :8080"])
    arn = env.run_task(env.taskdef(f"{ECR}/web:1", logConfiguration=awslogs(region="eu-west-1")))
    env.run(2.0)
    task = env.describe(arn)
    assert task["lastStatus"] == "RUNNING"
    started = round((task["pullStartedAt"] + RUNNING_AFTER_PULL) * 1000)
    stream = f"ecs/app/{arn.rsplit('/', 1)[1]}"
    assert env.events("/ecs/web", stream, region="eu-west-1") == [(started, "listening on :8080")]
    env.run(2.0)  # written once
    assert len(env.events("/ecs/web", stream, region="eu-west-1")) == 1
    assert env.logs.describe_log_groups()["logGroups"] == []  # nothing in the task's own region


def test_a_task_whose_log_group_is_missing_fails_to_start_and_create_group_creates_it(env: Env) -> None:
    env.engine.set_image_behaviour("web:1", "healthy", logs=["hello"])
    arn = env.run_task(env.taskdef(f"{ECR}/web:1", logConfiguration=awslogs(group="/ecs/missing")))
    env.run(3.0)
    task = env.describe(arn)
    assert (task["lastStatus"], task["stopCode"], task["stoppedReason"]) == ("STOPPED", "TaskFailedToStart",
                                                                             MISSING_GROUP)
    assert "exitCode" not in task["containers"][0]
    assert env.logs.describe_log_groups()["logGroups"] == []

    created = env.run_task(env.taskdef(f"{ECR}/web:1", logConfiguration=awslogs(
        group="/ecs/created", **{"awslogs-create-group": "true"})))
    env.run(2.0)
    assert env.describe(created)["lastStatus"] == "RUNNING"
    assert [e[1] for e in env.events("/ecs/created", f"ecs/app/{created.rsplit('/', 1)[1]}")] == ["hello"]


def test_a_log_region_that_does_not_exist_has_no_log_group(env: Env) -> None:
    arn = env.run_task(env.taskdef(f"{ECR}/web:1", logConfiguration=awslogs(
        region="xx-nowhere-1", **{"awslogs-create-group": "true"})))
    env.run(3.0)
    assert (env.describe(arn)["stopCode"], env.describe(arn)["stoppedReason"]) == ("TaskFailedToStart", MISSING_GROUP)


def test_a_service_whose_log_group_is_missing_trips_the_circuit_breaker(env: Env) -> None:
    taskdef = env.taskdef(f"{ECR}/web:1", logConfiguration=awslogs(group="/ecs/missing"))
    env.call("CreateService", serviceName="web", taskDefinition=taskdef, desiredCount=1,
             networkConfiguration=default_network(A, R),
             deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": False}})
    env.run(20.0)
    service = env.call("DescribeServices", services=["web"])["services"][0]
    assert service["deployments"][0]["rolloutState"] == "FAILED"
    arns = env.call("ListTasks", serviceName="web", desiredStatus="STOPPED")["taskArns"]
    assert {(t["stopCode"], t["stoppedReason"]) for t in env.call("DescribeTasks", tasks=arns)["tasks"]} == {
        ("TaskFailedToStart", MISSING_GROUP)}


def test_lines_are_not_written_by_a_container_stopped_before_it_gets_to_them(env: Env) -> None:
    env.logs.create_log_group(logGroupName="/ecs/web")
    env.engine.set_image_behaviour("web:2", "crash", after=30.0, logs=["never"])
    arn = env.run_task(env.taskdef(f"{ECR}/web:2", logConfiguration=awslogs()))
    env.run(2.0)
    env.call("StopTask", task=arn)
    env.run(40.0, step=0.5)
    assert env.describe(arn)["lastStatus"] == "STOPPED"
    assert env.events("/ecs/web", f"ecs/app/{arn.rsplit('/', 1)[1]}") == []


def test_a_container_without_awslogs_writes_nothing(env: Env) -> None:
    env.engine.set_image_behaviour("web:1", "exit", logs=["done"])
    arn = env.run_task(env.taskdef(f"{ECR}/web:1", logConfiguration={"logDriver": "json-file"}))
    env.run(3.0)
    assert env.describe(arn)["containers"][0]["exitCode"] == 0
    assert env.logs.describe_log_groups()["logGroups"] == []


@pytest.mark.parametrize(
    ("configuration", "expected"),
    [
        (awslogs(region=None), ("eu-west-1", "/ecs/web", "ecs/app/abc", False)),  # the task's region
        (awslogs(region=None, prefix=None), ("eu-west-1", "/ecs/web", "runtime-1", False)),
        (awslogs(region="ap-south-1"), ("ap-south-1", "/ecs/web", "ecs/app/abc", False)),
        (awslogs(**{"awslogs-create-group": "true"}), (R, "/ecs/web", "ecs/app/abc", True)),
        (awslogs(**{"awslogs-create-group": "false"}), (R, "/ecs/web", "ecs/app/abc", False)),
        ({"logDriver": "awsfirelens", "options": {"awslogs-group": "x"}}, None),
        ({"logDriver": "awslogs"}, None),
        (None, None),
    ],
)
def test_where_a_containers_lines_go(configuration: dict[str, Any] | None, expected: tuple[str, ...] | None) -> None:
    spec = ContainerSpec("app", "web:1", definition={"logConfiguration": configuration} if configuration else {})
    where = destination("arn:aws:ecs:eu-west-1:210987654321:task/local/abc", "abc", spec, "runtime-1")
    if expected is None:
        assert where is None
    else:
        assert where is not None and where.account == "210987654321"
        assert (where.region, where.group, where.stream, where.create_group) == expected


@pytest.mark.parametrize(
    ("line", "event"),
    [
        (b"2026-01-01T00:00:01.234567891Z listening on :8080", (1_767_225_601_234, "listening on :8080")),
        (b"2026-01-01T00:00:02Z no fraction", (1_767_225_602_000, "no fraction")),
        (b"2026-01-01T00:00:03.5Z  two spaces\r", (1_767_225_603_500, " two spaces")),
        (b"2026-01-01T00:00:04.000000000Z ", (1_767_225_604_000, "")),
    ],
)
def test_docker_log_lines_become_cloudwatch_events(line: bytes, event: tuple[int, str]) -> None:
    assert docker_log_event(line) == event


def test_a_docker_line_without_a_timestamp_is_stamped_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pytest_ecsdeploy.emulator.runners.docker.time.time", lambda: 1_767_225_605.25)
    assert docker_log_event(b"not a timestamp") == (1_767_225_605_250, "not a timestamp")
