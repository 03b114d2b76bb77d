"""ECS services on LocalAWS over HTTP: what a client that knows only boto3 and ECS's documentation sees."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError

from pytest_ecsdeploy.actions.watch import failure_threshold
from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.clock import FakeClock

ACCOUNT = "123456789012"
FAST = {"Delay": 0.1, "MaxAttempts": 300}  # botocore sleeps Delay seconds between polls
DRIVE = 0.05  # simulated seconds a look at the service moves the clock of ``driven_aws``
TEMPLATE = {
    "family": "web",
    "requiresCompatibilities": ["FARGATE"],
    "networkMode": "awsvpc",
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [{"name": "app", "image": "placeholder", "essential": True,
                              "portMappings": [{"containerPort": 8080}]}],
}


def _network(aws: LocalAWS) -> dict[str, Any]:
    """A network configuration for awsvpc tasks: a default subnet of the local EC2 (ECS refuses subnets that do not
    exist)."""
    subnets = aws.client("ec2").describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    return {"awsvpcConfiguration": {"subnets": [subnets[0]["SubnetId"]], "assignPublicIp": "DISABLED"}}


def _seed(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "web.json").write_text(json.dumps(TEMPLATE))
    return {
        "clusters": ["local"],
        "repositories": {"web": {"tags": ["1.0.0", "1.1.0", "2.0.0"]}},
        "services": {"web": {
            "task_definition": "web.json",
            "images": {"app": "web:1.0.0"},
            "desired_count": 2,
            "deployment_configuration": {"circuit_breaker": True, "rollback": True},
            "load_balancer": {"target_group": "web", "container": "app", "port": 8080},
        }},
    }


@pytest.fixture
def local_aws(tmp_path: Path) -> Iterator[LocalAWS]:
    with LocalAWS(_seed(tmp_path), base_dir=tmp_path, speed=4.0) as aws:
        yield aws


@pytest.fixture
def driven_aws(tmp_path: Path) -> Iterator[tuple[LocalAWS, FakeClock]]:
    """Seeded as ``local_aws``, on a clock that moves only when the test moves it."""
    clock = FakeClock()
    with LocalAWS(_seed(tmp_path), base_dir=tmp_path, clock=clock) as aws:
        yield aws, clock


def _register(ecs: Any, tag: str) -> str:
    """A new revision of web with the app container on ``web:<tag>``, the way a deployment tool makes it."""
    current = ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]
    payload = {k: current[k] for k in ("family", "containerDefinitions", "networkMode", "requiresCompatibilities",
                                       "cpu", "memory")}
    image = payload["containerDefinitions"][0]["image"]
    payload["containerDefinitions"][0]["image"] = image.rsplit(":", 1)[0] + f":{tag}"
    return str(ecs.register_task_definition(**payload)["taskDefinition"]["taskDefinitionArn"])


def _service(ecs: Any, name: str = "web", cluster: str = "local") -> dict[str, Any]:
    return dict(ecs.describe_services(cluster=cluster, services=[name])["services"][0])


def _until(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"not reached within {timeout} s: {condition.__doc__ or condition}")


def _container_instance(local_aws: LocalAWS, cluster: str = "local", **client: Any) -> str:
    """The ARN of a new EC2 instance registered in ``cluster``: EC2 tasks run only on container instances."""
    [instance] = local_aws.client("ec2", **client).run_instances(ImageId="ami-12c6146b", MinCount=1,
                                                                 MaxCount=1)["Instances"]
    document = json.dumps({"instanceId": instance["InstanceId"]})
    registered = local_aws.client("ecs", **client).register_container_instance(cluster=cluster,
                                                                               instanceIdentityDocument=document)
    return str(registered["containerInstance"]["containerInstanceArn"])


def _error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_a_seeded_service_is_steady_on_its_first_revision(local_aws: LocalAWS) -> None:
    ecs = local_aws.client("ecs")
    ecs.get_waiter("services_stable").wait(cluster="local", services=["web"], WaiterConfig={"Delay": 0.1,
                                                                                              "MaxAttempts": 1})
    service = _service(ecs)
    assert (service["status"], service["desiredCount"], service["runningCount"]) == ("ACTIVE", 2, 2)
    [deployment] = service["deployments"]
    assert (deployment["status"], deployment["rolloutState"]) == ("PRIMARY", "COMPLETED")
    assert deployment["taskDefinition"] == f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:1"
    assert service["events"][0]["message"] == "(service web) has reached a steady state."
    tasks = ecs.list_tasks(cluster="local", serviceName="web")["taskArns"]
    assert len(tasks) == 2
    ecs.get_waiter("tasks_running").wait(cluster="local", tasks=tasks, WaiterConfig={"Delay": 0.1, "MaxAttempts": 1})
    described = ecs.describe_tasks(cluster="local", tasks=tasks)["tasks"]
    assert {t["containers"][0]["image"] for t in described} == {
        f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/web:1.0.0"
    }
    target_group = service["loadBalancers"][0]["targetGroupArn"]
    health = local_aws.client("elbv2").describe_target_health(TargetGroupArn=target_group)
    assert len(health["TargetHealthDescriptions"]) == 2


def test_a_rollout_completes_and_services_stable_succeeds(local_aws: LocalAWS) -> None:
    ecs = local_aws.client("ecs")
    old = _service(ecs)["deployments"][0]
    arn = _register(ecs, "1.1.0")
    updated = ecs.update_service(cluster="local", service="web", taskDefinition=arn)["service"]
    primary, active = updated["deployments"]
    assert (primary["status"], primary["rolloutState"], primary["taskDefinition"]) == ("PRIMARY", "IN_PROGRESS", arn)
    assert primary["rolloutStateReason"] == f"ECS deployment {primary['id']} in progress."
    assert (active["status"], active["id"]) == ("ACTIVE", old["id"])

    ecs.get_waiter("services_stable").wait(cluster="local", services=["web"], WaiterConfig=FAST)

    service = _service(ecs)
    [deployment] = service["deployments"]
    assert (deployment["id"], deployment["rolloutState"], deployment["taskDefinition"]) == (
        primary["id"], "COMPLETED", arn
    )
    assert deployment["rolloutStateReason"] == f"ECS deployment {primary['id']} completed."
    assert (service["runningCount"], service["pendingCount"]) == (2, 0)
    messages = [event["message"] for event in service["events"]]
    assert messages[:2] == [
        "(service web) has reached a steady state.",
        f"(service web) (deployment {primary['id']}) deployment completed.",
    ]
    tasks = ecs.list_tasks(cluster="local", serviceName="web")["taskArns"]
    images = {t["containers"][0]["image"] for t in ecs.describe_tasks(cluster="local", tasks=tasks)["tasks"]}
    assert images == {f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/web:1.1.0"}


def test_run_task_and_stop_task_with_the_task_waiters(local_aws: LocalAWS) -> None:
    # a task that runs until stopped: a one-off task of an image without a behaviour ends as a job does, 0.5
    # simulated seconds after it started, which a loaded machine can let pass between the waiter and StopTask
    local_aws.set_image_behaviour("web:1.0.0", "healthy")
    ecs = local_aws.client("ecs")
    [task] = ecs.run_task(cluster="local", taskDefinition="web", launchType="FARGATE",
                          networkConfiguration=_network(local_aws))["tasks"]
    assert task["lastStatus"] == "PROVISIONING"
    ecs.get_waiter("tasks_running").wait(cluster="local", tasks=[task["taskArn"]], WaiterConfig=FAST)
    ecs.stop_task(cluster="local", task=task["taskArn"], reason="done with it")
    ecs.get_waiter("tasks_stopped").wait(cluster="local", tasks=[task["taskArn"]], WaiterConfig=FAST)
    [stopped] = ecs.describe_tasks(cluster="local", tasks=[task["taskArn"]])["tasks"]
    assert (stopped["lastStatus"], stopped["stopCode"], stopped["stoppedReason"]) == (
        "STOPPED", "UserInitiated", "done with it"
    )


def test_tasks_running_fails_fast_when_the_task_crashes(local_aws: LocalAWS) -> None:
    # exits as it starts: never RUNNING, not even for the 0.1 simulated seconds a later crash would leave the
    # waiter to catch (25 ms at speed 4, which a poll lands in by chance)
    local_aws.set_image_behaviour("web:2.0.0", "crash", exit_code=3, after=0)
    ecs = local_aws.client("ecs")
    arn = _register(ecs, "2.0.0")
    [task] = ecs.run_task(cluster="local", taskDefinition=arn, launchType="FARGATE",
                          networkConfiguration=_network(local_aws))["tasks"]
    with pytest.raises(WaiterError, match="Waiter encountered a terminal failure state"):
        ecs.get_waiter("tasks_running").wait(cluster="local", tasks=[task["taskArn"]], WaiterConfig=FAST)
    [stopped] = ecs.describe_tasks(cluster="local", tasks=[task["taskArn"]])["tasks"]
    assert (stopped["stopCode"], stopped["stoppedReason"]) == (
        "EssentialContainerExited", "Essential container in task exited"
    )
    assert stopped["containers"][0]["exitCode"] == 3


_SET_BEHAVIOUR = """
import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1] + "/_ecsdeploy/image-behaviour", method="POST",
                                 data=json.dumps({"image": "web:2.0.0", "behaviour": "crash", "exit_code": 1}).encode())
with urllib.request.urlopen(request, timeout=10) as answer:
    print(answer.status, answer.read().decode())
"""


def test_a_crashing_image_trips_the_circuit_breaker_and_rolls_back(driven_aws: tuple[LocalAWS, FakeClock]) -> None:
    local_aws, clock = driven_aws
    done = subprocess.run([sys.executable, "-c", _SET_BEHAVIOUR, local_aws.endpoint_url], capture_output=True,
                          text=True, timeout=30, check=True)
    assert done.stdout.strip() == '200 {"image": "web:2.0.0", "behaviour": "crash", "exit_code": 1}'
    ecs = local_aws.client("ecs")
    # Every look at the service moves simulated time DRIVE seconds: the failed deployment is listed as FAILED for
    # 0.3 simulated seconds (until its last task has stopped), 75 ms of real time at speed 4 that a poll slowed
    # down by a busy machine would miss; here every poll takes the same simulated step however long it lasts.
    ecs.meta.events.register("before-call.ecs.DescribeServices", lambda **_: clock.advance(DRIVE))
    original = _service(ecs)["deployments"][0]
    arn = _register(ecs, "2.0.0")
    failing = ecs.update_service(cluster="local", service="web", taskDefinition=arn)["service"]["deployments"][0]

    def rolled_back() -> dict[str, Any] | None:
        """the failed deployment is FAILED and a rollback deployment is PRIMARY"""
        service = _service(ecs)
        states = {d["id"]: d for d in service["deployments"]}
        if states.get(failing["id"], {}).get("rolloutState") == "FAILED":
            return service
        return None

    service = _until(rolled_back)
    rollback = service["deployments"][0]
    assert rollback["status"] == "PRIMARY"
    assert rollback["id"] not in (failing["id"], original["id"])
    assert rollback["taskDefinition"] == original["taskDefinition"]
    assert rollback["rolloutStateReason"] == (
        f"ECS deployment circuit breaker: rolling back to deploymentId {original['id']}."
    )
    failed = next(d for d in service["deployments"] if d["id"] == failing["id"])
    assert failed["failedTasks"] >= 3  # min(max(ceil(0.5 x 2), 3), 200)

    # the rollback itself becomes stable: services_stable succeeds on the old revision (reference D.1)
    ecs.get_waiter("services_stable").wait(cluster="local", services=["web"], WaiterConfig=FAST)
    service = _service(ecs)
    [deployment] = service["deployments"]
    assert (deployment["taskDefinition"], deployment["rolloutState"]) == (original["taskDefinition"], "COMPLETED")
    messages = [event["message"] for event in reversed(service["events"])]  # oldest first
    failed_at = messages.index(f"(service web) (deployment {failing['id']}) deployment failed: tasks failed to start.")
    rolling_at = messages.index(f"(service web) rolling back to deployment {original['id']}.")
    completed_at = messages.index(f"(service web) (deployment {rollback['id']}) deployment completed.")
    assert failed_at < rolling_at < completed_at
    stopped = ecs.list_tasks(cluster="local", serviceName="web", desiredStatus="STOPPED")["taskArns"]
    reasons = {t["stopCode"] for t in ecs.describe_tasks(cluster="local", tasks=stopped)["tasks"]
               if t["taskDefinitionArn"] == arn}
    assert reasons == {"EssentialContainerExited"}


def test_ecs_error_codes_over_http(local_aws: LocalAWS) -> None:
    ecs = local_aws.client("ecs")
    with pytest.raises(ClientError) as exc:
        ecs.update_service(cluster="local", service="nope", desiredCount=1)
    assert _error_code(exc) == "ServiceNotFoundException"
    with pytest.raises(ClientError) as exc:
        ecs.create_service(cluster="missing", serviceName="api", taskDefinition="web", desiredCount=1)
    assert _error_code(exc) == "ClusterNotFoundException"
    with pytest.raises(ClientError) as exc:
        ecs.create_service(cluster="local", serviceName="api", taskDefinition="nope:1", desiredCount=1)
    assert _error_code(exc) == "ClientException"
    with pytest.raises(ClientError) as exc:
        ecs.create_service(cluster="local", serviceName="web", taskDefinition="web", desiredCount=1)
    assert _error_code(exc) == "InvalidParameterException"
    assert exc.value.response["Error"]["Message"] == "Creation of service was not idempotent."
    assert ecs.describe_services(cluster="local", services=["nope"])["failures"] == [
        {"arn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/local/nope", "reason": "MISSING"}
    ]
    with pytest.raises(WaiterError, match="terminal failure state"):
        ecs.get_waiter("services_stable").wait(cluster="local", services=["nope"], WaiterConfig=FAST)


def test_accounts_and_regions_are_separate(local_aws: LocalAWS) -> None:
    credentials = local_aws.client("sts").assume_role(
        RoleArn="arn:aws:iam::111122223333:role/deployer", RoleSessionName="deploy"
    )["Credentials"]
    keys = {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"]}
    other = local_aws.client("ecs", **keys)
    with pytest.raises(ClientError) as exc:  # the seeded cluster is in 123456789012 only
        other.describe_services(cluster="local", services=["web"])
    assert _error_code(exc) == "ClusterNotFoundException"
    other.create_cluster(clusterName="local")
    arn = other.register_task_definition(family="web", containerDefinitions=[
        {"name": "app", "image": "nginx:1", "memory": 128}])["taskDefinition"]["taskDefinitionArn"]
    _container_instance(local_aws, **keys)
    created = other.create_service(cluster="local", serviceName="web", taskDefinition=arn, desiredCount=1)["service"]
    assert created["serviceArn"] == "arn:aws:ecs:us-east-1:111122223333:service/local/web"
    other.get_waiter("services_stable").wait(cluster="local", services=["web"], WaiterConfig=FAST)

    west = local_aws.client("ecs", region_name="eu-west-1")
    west.create_cluster(clusterName="local")
    west_arn = west.register_task_definition(family="web", containerDefinitions=[
        {"name": "app", "image": "nginx:1", "memory": 128}])["taskDefinition"]["taskDefinitionArn"]
    _container_instance(local_aws, region_name="eu-west-1")
    west.create_service(cluster="local", serviceName="web", taskDefinition=west_arn, desiredCount=3)
    west.get_waiter("services_stable").wait(cluster="local", services=["web"], WaiterConfig=FAST)

    home = _service(local_aws.client("ecs"))
    assert (home["serviceArn"], home["desiredCount"], home["runningCount"]) == (
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/local/web", 2, 2
    )
    assert _service(other)["runningCount"] == 1
    assert _service(west)["serviceArn"] == f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service/local/web"
    assert _service(west)["runningCount"] == 3
    assert local_aws.client("ecs").list_services(cluster="local")["serviceArns"] == [home["serviceArn"]]


def test_snapshot_of_a_steady_service_is_stable_and_reset_reseeds(local_aws: LocalAWS) -> None:
    first = local_aws.snapshot()
    assert list(first["ecs"]["engine"]) == [f"{ACCOUNT}/us-east-1"]
    time.sleep(1.0)  # 4 simulated seconds at speed 4: nothing is due in a steady service
    assert local_aws.snapshot() == first
    assert json.loads(json.dumps(first)) == first

    ecs = local_aws.client("ecs")
    ecs.update_service(cluster="local", service="web", taskDefinition=_register(ecs, "1.1.0"))
    assert local_aws.snapshot() != first
    local_aws.set_image_behaviour("web:1.0.0", "crash")
    local_aws.reset()  # the seed again, and no image behaviours
    ecs.get_waiter("services_stable").wait(cluster="local", services=["web"], WaiterConfig=FAST)
    [deployment] = _service(ecs)["deployments"]
    assert deployment["taskDefinition"] == f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:1"
    again = local_aws.snapshot()
    assert again["ecr"] == first["ecr"]  # the same digests: seeded manifests do not depend on the run
    assert set(again["elbv2"][ACCOUNT]["us-east-1"]["target_groups"]) == {"web"}
    assert [r["revision"] for r in again["ecs"]["task_definitions"][ACCOUNT]["us-east-1"]["web"]] == [1]


def test_image_behaviour_route_refuses_what_the_runner_refuses(local_aws: LocalAWS) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{local_aws.endpoint_url}/_ecsdeploy/image-behaviour", method="POST",
                                     data=json.dumps({"image": "web:1", "behaviour": "explode"}).encode())
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request, timeout=10)
    assert exc.value.code == 400
    message = json.loads(exc.value.read())["error"]
    assert message.startswith("unknown image behaviour 'explode'; choose one of: ")


def test_stop_ends_the_engine_and_every_connection_thread(tmp_path: Path) -> None:
    import threading

    before = set(threading.enumerate())
    with LocalAWS(speed=4.0) as aws:
        ecs = aws.client("ecs")
        ecs.create_cluster(clusterName="local")
        arn = ecs.register_task_definition(family="web", containerDefinitions=[
            {"name": "app", "image": "nginx:1", "memory": 128}])["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(cluster="local", serviceName="web", taskDefinition=arn, desiredCount=2)
        assert {t.name for t in set(threading.enumerate()) - before} >= {"ecs-rollout-engine"}
    assert set(threading.enumerate()) - before == set()


def test_a_seed_file_with_a_service_in_another_region(tmp_path: Path) -> None:
    from pytest_ecsdeploy.emulator.seed import load_seed_file

    (tmp_path / "web.json").write_text(json.dumps({**TEMPLATE, "family": "${FAMILY}"}))
    (tmp_path / "seed.toml").write_text(
        '[repositories.web]\ntags = ["1.0.0"]\n'
        '[services.web]\ntask_definition = "web.json"\nimages = { app = "web:1.0.0" }\ndesired_count = 3\n'
    )
    seed = load_seed_file(tmp_path / "seed.toml", {"FAMILY": "web-prod"})
    with LocalAWS(seed, region="eu-west-2", speed=4.0) as aws:
        ecs = aws.client("ecs")
        service = _service(ecs, cluster="default")
        assert service["serviceArn"] == f"arn:aws:ecs:eu-west-2:{ACCOUNT}:service/default/web"
        assert service["runningCount"] == 3
        assert service["taskDefinition"] == f"arn:aws:ecs:eu-west-2:{ACCOUNT}:task-definition/web-prod:1"
        container = ecs.describe_task_definition(taskDefinition="web-prod:1")["taskDefinition"]["containerDefinitions"]
        assert container[0]["image"] == f"{ACCOUNT}.dkr.ecr.eu-west-2.amazonaws.com/web:1.0.0"
        with pytest.raises(ClientError) as exc:
            aws.client("ecs", region_name="us-east-1").describe_services(cluster="default", services=["web"])
        assert _error_code(exc) == "ClusterNotFoundException"


@pytest.mark.parametrize("count", [1, 5])
def test_a_crash_looping_deployment_fails_after_the_count_its_threshold_configuration_gives(
    tmp_path: Path, count: int
) -> None:
    """desiredCount 2 alone would fail the deployment at 3 failed tasks; ``COUNT`` n fails it at exactly n,
    and the product's watch, reading the same service, expects n too."""
    (tmp_path / "web.json").write_text(json.dumps(TEMPLATE))
    seed = {
        "clusters": ["local"],
        "repositories": {"web": {"tags": ["1.0.0", "2.0.0"]}},
        "services": {"web": {"task_definition": "web.json", "images": {"app": "web:1.0.0"}, "desired_count": 2}},
        "image_behaviours": [{"image": "web:2.0.0", "behaviour": "crash"}],
    }
    clock = FakeClock()
    with LocalAWS(seed, base_dir=tmp_path, clock=clock, runner="simulated") as aws:
        ecs = aws.client("ecs")
        breaker = {"enable": True, "rollback": False, "thresholdConfiguration": {"type": "COUNT", "value": count}}
        answer = ecs.update_service(cluster="local", service="web", taskDefinition=_register(ecs, "2.0.0"),
                                    deploymentConfiguration={"deploymentCircuitBreaker": breaker})["service"]
        assert failure_threshold(answer) == count
        deployment_id = answer["deployments"][0]["id"]
        seen: list[tuple[int, str]] = []  # (failedTasks, rolloutState) each time either changes
        for _ in range(600):  # 60 simulated seconds; each crash-loop round takes about 1.3
            clock.advance(0.1)
            ours = next(d for d in _service(ecs)["deployments"] if d["id"] == deployment_id)
            if not seen or seen[-1] != (ours["failedTasks"], ours["rolloutState"]):
                seen.append((ours["failedTasks"], ours["rolloutState"]))
            if ours["rolloutState"] != "IN_PROGRESS":
                break
    assert seen[-1] == (count, "FAILED"), seen
    assert all(failed < count for failed, state in seen[:-1] if state == "IN_PROGRESS"), seen
    if count > 3:
        assert any(failed >= 3 for failed, _ in seen[:-1]), seen  # past the default threshold, still in progress


# What ECS refuses is refused here too, with ECS's code and message; each refusal beside its accepted counterpart.

NETWORK_REQUIRED = "Network Configuration must be provided when networkMode 'awsvpc' is specified."
BOTH = "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."
SPOT = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]


def _refused(call: Callable[..., Any], code: str, message: str, **params: Any) -> None:
    with pytest.raises(ClientError) as exc:
        call(**params)
    assert (_error_code(exc), exc.value.response["Error"]["Message"]) == (code, message)


def _taskdef(ecs: Any, family: str, network_mode: str, *, containers: int = 1, name: str = "app") -> str:
    definitions = [{"name": name if i == 0 else f"{name}-{i}", "image": "busybox", "memory": 64, "essential": i == 0}
                   for i in range(containers)]
    return str(ecs.register_task_definition(family=family, networkMode=network_mode, requiresCompatibilities=["EC2"],
                                            containerDefinitions=definitions)["taskDefinition"]["taskDefinitionArn"])


def test_a_seeded_awsvpc_service_gets_the_default_vpcs_subnets(local_aws: LocalAWS) -> None:
    ec2 = local_aws.client("ec2")
    defaults = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    [group] = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [defaults[0]["VpcId"]]},
                                                    {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    configuration = _service(local_aws.client("ecs"))["networkConfiguration"]["awsvpcConfiguration"]
    assert configuration == {"subnets": sorted(s["SubnetId"] for s in defaults), "securityGroups": [group["GroupId"]],
                             "assignPublicIp": "DISABLED"}


def test_run_task_of_an_awsvpc_task_definition_needs_a_network_configuration(local_aws: LocalAWS) -> None:
    ecs = local_aws.client("ecs")
    _refused(ecs.run_task, "InvalidParameterException", NETWORK_REQUIRED, cluster="local", taskDefinition="web")
    _refused(ecs.run_task, "InvalidParameterException", NETWORK_REQUIRED, cluster="local", taskDefinition="web",
             networkConfiguration={})
    [task] = ecs.run_task(cluster="local", taskDefinition="web", networkConfiguration=_network(local_aws))["tasks"]
    assert task["attachments"][0]["type"] == "ElasticNetworkInterface"
    bridge = _taskdef(ecs, "bridged", "bridge")
    _container_instance(local_aws)
    assert len(ecs.run_task(cluster="local", taskDefinition=bridge)["tasks"]) == 1  # no awsvpc: none needed


def test_create_service_of_an_awsvpc_task_definition_needs_a_network_configuration(local_aws: LocalAWS) -> None:
    ecs = local_aws.client("ecs")
    _refused(ecs.create_service, "InvalidParameterException", NETWORK_REQUIRED, cluster="local", serviceName="api",
             taskDefinition="web", desiredCount=1)
    assert ecs.describe_services(cluster="local", services=["api"])["failures"][0]["reason"] == "MISSING"
    created = ecs.create_service(cluster="local", serviceName="api", taskDefinition="web", desiredCount=1,
                                 networkConfiguration=_network(local_aws))["service"]
    assert created["networkConfiguration"] == _network(local_aws)


def test_update_service_to_awsvpc_needs_a_network_configuration_the_service_lacks(local_aws: LocalAWS) -> None:
    ecs = local_aws.client("ecs")
    ecs.create_service(cluster="local", serviceName="bridged", taskDefinition=_taskdef(ecs, "bridged", "bridge"),
                       desiredCount=1)
    awsvpc = _taskdef(ecs, "bridged", "awsvpc")
    _refused(ecs.update_service, "InvalidParameterException", NETWORK_REQUIRED, cluster="local", service="bridged",
             taskDefinition=awsvpc)
    assert _service(ecs, "bridged")["taskDefinition"].endswith("bridged:1")
    updated = ecs.update_service(cluster="local", service="bridged", taskDefinition=awsvpc,
                                 networkConfiguration=_network(local_aws))["service"]
    assert updated["deployments"][0]["taskDefinition"] == awsvpc
    # the seeded service keeps its network configuration: a new awsvpc revision needs none in the request
    assert ecs.update_service(cluster="local", service="web", taskDefinition=_register(ecs, "1.1.0"))["service"]


def test_start_task_of_an_awsvpc_task_definition_without_a_network_configuration_is_refused(local_aws: LocalAWS) -> None:
    ecs, ec2 = local_aws.client("ecs"), local_aws.client("ec2")
    [instance] = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"]
    document = json.dumps({"instanceId": instance["InstanceId"]})
    container_instance = ecs.register_container_instance(cluster="local", instanceIdentityDocument=document)[
        "containerInstance"]["containerInstanceArn"]
    awsvpc = _taskdef(ecs, "worker", "awsvpc")
    _refused(ecs.start_task, "InvalidParameterException", NETWORK_REQUIRED, cluster="local", taskDefinition=awsvpc,
             containerInstances=[container_instance])
    _refused(ecs.start_task, "InvalidParameterException", NETWORK_REQUIRED, cluster="local",
             taskDefinition="worker", containerInstances=[container_instance], networkConfiguration={})
    bridge = _taskdef(ecs, "bridged", "bridge")
    started = ecs.start_task(cluster="local", taskDefinition=bridge, containerInstances=[container_instance])
    assert (len(started["tasks"]), started["failures"]) == (1, [])


def test_launch_type_and_capacity_provider_strategy_are_refused_together(local_aws: LocalAWS) -> None:
    ecs = local_aws.client("ecs")
    common = {"cluster": "local", "taskDefinition": "web", "networkConfiguration": _network(local_aws)}
    ecs.put_cluster_capacity_providers(cluster="local", capacityProviders=["FARGATE", "FARGATE_SPOT"],
                                       defaultCapacityProviderStrategy=[])
    _refused(ecs.run_task, "InvalidParameterException", BOTH, launchType="FARGATE", capacityProviderStrategy=SPOT,
             **common)
    _refused(ecs.create_service, "InvalidParameterException", BOTH, serviceName="api", launchType="EC2",
             capacityProviderStrategy=SPOT, **common)
    assert len(ecs.run_task(capacityProviderStrategy=SPOT, **common)["tasks"]) == 1
    assert len(ecs.run_task(launchType="FARGATE", capacityProviderStrategy=[], **common)["tasks"]) == 1
    created = ecs.create_service(serviceName="api", capacityProviderStrategy=SPOT, **common)["service"]
    assert created["capacityProviderStrategy"] == [{**SPOT[0], "base": 0}]


def test_a_task_definition_has_at_most_ten_containers(local_aws: LocalAWS) -> None:
    ecs = local_aws.client("ecs")
    assert _taskdef(ecs, "ten", "bridge", containers=10).endswith("ten:1")
    _refused(_taskdef, "ClientException", "Too many containers.", ecs=ecs, family="eleven", network_mode="bridge",
             containers=11)
    with pytest.raises(ClientError):
        ecs.describe_task_definition(taskDefinition="eleven")


@pytest.mark.parametrize(("family", "message"), [
    ("f" * 256, "Family is longer than 255 characters."),
    ("web.app", "Family contains invalid characters."),
    ("web app", "Family contains invalid characters."),
    ("web:2", "Family contains invalid characters."),
])
def test_a_family_name_ecs_refuses_is_refused(local_aws: LocalAWS, family: str, message: str) -> None:
    ecs = local_aws.client("ecs")
    _refused(_taskdef, "ClientException", message, ecs=ecs, family=family, network_mode="bridge")
    assert _taskdef(ecs, "f" * 255, "bridge").endswith(f"{'f' * 255}:1")
    assert _taskdef(ecs, "Web_app-2", "bridge").endswith("Web_app-2:1")


@pytest.mark.parametrize(("name", "message"), [
    ("c" * 256, "Container.name is longer than 255 characters."),
    ("my.app", "Container.name contains invalid characters."),
    ("my/app", "Container.name contains invalid characters."),
])
def test_a_container_name_ecs_refuses_is_refused(local_aws: LocalAWS, name: str, message: str) -> None:
    ecs = local_aws.client("ecs")
    _refused(_taskdef, "ClientException", message, ecs=ecs, family="named", network_mode="bridge", name=name)
    assert _taskdef(ecs, "named", "bridge", name="c" * 255).endswith("named:1")
    assert _taskdef(ecs, "named", "bridge", name="My_app-2").endswith("named:2")


def test_subnets_and_security_groups_that_do_not_exist_are_refused(local_aws: LocalAWS) -> None:
    ecs, ec2 = local_aws.client("ecs"), local_aws.client("ec2")
    [subnet] = _network(local_aws)["awsvpcConfiguration"]["subnets"]
    vpc = ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["VpcId"]
    group = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    missing_subnet = ("Error retrieving subnet information for [subnet-0000000a, subnet-0000000b]: The subnet ID "
                      "'subnet-0000000a' does not exist (ErrorCode: InvalidSubnetID.NotFound)")
    missing_group = ("Error retrieving security group information for [sg-0000000a]: The security group "
                     "'sg-0000000a' does not exist (ErrorCode: InvalidGroup.NotFound)")
    cases = [({"subnets": [subnet, "subnet-0000000a", "subnet-0000000b"]}, missing_subnet),
             ({"subnets": [subnet], "securityGroups": [group, "sg-0000000a"]}, missing_group)]
    for awsvpc, message in cases:
        network = {"awsvpcConfiguration": awsvpc}
        _refused(ecs.run_task, "InvalidParameterException", message, cluster="local", taskDefinition="web",
                 networkConfiguration=network)
        _refused(ecs.create_service, "InvalidParameterException", message, cluster="local", serviceName="api",
                 taskDefinition="web", networkConfiguration=network)
        _refused(ecs.update_service, "InvalidParameterException", message, cluster="local", service="web",
                 networkConfiguration=network)
    accepted = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}
    assert len(ecs.run_task(cluster="local", taskDefinition="web", networkConfiguration=accepted)["tasks"]) == 1
    assert ecs.create_service(cluster="local", serviceName="api", taskDefinition="web",
                              networkConfiguration=accepted)["service"]["networkConfiguration"] == accepted
    updated = ecs.update_service(cluster="local", service="web", networkConfiguration=accepted)["service"]
    assert updated["networkConfiguration"] == accepted


@pytest.mark.parametrize("revision", ["latest", "", "1:2", "1.5", "-1", "\u00b2", "\u0661"])  # the last two: Unicode digits
def test_a_revision_that_is_not_a_number_is_refused_as_ecs_refuses_it_not_with_a_500(local_aws: LocalAWS,
                                                                                      revision: str) -> None:
    # moto parses the revision with int() and would answer a 500, which an SDK retries as a fault of AWS.
    ecs = local_aws.client("ecs")
    arn = _taskdef(ecs, "numbered", "bridge")
    message = f"Invalid revision number. Number: {revision}"
    bad = f"{arn.rsplit(':', 1)[0]}:{revision}"
    _refused(ecs.describe_task_definition, "InvalidParameterException", message, taskDefinition=f"numbered:{revision}")
    _refused(ecs.describe_task_definition, "InvalidParameterException", message, taskDefinition=bad, include=["TAGS"])
    _refused(ecs.list_tags_for_resource, "InvalidParameterException", message, resourceArn=bad)
    _refused(ecs.tag_resource, "InvalidParameterException", message, resourceArn=bad, tags=[{"key": "k", "value": "v"}])
    _refused(ecs.untag_resource, "InvalidParameterException", message, resourceArn=bad, tagKeys=["k"])

