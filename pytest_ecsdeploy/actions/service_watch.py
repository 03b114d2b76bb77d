"""The watch of :class:`~pytest_ecsdeploy.actions.service.EcsService`: the service looked at until a deployment's
outcome is known (``watch.py`` judges each look; ``lifecycle.py`` the stages of a BLUE_GREEN, LINEAR or CANARY
service deployment), its lines printed, its events recorded, failed tasks' logs read, PAUSE hooks continued during
a rollback, and the Octopus progress per lifecycle stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..arns import short_revision
from ..aws import call
from .lifecycle import ORDER, SHIFTING, StageWatch, awaiting_hook
from .logs import FailedTaskLogs
from .polling import PollSchedule, Seen, wait_for
from .service_state import ServiceState
from .watch import TIMED_OUT, DeploymentWatch, Verdict

__all__ = ["ServiceWatch"]


class ServiceWatch(ServiceState):
    """The watch of an EcsService's deployments, this run's and its rollbacks'."""

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
        watch = DeploymentWatch(self.name, revision=arn, deployment_id=deployment_id, seen_events=seen,
                                clock=self._clock)
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

