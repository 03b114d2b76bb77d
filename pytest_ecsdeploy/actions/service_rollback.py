"""The rollback paths of :class:`~pytest_ecsdeploy.actions.service.EcsService`, each watched to its end:

- ECS already moved a BLUE_GREEN, LINEAR or CANARY deployment's traffic back (ROLLBACK_SUCCESSFUL): recorded;
- the service deployment still goes: rolled back the strategy's way (ContinueServiceDeployment ROLLBACK at a PAUSE
  hook awaiting action, else StopServiceDeployment ROLLBACK), also for ``ecsdeploy rollback``
  (:meth:`ServiceRollback.roll_back_service_deployment`);
- ECS's circuit breaker rolls a failed deployment back: followed, not doubled;
- else UpdateService to the revision the service ran before this run, post-checked.

A CODE_DEPLOY service is rolled back by ``codedeploy.py``; nothing is rolled back that this run did not change, nor
with ``--no-rollback``. A rollback never deregisters anything.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..arns import short_revision
from ..aws import call
from ..checks import Check
from ..errors import ActionError, EcsDeployError, RolloutFailed
from ..report.record import Rollback
from .lifecycle import ONGOING, SHIFTING, StageVerdict, StageWatch, awaiting_hook, budget, strategy_of
from .polling import PollSchedule, Seen, wait_for
from .rollout import ROLLBACK, Rollout
from .service_checks import ServiceChecks
from .service_watch import ServiceWatch
from .watch import (
    COMPLETED,
    FAILED,
    ROLLED_BACK,
    SUPERSEDED,
    DeploymentView,
    Verdict,
    primary_deployment,
    running_revision,
    service_deployments,
)

__all__ = ["ServiceRollback"]


class ServiceRollback(ServiceWatch, ServiceChecks):
    """The ways an EcsService goes back to the revision it ran before this run."""

    def _roll_back(self, why: str, verdict: Verdict | None, deployment_id: str | None) -> str:
        """Return the service to the revision it ran before this run; a summary of what happened, for messages."""
        if self._rollback_summary is not None:
            return self._rollback_summary
        with self.ctx.cancellation.shield():  # a first signal now must not stop the undo; the grace period bounds it
            if self._code_deploy is not None:
                return self._code_deploy.roll_back(why, verdict)
            return self._roll_back_shielded(why, verdict, deployment_id)

    def _roll_back_shielded(self, why: str, verdict: Verdict | None, deployment_id: str | None) -> str:
        ctx, record = self.ctx, self.ctx.record
        failed_revision, target = record.revision_after, record.revision_before
        if isinstance(verdict, StageVerdict) and verdict.outcome == ROLLED_BACK:  # ECS moved traffic back already
            restored = verdict.rolled_back_to or target
            record.rollback = Rollback(from_revision=failed_revision, to_revision=restored,
                                       deployment_id=verdict.service_deployment)
            return self._rolled_back(why, replace(verdict, outcome=COMPLETED), short_revision(restored),
                                     verdict.service_deployment, self._clock() - (verdict.rollback_seconds or 0.0),
                                     by_ecs=True)
        ecs_rollback = verdict.ecs_rollback if verdict else None
        changed = self._updated or self._adopted
        if changed and ctx.options.rollback and target is not None and self._stages is not None:
            through = self._roll_back_through_strategy(why, self._stages, failed_revision, target)
            if through is not None:
                return through
        if ecs_rollback is None and verdict is not None and verdict.outcome == FAILED and changed:
            try:
                ecs_rollback = self._ecs_rollback_of(deployment_id)
            except EcsDeployError as exc:
                ctx.log.warning(f"could not tell whether ECS rolls back ({exc})")
        if ecs_rollback is not None:
            return self._follow_ecs_rollback(why, ecs_rollback, failed_revision)
        reason = None
        if not changed:
            reason = "not rolled back: this run did not change the service"
        elif verdict is not None and verdict.outcome == SUPERSEDED:
            reason = "not rolled back: another deployment replaced it"
        elif not ctx.options.rollback:
            reason = "not rolled back (--no-rollback)"
        elif target is None:
            reason = (f"not rolled back: ECS no longer tells which revision ran before deployment {deployment_id}; "
                      f"roll back by hand")
        elif target == failed_revision:
            reason = f"not rolled back: the service ran no other revision before this run ({short_revision(target)})"
        if reason is not None:
            record.set_outcome("failed", why)
            self._rollback_summary = reason
            return reason
        assert target is not None
        label = short_revision(target)
        record.rollback = Rollback(from_revision=failed_revision, to_revision=target)
        ctx.log.warning(f"rolling service {self.name} back to {label}")
        started = self._clock()
        try:
            service = self.describe()
            current = running_revision(service)
            rollback_id, _ = self._update(target, label, current == target, current)
            record.rollback.deployment_id = rollback_id
            limit = ctx.wait_timeout if ctx.options.wait_timeout is not None else budget(service, ctx.wait_timeout)
            outcome, watch, _ = self._watch(target, rollback_id,
                                            [str(e.get("id")) for e in service.get("events") or []],
                                            float(limit), bounded=True)
            if outcome.outcome == COMPLETED:
                self._post_checks(ROLLBACK, target, rollback_id, label,
                                  None if self._strategy in SHIFTING else watch.service)  # as in _conclude
        except EcsDeployError as exc:
            outcome = Verdict(FAILED, str(exc).rstrip("."))
        return self._rolled_back(why, outcome, label, record.rollback.deployment_id, started, by_ecs=False)

    def roll_back_service_deployment(self, to: str | None = None) -> Rollout | None:
        """``ecsdeploy rollback`` of a BLUE_GREEN, LINEAR or CANARY service whose current service deployment is still
        going (anyone's): roll it back the strategy's way (see :meth:`_roll_back_through_strategy`) and watch it to
        ROLLBACK_SUCCESSFUL, after the account guard and the lease. None, with nothing written, when the service
        has no such deployment going, or when ``to`` (``web:41`` or its ARN) is not the revision it would return to:
        a new deployment is the way then. A failed rollback raises RolloutFailed."""
        __tracebackhide__ = True
        ctx, record = self.ctx, self.ctx.record
        service = self.describe()
        arn = service.get("currentServiceDeployment")
        if strategy_of(service) not in SHIFTING or not arn:
            return None
        found = (call(ctx.aws, "ecs", "describe_service_deployments", f"describe service deployment {arn}",
                      who=self._who, serviceDeploymentArns=[arn]).get("serviceDeployments") or [{}])[0]
        sources = [str(r["arn"]) for r in found.get("sourceServiceRevisions") or [] if r.get("arn")]
        target_arn = (found.get("targetServiceRevision") or {}).get("arn")
        if found.get("status") not in ONGOING or not sources or not target_arn:
            return None
        revisions = call(ctx.aws, "ecs", "describe_service_revisions", "describe its service revisions",
                         who=self._who, serviceRevisionArns=[*sources[:19], str(target_arn)])
        by_arn = {str(r.get("serviceRevisionArn")): str(r.get("taskDefinition"))
                  for r in revisions.get("serviceRevisions") or []}
        back, failed = by_arn.get(sources[0]), by_arn.get(str(target_arn))
        if back is None or failed is None or (to is not None and short_revision(to) != short_revision(back)):
            return None
        ctx.before_write()
        self._strategy, self._updated = strategy_of(service), True
        primary = primary_deployment(service)
        record.strategy, record.service_deployment = self._strategy, str(arn)
        record.revision_before, record.revision_after = back, failed
        record.deployment_id = primary.id if primary else None
        stages = StageWatch(ctx.aws, who=self._who, cluster=self.cluster, service=self.name, revision=failed,
                            deployment_id=record.deployment_id or "", hint=None, arn=str(arn), clock=self._clock,
                            wall=self._wall)
        self._stages = stages
        with ctx.cancellation.shield():  # as any rollback: a first signal must not stop it halfway
            summary = self._roll_back_through_strategy(
                f"ecsdeploy rollback of service deployment {str(arn).rsplit('/', 1)[-1]}", stages, failed, back)
        if summary is None:
            return None
        rollout = self.rollback_rollout
        if rollout is None or record.outcome != "rolled back":
            raise RolloutFailed(f"service '{self.name}': {summary}.")
        return rollout

    def _roll_back_through_strategy(self, why: str, stages: StageWatch, failed_revision: str | None,
                                    target: str) -> str | None:
        """Roll back a BLUE_GREEN, LINEAR or CANARY service deployment still going the strategy's way:
        ContinueServiceDeployment ROLLBACK at a PAUSE hook awaiting action, else StopServiceDeployment ROLLBACK;
        watched to ROLLBACK_SUCCESSFUL. None when the service deployment is no longer going (SUCCESSFUL: a new
        deployment of ``target`` is the way back) or refuses the rollback; the summary otherwise."""
        ctx, record = self.ctx, self.ctx.record
        arn = stages.arn
        if arn is None:
            return None
        answer = call(ctx.aws, "ecs", "describe_service_deployments", f"describe service deployment {arn}",
                      who=self._who, serviceDeploymentArns=[arn])
        found = (answer.get("serviceDeployments") or [{}])[0]
        status, name = str(found.get("status")), arn.rsplit("/", 1)[-1]
        self._pause = None
        record.until = None
        if status == "ROLLBACK_SUCCESSFUL":  # ECS got there first (a hook's time-out, someone's rollback)
            back = stages.restored(found) or target
            record.rollback = Rollback(from_revision=failed_revision, to_revision=back, deployment_id=name)
            return self._rolled_back(why, Verdict(COMPLETED, f"service deployment {name} is ROLLBACK_SUCCESSFUL"),
                                     short_revision(back), name, self._clock(), by_ecs=True)
        if status not in ONGOING:
            return None
        label = short_revision(target)
        hook = awaiting_hook(found)
        started = self._clock()
        try:
            if status in ("PENDING", "IN_PROGRESS") and hook is not None:
                ctx.log.warning(f"rolling service {self.name} back to {label} through the pause: "
                                f"ContinueServiceDeployment ROLLBACK for hook {hook} of service deployment {name}")
                call(ctx.aws, "ecs", "continue_service_deployment", f"roll back service deployment {name}",
                     who=self._who, serviceDeploymentArn=arn, hookId=hook, action="ROLLBACK")
            elif status in ("PENDING", "IN_PROGRESS", "STOP_REQUESTED"):
                ctx.log.warning(f"rolling service {self.name} back to {label}: StopServiceDeployment ROLLBACK of "
                                f"service deployment {name} ({found.get('lifecycleStage') or status})")
                call(ctx.aws, "ecs", "stop_service_deployment", f"roll back service deployment {name}",
                     who=self._who, serviceDeploymentArn=arn, stopType="ROLLBACK")
        except ActionError as exc:
            if exc.code in ("ConflictException", "InvalidParameterException"):
                ctx.log.warning(f"service deployment {name} refused the rollback ({str(exc).rstrip('.')}); "
                                f"deploying {label} again instead")
                return None
            raise
        record.rollback = Rollback(from_revision=failed_revision, to_revision=target, deployment_id=name)
        stages.rollback, stages.until = True, None
        try:
            service = self.describe()
            limit = ctx.wait_timeout if ctx.options.wait_timeout is not None else budget(service, ctx.wait_timeout)
            outcome, watch, _ = self._watch(stages.revision, stages.deployment_id,
                                            [str(e.get("id")) for e in service.get("events") or []], float(limit),
                                            bounded=True, stages=stages)
            if outcome.outcome == COMPLETED:
                restored = (outcome.rolled_back_to if isinstance(outcome, StageVerdict) else None) or target
                record.rollback.to_revision, label = restored, short_revision(restored)
                service = self.describe()  # read after ROLLBACK_SUCCESSFUL, as in _conclude
                primary = primary_deployment(service)
                self._post_checks(ROLLBACK, restored, primary.id if primary else None, label, service)
        except EcsDeployError as exc:
            outcome = Verdict(FAILED, str(exc).rstrip("."))
        return self._rolled_back(why, outcome, label, name, started, by_ecs=False)

    def _ecs_rollback_of(self, deployment_id: str | None) -> DeploymentView | None:
        """ECS's rollback deployment after ``deployment_id`` FAILED, if the service's circuit breaker rolls back
        (waiting up to ``ecs_rollback_grace`` seconds for it to appear); else None."""
        service = self.describe()
        breaker = (service.get("deploymentConfiguration") or {}).get("deploymentCircuitBreaker") or {}
        ours = next((d for d in service_deployments(service) if d.id == deployment_id), None)
        if not breaker.get("rollback") or ours is None or ours.rollout_state != "FAILED":
            return None

        def judge(service: dict[str, Any]) -> Seen[DeploymentView]:
            primary = primary_deployment(service)
            return Seen(primary if primary is not None and primary.id != deployment_id else None)

        already = judge(service).result
        if already is not None:
            return already
        return wait_for(self.describe, judge, timeout=self.ecs_rollback_grace,
                        schedule=PollSchedule(self.poll_first, self.poll_first), clock=self._clock, sleep=self._sleep,
                        warn=self.ctx.log.warning)

    def _follow_ecs_rollback(self, why: str, deployment: DeploymentView, failed_revision: str | None) -> str:
        record, label = self.ctx.record, short_revision(deployment.revision)
        record.rollback = Rollback(from_revision=failed_revision, to_revision=deployment.revision,
                                   deployment_id=deployment.id)
        self.ctx.log.warning(f"ECS's circuit breaker is rolling service {self.name} back to {label} "
                             f"(deployment {deployment.id}); waiting for it")
        started = self._clock()
        try:
            assert deployment.revision is not None
            outcome, _, _ = self._watch(deployment.revision, deployment.id, sorted(self._seen_events),
                                        float(self.ctx.wait_timeout), bounded=True)
        except EcsDeployError as exc:
            outcome = Verdict(FAILED, str(exc).rstrip("."))
        return self._rolled_back(why, outcome, label, deployment.id, started, by_ecs=True)

    def _rolled_back(self, why: str, outcome: Verdict, label: str, deployment_id: str | None, started: float,
                     *, by_ecs: bool) -> str:
        record = self.ctx.record
        seconds = self._clock() - started
        record.timings["rollback"] = round(seconds, 3)
        assert record.rollback is not None
        who = "ECS rolled it back" if by_ecs else "rolled back"
        if outcome.outcome == COMPLETED:
            record.rollback.outcome, record.rollback.reason = "completed", outcome.reason
            summary = f"{who} to {label} (deployment {deployment_id} completed in {seconds:.1f} s)"
            self.ctx.checks.passed(ROLLBACK, "post", "rolled back", summary)
            record.set_outcome("rolled back", why)
        else:
            record.rollback.outcome, record.rollback.reason = outcome.outcome.lower().replace("_", " "), outcome.reason
            summary = f"the rollback to {label} failed too: {outcome.reason}"
            self.ctx.checks.record(Check(ROLLBACK, "post", "rolled back", "failed", summary))
            record.set_outcome("rollback failed", why)
        self.ctx.log.warning(summary)
        self._rollback_summary = summary
        self.rollback_rollout = Rollout(self.name, record.rollback.to_revision, record.rollback.from_revision,
                                        deployment_id, outcome.outcome, outcome.reason, duration=seconds)
        self._notify(self.ctx.hooks.rolled_back)
        return summary

