"""Fakes the tests share: a client that fails chosen calls, a clock that only sleeping moves, an emulator clock a
test can stop and start (:class:`DrivenClock`), a stubbed boto3 client, a network configuration that moto's EC2 knows, a container instance for EC2 tasks, a poll until a state
comes (:func:`wait_for`); and the options
of the pytest runs a test starts (:data:`SCENARIO_RUN_OPTIONS`).

Importable from any test module (``from fakes import Flaky, FakeClock``): pyproject.toml puts ``tests/`` on the
path, since the test folders are not packages.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

#: Options for every pytest a test runs in a subprocess: hypothesis's pytest plugin imports all of hypothesis at
#: the end of each run (0.15 s of CPU, 0.75 s where bytecode is not cached), and no scenario uses it.
SCENARIO_RUN_OPTIONS = ("-p", "no:hypothesispytest")


class Flaky:
    """A boto3 client that fails chosen calls before they leave: ``faults[operation]`` is a list, one entry per
    call (per pagination for a paginated one), of an exception to raise or None to let the call through.
    ``calls`` keeps every operation asked for, in order."""

    def __init__(self, client: Any, faults: dict[str, list[BaseException | None]]) -> None:
        self.client = client
        self.faults = faults
        self.calls: list[str] = []

    def fault(self, operation: str) -> None:
        self.calls.append(operation)
        plan = self.faults.get(operation)
        fault = plan.pop(0) if plan else None
        if fault is not None:
            raise fault

    def get_paginator(self, operation: str) -> Any:
        flaky, paginator = self, self.client.get_paginator(operation)

        class Paginator:
            def paginate(self, **params: Any) -> Any:
                flaky.fault(operation)
                return paginator.paginate(**params)

        return Paginator()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(**params: Any) -> Any:
            self.fault(name)
            return method(**params)

        return call


class FakeClock:
    """Monotonic seconds that only :meth:`sleep` moves; ``sleeps`` keeps every sleep asked for, and ``on_sleep``
    (when set) runs after each, for a world that should move with the clock."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[], None] | None = None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"asked to sleep {seconds} s"
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep()


class DrivenClock:
    """An emulator clock (``LocalAWS(clock=...)``, epoch seconds) that runs ``speed`` times the wall clock while
    running and stands still while frozen; :meth:`advance` moves it on by hand either way."""

    def __init__(self, speed: float = 1.0) -> None:
        self.speed = speed
        self._now = time.time()
        self._lock = threading.Lock()
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drive, name="driven-clock", daemon=True)
        self._thread.start()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        assert seconds >= 0, f"a clock cannot go back: advance({seconds!r})"
        with self._lock:
            self._now += seconds

    def _drive(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(0.01):
            now = time.monotonic()
            if self._running.is_set():
                self.advance((now - last) * self.speed)
            last = now

    def freeze(self) -> None:
        self._running.clear()

    def run(self) -> None:
        self._running.set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 90, interval: float = 0.2) -> Any:
    """Call ``probe`` every ``interval`` seconds until it answers something truthy and return that; after ``timeout``
    seconds fail naming ``what`` and the last answer (a guard against hanging, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"gave up waiting for {what}; last answer: {last!r}")


@contextmanager
def stubbed(service: str, region: str = "eu-west-1") -> Iterator[tuple[Any, Any]]:
    """A boto3 client of ``service`` with a botocore Stubber active on it, as ``(client, stubber)``; every answer
    queued on the stubber must have been asked for when the block ends."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.client(service, region_name=region, aws_access_key_id="k", aws_secret_access_key="s")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def default_network(account: str, region: str) -> dict[str, Any]:
    """A ``networkConfiguration`` on a default subnet of moto's EC2 in ``account`` and ``region`` (awsvpc tasks run
    only with one, on subnets that exist); call it inside moto's mock."""
    from moto.ec2.models import ec2_backends

    subnet = next(iter(ec2_backends[account][region].get_default_subnets().values()))
    return {"awsvpcConfiguration": {"subnets": [subnet.id]}}


def registered_instances(aws: Any, cluster: str, count: int = 1) -> list[str]:
    """The ARNs of ``count`` new EC2 instances registered as container instances of ``cluster`` through the API of
    ``aws`` (a LocalAWS or anything with ``client(name)``): EC2 tasks run only on container instances."""
    import json

    ecs = aws.client("ecs")
    instances = aws.client("ec2").run_instances(ImageId="ami-12c6146b", MinCount=count, MaxCount=count)["Instances"]
    return [str(ecs.register_container_instance(
        cluster=cluster, instanceIdentityDocument=json.dumps({"instanceId": instance["InstanceId"]})
    )["containerInstance"]["containerInstanceArn"]) for instance in instances]


def container_instance(account: str, region: str, cluster: str) -> str:
    """The ID of a new EC2 instance of moto registered as a container instance of ``cluster`` (EC2 tasks run only on
    container instances); call it inside moto's mock, for moto's default account."""
    import boto3
    from moto.ecs.models import ecs_backends

    ec2 = boto3.client("ec2", region_name=region)
    [instance] = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"]
    registered = ecs_backends[account][region].register_container_instance(cluster, instance["InstanceId"])
    return str(registered.container_instance_arn).rsplit("/", 1)[1]


def seed_secrets(local: Any, payload: dict[str, Any]) -> None:
    """Create every secret ``payload`` references, in its region (a Secrets Manager secret is named after the
    ARN's last part, which ECR, ECS and moto all resolve as a partial ARN)."""
    from pytest_ecsdeploy.actions.taskdef import secret_references

    for ref in secret_references(payload):
        region = ref.region or local.region
        if ref.service == "secretsmanager":
            name = ref.lookup_id.split(":")[-1]
            client = local.client("secretsmanager", region_name=region)
            if not client.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]:
                client.create_secret(Name=name, SecretString="s3cr3t-value-never-shown")
        else:
            local.client("ssm", region_name=region).put_parameter(
                Name=ref.lookup_id, Value="s3cr3t-value-never-shown", Type="SecureString", Overwrite=True
            )
