"""EcsService against the embedded local AWS, in simulated time: the emulator's clock moves only when the
service sleeps between looks, so poll intervals, the latency from ECS's decision to the verdict, and timeouts
are checked exactly, without waiting. Faults (throttling, connection resets, 5xx answers) are injected into the
ECS client, for a rollout's watch and a one-off task's wait alike; controllers the emulator cannot create
(CODE_DEPLOY, EXTERNAL) are shown through the same client."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError
from fakes import Flaky

from pytest_ecsdeploy.actions.service import EcsService
from pytest_ecsdeploy.actions.task import EcsTask
from pytest_ecsdeploy.actions.taskdef import TaskDefinition
from pytest_ecsdeploy.aws import ClientFactory
from pytest_ecsdeploy.config import Environment, Service
from pytest_ecsdeploy.context import Hooks, PrintLog, RunOptions, ServiceContext
from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.clock import FakeClock, Timings
from pytest_ecsdeploy.emulator.seed import parse_seed
from pytest_ecsdeploy.emulator.seeding import apply_seed
from pytest_ecsdeploy.errors import AccountMismatch, ActionError, CheckFailed, NotSupported, RolloutFailed
from pytest_ecsdeploy.report.record import ServiceRecord

TASK_DEFINITION = {
    "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
    "containerDefinitions": [{"name": "app", "image": "web:placeholder", "essential": True,
                              "portMappings": [{"containerPort": 8080, "protocol": "tcp"}]}],
}


class SimulatedTime:
    """``monotonic`` and ``sleep`` for EcsService that move the emulator's FakeClock: a sleep is simulated time."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.start = clock.now()
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[int], None] | None = None

    def monotonic(self) -> float:
        return self.clock.now() - self.start

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)
        if self.on_sleep is not None:
            self.on_sleep(len(self.sleeps))


class World:
    """One LocalAWS under a FakeClock, seeded with a cluster, the repository ``web`` and the service ``web``."""

    def __init__(self, local: LocalAWS, clock: FakeClock, tmp_path: Path) -> None:
        self.local = local
        self.time = SimulatedTime(clock)
        self.tmp_path = tmp_path
        self.ecs = local.client("ecs")

    def seed(self, desired: int = 2, **service: Any) -> None:
        self.tmp_path.joinpath("taskdef.json").write_text(json.dumps(TASK_DEFINITION))
        seed = parse_seed({
            "clusters": ["local"], "repositories": {"web": {"tags": ["1.0.0", "2.0.0", "3.0.0"]}},
            "services": {"web": {"task_definition": "taskdef.json", "images": {"app": "web:1.0.0"},
                                 "desired_count": desired, **service}},
        }, "test", self.tmp_path, {})
        apply_seed(seed, self.local)

    def revision(self, tag: str) -> str:
        """Register web with image tag ``tag`` (digest-pinned, as a deploy would) and return its ARN."""
        uri = self.local.client("ecr").describe_repositories(repositoryNames=["web"])["repositories"][0]["repositoryUri"]
        digest = self.local.client("ecr").describe_images(
            repositoryName="web", imageIds=[{"imageTag": tag}])["imageDetails"][0]["imageDigest"]
        app = {**TASK_DEFINITION["containerDefinitions"][0], "image": f"{uri}@{digest}"}  # type: ignore[dict-item]
        return str(self.ecs.register_task_definition(**{**TASK_DEFINITION, "containerDefinitions": [app]})[
            "taskDefinition"]["taskDefinitionArn"])

    def context(self, *, rollback: bool = True, plan: bool = False, wait_timeout: float = 600.0,
                account_id: str | None = None, aws: ClientFactory | None = None, hooks: Hooks | None = None
                ) -> ServiceContext:
        environment = Environment(name="local", backend="emulator", cluster="local", region="us-east-1",
                                  wait_timeout=wait_timeout, account_id=account_id)
        return ServiceContext(
            environment=environment,
            service=Service(name="web", service_name="web", repository="web"),
            aws=aws or ClientFactory(environment, local_endpoint=self.local.endpoint_url),
            options=RunOptions(plan=plan, rollback=rollback),
            record=ServiceRecord(service="web", environment="local", cluster="local"),
            log=PrintLog("[web] "),
            hooks=hooks or Hooks(),
        )

    def service(self, ctx: ServiceContext) -> EcsService:
        # ECS's timestamps are the emulator's clock here, so the latency is measured against it too.
        return EcsService(ctx, clock=self.time.monotonic, sleep=self.time.sleep, wall=self.time.clock.now)

    def primary(self) -> dict[str, Any]:
        return self.ecs.describe_services(cluster="local", services=["web"])["services"][0]["deployments"][0]  # type: ignore[no-any-return]


@pytest.fixture
def make_world(tmp_path: Path) -> Iterator[Callable[..., World]]:
    started: list[LocalAWS] = []

    def make(timings: Timings | None = None) -> World:
        clock = FakeClock()
        local = LocalAWS(runner="simulated", clock=clock, timings=timings).start()
        started.append(local)
        return World(local, clock, tmp_path)

    yield make
    for local in started:
        local.stop()


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world()


def test_a_rollout_polls_fast_then_never_slower_than_1_s_reads_tasks_on_change_and_notices_completion_at_once(
    make_world: Callable[..., World],
) -> None:
    # Each task takes 30 simulated seconds to pull: long stretches where nothing changes.
    world = make_world(Timings(pull=30.0))
    world.seed()
    revision = world.revision("2.0.0")
    ctx = world.context()
    calls: Counter[str] = Counter()
    ctx.aws.session.events.register("before-call.ecs", lambda event_name, **_: calls.update([event_name]))
    rollout = world.service(ctx).deploy(revision)
    assert rollout.is_completed and not rollout.is_failed and rollout.outcome == "COMPLETED"
    sleeps = world.time.sleeps
    assert sleeps[0] == EcsService.poll_first and max(sleeps) == EcsService.poll_max == 1.0
    assert sleeps.count(1.0) > 25  # the 30 s pull: looked at every second, no back-off past it
    # The service's counts and events say when a task changed: the tasks are read then, not at every look.
    looks, reads = calls["before-call.ecs.DescribeServices"], calls["before-call.ecs.DescribeTasks"]
    assert looks > len(sleeps) and reads <= 8, (looks, reads, len(sleeps))
    assert rollout.detected_after is not None and rollout.detected_after <= sleeps[-1]
    assert rollout.duration == pytest.approx(sum(sleeps))
    assert rollout.events[-2:] == (f"(service web) (deployment {rollout.deployment_id}) deployment completed.",
                                   "(service web) has reached a steady state.")


@pytest.mark.parametrize("breaker", [True, False])
def test_a_failure_is_noticed_within_one_look_of_the_deciding_change(world: World, breaker: bool) -> None:
    world.seed(deployment_configuration={"circuit_breaker": breaker, "rollback": breaker})
    world.local.set_image_behaviour("web:2.0.0", "crash", exit_code=137)
    ctx = world.context()
    looks_at_verdict: list[int] = []
    warning = ctx.log.warning

    def note_the_verdict(message: str) -> None:  # the verdict is the first warning
        looks_at_verdict.append(len(world.time.sleeps))
        warning(message)

    ctx.log.warning = note_the_verdict  # type: ignore[method-assign]
    service = world.service(ctx)
    with pytest.raises(RolloutFailed) as failure:
        service.deploy(world.revision("2.0.0"))
    rollout = service.rollout
    assert rollout is not None and rollout.is_failed
    assert rollout.is_rolled_back_by_ecs is breaker
    # The verdict came at the first look after ECS's deciding change: within the last sleep before it.
    last_sleep = world.time.sleeps[looks_at_verdict[0] - 1]
    assert rollout.detected_after is not None and 0 <= rollout.detected_after <= last_sleep <= 1.0
    assert len(rollout.failed_tasks) >= 3 and all("app exited 137" in t.stop_detail() for t in rollout.failed_tasks)
    assert str(failure.value).startswith("service 'web': ")
    assert ctx.record.outcome == "rolled back" and ctx.record.rollback is not None
    assert ctx.record.rollback.outcome == "completed"
    assert world.primary()["taskDefinition"].endswith("web:1") and world.primary()["rolloutState"] == "COMPLETED"


class FlakyFactory(ClientFactory):
    def __init__(self, environment: Environment, endpoint: str, faults: dict[str, list[BaseException | None]]) -> None:
        super().__init__(environment, local_endpoint=endpoint)
        self.flaky: Flaky | None = None
        self.faults = faults

    def client(self, service_name: str, region: str | None = None) -> Any:
        real = super().client(service_name, region)
        if service_name == "elbv2":
            return Flaky(real, self.faults)
        if service_name != "ecs":
            return real
        if self.flaky is None:
            self.flaky = Flaky(real, self.faults)
        return self.flaky


def throttled(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                        "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)


def test_throttling_and_connection_resets_while_watching_do_not_end_the_deploy(world: World) -> None:
    world.seed()
    revision = world.revision("2.0.0")
    ctx = world.context()
    faults: dict[str, list[BaseException | None]] = {
        # pre-checks and post-checks pass; the watch's looks meet throttling and a reset connection
        "describe_services": [None, None, throttled("DescribeServices"), None,
                              ConnectionClosedError(endpoint_url=world.local.endpoint_url)],
        "list_tasks": [throttled("ListTasks")],
    }
    aws = FlakyFactory(ctx.environment, world.local.endpoint_url, faults)
    ctx = world.context(aws=aws)
    rollout = world.service(ctx).deploy(revision)
    assert rollout.is_completed
    # One warning per run of failed looks: ListTasks, then DescribeServices (one streak), then after a good look
    # the reset connection.
    warnings = [line for line in ctx.log.lines if line.startswith("WARNING:")]  # type: ignore[attr-defined]
    assert warnings == [
        "WARNING: service 'web': could not list its RUNNING tasks (ListTasks: ThrottlingException: "
        "Rate exceeded); trying again",
        "WARNING: service 'web': could not describe service 'web' in cluster 'local' (DescribeServices: Connection was "
        "closed before we received a valid response from endpoint URL: \"" + world.local.endpoint_url + "\"); "
        "trying again",
    ]
    assert all(not plan for plan in faults.values())


#: One fault of each kind, and how a warning names it: what a rollout's watch and a one-off task's wait outlast.
FAULTS: dict[str, Callable[[str], tuple[BaseException, str]]] = {
    "connection-reset": lambda endpoint: (
        ConnectionClosedError(endpoint_url=endpoint),
        f'Connection was closed before we received a valid response from endpoint URL: "{endpoint}"'),
    "throttled": lambda endpoint: (throttled("DescribeServices"), "ThrottlingException: Rate exceeded"),
    "bad-gateway": lambda endpoint: (
        ClientError({"Error": {"Code": "502", "Message": "Bad Gateway"}, "ResponseMetadata": {"HTTPStatusCode": 502}},
                    "DescribeServices"), "502: Bad Gateway"),
}


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_a_fault_while_a_one_off_task_waits_is_outlasted_exactly_like_one_while_a_rollout_is_watched(
    world: World, fault: str
) -> None:
    world.seed()
    error, detail = FAULTS[fault](world.local.endpoint_url)
    migrate = str(world.ecs.register_task_definition(**{
        **TASK_DEFINITION, "family": "migrate",
        "containerDefinitions": [{"name": "app", "image": "migrate:1", "essential": True}],
    })["taskDefinition"]["taskDefinitionArn"])
    world.local.set_image_behaviour("migrate:1", "exit", exit_code=0, after=2.0)
    # Each waiting loop meets a streak of two failed looks, a good look, then one more failed look.
    streaks: list[BaseException | None] = [error, error, None, error]
    faults: dict[str, list[BaseException | None]] = {"describe_services": [None, *streaks]}  # the pre-check passes
    ctx = world.context(aws=FlakyFactory(world.context().environment, world.local.endpoint_url, faults))

    rollout = world.service(ctx).deploy(world.revision("2.0.0"))
    watched = [line for line in ctx.log.lines if line.startswith("WARNING:")]  # type: ignore[attr-defined]
    faults["describe_tasks"] = list(streaks)
    ctx.log.lines.clear()  # type: ignore[attr-defined]
    result = EcsTask(ctx, clock=world.time.monotonic, sleep=world.time.sleep).run(migrate)
    waited = [line for line in ctx.log.lines if line.startswith("WARNING:")]  # type: ignore[attr-defined]

    assert rollout.is_completed and result.exit_code("app") == 0
    assert all(not plan for plan in faults.values())  # every fault met a look
    assert watched == [f"WARNING: service 'web': could not describe service 'web' in cluster 'local' (DescribeServices: "
                       f"{detail}); trying again"] * 2
    assert waited == [f"WARNING: ecs_task.run(): could not describe the tasks of migrate:1 (DescribeTasks: {detail}); "
                      f"trying again"] * 2


@pytest.mark.parametrize("controller", ["EXTERNAL"])
def test_other_deployment_controllers_are_not_supported(world: World, controller: str) -> None:
    world.seed()
    revision = world.revision("2.0.0")
    base = world.context()

    class Controller(FlakyFactory):
        def client(self, service_name: str, region: str | None = None) -> Any:
            client = super().client(service_name, region)
            if service_name == "ecs":
                original = client.client.describe_services

                def describe_services(**params: Any) -> Any:
                    answer = original(**params)
                    answer["services"][0]["deploymentController"] = {"type": controller}
                    return answer

                client.client.describe_services = describe_services
            return client

    aws = Controller(base.environment, world.local.endpoint_url, {})
    ctx = world.context(aws=aws)
    with pytest.raises(NotSupported) as error:
        world.service(ctx).deploy(revision)
    assert str(error.value) == (
        f"service 'web' uses the {controller} deployment controller; pytest-ecsdeploy supports the ECS and "
        f"CODE_DEPLOY controllers, not {controller}."
    )
    assert aws.flaky is not None and "update_service" not in aws.flaky.calls
    assert [c.result for c in ctx.checks.items if c.name == "deployment controller ECS"] == ["failed"]


def test_what_deploy_refuses_before_it_writes(world: World) -> None:
    world.seed()
    service = world.service(world.context())
    with pytest.raises(ActionError, match=r"'web' names a family, not a revision; deploy an exact revision"):
        service.deploy("web")
    with pytest.raises(ActionError, match=r"names a family, not a revision"):
        service.deploy("arn:aws:ecs:us-east-1:123456789012:task-definition/web")
    inactive = world.revision("2.0.0")
    world.ecs.deregister_task_definition(taskDefinition=inactive)
    with pytest.raises(CheckFailed, match=r"revision ACTIVE: web:2 is INACTIVE"):
        service.deploy(inactive)
    with pytest.raises(AccountMismatch):
        world.service(world.context(account_id="111122223333")).deploy(world.revision("3.0.0"))
    assert world.primary()["taskDefinition"].endswith("web:1")


def test_a_configuration_that_allows_no_progress_is_refused(world: World) -> None:
    world.seed(deployment_configuration={"minimum_healthy_percent": 100, "maximum_percent": 100})
    with pytest.raises(CheckFailed) as error:
        world.service(world.context()).deploy(world.revision("2.0.0"))
    assert str(error.value) == ("check failed: deployment configuration allows progress: minimumHealthyPercent 100 "
                                "/ maximumPercent 100 of 2 tasks: between 2 and 2 tasks")
    assert world.primary()["taskDefinition"].endswith("web:1")


def test_target_groups_are_checked_after_the_rollout(world: World) -> None:
    world.seed(load_balancer={"target_group": "web", "container": "app", "port": 8080})
    ctx = world.context()
    assert world.service(ctx).deploy(world.revision("2.0.0")).is_completed
    (check,) = [c for c in ctx.checks.items if c.name == "target group healthy"]
    assert (check.result, check.detail) == ("passed", "target group web: 2 of 2 targets healthy")


def test_someone_elses_deployment_during_the_watch_is_not_rolled_back(world: World) -> None:
    world.seed()
    ours, theirs = world.revision("2.0.0"), world.revision("3.0.0")
    ctx = world.context()
    world.time.on_sleep = lambda n: world.ecs.update_service(cluster="local", service="web",
                                                             taskDefinition=theirs) if n == 2 else None
    with pytest.raises(RolloutFailed) as error:
        world.service(ctx).deploy(ours)
    headline, why, rollback = str(error.value).splitlines()
    assert headline.startswith("service 'web': deployment ecs-svc/") and headline.endswith(
        " of web:2 was replaced by another deployment; not rolled back.")
    assert "was replaced by deployment ecs-svc/" in why and why.endswith(", which someone else started")
    assert rollback == "  rollback: not rolled back: another deployment replaced it"
    assert ctx.record.outcome == "failed" and ctx.record.rollback is None
    assert world.primary()["taskDefinition"] == theirs


def test_a_rerun_after_a_failed_deployment_of_the_same_revision_starts_a_new_one(world: World) -> None:
    world.seed(deployment_configuration={"circuit_breaker": True, "rollback": False})
    world.local.set_image_behaviour("web:2.0.0", "crash")
    revision = world.revision("2.0.0")
    first = world.context(rollback=False)
    with pytest.raises(RolloutFailed, match=r"(?s)failed; not rolled back\.\n  why: .*tasks failed to start .*\n"
                                            r"  rollback: not rolled back \(--no-rollback\)$"):
        world.service(first).deploy(revision)
    assert world.primary()["rolloutState"] == "FAILED"
    world.local.set_image_behaviour("web:2.0.0", "healthy")
    again = world.context()
    rollout = world.service(again).deploy(revision)
    assert rollout.is_completed and rollout.deployment_id != first.record.deployment_id
    assert again.record.revision_before is not None and again.record.revision_before.endswith("web:1")
    assert any("FAILED; starting a new one" in line for line in again.log.lines)  # type: ignore[attr-defined]


def test_finish_rolls_back_only_what_this_run_changed(world: World) -> None:
    world.seed()
    untouched = world.context()
    service = world.service(untouched)
    service.finish(None)
    assert untouched.record.outcome == "pending"
    service.finish("test_register_revision")
    assert (untouched.record.outcome, untouched.record.reason) == (
        "failed", "step test_register_revision failed; the service was not changed by this run")

    ctx = world.context()
    calls: list[str] = []
    ctx.hooks = Hooks(deployed=lambda record: calls.append(f"deployed {record.outcome}"),
                      rolled_back=lambda record: calls.append(f"rolled back {record.rollback and record.rollback.outcome}"))
    deployed = world.service(ctx)
    deployed.deploy(world.revision("2.0.0"))
    deployed.finish("test_health")
    assert calls == ["deployed deployed", "rolled back completed"]
    assert (ctx.record.outcome, ctx.record.reason) == ("rolled back", "step test_health failed after the rollout")
    assert deployed.rollback_rollout is not None and deployed.rollback_rollout.is_completed
    assert world.primary()["taskDefinition"].endswith("web:1")


def test_a_throttled_post_check_is_asked_again(world: World) -> None:
    world.seed(load_balancer={"target_group": "web", "container": "app", "port": 8080})
    revision = world.revision("2.0.0")
    base = world.context()
    faults: dict[str, list[BaseException | None]] = {"describe_target_health": [throttled("DescribeTargetHealth")]}
    ctx = world.context(aws=FlakyFactory(base.environment, world.local.endpoint_url, faults))
    assert world.service(ctx).deploy(revision).is_completed
    assert "WARNING: service 'web': could not read the health of target group web (DescribeTargetHealth: " \
           "ThrottlingException: Rate exceeded); trying again" in ctx.log.lines  # type: ignore[attr-defined]
    assert [c.result for c in ctx.checks.items if c.name == "target group healthy"] == ["passed"]


def test_a_failing_notification_hook_is_a_warning_not_a_rollback(world: World) -> None:
    world.seed()

    def chat_is_down(record: Any) -> None:
        raise ConnectionError("chat.example.com: connection refused")

    ctx = world.context(hooks=Hooks(deployed=chat_is_down))
    service = world.service(ctx)
    assert service.deploy(world.revision("2.0.0")).is_completed
    service.finish(None)
    assert ctx.record.outcome == "deployed"
    assert "WARNING: a pytest_ecsdeploy notification hook failed: ConnectionError: chat.example.com: connection " \
           "refused" in ctx.log.lines  # type: ignore[attr-defined]
    assert world.primary()["taskDefinition"].endswith("web:2")


def test_a_family_and_revision_number_is_deployed_by_its_arn(world: World) -> None:
    world.seed()
    arn = world.revision("2.0.0")
    rollout = world.service(world.context()).deploy("web:2")
    assert rollout.is_completed and rollout.revision == arn
    assert world.primary()["taskDefinition"] == arn


def test_a_deploy_through_task_definition_describes_only_the_running_revision(world: World) -> None:
    """The running revision when task_definition reads it (and finds it is the family's latest); the new one is
    checked on RegisterTaskDefinition's answer, and ecs_service.deploy() checks the Revision it is given without
    describing it again."""
    world.seed()
    base = world.context()
    aws = FlakyFactory(base.environment, world.local.endpoint_url, {})
    ctx = world.context(aws=aws)
    uri = world.local.client("ecr").describe_repositories(repositoryNames=["web"])["repositories"][0]["repositoryUri"]
    revision = TaskDefinition(ctx).current().with_image("app", f"{uri}:2.0.0").register()

    rollout = world.service(ctx).deploy(revision)

    assert rollout.is_completed and revision.is_new
    assert aws.flaky is not None and aws.flaky.calls.count("describe_task_definition") == 1
    assert ("revision is ACTIVE", "passed", "web:2 is ACTIVE") in [(c.name, c.result, c.detail) for c in ctx.checks.items]
    assert ("revision ACTIVE", "passed", "web:2 is ACTIVE") in [(c.name, c.result, c.detail) for c in ctx.checks.items]
    assert ctx.record.revision_before is not None and ctx.record.revision_before.endswith("web:1")
    assert ctx.record.image_before is not None and ctx.record.image_before.endswith("/web:1.0.0")


def test_redeploying_the_running_revision_describes_it_once(world: World) -> None:
    world.seed()
    base = world.context()
    aws = FlakyFactory(base.environment, world.local.endpoint_url, {})
    ctx = world.context(aws=aws)

    rollout = world.service(ctx).deploy("web:1")

    assert rollout.is_unchanged
    assert aws.flaky is not None and aws.flaky.calls.count("describe_task_definition") == 1
    assert ctx.record.image_before is not None and ctx.record.image_before.endswith("/web:1.0.0")
    assert ctx.record.image_after == ctx.record.image_before
