"""One state on LocalAWS: moto's reset and DeleteCluster see the rollout engine's services and tasks, as a client
that knows only boto3, moto's API and ECS's documentation expects."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fakes import registered_instances

from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.clock import FakeClock

# A task definition needing no network configuration: its tasks run on a container instance (EC2 launch type).
TASK_DEFINITION = {
    "family": "web",
    "containerDefinitions": [{"name": "app", "image": "web:1.0.0", "essential": True, "memory": 128}],
}
STEP = 1.0  # simulated seconds per look while waiting for the engine
LOOKS = 600  # a bound on the looks: 10 simulated minutes


@pytest.fixture
def driven_aws() -> Iterator[tuple[LocalAWS, FakeClock]]:
    """An empty LocalAWS on a clock that moves only when the test moves it."""
    clock = FakeClock()
    with LocalAWS(clock=clock) as aws:
        yield aws, clock


def _cluster_with_task_definition(aws: LocalAWS) -> str:
    """The cluster ``local`` with one container instance (its ARN) and the task definition ``web``."""
    ecs = aws.client("ecs")
    ecs.create_cluster(clusterName="local")
    ecs.register_task_definition(**TASK_DEFINITION)
    [instance] = registered_instances(aws, "local")
    return instance


def _until(clock: FakeClock, what: str, condition: Any) -> None:
    """Move the clock STEP at a time until ``condition()`` holds (at most LOOKS times)."""
    for _ in range(LOOKS):
        if condition():
            return
        clock.advance(STEP)
    raise AssertionError(f"{what}: not after {LOOKS * STEP:.0f} simulated seconds")


def _running(ecs: Any, **filters: Any) -> list[str]:
    return list(ecs.list_tasks(cluster="local", desiredStatus="RUNNING", **filters)["taskArns"])


def _moto_reset(aws: LocalAWS) -> dict[str, Any]:
    """POST /moto-api/reset as moto's ``mock_aws`` sends it in server mode; the JSON answer."""
    request = urllib.request.Request(f"{aws.endpoint_url}/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - the local emulator
        assert answer.status == 200
        return dict(json.loads(answer.read()))


def test_moto_reset_empties_the_engine_too(driven_aws: tuple[LocalAWS, FakeClock]) -> None:
    aws, clock = driven_aws
    ecs = aws.client("ecs")
    _cluster_with_task_definition(aws)
    ecs.create_service(cluster="local", serviceName="web", taskDefinition="web", desiredCount=2)
    ecs.run_task(cluster="local", taskDefinition="web")
    _until(clock, "two service tasks and a one-off task RUNNING", lambda: len(_running(ecs)) == 3)

    assert _moto_reset(aws) == {"status": "ok"}

    assert ecs.list_clusters()["clusterArns"] == []  # moto's reset: empty, the seed is not applied again
    _cluster_with_task_definition(aws)
    created = ecs.create_service(cluster="local", serviceName="web", taskDefinition="web", desiredCount=0)
    service = created["service"]
    assert ecs.list_services(cluster="local")["serviceArns"] == [service["serviceArn"]]
    described = ecs.describe_services(cluster="local", services=["web"])["services"]
    assert [(s["status"], s["desiredCount"], s["runningCount"], len(s["deployments"])) for s in described] == [
        ("ACTIVE", 0, 0, 1)]
    assert not [e["message"] for e in described[0]["events"] if "started" in e["message"]], described[0]["events"]
    assert _running(ecs) == []
    assert ecs.list_tasks(cluster="local", desiredStatus="STOPPED")["taskArns"] == []


def test_delete_cluster_is_refused_while_services_or_tasks_are_active(driven_aws: tuple[LocalAWS, FakeClock]) -> None:
    aws, clock = driven_aws
    ecs = aws.client("ecs")
    instance = _cluster_with_task_definition(aws)
    ecs.create_service(cluster="local", serviceName="web", taskDefinition="web", desiredCount=1)
    _until(clock, "the service's task RUNNING", lambda: len(_running(ecs, serviceName="web")) == 1)

    with pytest.raises(ClientError) as refused:
        ecs.delete_cluster(cluster="local")
    assert refused.value.response["Error"] == {"Code": "ClusterContainsServicesException",
                                               "Message": "The Cluster cannot be deleted while Services are active."}

    task = ecs.run_task(cluster="local", taskDefinition="web")["tasks"][0]["taskArn"]
    ecs.delete_service(cluster="local", service="web", force=True)
    with pytest.raises(ClientError) as draining:  # DRAINING still counts, until its tasks have stopped
        ecs.delete_cluster(cluster="local")
    assert draining.value.response["Error"]["Code"] == "ClusterContainsServicesException"
    _until(clock, "the deleted service INACTIVE",
           lambda: ecs.describe_services(cluster="local", services=["web"])["services"][0]["status"] == "INACTIVE")

    with pytest.raises(ClientError) as tasks:  # the one-off task still runs
        ecs.delete_cluster(cluster="local")
    assert tasks.value.response["Error"] == {"Code": "ClusterContainsTasksException",
                                             "Message": "The Cluster cannot be deleted while Tasks are active."}
    ecs.stop_task(cluster="local", task=task)
    _until(clock, "the one-off task STOPPED",
           lambda: ecs.describe_tasks(cluster="local", tasks=[task])["tasks"][0]["lastStatus"] == "STOPPED")

    ecs.deregister_container_instance(cluster="local", containerInstance=instance)  # ECS refuses a cluster with one
    assert ecs.delete_cluster(cluster="local")["cluster"]["status"] == "INACTIVE"
    assert ecs.describe_clusters(clusters=["local"])["clusters"][0]["status"] == "INACTIVE"
