"""The target group endpoints of the simulated runner: its tasks run no process, so the endpoint answers for
them as the example image would (``loadbalancer.simulated_answer``), only for tasks registered in the target
group, RUNNING and not UNHEALTHY; with none, 503, as on Docker. Time is a FakeClock that only the tests move,
so every answer is read at a known state."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.clock import FakeClock

CLUSTER = "local"
TASKDEF = {
    "family": "web",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [{"name": "app", "image": "web:placeholder", "essential": True,
                              "portMappings": [{"containerPort": 8080, "protocol": "tcp"}]}],
}
Answer = tuple[int, str, "str | None", "str | None"]  # status, body, X-Ecsdeploy-Task, X-Ecsdeploy-Simulated


def _get(url: str) -> Answer:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            headers = answer.headers
            status, body = answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        headers, status, body = error.headers, error.code, error.read().decode()
    return status, body.strip(), headers.get("X-Ecsdeploy-Task"), headers.get("X-Ecsdeploy-Simulated")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Simulated:
    """A LocalAWS on a FakeClock with the seeded service ``web`` (2 tasks of web:1.0.0) behind target group
    ``web``, whose endpoint listens on ``port``."""

    def __init__(self, aws: LocalAWS, clock: FakeClock, port: int) -> None:
        self.aws, self.clock, self.port = aws, clock, port
        self.ecs = aws.client("ecs")

    def tasks(self, service: str, status: str = "RUNNING") -> list[dict[str, Any]]:
        arns = self.ecs.list_tasks(cluster=CLUSTER, serviceName=service, desiredStatus=status)["taskArns"]
        return list(self.ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"]) if arns else []

    def task_ids(self, service: str) -> set[str]:
        return {t["taskArn"].rsplit("/", 1)[1] for t in self.tasks(service) if t["lastStatus"] == "RUNNING"}

    def advance_until(self, what: str, done: Callable[[], bool], step: float = 0.05, limit: int = 400) -> None:
        """Move simulated time by ``step`` until ``done()`` (whose ECS reads advance the engine to it); fail
        naming ``what`` after ``limit`` steps."""
        for _ in range(limit):
            if done():
                return
            self.clock.advance(step)
        pytest.fail(f"{what} did not happen within {step * limit:.0f} simulated seconds")

    def revision(self, image: str) -> str:
        definition = json.loads(json.dumps(TASKDEF))
        definition["containerDefinitions"][0]["image"] = image
        answer = self.ecs.register_task_definition(**definition)
        return str(answer["taskDefinition"]["taskDefinitionArn"])


@pytest.fixture
def simulated(tmp_path: Path) -> Iterator[Simulated]:
    (tmp_path / "taskdef.json").write_text(json.dumps(TASKDEF))
    port = _free_port()
    seed = {
        "clusters": [CLUSTER],
        "repositories": {"web": {"tags": ["1.0.0", "2.0.0", "3.0.0"]}},
        "services": {"web": {"task_definition": "taskdef.json", "images": {"app": "web:1.0.0"}, "desired_count": 2,
                             "load_balancer": {"target_group": "web", "container": "app", "port": 8080,
                                               "listen_port": port}}},
    }
    clock = FakeClock()
    with LocalAWS(seed, base_dir=tmp_path, clock=clock, runner="simulated") as aws:
        yield Simulated(aws, clock, port)


def test_healthy_tasks_answer_health_and_their_tag_through_the_seeded_port(simulated: Simulated) -> None:
    url = f"http://127.0.0.1:{simulated.port}"
    assert simulated.aws.runner_name == "simulated"
    assert simulated.aws.load_balancer_url("web") == url
    running = simulated.task_ids("web")
    assert len(running) == 2

    health = [_get(f"{url}/health") for _ in range(4)]
    assert {(status, body, flag) for status, body, _, flag in health} == {(200, "ok", "1")}
    assert {task for _, _, task, _ in health} == running  # round robin over both tasks
    assert _get(f"{url}/version")[:2] == (200, "1.0.0")  # the image reference's tag (web:1.0.0)
    assert _get(f"{url}/health?probe=1")[:2] == (200, "ok")
    assert _get(f"{url}/missing")[:2] == (404, "404 Not Found")


def test_version_is_the_ecr_tag_of_a_digest_pinned_image(simulated: Simulated) -> None:
    ecr = simulated.aws.client("ecr")
    image = ecr.describe_images(repositoryName="web", imageIds=[{"imageTag": "2.0.0"}])["imageDetails"][0]
    uri = ecr.describe_repositories(repositoryNames=["web"])["repositories"][0]["repositoryUri"]
    arn = simulated.revision(f"{uri}@{image['imageDigest']}")
    simulated.ecs.update_service(cluster=CLUSTER, service="web", taskDefinition=arn)

    def rolled_out() -> bool:
        service = simulated.ecs.describe_services(cluster=CLUSTER, services=["web"])["services"][0]
        return [d["rolloutState"] for d in service["deployments"]] == ["COMPLETED"]

    simulated.advance_until("the rollout to the digest-pinned revision", rolled_out)
    answers = [_get(f"http://127.0.0.1:{simulated.port}/version") for _ in range(4)]
    assert {(status, body) for status, body, _, _ in answers} == {(200, "2.0.0")}
    assert {task for _, _, task, _ in answers} == simulated.task_ids("web")


def test_a_crashing_image_gets_503_once_its_task_has_stopped(simulated: Simulated) -> None:
    aws = simulated.aws
    aws.set_image_behaviour("web:3.0.0", "crash", exit_code=3, after=0.5)
    vpc = aws.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    group = aws.client("elbv2").create_target_group(Name="broken", Protocol="HTTP", Port=8080, VpcId=vpc,
                                                    TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    uri = aws.client("ecr").describe_repositories(repositoryNames=["web"])["repositories"][0]["repositoryUri"]
    subnet = aws.client("ec2").describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][0]["SubnetId"]
    simulated.ecs.create_service(
        cluster=CLUSTER, serviceName="broken", taskDefinition=simulated.revision(f"{uri}:3.0.0"), desiredCount=1,
        launchType="FARGATE", loadBalancers=[{"targetGroupArn": group, "containerName": "app", "containerPort": 8080}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet]}})
    url = aws.load_balancer_url("broken")  # an endpoint for a target group created through the API
    assert url != f"http://127.0.0.1:{simulated.port}"

    simulated.advance_until("the task to run", lambda: bool(simulated.task_ids("broken")))
    assert _get(f"{url}/version")[:2] == (200, "3.0.0")  # registered and RUNNING: it answers until it exits

    def crashed_and_none_running() -> bool:
        stopped = simulated.tasks("broken", "STOPPED")
        return any(t["containers"][0].get("exitCode") == 3 for t in stopped) and not simulated.task_ids("broken")

    simulated.advance_until("the task to exit with 3", crashed_and_none_running)
    assert _get(f"{url}/version")[:2] == (503, "no healthy targets in target group broken")
    assert _get(f"http://127.0.0.1:{simulated.port}/version")[:2] == (200, "1.0.0")  # web is not affected


def test_after_a_reset_the_seeded_port_answers_for_the_new_tasks(simulated: Simulated) -> None:
    url = f"http://127.0.0.1:{simulated.port}"
    before = simulated.task_ids("web")
    simulated.aws.reset()
    after = simulated.task_ids("web")
    assert len(after) == 2 and not after & before
    answer = _get(f"{url}/version")
    assert answer[:2] == (200, "1.0.0") and answer[2] in after
    simulated.aws.reset(seed=False)
    with pytest.raises(OSError):  # nothing listens on the seeded port of a LocalAWS without that seed
        _get(f"{url}/version")
