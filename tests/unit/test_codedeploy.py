"""actions/codedeploy.py without AWS: the AppSpec built from a service, its sha256, the time-out from the deployment
group and config, the group found by the service (botocore Stubber), and the watch's lines and verdicts."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from fakes import stubbed

from pytest_ecsdeploy.actions.codedeploy import (
    PAUSED,
    SHIFTED,
    CodeDeployVerdict,
    CodeDeployWatch,
    DeploymentGroup,
    appspec_revision,
    budget,
    build_appspec,
    find_group,
    shift_minutes,
)
from pytest_ecsdeploy.actions.watch import COMPLETED, FAILED
from pytest_ecsdeploy.config import Service
from pytest_ecsdeploy.errors import ActionError

ARN = "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:7"
SERVICE: dict[str, Any] = {
    "serviceName": "web",
    "loadBalancers": [{"targetGroupArn": "arn:tg/blue", "containerName": "app", "containerPort": 8080}],
    "platformVersion": "1.4.0",
    "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-old"]}},
    "taskSets": [{"status": "PRIMARY", "taskDefinition": ARN.replace(":7", ":6"), "platformVersion": "LATEST",
                  "networkConfiguration": {"awsvpcConfiguration": {
                      "subnets": ["subnet-a"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}},
                  "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 2, "base": 1}]}],
}


def test_the_appspec_takes_the_primary_task_sets_settings_and_the_hooks_in_their_order() -> None:
    spec = build_appspec(SERVICE, ARN, {"AfterAllowTraffic": "after", "BeforeInstall": "before"})
    assert spec == {"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
        "TaskDefinition": ARN,
        "LoadBalancerInfo": {"ContainerName": "app", "ContainerPort": 8080},
        "PlatformVersion": "LATEST",
        "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-a"], "SecurityGroups": ["sg-1"],
                                                         "AssignPublicIp": "DISABLED"}},
        "CapacityProviderStrategy": [{"Base": 1, "CapacityProvider": "FARGATE_SPOT", "Weight": 2}]}}}],
        "Hooks": [{"BeforeInstall": "before"}, {"AfterAllowTraffic": "after"}]}


def test_without_a_primary_task_set_the_services_own_settings_are_used_and_without_hooks_none_are_sent() -> None:
    spec = build_appspec({**SERVICE, "taskSets": []}, ARN, {})
    properties = spec["Resources"][0]["TargetService"]["Properties"]
    assert properties["PlatformVersion"] == "1.4.0" and "CapacityProviderStrategy" not in properties
    assert properties["NetworkConfiguration"] == {"AwsvpcConfiguration": {"Subnets": ["subnet-old"]}}
    assert "Hooks" not in spec


def test_a_service_without_a_load_balancer_gets_no_appspec() -> None:
    with pytest.raises(ActionError, match="service 'web' has no load balancer with a container name and port"):
        build_appspec({**SERVICE, "loadBalancers": []}, ARN, {})


def test_the_revision_carries_the_contents_sha256() -> None:
    revision = appspec_revision(build_appspec(SERVICE, ARN, {}))
    content = revision["appSpecContent"]["content"]
    assert revision["revisionType"] == "AppSpecContent" and json.loads(content)["Resources"]
    assert revision["appSpecContent"]["sha256"] == hashlib.sha256(content.encode()).hexdigest()


@pytest.mark.parametrize(("name", "minutes"), [
    ("CodeDeployDefault.ECSAllAtOnce", 0.0),
    ("CodeDeployDefault.ECSLinear10PercentEvery1Minutes", 9.0),
    ("CodeDeployDefault.ECSLinear10PercentEvery3Minutes", 27.0),
    ("CodeDeployDefault.ECSCanary10Percent5Minutes", 5.0),
    ("CodeDeployDefault.ECSCanary10Percent15Minutes", 15.0),
])
def test_the_predefined_configs_shift_in_the_minutes_their_names_say(name: str, minutes: float) -> None:
    assert shift_minutes(None, name, who="service 'web'") == minutes  # type: ignore[arg-type]  # no call made


class Clients:
    """A ClientFactory stand-in handing out one stubbed client."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def client(self, name: str, region: str | None = None) -> Any:
        return self._client


@pytest.mark.parametrize(("routing", "minutes"), [
    ({"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 25, "linearInterval": 4}}, 12.0),
    ({"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 5, "canaryInterval": 30}}, 30.0),
    ({"type": "AllAtOnce"}, 0.0),
])
def test_a_custom_config_is_read(routing: dict[str, Any], minutes: float) -> None:
    with stubbed("codedeploy") as (client, stubber):
        stubber.add_response("get_deployment_config", {"deploymentConfigInfo": {"trafficRoutingConfig": routing}},
                             {"deploymentConfigName": "Slow"})
        assert shift_minutes(Clients(client), "Slow", who="service 'web'") == minutes  # type: ignore[arg-type]


def group(ready: str = "CONTINUE_DEPLOYMENT", wait: int = 0, termination: int = 0) -> DeploymentGroup:
    return DeploymentGroup("app", "dg", {
        "ecsServices": [{"clusterName": "prod", "serviceName": "web"}],
        "blueGreenDeploymentConfiguration": {
            "deploymentReadyOption": {"actionOnTimeout": ready, "waitTimeInMinutes": wait},
            "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE",
                                                          "terminationWaitTimeInMinutes": termination}}})


def test_the_time_out_adds_the_ready_wait_the_shift_and_the_termination_wait_where_deploy_waits_for_them() -> None:
    stopping = group("STOP_DEPLOYMENT", wait=30, termination=60)
    assert budget(stopping, 9.0, 600, None) == 600 + 60 * (30 + 9 + 60)
    assert budget(stopping, 9.0, 600, "test_traffic") == 600 + 60 * 9
    assert budget(stopping, 9.0, 600, "traffic_shifted") == 600 + 60 * (30 + 9)
    assert group(wait=30).ready_minutes == 0  # the wait applies only to STOP_DEPLOYMENT


def test_the_group_is_found_by_the_service() -> None:
    config = Service(name="web", service_name="web")
    with stubbed("codedeploy") as (client, stubber):
        stubber.add_response("list_applications", {"applications": ["app", "other"]})
        stubber.add_response("list_deployment_groups", {"deploymentGroups": ["dg", "dg2"]}, {"applicationName": "app"})
        stubber.add_response("get_deployment_group", {"deploymentGroupInfo": {**group().info,
                                                                              "computePlatform": "ECS"}},
                             {"applicationName": "app", "deploymentGroupName": "dg"})
        stubber.add_response("get_deployment_group", {"deploymentGroupInfo": {"ecsServices": [
            {"clusterName": "prod", "serviceName": "api"}]}}, {"applicationName": "app", "deploymentGroupName": "dg2"})
        stubber.add_response("list_deployment_groups", {"deploymentGroups": []}, {"applicationName": "other"})
        found, detail = find_group(Clients(client), config, "prod", "web", who="service 'web'")  # type: ignore[arg-type]
    assert found is not None and (found.application, found.name) == ("app", "dg")
    assert detail == "deployment group 'dg' of application 'app' (found by the service)"


def test_no_group_for_the_service_says_which_keys_to_set() -> None:
    config = Service(name="web", service_name="web")
    with stubbed("codedeploy") as (client, stubber):
        stubber.add_response("list_applications", {"applications": []})
        found, detail = find_group(Clients(client), config, "prod", "web", who="service 'web'")  # type: ignore[arg-type]
    assert found is None
    assert detail == ("no CodeDeploy deployment group names prod:web in its ecsServices; set codedeploy_application "
                      "and codedeploy_deployment_group in [services.web]")


def target(*events: tuple[str, str], green: float = 0.0) -> dict[str, Any]:
    return {"lifecycleEvents": [{"lifecycleEventName": n, "status": s} for n, s in events],
            "taskSetsInfo": [{"taskSetLabel": "Blue", "trafficWeight": 100.0 - green, "runningCount": 2,
                              "desiredCount": 2},
                             {"taskSetLabel": "Green", "trafficWeight": green, "runningCount": 2, "desiredCount": 2}]}


def watch(until: str | None = None) -> CodeDeployWatch:
    return CodeDeployWatch(None, who="service 'web'", deployment_id="d-1", target_id="prod:web",  # type: ignore[arg-type]
                           revision=ARN, until=until)


def test_each_event_is_printed_as_it_starts_and_ends_and_an_unknown_one_too() -> None:
    w = watch()
    lines, verdict = w.judge({"status": "InProgress"}, target(("BeforeInstall", "Succeeded"),
                                                              ("Install", "InProgress")))
    assert verdict is None and lines == [
        "CodeDeploy deployment d-1 of web:7: InProgress (status InProgress, production traffic Blue 100% / Green 0%, "
        "Blue 2 of 2 tasks running, Green 2 of 2 tasks running)",
        "CodeDeploy deployment d-1 of web:7: lifecycle event BeforeInstall succeeded (status InProgress, production "
        "traffic Blue 100% / Green 0%, Blue 2 of 2 tasks running, Green 2 of 2 tasks running)",
        "CodeDeploy deployment d-1 of web:7: lifecycle event Install started (status InProgress, production traffic "
        "Blue 100% / Green 0%, Blue 2 of 2 tasks running, Green 2 of 2 tasks running)"]
    lines, verdict = w.judge({"status": "InProgress"}, target(("BeforeInstall", "Succeeded"), ("Install", "Succeeded"),
                                                              ("WarmUpCaches", "InProgress")))
    assert verdict is None and [line.split(": ", 1)[1].split(" (")[0] for line in lines] == [
        "lifecycle event Install succeeded", "lifecycle event WarmUpCaches started"]
    assert [h["event"] for h in w.history] == ["BeforeInstall", "Install", "Install", "WarmUpCaches"]


@pytest.mark.parametrize("status", ["Failed", "Stopped"])
def test_failed_and_stopped_are_failures_with_their_reason_and_rollback(status: str) -> None:
    w = watch()
    _, verdict = w.judge({"status": status, "errorInformation": {"code": "HOOK_EXECUTION_FAILURE",
                                                                 "message": "The hook failed."},
                          "rollbackInfo": {"rollbackDeploymentId": "d-2"}},
                         target(("AfterInstall", "Failed")))
    assert isinstance(verdict, CodeDeployVerdict) and verdict.outcome == FAILED
    assert verdict.rollback_deployment == "d-2"
    assert verdict.reason == (f"CodeDeploy deployment d-1 of web:7 {status} at lifecycle event AfterInstall: "
                              f"HOOK_EXECUTION_FAILURE: The hook failed; CodeDeploy rolls back (deployment d-2)")


def test_only_succeeded_completes_and_ready_or_the_shift_end_the_watch_only_when_asked() -> None:
    assert watch().judge({"status": "Ready"}, target())[1] is None
    assert watch().judge({"status": "Baking"}, target(green=100.0))[1] is None
    paused = watch("test_traffic").judge({"status": "Ready"}, target())[1]
    assert paused is not None and paused.outcome == PAUSED
    shifted = watch("traffic_shifted").judge({"status": "InProgress"}, target(green=100.0))[1]
    assert shifted is not None and shifted.outcome == SHIFTED
    assert watch("traffic_shifted").judge({"status": "InProgress"}, target(green=90.0))[1] is None
    done = watch().judge({"status": "Succeeded"}, None)[1]
    assert done is not None and done.outcome == COMPLETED
