"""The lease's parts that need no AWS: who a holder is, the Octopus deployment id, and the embedded local AWS
answering DynamoDB's conditional writes one at a time (tests/reliability/test_lease.py runs the lease itself)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterable
from typing import Any

import pytest
from fakes import stubbed

from pytest_ecsdeploy.actions.lease import TABLE, Holder, describe_lease, read_lease
from pytest_ecsdeploy.emulator.middleware import DYNAMODB_WRITES, Middleware
from pytest_ecsdeploy.errors import ActionError
from pytest_ecsdeploy.report.octopus import octopus_deployment_id


@pytest.mark.parametrize(("environ", "expected"), [
    ({"OCTOPUS_DEPLOYMENT_ID": "Deployments-12"}, "Deployments-12"),
    ({"Octopus.Deployment.Id": "Deployments-13"}, "Deployments-13"),
    ({"octopus_deployment_id": " Deployments-14 "}, "Deployments-14"),
    ({"OCTOPUS_DEPLOYMENT_ID": "#{Octopus.Deployment.Id}"}, None),  # passed on outside Octopus: unresolved
    ({"OCTOPUS_DEPLOYMENT_ID": ""}, None),
    ({}, None),
])
def test_the_octopus_deployment_id_is_read_from_the_variable_the_step_passes_on(
    environ: dict[str, str], expected: str | None
) -> None:
    assert octopus_deployment_id(environ) == expected


def test_a_holder_is_named_in_full_and_survives_the_round_trip_through_its_item() -> None:
    holder = Holder.here({"OCTOPUS_DEPLOYMENT_ID": "Deployments-9"}, now=0)
    assert holder.started_at == "1970-01-01T00:00:00Z" and len(holder.run_id) == 12
    assert Holder.from_item(holder.item("local/web", 120.0)) == holder
    assert holder.describe() == (f"run {holder.run_id} on host {holder.host} (pid {holder.pid}), started "
                                 f"1970-01-01T00:00:00Z, Octopus deployment Deployments-9")
    assert "Octopus" not in Holder.here({}).describe()


def test_an_item_another_tool_wrote_still_names_what_it_can() -> None:
    holder = Holder.from_item({"lease": {"S": "local/web"}, "host": {"S": "ci-3"}, "pid": {"S": "x"}})
    assert (holder.run_id, holder.host, holder.pid, holder.started_at) == ("?", "ci-3", -1, "?")


class DynamoDB:
    """The ClientFactory of a stubbed DynamoDB client."""

    def __init__(self, client: Any) -> None:
        self.dynamodb = client

    def client(self, name: str, region: str | None = None) -> Any:
        assert name == "dynamodb"
        return self.dynamodb


GET = {"TableName": TABLE, "Key": {"lease": {"S": "prod/web"}}, "ConsistentRead": True}


def test_the_holder_of_a_lease_is_read_with_its_expiry() -> None:
    holder = Holder.here({"OCTOPUS_DEPLOYMENT_ID": "Deployments-9"}, now=0)
    with stubbed("dynamodb") as (client, stubber):
        stubber.add_response("get_item", {"Item": holder.item("prod/web", 150.5)}, GET)
        assert read_lease(DynamoDB(client), "prod", "web", who="service 'web'") == (holder, 150.5)


@pytest.mark.parametrize("answer", ["no item", "ResourceNotFoundException"])
def test_no_item_or_no_table_is_no_lease(answer: str) -> None:
    with stubbed("dynamodb") as (client, stubber):
        if answer == "no item":
            stubber.add_response("get_item", {}, GET)
        else:
            stubber.add_client_error("get_item", answer, "Requested resource not found")
        assert read_lease(DynamoDB(client), "prod", "web", who="service 'web'") is None


@pytest.mark.parametrize("code", ["AccessDeniedException", "ValidationException"])
def test_a_lease_that_cannot_be_read_is_an_error(code: str) -> None:
    with stubbed("dynamodb") as (client, stubber):
        stubber.add_client_error("get_item", code, "no")
        with pytest.raises(ActionError, match=f"read the lease .*{code}") as raised:
            read_lease(DynamoDB(client), "prod", "web", who="service 'web'")
    assert raised.value.code == code


def test_a_lease_is_described_as_held_until_it_expires() -> None:
    holder = Holder(run_id="3f2a9c0d1e2b", host="ci-7", pid=4242, started_at="1970-01-01T00:00:00Z",
                    octopus_deployment="Deployments-9")
    held = ("held by run 3f2a9c0d1e2b on host ci-7 (pid 4242) since 1970-01-01T00:00:00Z, Octopus deployment "
            "Deployments-9; ")
    assert describe_lease(holder, 240.0, now=239.0) == held + "expires at 1970-01-01T00:04:00Z unless renewed"
    assert describe_lease(holder, 240.0, now=241.0) == held + ("expired at 1970-01-01T00:04:00Z without being "
                                                               "renewed: the next run takes it over")


class CheckThenSet:
    """A stand-in for moto's DynamoDB: a conditional create that checks, pauses, then writes (moto holds no lock
    between the two); it counts the writes that passed their check."""

    def __init__(self) -> None:
        self.items: set[str] = set()
        self.passed = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        key = environ["wsgi.input"].read().decode()
        if key in self.items:
            start_response("400 Bad Request", [])
            return [b"ConditionalCheckFailedException"]
        time.sleep(0.01)
        self.items.add(key)
        self.passed += 1
        start_response("200 OK", [])
        return [b"{}"]


def race(app: Any, action: str, runs: int = 6) -> None:
    barrier = threading.Barrier(runs)

    def put() -> None:
        barrier.wait()
        environ = {"PATH_INFO": "/", "REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": f"DynamoDB_20120810.{action}",
                   "wsgi.input": io.BytesIO(b"local/web")}
        list(app(environ, lambda status, headers: None))

    threads = [threading.Thread(target=put) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.parametrize("action", sorted(DYNAMODB_WRITES))
def test_the_local_aws_answers_each_dynamodb_write_alone_so_a_condition_holds_until_the_write(action: str) -> None:
    moto = CheckThenSet()
    middleware = Middleware(moto, engine=lambda: None, current_engine=lambda: None,  # type: ignore[arg-type,return-value]
                            docker=lambda: None, control=None)  # type: ignore[arg-type]
    race(middleware, action)
    assert moto.passed == 1


def test_without_the_lock_the_stand_in_lets_two_conditional_writes_pass() -> None:
    """The stand-in does race on its own, so the test above can fail."""
    moto = CheckThenSet()
    race(moto, "PutItem")
    assert moto.passed > 1
