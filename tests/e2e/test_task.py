"""One-off tasks (``ecs_task.run``) against the embedded local AWS: the simulated runner decides how each image's
containers end (``exit`` with a code, ``pull-error``, or run forever), the rollout engine answers RunTask,
DescribeTasks and StopTask as ECS does. The emulator's clock moves only when ``ecs_task`` sleeps between looks,
so each look sees the instant its poll schedule says, however busy the machine (a task RUNNING for 0.4 simulated
seconds is seen RUNNING every time)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from pytest_ecsdeploy.actions.task import EcsTask
from pytest_ecsdeploy.aws import ClientFactory
from pytest_ecsdeploy.config import Environment, Service
from pytest_ecsdeploy.context import PrintLog, RunOptions, ServiceContext
from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.clock import FakeClock
from pytest_ecsdeploy.errors import AccountMismatch, ActionError
from pytest_ecsdeploy.report.record import ServiceRecord

CLUSTER = "local"
APP_IMAGE = "api:1.0.0"
SIDECAR_IMAGE = "metrics-agent:2.3"


@pytest.fixture(scope="module")
def simulated_time() -> FakeClock:
    """The clock of ``module_local_aws``, moved by the sleeps of the ``EcsTask`` that ``task_runner`` makes."""
    return FakeClock()


@pytest.fixture(scope="module")
def module_local_aws(simulated_time: FakeClock) -> Iterator[LocalAWS]:
    """This module's LocalAWS: the simulated runner (outcomes set per image), on ``simulated_time``."""
    with LocalAWS(runner="simulated", clock=simulated_time) as local:
        yield local


@pytest.fixture
def api_revision(clean_aws: LocalAWS) -> str:
    """The service ``api`` (Fargate, awsvpc, one task) steady on a revision with an essential ``app`` container
    and a non-essential ``metrics`` sidecar; returns that revision's ARN."""
    ecs = clean_aws.client("ecs")
    arn = ecs.register_task_definition(
        family="api", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[
            {"name": "app", "image": APP_IMAGE, "essential": True, "command": ["serve"]},
            {"name": "metrics", "image": SIDECAR_IMAGE, "essential": False},
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ec2 = clean_aws.client("ec2")  # the service's network: a subnet and a security group that exist, as ECS needs
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="api", Description="api tasks", VpcId=vpc)["GroupId"]
    network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group], "assignPublicIp": "DISABLED"}}
    clean_aws.seed_service({"cluster": CLUSTER, "serviceName": "api", "taskDefinition": arn, "desiredCount": 1,
                            "launchType": "FARGATE", "networkConfiguration": network})
    return str(arn)


TaskFactory = Callable[..., EcsTask]


@pytest.fixture
def task_runner(clean_aws: LocalAWS, module_client_factory: ClientFactory, simulated_time: FakeClock) -> TaskFactory:
    """``task_runner(plan=False, wait_timeout=60, **environment_changes)``: an EcsTask for the service ``api``."""

    def make(*, plan: bool = False, wait_timeout: float = 60, **changes: Any) -> EcsTask:
        environment = replace(Environment(name="local", backend="emulator", cluster=CLUSTER, region=clean_aws.region),
                              **changes)
        aws = ClientFactory(environment, local_endpoint=clean_aws.endpoint_url) if changes else module_client_factory
        ctx = ServiceContext(
            environment=environment,
            service=Service(name="api", service_name="api", repository="api", containers=("app",)),
            aws=aws,
            options=RunOptions(plan=plan, wait_timeout=wait_timeout),
            record=ServiceRecord(service="api", environment="local", cluster=CLUSTER),
            log=PrintLog(prefix="[api] "),
        )
        return EcsTask(ctx, clock=simulated_time.now, sleep=simulated_time.advance)

    return make


def one_off_tasks(local: LocalAWS) -> list[dict[str, Any]]:
    """Every task of the cluster that was not started by the service (RUNNING or STOPPED)."""
    ecs = local.client("ecs")
    arns = [arn for status in ("RUNNING", "STOPPED")
            for arn in ecs.list_tasks(cluster=CLUSTER, desiredStatus=status)["taskArns"]]
    tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []
    return [t for t in tasks if not str(t.get("group", "")).startswith("service:")]


def test_a_task_whose_containers_exit_0_passes_and_reports_each_exit_code(
    clean_aws: LocalAWS, api_revision: str, task_runner: TaskFactory
) -> None:
    clean_aws.set_image_behaviour(APP_IMAGE, "exit", exit_code=0, after=0.5)
    clean_aws.set_image_behaviour(SIDECAR_IMAGE, "exit", exit_code=0, after=0.2)
    ecs_task = task_runner()

    result = ecs_task.run(api_revision, command=["migrate", "--noinput"])

    assert result.exit_code("app") == 0 and result.tasks[0].exit_code("metrics") == 0
    assert result.tasks[0].stop_code == "EssentialContainerExited"
    [task] = one_off_tasks(clean_aws)
    assert task["taskArn"] == result.tasks[0].arn and task["launchType"] == "FARGATE"
    assert task["overrides"]["containerOverrides"][0] == {"name": "app", "command": ["migrate", "--noinput"]}
    assert any(line.endswith(" RUNNING") for line in result.lines)
    assert result.lines[-1] == result.tasks[0].stop_line()  # the stopped task's line, as a rollout prints it
    assert result.lines[-1].endswith(" STOPPED: EssentialContainerExited: Essential container in task exited, "
                                     "app exited 0, metrics exited 0")
    checks = {(c.name, c.result) for c in ecs_task.ctx.checks.items}
    assert {("account", "passed"), ("revision ACTIVE", "passed"), ("service network configuration", "passed"),
            ("tasks started", "passed"), ("every container exited 0", "passed")} <= checks


def test_a_non_essential_sidecar_exiting_3_fails_naming_the_container_and_code(
    clean_aws: LocalAWS, api_revision: str, task_runner: TaskFactory
) -> None:
    clean_aws.set_image_behaviour(APP_IMAGE, "exit", exit_code=0, after=0.8)
    clean_aws.set_image_behaviour(SIDECAR_IMAGE, "exit", exit_code=3, after=0.1)
    ecs_task = task_runner()

    with pytest.raises(ActionError) as raised:
        ecs_task.run(api_revision, command=["migrate"])

    [task] = one_off_tasks(clean_aws)
    assert task["lastStatus"] == "STOPPED"
    assert str(raised.value) == (f"ecs_task.run(): task {task['taskArn'].rsplit('/', 1)[-1]} of api:1: container "
                                 f"metrics exited 3.")
    failed = [c for c in ecs_task.ctx.checks.items if c.result == "failed"]
    assert [c.name for c in failed] == ["every container exited 0"]
    assert ecs_task.ctx.record.outcome == "failed"


def test_a_task_that_cannot_pull_its_image_fails_and_never_counts_as_exit_0(
    clean_aws: LocalAWS, api_revision: str, task_runner: TaskFactory
) -> None:
    clean_aws.set_image_behaviour(APP_IMAGE, "pull-error")
    ecs_task = task_runner()

    with pytest.raises(ActionError) as raised:
        ecs_task.run(api_revision)

    [task] = one_off_tasks(clean_aws)
    assert str(raised.value) == (
        f"ecs_task.run(): task {task['taskArn'].rsplit('/', 1)[-1]} of api:1: failed to start (container app: "
        f"{task['stoppedReason']})."
    )
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("CannotPullContainerError: ")


def test_a_task_that_does_not_stop_in_time_is_stopped_and_fails(
    clean_aws: LocalAWS, api_revision: str, task_runner: TaskFactory
) -> None:
    ecs_task = task_runner()  # both images healthy: the task would run forever

    with pytest.raises(ActionError) as raised:
        ecs_task.run(api_revision, command=["sleep", "infinity"], timeout=1)

    assert "did not stop within 1 s" in str(raised.value) and "stopped with StopTask" in str(raised.value)
    [task] = one_off_tasks(clean_aws)
    assert task["desiredStatus"] == "STOPPED"
    assert task["stopCode"] == "UserInitiated"
    assert task["stoppedReason"] == "pytest-ecsdeploy: not stopped within 1 s"


def test_plan_describes_the_run_task_and_starts_nothing(
    clean_aws: LocalAWS, api_revision: str, task_runner: TaskFactory
) -> None:
    ecs_task = task_runner(plan=True)

    result = ecs_task.run(api_revision, command=["migrate"], environment={"DB_PASSWORD": "hunter2", "STEP": "1"})

    assert result.is_planned and result.tasks == ()
    assert "hunter2" not in result.plan
    [service] = clean_aws.client("ecs").describe_services(cluster=CLUSTER, services=["api"])["services"]
    network = service["networkConfiguration"]["awsvpcConfiguration"]
    assert result.plan == (
        f"would run 1 task of api:1 on cluster local (FARGATE, subnets {network['subnets'][0]}, "
        f"security groups {network['securityGroups'][0]}) "
        "with app command ['migrate'] and environment DB_PASSWORD, STEP, and wait up to 60 s for it to stop"
    )
    assert one_off_tasks(clean_aws) == []
    assert [(c.name, c.result) for c in ecs_task.ctx.checks.items][-1] == ("run task", "skipped")


def test_the_account_guard_runs_before_anything_is_started(
    clean_aws: LocalAWS, api_revision: str, task_runner: TaskFactory
) -> None:
    ecs_task = task_runner(account_id="111122223333")  # the local AWS answers as 123456789012

    with pytest.raises(AccountMismatch):
        ecs_task.run(api_revision)

    assert one_off_tasks(clean_aws) == []


def test_a_service_that_does_not_exist_fails_before_run_task(
    clean_aws: LocalAWS, api_revision: str, task_runner: TaskFactory
) -> None:
    ecs_task = task_runner()
    ecs_task.ctx.service = replace(ecs_task.ctx.service, service_name="api-old")

    with pytest.raises(ActionError, match=r"service 'api-old' is not in cluster 'local' \(MISSING\)"):
        ecs_task.run(api_revision)

    assert one_off_tasks(clean_aws) == []
