"""One state on LocalAWS: every ECS operation and every other client (tags, DescribeClusters, CloudFormation, the
Resource Groups Tagging API, Application Auto Scaling) sees the services and tasks the rollout engine runs, as a
client that knows only boto3 and ECS's documentation expects."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fakes import registered_instances

from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.clock import FakeClock

TASK_DEFINITION = {
    "family": "web",
    "containerDefinitions": [{"name": "app", "image": "web:1.0.0", "essential": True, "memory": 128}],
}
STEP = 1.0  # simulated seconds per look while waiting for the engine
LOOKS = 600  # a bound on the looks: 10 simulated minutes


@pytest.fixture
def driven_aws() -> Iterator[tuple[LocalAWS, FakeClock]]:
    """An empty LocalAWS on a clock that moves only when the test moves it, with cluster ``local`` and ``web:1``."""
    clock = FakeClock()
    with LocalAWS(clock=clock) as aws:
        ecs = aws.client("ecs")
        ecs.create_cluster(clusterName="local")
        ecs.register_task_definition(**TASK_DEFINITION)
        yield aws, clock


def _until(clock: FakeClock, what: str, condition: Callable[[], bool]) -> None:
    """Move the clock STEP at a time until ``condition()`` holds (at most LOOKS times)."""
    for _ in range(LOOKS):
        if condition():
            return
        clock.advance(STEP)
    raise AssertionError(f"{what}: not after {LOOKS * STEP:.0f} simulated seconds")


def _service(ecs: Any, name: str = "web", cluster: str = "local") -> dict[str, Any]:
    return dict(ecs.describe_services(cluster=cluster, services=[name], include=["TAGS"])["services"][0])


def _tagged(aws: LocalAWS, **filters: Any) -> dict[str, dict[str, str]]:
    """ARN -> tags of what the Resource Groups Tagging API finds."""
    found = aws.client("resourcegroupstaggingapi").get_resources(**filters)["ResourceTagMappingList"]
    return {r["ResourceARN"]: {t["Key"]: t["Value"] for t in r["Tags"]} for r in found}


def _pairs(tags: list[dict[str, str]]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in tags}


# Tags ----------------------------------------------------------------------------------------------------------


def test_a_services_tags_agree_across_create_service_tag_resource_describe_and_the_tagging_api(
        driven_aws: tuple[LocalAWS, FakeClock]) -> None:
    aws, _ = driven_aws
    ecs = aws.client("ecs")
    arn = ecs.create_service(cluster="local", serviceName="web", taskDefinition="web", desiredCount=0,
                             tags=[{"key": "team", "value": "a"}])["service"]["serviceArn"]

    assert _pairs(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == {"team": "a"}
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "team", "value": "b"}, {"key": "tier", "value": "web"}])
    assert _pairs(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == {"team": "b", "tier": "web"}
    assert _pairs(_service(ecs)["tags"]) == {"team": "b", "tier": "web"}
    assert _tagged(aws, ResourceTypeFilters=["ecs:service"]) == {arn: {"team": "b", "tier": "web"}}
    assert _tagged(aws, TagFilters=[{"Key": "tier", "Values": ["web"]}]) == {arn: {"team": "b", "tier": "web"}}

    ecs.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert _pairs(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == {"tier": "web"}
    assert _tagged(aws, ResourceTypeFilters=["ecs:service"]) == {arn: {"tier": "web"}}

    ecs.delete_service(cluster="local", service="web")  # scaled to 0: it goes INACTIVE, and leaves the tagging API
    _until(driven_aws[1], "the deleted service INACTIVE", lambda: _service(ecs)["status"] == "INACTIVE")
    assert _tagged(aws, ResourceTypeFilters=["ecs:service"]) == {}


def test_a_tasks_tags_agree_across_run_task_tag_resource_describe_and_the_tagging_api(
        driven_aws: tuple[LocalAWS, FakeClock]) -> None:
    aws, _ = driven_aws
    ecs = aws.client("ecs")
    registered_instances(aws, "local")
    arn = ecs.run_task(cluster="local", taskDefinition="web", tags=[{"key": "job", "value": "migrate"}])[
        "tasks"][0]["taskArn"]

    ecs.tag_resource(resourceArn=arn, tags=[{"key": "owner", "value": "ci"}])
    expected = {"job": "migrate", "owner": "ci"}
    assert _pairs(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == expected
    assert _pairs(ecs.describe_tasks(cluster="local", tasks=[arn], include=["TAGS"])["tasks"][0]["tags"]) == expected
    assert _tagged(aws, ResourceTypeFilters=["ecs:task"]) == {arn: expected}
    ecs.untag_resource(resourceArn=arn, tagKeys=["job", "owner"])
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == []


@pytest.mark.parametrize("operation", ["list_tags_for_resource", "tag_resource", "untag_resource"])
@pytest.mark.parametrize(("kind", "code", "message"), [
    ("service", "ServiceNotFoundException", "Service not found."),
    ("task", "InvalidParameterException", "The referenced task was not found."),
])
def test_tagging_a_service_or_task_that_does_not_exist_is_refused_with_ecs_errors(
        driven_aws: tuple[LocalAWS, FakeClock], operation: str, kind: str, code: str, message: str) -> None:
    aws, _ = driven_aws
    ecs = aws.client("ecs")
    arn = f"arn:aws:ecs:us-east-1:{aws.account_id}:{kind}/local/ghost"
    arguments: dict[str, Any] = {"resourceArn": arn}
    if operation == "tag_resource":
        arguments["tags"] = [{"key": "k", "value": "v"}]
    elif operation == "untag_resource":
        arguments["tagKeys"] = ["k"]

    with pytest.raises(ClientError) as refused:
        getattr(ecs, operation)(**arguments)

    assert refused.value.response["Error"] == {"Code": code, "Message": message}
    assert refused.value.operation_name == "".join(word.capitalize() for word in operation.split("_"))


# DescribeClusters ----------------------------------------------------------------------------------------------


def test_describe_clusters_counts_the_engines_services_and_tasks(driven_aws: tuple[LocalAWS, FakeClock]) -> None:
    aws, clock = driven_aws
    ecs = aws.client("ecs")

    def counts() -> tuple[int, int, int]:
        cluster = ecs.describe_clusters(clusters=["local"])["clusters"][0]
        return cluster["activeServicesCount"], cluster["runningTasksCount"], cluster["pendingTasksCount"]

    assert counts() == (0, 0, 0)
    registered_instances(aws, "local")
    ecs.create_service(cluster="local", serviceName="web", taskDefinition="web", desiredCount=2)
    ecs.run_task(cluster="local", taskDefinition="web")
    assert counts() == (1, 0, 3)  # provisioning: pending
    _until(clock, "three tasks RUNNING", lambda: counts() == (1, 3, 0))

    ecs.delete_service(cluster="local", service="web", force=True)
    _until(clock, "the service's tasks stopped", lambda: counts() == (0, 1, 0))


# DeleteCluster -------------------------------------------------------------------------------------------------


def test_delete_cluster_is_refused_while_container_instances_are_registered(
        driven_aws: tuple[LocalAWS, FakeClock]) -> None:
    aws, _ = driven_aws
    ecs = aws.client("ecs")
    [registered] = registered_instances(aws, "local")
    assert ecs.describe_clusters(clusters=["local"])["clusters"][0]["registeredContainerInstancesCount"] == 1

    with pytest.raises(ClientError) as refused:
        ecs.delete_cluster(cluster="local")
    assert refused.value.response["Error"] == {
        "Code": "ClusterContainsContainerInstancesException",
        "Message": "The Cluster cannot be deleted while Container Instances are active or draining."}

    ecs.deregister_container_instance(cluster="local", force=True,
                                      containerInstance=registered)
    assert ecs.describe_clusters(clusters=["local"])["clusters"][0]["registeredContainerInstancesCount"] == 0
    assert ecs.delete_cluster(cluster="local")["cluster"]["status"] == "INACTIVE"


# CloudFormation ------------------------------------------------------------------------------------------------


def _template(image: str, desired: int) -> str:
    """A stack of a cluster, a task definition of ``image`` and a service of it with the circuit breaker on."""
    return json.dumps({
        "Resources": {
            "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "stacked"}},
            "TaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                "Family": "api",
                "ContainerDefinitions": [{"Name": "app", "Image": image, "Essential": True, "Memory": 128}],
            }},
            "Service": {"Type": "AWS::ECS::Service", "Properties": {
                "ServiceName": "api", "Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "TaskDefinition"},
                "DesiredCount": desired, "LaunchType": "EC2", "PropagateTags": "SERVICE",
                "DeploymentConfiguration": {"MinimumHealthyPercent": 50, "MaximumPercent": 200,
                                            "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True}},
                "Tags": [{"Key": "stack", "Value": "api"}],
            }},
        },
        "Outputs": {"ServiceName": {"Value": {"Fn::GetAtt": ["Service", "Name"]}},
                    "ServiceArn": {"Value": {"Ref": "Service"}}},
    })


def _settled(ecs: Any) -> Callable[[], bool]:
    def check() -> bool:
        service = _service(ecs, "api", "stacked")
        deployments = service["deployments"]
        return (len(deployments) == 1 and deployments[0]["rolloutState"] == "COMPLETED"
                and service["runningCount"] == service["desiredCount"])
    return check


def test_a_cloudformation_service_is_the_engines_and_rolls_out_on_stack_updates(
        driven_aws: tuple[LocalAWS, FakeClock]) -> None:
    aws, clock = driven_aws
    ecs, cfn = aws.client("ecs"), aws.client("cloudformation")

    cfn.create_stack(StackName="api", TemplateBody=_template("api:1.0.0", 2))
    registered_instances(aws, "stacked")  # EC2 tasks wait, with ECS's placement back-off, for an instance

    stack = cfn.describe_stacks(StackName="api")["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    arn = f"arn:aws:ecs:us-east-1:{aws.account_id}:service/stacked/api"
    assert outputs == {"ServiceName": "api", "ServiceArn": arn}
    assert ecs.list_services(cluster="stacked")["serviceArns"] == [arn]
    service = _service(ecs, "api", "stacked")
    assert (service["status"], service["desiredCount"], service["launchType"], _pairs(service["tags"])) == (
        "ACTIVE", 2, "EC2", {"stack": "api"})
    assert service["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service["deploymentConfiguration"]["minimumHealthyPercent"] == 50
    _until(clock, "the stack's service steady on api:1", _settled(ecs))
    tasks = ecs.describe_tasks(cluster="stacked", include=["TAGS"],
                               tasks=ecs.list_tasks(cluster="stacked", serviceName="api")["taskArns"])["tasks"]
    assert [_pairs(t["tags"]) for t in tasks] == [{"stack": "api"}] * 2  # PropagateTags SERVICE
    assert _tagged(aws, ResourceTypeFilters=["ecs:service"]) == {arn: {"stack": "api"}}

    cfn.update_stack(StackName="api", TemplateBody=_template("api:2.0.0", 3))

    updated = _service(ecs, "api", "stacked")
    assert updated["taskDefinition"].endswith(":2") and updated["desiredCount"] == 3
    assert [d["status"] for d in updated["deployments"]] == ["PRIMARY", "ACTIVE"]
    _until(clock, "the stack's service steady on api:2", _settled(ecs))
    running = ecs.describe_tasks(cluster="stacked",
                                 tasks=ecs.list_tasks(cluster="stacked", serviceName="api")["taskArns"])["tasks"]
    assert sorted(t["containers"][0]["image"] for t in running) == ["api:2.0.0"] * 3


def test_application_auto_scaling_finds_the_engines_service(driven_aws: tuple[LocalAWS, FakeClock]) -> None:
    aws, _ = driven_aws
    aws.client("ecs").create_service(cluster="local", serviceName="web", taskDefinition="web", desiredCount=1)
    scaling = aws.client("application-autoscaling")

    scaling.register_scalable_target(ServiceNamespace="ecs", ResourceId="service/local/web", MinCapacity=1,
                                     MaxCapacity=4, ScalableDimension="ecs:service:DesiredCount")

    with pytest.raises(ClientError, match="ECS service doesn't exist"):
        scaling.register_scalable_target(ServiceNamespace="ecs", ResourceId="service/local/ghost", MinCapacity=1,
                                         MaxCapacity=4, ScalableDimension="ecs:service:DesiredCount")


def test_a_cloudformation_fargate_service_keeps_every_property_of_its_template(
        driven_aws: tuple[LocalAWS, FakeClock]) -> None:
    aws, clock = driven_aws
    ecs, cfn = aws.client("ecs"), aws.client("cloudformation")
    subnet = aws.client("ec2").describe_subnets()["Subnets"][0]["SubnetId"]
    template = {"Resources": {
        "TaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": "worker", "NetworkMode": "awsvpc", "RequiresCompatibilities": ["FARGATE"], "Cpu": "256",
            "Memory": "512", "ContainerDefinitions": [{"Name": "app", "Image": "worker:1.0.0", "Essential": True}],
        }},
        "Service": {"Type": "AWS::ECS::Service", "Properties": {
            "ServiceName": "worker", "Cluster": "local", "TaskDefinition": {"Ref": "TaskDefinition"},
            "LaunchType": "FARGATE", "DesiredCount": 1,
            "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": [subnet], "AssignPublicIp": "DISABLED"}},
        }},
    }}

    cfn.create_stack(StackName="worker", TemplateBody=json.dumps(template))

    revision = ecs.describe_task_definition(taskDefinition="worker")["taskDefinition"]
    assert (revision["networkMode"], revision["requiresCompatibilities"], revision["cpu"], revision["memory"]) == (
        "awsvpc", ["FARGATE"], "256", "512")
    service = _service(ecs, "worker")
    assert service["launchType"] == "FARGATE"
    assert service["networkConfiguration"] == {
        "awsvpcConfiguration": {"subnets": [subnet], "assignPublicIp": "DISABLED"}}
    _until(clock, "the worker's task RUNNING", lambda: _service(ecs, "worker")["runningCount"] == 1)
