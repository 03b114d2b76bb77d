"""Following an ECS-native BLUE_GREEN, LINEAR or CANARY deployment through its service deployment.

For these strategies the rolling-update signals do not describe the deployment: during the bake both revisions
run, so the service is never "steady" until clean-up, and a rollback ends as a service deployment status, not as
a rolloutState. ECS reports it in DescribeServiceDeployments (botocore ecs ServiceDeployment): ``status``,
``lifecycleStage`` and the revisions' requested traffic weights. ``service.py`` takes this path when the
service's ``deploymentConfiguration.strategy`` is one of :data:`SHIFTING` (:func:`strategy_of`)::

    stages = StageWatch(aws, who="service 'web'", cluster="prod", service="web", revision=arn,
                        deployment_id="ecs-svc/4426", hint=update_answer.get("currentServiceDeployment"))
    found = stages.look()          # DescribeServiceDeployments of this update's service deployment
    verdict = stages.judge(look, found)   # adds a line per stage started; the verdict once it ended

The service deployment followed is the one this UpdateService created, found by ARN (the update's answer names
it as ``currentServiceDeployment``) and confirmed by its target revision's task definition; without that ARN, the
service deployments created since the deployment ``deployment_id`` (DescribeServices ``deployments[]``) are
searched for the one whose target is this revision, never "the newest in progress".

Success is SUCCESSFUL with this revision as the target; ROLLBACK_SUCCESSFUL (ECS moved traffic back: the
service runs the previous revision), STOPPED and ROLLBACK_FAILED are failures with ECS's ``statusReason``.
A stage this module does not know (the API's list and its documentation disagree) is shown like any other. A
PAUSE lifecycle hook awaiting action is shown once per ``hookId`` (LINEAR and CANARY pause before each production
step with a fresh one), with its expiry, its time-out action and what continues it; the watch does not answer a
pause its ``until`` does not stop at (someone's ContinueServiceDeployment, or the hook's time-out, decides).
The time-out (:func:`budget`) adds the bake times the configuration asks for, and ECS's 10 minutes per delayed
stage behind a Network Load Balancer, unless the user set one.

``until`` stops the watch early, with the deployment still going (:data:`PAUSES` names the stage of each pause):

- ``"test_traffic"``: once a PAUSE hook at POST_TEST_TRAFFIC_SHIFT awaits action (green serves test traffic,
  production stays on blue; verdict :data:`PAUSED`, the hook's id in ``hook_id``); past that stage without a pause
  is a failure;
- ``"production_step"``: once a PAUSE hook at PRE_PRODUCTION_TRAFFIC_SHIFT awaits action that :meth:`StageWatch.resume`
  did not already answer, before the next production step (verdict :data:`PAUSED`; green's production weight is
  the one of the steps taken so far: 0 before the first). A second step after the one it allows (someone else
  continued the pause), or the last step taken with no pause left, is a failure;
- ``"traffic_shifted"``: once green's requested production weight is 100 % after PRODUCTION_TRAFFIC_SHIFT (the
  bake may still run; verdict :data:`SHIFTED`);
- ``None`` (``"completed"``): to the end.

A watch made with
``rollback=True`` follows a rollback this run asked for (ContinueServiceDeployment or StopServiceDeployment with
ROLLBACK): ROLLBACK_SUCCESSFUL is its success, anything else that ends it a failure.

Each stage seen, and each production-weight step, is kept in ``history`` with when the watch saw it (epoch
seconds) and the requested weights, for the record. Cost: DescribeServiceDeployments is read on every look while
the service deployment moves or DescribeServices shows a change, and every :data:`QUIET_REREAD` seconds while
neither does (a bake, a pause), so a long bake costs about one DescribeServices a second and little more.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..arns import short_revision
from ..aws import ClientFactory, call
from .watch import COMPLETED, FAILED, ROLLED_BACK, TIMED_OUT, Look, Verdict, service_deployments, timestamp

__all__ = ["ENDED", "ONGOING", "PAUSED", "PAUSES", "SHIFTED", "SHIFTING", "STEP_STAGE", "StageVerdict", "StageWatch",
           "behind_nlb", "budget", "next_step", "strategy_of"]

ROLLING = "ROLLING"
SHIFTING = ("BLUE_GREEN", "LINEAR", "CANARY")
FAILURES = ("ROLLBACK_SUCCESSFUL", "STOPPED", "ROLLBACK_FAILED")
ENDED = ("SUCCESSFUL", *FAILURES)  # the service deployment statuses after which nothing moves
ONGOING = ("PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
MATCH_WINDOW = 300.0  # seconds before our deployment's createdAt a service deployment may say it was created
QUIET_REREAD = 5.0  # seconds between DescribeServiceDeployments while neither it nor DescribeServices changes
PAUSED = "PAUSED"  # until="test_traffic" or "production_step": a PAUSE hook where it stops awaits action
SHIFTED = "TRAFFIC_SHIFTED"  # until="traffic_shifted": production traffic all on the new revision
PAUSE_STAGE = "POST_TEST_TRAFFIC_SHIFT"
NLB_DELAY_MINUTES = 10  # per delayed stage behind a Network Load Balancer (AWS doc nlb-resources-for-blue-green)
STEP_STAGE = "PRE_PRODUCTION_TRAFFIC_SHIFT"  # before each production step (botocore ecs lifecycle stage docs)
#: The ``until`` values that stop at a PAUSE hook, and the stage of that hook.
PAUSES = {"test_traffic": PAUSE_STAGE, "production_step": STEP_STAGE}
#: The stages in ECS's order (botocore ecs ServiceDeployment.lifecycleStage); an unknown one has no place.
ORDER = ("RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
         "POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT",
         "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP")


def strategy_of(service: Mapping[str, Any]) -> str:
    """The service's ``deploymentConfiguration.strategy`` (ROLLING when the API gives none)."""
    return str((service.get("deploymentConfiguration") or {}).get("strategy") or ROLLING)


def budget(service: Mapping[str, Any], base: float) -> float:
    """Seconds a deployment of ``service`` may take: ``base`` plus the bake times its configuration asks for
    (``bakeTimeInMinutes``; LINEAR's ``stepBakeTimeInMinutes`` between steps, CANARY's
    ``canaryBakeTimeInMinutes``; defaults from botocore ecs LinearConfiguration / CanaryConfiguration), plus
    :data:`NLB_DELAY_MINUTES` for each delayed stage behind a Network Load Balancer (:func:`behind_nlb`):
    PRE_SCALE_UP, TEST_TRAFFIC_SHIFT, and PRODUCTION_TRAFFIC_SHIFT once per production step ("Amazon ECS adds a
    10 minute delay to the following lifecycle stages", AWS doc nlb-resources-for-blue-green; the stage "is
    invoked at every traffic shift step", botocore ecs ServiceDeployment.lifecycleStage).

    >>> budget({"deploymentConfiguration": {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 15}}, 600)
    1500.0
    >>> budget({"deploymentConfiguration": {"strategy": "LINEAR", "bakeTimeInMinutes": 5,
    ...                                     "linearConfiguration": {"stepPercent": 25.0}}}, 600)
    1980.0
    """
    config = service.get("deploymentConfiguration") or {}
    strategy = strategy_of(service)
    if strategy not in SHIFTING:
        return float(base)
    minutes = float(config.get("bakeTimeInMinutes") or 0)
    steps = 1  # production traffic shift steps
    if strategy == "LINEAR":
        linear = config.get("linearConfiguration") or {}
        step = float(linear.get("stepPercent") or 10.0)
        steps = int(-(-100 // step))  # the last one reaches 100 % (CloudFormation's count of bakes, plus one)
        minutes += (steps - 1) * float(linear.get("stepBakeTimeInMinutes", 6))
    elif strategy == "CANARY":
        canary = config.get("canaryConfiguration") or {}
        steps = 2 if float(canary.get("canaryPercent") or 5.0) < 100.0 else 1
        minutes += float(canary.get("canaryBakeTimeInMinutes", 10))
    if behind_nlb(service):
        minutes += NLB_DELAY_MINUTES * (2 + steps)
    return float(base) + 60.0 * minutes


def behind_nlb(service: Mapping[str, Any]) -> bool:
    """Whether a load balancer of ``service`` shifts traffic on a Network Load Balancer: its
    ``advancedConfiguration.productionListenerRule`` is then a listener's ARN (``…:listener/net/…``), where an
    Application Load Balancer's is a rule's (``…:listener-rule/app/…``; botocore ecs AdvancedConfiguration)."""
    return any(":listener/" in str((lb.get("advancedConfiguration") or {}).get("productionListenerRule") or "")
               for lb in service.get("loadBalancers") or [])


def next_step(service: Mapping[str, Any], weight: float) -> float:
    """Green's production weight after the step that follows ``weight`` (0-100) in ``service``'s strategy: LINEAR
    adds ``stepPercent``, CANARY goes to ``canaryPercent`` then 100, BLUE_GREEN to 100 (defaults from botocore ecs
    LinearConfiguration / CanaryConfiguration).

    >>> linear = {"deploymentConfiguration": {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 34.0}}}
    >>> next_step(linear, 0.0), next_step(linear, 68.0)
    (34.0, 100.0)
    >>> next_step({"deploymentConfiguration": {"strategy": "CANARY"}}, 5.0)
    100.0
    """
    config = service.get("deploymentConfiguration") or {}
    strategy = strategy_of(service)
    if strategy == "LINEAR":
        step = float((config.get("linearConfiguration") or {}).get("stepPercent") or 10.0)
        return min(100.0, round(weight + step, 1))
    if strategy == "CANARY" and weight <= 0.0:
        return min(100.0, float((config.get("canaryConfiguration") or {}).get("canaryPercent") or 5.0))
    return 100.0


@dataclass(frozen=True)
class StageVerdict(Verdict):
    """A verdict on a service deployment (``service_deployment``: the last part of its ARN). For
    ROLLBACK_SUCCESSFUL, ``rolled_back_to`` is the revision ECS restored and ``rollback_seconds`` how long its
    rollback took (from ``rollback.startedAt`` to ``finishedAt``)."""

    service_deployment: str | None = None
    rolled_back_to: str | None = None
    rollback_seconds: float | None = None
    hook_id: str | None = None  # PAUSED: the PAUSE hook awaiting ContinueServiceDeployment
    paused_at: str | None = None  # PAUSED: the stage of that hook (a value of PAUSES)


class StageWatch:
    """Follows the service deployment that deployment ``deployment_id`` of ``revision`` (a task-definition ARN)
    belongs to; ``hint`` is the service deployment ARN the UpdateService answer named, ``arn`` the one to follow
    when it is already known (a continued or rolled-back deployment). ``clock`` (monotonic seconds) paces the
    quiet rereads, ``wall`` (epoch seconds) dates ``history``. See the module docstring."""

    def __init__(self, aws: ClientFactory, *, who: str, cluster: str, service: str, revision: str,
                 deployment_id: str, hint: str | None, arn: str | None = None, until: str | None = None,
                 rollback: bool = False, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.aws, self.who, self.cluster, self.service = aws, who, cluster, service
        self.revision, self.deployment_id, self.hint = revision, deployment_id, hint
        self.arn: str | None = arn
        self.until, self.rollback = until, rollback
        self.stages: list[str] = []
        self.history: list[dict[str, Any]] = []  # {"stage", "at", "productionWeight", "testWeight", "status"}
        self.status: str | None = None
        self.last: Mapping[str, Any] = {}
        self._revisions: dict[str, str] = {}  # service revision ARN -> task-definition ARN
        self._hooks_shown: set[str] = set()
        self.answered: set[str] = set()  # the PAUSE hooks this run continued
        self._pause_weight = 0.0  # until="production_step": green's production weight where the watch began
        # ... and the weight of the one step it allows before the pause: None while that step is still to come;
        # a fresh deploy() allows none (it stops before the first step)
        self._stepped_to: float | None = 0.0
        self._clock, self._wall = clock, wall
        self._read: tuple[float, Any, Any] | None = None  # when, DescribeServices' key, the answer
        self._moving = True  # the last read showed the service deployment change

    def resume(self, hook_id: str, until: str | None) -> None:
        """Watch on after this run continued the PAUSE hook ``hook_id``, up to ``until`` (a value of
        ``strategy.CONTINUE_UNTIL``, None to the end): that hook no longer stops the watch."""
        self.answered.add(hook_id)
        self.until = until
        # continuing a pause before a production step lets that one step go; continuing the test-traffic pause
        # lets none (the next pause is before the first step)
        self._pause_weight = self._production_weight()
        self._stepped_to = None if self.stages and self.stages[-1] == STEP_STAGE else self._pause_weight

    # -- the look -------------------------------------------------------------------------------------------

    def look(self, service: Mapping[str, Any]) -> dict[str, Any] | None:
        """The service deployment as DescribeServiceDeployments shows it now; None while it cannot be found yet
        (``service``: the DescribeServices entry of the same look)."""
        if self.arn is None:
            self.arn = self._locate(service)
            if self.arn is None:
                return None
        key, now = _service_key(service), self._clock()
        if (self._read is not None and not self._moving and key == self._read[1]
                and now - self._read[0] < QUIET_REREAD):
            return dict(self._read[2])
        answer = call(self.aws, "ecs", "describe_service_deployments",
                      f"describe service deployment {self.arn}", who=self.who, serviceDeploymentArns=[self.arn])
        found = answer.get("serviceDeployments") or []
        if not found:
            return None
        self._moving = self._read is None or _deployment_key(found[0]) != _deployment_key(self._read[2])
        self._read = (now, key, found[0])
        return dict(found[0])

    def _locate(self, service: Mapping[str, Any]) -> str | None:
        """The ARN of this deployment's service deployment: the update's answer's, when its target is this
        revision; else the one created around deployment ``deployment_id`` whose target is this revision."""
        if self.hint and self._targets_revision(self.hint):
            return self.hint
        ours = next((d for d in service_deployments(service) if d.id == self.deployment_id), None)
        if ours is None or ours.created_at is None:
            return None
        briefs: list[dict[str, Any]] = []
        params: dict[str, Any] = {"cluster": self.cluster, "service": self.service,
                                  "createdAt": {"after": ours.created_at - MATCH_WINDOW}}
        while True:  # botocore has no paginator for ListServiceDeployments
            page = call(self.aws, "ecs", "list_service_deployments",
                        f"list the service deployments of {self.service}", who=self.who, **params)
            briefs += page.get("serviceDeployments") or []
            if not page.get("nextToken"):
                break
            params["nextToken"] = page["nextToken"]
        briefs.sort(key=lambda b: abs((timestamp(b.get("createdAt")) or 0.0) - (ours.created_at or 0.0)))
        for brief in briefs:
            if self._task_definition(str(brief.get("targetServiceRevisionArn"))) == self.revision:
                return str(brief["serviceDeploymentArn"])
        return None

    def _targets_revision(self, arn: str) -> bool:
        answer = call(self.aws, "ecs", "describe_service_deployments", f"describe service deployment {arn}",
                      who=self.who, serviceDeploymentArns=[arn])
        found = answer.get("serviceDeployments") or []
        target = (found[0].get("targetServiceRevision") or {}).get("arn") if found else None
        return target is not None and self._task_definition(str(target)) == self.revision

    def _task_definition(self, revision_arn: str) -> str | None:
        if revision_arn not in self._revisions:
            answer = call(self.aws, "ecs", "describe_service_revisions", f"describe service revision {revision_arn}",
                          who=self.who, serviceRevisionArns=[revision_arn])
            found = answer.get("serviceRevisions") or []
            if not found:
                return None
            self._revisions[revision_arn] = str(found[0].get("taskDefinition"))
        return self._revisions[revision_arn]

    # -- the judgement --------------------------------------------------------------------------------------

    def judge(self, look: Look, found: Mapping[str, Any] | None) -> Verdict | None:
        """Add to ``look`` a line for each stage seen starting and each rollback or stop status reached; the
        verdict once the service deployment has ended, or has reached where ``until`` stops (None before, or while
        it is not found). A stage shorter than the pause between two looks is not seen: the API keeps no history
        of stages."""
        if found is None:
            return None
        weight = self._production_weight()
        self.last = found
        stage = found.get("lifecycleStage")
        status = str(found.get("status"))
        if stage and (not self.stages or self.stages[-1] != stage):
            self.stages.append(str(stage))
            self._remember(found)
            look.lines.append(f"{self._label()}: lifecycle stage {stage} ({self.progress()})")
            look.changed = True
        elif self.stages and status == "IN_PROGRESS" and weight != self._production_weight():
            self._remember(found)
            look.lines.append(f"{self._label()}: production traffic {self._production_weight():g}% on "
                              f"{short_revision(self.revision)}")  # a LINEAR or CANARY step within the stage
            look.changed = True
        for hook in found.get("lifecycleHookDetails") or []:
            if hook.get("status") == "AWAITING_ACTION" and str(hook.get("hookId")) not in self._hooks_shown:
                self._hooks_shown.add(str(hook.get("hookId")))
                expires = timestamp(hook.get("expiresAt"))
                until = (datetime.datetime.fromtimestamp(expires, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                         if expires is not None else "its time-out")
                look.lines.append(f"{self._label()}: lifecycle hook {hook.get('hookId')} at {stage} awaits "
                                  f"ContinueServiceDeployment until {until} (then {hook.get('timeoutAction')})"
                                  f"{self._who_continues(str(stage))}")
                look.changed = True
        if status != self.status:
            if status not in (*FAILURES, "SUCCESSFUL", "PENDING", "IN_PROGRESS"):  # the verdict says how it ended
                reason = found.get("statusReason")
                look.lines.append(f"{self._label()}: {status}" + (f": {str(reason).rstrip('.')}" if reason else ""))
            if not self.history or self.history[-1]["status"] != status:
                self._remember(found)
            self.status = status
            look.changed = True
        decided_at = timestamp(found.get("finishedAt")) or timestamp(found.get("updatedAt"))
        if self.rollback:
            return self._judge_rollback(found, status, decided_at)
        if status == "SUCCESSFUL":
            return StageVerdict(COMPLETED, f"{self._label()} SUCCESSFUL ({self.progress()})", decided_at=decided_at,
                                service_deployment=self._name())
        if status == "IN_PROGRESS" and self.until is not None:
            return self._judge_until(found, str(stage or ""))
        if status not in FAILURES:
            return None
        why = str(found.get("statusReason") or (found.get("rollback") or {}).get("reason") or "no reason given")
        if status == "ROLLBACK_SUCCESSFUL":
            restored = self.restored(found)
            began = timestamp((found.get("rollback") or {}).get("startedAt"))
            return StageVerdict(ROLLED_BACK, f"{self._label()} failed and ECS rolled it back to "
                                             f"{short_revision(restored)}: {why.rstrip('.')}",
                                decided_at=decided_at, service_deployment=self._name(), rolled_back_to=restored,
                                rollback_seconds=decided_at - began if decided_at and began else None)
        return StageVerdict(FAILED, f"{self._label()} ended {status}: {why.rstrip('.')}", decided_at=decided_at)

    def _who_continues(self, stage: str) -> str:
        """What the line on a PAUSE hook at ``stage`` adds: nothing where this watch stops; else who moves it on."""
        if PAUSES.get(self.until or "") == stage:
            return ""
        if stage == STEP_STAGE:
            return ("; this run does not answer it: someone's ContinueServiceDeployment or its time-out moves it on "
                    "(until='production_step' would stop here)")
        return "; this run does not answer it: someone's ContinueServiceDeployment or its time-out moves it on"

    def _judge_until(self, found: Mapping[str, Any], stage: str) -> Verdict | None:
        """The early verdict ``until`` asks for, once the deployment (IN_PROGRESS, at ``stage``) got there."""
        place = ORDER.index(stage) if stage in ORDER else -1
        if self.until == "production_step":
            return self._judge_step(found, place)
        if self.until == "test_traffic":
            hook = paused_hook(found)
            if hook is not None:
                return StageVerdict(PAUSED, f"{self._label()} paused at {PAUSE_STAGE}: the new revision serves test "
                                            f"traffic, production stays on the previous one ({self.progress()})",
                                    service_deployment=self._name(), hook_id=hook, paused_at=PAUSE_STAGE)
            if place > ORDER.index(PAUSE_STAGE):
                return StageVerdict(FAILED, f"{self._label()} went past {PAUSE_STAGE} without pausing there "
                                            f"(someone continued it): production traffic moves before the test-traffic "
                                            f"steps ran ({self.progress()})")
            return None
        if place >= ORDER.index("POST_PRODUCTION_TRAFFIC_SHIFT") and self._production_weight() >= 100.0:
            return StageVerdict(SHIFTED, f"{self._label()}: production traffic all on "
                                         f"{short_revision(self.revision)}, the bake goes on ({self.progress()})",
                                service_deployment=self._name())
        return None

    def _judge_step(self, found: Mapping[str, Any], place: int) -> Verdict | None:
        """until="production_step": paused before the next production step, or a failure when the deployment went
        past the step this watch allows (another pause answered by someone else) or past the last step."""
        hook = paused_hook(found, STEP_STAGE)
        weight = self._production_weight()
        if hook is not None and hook not in self.answered:
            return StageVerdict(PAUSED, f"{self._label()} paused at {STEP_STAGE}: production traffic {weight:g}% on "
                                        f"{short_revision(self.revision)} until the next step ({self.progress()})",
                                service_deployment=self._name(), hook_id=hook, paused_at=STEP_STAGE)
        if weight > self._pause_weight and self._stepped_to is None:
            self._stepped_to = weight
        if place > ORDER.index("PRODUCTION_TRAFFIC_SHIFT") and weight >= 100.0:
            return StageVerdict(FAILED, f"{self._label()} took its last production step: no pause at {STEP_STAGE} "
                                        f"is left for until='production_step' to stop at ({self.progress()})")
        if self._stepped_to is not None and weight > self._stepped_to:
            return StageVerdict(FAILED, f"{self._label()} went past {STEP_STAGE} without pausing there (someone "
                                        f"continued it): production traffic moved on to {weight:g}% "
                                        f"({self.progress()})")
        return None

    def _judge_rollback(self, found: Mapping[str, Any], status: str, decided_at: float | None) -> Verdict | None:
        """A rollback this run asked for: ROLLBACK_SUCCESSFUL completes it; any other end fails it."""
        if status in ONGOING:
            return None
        restored = self.restored(found)
        if status == "ROLLBACK_SUCCESSFUL":
            return StageVerdict(COMPLETED, f"{self._label()} ROLLBACK_SUCCESSFUL: back on {short_revision(restored)}",
                                decided_at=decided_at, service_deployment=self._name(), rolled_back_to=restored)
        why = str(found.get("statusReason") or "no reason given")
        return StageVerdict(FAILED, f"{self._label()} ended {status}, not ROLLBACK_SUCCESSFUL: {why.rstrip('.')}",
                            decided_at=decided_at)

    def _remember(self, found: Mapping[str, Any]) -> None:
        target = found.get("targetServiceRevision") or {}
        self.history.append({"stage": found.get("lifecycleStage"), "at": self._wall(), "status": found.get("status"),
                             "productionWeight": target.get("requestedProductionTrafficWeight"),
                             "testWeight": target.get("requestedTestTrafficWeight")})

    @property
    def production_weight(self) -> float:
        """Green's requested production traffic weight (0-100) as last seen."""
        return self._production_weight()

    def _production_weight(self) -> float:
        weight = (self.last.get("targetServiceRevision") or {}).get("requestedProductionTrafficWeight")
        return float(weight or 0.0)

    def restored(self, found: Mapping[str, Any]) -> str | None:
        """The task definition ECS rolled ``found`` back to (its ``rollback.serviceRevisionArn``)."""
        arn = (found.get("rollback") or {}).get("serviceRevisionArn")
        return self._task_definition(str(arn)) if arn else None

    def line(self, found: Mapping[str, Any]) -> str:
        """One line on ``found`` (this watch's DescribeServiceDeployments entry) as the watch prints it:
        ``service deployment so8JAW of web:2: stage BAKE_TIME, production traffic 100% / test 100% on web:2, ...``
        (``ecsdeploy status`` shows a deployment in progress so)."""
        self.last = found
        return f"{self._label()}: {self.progress()}"

    def timed_out(self, seconds: float) -> Verdict:
        if self.rollback:
            return StageVerdict(TIMED_OUT, f"the rollback of {self._label()} did not end within {seconds:g} s "
                                           f"({self.progress()})")
        return StageVerdict(TIMED_OUT, f"{self._label()} did not end within {seconds:g} s ({self.progress()})")

    def progress(self) -> str:
        """``stage BAKE_TIME, production traffic 100% / test 100% on web:2, 2 of 2 tasks running, status
        IN_PROGRESS``."""
        found = self.last
        target = found.get("targetServiceRevision") or {}
        parts = [f"stage {found.get('lifecycleStage') or 'unknown'}"]
        production, test = target.get("requestedProductionTrafficWeight"), target.get("requestedTestTrafficWeight")
        if production is not None:
            parts.append(f"production traffic {float(production):g}% / test {float(test or 0):g}% on "
                         f"{short_revision(self.revision)}")
        parts.append(f"{target.get('runningTaskCount', 0)} of {target.get('requestedTaskCount', 0)} tasks running")
        running = sum(int(s.get("runningTaskCount") or 0) for s in found.get("sourceServiceRevisions") or [])
        if running:
            parts.append(f"{running} on the previous revision")
        parts.append(f"status {found.get('status') or 'unknown'}")
        return ", ".join(parts)

    def _name(self) -> str:
        return self.arn.rsplit("/", 1)[-1] if self.arn else "?"

    def _label(self) -> str:
        return f"service deployment {self._name()} of {short_revision(self.revision)}"


def paused_hook(found: Mapping[str, Any], stage: str = PAUSE_STAGE) -> str | None:
    """The id of a PAUSE hook awaiting action at ``stage`` of ``found`` (a DescribeServiceDeployments entry);
    None when there is none. The emulator and ECS name the hook's ``targetType``; a hook without it counts when
    it has no ``targetArn`` (a Lambda hook has one)."""
    if found.get("lifecycleStage") != stage:
        return None
    for hook in found.get("lifecycleHookDetails") or []:
        pause = hook.get("targetType") == "PAUSE" or (hook.get("targetType") is None and not hook.get("targetArn"))
        if pause and hook.get("status") == "AWAITING_ACTION" and hook.get("hookId"):
            return str(hook["hookId"])
    return None


def awaiting_hook(found: Mapping[str, Any]) -> str | None:
    """The id of any PAUSE hook of ``found`` awaiting action, at whatever stage (a rollback goes through it)."""
    return paused_hook(found, str(found.get("lifecycleStage") or ""))


def _service_key(service: Mapping[str, Any]) -> Any:
    """What of a DescribeServices entry moves when a service deployment does: its deployments' counts and states,
    the current service deployment, the newest event."""
    deployments = tuple((d.get("id"), d.get("status"), d.get("rolloutState"), d.get("runningCount"),
                         d.get("pendingCount"), d.get("desiredCount"), d.get("failedTasks"), str(d.get("updatedAt")))
                        for d in service.get("deployments") or [])
    events = service.get("events") or []
    return deployments, service.get("currentServiceDeployment"), events[0].get("id") if events else None


def _deployment_key(found: Mapping[str, Any]) -> Any:
    """What of a DescribeServiceDeployments entry this watch reports: status, stage, weights, counts, hooks."""
    def revision(r: Mapping[str, Any]) -> Any:
        return (r.get("arn"), r.get("runningTaskCount"), r.get("pendingTaskCount"),
                r.get("requestedProductionTrafficWeight"), r.get("requestedTestTrafficWeight"))
    return (found.get("status"), found.get("lifecycleStage"), revision(found.get("targetServiceRevision") or {}),
            tuple(revision(r) for r in found.get("sourceServiceRevisions") or []),
            tuple((h.get("hookId"), h.get("status")) for h in found.get("lifecycleHookDetails") or []))
