"""The service scheduler: what ECS's rolling update does for each service at each instant.

One pass (:meth:`Scheduler.schedule`) over a service, in this order:

1. a DRAINING service (DeleteService) has its tasks stopped, and is INACTIVE once none is left;
2. the deployments that have drained (no task left) are dropped;
3. the PRIMARY deployment's surplus above desiredCount is stopped (pending tasks first, then the newest), and
   the older deployments' tasks are stopped, those not serving first, then the others while the tasks serving
   stay at or above minimumHealthyPercent of desiredCount (rounded up); a RUNNING task that has not yet proved
   healthy or unhealthy is stopped only while the tasks serving are at that minimum without it;
4. the PRIMARY deployment's missing tasks are started while the live tasks stay at or below maximumPercent
   of desiredCount (rounded down), each on the capacity provider its strategy gives next (``capacity.py``) and
   on a container instance with room when it runs on them (``placement.py``); none while the service's launches
   are held back after failed starts (``throttle.py``); a FAILED PRIMARY deployment starts and stops nothing;
5. when there is work left but nothing can start or stop, the service says so once;
6. the PRIMARY deployment COMPLETES when it alone runs desiredCount tasks, all serving, and the service then
   reports a steady state (again every ``steady_event_interval``); a deployment replaced while IN_PROGRESS
   COMPLETES when its desiredCount tasks all serve (the circuit breaker rolls back to the last one COMPLETED).

A task serves when it is RUNNING, desired RUNNING and healthy (:attr:`Task.serving`).
"""

from __future__ import annotations

import math
from collections import Counter

from ..clock import Timings
from . import capacity, events, network, placement, tasksets, throttle
from .events import TargetEvents
from .exceptions import InvalidParameterException
from .models import Deployment, RegionState, Service, Task
from .tasks import TaskLifecycle


class Scheduler:
    """Starts and stops the tasks of services through ``lifecycle``; see the module docstring."""

    def __init__(self, lifecycle: TaskLifecycle, timings: Timings, target_events: TargetEvents) -> None:
        self.lifecycle = lifecycle
        self.timings = timings
        self.target_events = target_events

    def schedule(self, state: RegionState, service: Service, t: float) -> bool:
        """One decision of the service scheduler at time ``t``; True when it changed anything."""
        if service.status == "INACTIVE":
            return False
        tasks = state.service_tasks(service)
        changed = False
        if service.status == "DRAINING":
            doomed = [task for task in tasks if task.wanted]
            self._stop_tasks(state, service, doomed, t)
            if not any(task.live for task in tasks):
                service.status, service.deleted_at = "INACTIVE", t
                changed = True
            return changed or bool(doomed)
        if service.controller != "ECS":
            return tasksets.schedule(self, state, service, t)
        primary = service.primary
        for drained in service.deployments[1:]:
            if not any(task.live and task.deployment_id == drained.id for task in tasks):
                drained.status = "INACTIVE"
                service.deployments.remove(drained)
                changed = True
        desired = service.desired_count
        minimum = math.ceil(desired * service.config.minimum_healthy_percent / 100)
        maximum = math.floor(desired * service.config.maximum_percent / 100)
        started: list[Task] = []
        stopped: list[Task] = []
        mine = [task for task in tasks if task.deployment_id == primary.id and task.wanted]
        old = [task for task in tasks if task.deployment_id != primary.id and task.wanted]
        if primary.rollout_state != "FAILED":
            if len(mine) > desired:  # scale in: pending tasks first, then the newest
                surplus = sorted(mine, key=lambda x: (x.serving, x.last_status == "RUNNING", -x.created_at))
                stopped += surplus[: len(mine) - desired]
            serving = sum(1 for task in tasks if task.serving and task not in stopped)
            rank = {d.id: i for i, d in enumerate(reversed(service.deployments))}
            keep_old = service.hold is not None  # blue/green: blue runs until CLEAN_UP (bluegreen.py)
            for task in sorted(old if not keep_old else [],
                               key=lambda x: (x.serving, rank.get(x.deployment_id or "", 0), x.created_at)):
                if self._proving(state, task):
                    if serving >= minimum:  # not counted as serving: stopping it leaves the minimum whole
                        stopped.append(task)
                elif not task.serving:
                    stopped.append(task)
                elif serving - 1 >= minimum:
                    stopped.append(task)
                    serving -= 1
            self._stop_tasks(state, service, stopped, t, primary)
            live = sum(1 for task in tasks if task.live)
            need = desired - sum(1 for task in mine if task.wanted)
            room = max(0, min(need, maximum - live))
            if service.hold is not None:  # green starts all its tasks beside blue's, from SCALE_UP on
                room = max(0, need) if service.hold == "both" else 0
            blocked = room > 0 and throttle.held_back(service, t)
            for _ in range(room if not blocked else 0):
                launched = self.launch(state, service, primary, t)
                if launched is None:
                    blocked = True
                    break
                started.append(launched)
            if started:
                replaced = min(service.unhealthy_replaced, len(started))
                service.unhealthy_replaced -= replaced
                service.add_event(t, events.tasks_started([task.id for task in started], replaced))
            pending_work = need > 0 or any(task.wanted for task in old)
            settled = all(task.serving or not task.live for task in tasks)
            quiet = not started and not stopped and not blocked
            if pending_work and settled and quiet and not service.stuck_reported and service.hold is None:
                service.stuck_reported = True
                service.add_event(t, events.CANNOT_START_OR_STOP)
                changed = True
        changed |= bool(started or stopped)
        changed |= self._complete_replaced(service, tasks, t)
        changed |= self._settle(state, service, t)
        return changed

    @staticmethod
    def _proving(state: RegionState, task: Task) -> bool:
        """A RUNNING task of a deployment that has not failed, neither healthy nor unhealthy yet: ECS counts a
        running task as one of the service's until it fails, so a newer deployment stops it once its own tasks
        keep minimumHealthyPercent, never as if it were broken."""
        deployment = state.deployment_of(task)
        return (task.last_status == "RUNNING" and not task.healthy and task.health_status != "UNHEALTHY"
                and deployment is not None and deployment.rollout_state != "FAILED")

    @staticmethod
    def _complete_replaced(service: Service, tasks: list[Task], t: float) -> bool:
        """A deployment replaced while IN_PROGRESS COMPLETES once its desiredCount tasks all serve, as it would
        have had the update come later, so the circuit breaker of the newer one rolls back to it."""
        changed = False
        for deployment in service.deployments[1:]:
            if deployment.rollout_state != "IN_PROGRESS" or service.desired_count == 0:
                continue
            its = [task for task in tasks if task.deployment_id == deployment.id and task.wanted]
            if len(its) == service.desired_count and all(task.serving for task in its):
                deployment.rollout_state = "COMPLETED"
                deployment.rollout_state_reason = events.COMPLETED_REASON.format(deployment=deployment.id)
                deployment.updated_at = t
                if service.last_completed is None or service.last_completed.created_at <= deployment.created_at:
                    service.last_completed = deployment
                changed = True
        return changed

    def launch(self, state: RegionState, service: Service, deployment: Deployment, t: float) -> Task | None:
        """A new task of ``deployment``, in PROVISIONING (with the service's tags when it propagates them), on the
        capacity provider its strategy gives next, placed on a container instance when it runs on them, with its
        network interface when awsvpc; None when no container instance can take it: the service says so, and
        its next launch is held back as after a task that failed to start (``throttle.py``)."""
        provider = None
        if deployment.capacity_provider_strategy:
            mine = Counter(task.capacity_provider or "" for task in state.service_tasks(service)
                           if task.deployment_id == deployment.id and task.wanted)
            provider = capacity.next_provider(capacity.parse(deployment.capacity_provider_strategy), mine)
        instance, needs = None, placement.needs_of(deployment.task_definition)
        if placement.on_instances(deployment.launch_type, provider):
            try:
                instance, failures = placement.choose(state.account, state.region, service.cluster_name, needs)
            except InvalidParameterException:  # no container instance at all
                instance, failures = None, []
            if instance is None:
                service.add_event(t, events.UNABLE_TO_PLACE.format(closest=placement.closest(failures)))
                throttle.record_placement_failure(service, t, self.timings)
                return None
        tags = service.extra.get("tags") if service.extra.get("propagateTags") == "SERVICE" else None
        task = self.lifecycle.new_task(state, service.cluster_name, service.cluster_arn, deployment.task_definition,
                                       t, group=f"service:{service.name}", started_by=deployment.id,
                                       launch_type=deployment.launch_type, tags=tags)
        task.service_key = service.key
        task.deployment_id = deployment.id
        task.capacity_provider = provider
        if instance is not None:
            placement.reserve(task, instance, needs)
        network.attach(task, deployment.network_configuration, self.lifecycle.rng)
        service.task_ids.append(task.id)
        return task

    def seed(self, state: RegionState, service: Service, t: float) -> None:
        """Start the PRIMARY deployment's tasks as if they had started a while ago (seeding): with the simulated
        runner they are RUNNING and healthy now and the deployment COMPLETED; a runner of real containers starts
        them now, and they go through PENDING as any task does."""
        launched = [self.launch(state, service, service.primary, t) for _ in range(service.desired_count)]
        started = [task for task in launched if task is not None]
        for task in started:
            self.lifecycle.start_seeded(state, task, t)
        if started:
            service.add_event(t, events.tasks_started([task.id for task in started]))
        service.primary.succeeded = any(task.healthy for task in started)
        self.target_events.flush(t)
        self._settle(state, service, t)

    def _stop_tasks(self, state: RegionState, service: Service, tasks: list[Task], t: float,
                    primary: Deployment | None = None) -> None:
        if not tasks:
            return
        reason = f"Scaling activity initiated by (deployment {(primary or service.primary).id})"
        for task in tasks:
            self.lifecycle.request_stop(state, task, t, "ServiceSchedulerInitiated", reason)
        service.add_event(t, events.tasks_stopped([task.id for task in tasks]))

    def _settle(self, state: RegionState, service: Service, t: float) -> bool:
        """Complete the PRIMARY deployment and write steady-state events when the service has settled."""
        primary = service.primary
        tasks = state.service_tasks(service)
        live = [task for task in tasks if task.live]
        settled = len(service.deployments) == 1 and len(live) == service.desired_count
        settled = settled and all(task.serving and task.deployment_id == primary.id for task in live)
        changed = False
        if settled and primary.rollout_state == "IN_PROGRESS":
            primary.rollout_state = "COMPLETED"
            primary.rollout_state_reason = events.COMPLETED_REASON.format(deployment=primary.id)
            primary.updated_at = t
            service.last_completed = primary
            service.add_event(t, events.DEPLOYMENT_COMPLETED.format(deployment=primary.id))
            changed = True
        steady = settled and primary.rollout_state == "COMPLETED"
        last = service.last_steady_event
        repeat = last is not None and t >= last + self.timings.steady_event_interval
        if steady and (not service.steady or repeat):
            service.add_event(t, events.STEADY_STATE)
            service.last_steady_event = t
            changed = True
        service.steady = steady
        return changed
