"""ECS-native BLUE_GREEN, LINEAR and CANARY service deployments: the lifecycle stages a service deployment steps
through, on the engine's simulated clock.

A service whose ``deploymentConfiguration.strategy`` is one of :data:`SHIFTING` deploys a new revision (green)
beside the running one (blue) instead of replacing tasks in place. :func:`start` gives the service deployment an
UpdateService creates a :class:`Lifecycle`; :func:`advance` (run by ``service_deployments.py`` after every
simulated step) moves it through the stages in ECS's order (botocore ecs ServiceDeployment.lifecycleStage; AWS
doc blue-green-deployment-how-it-works)::

    [RECONCILE_SERVICE] -> PRE_SCALE_UP -> SCALE_UP -> POST_SCALE_UP -> TEST_TRAFFIC_SHIFT
      -> POST_TEST_TRAFFIC_SHIFT -> (PRE_PRODUCTION_TRAFFIC_SHIFT -> PRODUCTION_TRAFFIC_SHIFT) per production step
      -> POST_PRODUCTION_TRAFFIC_SHIFT -> BAKE_TIME -> CLEAN_UP -> SUCCESSFUL

- RECONCILE_SERVICE only when the service ran more than one revision when the deployment started (AWS: "only
  happens when you start a new service deployment with more than 1 service revision in an ACTIVE state");
- a stage without work lasts ``Timings.lifecycle_stage``; SCALE_UP lasts until green runs desiredCount healthy
  tasks (the scheduler starts them beside blue's, whatever maximumPercent says: ``Service.hold``);
- green's requested test traffic weight is 100 from the end of TEST_TRAFFIC_SHIFT, its production weight 100
  from the end of the last PRODUCTION_TRAFFIC_SHIFT; LINEAR moves production in steps of ``stepPercent`` with
  ``stepBakeTimeInMinutes`` between steps (not after 100 %), CANARY moves ``canaryPercent``, waits
  ``canaryBakeTimeInMinutes``, then the rest (botocore ecs LinearConfiguration / CanaryConfiguration). Each step
  is a PRE_PRODUCTION_TRAFFIC_SHIFT ("invoked before every traffic shift step") then a PRODUCTION_TRAFFIC_SHIFT
  ("invoked at every traffic shift step", botocore ecs lifecycle stage docs), whose hooks run anew: a PAUSE hook at
  PRE_PRODUCTION_TRAFFIC_SHIFT awaits action once per step with a fresh ``hookId``, a Lambda hook at
  PRODUCTION_TRAFFIC_SHIFT is invoked at each step before its weight moves. BLUE_GREEN has one step (100 %). The
  step's bake is shown as PRODUCTION_TRAFFIC_SHIFT (whether ECS shows another stage then is unverified);
- BAKE_TIME lasts ``bakeTimeInMinutes``, both revisions running, so DescribeServices lists two deployments and
  the service is not steady (what users see on ECS);
- CLEAN_UP stops blue's tasks; the deployment is SUCCESSFUL once they are gone.

A failure rolls back by moving traffic back to blue and making blue's deployment PRIMARY again, without
relaunching anything (the "weight flip back to blue" of the blue/green docs); green's tasks are stopped and the
service deployment is ROLLBACK_SUCCESSFUL once they are gone. What fails it: the circuit breaker (green's
deployment FAILED; with ``rollback`` off the service deployment is STOPPED and green stays as it is), and
StopServiceDeployment (ROLLBACK_REQUESTED at the request's instant, ROLLBACK_IN_PROGRESS from the next).
The stage shown during a rollback stays the stage it failed in (what ECS shows is unverified).

PAUSE lifecycle hooks (botocore ecs DeploymentLifecycleHook, ContinueServiceDeployment): a stage with hooks
does not end before each of them is resolved; each shows in ``lifecycleHookDetails`` AWAITING_ACTION with its
``expiresAt``; ContinueServiceDeployment CONTINUE makes it SUCCEEDED, ROLLBACK makes it FAILED and rolls back;
at ``expiresAt`` it is TIMED_OUT and its ``timeoutAction`` applies (:func:`resolve`).

Listener rules (``traffic.py``): with ``loadBalancers[].advancedConfiguration`` green registers in the target
group blue does not use, the rules' forward weights follow green's requested weights, and a rollback writes them
back to blue at its own instant; a rule that misses one of the two target groups rolls the deployment back at its
first step, with ECS's reason.
Behind a Network Load Balancer (the rules are listeners) PRE_SCALE_UP, TEST_TRAFFIC_SHIFT and each production
step last ``Timings.nlb_delay`` (ECS's 10 minutes) longer (``traffic.NLB_DELAYED``).

AWS_LAMBDA hooks: no function runs; each invocation takes the next answer set for its function
(:class:`HookAnswers`, ``LocalAWS.set_hook_answers`` or the seed's ``hook_answers``): SUCCEEDED lets the stage end,
FAILED rolls back, IN_PROGRESS invokes it again ``callBackDelay`` seconds later (default 30, AWS doc
lambda-lifecycle-hooks); a function without answers fails, as one that errors does on ECS.
During a rollback the Lambda hooks at PRODUCTION_TRAFFIC_SHIFT, then those at TEST_TRAFFIC_SHIFT, run again ("When a
rollback occurs, Amazon ECS runs lifecycle hooks for PRODUCTION_TRAFFIC_SHIFT and TEST_TRAFFIC_SHIFT", AWS doc
deployment-lifecycle-hooks), the stage showing the one whose hooks run; the rollback is ROLLBACK_SUCCESSFUL once
they succeeded and green's tasks are gone, ROLLBACK_FAILED when one fails (what ECS does then is unverified).

CloudWatch alarms (``deploymentConfiguration.alarms`` with ``enable``): from the deployment's start to the end
of its bake, an alarm moto's CloudWatch holds in ALARM (SetAlarmState, or PutMetricAlarm) rolls it back with
``rollback``, else stops it (STOPPED, green's deployment FAILED); it is read at each of the engine's steps (any ECS
request, or a stage's end), so it is seen when the next client looks. ``alarms`` on a rolling update is refused.

What ECS answers a ContinueServiceDeployment for a hook that no longer awaits action (a step that moved on) is
unpublished: here InvalidParameterException, as for any hook id the current stage does not await.
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import moto_state
from ..clock import Timings
from . import events, traffic
from .exceptions import InvalidParameterException
from .models import Deployment, DeploymentConfiguration, RegionState, Service

STRATEGIES = ("ROLLING", "BLUE_GREEN", "LINEAR", "CANARY")
SHIFTING = ("BLUE_GREEN", "LINEAR", "CANARY")
STAGES = ("RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
          "POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT",
          "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME",
          "CLEAN_UP")
MAX_BAKE_MINUTES = 1440  # bakeTimeInMinutes, stepBakeTimeInMinutes and canaryBakeTimeInMinutes: 0-1440 (botocore)
# How LINEAR and CANARY move production traffic: the configuration's key, its percent and bake keys, their
# defaults, and the smallest percent (botocore ecs LinearConfiguration, CanaryConfiguration).
SHIFTS = {"LINEAR": ("linearConfiguration", "stepPercent", "stepBakeTimeInMinutes", 10.0, 6, 3.0),
          "CANARY": ("canaryConfiguration", "canaryPercent", "canaryBakeTimeInMinutes", 5.0, 10, 0.1)}

HOOK_STAGES = ("RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
               "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT")
MAX_HOOKS = 20  # 10 pause and 10 Lambda hooks per service (aws-samples summary of the AWS docs; unverified in AWS's
MAX_PER_TYPE = 10  # own text)
DEFAULT_CALL_BACK_SECONDS = 30.0  # a Lambda hook answering IN_PROGRESS is invoked again after 30 s (AWS doc)
DEFAULT_HOOK_MINUTES, MAX_HOOK_MINUTES = 1440, 20160  # botocore ecs DeploymentLifecycleHookTimeoutConfiguration
NO_ANSWER_REASON = ("Lifecycle hook {hook} at {stage}: the local ECS engine runs no Lambda function and has no "
                    "answer for {function} (LocalAWS.set_hook_answers, or the seed's hook_answers).")
HOOK_FAILED_REASON = "Lifecycle hook {hook} at {stage} failed: {function} answered FAILED."
ALARM_REASON = "CloudWatch alarm(s) {alarms} in ALARM state."
ALARMS_REFUSED = ("The local ECS engine watches CloudWatch alarms during BLUE_GREEN, LINEAR and CANARY deployments "
                  "only, not rolling updates.")
HOOK_STATUSES = ("SUCCEEDED", "FAILED", "IN_PROGRESS")  # a Lambda hook's hookStatus (AWS doc lambda-lifecycle-hooks)
PAUSE_AT_SHIFT = "PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT stages."
HOOK_ROLLBACK_REASON = "Lifecycle hook {hook} at {stage} asked for a rollback."
HOOK_TIMEOUT_REASON = "Lifecycle hook {hook} at {stage} timed out."
ROLLBACK_STAGES = ("PRODUCTION_TRAFFIC_SHIFT", "TEST_TRAFFIC_SHIFT")  # whose Lambda hooks run again, in this order
ROLLBACK_EVENT = "rolling back to deployment {deployment}: traffic moves back to it and the new tasks stop."

_ID_CHARACTERS = string.ascii_letters + string.digits

# What the scheduler may do while a stage runs (``Service.hold``): nothing for green yet, or green beside blue.
WAIT, BOTH = "wait", "both"
PENDING = ("AWAITING_ACTION", "IN_PROGRESS")  # a hook in these holds its stage


# The configuration --------------------------------------------------------------------------------------------


def parse(given: Mapping[str, Any], base: DeploymentConfiguration) -> dict[str, Any]:
    """The strategy fields of a ``deploymentConfiguration`` (CreateService / UpdateService), checked, as keyword
    arguments of :class:`DeploymentConfiguration`; what ``given`` leaves out keeps ``base``'s value. Raises
    InvalidParameterException for an unknown strategy, BLUE_GREEN without ``bakeTimeInMinutes``, a value out of
    range, or lifecycle hooks."""
    strategy = given.get("strategy", base.strategy)
    if strategy not in STRATEGIES:
        raise InvalidParameterException(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy}.")
    hooks = base.hooks if "lifecycleHooks" not in given else _hooks(given["lifecycleHooks"])
    bake = given.get("bakeTimeInMinutes", base.bake_time_minutes)
    if strategy == "BLUE_GREEN" and bake is None:
        raise InvalidParameterException("bakeTimeInMinutes must be specified for the BLUE_GREEN deployment strategy.")
    if bake is not None:
        bake = _minutes(bake, "bakeTimeInMinutes")
    shift = base.shift if strategy == base.strategy else None
    if strategy in SHIFTS:
        key, percent_key, bake_key, percent, minutes, least = SHIFTS[strategy]
        if given.get(key) is not None or shift is None:
            config = given.get(key) or {}
            shift = (_percent(config.get(percent_key, percent), percent_key, least),
                     _minutes(config.get(bake_key, minutes), bake_key))
    else:
        shift = None
    alarms = base.alarms if "alarms" not in given else _alarms(given["alarms"])
    if alarms is not None and alarms[1] and strategy not in SHIFTING:
        raise InvalidParameterException(ALARMS_REFUSED)
    return {"strategy": strategy, "bake_time_minutes": bake, "shift": shift, "hooks": hooks, "alarms": alarms}


def _alarms(given: Any) -> tuple[tuple[str, ...], bool, bool] | None:
    """``deploymentConfiguration.alarms`` checked (botocore ecs DeploymentAlarms: alarmNames, enable and rollback,
    all required) as (alarmNames, enable, rollback); None for null."""
    if given is None:
        return None
    names = given.get("alarmNames") if isinstance(given, dict) else None
    if not isinstance(names, list) or any(not isinstance(name, str) or not name for name in names):
        raise InvalidParameterException("alarms.alarmNames must list CloudWatch alarm names.")
    if not isinstance(given.get("enable"), bool) or not isinstance(given.get("rollback"), bool):
        raise InvalidParameterException("alarms.enable and alarms.rollback must be specified (true or false).")
    return tuple(names), given["enable"], given["rollback"]


def _hooks(given: Any) -> tuple[dict[str, Any], ...]:
    """``lifecycleHooks`` checked and with the defaults filled in (botocore ecs DeploymentLifecycleHook and
    DeploymentLifecycleHookTimeoutConfiguration: AWS_LAMBDA, 1440 minutes, ROLLBACK). An AWS_LAMBDA hook needs
    ``hookTargetArn``; no Lambda runs: its answers come from ``LocalAWS.set_hook_answers``."""
    if not isinstance(given, list) or len(given) > MAX_HOOKS:
        raise InvalidParameterException(f"lifecycleHooks must list at most {MAX_HOOKS} hooks.")
    hooks = []
    for hook in given:
        if not isinstance(hook, dict):
            raise InvalidParameterException("Each lifecycle hook must be an object.")
        target_type = hook.get("targetType", "AWS_LAMBDA")
        if target_type not in ("AWS_LAMBDA", "PAUSE"):
            raise InvalidParameterException(f"targetType must be AWS_LAMBDA or PAUSE, got {target_type}.")
        stages = hook.get("lifecycleStages")
        if not isinstance(stages, list) or not stages or any(stage not in HOOK_STAGES for stage in stages):
            raise InvalidParameterException(f"lifecycleStages must list stages among {', '.join(HOOK_STAGES)}.")
        if target_type == "PAUSE" and any(stage in ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")
                                          for stage in stages):
            raise InvalidParameterException(PAUSE_AT_SHIFT)  # botocore ecs DeploymentLifecycleHook.lifecycleStages
        lambda_fields: dict[str, Any] = {}
        if target_type == "AWS_LAMBDA":
            arn = hook.get("hookTargetArn")
            if not isinstance(arn, str) or not arn.startswith("arn:") or ":function:" not in arn:
                raise InvalidParameterException("hookTargetArn must be the ARN of a Lambda function for an "
                                                "AWS_LAMBDA lifecycle hook.")
            lambda_fields = {k: hook[k] for k in ("hookTargetArn", "roleArn", "hookDetails") if k in hook}
        timeout = hook.get("timeoutConfiguration") or {}
        minutes = timeout.get("timeoutInMinutes", DEFAULT_HOOK_MINUTES)
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_HOOK_MINUTES:
            raise InvalidParameterException(f"timeoutInMinutes must be an integer between 1 and {MAX_HOOK_MINUTES}.")
        action = timeout.get("action", "ROLLBACK")
        if action not in ("ROLLBACK", "CONTINUE"):
            raise InvalidParameterException("timeoutConfiguration action must be ROLLBACK or CONTINUE.")
        hooks.append({"targetType": target_type, **lambda_fields, "lifecycleStages": list(stages),
                      "timeoutConfiguration": {"timeoutInMinutes": minutes, "action": action}})
    for target_type in ("AWS_LAMBDA", "PAUSE"):
        if sum(hook["targetType"] == target_type for hook in hooks) > MAX_PER_TYPE:
            raise InvalidParameterException(f"lifecycleHooks must list at most {MAX_PER_TYPE} {target_type} hooks.")
    return tuple(hooks)


class HookAnswers:
    """What the Lambda functions of AWS_LAMBDA hooks answer, since none runs: per function name, the
    ``hookStatus`` values (SUCCEEDED, FAILED, IN_PROGRESS) its invocations return in turn, the last one for every
    later invocation, and the ``callBackDelay`` (seconds) after an IN_PROGRESS."""

    def __init__(self) -> None:
        self._answers: dict[str, tuple[list[str], float]] = {}

    def set(self, function: str, answers: list[str], call_back_delay: float = DEFAULT_CALL_BACK_SECONDS) -> None:
        """Answers for ``function`` (a name or ARN). Raises ValueError for an empty list or an unknown status."""
        if not answers or any(answer not in HOOK_STATUSES for answer in answers):
            raise ValueError(f"answers must list hook statuses among {', '.join(HOOK_STATUSES)}, got {answers!r}")
        if call_back_delay < 0:
            raise ValueError(f"call_back_delay must be 0 or more seconds, got {call_back_delay}")
        self._answers[_function_name(function)] = (list(answers), float(call_back_delay))

    def invoke(self, function: str) -> tuple[str, float] | None:
        """The next (hookStatus, callBackDelay) of ``function`` (an ARN), None when it has no answers."""
        found = self._answers.get(_function_name(function))
        if found is None:
            return None
        answers, delay = found
        return (answers.pop(0) if len(answers) > 1 else answers[0]), delay


def _function_name(function: str) -> str:
    """``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`` (or a bare name) -> ``NAME``."""
    return function.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in function else function


def _minutes(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_BAKE_MINUTES:
        raise InvalidParameterException(f"{name} must be an integer between 0 and {MAX_BAKE_MINUTES}.")
    return value


def _percent(value: Any, name: str, lowest: float) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not lowest <= value <= 100.0:
        raise InvalidParameterException(f"{name} must be between {lowest:g} and 100.")
    return float(value)


def configuration_json(config: DeploymentConfiguration) -> dict[str, Any]:
    """The strategy fields DescribeServices and DescribeServiceDeployments echo in ``deploymentConfiguration``."""
    body: dict[str, Any] = {"strategy": config.strategy}
    if config.bake_time_minutes is not None:
        body["bakeTimeInMinutes"] = config.bake_time_minutes
    if config.hooks:
        body["lifecycleHooks"] = [dict(hook) for hook in config.hooks]
    if config.alarms is not None:
        body["alarms"] = {"alarmNames": list(config.alarms[0]), "enable": config.alarms[1],
                          "rollback": config.alarms[2]}
    if config.shift is not None and config.strategy == "LINEAR":
        body["linearConfiguration"] = {"stepPercent": config.shift[0], "stepBakeTimeInMinutes": config.shift[1]}
    elif config.shift is not None and config.strategy == "CANARY":
        body["canaryConfiguration"] = {"canaryPercent": config.shift[0], "canaryBakeTimeInMinutes": config.shift[1]}
    return body


def production_steps(strategy: str, shift: tuple[float, int] | None) -> list[float]:
    """Green's production weights, step by step, up to 100.

    >>> production_steps("BLUE_GREEN", None), production_steps("CANARY", (10.0, 5))
    ([100.0], [10.0, 100.0])
    >>> production_steps("LINEAR", (30.0, 1))
    [30.0, 60.0, 90.0, 100.0]
    """
    if strategy == "BLUE_GREEN" or shift is None:
        return [100.0]
    if strategy == "CANARY":
        return [shift[0], 100.0] if shift[0] < 100.0 else [100.0]
    steps = [round(shift[0] * n, 1) for n in range(1, math.ceil(100.0 / shift[0]))]
    return [s for s in steps if s < 100.0] + [100.0]


# One deployment's progress ------------------------------------------------------------------------------------


@dataclass(eq=False)
class Lifecycle:
    """Where one blue/green, linear or canary service deployment stands: its stage (and since when, simulated
    epoch seconds), green's requested test and production traffic weights (0.0-100.0), the production steps left,
    and the deployment of the revision it replaces (``blue``)."""

    strategy: str
    blue: Deployment
    green: Deployment
    stages: list[str]
    bake_seconds: float
    step_bake_seconds: float
    steps: list[float]
    pause_hooks: tuple[dict[str, Any], ...] = ()  # the lifecycleHooks (PAUSE and AWS_LAMBDA) it started with
    rng: random.Random = field(default_factory=random.Random)
    hooks: list[dict[str, Any]] = field(default_factory=list)  # the current stage's lifecycleHookDetails
    reason: str | None = None  # why a hook rolled it back
    stage: str = ""
    since: float = 0.0
    test_weight: float = 0.0
    production_weight: float = 0.0
    step_at: float | None = None  # when the last production step was taken
    hold: str | None = WAIT  # what the scheduler may do for the service now (``Service.hold``)
    rolling_back: bool = False
    done: bool = False
    history: list[tuple[str, float]] = field(default_factory=list)
    routes: tuple[traffic.Route, ...] = ()  # the service's listener rules, rewritten as traffic moves
    invalid: str | None = None  # why the rules cannot carry this deployment (it rolls back at once)
    written: tuple[float, float] = (0.0, 0.0)  # the (test, production) weights last written to the rules
    alarms: tuple[tuple[str, ...], bool, bool] | None = None  # the alarms watched (names, enable, rollback)
    triggered: list[str] = field(default_factory=list)  # the alarms found in ALARM
    answers: HookAnswers = field(default_factory=HookAnswers)  # what AWS_LAMBDA hooks' functions answer
    invoke_at: dict[str, float] = field(default_factory=dict)  # Lambda hook id -> its next invocation
    network: bool = False  # behind a Network Load Balancer: ECS's delay at the stages of traffic.NLB_DELAYED
    rollback_stages: list[str] = field(default_factory=list)  # rolling back: the stages whose Lambda hooks run next

    def delay(self, timings: Timings) -> float:
        """Simulated seconds the current stage (each production step) lasts longer: ``nlb_delay`` at a stage of
        ``traffic.NLB_DELAYED`` behind a Network Load Balancer, else none."""
        return timings.nlb_delay if self.network and self.stage in traffic.NLB_DELAYED else 0.0

    def hook(self, hook_id: str) -> dict[str, Any] | None:
        """The current stage's hook ``hook_id`` while it awaits action."""
        return next((h for h in self.hooks if h["hookId"] == hook_id and h["status"] == "AWAITING_ACTION"), None)

    def due(self, timings: Timings) -> float | None:
        """When this stage ends, or a hook of it times out, by the clock alone (None: it waits for tasks, or it is
        done)."""
        if self.rolling_back:
            calls = [self.invoke_at[hook["hookId"]] for hook in self.hooks if hook["status"] == "IN_PROGRESS"]
            return min(calls) if calls and not self.done else None
        if self.done or self.stage in ("SCALE_UP", "CLEAN_UP"):
            return None
        waiting = [float(hook["expiresAt"]) for hook in self.hooks if hook["status"] in PENDING]
        waiting += [self.invoke_at[hook["hookId"]] for hook in self.hooks if hook["status"] == "IN_PROGRESS"]
        if waiting:
            return min(waiting)
        if self.stage == "PRODUCTION_TRAFFIC_SHIFT" and self.step_at is not None and self.steps:
            return self.step_at + self.step_bake_seconds
        if self.stage == "BAKE_TIME":
            return self.since + self.bake_seconds
        return self.since + timings.lifecycle_stage + self.delay(timings)


def start(service: Service, green: Deployment, t: float, rng: random.Random,
          answers: HookAnswers | None = None) -> Lifecycle | None:
    """The lifecycle of the service deployment that makes ``green`` (just PRIMARY) the service's revision, when
    the service deploys with a traffic-shifting strategy and runs a revision to shift from; None otherwise (the
    service's first deployment starts its tasks as a rolling one does). Holds green's tasks back until SCALE_UP."""
    config = service.config
    blue = service.last_completed
    if config.strategy not in SHIFTING or blue is None or blue is green or blue not in service.deployments:
        return None
    running = [d for d in service.deployments[1:] if d.status != "INACTIVE"]
    stages = list(STAGES if len(running) > 1 else STAGES[1:])
    lifecycle = Lifecycle(config.strategy, blue, green, stages, 60.0 * (config.bake_time_minutes or 0),
                          60.0 * (config.shift[1] if config.shift else 0),
                          production_steps(config.strategy, config.shift), config.hooks, rng,
                          alarms=config.alarms, answers=answers or HookAnswers())
    lifecycle.routes = traffic.routes(service.load_balancers)
    if lifecycle.routes:  # green registers in the target groups blue does not serve from
        green.alternate = not blue.alternate
        lifecycle.invalid = traffic.misconfigured(lifecycle.routes)
        lifecycle.network = any(route.network for route in lifecycle.routes)
    _enter(lifecycle, stages[0], t)
    service.hold = lifecycle.hold  # before the scheduler's reaction at the request's own instant
    return lifecycle


def _enter(lifecycle: Lifecycle, stage: str, t: float, *, lambdas_only: bool = False) -> None:
    """Start ``stage`` at ``t``, with a hook detail (a fresh ``hookId``) for each hook configured at it: a PAUSE
    hook AWAITING_ACTION, an AWS_LAMBDA hook IN_PROGRESS, invoked at once (:func:`_invoke`); ``lambdas_only``: the
    AWS_LAMBDA hooks alone (a rollback's)."""
    lifecycle.stage, lifecycle.since = stage, t
    lifecycle.history.append((stage, t))
    lifecycle.hooks = []
    lifecycle.invoke_at = {}
    if stage == "PRODUCTION_TRAFFIC_SHIFT":
        lifecycle.step_at = None  # this step's weight has not moved yet
    for hook in lifecycle.pause_hooks:
        if stage not in hook["lifecycleStages"] or (lambdas_only and hook["targetType"] != "AWS_LAMBDA"):
            continue
        detail = {"hookId": "".join(lifecycle.rng.choice(_ID_CHARACTERS) for _ in range(20)),
                  "targetType": hook["targetType"], "status": "AWAITING_ACTION",
                  "expiresAt": t + 60.0 * hook["timeoutConfiguration"]["timeoutInMinutes"],
                  "timeoutAction": hook["timeoutConfiguration"]["action"]}
        if hook["targetType"] == "AWS_LAMBDA":
            detail.update(targetArn=hook["hookTargetArn"], status="IN_PROGRESS")
            lifecycle.invoke_at[detail["hookId"]] = t
        lifecycle.hooks.append(detail)


def _invoke(lifecycle: Lifecycle, t: float) -> str | None:
    """Invoke each Lambda hook of the stage whose invocation is due at ``t``: its function's answer
    (:class:`HookAnswers`) makes it SUCCEEDED, FAILED, or IN_PROGRESS until ``callBackDelay`` later. Why the
    deployment must roll back (a FAILED answer, or no answer: ECS rolls back when the function fails), else None."""
    for hook in lifecycle.hooks:
        if hook["status"] != "IN_PROGRESS" or lifecycle.invoke_at[hook["hookId"]] > t:
            continue
        answer = lifecycle.answers.invoke(hook["targetArn"])
        names = {"hook": hook["hookId"], "stage": lifecycle.stage, "function": hook["targetArn"]}
        if answer is None or answer[0] == "FAILED":
            hook["status"] = "FAILED"
            return (NO_ANSWER_REASON if answer is None else HOOK_FAILED_REASON).format(**names)
        if answer[0] == "SUCCEEDED":
            hook["status"] = "SUCCEEDED"
        else:
            lifecycle.invoke_at[hook["hookId"]] = t + answer[1]
    return None


def resolve(service: Service, lifecycle: Lifecycle, hook: dict[str, Any], action: str, t: float) -> None:
    """ContinueServiceDeployment's effect on an AWAITING_ACTION ``hook``: CONTINUE lets its stage end (once its
    other hooks are done), ROLLBACK rolls the deployment back."""
    if action == "CONTINUE":
        hook["status"] = "SUCCEEDED"
        return
    hook["status"] = "FAILED"
    lifecycle.reason = HOOK_ROLLBACK_REASON.format(hook=hook["hookId"], stage=lifecycle.stage)
    roll_back(service, lifecycle, t)


def _time_out_hooks(service: Service, lifecycle: Lifecycle, t: float) -> None:
    """Hooks past ``expiresAt`` are TIMED_OUT; the first whose timeoutAction is ROLLBACK rolls back."""
    for hook in lifecycle.hooks:
        if hook["status"] in PENDING and t >= hook["expiresAt"]:
            hook["status"] = "TIMED_OUT"
            if hook["timeoutAction"] == "ROLLBACK" and not lifecycle.rolling_back:
                lifecycle.reason = HOOK_TIMEOUT_REASON.format(hook=hook["hookId"], stage=lifecycle.stage)
                roll_back(service, lifecycle, t)


def advance(state: RegionState, service: Service, lifecycle: Lifecycle, t: float, timings: Timings,
            finish: Callable[[str, str | None], None], superseded: str) -> None:
    """Move ``lifecycle`` on at ``t`` as far as it goes; ``finish(status, reason)`` ends its service deployment:
    SUCCESSFUL, ROLLBACK_SUCCESSFUL, or STOPPED (with the circuit breaker's reason, or ``superseded`` when
    another deployment replaced it). A tripped circuit breaker with rollback starts :func:`roll_back`."""
    green = lifecycle.green
    if lifecycle.rolling_back:
        _advance_rollback(service, lifecycle, t, finish)
        return
    if green.rollout_state == "FAILED":
        if service.config.breaker_rollback:
            roll_back(service, lifecycle, t)
            return
        lifecycle.done = True  # green's FAILED deployment starts and stops nothing more; blue keeps serving
        finish("STOPPED", green.rollout_state_reason)
        return
    if green is not service.primary:
        lifecycle.done = True
        finish("STOPPED", superseded)
        return
    if _alarm(service, lifecycle, t, finish):
        return
    if lifecycle.invalid is not None:
        lifecycle.reason = lifecycle.invalid
        roll_back(service, lifecycle, t)
        return
    _time_out_hooks(service, lifecycle, t)
    if lifecycle.rolling_back:
        return
    for _ in range(len(STAGES) + len(lifecycle.steps) + 1):
        failed = _invoke(lifecycle, t)
        if failed is not None:
            lifecycle.reason = failed
            roll_back(service, lifecycle, t)
            return
        if lifecycle.done or not _step(state, service, lifecycle, t, timings, finish):
            break
    _write(lifecycle)


def _advance_rollback(service: Service, lifecycle: Lifecycle, t: float,
                      finish: Callable[[str, str | None], None]) -> None:
    """A rollback: the Lambda hooks of :data:`ROLLBACK_STAGES` run again, one stage after the other; the rollback is
    ROLLBACK_SUCCESSFUL once they all succeeded and green's tasks are gone, ROLLBACK_FAILED as soon as one fails."""
    while not lifecycle.done:
        failed = _invoke(lifecycle, t)
        if failed is not None:
            lifecycle.done = True
            finish("ROLLBACK_FAILED", f"Rolling back: {failed}")
            return
        if any(hook["status"] in PENDING for hook in lifecycle.hooks):
            return
        if lifecycle.rollback_stages:
            _enter(lifecycle, lifecycle.rollback_stages.pop(0), t, lambdas_only=True)
            continue
        if lifecycle.green in service.deployments:  # its tasks are not gone yet
            return
        lifecycle.done = True
        finish("ROLLBACK_SUCCESSFUL", None)


def _alarm(service: Service, lifecycle: Lifecycle, t: float, finish: Callable[[str, str | None], None]) -> bool:
    """Whether an enabled alarm of the deployment is in ALARM at ``t`` (read from moto's CloudWatch at each of the
    engine's steps: any ECS request, or a stage's end): it rolls back with ``rollback``, else the deployment is
    STOPPED and green's deployment FAILED (nothing more starts or stops)."""
    if lifecycle.alarms is None or not lifecycle.alarms[1]:
        return False
    firing = moto_state.cloudwatch_alarms_in_alarm(service.account, service.region, lifecycle.alarms[0])
    if not firing:
        return False
    lifecycle.triggered = firing
    reason = ALARM_REASON.format(alarms=", ".join(firing))
    if lifecycle.alarms[2]:
        lifecycle.reason = reason
        roll_back(service, lifecycle, t)
        return True
    green = lifecycle.green
    green.rollout_state, green.rollout_state_reason, green.updated_at = "FAILED", reason, t
    lifecycle.done = True
    finish("STOPPED", reason)
    return True


def _write(lifecycle: Lifecycle) -> None:
    """The listener rules follow green's requested weights (``traffic.write``) when these changed."""
    weights = (lifecycle.test_weight, lifecycle.production_weight)
    if lifecycle.routes and weights != lifecycle.written:
        traffic.write(lifecycle.routes, lifecycle.green.alternate, *weights)
        lifecycle.written = weights


def _step(state: RegionState, service: Service, lifecycle: Lifecycle, t: float, timings: Timings,
          finish: Callable[[str, str | None], None]) -> bool:
    """One transition if one is due at ``t``; whether one happened."""
    stage, green = lifecycle.stage, lifecycle.green
    if stage == "SCALE_UP":
        serving = [task for task in state.service_tasks(service) if task.deployment_id == green.id and task.serving]
        if len(serving) < service.desired_count:
            return False
    elif stage == "CLEAN_UP":
        if lifecycle.blue in service.deployments:
            return False
        lifecycle.done = True
        finish("SUCCESSFUL", None)
        return True
    elif stage == "PRODUCTION_TRAFFIC_SHIFT":
        return _shift_production(lifecycle, t, timings)
    else:
        due = lifecycle.due(timings)
        if due is None or t < due or any(hook["status"] in PENDING for hook in lifecycle.hooks):
            return False
    if stage == "TEST_TRAFFIC_SHIFT":
        lifecycle.test_weight = 100.0
    following = lifecycle.stages[lifecycle.stages.index(stage) + 1]
    _enter(lifecycle, following, t)
    lifecycle.hold = {"SCALE_UP": BOTH, "CLEAN_UP": None}.get(following, lifecycle.hold)
    return True


def _shift_production(lifecycle: Lifecycle, t: float, timings: Timings) -> bool:
    """PRODUCTION_TRAFFIC_SHIFT of one step: its weight moves ``lifecycle_stage`` after the stage began, once the
    stage's Lambda hooks succeeded; then, after the step bake, PRE_PRODUCTION_TRAFFIC_SHIFT of the next step, or
    POST_PRODUCTION_TRAFFIC_SHIFT at once after the last (100 %). Behind a Network Load Balancer each step's weight
    moves ``nlb_delay`` later."""
    if any(hook["status"] in PENDING for hook in lifecycle.hooks):
        return False
    if lifecycle.step_at is None:
        if t < lifecycle.since + timings.lifecycle_stage + lifecycle.delay(timings):
            return False
        lifecycle.production_weight = lifecycle.steps.pop(0)
        lifecycle.step_at = t
        if lifecycle.steps:
            return True
        _enter(lifecycle, "POST_PRODUCTION_TRAFFIC_SHIFT", t)
        return True
    if t < lifecycle.step_at + lifecycle.step_bake_seconds:
        return False
    _enter(lifecycle, "PRE_PRODUCTION_TRAFFIC_SHIFT", t)
    return True


def roll_back(service: Service, lifecycle: Lifecycle, t: float) -> None:
    """Traffic back to blue, blue's deployment PRIMARY again (its tasks still run), green's tasks stopped by the
    scheduler as those of any replaced deployment; green's deployment FAILED, so it never counts as completed."""
    blue, green = lifecycle.blue, lifecycle.green
    lifecycle.rolling_back = True
    lifecycle.rollback_stages = [stage for stage in ROLLBACK_STAGES if any(
        hook["targetType"] == "AWS_LAMBDA" and stage in hook["lifecycleStages"] for hook in lifecycle.pause_hooks)]
    for hook in lifecycle.hooks:  # what still waits in the stage it fails in will not be answered
        if hook["status"] in PENDING:
            hook["status"] = "FAILED"
    lifecycle.invoke_at = {}
    if lifecycle.rollback_stages:
        _enter(lifecycle, lifecycle.rollback_stages.pop(0), t, lambdas_only=True)
    lifecycle.test_weight = lifecycle.production_weight = 0.0
    lifecycle.hold = None
    _write(lifecycle)  # every rule back to blue now, so a reader at this very instant sees it
    if green.rollout_state != "FAILED":
        green.rollout_state = "FAILED"
        green.rollout_state_reason = events.ROLLBACK_REASON.format(deployment=blue.id)
        green.updated_at = t
    if blue in service.deployments:
        service.deployments.remove(blue)
        service.deployments.insert(0, blue)
    for deployment in service.deployments:
        deployment.status = "PRIMARY" if deployment is blue else "ACTIVE"
    service.steady = False
    service.stuck_reported = False
    service.add_event(t, ROLLBACK_EVENT.format(deployment=blue.id))
