"""The production and test listener endpoints of a CODE_DEPLOY service on LocalAWS: during a CodeDeploy deployment
stopped at Ready, GET /version through the test listener answers the replacement's tag and through the production
listener the original's; after ContinueDeployment production answers the replacement's. Simulated runner, on a
clock only the test moves."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from module_aws import ModuleAWS, next_instant

from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.clock import FakeClock
from pytest_ecsdeploy.emulator.seed import parse_seed
from pytest_ecsdeploy.errors import ConfigError


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seed(tmp_path: Path, **codedeploy: Any) -> dict[str, Any]:
    (tmp_path / "web.json").write_text(json.dumps({
        "family": "web", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256",
        "memory": "512", "containerDefinitions": [{"name": "app", "image": "placeholder", "essential": True,
                                                   "portMappings": [{"containerPort": 8080}]}]}))
    return {"clusters": ["local"], "repositories": {"web": {"tags": ["1.0.0", "1.1.0"]}}, "services": {"web": {
        "task_definition": "web.json", "images": {"app": "web:1.0.0"}, "desired_count": 2,
        "load_balancer": {"target_group": "web-blue", "container": "app", "port": 8080},
        "codedeploy": {"alternate_target_group": "web-green", "ready_wait_minutes": 30,
                       "termination_wait_minutes": 0, **codedeploy}}}}


def get(url: str) -> tuple[int, str, str]:
    """(status, body, the X-Ecsdeploy-Target-Group header) of GET ``url``."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode().strip(), response.headers.get("X-Ecsdeploy-Target-Group", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode().strip(), exc.headers.get("X-Ecsdeploy-Target-Group", "")


def advance_until(aws: LocalAWS, clock: FakeClock, deployment: str, status: str) -> None:
    """Move the clock from one change the engine has due to the next (or by module_aws.STEP when none is) until
    ``deployment`` is at ``status``."""
    cd, ecs = aws.client("codedeploy"), aws.client("ecs")
    for _ in range(4000):
        if cd.get_deployment(deploymentId=deployment)["deploymentInfo"]["status"] == status:
            return
        next_instant(aws, clock)
        ecs.list_services(cluster="local")  # a request moves the engine to the clock's time
    raise AssertionError(f"deployment {deployment} never reached {status}")


def deploy(aws: LocalAWS, tag: str) -> str:
    ecs, cd = aws.client("ecs"), aws.client("codedeploy")
    current = ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]
    payload = {k: current[k] for k in ("family", "containerDefinitions", "networkMode", "requiresCompatibilities",
                                       "cpu", "memory")}
    payload["containerDefinitions"][0]["image"] = f"web:{tag}"
    taskdef = ecs.register_task_definition(**payload)["taskDefinition"]["taskDefinitionArn"]
    spec = {"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
        "TaskDefinition": taskdef, "LoadBalancerInfo": {"ContainerName": "app", "ContainerPort": 8080}}}}]}
    revision = {"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(spec)}}
    return str(cd.create_deployment(applicationName="web", deploymentGroupName="web",
                                    revision=revision)["deploymentId"])


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleAWS]:
    base_dir = tmp_path_factory.mktemp("listeners")
    with ModuleAWS(seed(base_dir), base_dir=base_dir) as aws:
        yield aws


@pytest.mark.usefixtures("alone")
def test_the_test_listener_answers_the_replacement_at_ready_and_production_follows_after_continue(
        tmp_path: Path) -> None:
    ports = free_port(), free_port()
    clock = FakeClock()
    with LocalAWS(seed(tmp_path, listen_port=ports[0], test_listen_port=ports[1]), base_dir=tmp_path,
                  clock=clock) as aws:
        production, test = aws.listener_url("web"), aws.listener_url("web", test=True)
        assert (production, test) == (f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}")
        assert get(production + "/version") == (200, "1.0.0", "web-blue")
        assert get(test + "/version") == (200, "1.0.0", "web-blue")
        deployment = deploy(aws, "1.1.0")
        advance_until(aws, clock, deployment, "Ready")
        for _ in range(3):  # every request, not one lucky pick
            assert get(test + "/version") == (200, "1.1.0", "web-green")
            assert get(production + "/version") == (200, "1.0.0", "web-blue")
        aws.client("codedeploy").continue_deployment(deploymentId=deployment)
        advance_until(aws, clock, deployment, "Succeeded")
        assert get(production + "/version") == (200, "1.1.0", "web-green")


def test_listener_endpoints_default_to_free_ports(shared: ModuleAWS) -> None:
    aws = shared.fresh().local
    production, test = aws.listener_url("web"), aws.listener_url("web", test=True)
    assert production != test
    assert get(production + "/version")[:2] == get(test + "/version")[:2] == (200, "1.0.0")
    with pytest.raises(LookupError, match="CodeDeploy deployment group with a prodTrafficRoute"):
        aws.listener_url("nothing")


def test_a_code_deploy_service_whose_group_has_no_test_route_has_no_test_listener_endpoint(shared: ModuleAWS) -> None:
    aws = shared.fresh().local
    ecs, cd = aws.client("ecs"), aws.client("codedeploy")
    web = ecs.describe_services(cluster="local", services=["web"])["services"][0]
    group = cd.get_deployment_group(applicationName="web", deploymentGroupName="web")["deploymentGroupInfo"]
    pair = group["loadBalancerInfo"]["targetGroupPairInfoList"][0]
    ecs.create_service(cluster="local", serviceName="api", taskDefinition=web["taskDefinition"], desiredCount=1,
                       deploymentController={"type": "CODE_DEPLOY"}, launchType="FARGATE",
                       networkConfiguration=web["networkConfiguration"], loadBalancers=web["loadBalancers"])
    cd.create_application(applicationName="api", computePlatform="ECS")
    cd.create_deployment_group(
        applicationName="api", deploymentGroupName="api", serviceRoleArn=group["serviceRoleArn"],
        deploymentStyle=group["deploymentStyle"], ecsServices=[{"clusterName": "local", "serviceName": "api"}],
        blueGreenDeploymentConfiguration=group["blueGreenDeploymentConfiguration"],
        loadBalancerInfo={"targetGroupPairInfoList": [{"targetGroups": pair["targetGroups"],
                                                       "prodTrafficRoute": pair["prodTrafficRoute"]}]})
    assert aws.listener_url("api").startswith("http://127.0.0.1:")
    with pytest.raises(LookupError, match="testTrafficRoute"):
        aws.listener_url("api", test=True)


@pytest.mark.parametrize("keys, message", [
    ({"listen_port": 0}, "listen_port"),
    ({"test_listen_port": 70000}, "test_listen_port"),
    ({"listen_port": 9000, "test_listen_port": 9000}, "must differ from listen_port"),
    ({"listen_port": "9000"}, "listen_port"),
])
def test_bad_listen_ports_are_refused(tmp_path: Path, keys: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_seed(seed(tmp_path, **keys), "seed.toml", tmp_path, {})
