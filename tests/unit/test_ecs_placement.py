"""Where the rollout engine runs tasks, as ECS does where moto takes shortcuts: capacity provider strategies
(``ecs/capacity.py``), the EC2 launch type on registered container instances (``ecs/placement.py``,
``ecs/launching.py``), the network interface of each awsvpc task (``ecs/network.py``) and the service throttle
logic (``ecs/throttle.py``); driven through ``RolloutEngine.handle`` on a fake clock, against moto's backends."""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from fakes import default_network
from moto import mock_aws
from moto.ecs.models import ecs_backends

from pytest_ecsdeploy.emulator.clock import FakeClock, Timings
from pytest_ecsdeploy.emulator.ecs import capacity, placement, throttle
from pytest_ecsdeploy.emulator.ecs.exceptions import EngineError
from pytest_ecsdeploy.emulator.ecs.responses import RolloutEngine

A, R = "123456789012", "us-east-1"
ECR = f"{A}.dkr.ecr.{R}.amazonaws.com"
SPREAD = [{"capacityProvider": "FARGATE_SPOT", "base": 1, "weight": 2}, {"capacityProvider": "FARGATE", "weight": 1}]


class Env:
    """An engine on a fake clock over moto, with boto3 clients of moto's ECS and EC2 for what the engine does
    not answer (clusters, container instances, network interfaces)."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.engine = RolloutEngine(clock=self.clock, seed=11)
        self.ecs = boto3.client("ecs", region_name=R)
        self.ec2 = boto3.client("ec2", region_name=R)

    def call(self, action: str, **params: Any) -> dict[str, Any]:
        return self.engine.handle(action, A, R, params)

    def refused(self, action: str, **params: Any) -> EngineError:
        with pytest.raises(EngineError) as error:
            self.call(action, **params)
        return error.value

    def taskdef(self, family: str, *, mode: str = "bridge", cpu: int = 256, memory: int = 256,
                ports: list[dict[str, Any]] | None = None, image: str = "web:1", fargate: bool = False) -> str:
        container = {"name": "app", "image": f"{ECR}/{image}", "cpu": cpu, "memory": memory, "essential": True,
                     "portMappings": ports or []}
        extra: dict[str, Any] = {"requires_compatibilities": ["FARGATE"], "cpu": "256", "memory": "512"} \
            if fargate else {"requires_compatibilities": ["EC2"]}
        registered = ecs_backends[A][R].register_task_definition(family, [container], network_mode=mode, **extra)
        return str(registered.arn)

    def instance(self, cluster: str = "local") -> str:
        """A new EC2 instance registered as a container instance of ``cluster``; its ID."""
        reservation = self.ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)
        document = json.dumps({"instanceId": reservation["Instances"][0]["InstanceId"]})
        arn = self.ecs.register_container_instance(cluster=cluster, instanceIdentityDocument=document)
        return str(arn["containerInstance"]["containerInstanceArn"]).rsplit("/", 1)[1]

    def remaining(self, instance_id: str, cluster: str = "local") -> tuple[int, int, set[str], int]:
        """CPU, memory and ports left, and running tasks, as DescribeContainerInstances shows them."""
        [found] = self.ecs.describe_container_instances(cluster=cluster, containerInstances=[instance_id])[
            "containerInstances"]
        left = {r["name"]: r for r in found["remainingResources"]}
        return (left["CPU"]["integerValue"], left["MEMORY"]["integerValue"], set(left["PORTS"]["stringSetValue"]),
                found["runningTasksCount"])

    def run(self, seconds: float, step: float = 0.1) -> None:
        for _ in range(round(seconds / step)):
            self.clock.advance(step)
            self.engine.tick()

    def tasks(self, cluster: str = "local", **filters: Any) -> list[dict[str, Any]]:
        arns = [arn for desired in ("RUNNING", "STOPPED")
                for arn in self.call("ListTasks", cluster=cluster, desiredStatus=desired, **filters)["taskArns"]]
        return self.call("DescribeTasks", cluster=cluster, tasks=arns)["tasks"] if arns else []

    def service(self, name: str = "web") -> dict[str, Any]:
        return self.call("DescribeServices", cluster="local", services=[name])["services"][0]  # type: ignore[no-any-return]

    def messages(self, name: str = "web") -> list[str]:
        return [e["message"] for e in reversed(self.service(name)["events"])]


@pytest.fixture
def env() -> Iterator[Env]:
    with mock_aws():
        environment = Env()
        environment.ecs.create_cluster(clusterName="local")
        yield environment
        environment.engine.close()


# Capacity provider strategies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("strategy", "count", "expected"), [
    (SPREAD, 7, {"FARGATE_SPOT": 5, "FARGATE": 2}),
    ([{"capacityProvider": "FARGATE", "base": 3, "weight": 0}, {"capacityProvider": "FARGATE_SPOT", "weight": 1}],
     5, {"FARGATE": 3, "FARGATE_SPOT": 2}),
    ([{"capacityProvider": "FARGATE", "weight": 1}, {"capacityProvider": "FARGATE_SPOT", "weight": 1}], 4,
     {"FARGATE": 2, "FARGATE_SPOT": 2}),
    ([{"capacityProvider": "FARGATE", "weight": 0}, {"capacityProvider": "FARGATE_SPOT", "weight": 0}], 3,
     {"FARGATE": 3}),
    ([{"capacityProvider": "FARGATE", "base": 10, "weight": 1}], 2, {"FARGATE": 2}),
])
def test_tasks_go_to_the_base_first_then_by_weight(strategy: list[dict[str, Any]], count: int,
                                                  expected: dict[str, int]) -> None:
    assert Counter(capacity.spread(capacity.parse(strategy), count)) == expected


def test_a_service_that_has_tasks_already_continues_the_spread() -> None:
    strategy = capacity.parse(SPREAD)
    assert list(capacity.spread(strategy, 3, {"FARGATE_SPOT": 3, "FARGATE": 0})) == ["FARGATE", "FARGATE_SPOT",
                                                                                      "FARGATE_SPOT"]


@pytest.mark.parametrize(("strategy", "message"), [
    ([{"capacityProvider": "FARGATE_SPOT", "weight": 1}], capacity.NOT_ASSOCIATED),
    ([{"capacityProvider": "arn:aws:ecs:us-east-1:123456789012:capacity-provider/other"}], capacity.NOT_ASSOCIATED),
    ([{"capacityProvider": "FARGATE", "base": 1}, {"capacityProvider": "asg", "base": 1}], capacity.ONE_BASE),
    ([{"capacityProvider": "FARGATE", "weight": 1}, {"capacityProvider": "asg", "weight": 1}], capacity.MIXED),
    ([{"capacityProvider": "FARGATE", "weight": 1001}], "weight must be an integer between 0 and 1000."),
    ([{"capacityProvider": "FARGATE", "base": -1}], "base must be an integer between 0 and 100000."),
    ([{"weight": 1}], "capacityProvider must be specified in each capacityProviderStrategy item."),
    ([], None),  # empty: no strategy, the launch type applies
])
def test_a_strategy_is_refused_as_ecs_refuses_it(env: Env, strategy: list[dict[str, Any]],
                                                 message: str | None) -> None:
    ecs_backends[A][R].create_capacity_provider("asg", {"autoScalingGroupArn": "arn:asg"}, None)
    env.ecs.put_cluster_capacity_providers(cluster="local", capacityProviders=["FARGATE", "asg"],
                                           defaultCapacityProviderStrategy=[])
    arn = env.taskdef("web", mode="awsvpc", fargate=True)
    network = default_network(A, R)
    for action, params in (("RunTask", {}), ("CreateService", {"serviceName": "web", "desiredCount": 1})):
        request = {"cluster": "local", "taskDefinition": arn, "networkConfiguration": network,
                   "capacityProviderStrategy": strategy, **params}
        if message is None:
            assert env.call(action, **request)
            continue
        error = env.refused(action, **request)
        assert (error.code, error.message) == ("InvalidParameterException", message)


def test_update_service_refuses_a_provider_the_cluster_does_not_have(env: Env) -> None:
    env.ecs.put_cluster_capacity_providers(cluster="local", capacityProviders=["FARGATE"],
                                           defaultCapacityProviderStrategy=[])
    env.call("CreateService", cluster="local", serviceName="web", taskDefinition=env.taskdef("web", mode="awsvpc"),
             desiredCount=0, networkConfiguration=default_network(A, R),
             capacityProviderStrategy=[{"capacityProvider": "FARGATE"}])
    error = env.refused("UpdateService", cluster="local", service="web",
                        capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT"}])
    assert (error.code, error.message) == ("InvalidParameterException", capacity.NOT_ASSOCIATED)
    before = env.service()["deployments"][0]["id"]
    env.call("UpdateService", cluster="local", service="web", capacityProviderStrategy=[{"capacityProvider": "FARGATE"}])
    assert env.service()["deployments"][0]["id"] == before  # the same strategy: no new deployment
    env.call("UpdateService", cluster="local", service="web", capacityProviderStrategy=[{"capacityProvider": "FARGATE",
                                                                                          "weight": 2}])
    primary = env.service()["deployments"][0]
    assert primary["id"] != before
    assert primary["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 2, "base": 0}]


def test_without_launch_type_or_strategy_the_clusters_default_strategy_runs_the_tasks(env: Env) -> None:
    env.ecs.put_cluster_capacity_providers(cluster="local", capacityProviders=["FARGATE", "FARGATE_SPOT"],
                                           defaultCapacityProviderStrategy=SPREAD)
    arn = env.taskdef("web", mode="awsvpc", fargate=True)
    answer = env.call("RunTask", cluster="local", taskDefinition=arn, count=7,
                      networkConfiguration=default_network(A, R))
    assert answer["failures"] == []
    assert Counter(t["capacityProviderName"] for t in answer["tasks"]) == {"FARGATE_SPOT": 5, "FARGATE": 2}
    assert not any("launchType" in t or "containerInstanceArn" in t for t in answer["tasks"])
    assert all(t["platformVersion"] == "1.4.0" for t in answer["tasks"])  # still Fargate tasks

    [explicit] = env.call("RunTask", cluster="local", taskDefinition=arn, launchType="FARGATE",
                          networkConfiguration=default_network(A, R))["tasks"]
    assert explicit["launchType"] == "FARGATE" and "capacityProviderName" not in explicit


def test_a_service_shows_its_strategy_and_spreads_its_tasks(env: Env) -> None:
    env.ecs.put_cluster_capacity_providers(cluster="local", capacityProviders=["FARGATE", "FARGATE_SPOT"],
                                           defaultCapacityProviderStrategy=SPREAD)
    arn = env.taskdef("web", mode="awsvpc", fargate=True)
    created = env.call("CreateService", cluster="local", serviceName="web", taskDefinition=arn, desiredCount=4,
                       networkConfiguration=default_network(A, R))["service"]
    resolved = [{"capacityProvider": "FARGATE_SPOT", "weight": 2, "base": 1},
                {"capacityProvider": "FARGATE", "weight": 1, "base": 0}]
    assert created["capacityProviderStrategy"] == resolved and "launchType" not in created
    assert created["deployments"][0]["capacityProviderStrategy"] == resolved
    assert "launchType" not in created["deployments"][0]
    env.run(3)
    tasks = env.tasks(serviceName="web")
    assert Counter(t["capacityProviderName"] for t in tasks) == {"FARGATE_SPOT": 3, "FARGATE": 1}

    own = [{"capacityProvider": "FARGATE", "weight": 1}]
    other = env.call("CreateService", cluster="local", serviceName="api", taskDefinition=arn, desiredCount=1,
                     networkConfiguration=default_network(A, R), capacityProviderStrategy=own)["service"]
    assert other["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]
    launched = env.call("CreateService", cluster="local", serviceName="job", taskDefinition=arn, desiredCount=1,
                        networkConfiguration=default_network(A, R), launchType="FARGATE")["service"]
    assert launched["launchType"] == "FARGATE" and "capacityProviderStrategy" not in launched


def test_an_auto_scaling_group_provider_places_its_tasks_on_container_instances(env: Env) -> None:
    ecs_backends[A][R].create_capacity_provider("asg", {"autoScalingGroupArn": "arn:asg"}, None)
    env.ecs.put_cluster_capacity_providers(cluster="local", capacityProviders=["asg"],
                                           defaultCapacityProviderStrategy=[{"capacityProvider": "asg"}])
    arn = env.taskdef("web")
    error = env.refused("RunTask", cluster="local", taskDefinition=arn)
    assert (error.code, error.message) == ("InvalidParameterException", placement.NO_INSTANCES)
    instance = env.instance()
    [task] = env.call("RunTask", cluster="local", taskDefinition=arn)["tasks"]
    assert task["capacityProviderName"] == "asg" and task["containerInstanceArn"].endswith(instance)
    assert "launchType" not in task


# The EC2 launch type ---------------------------------------------------------------------------------------------


def test_an_ec2_task_takes_its_resources_from_its_instance_until_it_stops(env: Env) -> None:
    env.engine.set_image_behaviour("web:1", "healthy")  # runs until stopped (a one-off task would end as a job)
    instance = env.instance()
    full = env.remaining(instance)
    arn = env.taskdef("web", cpu=1024, memory=2048, ports=[{"containerPort": 80, "hostPort": 8080}])
    [task] = env.call("RunTask", cluster="local", taskDefinition=arn, launchType="EC2")["tasks"]
    assert task["containerInstanceArn"].endswith(f"/{instance}") and task["launchType"] == "EC2"
    assert env.remaining(instance) == (full[0] - 1024, full[1] - 2048, full[2] | {"8080"}, 1)
    assert env.call("ListTasks", cluster="local", containerInstance=instance)["taskArns"] == [task["taskArn"]]
    assert env.call("ListTasks", cluster="local", containerInstance="other")["taskArns"] == []
    env.run(2)
    assert env.remaining(instance)[3] == 1  # still running
    env.call("StopTask", cluster="local", task=task["taskArn"])
    env.run(2)
    assert env.tasks()[0]["lastStatus"] == "STOPPED"
    assert env.remaining(instance) == full


@pytest.mark.parametrize(("definition", "reason"), [
    ({"cpu": 4097}, "RESOURCE:CPU"),
    ({"memory": 9000}, "RESOURCE:MEMORY"),
    ({"ports": [{"containerPort": 22, "hostPort": 22}]}, "RESOURCE:PORTS"),  # the agent's own ports are taken
    ({"ports": [{"containerPort": 51678}], "mode": "host"}, "RESOURCE:PORTS"),  # host mode: the container port
    ({"cpu": 8000, "memory": 9000}, "RESOURCE:CPU"),  # the first resource lacking, in ECS's order
])
def test_run_task_fails_with_the_resource_no_instance_has(env: Env, definition: dict[str, Any], reason: str) -> None:
    instances = [env.instance(), env.instance()]
    answer = env.call("RunTask", cluster="local", taskDefinition=env.taskdef("web", **definition), count=3)
    assert answer["tasks"] == []
    assert sorted(answer["failures"], key=lambda f: f["arn"]) == sorted(
        ({"arn": f"arn:aws:ecs:{R}:{A}:container-instance/local/{i}", "reason": reason} for i in instances),
        key=lambda f: f["arn"])
    assert all(env.remaining(i)[3] == 0 for i in instances)


def test_host_ports_conflict_between_tasks_but_not_in_awsvpc_or_on_dynamic_ports(env: Env) -> None:
    instance = env.instance()
    fixed = env.taskdef("fixed", ports=[{"containerPort": 80, "hostPort": 8080}])
    answer = env.call("RunTask", cluster="local", taskDefinition=fixed, count=2)
    assert len(answer["tasks"]) == 1
    assert answer["failures"] == [{"arn": f"arn:aws:ecs:{R}:{A}:container-instance/local/{instance}",
                                   "reason": "RESOURCE:PORTS"}]
    dynamic = env.taskdef("dynamic", ports=[{"containerPort": 80, "hostPort": 0}, {"containerPort": 81}])
    assert len(env.call("RunTask", cluster="local", taskDefinition=dynamic, count=3)["tasks"]) == 3
    vpc = env.taskdef("vpc", mode="awsvpc", ports=[{"containerPort": 8080}])
    assert len(env.call("RunTask", cluster="local", taskDefinition=vpc, count=2, launchType="EC2",
                        networkConfiguration=default_network(A, R))["tasks"]) == 2


def test_draining_instances_take_no_task_and_tasks_spread_over_instances(env: Env) -> None:
    first, second = env.instance(), env.instance()
    arn = env.taskdef("web", cpu=1024)
    placed = env.call("RunTask", cluster="local", taskDefinition=arn, count=4)["tasks"]
    assert Counter(t["containerInstanceArn"].rsplit("/", 1)[1] for t in placed) == {first: 2, second: 2}
    env.ecs.update_container_instances_state(cluster="local", containerInstances=[second], status="DRAINING")
    answer = env.call("RunTask", cluster="local", taskDefinition=arn, count=3)
    assert [t["containerInstanceArn"].rsplit("/", 1)[1] for t in answer["tasks"]] == [first, first]
    assert answer["failures"] == [{"arn": f"arn:aws:ecs:{R}:{A}:container-instance/local/{first}",
                                   "reason": "RESOURCE:CPU"}]


def test_a_service_that_cannot_place_a_task_says_so_and_places_it_once_resources_free_up(env: Env) -> None:
    instance = env.instance()
    hog = env.taskdef("hog", cpu=4096)
    [big] = env.call("RunTask", cluster="local", taskDefinition=hog)["tasks"]
    env.call("CreateService", cluster="local", serviceName="web", taskDefinition=env.taskdef("web", cpu=512),
             desiredCount=1, launchType="EC2")
    unable = ("(service web) was unable to place a task because no container instance met all of its requirements. "
              f"The closest matching container-instance {instance} has insufficient CPU units available.")
    assert env.messages()[-1] == unable
    assert env.service()["pendingCount"] == 0
    env.call("StopTask", cluster="local", task=big["taskArn"])
    env.run(12)
    [task] = env.tasks(serviceName="web")
    assert task["lastStatus"] == "RUNNING" and task["containerInstanceArn"].endswith(instance)
    assert env.service()["deployments"][0]["rolloutState"] == "COMPLETED"


def test_a_service_on_ec2_in_a_cluster_without_instances_cannot_place_its_tasks(env: Env) -> None:
    env.call("CreateService", cluster="local", serviceName="web", taskDefinition=env.taskdef("web"), desiredCount=2,
             launchType="EC2")
    assert env.messages() == ["(service web) was unable to place a task because no container instance met all of "
                              "its requirements."]
    env.instance()
    env.run(15)
    assert [t["lastStatus"] for t in env.tasks(serviceName="web")] == ["RUNNING", "RUNNING"]


def test_start_task_starts_one_task_on_each_instance_named(env: Env) -> None:
    first, second = env.instance(), env.instance()
    arn = env.taskdef("web", ports=[{"containerPort": 80, "hostPort": 8080}])
    answer = env.call("StartTask", cluster="local", taskDefinition=arn,
                      containerInstances=[first, f"arn:aws:ecs:{R}:{A}:container-instance/local/{second}", "ghost"])
    assert [t["containerInstanceArn"].rsplit("/", 1)[1] for t in answer["tasks"]] == [first, second]
    assert answer["failures"] == [{"arn": f"arn:aws:ecs:{R}:{A}:container-instance/local/ghost", "reason": "MISSING"}]
    listed = env.call("ListTasks", cluster="local")["taskArns"]
    assert sorted(listed) == sorted(t["taskArn"] for t in answer["tasks"])
    again = env.call("StartTask", cluster="local", taskDefinition=arn, containerInstances=[first])
    assert again["tasks"] == [] and again["failures"][0]["reason"] == "RESOURCE:PORTS"
    for bad in ([first] * 11, "nope"):
        assert env.refused("StartTask", cluster="local", taskDefinition=arn, containerInstances=bad).code == \
            "InvalidParameterException"
    error = env.refused("StartTask", cluster="local", taskDefinition=arn, containerInstances=[])
    assert (error.code, error.message) == ("ClientException", "Container Instances cannot be empty.")


def test_start_task_honours_the_network_configuration_of_awsvpc(env: Env) -> None:
    instance = env.instance()
    arn = env.taskdef("vpc", mode="awsvpc")
    error = env.refused("StartTask", cluster="local", taskDefinition=arn, containerInstances=[instance])
    assert error.message == "Network Configuration must be provided when networkMode 'awsvpc' is specified."
    [task] = env.call("StartTask", cluster="local", taskDefinition=arn, containerInstances=[instance],
                      networkConfiguration=default_network(A, R))["tasks"]
    assert task["attachments"][0]["type"] == "ElasticNetworkInterface"
    assert env.call("DescribeTasks", cluster="local", tasks=[task["taskArn"]])["tasks"][0]["taskArn"] == task["taskArn"]


# Network interfaces ---------------------------------------------------------------------------------------------


def test_an_awsvpc_task_has_its_own_network_interface_while_it_runs(env: Env) -> None:
    vpc = env.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = env.ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.4.0/24")["Subnet"]["SubnetId"]
    group = env.ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    env.engine.set_image_behaviour("web:1", "healthy")  # runs until stopped (a one-off task would end as a job)
    arn = env.taskdef("web", mode="awsvpc", fargate=True)
    network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}
    [task] = env.call("RunTask", cluster="local", taskDefinition=arn, networkConfiguration=network)["tasks"]
    [attachment] = task["attachments"]
    details = {d["name"]: d["value"] for d in attachment["details"]}
    assert attachment["type"] == "ElasticNetworkInterface" and attachment["status"] == "PRECREATED"
    assert [d["name"] for d in attachment["details"]] == ["subnetId", "networkInterfaceId", "macAddress",
                                                          "privateDnsName", "privateIPv4Address"]
    assert details["subnetId"] == subnet
    assert ipaddress.ip_address(details["privateIPv4Address"]) in ipaddress.ip_network("10.9.4.0/24")
    assert details["privateDnsName"] == f"ip-{details['privateIPv4Address'].replace('.', '-')}.ec2.internal"
    assert task["containers"][0]["networkInterfaces"] == [{"attachmentId": attachment["id"],
                                                           "privateIpv4Address": details["privateIPv4Address"]}]
    [interface] = env.ec2.describe_network_interfaces(NetworkInterfaceIds=[details["networkInterfaceId"]])[
        "NetworkInterfaces"]
    assert (interface["SubnetId"], interface["PrivateIpAddress"]) == (subnet, details["privateIPv4Address"])
    assert interface["MacAddress"] == details["macAddress"] and interface["Groups"][0]["GroupId"] == group
    assert interface["Description"] == f"arn:aws:ecs:{R}:{A}:attachment/{attachment['id']}"
    env.run(2)
    running = env.tasks()[0]
    assert running["lastStatus"] == "RUNNING" and running["attachments"][0]["status"] == "ATTACHED"
    [interface] = env.ec2.describe_network_interfaces(NetworkInterfaceIds=[details["networkInterfaceId"]])[
        "NetworkInterfaces"]
    assert interface["Status"] == "in-use"

    env.call("StopTask", cluster="local", task=task["taskArn"])
    env.run(2)
    assert env.tasks()[0]["attachments"][0]["status"] == "DELETED"
    with pytest.raises(ClientError) as error:
        env.ec2.describe_network_interfaces(NetworkInterfaceIds=[details["networkInterfaceId"]])
    assert error.value.response["Error"]["Code"] == "InvalidNetworkInterfaceID.NotFound"


def test_no_two_live_tasks_share_an_address(env: Env) -> None:
    vpc = env.ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnet = env.ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/28")["Subnet"]["SubnetId"]  # 11 addresses free
    arn = env.taskdef("web", mode="awsvpc", fargate=True)
    network = {"awsvpcConfiguration": {"subnets": [subnet]}}
    tasks = [t for _ in range(2) for t in env.call("RunTask", cluster="local", taskDefinition=arn, count=5,
                                                      networkConfiguration=network)["tasks"]]
    addresses = [t["containers"][0]["networkInterfaces"][0]["privateIpv4Address"] for t in tasks]
    assert len(set(addresses)) == 10
    assert all(ipaddress.ip_address(a) in list(ipaddress.ip_network("10.7.1.0/28").hosts())[3:] for a in addresses)


def test_a_services_tasks_get_interfaces_spread_over_its_subnets_and_lose_them_when_replaced(env: Env) -> None:
    subnets = [s["SubnetId"] for s in env.ec2.describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]]
    arn = env.taskdef("web", mode="awsvpc", fargate=True)
    env.call("CreateService", cluster="local", serviceName="web", taskDefinition=arn, desiredCount=6,
             networkConfiguration={"awsvpcConfiguration": {"subnets": subnets}})
    env.run(3)
    first = {d["value"] for t in env.tasks() for d in t["attachments"][0]["details"] if d["name"] == "subnetId"}
    assert len(first) > 1 and first <= set(subnets)
    interfaces = {i["NetworkInterfaceId"] for i in env.ec2.describe_network_interfaces()["NetworkInterfaces"]}
    ids = {d["value"] for t in env.tasks() for d in t["attachments"][0]["details"] if d["name"] == "networkInterfaceId"}
    assert len(ids) == 6 and ids <= interfaces
    env.call("UpdateService", cluster="local", service="web", desiredCount=0)
    env.run(3)
    left = {i["NetworkInterfaceId"] for i in env.ec2.describe_network_interfaces()["NetworkInterfaces"]}
    assert not ids & left


# The service throttle logic ----------------------------------------------------------------------------------------


def test_the_relaunch_delay_doubles_up_to_27_minutes() -> None:
    timings = Timings()
    delays = [throttle.delay(n, timings) for n in range(0, 14)]
    assert delays[:5] == [0.0, 10.0, 20.0, 40.0, 80.0]
    assert delays[-1] == 27 * 60 and max(delays) == 27 * 60 and delays == sorted(delays)
    assert throttle.delay(10_000, timings) == 27 * 60


def _launches(env: Env) -> list[float]:
    return sorted(t["createdAt"] for t in env.tasks(serviceName="web"))


def test_tasks_that_keep_failing_to_start_are_relaunched_less_and_less_often(env: Env) -> None:
    env.engine.set_image_behaviour("web:1", "pull-error")
    arn = env.taskdef("web", mode="awsvpc", fargate=True)
    env.call("CreateService", cluster="local", serviceName="web", taskDefinition=arn, desiredCount=1,
             networkConfiguration=default_network(A, R))
    env.run(15)
    assert len(_launches(env)) == 2  # at 0, then 10 s after the first failure; today's loop made about 20
    unable = "(service web) is unable to consistently start tasks successfully."
    assert env.messages().count(unable) == 1
    env.run(7200, step=5)
    launches = _launches(env)
    gaps = [b - a for a, b in zip(launches, launches[1:], strict=False)]
    assert gaps == sorted(gaps) and 27 * 60 <= gaps[-1] <= 27 * 60 + 10
    assert env.messages().count(unable) == 1

    good = env.taskdef("web", mode="awsvpc", fargate=True, image="web:2")  # a new revision ends the throttling
    env.call("UpdateService", cluster="local", service="web", taskDefinition=good)
    env.run(3)
    assert env.service()["deployments"][0]["rolloutState"] == "COMPLETED"
    env.engine.set_image_behaviour("web:2", "pull-error")
    env.call("UpdateService", cluster="local", service="web", forceNewDeployment=True)
    env.run(15)
    assert env.messages().count(unable) == 2  # a new run of failures throttles, and says so, again


@pytest.mark.parametrize("after", [0.0, 1.5])  # on ECS a command that exits at once has run: its task was RUNNING
def test_containers_that_exit_are_not_throttled(env: Env, after: float) -> None:
    env.engine.set_image_behaviour("web:1", "crash", exit_code=1, after=after)
    arn = env.taskdef("web", mode="awsvpc", fargate=True)
    env.call("CreateService", cluster="local", serviceName="web", taskDefinition=arn, desiredCount=1,
             networkConfiguration=default_network(A, R))
    env.run(15)
    assert len(_launches(env)) >= 6
    assert not any("unable to consistently" in m for m in env.messages())


def test_the_circuit_breaker_judges_failed_starts_without_the_back_off(env: Env) -> None:
    arn = env.taskdef("web", mode="awsvpc", fargate=True)
    env.engine.seed_service(A, R, {"cluster": "local", "serviceName": "web", "taskDefinition": arn,
                                   "desiredCount": 1, "networkConfiguration": default_network(A, R),
                                   "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True,
                                                                                            "rollback": True}}})
    env.engine.set_image_behaviour("web:2", "pull-error")
    bad = env.taskdef("web", mode="awsvpc", fargate=True, image="web:2")
    env.call("UpdateService", cluster="local", service="web", taskDefinition=bad)
    env.run(6)  # three failed starts, at launch speed: on ECS too the breaker trips within minutes
    assert any(m.endswith("deployment failed: tasks failed to start.") for m in env.messages())
    assert any(m.startswith("(service web) rolling back to deployment") for m in env.messages())
    assert not any("unable to consistently" in m for m in env.messages())
