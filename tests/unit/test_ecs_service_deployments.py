"""Service deployments and revisions (``emulator/ecs/service_deployments.py``) driven through the rollout engine on
a fake clock: their statuses as the engine's deployments move, at the simulated instants they move, the rollbacks
(circuit breaker and StopServiceDeployment), ListServiceDeployments' filters and pages, and what ECS refuses."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fakes import default_network
from moto import mock_aws
from moto.ecs.models import ecs_backends

from pytest_ecsdeploy.emulator.clock import FakeClock
from pytest_ecsdeploy.emulator.ecs.exceptions import EngineError
from pytest_ecsdeploy.emulator.ecs.responses import RolloutEngine
from pytest_ecsdeploy.emulator.ecs.service_deployments import STATUSES

A, R = "123456789012", "us-east-1"
ECR = f"{A}.dkr.ecr.{R}.amazonaws.com"
BREAKER: dict[str, Any] = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}


class Env:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.engine = RolloutEngine(clock=self.clock, seed=5)
        ecs_backends[A][R].create_cluster("local")
        for tag in ("1", "2"):
            ecs_backends[A][R].register_task_definition(
                "web", [{"name": "app", "image": f"{ECR}/web:{tag}", "memory": 128}],
                requires_compatibilities=["FARGATE"], network_mode="awsvpc", cpu="256", memory="512")

    def call(self, action: str, **params: Any) -> dict[str, Any]:
        return self.engine.handle(action, A, R, {"cluster": "local", **params})

    def seed(self, desired: int = 2, **config: Any) -> dict[str, Any]:
        body = {"cluster": "local", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": desired,
                "networkConfiguration": default_network(A, R), "deploymentConfiguration": config}
        return self.engine.seed_service(A, R, body)["service"]  # type: ignore[no-any-return]

    def update(self, **params: Any) -> str:
        """UpdateService; the ARN of the service deployment it answers as current."""
        return str(self.call("UpdateService", service="web", **params)["service"]["currentServiceDeployment"])

    def service(self) -> dict[str, Any]:
        return self.call("DescribeServices", services=["web"])["services"][0]  # type: ignore[no-any-return]

    def describe(self, arn: str) -> dict[str, Any]:
        answer = self.engine.handle("DescribeServiceDeployments", A, R, {"serviceDeploymentArns": [arn]})
        assert not answer["failures"], answer["failures"]
        return answer["serviceDeployments"][0]  # type: ignore[no-any-return]

    def revision(self, arn: str) -> dict[str, Any]:
        answer = self.engine.handle("DescribeServiceRevisions", A, R, {"serviceRevisionArns": [arn]})
        assert not answer["failures"], answer["failures"]
        return answer["serviceRevisions"][0]  # type: ignore[no-any-return]

    def listed(self, **params: Any) -> list[dict[str, Any]]:
        return self.call("ListServiceDeployments", service="web", **params)["serviceDeployments"]  # type: ignore[no-any-return]

    def run_until(self, predicate: Callable[[], bool], timeout: float = 30.0, step: float = 0.05) -> None:
        start = self.clock.now()
        while not predicate():
            assert self.clock.now() - start < timeout, "condition not reached in simulated time"
            self.clock.advance(step)
            self.engine.tick()

    def status_is(self, arn: str, status: str) -> Callable[[], bool]:
        return lambda: self.describe(arn)["status"] == status


@pytest.fixture
def env() -> Iterator[Env]:
    with mock_aws():
        environment = Env()
        yield environment
        environment.engine.close()


def refused(env: Env, action: str, code: str, message: str, **params: Any) -> None:
    with pytest.raises(EngineError) as error:
        env.engine.handle(action, A, R, params)
    assert (error.value.code, error.value.message) == (code, message)


def test_a_good_rollout_is_pending_then_in_progress_then_successful_when_the_deployment_completes(env: Env) -> None:
    seeded_at = env.clock.now()
    env.seed()
    env.clock.advance(1)
    env.engine.tick()
    (first,) = env.listed()
    assert (first["status"], first["createdAt"]) == ("SUCCESSFUL", seeded_at)  # seeded steady: done at the next step
    assert first["startedAt"] == first["finishedAt"] == seeded_at + 1
    at = env.clock.now()
    arn = env.update(taskDefinition="web:2")
    current = env.describe(arn)
    assert (current["status"], current["createdAt"], "startedAt" in current) == ("PENDING", at, False)
    assert current["sourceServiceRevisions"] == [
        {"arn": first["targetServiceRevisionArn"], "requestedTaskCount": 2, "runningTaskCount": 2,
         "pendingTaskCount": 0}]  # min 100 %: the scheduler still wants both old tasks
    assert current["targetServiceRevision"]["requestedTaskCount"] == 2
    assert current["deploymentCircuitBreaker"] == {"status": "DISABLED", "failureCount": 0, "threshold": 3}
    assert current["alarms"]["status"] == "DISABLED"
    assert current["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": False, "rollback": False}

    env.clock.advance(0.05)
    env.engine.tick()
    assert (env.describe(arn)["status"], env.describe(arn)["startedAt"]) == ("IN_PROGRESS", at + 0.05)
    both = env.service()["currentServiceRevisions"]  # PRIMARY's revision first, then the one it replaces
    assert [r["arn"] for r in both] == [current["targetServiceRevision"]["arn"], first["targetServiceRevisionArn"]]
    assert [r["requestedTaskCount"] for r in both] == [2, 2]
    env.run_until(env.status_is(arn, "SUCCESSFUL"))
    (deployment,) = env.service()["deployments"]
    assert deployment["rolloutState"] == "COMPLETED"
    done = env.describe(arn)
    assert done["finishedAt"] == deployment["updatedAt"]  # the simulated instant it completed
    assert "stoppedAt" not in done and "rollback" not in done and "statusReason" not in done
    assert done["targetServiceRevision"]["runningTaskCount"] == 2
    assert done["sourceServiceRevisions"][0]["runningTaskCount"] == 0
    env.clock.advance(5)
    env.engine.tick()
    assert env.describe(arn) == done  # a finished service deployment no longer changes
    assert [d["serviceDeploymentArn"] for d in env.listed()] == [arn, first["serviceDeploymentArn"]]
    assert env.service()["currentServiceDeployment"] == arn
    assert env.service()["currentServiceRevisions"] == [done["targetServiceRevision"]]


def test_a_service_revision_is_what_its_deployment_runs(env: Env) -> None:
    env.seed()
    arn = env.update(taskDefinition="web:2")
    target = env.describe(arn)["targetServiceRevision"]["arn"]
    revision = env.revision(target)
    assert revision["serviceRevisionArn"] == target
    assert target.startswith(f"arn:aws:ecs:{R}:{A}:service-revision/local/web/") and target.rsplit("/", 1)[1].isdigit()
    assert arn.startswith(f"arn:aws:ecs:{R}:{A}:service-deployment/local/web/") and len(arn.rsplit("/", 1)[1]) == 20
    assert revision["taskDefinition"] == f"arn:aws:ecs:{R}:{A}:task-definition/web:2"
    assert (revision["launchType"], revision["platformVersion"], revision["platformFamily"]) == (
        "FARGATE", "LATEST", "Linux")
    assert revision["networkConfiguration"] == default_network(A, R)
    assert revision["containerImages"] == [{"containerName": "app", "image": f"{ECR}/web:2"}]  # not pushed: no digest
    assert revision["serviceArn"] == env.service()["serviceArn"] and revision["createdAt"] == env.clock.now()


def test_a_crash_loop_trips_the_breaker_and_the_rollback_succeeds(env: Env) -> None:
    env.seed(**BREAKER)
    (first,) = env.listed()
    env.engine.set_image_behaviour("web:2", "crash")
    arn = env.update(taskDefinition="web:2")
    env.run_until(lambda: env.describe(arn)["status"] != "IN_PROGRESS" and env.describe(arn)["status"] != "PENDING")
    rolling = env.describe(arn)
    failed = next(d for d in env.service()["deployments"] if d["rolloutState"] == "FAILED")
    assert rolling["status"] == "ROLLBACK_IN_PROGRESS"
    assert rolling["statusReason"] == failed["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert rolling["rollback"] == {"reason": failed["rolloutStateReason"], "startedAt": failed["updatedAt"],
                                   "serviceRevisionArn": first["targetServiceRevisionArn"]}
    assert rolling["deploymentCircuitBreaker"] == {"status": "TRIGGERED", "failureCount": 3, "threshold": 3}
    assert "stoppedAt" not in rolling  # ECS sets stoppedAt when the breaker fires without a rollback

    env.run_until(env.status_is(arn, "ROLLBACK_SUCCESSFUL"))
    (rollback,) = env.service()["deployments"]
    assert rollback["taskDefinition"].endswith("web:1") and rollback["rolloutState"] == "COMPLETED"
    done = env.describe(arn)
    assert done["finishedAt"] == rollback["updatedAt"]
    assert done["sourceServiceRevisions"][0]["runningTaskCount"] == 2  # the rollback runs the source revision
    assert done["targetServiceRevision"]["runningTaskCount"] == 0
    assert [d["serviceDeploymentArn"] for d in env.listed()] == [arn, first["serviceDeploymentArn"]]  # no new one
    assert env.listed(status=["ROLLBACK_SUCCESSFUL"]) == [env.listed()[0]]


def test_the_breaker_without_rollback_stops_the_service_deployment(env: Env) -> None:
    env.seed(deploymentCircuitBreaker={"enable": True, "rollback": False})
    env.engine.set_image_behaviour("web:2", "crash")
    arn = env.update(taskDefinition="web:2")
    env.run_until(env.status_is(arn, "STOPPED"))
    stopped = env.describe(arn)
    assert stopped["stoppedAt"] == stopped["finishedAt"] == env.service()["deployments"][0]["updatedAt"]
    assert stopped["deploymentCircuitBreaker"]["status"] == "TRIGGERED" and "rollback" not in stopped
    assert stopped["statusReason"] == "ECS deployment circuit breaker: tasks failed to start."


def test_a_rollback_that_fails_too_is_rollback_failed(env: Env) -> None:
    env.seed(**BREAKER)
    env.engine.set_image_behaviour("web:2", "crash")
    env.engine.set_image_behaviour("web:1", "crash")  # the old revision no longer starts either
    arn = env.update(taskDefinition="web:2")
    env.run_until(env.status_is(arn, "ROLLBACK_FAILED"))
    assert env.describe(arn)["finishedAt"] == env.service()["deployments"][0]["updatedAt"]


def test_stop_service_deployment_rolls_back_to_the_last_completed_revision(env: Env) -> None:
    env.seed()
    (first,) = env.listed()
    env.engine.set_image_behaviour("web:2", "crash")  # no breaker: ECS would keep replacing the tasks
    arn = env.update(taskDefinition="web:2")
    env.run_until(lambda: env.describe(arn)["deploymentCircuitBreaker"]["failureCount"] >= 4, timeout=20)
    assert env.describe(arn)["status"] == "IN_PROGRESS"
    at = env.clock.now()
    assert env.call("StopServiceDeployment", serviceDeploymentArn=arn, stopType="ROLLBACK") == {
        "serviceDeploymentArn": arn}
    requested = env.describe(arn)
    assert (requested["status"], requested["stoppedAt"]) == ("ROLLBACK_REQUESTED", at)
    assert requested["rollback"] == {
        "reason": "StopServiceDeployment requested a rollback to the previous service revision.", "startedAt": at,
        "serviceRevisionArn": first["targetServiceRevisionArn"]}
    service = env.service()
    assert service["deployments"][0]["taskDefinition"].endswith("web:1")
    assert service["deployments"][0]["rolloutStateReason"].startswith("ECS deployment circuit breaker: rolling back")
    assert service["events"][0]["message"].startswith("(service web) rolling back to deployment ecs-svc/")
    # asking again while it rolls back: ECS continues the rollback
    assert env.call("StopServiceDeployment", serviceDeploymentArn=arn)["serviceDeploymentArn"] == arn
    env.clock.advance(0.05)
    env.engine.tick()
    assert env.describe(arn)["status"] == "ROLLBACK_IN_PROGRESS"
    env.run_until(env.status_is(arn, "ROLLBACK_SUCCESSFUL"))
    assert [d["taskDefinition"][-5:] for d in env.service()["deployments"]] == ["web:1"]
    refused(env, "StopServiceDeployment", "ConflictException",
            "The service deployment is ROLLBACK_SUCCESSFUL and can no longer be stopped.", serviceDeploymentArn=arn)


def test_a_newer_deployment_stops_the_one_in_progress(env: Env) -> None:
    env.seed()
    (first,) = env.listed()
    older = env.update(taskDefinition="web:2")
    env.clock.advance(0.5)
    env.engine.tick()
    at = env.clock.now()
    newer = env.update(forceNewDeployment=True)
    stopped = env.describe(older)
    assert (stopped["status"], stopped["finishedAt"]) == ("STOPPED", at)  # at the instant of the update
    assert stopped["statusReason"] == "A newer service deployment started before this one finished."
    sources = [s["arn"] for s in env.describe(newer)["sourceServiceRevisions"]]
    assert sources == [env.describe(older)["targetServiceRevision"]["arn"], first["targetServiceRevisionArn"]]
    env.run_until(env.status_is(newer, "SUCCESSFUL"))
    refused(env, "StopServiceDeployment", "ConflictException",
            "The service deployment is STOPPED and can no longer be stopped.", serviceDeploymentArn=older)


def test_list_pages_newest_first_and_filters_by_status_and_creation_time(env: Env) -> None:
    env.seed()
    arns = []
    for _ in range(24):
        env.clock.advance(1)
        arns.append(env.update(forceNewDeployment=True))
    env.run_until(env.status_is(arns[-1], "SUCCESSFUL"))
    everything: list[dict[str, Any]] = []
    page: dict[str, Any] = {}
    pages = 0
    while not pages or page.get("nextToken"):
        page = env.call("ListServiceDeployments", service="web", maxResults=10,
                        **({"nextToken": page["nextToken"]} if page.get("nextToken") else {}))
        everything += page["serviceDeployments"]
        pages += 1
    assert pages == 3 and len(everything) == 25
    assert [d["serviceDeploymentArn"] for d in everything[:24]] == arns[::-1]
    assert len(env.listed()) == 20  # the default page
    assert {d["status"] for d in everything} == {"SUCCESSFUL", "STOPPED"}
    assert [d["serviceDeploymentArn"] for d in env.listed(status=["STOPPED"], maxResults=100)] == arns[-2::-1]
    created = [d["createdAt"] for d in everything]
    assert created == sorted(created, reverse=True)
    window = env.listed(createdAt={"after": created[5], "before": created[2]})
    assert [d["createdAt"] for d in window] == created[2:6]
    assert env.listed(status=["ROLLBACK_FAILED"]) == []
    assert env.listed(status=[]) == env.listed()  # an empty filter filters nothing
    brief = everything[0]
    assert set(brief) == {"serviceDeploymentArn", "serviceArn", "clusterArn", "createdAt", "startedAt",
                          "finishedAt", "targetServiceRevisionArn", "status"}


@pytest.mark.parametrize(("params", "message"), [
    ({"status": ["DONE"]}, f"status must list values among {', '.join(STATUSES)}."),
    ({"status": "SUCCESSFUL"}, f"status must list values among {', '.join(STATUSES)}."),
    ({"maxResults": 0}, "maxResults must be between 1 and 100."),
    ({"maxResults": 101}, "maxResults must be between 1 and 100."),
    ({"createdAt": {"after": "yesterday"}}, "createdAt must give before and after as timestamps."),
    ({"nextToken": "not-a-token"}, "Invalid nextToken."),
    ({"nextToken": base64.urlsafe_b64encode(b'{"after": "arn:gone"}').decode()}, "Invalid nextToken."),
])
def test_list_refuses_filters_and_pages_ecs_would_refuse(env: Env, params: dict[str, Any], message: str) -> None:
    env.seed()
    refused(env, "ListServiceDeployments", "InvalidParameterException", message, cluster="local", service="web",
            **params)


def test_unknown_services_and_arns(env: Env) -> None:
    env.seed()
    (first,) = env.listed()
    arn, revision = first["serviceDeploymentArn"], first["targetServiceRevisionArn"]
    refused(env, "ListServiceDeployments", "ServiceNotFoundException", "Service not found.", cluster="local",
            service="api")
    refused(env, "ListServiceDeployments", "ClusterNotFoundException", "Cluster not found.", cluster="nope",
            service="web")
    unknown = [
        arn.rsplit("/", 1)[0] + "/AAAAAAAAAAAAAAAAAAAA",  # no such id
        arn.replace("/web/", "/api/"),  # no such service
        arn.replace(R, "eu-west-1"),  # another region
        arn.replace(A, "210987654321"),  # another account
    ]
    answer = env.engine.handle("DescribeServiceDeployments", A, R, {"serviceDeploymentArns": [arn, *unknown]})
    assert [d["serviceDeploymentArn"] for d in answer["serviceDeployments"]] == [arn]
    assert answer["failures"] == [{"arn": u, "reason": "MISSING"} for u in unknown]
    gone = revision.rsplit("/", 1)[0] + "/1"
    answer = env.engine.handle("DescribeServiceRevisions", A, R, {"serviceRevisionArns": [revision, gone]})
    assert [r["serviceRevisionArn"] for r in answer["serviceRevisions"]] == [revision]
    assert answer["failures"] == [{"arn": gone, "reason": "MISSING"}]
    for action, key, kind in (("DescribeServiceDeployments", "serviceDeploymentArns", "service-deployment"),
                              ("DescribeServiceRevisions", "serviceRevisionArns", "service-revision")):
        refused(env, action, "InvalidParameterException", f"{key} must list between 1 and 20 ARNs.", **{key: []})
        refused(env, action, "InvalidParameterException", f"{key} must list between 1 and 20 ARNs.",
                **{key: [arn] * 21})
        wrong = revision if kind == "service-deployment" else arn  # the other kind's ARN
        for bad in ("web", wrong, f"arn:aws:ecs:{R}:{A}:{kind}/local/web"):
            refused(env, action, "InvalidParameterException", f"Invalid ARN: {bad} is not a {kind} ARN.",
                    **{key: [bad]})


def test_stop_service_deployment_refusals(env: Env) -> None:
    created = env.call("CreateService", serviceName="web", taskDefinition="web:1", desiredCount=1,
                       networkConfiguration=default_network(A, R))["service"]["currentServiceDeployment"]
    # the first deployment of a service has no completed revision to roll back to
    refused(env, "StopServiceDeployment", "ConflictException",
            "The service has no completed service revision to roll back to.", serviceDeploymentArn=created)
    refused(env, "StopServiceDeployment", "InvalidParameterException", "stopType must be ROLLBACK, got ABORT.",
            serviceDeploymentArn=created, stopType="ABORT")
    refused(env, "StopServiceDeployment", "InvalidParameterException", "serviceDeploymentArn must be specified.")
    refused(env, "StopServiceDeployment", "ServiceDeploymentNotFoundException",
            "The service deployment does not exist.", serviceDeploymentArn=created[:-20] + "B" * 20)
    refused(env, "StopServiceDeployment", "ServiceDeploymentNotFoundException",
            "The service deployment does not exist.", serviceDeploymentArn=created.replace("/web/", "/api/"))
    refused(env, "StopServiceDeployment", "InvalidParameterException",
            "Invalid ARN: web is not a service-deployment ARN.", serviceDeploymentArn="web")
    env.run_until(env.status_is(created, "SUCCESSFUL"))
    refused(env, "StopServiceDeployment", "ConflictException",
            "The service deployment is SUCCESSFUL and can no longer be stopped.", serviceDeploymentArn=created)


def test_deleting_a_service_stops_its_deployment_and_forgets_its_history_when_it_is_gone(env: Env) -> None:
    env.seed()
    arn = env.update(taskDefinition="web:2")
    env.call("DeleteService", service="web", force=True)
    refused(env, "StopServiceDeployment", "ConflictException",  # stopped at the instant of the deletion
            "The service deployment is STOPPED and can no longer be stopped.", serviceDeploymentArn=arn)
    env.clock.advance(0.05)
    env.engine.tick()
    assert (env.describe(arn)["status"], env.describe(arn)["statusReason"]) == ("STOPPED", "The service was deleted.")
    env.run_until(lambda: not env.call("DescribeServices", services=["web"])["services"], timeout=7200, step=30)
    answer = env.engine.handle("DescribeServiceDeployments", A, R, {"serviceDeploymentArns": [arn]})
    assert answer == {"serviceDeployments": [], "failures": [{"arn": arn, "reason": "MISSING"}]}
    again = env.seed()
    assert env.listed() == [d for d in env.listed() if d["serviceDeploymentArn"] == again["currentServiceDeployment"]]
    assert len(env.listed()) == 1
