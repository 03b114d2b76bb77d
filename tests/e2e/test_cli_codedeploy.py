"""``ecsdeploy rollback`` of a service on the CODE_DEPLOY controller, against the embedded local AWS (time 8x): a
deployment still going is stopped with its rollback, a finished one is followed by a new deployment of the
revision before."""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_ecsdeploy.cli import main
from pytest_ecsdeploy.cli.common import Output
from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.seed import parse_seed
from pytest_ecsdeploy.emulator.seeding import apply_seed

TASK_DEFINITION = {
    "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
    "containerDefinitions": [{"name": "app", "image": "web:placeholder", "essential": True,
                              "portMappings": [{"containerPort": 8080}]}],
}


@pytest.fixture(scope="module")
def local() -> Iterator[LocalAWS]:
    with LocalAWS(speed=8.0, runner="simulated") as aws:
        yield aws


@pytest.fixture
def aws(local: LocalAWS) -> LocalAWS:
    local.reset(seed=False)
    return local


def seed(aws: LocalAWS, tmp_path: Path, **codedeploy: Any) -> list[str]:
    """The CODE_DEPLOY service ``web`` on web:1 (tag 1.0.0) and web:2 (tag 2.0.0) registered; both ARNs."""
    tmp_path.joinpath("taskdef.json").write_text(json.dumps(TASK_DEFINITION))
    apply_seed(parse_seed({
        "clusters": ["local"], "repositories": {"web": {"tags": ["1.0.0", "2.0.0"]}},
        "services": {"web": {"task_definition": "taskdef.json", "images": {"app": "web:1.0.0"}, "desired_count": 1,
                             "load_balancer": {"target_group": "web-blue", "container": "app", "port": 8080},
                             "codedeploy": {"alternate_target_group": "web-green", "termination_wait_minutes": 0,
                                            **codedeploy}}},
    }, "test", tmp_path, {}), aws)
    ecs = aws.client("ecs")
    first = ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]
    app = {**first["containerDefinitions"][0], "image": first["containerDefinitions"][0]["image"].replace(
        ":1.0.0", ":2.0.0")}
    second = ecs.register_task_definition(**{**TASK_DEFINITION, "containerDefinitions": [app]})
    return [str(first["taskDefinitionArn"]), str(second["taskDefinition"]["taskDefinitionArn"])]


def deploy(aws: LocalAWS, revision: str, until: str) -> str:
    """A CodeDeploy deployment of ``revision`` started by hand, once it reached ``until``; its id."""
    spec = json.dumps({"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
        "TaskDefinition": revision, "LoadBalancerInfo": {"ContainerName": "app", "ContainerPort": 8080}}}}]})
    cd = aws.client("codedeploy")
    deployment = str(cd.create_deployment(applicationName="web", deploymentGroupName="web", revision={
        "revisionType": "AppSpecContent",
        "appSpecContent": {"content": spec, "sha256": hashlib.sha256(spec.encode()).hexdigest()}})["deploymentId"])
    deadline = time.monotonic() + 120
    while (status := cd.get_deployment(deploymentId=deployment)["deploymentInfo"]["status"]) != until:
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    return deployment


def rollback(aws: LocalAWS, tmp_path: Path) -> tuple[int, str, str]:
    deployments = tmp_path / "deployments"
    deployments.mkdir(exist_ok=True)
    (deployments / "ecsdeploy.toml").write_text(
        f'[environments.local]\nbackend = "emulator"\ncluster = "local"\nendpoint_url = "{aws.endpoint_url}"\n'
        f'wait_timeout = 120\n\n[services.web]\ncontainers = ["app"]\n')
    out, err = io.StringIO(), io.StringIO()
    code = main(["rollback", "--env", "local", "--service", "web", "--dir", str(deployments)], Output(out, err))
    return code, out.getvalue(), err.getvalue()


def primary(aws: LocalAWS) -> str:
    service = aws.client("ecs").describe_services(cluster="local", services=["web"])["services"][0]
    return str(next(t for t in service["taskSets"] if t["status"] == "PRIMARY")["taskDefinition"])


def test_a_deployment_waiting_at_ready_is_stopped_with_its_rollback(aws: LocalAWS, tmp_path: Path) -> None:
    first, second = seed(aws, tmp_path, ready_wait_minutes=60)
    deployment = deploy(aws, second, "Ready")
    code, out, err = rollback(aws, tmp_path)
    assert code == 0, out + err
    assert f"stopping CodeDeploy deployment {deployment} of web:2 with its rollback to web:1" in out
    assert out.rstrip().splitlines()[-1].startswith("rolled service web back: CodeDeploy rolled it back to web:1")
    assert aws.client("codedeploy").get_deployment(deploymentId=deployment)["deploymentInfo"]["status"] == "Stopped"
    assert primary(aws) == first


def test_after_a_deployment_succeeded_the_revision_before_goes_out_as_a_new_deployment(aws: LocalAWS,
                                                                                      tmp_path: Path) -> None:
    first, second = seed(aws, tmp_path)
    deploy(aws, second, "Succeeded")
    assert primary(aws) == second
    code, out, err = rollback(aws, tmp_path)
    assert code == 0, out + err
    assert "rolling service web back: web:2 -> web:1 (a new CodeDeploy deployment, continued at Ready)" in out
    assert ": lifecycle event AllowTraffic " in out
    assert primary(aws) == first
