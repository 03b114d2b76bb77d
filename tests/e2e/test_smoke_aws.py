"""smoke.targets_healthy() and smoke.alarms_ok() against the embedded local AWS, with real boto3 clients.

Target groups are real ELBv2 target groups (moto reports an ``ip`` target healthy, and an EC2 instance target
``unused`` / ``Target.InvalidState`` while the instance is stopped); services are created with desiredCount 0 so
that only the targets a test registers are there, except in the one test where the rollout engine's own tasks
register theirs. Alarms are real CloudWatch alarms whose state is set with SetAlarmState.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from fakes import FakeClock

from pytest_ecsdeploy.actions.smoke import Smoke, TargetHealth
from pytest_ecsdeploy.aws import ClientFactory
from pytest_ecsdeploy.config import Environment, Service
from pytest_ecsdeploy.context import PrintLog, RunOptions, ServiceContext
from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.errors import ActionError
from pytest_ecsdeploy.report.record import ServiceRecord

EXAMPLE_AMI_ID = "ami-12c6146b"  # one of the images moto knows (moto's own tests use it)


@pytest.fixture(scope="module")
def local() -> Iterator[LocalAWS]:
    with LocalAWS() as emulator:
        yield emulator


@pytest.fixture
def emulator(local: LocalAWS) -> LocalAWS:
    local.reset(seed=False)
    local.client("ecs").create_cluster(clusterName="local")
    local.client("ecs").register_task_definition(
        family="web", containerDefinitions=[{"name": "app", "image": "web:1", "memory": 128}]
    )
    return local


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


ENVIRONMENT = Environment(name="local", backend="emulator", cluster="local", region="us-east-1")


@pytest.fixture(scope="module")
def factory(local: LocalAWS) -> ClientFactory:
    """One set of boto3 clients for the module: building them is most of a test's time."""
    return ClientFactory(ENVIRONMENT, local_endpoint=local.endpoint_url)



def make_ctx(aws: ClientFactory, cluster: str = "local") -> ServiceContext:
    environment = Environment(name="local", backend="emulator", cluster=cluster, region="us-east-1")
    return ServiceContext(
        environment=environment,
        service=Service(name="web", service_name="web"),
        aws=aws,
        options=RunOptions(),
        record=ServiceRecord(service="web", environment="local", cluster=cluster),
        log=PrintLog("[web] "),
    )


@pytest.fixture
def ctx(emulator: LocalAWS, factory: ClientFactory) -> ServiceContext:
    return make_ctx(factory)


@pytest.fixture
def checker(ctx: ServiceContext, clock: FakeClock) -> Smoke:
    return Smoke(ctx, clock=clock, sleep=clock.sleep)


def vpc(local: LocalAWS) -> str:
    return str(local.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"])


def target_group(local: LocalAWS, name: str, vpc_id: str, target_type: str = "ip") -> str:
    groups = local.client("elbv2").create_target_group(
        Name=name, Protocol="HTTP", Port=80, VpcId=vpc_id, TargetType=target_type
    )
    return str(groups["TargetGroups"][0]["TargetGroupArn"])


def register(local: LocalAWS, arn: str, *targets: str, port: int = 8080) -> None:
    local.client("elbv2").register_targets(TargetGroupArn=arn, Targets=[{"Id": t, "Port": port} for t in targets])


def create_service(local: LocalAWS, *arns: str, **extra: Any) -> None:
    balancers = [{"targetGroupArn": arn, "containerName": "app", "containerPort": 8080} for arn in arns]
    local.client("ecs").create_service(
        cluster="local", serviceName="web", taskDefinition="web", desiredCount=0, loadBalancers=balancers, **extra
    )


def instance(local: LocalAWS) -> str:
    reservation = local.client("ec2").run_instances(ImageId=EXAMPLE_AMI_ID, MinCount=1, MaxCount=1)
    return str(reservation["Instances"][0]["InstanceId"])


# -- targets_healthy ------------------------------------------------------------------------------------


def test_every_target_healthy_passes(emulator: LocalAWS, ctx: ServiceContext, checker: Smoke,
                                     clock: FakeClock) -> None:
    vpc_id = vpc(emulator)
    web_tg, admin_tg = target_group(emulator, "web-tg", vpc_id), target_group(emulator, "web-admin", vpc_id)
    register(emulator, web_tg, "10.0.1.10", "10.0.2.11")
    register(emulator, admin_tg, "10.0.1.10", port=9000)
    create_service(emulator, web_tg, admin_tg)
    targets = checker.targets_healthy()
    assert sorted((t.target_group, t.target_id, t.port, t.state) for t in targets) == [
        ("web-admin", "10.0.1.10", 9000, "healthy"),
        ("web-tg", "10.0.1.10", 8080, "healthy"),
        ("web-tg", "10.0.2.11", 8080, "healthy"),
    ]
    assert clock.sleeps == []
    [check] = ctx.checks.items
    assert (check.action, check.phase, check.result) == ("smoke.targets_healthy", "post", "passed")
    assert check.detail == "web-tg 2 healthy, web-admin 1 healthy after 0.0 s"
    assert isinstance(ctx.log, PrintLog)
    assert ctx.log.lines == ["smoke: target group web-tg: 2 healthy", "smoke: target group web-admin: 1 healthy"]


def test_targets_registered_by_the_rollout_engines_tasks_are_waited_for(emulator: LocalAWS,
                                                                        ctx: ServiceContext) -> None:
    arn = target_group(emulator, "web-tg", vpc(emulator))
    [instance] = emulator.client("ec2").run_instances(ImageId=EXAMPLE_AMI_ID, MinCount=1, MaxCount=1)["Instances"]
    emulator.client("ecs").register_container_instance(  # the EC2 launch type: tasks run on container instances
        cluster="local", instanceIdentityDocument=json.dumps({"instanceId": instance["InstanceId"]}))
    emulator.client("ecs").create_service(
        cluster="local", serviceName="web", taskDefinition="web", desiredCount=2,
        loadBalancers=[{"targetGroupArn": arn, "containerName": "app", "containerPort": 8080}],
    )
    targets = Smoke(ctx).targets_healthy(within=30)  # real time: the engine starts the tasks in about a second
    assert [(t.target_group, t.port, t.state) for t in targets] == [("web-tg", 8080, "healthy")] * 2
    assert ctx.checks.items[-1].result == "passed"


def test_an_unhealthy_target_is_waited_for(emulator: LocalAWS, ctx: ServiceContext, checker: Smoke,
                                           clock: FakeClock) -> None:
    vpc_id = vpc(emulator)
    arn = target_group(emulator, "web-tg", vpc_id, target_type="instance")
    instance_id = instance(emulator)
    register(emulator, arn, instance_id)
    create_service(emulator, arn)
    ec2 = emulator.client("ec2")
    ec2.stop_instances(InstanceIds=[instance_id])
    clock.on_sleep = lambda: ec2.start_instances(InstanceIds=[instance_id]) if len(clock.sleeps) == 2 else None
    [target] = checker.targets_healthy(within=30)
    assert target.is_healthy and target.target_id == instance_id
    assert clock.sleeps == [0.5, 1.0]
    assert isinstance(ctx.log, PrintLog)
    assert ctx.log.lines == ["smoke: target group web-tg: 1 unused"] * 2 + ["smoke: target group web-tg: 1 healthy"]


def test_unhealthy_targets_fail_naming_group_target_state_and_reason(
    emulator: LocalAWS, ctx: ServiceContext, checker: Smoke, clock: FakeClock
) -> None:
    vpc_id = vpc(emulator)
    arn = target_group(emulator, "web-tg", vpc_id, target_type="instance")
    good, bad = instance(emulator), instance(emulator)
    register(emulator, arn, good, bad)
    create_service(emulator, arn)
    emulator.client("ec2").stop_instances(InstanceIds=[bad])
    with pytest.raises(AssertionError) as excinfo:
        checker.targets_healthy(within=4)
    assert str(excinfo.value) == (
        "smoke: service web: targets were not all healthy within 4 s; target group web-tg has 1 of 2 targets "
        f"not healthy: {bad}:8080 unused (Target.InvalidState: Target is in the stopped state)."
    )
    assert clock.sleeps == [0.5, 1.0, 2.0, 0.5]
    assert ctx.checks.items[-1].result == "failed"
    assert ctx.checks.items[-1].detail == str(excinfo.value)


def test_a_target_group_without_targets_fails(emulator: LocalAWS, checker: Smoke) -> None:
    arn = target_group(emulator, "web-tg", vpc(emulator))
    register(emulator, arn, "10.0.1.10")
    emulator.client("elbv2").deregister_targets(TargetGroupArn=arn, Targets=[{"Id": "10.0.1.10", "Port": 8080}])
    create_service(emulator, arn)
    with pytest.raises(AssertionError, match=r"within 0 s; target group web-tg has no registered targets\.$"):
        checker.targets_healthy(within=0)


def test_a_service_without_target_groups_is_a_skipped_check(emulator: LocalAWS, ctx: ServiceContext,
                                                             checker: Smoke) -> None:
    create_service(emulator)
    assert checker.targets_healthy() == []
    [check] = ctx.checks.items
    assert (check.result, check.detail) == ("skipped", "service web has no target groups")


def test_a_missing_service_fails(emulator: LocalAWS, ctx: ServiceContext, checker: Smoke) -> None:
    with pytest.raises(AssertionError, match=r"^smoke: service 'web' is not in cluster 'local' \(MISSING\)\.$"):
        checker.targets_healthy()
    assert ctx.checks.items[-1].result == "failed"


def test_an_aws_error_is_an_action_error_with_its_code(emulator: LocalAWS, factory: ClientFactory,
                                                      clock: FakeClock) -> None:
    checker = Smoke(make_ctx(factory, cluster="nowhere"), clock=clock, sleep=clock.sleep)
    with pytest.raises(ActionError) as excinfo:
        checker.targets_healthy()
    assert excinfo.value.code == "ClusterNotFoundException"
    assert str(excinfo.value).startswith("smoke: could not describe service 'web' in cluster 'nowhere' "
                                         "(DescribeServices: ClusterNotFoundException: ")


class Throttled:
    """Answers the next ``times`` DescribeTargetHealth calls of a client with a throttling error, before they leave
    (botocore's own retries are not involved, as when they are spent)."""

    def __init__(self, factory: ClientFactory, times: int) -> None:
        self.events = factory.client("elbv2").meta.events
        self.left = times

    def __enter__(self) -> Throttled:
        self.events.register("before-call", self.answer)
        return self

    def __exit__(self, *exc: object) -> None:
        self.events.unregister("before-call", self.answer)  # the module's clients outlive the test

    def answer(self, model: Any, **_: Any) -> Any:
        if model.name != "DescribeTargetHealth" or self.left == 0:
            return None
        self.left -= 1
        return SimpleNamespace(status_code=400, headers={}), {
            "Error": {"Code": "Throttling", "Message": "Rate exceeded"}, "ResponseMetadata": {"HTTPStatusCode": 400}}


THROTTLED_LOOK = ("smoke: could not read the health of target group web-tg (DescribeTargetHealth: Throttling: Rate "
                  "exceeded)")


def test_a_throttled_look_at_the_targets_is_skipped(emulator: LocalAWS, factory: ClientFactory, ctx: ServiceContext,
                                                    checker: Smoke, clock: FakeClock) -> None:
    arn = target_group(emulator, "web-tg", vpc(emulator))
    register(emulator, arn, "10.0.1.10")
    create_service(emulator, arn)
    with Throttled(factory, times=2):
        [target] = checker.targets_healthy(within=30)
    assert target.is_healthy and clock.sleeps == [0.5, 1.0]
    assert isinstance(ctx.log, PrintLog)
    assert ctx.log.lines == [f"WARNING: {THROTTLED_LOOK}; trying again", "smoke: target group web-tg: 1 healthy"]


def test_targets_still_throttled_at_the_deadline_fail_naming_the_error(
    emulator: LocalAWS, factory: ClientFactory, checker: Smoke, clock: FakeClock
) -> None:
    arn = target_group(emulator, "web-tg", vpc(emulator))
    register(emulator, arn, "10.0.1.10")
    create_service(emulator, arn)
    with Throttled(factory, times=100), pytest.raises(AssertionError) as excinfo:
        checker.targets_healthy(within=2)
    assert str(excinfo.value) == f"smoke: service web: targets were not all healthy within 2 s; {THROTTLED_LOOK}."
    assert clock.sleeps == [0.5, 1.0, 0.5]


def test_target_health_line() -> None:
    target = TargetHealth("arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/web-tg/6d0ecf831eec9f09",
                          "10.0.1.10", 8080, "unhealthy", "Target.ResponseCodeMismatch",
                          "Health checks failed with these codes: [502]")
    assert target.target_group == "web-tg"
    assert target.line() == (
        "10.0.1.10:8080 unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [502])"
    )


# -- alarms_ok ------------------------------------------------------------------------------------------


def alarm(local: LocalAWS, name: str, state: str, reason: str = "") -> None:
    cloudwatch = local.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=name, MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=10.0, ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason or f"set to {state}")


def test_alarms_ok_passes_when_none_is_in_alarm(emulator: LocalAWS, ctx: ServiceContext, checker: Smoke) -> None:
    alarm(emulator, "web-5xx", "OK")
    alarm(emulator, "web-latency", "INSUFFICIENT_DATA")
    alarm(emulator, "api-5xx", "ALARM")  # not asked about
    assert checker.alarms_ok(["web-5xx", "web-latency"]) == {"web-5xx": "OK", "web-latency": "INSUFFICIENT_DATA"}
    [check] = ctx.checks.items
    assert (check.action, check.result, check.detail) == (
        "smoke.alarms_ok", "passed", "web-5xx OK, web-latency INSUFFICIENT_DATA"
    )


def test_an_alarm_in_alarm_fails_naming_it_and_its_reason(emulator: LocalAWS, ctx: ServiceContext,
                                                          checker: Smoke) -> None:
    reason = "Threshold Crossed: 1 datapoint [37.0 (26/11/26 11:20:00)] was greater than the threshold (10.0)."
    alarm(emulator, "web-5xx", "ALARM", reason)
    alarm(emulator, "web-latency", "OK")
    with pytest.raises(AssertionError) as excinfo:
        checker.alarms_ok(["web-latency", "web-5xx"])
    assert str(excinfo.value) == f"smoke: CloudWatch web-5xx is in ALARM: {reason}."
    assert ctx.checks.items[-1].result == "failed"


def test_unknown_alarm_names_fail_naming_them(emulator: LocalAWS, checker: Smoke) -> None:
    alarm(emulator, "web-5xx", "ALARM", "Threshold Crossed")
    alarm(emulator, "web-latency", "OK")
    with pytest.raises(AssertionError) as excinfo:
        checker.alarms_ok(["web-5xx", "web-latency", "web-5xxx", "web-errors"])
    assert str(excinfo.value) == (
        "smoke: CloudWatch web-5xx is in ALARM: Threshold Crossed; "
        "alarms web-5xxx, web-errors do not exist in us-east-1."
    )
    with pytest.raises(AssertionError, match=r"^smoke: CloudWatch alarm web-errors does not exist in us-east-1\.$"):
        checker.alarms_ok(["web-latency", "web-errors"])


def test_a_single_name_is_one_alarm_not_its_letters(emulator: LocalAWS, checker: Smoke) -> None:
    alarm(emulator, "web-5xx", "OK")
    assert checker.alarms_ok("web-5xx") == {"web-5xx": "OK"}


def test_no_alarm_names_is_a_skipped_check(ctx: ServiceContext, checker: Smoke) -> None:
    assert checker.alarms_ok([]) == {}
    assert [(c.result, c.detail) for c in ctx.checks.items] == [("skipped", "no alarm names were given")]


def test_more_than_one_hundred_alarms_are_asked_in_chunks(emulator: LocalAWS, ctx: ServiceContext,
                                                           checker: Smoke) -> None:
    names = [f"web-{i:03d}" for i in range(101)]
    cloudwatch = emulator.client("cloudwatch")
    for name in names:  # moto starts an alarm in OK
        cloudwatch.put_metric_alarm(AlarmName=name, MetricName="m", Namespace="n", Statistic="Sum", Period=60,
                                    EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    asked: list[list[str]] = []  # DescribeAlarms takes at most 100 names; moto does not enforce it, so watch
    def watch(params: dict[str, Any], **_: Any) -> None:
        asked.append(params["AlarmNames"])

    events = ctx.aws.client("cloudwatch").meta.events
    events.register("provide-client-params.cloudwatch.DescribeAlarms", watch)
    try:
        assert checker.alarms_ok(names) == dict.fromkeys(names, "OK")
    finally:
        events.unregister("provide-client-params.cloudwatch.DescribeAlarms", watch)
    assert [len(chunk) for chunk in asked] == [100, 1]
    assert ctx.checks.items[-1].detail == "101 OK"
