"""The ``ecs_service`` fixture: roll a revision out to an ECS service, watch it, check it, roll it back.

:class:`EcsService` is bound to the scenario's service. :meth:`EcsService.deploy` runs the pre-checks (account,
cluster and service ACTIVE, the ECS deployment controller, the revision ACTIVE, a deployment configuration that
can make progress, no deployment of someone else in progress, the ``pytest_ecsdeploy_pre_checks`` hook), then
UpdateService with the revision's exact ARN, then watches the deployment (``watch.py``: new service events and
task state changes as they arrive; DescribeServices fast after a change and never slower than every second, the
tasks read only when the service shows one changed) until its outcome is known, then the post-checks. A service on
the BLUE_GREEN, LINEAR or CANARY strategy is judged by the service deployment its UpdateService created, stage by
stage (``lifecycle.py``), its bake times added to the time-out. A failed rollout, a failed post-check, or a later
step of the scenario failing returns the service to the revision it ran before this run, watched the same way;
when ECS's own circuit breaker already rolls back (or, for those strategies, already rolled back), that rollback is
followed instead of starting a second one. For those strategies ``deploy(until=...)`` may return at the
test-traffic pause or before a production step (then :meth:`EcsService.continue_deployment`) or once production
traffic shifted, after the strategy's pre-checks (``strategy.py``); while their service deployment still goes,
the rollback goes through it (ContinueServiceDeployment or StopServiceDeployment with ROLLBACK) instead of
deploying the previous revision.
A rollback never deregisters anything. ``--no-rollback`` turns our
rollback off; ``--plan`` prints the service change and changes nothing.

Checks are recorded under the actions ``ecs_service.deploy`` and ``ecs_service.rollback``.

This module holds the scenario's API (deploy, continue_deployment, finish and the reads) and the steps of a deploy;
the rest of :class:`EcsService` lives apart, one concern each: ``service_checks.py`` (pre- and post-checks),
``service_watch.py`` (the watch), ``service_rollback.py`` (the rollback paths), ``service_state.py`` (what they
share), ``rollout.py`` (Rollout, Pause, and the ServiceHost view that ``codedeploy.py`` works through).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..arns import short_revision
from ..aws import call
from ..errors import ActionError, CheckFailed, EcsDeployError, RolloutFailed
from ..report.record import mid_deployment
from .codedeploy import CODE_DEPLOY, running_task_definition, task_sets_steady
from .lifecycle import PAUSED, PAUSES, SHIFTED, StageVerdict, budget
from .reads import revision_target, seconds_argument
from .rollout import DEPLOY, PLANNED, UNCHANGED, Pause, Rollout
from .service_rollback import ServiceRollback
from .strategy import check_step, check_until
from .taskdef.revision import Described, deploy_image, describe, repository_place
from .watch import (
    COMPLETED,
    FAILED,
    DeploymentView,
    DeploymentWatch,
    Verdict,
    failure_message,
    is_in_progress,
    is_steady,
    primary_deployment,
    running_revision,
    service_deployments,
)

__all__ = ["EcsService", "Rollout"]


class EcsService(ServiceRollback):
    """The ``ecs_service`` fixture: the scenario's ECS service.

    Example::

        def test_roll_out(ecs_service, task_definition):
            rollout = ecs_service.deploy(task_definition.registered)    # waits; rolls back on failure
            assert rollout.is_completed
            assert ecs_service.is_steady and ecs_service.revision == rollout.revision

    ``clock`` (monotonic seconds), ``sleep`` and ``wall`` (epoch seconds, compared with ECS's timestamps to tell
    how soon a decision was noticed) replace ``time.monotonic``, ``time.sleep`` and ``time.time`` in tests.
    """

    @property
    def revision(self) -> str | None:
        """The task-definition ARN of the PRIMARY deployment (of a CODE_DEPLOY service: of its PRIMARY task set)."""
        service = self.describe()
        if (service.get("deploymentController") or {}).get("type") == CODE_DEPLOY:
            return running_task_definition(service)
        return running_revision(service)

    @property
    def is_steady(self) -> bool:
        """One deployment, COMPLETED, with runningCount == desiredCount (what the ServicesStable waiter asks); of a
        CODE_DEPLOY service: one task set, PRIMARY and STEADY_STATE."""
        service = self.describe()
        if (service.get("deploymentController") or {}).get("type") == CODE_DEPLOY:
            return task_sets_steady(service)
        return is_steady(service)

    # -- deploy ---------------------------------------------------------------------------------------------

    def deploy(self, revision: Any, *, timeout: float | None = None, force_new_deployment: bool = False,
               supersede: bool = False, until: str | None = None) -> Rollout:
        """Roll ``revision`` (a Revision from ``task_definition.register()``, or a task-definition ARN) out.

        Waits until the outcome is known (at most ``timeout`` seconds, default ``--wait-timeout``); a failed
        rollout is rolled back (see the module docstring) and raises RolloutFailed naming the service, the
        revision, the deployment, the counts expected and found, and how the rollback ended. A service already
        steady on the revision is left alone unless ``force_new_deployment``. ``supersede`` replaces a deployment
        of another revision still in progress instead of refusing to race it (``ecsdeploy rollback`` does that).

        ``until`` (BLUE_GREEN, LINEAR and CANARY services) returns before the end: ``"test_traffic"`` once a PAUSE
        hook at POST_TEST_TRAFFIC_SHIFT awaits action, ``"production_step"`` once a PAUSE hook at
        PRE_PRODUCTION_TRAFFIC_SHIFT awaits action before the first production step (then
        :meth:`continue_deployment`; a failing step before that rolls back through the pause),
        ``"traffic_shifted"`` once production traffic is all on the new revision (the record says the bake was
        still running); ``"completed"`` (None) to the end. A service not configured for it fails a pre-check that says
        what to add. A service on the CODE_DEPLOY controller deploys through CodeDeploy (``codedeploy.py``), with
        the same ``until`` (``"test_traffic"``: return at Ready); there ``supersede`` continues a deployment at Ready
        itself.
        """
        __tracebackhide__ = True
        ctx, record = self.ctx, self.ctx.record
        until = check_until(until)
        if self._pause is not None:
            raise ActionError(f"service '{self.name}': deployment {self._pause.deployment_id} is paused at "
                              f"{self._pause.stage}; call continue_deployment() (or fail a step to roll it back) "
                              f"before deploying again.")
        started = self._clock()
        self._stages = None
        arn, label = revision_target(revision, plan=self.ctx.options.plan, who=self._who,
                                     method=f"service '{self.name}': deploy()", verb="deploy")
        chosen = timeout is not None or ctx.options.wait_timeout is not None
        timeout = seconds_argument(timeout, "deploy(timeout=...)") if timeout is not None else float(ctx.wait_timeout)
        service, described = self._pre_checks(revision, arn, label, supersede, until)
        self._go_on = supersede and until is None  # ecsdeploy rollback: not held at a PAUSE hook
        if self._code_deploy is not None:
            return self._code_deploy.deploy(revision, arn, label, service, timeout=timeout, chosen=chosen, until=until,
                                            go_on=supersede, force=force_new_deployment)
        timeout = timeout if chosen else budget(service, timeout)  # blue/green: plus the bake times
        arn = described.arn if described is not None else None  # 'web:7' -> its ARN, as ECS will report it
        primary = primary_deployment(service)
        if not self._updated:
            self._note_revision_before(service, described)
        before = record.revision_before
        record.revision_after = arn
        live = primary is not None and primary.revision == arn and primary.rollout_state != "FAILED"
        if live and not force_new_deployment and not is_in_progress(service):
            assert arn is not None and primary is not None
            ctx.log.info(f"service {self.name} already runs {label}; nothing to update")
            ctx.checks.passed(DEPLOY, "pre", "already live", f"{self.name} runs {label} with "
                              f"{service.get('runningCount')} of {service.get('desiredCount')} tasks; not updated")
            self._post_checks(DEPLOY, arn, primary.id, label, service)
            record.deployment_id = primary.id
            record.set_outcome("unchanged", f"already running {label}")
            return self._done(arn, before, primary.id, UNCHANGED, f"{self.name} already runs {label}", started)
        if arn is None or ctx.options.plan:
            return self._plan(arn, label, service, primary, force_new_deployment, started)
        return self._roll_out(arn, label, service, timeout, force_new_deployment, started, until)

    def _roll_out(self, arn: str, label: str, service: dict[str, Any], timeout: float, force: bool,
                  started: float, until: str | None = None) -> Rollout:
        __tracebackhide__ = True
        ctx, record = self.ctx, self.ctx.record
        primary = primary_deployment(service)
        seen = [str(e.get("id")) for e in service.get("events") or []]
        on_it = primary is not None and primary.revision == arn
        if on_it and is_in_progress(service):
            assert primary is not None
            deployment_id = primary.id
            ctx.log.info(f"deployment {deployment_id} of {label} is already in progress; waiting for it")
            self._adopted = True  # its failure is ours to undo: the run that started it is gone
            update_at = self._clock()
        else:
            if on_it and not force:
                ctx.log.info(f"the last deployment of {label} on service {self.name} FAILED; starting a new one")
            deployment_id, update_at = self._update(arn, label, force or on_it, running_revision(service))
        record.deployment_id = deployment_id
        verdict, watch, detected_after = self._watch(arn, deployment_id, seen, timeout, until=until, follow=True)
        return self._conclude(arn, label, deployment_id, verdict, watch, detected_after, started, update_at, timeout)

    def continue_deployment(self, *, timeout: float | None = None, until: str | None = None) -> Rollout:
        """Let the deployment that ``deploy(until="test_traffic")`` or ``until="production_step"`` paused move
        production traffic: ContinueServiceDeployment CONTINUE for its PAUSE hook, then watch it, as ``deploy()``
        does (``timeout``: seconds, default what ``deploy()`` allowed), up to ``until``:

        - ``"completed"`` (None, the default): to the end, then the post-checks;
        - ``"production_step"``: to the PAUSE hook before the next production step (LINEAR, CANARY); the Rollout
          is PAUSED with ``production_weight`` the weight the step moved to; ActionError, before anything is
          written, when the step it lets go is the last one (no pause follows it);
        - ``"traffic_shifted"``: until production traffic is all on the new revision, the bake still running.

        A PAUSE hook on the way that ``until`` does not stop at is shown, not answered: its time-out action (or
        someone's ContinueServiceDeployment) decides. Rolls back and raises RolloutFailed when the deployment
        fails; ActionError when no deployment of this run is paused. On a CODE_DEPLOY service (``until``
        "completed" only): ContinueDeployment (READY_WAIT) for the deployment deploy() left at Ready, watched to
        its end."""
        __tracebackhide__ = True
        until = check_until(until, "continue_deployment")
        if self._code_deploy is not None and self._code_deploy.paused is not None:
            if until is not None:
                raise ActionError(f"service '{self.name}': a CodeDeploy deployment continues to its end only; call "
                                  f"continue_deployment() without until.")
            limit = seconds_argument(timeout, "continue_deployment(timeout=...)") if timeout is not None else None
            return self._code_deploy.continue_deployment(limit)
        pause, stages = self._pause, self._stages
        if pause is None or pause.hook_id is None or stages is None or stages.arn is None:
            raise ActionError(f"service '{self.name}': continue_deployment() needs a deployment that "
                              f"deploy(until='test_traffic' or 'production_step') paused, and none is.")
        limit = seconds_argument(timeout, "continue_deployment(timeout=...)") if timeout is not None else pause.timeout
        check_step(self.describe(), pause.stage, stages.production_weight, until)
        started = self._clock()
        self._pause = None
        self.ctx.record.until = None
        stages.resume(pause.hook_id, until)
        self.ctx.log.info(f"continuing service deployment {stages.arn.rsplit('/', 1)[-1]}: ContinueServiceDeployment "
                          f"CONTINUE for hook {pause.hook_id} at {pause.stage}; production traffic moves")
        try:
            call(self.ctx.aws, "ecs", "continue_service_deployment", f"continue service deployment {stages.arn}",
                 who=self._who, serviceDeploymentArn=stages.arn, hookId=pause.hook_id, action="CONTINUE")
        except ActionError as exc:
            verdict: Verdict = Verdict(FAILED, str(exc).rstrip("."))
            watch = DeploymentWatch(self.name, revision=pause.revision, deployment_id=pause.deployment_id,
                                    seen_events=sorted(self._seen_events))
            return self._conclude(pause.revision, pause.label, pause.deployment_id, verdict, watch, None, started,
                                  started, limit)
        verdict, watch, detected = self._watch(pause.revision, pause.deployment_id, sorted(self._seen_events), limit,
                                               stages=stages, follow=True)
        return self._conclude(pause.revision, pause.label, pause.deployment_id, verdict, watch, detected, started,
                              started, limit)

    def _conclude(self, arn: str, label: str, deployment_id: str, verdict: Verdict, watch: DeploymentWatch,
                  detected_after: float | None, started: float, update_at: float, timeout: float) -> Rollout:
        """What a watch's verdict means: paused, traffic shifted, or completed and post-checked (a Rollout), or
        failed and rolled back (RolloutFailed)."""
        __tracebackhide__ = True
        ctx, record = self.ctx, self.ctx.record
        before = record.revision_before
        if detected_after is not None:
            record.timings["detect"] = round(detected_after, 3)
        if verdict.outcome == PAUSED:
            assert isinstance(verdict, StageVerdict) and verdict.hook_id is not None
            stage = verdict.paused_at or PAUSES["test_traffic"]
            self._pause = Pause(arn, label, deployment_id, timeout, verdict.hook_id, stage)
            record.until = next(until for until, at in PAUSES.items() if at == stage)
            ctx.log.info(verdict.reason)
            ctx.checks.passed(DEPLOY, "post", "paused for test traffic" if record.until == "test_traffic" else
                              "paused before a production step", verdict.reason)
            return self._done(arn, before, deployment_id, PAUSED, verdict.reason, started, watch, detected_after)
        if verdict.outcome == SHIFTED:
            record.until, record.bake_running = "traffic_shifted", True
            ctx.log.info(verdict.reason)
            ctx.checks.skipped(DEPLOY, "post", "post-checks after the bake",
                               "deploy(until='traffic_shifted') returned with the bake still running; the tasks of the "
                               "previous revision run until it ends")
            record.set_outcome("deployed", f"{verdict.reason}; the bake was still running when deploy() returned")
            self._notify(ctx.hooks.deployed)
            return self._done(arn, before, deployment_id, SHIFTED, verdict.reason, started, watch, detected_after)
        if verdict.outcome == COMPLETED:
            record.timings["steady"] = round(self._clock() - update_at, 3)
            ctx.log.info(verdict.reason)
            try:
                # A service deployment's SUCCESSFUL is read after the look's DescribeServices, which may still show
                # the deployment going: the post-checks read the service again then.
                self._post_checks(DEPLOY, arn, deployment_id, label,
                                  None if isinstance(verdict, StageVerdict) else watch.service)
            except CheckFailed as exc:
                verdict = Verdict(FAILED, f"deployment {deployment_id} of {label} completed, but a post-check "
                                          f"failed: {exc.check.name}: {exc.check.detail}")
            else:
                record.set_outcome("deployed", verdict.reason)
                self._notify(ctx.hooks.deployed)
                return self._done(arn, before, deployment_id, COMPLETED, verdict.reason, started, watch,
                                  detected_after)
        ctx.log.warning(verdict.reason)
        self._done(arn, before, deployment_id, verdict.outcome, verdict.reason, started, watch, detected_after)
        summary = self._roll_back(verdict.reason, verdict, deployment_id)
        raise RolloutFailed(failure_message(self.name, deployment_id, label, verdict, summary, record))

    def finish(self, failed_step: str | None, cause: str | None = None) -> None:
        """End of the scenario (the fixture's teardown): when ``failed_step`` failed after this run changed the
        service, roll it back; RolloutFailed when that rollback fails. ``cause`` (one line: why the step failed)
        goes into the record when the service was not changed. When the run was cancelled (a signal), what it
        changed is rolled back within the grace period and the outcome is ``cancelled``."""
        __tracebackhide__ = True
        record = self.ctx.record
        cancellation = self.ctx.cancellation
        if cancellation.reason is not None and record.outcome in ("pending", "deployed"):
            self._cancel(cancellation.reason)
            return
        code_deploy_pause = self._code_deploy.paused if self._code_deploy is not None else None
        if failed_step is None and code_deploy_pause is not None:
            self._roll_back(f"the scenario ended with CodeDeploy deployment {code_deploy_pause.deployment_id} at "
                            f"Ready; continue_deployment() was not called", None, record.deployment_id)
            return
        if failed_step is None and self._pause is not None:
            self._roll_back(f"the scenario ended with deployment {self._pause.deployment_id} paused at "
                            f"{self._pause.stage}; continue_deployment() was not called", None, record.deployment_id)
            return
        if failed_step is None or record.outcome in ("refused", "failed", "rolled back", "rollback failed"):
            return
        why = f"step {failed_step} failed"
        if self._pause is not None:
            why += f" while deployment {self._pause.deployment_id} was paused at {self._pause.stage}"
        if not self._updated:
            because = f": {cause}" if cause else ""
            record.set_outcome("failed", f"{why}{because}; the service was not changed by this run")
            return
        summary = self._roll_back(why if self._pause is not None else f"{why} after the rollout", None,
                                  record.deployment_id)
        if record.outcome == "failed":
            self.ctx.log.warning(f"{why} after deployment {record.deployment_id}; {summary}")
        elif record.outcome == "rollback failed":
            raise RolloutFailed(f"service '{self.name}': {why} after deployment {record.deployment_id} of "
                                f"{short_revision(record.revision_after)}; {summary}.")

    def _cancel(self, reason: str) -> None:
        """The run was stopped (``reason``: ``SIGTERM received``) before the scenario ended: undo what it changed,
        waiting at most the grace period, and record the outcome ``cancelled``."""
        record = self.ctx.record
        if not (self._updated or self._adopted):
            self._updated = self._update_landed()
        if not (self._updated or self._adopted):
            record.set_outcome("cancelled", f"{reason} before the service was changed; nothing to undo")
            self.ctx.log.warning(f"{record.reason}")
            return
        what = f"deployment {record.deployment_id} of {short_revision(record.revision_after)}"
        why = (f"{reason} after {what} completed, before the scenario ended" if record.outcome == "deployed"
               else f"{reason} while {what} was in flight")
        summary = self._roll_back(why, None, record.deployment_id)
        rollback = record.rollback
        done = rollback is not None and rollback.outcome == "completed"
        reason_text = f"{why}; {summary}"
        if not done:
            reason_text += f"; {mid_deployment(record)}"
        record.set_outcome("cancelled", reason_text)
        if not done:
            self.ctx.log.warning(mid_deployment(record))

    def _update_landed(self) -> bool:
        """Whether an UpdateService that a signal interrupted reached ECS: the PRIMARY deployment is of this run's
        revision and not of the one before (its id is recorded then)."""
        record = self.ctx.record
        if record.revision_after is None or record.revision_after == record.revision_before:
            return False
        try:
            primary = primary_deployment(self.describe())
        except EcsDeployError:
            return False
        if primary is None or primary.revision != record.revision_after:
            return False
        record.deployment_id = record.deployment_id or primary.id
        return True

    # -- the steps of deploy --------------------------------------------------------------------------------

    def _plan(self, arn: str | None, label: str, service: dict[str, Any], primary: DeploymentView | None,
              force: bool, started: float) -> Rollout:
        before = running_revision(service)
        if primary is not None and primary.revision == arn and is_in_progress(service):
            what = f"wait for deployment {primary.id if primary else '?'} of {label}, already in progress"
        else:
            extra = ", forceNewDeployment" if force or before == arn else ""
            what = (f"update service {self.name}: {short_revision(before)} -> {label} "
                    f"(desiredCount {service.get('desiredCount')}{extra})")
        self.ctx.log.info(f"plan: would {what}")
        self.ctx.checks.skipped(DEPLOY, "pre", "update service", f"plan: would {what}")
        self.ctx.record.set_outcome("planned", f"would {what}")
        return self._done(arn, self.ctx.record.revision_before, None, PLANNED, f"would {what}", started)


    def _note_revision_before(self, service: Mapping[str, Any], target: Described | None) -> None:
        """The revision the service ran before this run: the PRIMARY's, unless that one FAILED (then the
        COMPLETED deployment still running), or is a deployment of ``target`` in progress that this run adopts (then
        the revision that ran before that deployment, learned from ECS: its other deployments, else the service
        deployment's source revisions; never the adopted one). ``target`` (the revision to deploy, as described)
        spares describing it again when it is that revision."""
        record = self.ctx.record
        deployments = service_deployments(service)
        primary = primary_deployment(service)
        chosen = primary
        if primary is not None and primary.rollout_state == "FAILED":
            chosen = next((d for d in deployments if d.rollout_state == "COMPLETED"), primary)
        elif primary is not None and target is not None and primary.revision == target.arn and is_in_progress(service):
            others = [d for d in deployments if d.id != primary.id and d.revision and d.revision != primary.revision]
            chosen = next((d for d in others if d.rollout_state == "COMPLETED"), others[0] if others else None)
            if chosen is None:
                source = self._source_revision(target.arn)
                chosen = replace(primary, revision=source) if source else None
        revision = chosen.revision if chosen else None
        if revision and revision != record.revision_before:
            record.revision_before = revision
            described = target if target is not None and target.arn == revision else describe(
                self.ctx.aws, revision, who=self._who)
            record.image_before = deploy_image(described.payload, self.ctx.service, **repository_place(self.ctx))

    def _source_revision(self, adopted: str) -> str | None:
        """The task definition of the service revision that ran before the service deployment in progress
        (ListServiceDeployments, DescribeServiceDeployments' sourceServiceRevisions, DescribeServiceRevisions),
        other than ``adopted``; None where ECS (or its SDK) has no service deployments or tells none."""
        if not hasattr(self.ctx.aws.client("ecs"), "list_service_deployments"):
            return None
        try:
            listed = call(self.ctx.aws, "ecs", "list_service_deployments", "list its service deployments",
                          who=self._who, cluster=self.cluster, service=self.name, status=["PENDING", "IN_PROGRESS"])
            arns = [str(d["serviceDeploymentArn"]) for d in listed.get("serviceDeployments") or []]
            if not arns:
                return None
            described = call(self.ctx.aws, "ecs", "describe_service_deployments", "describe its service deployments",
                             who=self._who, serviceDeploymentArns=arns[:20])
            sources = [str(r["arn"]) for d in described.get("serviceDeployments") or []
                       for r in d.get("sourceServiceRevisions") or []]
            if not sources:
                return None
            revisions = call(self.ctx.aws, "ecs", "describe_service_revisions", "describe its service revisions",
                             who=self._who, serviceRevisionArns=sources[:20])
        except ActionError as exc:
            self.ctx.log.warning(f"could not read the service deployments of {self._who} ({exc})")
            return None
        return next((str(r["taskDefinition"]) for r in revisions.get("serviceRevisions") or []
                     if r.get("taskDefinition") and r["taskDefinition"] != adopted), None)

