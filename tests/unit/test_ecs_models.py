"""The rules of ``emulator/ecs/models.py`` on their failure paths and bounds, driven through the engine: the
circuit breaker's threshold (the one the product's watch computes), rollback, pull errors, health checks and a
task's health from its containers, and minimumHealthyPercent / maximumPercent sampled at every step a client
could observe."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fakes import default_network
from moto import mock_aws
from moto.ecs.models import ecs_backends

from pytest_ecsdeploy.actions.watch import failure_threshold
from pytest_ecsdeploy.emulator.clock import FakeClock
from pytest_ecsdeploy.emulator.ecs.exceptions import EngineError
from pytest_ecsdeploy.emulator.ecs.models import ThresholdConfiguration, breaker_threshold
from pytest_ecsdeploy.emulator.ecs.responses import RolloutEngine, deployment_configuration

A, R = "123456789012", "us-east-1"
ECR = f"{A}.dkr.ecr.{R}.amazonaws.com"
HEALTH_CHECK = {"command": ["CMD-SHELL", "curl -f localhost:8080/health"], "interval": 5, "retries": 3}
BREAKER: dict[str, Any] = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}


def network(account: str = A, region: str = R) -> dict[str, Any]:
    """The task definitions here are Fargate ones (awsvpc): ECS runs them only with a network configuration."""
    return default_network(account, region)


class Env:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.engine = RolloutEngine(clock=self.clock, seed=11)
        ecs_backends[A][R].create_cluster("local")

    def taskdef(self, image: str, **container: Any) -> None:
        definition = {"name": "app", "image": image, "memory": 128, **container}
        ecs_backends[A][R].register_task_definition("web", [definition], requires_compatibilities=["FARGATE"])

    def call(self, action: str, **params: Any) -> dict[str, Any]:
        given = {"networkConfiguration": network()} if action in ("CreateService", "RunTask") else {}
        return self.engine.handle(action, A, R, {"cluster": "local", **given, **params})

    def service(self) -> dict[str, Any]:
        return self.call("DescribeServices", services=["web"])["services"][0]  # type: ignore[no-any-return]

    def messages(self) -> list[str]:
        return [e["message"] for e in reversed(self.service()["events"])]

    def tasks(self, desired: str | None = None) -> list[dict[str, Any]]:
        arns = []
        for status in [desired] if desired else ["RUNNING", "STOPPED"]:
            page: dict[str, Any] = {}
            while page.get("nextToken") or not page:
                token = {"nextToken": page["nextToken"]} if page.get("nextToken") else {}
                page = self.call("ListTasks", desiredStatus=status, **token)
                arns += page["taskArns"]
        return [t for i in range(0, len(arns), 100) for t in self.call("DescribeTasks", tasks=arns[i : i + 100])["tasks"]]

    def run(self, seconds: float, step: float = 0.05, check: Callable[[], None] | None = None) -> None:
        for _ in range(round(seconds / step)):
            self.clock.advance(step)
            self.engine.tick()
            if check is not None:
                check()

    def run_until(self, predicate: Callable[[], bool], timeout: float = 60.0, step: float = 0.1) -> None:
        start = self.clock.now()
        while not predicate():
            assert self.clock.now() - start < timeout, "condition not reached in simulated time"
            self.run(step, step)


@pytest.fixture
def env() -> Iterator[Env]:
    with mock_aws():
        environment = Env()
        environment.taskdef(f"{ECR}/web:1")
        environment.taskdef(f"{ECR}/web:2")
        yield environment
        environment.engine.close()


def seed(env: Env, desired: int = 2, **config: Any) -> str:
    params: dict[str, Any] = {"cluster": "local", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": desired,
                              "networkConfiguration": network()}
    if config:
        params["deploymentConfiguration"] = config
    return str(env.engine.seed_service(A, R, params)["service"]["deployments"][0]["id"])


def steady(env: Env) -> Callable[[], bool]:
    return lambda: len(env.service()["deployments"]) == 1 and env.messages()[-1].endswith("has reached a steady state.")


@pytest.mark.parametrize(("desired", "threshold"), [(0, 3), (1, 3), (6, 3), (7, 4), (25, 13), (399, 200), (1000, 200)])
def test_breaker_threshold_is_half_the_desired_count_between_3_and_200(desired: int, threshold: int) -> None:
    assert breaker_threshold(desired) == threshold


@pytest.mark.parametrize(("desired", "threshold", "expected"), [
    (10, ("COUNT", 5), 5), (10, ("COUNT", 0), 1), (10, ("BOUNDED_PERCENT", 10), 3), (1000, ("BOUNDED_PERCENT", 50), 200),
    (10, ("UNBOUNDED_PERCENT", 10), 1), (1000, ("UNBOUNDED_PERCENT", 50), 500), (100, ("UNBOUNDED_PERCENT", 7), 7),
    (0, ("UNBOUNDED_PERCENT", 50), 1),
])
def test_breaker_threshold_follows_the_threshold_configuration(desired: int, threshold: tuple[str, int],
                                                               expected: int) -> None:
    assert breaker_threshold(desired, ThresholdConfiguration(*threshold)) == expected


# The product's watch (actions/watch.py: failure_threshold) and the emulator's breaker must agree on when a
# deployment fails, or a local run tells a different story than ECS would: every thresholdConfiguration type,
# its defaults, and the clamps, against desired counts on both sides of each clamp.
THRESHOLD_CONFIGURATIONS: list[dict[str, Any] | None] = [
    None, {"type": "COUNT", "value": 5}, {"type": "COUNT", "value": 1}, {"type": "COUNT", "value": 0},
    {"type": "COUNT"}, {"type": "BOUNDED_PERCENT", "value": 10}, {"type": "BOUNDED_PERCENT", "value": 100},
    {"value": 25}, {"type": "UNBOUNDED_PERCENT", "value": 10}, {"type": "UNBOUNDED_PERCENT", "value": 50},
    {"type": "UNBOUNDED_PERCENT", "value": 200},
]
DESIRED_COUNTS = (0, 1, 2, 5, 6, 7, 10, 25, 399, 400, 401, 1000)


def _breaker_request(threshold: dict[str, Any] | None) -> dict[str, Any]:
    breaker: dict[str, Any] = {"enable": True, "rollback": False}
    if threshold is not None:
        breaker["thresholdConfiguration"] = threshold
    return {"serviceName": "web", "taskDefinition": "web:1", "desiredCount": 0,
            "deploymentConfiguration": {"deploymentCircuitBreaker": breaker}}


@pytest.mark.parametrize("threshold", THRESHOLD_CONFIGURATIONS, ids=str)
def test_the_breaker_threshold_is_the_one_the_products_watch_computes(env: Env, threshold: dict[str, Any] | None) -> None:
    request = _breaker_request(threshold)
    described = env.call("CreateService", **request)["service"]  # what the watch reads: DescribeServices
    assert described["deploymentConfiguration"]["deploymentCircuitBreaker"].get("thresholdConfiguration") == (
        None if threshold is None else {"type": threshold.get("type", "BOUNDED_PERCENT"), "value": threshold.get("value", 50)})
    stored = deployment_configuration(request, None).breaker_threshold  # what CreateService stored
    table = {desired: (breaker_threshold(desired, stored), failure_threshold({**described, "desiredCount": desired}))
             for desired in DESIRED_COUNTS}
    assert {desired: pair for desired, pair in table.items() if pair[0] != pair[1]} == {}


def test_a_percentage_is_rounded_up_in_integers_on_both_sides(env: Env) -> None:
    request = _breaker_request({"type": "UNBOUNDED_PERCENT", "value": 7})
    described = env.call("CreateService", **request)["service"]
    assert deployment_configuration(request, None).breaker_threshold == ThresholdConfiguration("UNBOUNDED_PERCENT", 7)
    assert failure_threshold({**described, "desiredCount": 100}) == 7


@pytest.mark.parametrize(("threshold", "message"), [
    ({"type": "HALF", "value": 1}, "thresholdConfiguration type must be one of COUNT, BOUNDED_PERCENT, UNBOUNDED_PERCENT."),
    ({"type": "COUNT", "value": -1}, "value must be an integer greater than or equal to 0."),
    ({"type": "COUNT", "value": "3"}, "value must be an integer greater than or equal to 0."),
])
def test_a_threshold_configuration_ecs_would_refuse_is_refused(env: Env, threshold: dict[str, Any], message: str) -> None:
    with pytest.raises(EngineError, match=re.escape(message)) as error:
        env.call("CreateService", **_breaker_request(threshold))
    assert error.value.code == "InvalidParameterException"


def test_update_service_keeps_the_threshold_configuration_it_does_not_change(env: Env) -> None:
    env.call("CreateService", **_breaker_request({"type": "COUNT", "value": 4}))
    answer = env.call("UpdateService", service="web", deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True}})
    breaker = answer["service"]["deploymentConfiguration"]["deploymentCircuitBreaker"]
    assert breaker == {"enable": True, "rollback": False, "thresholdConfiguration": {"type": "COUNT", "value": 4}}


def test_a_crashing_image_trips_the_breaker_and_rolls_back(env: Env) -> None:
    original = seed(env, **BREAKER)
    env.engine.set_image_behaviour("web:2", "crash", exit_code=2)
    failed_id = env.call("UpdateService", service="web", taskDefinition="web:2")["service"]["deployments"][0]["id"]
    history: list[int] = []

    def old_tasks_never_dip() -> None:  # min 100 %: the two web:1 tasks keep serving until the rollback serves
        service = env.service()
        history.append(next((d["failedTasks"] for d in service["deployments"] if d["id"] == failed_id), -1))
        running = [t for t in env.tasks("RUNNING") if t["lastStatus"] == "RUNNING"]
        assert sum(t["taskDefinitionArn"].endswith("web:1") for t in running) >= 2

    env.run_until(lambda: env.service()["deployments"][0]["id"] != failed_id, timeout=10, step=0.05)
    old_tasks_never_dip()
    rollback, failed, completed = env.service()["deployments"]
    assert (failed["id"], failed["status"], failed["rolloutState"]) == (failed_id, "ACTIVE", "FAILED")
    assert failed["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert failed["failedTasks"] == 3 and [n for n in history if n >= 0] == sorted(n for n in history if n >= 0)
    assert (rollback["status"], rollback["rolloutState"]) == ("PRIMARY", "IN_PROGRESS")
    assert rollback["taskDefinition"].endswith("web:1") and rollback["id"] not in (original, failed_id)
    assert rollback["rolloutStateReason"] == f"ECS deployment circuit breaker: rolling back to deploymentId {original}."
    assert (completed["id"], completed["status"]) == (original, "ACTIVE")
    assert env.service()["taskDefinition"].endswith("web:1")

    env.run(6, check=old_tasks_never_dip)
    env.run_until(steady(env))
    (final,) = env.service()["deployments"]
    assert (final["id"], final["rolloutState"], final["runningCount"]) == (rollback["id"], "COMPLETED", 2)
    messages = [m.replace("(service web) ", "") for m in env.messages()[3:]]
    assert [m.split(":")[0] for m in messages] == [
        "has started 2 tasks",
        "has started 2 tasks",  # both crashed together and were replaced while the breaker counted
        f"(deployment {failed_id}) deployment failed",
        f"rolling back to deployment {original}.",
        "has started 2 tasks",
        "has stopped 2 running tasks",
        f"(deployment {rollback['id']}) deployment completed.",
        "has reached a steady state.",
    ]
    assert messages[2] == f"(deployment {failed_id}) deployment failed: tasks failed to start."
    crashed = [t for t in env.tasks("STOPPED") if t["taskDefinitionArn"].endswith("web:2")]
    assert len(crashed) == 4 and all(t["startedBy"] == failed_id for t in crashed)
    assert {(t["stopCode"], t["stoppedReason"]) for t in crashed} == {
        ("EssentialContainerExited", "Essential container in task exited")
    }
    assert all(t["stoppedAt"] >= t["startedAt"] and t["containers"][0]["exitCode"] == 2 for t in crashed)


def test_with_the_breaker_off_ecs_keeps_replacing_failing_tasks(env: Env) -> None:
    seed(env)
    env.engine.set_image_behaviour(f"{ECR}/web:2", "crash")
    env.call("UpdateService", service="web", taskDefinition="web:2")
    env.run(20, step=0.1)
    new, old = env.service()["deployments"]
    assert (new["rolloutState"], new["failedTasks"] > 10) == ("IN_PROGRESS", True)
    assert (old["runningCount"], old["status"]) == (2, "ACTIVE")
    assert sum(m.startswith("(service web) has started") for m in env.messages()) > 10


def test_breaker_without_rollback_fails_and_launches_nothing_more(env: Env) -> None:
    seed(env, deploymentCircuitBreaker={"enable": True, "rollback": False})
    env.engine.set_image_behaviour("web:2", "crash")
    env.call("UpdateService", service="web", taskDefinition="web:2")
    env.run_until(lambda: env.service()["deployments"][0]["rolloutState"] == "FAILED", timeout=10)
    started = sum(m.startswith("(service web) has started") for m in env.messages())
    env.run(10, step=0.2)
    new, old = env.service()["deployments"]
    assert (new["status"], new["rolloutState"], new["runningCount"] + new["pendingCount"]) == ("PRIMARY", "FAILED", 0)
    assert (old["status"], old["runningCount"]) == ("ACTIVE", 2)
    assert sum(m.startswith("(service web) has started") for m in env.messages()) == started
    assert not any("rolling back" in m for m in env.messages())


def test_pull_errors_fail_to_start_and_roll_back(env: Env) -> None:
    original = seed(env, desired=8, **BREAKER)  # threshold 4
    env.engine.set_image_behaviour("web:2", "pull-error")
    env.call("UpdateService", service="web", taskDefinition="web:2")
    env.run_until(lambda: any("rolling back" in m for m in env.messages()), timeout=10)
    failed = next(d for d in env.service()["deployments"] if d["rolloutState"] == "FAILED")
    assert failed["failedTasks"] == 4
    env.run_until(steady(env))
    assert env.service()["deployments"][0]["taskDefinition"].endswith("web:1")
    assert f"(service web) rolling back to deployment {original}." in env.messages()
    never_ran = [t for t in env.tasks("STOPPED") if t["taskDefinitionArn"].endswith("web:2")]
    assert len(never_ran) >= 4
    for task in never_ran:
        assert task["stopCode"] == "TaskFailedToStart" and "startedAt" not in task
        assert task["stoppedReason"].startswith("CannotPullContainerError: pull image manifest has been retried")
        (container,) = task["containers"]
        assert container["lastStatus"] == "STOPPED" and "exitCode" not in container
        assert container["reason"] == task["stoppedReason"]


def test_health_checks_gate_healthy_tasks_and_unhealthy_ones_are_replaced(env: Env) -> None:
    env.taskdef(f"{ECR}/web:3", healthCheck=HEALTH_CHECK)
    env.taskdef(f"{ECR}/web:4", healthCheck=HEALTH_CHECK)
    seed(env, desired=2, **BREAKER)
    env.call("UpdateService", service="web", taskDefinition="web:3")
    env.run_until(steady(env))
    for task in env.tasks("RUNNING"):
        assert task["healthStatus"] == task["containers"][0]["healthStatus"] == "HEALTHY"

    env.engine.set_image_behaviour("web:4", "unhealthy")
    failing = env.call("UpdateService", service="web", taskDefinition="web:4")["service"]["deployments"][0]["id"]
    seen_unhealthy = False

    def watch() -> None:
        nonlocal seen_unhealthy
        seen_unhealthy |= any(
            t["healthStatus"] == t["containers"][0]["healthStatus"] == "UNHEALTHY" and "startedAt" in t
            for t in env.tasks()
        )

    env.run(1.5, check=watch)
    assert seen_unhealthy
    env.run_until(lambda: any("rolling back" in m for m in env.messages()), timeout=10)
    env.run_until(steady(env))
    assert env.service()["taskDefinition"].endswith("web:3")
    messages = env.messages()
    unhealthy = [m for m in messages if m.endswith("failed container health checks.")]
    assert len(unhealthy) >= 3 and all(re.fullmatch(r"\(service web\) \(task \w{32}\) failed container health checks\.", m) for m in unhealthy)
    replacements = r"\(service web\) has started (\d) tasks: .*\. Amazon ECS replaced (\d) tasks due to an unhealthy status\."
    assert any(re.fullmatch(replacements, m) for m in messages)
    assert f"(service web) (deployment {failing}) deployment failed: tasks failed to start." in messages
    replaced = [t for t in env.tasks("STOPPED") if t["taskDefinitionArn"].endswith("web:4")]
    assert {(t["stopCode"], t["stoppedReason"]) for t in replaced} == {
        ("ServiceSchedulerInitiated", "Task failed container health checks")
    }


def test_a_task_that_ran_healthy_resets_and_stops_the_failure_count(env: Env) -> None:
    seed(env, desired=1, **BREAKER)
    env.engine.set_image_behaviour("web:2", "crash", after=3.0)  # crashes long after it counted as healthy
    env.call("UpdateService", service="web", taskDefinition="web:2")
    env.run(15, step=0.1)
    deployment = env.service()["deployments"][0]
    assert deployment["taskDefinition"].endswith("web:2") and deployment["failedTasks"] == 0
    assert deployment["rolloutState"] in ("IN_PROGRESS", "COMPLETED")
    assert len([t for t in env.tasks("STOPPED") if t.get("stopCode") == "EssentialContainerExited"]) >= 3


def test_a_configuration_that_allows_no_progress_says_so_once(env: Env) -> None:
    seed(env, desired=1, minimumHealthyPercent=100, maximumPercent=100)
    env.call("UpdateService", service="web", taskDefinition="web:2")
    env.run(5)
    stuck = (
        "(service web) was unable to stop or start tasks during a deployment because of the service deployment "
        "configuration. Update the minimumHealthyPercent or maximumPercent value and try again."
    )
    assert env.messages().count(stuck) == 1 and len(env.service()["deployments"]) == 2
    env.call("UpdateService", service="web", deploymentConfiguration={"minimumHealthyPercent": 0})
    env.run_until(steady(env))
    assert env.service()["deployments"][0]["taskDefinition"].endswith("web:2")


CONFIGS = [(0, 100), (50, 150), (100, 200), (50, 200), (100, 150), (25, 125), (0, 200)]


@pytest.mark.parametrize(("minimum", "maximum"), CONFIGS)
def test_no_observed_state_breaks_the_bounds(env: Env, minimum: int, maximum: int) -> None:
    for desired in range(1, 11):
        name = f"web-{desired}"
        params = {"cluster": "local", "serviceName": name, "taskDefinition": "web:1", "desiredCount": desired,
                  "networkConfiguration": network(), "deploymentConfiguration": {"minimumHealthyPercent": minimum, "maximumPercent": maximum}}
        env.engine.seed_service(A, R, params)
    for desired in range(1, 11):
        env.call("UpdateService", service=f"web-{desired}", taskDefinition="web:2")
    floor = {d: math.ceil(d * minimum / 100) for d in range(1, 11)}
    ceiling = {d: math.floor(d * maximum / 100) for d in range(1, 11)}
    progress = {d for d in range(1, 11) if ceiling[d] > d or floor[d] < d}

    def check() -> None:
        by_group: dict[str, list[dict[str, Any]]] = {}
        for task in env.tasks():
            by_group.setdefault(task["group"], []).append(task)
        for d in range(1, 11):
            tasks = by_group.get(f"service:web-{d}", [])
            serving = sum(t["lastStatus"] == "RUNNING" and t["desiredStatus"] == "RUNNING" for t in tasks)
            live = sum(t["lastStatus"] != "STOPPED" for t in tasks)
            assert serving >= floor[d], (d, serving, floor[d])
            assert live <= ceiling[d], (d, live, ceiling[d])

    env.run(8, step=0.05, check=check)
    for d in range(1, 11):
        service = env.call("DescribeServices", services=[f"web-{d}"])["services"][0]
        done = len(service["deployments"]) == 1 and service["taskDefinition"].endswith("web:2")
        assert done == (d in progress), (d, service["deployments"])
        assert any("was unable to stop or start tasks" in e["message"] for e in service["events"]) == (d not in progress)
