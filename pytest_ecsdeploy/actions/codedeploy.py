"""CodeDeploy blue/green deployments of a service on the CODE_DEPLOY deployment controller.

ECS refuses UpdateService with a task definition on such a service ("Unable to update task definition on services
with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.", boto/boto3#1936), so
:class:`CodeDeployPath` (``service.py`` hands a CODE_DEPLOY service to it) deploys through CodeDeploy:

1. the deployment group: ``codedeploy_application`` + ``codedeploy_deployment_group`` of ``[services.X]``
   (GetDeploymentGroup), else found by the service: ListApplications, ListDeploymentGroups and GetDeploymentGroup
   of each (the embedded local AWS has no BatchGetDeploymentGroups) for the ECS groups whose ``ecsServices`` name
   this cluster and service (none or several is a failed pre-check naming the keys to set);
2. an AppSpec built from the service (:func:`build_appspec`: the revision, the container and port of its first
   load balancer, platform version, awsvpc network configuration and capacity provider strategy of the PRIMARY
   task set, else of the service, hooks from ``codedeploy_hooks``), sent as ``AppSpecContent`` with its sha256
   (botocore codedeploy AppSpecContent), by CreateDeployment; never UpdateService;
3. the deployment watched by its id through GetDeployment and GetDeploymentTarget (target ``cluster:service``,
   botocore codedeploy BatchGetDeploymentTargets doc): a line for each lifecycle event as it starts and ends, with
   the task sets' production traffic weights and task counts; any event name is shown as ECS/CodeDeploy gives it.
   Success is ``Succeeded`` only; ``Failed`` and ``Stopped`` (an alarm of the group, ALARM_ACTIVE, included) are
   failures with their ``errorInformation``. Each event that starts or ends moves the progress bar (Octopus) to its
   place in :data:`EVENTS`; during a rollback it stays at 100.

``until="test_traffic"`` returns at ``Ready`` (the group's deploymentReadyOption STOP_DEPLOYMENT: the replacement
task set serves the test listener, production stays on the original); :meth:`CodeDeployPath.continue_deployment`
then calls ContinueDeployment(READY_WAIT) and watches to ``Succeeded``. ``until="traffic_shifted"`` returns once
the replacement (Green) task set carries all production traffic, the termination wait still running.

The time-out (:func:`budget`), unless one was chosen, adds to the environment's ``wait_timeout`` the group's
ready wait (STOP_DEPLOYMENT; not when stopping there), the traffic shift of its deployment config (linear steps or
the canary interval) and its termination wait (not for ``until``).

Rollback: while the deployment goes on (``Ready`` included), StopDeployment(autoRollbackEnabled=True) and the
rollback deployment CodeDeploy starts is watched to its end; a deployment CodeDeploy already rolled back (its
``rollbackInfo``) is followed; after ``Succeeded`` (a later step failed), or a deployment that ended Failed or
Stopped without a rollback of CodeDeploy's (an alarm without DEPLOYMENT_STOP_ON_ALARM), a new deployment of the
previous revision (all at once, with the group's alarms not polled: :meth:`CodeDeployPath._create`), continued at
``Ready`` and watched until production traffic is back on it. ``StopDeployment`` sometimes leaves the deployment
``Succeeded`` (kayac/ecspresso PR #663): then the previous revision is deployed anew too.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..arns import short_revision
from ..aws import ACCESS_DENIED, ClientFactory, call, pages
from ..checks import Check
from ..config import CODEDEPLOY_HOOKS, Service
from ..errors import ActionError, CheckFailed, ConfigError, EcsDeployError, RolloutFailed
from ..redact import clean_line
from ..report.record import Rollback
from .polling import Seen, wait_for
from .rollout import DEPLOY, ROLLBACK, Pause, Rollout, ServiceHost
from .strategy import url_of_listener
from .taskdef.revision import active_revision, deploy_image, describe, repository_place
from .watch import COMPLETED, FAILED, TIMED_OUT, Verdict, failure_message, timestamp

__all__ = ["CODE_DEPLOY", "EVENTS", "HOOKS", "CodeDeployPath", "CodeDeployWatch", "DeploymentGroup", "budget",
           "build_appspec", "deployment_in_progress", "find_group", "primary_task_set", "running_task_definition",
           "task_sets_steady"]

CODE_DEPLOY = "CODE_DEPLOY"
HOOKS = CODEDEPLOY_HOOKS  # the AppSpec hooks in the order they run; config.py checks codedeploy_hooks against them
#: An ECS target's lifecycle events in the order they run (CodeDeploy user guide reference-appspec-file-structure-
#: hooks; the names of Install, AllowTestTraffic and AllowTraffic are the console's): the progress bar's steps.
EVENTS = ("BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic",
          "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic")
ENDED = ("Succeeded", "Failed", "Stopped")
PAUSED = "PAUSED"  # at Ready: the replacement serves test traffic, production on the original
SHIFTED = "TRAFFIC_SHIFTED"  # production traffic all on the replacement, the termination wait going on
DEFAULT_CONFIG = "CodeDeployDefault.ECSAllAtOnce"
_LINEAR = re.compile(r"^CodeDeployDefault\.ECSLinear(\d+)PercentEvery(\d+)Minutes?$")
_CANARY = re.compile(r"^CodeDeployDefault\.ECSCanary(\d+)Percent(\d+)Minutes?$")


def primary_task_set(service: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The PRIMARY task set of a CODE_DEPLOY service (the one serving production), None when it has none."""
    return next((t for t in service.get("taskSets") or [] if t.get("status") == "PRIMARY"), None)


def running_task_definition(service: Mapping[str, Any]) -> str | None:
    """The task definition a CODE_DEPLOY service serves production with: its PRIMARY task set's, else the
    service's ``taskDefinition``."""
    primary = primary_task_set(service)
    found = (primary or {}).get("taskDefinition") or service.get("taskDefinition")
    return str(found) if found else None


def task_sets_steady(service: Mapping[str, Any]) -> bool:
    """A CODE_DEPLOY service at rest: one task set, PRIMARY, STEADY_STATE, running what it asks for (botocore ecs
    TaskSet.stabilityStatus)."""
    sets = service.get("taskSets") or []
    return (len(sets) == 1 and sets[0].get("status") == "PRIMARY" and sets[0].get("stabilityStatus") == "STEADY_STATE"
            and sets[0].get("runningCount") == sets[0].get("computedDesiredCount"))


def deployment_in_progress(aws: ClientFactory, service: Mapping[str, Any], *, who: str
                           ) -> tuple[str, str | None] | None:
    """(id, task definition) of the CodeDeploy deployment still going on ``service`` (a DescribeServices entry with
    more than one task set), found through the task sets' ``externalId`` (the deployment that created each) and
    GetDeployment; None when every such deployment ended."""
    sets = service.get("taskSets") or []
    if len(sets) < 2:
        return None
    for task_set in sorted(sets, key=lambda t: timestamp(t.get("createdAt")) or 0.0, reverse=True):
        deployment_id = task_set.get("externalId")
        if not deployment_id:
            continue
        info = call(aws, "codedeploy", "get_deployment", f"read CodeDeploy deployment {deployment_id}", who=who,
                    deploymentId=deployment_id).get("deploymentInfo") or {}
        if info.get("status") not in ENDED:
            return str(deployment_id), task_set.get("taskDefinition")
    return None


def _name(reference: str) -> str:
    return reference.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class DeploymentGroup:
    """A CodeDeploy deployment group (``info``: its DeploymentGroupInfo) and its application."""

    application: str
    name: str
    info: Mapping[str, Any] = field(repr=False)

    def _blue_green(self) -> Mapping[str, Any]:
        return self.info.get("blueGreenDeploymentConfiguration") or {}

    @property
    def stops_at_ready(self) -> bool:
        """deploymentReadyOption STOP_DEPLOYMENT: the deployment waits at Ready for ContinueDeployment."""
        ready = self._blue_green().get("deploymentReadyOption") or {}
        return ready.get("actionOnTimeout") == "STOP_DEPLOYMENT"

    @property
    def ready_minutes(self) -> float:
        """Minutes a STOP_DEPLOYMENT deployment waits at Ready before it is Stopped (0 otherwise)."""
        ready = self._blue_green().get("deploymentReadyOption") or {}
        return float(ready.get("waitTimeInMinutes") or 0) if self.stops_at_ready else 0.0

    @property
    def termination_minutes(self) -> float:
        """Minutes between the traffic shift and the end of the original task set (terminationWaitTimeInMinutes)."""
        terminate = self._blue_green().get("terminateBlueInstancesOnDeploymentSuccess") or {}
        return float(terminate.get("terminationWaitTimeInMinutes") or 0)

    @property
    def alarms_enabled(self) -> bool:
        """The group stops deployments on CloudWatch alarms (alarmConfiguration enabled with alarms)."""
        alarms = self.info.get("alarmConfiguration") or {}
        return bool(alarms.get("enabled") and alarms.get("alarms"))

    @property
    def config_name(self) -> str:
        return str(self.info.get("deploymentConfigName") or DEFAULT_CONFIG)

    def points_at(self, cluster: str, service: str) -> bool:
        return any(_name(str(s.get("clusterName"))) == _name(cluster) and _name(str(s.get("serviceName"))) == service
                   for s in self.info.get("ecsServices") or [])

    def label(self) -> str:
        return f"deployment group '{self.name}' of application '{self.application}'"


def find_group(aws: ClientFactory, config: Service, cluster: str, service: str, *, who: str
               ) -> tuple[DeploymentGroup | None, str]:
    """The deployment group that deploys ``service`` of ``cluster``, with a detail for the pre-check; None with the
    detail saying what to set when there is none, several, or the configured one deploys another service."""
    keys = (f"set codedeploy_application and codedeploy_deployment_group in [services.{config.name}]")
    if config.codedeploy_application and config.codedeploy_deployment_group:
        answer = call(aws, "codedeploy", "get_deployment_group", "read its CodeDeploy deployment group", who=who,
                      applicationName=config.codedeploy_application,
                      deploymentGroupName=config.codedeploy_deployment_group)
        group = DeploymentGroup(config.codedeploy_application, config.codedeploy_deployment_group,
                                answer.get("deploymentGroupInfo") or {})
        if not group.points_at(cluster, service):
            listed = ", ".join(f"{s.get('clusterName')}:{s.get('serviceName')}"
                               for s in group.info.get("ecsServices") or []) or "no service"
            return None, f"{group.label()} deploys {listed}, not {cluster}:{service}; {keys} to its group"
        return group, f"{group.label()} (configured)"
    found: list[DeploymentGroup] = []
    for page in pages(aws, "codedeploy", "list_applications", "list the CodeDeploy applications", who=who):
        for application in page.get("applications") or []:
            names = [str(n) for p in pages(aws, "codedeploy", "list_deployment_groups",
                                           f"list the deployment groups of application '{application}'", who=who,
                                           applicationName=application)
                     for n in p.get("deploymentGroups") or []]
            for name in names:
                info = call(aws, "codedeploy", "get_deployment_group",
                            f"read deployment group '{name}' of application '{application}'", who=who,
                            applicationName=application, deploymentGroupName=name).get("deploymentGroupInfo") or {}
                group = DeploymentGroup(str(application), name, info)
                if info.get("computePlatform", "ECS") == "ECS" and group.points_at(cluster, service):
                    found.append(group)
    if not found:
        return None, f"no CodeDeploy deployment group names {cluster}:{service} in its ecsServices; {keys}"
    if len(found) > 1:
        return None, (f"{len(found)} CodeDeploy deployment groups name {cluster}:{service}: "
                      + ", ".join(f"{g.application}/{g.name}" for g in found) + f"; {keys} to choose one")
    return found[0], f"{found[0].label()} (found by the service)"


def url_of_test_traffic_route(aws: ClientFactory, config: Service, cluster: str, service: str, *, who: str) -> str:
    """The base URL of the test listener of a CODE_DEPLOY service: the first listener of the testTrafficRoute of
    its deployment group's first target group pair (``find_group``), as ``strategy.url_of_listener`` reads it.
    ConfigError saying to set test_url when there is no such group or it has no test traffic route."""
    group, detail = find_group(aws, config, cluster, service, who=who)
    if group is None:
        raise ConfigError(f"service '{config.name}' has no test listener to send test traffic through: {detail}, "
                          f"or set test_url in [services.{config.name}] of ecsdeploy.toml.")
    pairs = (group.info.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or [{}]
    listeners = (pairs[0].get("testTrafficRoute") or {}).get("listenerArns") or []
    if not listeners:
        raise ConfigError(f"service '{config.name}': {group.label()} has no testTrafficRoute listener to send test "
                          f"traffic through; set test_url in [services.{config.name}] of ecsdeploy.toml.")
    return url_of_listener(aws, config.name, str(listeners[0]), who=who)


def shift_minutes(aws: ClientFactory, name: str, *, who: str) -> float:
    """Minutes the traffic shift of deployment config ``name`` takes: the predefined ECS configs from their names
    (aws-cdk EcsDeploymentConfig), any other from GetDeploymentConfig's trafficRoutingConfig (botocore codedeploy)."""
    linear, canary = _LINEAR.match(name), _CANARY.match(name)
    if linear:
        return (-(-100 // int(linear[1])) - 1) * float(linear[2])
    if canary:
        return float(canary[2])
    if name.startswith("CodeDeployDefault."):
        return 0.0
    answer = call(aws, "codedeploy", "get_deployment_config", f"read deployment config '{name}'", who=who,
                  deploymentConfigName=name)
    routing = (answer.get("deploymentConfigInfo") or {}).get("trafficRoutingConfig") or {}
    if routing.get("type") == "TimeBasedLinear":
        step = routing.get("timeBasedLinear") or {}
        return (-(-100 // int(step.get("linearPercentage") or 100)) - 1) * float(step.get("linearInterval") or 0)
    if routing.get("type") == "TimeBasedCanary":
        return float((routing.get("timeBasedCanary") or {}).get("canaryInterval") or 0)
    return 0.0


def budget(group: DeploymentGroup, shift: float, base: float, until: str | None) -> float:
    """Seconds a deployment through ``group`` may take: ``base`` plus the ready wait (unless it stops there), the
    traffic shift (``shift`` minutes) and the termination wait (unless it returns once traffic shifted).

    >>> budget(DeploymentGroup("a", "g", {"blueGreenDeploymentConfiguration": {
    ...     "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5}}}),
    ...     9.0, 600, None)
    1440.0
    """
    minutes = shift
    if until != "test_traffic":
        minutes += group.ready_minutes
    if until in (None, "completed"):
        minutes += group.termination_minutes
    return float(base) + 60.0 * minutes


def build_appspec(service: Mapping[str, Any], revision: str, hooks: Mapping[str, str]) -> dict[str, Any]:
    """The AppSpec (AWS CodeDeploy doc reference-appspec-file-example) deploying ``revision`` to ``service`` (a
    DescribeServices entry); ActionError when the service has no load balancer with a container to route to."""
    balancers = [lb for lb in service.get("loadBalancers") or [] if lb.get("containerName")]
    if not balancers:
        raise ActionError(f"service '{service.get('serviceName')}' has no load balancer with a container name and "
                          f"port; a CodeDeploy blue/green deployment routes traffic through one.")
    source = {**service, **{k: v for k, v in (primary_task_set(service) or {}).items() if v}}
    properties: dict[str, Any] = {
        "TaskDefinition": revision,
        "LoadBalancerInfo": {"ContainerName": balancers[0]["containerName"],
                             "ContainerPort": int(balancers[0]["containerPort"])},
    }
    if source.get("platformVersion"):
        properties["PlatformVersion"] = source["platformVersion"]
    awsvpc = (source.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if awsvpc:
        network: dict[str, Any] = {"Subnets": list(awsvpc.get("subnets") or [])}
        if awsvpc.get("securityGroups"):
            network["SecurityGroups"] = list(awsvpc["securityGroups"])
        if awsvpc.get("assignPublicIp"):
            network["AssignPublicIp"] = awsvpc["assignPublicIp"]
        properties["NetworkConfiguration"] = {"AwsvpcConfiguration": network}
    strategy = source.get("capacityProviderStrategy") or []
    if strategy:
        properties["CapacityProviderStrategy"] = [
            {"Base": int(s.get("base") or 0), "CapacityProvider": s["capacityProvider"], "Weight": int(s.get("weight")
                                                                                                       or 0)}
            for s in strategy]
    spec: dict[str, Any] = {"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service",
                                                                             "Properties": properties}}]}
    if hooks:
        spec["Hooks"] = [{name: hooks[name]} for name in HOOKS if name in hooks]
    return spec


def appspec_revision(spec: Mapping[str, Any]) -> dict[str, Any]:
    """CreateDeployment's ``revision`` for ``spec``: its JSON as AppSpecContent with the content's hex SHA-256."""
    content = json.dumps(spec, sort_keys=True)
    return {"revisionType": "AppSpecContent",
            "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()}}


@dataclass(frozen=True)
class CodeDeployVerdict(Verdict):
    """A verdict on a CodeDeploy deployment: its ``status`` and the rollback deployment CodeDeploy started."""

    status: str | None = None
    rollback_deployment: str | None = None


class CodeDeployWatch:
    """Follows CodeDeploy deployment ``deployment_id`` of ``revision`` on target ``target_id`` (``cluster:service``).

    ``until``: ``test_traffic`` ends the watch at Ready (PAUSED), ``traffic_shifted`` once the Green task set has all
    production traffic (SHIFTED); ``stop_at_ready`` also ends it PAUSED at Ready (a rollback continues from there)::

        watch = CodeDeployWatch(aws, who="service 'web'", deployment_id="d-ABC", target_id="prod:web", revision=arn)
        lines, verdict = watch.judge(*watch.look())
    """

    def __init__(self, aws: ClientFactory, *, who: str, deployment_id: str, target_id: str, revision: str | None,
                 until: str | None = None, stop_at_ready: bool = False) -> None:
        self.aws, self.who, self.deployment_id, self.target_id = aws, who, deployment_id, target_id
        self.revision, self.until, self.stop_at_ready = revision, until, stop_at_ready
        self.status: str | None = None
        self.info: Mapping[str, Any] = {}
        self.target: Mapping[str, Any] = {}
        self.events: dict[str, str] = {}  # lifecycle event name -> status last seen
        self.history: list[dict[str, Any]] = []  # each event start and end seen, for the record

    def look(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """GetDeployment's deploymentInfo and GetDeploymentTarget's ecsTarget (None before CodeDeploy has one)."""
        info = call(self.aws, "codedeploy", "get_deployment", f"read CodeDeploy deployment {self.deployment_id}",
                    who=self.who, deploymentId=self.deployment_id).get("deploymentInfo") or {}
        try:
            target = call(self.aws, "codedeploy", "get_deployment_target",
                          f"read the target of CodeDeploy deployment {self.deployment_id}", who=self.who,
                          deploymentId=self.deployment_id, targetId=self.target_id)
        except ActionError as exc:
            if exc.code in ("DeploymentTargetDoesNotExistException", "DeploymentNotStartedException"):
                return dict(info), None
            raise
        return dict(info), dict((target.get("deploymentTarget") or {}).get("ecsTarget") or {})

    def judge(self, info: Mapping[str, Any], target: Mapping[str, Any] | None) -> tuple[list[str], Verdict | None]:
        """The lines for what changed since the last look (lifecycle events started or ended, a new status), and the
        verdict once the deployment ended or reached where the watch stops."""
        lines: list[str] = []
        self.info = info
        if target is not None:
            self.target = target
        status = str(info.get("status"))
        if status != self.status:
            self.status = status
            if status == "Ready":
                ready = ("awaits ContinueDeployment (production stays on the original task set; the replacement "
                         "serves the test listener)")
                lines.append(f"{self.label()}: Ready: {ready} ({self.progress()})")
            elif status not in ENDED:
                lines.append(f"{self.label()}: {status} ({self.progress()})")
        if target is not None:
            for event in target.get("lifecycleEvents") or []:
                name, state = str(event.get("lifecycleEventName")), str(event.get("status"))
                if self.events.get(name, "Pending") == state:
                    continue
                self.events[name] = state
                at = timestamp(event.get("endTime") if state != "InProgress" else event.get("startTime"))
                word = {"InProgress": "started", "Succeeded": "succeeded", "Failed": "FAILED",
                        "Skipped": "skipped"}.get(state, state)
                why = ((event.get("diagnostics") or {}).get("message") or "") if state == "Failed" else ""
                lines.append(f"{self.label()}: lifecycle event {name} {word} ({self.progress()})"
                             + (f": {clean_line(str(why).rstrip('.'))}" if why else ""))
                self.history.append({"event": name, "status": state, "at": at, "weights": self.weights()})
        decided = timestamp(info.get("completeTime")) or timestamp(info.get("createTime"))
        rollback = (info.get("rollbackInfo") or {}).get("rollbackDeploymentId")
        if status == "Succeeded":
            return lines, CodeDeployVerdict(COMPLETED, f"{self.label()} Succeeded ({self.progress()})",
                                            decided_at=decided, status=status)
        if status in ("Failed", "Stopped"):
            error = info.get("errorInformation") or {}
            why = ": ".join(str(p).rstrip(".") for p in (error.get("code"), error.get("message")) if p) or \
                "no reason given"
            failed = [n for n, s in self.events.items() if s == "Failed"]
            where = f" at lifecycle event {failed[0]}" if failed else ""
            rolled = f"; CodeDeploy rolls back (deployment {rollback})" if rollback else ""
            return lines, CodeDeployVerdict(FAILED, f"{self.label()} {status}{where}: {clean_line(why)}{rolled}",
                                            decided_at=decided, status=status,
                                            rollback_deployment=str(rollback) if rollback else None)
        if status == "Ready" and (self.until == "test_traffic" or self.stop_at_ready):
            return lines, CodeDeployVerdict(PAUSED, f"{self.label()} is Ready: the replacement task set serves test "
                                                    f"traffic, production stays on the original ({self.progress()})",
                                            status=status)
        if self.until == "traffic_shifted" and self.weights().get("Green", 0.0) >= 100.0:
            return lines, CodeDeployVerdict(SHIFTED, f"{self.label()}: production traffic is all on the replacement "
                                                     f"task set ({self.progress()}); the termination wait goes on",
                                            status=status)
        return lines, None

    def weights(self) -> dict[str, float]:
        """Production traffic weight per task set label (``Blue``, ``Green``)."""
        return {str(t.get("taskSetLabel") or t.get("status")): float(t.get("trafficWeight") or 0.0)
                for t in self.target.get("taskSetsInfo") or []}

    def progress(self) -> str:
        """``status InProgress, production traffic Blue 0% / Green 100%, Green 2 of 2 tasks running, Blue 2 of 2``."""
        parts = [f"status {self.info.get('status') or 'unknown'}"]
        sets = sorted(self.target.get("taskSetsInfo") or [], key=lambda t: str(t.get("taskSetLabel")))
        if sets:
            parts.append("production traffic " + " / ".join(
                f"{t.get('taskSetLabel') or t.get('status')} {float(t.get('trafficWeight') or 0):g}%" for t in sets))
            parts += [f"{t.get('taskSetLabel') or t.get('status')} {t.get('runningCount', 0)} of "
                      f"{t.get('desiredCount', 0)} tasks running" for t in sets]
        if self.info.get("instanceTerminationWaitTimeStarted") and self.info.get("status") not in ENDED:
            parts.append("termination wait running")
        return ", ".join(parts)

    def timed_out(self, seconds: float) -> Verdict:
        return CodeDeployVerdict(TIMED_OUT, f"{self.label()} did not end within {seconds:g} s ({self.progress()})",
                                 status=self.status)

    def label(self) -> str:
        return f"CodeDeploy deployment {self.deployment_id} of {short_revision(self.revision, 'the previous revision')}"


class CodeDeployPath:
    """What :class:`~pytest_ecsdeploy.actions.service.EcsService` does for a CODE_DEPLOY service (see the module
    docstring); ``owner`` is that EcsService as a :class:`~.rollout.ServiceHost` (its context, clocks and the run's
    state)."""

    def __init__(self, owner: ServiceHost) -> None:
        self.owner = owner
        self.ctx = owner.ctx
        self.group: DeploymentGroup | None = None
        self.deployment_id: str | None = None
        self.paused: Pause | None = None
        self.watch: CodeDeployWatch | None = None
        self._shift = 0.0

    @property
    def _who(self) -> str:
        return f"service '{self.owner.name}'"

    @property
    def _target_id(self) -> str:
        return f"{_name(self.owner.cluster)}:{self.owner.name}"

    # -- deploy ---------------------------------------------------------------------------------------------

    def deploy(self, revision: Any, arn: str | None, label: str, service: dict[str, Any], *, timeout: float,
               chosen: bool, until: str | None, go_on: bool = False, force: bool = False) -> Rollout:
        """Pre-checks, CreateDeployment, the watch and its verdict (``service``: the DescribeServices entry the
        common pre-checks read; ``timeout`` the one chosen, or the environment's when ``chosen`` is False).
        ``go_on`` continues the deployment at Ready itself (``ecsdeploy rollback`` asks for that). A service already
        at rest on the revision is left alone unless ``force``."""
        __tracebackhide__ = True
        ctx, record, owner = self.ctx, self.ctx.record, self.owner
        started = owner.clock()
        if self.paused is not None:
            raise ActionError(f"{self._who}: CodeDeploy deployment {self.paused.deployment_id} is Ready; call "
                              f"continue_deployment() (or fail a step to roll it back) before deploying again.")
        spec, described = self._pre_checks(revision, arn, label, service, until)
        group = self.group
        assert group is not None
        limit = timeout if chosen else budget(group, self._shift, timeout, until)
        before = running_task_definition(service)
        if before and before != record.revision_before:
            record.revision_before = before
            record.image_before = deploy_image(describe(ctx.aws, before, who=self._who).payload, ctx.service,
                                               **repository_place(ctx))
        if described is None or ctx.options.plan:
            what = (f"create a CodeDeploy deployment of {label} through {group.label()} "
                    f"({short_revision(before)} -> {label})")
            ctx.log.info(f"plan: would {what}")
            ctx.checks.skipped(DEPLOY, "pre", "create deployment", f"plan: would {what}")
            record.set_outcome("planned", f"would {what}")
            return owner.done(described.arn if described else None, before, None, "PLANNED", f"would {what}",
                               started)
        arn = described.arn
        record.revision_after = arn
        if before == arn and task_sets_steady(service) and not force:
            ctx.log.info(f"service {owner.name} already runs {label}; nothing to deploy")
            ctx.checks.passed(DEPLOY, "pre", "already live", f"the PRIMARY task set runs {label}, steady; no "
                                                              f"CodeDeploy deployment created")
            record.set_outcome("unchanged", f"already running {label}")
            return owner.done(arn, before, None, "UNCHANGED", f"{owner.name} already runs {label}", started)
        assert spec is not None
        deployment_id = self._create(arn, label, spec, group)
        self.deployment_id = record.deployment_id = record.codedeploy["deploymentId"] = deployment_id
        verdict = self._follow(deployment_id, arn, limit, until=until, stop_at_ready=go_on)
        if go_on and verdict.outcome == PAUSED:
            self._continue(deployment_id)
            verdict = self._follow(deployment_id, arn, limit, until=until)
        return self._conclude(arn, label, deployment_id, verdict, started, limit)

    def _continue(self, deployment_id: str) -> None:
        self.ctx.log.info(f"continuing CodeDeploy deployment {deployment_id}: ContinueDeployment READY_WAIT; "
                          f"production traffic moves")
        call(self.ctx.aws, "codedeploy", "continue_deployment", f"continue CodeDeploy deployment {deployment_id}",
             who=self._who, deploymentId=deployment_id, deploymentWaitType="READY_WAIT")

    def stop(self, deployment_id: str, revision: str | None, running: str | None) -> str:
        """``ecsdeploy rollback`` of a service whose deployment ``deployment_id`` of ``revision`` is still going:
        StopDeployment with its rollback, watched back to ``running`` (the revision production ran); the summary.
        The record says how it ended."""
        record = self.ctx.record
        self.ctx.before_write()
        self.deployment_id = record.deployment_id = deployment_id
        record.revision_before, record.revision_after = running, revision
        self.owner.updated = True
        return self.roll_back(f"ecsdeploy rollback stopped CodeDeploy deployment {deployment_id}", None, asked=True)

    def _pre_checks(self, revision: Any, arn: str | None, label: str, service: Mapping[str, Any], until: str | None
                    ) -> tuple[dict[str, Any] | None, Any]:
        __tracebackhide__ = True
        ctx, checks = self.ctx, self.ctx.checks
        checks.passed(DEPLOY, "pre", "deployment controller", "CODE_DEPLOY: a CodeDeploy blue/green deployment")
        group, detail = find_group(ctx.aws, ctx.service, self.owner.cluster, self.owner.name, who=self._who)
        checks.expect(group is not None, DEPLOY, "pre", "CodeDeploy deployment group", detail)
        assert group is not None
        self.group = group
        ctx.record.codedeploy = {"application": group.application, "deploymentGroup": group.name,
                                 "deploymentConfig": self._config_name(group), "until": until or "completed",
                                 "lifecycleEvents": []}
        if until == "production_step":  # CodeDeploy shifts traffic without a hook between its steps
            checks.failed(DEPLOY, "pre", "pauses before production steps",
                          f"{group.label()}: CodeDeploy has no pause between production traffic steps; use "
                          f"until='test_traffic' (Ready) or an ECS-native LINEAR or CANARY service")
        if until == "test_traffic":
            checks.expect(group.stops_at_ready, DEPLOY, "pre", "deployment stops at Ready",
                          f"{group.label()}: deploymentReadyOption STOP_DEPLOYMENT, wait "
                          f"{group.ready_minutes:g} min" if group.stops_at_ready else
                          f"{group.label()} does not stop at Ready; set its blueGreenDeploymentConfiguration."
                          f"deploymentReadyOption to actionOnTimeout STOP_DEPLOYMENT with a waitTimeInMinutes")
        self._shift = shift_minutes(ctx.aws, self._config_name(group), who=self._who)
        described = None
        if arn is not None:
            described = active_revision(ctx, revision, arn, label, action=DEPLOY, who=self._who,
                                        hint="deploy a registered revision")
            if ctx.record.image_after is None:
                ctx.record.image_after = deploy_image(described.payload, ctx.service, **repository_place(ctx))
        spec = None
        try:
            spec = build_appspec(service, described.arn if described else label, dict(ctx.service.codedeploy_hooks))
        except ActionError as exc:
            checks.failed(DEPLOY, "pre", "AppSpec", str(exc).rstrip("."))
        props = spec["Resources"][0]["TargetService"]["Properties"]
        checks.passed(DEPLOY, "pre", "AppSpec", f"container {props['LoadBalancerInfo']['ContainerName']} port "
                      f"{props['LoadBalancerInfo']['ContainerPort']}, " + ", ".join(
                          k for k in ("PlatformVersion", "NetworkConfiguration", "CapacityProviderStrategy")
                          if k in props) + (f", hooks {', '.join(ctx.service.codedeploy_hooks)}"
                                            if ctx.service.codedeploy_hooks else ", no hooks"))
        others = [t for t in service.get("taskSets") or [] if t.get("status") != "PRIMARY"]
        checks.expect(not others, DEPLOY, "pre", "no other deployment in progress",
                      "one task set, PRIMARY" if not others else
                      f"task set {others[0].get('id')} of {short_revision(others[0].get('taskDefinition'))} "
                      f"(CodeDeploy deployment {others[0].get('externalId') or '?'}) is {others[0].get('status')}; "
                      f"wait for that deployment to end (or stop it) and run again")
        for name, ok, detail in ctx.hooks.pre_checks(DEPLOY):
            checks.expect(ok, DEPLOY, "pre", name, detail)
        return spec, described

    def _config_name(self, group: DeploymentGroup) -> str:
        return self.ctx.service.codedeploy_deployment_config or group.config_name

    def _create(self, arn: str, label: str, spec: dict[str, Any], group: DeploymentGroup, *,
                rollback: bool = False) -> str:
        """CreateDeployment of ``spec`` (the AppSpec for ``arn``) through ``group``; its id.

        A ``rollback`` moves production traffic all at once (CodeDeployDefault.ECSAllAtOnce, whatever the group's
        or ``codedeploy_deployment_config`` says), as CodeDeploy's own rollback does: the revision it restores is
        known good, and a cancelled run's grace period would not outlast a canary's or linear config's shift. A
        ``rollback`` through a group with alarms also turns their polling off (overrideAlarmConfiguration): the
        alarm that stopped the deployment being rolled back may still ring, and would stop the rollback too
        (botocore codedeploy CreateDeployment's overrideAlarmConfiguration doc advises this; it needs
        codedeploy:UpdateDeploymentGroup). Where that permission is denied, the rollback is created again without
        the override, polling the alarms, and the log says so: a rollback an alarm may stop is better than none.

        Raises ActionError when CodeDeploy refuses the deployment (an AccessDenied of the override only after the
        retry without it)."""
        ctx = self.ctx
        params: dict[str, Any] = {"applicationName": group.application, "deploymentGroupName": group.name,
                                  "revision": appspec_revision(spec),
                                  "description": f"pytest-ecsdeploy: {ctx.service.name} {label}"[:512]}
        if rollback:
            params["deploymentConfigName"] = DEFAULT_CONFIG
        elif ctx.service.codedeploy_deployment_config:
            params["deploymentConfigName"] = ctx.service.codedeploy_deployment_config
        if rollback and group.alarms_enabled:
            params["overrideAlarmConfiguration"] = {"enabled": False}
            ctx.log.info(f"the rollback deployment does not poll {group.label()}'s CloudWatch alarms "
                         f"(overrideAlarmConfiguration), so an alarm still ringing cannot stop it")
        ctx.log.info(f"creating a CodeDeploy deployment of {label} through {group.label()} "
                     f"({params.get('deploymentConfigName') or group.config_name})")
        asked = self.owner.clock()
        doing = f"create a CodeDeploy deployment of {label}"
        try:
            answer = call(ctx.aws, "codedeploy", "create_deployment", doing, who=self._who, **params)
        except ActionError as exc:
            if "overrideAlarmConfiguration" not in params or exc.code not in ACCESS_DENIED:
                raise
            del params["overrideAlarmConfiguration"]
            ctx.log.warning(f"not allowed to turn {group.label()}'s alarm polling off for the rollback "
                            f"(codedeploy:UpdateDeploymentGroup denied: {exc.code}); the rollback deployment polls "
                            f"them, and an alarm in ALARM will stop it too")
            answer = call(ctx.aws, "codedeploy", "create_deployment", doing, who=self._who, **params)
        self.owner.updated = True
        ctx.record.timings["update"] = round(self.owner.clock() - asked, 3)
        deployment_id = str(answer["deploymentId"])
        ctx.log.info(f"CodeDeploy deployment {deployment_id} of {label} started")
        return deployment_id

    def _follow(self, deployment_id: str, revision: str | None, timeout: float, *, until: str | None = None,
                stop_at_ready: bool = False, bounded: bool = False, record_events: bool = True) -> Verdict:
        """Watch ``deployment_id`` until its verdict or ``timeout`` seconds; a ``bounded`` watch (a rollback's)
        also ends, TIMED_OUT, when a cancelled run's grace period is over."""
        owner, log, record = self.owner, self.ctx.log, self.ctx.record
        cancellation = self.ctx.cancellation
        watch = CodeDeployWatch(self.ctx.aws, who=self._who, deployment_id=deployment_id, target_id=self._target_id,
                                revision=revision, until=until, stop_at_ready=stop_at_ready)
        if self.watch is not None and self.watch.deployment_id == deployment_id:  # on from Ready: no line twice
            watch.events, watch.status, watch.target = dict(self.watch.events), self.watch.status, self.watch.target
        if record_events:
            self.watch = watch

        def judge(answer: tuple[dict[str, Any], dict[str, Any] | None]) -> Seen[Verdict]:
            count = len(watch.history)
            lines, verdict = watch.judge(*answer)
            for line in lines:
                log.info(line)
            for item in watch.history[count:]:
                record.add_event(item["at"] or owner.wall(), f"CodeDeploy {deployment_id}: lifecycle event "
                                 f"{item['event']} {item['status']}")
                if record_events:
                    record.codedeploy.setdefault("lifecycleEvents", []).append(dict(item, deploymentId=deployment_id))
                self._event_progress(watch, item, rollback=not record_events)
            if verdict is None and bounded and cancellation.expired():
                return Seen(CodeDeployVerdict(TIMED_OUT, f"{cancellation.reason}: {watch.label()} did not end within "
                                                         f"the {cancellation.grace:g} s grace period"))
            return Seen(verdict, changed=bool(lines), printed=bool(lines))

        verdict = wait_for(watch.look, judge, timeout=cancellation.bounded(timeout) if bounded else timeout,
                           schedule=owner.schedule(),
                           clock=owner.clock, sleep=owner.sleep, warn=log.warning,
                           progress=lambda: log.info(f"waiting for {watch.label()}: {watch.progress()}"),
                           progress_every=owner.progress_every)
        if record_events:
            record.codedeploy["weights"] = watch.weights()
        return verdict if verdict is not None else watch.timed_out(timeout)

    def _event_progress(self, watch: CodeDeployWatch, item: Mapping[str, Any], *, rollback: bool) -> None:
        """The progress bar (Octopus) at a lifecycle event that started or ended: its place in :data:`EVENTS`
        (an event's start counts as the one before it ending; a name it does not know, 0); 100 during a rollback."""
        event, status = str(item["event"]), str(item["status"])
        place = EVENTS.index(event) + (status != "InProgress") if event in EVENTS else 0
        word = {"InProgress": "started", "Succeeded": "succeeded", "Failed": "FAILED"}.get(status, status.lower())
        self.ctx.hooks.stage(100 if rollback else place * 100 // len(EVENTS),
                             f"{self.owner.name}: {'rollback, ' if rollback else ''}{watch.label()}: lifecycle event "
                             f"{event} {word} ({watch.progress()})")

    def _conclude(self, arn: str, label: str, deployment_id: str, verdict: Verdict, started: float,
                  timeout: float) -> Rollout:
        __tracebackhide__ = True
        ctx, record, owner = self.ctx, self.ctx.record, self.owner
        before = record.revision_before
        if verdict.outcome == PAUSED:
            self.paused = Pause(arn, label, deployment_id, timeout)
            record.codedeploy["until"] = "test_traffic"
            ctx.log.info(verdict.reason)
            ctx.checks.passed(DEPLOY, "post", "paused for test traffic", verdict.reason)
            return owner.done(arn, before, deployment_id, PAUSED, verdict.reason, started)
        if verdict.outcome == SHIFTED:
            record.codedeploy["until"] = "traffic_shifted"
            record.codedeploy["terminationWaitRunning"] = True
            ctx.log.info(verdict.reason)
            ctx.checks.skipped(DEPLOY, "post", "post-checks after the termination wait",
                               "deploy(until='traffic_shifted') returned with the termination wait still running; the "
                               "original task set runs until it ends")
            record.set_outcome("deployed", f"{verdict.reason}; the termination wait was still running when deploy() "
                                           f"returned")
            owner.notify(ctx.hooks.deployed)
            return owner.done(arn, before, deployment_id, SHIFTED, verdict.reason, started)
        if verdict.outcome == COMPLETED:
            record.timings["steady"] = round(owner.clock() - started, 3)
            ctx.log.info(verdict.reason)
            try:
                self._post_checks(DEPLOY, arn, label)
            except CheckFailed as exc:
                verdict = CodeDeployVerdict(FAILED, f"CodeDeploy deployment {deployment_id} of {label} Succeeded, but "
                                                    f"a post-check failed: {exc.check.name}: {exc.check.detail}",
                                            status="Succeeded")
            else:
                record.set_outcome("deployed", verdict.reason)
                owner.notify(ctx.hooks.deployed)
                return owner.done(arn, before, deployment_id, COMPLETED, verdict.reason, started)
        ctx.log.warning(verdict.reason)
        owner.done(arn, before, deployment_id, verdict.outcome, verdict.reason, started)
        summary = self.roll_back(verdict.reason, verdict)
        raise RolloutFailed(failure_message(owner.name, deployment_id, label, verdict, summary, record,
                                            kind="CodeDeploy deployment"))

    def continue_deployment(self, timeout: float | None) -> Rollout:
        """ContinueDeployment(READY_WAIT) of the deployment ``deploy(until="test_traffic")`` left at Ready, watched
        to Succeeded and post-checked; RolloutFailed (after the rollback) when it fails."""
        __tracebackhide__ = True
        pause = self.paused
        assert pause is not None
        limit = timeout if timeout is not None else pause.timeout
        started = self.owner.clock()
        self.paused = None
        self.ctx.record.codedeploy["until"] = "completed"
        try:
            self._continue(pause.deployment_id)
        except ActionError as exc:
            return self._conclude(pause.revision, pause.label, pause.deployment_id,
                                  CodeDeployVerdict(FAILED, str(exc).rstrip(".")), started, limit)
        verdict = self._follow(pause.deployment_id, pause.revision, limit)
        return self._conclude(pause.revision, pause.label, pause.deployment_id, verdict, started, limit)

    def _post_checks(self, action: str, arn: str, label: str) -> None:
        """The PRIMARY task set runs ``arn``, steady, with every task it asks for; no other task set is left."""
        __tracebackhide__ = True
        checks = self.ctx.checks
        service = self.owner.describe()
        primary = primary_task_set(service) or {}
        checks.expect(primary.get("taskDefinition") == arn, action, "post", "PRIMARY task set on the new revision",
                      f"PRIMARY task set {primary.get('id', 'none')} runs "
                      f"{short_revision(primary.get('taskDefinition'), 'nothing')}, deployed {label}")
        running, desired = int(primary.get("runningCount") or 0), int(primary.get("computedDesiredCount") or 0)
        checks.expect(running == desired, action, "post", "runningCount == desiredCount",
                      f"{running} of {desired} tasks of the PRIMARY task set running "
                      f"({primary.get('stabilityStatus', 'stability unknown')})")
        for name, ok, detail in self.ctx.hooks.post_checks(action):
            checks.expect(ok, action, "post", name, detail)

    # -- rolling back ---------------------------------------------------------------------------------------

    def roll_back(self, why: str, verdict: Verdict | None, *, asked: bool = False) -> str:
        """Return the service to the revision before this run (the module docstring says how); a summary for
        messages. The record gets the rollback and the outcome. ``asked``: the rollback is what the user asked for
        (``ecsdeploy rollback``), so ``--no-rollback`` does not apply."""
        ctx, record, owner = self.ctx, self.ctx.record, self.owner
        if owner.rollback_summary is not None:
            return owner.rollback_summary
        failed_revision, target = record.revision_after, record.revision_before
        self.paused = None
        deployment_id = self.deployment_id
        started = owner.clock()
        rollback_id = verdict.rollback_deployment if isinstance(verdict, CodeDeployVerdict) else None
        reason = None
        if not owner.updated or deployment_id is None:
            reason = "not rolled back: this run did not change the service"
        elif not (ctx.options.rollback or asked) and rollback_id is None:
            reason = "not rolled back (--no-rollback)"
        elif target is None and rollback_id is None:
            reason = "not rolled back: CodeDeploy does not tell which revision ran before this run; roll back by hand"
        if reason is not None:
            record.set_outcome("failed", why)
            owner.rollback_summary = reason
            return reason
        assert deployment_id is not None
        record.rollback = Rollback(from_revision=failed_revision, to_revision=target)
        limit = float(ctx.wait_timeout)
        try:
            if rollback_id is None:
                status = self._status(deployment_id)
                if status not in ENDED:
                    ctx.log.warning(f"stopping CodeDeploy deployment {deployment_id} ({status}) with its rollback")
                    call(ctx.aws, "codedeploy", "stop_deployment", f"stop CodeDeploy deployment {deployment_id}",
                         who=self._who, deploymentId=deployment_id, autoRollbackEnabled=True)
                    ended = self._follow(deployment_id, failed_revision, limit, bounded=True, record_events=False)
                    rollback_id = ended.rollback_deployment if isinstance(ended, CodeDeployVerdict) else None
                    if ended.outcome == TIMED_OUT:
                        return self._rolled_back(why, ended, target, deployment_id, started, by="CodeDeploy")
            if rollback_id is not None:
                record.rollback.deployment_id = rollback_id
                ctx.log.warning(f"CodeDeploy rolls service {owner.name} back to {short_revision(target)} "
                                f"(deployment {rollback_id}); waiting for it")
                outcome = self._follow_through(rollback_id, None, limit)
                return self._rolled_back(why, outcome, target, rollback_id, started, by="CodeDeploy")
            if target is None or target == failed_revision:
                record.set_outcome("failed", why)
                owner.rollback_summary = "not rolled back: the service ran no other revision before this run"
                return owner.rollback_summary
            assert self.group is not None
            ctx.log.warning(f"rolling service {owner.name} back to {short_revision(target)}: a new CodeDeploy "
                            f"deployment")
            spec = build_appspec(owner.describe(), target, dict(ctx.service.codedeploy_hooks))
            rollback_id = self._create(target, short_revision(target), spec, self.group, rollback=True)
            record.rollback.deployment_id = rollback_id
            outcome = self._follow_through(rollback_id, target, limit)
        except EcsDeployError as exc:
            outcome = CodeDeployVerdict(FAILED, str(exc).rstrip("."))
        return self._rolled_back(why, outcome, target, record.rollback.deployment_id, started, by=None)

    def _status(self, deployment_id: str) -> str:
        info = call(self.ctx.aws, "codedeploy", "get_deployment", f"read CodeDeploy deployment {deployment_id}",
                    who=self._who, deploymentId=deployment_id).get("deploymentInfo") or {}
        return str(info.get("status"))

    def _follow_through(self, deployment_id: str, revision: str | None, limit: float) -> Verdict:
        """A rollback deployment watched until production traffic is back (Ready continued; the termination wait
        is not waited for): COMPLETED then."""
        verdict = self._follow(deployment_id, revision, limit, until="traffic_shifted", stop_at_ready=True,
                               bounded=True, record_events=False)
        if verdict.outcome == PAUSED:
            self._continue(deployment_id)
            verdict = self._follow(deployment_id, revision, limit, until="traffic_shifted", bounded=True,
                                   record_events=False)
        return replace(verdict, outcome=COMPLETED) if verdict.outcome == SHIFTED else verdict

    def _rolled_back(self, why: str, outcome: Verdict, target: str | None, deployment_id: str | None,
                     started: float, *, by: str | None) -> str:
        ctx, record, owner = self.ctx, self.ctx.record, self.owner
        seconds = owner.clock() - started
        record.timings["rollback"] = round(seconds, 3)
        assert record.rollback is not None
        label = short_revision(target)
        who = f"{by} rolled it back" if by else "rolled back"
        if outcome.outcome == COMPLETED:
            record.rollback.outcome, record.rollback.reason = "completed", outcome.reason
            summary = f"{who} to {label} (CodeDeploy deployment {deployment_id} in {seconds:.1f} s)"
            ctx.checks.passed(ROLLBACK, "post", "rolled back", summary)
            record.set_outcome("rolled back", why)
        else:
            record.rollback.outcome = outcome.outcome.lower().replace("_", " ")
            record.rollback.reason = outcome.reason
            summary = f"the rollback to {label} failed too: {outcome.reason}"
            ctx.checks.record(Check(ROLLBACK, "post", "rolled back", "failed", summary))
            record.set_outcome("rollback failed", why)
        ctx.log.warning(summary)
        owner.rollback_summary = summary
        owner.rollback_rollout = Rollout(owner.name, target, record.rollback.from_revision, deployment_id,
                                         outcome.outcome, outcome.reason, duration=seconds)
        owner.notify(ctx.hooks.rolled_back)
        return summary
