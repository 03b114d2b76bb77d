"""Real containers in the embedded local AWS: the Docker runner, the registry behind ECR, the local
load balancer. One LocalAWS (runner docker, speed 4) for the module, with the example image pushed in three
versions; each test rolls out its own service behind its own target group."""

from __future__ import annotations

import datetime
import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import docker
import pytest

from pytest_ecsdeploy.emulator import LocalAWS

pytestmark = pytest.mark.docker  # skipped with the reason where Docker is missing (conftest.py)

CLUSTER = "local"
SPEED = 4.0  # simulated seconds per wall second; Docker health checks and stop timeouts are divided by it too
FAILING_HEALTH_CHECK = {"command": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/missing || exit 1"],
                        "interval": 5, "timeout": 2, "retries": 1}


def push(local_image: str, uri: str, tag: str) -> str:
    """``docker tag`` + ``docker push`` to a repository URI; the digest Docker reports."""
    subprocess.run(["docker", "tag", local_image, f"{uri}:{tag}"], check=True, capture_output=True, timeout=60)
    done = subprocess.run(["docker", "push", f"{uri}:{tag}"], check=True, capture_output=True, text=True,
                          timeout=120)
    line = next(line for line in done.stdout.splitlines() if "digest: sha256:" in line)
    return line.split("digest: ", 1)[1].split(" ", 1)[0]


@dataclass
class Local:
    """The module's LocalAWS with the pushed images (``digests[tag]`` as Docker reported the push), and the
    session's ``wait_for`` and ``http_get``."""

    aws: LocalAWS
    uri: str
    digests: dict[str, str]
    vpc: str
    wait_for: Callable[..., Any]
    get: Callable[[str], tuple[int, str, str | None]]

    @property
    def ecs(self) -> Any:
        return self.aws.client("ecs")

    def taskdef(self, tag: str, **changes: Any) -> str:
        container = {"name": "app", "image": f"{self.uri}:{tag}", "memory": 64, "essential": True,
                     "portMappings": [{"containerPort": 8080, "protocol": "tcp"}], **changes}
        answer = self.ecs.register_task_definition(family="web", containerDefinitions=[container])
        return str(answer["taskDefinition"]["taskDefinitionArn"])

    def service(self, name: str, taskdef: str, desired: int = 1) -> str:
        """A service with a circuit breaker (rollback on) behind a new target group named ``name``; waits for
        steady state and returns its load balancer URL."""
        group = self.aws.client("elbv2").create_target_group(
            Name=name, Protocol="HTTP", Port=8080, VpcId=self.vpc, TargetType="ip")["TargetGroups"][0]
        self.ecs.create_service(
            cluster=CLUSTER, serviceName=name, taskDefinition=taskdef, desiredCount=desired,
            loadBalancers=[{"targetGroupArn": group["TargetGroupArn"], "containerName": "app", "containerPort": 8080}],
            deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
        )
        self.steady(name, taskdef)
        return self.aws.load_balancer_url(name)

    def describe(self, name: str) -> dict[str, Any]:
        return dict(self.ecs.describe_services(cluster=CLUSTER, services=[name])["services"][0])

    def steady(self, name: str, taskdef: str) -> dict[str, Any]:
        """Wait until the service has one COMPLETED deployment of ``taskdef`` with every task running."""

        def probe() -> dict[str, Any] | None:
            service = self.describe(name)
            (deployment, *others) = service["deployments"]
            done = (not others and deployment["rolloutState"] == "COMPLETED" and deployment["taskDefinition"] == taskdef
                    and service["runningCount"] == service["desiredCount"])
            return service if done else None

        return dict(self.wait_for(f"service {name} steady on {taskdef}", probe))

    def tasks(self, name: str, status: str = "RUNNING") -> list[dict[str, Any]]:
        arns = self.ecs.list_tasks(cluster=CLUSTER, serviceName=name, desiredStatus=status)["taskArns"]
        return list(self.ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"]) if arns else []

    def events(self, name: str) -> list[str]:
        return [event["message"] for event in reversed(self.describe(name)["events"])]

    def answers(self, url: str, count: int) -> list[tuple[int, str, str | None]]:
        """``count`` GET /version answers through the load balancer, once every task's target is routed."""
        return [self.get(f"{url}/version") for _ in range(count)]


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    api = docker.from_env()
    yield api
    api.close()


@pytest.fixture(scope="module")
def local(example_image: Callable[..., str], wait_for: Callable[..., Any],
          http_get: Callable[[str], tuple[int, str, str | None]]) -> Iterator[Local]:
    images = {
        "1.0.0": example_image("1.0.0"),
        "2.0.0": example_image("2.0.0"),
        "3.0.0-broken": example_image("3.0.0-broken", "EXIT_AT_START=3"),
    }
    with LocalAWS(runner="docker", speed=SPEED) as aws:
        uri = aws.client("ecr").create_repository(repositoryName="web")["repository"]["repositoryUri"]
        digests = {tag: push(image, uri, tag) for tag, image in images.items()}
        aws.client("ecs").create_cluster(clusterName=CLUSTER)
        [instance] = aws.client("ec2").run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"]
        aws.client("ecs").register_container_instance(  # the task definitions here run on EC2 container instances
            cluster=CLUSTER, instanceIdentityDocument=json.dumps({"instanceId": instance["InstanceId"]}))
        vpc = aws.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
        yield Local(aws, uri, digests, vpc, wait_for, http_get)


def _container(client: Any, task: dict[str, Any], name: str = "app") -> Any:
    task_id = task["taskArn"].rsplit("/", 1)[-1]
    found = client.containers.list(all=True, filters={"label": [f"ecsdeploy.task={task_id}",
                                                                f"ecsdeploy.container={name}"]})
    assert len(found) == 1, found
    return found[0]


# -- ECR on the registry --------------------------------------------------------------------------------------


def test_pushed_images_are_in_ecr_with_the_registry_digests(local: Local) -> None:
    ecr = local.aws.client("ecr")
    assert local.uri == f"{local.aws.registry_host}/web"
    details = ecr.describe_images(repositoryName="web")["imageDetails"]
    assert {tag: d["imageDigest"] for d in details for tag in d["imageTags"]} == local.digests
    # a promotion through PutImage is served to Docker under the new tag, with the same digest
    manifest = ecr.batch_get_image(repositoryName="web", imageIds=[{"imageTag": "2.0.0"}])["images"][0]
    ecr.put_image(repositoryName="web", imageTag="prod", imageManifest=manifest["imageManifest"])
    pulled = docker.from_env().api.inspect_distribution(f"{local.uri}:prod")
    assert pulled["Descriptor"]["digest"] == local.digests["2.0.0"]
    token = ecr.get_authorization_token()["authorizationData"][0]
    assert token["proxyEndpoint"] == f"http://{local.aws.registry_host}"


# -- rollouts of real containers ------------------------------------------------------------------------------


def test_rolling_update_serves_the_new_version_from_every_task(local: Local) -> None:
    v1, v2 = local.taskdef("1.0.0"), local.taskdef("2.0.0")
    url = local.service("rolling", v1, desired=2)
    local.wait_for("both tasks behind the load balancer", lambda: len({t for _, _, t in local.answers(url, 4)}) == 2)
    assert {(status, body) for status, body, _ in local.answers(url, 6)} == {(200, "1.0.0")}

    local.ecs.update_service(cluster=CLUSTER, service="rolling", taskDefinition=v2)
    during: list[tuple[int, str]] = []

    def rolled_out() -> bool:
        during.extend((status, body) for status, body, _ in local.answers(url, 2))
        service = local.describe("rolling")
        return len(service["deployments"]) == 1 and service["deployments"][0]["rolloutState"] == "COMPLETED"

    local.wait_for("the rollout to v2", rolled_out)
    assert set(during) <= {(200, "1.0.0"), (200, "2.0.0")}  # no request failed while tasks were replaced
    running = local.tasks("rolling")
    assert {t["taskDefinitionArn"] for t in running} == {v2}
    assert {c["imageDigest"] for t in running for c in t["containers"]} == {local.digests["2.0.0"]}
    answers = local.answers(url, 6)
    assert {(status, body) for status, body, _ in answers} == {(200, "2.0.0")}
    assert {task for _, _, task in answers} == {t["taskArn"].rsplit("/", 1)[-1] for t in running}


def test_an_image_that_exits_at_start_trips_the_circuit_breaker_and_rolls_back(local: Local) -> None:
    v1, broken = local.taskdef("1.0.0"), local.taskdef("3.0.0-broken")
    url = local.service("crashing", v1)
    local.ecs.update_service(cluster=CLUSTER, service="crashing", taskDefinition=broken)
    local.wait_for("the rollback to start", lambda: any("rolling back to deployment" in e for e in local.events("crashing")))
    local.steady("crashing", v1)

    events = local.events("crashing")
    assert any(e.endswith("deployment failed: tasks failed to start.") for e in events)
    failed = [t for t in local.tasks("crashing", "STOPPED") if t["taskDefinitionArn"] == broken]
    assert len(failed) >= 3
    for task in failed:
        assert (task["stopCode"], task["stoppedReason"]) == ("EssentialContainerExited",
                                                             "Essential container in task exited")
        assert task["containers"][0]["exitCode"] == 3
    assert {(status, body) for status, body, _ in local.answers(url, 4)} == {(200, "1.0.0")}


def test_a_health_check_that_never_passes_replaces_tasks_and_rolls_back(local: Local) -> None:
    v1, sick = local.taskdef("1.0.0"), local.taskdef("2.0.0", healthCheck=FAILING_HEALTH_CHECK)
    url = local.service("sick", v1)
    local.ecs.update_service(cluster=CLUSTER, service="sick", taskDefinition=sick)
    local.wait_for("the rollback to start", lambda: any("rolling back to deployment" in e for e in local.events("sick")))
    local.steady("sick", v1)

    events = local.events("sick")
    unhealthy = [t for t in local.tasks("sick", "STOPPED") if t["taskDefinitionArn"] == sick]
    assert len(unhealthy) >= 3
    for task in unhealthy:
        assert (task["stopCode"], task["stoppedReason"]) == ("ServiceSchedulerInitiated",
                                                             "Task failed container health checks")
        assert f"(service sick) (task {task['taskArn'].rsplit('/', 1)[-1]}) failed container health checks." in events
    assert any(e.endswith("Amazon ECS replaced 1 tasks due to an unhealthy status.") for e in events)
    assert any(e.endswith("deployment failed: tasks failed to start.") for e in events)
    assert {(status, body) for status, body, _ in local.answers(url, 4)} == {(200, "1.0.0")}


def test_a_container_killed_from_outside_is_replaced(local: Local, client: Any) -> None:
    v1 = local.taskdef("1.0.0")
    url = local.service("killed", v1)
    (victim,) = local.tasks("killed")
    victim_id = victim["taskArn"].rsplit("/", 1)[-1]
    _container(client, victim).kill()

    def replaced() -> dict[str, Any] | None:
        running = [t for t in local.tasks("killed") if t["taskArn"] != victim["taskArn"] and t["lastStatus"] == "RUNNING"]
        return running[0] if running else None

    new = local.wait_for("a replacement task", replaced)
    new_id = new["taskArn"].rsplit("/", 1)[-1]
    stopped = local.ecs.describe_tasks(cluster=CLUSTER, tasks=[victim["taskArn"]])["tasks"][0]
    assert (stopped["stopCode"], stopped["stoppedReason"]) == ("EssentialContainerExited",
                                                               "Essential container in task exited")
    assert stopped["containers"][0]["exitCode"] == 137
    assert f"(service killed) has started 1 tasks: (task {new_id})." in local.events("killed")
    local.steady("killed", v1)
    local.wait_for("the new task behind the load balancer", lambda: local.get(f"{url}/version") == (200, "1.0.0", new_id))
    local.wait_for("the killed task's container to be removed",
             lambda: not client.containers.list(all=True, sparse=True, filters={"label": f"ecsdeploy.task={victim_id}"}))


# -- what a task definition says ----------------------------------------------------------------------------------


def _started(container: Any) -> datetime.datetime:
    return _timestamp(container.attrs["State"]["StartedAt"])


def _timestamp(text: str) -> datetime.datetime:
    """Docker's RFC 3339 times carry nanoseconds; Python reads microseconds."""
    head, _, fraction = text.rstrip("Z").partition(".")
    return datetime.datetime.fromisoformat(f"{head}.{(fraction + '000000')[:6]}")


def test_run_task_with_secrets_ports_depends_on_and_a_graceful_stop(local: Local, client: Any) -> None:
    aws = local.aws
    secret_arn = aws.client("secretsmanager").create_secret(
        Name="db", SecretString=json.dumps({"password": "s3cret"}))["ARN"]
    aws.client("ssm").put_parameter(Name="/web/api-key", Value="k-123", Type="SecureString")
    sidecar = {"name": "sidecar", "image": f"{local.uri}:1.0.0", "memory": 32, "essential": False,
               "environment": [{"name": "PORT", "value": "8081"}],
               "healthCheck": {"command": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8081/health"],
                               "interval": 5, "timeout": 5, "retries": 3}}  # 1.25 s a probe at speed 4, for a loaded host
    app = {"name": "app", "image": f"{local.uri}:2.0.0", "memory": 64, "essential": True,
           "portMappings": [{"containerPort": 8080, "hostPort": 0}],
           "environment": [{"name": "LOG_LEVEL", "value": "debug"}],
           "secrets": [{"name": "DB_PASSWORD", "valueFrom": f"{secret_arn}:password::"},
                       {"name": "API_KEY", "valueFrom": "/web/api-key"}],
           "dependsOn": [{"containerName": "sidecar", "condition": "HEALTHY"}]}
    arn = local.ecs.register_task_definition(family="worker", containerDefinitions=[app, sidecar])[
        "taskDefinition"]["taskDefinitionArn"]
    task_arn = local.ecs.run_task(cluster=CLUSTER, taskDefinition=arn)["tasks"][0]["taskArn"]

    def running() -> dict[str, Any] | None:
        task = local.ecs.describe_tasks(cluster=CLUSTER, tasks=[task_arn])["tasks"][0]
        assert task["lastStatus"] != "STOPPED", task.get("stoppedReason")
        return task if task["lastStatus"] == "RUNNING" else None

    task = local.wait_for("the task to run", running)
    app_container, sidecar_container = _container(client, task, "app"), _container(client, task, "sidecar")
    assert app_container.name == f"ecsdeploy-{CLUSTER}-{task_arn.rsplit('/', 1)[-1]}-app"
    environment = dict(item.split("=", 1) for item in app_container.attrs["Config"]["Env"])
    assert {k: environment[k] for k in ("LOG_LEVEL", "DB_PASSWORD", "API_KEY")} == {
        "LOG_LEVEL": "debug", "DB_PASSWORD": "s3cret", "API_KEY": "k-123"}
    (binding,) = app_container.attrs["NetworkSettings"]["Ports"]["8080/tcp"]
    assert binding["HostIp"] == "127.0.0.1"
    assert local.get(f"http://127.0.0.1:{binding['HostPort']}/version")[:2] == (200, "2.0.0")
    first_healthy = min(_timestamp(probe["End"]) for probe in sidecar_container.attrs["State"]["Health"]["Log"]
                        if probe["ExitCode"] == 0)
    assert _started(app_container) >= first_healthy  # dependsOn HEALTHY: app started after the sidecar was

    local.ecs.stop_task(cluster=CLUSTER, task=task_arn, reason="done")
    stopped = local.wait_for("the task to stop", lambda: next(
        (t for t in local.ecs.describe_tasks(cluster=CLUSTER, tasks=[task_arn])["tasks"] if t["lastStatus"] == "STOPPED"),
        None))
    assert (stopped["stopCode"], stopped["stoppedReason"]) == ("UserInitiated", "done")
    assert {c["name"]: c["exitCode"] for c in stopped["containers"]} == {"app": 0, "sidecar": 0}  # SIGTERM handled
    local.wait_for("the task's containers to be removed", lambda: not client.containers.list(
        all=True, sparse=True, filters={"label": f"ecsdeploy.task={task_arn.rsplit('/', 1)[-1]}"}))


def test_an_image_that_cannot_be_pulled_fails_the_task_to_start(local: Local) -> None:
    arn = local.taskdef("9.9.9-missing")
    task_arn = local.ecs.run_task(cluster=CLUSTER, taskDefinition=arn)["tasks"][0]["taskArn"]
    stopped = local.wait_for("the task to stop", lambda: next(
        (t for t in local.ecs.describe_tasks(cluster=CLUSTER, tasks=[task_arn])["tasks"] if t["lastStatus"] == "STOPPED"),
        None))
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"].startswith(f"CannotPullContainerError: pull image manifest has been retried 1 "
                                               f"time(s): failed to resolve ref {local.uri}:9.9.9-missing: ")


def test_a_container_that_ignores_sigterm_is_killed_after_its_stop_timeout(local: Local) -> None:
    stubborn = local.taskdef("1.0.0", command=["-c", "trap '' TERM; while true; do sleep 1; done"],
                             entryPoint=["/bin/sh"], stopTimeout=2, portMappings=[])
    task_arn = local.ecs.run_task(cluster=CLUSTER, taskDefinition=stubborn)["tasks"][0]["taskArn"]
    local.wait_for("the task to run", lambda: local.ecs.describe_tasks(cluster=CLUSTER, tasks=[task_arn])[
        "tasks"][0]["lastStatus"] == "RUNNING")
    local.ecs.stop_task(cluster=CLUSTER, task=task_arn)
    stopped = local.wait_for("the task to stop", lambda: next(
        (t for t in local.ecs.describe_tasks(cluster=CLUSTER, tasks=[task_arn])["tasks"] if t["lastStatus"] == "STOPPED"),
        None))
    assert (stopped["stopCode"], stopped["stoppedReason"]) == ("UserInitiated", "Task stopped by user")
    assert stopped["containers"][0]["exitCode"] == 137  # SIGTERM ignored: SIGKILL after stopTimeout
