"""The terminal summary is a pure function of the record: the table's shape, the reason lines, rollbacks."""

from __future__ import annotations

from pytest_ecsdeploy.checks import Check
from pytest_ecsdeploy.report.record import Rollback, RunRecord, ServiceRecord
from pytest_ecsdeploy.report.summary import summary_lines

ARN = "arn:aws:ecs:eu-west-1:111122223333:task-definition/{}"


def service(run: RunRecord, name: str, before: str | None, after: str | None) -> ServiceRecord:
    record = run.service(name, "prod")
    record.revision_before = ARN.format(before) if before else None
    record.revision_after = ARN.format(after) if after else None
    return record


def finish(record: ServiceRecord, outcome: str, reason: str | None = None, seconds: float = 1.0) -> None:
    record.set_outcome(outcome, reason)
    record.finished_at = record.started_at + seconds


def test_one_row_per_service_with_aligned_columns() -> None:
    run = RunRecord(environment="prod", backend="aws", region="eu-west-1")
    web = service(run, "web", "web:6", "web:7")
    web.checks.passed("ecs_service.deploy", "post", "steady", "2 of 2 tasks running")
    web.checks.passed("ecs_service.deploy", "post", "revision", "web:7")
    finish(web, "deployed", seconds=42.06)
    checkout = service(run, "checkout", None, "checkout:1")
    finish(checkout, "deployed", seconds=3)

    assert summary_lines(run) == [
        "service   from -> to       outcome   duration  checks ok/failed",
        "web       web:6 -> web:7   deployed  42.1s     2/0",
        "checkout  - -> checkout:1  deployed  3.0s      0/0",
    ]


def test_an_empty_record_is_the_header_alone() -> None:
    run = RunRecord(environment="prod", backend="aws", region="eu-west-1")

    assert summary_lines(run) == ["service  from -> to  outcome  duration  checks ok/failed"]


def test_a_plan_that_would_register_shows_a_new_revision_and_no_reason_line() -> None:
    run = RunRecord(environment="prod", backend="aws", region="eu-west-1", plan=True)
    web = service(run, "web", "web:6", None)
    finish(web, "planned", "--plan: nothing was written")

    assert summary_lines(run) == [
        "service  from -> to               outcome  duration  checks ok/failed",
        "web      web:6 -> (new revision)  planned  1.0s      0/0",
    ]


def test_a_rollback_names_its_target_and_the_reason_follows_the_table() -> None:
    run = RunRecord(environment="prod", backend="aws", region="eu-west-1")
    web = service(run, "web", "web:6", "web:7")
    web.checks.passed("ecs_service.deploy", "post", "rolloutState COMPLETED", "deployment ecs-svc/1")
    web.checks.record(Check("smoke.http", "post", "GET /health", "failed", "503"))
    web.checks.passed("ecs_service.rollback", "post", "rolloutState COMPLETED", "deployment ecs-svc/2")
    web.checks.passed("ecs_service.rollback", "post", "rolled back", "to web:6")
    web.rollback = Rollback(ARN.format("web:7"), ARN.format("web:6"), outcome="completed")
    finish(web, "rolled back", "step test_smoke failed after the rollout", seconds=61)

    assert summary_lines(run) == [
        "service  from -> to      outcome                 duration  checks ok/failed",
        "web      web:6 -> web:7  rolled back (to web:6)  61.0s     1/1, rollback 2/0",
        "web: step test_smoke failed after the rollout",
    ]


def test_a_failed_rollback_adds_its_own_reason_line_and_a_quiet_outcome_none() -> None:
    run = RunRecord(environment="prod", backend="aws", region="eu-west-1")
    api = service(run, "api", "api:3", "api:4")
    api.rollback = Rollback(ARN.format("api:4"), ARN.format("api:3"), outcome="timed out",
                            reason="api:3 did not reach steady state within 600 s")
    finish(api, "rollback failed", "circuit breaker: 3 tasks failed to start")
    web = service(run, "web", "web:6", "web:6")
    finish(web, "unchanged", "web:6 is already live")

    assert summary_lines(run) == [
        "service  from -> to      outcome                     duration  checks ok/failed",
        "api      api:3 -> api:4  rollback failed (to api:3)  1.0s      0/0, rollback 0/0",
        "web      web:6 -> web:6  unchanged                   1.0s      0/0",
        "api: circuit breaker: 3 tasks failed to start",
        "api: rollback timed out: api:3 did not reach steady state within 600 s",
    ]


def test_a_failure_without_rollback_has_a_reason_line_and_no_target() -> None:
    run = RunRecord(environment="prod", backend="aws", region="eu-west-1")
    web = service(run, "web", "web:6", "web:7")
    finish(web, "failed", "deployment ecs-svc/1 did not complete within 60 s", seconds=60.04)

    assert summary_lines(run) == [
        "service  from -> to      outcome  duration  checks ok/failed",
        "web      web:6 -> web:7  failed   60.0s     0/0",
        "web: deployment ecs-svc/1 did not complete within 60 s",
    ]


def test_a_shifting_service_lists_its_stages_and_a_running_bake() -> None:
    run = RunRecord(environment="prod", backend="aws", region="eu-west-1")
    web = service(run, "web", "web:6", "web:7")
    web.strategy, web.bake_running = "CANARY", True
    web.service_deployment = "arn:aws:ecs:eu-west-1:111122223333:service-deployment/prod/web/Qi7G"
    for stage, status in [("PRE_SCALE_UP", "PENDING"), ("PRE_SCALE_UP", "IN_PROGRESS"), ("SCALE_UP", "IN_PROGRESS"),
                          ("PRODUCTION_TRAFFIC_SHIFT", "IN_PROGRESS"), ("BAKE_TIME", "IN_PROGRESS")]:
        web.stages.append({"stage": stage, "at": 1.0, "status": status})
    finish(web, "deployed", "production traffic all on web:7", seconds=30)
    assert summary_lines(run) == [
        "service  from -> to      outcome                  duration  checks ok/failed",
        "web      web:6 -> web:7  deployed (bake running)  30.0s     0/0",
        "web: CANARY service deployment Qi7G: PRE_SCALE_UP, SCALE_UP, PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME IN_PROGRESS",
    ]
