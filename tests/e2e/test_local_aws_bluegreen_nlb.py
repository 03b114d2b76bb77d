"""Blue/green behind a Network Load Balancer on LocalAWS, through boto3 and sockets only: the seed's NLB (TCP
listeners named in ``advancedConfiguration``, no rules), the listeners' default forward weights per lifecycle stage
as DescribeListeners shows them, ECS's ten more minutes at PRE_SCALE_UP, TEST_TRAFFIC_SHIFT and each production
step on the engine's clock, and the listeners' TCP endpoints carrying HTTP to the simulated tasks, connection by
connection; simulated runner, on a clock only the test moves."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator

import pytest
from module_aws import ModuleAWS

from tests.e2e.test_local_aws_bluegreen_traffic import FINISHED, PAUSE_AT_TEST_TRAFFIC, TEMPLATE, Traffic, seed

STEP = 0.25  # simulated seconds per look: half a stage without work (Timings.lifecycle_stage)
DELAY = 600.0  # ECS's ten minutes behind an NLB (Timings.nlb_delay)
ORDER = ["PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
         "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME",
         "CLEAN_UP"]


class Nlb(Traffic):
    """LocalAWS seeded with the service ``web`` (2 tasks of web:1.0.0 in target group web-blue, alternate
    web-green) behind a Network Load Balancer, its clients and the clock; ``rules()`` reads the listeners."""

    def weights(self, key: str = "productionListenerRule") -> dict[str, int]:
        """The listener's default forward weights as DescribeListeners shows them: {"blue": w, "green": w}, after
        an ECS request (the engine moves the simulation on ECS's requests, as an ECS client watching would)."""
        self.service()
        (found,) = self.elbv2.describe_listeners(ListenerArns=[self.advanced[key]])["Listeners"]
        (action,) = found["DefaultActions"]
        return {self.names[g["TargetGroupArn"]]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]}

    def position(self, arn: str) -> int:
        found = self.describe(arn)
        return len(ORDER) if found["status"] in FINISHED else ORDER.index(found["lifecycleStage"])

    def reach(self, arn: str, stage: str, *, jump: float = 0.0) -> float:
        """Simulated seconds from now until service deployment ``arn`` is at ``stage`` (or past it): the clock
        jumps ``jump`` seconds first, by when the stage must not be reached, then moves STEP at a time."""
        start = self.clock.now()
        if jump:
            self.clock.advance(jump)
            assert self.position(arn) < ORDER.index(stage), f"{stage} reached within {jump} s"
        for _ in range(40):
            if self.position(arn) >= ORDER.index(stage):
                return self.clock.now() - start
            self.clock.advance(STEP)
        raise AssertionError(f"{stage} not reached: {self.describe(arn).get('lifecycleStage')}")

    def past_the_delays(self, arn: str, stage: str) -> None:
        """Move a deployment just started past PRE_SCALE_UP's and TEST_TRAFFIC_SHIFT's delays, to ``stage``."""
        self.reach(arn, "SCALE_UP", jump=DELAY)
        self.reach(arn, stage, jump=DELAY)

    def hook(self, arn: str) -> str:
        (hook,) = [h for h in self.describe(arn).get("lifecycleHookDetails") or [] if h["status"] == "AWAITING_ACTION"]
        return str(hook["hookId"])

    def finish(self, arn: str) -> str:
        """The status ``arn`` finishes with, followed from one due change to the next."""
        return str(self.follow(arn, simulated=4000.0)[-1]["status"])

    def get(self, path: str = "/version", *, test: bool = False) -> tuple[int, str, dict[str, str]]:
        """(status, body, headers) of ``GET path`` through the production (or test) listener's endpoint."""
        with urllib.request.urlopen(self.aws.listener_url("web", test=test) + path, timeout=10) as answer:
            return answer.status, answer.read().decode().strip(), dict(answer.headers.items())


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleAWS]:
    network = seed({"strategy": "BLUE_GREEN", "bake_time_minutes": 1, "lifecycle_hooks": [PAUSE_AT_TEST_TRAFFIC]})
    network["services"]["web"]["load_balancer"]["type"] = "network"
    with ModuleAWS(network, base_dir=tmp_path_factory.mktemp("nlb"), files={"web.json": TEMPLATE}) as aws:
        yield aws


@pytest.fixture
def nlb(shared: ModuleAWS) -> Nlb:
    shared.fresh()
    return Nlb(shared.local, shared.clock, shared.client)


def test_the_seed_puts_the_service_behind_a_network_load_balancer_with_tcp_listeners(nlb: Nlb) -> None:
    production, test = nlb.advanced["productionListenerRule"], nlb.advanced["testListenerRule"]
    listeners = nlb.elbv2.describe_listeners(ListenerArns=[production, test])["Listeners"]
    assert [(x["ListenerArn"], x["Protocol"], x["Port"]) for x in listeners] == [(production, "TCP", 80),
                                                                                 (test, "TCP", 8080)]
    (balancer,) = nlb.elbv2.describe_load_balancers(LoadBalancerArns=[listeners[0]["LoadBalancerArn"]])[
        "LoadBalancers"]
    assert balancer["Type"] == "network"
    groups = nlb.elbv2.describe_target_groups(TargetGroupArns=list(nlb.names))["TargetGroups"]
    assert {g["Protocol"] for g in groups} == {"TCP"}
    assert nlb.rules() == ({"blue": 1, "green": 0}, {"blue": 1, "green": 0})
    status, body, headers = nlb.get()
    assert (status, body, headers["X-Ecsdeploy-Simulated"]) == (200, "1.0.0", "1")
    assert "X-Ecsdeploy-Target-Group" not in headers  # TCP: the NLB's endpoint adds nothing to what it carries


def test_each_delayed_stage_lasts_ten_minutes_more_and_the_listeners_weights_move_at_their_ends(nlb: Nlb) -> None:
    arn = nlb.deploy("1.1.0")
    assert DELAY + 0.5 <= nlb.reach(arn, "SCALE_UP", jump=DELAY) <= DELAY + 0.5 + STEP
    nlb.reach(arn, "TEST_TRAFFIC_SHIFT")  # SCALE_UP waits for green's tasks, POST_SCALE_UP is not delayed
    assert nlb.rules() == ({"blue": 1, "green": 0}, {"blue": 1, "green": 0})
    assert DELAY <= nlb.reach(arn, "POST_TEST_TRAFFIC_SHIFT", jump=DELAY) <= DELAY + 0.5 + STEP
    assert nlb.rules() == ({"blue": 100, "green": 0}, {"blue": 0, "green": 100})
    assert nlb.get(test=True)[:2] == (200, "1.1.0") and nlb.get()[:2] == (200, "1.0.0")

    nlb.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=nlb.hook(arn))
    nlb.reach(arn, "PRODUCTION_TRAFFIC_SHIFT")
    assert DELAY <= nlb.reach(arn, "POST_PRODUCTION_TRAFFIC_SHIFT", jump=DELAY) <= DELAY + 0.5 + STEP
    assert nlb.rules() == ({"blue": 0, "green": 100}, {"blue": 0, "green": 100})
    assert nlb.describe(arn)["targetServiceRevision"]["requestedProductionTrafficWeight"] == 100.0
    assert nlb.finish(arn) == "SUCCESSFUL"
    assert nlb.get()[:2] == (200, "1.1.0")


def test_every_linear_step_waits_its_bake_and_ten_minutes_more(nlb: Nlb) -> None:
    nlb.configure(strategy="LINEAR", bakeTimeInMinutes=0, lifecycleHooks=[],
                  linearConfiguration={"stepPercent": 50.0, "stepBakeTimeInMinutes": 1})
    arn = nlb.deploy("1.1.0")
    nlb.past_the_delays(arn, "PRODUCTION_TRAFFIC_SHIFT")
    seen = nlb.clock.now()  # at most STEP after the stage started
    nlb.clock.advance(DELAY)
    assert nlb.weights() == {"blue": 100, "green": 0}
    nlb.clock.advance(0.5 + STEP)
    assert nlb.weights() == {"blue": 50, "green": 50}  # the first step: the stage's own half second, ten minutes
    # the second: the step bake, PRE_PRODUCTION_TRAFFIC_SHIFT's half second, the stage's own, ten minutes
    nlb.clock.advance(seen + DELAY + 0.5 + 60.0 + 0.5 + 0.5 + DELAY - 2 * STEP - nlb.clock.now())
    assert nlb.weights() == {"blue": 50, "green": 50}
    assert nlb.describe(arn)["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT"
    nlb.clock.advance(3 * STEP)
    assert nlb.weights() == {"blue": 0, "green": 100}
    assert nlb.finish(arn) == "SUCCESSFUL"


def test_a_rollback_at_the_pause_points_both_listeners_back_to_blue_at_once(nlb: Nlb) -> None:
    arn = nlb.deploy("1.1.0")
    nlb.past_the_delays(arn, "POST_TEST_TRAFFIC_SHIFT")
    nlb.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=nlb.hook(arn), action="ROLLBACK")
    assert nlb.rules() == ({"blue": 100, "green": 0}, {"blue": 100, "green": 0})
    assert nlb.get(test=True)[:2] == (200, "1.0.0")
    assert nlb.finish(arn) == "ROLLBACK_SUCCESSFUL"


def test_the_production_endpoint_weighs_each_connection(nlb: Nlb) -> None:
    nlb.configure(strategy="CANARY", bakeTimeInMinutes=0, lifecycleHooks=[],
                  canaryConfiguration={"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 30})
    arn = nlb.deploy("1.1.0")
    nlb.past_the_delays(arn, "PRODUCTION_TRAFFIC_SHIFT")
    nlb.clock.advance(DELAY + 0.5 + STEP)
    assert nlb.weights() == {"blue": 90, "green": 10}
    answers = [nlb.get()[1] for _ in range(20)]  # one connection each
    assert answers.count("1.1.0") == 2 and answers.count("1.0.0") == 18


def test_a_connection_to_a_listener_without_a_target_is_closed(nlb: Nlb) -> None:
    (listener,) = nlb.elbv2.describe_listeners(ListenerArns=[nlb.advanced["testListenerRule"]])["Listeners"]
    vpc = nlb.elbv2.describe_target_groups(TargetGroupArns=list(nlb.names))["TargetGroups"][0]["VpcId"]
    empty = nlb.elbv2.create_target_group(Name="empty", Protocol="TCP", Port=8080, VpcId=vpc, TargetType="ip")[
        "TargetGroups"][0]["TargetGroupArn"]
    nlb.elbv2.modify_listener(ListenerArn=listener["ListenerArn"], DefaultActions=[
        {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": empty, "Weight": 1}]}}])
    port = int(nlb.aws.listener_url("web", test=True).rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(b"GET /version HTTP/1.1\r\nHost: web\r\n\r\n")
        assert connection.recv(1024) == b""  # no answer: the connection ends, as an NLB without targets ends it
    assert nlb.get()[:2] == (200, "1.0.0")  # the production listener still reaches blue
