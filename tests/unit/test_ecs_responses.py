"""The rollout engine as a client sees it (``emulator/ecs/responses.py``): its actions driven through
``RolloutEngine.handle`` under a fake clock, against moto's backends, answering with ECS's shapes, error codes,
pages and service events. The rules behind the answers (``ecs/models.py``) run here as a rollout needs them;
their failure paths are in test_ecs_models.py."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.exceptions import ClientError, WaiterError
from fakes import default_network
from moto import mock_aws
from moto.ecs.models import ecs_backends

from pytest_ecsdeploy.emulator.clock import FakeClock, Timings
from pytest_ecsdeploy.emulator.ecs.exceptions import EngineError
from pytest_ecsdeploy.emulator.ecs.responses import ACTIONS, RolloutEngine

A, R = "123456789012", "us-east-1"
ECR = f"{A}.dkr.ecr.{R}.amazonaws.com"


def network(account: str = A, region: str = R) -> dict[str, Any]:
    """The task definitions here are Fargate ones (awsvpc): ECS runs them only with a network configuration."""
    return default_network(account, region)


class Env:
    """An engine on a fake clock, with helpers to set moto up and to read what a client would see."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.engine = RolloutEngine(clock=self.clock, seed=7)

    def cluster(self, name: str = "local", account: str = A, region: str = R) -> None:
        ecs_backends[account][region].create_cluster(name)

    def taskdef(self, family: str, image: str, account: str = A, region: str = R, **container: Any) -> str:
        definition = {"name": "app", "image": image, "memory": 128, "essential": True, **container}
        registered = ecs_backends[account][region].register_task_definition(
            family, [definition], requires_compatibilities=["FARGATE"], cpu="256", memory="512", network_mode="awsvpc"
        )
        return str(registered.arn)

    @staticmethod
    def taskdef_arn(revision: int, family: str = "web") -> str:
        return f"arn:aws:ecs:{R}:{A}:task-definition/{family}:{revision}"

    def call(self, action: str, account: str = A, region: str = R, **params: Any) -> dict[str, Any]:
        given = {"networkConfiguration": network(account, region)} if action in ("CreateService", "RunTask") else {}
        return self.engine.handle(action, account, region, {**given, **params})

    def service(self, name: str = "web", cluster: str = "local", **kw: Any) -> dict[str, Any]:
        answer = self.call("DescribeServices", cluster=cluster, services=[name], **kw)
        assert not answer["failures"], answer["failures"]
        return answer["services"][0]  # type: ignore[no-any-return]

    def seed(self, name: str = "web", taskdef: str = "web:1", desired: int = 2, **params: Any) -> dict[str, Any]:
        body = {"cluster": "local", "serviceName": name, "taskDefinition": taskdef, "desiredCount": desired,
                "networkConfiguration": network(), **params}
        return self.engine.seed_service(A, R, body)["service"]  # type: ignore[no-any-return]

    def tasks(self, cluster: str = "local", **filters: Any) -> list[dict[str, Any]]:
        arns: list[str] = []
        wanted = [filters.pop("desiredStatus")] if "desiredStatus" in filters else ["RUNNING", "STOPPED"]
        for desired in wanted:
            token: str | None = None
            while True:
                extra: dict[str, Any] = {"nextToken": token} if token else {}
                page = self.call("ListTasks", cluster=cluster, desiredStatus=desired, **filters, **extra)
                arns += page["taskArns"]
                token = page.get("nextToken")
                if not token:
                    break
        found: list[dict[str, Any]] = []
        for i in range(0, len(arns), 100):
            found += self.call("DescribeTasks", cluster=cluster, tasks=arns[i : i + 100])["tasks"]
        return found

    def run(self, seconds: float, step: float = 0.05, check: Callable[[], None] | None = None) -> None:
        for _ in range(round(seconds / step)):
            self.clock.advance(step)
            self.engine.tick()
            if check is not None:
                check()

    def run_until(self, predicate: Callable[[], bool], timeout: float = 30.0, step: float = 0.1) -> float:
        start = self.clock.now()
        while not predicate():
            assert self.clock.now() - start < timeout, "condition not reached in simulated time"
            self.clock.advance(step)
            self.engine.tick()
        return self.clock.now() - start

    def messages(self, name: str = "web") -> list[str]:
        """Service events oldest first."""
        return [e["message"] for e in reversed(self.service(name)["events"])]


@pytest.fixture
def env() -> Iterator[Env]:
    with mock_aws():
        environment = Env()
        environment.cluster()
        environment.taskdef("web", f"{ECR}/web:1")
        environment.taskdef("web", f"{ECR}/web:2")
        yield environment
        environment.engine.close()


def completed(env: Env, name: str = "web") -> Callable[[], bool]:
    def check() -> bool:
        deployments = env.service(name)["deployments"]
        return len(deployments) == 1 and deployments[0]["rolloutState"] == "COMPLETED"

    return check


def test_a_two_task_rollout_completes_in_about_two_seconds_with_ecs_events(env: Env) -> None:
    seeded = env.seed()
    old_ids = {t["taskArn"].rsplit("/", 1)[1] for t in env.tasks()}
    first = seeded["deployments"][0]
    assert seeded["serviceArn"] == f"arn:aws:ecs:{R}:{A}:service/local/web"
    assert (first["status"], first["rolloutState"], first["runningCount"]) == ("PRIMARY", "COMPLETED", 2)
    assert re.fullmatch(r"ecs-svc/\d{19}", first["id"])

    updated = env.call("UpdateService", cluster="local", service="web", taskDefinition="web:2")["service"]
    new, old = updated["deployments"]
    assert (new["status"], new["rolloutState"], new["taskDefinition"]) == ("PRIMARY", "IN_PROGRESS", env.taskdef_arn(2))
    assert new["rolloutStateReason"] == f"ECS deployment {new['id']} in progress."
    assert (old["id"], old["status"], old["rolloutState"]) == (first["id"], "ACTIVE", "COMPLETED")
    assert updated["taskDefinition"].endswith("task-definition/web:2")

    seen_states: set[str] = set()

    def done() -> bool:
        seen_states.update(t["lastStatus"] for t in env.tasks())
        return completed(env)()

    took = env.run_until(done)
    assert 1.5 <= took <= 2.5
    assert {"PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING"} <= seen_states

    service = env.service()
    (final,) = service["deployments"]
    assert (final["id"], final["runningCount"], final["pendingCount"], final["failedTasks"]) == (new["id"], 2, 0, 0)
    assert final["rolloutStateReason"] == f"ECS deployment {new['id']} completed."
    assert (service["runningCount"], service["pendingCount"], service["desiredCount"]) == (2, 0, 2)

    running = env.tasks(desiredStatus="RUNNING")
    new_ids = sorted(t["taskArn"].rsplit("/", 1)[1] for t in running)
    assert all(t["startedBy"] == new["id"] and t["group"] == "service:web" for t in running)
    assert all(re.fullmatch(rf"arn:aws:ecs:{R}:{A}:task/local/[0-9a-f]{{32}}", t["taskArn"]) for t in running)
    stopped = [t for t in env.tasks() if t["lastStatus"] == "STOPPED"]
    assert {t["taskArn"].rsplit("/", 1)[1] for t in stopped} == old_ids
    for task in stopped:
        assert task["stopCode"] == "ServiceSchedulerInitiated"
        assert task["stoppedReason"] == f"Scaling activity initiated by (deployment {new['id']})"
        assert task["stoppingAt"] <= task["executionStoppedAt"] <= task["stoppedAt"]
        assert task["containers"][0]["lastStatus"] == "STOPPED" and task["containers"][0]["exitCode"] == 0

    messages = env.messages()
    assert messages[3:] == [
        f"(service web) has started 2 tasks: {' '.join(f'(task {i})' for i in messages_ids(messages[3]))}.",
        f"(service web) has stopped 2 running tasks: {' '.join(f'(task {i})' for i in messages_ids(messages[4]))}.",
        f"(service web) (deployment {new['id']}) deployment completed.",
        "(service web) has reached a steady state.",
    ]
    assert sorted(messages_ids(messages[3])) == new_ids and set(messages_ids(messages[4])) == old_ids
    events = service["events"]
    assert [e["createdAt"] for e in events] == sorted((e["createdAt"] for e in events), reverse=True)
    assert len({e["id"] for e in events}) == len(events)


def messages_ids(message: str) -> list[str]:
    return re.findall(r"\(task ([0-9a-f]{32})\)", message)


def test_a_new_service_starts_its_tasks_and_describes_them_like_ecs(env: Env) -> None:
    created = env.call("CreateService", cluster="local", serviceName="api", taskDefinition="web", desiredCount=2)
    service = created["service"]
    assert service["status"] == "ACTIVE" and service["launchType"] == "FARGATE"
    assert service["deploymentController"] == {"type": "ECS"} and service["schedulingStrategy"] == "REPLICA"
    assert service["deploymentConfiguration"] == {
        "deploymentCircuitBreaker": {"enable": False, "rollback": False},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
        "strategy": "ROLLING",
    }
    assert service["taskDefinition"] == env.taskdef_arn(2)
    env.run_until(completed(env, "api"))
    (task, _) = env.tasks(serviceName="api")
    assert task["lastStatus"] == task["desiredStatus"] == "RUNNING"
    assert task["pullStartedAt"] <= task["pullStoppedAt"] <= task["startedAt"]
    assert task["healthStatus"] == "UNKNOWN" and task["containers"][0]["healthStatus"] == "UNKNOWN"
    assert task["containers"][0]["lastStatus"] == "RUNNING" and "exitCode" not in task["containers"][0]
    assert task["attachments"][0]["details"][-1]["name"] == "privateIPv4Address"  # after subnetId... as on ECS
    assert env.messages("api")[-1] == "(service api) has reached a steady state."
    assert env.call("ListServices", cluster="local")["serviceArns"] == [f"arn:aws:ecs:{R}:{A}:service/local/api"]


def test_scale_up_and_down_keep_the_deployment_and_stop_the_surplus(env: Env) -> None:
    deployment_id = env.seed()["deployments"][0]["id"]
    env.call("UpdateService", cluster="local", service="web", desiredCount=4)
    env.run_until(lambda: env.service()["runningCount"] == 4 and env.messages()[-1].endswith("steady state."))
    assert [d["id"] for d in env.service()["deployments"]] == [deployment_id]
    assert re.fullmatch(r"\(service web\) has started 2 tasks: \(task \w{32}\) \(task \w{32}\)\.", env.messages()[-2])

    env.call("UpdateService", cluster="local", service="web", desiredCount=1)
    env.run_until(lambda: env.service()["runningCount"] == 1 and env.service()["pendingCount"] == 0)
    env.run(1)
    assert env.messages()[-2].startswith("(service web) has stopped 3 running tasks: ")
    assert env.messages()[-1] == "(service web) has reached a steady state."
    assert len(env.tasks(desiredStatus="RUNNING")) == 1
    assert [d["id"] for d in env.service()["deployments"]] == [deployment_id]


def test_force_new_deployment_rolls_the_same_revision_and_a_no_op_update_does_not(env: Env) -> None:
    first = env.seed(taskdef="web:2")["deployments"][0]["id"]
    env.call("UpdateService", cluster="local", service="web", taskDefinition="web:2")
    assert [d["id"] for d in env.service()["deployments"]] == [first]

    env.call("UpdateService", cluster="local", service="web", forceNewDeployment=True)
    new, old = env.service()["deployments"]
    assert new["id"] != first and old["id"] == first
    assert new["taskDefinition"] == old["taskDefinition"] == env.taskdef_arn(2)
    env.run_until(completed(env))
    assert {t["startedBy"] for t in env.tasks(desiredStatus="RUNNING")} == {new["id"]}


def test_delete_needs_zero_or_force_then_drains_to_inactive(env: Env) -> None:
    env.seed()
    with pytest.raises(EngineError) as error:
        env.call("DeleteService", cluster="local", service="web")
    assert (error.value.code, error.value.message) == (
        "InvalidParameterException",
        "The service cannot be stopped while it is scaled above 0.",
    )
    deleted = env.call("DeleteService", cluster="local", service="web", force=True)["service"]
    assert (deleted["status"], deleted["desiredCount"]) == ("DRAINING", 0)
    env.run_until(lambda: env.service()["status"] == "INACTIVE")
    assert env.tasks(desiredStatus="RUNNING") == []
    assert env.call("ListServices", cluster="local")["serviceArns"] == []
    with pytest.raises(EngineError) as error:
        env.call("UpdateService", cluster="local", service="web", desiredCount=1)
    assert (error.value.code, error.value.message) == ("ServiceNotActiveException", "Service was not ACTIVE.")
    recreated = env.call("CreateService", cluster="local", serviceName="web", taskDefinition="web:1", desiredCount=0)
    assert recreated["service"]["status"] == "ACTIVE"
    env.call("UpdateService", cluster="local", service="web", desiredCount=0)
    assert env.call("DeleteService", cluster="local", service="web")["service"]["status"] == "DRAINING"


@pytest.mark.parametrize(
    ("action", "params", "code", "message"),
    [
        ("CreateService", {"cluster": "nope", "serviceName": "x", "taskDefinition": "web:1"},
         "ClusterNotFoundException", "Cluster not found."),
        ("CreateService", {"cluster": "local", "serviceName": "x", "taskDefinition": "web:9"},
         "ClientException", "TaskDefinition not found."),
        ("CreateService", {"cluster": "local", "serviceName": "x", "taskDefinition": "nothing"},
         "ClientException", "TaskDefinition not found."),
        ("CreateService", {"cluster": "local", "serviceName": "web", "taskDefinition": "web:1"},
         "InvalidParameterException", "Creation of service was not idempotent."),
        ("UpdateService", {"cluster": "local", "service": "nope", "desiredCount": 1},
         "ServiceNotFoundException", "Service not found."),
        ("UpdateService", {"cluster": "local", "service": "web", "taskDefinition": f"arn:aws:ecs:{R}:{A}:task-definition/web:7"},
         "ClientException", "TaskDefinition not found."),
        ("DeleteService", {"cluster": "local", "service": "nope"}, "ServiceNotFoundException", "Service not found."),
        ("DescribeServices", {"cluster": "nope", "services": ["web"]}, "ClusterNotFoundException", "Cluster not found."),
        ("RunTask", {"cluster": "local", "taskDefinition": "nothing:1"}, "ClientException", "TaskDefinition not found."),
        ("RunTask", {"cluster": "local", "taskDefinition": "web:1", "count": 11},
         "InvalidParameterException", "count must be between 1 and 10."),
        ("StopTask", {"cluster": "local", "task": "0" * 32},
         "InvalidParameterException", "The referenced task was not found."),
        ("ListTasks", {"cluster": "local", "serviceName": "nope"}, "ServiceNotFoundException", "Service not found."),
        ("DescribeStuff", {}, "UnknownOperationException", "The rollout engine does not implement DescribeStuff."),
    ],
)
def test_error_codes_and_messages_are_ecs_ones(env: Env, action: str, params: dict[str, Any], code: str, message: str) -> None:
    env.seed()
    with pytest.raises(EngineError) as error:
        env.call(action, **params)
    assert (error.value.code, error.value.message, error.value.status) == (code, message, 400)


def test_inactive_cluster_and_task_definition(env: Env) -> None:
    ecs_backends[A][R].deregister_task_definition("web:1")
    with pytest.raises(EngineError, match="TaskDefinition is inactive") as error:
        env.call("CreateService", cluster="local", serviceName="x", taskDefinition="web:1")
    assert error.value.code == "ClientException"
    ecs_backends[A][R].delete_cluster("local")
    with pytest.raises(EngineError, match="The referenced cluster was inactive.") as error:
        env.call("CreateService", cluster="local", serviceName="x", taskDefinition="web:2")
    assert error.value.code == "ClusterNotFoundException"
    assert env.call("ListServices", cluster="local")["serviceArns"] == []  # describes still answer


def test_unknown_names_are_missing_failures(env: Env) -> None:
    env.seed()
    answer = env.call("DescribeServices", cluster="local", services=["web", "ghost"])
    assert [s["serviceName"] for s in answer["services"]] == ["web"]
    assert answer["failures"] == [{"arn": f"arn:aws:ecs:{R}:{A}:service/local/ghost", "reason": "MISSING"}]
    arn = f"arn:aws:ecs:{R}:{A}:task/local/{'a' * 32}"
    answer = env.call("DescribeTasks", cluster="local", tasks=[arn, env.tasks()[0]["taskArn"]])
    assert answer["failures"] == [{"arn": arn, "reason": "MISSING"}] and len(answer["tasks"]) == 1


def test_list_tasks_paginates_past_100_tasks_and_filters(env: Env) -> None:
    env.seed(desired=150)
    env.call("RunTask", cluster="local", taskDefinition="web:1", count=3, startedBy="migration")
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = env.call("ListTasks", cluster="local", serviceName="web", **({"nextToken": token} if token else {}))
        seen += page["taskArns"]
        pages += 1
        token = page.get("nextToken")
        if not token:
            break
    assert pages == 2 and len(seen) == len(set(seen)) == 150
    small = env.call("ListTasks", cluster="local", maxResults=7)
    assert len(small["taskArns"]) == 7 and "nextToken" in small
    assert len(env.call("ListTasks", cluster="local", maxResults=100)["taskArns"]) == 100
    assert len(env.call("ListTasks", cluster="local", startedBy="migration")["taskArns"]) == 3
    assert len(env.call("ListTasks", cluster="local", family="web", maxResults=100, nextToken=small["nextToken"])["taskArns"]) == 100
    assert env.call("ListTasks", cluster="local", desiredStatus="STOPPED")["taskArns"] == []
    for bad in ({"maxResults": 101}, {"maxResults": 0}, {"nextToken": "%%%"}, {"desiredStatus": "DONE"}):
        with pytest.raises(EngineError) as error:
            env.call("ListTasks", cluster="local", **bad)
        assert error.value.code == "InvalidParameterException"


def test_run_task_one_off_exit_codes_and_stop_task(env: Env) -> None:
    env.taskdef("migrate", f"{ECR}/migrate:1")
    env.engine.set_image_behaviour("migrate:1", "exit", exit_code=3, after=1.0)
    ran = env.call("RunTask", cluster="local", taskDefinition="migrate", count=2, startedBy="deploy-42")
    assert [t["lastStatus"] for t in ran["tasks"]] == ["PROVISIONING"] * 2 and ran["failures"] == []
    assert {t["group"] for t in ran["tasks"]} == {"family:migrate"}
    arns = [t["taskArn"] for t in ran["tasks"]]
    env.run_until(lambda: all(t["lastStatus"] == "STOPPED" for t in env.call("DescribeTasks", cluster="local", tasks=arns)["tasks"]))
    for task in env.call("DescribeTasks", cluster="local", tasks=arns)["tasks"]:
        assert (task["stopCode"], task["stoppedReason"]) == ("EssentialContainerExited", "Essential container in task exited")
        assert task["containers"][0]["exitCode"] == 3 and task["startedBy"] == "deploy-42"
        assert task["stoppedAt"] - task["startedAt"] >= 1.0

    env.engine.set_image_behaviour(f"{ECR}/migrate:1", "exit")  # full reference wins over repository:tag
    (task,) = env.call("RunTask", cluster="local", taskDefinition="migrate:1")["tasks"]
    env.run(3)
    (task,) = env.call("DescribeTasks", cluster="local", tasks=[task["taskArn"]])["tasks"]
    assert task["containers"][0]["exitCode"] == 0 and task["stopCode"] == "EssentialContainerExited"

    env.engine.set_image_behaviour("migrate:1", "healthy")
    env.engine.set_image_behaviour(f"{ECR}/migrate:1", "healthy")
    (task,) = env.call("RunTask", cluster="local", taskDefinition="migrate:1")["tasks"]
    env.run(3)
    stopped = env.call("StopTask", cluster="local", task=task["taskArn"], reason="operator: cancelled")["task"]
    assert (stopped["desiredStatus"], stopped["stopCode"], stopped["stoppedReason"]) == (
        "STOPPED",
        "UserInitiated",
        "operator: cancelled",
    )
    env.run(2)
    (task,) = env.call("DescribeTasks", cluster="local", tasks=[task["taskArn"]])["tasks"]
    assert task["lastStatus"] == "STOPPED"
    env.run(3600, step=60)
    assert env.call("DescribeTasks", cluster="local", tasks=[task["taskArn"]])["failures"][0]["reason"] == "MISSING"


def test_stopping_a_service_task_gets_it_replaced_without_counting_a_failure(env: Env) -> None:
    env.seed()
    victim = env.tasks()[0]["taskArn"]
    env.call("StopTask", cluster="local", task=victim)
    env.run(3)
    (task,) = env.call("DescribeTasks", cluster="local", tasks=[victim])["tasks"]
    assert (task["lastStatus"], task["stopCode"], task["stoppedReason"]) == ("STOPPED", "UserInitiated", "Task stopped by user")
    service = env.service()
    assert service["runningCount"] == 2 and service["deployments"][0]["failedTasks"] == 0
    assert env.messages()[-2].startswith("(service web) has started 1 tasks: ")


def test_accounts_and_regions_keep_separate_state(env: Env) -> None:
    other_account, other_region = "210987654321", "eu-west-1"
    for account, region in ((other_account, R), (A, other_region)):
        env.cluster(account=account, region=region)
        env.taskdef("web", "web:1", account=account, region=region)
    env.seed(desired=2)
    env.engine.seed_service(other_account, R, {"cluster": "local", "serviceName": "web", "taskDefinition": "web", "desiredCount": 3,
                                                 "networkConfiguration": network(other_account, R)})
    env.engine.seed_service(A, other_region, {"cluster": "local", "serviceName": "web", "taskDefinition": "web", "desiredCount": 1,
                                                 "networkConfiguration": network(A, other_region)})
    env.call("UpdateService", cluster="local", service="web", taskDefinition="web:2")
    env.run(3)
    counts = {
        (account, region): env.call("DescribeServices", account, region, cluster="local", services=["web"])["services"][0]
        for account, region in ((A, R), (other_account, R), (A, other_region))
    }
    assert {k: v["runningCount"] for k, v in counts.items()} == {(A, R): 2, (other_account, R): 3, (A, other_region): 1}
    assert counts[(other_account, R)]["serviceArn"] == f"arn:aws:ecs:{R}:{other_account}:service/local/web"
    assert counts[(A, other_region)]["taskDefinition"].endswith(f"{other_region}:{A}:task-definition/web:1")
    assert counts[(A, R)]["taskDefinition"].endswith("web:2")
    assert len(env.call("ListTasks", other_account, R, cluster="local")["taskArns"]) == 3


def test_fifty_services_roll_out_at_once(env: Env) -> None:
    names = [f"svc-{i:02}" for i in range(50)]
    for name in names:
        env.seed(name=name, desired=2)
    for name in names:
        env.call("UpdateService", cluster="local", service=name, taskDefinition="web:2")
    took = env.run_until(lambda: all(completed(env, n)() for n in names), step=0.25)
    assert took <= 3.0
    described = env.call("DescribeServices", cluster="local", services=names[:10])["services"]
    assert all(s["runningCount"] == 2 and s["taskDefinition"].endswith("web:2") for s in described)
    assert len(env.tasks(desiredStatus="RUNNING")) == 100
    listed = env.call("ListServices", cluster="local", maxResults=100)["serviceArns"]
    assert len(listed) == 50 and len(env.call("ListServices", cluster="local")["serviceArns"]) == 10


def test_snapshot_is_json_and_stable_until_something_changes(env: Env) -> None:
    env.seed()
    env.run(1)
    before = env.engine.snapshot()
    env.run(10, step=1)
    env.call("DescribeServices", cluster="local", services=["web"])
    assert env.engine.snapshot() == before
    assert json.loads(json.dumps(before)) == before
    assert set(before[f"{A}/{R}"]["services"]) == {"local/web"} and len(before[f"{A}/{R}"]["tasks"]) == 2
    env.call("UpdateService", cluster="local", service="web", desiredCount=3)
    env.run(1)
    assert env.engine.snapshot() != before


def test_load_balancer_targets_follow_running_tasks(env: Env) -> None:
    ec2 = boto3.client("ec2", region_name=R)
    elbv2 = boto3.client("elbv2", region_name=R)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group = elbv2.create_target_group(Name="web", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")
    arn = group["TargetGroups"][0]["TargetGroupArn"]
    env.seed(loadBalancers=[{"targetGroupArn": arn, "containerName": "app", "containerPort": 8080}])

    def targets() -> set[str]:
        health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        return {d["Target"]["Id"] for d in health if d["TargetHealth"]["State"] != "unused"}

    def ips(tasks: list[dict[str, Any]]) -> set[str]:
        return {d["value"] for t in tasks for d in t["attachments"][0]["details"] if d["name"] == "privateIPv4Address"}

    assert targets() == ips(env.tasks())
    env.call("UpdateService", cluster="local", service="web", taskDefinition="web:2")
    env.run_until(completed(env))
    assert targets() == ips(env.tasks(desiredStatus="RUNNING"))
    messages = env.messages()
    assert f"(service web) registered 2 targets in (target-group {arn})" in messages
    assert f"(service web) deregistered 2 targets in (target-group {arn})" in messages
    assert env.service()["healthCheckGracePeriodSeconds"] == 0


def test_the_background_ticker_advances_state_without_requests(env: Env) -> None:
    env.seed()
    env.call("UpdateService", cluster="local", service="web", taskDefinition="web:2")
    env.engine.tick_interval = 0.001
    env.engine.start()
    env.clock.advance(5)
    deadline = time.monotonic() + 60  # a guard against a ticker that never ticks, not a timing
    while env.engine.now != env.clock.now() and time.monotonic() < deadline:
        time.sleep(0.002)
    env.engine.close()
    assert env.engine.now == env.clock.now()
    assert completed(env)()


# botocore's own waiters, unchanged, against the engine: a client whose requests for engine actions are
# answered by RolloutEngine.handle (errors shaped as the HTTP middleware shapes them), everything else by moto.


class _Raw:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


def engine_client(env: Env, step: float = 0.5) -> Any:
    client = boto3.client("ecs", region_name=R)

    def send(request: AWSRequest, **_: Any) -> AWSResponse | None:
        target = request.headers.get("X-Amz-Target", b"")
        action = (target.decode() if isinstance(target, bytes) else str(target)).rsplit(".", 1)[-1]
        if action not in ACTIONS:
            return None
        env.clock.advance(step)
        try:
            body, status = env.engine.handle(action, A, R, json.loads(request.body or b"{}")), 200
        except EngineError as error:
            body, status = {"__type": error.code, "message": error.message}, error.status
        headers = {"Content-Type": "application/x-amz-json-1.1"}
        response = AWSResponse(request.url, status, headers, _Raw(json.dumps(body).encode()))  # type: ignore[arg-type]
        request.url = "http://rollout-engine.invalid/"  # every before-send handler runs: keep moto's away
        return response

    client.meta.events.register_first("before-send.ecs", send)
    return client


def test_botocore_waiters_work_unchanged(env: Env) -> None:
    ecs = engine_client(env)
    fast = {"Delay": 0, "MaxAttempts": 40}
    ecs.create_service(cluster="local", serviceName="web", taskDefinition="web:1", desiredCount=2,
                       networkConfiguration=network())
    ecs.get_waiter("services_stable").wait(cluster="local", services=["web"], WaiterConfig=fast)
    service = ecs.describe_services(cluster="local", services=["web"])["services"][0]
    assert service["runningCount"] == 2 and service["deployments"][0]["rolloutState"] == "COMPLETED"
    assert service["events"][0]["message"] == "(service web) has reached a steady state."
    assert service["events"][0]["createdAt"].tzinfo is not None  # epoch seconds parsed as datetimes

    arns = ecs.list_tasks(cluster="local", serviceName="web")["taskArns"]
    ecs.get_waiter("tasks_running").wait(cluster="local", tasks=arns, WaiterConfig=fast)

    env.engine.set_image_behaviour("web:2", "pull-error")
    (crashing,) = ecs.run_task(cluster="local", taskDefinition="web:2", networkConfiguration=network())["tasks"]
    with pytest.raises(WaiterError, match="terminal failure state"):
        ecs.get_waiter("tasks_running").wait(cluster="local", tasks=[crashing["taskArn"]], WaiterConfig=fast)
    ecs.get_waiter("tasks_stopped").wait(cluster="local", tasks=[crashing["taskArn"]], WaiterConfig=fast)

    ecs.delete_service(cluster="local", service="web", force=True)
    with pytest.raises(WaiterError, match="terminal failure state"):
        ecs.get_waiter("services_stable").wait(cluster="local", services=["web"], WaiterConfig=fast)
    with pytest.raises(WaiterError, match="terminal failure state"):
        ecs.get_waiter("services_stable").wait(cluster="local", services=["ghost"], WaiterConfig=fast)
    with pytest.raises(ClientError) as error:
        ecs.update_service(cluster="nope", service="web", desiredCount=1)
    assert error.value.response["Error"]["Code"] == "ClusterNotFoundException"


def test_min_and_max_bounds_hold_for_the_default_rollout(env: Env) -> None:
    env.seed(desired=4)
    env.call("UpdateService", cluster="local", service="web", taskDefinition="web:2")

    def check() -> None:
        tasks = env.tasks()
        assert sum(t["lastStatus"] == "RUNNING" and t["desiredStatus"] == "RUNNING" for t in tasks) >= 4
        assert sum(t["lastStatus"] != "STOPPED" for t in tasks) <= math.floor(4 * 2.0)

    env.run(4, check=check)
    assert completed(env)()


def test_next_change_is_when_the_state_next_moves_and_nothing_moves_before_it(env: Env) -> None:
    assert env.engine.next_change() is None  # a cluster without services or tasks: nothing is due
    env.seed()
    env.call("UpdateService", cluster="local", service="web", taskDefinition="web:2")
    start, jumps = env.clock.now(), 0

    def view() -> tuple[Any, ...]:
        deployments = [(d["taskDefinition"], d["rolloutState"], d["runningCount"]) for d in env.service()["deployments"]]
        return tuple(deployments), tuple(sorted((t["taskArn"], t["lastStatus"]) for t in env.tasks()))

    while not completed(env)():
        due = env.engine.next_change()
        assert due is not None and due > env.clock.now()
        seen = view()
        env.clock.advance((due - env.clock.now()) / 2)
        assert view() == seen  # half-way to the next change, nothing has moved
        env.clock.advance_to(due)
        jumps += 1
        assert jumps < 50, "the rollout did not complete"
    assert env.clock.now() - start == pytest.approx(Timings().startup + Timings().healthy_grace + 0.5, abs=0.2)
    with pytest.raises(ValueError, match="cannot go back"):
        env.clock.advance_to(start)
