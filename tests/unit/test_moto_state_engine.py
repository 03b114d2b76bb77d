"""moto's ECS backend made to see an engine's services and tasks (``moto_state.use_ecs_engine``), with a fake engine,
and DeleteCluster's refusals in ECS's order."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from pytest_ecsdeploy.emulator import moto_state
from pytest_ecsdeploy.emulator.ecs.exceptions import EngineError, ServiceNotFoundException
from pytest_ecsdeploy.emulator.ecs.refusals import check_delete_cluster

ACCOUNT, REGION = "123456789012", "us-east-1"
SERVICE = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/local/web"
TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/local/0123abcd"


class FakeEngine:
    """One service and one task, the calls it was asked, and DeleteCluster refused while ``busy``."""

    def __init__(self) -> None:
        self.tags: dict[str, list[dict[str, str]]] = {SERVICE: [{"key": "team", "value": "a"}], TASK: []}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.busy = True

    def handle(self, action: str, account: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((action, params))
        if action == "DescribeServices":
            found = [{"serviceArn": SERVICE, "serviceName": "web", "clusterArn": SERVICE.replace("service/", "cluster/")
                      .rsplit("/", 1)[0]}] if "web" in params["services"] else []
            return {"services": found, "failures": []}
        raise ServiceNotFoundException()

    def resource_tags(self, account: str, region: str, arn: str) -> list[dict[str, str]] | None:
        return self.tags.get(arn)

    def set_resource_tags(self, account: str, region: str, arn: str, tags: list[dict[str, str]]) -> None:
        self.tags[arn] = tags

    def tagged_resources(self, account: str, region: str) -> list[tuple[str, str, list[dict[str, str]]]]:
        return [(SERVICE, "ecs:service", self.tags[SERVICE]), (TASK, "ecs:task", self.tags[TASK])]

    def cluster_counts(self, account: str, region: str, cluster: str) -> dict[str, int]:
        return {"activeServicesCount": 1, "runningTasksCount": 2, "pendingTasksCount": 3}

    def check_delete_cluster(self, account: str, region: str, cluster: str, container_instances: int) -> None:
        if self.busy:
            check_delete_cluster(container_instances, 1, 0)


@pytest.fixture
def engine() -> Iterator[FakeEngine]:
    fake = FakeEngine()
    with mock_aws():
        moto_state.use_ecs_engine(lambda create: fake)
        try:
            yield fake
        finally:
            moto_state.use_ecs_engine(None)


def _backend() -> Any:
    from moto.ecs.models import ecs_backends

    backend = ecs_backends[ACCOUNT][REGION]
    backend.create_cluster("local")
    return backend


def test_tags_of_services_and_tasks_are_the_engines(engine: FakeEngine) -> None:
    backend = _backend()

    backend.tag_resource(SERVICE, {"tier": "web"})
    backend.untag_resource(SERVICE, ["team"])
    backend.tag_resource(TASK, {"job": "migrate"})

    assert backend.list_tags_for_resource(SERVICE) == [{"key": "tier", "value": "web"}]
    assert engine.tags == {SERVICE: [{"key": "tier", "value": "web"}], TASK: [{"key": "job", "value": "migrate"}]}
    tagged = {(r.arn, r.resource_type): r.tags for r in backend.iter_tagged_resources()}
    assert tagged[(SERVICE, "ecs:service")] == {"tier": "web"} and tagged[(TASK, "ecs:task")] == {"job": "migrate"}


@pytest.mark.parametrize(("arn", "code"), [(SERVICE.replace("/web", "/ghost"), "ServiceNotFoundException"),
                                           (TASK.replace("0123abcd", "ghost"), "InvalidParameterException")])
def test_tags_of_what_the_engine_does_not_have_are_refused(engine: FakeEngine, arn: str, code: str) -> None:
    from moto.ecs.exceptions import ECSException

    with pytest.raises(ECSException) as refused:
        _backend().list_tags_for_resource(arn)
    assert refused.value.code == code


def test_services_are_asked_of_the_engine_and_its_errors_become_moto_ecs_errors(engine: FakeEngine) -> None:
    from moto.ecs.exceptions import ECSException

    backend = _backend()

    assert [s.arn for s in backend.describe_services("local", ["web"])[0]] == [SERVICE]
    assert backend._get_service("local", "web").name == "web"
    with pytest.raises(ECSException) as refused:
        backend.update_service({"cluster": "local", "service": "ghost", "desired_count": 2})
    assert (refused.value.code, refused.value.message) == ("ServiceNotFoundException", "Service not found.")
    assert engine.calls[-1] == ("UpdateService", {"cluster": "local", "service": "ghost", "desiredCount": 2})


def test_describe_clusters_counts_and_delete_cluster_are_the_engines(engine: FakeEngine) -> None:
    from moto.ecs.exceptions import ECSException

    backend = _backend()
    cluster = backend.describe_clusters(["local"])[0][0]
    assert (cluster.active_services_count, cluster.running_tasks_count, cluster.pending_tasks_count,
            cluster.registered_container_instances_count) == (1, 2, 3, 0)

    with pytest.raises(ECSException) as refused:
        backend.delete_cluster("local")
    assert refused.value.code == "ClusterContainsServicesException"
    engine.busy = False
    assert backend.delete_cluster("local").status == "INACTIVE"


def test_without_an_engine_moto_has_its_own_backend_and_cloudformation_again() -> None:
    from moto.ecs import models

    originals = {name: models.Service.__dict__[name] for name in ("create_from_cloudformation_json",
                                                                   "update_from_cloudformation_json")}
    with mock_aws():
        moto_state.use_ecs_engine(lambda create: None)
        installed = type(models.ecs_backends[ACCOUNT][REGION])
        moto_state.use_ecs_engine(None)
        restored = type(models.ecs_backends[ACCOUNT][REGION])

    assert installed is not models.EC2ContainerServiceBackend and issubclass(installed,
                                                                             models.EC2ContainerServiceBackend)
    assert restored is models.EC2ContainerServiceBackend and models.ecs_backends.backend is restored
    assert {name: models.Service.__dict__[name] for name in originals} == originals


@pytest.mark.parametrize(("instances", "services", "tasks", "code"), [
    (1, 1, 1, "ClusterContainsServicesException"),
    (1, 0, 1, "ClusterContainsTasksException"),
    (1, 0, 0, "ClusterContainsContainerInstancesException"),
    (0, 0, 0, None),
])
def test_delete_cluster_refusals_in_order(instances: int, services: int, tasks: int, code: str | None) -> None:
    if code is None:
        check_delete_cluster(instances, services, tasks)
        return
    with pytest.raises(EngineError) as refused:
        check_delete_cluster(instances, services, tasks)
    assert refused.value.code == code


@pytest.mark.parametrize("raises", [False, True], ids=["imported", "import-failed"])
def test_one_boto3_session_only_for_argument_free_calls_of_this_thread_and_only_while_it_lasts(raises: bool) -> None:
    import sys
    import threading
    import types

    import boto3

    real = boto3.Session
    seen: dict[str, Any] = {}
    bound = types.ModuleType("bound_session")  # a module that did `from boto3 import Session` meanwhile
    sys.modules[bound.__name__] = bound
    try:
        with pytest.raises(RuntimeError) if raises else contextlib.nullcontext():
            with moto_state.one_boto3_session():
                bound.Session = boto3.Session  # type: ignore[attr-defined]
                seen["first"], seen["again"] = boto3.Session(), boto3.Session()
                seen["with args"] = boto3.Session(region_name=REGION)
                other = threading.Thread(target=lambda: seen.setdefault("other thread", boto3.Session()))
                other.start()
                other.join()
                if raises:
                    raise RuntimeError("the import failed")
    finally:
        del sys.modules[bound.__name__]
    assert seen["first"] is seen["again"]
    assert all(seen[key] is not seen["first"] for key in ("with args", "other thread"))
    assert boto3.Session is real and bound.Session is real  # type: ignore[attr-defined]
    assert boto3.Session() is not seen["first"]
