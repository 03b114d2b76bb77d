"""The CodeDeploy actions the local CodeDeploy answers (:data:`ACTIONS`), for ECS blue/green deployments.

The HTTP middleware sends every CodeDeploy JSON request (``X-Amz-Target: CodeDeploy_20141006.<Action>``) whose
action is in :data:`ACTIONS` to the rollout engine (``RolloutEngine.handle_codedeploy``), which runs the handler
under its lock at the current simulated time; applications and deployment groups stay moto's (read through
``moto_state.codedeploy_group``), but GetDeploymentGroup is answered here, to show the ``alarmConfiguration`` moto
keeps and leaves out, and so is UpdateDeploymentGroup, which moto lacks. Only ECS deployments are played:
CreateDeployment on an application of another compute platform is refused with InvalidComputePlatformException.

CreateDeployment checks, in this order (exception names from botocore codedeploy): the application and group
(ApplicationNameRequiredException, ApplicationDoesNotExistException, DeploymentGroupNameRequiredException,
DeploymentGroupDoesNotExistException, InvalidComputePlatformException), the group's ECS settings
(InvalidECSServiceException when ``ecsServices`` does not name one ACTIVE CODE_DEPLOY service;
InvalidLoadBalancerInfoException without one target group pair of two existing target groups and a production
listener; InvalidDeploymentGroupNameException without a BLUE_GREEN WITH_TRAFFIC_CONTROL ``deploymentStyle``), the
deployment config (DeploymentConfigDoesNotExistException), the revision (``appspec.read_revision``; the AppSpec's
task definition must exist, InvalidRevisionException), and one deployment under way per group
(DeploymentLimitExceededException).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import moto_state
from ..ecs.models import RegionState, TaskDefinitionInfo
from . import configs
from .appspec import check_against, read_revision
from .deployments import ROLLBACK_CREATOR, CodeDeployments, EcsDeployment, new_id
from .errors import CodeDeployError

if TYPE_CHECKING:
    from ..ecs.simulation import Simulation

Params = dict[str, Any]
TARGET_PREFIX = "CodeDeploy_20141006."
MAX_ALARMS = 10  # alarms per deployment group (botocore codedeploy AlarmsLimitExceededException)
MAX_ALARM_NAME = 255  # characters of an alarm's name (botocore codedeploy InvalidAlarmConfigException)
_OVERVIEW = ("Pending", "InProgress", "Succeeded", "Failed", "Skipped", "Ready")


def _required(params: Params, key: str, exception: str, what: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise CodeDeployError(exception, f"{what} must be specified.")
    return value


def _deployment(sim: Simulation, params: Params) -> EcsDeployment:
    deployment_id = _required(params, "deploymentId", "DeploymentIdRequiredException", "The deployment ID")
    found = sim.codedeploy.deployments.get(deployment_id)
    if found is None:
        raise CodeDeployError("DeploymentDoesNotExistException",
                              f"The deployment {deployment_id} could not be found.")
    return found


def _task_definition(state: RegionState, reference: str) -> TaskDefinitionInfo:
    name = reference.rsplit("/", 1)[-1]
    family, _, revision = name.partition(":")
    found = moto_state.ecs_task_definition(state.account, state.region, family,
                                           int(revision) if revision.isdigit() else None)
    if found is None or (revision and not revision.isdigit()) or found.status != "ACTIVE":
        raise CodeDeployError("InvalidRevisionException",
                              f"The AppSpec's task definition {reference} does not exist or is not ACTIVE.")
    return TaskDefinitionInfo(found.arn, found.family, found.revision, tuple(found.container_definitions), found.cpu,
                              found.memory, found.network_mode, found.requires_compatibilities)


def create_deployment(sim: Simulation, state: RegionState, params: Params) -> Params:
    application = _required(params, "applicationName", "ApplicationNameRequiredException", "The application name")
    group_name = _required(params, "deploymentGroupName", "DeploymentGroupNameRequiredException",
                           "The deployment group name")
    platform, group = _located(state, application, group_name)
    if platform != "ECS":
        raise CodeDeployError("InvalidComputePlatformException",
                              f"The local CodeDeploy plays ECS deployments only; application {application} is "
                              f"for {platform}.")
    service = _group_service(state, group)
    tgs = _target_groups(state, group)
    style = group.get("deploymentStyle") or {}
    if (style.get("deploymentType"), style.get("deploymentOption")) != ("BLUE_GREEN", "WITH_TRAFFIC_CONTROL"):
        raise CodeDeployError("InvalidDeploymentGroupNameException",
                              f"The deployment group {group_name} must have deploymentStyle BLUE_GREEN with "
                              "WITH_TRAFFIC_CONTROL for an ECS deployment.")
    config_name = configs.checked(params.get("deploymentConfigName") or group.get("deploymentConfigName")
                                  or configs.DEFAULT)
    spec, digest = read_revision(params.get("revision"))
    taskdef = _task_definition(state, spec.task_definition)
    check_against(spec, taskdef.containers)
    running = sim.codedeploy.active_in_group(application, group_name)
    if running is not None:
        raise CodeDeployError("DeploymentLimitExceededException",
                              f"The Deployment Group '{group_name}' already has an active Deployment "
                              f"'{running.id}'")
    blue = service.primary
    serving = (blue.load_balancers if blue.load_balancers is not None else service.load_balancers) or [{}]
    names = list(tgs)
    blue_name = next((n for n in names if tgs[n] == serving[0].get("targetGroupArn")), names[0])
    green_name = next(n for n in names if n != blue_name)
    auto_rollback = params.get("autoRollbackConfiguration") or group.get("autoRollbackConfiguration") or {}
    override = params.get("overrideAlarmConfiguration")
    if override is not None:
        check_alarms(override)
    description = params.get("description")
    deployment = EcsDeployment(
        new_id(sim.rng), state.account, state.region, application, group_name, group, config_name, service.key,
        service.arn, spec, taskdef, digest, sim.now, dict(auto_rollback),
        description=str(description) if description is not None else None,
        alarms=dict(override if override is not None else group.get("alarmConfiguration") or {}),
        alarm_override=override is not None, blue_id=blue.id,
        blue_tg=tgs[blue_name], green_tg=tgs[green_name], blue_tg_name=blue_name, green_tg_name=green_name,
        updated=sim.now)
    sim.codedeploy.add(deployment)
    return {"deploymentId": deployment.id}


def _group_service(state: RegionState, group: Params) -> Any:
    services = group.get("ecsServices") or []
    if len(services) != 1:
        raise CodeDeployError("InvalidECSServiceException",
                              "The deployment group must name exactly one ECS service in ecsServices.")
    key = (str(services[0].get("clusterName", "")), str(services[0].get("serviceName", "")))
    service = state.services.get(key)
    if service is None or service.status != "ACTIVE":
        raise CodeDeployError("InvalidECSServiceException",
                              f"The ECS service {key[1]} in cluster {key[0]} does not exist or is not ACTIVE.")
    if service.controller != "CODE_DEPLOY":
        raise CodeDeployError("InvalidECSServiceException",
                              f"The ECS service {key[1]} does not use the CODE_DEPLOY deployment controller.")
    return service


def _target_groups(state: RegionState, group: Params) -> dict[str, str]:
    """Target group name -> ARN of the group's one target group pair."""
    pairs = (group.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or []
    if len(pairs) != 1:
        raise CodeDeployError("InvalidLoadBalancerInfoException",
                              "The deployment group's loadBalancerInfo must have one targetGroupPairInfoList item.")
    pair = pairs[0]
    names = [str(g.get("name", "")) for g in pair.get("targetGroups") or []]
    if len(names) != 2 or names[0] == names[1]:
        raise CodeDeployError("InvalidLoadBalancerInfoException",
                              "The deployment group's target group pair must name two target groups.")
    if not (pair.get("prodTrafficRoute") or {}).get("listenerArns"):
        raise CodeDeployError("InvalidLoadBalancerInfoException",
                              "The deployment group's target group pair must have a prodTrafficRoute listener.")
    found: dict[str, str] = {}
    for name in names:
        arn = moto_state.elbv2_target_group_arn(state.account, state.region, name)
        if arn is None:
            raise CodeDeployError("InvalidLoadBalancerInfoException", f"The target group {name} does not exist.")
        found[name] = arn
    return found


def deployment_json(d: EcsDeployment) -> Params:
    """DeploymentInfo (botocore codedeploy); the revision's content is left out, as GetDeployment does."""
    group = d.group
    target_status = {"Created": "Pending", "Stopped": "Failed"}.get(d.status, d.status)
    overview = {key: int(key == target_status) for key in _OVERVIEW}
    body: Params = {
        "applicationName": d.application, "deploymentGroupName": d.group_name,
        "deploymentConfigName": d.config_name, "deploymentId": d.id, "status": d.status, "createTime": d.created,
        "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"sha256": d.sha256}},
        "deploymentOverview": overview, "creator": d.creator, "computePlatform": "ECS",
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "blueGreenDeploymentConfiguration": group.get("blueGreenDeploymentConfiguration") or {},
        "loadBalancerInfo": group.get("loadBalancerInfo") or {}, "deploymentStatusMessages": [],
        "ignoreApplicationStopFailures": False, "updateOutdatedInstancesOnly": False,
    }
    for key, value in (("startTime", d.started), ("completeTime", d.completed), ("errorInformation", d.error),
                       ("rollbackInfo", d.rollback_info), ("description", d.description),
                       ("overrideAlarmConfiguration", d.alarms if d.alarm_override else None),
                       ("autoRollbackConfiguration", d.auto_rollback or None),
                       ("instanceTerminationWaitTimeStarted", True if d.termination_started is not None else None)):
        if value is not None:
            body[key] = value
    return body


def get_deployment(sim: Simulation, state: RegionState, params: Params) -> Params:
    return {"deploymentInfo": deployment_json(_deployment(sim, params))}


def batch_get_deployments(sim: Simulation, state: RegionState, params: Params) -> Params:
    ids = params.get("deploymentIds") or []
    return {"deploymentsInfo": [deployment_json(sim.codedeploy.deployments[i]) for i in ids
                                if i in sim.codedeploy.deployments]}


def list_deployments(sim: Simulation, state: RegionState, params: Params) -> Params:
    statuses = params.get("includeOnlyStatuses") or []
    found = [d for d in sim.codedeploy.deployments.values()
             if (d.account, d.region) == (state.account, state.region)
             and params.get("applicationName") in (None, d.application)
             and params.get("deploymentGroupName") in (None, d.group_name)
             and (not statuses or d.status in statuses)]
    return {"deployments": [d.id for d in sorted(found, key=lambda d: d.created, reverse=True)]}


def _target(sim: Simulation, params: Params) -> EcsDeployment:
    d = _deployment(sim, params)
    if d.status == "Created":
        raise CodeDeployError("DeploymentNotStartedException", f"The deployment {d.id} has not started.")
    return d


def get_deployment_target(sim: Simulation, state: RegionState, params: Params) -> Params:
    d = _target(sim, params)
    target = _required(params, "targetId", "DeploymentTargetIdRequiredException", "The target ID")
    if target != d.target_id:
        raise CodeDeployError("DeploymentTargetDoesNotExistException",
                              f"The target {target} is not part of deployment {d.id}.")
    return {"deploymentTarget": {"deploymentTargetType": "ECSTarget",
                                 "ecsTarget": sim.codedeploy.target_json(state, d)}}


def batch_get_deployment_targets(sim: Simulation, state: RegionState, params: Params) -> Params:
    d = _target(sim, params)
    targets = params.get("targetIds") or []
    for target in targets:
        if target != d.target_id:
            raise CodeDeployError("DeploymentTargetDoesNotExistException",
                                  f"The target {target} is not part of deployment {d.id}.")
    return {"deploymentTargets": [{"deploymentTargetType": "ECSTarget",
                                   "ecsTarget": sim.codedeploy.target_json(state, d)} for _ in targets]}


def list_deployment_targets(sim: Simulation, state: RegionState, params: Params) -> Params:
    d = _target(sim, params)
    status = sim.codedeploy.target_json(state, d)["status"]
    filters = params.get("targetFilters") or {}
    wanted = filters.get("TargetStatus")
    return {"targetIds": [d.target_id] if not wanted or status in wanted else []}


def continue_deployment(sim: Simulation, state: RegionState, params: Params) -> Params:
    d = _deployment(sim, params)
    wait = params.get("deploymentWaitType") or "READY_WAIT"
    if wait not in ("READY_WAIT", "TERMINATION_WAIT"):
        raise CodeDeployError("InvalidDeploymentWaitTypeException",
                              "The wait type must be READY_WAIT or TERMINATION_WAIT.")
    if d.finished or d.creator == ROLLBACK_CREATOR:
        raise CodeDeployError("DeploymentAlreadyCompletedException", f"The deployment {d.id} has already completed.")
    if wait == "READY_WAIT":
        if d.status != "Ready":
            raise CodeDeployError("DeploymentIsNotInReadyStateException",
                                  f"The deployment {d.id} is not in a Ready state.")
        sim.codedeploy.continue_ready(state, d, sim.now)
    else:
        if d.waiting != "termination":
            raise CodeDeployError("DeploymentIsNotInReadyStateException",
                                  f"The deployment {d.id} is not waiting to terminate the original task set.")
        sim.codedeploy.skip_termination_wait(d, sim.now)
    return {}


def stop_deployment(sim: Simulation, state: RegionState, params: Params) -> Params:
    d = _deployment(sim, params)
    if d.finished or d.creator == ROLLBACK_CREATOR:
        raise CodeDeployError("DeploymentAlreadyCompletedException", f"The deployment {d.id} has already completed.")
    rollback = params.get("autoRollbackEnabled")
    sim.codedeploy.stop(state, d, sim.now, None if rollback is None else bool(rollback))
    return {"status": "Pending", "statusMessage": "Stopping Active deployment"}


def get_deployment_config(sim: Simulation, state: RegionState, params: Params) -> Params:
    name = _required(params, "deploymentConfigName", "DeploymentConfigNameRequiredException",
                     "The deployment config name")
    return {"deploymentConfigInfo": configs.config_json(configs.checked(name))}


def check_alarms(config: Any) -> None:
    """An alarmConfiguration CodeDeploy refuses (botocore codedeploy InvalidAlarmConfigException: an alarm without
    a name or with one over 255 characters, two alarms of one name, enabled without alarms;
    AlarmsLimitExceededException: more than 10 alarms). The messages are this emulator's."""
    if not isinstance(config, dict):
        raise CodeDeployError("InvalidAlarmConfigException", "The alarm configuration must be an object.")
    alarms = config.get("alarms") or []
    if not isinstance(alarms, list):
        raise CodeDeployError("InvalidAlarmConfigException", "The alarm configuration's alarms must be a list.")
    names = [a.get("name") if isinstance(a, dict) else None for a in alarms]
    if any(not isinstance(n, str) or not 0 < len(n) <= MAX_ALARM_NAME for n in names):
        raise CodeDeployError("InvalidAlarmConfigException",
                              f"Each alarm must have a name of 1 to {MAX_ALARM_NAME} characters.")
    if len(set(names)) < len(names):
        raise CodeDeployError("InvalidAlarmConfigException", "Two alarms have the same name.")
    if config.get("enabled") and not names:
        raise CodeDeployError("InvalidAlarmConfigException", "The alarm configuration is enabled, but the alarm list "
                                                             "is empty.")
    if len(names) > MAX_ALARMS:
        raise CodeDeployError("AlarmsLimitExceededException",
                              f"The maximum number of alarms for a deployment group ({MAX_ALARMS}) was exceeded.")


def check_group(engine: Any, account: str, region: str, params: Params) -> None:
    """A CreateDeploymentGroup (or UpdateDeploymentGroup) request CodeDeploy refuses: a deploymentReadyOption of
    CONTINUE_DEPLOYMENT with a waitTimeInMinutes (InvalidBlueGreenDeploymentConfigurationException, with the
    message terraform-provider-aws#9653 quotes), a termination wait past 2880 minutes, a deployment config
    that is not a predefined ECS one for an ECS group (DeploymentConfigDoesNotExistException), or an
    alarmConfiguration :func:`check_alarms` refuses."""
    if params.get("alarmConfiguration") is not None:
        check_alarms(params["alarmConfiguration"])
    blue_green = params.get("blueGreenDeploymentConfiguration") or {}
    ready = blue_green.get("deploymentReadyOption") or {}
    if ready.get("actionOnTimeout") == "CONTINUE_DEPLOYMENT" and ready.get("waitTimeInMinutes"):
        raise CodeDeployError("InvalidBlueGreenDeploymentConfigurationException",
                              "Deployment ready action cannot be set to 'CONTINUE_DEPLOYMENT' when timeout is "
                              "specified")
    terminate = blue_green.get("terminateBlueInstancesOnDeploymentSuccess") or {}
    if int(terminate.get("terminationWaitTimeInMinutes") or 0) > 2880:
        raise CodeDeployError("InvalidBlueGreenDeploymentConfigurationException",
                              "terminationWaitTimeInMinutes must be at most 2880.")
    if params.get("ecsServices") and params.get("deploymentConfigName"):
        configs.checked(params["deploymentConfigName"])


def _group(state: RegionState, application: str, group_name: str) -> Params:
    return _located(state, application, group_name)[1]


def _located(state: RegionState, application: str, group_name: str) -> tuple[str, Params]:
    """(the application's computePlatform, the deployment group as GetDeploymentGroup shows it); CodeDeploy's
    errors when either does not exist."""
    platform, group = moto_state.codedeploy_group(state.account, state.region, application, group_name)
    if platform is None:
        raise CodeDeployError("ApplicationDoesNotExistException",
                              f"The application {application} does not exist with the user or AWS account.")
    if group is None:
        raise CodeDeployError("DeploymentGroupDoesNotExistException",
                              f"The deployment group {group_name} does not exist with the user or AWS account.")
    return platform, group


def get_deployment_group(sim: Simulation, state: RegionState, params: Params) -> Params:
    """GetDeploymentGroup as moto answers it, with the alarmConfiguration moto keeps but does not show."""
    application = _required(params, "applicationName", "ApplicationNameRequiredException", "The application name")
    name = _required(params, "deploymentGroupName", "DeploymentGroupNameRequiredException",
                     "The deployment group name")
    return {"deploymentGroupInfo": _group(state, application, name)}


def update_deployment_group(sim: Simulation, state: RegionState, params: Params) -> Params:
    """UpdateDeploymentGroup (moto has none): the settings given replace the group's, checked as
    CreateDeploymentGroup's are; a deployment already created keeps the settings it started with."""
    application = _required(params, "applicationName", "ApplicationNameRequiredException", "The application name")
    name = _required(params, "currentDeploymentGroupName", "DeploymentGroupNameRequiredException",
                     "The deployment group name")
    group = _group(state, application, name)
    check_group(None, state.account, state.region, {"ecsServices": group.get("ecsServices"), **params})
    renamed = params.get("newDeploymentGroupName")
    if renamed and renamed != name and moto_state.codedeploy_group(state.account, state.region, application,
                                                                   str(renamed))[1] is not None:
        raise CodeDeployError("DeploymentGroupAlreadyExistsException",
                              f"Deployment group {renamed} already exists.")
    moto_state.codedeploy_update_group(state.account, state.region, application, name, params)
    return {"hooksNotCleanedUp": []}


#: Checks of the CodeDeploy requests moto answers, by operation name (the middleware runs them first).
BEFORE_MOTO: dict[str, Callable[[Any, str, str, Params], None]] = {
    "CreateDeploymentGroup": check_group,
}


@dataclass(frozen=True)
class Action:
    """One CodeDeploy operation: its handler (simulation, region state, request body -> response body) and
    whether it changes state (the scheduler then reacts at the instant of the request)."""

    handler: Callable[[Simulation, RegionState, Params], Params]
    mutating: bool


#: What the local CodeDeploy answers, by operation name; everything else of CodeDeploy stays moto's.
ACTIONS: dict[str, Action] = {
    "CreateDeployment": Action(create_deployment, mutating=True),
    "GetDeployment": Action(get_deployment, mutating=False),
    "BatchGetDeployments": Action(batch_get_deployments, mutating=False),
    "ListDeployments": Action(list_deployments, mutating=False),
    "GetDeploymentTarget": Action(get_deployment_target, mutating=False),
    "BatchGetDeploymentTargets": Action(batch_get_deployment_targets, mutating=False),
    "ListDeploymentTargets": Action(list_deployment_targets, mutating=False),
    "ContinueDeployment": Action(continue_deployment, mutating=True),
    "StopDeployment": Action(stop_deployment, mutating=True),
    "GetDeploymentConfig": Action(get_deployment_config, mutating=False),
    "GetDeploymentGroup": Action(get_deployment_group, mutating=False),
    "UpdateDeploymentGroup": Action(update_deployment_group, mutating=True),
}

__all__ = ["ACTIONS", "BEFORE_MOTO", "TARGET_PREFIX", "Action", "CodeDeployments"]
