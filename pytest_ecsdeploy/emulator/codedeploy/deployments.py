"""CodeDeploy blue/green deployments of ECS services, stepped on the rollout engine's simulated clock.

A deployment (:class:`EcsDeployment`) goes ``Created`` -> ``InProgress`` (one ``Timings.lifecycle_stage`` later)
and through the ECS target's lifecycle events in order (CodeDeploy user guide reference-appspec-file-structure-hooks;
the event names of the non-scriptable steps, Install, AllowTestTraffic and AllowTraffic, are what the console shows,
unverified in the API's text)::

    BeforeInstall -> Install -> AfterInstall -> AllowTestTraffic -> AfterAllowTestTraffic
      [-> Ready: deploymentReadyOption STOP_DEPLOYMENT, until ContinueDeployment READY_WAIT]
      -> BeforeAllowTraffic -> AllowTraffic -> AfterAllowTraffic
      -> termination wait (terminationWaitTimeInMinutes) -> original task set deleted -> Succeeded

- a hook event runs the AppSpec's Lambda function for it: none runs here, so its result is what the seed or the
  control API set for that function name (:meth:`CodeDeployments.set_hook_result`, default Succeeded), one
  ``lifecycle_stage`` after it starts; an event without a hook succeeds at once;
- Install deletes any task set but the original one (what a deployment stopped without rollback left) and
  creates the replacement task set (``startedBy`` CODE_DEPLOY, ``externalId`` the deployment id, the
  AppSpec's task definition, registered with the target group of the pair the production listener does not use)
  and ends when it is STEADY_STATE; it fails (ECS_UPDATE_ERROR) when its tasks have failed as often as ECS's
  circuit breaker would allow (``models.breaker_threshold``) or after an hour (the time CodeDeploy gives the
  replacement to become steady, aws-samples summary, secondary);
- AllowTestTraffic points the test listener at the replacement's target group; AllowTraffic moves the production
  listener's forward weights per the deployment config (``configs.steps``) and makes the replacement PRIMARY at
  100 %; both rewrite moto's ELBv2 listener rules, so DescribeRules shows the weights;
- Ready times out after ``waitTimeInMinutes``: the deployment is Stopped and rolled back;
- alarms (the group's ``alarmConfiguration``, or CreateDeployment's ``overrideAlarmConfiguration``), when
  enabled, are read from moto's CloudWatch at each of the engine's steps (a request once the clock moved, or a
  step's end) while the deployment is InProgress or Ready (the termination wait included): one in ALARM, or one
  CloudWatch does not hold unless ``ignorePollAlarmFailure``, makes it Stopped with ``errorInformation`` code
  ALARM_ACTIVE ("If any of the specified alarms are activated, the deployment stops, and the status is updated
  to Stopped", CodeDeploy user guide monitoring-create-alarms), rolled back when the autoRollbackConfiguration
  has DEPLOYMENT_STOP_ON_ALARM; a rollback deployment is not stopped by them;
- a failure (a hook answering Failed, the replacement failing) makes the deployment Failed with
  ``errorInformation``; StopDeployment makes it Stopped. Either rolls back when the deployment's (else the
  group's) autoRollbackConfiguration is enabled for DEPLOYMENT_FAILURE, or (StopDeployment) when
  ``autoRollbackEnabled`` says so: traffic back on the original task set, which is PRIMARY again, the replacement
  deleted, and a rollback deployment (``creator`` codeDeployRollback) that succeeds once the replacement's tasks
  are gone (``rollbackInfo`` links the two).

Times are epoch seconds of simulated time; minutes of the configuration are 60 simulated seconds each.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Any

from .. import moto_state
from ..clock import Timings
from ..ecs import tasksets
from ..ecs.models import Deployment, RegionState, Service, TaskDefinitionInfo, breaker_threshold
from . import configs
from .appspec import HOOKS, AppSpec

EVENTS = ("BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic",
          "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic")
FINISHED = ("Succeeded", "Failed", "Stopped")
HOOK_RESULTS = ("Succeeded", "Failed")
INSTALL_TIMEOUT = 3600.0  # seconds the replacement task set has to become steady
ROLLBACK_CREATOR = "codeDeployRollback"
# errorInformation.message of a deployment an alarm stopped: the code is botocore's (ErrorCode ALARM_ACTIVE), the
# wording this emulator's (unverified: no AWS text quotes CodeDeploy's message).
ALARM_MESSAGE = "The deployment was stopped because CloudWatch alarm(s) {alarms} are in the ALARM state."
UNREAD_MESSAGE = ("The deployment was stopped because the state of CloudWatch alarm(s) {alarms} could not be read "
                  "(ignorePollAlarmFailure is false).")


@dataclass
class LifecycleEvent:
    name: str
    status: str = "Pending"
    start: float | None = None
    end: float | None = None
    diagnostics: dict[str, Any] | None = None


@dataclass
class EcsDeployment:
    """One CodeDeploy deployment of an ECS service; see the module docstring."""

    id: str
    account: str
    region: str
    application: str
    group_name: str
    group: dict[str, Any]
    config_name: str
    service_key: tuple[str, str]
    service_arn: str
    spec: AppSpec | None
    taskdef: TaskDefinitionInfo | None
    sha256: str
    created: float
    auto_rollback: dict[str, Any]
    description: str | None = None
    alarms: dict[str, Any] = field(default_factory=dict)  # the alarmConfiguration watched (the group's or override)
    alarm_override: bool = False  # CreateDeployment's overrideAlarmConfiguration gave ``alarms``
    creator: str = "user"
    status: str = "Created"
    started: float | None = None
    completed: float | None = None
    events: list[LifecycleEvent] = field(default_factory=lambda: [LifecycleEvent(name) for name in EVENTS])
    index: int = 0
    due: float | None = None  # when the current step ends by the clock alone
    hook_result: str | None = None
    shift: list[tuple[float, int]] = field(default_factory=list)  # AllowTraffic's steps to come
    weight: int = 0  # the replacement's share of production traffic, percent
    test_on_green: bool = False
    waiting: str | None = None  # "ready", "termination" or "draining" (the original task set is being deleted)
    ready_deadline: float | None = None
    termination_started: float | None = None
    blue_id: str | None = None
    green_id: str | None = None
    blue_tg: str = ""
    green_tg: str = ""
    blue_tg_name: str = ""
    green_tg_name: str = ""
    error: dict[str, str] | None = None
    rollback_info: dict[str, str] | None = None
    updated: float = 0.0

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def target_id(self) -> str:
        return f"{self.service_key[0]}:{self.service_key[1]}"

    def listeners(self) -> tuple[str | None, str | None]:
        """(production listener ARN, test listener ARN or None) of the group's target group pair."""
        pair = (self.group.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList", [{}])[0]
        prod = ((pair.get("prodTrafficRoute") or {}).get("listenerArns") or [None])[0]
        test = ((pair.get("testTrafficRoute") or {}).get("listenerArns") or [None])[0]
        return prod, test


def new_id(rng: random.Random) -> str:
    """``d-`` and 9 upper-case letters and digits, as CodeDeploy names deployments."""
    return "d-" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(9))


class CodeDeployments:
    """Every CodeDeploy deployment the engine plays, and the results the hooks' Lambda functions give."""

    def __init__(self, rng: random.Random, timings: Timings) -> None:
        self.rng = rng
        self.timings = timings
        self.deployments: dict[str, EcsDeployment] = {}
        self.hook_results: dict[str, str] = {}

    def set_hook_result(self, function: str, result: str) -> None:
        """The result the hook naming Lambda function ``function`` gives from now on: Succeeded or Failed."""
        if result not in HOOK_RESULTS:
            raise ValueError(f"a hook's result is one of {', '.join(HOOK_RESULTS)}, not {result!r}.")
        self.hook_results[function] = result

    def due(self) -> list[float]:
        """When the unfinished deployments' steps end by the clock alone."""
        times: list[float] = []
        for d in self.deployments.values():
            if d.finished and d.waiting is None:
                continue
            if d.status == "Created":
                times.append(d.created + self.timings.lifecycle_stage)
            for t in (d.due, d.ready_deadline if d.waiting == "ready" else None):
                if t is not None:
                    times.append(t)
            if d.shift:
                times.append(d.shift[0][0])
        return times

    def active_in_group(self, application: str, group: str) -> EcsDeployment | None:
        return next((d for d in self.deployments.values() if d.application == application
                     and d.group_name == group and not d.finished), None)

    def add(self, deployment: EcsDeployment) -> None:
        self.deployments[deployment.id] = deployment

    # The clock ----------------------------------------------------------------------------------------------------

    def observe(self, state: RegionState, t: float) -> bool:
        """After a simulated step at ``t``: move the deployments of ``state``'s account and region on. True when
        a task set changed (the scheduler must look again at ``t``)."""
        changed = False
        for d in list(self.deployments.values()):
            if (d.account, d.region) != (state.account, state.region):
                continue
            for _ in range(len(EVENTS) * 4):
                moved = self._advance(state, d, t)
                changed |= moved
                if not moved:
                    break
        return changed

    def _advance(self, state: RegionState, d: EcsDeployment, t: float) -> bool:
        service = state.services.get(d.service_key)
        if d.finished:
            return False
        if service is None or service.status != "ACTIVE":
            self._fail(state, d, t, "INVALID_ECS_SERVICE", "The ECS service of the deployment no longer exists.",
                       rollback=False)
            return True
        if d.creator == ROLLBACK_CREATOR:
            if not any(s.id == d.green_id for s in service.deployments):
                self._finish(d, t, "Succeeded")
                return True
            return False
        if d.status == "Created":
            if t < d.created + self.timings.lifecycle_stage:
                return False
            d.status, d.started, d.updated = "InProgress", t, t
            self._begin(state, service, d, t)
            return True
        if self._alarm(state, d, t):
            return True
        if d.waiting == "ready":
            if d.ready_deadline is not None and t >= d.ready_deadline:
                self._stop(state, d, t, "TIMEOUT", "The deployment was not continued within the ready wait time.",
                           rollback=True)
                return True
            return False
        if d.waiting in ("termination", "draining"):
            return self._terminate(service, d, t)
        return self._step(state, service, d, t)

    def _begin(self, state: RegionState, service: Service, d: EcsDeployment, t: float) -> None:
        """Start the current event at ``t``."""
        event = d.events[d.index]
        event.status, event.start, d.updated = "InProgress", t, t
        d.due = None
        if event.name in HOOKS:
            function = d.spec.hooks.get(event.name) if d.spec is not None else None
            d.hook_result = None if function is None else self.hook_results.get(function, "Succeeded")
            d.due = t if function is None else t + self.timings.lifecycle_stage
        elif event.name == "Install":
            assert d.spec is not None and d.taskdef is not None
            # a task set a deployment stopped without rollback left behind is replaced, not kept beside the new one
            # (unverified: AWS does not say what becomes of it)
            for left in [s for s in service.deployments if s.id != d.blue_id and s.status != "DRAINING"]:
                tasksets.remove(left, t)
            green = tasksets.add(service, d.taskdef, self.rng, t, external_id=d.id, started_by="CODE_DEPLOY",
                                 load_balancers=[{"targetGroupArn": d.green_tg, "containerName": d.spec.container_name,
                                                  "containerPort": d.spec.container_port}],
                                 network_configuration=d.spec.network_configuration,
                                 platform_version=d.spec.platform_version)
            d.green_id = green.id
            d.due = t + INSTALL_TIMEOUT
        elif event.name == "AllowTestTraffic":
            _, test = d.listeners()
            if test:
                moto_state.elbv2_forward(d.account, d.region, test, {d.blue_tg: 0, d.green_tg: 100})
            d.test_on_green = bool(test)
            d.due = t + self.timings.lifecycle_stage
        elif event.name == "AllowTraffic":
            d.shift = [(t + offset, weight) for offset, weight in configs.steps(d.config_name)]

    def _step(self, state: RegionState, service: Service, d: EcsDeployment, t: float) -> bool:
        """Finish or fail the current event when its time or its condition has come."""
        event = d.events[d.index]
        if event.name in HOOKS:
            if d.due is None or t < d.due:
                return False
            if d.hook_result == "Failed":
                event.diagnostics = {"errorCode": "ScriptFailed", "scriptName": str(d.spec.hooks.get(event.name)
                                                                                    if d.spec else ""),
                                     "message": f"The {event.name} hook's Lambda function reported Failed."}
                self._fail(state, d, t, "HOOK_EXECUTION_FAILURE",
                           f"The {event.name} lifecycle event hook reported Failed.")
                return True
        elif event.name == "Install":
            green = _task_set(service, d.green_id)
            if green is None:
                self._fail(state, d, t, "ECS_UPDATE_ERROR", "The replacement task set was deleted.")
                return True
            if green.failed_tasks >= breaker_threshold(service.desired_count) or t >= (event.start or t) + \
                    INSTALL_TIMEOUT:
                self._fail(state, d, t, "ECS_UPDATE_ERROR",
                           f"The replacement task set {green.id} did not reach a steady state: "
                           f"{green.failed_tasks} of its tasks failed.")
                return True
            if green.stability != "STEADY_STATE":
                return False
        elif event.name == "AllowTestTraffic":
            if d.due is None or t < d.due:
                return False
        elif event.name == "AllowTraffic":
            moved = False
            while d.shift and d.shift[0][0] <= t:
                _, d.weight = d.shift.pop(0)
                self._route_production(d)
                moved = True
            if d.shift:
                return moved
            green = _task_set(service, d.green_id)
            if green is not None:
                tasksets.make_primary(service, green, t)
        event.status, event.end, d.updated = "Succeeded", t, t
        d.index += 1
        option = (d.group.get("blueGreenDeploymentConfiguration") or {}).get("deploymentReadyOption") or {}
        if event.name == "AfterAllowTestTraffic" and option.get("actionOnTimeout") == "STOP_DEPLOYMENT":
            d.status, d.waiting = "Ready", "ready"
            d.ready_deadline = t + 60.0 * int(option.get("waitTimeInMinutes") or 0) \
                if option.get("waitTimeInMinutes") else None
            return True
        if d.index == len(d.events):
            self._start_termination(service, d, t)
            return True
        self._begin(state, service, d, t)
        return True

    def continue_ready(self, state: RegionState, d: EcsDeployment, t: float) -> None:
        """ContinueDeployment READY_WAIT: production traffic starts to move now."""
        d.status, d.waiting, d.ready_deadline, d.updated = "InProgress", None, None, t
        service = state.services.get(d.service_key)
        if service is not None:
            self._begin(state, service, d, t)

    def skip_termination_wait(self, d: EcsDeployment, t: float) -> None:
        """ContinueDeployment TERMINATION_WAIT: the original task set is deleted now."""
        d.due, d.updated = t, t

    def _start_termination(self, service: Service, d: EcsDeployment, t: float) -> None:
        terminate = (d.group.get("blueGreenDeploymentConfiguration") or {}) \
            .get("terminateBlueInstancesOnDeploymentSuccess") or {}
        d.termination_started = t
        if terminate.get("action") == "KEEP_ALIVE":
            self._finish(d, t, "Succeeded")
            return
        d.waiting = "termination"
        d.due = t + 60.0 * int(terminate.get("terminationWaitTimeInMinutes") or 0)

    def _terminate(self, service: Service, d: EcsDeployment, t: float) -> bool:
        blue = _task_set(service, d.blue_id)
        if d.waiting == "termination":
            if d.due is None or t < d.due:
                return False
            if blue is not None:
                tasksets.remove(blue, t)
            d.waiting, d.due = "draining", None
            return True
        if blue is None:
            d.waiting = None
            self._finish(d, t, "Succeeded")
            return True
        return False

    def _finish(self, d: EcsDeployment, t: float, status: str) -> None:
        d.status, d.completed, d.updated = status, t, t

    def _route_production(self, d: EcsDeployment) -> None:
        prod, _ = d.listeners()
        if prod:
            moto_state.elbv2_forward(d.account, d.region, prod, {d.blue_tg: 100 - d.weight, d.green_tg: d.weight})

    # Failures, stops and rollbacks -------------------------------------------------------------------------------

    def _rolls_back_on(self, d: EcsDeployment, event: str) -> bool:
        config = d.auto_rollback
        return bool(config.get("enabled")) and event in (config.get("events") or [])

    def _fail(self, state: RegionState, d: EcsDeployment, t: float, code: str, message: str, *,
              rollback: bool | None = None) -> None:
        self._end(state, d, t, "Failed", code, message,
                  self._rolls_back_on(d, "DEPLOYMENT_FAILURE") if rollback is None else rollback)

    def _stop(self, state: RegionState, d: EcsDeployment, t: float, code: str, message: str, *,
              rollback: bool) -> None:
        self._end(state, d, t, "Stopped", code, message, rollback)

    def _alarm(self, state: RegionState, d: EcsDeployment, t: float) -> bool:
        """Stop ``d`` (ALARM_ACTIVE) when its alarm configuration is enabled and one of its alarms is in ALARM in
        moto's CloudWatch, or, without ignorePollAlarmFailure, is not there to be read; rolled back when the
        autoRollbackConfiguration has DEPLOYMENT_STOP_ON_ALARM."""
        if not d.alarms.get("enabled"):
            return False
        names = tuple(str(a.get("name")) for a in d.alarms.get("alarms") or [])
        states = moto_state.cloudwatch_alarm_states(d.account, d.region, names)
        firing = [n for n in names if states.get(n) == "ALARM"]
        unread = [] if d.alarms.get("ignorePollAlarmFailure") else [n for n in names if n not in states]
        if not firing and not unread:
            return False
        message = ALARM_MESSAGE.format(alarms=", ".join(firing)) if firing else \
            UNREAD_MESSAGE.format(alarms=", ".join(unread))
        self._stop(state, d, t, "ALARM_ACTIVE", message, rollback=self._rolls_back_on(d, "DEPLOYMENT_STOP_ON_ALARM"))
        return True

    def stop(self, state: RegionState, d: EcsDeployment, t: float, rollback: bool | None) -> None:
        """StopDeployment: Stopped, rolled back when ``rollback`` (None: the autoRollbackConfiguration's
        DEPLOYMENT_STOP_ON_REQUEST) says so."""
        if rollback is None:
            rollback = self._rolls_back_on(d, "DEPLOYMENT_STOP_ON_REQUEST")
        self._stop(state, d, t, "MANUAL_STOP", "The deployment was stopped by a user.", rollback=rollback)

    def _end(self, state: RegionState, d: EcsDeployment, t: float, status: str, code: str, message: str,
             rollback: bool) -> None:
        for event in d.events:
            if event.status == "InProgress":
                event.status, event.end = "Failed", t
            elif event.status == "Pending":
                event.status = "Skipped"
        d.error = {"code": code, "message": message}
        d.waiting, d.due, d.shift, d.ready_deadline = None, None, [], None
        self._finish(d, t, status)
        service = state.services.get(d.service_key)
        blue = _task_set(service, d.blue_id) if service is not None else None
        if not rollback or service is None or blue is None or blue.status == "DRAINING":
            return
        self._roll_back(state, service, d, blue, t)

    def _roll_back(self, state: RegionState, service: Service, d: EcsDeployment, blue: Deployment, t: float) -> None:
        prod, test = d.listeners()
        for listener in (prod, test):
            if listener:
                moto_state.elbv2_forward(d.account, d.region, listener, {d.blue_tg: 100, d.green_tg: 0})
        d.weight, d.test_on_green = 0, False
        tasksets.make_primary(service, blue, t)
        green = _task_set(service, d.green_id)
        if green is not None:
            tasksets.remove(green, t)
        rollback = EcsDeployment(
            new_id(self.rng), d.account, d.region, d.application, d.group_name, d.group, d.config_name,
            d.service_key, d.service_arn, None, None, d.sha256, t, {}, creator=ROLLBACK_CREATOR, status="InProgress",
            started=t, events=[], blue_id=d.blue_id, green_id=d.green_id, blue_tg=d.blue_tg, green_tg=d.green_tg,
            blue_tg_name=d.blue_tg_name, green_tg_name=d.green_tg_name, updated=t,
            rollback_info={"rollbackTriggeringDeploymentId": d.id,
                           "rollbackMessage": f"Rollback of deployment {d.id}: traffic is back on the original "
                                              "task set and the replacement task set is deleted."})
        self.add(rollback)
        d.rollback_info = {"rollbackDeploymentId": rollback.id,
                           "rollbackMessage": f"Deployment {d.id} was rolled back by deployment {rollback.id}."}

    # What the API shows ---------------------------------------------------------------------------------------------

    def target_json(self, state: RegionState, d: EcsDeployment) -> dict[str, Any]:
        """The ECS deployment target (botocore codedeploy ECSTarget)."""
        service = state.services.get(d.service_key)
        sets: list[dict[str, Any]] = []
        for label, set_id, tg_name, weight in (("Blue", d.blue_id, d.blue_tg_name, 100 - d.weight),
                                               ("Green", d.green_id, d.green_tg_name, d.weight)):
            task_set = _task_set(service, set_id) if service is not None else None
            if task_set is None or service is None:
                continue
            shown = tasksets.task_set_json(state, service, task_set)
            sets.append({"identifer": task_set.id, "desiredCount": shown["computedDesiredCount"],
                         "pendingCount": shown["pendingCount"], "runningCount": shown["runningCount"],
                         "status": task_set.status, "trafficWeight": float(weight),
                         "targetGroup": {"name": tg_name}, "taskSetLabel": label})
        status = {"Created": "Pending", "Stopped": "Failed"}.get(d.status, d.status)
        return {
            "deploymentId": d.id, "targetId": d.target_id, "targetArn": d.service_arn, "lastUpdatedAt": d.updated,
            "lifecycleEvents": [_event_json(e) for e in d.events], "status": status, "taskSetsInfo": sets,
        }


def _event_json(event: LifecycleEvent) -> dict[str, Any]:
    body: dict[str, Any] = {"lifecycleEventName": event.name, "status": event.status}
    for key, value in (("startTime", event.start), ("endTime", event.end), ("diagnostics", event.diagnostics)):
        if value is not None:
            body[key] = value
    return body


def _task_set(service: Service | None, set_id: str | None) -> Deployment | None:
    if service is None or set_id is None:
        return None
    return next((s for s in service.deployments if s.id == set_id), None)
