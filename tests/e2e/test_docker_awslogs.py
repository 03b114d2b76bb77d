"""Real containers, real logs: a release that fails right after ``services_stable`` answers rolls back to the
revision it replaced, and each container's output reaches the local CloudWatch Logs as the awslogs driver sends
it. One LocalAWS (runner docker) for the module with the example image pushed to its ECR; each test has its own
service or tasks."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fakes import registered_instances

from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.runners.awslogs import MISSING_GROUP

pytestmark = pytest.mark.docker  # skipped with the reason where Docker is missing (conftest.py)

CLUSTER = "local"
GROUP = "/ecs/web"
# Simulated seconds per wall second: a task without health checks counts as healthy 5 simulated seconds after it
# runs (DOCKER_TIMINGS), 2.5 s here, so services_stable usually answers before the first deployment completes.
SPEED = 2.0
BREAKER = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}
FAILING_HEALTH_CHECK = {"command": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/missing || exit 1"],
                        "interval": 5, "timeout": 2, "retries": 1}
WAIT = {"Delay": 1, "MaxAttempts": 300}  # generous: Docker on a loaded host starts containers slowly
PATIENCE = 300.0  # seconds wait_for allows a rollback of real containers, a guard against hanging


def awslogs(group: str = GROUP, **more: str) -> dict[str, Any]:
    return {"logDriver": "awslogs", "options": {"awslogs-group": group, "awslogs-region": "us-east-1",
                                                "awslogs-stream-prefix": "ecs", **more}}


@dataclass
class Local:
    aws: LocalAWS
    image: str  # the example image (1.0.0) in the local ECR
    wait_for: Callable[..., Any]

    @property
    def ecs(self) -> Any:
        return self.aws.client("ecs")

    @property
    def logs(self) -> Any:
        return self.aws.client("logs")

    def taskdef(self, family: str, **changes: Any) -> str:
        container = {"name": "app", "image": self.image, "memory": 64, "essential": True,
                     "portMappings": [{"containerPort": 8080, "protocol": "tcp"}], "logConfiguration": awslogs(),
                     **changes}
        answer = self.ecs.register_task_definition(family=family, containerDefinitions=[container])
        return str(answer["taskDefinition"]["taskDefinitionArn"])

    def tasks(self, service: str, desired: str) -> list[dict[str, Any]]:
        arns = self.ecs.list_tasks(cluster=CLUSTER, serviceName=service, desiredStatus=desired)["taskArns"]
        return list(self.ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"]) if arns else []

    def lines(self, task_arn: str, group: str = GROUP) -> list[str]:
        """The messages in the task's stream of ``group``; none while the stream is not there yet."""
        stream = f"ecs/app/{task_arn.rsplit('/', 1)[1]}"
        if not self.logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)["logStreams"]:
            return []
        events = self.logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
        return [event["message"] for event in events]

    def rollout(self, service_deployment_arn: str, status: str) -> dict[str, Any] | None:
        """The service deployment once it has ``status``; None before."""
        (found,) = self.ecs.describe_service_deployments(serviceDeploymentArns=[service_deployment_arn])[
            "serviceDeployments"]
        return dict(found) if found["status"] == status else None

    def stopped(self, task_arn: str) -> dict[str, Any] | None:
        task = self.ecs.describe_tasks(cluster=CLUSTER, tasks=[task_arn])["tasks"][0]
        return task if task["lastStatus"] == "STOPPED" else None


@pytest.fixture(scope="module")
def local(example_image: Callable[..., str], wait_for: Callable[..., Any]) -> Iterator[Local]:
    built = example_image("1.0.0")
    with LocalAWS(runner="docker", speed=SPEED) as aws:
        uri = aws.client("ecr").create_repository(repositoryName="web")["repository"]["repositoryUri"]
        subprocess.run(["docker", "tag", built, f"{uri}:1.0.0"], check=True, capture_output=True, timeout=60)
        subprocess.run(["docker", "push", f"{uri}:1.0.0"], check=True, capture_output=True, timeout=120)
        aws.client("ecs").create_cluster(clusterName=CLUSTER)
        # EC2 tasks run on container instances; two leave room for every task of the module's services
        registered_instances(aws, CLUSTER, 2)
        aws.client("logs").create_log_group(logGroupName=GROUP)
        yield Local(aws, f"{uri}:1.0.0", wait_for)


# -- the circuit breaker after services_stable ----------------------------------------------------------------

RELEASES = {
    "exit at start": ({"entryPoint": ["/bin/sh", "-c"], "command": ["echo 'fatal: no config' >&2; exit 7"]},
                      7, "fatal: no config"),
    "exit after half a second": ({"entryPoint": ["/bin/sh", "-c"],
                                  "command": ["echo booting; sleep 0.5; echo 'fatal: lost the database' >&2; exit 7"]},
                                 7, "fatal: lost the database"),
    "failing health check": ({"healthCheck": FAILING_HEALTH_CHECK}, None, "serve.sh: version 1.0.0 on port 8080"),
}


@pytest.mark.parametrize("release", list(RELEASES))
def test_a_release_that_fails_right_after_services_stable_rolls_back_with_its_logs(local: Local, release: str) -> None:
    changes, exit_code, last_words = RELEASES[release]
    name = "web-" + release.replace(" ", "-")
    good, broken = local.taskdef(name), local.taskdef(name, **changes)
    local.ecs.create_service(cluster=CLUSTER, serviceName=name, taskDefinition=good, desiredCount=1,
                             deploymentConfiguration=BREAKER)
    local.ecs.get_waiter("services_stable").wait(cluster=CLUSTER, services=[name], WaiterConfig=WAIT)
    # The breaker rolls back to the last deployment that COMPLETED: on an idle machine three containers can exit
    # before the first deployment's task has proved healthy, and then there is none to go back to.
    local.wait_for("the first deployment to complete", lambda: local.ecs.describe_services(
        cluster=CLUSTER, services=[name])["services"][0]["deployments"][0]["rolloutState"] == "COMPLETED",
        timeout=PATIENCE)
    (original,) = local.tasks(name, "RUNNING")

    arn = local.ecs.update_service(cluster=CLUSTER, service=name, taskDefinition=broken)["service"][
        "currentServiceDeployment"]
    # The service deployment keeps what happened; the FAILED deployment in DescribeServices does not: ECS lists it
    # only while it drains, and after a third task that stopped on its own there is nothing left to drain.
    rollout = local.wait_for("the circuit breaker's rollback", lambda: local.rollout(arn, "ROLLBACK_SUCCESSFUL"),
                             timeout=PATIENCE)
    assert rollout["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert rollout["deploymentCircuitBreaker"]["failureCount"] >= 3
    local.ecs.get_waiter("services_stable").wait(cluster=CLUSTER, services=[name], WaiterConfig=WAIT)

    service = local.ecs.describe_services(cluster=CLUSTER, services=[name])["services"][0]
    (deployment,) = service["deployments"]
    assert (deployment["taskDefinition"], deployment["runningCount"], service["runningCount"]) == (good, 1, 1)
    assert any("rolling back to deployment" in event["message"] for event in service["events"])
    running = local.tasks(name, "RUNNING")
    assert [(t["taskDefinitionArn"], t["lastStatus"]) for t in running] == [(good, "RUNNING")]
    failed = [t for t in local.tasks(name, "STOPPED") if t["taskDefinitionArn"] == broken]
    assert len(failed) >= 3 and original["taskArn"] not in {t["taskArn"] for t in failed}
    for task in failed:
        if exit_code is not None:
            assert (task["stopCode"], task["containers"][0]["exitCode"]) == ("EssentialContainerExited", exit_code)
        # what the failed container printed is in its stream by the time ECS reports it STOPPED
        assert last_words in local.lines(task["taskArn"])


# -- logs ----------------------------------------------------------------------------------------------------


def test_a_running_container_streams_its_output_with_dockers_timestamps(local: Local) -> None:
    command = ["for i in 1 2 3; do echo \"line $i\"; done; echo 'to stderr' >&2; sleep 600"]
    taskdef = local.taskdef("talker", entryPoint=["/bin/sh", "-c"], command=command, portMappings=[])
    before = int(time.time() * 1000)
    (task,) = local.ecs.run_task(cluster=CLUSTER, taskDefinition=taskdef)["tasks"]
    lines = local.wait_for("the lines in CloudWatch Logs", lambda: local.stopped(task["taskArn"]) is None and len(
        local.lines(task["taskArn"])) == 4 and local.lines(task["taskArn"]))
    assert sorted(lines) == ["line 1", "line 2", "line 3", "to stderr"]  # stdout and stderr, as the driver sends
    # stdout lines in order; Docker stamps stdout and stderr as each of its copiers reads them
    assert [line for line in lines if line.startswith("line")] == ["line 1", "line 2", "line 3"]
    stream = f"ecs/app/{task['taskArn'].rsplit('/', 1)[1]}"
    events = local.logs.filter_log_events(logGroupName=GROUP, logStreamNames=[stream])["events"]
    assert all(before - 1000 <= event["timestamp"] <= int(time.time() * 1000) for event in events)
    local.ecs.stop_task(cluster=CLUSTER, task=task["taskArn"])
    local.wait_for("the task to stop", lambda: local.stopped(task["taskArn"]))
    assert len(local.lines(task["taskArn"])) == 4


def test_a_missing_log_group_fails_the_task_to_start_unless_create_group_is_true(local: Local) -> None:
    missing = local.taskdef("nogroup", logConfiguration=awslogs("/ecs/not-there"))
    (task,) = local.ecs.run_task(cluster=CLUSTER, taskDefinition=missing)["tasks"]
    stopped = local.wait_for("the task to stop", lambda: local.stopped(task["taskArn"]))
    assert (stopped["stopCode"], stopped["stoppedReason"]) == ("TaskFailedToStart", MISSING_GROUP)
    assert local.logs.describe_log_groups(logGroupNamePrefix="/ecs/not-there")["logGroups"] == []

    creating = local.taskdef("newgroup", logConfiguration=awslogs("/ecs/created", **{"awslogs-create-group": "true"}),
                             entryPoint=["/bin/sh", "-c"], command=["echo 'migrated 3 tables'"], portMappings=[])
    (task,) = local.ecs.run_task(cluster=CLUSTER, taskDefinition=creating)["tasks"]
    stopped = local.wait_for("the task to run to completion", lambda: local.stopped(task["taskArn"]))
    assert (stopped["stopCode"], stopped["containers"][0]["exitCode"]) == ("EssentialContainerExited", 0)
    assert local.lines(task["taskArn"], "/ecs/created") == ["migrated 3 tables"]
