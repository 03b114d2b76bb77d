"""The checks of :class:`~pytest_ecsdeploy.actions.service.EcsService` before and after a rollout.

Before any write (:meth:`ServiceChecks._pre_checks`): the account guard and the lease, the cluster and the service
ACTIVE, the deployment controller (a CODE_DEPLOY service goes to ``codedeploy.py``, which checks the rest), the
strategy's configuration and listener rules (``strategy.py``), the revision ACTIVE, a deployment configuration that
can make progress, no deployment of someone else in progress, and the ``pytest_ecsdeploy_pre_checks`` hook. After
a deployment (:meth:`ServiceChecks._post_checks`): its rolloutState COMPLETED, every task running and on the
revision, each serving target group healthy, and the ``pytest_ecsdeploy_post_checks`` hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..arns import short_revision, target_group_name
from ..aws import Patience, call, mask_account
from ..checks import Check
from ..errors import AccountMismatch, ActionError, CheckFailed, NotSupported
from .codedeploy import CODE_DEPLOY, CodeDeployPath
from .lifecycle import SHIFTING, strategy_of
from .reads import SERVICE_NOT_FOUND, serving_target_groups
from .rollout import DEPLOY
from .service_state import Host, ServiceState
from .strategy import configuration_checks, listener_checks
from .taskdef.revision import Described, active_revision, deploy_image, repository_place
from .watch import TaskView, is_in_progress, primary_deployment, service_deployments

__all__ = ["ServiceChecks"]


class ServiceChecks(ServiceState):
    """The pre- and post-checks of an EcsService."""

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
            self._code_deploy = self._code_deploy or CodeDeployPath(Host(self))
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

