"""A release that fails right after ``services_stable`` answers: the circuit breaker rolls back to the revision the
waiter saw, whose tasks keep running meanwhile (``emulator/ecs/scheduler.py``). The engine on a fake clock with
the simulated runner; each failure of the kind (exit at start, exit after a while, failing health checks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fakes import default_network
from moto import mock_aws
from moto.ecs.models import ecs_backends

from pytest_ecsdeploy.emulator.clock import FakeClock
from pytest_ecsdeploy.emulator.ecs.responses import RolloutEngine

A, R = "123456789012", "us-east-1"
ECR = f"{A}.dkr.ecr.{R}.amazonaws.com"
HEALTH_CHECK = {"command": ["CMD-SHELL", "wget -q -O /dev/null localhost:8080/health"], "interval": 5, "retries": 1}
STEP = 0.05


class Env:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.engine = RolloutEngine(clock=self.clock, seed=5)
        ecs_backends[A][R].create_cluster("local")

    def taskdef(self, image: str, **container: Any) -> str:
        definition = {"name": "app", "image": image, "memory": 128, "essential": True, **container}
        registered = ecs_backends[A][R].register_task_definition(
            "web", [definition], requires_compatibilities=["FARGATE"], cpu="256", memory="512", network_mode="awsvpc")
        return str(registered.arn)

    def call(self, action: str, **params: Any) -> dict[str, Any]:
        given = {"networkConfiguration": default_network(A, R)} if action == "CreateService" else {}
        return self.engine.handle(action, A, R, {"cluster": "local", **given, **params})

    def service(self) -> dict[str, Any]:
        return self.call("DescribeServices", services=["web"])["services"][0]  # type: ignore[no-any-return]

    def running(self) -> list[dict[str, Any]]:
        arns = self.call("ListTasks", serviceName="web", desiredStatus="RUNNING")["taskArns"]
        tasks = self.call("DescribeTasks", tasks=arns)["tasks"] if arns else []
        return [task for task in tasks if task["lastStatus"] == "RUNNING"]

    def stable(self) -> bool:
        """The ``services_stable`` waiter's condition: one deployment, runningCount == desiredCount."""
        service = self.service()
        return len(service["deployments"]) == 1 and service["runningCount"] == service["desiredCount"]

    def run_until(self, what: str, predicate: Any, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Advance the clock a step at a time until ``predicate()``; the running tasks seen at every step."""
        start, seen = self.clock.now(), []
        while not predicate():
            assert self.clock.now() - start < timeout, f"{what} not reached in {timeout} simulated seconds"
            self.clock.advance(STEP)
            self.engine.tick()
            seen.append(self.running())
        return seen


@pytest.fixture
def env() -> Iterator[Env]:
    with mock_aws():
        environment = Env()
        yield environment
        environment.engine.close()


FAILURES = {
    "exit at start": ({"behaviour": "crash", "exit_code": 7, "after": 0.0}, {}),
    "exit after a while": ({"behaviour": "crash", "exit_code": 7, "after": 0.3}, {}),
    "failing health check": ({"behaviour": "unhealthy", "after": 0.1}, {"healthCheck": HEALTH_CHECK}),
}


@pytest.mark.parametrize("desired", [1, 3])
@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_release_that_fails_right_after_services_stable_rolls_back_to_the_revision_running(
    env: Env, failure: str, desired: int
) -> None:
    behaviour, container = FAILURES[failure]
    good, broken = env.taskdef(f"{ECR}/web:1"), env.taskdef(f"{ECR}/web:2", **container)
    env.engine.set_image_behaviour(f"{ECR}/web:2", **behaviour)
    env.call("CreateService", serviceName="web", taskDefinition=good, desiredCount=desired,
             deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    env.run_until("services_stable", env.stable)
    first = env.service()["deployments"][0]
    assert first["rolloutState"] == "IN_PROGRESS"  # the waiter answers before the deployment completes
    original = {task["taskArn"] for task in env.running()}

    env.call("UpdateService", service="web", taskDefinition=broken)
    seen = env.run_until("the rollback", lambda: any(d["rolloutState"] == "FAILED" for d in env.service()["deployments"]))
    # the tasks the waiter saw keep running while the release fails
    assert all(original <= {task["taskArn"] for task in running} for running in seen)
    seen = env.run_until("a steady rollback", lambda: env.stable() and env.service()["deployments"][0]["rolloutState"]
                         == "COMPLETED")
    assert all(len(running) >= desired for running in seen)  # minimumHealthyPercent 100 held throughout

    service = env.service()
    (rollback,) = service["deployments"]
    assert (rollback["taskDefinition"], rollback["runningCount"]) == (good, desired)
    messages = [event["message"] for event in service["events"]]
    assert f"(service web) rolling back to deployment {first['id']}." in messages
    assert {task["taskDefinitionArn"] for task in env.running()} == {good}


def test_a_failed_release_without_rollback_keeps_the_revision_running(env: Env) -> None:
    good, broken = env.taskdef(f"{ECR}/web:1"), env.taskdef(f"{ECR}/web:2")
    env.engine.set_image_behaviour(f"{ECR}/web:2", "crash", exit_code=7, after=0.3)
    env.call("CreateService", serviceName="web", taskDefinition=good, desiredCount=2,
             deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": False}})
    env.run_until("services_stable", env.stable)
    env.call("UpdateService", service="web", taskDefinition=broken)
    env.run_until("the failure", lambda: env.service()["deployments"][0]["rolloutState"] == "FAILED")
    env.clock.advance(5)
    env.engine.tick()
    service = env.service()
    assert [(d["taskDefinition"], d["rolloutState"]) for d in service["deployments"]] == [
        (broken, "FAILED"), (good, "COMPLETED")]
    assert {task["taskDefinitionArn"] for task in env.running()} == {good} and service["runningCount"] == 2
