"""Where tasks run on LocalAWS over HTTP, as a boto3 client sees it: capacity provider strategies, the EC2 launch
type on registered container instances, the network interface of each awsvpc task and the throttled relaunch
of tasks that fail to start. Time is a FakeClock the test moves, so nothing depends on the machine's speed."""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from module_aws import ModuleAWS

from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.clock import FakeClock

ACCOUNT, REGION = "123456789012", "us-east-1"
SPREAD = [{"capacityProvider": "FARGATE_SPOT", "base": 1, "weight": 3}, {"capacityProvider": "FARGATE", "weight": 1}]
FARGATE = {"requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512"}


def _long_running(local: LocalAWS) -> None:
    # RunTask and StartTask tasks here run until stopped: without a behaviour a one-off task ends as a job does.
    local.set_image_behaviour("busybox", "healthy")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleAWS]:
    with ModuleAWS({"clusters": ["local"]}, base_dir=tmp_path_factory.mktemp("placement"),
                   prepare=_long_running) as aws:
        yield aws


@pytest.fixture
def aws(shared: ModuleAWS) -> tuple[LocalAWS, FakeClock]:
    """The module's LocalAWS (its clients built once) with the cluster ``local``, and its clock."""
    shared.fresh()
    return shared.local, shared.clock


def _advance(aws: LocalAWS, clock: FakeClock, seconds: float, step: float = 0.5) -> None:
    """Move simulated time; each step is seen by a request, which advances the engine to it."""
    ecs = aws.client("ecs")
    for _ in range(round(seconds / step)):
        clock.advance(step)
        ecs.list_clusters()
        ecs.list_tasks(cluster="local")


def _subnet(aws: LocalAWS) -> dict[str, Any]:
    ec2 = aws.client("ec2")
    return dict(ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"][0])


def _network(aws: LocalAWS) -> dict[str, Any]:
    return {"awsvpcConfiguration": {"subnets": [_subnet(aws)["SubnetId"]]}}


def _taskdef(ecs: Any, family: str, *, image: str = "busybox", extra: dict[str, Any] | None = None,
             **container: Any) -> str:
    definition = {"name": "app", "image": image, "memory": 128, "essential": True, **container}
    answer = ecs.register_task_definition(family=family, containerDefinitions=[definition], **(extra or {}))
    return str(answer["taskDefinition"]["taskDefinitionArn"])


def _instance(aws: LocalAWS) -> str:
    [instance] = aws.client("ec2").run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"]
    registered = aws.client("ecs").register_container_instance(
        cluster="local", instanceIdentityDocument=json.dumps({"instanceId": instance["InstanceId"]}))
    return str(registered["containerInstance"]["containerInstanceArn"])


def _remaining(ecs: Any, instance: str) -> dict[str, Any]:
    [found] = ecs.describe_container_instances(cluster="local", containerInstances=[instance])["containerInstances"]
    left: dict[str, Any] = {r["name"]: r.get("stringSetValue", r["integerValue"]) for r in found["remainingResources"]}
    left["running"] = found["runningTasksCount"]
    return left


def _refused(call: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as error:
        call(**params)
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


def test_the_clusters_default_strategy_spreads_tasks_and_services_show_it(aws: tuple[LocalAWS, FakeClock]) -> None:
    local, clock = aws
    ecs = local.client("ecs")
    ecs.create_cluster(clusterName="spot", capacityProviders=["FARGATE", "FARGATE_SPOT"],
                       defaultCapacityProviderStrategy=SPREAD)
    arn = _taskdef(ecs, "web", extra=FARGATE)
    answer = ecs.run_task(cluster="spot", taskDefinition=arn, count=5, networkConfiguration=_network(local))
    assert Counter(t["capacityProviderName"] for t in answer["tasks"]) == {"FARGATE_SPOT": 4, "FARGATE": 1}
    assert not any("launchType" in t for t in answer["tasks"])
    service = ecs.create_service(cluster="spot", serviceName="web", taskDefinition=arn, desiredCount=2,
                                 networkConfiguration=_network(local))["service"]
    expected = [{"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 1},
                {"capacityProvider": "FARGATE", "weight": 1, "base": 0}]
    assert service["capacityProviderStrategy"] == expected and "launchType" not in service
    assert service["deployments"][0]["capacityProviderStrategy"] == expected

    code, message = _refused(ecs.run_task, cluster="local", taskDefinition=arn, networkConfiguration=_network(local),
                             capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT"}])
    assert code == "InvalidParameterException"
    assert message == ("The specified capacity provider strategy cannot contain a capacity provider that is not "
                       "associated with the cluster. Associate the capacity provider with the cluster or specify a "
                       "valid capacity provider and try again.")
    ecs.put_cluster_capacity_providers(cluster="local", capacityProviders=["FARGATE_SPOT"],
                                       defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT"}])
    [task] = ecs.run_task(cluster="local", taskDefinition=arn, networkConfiguration=_network(local))["tasks"]
    assert task["capacityProviderName"] == "FARGATE_SPOT"
    _advance(local, clock, 2)
    assert ecs.describe_tasks(cluster="local", tasks=[task["taskArn"]])["tasks"][0]["lastStatus"] == "RUNNING"


def test_ec2_tasks_use_container_instance_resources_and_fail_as_ecs_does(aws: tuple[LocalAWS, FakeClock]) -> None:
    local, clock = aws
    ecs = local.client("ecs")
    bridge = _taskdef(ecs, "web", cpu=1024, memory=3000, portMappings=[{"containerPort": 80, "hostPort": 8080}])
    assert _refused(ecs.run_task, cluster="local", taskDefinition=bridge) == (
        "InvalidParameterException", "No Container Instances were found in your cluster.")
    instance = _instance(local)
    full = _remaining(ecs, instance)
    [task] = ecs.run_task(cluster="local", taskDefinition=bridge, launchType="EC2")["tasks"]
    assert task["containerInstanceArn"] == instance
    taken = _remaining(ecs, instance)
    assert (taken["CPU"], taken["MEMORY"], taken["running"]) == (full["CPU"] - 1024, full["MEMORY"] - 3000, 1)
    assert "8080" in taken["PORTS"] and "8080" not in full["PORTS"]

    again = ecs.run_task(cluster="local", taskDefinition=bridge, count=2)
    assert again["tasks"] == [] and again["failures"] == [{"arn": instance, "reason": "RESOURCE:PORTS"}]
    big = _taskdef(ecs, "big", memory=5000)
    assert ecs.run_task(cluster="local", taskDefinition=big)["failures"] == [{"arn": instance,
                                                                              "reason": "RESOURCE:MEMORY"}]
    assert _refused(ecs.deregister_container_instance, cluster="local", containerInstance=instance)[0] == \
        "InvalidParameterException"  # it runs a task

    ecs.stop_task(cluster="local", task=task["taskArn"])
    _advance(local, clock, 2)
    assert _remaining(ecs, instance) == full


def test_a_service_that_cannot_place_its_task_says_so(aws: tuple[LocalAWS, FakeClock]) -> None:
    local, clock = aws
    ecs = local.client("ecs")
    instance = _instance(local)
    arn = _taskdef(ecs, "web", cpu=3000)
    ecs.create_service(cluster="local", serviceName="web", taskDefinition=arn, desiredCount=2, launchType="EC2")
    _advance(local, clock, 2)
    service = ecs.describe_services(cluster="local", services=["web"])["services"][0]
    assert service["runningCount"] == 1
    messages = [e["message"] for e in service["events"]]
    assert ("(service web) was unable to place a task because no container instance met all of its requirements. "
            f"The closest matching container-instance {instance.rsplit('/', 1)[1]} has insufficient CPU units "
            "available.") in messages
    _instance(local)  # a second instance joins: the back-off's next attempt places the task
    _advance(local, clock, 25)
    assert ecs.describe_services(cluster="local", services=["web"])["services"][0]["runningCount"] == 2


def test_start_task_runs_tasks_every_client_sees(aws: tuple[LocalAWS, FakeClock]) -> None:
    local, clock = aws
    ecs = local.client("ecs")
    first, second = _instance(local), _instance(local)
    arn = _taskdef(ecs, "worker")
    started = ecs.start_task(cluster="local", taskDefinition=arn, containerInstances=[first, second],
                             startedBy="ci")
    assert [t["containerInstanceArn"] for t in started["tasks"]] == [first, second]
    _advance(local, clock, 2)
    listed = ecs.list_tasks(cluster="local", startedBy="ci")["taskArns"]
    assert sorted(listed) == sorted(t["taskArn"] for t in started["tasks"])
    assert ecs.list_tasks(cluster="local", containerInstance=second)["taskArns"] == [started["tasks"][1]["taskArn"]]
    described = ecs.describe_tasks(cluster="local", tasks=listed)["tasks"]
    assert {t["lastStatus"] for t in described} == {"RUNNING"}
    missing = ecs.start_task(cluster="local", taskDefinition=arn, containerInstances=["nope"])
    assert missing["failures"] == [{"arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/local/nope",
                                    "reason": "MISSING"}]
    vpc = _taskdef(ecs, "vpc", extra={"networkMode": "awsvpc"})
    [task] = ecs.start_task(cluster="local", taskDefinition=vpc, containerInstances=[first],
                            networkConfiguration=_network(local))["tasks"]
    assert task["attachments"][0]["type"] == "ElasticNetworkInterface"


def test_an_awsvpc_task_has_an_ec2_network_interface_while_it_runs(aws: tuple[LocalAWS, FakeClock]) -> None:
    local, clock = aws
    ecs, ec2 = local.client("ecs"), local.client("ec2")
    subnet = _subnet(local)
    arn = _taskdef(ecs, "web", extra=FARGATE)
    [task] = ecs.run_task(cluster="local", taskDefinition=arn, launchType="FARGATE",
                          networkConfiguration=_network(local))["tasks"]
    _advance(local, clock, 2)
    [described] = ecs.describe_tasks(cluster="local", tasks=[task["taskArn"]])["tasks"]
    [attachment] = described["attachments"]
    details = {d["name"]: d["value"] for d in attachment["details"]}
    assert (attachment["type"], attachment["status"], details["subnetId"]) == (
        "ElasticNetworkInterface", "ATTACHED", subnet["SubnetId"])
    assert ipaddress.ip_address(details["privateIPv4Address"]) in ipaddress.ip_network(subnet["CidrBlock"])
    [interface] = ec2.describe_network_interfaces(NetworkInterfaceIds=[details["networkInterfaceId"]])[
        "NetworkInterfaces"]
    assert (interface["Status"], interface["PrivateIpAddress"], interface["MacAddress"]) == (
        "in-use", details["privateIPv4Address"], details["macAddress"])
    ecs.stop_task(cluster="local", task=task["taskArn"])
    _advance(local, clock, 2)
    with pytest.raises(ClientError) as error:
        ec2.describe_network_interfaces(NetworkInterfaceIds=[details["networkInterfaceId"]])
    assert error.value.response["Error"]["Code"] == "InvalidNetworkInterfaceID.NotFound"


def test_tasks_that_keep_failing_to_start_are_relaunched_with_back_off(aws: tuple[LocalAWS, FakeClock]) -> None:
    local, clock = aws
    ecs = local.client("ecs")
    local.set_image_behaviour("broken:1", "pull-error")
    arn = _taskdef(ecs, "web", image="broken:1", extra=FARGATE)
    ecs.create_service(cluster="local", serviceName="web", taskDefinition=arn, desiredCount=1, launchType="FARGATE",
                       networkConfiguration=_network(local))
    _advance(local, clock, 15)
    tasks = ecs.list_tasks(cluster="local", serviceName="web", desiredStatus="STOPPED")["taskArns"]
    tasks += ecs.list_tasks(cluster="local", serviceName="web")["taskArns"]
    assert len(tasks) == 2  # not the 20 or so of a relaunch at every failure
    events = [e["message"] for e in ecs.describe_services(cluster="local", services=["web"])["services"][0]["events"]]
    assert "(service web) is unable to consistently start tasks successfully." in events
