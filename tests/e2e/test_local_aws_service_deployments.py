"""Service deployments on LocalAWS over HTTP, as boto3 sees them: botocore parses every answer against ECS's own
shapes (a field of the wrong shape or name would be missing or fail to parse), on a clock only the test moves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from module_aws import STEP, ModuleAWS

from pytest_ecsdeploy.emulator.clock import FakeClock
from tests.e2e.test_local_aws_bluegreen import SEED, TEMPLATE  # the same steady service web


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleAWS]:
    with ModuleAWS(SEED, base_dir=tmp_path_factory.mktemp("deployments"), files={"web.json": TEMPLATE}) as aws:
        yield aws


@pytest.fixture
def driven(shared: ModuleAWS) -> tuple[ModuleAWS, FakeClock, Any]:
    """The module's LocalAWS seeded with a steady service ``web`` (2 tasks of web:1.0.0, circuit breaker with
    rollback) on a clock that moves only when the test moves it, and an ECS client."""
    shared.fresh()
    return shared, shared.clock, shared.client("ecs")


def _register(ecs: Any, tag: str) -> str:
    current = ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]
    payload = {k: current[k] for k in ("family", "containerDefinitions", "networkMode", "requiresCompatibilities",
                                       "cpu", "memory")}
    payload["containerDefinitions"][0]["image"] = payload["containerDefinitions"][0]["image"].rsplit(":", 1)[0] + f":{tag}"
    return str(ecs.register_task_definition(**payload)["taskDefinition"]["taskDefinitionArn"])


def _describe(ecs: Any, arn: str) -> dict[str, Any]:
    answer = ecs.describe_service_deployments(serviceDeploymentArns=[arn])
    assert answer["failures"] == []
    return dict(answer["serviceDeployments"][0])


def _until(shared: ModuleAWS, condition: Callable[[], Any], simulated: float = 60.0) -> Any:
    """Poll ``condition``, moving the clock to the engine's next change (or by STEP when none is due) before each
    poll: nothing changes in between."""
    end = shared.clock.now() + simulated
    while shared.clock.now() < end:
        shared.next_instant(STEP)
        result = condition()
        if result:
            return result
    raise AssertionError(f"not reached within {simulated} simulated seconds")


def _status(ecs: Any, arn: str, status: str) -> Callable[[], bool]:
    return lambda: _describe(ecs, arn)["status"] == status


def test_a_good_rollout_is_one_successful_service_deployment(driven: tuple[ModuleAWS, FakeClock, Any]) -> None:
    aws, clock, ecs = driven
    _until(aws, lambda: ecs.list_service_deployments(cluster="local", service="web")["serviceDeployments"])
    (seeded,) = ecs.list_service_deployments(cluster="local", service="web")["serviceDeployments"]
    assert seeded["status"] == "SUCCESSFUL" and isinstance(seeded["createdAt"], datetime)
    taskdef = _register(ecs, "1.1.0")
    arn = ecs.update_service(cluster="local", service="web", taskDefinition=taskdef)["service"][
        "currentServiceDeployment"]
    assert arn.startswith("arn:aws:ecs:us-east-1:123456789012:service-deployment/local/web/")
    _until(aws, _status(ecs, arn, "SUCCESSFUL"))
    done = _describe(ecs, arn)
    assert done["finishedAt"] >= done["startedAt"] >= done["createdAt"]
    assert done["deploymentCircuitBreaker"] == {"status": "MONITORING_COMPLETE", "failureCount": 0, "threshold": 3}
    assert done["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert done["sourceServiceRevisions"][0]["arn"] == seeded["targetServiceRevisionArn"]
    assert done["targetServiceRevision"]["runningTaskCount"] == 2
    listed = ecs.list_service_deployments(cluster="local", service="web")["serviceDeployments"]
    assert [d["serviceDeploymentArn"] for d in listed] == [arn, seeded["serviceDeploymentArn"]]
    service = ecs.describe_services(cluster="local", services=["web"])["services"][0]
    assert service["currentServiceDeployment"] == arn
    assert service["currentServiceRevisions"] == [done["targetServiceRevision"]]

    revisions = ecs.describe_service_revisions(serviceRevisionArns=[done["targetServiceRevision"]["arn"]])
    (revision,) = revisions["serviceRevisions"]
    assert revision["taskDefinition"] == taskdef and revision["launchType"] == "FARGATE"
    (image,) = revision["containerImages"]
    assert image["containerName"] == "app" and image["image"].endswith("/web:1.1.0")
    assert image["imageDigest"].startswith("sha256:")  # the local ECR's digest of web:1.1.0
    assert revision["networkConfiguration"]["awsvpcConfiguration"]["subnets"]
    assert isinstance(revision["createdAt"], datetime)


def test_a_crash_loop_ends_rollback_successful_with_the_breakers_count(driven: tuple[ModuleAWS, FakeClock, Any]) -> None:
    aws, clock, ecs = driven
    aws.local.set_image_behaviour("web:2.0.0", "crash", exit_code=1)
    first = ecs.describe_services(cluster="local", services=["web"])["services"][0]
    source = _describe(ecs, first["currentServiceDeployment"])["targetServiceRevision"]["arn"]
    arn = ecs.update_service(cluster="local", service="web", taskDefinition=_register(ecs, "2.0.0"))["service"][
        "currentServiceDeployment"]
    _until(aws, _status(ecs, arn, "ROLLBACK_SUCCESSFUL"))
    done = _describe(ecs, arn)
    assert done["deploymentCircuitBreaker"] == {"status": "TRIGGERED", "failureCount": 3, "threshold": 3}
    assert done["statusReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert done["rollback"]["serviceRevisionArn"] == source and isinstance(done["rollback"]["startedAt"], datetime)
    assert done["rollback"]["reason"] == done["statusReason"]
    assert done["finishedAt"] >= done["rollback"]["startedAt"]
    (deployment,) = ecs.describe_services(cluster="local", services=["web"])["services"][0]["deployments"]
    assert deployment["taskDefinition"] == first["taskDefinition"]
    brief = ecs.list_service_deployments(cluster="local", service="web", status=["ROLLBACK_SUCCESSFUL"])
    assert [d["serviceDeploymentArn"] for d in brief["serviceDeployments"]] == [arn]


def test_stop_service_deployment_rolls_back_and_then_refuses(driven: tuple[ModuleAWS, FakeClock, Any]) -> None:
    aws, clock, ecs = driven
    first = ecs.describe_services(cluster="local", services=["web"])["services"][0]
    arn = ecs.update_service(cluster="local", service="web", taskDefinition=_register(ecs, "1.1.0"))["service"][
        "currentServiceDeployment"]
    assert ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")["serviceDeploymentArn"] == arn
    requested = _describe(ecs, arn)
    assert requested["status"] == "ROLLBACK_REQUESTED" and requested["stoppedAt"] == requested["rollback"]["startedAt"]
    _until(aws, _status(ecs, arn, "ROLLBACK_SUCCESSFUL"))
    (deployment,) = ecs.describe_services(cluster="local", services=["web"])["services"][0]["deployments"]
    assert deployment["taskDefinition"] == first["taskDefinition"]

    with pytest.raises(ClientError) as error:
        ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert error.value.response["Error"]["Code"] == "ConflictException"
    with pytest.raises(ClientError) as error:
        ecs.stop_service_deployment(serviceDeploymentArn=arn[:-20] + "x" * 20)
    assert error.value.response["Error"]["Code"] == "ServiceDeploymentNotFoundException"
    with pytest.raises(ClientError) as error:
        ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ABORT")
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as error:
        ecs.list_service_deployments(cluster="local", service="api")
    assert error.value.response["Error"]["Code"] == "ServiceNotFoundException"
    missing = arn.replace("/web/", "/api/")
    answer = ecs.describe_service_deployments(serviceDeploymentArns=[arn, missing])
    assert answer["failures"] == [{"arn": missing, "reason": "MISSING"}]


def test_list_service_deployments_pages_and_filters(driven: tuple[ModuleAWS, FakeClock, Any]) -> None:
    aws, clock, ecs = driven
    arns = []
    for _ in range(5):
        clock.advance(1)
        arns.append(ecs.update_service(cluster="local", service="web", forceNewDeployment=True)["service"][
            "currentServiceDeployment"])
    _until(aws, _status(ecs, arns[-1], "SUCCESSFUL"))
    seen: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = ecs.list_service_deployments(cluster="local", service="web", maxResults=2, **token)
        seen += page["serviceDeployments"]
        if "nextToken" not in page:
            break
        token = {"nextToken": page["nextToken"]}
    assert [d["serviceDeploymentArn"] for d in seen[:5]] == arns[::-1] and len(seen) == 6
    stopped = ecs.list_service_deployments(cluster="local", service="web", status=["STOPPED"])["serviceDeployments"]
    assert [d["serviceDeploymentArn"] for d in stopped] == arns[-2::-1]
    half = timedelta(seconds=0.5)  # the deployments were created a simulated second apart
    middle = seen[2]["createdAt"]
    window = ecs.list_service_deployments(cluster="local", service="web",
                                          createdAt={"after": middle - half, "before": middle + half})[
        "serviceDeployments"]
    assert [d["serviceDeploymentArn"] for d in window] == [seen[2]["serviceDeploymentArn"]]
