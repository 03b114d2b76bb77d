"""``ecs_task``'s rules without an endpoint: what counts as a failed one-off task, the exact RunTask request (a real
boto3 ECS client with botocore's Stubber, which also validates every request against ECS's model), and the
faults the wait outlasts (raised in front of the client, as a connection or an endpoint would)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber
from fakes import Flaky, stubbed

from pytest_ecsdeploy.actions.task import EcsTask, task_problems
from pytest_ecsdeploy.actions.taskdef.revision import describe
from pytest_ecsdeploy.actions.watch import ContainerView, TaskView
from pytest_ecsdeploy.config import Environment, Service
from pytest_ecsdeploy.context import Hooks, PrintLog, RunOptions, ServiceContext
from pytest_ecsdeploy.errors import ActionError, CheckFailed, TransientError
from pytest_ecsdeploy.report.record import ServiceRecord

ARN = "arn:aws:ecs:eu-west-1:111122223333:task-definition/api:41"
DESCRIBE = {"taskDefinition": ARN, "include": ["TAGS"]}  # the DescribeTaskDefinition of the revision to run
TASK = "arn:aws:ecs:eu-west-1:111122223333:task/prod/0a1b2c3d4e5f60718293a4b5c6d7e8f9"
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-0a1b2c", "subnet-0d4e5f"], "securityGroups": ["sg-0123"],
                                   "assignPublicIp": "DISABLED"}}


#: The revision's containers: ``app`` is essential, the ``log`` sidecar is not.
ESSENTIALS = {"app": True, "log": False}


def stopped(stop_code: str | None, *containers: ContainerView, reason: str = "Essential container in task exited"
            ) -> TaskView:
    return TaskView(TASK, ARN, "STOPPED", "STOPPED", stop_code=stop_code, stopped_reason=reason,
                    containers=containers)


def app(exit_code: int | None, reason: str | None = None) -> ContainerView:
    return ContainerView("app", "STOPPED", exit_code, reason)


def log(exit_code: int | None, reason: str | None = None) -> ContainerView:
    return ContainerView("log", "STOPPED", exit_code, reason)


@pytest.mark.parametrize(
    ("task", "problems"),
    [
        (stopped("EssentialContainerExited", app(0), log(0)), []),
        (stopped("EssentialContainerExited", app(0), log(None)), []),
        (stopped("EssentialContainerExited", app(0), log(3)), ["container log exited 3"]),
        (stopped("EssentialContainerExited", app(137, "OutOfMemoryError: Container killed")),
         ["container app exited 137 (OutOfMemoryError: Container killed)"]),
        (stopped("EssentialContainerExited", app(None), log(0)), ["essential container app has no exit code"]),
        (stopped("EssentialContainerExited", app(0), log(None, "CannotStartContainerError: bad mount")),
         ["container log has no exit code (CannotStartContainerError: bad mount)"]),
        (stopped("UserInitiated", app(0), reason="Task stopped by user"),
         ["was stopped before it finished (UserInitiated: Task stopped by user)"]),
        (stopped("SpotInterruption", app(143), reason="Your Spot Task was interrupted."),
         ["container app exited 143", "was stopped before it finished (SpotInterruption: Your Spot Task was "
          "interrupted.)"]),
        (stopped("TaskFailedToStart", app(None, "CannotPullContainerError: not found"),
                 log(None, "CannotPullContainerError: denied"), reason="CannotPullContainerError: not found"),
         ["failed to start (container app: CannotPullContainerError: not found; log: CannotPullContainerError: "
          "denied)"]),
        (stopped("TaskFailedToStart", app(None), reason="ResourceInitializationError: unable to pull secrets"),
         ["failed to start (ResourceInitializationError: unable to pull secrets)"]),
    ],
    ids=["all-exit-0", "sidecar-never-needed", "sidecar-exit-3", "oom-137", "essential-without-exit-code",
         "sidecar-that-could-not-start", "stopped-by-a-user", "spot-interruption", "pull-error", "init-error"],
)
def test_what_counts_as_a_failed_one_off_task(task: TaskView, problems: list[str]) -> None:
    assert task_problems(task, ESSENTIALS) == problems


def test_a_container_the_revision_does_not_name_counts_as_essential() -> None:
    assert task_problems(stopped("EssentialContainerExited", app(0), ContainerView("extra")), ESSENTIALS) == [
        "essential container extra has no exit code"]


class FakeAws:
    """What EcsTask asks of the ``aws`` ClientFactory: a stubbed ECS client (failing as ``faults`` say) and the
    account guard."""

    def __init__(self, ecs: Any, faults: dict[str, list[BaseException | None]] | None = None) -> None:
        self.ecs = Flaky(ecs, faults if faults is not None else {})
        self.guarded = 0

    def client(self, name: str, region: str | None = None) -> Any:
        assert (name, region) == ("ecs", None)
        return self.ecs

    def ensure_account(self) -> str:
        self.guarded += 1
        return "111122223333"


@pytest.fixture
def ecs() -> Iterator[tuple[Any, Stubber]]:
    with stubbed("ecs") as pair:
        yield pair


def make_task(client: Any, *, plan: bool = False, containers: tuple[str, ...] | None = ("app",),
              hooks: Hooks | None = None, faults: dict[str, list[BaseException | None]] | None = None,
              sleeps: list[float] | None = None) -> EcsTask:
    ctx = ServiceContext(
        environment=Environment(name="prod", backend="aws", cluster="prod", region="eu-west-1",
                                account_id="111122223333"),
        service=Service(name="api", service_name="api", containers=containers),
        aws=FakeAws(client, faults),  # type: ignore[arg-type]
        options=RunOptions(plan=plan, wait_timeout=300),
        record=ServiceRecord(service="api", environment="prod", cluster="prod"),
        log=PrintLog(),
        hooks=hooks or Hooks(),
    )
    return EcsTask(ctx, clock=lambda: 0.0, sleep=(sleeps if sleeps is not None else []).append)


def definition(*containers: tuple[str, bool]) -> dict[str, Any]:
    return {"taskDefinition": {
        "taskDefinitionArn": ARN, "family": "api", "revision": 41, "status": "ACTIVE",
        "containerDefinitions": [{"name": n, "image": f"{n}:1", "essential": e} for n, e in containers],
    }}


def service(**fields: Any) -> dict[str, Any]:
    return {"services": [{"serviceName": "api", "status": "ACTIVE", "networkConfiguration": NETWORK, **fields}],
            "failures": []}


def stopped_answer(**containers: int) -> dict[str, Any]:
    return {"tasks": [{"taskArn": TASK, "taskDefinitionArn": ARN, "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
                       "stopCode": "EssentialContainerExited", "stoppedReason": "Essential container in task exited",
                       "containers": [{"name": n, "exitCode": c, "lastStatus": "STOPPED"}
                                      for n, c in containers.items()]}],
            "failures": []}


def test_run_task_uses_the_services_fargate_placement_and_overrides_one_container(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    stubber.add_response("describe_task_definition", definition(("app", True), ("log", False)), DESCRIBE)
    stubber.add_response("describe_services", service(launchType="FARGATE", platformVersion="1.4.0"),
                         {"cluster": "prod", "services": ["api"]})
    stubber.add_response("run_task", {"tasks": [{"taskArn": TASK}], "failures": []}, {
        "cluster": "prod", "taskDefinition": ARN, "count": 1, "startedBy": "pytest-ecsdeploy",
        "launchType": "FARGATE", "platformVersion": "1.4.0", "networkConfiguration": NETWORK,
        "overrides": {"containerOverrides": [{"name": "app", "command": ["migrate"],
                                              "environment": [{"name": "STEP", "value": "2"}]}]},
    })
    stubber.add_response("describe_tasks", stopped_answer(app=0, log=0), {"cluster": "prod", "tasks": [TASK]})
    ecs_task = make_task(client)

    result = ecs_task.run(ARN, command=["migrate"], environment={"STEP": "2"})

    assert result.exit_code("app") == 0 and result.revision == ARN
    assert ecs_task.ctx.aws.guarded == 1  # type: ignore[attr-defined]
    # the line a rollout prints for a stopped task, with every container's exit code
    assert result.lines == (f"task {TASK.rsplit('/', 1)[-1]} (api:41) STOPPED: EssentialContainerExited: Essential "
                            f"container in task exited, app exited 0, log exited 0",)
    assert result.lines[0] == result.tasks[0].stop_line()


def test_a_revision_from_task_definition_is_not_described_again(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs  # no describe_task_definition is stubbed: describing it again would fail the test
    revision = describe(FakeAws(DescribedOnce(definition(("app", True)))), ARN).as_revision(  # type: ignore[arg-type]
        "registered")
    stubber.add_response("describe_services", service(launchType="FARGATE"), {"cluster": "prod", "services": ["api"]})
    stubber.add_response("run_task", {"tasks": [{"taskArn": TASK}], "failures": []})
    stubber.add_response("describe_tasks", stopped_answer(app=0), {"cluster": "prod", "tasks": [TASK]})
    ecs_task = make_task(client)

    assert ecs_task.run(revision).exit_code("app") == 0
    assert ("revision ACTIVE", "passed", "api:41 is ACTIVE") in [
        (c.name, c.result, c.detail) for c in ecs_task.ctx.checks.items]


class DescribedOnce:
    """An ECS client that answers one DescribeTaskDefinition with ``answer``."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer: dict[str, Any] | None = answer

    def describe_task_definition(self, **params: Any) -> dict[str, Any]:
        answer, self.answer = self.answer, None
        assert answer is not None and params == DESCRIBE
        return answer


def test_capacity_providers_replace_the_launch_type(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    strategy = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    stubber.add_response("describe_task_definition", definition(("app", True)),
                         {"taskDefinition": "api:41", "include": ["TAGS"]})
    stubber.add_response("describe_services", service(capacityProviderStrategy=strategy, platformVersion="LATEST"),
                         {"cluster": "prod", "services": ["api"]})
    stubber.add_response("run_task", {"tasks": [{"taskArn": TASK}], "failures": []}, {
        "cluster": "prod", "taskDefinition": "api:41", "count": 1, "startedBy": "pytest-ecsdeploy",
        "capacityProviderStrategy": strategy, "platformVersion": "LATEST", "networkConfiguration": NETWORK,
    })
    stubber.add_response("describe_tasks", stopped_answer(app=0), {"cluster": "prod", "tasks": [TASK]})

    assert make_task(client).run("api:41").tasks[0].stop_code == "EssentialContainerExited"


def test_run_task_failures_fail_the_step_with_their_reasons(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    stubber.add_response("describe_task_definition", definition(("app", True)), DESCRIBE)
    stubber.add_response("describe_services", service(launchType="EC2"), {"cluster": "prod", "services": ["api"]})
    stubber.add_response("run_task", {"tasks": [], "failures": [
        {"arn": "arn:aws:ecs:eu-west-1:111122223333:container-instance/prod/1", "reason": "RESOURCE:MEMORY"}]})
    ecs_task = make_task(client)

    with pytest.raises(ActionError) as raised:
        ecs_task.run(ARN)

    assert str(raised.value) == ("ecs_task.run(): RunTask could not start 1 of 1 tasks of api:41: "
                                 "arn:aws:ecs:eu-west-1:111122223333:container-instance/prod/1: RESOURCE:MEMORY.")
    assert ecs_task.ctx.record.outcome == "failed"


def test_an_aws_error_names_the_call_and_its_code(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    stubber.add_client_error("describe_task_definition", "ClientException", "Unable to describe task definition.")

    with pytest.raises(ActionError) as raised:
        make_task(client).run(ARN)

    assert raised.value.code == "ClientException"
    assert str(raised.value) == ("ecs_task.run(): could not describe task definition api:41 (DescribeTaskDefinition: "
                                 "ClientException: Unable to describe task definition).")
    assert not isinstance(raised.value, TransientError)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"revision_or_arn": "api"}, "ecs_task.run(): 'api' names a family, not a revision; run an exact revision "
                                     "('api:7' or its ARN), never the latest of a family."),
        ({"revision_or_arn": ARN, "count": 11}, "ecs_task.run(): count must be a whole number from 1 to 10, got 11."),
        ({"revision_or_arn": ARN, "command": "migrate"},
         "ecs_task.run(): command must be a list of strings, as in a container definition, got 'migrate'."),
        ({"revision_or_arn": ARN, "timeout": "abc"},
         "ecs_task.run(timeout=...) expects a number of seconds, got 'abc'."),
        ({"revision_or_arn": ARN, "timeout": -5}, "ecs_task.run(timeout=...) expects a positive number of seconds, got -5."),
        ({"revision_or_arn": ARN, "timeout": 0}, "ecs_task.run(timeout=...) expects a positive number of seconds, got 0."),
    ],
    ids=["family-only", "count", "command-string", "timeout-text", "timeout-negative", "timeout-zero"],
)
def test_arguments_that_cannot_be_run_fail_before_any_call(ecs: tuple[Any, Stubber], call: dict[str, Any],
                                                          message: str) -> None:
    client, _ = ecs  # no response is stubbed: any AWS call would fail the test differently

    with pytest.raises(ActionError) as raised:
        make_task(client).run(**call)

    assert str(raised.value) == message


def test_a_container_that_is_not_in_the_revision_is_named_with_the_ones_that_are(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    stubber.add_response("describe_task_definition", definition(("app", True), ("log", False)), DESCRIBE)
    ecs_task = make_task(client, containers=None)

    with pytest.raises(ActionError, match=r"api:41 has no container 'worker'; its containers are app, log\.$"):
        ecs_task.run(ARN, container="worker", command=["backfill"])


def test_without_a_configured_container_several_containers_must_be_named(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    stubber.add_response("describe_task_definition", definition(("app", True), ("log", False)), DESCRIBE)

    with pytest.raises(ActionError, match=r"api:41 has the containers app, log; name the one to override"):
        make_task(client, containers=None).run(ARN, command=["migrate"])


def test_a_failing_pre_check_hook_stops_the_run_before_run_task(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs  # no run_task response is stubbed: RunTask would fail the test differently
    stubber.add_response("describe_task_definition", definition(("app", True)), DESCRIBE)
    stubber.add_response("describe_services", service(launchType="FARGATE"), {"cluster": "prod", "services": ["api"]})
    asked: list[str] = []

    def pre_checks(action: str) -> list[tuple[str, bool, str]]:
        asked.append(action)
        return [("change window open", False, "migrations run Mon-Thu 09:00-16:00 UTC")]

    with pytest.raises(CheckFailed, match="change window open: migrations run Mon-Thu"):
        make_task(client, hooks=Hooks(pre_checks=pre_checks)).run(ARN, command=["migrate"])

    assert asked == ["ecs_task.run"]


# -- faults while waiting -----------------------------------------------------------------------------------------

ENDPOINT = "https://ecs.eu-west-1.amazonaws.com/"


def client_error(code: str, message: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "DescribeTasks")


#: One of each kind the wait outlasts, with how the warning names it.
TRANSIENT_FAULTS = {
    "connection-reset": (ConnectionClosedError(endpoint_url=ENDPOINT),
                         f'Connection was closed before we received a valid response from endpoint URL: "{ENDPOINT}"'),
    "throttled": (client_error("ThrottlingException", "Rate exceeded", 400), "ThrottlingException: Rate exceeded"),
    "bad-gateway": (client_error("502", "Bad Gateway", 502), "502: Bad Gateway"),
    "unreachable": (EndpointConnectionError(endpoint_url=ENDPOINT),
                    f'Could not connect to the endpoint URL: "{ENDPOINT}"'),
    "read-timeout": (ReadTimeoutError(endpoint_url=ENDPOINT),
                     f'Read timeout on endpoint URL: "{ENDPOINT}"'),
}


def run_to_the_wait(stubber: Stubber) -> None:
    stubber.add_response("describe_task_definition", definition(("app", True)), DESCRIBE)
    stubber.add_response("describe_services", service(launchType="FARGATE"), {"cluster": "prod", "services": ["api"]})
    stubber.add_response("run_task", {"tasks": [{"taskArn": TASK}], "failures": []})


@pytest.mark.parametrize("fault", TRANSIENT_FAULTS, ids=list(TRANSIENT_FAULTS))
def test_a_transient_error_while_waiting_is_outlasted_and_warned_once(ecs: tuple[Any, Stubber], fault: str) -> None:
    client, stubber = ecs
    run_to_the_wait(stubber)
    stubber.add_response("describe_tasks", {"tasks": [{**stopped_answer(app=0)["tasks"][0], "lastStatus": "RUNNING",
                                                        "desiredStatus": "RUNNING", "containers": []}]})
    stubber.add_response("describe_tasks", stopped_answer(app=0), {"cluster": "prod", "tasks": [TASK]})
    error, detail = TRANSIENT_FAULTS[fault]
    # a streak of two failed looks, a good one, then one more failed look before the task is seen STOPPED
    faults: dict[str, list[BaseException | None]] = {"describe_tasks": [error, error, None, error]}
    sleeps: list[float] = []
    ecs_task = make_task(client, faults=faults, sleeps=sleeps)

    result = ecs_task.run(ARN)

    assert result.exit_code("app") == 0 and faults["describe_tasks"] == []
    warning = f"WARNING: ecs_task.run(): could not describe the tasks of api:41 (DescribeTasks: {detail}); trying again"
    assert [line for line in ecs_task.ctx.log.lines if line.startswith("WARNING")] == [warning, warning]  # type: ignore[attr-defined]
    assert sleeps == [0.375, 0.5625, 0.25, 0.375]  # the usual pauses: a failed look brings nothing new


def test_an_error_that_waiting_cannot_cure_ends_the_wait(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    run_to_the_wait(stubber)
    denied = client_error("AccessDeniedException", "not authorized to perform: ecs:DescribeTasks", 400)
    ecs_task = make_task(client, faults={"describe_tasks": [denied]})

    with pytest.raises(ActionError) as raised:
        ecs_task.run(ARN)

    assert not isinstance(raised.value, TransientError) and raised.value.code == "AccessDeniedException"
    assert str(raised.value) == ("ecs_task.run(): could not describe the tasks of api:41 (DescribeTasks: "
                                 "AccessDeniedException: not authorized to perform: ecs:DescribeTasks).")


def test_a_one_shot_call_that_stays_throttled_fails_the_step(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    stubber.add_response("describe_task_definition", definition(("app", True)), DESCRIBE)
    stubber.add_response("describe_services", service(launchType="FARGATE"), {"cluster": "prod", "services": ["api"]})
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                             "ResponseMetadata": {"HTTPStatusCode": 400}}, "RunTask")
    ecs_task = make_task(client, faults={"run_task": [throttled]})  # botocore's own retries are spent by now

    with pytest.raises(TransientError) as raised:
        ecs_task.run(ARN)

    assert raised.value.code == "ThrottlingException"
    assert str(raised.value) == "ecs_task.run(): could not run a task of api:41 (RunTask: ThrottlingException: Rate exceeded)."
