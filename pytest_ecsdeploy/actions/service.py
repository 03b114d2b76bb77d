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
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..arns import short_revision, target_group_name
from ..aws import Patience, call, mask_account, pages
from ..checks import Check
from ..context import ServiceContext
from ..errors import AccountMismatch, ActionError, CheckFailed, EcsDeployError, NotSupported, RolloutFailed
from ..report.record import Rollback, ServiceRecord, mid_deployment
from .codedeploy import CODE_DEPLOY, CodeDeployPath, running_task_definition, task_sets_steady
from .lifecycle import (
    ONGOING,
    ORDER,
    PAUSED,
    PAUSES,
    SHIFTED,
    SHIFTING,
    StageVerdict,
    StageWatch,
    awaiting_hook,
    budget,
    strategy_of,
)
from .logs import FailedTaskLogs
from .polling import PollSchedule, Seen, wait_for
from .reads import SERVICE_NOT_FOUND, describe_service, revision_target, seconds_argument, serving_target_groups
from .strategy import check_step, check_until, configuration_checks, listener_checks
from .taskdef.revision import Described, active_revision, deploy_image, describe, repository_place
from .watch import (
    COMPLETED,
    FAILED,
    ROLLED_BACK,
    SUPERSEDED,
    TIMED_OUT,
    DeploymentView,
    DeploymentWatch,
    TaskView,
    Verdict,
    failure_message,
    is_in_progress,
    is_steady,
    primary_deployment,
    running_revision,
    service_deployments,
)

__all__ = ["EcsService", "Rollout"]

DEPLOY = "ecs_service.deploy"
ROLLBACK = "ecs_service.rollback"
UNCHANGED = "UNCHANGED"
PLANNED = "PLANNED"


@dataclass(frozen=True)
class Rollout:
    """What :meth:`EcsService.deploy` did: the deployment, its outcome and what was seen on the way.

    ``outcome`` is ``COMPLETED``, ``UNCHANGED`` (already live: nothing written), ``PLANNED`` (``--plan``),
    ``PAUSED`` (``until="test_traffic"``: the new revision serves test traffic, production stays on the previous
    one until ``continue_deployment()``; ``until="production_step"``: before a production step, with
    ``production_weight`` on the new revision), ``TRAFFIC_SHIFTED`` (``until="traffic_shifted"``: production traffic is
    all on the new revision, the bake goes on), or, in a rollout that failed, ``FAILED``, ``ROLLED_BACK`` (ECS's
    circuit breaker), ``SUPERSEDED`` or ``TIMED_OUT`` (deploy raises RolloutFailed for those; the record keeps
    them). ``service_deployment`` is the ARN of the service deployment of a BLUE_GREEN, LINEAR or CANARY service,
    ``stages`` the stages seen (``{"stage", "at", "status", "productionWeight", "testWeight"}``).

    >>> rollout = ecs_service.deploy(task_definition.registered)
    >>> rollout.is_completed, rollout.deployment_id, rollout.revision
    (True, 'ecs-svc/4426977010927313474', 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:13')
    >>> rollout.events[-1], round(rollout.duration)
    ('(service web) has reached a steady state.', 94)
    """

    service: str
    revision: str | None
    previous_revision: str | None
    deployment_id: str | None
    outcome: str
    reason: str
    events: tuple[str, ...] = ()
    failed_tasks: tuple[TaskView, ...] = ()
    duration: float = 0.0
    detected_after: float | None = None  # seconds from ECS's deciding change to the watch noticing it
    service_deployment: str | None = None
    stages: tuple[Mapping[str, Any], ...] = ()

    @property
    def is_completed(self) -> bool:
        """The service runs the revision, steady: the rollout completed, or there was nothing to do."""
        return self.outcome in (COMPLETED, UNCHANGED)

    @property
    def is_unchanged(self) -> bool:
        """The service already ran the revision, steady; nothing was written."""
        return self.outcome == UNCHANGED

    @property
    def is_planned(self) -> bool:
        return self.outcome == PLANNED

    @property
    def is_paused(self) -> bool:
        """Paused at a PAUSE hook: at POST_TEST_TRAFFIC_SHIFT (green serves test traffic, production is on blue) or
        at PRE_PRODUCTION_TRAFFIC_SHIFT (before a production step)."""
        return self.outcome == PAUSED

    @property
    def production_weight(self) -> float | None:
        """The production traffic weight (0-100) ECS last reported requested for the new revision; None for a
        rolling update."""
        weight = self.stages[-1].get("productionWeight") if self.stages else None
        return float(weight) if weight is not None else None

    @property
    def is_traffic_shifted(self) -> bool:
        """Production traffic is all on the new revision; the bake was still running when deploy() returned."""
        return self.outcome == SHIFTED

    @property
    def is_failed(self) -> bool:
        return self.outcome in (FAILED, ROLLED_BACK, SUPERSEDED, TIMED_OUT)

    @property
    def is_rolled_back_by_ecs(self) -> bool:
        return self.outcome == ROLLED_BACK

    @property
    def is_timed_out(self) -> bool:
        return self.outcome == TIMED_OUT


@dataclass(frozen=True)
class _Pause:
    """Where ``deploy(until="test_traffic")`` left a deployment: its revision, the PAUSE hook awaiting action, and
    the time-out ``deploy()`` allowed (``continue_deployment()``'s default)."""

    revision: str
    label: str
    deployment_id: str
    hook_id: str
    timeout: float
    stage: str = PAUSES["test_traffic"]  # where it is paused (a value of lifecycle.PAUSES)


class EcsService:
    """The ``ecs_service`` fixture: the scenario's ECS service.

    Example::

        def test_roll_out(ecs_service, task_definition):
            rollout = ecs_service.deploy(task_definition.registered)    # waits; rolls back on failure
            assert rollout.is_completed
            assert ecs_service.is_steady and ecs_service.revision == rollout.revision

    ``clock`` (monotonic seconds), ``sleep`` and ``wall`` (epoch seconds, compared with ECS's timestamps to tell
    how soon a decision was noticed) replace ``time.monotonic``, ``time.sleep`` and ``time.time`` in tests.
    """

    poll_first = 0.5  # seconds between the looks at a rollout right after a change
    poll_max = 1.0  # never slower than this, so that a completion is seen within about a second
    poll_factor = 1.5  # how the pause grows while nothing changes
    progress_every = 30.0  # print where the rollout stands when nothing else was printed for this long
    ecs_rollback_grace = 30.0  # how long to wait for ECS's circuit breaker to start its rollback

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.ctx = ctx
        self._clock = clock
        self._sleep = sleep
        self._wall = wall
        self.rollout: Rollout | None = None  # the last deploy()'s
        self.rollback_rollout: Rollout | None = None
        self._updated = False  # this run changed the service
        self._adopted = False  # this run waits for a deployment of its revision that it found in progress
        self._rollback_summary: str | None = None
        self._seen_events: set[str] = set()
        self._service_deployments: dict[str, str] = {}  # deployment id -> the service deployment UpdateService named
        self._strategy = "ROLLING"  # the service's deployment strategy, as the pre-checks read it
        self._stages: StageWatch | None = None  # the service deployment this run's deploy() follows
        self._pause: _Pause | None = None  # where deploy(until="test_traffic") left it
        self._go_on = False  # continue PAUSE hooks of the deployment deploy() follows (a rollback's)
        self._code_deploy: CodeDeployPath | None = None  # a CODE_DEPLOY service deploys through it (codedeploy.py)

    # -- reads ----------------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.ctx.service.service_name

    @property
    def cluster(self) -> str:
        return self.ctx.cluster

    @property
    def _who(self) -> str:
        """How messages name this service: ``service 'web'``."""
        return f"service '{self.name}'"

    def describe(self) -> dict[str, Any]:
        """DescribeServices for this service; ActionError when it is not there (missing or INACTIVE)."""
        service = describe_service(self.ctx.aws, self.cluster, self.name, who=self._who, required=True)
        assert service is not None
        return service

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
        if pause is None or stages is None or stages.arn is None:
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
            self._pause = _Pause(arn, label, deployment_id, verdict.hook_id, timeout, stage)
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

    def _pre_checks(self, revision: Any, arn: str | None, label: str, supersede: bool = False,
                    until: str | None = None) -> tuple[dict[str, Any], Described | None]:
        """Every check before the write; returns the service and the revision (None in a plan that registered
        none) as described."""
        __tracebackhide__ = True
        ctx, checks = self.ctx, self.ctx.checks
        try:
            account = ctx.before_write()  # the account guard, then the service's lease (none in a plan)
        except AccountMismatch as exc:
            checks.record(Check(DEPLOY, "pre", "account", "failed", str(exc)))
            raise
        pinned = " (the environment's account_id)" if ctx.environment.account_id else " (account_id not pinned)"
        checks.passed(DEPLOY, "pre", "account", f"caller account {mask_account(account)}{pinned}")
        clusters = call(ctx.aws, "ecs", "describe_clusters", f"describe cluster '{self.cluster}'", who=self._who,
                        clusters=[self.cluster])
        status = next((c.get("status") for c in clusters.get("clusters", [])), "MISSING")
        checks.expect(status == "ACTIVE", DEPLOY, "pre", "cluster ACTIVE", f"cluster '{self.cluster}' is {status}")
        try:
            service = self.describe()
        except ActionError as exc:
            if exc.code == SERVICE_NOT_FOUND:
                checks.failed(DEPLOY, "pre", "service ACTIVE", str(exc).rstrip("."))
            raise
        checks.expect(service.get("status") == "ACTIVE", DEPLOY, "pre", "service ACTIVE",
                      f"service '{self.name}' in cluster '{self.cluster}' is {service.get('status')}")
        controller = (service.get("deploymentController") or {}).get("type", "ECS")
        if controller == CODE_DEPLOY:  # codedeploy.py checks the rest
            self._code_deploy = self._code_deploy or CodeDeployPath(self, Rollout)
            return service, None
        if controller != "ECS":
            detail = f"service '{self.name}' uses the {controller} deployment controller"
            checks.record(Check(DEPLOY, "pre", "deployment controller ECS", "failed", detail))
            raise NotSupported(f"{detail}; pytest-ecsdeploy supports the ECS and CODE_DEPLOY controllers, "
                               f"not {controller}.")
        self._strategy = strategy_of(service)
        checks.passed(DEPLOY, "pre", "deployment controller ECS", "rolling update" if self._strategy not in SHIFTING
                      else f"{self._strategy} deployment strategy")
        ctx.record.strategy = self._strategy
        strategy_checks = configuration_checks(service, until)
        if all(ok for _, ok, _ in strategy_checks):  # the listener rules are read only for a sound configuration
            strategy_checks += listener_checks(ctx.aws, service, who=self._who)
        recorded = [checks.record(Check(DEPLOY, "pre", name, "passed" if ok else "failed", detail))
                    for name, ok, detail in strategy_checks]  # every piece missing is said at once
        failed = [check for check in recorded if check.result == "failed"]
        if failed:
            raise CheckFailed(failed[0])
        described = None
        if arn is not None:
            described = active_revision(ctx, revision, arn, label, action=DEPLOY, who=self._who,
                                        hint="deploy a registered revision")
            arn = described.arn
            if ctx.record.image_after is None:
                ctx.record.image_after = deploy_image(described.payload, ctx.service, **repository_place(ctx))
        self._check_progress_possible(service)
        primary = primary_deployment(service)
        if primary is not None and is_in_progress(service) and primary.revision != arn and not supersede:
            checks.failed(DEPLOY, "pre", "no other deployment in progress",
                          f"deployment {primary.id} of {short_revision(primary.revision)} is IN_PROGRESS on service "
                          f"'{self.name}' ({primary.running} of {primary.desired} tasks running); wait for it to end "
                          f"(or stop it) and run again")
        if primary is None:
            detail = "the service has no deployment"
        elif is_in_progress(service) and primary.revision != arn:
            detail = (f"deployment {primary.id} of {short_revision(primary.revision)} is IN_PROGRESS: {label} "
                      f"supersedes it")
        elif is_in_progress(service):
            detail = f"deployment {primary.id} of {label} is IN_PROGRESS: it is this revision, so it is waited for"
        else:
            state = primary.rollout_state or "steady"
            detail = f"deployment {primary.id} of {short_revision(primary.revision)} is {state}"
        checks.passed(DEPLOY, "pre", "no other deployment in progress", detail)
        for name, ok, detail in ctx.hooks.pre_checks(DEPLOY):
            checks.expect(ok, DEPLOY, "pre", name, detail)
        return service, described

    def _check_progress_possible(self, service: Mapping[str, Any]) -> None:
        """The scheduler can start or stop a task within minimumHealthyPercent / maximumPercent."""
        __tracebackhide__ = True
        desired = int(service.get("desiredCount") or 0)
        config = service.get("deploymentConfiguration") or {}
        low, high = int(config.get("minimumHealthyPercent", 100)), int(config.get("maximumPercent", 200))
        can_start = desired * high // 100 > desired
        can_stop = -(-desired * low // 100) < desired
        self.ctx.checks.expect(
            desired == 0 or can_start or can_stop, DEPLOY, "pre", "deployment configuration allows progress",
            f"minimumHealthyPercent {low} / maximumPercent {high} of {desired} tasks: between "
            f"{-(-desired * low // 100)} and {desired * high // 100} tasks",
        )

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

    def _update(self, arn: str, label: str, force: bool, current: str | None) -> tuple[str, float]:
        """UpdateService to ``arn``; returns the new deployment's id and when it was asked for."""
        self.ctx.log.info(f"updating service {self.name}: {short_revision(current)} -> {label}"
                          + (" (forceNewDeployment)" if force else ""))
        asked = self._clock()
        params: dict[str, Any] = {"cluster": self.cluster, "service": self.name, "taskDefinition": arn}
        if force:
            params["forceNewDeployment"] = True
        answer = call(self.ctx.aws, "ecs", "update_service", f"update the service to {label}", who=self._who,
                      **params)["service"]
        self._updated = True
        self.ctx.record.timings["update"] = round(self._clock() - asked, 3)
        primary = primary_deployment(answer)
        if primary is not None and answer.get("currentServiceDeployment"):
            self._service_deployments[primary.id] = str(answer["currentServiceDeployment"])
        if primary is None or primary.revision != arn:
            raise ActionError(f"service '{self.name}': UpdateService to {label} answered with PRIMARY deployment "
                              f"of {short_revision(primary.revision if primary else None)}, not {label}.")
        self.ctx.log.info(f"deployment {primary.id} of {label} started")
        return primary.id, asked

    def _post_checks(self, action: str, arn: str, deployment_id: str | None, label: str,
                     service: Mapping[str, Any] | None = None) -> None:
        """The checks once ``deployment_id`` is over; ``service``: a DescribeServices answer just read (the one
        the watch's verdict came from), so it is not read again."""
        __tracebackhide__ = True
        checks = self.ctx.checks
        service, tasks, groups = Patience(self.ctx.log.warning).retry(lambda: self._post_check_reads(service),
                                                                      attempts=4, pause=self.poll_max,
                                                                      sleep=self._sleep)
        ours = next((d for d in service_deployments(service) if d.id == deployment_id), None)
        state = ours.rollout_state if ours else "not listed"
        if ours is not None and state is None and len(service_deployments(service)) == 1:
            state = "COMPLETED"  # no rolloutState (Classic Load Balancer): one deployment left is its end
        checks.expect(state == "COMPLETED", action, "post", "rolloutState COMPLETED",
                      f"deployment {deployment_id} of {label}: rolloutState {state}")
        running, desired = int(service.get("runningCount") or 0), int(service.get("desiredCount") or 0)
        checks.expect(running == desired, action, "post", "runningCount == desiredCount",
                      f"{running} of {desired} tasks running")
        others = [t for t in tasks if t.revision != arn]
        detail = f"{len(tasks) - len(others)} of {len(tasks)} RUNNING tasks on {label}"
        if others:
            detail += "; not: " + ", ".join(t.label() for t in others[:5]) + (" …" if len(others) > 5 else "")
        checks.expect(not others, action, "post", "every running task on the new revision", detail)
        for group, states in groups.items():
            name = target_group_name(group)
            live = [s for s in states if s != "draining"]  # old tasks' targets drain for a while
            healthy = live.count("healthy")
            bad = sorted({s for s in live if s != "healthy"})
            checks.expect(
                not bad and (healthy > 0 or desired == 0), action, "post", "target group healthy",
                f"target group {name}: {healthy} of {len(live)} targets healthy"
                + (f" (also {', '.join(bad)})" if bad else ""),
            )
        for name, ok, detail in self.ctx.hooks.post_checks(action):
            checks.expect(ok, action, "post", name, detail)

    def _post_check_reads(self, service: Mapping[str, Any] | None = None
                          ) -> tuple[Mapping[str, Any], list[TaskView], dict[str, list[str]]]:
        """The service (``service``, or DescribeServices without one), its RUNNING tasks, and the target states of
        each of its target groups that serves it (:func:`~.reads.serving_target_groups`)."""
        service = service if service is not None else self.describe()
        tasks = [TaskView.from_api(t) for t in self._describe_tasks(self._task_arns("RUNNING"))]
        groups = {arn: [d.get("TargetHealth", {}).get("State", "unknown") for d in found]
                  for arn, found in serving_target_groups(self.ctx.aws, service, who=self._who).items()}
        return service, [t for t in tasks if t.is_running], groups

    def _notify(self, hook: Callable[[ServiceRecord], None]) -> None:
        """Call a notification hook; a failing one is a warning, never a reason to roll a service back."""
        try:
            hook(self.ctx.record)
        except Exception as exc:  # noqa: BLE001 - a user's hook (chat, email) may fail in any way
            self.ctx.log.warning(f"a pytest_ecsdeploy notification hook failed: {type(exc).__name__}: {exc}")

    # -- watching -------------------------------------------------------------------------------------------

    def _watch(self, arn: str, deployment_id: str, seen: list[str], timeout: float, *, bounded: bool = False,
               until: str | None = None, stages: StageWatch | None = None, follow: bool = False
               ) -> tuple[Verdict, DeploymentWatch, float | None]:
        """Look at the service until the deployment's outcome is known or ``timeout`` seconds passed; a look that
        fails with a transient error is skipped. A ``bounded`` watch (a rollback's) also ends, TIMED_OUT, when the
        grace period of a cancelled run is over. For a BLUE_GREEN, LINEAR or CANARY service the service deployment
        is followed by ``stages`` (a new StageWatch with ``until`` when None); ``follow``: it is this run's
        deployment, whose stages the record keeps and whose rollback goes through it. A rollback (``bounded``, or
        deploy() for ``ecsdeploy rollback``) is not held at a PAUSE hook: nobody is there to smoke-check the
        revision it restores, so the hook is continued as it awaits action."""
        cancellation = self.ctx.cancellation
        go_on, continued = bounded or self._go_on, set()
        watch = DeploymentWatch(self.name, revision=arn, deployment_id=deployment_id, seen_events=seen)
        self._seen_events = watch.seen_events
        log, record = self.ctx.log, self.ctx.record
        failed_logs = FailedTaskLogs(self.ctx, who=self._who)
        # a blue/green, linear or canary deployment is judged by its service deployment (lifecycle.py)
        if stages is None and self._strategy in SHIFTING:
            stages = StageWatch(self.ctx.aws, who=self._who, cluster=self.cluster, service=self.name, revision=arn,
                                deployment_id=deployment_id, hint=self._service_deployments.get(deployment_id),
                                until=until, clock=self._clock, wall=self._wall)
        if follow and stages is not None:
            self._stages = stages
            record.stages = stages.history

        def service_and_tasks() -> tuple[dict[str, Any], list[dict[str, Any]] | None, dict[str, Any] | None]:
            service = self.describe()
            tasks = self._watched_tasks(watch, service) if watch.needs_tasks(service) else None
            return service, tasks, stages.look(service) if stages is not None else None

        def grace_over() -> Verdict:
            return Verdict(TIMED_OUT, f"{cancellation.reason}: deployment {deployment_id} of {short_revision(arn)} "
                                      f"did not complete within the {cancellation.grace:g} s grace period "
                                      f"({watch.progress()})")

        def judge(answer: tuple[dict[str, Any], list[dict[str, Any]] | None, dict[str, Any] | None]) -> Seen[Verdict]:
            look = watch.observe(answer[0], answer[1])
            if stages is not None and go_on and answer[2] is not None and stages.arn is not None:
                hook = awaiting_hook(answer[2])
                if hook is not None and hook not in continued:
                    continued.add(hook)
                    log.info(f"service deployment {stages.arn.rsplit('/', 1)[-1]}: ContinueServiceDeployment CONTINUE "
                             f"for hook {hook}: a rollback is not held at a pause")
                    call(self.ctx.aws, "ecs", "continue_service_deployment",
                         f"continue service deployment {stages.arn}", who=self._who,
                         serviceDeploymentArn=stages.arn, hookId=hook, action="CONTINUE")
            if stages is not None:
                known = len(stages.stages)
                look.verdict = stages.judge(look, answer[2])
                if stages.arn is not None and follow:
                    record.service_deployment = stages.arn
                if len(stages.stages) > known:
                    self._stage_progress(stages)
            for line in look.lines:
                log.info(line)
            for created_at, message in look.events:
                record.add_event(created_at, message)
            failed_logs.follow(watch.failures, final=look.verdict is not None)
            if look.verdict is None and bounded and cancellation.expired():
                return Seen(grace_over())
            return Seen(look.verdict, changed=look.changed, printed=bool(look.lines))

        verdict = wait_for(service_and_tasks, judge, timeout=cancellation.bounded(timeout) if bounded else timeout,
                           schedule=PollSchedule(self.poll_first, self.poll_max, self.poll_factor),
                           clock=self._clock, sleep=self._sleep, warn=log.warning,
                           progress=lambda: log.info(f"waiting for deployment {deployment_id}: "
                                                     f"{(stages or watch).progress()}"),
                           progress_every=self.progress_every)
        if verdict is None:
            if bounded and cancellation.expired():
                return grace_over(), watch, None
            return (stages or watch).timed_out(timeout), watch, None
        decided = verdict.decided_at
        return verdict, watch, (max(0.0, self._wall() - decided) if decided else None)

    def _stage_progress(self, stages: StageWatch) -> None:
        """The progress bar (Octopus) at the stage just seen: its place in ECS's order of stages."""
        stage = stages.stages[-1]
        place = ORDER.index(stage) + 1 if stage in ORDER else 0
        self.ctx.hooks.stage(place * 100 // len(ORDER) if not stages.rollback else 100,
                             f"{self.name}: {'rollback, ' if stages.rollback else ''}lifecycle stage {stage} "
                             f"({stages.progress()})")

    def _watched_tasks(self, watch: DeploymentWatch, service: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The service's tasks a watch does not know to be STOPPED: ListTasks RUNNING, then DescribeTasks of those,
        of the watch's tasks not yet STOPPED and of the tasks the service's new events name."""
        return self._describe_tasks(watch.tasks_to_describe(service, self._task_arns("RUNNING")))

    # -- rolling back ---------------------------------------------------------------------------------------

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

    # -- helpers --------------------------------------------------------------------------------------------

    def _done(self, arn: str | None, before: str | None, deployment_id: str | None, outcome: str, reason: str,
              started: float, watch: DeploymentWatch | None = None, detected_after: float | None = None) -> Rollout:
        self.rollout = Rollout(
            service=self.name, revision=arn, previous_revision=before, deployment_id=deployment_id,
            outcome=outcome, reason=reason,
            events=tuple(watch.events) if watch else (),
            failed_tasks=tuple(watch.failures.values()) if watch else (),
            duration=self._clock() - started, detected_after=detected_after,
            service_deployment=self._stages.arn if self._stages else None,
            stages=tuple(dict(stage) for stage in self._stages.history) if self._stages else (),
        )
        return self.rollout

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

    def _task_arns(self, desired_status: str) -> list[str]:
        """ListTasks of this service, every page (services may run far more than 100 tasks)."""
        return [str(arn) for page in pages(self.ctx.aws, "ecs", "list_tasks", f"list its {desired_status} tasks",
                                           who=self._who, cluster=self.cluster, serviceName=self.name,
                                           desiredStatus=desired_status)
                for arn in page.get("taskArns") or []]

    def _describe_tasks(self, arns: list[str]) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = []
        for i in range(0, len(arns), 100):
            answer = call(self.ctx.aws, "ecs", "describe_tasks", "describe its tasks", who=self._who,
                          cluster=self.cluster, tasks=arns[i:i + 100])
            tasks.extend(answer.get("tasks") or [])
        return tasks
