"""Real clients against ``ecsdeploy-emulator``: the ``aws`` CLI (v1) and fabfuel's ``ecs-deploy``, run as a CI job
runs them (subprocesses, ``AWS_ENDPOINT_URL``, dummy credentials), reach the verdict they reach on real ECS.

Each scenario has its own seeded service (family = service name, two tasks on ``web:1.0.0``); ``web:1.1.0`` is a
good release and ``web:2.0.0`` crashes one moment after it starts. What real ECS makes each client report
(``shared`` references: botocore's ServicesStable waiter, ECS's circuit breaker and rollback, fabfuel/ecs-deploy#185,
aws-actions/amazon-ecs-deploy-task-definition#191):

- a good release: ``aws ecs wait services-stable`` and ``ecs deploy`` exit 0 with the new revision running;
- a crash loop without the circuit breaker: the service never becomes stable, so the waiter gives up ("Max attempts
  exceeded", exit 255) and ``ecs deploy`` fails on its timeout;
- the circuit breaker without rollback: the deployment turns FAILED and stays beside the old one, the waiter gives
  up, ``ecs deploy`` fails at once with the deployment's reason;
- the circuit breaker with rollback: ECS rolls back to the old revision, which *is* stable: the waiter exits 0 and
  ``ecs deploy`` says "Deployment successful" (and deregisters the revision that runs); only the service's task
  definition tells the failure;
- a one-off task of an awsvpc task definition is refused without a network configuration, and runs with one.

The emulator runs at 4 times wall time (:data:`SPEED`) with short timings, so every wait here is on state and its
limit only bounds a failure. The ServicesStable waiter polls every 15 s, 40 times; the tests run the CLI with
``AWS_DATA_PATH`` pointing at a copy of the CLI's own waiter definitions that look every simulated second (same
acceptors), as many times as a test says, which is how a CI job shortens an ``aws ecs wait`` too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import boto3
import fakes
import pytest

ACCOUNT, REGION, CLUSTER = "123456789012", "us-east-1", "ci"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
BIN = Path(sys.executable).parent
#: Simulated seconds per wall second of the emulator: the clients' own waits (ecs-deploy's 1 s between looks, its
#: --timeout) are in wall seconds, so a faster clock lets them see more of a rollout per look.
SPEED = 4
# service -> (circuit breaker, rollback)
SERVICES = {
    "aws-good": (False, False), "aws-crash": (False, False), "aws-breaker": (True, False),
    "aws-rollback": (True, True), "ecs-good": (False, False), "ecs-crash": (False, False),
    "ecs-breaker": (True, False), "ecs-rollback": (True, True),
}
NETWORK_REQUIRED = ("An error occurred (InvalidParameterException) when calling the RunTask operation: Network "
                    "Configuration must be provided when networkMode 'awsvpc' is specified.")
# Read-only fields of DescribeTaskDefinition's output that RegisterTaskDefinition refuses (what a CI recipe drops).
READ_ONLY = ("taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt",
             "registeredBy", "deregisteredAt", "deleteRequestedAt")


def _taskdef(family: str, image: str, **extra: Any) -> dict[str, Any]:
    return {"family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256",
            "memory": "512", "containerDefinitions": [{"name": "app", "image": image, "essential": True, **extra}]}


def _seed(home: Path) -> Path:
    lines = ['clusters = ["ci"]', '[repositories.web]', 'tags = ["1.0.0", "1.1.0", "2.0.0"]',
             '[repositories.migrate]', 'tags = ["1.0.0"]', '[task_definitions]', 'migrate = "migrate.json"']
    (home / "migrate.json").write_text(json.dumps(_taskdef("migrate", f"{REGISTRY}/migrate:1.0.0")))
    for name, (breaker, rollback) in SERVICES.items():
        (home / f"{name}.json").write_text(json.dumps(_taskdef(name, "web:placeholder",
                                                              portMappings=[{"containerPort": 8080}])))
        lines += [f'[services.{name}]', f'task_definition = "{name}.json"', 'images = { app = "web:1.0.0" }',
                  'desired_count = 2', f"deployment_configuration = {{ circuit_breaker = {str(breaker).lower()}, "
                  f"rollback = {str(rollback).lower()} }}"]
    lines += ['[[image_behaviours]]', 'image = "web:2.0.0"', 'behaviour = "crash"', 'exit_code = 1',
              '[[image_behaviours]]', 'image = "migrate:1.0.0"', 'behaviour = "exit"', 'exit_code = 0', 'after = 1.0']
    (home / "seed.toml").write_text("\n".join(lines) + "\n")
    return home / "seed.toml"


def _client(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: install the dev extra (pip install -e '.[dev]').")
    return path


# Each wait is on state; the clients' emulator runs at SPEED, so a state comes within a fraction of a second.
_wait_for = partial(fakes.wait_for, timeout=120, interval=0.05)


@dataclass
class Emulator:
    """A running ``ecsdeploy-emulator`` and the environment its clients get."""

    url: str
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        return {**base, "AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
                "AWS_CONFIG_FILE": str(self.home / "no-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(self.home / "no-credentials"), **extra}

    def run(self, client: str, *args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(_client(client)), *args], capture_output=True, text=True, timeout=timeout,
                              env=self.env(**env), cwd=self.home)

    def aws(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.run("aws", *args, **env)

    def aws_json(self, *args: str) -> Any:
        done = self.aws(*args, "--output", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def ecs(self) -> Any:
        return boto3.client("ecs", endpoint_url=self.url, region_name=REGION, aws_access_key_id="testing",
                            aws_secret_access_key="testing")

    def service(self, name: str) -> dict[str, Any]:
        services: list[dict[str, Any]] = self.ecs().describe_services(cluster=CLUSTER, services=[name])["services"]
        return services[0]

    def short_waiters(self, max_attempts: int) -> str:
        """An ``AWS_DATA_PATH`` whose ECS waiters are the CLI's own, looking every simulated second (1/SPEED s)
        ``max_attempts`` times."""
        import awscli

        data = Path(awscli.__file__).parent / "botocore" / "data"  # awscli 1.x keeps its own botocore
        if not data.is_dir():
            import botocore

            data = Path(botocore.__file__).parent / "data"
        waiters = json.loads((data / "ecs" / "2014-11-13" / "waiters-2.json").read_text())
        for waiter in waiters["waiters"].values():
            waiter.update(delay=1 / SPEED, maxAttempts=max_attempts)
        path = self.home / f"waiters-{max_attempts}"
        (path / "ecs" / "2014-11-13").mkdir(parents=True, exist_ok=True)
        (path / "ecs" / "2014-11-13" / "waiters-2.json").write_text(json.dumps(waiters))
        return str(path)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """``ecsdeploy-emulator --port 0 --seed seed.toml --runner simulated``, ready once its banner is printed."""
    home = tmp_path_factory.mktemp("clients")
    seed = _seed(home)
    out, err = home / "emulator.out", home / "emulator.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen([str(_client("ecsdeploy-emulator")), "--port", "0", "--seed", str(seed),
                                    "--runner", "simulated", "--speed", str(SPEED)], stdout=stdout, stderr=stderr, text=True, cwd=home)
    try:
        def banner() -> str | None:
            assert process.poll() is None, f"the emulator exited with {process.returncode}: {err.read_text()}"
            first = out.read_text().partition("\n")
            return first[0] if first[1] else None

        line = _wait_for("the emulator's banner", banner)
        assert " local AWS at http://127.0.0.1:" in line, line
        yield Emulator(url=line.split(" at ", 1)[1].split(" ", 1)[0], home=home)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, err.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=60)


def _register_release(emulator: Emulator, service: str, tag: str) -> tuple[str, str]:
    """The recipe of a CI job with the aws CLI: describe the service's task definition, drop its read-only fields,
    set the image, register it. Returns (the service's current task definition ARN, the new one's)."""
    current = emulator.aws_json("ecs", "describe-services", "--cluster", CLUSTER, "--services", service,
                                "--query", "services[0].taskDefinition")
    taskdef = emulator.aws_json("ecs", "describe-task-definition", "--task-definition", current,
                                "--query", "taskDefinition")
    for field in READ_ONLY:
        taskdef.pop(field, None)
    taskdef["containerDefinitions"][0]["image"] = f"{REGISTRY}/web:{tag}"
    (emulator.home / f"{service}-{tag}.json").write_text(json.dumps(taskdef))
    new = emulator.aws_json("ecs", "register-task-definition", "--cli-input-json",
                            f"file://{service}-{tag}.json", "--query", "taskDefinition.taskDefinitionArn")
    assert new != current
    return current, new


def _update(emulator: Emulator, service: str, taskdef: str) -> None:
    done = emulator.aws("ecs", "update-service", "--cluster", CLUSTER, "--service", service, "--task-definition",
                        taskdef)
    assert done.returncode == 0, done.stderr


def _primary(service: dict[str, Any]) -> dict[str, Any]:
    primary: dict[str, Any] = next(d for d in service["deployments"] if d["status"] == "PRIMARY")
    return primary


def _crashed(emulator: Emulator, service: str, taskdef: str) -> list[dict[str, Any]]:
    """The service's STOPPED tasks of ``taskdef`` whose essential container exited."""
    ecs = emulator.ecs()
    arns = ecs.list_tasks(cluster=CLUSTER, serviceName=service, desiredStatus="STOPPED")["taskArns"]
    tasks: list[dict[str, Any]] = ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []
    return [t for t in tasks if t["taskDefinitionArn"] == taskdef and t["lastStatus"] == "STOPPED"
            and t.get("stopCode") == "EssentialContainerExited"]


def _messages(service: dict[str, Any]) -> list[str]:
    return [event["message"] for event in service["events"]]


def _revision(emulator: Emulator, arn: str) -> dict[str, Any]:
    taskdef: dict[str, Any] = emulator.ecs().describe_task_definition(taskDefinition=arn)["taskDefinition"]
    return taskdef


# -- the aws CLI ---------------------------------------------------------------------------------------------------


def test_aws_cli_good_release_becomes_stable(emulator: Emulator) -> None:
    old, new = _register_release(emulator, "aws-good", "1.1.0")
    _update(emulator, "aws-good", new)
    # The CLI's own waiter and acceptors, looking every simulated second rather than every 15 s (the ~2 s rollout is
    # rarely complete at its first look, right after UpdateService); the attempts only bound a failure.
    waited = emulator.aws("ecs", "wait", "services-stable", "--cluster", CLUSTER, "--services", "aws-good",
                          AWS_DATA_PATH=emulator.short_waiters(120 * SPEED))
    assert (waited.returncode, waited.stdout, waited.stderr) == (0, "", "")
    service = emulator.service("aws-good")
    assert service["taskDefinition"] == new
    assert [(d["status"], d["rolloutState"], d["runningCount"]) for d in service["deployments"]] == [
        ("PRIMARY", "COMPLETED", 2)]


def test_aws_cli_crash_loop_never_becomes_stable(emulator: Emulator) -> None:
    old, new = _register_release(emulator, "aws-crash", "2.0.0")
    _update(emulator, "aws-crash", new)
    _wait_for("two crashed tasks", lambda: len(_crashed(emulator, "aws-crash", new)) >= 2)
    waited = emulator.aws("ecs", "wait", "services-stable", "--cluster", CLUSTER, "--services", "aws-crash",
                          AWS_DATA_PATH=emulator.short_waiters(5))
    assert (waited.returncode, waited.stderr.strip()) == (255, "Waiter ServicesStable failed: Max attempts exceeded")
    service = emulator.service("aws-crash")  # the new tasks keep crashing (one may be RUNNING for a moment)
    assert [(d["status"], d["taskDefinition"], d["rolloutState"]) for d in service["deployments"]] == [
        ("PRIMARY", new, "IN_PROGRESS"), ("ACTIVE", old, "COMPLETED")]
    assert service["deployments"][1]["runningCount"] == 2  # the old revision still serves


def test_aws_cli_circuit_breaker_without_rollback_never_becomes_stable(emulator: Emulator) -> None:
    old, new = _register_release(emulator, "aws-breaker", "2.0.0")
    _update(emulator, "aws-breaker", new)
    _wait_for("the deployment to fail", lambda: _primary(emulator.service("aws-breaker"))["rolloutState"] == "FAILED")
    waited = emulator.aws("ecs", "wait", "services-stable", "--cluster", CLUSTER, "--services", "aws-breaker",
                          AWS_DATA_PATH=emulator.short_waiters(3))
    assert (waited.returncode, waited.stderr.strip()) == (255, "Waiter ServicesStable failed: Max attempts exceeded")
    service = emulator.service("aws-breaker")
    assert service["taskDefinition"] == new
    assert [(d["status"], d["taskDefinition"], d["rolloutState"], d["runningCount"])
            for d in service["deployments"]] == [("PRIMARY", new, "FAILED", 0), ("ACTIVE", old, "COMPLETED", 2)]
    assert service["deployments"][0]["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed to start."


def test_aws_cli_circuit_breaker_rollback_is_stable_on_the_old_revision(emulator: Emulator) -> None:
    old, new = _register_release(emulator, "aws-rollback", "2.0.0")
    _update(emulator, "aws-rollback", new)
    waited = emulator.aws("ecs", "wait", "services-stable", "--cluster", CLUSTER, "--services", "aws-rollback",
                          AWS_DATA_PATH=emulator.short_waiters(120 * SPEED))
    assert (waited.returncode, waited.stderr) == (0, "")  # as on ECS: the rollback is stable
    # What tells the failure: the service's task definition is not the one the job registered.
    assert emulator.aws_json("ecs", "describe-services", "--cluster", CLUSTER, "--services", "aws-rollback",
                             "--query", "services[0].taskDefinition") == old
    service = emulator.service("aws-rollback")
    assert [(d["status"], d["taskDefinition"], d["runningCount"]) for d in service["deployments"]] == [
        ("PRIMARY", old, 2)]
    messages = _messages(service)
    assert any(m.startswith("(service aws-rollback) rolling back to deployment ecs-svc/") for m in messages), messages
    assert any(m.endswith(") deployment failed: tasks failed to start.") for m in messages), messages


def test_aws_cli_run_task_of_an_awsvpc_task_definition_needs_a_network_configuration(emulator: Emulator) -> None:
    for launch in ([], ["--launch-type", "FARGATE"]):
        refused = emulator.aws("ecs", "run-task", "--cluster", CLUSTER, "--task-definition", "migrate", *launch)
        assert (refused.returncode, refused.stdout, refused.stderr.strip()) == (255, "", NETWORK_REQUIRED)
    subnets = emulator.aws_json("ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true",
                                "--query", "Subnets[].SubnetId")
    groups = emulator.aws_json("ec2", "describe-security-groups", "--filters", "Name=group-name,Values=default",
                               "--query", "SecurityGroups[].GroupId")
    network = f"awsvpcConfiguration={{subnets=[{','.join(subnets)}],securityGroups=[{groups[0]}]}}"
    task = emulator.aws_json("ecs", "run-task", "--cluster", CLUSTER, "--task-definition", "migrate",
                             "--launch-type", "FARGATE", "--network-configuration", network,
                             "--query", "tasks[0].taskArn")
    waited = emulator.aws("ecs", "wait", "tasks-stopped", "--cluster", CLUSTER, "--tasks", task,
                          AWS_DATA_PATH=emulator.short_waiters(120 * SPEED))
    assert (waited.returncode, waited.stderr) == (0, "")
    stopped = emulator.aws_json("ecs", "describe-tasks", "--cluster", CLUSTER, "--tasks", task,
                                "--query", "tasks[0].[stopCode, containers[0].exitCode]")
    assert stopped == ["EssentialContainerExited", 0]


# -- fabfuel's ecs-deploy ------------------------------------------------------------------------------------------


def test_ecs_deploy_good_release_succeeds(emulator: Emulator) -> None:
    done = emulator.run("ecs", "deploy", CLUSTER, "ecs-good", "--tag", "1.1.0", "--timeout", "120")
    assert (done.returncode, done.stderr) == (0, ""), done.stdout + done.stderr
    assert "Successfully created revision: 2" in done.stdout
    assert "Deployment successful" in done.stdout
    service = emulator.service("ecs-good")
    assert service["taskDefinition"].endswith(":task-definition/ecs-good:2")
    assert [(d["status"], d["rolloutState"], d["runningCount"]) for d in service["deployments"]] == [
        ("PRIMARY", "COMPLETED", 2)]
    assert _revision(emulator, "ecs-good:2")["containerDefinitions"][0]["image"] == f"{REGISTRY}/web:1.1.0"
    assert _revision(emulator, "ecs-good:1")["status"] == "INACTIVE"  # --deregister, its default


def test_ecs_deploy_crash_loop_fails_and_its_own_rollback_restores_the_old_revision(emulator: Emulator) -> None:
    done = emulator.run("ecs", "deploy", CLUSTER, "ecs-crash", "--tag", "2.0.0", "--timeout", "10", "--rollback")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Rolling back to task definition: ecs-crash:1" in done.stdout
    assert "Rollback successful" in done.stdout
    assert "Deployment failed, but service has been rolled back to previous task definition: ecs-crash:1" in (
        done.stderr)
    service = emulator.service("ecs-crash")
    assert service["taskDefinition"].endswith(":task-definition/ecs-crash:1")
    assert [(d["status"], d["runningCount"]) for d in service["deployments"]] == [("PRIMARY", 2)]
    assert service["deployments"][0]["taskDefinition"] == service["taskDefinition"]
    assert _revision(emulator, "ecs-crash:2")["status"] == "INACTIVE"


def test_ecs_deploy_circuit_breaker_without_rollback_fails_with_its_reason(emulator: Emulator) -> None:
    done = emulator.run("ecs", "deploy", CLUSTER, "ecs-breaker", "--tag", "2.0.0", "--timeout", "120")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Deployment Failed! ECS deployment circuit breaker: tasks failed to start." in done.stderr
    assert "Deployment successful" not in done.stdout
    assert _revision(emulator, "ecs-breaker:1")["status"] == "ACTIVE"  # nothing deregistered on failure


def test_ecs_deploy_reports_a_circuit_breaker_rollback_as_success(emulator: Emulator) -> None:
    # As on ECS (fabfuel/ecs-deploy#185): the rollback deployment is PRIMARY and reaches its running count, so
    # ecs-deploy says "Deployment successful" and deregisters the revision the service runs again.
    done = emulator.run("ecs", "deploy", CLUSTER, "ecs-rollback", "--tag", "2.0.0", "--timeout", "120")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Deployment successful" in done.stdout
    assert "Successfully deregistered revision: 1" in done.stdout
    service = emulator.service("ecs-rollback")
    assert service["taskDefinition"].endswith(":task-definition/ecs-rollback:1")
    assert _revision(emulator, "ecs-rollback:1")["status"] == "INACTIVE"
    assert any(m.startswith("(service ecs-rollback) rolling back to deployment ecs-svc/")
               for m in _messages(service)), _messages(service)


def test_ecs_run_of_an_awsvpc_task_definition_needs_a_network_configuration(emulator: Emulator) -> None:
    refused = emulator.run("ecs", "run", CLUSTER, "migrate")  # launch type EC2 and no network: ecs-deploy's default
    assert (refused.returncode, refused.stderr.strip()) == (1, NETWORK_REQUIRED)
    ec2 = boto3.client("ec2", endpoint_url=emulator.url, region_name=REGION, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    subnet = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    done = emulator.run("ecs", "run", CLUSTER, "migrate", "--launchtype", "FARGATE", "--subnet", subnet,
                        "--securitygroup", group)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Successfully started 1 instances of task: migrate:1" in done.stdout
    task_arn = done.stdout.split("- ", 1)[1].split()[0]
    ecs = emulator.ecs()

    def stopped() -> dict[str, Any] | None:
        task: dict[str, Any] = ecs.describe_tasks(cluster=CLUSTER, tasks=[task_arn])["tasks"][0]
        return task if task["lastStatus"] == "STOPPED" else None

    task = _wait_for("the one-off task to stop", stopped)
    assert (task["stopCode"], task["containers"][0]["exitCode"], task["startedBy"]) == (
        "EssentialContainerExited", 0, "ECS Deploy")
    assert task["attachments"][0]["type"] == "ElasticNetworkInterface"
