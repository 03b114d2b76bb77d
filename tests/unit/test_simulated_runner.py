"""The simulated runner (``emulator/runners/simulated.py``: image matching, behaviours, container timelines) and
what the engine builds on it: the clocks and timings (``emulator/clock.py``), ECR tags and digests as aliases of
one image (``ecs/responses.py``'s ``image_aliases``), and a history that does not depend on the clock's step."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from fakes import container_instance
from moto import mock_aws
from moto.ecs.models import ecs_backends

from pytest_ecsdeploy.emulator.clock import FakeClock, RealClock, Timings
from pytest_ecsdeploy.emulator.ecs.responses import RolloutEngine, image_aliases
from pytest_ecsdeploy.emulator.runners.base import ContainerSpec, TaskSpec
from pytest_ecsdeploy.emulator.runners.simulated import SimulatedRunner

A, R = "123456789012", "us-east-1"
URI = f"{A}.dkr.ecr.{R}.amazonaws.com/team/web"
DIGEST = "sha256:" + "ab" * 32
T = Timings()


def spec(*containers: ContainerSpec, task_id: str = "t1", group: str = "service:web") -> TaskSpec:
    """A task of ``containers``: by default a service's (a RunTask's group is ``family:NAME``)."""
    return TaskSpec(task_id, f"arn:aws:ecs:{R}:{A}:task/local/{task_id}", "local", "td", containers, group)


@pytest.mark.parametrize(
    ("key", "image", "applies"),
    [
        (f"{URI}:2.0", f"{URI}:2.0", True),
        ("web:2.0", f"{URI}:2.0", True),
        ("web:2.0", f"{URI}:2.1", False),
        ("web", f"{URI}:latest", True),
        ("web", f"{URI}", True),
        ("api:2.0", f"{URI}:2.0", False),
        (DIGEST, f"{URI}@{DIGEST}", True),
        (f"web@{DIGEST}", f"{URI}@{DIGEST}", True),
        (f"{URI}@{DIGEST}", f"{URI}@{DIGEST}", True),
        (f"{URI}:2.0", "other.example/web:2.0", False),
    ],
)
def test_images_match_by_full_reference_repository_tag_or_digest(key: str, image: str, applies: bool) -> None:
    runner = SimulatedRunner()
    runner.set_image_behaviour(key, "crash")
    assert (runner.behaviour_for(ContainerSpec("app", image)).behaviour == "crash") is applies


def test_the_most_specific_match_wins_and_aliases_count() -> None:
    runner = SimulatedRunner()
    runner.set_image_behaviour("web:2.0", "crash")
    runner.set_image_behaviour(DIGEST, "unhealthy")
    runner.set_image_behaviour(f"{URI}:2.0", "pull-error")
    assert runner.behaviour_for(ContainerSpec("app", f"{URI}:2.0")).behaviour == "pull-error"
    assert runner.behaviour_for(ContainerSpec("app", f"{URI}:2.0", aliases=(DIGEST,))).behaviour == "pull-error"
    assert runner.behaviour_for(ContainerSpec("app", f"{URI}@{DIGEST}", aliases=("web:2.0",))).behaviour == "unhealthy"
    assert runner.behaviour_for(ContainerSpec("app", f"{URI}@sha256:{'cd' * 32}", aliases=("web:2.0",))).behaviour == "crash"
    assert runner.behaviour_for(ContainerSpec("app", "nginx:1")).behaviour == "healthy"


@pytest.mark.parametrize(
    ("behaviour", "params", "message"),
    [
        ("explode", {}, "unknown image behaviour 'explode'; choose one of: healthy, crash, unhealthy, pull-error, exit"),
        ("crash", {"code": 3}, "unknown parameter(s) code for image behaviour 'crash'; valid: exit_code, after, logs"),
        ("healthy", {"after": 1}, "unknown parameter(s) after for image behaviour 'healthy'; valid: logs"),
        ("exit", {"logs": [1]}, "logs must be a list of strings, got [1]"),
        ("crash", {"logs": "panic"}, "logs must be a list of strings, got 'panic'"),
        ("crash", {"exit_code": "1"}, "exit_code must be an integer, got '1'"),
        ("exit", {"after": -1}, "after must be a non-negative number of seconds, got -1"),
    ],
)
def test_bad_behaviours_are_refused_naming_the_valid_ones(behaviour: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as error:
        SimulatedRunner().set_image_behaviour("web:1", behaviour, **params)
    assert str(error.value) == message


def test_a_healthy_container_pulls_starts_reports_health_and_stops_on_sigterm() -> None:
    runner = SimulatedRunner(T)
    container = ContainerSpec("app", "web:1", health_check={"command": ["CMD", "true"]})
    runner.start(spec(container), 100.0)
    running = 100.0 + T.pull + T.container_start
    assert runner.poll("t1", 100.1)["app"].phase == "PULLING"
    assert runner.next_change("t1", 100.0) == pytest.approx(100.0 + T.pull)
    assert runner.poll("t1", running - 0.01)["app"].phase == "PULLED"
    assert (runner.poll("t1", running)["app"].phase, runner.poll("t1", running)["app"].health) == ("RUNNING", "UNKNOWN")
    assert runner.poll("t1", running + T.health_check)["app"].health == "HEALTHY"
    assert runner.next_change("t1", running + T.health_check) is None
    runner.stop("t1", 200.0)
    assert runner.poll("t1", 200.0)["app"].phase == "RUNNING"
    stopped = runner.poll("t1", 200.0 + T.stopping)["app"]
    assert (stopped.phase, stopped.exit_code) == ("STOPPED", 0)
    runner.release("t1")
    assert runner.poll("t1", 300.0) == {}


def test_sigkill_after_a_short_stop_timeout_and_stop_before_running() -> None:
    runner = SimulatedRunner(T)
    runner.start(spec(ContainerSpec("app", "web:1", stop_timeout=0.05)), 0.0)
    runner.stop("t1", 5.0)
    assert runner.poll("t1", 5.05)["app"].exit_code == 137
    runner.start(spec(ContainerSpec("app", "web:1"), task_id="t2"), 0.0)
    runner.stop("t2", 0.1)  # still pulling
    state = runner.poll("t2", 0.1)["app"]
    assert (state.phase, state.exit_code, state.failed_to_start) == ("STOPPED", None, False)


def test_crash_exit_unhealthy_and_pull_error_timelines() -> None:
    runner = SimulatedRunner(T)
    runner.set_image_behaviour("crash:1", "crash", exit_code=4, after=2)
    runner.set_image_behaviour("job:1", "exit", after=1)
    runner.set_image_behaviour("sick:1", "unhealthy", after=0.5)
    runner.set_image_behaviour("gone:1", "pull-error", reason="CannotPullContainerError: denied")
    containers = [ContainerSpec(n, f"{n}:1") for n in ("crash", "job", "sick", "gone")]
    runner.start(spec(*containers), 0.0)
    running = T.pull + T.container_start
    at = runner.poll("t1", running + 0.6)
    assert (at["crash"].phase, at["job"].phase, at["sick"].health) == ("RUNNING", "RUNNING", "UNHEALTHY")
    assert at["gone"].failed_to_start and at["gone"].reason == "CannotPullContainerError: denied"
    later = runner.poll("t1", running + 2)
    assert (later["crash"].exit_code, later["job"].exit_code) == (4, 0)


@pytest.mark.parametrize("group", ["family:web", "", "migrations"])
def test_a_task_no_service_started_ends_with_exit_0_unless_a_behaviour_says_otherwise(group: str) -> None:
    runner = SimulatedRunner(T)
    runner.set_image_behaviour("web:1", "exit", exit_code=3, after=2, command=["migrate"])
    runner.start(spec(ContainerSpec("app", "web:1"), ContainerSpec("job", "job:1"),
                      ContainerSpec("migrate", "web:1", definition={"command": ["migrate"]}), group=group), 0.0)
    runner.start(spec(ContainerSpec("app", "web:1"), task_id="t2"), 0.0)  # a service's task: runs until stopped
    running = T.pull + T.container_start
    assert {name: state.phase for name, state in runner.poll("t1", running + 0.49).items()} == {
        "app": "RUNNING", "job": "RUNNING", "migrate": "RUNNING"}
    assert runner.next_change("t1", running) == pytest.approx(running + 0.5)
    ended = runner.poll("t1", running + 0.5)
    assert (ended["app"].exit_code, ended["job"].exit_code, ended["migrate"].phase) == (0, 0, "RUNNING")
    assert runner.poll("t1", running + 2)["migrate"].exit_code == 3
    assert runner.poll("t2", running + 1000)["app"].phase == "RUNNING"


def test_behaviour_is_fixed_when_a_task_starts() -> None:
    runner = SimulatedRunner(T)
    runner.start(spec(ContainerSpec("app", "web:1")), 0.0)
    runner.set_image_behaviour("web:1", "crash", after=0)
    assert runner.poll("t1", 10.0)["app"].phase == "RUNNING"


def test_clocks_and_timings() -> None:
    clock = FakeClock(start=10.0)
    clock.advance(2.5)
    assert clock.now() == 12.5
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1)
    fast = RealClock(speed=100.0)
    before = fast.now()
    time.sleep(0.02)
    assert fast.now() - before >= 1.5
    with pytest.raises(ValueError, match="speed must be positive"):
        RealClock(speed=0)
    with pytest.raises(ValueError, match="Timings.pull must be a non-negative"):
        Timings(pull=-1)
    assert T.startup == pytest.approx(1.0)


@pytest.fixture
def moto_ecs() -> Iterator[None]:
    with mock_aws():
        ecs_backends[A][R].create_cluster("local")
        container_instance(A, R, "local")  # the task definitions here are EC2 ones
        yield


def test_ecr_tags_and_digests_are_aliases_of_each_other(moto_ecs: None) -> None:
    ecr = boto3.client("ecr", region_name=R)
    ecr.create_repository(repositoryName="team/web")
    manifest = '{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}'
    digest = ecr.put_image(repositoryName="team/web", imageManifest=manifest, imageTag="2.0")["image"]["imageId"]["imageDigest"]
    assert image_aliases(f"{URI}:2.0") == (digest, "web:2.0")
    assert image_aliases(f"{URI}@{digest}") == (digest, "web:2.0")
    assert image_aliases(f"{URI}:9.9") == () and image_aliases("nginx:1") == ()

    engine = RolloutEngine(clock=FakeClock(), seed=3)
    engine.set_image_behaviour("web:2.0", "pull-error")
    ecs_backends[A][R].register_task_definition("web", [{"name": "app", "image": f"{URI}@{digest}", "memory": 64}])
    (task,) = engine.handle("RunTask", A, R, {"cluster": "local", "taskDefinition": "web"})["tasks"]
    engine.clock.advance(5)  # type: ignore[attr-defined]
    (task,) = engine.handle("DescribeTasks", A, R, {"cluster": "local", "tasks": [task["taskArn"]]})["tasks"]
    assert task["stopCode"] == "TaskFailedToStart"


def test_big_and_small_clock_steps_give_the_same_history(moto_ecs: None) -> None:
    ecs_backends[A][R].register_task_definition("web", [{"name": "app", "image": "web:1", "memory": 64}])
    ecs_backends[A][R].register_task_definition("web", [{"name": "app", "image": "web:2", "memory": 64}])

    def history(step: float) -> list[tuple[float, str]]:
        clock = FakeClock(start=0.0)
        name = "web"
        engine = RolloutEngine(clock=clock, seed=5)
        engine.seed_service(A, R, {"cluster": "local", "serviceName": name, "taskDefinition": "web:1",
                                   "desiredCount": 3, "deploymentConfiguration": {"minimumHealthyPercent": 50}})
        engine.handle("UpdateService", A, R, {"cluster": "local", "service": name, "taskDefinition": "web:2"})
        for _ in range(round(10 / step)):
            clock.advance(step)
            engine.tick()
        service = engine.handle("DescribeServices", A, R, {"cluster": "local", "services": [name]})["services"][0]
        return [(round(e["createdAt"], 6), e["message"].split(":")[0]) for e in service["events"]]

    assert history(10.0) == history(0.01)
    latest, completed = [m for _, m in history(10.0)][:2]
    assert latest == "(service web) has reached a steady state." and completed.endswith(") deployment completed.")
