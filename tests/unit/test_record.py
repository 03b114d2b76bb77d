"""The deployment record survives the trip from a pytest-xdist worker to the controller."""

from __future__ import annotations

import json

from pytest_ecsdeploy.report.record import Rollback, RunRecord, ServiceRecord


def test_service_record_round_trips_through_json() -> None:
    run = RunRecord(environment="prod", backend="aws", region="eu-west-1", image_tag="1.4.2")
    record = run.service("web", "prod")
    record.image_before, record.image_after = "web@sha256:aa", "web@sha256:bb"
    record.revision_before = "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:6"
    record.revision_after = "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:7"
    record.checks.passed("ecr.image", "pre", "tag exists", "web:1.4.2")
    record.add_event(1.5, "(service web) has reached a steady state.")
    record.timings["rollout"] = 12.5
    record.rollback = Rollback(record.revision_after, record.revision_before, outcome="completed")
    record.strategy, record.until, record.bake_running = "CANARY", "traffic_shifted", True
    record.service_deployment = "arn:aws:ecs:eu-west-1:111122223333:service-deployment/prod/web/Qi7G"
    record.stages.append({"stage": "BAKE_TIME", "at": 1.75, "status": "IN_PROGRESS", "productionWeight": 100.0,
                          "testWeight": 100.0})
    record.set_outcome("rolled back", "circuit breaker")

    data = json.loads(json.dumps(record.to_dict()))
    again = ServiceRecord.from_dict(data)

    assert again.to_dict() == record.to_dict()
    assert again.checks.count("passed") == 1
    assert again.rollback is not None and again.rollback.outcome == "completed"
    assert (again.strategy, again.until, again.bake_running, again.stages[0]["stage"]) == (
        "CANARY", "traffic_shifted", True, "BAKE_TIME")
    assert run.failed == [record]
