"""CodeDeploy blue/green deployments of an ECS service on LocalAWS over HTTP, as boto3 sees them: the service's
task sets, the deployment's statuses and lifecycle events, the listeners' forward weights moving, the ready wait,
StopDeployment's and a failure's rollbacks, and every refusal with CodeDeploy's or ECS's error code; on a clock
only the test moves."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError
from module_aws import ModuleAWS, next_instant

from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.clock import FakeClock

STEP = 0.25  # simulated seconds each poll moves the clock


class Stage:
    """LocalAWS with a load balancer (production listener :80, test listener :8080, target groups blue and green),
    a CODE_DEPLOY service ``web`` (2 tasks of web:1) and a CodeDeploy application ``app`` with group ``dg``."""

    def __init__(self, aws: LocalAWS, clock: FakeClock, client: Callable[[str], Any] | None = None) -> None:
        self.aws, self.clock = aws, clock
        client = client or aws.client  # a module's clients, built once (module_aws.py)
        self.ecs, self.elb, self.cd = client("ecs"), client("elbv2"), client("codedeploy")
        ec2 = client("ec2")
        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        self.subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
        balancer = self.elb.create_load_balancer(Name="web", Subnets=self.subnets)["LoadBalancers"][0]
        self.tg = {name: self.elb.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc,
                                                      TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
                   for name in ("blue", "green")}
        self.listener = {port: self.elb.create_listener(
            LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": self.tg["blue"]}])["Listeners"][0]["ListenerArn"]
            for port in (80, 8080)}
        self.taskdefs = [self.register("1"), self.register("2")]
        self.ecs.create_service(
            cluster="local", serviceName="web", taskDefinition=self.taskdefs[0], desiredCount=2,
            deploymentController={"type": "CODE_DEPLOY"}, launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": self.subnets}},
            loadBalancers=[{"targetGroupArn": self.tg["blue"], "containerName": "app", "containerPort": 80}])
        self.cd.create_application(applicationName="app", computePlatform="ECS")
        self.advance(5)

    def register(self, tag: str) -> str:
        return str(self.ecs.register_task_definition(
            family="web", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
            containerDefinitions=[{"name": "app", "image": f"web:{tag}", "essential": True,
                                   "portMappings": [{"containerPort": 80}]}],
        )["taskDefinition"]["taskDefinitionArn"])

    def group(self, *, config: str = "CodeDeployDefault.ECSAllAtOnce", ready: dict[str, Any] | None = None,
              termination_minutes: int = 5, rollback: bool = True, name: str = "dg",
              **changes: Any) -> None:
        params: dict[str, Any] = {
            "applicationName": "app", "deploymentGroupName": name, "deploymentConfigName": config,
            "serviceRoleArn": "arn:aws:iam::123456789012:role/codedeploy",
            "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            "ecsServices": [{"clusterName": "local", "serviceName": "web"}],
            "blueGreenDeploymentConfiguration": {
                "deploymentReadyOption": ready or {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
                "terminateBlueInstancesOnDeploymentSuccess": {
                    "action": "TERMINATE", "terminationWaitTimeInMinutes": termination_minutes}},
            "loadBalancerInfo": {"targetGroupPairInfoList": [{
                "targetGroups": [{"name": "blue"}, {"name": "green"}],
                "prodTrafficRoute": {"listenerArns": [self.listener[80]]},
                "testTrafficRoute": {"listenerArns": [self.listener[8080]]}}]},
            "autoRollbackConfiguration": {"enabled": rollback, "events": ["DEPLOYMENT_FAILURE",
                                                                          "DEPLOYMENT_STOP_ON_REQUEST"]},
        }
        params.update(changes)
        self.cd.create_deployment_group(**params)

    def appspec(self, taskdef: str | None = None, *, hooks: list[dict[str, str]] | None = None,
                container: str = "app", port: int = 80) -> dict[str, Any]:
        spec: dict[str, Any] = {"version": 0.0, "Resources": [{"TargetService": {
            "Type": "AWS::ECS::Service", "Properties": {
                "TaskDefinition": taskdef or self.taskdefs[1],
                "LoadBalancerInfo": {"ContainerName": container, "ContainerPort": port}}}}]}
        if hooks:
            spec["Hooks"] = hooks
        return spec

    def deploy(self, spec: dict[str, Any] | None = None, *, as_yaml: bool = False, **params: Any) -> str:
        content = yaml.safe_dump(spec or self.appspec()) if as_yaml else json.dumps(spec or self.appspec())
        revision = {"revisionType": "AppSpecContent",
                    "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()}}
        answer = self.cd.create_deployment(applicationName="app", deploymentGroupName="dg", revision=revision,
                                           **params)
        return str(answer["deploymentId"])

    def advance(self, seconds: float) -> None:
        for _ in range(round(seconds / STEP)):
            self.clock.advance(STEP)
        self.ecs.list_services(cluster="local")  # a request moves the engine to the clock's time

    def next_instant(self) -> None:
        """Move the clock to the engine's next change (nothing changes in between), or STEP when none is due."""
        next_instant(self.aws, self.clock, STEP)
        self.ecs.list_services(cluster="local")

    def info(self, deployment: str) -> dict[str, Any]:
        return self.cd.get_deployment(deploymentId=deployment)["deploymentInfo"]  # type: ignore[no-any-return]

    def target(self, deployment: str) -> dict[str, Any]:
        return self.cd.get_deployment_target(  # type: ignore[no-any-return]
            deploymentId=deployment, targetId="local:web")["deploymentTarget"]["ecsTarget"]

    def until(self, deployment: str, status: str, limit: float = 3600.0) -> list[str]:
        """Poll until the deployment's status is ``status``; the distinct statuses seen on the way."""
        seen: list[str] = []
        for _ in range(round(limit / 5)):
            current = self.info(deployment)["status"]
            if not seen or seen[-1] != current:
                seen.append(current)
            if current == status:
                return seen
            self.advance(5) if current != "Created" else self.advance(STEP)
        raise AssertionError(f"deployment {deployment} never reached {status}: {seen}")

    def weights(self, port: int) -> dict[str, int]:
        """Target group name -> forward weight of the listener's default rule (a forward to one target group without
        a ForwardConfig, as the listener was created, counts as 100)."""
        rules = self.elb.describe_rules(ListenerArn=self.listener[port])["Rules"]
        action = next(rule for rule in rules if rule["IsDefault"])["Actions"][0]
        names = {arn: name for name, arn in self.tg.items()}
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [
            {"TargetGroupArn": action["TargetGroupArn"], "Weight": 100}]
        return {names[group["TargetGroupArn"]]: group["Weight"] for group in groups}

    def task_sets(self) -> list[dict[str, Any]]:
        return self.ecs.describe_task_sets(cluster="local", service="web")["taskSets"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleAWS]:
    with ModuleAWS({"clusters": ["local"]}, base_dir=tmp_path_factory.mktemp("codedeploy")) as aws:
        yield aws


@pytest.fixture
def stage(shared: ModuleAWS) -> Stage:
    shared.fresh()
    return Stage(shared.local, shared.clock, shared.client)


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


# The ECS side -------------------------------------------------------------------------------------------------


def test_a_code_deploy_service_runs_one_primary_task_set_and_no_deployments(stage: Stage) -> None:
    service = stage.ecs.describe_services(cluster="local", services=["web"])["services"][0]
    assert service["deploymentController"] == {"type": "CODE_DEPLOY"}
    assert service["deployments"] == []
    [task_set] = service["taskSets"]
    assert task_set["status"] == "PRIMARY" and task_set["stabilityStatus"] == "STEADY_STATE"
    assert (task_set["computedDesiredCount"], task_set["runningCount"]) == (2, 2)
    assert task_set["scale"] == {"value": 100.0, "unit": "PERCENT"} and "externalId" not in task_set
    assert stage.task_sets() == [task_set]


@pytest.mark.parametrize("field, value", [
    ("taskDefinition", "web:2"), ("forceNewDeployment", True), ("platformVersion", "1.4.0"),
    ("networkConfiguration", {"awsvpcConfiguration": {"subnets": ["subnet-x"]}}),
    ("loadBalancers", [{"targetGroupArn": "arn:tg", "containerName": "app", "containerPort": 80}]),
])
def test_update_service_of_what_only_codedeploy_may_change_is_refused(stage: Stage, field: str, value: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        stage.ecs.update_service(cluster="local", service="web", **{field: value})
    assert error_code(excinfo) == "InvalidParameterException"
    if field == "taskDefinition":
        assert excinfo.value.response["Error"]["Message"] == (
            "Unable to update task definition on services with a CODE_DEPLOY deployment controller. Use AWS "
            "CodeDeploy to trigger a new deployment.")


def test_update_service_of_the_desired_count_scales_the_task_set(stage: Stage) -> None:
    stage.ecs.update_service(cluster="local", service="web", desiredCount=3)
    stage.advance(5)
    [task_set] = stage.task_sets()
    assert (task_set["computedDesiredCount"], task_set["runningCount"]) == (3, 3)


def test_describe_task_sets_of_a_rolling_service_is_refused(stage: Stage) -> None:
    stage.ecs.create_service(cluster="local", serviceName="rolling", taskDefinition=stage.taskdefs[0],
                             desiredCount=0, networkConfiguration={"awsvpcConfiguration": {"subnets": stage.subnets}})
    with pytest.raises(ClientError) as excinfo:
        stage.ecs.describe_task_sets(cluster="local", service="rolling")
    assert error_code(excinfo) == "InvalidParameterException"


# A deployment -------------------------------------------------------------------------------------------------


def test_a_good_deployment_goes_through_its_lifecycle_events_and_succeeds(stage: Stage) -> None:
    stage.group(termination_minutes=1)
    deployment = stage.deploy(stage.appspec(hooks=[{"AfterAllowTestTraffic": "smoke"}]), as_yaml=True)
    assert stage.info(deployment)["status"] == "Created"
    stage.until(deployment, "InProgress")
    seen_test = seen_blue_gone = False
    for _ in range(400):  # a look at each change: test traffic is on green alone for half a second
        target = stage.target(deployment)
        events = {e["lifecycleEventName"]: e["status"] for e in target["lifecycleEvents"]}
        if events["AllowTestTraffic"] == "Succeeded" and events["AllowTraffic"] == "Pending":
            assert stage.weights(8080) == {"green": 100} and stage.weights(80) == {"blue": 100}
            seen_test = True
        if stage.info(deployment)["status"] == "Succeeded":
            seen_blue_gone = True
            break
        stage.next_instant()
    assert seen_test and seen_blue_gone
    info = stage.info(deployment)
    assert info["deploymentOverview"]["Succeeded"] == 1 and "content" not in info["revision"]["appSpecContent"]
    target = stage.target(deployment)
    assert [e["lifecycleEventName"] for e in target["lifecycleEvents"]] == [
        "BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic",
        "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"]
    assert {e["status"] for e in target["lifecycleEvents"]} == {"Succeeded"}
    assert stage.weights(80) == {"green": 100}
    [task_set] = stage.task_sets()
    assert (task_set["status"], task_set["externalId"], task_set["startedBy"]) == (
        "PRIMARY", deployment, "CODE_DEPLOY")
    assert task_set["taskDefinition"] == stage.taskdefs[1] and task_set["runningCount"] == 2
    assert {t["TargetHealth"]["State"] for t in stage.elb.describe_target_health(
        TargetGroupArn=stage.tg["green"])["TargetHealthDescriptions"]} == {"healthy"}
    [rollback_free] = stage.cd.list_deployments(applicationName="app", deploymentGroupName="dg")["deployments"]
    assert rollback_free == deployment


def test_the_original_task_set_runs_through_the_termination_wait(stage: Stage) -> None:
    stage.group(termination_minutes=5)
    deployment = stage.deploy()
    stage.until(deployment, "InProgress")
    stage.advance(30)
    sets = {s["status"]: s for s in stage.task_sets()}
    assert sets["PRIMARY"]["taskDefinition"] == stage.taskdefs[1] and sets["ACTIVE"]["runningCount"] == 2
    info = stage.info(deployment)
    assert info["status"] == "InProgress" and info["instanceTerminationWaitTimeStarted"] is True
    weights = {s["taskSetLabel"]: s["trafficWeight"] for s in stage.target(deployment)["taskSetsInfo"]}
    assert weights == {"Blue": 0.0, "Green": 100.0}
    stage.cd.continue_deployment(deploymentId=deployment, deploymentWaitType="TERMINATION_WAIT")
    stage.until(deployment, "Succeeded", limit=30)
    assert len(stage.task_sets()) == 1


@pytest.mark.parametrize("config, expected", [
    ("CodeDeployDefault.ECSLinear10PercentEvery1Minutes", [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]),
    ("CodeDeployDefault.ECSLinear10PercentEvery3Minutes", [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]),
    ("CodeDeployDefault.ECSCanary10Percent5Minutes", [10, 100]),
    ("CodeDeployDefault.ECSCanary10Percent15Minutes", [10, 100]),
    ("CodeDeployDefault.ECSAllAtOnce", [100]),
])
def test_production_traffic_moves_per_the_deployment_config(stage: Stage, config: str, expected: list[int]) -> None:
    stage.group(config=config, termination_minutes=0)
    deployment = stage.deploy()
    seen: list[int] = []
    for _ in range(800):
        weight = stage.weights(80).get("green", 0)
        if weight and (not seen or seen[-1] != weight):
            seen.append(weight)
        if stage.info(deployment)["status"] == "Succeeded":
            break
        stage.next_instant()
    assert seen == expected
    assert stage.info(deployment)["deploymentConfigName"] == config


def test_ready_waits_for_continue_deployment_with_test_traffic_on_the_replacement(stage: Stage) -> None:
    stage.group(ready={"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60}, termination_minutes=0)
    deployment = stage.deploy()
    with pytest.raises(ClientError) as excinfo:
        stage.cd.continue_deployment(deploymentId=deployment, deploymentWaitType="READY_WAIT")
    assert error_code(excinfo) == "DeploymentIsNotInReadyStateException"
    assert stage.until(deployment, "Ready")[-2:] == ["InProgress", "Ready"]
    stage.advance(600)
    assert stage.info(deployment)["status"] == "Ready"
    assert stage.weights(8080) == {"green": 100} and stage.weights(80) == {"blue": 100}
    assert stage.target(deployment)["status"] == "Ready"
    stage.cd.continue_deployment(deploymentId=deployment, deploymentWaitType="READY_WAIT")
    assert stage.until(deployment, "Succeeded") == ["InProgress", "Succeeded"]
    assert stage.weights(80) == {"green": 100}


def test_ready_not_continued_in_time_is_stopped_and_rolled_back(stage: Stage) -> None:
    stage.group(ready={"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 2})
    deployment = stage.deploy()
    stage.until(deployment, "Ready")
    stage.until(deployment, "Stopped", limit=200)
    assert stage.info(deployment)["errorInformation"]["code"] == "TIMEOUT"
    assert stage.weights(8080) == {"blue": 100}


def test_stop_deployment_with_rollback_moves_traffic_back_and_deletes_the_replacement(stage: Stage) -> None:
    stage.group(config="CodeDeployDefault.ECSCanary10Percent5Minutes")
    deployment = stage.deploy()
    for _ in range(100):
        if stage.weights(80).get("green") == 10:
            break
        stage.advance(1)
    assert stage.weights(80) == {"blue": 90, "green": 10}
    answer = stage.cd.stop_deployment(deploymentId=deployment, autoRollbackEnabled=True)
    assert answer["status"] == "Pending"
    info = stage.info(deployment)
    assert info["status"] == "Stopped" and info["errorInformation"]["code"] == "MANUAL_STOP"
    assert stage.weights(80) == {"blue": 100} and stage.weights(8080) == {"blue": 100}
    rollback = info["rollbackInfo"]["rollbackDeploymentId"]
    stage.until(rollback, "Succeeded", limit=60)
    assert stage.info(rollback)["creator"] == "codeDeployRollback"
    assert stage.info(rollback)["rollbackInfo"]["rollbackTriggeringDeploymentId"] == deployment
    [task_set] = stage.task_sets()
    assert task_set["status"] == "PRIMARY" and task_set["taskDefinition"] == stage.taskdefs[0]
    with pytest.raises(ClientError) as excinfo:
        stage.cd.stop_deployment(deploymentId=deployment)
    assert error_code(excinfo) == "DeploymentAlreadyCompletedException"
    with pytest.raises(ClientError) as excinfo:
        stage.cd.continue_deployment(deploymentId=deployment)
    assert error_code(excinfo) == "DeploymentAlreadyCompletedException"


def test_stop_deployment_without_rollback_leaves_things_where_they_are(stage: Stage) -> None:
    stage.group(rollback=False, ready={"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60})
    deployment = stage.deploy()
    stage.until(deployment, "Ready")
    stage.cd.stop_deployment(deploymentId=deployment)
    info = stage.info(deployment)
    assert info["status"] == "Stopped" and "rollbackInfo" not in info
    assert len(stage.task_sets()) == 2 and stage.weights(8080) == {"green": 100}


def test_the_next_deployment_replaces_what_a_deployment_stopped_without_rollback_left(stage: Stage) -> None:
    stage.group(rollback=False, termination_minutes=0)
    stopped = stage.deploy()
    at(stage, stopped, "Install")
    stage.cd.stop_deployment(deploymentId=stopped)
    left = next(t for t in stage.task_sets() if t["status"] == "ACTIVE")
    again = stage.deploy(stage.appspec(stage.taskdefs[0]))
    stage.until(again, "Succeeded")
    [task_set] = stage.task_sets()
    assert task_set["id"] != left["id"] and task_set["externalId"] == again
    assert task_set["taskDefinition"] == stage.taskdefs[0] and stage.weights(80) == {"green": 100}


@pytest.mark.parametrize("hook", ["BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic",
                                  "AfterAllowTraffic"])
def test_a_failed_hook_fails_the_deployment_and_rolls_back(stage: Stage, hook: str) -> None:
    stage.group()
    stage.aws.set_codedeploy_hook("check", "Failed")
    deployment = stage.deploy(stage.appspec(hooks=[{hook: "check"}]))
    stage.until(deployment, "Failed", limit=120)
    info = stage.info(deployment)
    assert info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    events = {e["lifecycleEventName"]: e["status"] for e in stage.target(deployment)["lifecycleEvents"]}
    assert events[hook] == "Failed"
    stage.until(info["rollbackInfo"]["rollbackDeploymentId"], "Succeeded", limit=60)
    assert stage.weights(80) == {"blue": 100}
    [task_set] = stage.task_sets()
    assert task_set["taskDefinition"] == stage.taskdefs[0]


def test_failing_replacement_tasks_fail_the_deployment_and_roll_back(stage: Stage) -> None:
    stage.group()
    stage.aws.set_image_behaviour("web:2", "crash")
    deployment = stage.deploy()
    stage.until(deployment, "Failed", limit=600)
    info = stage.info(deployment)
    assert info["errorInformation"]["code"] == "ECS_UPDATE_ERROR"
    stage.until(info["rollbackInfo"]["rollbackDeploymentId"], "Succeeded", limit=60)
    [task_set] = stage.task_sets()
    assert task_set["taskDefinition"] == stage.taskdefs[0] and stage.weights(80) == {"blue": 100}


def test_failing_replacement_tasks_without_auto_rollback_leave_the_replacement(stage: Stage) -> None:
    stage.group(rollback=False)
    stage.aws.set_image_behaviour("web:2", "crash")
    deployment = stage.deploy()
    stage.until(deployment, "Failed", limit=600)
    assert "rollbackInfo" not in stage.info(deployment) and len(stage.task_sets()) == 2


def test_the_deployment_successful_waiter_waits_for_succeeded(stage: Stage, shared: ModuleAWS) -> None:
    stage.cd = shared.own_client("codedeploy")  # the test's own: an event handler goes on it
    stage.group(termination_minutes=0)
    deployment = stage.deploy()
    calls = 0

    def tick(**_: Any) -> None:
        nonlocal calls
        calls += 1
        stage.clock.advance(1)

    stage.cd.meta.events.register("before-call.codedeploy.GetDeployment", tick)
    stage.cd.get_waiter("deployment_successful").wait(deploymentId=deployment,
                                                      WaiterConfig={"Delay": 0, "MaxAttempts": 100})
    assert stage.info(deployment)["status"] == "Succeeded" and calls > 1


def test_the_deployment_successful_waiter_fails_on_a_failed_deployment(stage: Stage, shared: ModuleAWS) -> None:
    from botocore.exceptions import WaiterError

    stage.cd = shared.own_client("codedeploy")  # the test's own: an event handler goes on it
    stage.group()
    stage.aws.set_codedeploy_hook("check", "Failed")
    deployment = stage.deploy(stage.appspec(hooks=[{"BeforeInstall": "check"}]))
    stage.cd.meta.events.register("before-call.codedeploy.GetDeployment", lambda **_: stage.clock.advance(1))
    with pytest.raises(WaiterError, match="Failed"):
        stage.cd.get_waiter("deployment_successful").wait(deploymentId=deployment,
                                                          WaiterConfig={"Delay": 0, "MaxAttempts": 100})


# Refusals -----------------------------------------------------------------------------------------------------


def _revision(content: str, sha256: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"content": content}
    if sha256 is not None:
        body["sha256"] = sha256
    return {"revisionType": "AppSpecContent", "appSpecContent": body}


def test_create_deployment_refusals(stage: Stage) -> None:
    stage.group()

    def refused(code: str, **params: Any) -> None:
        request = {"applicationName": "app", "deploymentGroupName": "dg",
                   "revision": _revision(json.dumps(stage.appspec())), **params}
        with pytest.raises(ClientError) as excinfo:
            stage.cd.create_deployment(**{k: v for k, v in request.items() if v is not None})
        assert error_code(excinfo) == code, excinfo.value

    refused("ApplicationDoesNotExistException", applicationName="nope")
    refused("DeploymentGroupDoesNotExistException", deploymentGroupName="nope")
    refused("RevisionRequiredException", revision=None)
    refused("InvalidRevisionException", revision={"revisionType": "S3", "s3Location": {"bucket": "b", "key": "k"}})
    refused("InvalidRevisionException", revision=_revision("Resources: [unclosed"))
    refused("InvalidRevisionException", revision=_revision(json.dumps(stage.appspec()), sha256="0" * 64))
    refused("InvalidRevisionException", revision=_revision(json.dumps(stage.appspec(container="other"))))
    refused("InvalidRevisionException", revision=_revision(json.dumps(stage.appspec(port=8081))))
    refused("InvalidRevisionException", revision=_revision(json.dumps(stage.appspec("web:9"))))
    refused("InvalidRevisionException", revision=_revision(json.dumps(stage.appspec(hooks=[{"Install": "f"}]))))
    refused("InvalidRevisionException", revision=_revision(json.dumps({"version": 0.0})))
    refused("DeploymentConfigDoesNotExistException", deploymentConfigName="CodeDeployDefault.OneAtATime")
    deployment = stage.deploy()
    refused("DeploymentLimitExceededException")
    stage.cd.stop_deployment(deploymentId=deployment)


@pytest.mark.parametrize("change, code", [
    ({"ecsServices": [{"clusterName": "local", "serviceName": "missing"}]}, "InvalidECSServiceException"),
    ({"ecsServices": []}, "InvalidECSServiceException"),
    ({"loadBalancerInfo": {"targetGroupPairInfoList": []}}, "InvalidLoadBalancerInfoException"),
    ({"loadBalancerInfo": {"targetGroupPairInfoList": [{"targetGroups": [{"name": "blue"}, {"name": "nope"}],
                                                        "prodTrafficRoute": {"listenerArns": ["arn:l"]}}]}},
     "InvalidLoadBalancerInfoException"),
    ({"loadBalancerInfo": {"targetGroupPairInfoList": [{"targetGroups": [{"name": "blue"}, {"name": "green"}]}]}},
     "InvalidLoadBalancerInfoException"),
    ({"deploymentStyle": {"deploymentType": "IN_PLACE", "deploymentOption": "WITHOUT_TRAFFIC_CONTROL"}},
     "InvalidDeploymentGroupNameException"),
])
def test_a_deployment_group_not_set_up_for_ecs_blue_green_is_refused(stage: Stage, change: dict[str, Any],
                                                                     code: str) -> None:
    stage.group(**change)
    with pytest.raises(ClientError) as excinfo:
        stage.deploy()
    assert error_code(excinfo) == code


def test_a_service_on_the_ecs_controller_is_refused(stage: Stage) -> None:
    stage.ecs.create_service(cluster="local", serviceName="rolling", taskDefinition=stage.taskdefs[0],
                             desiredCount=0, networkConfiguration={"awsvpcConfiguration": {"subnets": stage.subnets}})
    stage.group(ecsServices=[{"clusterName": "local", "serviceName": "rolling"}])
    with pytest.raises(ClientError) as excinfo:
        stage.deploy()
    assert error_code(excinfo) == "InvalidECSServiceException"


def test_targets_and_continue_refusals(stage: Stage) -> None:
    stage.group()
    deployment = stage.deploy()
    for call, params in ((stage.cd.get_deployment_target, {"targetId": "local:web"}),
                         (stage.cd.list_deployment_targets, {})):
        with pytest.raises(ClientError) as excinfo:
            call(deploymentId=deployment, **params)
        assert error_code(excinfo) == "DeploymentNotStartedException"
    stage.until(deployment, "InProgress")
    assert stage.cd.list_deployment_targets(deploymentId=deployment)["targetIds"] == ["local:web"]
    with pytest.raises(ClientError) as excinfo:
        stage.cd.get_deployment_target(deploymentId=deployment, targetId="local:other")
    assert error_code(excinfo) == "DeploymentTargetDoesNotExistException"
    with pytest.raises(ClientError) as excinfo:
        stage.cd.get_deployment(deploymentId="d-NOTHERE00")
    assert error_code(excinfo) == "DeploymentDoesNotExistException"
    with pytest.raises(ClientError) as excinfo:
        stage.cd.continue_deployment(deploymentId=deployment, deploymentWaitType="TERMINATION_WAIT")
    assert error_code(excinfo) == "DeploymentIsNotInReadyStateException"


def test_the_predefined_ecs_configs_are_known(stage: Stage) -> None:
    info = stage.cd.get_deployment_config(deploymentConfigName="CodeDeployDefault.ECSLinear10PercentEvery3Minutes")
    assert info["deploymentConfigInfo"]["trafficRoutingConfig"] == {
        "type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 3}}
    with pytest.raises(ClientError) as excinfo:
        stage.cd.get_deployment_config(deploymentConfigName="Custom")
    assert error_code(excinfo) == "DeploymentConfigDoesNotExistException"


# The seed and the control route ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("alone")
def test_a_seeded_code_deploy_service_deploys_and_its_seeded_hook_fails(tmp_path: Path) -> None:
    (tmp_path / "web.json").write_text(json.dumps({
        "family": "web", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256",
        "memory": "512", "containerDefinitions": [{"name": "app", "image": "placeholder", "essential": True,
                                                   "portMappings": [{"containerPort": 8080}]}]}))
    seed = {"clusters": ["local"], "repositories": {"web": {"tags": ["1.0.0", "1.1.0"]}}, "services": {"web": {
        "task_definition": "web.json", "images": {"app": "web:1.0.0"}, "desired_count": 2,
        "load_balancer": {"target_group": "web-blue", "container": "app", "port": 8080},
        "codedeploy": {"alternate_target_group": "web-green", "ready_wait_minutes": 30,
                       "termination_wait_minutes": 0, "hooks": {"smoke": "Failed"}}}}}
    clock = FakeClock()
    with LocalAWS(seed, base_dir=tmp_path, clock=clock) as aws:
        stage = Stage.__new__(Stage)
        stage.aws, stage.clock = aws, clock
        stage.ecs, stage.elb, stage.cd = aws.client("ecs"), aws.client("elbv2"), aws.client("codedeploy")
        group = stage.cd.get_deployment_group(applicationName="web", deploymentGroupName="web")["deploymentGroupInfo"]
        pair = group["loadBalancerInfo"]["targetGroupPairInfoList"][0]
        assert [g["name"] for g in pair["targetGroups"]] == ["web-blue", "web-green"]
        stage.listener = {80: pair["prodTrafficRoute"]["listenerArns"][0],
                          8080: pair["testTrafficRoute"]["listenerArns"][0]}
        stage.tg = {name.split("-")[1]: stage.elb.describe_target_groups(Names=[name])["TargetGroups"][0][
            "TargetGroupArn"] for name in ("web-blue", "web-green")}
        service = stage.ecs.describe_services(cluster="local", services=["web"])["services"][0]
        assert service["deploymentController"] == {"type": "CODE_DEPLOY"} and len(service["taskSets"]) == 1
        current = stage.ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]
        payload = {k: current[k] for k in ("family", "containerDefinitions", "networkMode",
                                           "requiresCompatibilities", "cpu", "memory")}
        payload["containerDefinitions"][0]["image"] = payload["containerDefinitions"][0]["image"].replace(
            ":1.0.0", ":1.1.0")
        taskdef = stage.ecs.register_task_definition(**payload)["taskDefinition"]["taskDefinitionArn"]
        spec = {"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
            "TaskDefinition": taskdef, "LoadBalancerInfo": {"ContainerName": "app", "ContainerPort": 8080}}}}]}
        revision = {"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(spec)}}
        good = stage.cd.create_deployment(applicationName="web", deploymentGroupName="web",
                                          revision=revision)["deploymentId"]
        stage.until(good, "Ready")
        assert stage.weights(8080) == {"green": 100} and stage.weights(80) == {"blue": 100}
        stage.cd.continue_deployment(deploymentId=good)
        stage.until(good, "Succeeded")
        assert stage.weights(80) == {"green": 100}
        spec["Hooks"] = [{"BeforeAllowTraffic": "smoke"}]
        spec["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"] = current["taskDefinitionArn"]
        revision = {"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(spec)}}
        bad = stage.cd.create_deployment(applicationName="web", deploymentGroupName="web",
                                         revision=revision)["deploymentId"]
        stage.until(bad, "Ready")
        stage.cd.continue_deployment(deploymentId=bad)
        stage.until(bad, "Failed")
        assert stage.info(bad)["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
        assert stage.weights(80) == {"green": 100} and stage.weights(8080) == {"green": 100}


def test_the_control_route_sets_a_hook_result(stage: Stage) -> None:
    import urllib.error
    import urllib.request

    def post(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(f"{stage.aws.endpoint_url}/_ecsdeploy/codedeploy-hook",
                                         data=json.dumps(body).encode(), method="POST")
        try:
            with urllib.request.urlopen(request) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    assert post({"function": "check", "result": "Maybe"})[0] == 400
    assert post({"result": "Failed"})[0] == 400
    assert post({"function": "check", "result": "Failed"}) == (200, {"function": "check", "result": "Failed"})
    stage.group()
    deployment = stage.deploy(stage.appspec(hooks=[{"AfterInstall": "check"}]))
    stage.until(deployment, "Failed", limit=120)


@pytest.mark.parametrize("change", [
    {"blueGreenDeploymentConfiguration": {"deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT",
                                                                    "waitTimeInMinutes": 5}}},
    {"blueGreenDeploymentConfiguration": {"terminateBlueInstancesOnDeploymentSuccess": {
        "action": "TERMINATE", "terminationWaitTimeInMinutes": 2881}}},
])
def test_a_blue_green_configuration_codedeploy_refuses_is_refused(stage: Stage, change: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as excinfo:
        stage.group(**change)
    assert error_code(excinfo) == "InvalidBlueGreenDeploymentConfigurationException"
    assert stage.cd.list_deployment_groups(applicationName="app")["deploymentGroups"] == []


def test_a_deployment_group_with_a_config_that_is_not_for_ecs_is_refused(stage: Stage) -> None:
    with pytest.raises(ClientError) as excinfo:
        stage.group(config="CodeDeployDefault.OneAtATime")
    assert error_code(excinfo) == "DeploymentConfigDoesNotExistException"


# The deployment group's CloudWatch alarms -------------------------------------------------------------------------

ON_ALARM = {"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}


def alarms(*names: str, ignore: bool = False) -> dict[str, Any]:
    return {"enabled": True, "ignorePollAlarmFailure": ignore, "alarms": [{"name": name} for name in names]}


def put_alarm(stage: Stage, name: str, state: str = "OK") -> None:
    cloudwatch = stage.aws.client("cloudwatch")
    cloudwatch.put_metric_alarm(AlarmName=name, MetricName="5xx", Namespace="web", Statistic="Sum", Period=60,
                                EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def test_the_alarm_configuration_is_kept_by_create_and_update_deployment_group(stage: Stage) -> None:
    stage.group(alarmConfiguration=alarms("web-5xx"))
    shown = stage.cd.get_deployment_group(applicationName="app", deploymentGroupName="dg")["deploymentGroupInfo"]
    assert shown["alarmConfiguration"] == alarms("web-5xx") and shown["computePlatform"] == "ECS"
    answer = stage.cd.update_deployment_group(applicationName="app", currentDeploymentGroupName="dg",
                                              alarmConfiguration=alarms("web-5xx", "web-latency", ignore=True),
                                              autoRollbackConfiguration=ON_ALARM)
    assert answer["hooksNotCleanedUp"] == []
    shown = stage.cd.get_deployment_group(applicationName="app", deploymentGroupName="dg")["deploymentGroupInfo"]
    assert shown["alarmConfiguration"] == alarms("web-5xx", "web-latency", ignore=True)
    assert shown["autoRollbackConfiguration"] == ON_ALARM
    assert shown["loadBalancerInfo"]["targetGroupPairInfoList"][0]["targetGroups"] == [{"name": "blue"},
                                                                                      {"name": "green"}]
    stage.cd.update_deployment_group(applicationName="app", currentDeploymentGroupName="dg",
                                     newDeploymentGroupName="web")
    assert stage.cd.list_deployment_groups(applicationName="app")["deploymentGroups"] == ["web"]
    assert stage.cd.get_deployment_group(applicationName="app", deploymentGroupName="web")[
        "deploymentGroupInfo"]["alarmConfiguration"] == alarms("web-5xx", "web-latency", ignore=True)


@pytest.mark.parametrize(("call", "params", "code"), [
    ("update", {"applicationName": "nope", "currentDeploymentGroupName": "dg"}, "ApplicationDoesNotExistException"),
    ("update", {"applicationName": "app", "currentDeploymentGroupName": "nope"},
     "DeploymentGroupDoesNotExistException"),
    ("get", {"applicationName": "app", "deploymentGroupName": "nope"}, "DeploymentGroupDoesNotExistException"),
    ("get", {"applicationName": "nope", "deploymentGroupName": "dg"}, "ApplicationDoesNotExistException"),
    ("update", {"applicationName": "app", "currentDeploymentGroupName": "dg", "newDeploymentGroupName": "other"},
     "DeploymentGroupAlreadyExistsException"),
    ("update", {"applicationName": "app", "currentDeploymentGroupName": "dg",
                "deploymentConfigName": "CodeDeployDefault.OneAtATime"}, "DeploymentConfigDoesNotExistException"),
    ("update", {"applicationName": "app", "currentDeploymentGroupName": "dg", "blueGreenDeploymentConfiguration": {
        "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 5}}},
     "InvalidBlueGreenDeploymentConfigurationException"),
])
def test_get_and_update_deployment_group_refusals(stage: Stage, call: str, params: dict[str, Any], code: str) -> None:
    stage.group()
    stage.group(name="other")
    with pytest.raises(ClientError) as excinfo:
        if call == "get":
            stage.cd.get_deployment_group(**params)
        else:
            stage.cd.update_deployment_group(**params)
    assert error_code(excinfo) == code


@pytest.mark.parametrize(("config", "code"), [
    ({"enabled": True, "alarms": []}, "InvalidAlarmConfigException"),
    ({"enabled": True, "alarms": [{"name": ""}]}, "InvalidAlarmConfigException"),
    ({"enabled": True, "alarms": [{"name": "x" * 256}]}, "InvalidAlarmConfigException"),
    ({"enabled": True, "alarms": [{}]}, "InvalidAlarmConfigException"),
    ({"enabled": True, "alarms": [{"name": "a"}, {"name": "a"}]}, "InvalidAlarmConfigException"),
    ({"enabled": True, "alarms": [{"name": f"a{i}"} for i in range(11)]}, "AlarmsLimitExceededException"),
])
def test_an_alarm_configuration_codedeploy_refuses_is_refused_everywhere(stage: Stage, config: dict[str, Any],
                                                                         code: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        stage.group(alarmConfiguration=config)
    assert error_code(excinfo) == code
    assert stage.cd.list_deployment_groups(applicationName="app")["deploymentGroups"] == []
    stage.group()
    with pytest.raises(ClientError) as excinfo:
        stage.cd.update_deployment_group(applicationName="app", currentDeploymentGroupName="dg",
                                         alarmConfiguration=config)
    assert error_code(excinfo) == code
    with pytest.raises(ClientError) as excinfo:
        stage.deploy(overrideAlarmConfiguration=config)
    assert error_code(excinfo) == code


def at(stage: Stage, deployment: str, phase: str) -> None:
    """Move the clock until ``deployment`` is in ``phase``: Install (the replacement starting), Ready, AllowTraffic
    (production traffic split) or the termination wait."""
    for _ in range(2000):
        info = stage.info(deployment)
        events = {e["lifecycleEventName"]: e["status"] for e in stage.target(deployment)["lifecycleEvents"]} \
            if info["status"] != "Created" else {}
        if phase == "Ready" and info["status"] == "Ready" or events.get(phase) == "InProgress" and (
                phase != "AllowTraffic" or stage.weights(80) == {"blue": 90, "green": 10}) or \
                phase == "termination wait" and info.get("instanceTerminationWaitTimeStarted"):
            return
        stage.next_instant()
    raise AssertionError(f"deployment {deployment} never reached {phase}")


@pytest.mark.parametrize("phase", ["Install", "Ready", "AllowTraffic", "termination wait"])
def test_an_alarm_going_off_stops_the_deployment_and_rolls_it_back_at_each_phase(stage: Stage, phase: str) -> None:
    put_alarm(stage, "web-5xx")
    put_alarm(stage, "web-latency")
    stage.group(config="CodeDeployDefault.ECSCanary10Percent5Minutes", termination_minutes=30,
                ready={"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60} if phase == "Ready" else None,
                alarmConfiguration=alarms("web-5xx", "web-latency"), autoRollbackConfiguration=ON_ALARM)
    deployment = stage.deploy()
    if phase == "AllowTraffic":
        stage.until(deployment, "InProgress")
    at(stage, deployment, phase)
    stage.aws.client("cloudwatch").set_alarm_state(AlarmName="web-latency", StateValue="ALARM", StateReason="slow")
    stage.advance(STEP)  # CodeDeploy reads the alarms as its clock moves
    info = stage.info(deployment)
    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "ALARM_ACTIVE" and "web-latency" in info["errorInformation"]["message"]
    assert "web-5xx" not in info["errorInformation"]["message"]
    rollback = info["rollbackInfo"]["rollbackDeploymentId"]
    assert stage.weights(80) == {"blue": 100} and stage.weights(8080) == {"blue": 100}
    stage.until(rollback, "Succeeded", limit=120)  # the alarm still rings: a rollback is not stopped by it
    [task_set] = stage.task_sets()
    assert task_set["status"] == "PRIMARY" and task_set["taskDefinition"] == stage.taskdefs[0]
    events = {e["lifecycleEventName"]: e["status"] for e in stage.target(deployment)["lifecycleEvents"]}
    assert "InProgress" not in events.values() and "Pending" not in events.values()


def test_an_alarm_without_stop_on_alarm_rollback_stops_the_deployment_only(stage: Stage) -> None:
    put_alarm(stage, "web-5xx")
    stage.group(alarmConfiguration=alarms("web-5xx"))  # auto rollback on DEPLOYMENT_FAILURE, STOP_ON_REQUEST only
    deployment = stage.deploy()
    at(stage, deployment, "Install")
    stage.aws.client("cloudwatch").set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="errors")
    stage.advance(STEP)
    info = stage.info(deployment)
    assert info["status"] == "Stopped" and info["errorInformation"]["code"] == "ALARM_ACTIVE"
    assert "rollbackInfo" not in info and len(stage.task_sets()) == 2


@pytest.mark.parametrize(("config", "stopped"), [
    ({"enabled": False, "alarms": [{"name": "web-5xx"}]}, False),
    (alarms("missing", ignore=True), False),
    (alarms("missing"), True),  # a state CodeDeploy cannot read stops it unless ignorePollAlarmFailure
])
def test_a_disabled_configuration_or_an_alarm_cloudwatch_lacks(stage: Stage, config: dict[str, Any],
                                                               stopped: bool) -> None:
    put_alarm(stage, "web-5xx", "ALARM")
    stage.group(alarmConfiguration=config, autoRollbackConfiguration=ON_ALARM)
    deployment = stage.deploy()
    if stopped:
        stage.until(deployment, "Stopped", limit=60)
        assert stage.info(deployment)["errorInformation"]["code"] == "ALARM_ACTIVE"
        assert "missing" in stage.info(deployment)["errorInformation"]["message"]
    else:
        stage.until(deployment, "Succeeded")


def test_override_alarm_configuration_lets_a_deployment_through_a_ringing_alarm(stage: Stage) -> None:
    put_alarm(stage, "web-5xx", "ALARM")
    stage.group(alarmConfiguration=alarms("web-5xx"), autoRollbackConfiguration=ON_ALARM)
    blocked = stage.deploy()
    stage.until(blocked, "Stopped", limit=60)
    stage.until(stage.info(blocked)["rollbackInfo"]["rollbackDeploymentId"], "Succeeded", limit=60)
    through = stage.deploy(overrideAlarmConfiguration={"enabled": False})
    assert stage.info(through)["overrideAlarmConfiguration"] == {"enabled": False}
    assert "overrideAlarmConfiguration" not in stage.info(blocked)
    stage.until(through, "Succeeded")


@pytest.mark.usefixtures("alone")
def test_a_seeded_group_with_alarms_creates_them_in_ok_and_rolls_back_on_alarm(tmp_path: Path) -> None:
    (tmp_path / "web.json").write_text(json.dumps({
        "family": "web", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256",
        "memory": "512", "containerDefinitions": [{"name": "app", "image": "placeholder", "essential": True,
                                                   "portMappings": [{"containerPort": 8080}]}]}))
    seed = {"clusters": ["local"], "repositories": {"web": {"tags": ["1.0.0"]}}, "services": {"web": {
        "task_definition": "web.json", "images": {"app": "web:1.0.0"}, "desired_count": 1,
        "load_balancer": {"target_group": "web-blue", "container": "app", "port": 8080},
        "codedeploy": {"alternate_target_group": "web-green", "alarms": ["web-5xx", "web-latency"]}}}}
    with LocalAWS(seed, base_dir=tmp_path, clock=FakeClock()) as aws:
        group = aws.client("codedeploy").get_deployment_group(applicationName="web", deploymentGroupName="web")[
            "deploymentGroupInfo"]
        assert group["alarmConfiguration"] == {"enabled": True, "ignorePollAlarmFailure": False,
                                               "alarms": [{"name": "web-5xx"}, {"name": "web-latency"}]}
        assert "DEPLOYMENT_STOP_ON_ALARM" in group["autoRollbackConfiguration"]["events"]
        described = aws.client("cloudwatch").describe_alarms(AlarmNames=["web-5xx", "web-latency"])["MetricAlarms"]
        assert sorted((a["AlarmName"], a["StateValue"]) for a in described) == [("web-5xx", "OK"),
                                                                                 ("web-latency", "OK")]
