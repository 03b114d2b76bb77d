"""reads.py: the one rule for a service that is not there, and the argument checks several actions share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from fakes import stubbed

from pytest_ecsdeploy.actions.reads import SERVICE_NOT_FOUND, describe_service, revision_target, seconds_argument
from pytest_ecsdeploy.actions.taskdef import Revision
from pytest_ecsdeploy.errors import ActionError

ARN = "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:7"


class FakeAws:
    def __init__(self, ecs: Any) -> None:
        self.ecs = ecs

    def client(self, name: str, region: str | None = None) -> Any:
        return self.ecs


@pytest.fixture
def ecs() -> Iterator[tuple[Any, Stubber]]:
    with stubbed("ecs") as pair:
        yield pair


def answer(status: str | None) -> dict[str, Any]:
    if status is None:
        return {"services": [], "failures": [{"arn": "arn:aws:ecs:eu-west-1:111122223333:service/prod/web",
                                              "reason": "MISSING"}]}
    return {"services": [{"serviceName": "web", "status": status}], "failures": []}


@pytest.mark.parametrize(("status", "shown"), [(None, "MISSING"), ("INACTIVE", "INACTIVE")])
def test_a_service_that_is_missing_or_inactive_is_not_there(ecs: tuple[Any, Stubber], status: str | None,
                                                             shown: str) -> None:
    client, stubber = ecs
    stubber.add_response("describe_services", answer(status), {"cluster": "prod", "services": ["web"]})
    stubber.add_response("describe_services", answer(status), {"cluster": "prod", "services": ["web"]})

    assert describe_service(FakeAws(client), "prod", "web", who="smoke") is None  # type: ignore[arg-type]
    with pytest.raises(ActionError) as raised:
        describe_service(FakeAws(client), "prod", "web", who="smoke", required=True)  # type: ignore[arg-type]

    assert raised.value.code == SERVICE_NOT_FOUND
    assert str(raised.value) == f"service 'web' is not in cluster 'prod' ({shown})."


@pytest.mark.parametrize("status", ["ACTIVE", "DRAINING"])
def test_a_listed_service_is_there_whatever_it_is_doing(ecs: tuple[Any, Stubber], status: str) -> None:
    client, stubber = ecs
    stubber.add_response("describe_services", answer(status), {"cluster": "prod", "services": ["web"]})
    service = describe_service(FakeAws(client), "prod", "web", who="smoke", required=True)  # type: ignore[arg-type]
    assert service == {"serviceName": "web", "status": status}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "deploy(timeout=...) expects a number of seconds, got 'abc'."),
        (True, "deploy(timeout=...) expects a number of seconds, got True."),
        (None, "deploy(timeout=...) expects a number of seconds, got None."),
        (-1, "deploy(timeout=...) expects a positive number of seconds, got -1."),
        (0, "deploy(timeout=...) expects a positive number of seconds, got 0."),
        (float("nan"), "deploy(timeout=...) expects a positive number of seconds, got nan."),
    ],
)
def test_seconds_argument_refuses_what_is_not_a_positive_number(value: Any, message: str) -> None:
    with pytest.raises(ActionError) as raised:
        seconds_argument(value, "deploy(timeout=...)")
    assert str(raised.value) == message


def test_seconds_argument_gives_seconds_as_a_float() -> None:
    assert seconds_argument(90, "deploy(timeout=...)") == 90.0
    assert seconds_argument(0.5, "deploy(timeout=...)") == 0.5


def test_revision_target_of_a_revision_an_arn_and_a_planned_revision() -> None:
    registered = Revision(family="web", revision=7, arn=ARN, status="registered")
    planned = Revision(family="web", revision=None, arn=None, status="planned")
    kwargs: dict[str, Any] = {"who": "service 'web'", "method": "service 'web': deploy()", "verb": "deploy"}

    assert revision_target(registered, plan=False, **kwargs) == (ARN, "web:7")
    assert revision_target("web:7", plan=False, **kwargs) == ("web:7", "web:7")
    assert revision_target(planned, plan=True, **kwargs) == (None, "web:(planned)")
    with pytest.raises(ActionError, match=r"^service 'web': revision web:\(planned\) was only planned; there is no "
                                          r"task definition to deploy\.$"):
        revision_target(planned, plan=False, **kwargs)
    with pytest.raises(ActionError, match=r"^service 'web': deploy\(\) takes a Revision or a task-definition ARN, "
                                          r"got 42\.$"):
        revision_target(42, plan=False, **kwargs)
