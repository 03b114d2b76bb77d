"""EcsService and the smoke checks on a BLUE_GREEN service behind a Network Load Balancer of the embedded local AWS,
in simulated time: the pre-check reads the NLB's production listener, the time-out covers ECS's ten more minutes
per delayed stage, the smoke check goes through the test listener's TCP endpoint to the new revision while
production stays on the old one, and a failed smoke step rolls back through the pause."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from module_aws import ModuleAWS

from pytest_ecsdeploy.actions.service import EcsService
from pytest_ecsdeploy.actions.smoke import Smoke
from pytest_ecsdeploy.actions.strategy import url_of_test_listener
from pytest_ecsdeploy.config import Environment, Service
from pytest_ecsdeploy.context import Hooks, PrintLog, RunOptions, ServiceContext
from pytest_ecsdeploy.errors import CheckFailed
from pytest_ecsdeploy.report.record import ServiceRecord

TASK_DEFINITION = {
    "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
    "containerDefinitions": [{"name": "app", "image": "web:placeholder", "essential": True}],
}
PAUSE = {"stages": ["POST_TEST_TRAFFIC_SHIFT"], "timeout_minutes": 120}
DELAYS = 3 * 600.0  # PRE_SCALE_UP, TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT: ten minutes each


class World:
    """LocalAWS on a FakeClock with ``web`` (2 tasks of web:1.0.0) blue/green behind an NLB; EcsService's and
    Smoke's sleeps move the clock."""

    def __init__(self, shared: ModuleAWS) -> None:
        self.shared, self.local, self.clock = shared, shared.local, shared.clock
        self.ecs, self.elbv2 = shared.client("ecs"), shared.client("elbv2")
        self.start = self.clock.now()

    def revision(self, tag: str) -> str:
        uri = self.local.client("ecr").describe_repositories(repositoryNames=["web"])["repositories"][0]["repositoryUri"]
        app = {**TASK_DEFINITION["containerDefinitions"][0], "image": f"{uri}:{tag}"}  # type: ignore[dict-item]
        return str(self.ecs.register_task_definition(**{**TASK_DEFINITION, "containerDefinitions": [app]})[
            "taskDefinition"]["taskDefinitionArn"])

    def describe(self) -> dict[str, Any]:
        return self.ecs.describe_services(cluster="local", services=["web"])["services"][0]  # type: ignore[no-any-return]

    def context(self) -> ServiceContext:
        environment = Environment(name="local", backend="emulator", cluster="local", region="us-east-1",
                                  wait_timeout=600)
        return ServiceContext(
            environment=environment,
            service=Service(name="web", service_name="web", repository="web",
                            health_url=self.local.listener_url("web"),
                            test_url=self.local.listener_url("web", test=True)),
            aws=self.shared.client_factory(environment),
            options=RunOptions(rollback=True), record=ServiceRecord(service="web", environment="local",
                                                                    cluster="local"),
            log=PrintLog("[web] "), hooks=Hooks())

    def service(self, ctx: ServiceContext) -> EcsService:
        return EcsService(ctx, clock=lambda: self.clock.now() - self.start, sleep=self.clock.advance,
                          wall=self.clock.now)

    def smoke(self, ctx: ServiceContext) -> Smoke:
        return Smoke(ctx, clock=lambda: self.clock.now() - self.start, sleep=self.clock.advance)

    def listener_weights(self, key: str) -> list[int]:
        advanced = self.describe()["loadBalancers"][0]["advancedConfiguration"]
        (listener,) = self.elbv2.describe_listeners(ListenerArns=[advanced[key]])["Listeners"]
        return [g["Weight"] for g in listener["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]]


SEED = {
    "clusters": ["local"], "repositories": {"web": {"tags": ["1.0.0", "2.0.0"]}},
    "services": {"web": {
        "task_definition": "taskdef.json", "images": {"app": "web:1.0.0"}, "desired_count": 2,
        "deployment_configuration": {"strategy": "BLUE_GREEN", "bake_time_minutes": 1, "lifecycle_hooks": [PAUSE]},
        "load_balancer": {"target_group": "web-blue", "alternate_target_group": "web-green", "container": "app",
                          "port": 8080, "type": "network"}}},
}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleAWS]:
    with ModuleAWS(SEED, base_dir=tmp_path_factory.mktemp("nlb"), files={"taskdef.json": TASK_DEFINITION}) as aws:
        yield aws


@pytest.fixture
def world(shared: ModuleAWS) -> World:
    return World(shared.fresh())


def test_smoke_through_the_nlb_test_listener_then_continue_to_the_end_within_the_time_out(world: World) -> None:
    ctx = world.context()
    service, smoke = world.service(ctx), world.smoke(ctx)
    paused = service.deploy(world.revision("2.0.0"), until="test_traffic")
    assert paused.is_paused and paused.duration >= 2 * 600.0  # past PRE_SCALE_UP's and TEST_TRAFFIC_SHIFT's delays
    assert world.listener_weights("testListenerRule") == [0, 100]
    assert world.listener_weights("productionListenerRule") == [100, 0]
    assert smoke.http("/version", contains="2.0.0", traffic="test", within=30).body.strip() == "2.0.0"
    assert smoke.http("/version", contains="1.0.0", within=30).body.strip() == "1.0.0"  # production: blue

    rollout = service.continue_deployment()
    assert rollout.is_completed and service.is_steady and service.revision == paused.revision
    assert world.clock.now() - world.start >= DELAYS + 60.0  # the three delays and the bake, within 600 s + budget
    assert world.listener_weights("productionListenerRule") == [0, 100]
    [check] = [c for c in ctx.record.checks.items if c.name == "both target groups on the production listener rule"]
    assert (check.result, check.detail) == ("passed", "1 production listener rule(s) forward to both")


def test_a_failed_smoke_step_at_the_pause_rolls_back_through_it(world: World) -> None:
    ctx = world.context()
    service, smoke = world.service(ctx), world.smoke(ctx)
    paused = service.deploy(world.revision("2.0.0"), until="test_traffic")
    with pytest.raises(AssertionError) as failed:
        smoke.http("/version", contains="3.0.0", traffic="test", within=5)
    service.finish("test_green_answers", str(failed.value))
    record = ctx.record
    assert record.outcome == "rolled back" and "paused at POST_TEST_TRAFFIC_SHIFT" in str(record.reason)
    assert record.rollback is not None and record.rollback.outcome == "completed"
    assert paused.service_deployment is not None
    assert world.ecs.describe_service_deployments(serviceDeploymentArns=[paused.service_deployment])[
        "serviceDeployments"][0]["status"] == "ROLLBACK_SUCCESSFUL"
    assert world.listener_weights("testListenerRule") == [100, 0]
    assert smoke.http("/version", contains="1.0.0", traffic="test", within=30).body.strip() == "1.0.0"


def test_the_pre_check_reads_the_nlb_listener_and_fails_before_any_write(world: World) -> None:
    advanced = world.describe()["loadBalancers"][0]["advancedConfiguration"]
    blue = world.describe()["loadBalancers"][0]["targetGroupArn"]
    world.elbv2.modify_listener(ListenerArn=advanced["productionListenerRule"], DefaultActions=[
        {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": blue, "Weight": 1}]}}])
    before = world.describe()["deployments"]
    with pytest.raises(CheckFailed, match=r"production listener rule \w+ does not forward to web-green: add both "
                                          r"target groups to its forward action"):
        world.service(world.context()).deploy(world.revision("2.0.0"))
    assert world.describe()["deployments"] == before


def test_the_test_url_is_derived_from_the_nlb_test_listener(world: World) -> None:
    ctx = world.context()
    (balancer,) = world.elbv2.describe_load_balancers()["LoadBalancers"]
    assert url_of_test_listener(ctx.aws, world.describe(), who="smoke") == f"http://{balancer['DNSName']}:8080"
    derived = replace(ctx, service=replace(ctx.service, test_url=None))
    smoke = world.smoke(derived)
    with pytest.raises(AssertionError):  # the DNS name does not resolve here; the URL tried is the derived one
        smoke.http("/version", traffic="test", within=0)
    assert any(f"test traffic goes to http://{balancer['DNSName']}:8080" in line for line in derived.log.lines)
