"""The deployment record: what happened, per service, in one run.

Written as JSON with ``--ecsdeploy-report PATH``, summarised in the terminal, handed to Octopus as an artifact
and output variables. Nothing secret is stored: images, ARNs, check lines, service events and masked log lines
only, and the file is written through ``redact.mask_tree`` so a secret inside a reason or an event is masked too.

Outcomes of a service: ``pending`` (nothing decided yet), ``unchanged`` (already live, nothing written),
``planned`` (``--plan``), ``refused`` (another run holds the service's lease; nothing was written), ``deployed``,
``failed`` (a rollout or another step failed and the service was not rolled back: this run had not changed it,
another deployment replaced it, ``--no-rollback``, or it ran no earlier revision), ``rolled back`` (failed and
returned to the previous revision, by ECS's circuit breaker or by this run), ``rollback failed``, ``cancelled``
(the run was stopped: SIGINT, SIGTERM or a step time-out; ``rollback`` says whether the service was returned to
the previous revision).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..arns import short_revision
from ..checks import Check, Checks
from ..redact import mask_tree

OUTCOMES = ("pending", "unchanged", "planned", "refused", "deployed", "failed", "rolled back", "rollback failed",
            "cancelled")
#: The outcomes of a service that did not deploy (the run fails with any of them).
NOT_DEPLOYED = ("refused", "failed", "rolled back", "rollback failed", "cancelled")


@dataclass
class Rollback:
    """A rollback's from/to revisions and how it ended."""

    from_revision: str | None
    to_revision: str | None
    outcome: str = "pending"
    reason: str | None = None
    deployment_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ServiceRecord:
    """One service's part of the record."""

    service: str
    environment: str
    cluster: str
    image_before: str | None = None
    image_after: str | None = None
    revision_before: str | None = None
    revision_after: str | None = None
    deployment_id: str | None = None
    outcome: str = "pending"
    reason: str | None = None
    checks: Checks = field(default_factory=Checks)
    events: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    rollback: Rollback | None = None
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    #: Failed tasks with their containers' last log lines, masked (``actions/logs.py``: TaskLogs.to_dict()).
    failed_tasks: list[dict[str, Any]] = field(default_factory=list)
    #: The service's deployment strategy (ROLLING, BLUE_GREEN, LINEAR, CANARY), as the pre-checks read it.
    strategy: str | None = None
    #: The ARN of the service deployment followed (BLUE_GREEN, LINEAR, CANARY).
    service_deployment: str | None = None
    #: Its stages as seen: ``{"stage", "at" (epoch s), "status", "productionWeight", "testWeight"}``.
    stages: list[dict[str, Any]] = field(default_factory=list)
    #: Where deploy() or continue_deployment() returned before the end: ``test_traffic`` or ``production_step``
    #: (paused), ``traffic_shifted``; None otherwise.
    until: str | None = None
    #: deploy(until="traffic_shifted") returned with the bake still running.
    bake_running: bool = False
    #: A CODE_DEPLOY service's deployment (``actions/codedeploy.py``): ``application``, ``deploymentGroup``,
    #: ``deploymentConfig``, ``deploymentId``, ``until``, ``lifecycleEvents`` (``{"event", "status", "at" (epoch s),
    #: "weights" ({"Blue": %, "Green": %}), "deploymentId"}``), the last ``weights``; empty for other services.
    codedeploy: dict[str, Any] = field(default_factory=dict)

    def set_outcome(self, outcome: str, reason: str | None = None) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; one of {', '.join(OUTCOMES)}")
        self.outcome = outcome
        self.reason = reason
        self.finished_at = time.time()

    def add_event(self, created_at: float, message: str) -> None:
        self.events.append({"createdAt": created_at, "message": message})

    @property
    def duration(self) -> float:
        return (self.finished_at or time.time()) - self.started_at

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "environment": self.environment,
            "cluster": self.cluster,
            "image": {"before": self.image_before, "after": self.image_after},
            "revision": {"before": self.revision_before, "after": self.revision_after},
            "deploymentId": self.deployment_id,
            "outcome": self.outcome,
            "reason": self.reason,
            "checks": [c.to_dict() for c in self.checks.items],
            "events": list(self.events),
            "timings": dict(self.timings),
            "rollback": self.rollback.to_dict() if self.rollback else None,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "durationSeconds": round(self.duration, 3),
            "failedTasks": list(self.failed_tasks),
            "strategy": self.strategy,
            "serviceDeployment": self.service_deployment,
            "stages": [dict(stage) for stage in self.stages],
            "until": self.until,
            "bakeRunning": self.bake_running,
            "codedeploy": dict(self.codedeploy) or None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServiceRecord:
        """The inverse of :meth:`to_dict` (a pytest-xdist worker's record reaches the controller this way)."""
        checks = Checks()
        for item in data.get("checks", []):
            checks.items.append(Check(**item))
        rollback = data.get("rollback")
        return cls(
            service=data["service"],
            environment=data["environment"],
            cluster=data["cluster"],
            image_before=data["image"]["before"],
            image_after=data["image"]["after"],
            revision_before=data["revision"]["before"],
            revision_after=data["revision"]["after"],
            deployment_id=data.get("deploymentId"),
            outcome=data["outcome"],
            reason=data.get("reason"),
            checks=checks,
            events=list(data.get("events", [])),
            timings=dict(data.get("timings", {})),
            rollback=Rollback(**rollback) if rollback else None,
            started_at=data["startedAt"],
            finished_at=data.get("finishedAt"),
            failed_tasks=list(data.get("failedTasks", [])),
            strategy=data.get("strategy"),
            service_deployment=data.get("serviceDeployment"),
            stages=list(data.get("stages", [])),
            until=data.get("until"),
            bake_running=bool(data.get("bakeRunning", False)),
            codedeploy=dict(data.get("codedeploy") or {}),
        )


def mid_deployment(record: ServiceRecord) -> str:
    """The one sentence a run that could not finish its rollback leaves: ``service 'web' may be mid-deployment;
    its good revision is web:1 (arn:aws:ecs:…:task-definition/web:1).``"""
    good = record.rollback.to_revision if record.rollback is not None else record.revision_before
    if good is None:
        return f"service '{record.service}' may be mid-deployment; the revision it ran before is not known."
    return f"service '{record.service}' may be mid-deployment; its good revision is {short_revision(good)} ({good})."


@dataclass
class RunRecord:
    """Every service of one run, with the run's settings."""

    environment: str
    backend: str
    region: str
    image_tag: str | None = None
    image_tags: dict[str, str] = field(default_factory=dict)  # per service, from --image-tag SERVICE=TAG
    plan: bool = False
    services: dict[str, ServiceRecord] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)

    def service(self, name: str, cluster: str) -> ServiceRecord:
        if name not in self.services:
            self.services[name] = ServiceRecord(service=name, environment=self.environment, cluster=cluster)
        return self.services[name]

    @property
    def failed(self) -> list[ServiceRecord]:
        return [r for r in self.services.values() if r.outcome in NOT_DEPLOYED]

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "backend": self.backend,
            "region": self.region,
            "imageTag": self.image_tag,
            "imageTags": dict(self.image_tags),
            "plan": self.plan,
            "startedAt": self.started_at,
            "services": {name: rec.to_dict() for name, rec in self.services.items()},
        }

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(mask_tree(self.to_dict()), indent=2, default=str) + "\n", encoding="utf-8")
        return path

