"""pacing.py: throttled RegisterTaskDefinition calls take slots one refill apart, and calls that start while slots
are handed out queue behind them. The slot logic on a FakeClock, then real boto3 clients of a ClientFactory whose
requests meet a token bucket (a ``before-send`` answer, on the same FakeClock) instead of an endpoint."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from fakes import FakeClock
from hypothesis import given
from hypothesis import strategies as st

from pytest_ecsdeploy.aws import MAX_ATTEMPTS, ClientFactory, call
from pytest_ecsdeploy.config import Environment
from pytest_ecsdeploy.errors import TransientError
from pytest_ecsdeploy.pacing import MARGIN, PACED, Pacer, Pacers, is_throttled

INTERVAL = 1.0 + MARGIN  # RegisterTaskDefinition refills one token a second


# -- the slots ----------------------------------------------------------------------------------------------------


def test_calls_go_unpaced_while_nothing_was_throttled() -> None:
    pacer = Pacer(1.0, clock=FakeClock(100.0))
    assert [pacer.turn() for _ in range(30)] == [0.0] * 30


def test_throttled_calls_take_slots_one_interval_apart_from_one_interval_on() -> None:
    clock = FakeClock(100.0)
    pacer = Pacer(1.0, clock=clock)
    waits = [pacer.throttled() for _ in range(3)]
    assert waits == pytest.approx([INTERVAL, 2 * INTERVAL, 3 * INTERVAL])


def test_a_call_that_starts_while_slots_are_handed_out_queues_behind_them() -> None:
    clock = FakeClock(100.0)
    pacer = Pacer(1.0, clock=clock)
    pacer.throttled()
    assert pacer.turn() == pytest.approx(2 * INTERVAL)
    assert pacer.throttled() == pytest.approx(3 * INTERVAL)  # throttled later (another process took its token)


def test_once_the_last_slot_has_passed_calls_go_unpaced_again() -> None:
    clock = FakeClock(100.0)
    pacer = Pacer(1.0, clock=clock)
    pacer.throttled()
    pacer.turn()
    clock.sleep(3 * INTERVAL)
    assert pacer.turn() == 0.0
    assert pacer.throttled() == pytest.approx(INTERVAL)  # the bucket is empty again: one interval from now


def test_the_interval_follows_the_rate_and_the_margin() -> None:
    assert Pacer(20.0, clock=FakeClock(), margin=0.0).throttled() == pytest.approx(0.05)
    assert Pacer(0.5, clock=FakeClock(), margin=0.1).throttled() == pytest.approx(2.2)


@pytest.mark.parametrize(("rate", "margin"), [(0.0, 0.05), (-1.0, 0.05), (1.0, -0.01)])
def test_a_rate_or_margin_that_cannot_pace_is_refused(rate: float, margin: float) -> None:
    with pytest.raises(ValueError, match="expected rate > 0 and margin >= 0"):
        Pacer(rate, clock=FakeClock(), margin=margin)


@given(st.lists(st.tuples(st.sampled_from(["turn", "throttled"]), st.floats(0, 3)), max_size=60))
def test_no_two_slots_are_closer_than_one_interval_and_none_is_in_the_past(steps: list[tuple[str, float]]) -> None:
    clock = FakeClock(100.0)
    pacer = Pacer(1.0, clock=clock)
    slots = []
    for kind, advance in steps:
        clock.now += advance
        wait = pacer.turn() if kind == "turn" else pacer.throttled()
        assert wait >= 0.0
        if kind == "throttled":
            assert wait >= INTERVAL - 1e-9  # a throttled call never comes back before a token can be there
        if wait > 0:
            slots.append(clock.now + wait)
    slots.sort()
    assert all(b - a >= INTERVAL - 1e-9 for a, b in pairwise(slots))


def test_pacers_are_one_per_key_and_operation_and_only_for_paced_operations() -> None:
    pacers = Pacers(clock=FakeClock())
    first = pacers.get("account-a", "ecs", "RegisterTaskDefinition")
    assert first is not None and first is pacers.get("account-a", "ecs", "RegisterTaskDefinition")
    assert pacers.get("account-b", "ecs", "RegisterTaskDefinition") not in (None, first)
    assert pacers.get("account-a", "ecs", "DescribeServices") is None
    assert pacers.get("account-a", "ecr", "RegisterTaskDefinition") is None
    assert set(PACED) == {("ecs", "RegisterTaskDefinition")}


@pytest.mark.parametrize(("answer", "throttled"), [
    (({}, {"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {"HTTPStatusCode": 400}}), True),
    (({}, {"Error": {"Code": "TooManyRequestsException"}, "ResponseMetadata": {"HTTPStatusCode": 400}}), True),
    (({}, {"Error": {"Code": "Whatever"}, "ResponseMetadata": {"HTTPStatusCode": 429}}), True),
    (({}, {"Error": {"Code": "ServerException"}, "ResponseMetadata": {"HTTPStatusCode": 500}}), False),
    (({}, {"Error": {"Code": "ClientException"}, "ResponseMetadata": {"HTTPStatusCode": 400}}), False),
    (({}, {"taskDefinition": {}, "ResponseMetadata": {"HTTPStatusCode": 200}}), False),
    (None, False),  # the attempt raised (a connection error): no answer to judge
])
def test_what_counts_as_throttled(answer: Any, throttled: bool) -> None:
    assert is_throttled(answer) is throttled


# -- through boto3 clients ----------------------------------------------------------------------------------------

ENDPOINT = "http://127.0.0.1:4566"


class Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **kwargs: Any) -> Any:
        yield self.body


class Bucket:
    """ECS's token bucket for RegisterTaskDefinition on ``clock``, answering every request of the session in place
    of an endpoint: a registered revision, ThrottlingException when the bucket is empty, or ``fail`` codes first."""

    def __init__(self, clock: FakeClock, burst: float, rate: float, fail: list[tuple[str, int]] | None = None) -> None:
        self.clock, self.tokens, self.burst, self.rate = clock, burst, burst, rate
        self.at = clock()
        self.fail = list(fail or [])
        self.sent: list[tuple[float, str]] = []

    def __call__(self, request: Any, **kwargs: Any) -> AWSResponse:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.fail:
            code, status = self.fail.pop(0)
            return self.answer(request, status, {"__type": code, "message": "It went wrong."}, code)
        if self.tokens < 1:
            return self.answer(request, 400, {"__type": "ThrottlingException", "message": "Rate exceeded"},
                               "ThrottlingException")
        self.tokens -= 1
        arn = f"arn:aws:ecs:eu-west-1:123456789012:task-definition/web:{len(self.sent) + 1}"
        return self.answer(request, 200, {"taskDefinition": {"taskDefinitionArn": arn}}, "ok")

    def answer(self, request: Any, status: int, body: dict[str, Any], what: str) -> AWSResponse:
        self.sent.append((self.clock(), what))
        return AWSResponse(request.url, status, {"Content-Type": "application/x-amz-json-1.1"},
                           Raw(json.dumps(body).encode()))

    def count(self, what: str) -> int:
        return sum(1 for _, sent in self.sent if sent == what)


def factory(pacers: Pacers, bucket: Bucket, *, endpoint: str = ENDPOINT) -> ClientFactory:
    aws = ClientFactory(Environment(name="test", backend="emulator", cluster="local", region="eu-west-1",
                                    endpoint_url=endpoint), pacers=pacers)
    aws.session.events.register("before-send", bucket)
    return aws


def register(aws: ClientFactory) -> str:
    answer = call(aws, "ecs", "register_task_definition", "register web", who="test", family="web",
                  containerDefinitions=[{"name": "app", "image": "app:1"}])
    return str(answer["taskDefinition"]["taskDefinitionArn"])


def test_registrations_over_the_burst_wait_for_the_refill_and_only_the_first_is_throttled() -> None:
    clock = FakeClock(100.0)
    bucket = Bucket(clock, burst=3, rate=1.0)
    aws = factory(Pacers(clock=clock, sleep=clock.sleep), bucket)
    arns = [register(aws) for _ in range(7)]
    assert len(set(arns)) == 7
    assert bucket.count("ThrottlingException") == 1
    assert clock.sleeps == pytest.approx([INTERVAL] * 4)  # the throttled 4th, then the 5th-7th behind it
    assert clock.now == pytest.approx(100.0 + 4 * INTERVAL)


def test_a_registration_that_stays_throttled_fails_as_transient_after_the_clients_attempts() -> None:
    clock = FakeClock(100.0)
    bucket = Bucket(clock, burst=0, rate=0.0)  # someone else takes every token
    aws = factory(Pacers(clock=clock, sleep=clock.sleep), bucket)
    with pytest.raises(TransientError, match=r"RegisterTaskDefinition: ThrottlingException: Rate exceeded"):
        register(aws)
    attempts = aws.client("ecs").meta.config.retries["total_max_attempts"]
    assert attempts == MAX_ATTEMPTS + 1  # botocore's max_attempts counts the retries
    assert bucket.count("ThrottlingException") == attempts
    assert clock.sleeps == pytest.approx([INTERVAL] * (attempts - 1))


@pytest.mark.parametrize("fault", [("ServerException", 500), ("ServiceUnavailableException", 503)])
def test_other_transient_failures_keep_botocores_retries(fault: tuple[str, int]) -> None:
    clock = FakeClock(100.0)
    bucket = Bucket(clock, burst=5, rate=1.0, fail=[fault])
    aws = factory(Pacers(clock=clock, sleep=clock.sleep), bucket)
    register(aws)
    assert bucket.count(fault[0]) == 1 and bucket.count("ok") == 1
    assert clock.sleeps == []  # botocore's own short back-off, not a slot
    assert register(aws) and clock.sleeps == []  # and nothing queued behind it


def test_clients_that_reach_the_same_account_share_the_slots_and_others_do_not() -> None:
    clock = FakeClock(100.0)
    pacers = Pacers(clock=clock, sleep=clock.sleep)
    bucket = Bucket(clock, burst=1, rate=1.0)
    first, same = factory(pacers, bucket), factory(pacers, bucket)
    elsewhere = factory(pacers, Bucket(clock, burst=5, rate=1.0), endpoint="http://127.0.0.1:4567")
    register(first)
    register(first)  # throttled: a slot one interval on
    assert clock.sleeps == pytest.approx([INTERVAL]) and bucket.count("ThrottlingException") == 1
    register(same)  # queued behind that slot, so never throttled
    assert clock.sleeps == pytest.approx([INTERVAL, INTERVAL]) and bucket.count("ThrottlingException") == 1
    register(elsewhere)  # another account's bucket: nothing queued there
    assert len(clock.sleeps) == 2


def test_factories_given_sessions_share_slots_only_for_the_same_access_key() -> None:
    import boto3

    clock = FakeClock(100.0)
    pacers = Pacers(clock=clock, sleep=clock.sleep)
    bucket = Bucket(clock, burst=1, rate=1.0)
    environment = Environment(name="test", backend="emulator", cluster="local", region="eu-west-1",
                              endpoint_url=ENDPOINT)

    def given(key: str) -> ClientFactory:
        session = boto3.Session(aws_access_key_id=key, aws_secret_access_key="s", region_name="eu-west-1")
        aws = ClientFactory(environment, session=session, pacers=pacers)
        aws.session.events.register("before-send", bucket)
        return aws

    first, same, other = given("AKIAFIRST"), given("AKIAFIRST"), given("AKIAOTHER")
    register(first)
    register(first)  # throttled: a slot one interval on
    assert clock.sleeps == pytest.approx([INTERVAL])
    register(same)  # the same access key: queued behind that slot
    assert clock.sleeps == pytest.approx([INTERVAL, INTERVAL]) and bucket.count("ThrottlingException") == 1
    bucket.tokens = 1
    register(other)  # another key (another account, maybe): nothing of the first's queue to wait for
    assert len(clock.sleeps) == 2
