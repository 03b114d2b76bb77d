"""The local ECS control plane in simulated time, and the changes ECS actions make to it.

A :class:`Simulation` holds one ``RegionState`` per (account, region) (``models.py``) and advances it to a
simulated time: every state change due before that time happens at its own instant, in time order, and at each
instant every task takes its due step (``tasks.py``), then every service's scheduler decides (``scheduler.py``),
until nothing changes; STOPPED tasks and INACTIVE services are forgotten after their retention, and the service
deployments follow (``service_deployments.py``), and so do CodeDeploy's (``codedeploy/deployments.py``). The actions'
changes (CreateService, RunTask, StopTask...) go through its methods, which bring the simulated time and the
random source the rules need. Nothing here parses requests or shapes responses (``responses.py`` does).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ..clock import Timings
from ..codedeploy.deployments import CodeDeployments
from ..runners.base import Runner
from . import models
from .events import TargetEvents
from .models import DeploymentConfiguration, RegionState, Service, Task, TaskDefinitionInfo
from .scheduler import Scheduler
from .service_deployments import ServiceDeployments
from .tasks import TargetRegistry, TaskLifecycle


class Simulation:
    """Advances every region's services and tasks to a simulated time; see the module docstring."""

    def __init__(self, runner: Runner, timings: Timings, targets: TargetRegistry,
                 image_aliases: Callable[[str], tuple[str, ...]], rng: random.Random, now: float) -> None:
        self.runner = runner
        self.timings = timings
        self.rng = rng
        self.now = now
        self.regions: dict[tuple[str, str], RegionState] = {}
        self.dirty = True  # something changed outside a step: the scheduler must look at the current instant
        self.target_events = TargetEvents()
        self.lifecycle = TaskLifecycle(runner, timings, targets, image_aliases, rng, self.target_events)
        self.scheduler = Scheduler(self.lifecycle, timings, self.target_events)
        self.service_deployments = ServiceDeployments(image_aliases, rng)
        self.codedeploy = CodeDeployments(rng, timings)  # CodeDeploy's deployments of CODE_DEPLOY services

    def region(self, account: str, region: str) -> RegionState:
        key = (account, region)
        if key not in self.regions:
            self.regions[key] = RegionState(account, region)
        return self.regions[key]

    # Time ---------------------------------------------------------------------------------------------------

    def advance_to(self, target: float) -> None:
        """Process every state change due up to ``target``, in time order, then settle at ``target``."""
        if target <= self.now and not self.dirty:
            return
        for _ in range(1_000_000):
            due = self.next_due()
            if due is None or due > target:
                break
            self._step(due)
        self._step(max(target, self.now))

    def next_due(self) -> float | None:
        """The earliest simulated time after ``now`` at which a state change is due by the clock alone (a task's
        next state, a health-check grace ending, a relaunch back-off, a blue/green stage or hook timing out, a
        CodeDeploy step...), in epoch seconds; None when nothing is pending until an action comes."""
        after = self.now
        best: float | None = None

        def consider(t: float | None) -> None:
            nonlocal best
            if t is not None and t > after and (best is None or t < best):
                best = t

        for state in self.regions.values():
            for task in state.tasks.values():
                consider(task.due_at)
                if task.last_status == "RUNNING" and not task.healthy and not task.health_checked:
                    consider((task.started_at or after) + self.timings.healthy_grace)
                if task.runner_started and task.last_status not in ("STOPPED", "DEPROVISIONING"):
                    consider(self.runner.next_change(task.id, after))
            for service in state.services.values():
                consider(service.launch_not_before)
                if service.steady and service.last_steady_event is not None:
                    consider(service.last_steady_event + self.timings.steady_event_interval)
                if service.deleted_at is not None:
                    consider(service.deleted_at + self.timings.inactive_service_retention)
        for due in [*self.service_deployments.lifecycle_due(self.timings), *self.codedeploy.due()]:
            consider(due)
        return best

    def _step(self, t: float) -> None:
        self.now = t
        held = False
        for state in list(self.regions.values()):
            for _ in range(50):
                changed = False
                for task in [task for task in state.tasks.values() if task.live]:
                    changed |= self.lifecycle.advance(state, task, t)
                for service in list(state.services.values()):
                    changed |= self.scheduler.schedule(state, service, t)
                self.target_events.flush(t)
                if not changed:
                    break
            self._sweep(state, t)
            held |= self.service_deployments.observe(state, t, self.timings)
            held |= self.codedeploy.observe(state, t)
        self.dirty = False
        if held:  # a blue/green stage changed what the scheduler may do: it acts at this same instant
            self._step(t)

    def _sweep(self, state: RegionState, t: float) -> None:
        for task in list(state.tasks.values()):
            if task.stopped_at is not None and t >= task.stopped_at + self.timings.stopped_retention:
                del state.tasks[task.id]
                if task.service_key in state.services:
                    ids = state.services[task.service_key].task_ids
                    if task.id in ids:
                        ids.remove(task.id)
        for key, service in list(state.services.items()):
            if service.deleted_at is not None and t >= service.deleted_at + self.timings.inactive_service_retention:
                del state.services[key]

    # What actions change, at the current simulated time -------------------------------------------------------

    def create_service(self, state: RegionState, service: Service, taskdef: TaskDefinitionInfo) -> None:
        """CreateService: see :func:`models.create_service`."""
        models.create_service(state, service, taskdef, self.rng, self.now)
        if service.controller == "ECS":  # a CODE_DEPLOY service's revisions are task sets, not service deployments
            self.service_deployments.record_new(service, self.now)

    def update_service(self, service: Service, *, taskdef: TaskDefinitionInfo | None, desired: int | None,
                       config: DeploymentConfiguration, shape: dict[str, Any], echoed: dict[str, Any],
                       force: bool) -> None:
        """UpdateService: see :func:`models.update_service`."""
        models.update_service(service, taskdef=taskdef, desired=desired, config=config, shape=shape, echoed=echoed,
                              force=force, rng=self.rng, now=self.now)
        if service.controller == "ECS":
            self.service_deployments.record_new(service, self.now)

    def delete_service(self, service: Service) -> None:
        """DeleteService: see :func:`models.delete_service`."""
        models.delete_service(service)

    def run_task(self, state: RegionState, cluster_name: str, cluster_arn: str, taskdef: TaskDefinitionInfo, *,
                 group: str, started_by: str | None, launch_type: str, overrides: dict[str, Any] | None,
                 tags: list[dict[str, str]] | None) -> Task:
        """RunTask, one task: see :meth:`TaskLifecycle.new_task`."""
        return self.lifecycle.new_task(state, cluster_name, cluster_arn, taskdef, self.now, group=group,
                                       started_by=started_by, launch_type=launch_type, overrides=overrides, tags=tags)

    def stop_task(self, state: RegionState, task: Task, reason: str) -> None:
        """StopTask: the task stops with stopCode UserInitiated and ``reason``."""
        self.lifecycle.request_stop(state, task, self.now, "UserInitiated", reason)

    def seed_tasks(self, state: RegionState, service: Service) -> None:
        """A seeded service's tasks: see :meth:`Scheduler.seed`."""
        self.scheduler.seed(state, service, self.now)
