"""Service deployments and service revisions: ECS's history of a service's rolling deployments, kept beside the
engine's deployments as they change, and the four actions that read or stop it (ListServiceDeployments,
DescribeServiceDeployments, DescribeServiceRevisions, StopServiceDeployment).

ECS creates a service deployment when a service is created, updated with ``forceNewDeployment``, or updated in a
property that needs a deployment (AWS doc service-deployment.html): here, whenever a deployment the engine makes
for CreateService or UpdateService becomes PRIMARY (:meth:`ServiceDeployments.record_new`). Each one deploys a
new service revision (the task definition, launch type, network and load balancers it runs, and the images'
digests) from the revisions still running (``sourceServiceRevisions``). A rollback is part of the service
deployment it rolls back, not a new one: the engine's rollback deployment restores the revision of the service's
last completed deployment, and ``rollback`` names it.

Statuses (botocore ecs ServiceDeploymentStatus; the groups and StopServiceDeployment's transitions from AWS docs
service-deployment.html and stop-service-deployment.html), as the engine's deployments move
(:meth:`ServiceDeployments.observe` runs after every simulated step)::

    PENDING ──(next instant)──> IN_PROGRESS ──(rolloutState COMPLETED)──> SUCCESSFUL
                                   ├──(breaker trips, no rollback)──> STOPPED (stoppedAt)
                                   ├──(a newer deployment becomes PRIMARY)──> STOPPED
                                   └──(breaker trips, rollback on)──> ROLLBACK_IN_PROGRESS
    PENDING or IN_PROGRESS ──(StopServiceDeployment ROLLBACK)──> ROLLBACK_REQUESTED (stoppedAt)
    ROLLBACK_REQUESTED ──(next instant)──> ROLLBACK_IN_PROGRESS ──(rollback COMPLETED)──> ROLLBACK_SUCCESSFUL
                                            ├──(rollback FAILED)──> ROLLBACK_FAILED
                                            └──(a newer deployment becomes PRIMARY)──> STOPPED

"Next instant" is the first simulated step after the request's own, so a client reading at the request's instant
sees PENDING or ROLLBACK_REQUESTED.

``deploymentCircuitBreaker.status`` is DISABLED without the breaker, MONITORING while the deployment runs,
MONITORING_COMPLETE once it succeeded and TRIGGERED when it tripped; ``failureCount`` is the failed tasks the
breaker counted, ``threshold`` :func:`models.breaker_threshold`. ``alarms`` is DISABLED unless a blue/green, linear
or canary deployment watches enabled CloudWatch alarms (``bluegreen.py``). A revision's task counts are live while
its deployment runs and frozen when it finishes (ECS: "the number of running tasks when the deployment completes").
Deleting a service forgets its history, as ECS does.

A service deploying with the BLUE_GREEN, LINEAR or CANARY strategy steps its service deployments (all but its
first) through lifecycle stages instead: ``bluegreen.py`` decides their statuses, ``lifecycleStage`` and the
revisions' requested traffic weights, and rolls them back by moving traffic back to the revision they replace.

The wording of ``statusReason`` and ``rollback.reason`` for a rollback a user asked for, a superseded deployment
and a deleted service, and the refusals' messages, are the engine's own (ECS's are unpublished); the circuit
breaker's reason is the deployment's ``rolloutStateReason``.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..clock import Timings
from . import bluegreen, events, models
from .exceptions import ConflictException, InvalidParameterException, ServiceDeploymentNotFoundException
from .models import Deployment, RegionState, Service, Task, TaskDefinitionInfo

Params = dict[str, Any]
_Found = TypeVar("_Found")

# Every status ECS has (the values ListServiceDeployments filters on); the engine never makes STOP_REQUESTED, which
# only a stop without rollback (stopType ABORT, which ECS does not take yet) would.
STATUSES = ("PENDING", "SUCCESSFUL", "STOPPED", "STOP_REQUESTED", "IN_PROGRESS", "ROLLBACK_REQUESTED",
            "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
FINISHED = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
ROLLING_BACK = ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
MAX_DESCRIBED = 20  # DescribeServiceDeployments and DescribeServiceRevisions take up to 20 ARNs (AWS API reference)

USER_ROLLBACK_REASON = "StopServiceDeployment requested a rollback to the previous service revision."
SUPERSEDED_REASON = "A newer service deployment started before this one finished."
SERVICE_DELETED_REASON = "The service was deleted."

_ID_CHARACTERS = string.ascii_letters + string.digits + "-_"


@dataclass(eq=False)
class ServiceRevision:
    """What one deployment runs, as DescribeServiceRevisions shows it; immutable once made."""

    id: str
    arn: str
    service_arn: str
    cluster_arn: str
    task_definition: TaskDefinitionInfo
    launch_type: str
    platform_version: str | None
    network_configuration: dict[str, Any] | None
    load_balancers: list[dict[str, Any]]
    service_registries: list[dict[str, Any]]
    capacity_provider_strategy: list[dict[str, Any]] | None
    container_images: list[dict[str, str]]
    created_at: float


@dataclass(eq=False)
class ServiceDeployment:
    """One service deployment: ``deployment`` is the engine's deployment of ``target``, ``rollback_deployment``
    the engine's rollback deployment once one started; times are epoch seconds of simulated time."""

    id: str
    arn: str
    service: Service
    deployment: Deployment
    target: ServiceRevision
    sources: list[ServiceRevision]
    configuration: Params
    created_at: float
    updated_at: float
    status: str = "PENDING"
    status_reason: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    stopped_at: float | None = None
    rollback: Params | None = None
    rollback_deployment: Deployment | None = None
    failure_count: int = 0
    breaker_triggered: bool = False
    frozen_counts: dict[str, tuple[int, int, int]] | None = None  # revision ARN -> (requested, running, pending)
    lifecycle: bluegreen.Lifecycle | None = None  # a BLUE_GREEN, LINEAR or CANARY deployment's stages

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass(eq=False)
class _History:
    """One service's service deployments (oldest first) and revisions; ``revision_of`` maps each engine
    deployment id (rollback deployments included) to the revision it runs."""

    service: Service
    deployments: list[ServiceDeployment] = field(default_factory=list)
    revisions: dict[str, ServiceRevision] = field(default_factory=dict)
    revision_of: dict[str, ServiceRevision] = field(default_factory=dict)


class ServiceDeployments:
    """The service deployments of every service of the engine, by (account, region, cluster name, service name).

    ``image_aliases`` gives the other names of an image (its digest first, for an image of the local ECR; see
    ``responses.image_aliases``), ``rng`` the ids.
    """

    def __init__(self, image_aliases: Callable[[str], tuple[str, ...]], rng: random.Random) -> None:
        self.image_aliases = image_aliases
        self.rng = rng
        self._histories: dict[tuple[str, str, str, str], _History] = {}
        self.hook_answers = bluegreen.HookAnswers()  # what AWS_LAMBDA hooks' functions answer

    # Recording ------------------------------------------------------------------------------------------------

    def record_new(self, service: Service, t: float) -> None:
        """After CreateService or UpdateService: when its PRIMARY deployment is new (and not a rollback), it starts
        a service deployment, PENDING at ``t``, from the revisions the service's other deployments run."""
        history = self._history(service)
        primary = service.primary
        if primary.id in history.revision_of or primary.is_rollback:
            return
        sources: list[ServiceRevision] = []
        for other in service.deployments[1:]:
            revision = history.revision_of.get(other.id)
            if revision is not None and all(revision is not source for source in sources):
                sources.append(revision)
        target = self._new_revision(service, primary, t)
        history.revisions[target.arn] = target
        history.revision_of[primary.id] = target
        deployment_id = "".join(self.rng.choice(_ID_CHARACTERS) for _ in range(20))
        arn = (f"arn:aws:ecs:{service.region}:{service.account}:service-deployment/{service.cluster_name}/"
               f"{service.name}/{deployment_id}")
        record = ServiceDeployment(deployment_id, arn, service, primary, target, sources,
                                   _configuration_json(service.config), t, t)
        if sources:
            record.lifecycle = bluegreen.start(service, primary, t, self.rng, self.hook_answers)
        history.deployments.append(record)

    def lifecycle_due(self, timings: Timings) -> list[float]:
        """When the blue/green stages under way end by the clock alone (epoch seconds of simulated time)."""
        return [due for history in self._histories.values() for record in history.deployments
                if record.lifecycle is not None and not record.finished
                and (due := record.lifecycle.due(timings)) is not None]

    def observe(self, state: RegionState, t: float, timings: Timings) -> bool:
        """After a simulated step at ``t``: move every unfinished service deployment of ``state`` along with the
        engine's deployments, and forget the histories of services that are gone. True when what a blue/green
        deployment lets the scheduler do changed (``Service.hold``): the scheduler must look again at ``t``."""
        held = False
        for key in [k for k in self._histories if k[:2] == (state.account, state.region)]:
            history = self._histories[key]
            if state.services.get(key[2:]) is not history.service:
                del self._histories[key]
                continue
            service = history.service
            primary = service.deployments[0] if service.deployments else None
            if primary is not None and primary.is_rollback and primary.id not in history.revision_of:
                self._attach_breaker_rollback(history, primary, t)
            for record in history.deployments:
                if not record.finished:
                    self._advance(state, history, record, t, timings)
            newest = history.deployments[-1].lifecycle if history.deployments else None
            hold = newest.hold if newest is not None and not newest.done else None
            if service.hold != hold:
                service.hold, held = hold, True
        return held

    def _attach_breaker_rollback(self, history: _History, rollback: Deployment, t: float) -> None:
        """The circuit breaker made ``rollback`` PRIMARY: it belongs to the service deployment whose engine
        deployment just FAILED, and restores the revision of the service's last completed deployment."""
        service = history.service
        failed = next((r for r in reversed(history.deployments) if r.deployment.rollout_state == "FAILED"
                       and r.rollback_deployment is None and not r.finished), None)
        completed = service.last_completed
        restored = history.revision_of.get(completed.id) if completed is not None else None
        if failed is None or restored is None:
            return
        history.revision_of[rollback.id] = restored
        failed.rollback_deployment = rollback
        failed.rollback = {"reason": failed.deployment.rollout_state_reason, "startedAt": t,
                           "serviceRevisionArn": restored.arn}
        failed.breaker_triggered = True
        failed.status = "ROLLBACK_IN_PROGRESS"
        failed.status_reason = failed.deployment.rollout_state_reason
        failed.updated_at = t

    def _advance(self, state: RegionState, history: _History, record: ServiceDeployment, t: float,
                 timings: Timings) -> None:
        service, deployment = history.service, record.deployment
        if not deployment.succeeded:
            record.failure_count = max(record.failure_count, deployment.failed_tasks)
        if service.status != "ACTIVE":
            self._finish(state, history, record, "STOPPED", t, SERVICE_DELETED_REASON)
            return
        if record.status == "PENDING":
            if t <= record.created_at:  # the request's own instant: the scheduler starts it at the next one
                return
            record.status, record.started_at, record.updated_at = "IN_PROGRESS", t, t
        if record.lifecycle is not None:
            self._advance_lifecycle(state, history, record, record.lifecycle, t, timings)
            return
        rollback = record.rollback_deployment
        if rollback is None:
            if deployment.rollout_state == "COMPLETED":
                self._finish(state, history, record, "SUCCESSFUL", t)
            elif deployment.rollout_state == "FAILED" and deployment is service.primary:
                record.breaker_triggered = True
                record.stopped_at = t
                self._finish(state, history, record, "STOPPED", t, deployment.rollout_state_reason)
            elif deployment is not service.primary:
                self._finish(state, history, record, "STOPPED", t, SUPERSEDED_REASON)
            return
        if record.status == "ROLLBACK_REQUESTED":
            if record.rollback is not None and t <= record.rollback["startedAt"]:
                return
            record.status, record.updated_at = "ROLLBACK_IN_PROGRESS", t
        if rollback.rollout_state == "COMPLETED":
            self._finish(state, history, record, "ROLLBACK_SUCCESSFUL", t)
        elif rollback.rollout_state == "FAILED":
            self._finish(state, history, record, "ROLLBACK_FAILED", t, rollback.rollout_state_reason)
        elif rollback is not service.primary:
            self._finish(state, history, record, "STOPPED", t, SUPERSEDED_REASON)

    def _advance_lifecycle(self, state: RegionState, history: _History, record: ServiceDeployment,
                           lifecycle: bluegreen.Lifecycle, t: float, timings: Timings) -> None:
        """A blue/green, linear or canary service deployment: its stages (``bluegreen.py``) decide; a circuit
        breaker that trips rolls it back (ROLLBACK_IN_PROGRESS) or, without rollback, stops it."""
        if record.status == "ROLLBACK_REQUESTED":
            if record.rollback is not None and t <= record.rollback["startedAt"]:
                return
            record.status, record.updated_at = "ROLLBACK_IN_PROGRESS", t
        green = record.deployment
        tripped = green.rollout_state == "FAILED" and not lifecycle.rolling_back
        stage = lifecycle.stage

        def finish(status: str, reason: str | None) -> None:
            self._finish(state, history, record, status, t, reason)

        bluegreen.advance(state, history.service, lifecycle, t, timings, finish, SUPERSEDED_REASON)
        if tripped:
            record.breaker_triggered = True
            record.status_reason = green.rollout_state_reason
            if record.status == "STOPPED":
                record.stopped_at = t
        if lifecycle.rolling_back and record.rollback is None:  # the circuit breaker or a hook rolls it back
            reason = green.rollout_state_reason if tripped else lifecycle.reason
            restored = history.revision_of.get(lifecycle.blue.id)
            record.rollback = {"reason": reason, "startedAt": t,
                               "serviceRevisionArn": restored.arn if restored else None}
            record.status, record.status_reason = "ROLLBACK_IN_PROGRESS", reason
        if lifecycle.triggered and record.status == "STOPPED" and record.stopped_at is None:
            record.stopped_at = t  # an alarm without rollback
        if tripped or lifecycle.stage != stage:
            record.updated_at = t

    def _finish(self, state: RegionState, history: _History, record: ServiceDeployment, status: str, t: float,
                reason: str | None = None) -> None:
        record.frozen_counts = {
            revision.arn: _revision_counts(state, history, revision) for revision in (*record.sources, record.target)
        }
        record.status, record.finished_at, record.updated_at = status, t, t
        if reason is not None:
            record.status_reason = reason

    # StopServiceDeployment ------------------------------------------------------------------------------------

    def stop(self, state: RegionState, params: Params, t: float) -> Params:
        """StopServiceDeployment: ``stopType`` ROLLBACK (the default; the only one ECS takes) of a PENDING or
        IN_PROGRESS service deployment makes a deployment of the service's last completed revision PRIMARY and
        the service deployment ROLLBACK_REQUESTED (stoppedAt ``t``); one already rolling back continues.
        Raises InvalidParameterException (no ARN, a stopType other than ROLLBACK),
        ServiceDeploymentNotFoundException (no such service deployment), ConflictException (finished, which
        includes a deleted service's, or nothing completed to roll back to)."""
        arn = params.get("serviceDeploymentArn")
        if not isinstance(arn, str) or not arn:
            raise InvalidParameterException("serviceDeploymentArn must be specified.")
        stop_type = params.get("stopType", "ROLLBACK")
        if stop_type != "ROLLBACK":
            raise InvalidParameterException(f"stopType must be ROLLBACK, got {stop_type}.")
        found = self._find(state, arn, "service-deployment")
        record = None if found is None else self._record(*found)
        if found is None or record is None:
            raise ServiceDeploymentNotFoundException()
        history = found[0]
        if record.status in ROLLING_BACK:
            return {"serviceDeploymentArn": record.arn}
        if record.finished:
            raise ConflictException(f"The service deployment is {record.status} and can no longer be stopped.")
        service = history.service
        if record.lifecycle is not None:  # traffic moves back to the revision still running beside it
            bluegreen.roll_back(service, record.lifecycle, t)
            restored = history.revision_of.get(record.lifecycle.blue.id)
            record.rollback = {"reason": USER_ROLLBACK_REASON, "startedAt": t,
                               "serviceRevisionArn": restored.arn if restored else None}
            record.status, record.status_reason, record.stopped_at, record.updated_at = (
                "ROLLBACK_REQUESTED", USER_ROLLBACK_REASON, t, t)
            return {"serviceDeploymentArn": record.arn}
        completed = service.last_completed
        restored = history.revision_of.get(completed.id) if completed is not None else None
        if completed is None or restored is None:
            raise ConflictException("The service has no completed service revision to roll back to.")
        rollback = Deployment(models.new_deployment_id(self.rng), completed.task_definition, t, t,
                              completed.launch_type, completed.platform_version, completed.network_configuration,
                              is_rollback=True,
                              rollout_state_reason=events.ROLLBACK_REASON.format(deployment=completed.id))
        service.add_event(t, events.ROLLING_BACK.format(deployment=completed.id))
        models.add_deployment(service, rollback)
        history.revision_of[rollback.id] = restored
        record.rollback_deployment = rollback
        record.rollback = {"reason": USER_ROLLBACK_REASON, "startedAt": t, "serviceRevisionArn": restored.arn}
        record.status, record.status_reason, record.stopped_at, record.updated_at = (
            "ROLLBACK_REQUESTED", USER_ROLLBACK_REASON, t, t)
        return {"serviceDeploymentArn": record.arn}

    # ContinueServiceDeployment --------------------------------------------------------------------------------

    def continue_deployment(self, state: RegionState, params: Params, t: float) -> Params:
        """ContinueServiceDeployment: ``action`` CONTINUE (the default) or ROLLBACK on the PAUSE hook ``hookId``
        that the service deployment's current stage awaits (``bluegreen.resolve``). Raises
        InvalidParameterException (no ARN or hook id, another action, no such hook awaiting action) and
        ServiceDeploymentNotFoundException."""
        arn, hook_id = params.get("serviceDeploymentArn"), params.get("hookId")
        if not isinstance(arn, str) or not arn or not isinstance(hook_id, str) or not hook_id:
            raise InvalidParameterException("serviceDeploymentArn and hookId must be specified.")
        action = params.get("action", "CONTINUE")
        if action not in ("CONTINUE", "ROLLBACK"):
            raise InvalidParameterException(f"action must be CONTINUE or ROLLBACK, got {action}.")
        found = self._find(state, arn, "service-deployment")
        record = None if found is None else self._record(*found)
        if found is None or record is None:
            raise ServiceDeploymentNotFoundException()
        lifecycle = record.lifecycle
        hook = lifecycle.hook(hook_id) if lifecycle is not None and not record.finished else None
        if lifecycle is None or hook is None or lifecycle.rolling_back:
            raise InvalidParameterException(f"The service deployment has no lifecycle hook {hook_id} awaiting action.")
        bluegreen.resolve(found[0].service, lifecycle, hook, str(action), t)
        record.updated_at = t
        return {"serviceDeploymentArn": record.arn}

    # Reads ----------------------------------------------------------------------------------------------------

    def current_arn(self, service: Service) -> str | None:
        """DescribeServices' ``currentServiceDeployment``: the service's newest service deployment."""
        history = self._histories.get(_key(service))
        if history is None or history.service is not service or not history.deployments:
            return None
        return history.deployments[-1].arn

    def current_revisions(self, state: RegionState, service: Service) -> list[Params] | None:
        """DescribeServices' ``currentServiceRevisions``: the revisions the service's deployments run (PRIMARY's
        first), each with its requested, running and pending task counts."""
        history = self._histories.get(_key(service))
        if history is None or history.service is not service:
            return None
        revisions: list[ServiceRevision] = []
        for deployment in service.deployments:
            revision = history.revision_of.get(deployment.id)
            if revision is not None and all(revision is not known for known in revisions):
                revisions.append(revision)
        return [_counts_json(revision, _revision_counts(state, history, revision)) for revision in revisions]

    def list_deployments(self, service: Service, params: Params) -> Params:
        """ListServiceDeployments of ``service``, newest first: ``status`` (a list of statuses) and ``createdAt``
        (``before`` / ``after``, epoch seconds, inclusive) filter; ``maxResults`` 1-100 (default 20) and
        ``nextToken`` page. Raises InvalidParameterException for a filter or a token ECS would refuse."""
        statuses = params.get("status")
        if statuses is not None and (not isinstance(statuses, list) or any(s not in STATUSES for s in statuses)):
            raise InvalidParameterException(f"status must list values among {', '.join(STATUSES)}.")
        window = params.get("createdAt") or {}
        if not isinstance(window, dict) or any(not isinstance(window.get(k, 0), (int, float)) for k in window):
            raise InvalidParameterException("createdAt must give before and after as timestamps.")
        size = params.get("maxResults", 20)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 100:
            raise InvalidParameterException("maxResults must be between 1 and 100.")
        history = self._histories.get(_key(service))
        records = [] if history is None or history.service is not service else list(reversed(history.deployments))
        records = [
            r for r in records
            if (not statuses or r.status in statuses)
            and r.created_at >= window.get("after", r.created_at) and r.created_at <= window.get("before", r.created_at)
        ]
        start = _token_position(params.get("nextToken"), [r.arn for r in records])
        page = records[start : start + size]
        body: Params = {"serviceDeployments": [_brief_json(r) for r in page]}
        if start + size < len(records):
            body["nextToken"] = base64.urlsafe_b64encode(json.dumps({"after": page[-1].arn}).encode()).decode()
        return body

    def describe_deployments(self, state: RegionState, params: Params) -> Params:
        """DescribeServiceDeployments: 1 to 20 ARNs; each one not found is a failure with reason MISSING."""
        found, failures = self._each(state, params, "serviceDeploymentArns", "service-deployment",
                                     lambda history, arn, id_: self._record(history, id_))
        described = [self._deployment_json(state, history, record) for history, record in found]
        return {"serviceDeployments": described, "failures": failures}

    def describe_revisions(self, state: RegionState, params: Params) -> Params:
        """DescribeServiceRevisions: 1 to 20 ARNs; each one not found is a failure with reason MISSING."""
        found, failures = self._each(state, params, "serviceRevisionArns", "service-revision",
                                     lambda history, arn, id_: history.revisions.get(arn))
        return {"serviceRevisions": [_revision_json(revision) for _, revision in found], "failures": failures}

    def _each(self, state: RegionState, params: Params, key: str, kind: str,
              pick: Callable[[_History, str, str], _Found | None],
              ) -> tuple[list[tuple[_History, _Found]], list[Params]]:
        """The ARNs of ``params[key]`` (1 to 20, else InvalidParameterException), each found by ``pick`` (given the
        history of the service it names, the ARN and the id it ends with), or else a MISSING failure, in order."""
        arns = params.get(key)
        if not isinstance(arns, list) or not 1 <= len(arns) <= MAX_DESCRIBED:
            raise InvalidParameterException(f"{key} must list between 1 and {MAX_DESCRIBED} ARNs.")
        found, failures = [], []
        for arn in map(str, arns):
            located = self._find(state, arn, kind)
            item = pick(located[0], arn, located[1]) if located is not None else None
            if located is None or item is None:
                failures.append({"arn": arn, "reason": "MISSING"})
            else:
                found.append((located[0], item))
        return found, failures

    @staticmethod
    def _record(history: _History, record_id: str) -> ServiceDeployment | None:
        return next((r for r in history.deployments if r.id == record_id), None)

    def _find(self, state: RegionState, arn: str, kind: str) -> tuple[_History, str] | None:
        """The history an ARN ``arn:aws:ecs:<region>:<account>:<kind>/<cluster>/<service>/<id>`` of ``state``'s
        account and region points into, and its id; None when it names no service the engine holds. Raises
        InvalidParameterException when ``arn`` is not such an ARN."""
        parts = arn.split(":", 5)
        path = parts[5].split("/") if len(parts) == 6 else []
        if len(parts) != 6 or parts[:3] != ["arn", "aws", "ecs"] or len(path) != 4 or path[0] != kind:
            raise InvalidParameterException(f"Invalid ARN: {arn} is not a {kind} ARN.")
        if (parts[3], parts[4]) != (state.region, state.account):
            return None
        history = self._histories.get((state.account, state.region, path[1], path[2]))
        if history is None or state.services.get((path[1], path[2])) is not history.service:
            return None
        return history, path[3]

    def _history(self, service: Service) -> _History:
        key = _key(service)
        history = self._histories.get(key)
        if history is None or history.service is not service:
            history = self._histories[key] = _History(service)
        return history

    def _new_revision(self, service: Service, deployment: Deployment, t: float) -> ServiceRevision:
        revision_id = str(self.rng.randrange(10**18, 10**19))
        images = []
        for container in deployment.task_definition.containers:
            image = str(container.get("image", ""))
            digest = next((a for a in self.image_aliases(image) if a.startswith("sha256:")), None)
            described = {"containerName": str(container.get("name", "")), "image": image}
            images.append({**described, "imageDigest": digest} if digest else described)
        return ServiceRevision(
            revision_id,
            f"arn:aws:ecs:{service.region}:{service.account}:service-revision/{service.cluster_name}/{service.name}/"
            f"{revision_id}",
            service.arn, service.cluster_arn, deployment.task_definition, deployment.launch_type,
            deployment.platform_version, deployment.network_configuration, list(service.load_balancers),
            list(service.extra.get("serviceRegistries") or []), service.extra.get("capacityProviderStrategy"),
            images, t,
        )

    def _deployment_json(self, state: RegionState, history: _History, record: ServiceDeployment) -> Params:
        service = history.service
        config = service.config
        if not config.breaker_enable:
            breaker_status = "DISABLED"
        elif record.breaker_triggered:
            breaker_status = "TRIGGERED"
        elif record.status == "SUCCESSFUL":
            breaker_status = "MONITORING_COMPLETE"
        else:
            breaker_status = "MONITORING"
        body: Params = {
            "serviceDeploymentArn": record.arn, "serviceArn": service.arn, "clusterArn": service.cluster_arn,
            "createdAt": record.created_at, "updatedAt": record.updated_at,
            "sourceServiceRevisions": [_summary(state, history, record, r) for r in record.sources],
            "targetServiceRevision": _summary(state, history, record, record.target),
            **({"lifecycleStage": record.lifecycle.stage,
                "lifecycleHookDetails": [dict(hook) for hook in record.lifecycle.hooks]}
               if record.lifecycle is not None else {}),
            "status": record.status, "deploymentConfiguration": record.configuration,
            "deploymentCircuitBreaker": {
                "status": breaker_status, "failureCount": record.failure_count,
                "threshold": models.breaker_threshold(service.desired_count, config.breaker_threshold),
            },
            "alarms": _alarms_json(record),
        }
        optional = {"startedAt": record.started_at, "finishedAt": record.finished_at, "stoppedAt": record.stopped_at,
                    "statusReason": record.status_reason, "rollback": record.rollback}
        body.update({k: v for k, v in optional.items() if v is not None})
        return body



def _alarms_json(record: ServiceDeployment) -> Params:
    """A service deployment's ``alarms``: DISABLED without enabled alarms (rolling updates watch none here),
    TRIGGERED once one was in ALARM, MONITORING_COMPLETE once it succeeded, else MONITORING."""
    lifecycle = record.lifecycle
    alarms = lifecycle.alarms if lifecycle is not None else None
    if lifecycle is None or alarms is None or not alarms[1]:
        return {"status": "DISABLED", "alarmNames": list(alarms[0]) if alarms else [], "triggeredAlarmNames": []}
    status = ("TRIGGERED" if lifecycle.triggered else "MONITORING_COMPLETE" if record.status == "SUCCESSFUL"
              else "MONITORING")
    return {"status": status, "alarmNames": list(alarms[0]), "triggeredAlarmNames": list(lifecycle.triggered)}


def _key(service: Service) -> tuple[str, str, str, str]:
    return (service.account, service.region, service.cluster_name, service.name)


def _revision_counts(state: RegionState, history: _History, revision: ServiceRevision) -> tuple[int, int, int]:
    """(requested, running, pending) tasks of ``revision`` in the service now: requested are the tasks the
    scheduler wants of it (desiredCount for the revision the PRIMARY deployment runs)."""
    tasks: list[Task] = [task for task in state.service_tasks(history.service)
                         if history.revision_of.get(task.deployment_id or "") is revision]
    service = history.service
    primary_runs = service.deployments and history.revision_of.get(service.primary.id) is revision
    requested = service.desired_count if primary_runs else sum(task.wanted for task in tasks)
    running = sum(task.last_status == "RUNNING" for task in tasks)
    pending = sum(task.last_status in ("PROVISIONING", "PENDING", "ACTIVATING") for task in tasks)
    return requested, running, pending


def _summary(state: RegionState, history: _History, record: ServiceDeployment, revision: ServiceRevision) -> Params:
    """A ServiceRevisionSummary; with the requested test and production traffic weights (0.0-100.0) of a
    blue/green, linear or canary deployment: green's for the target, the rest for the revision it replaces."""
    frozen = record.frozen_counts
    body = _counts_json(revision, frozen[revision.arn] if frozen is not None else
                        _revision_counts(state, history, revision))
    lifecycle = record.lifecycle
    if lifecycle is not None:
        if revision is record.target:
            test, production = lifecycle.test_weight, lifecycle.production_weight
        elif history.revision_of.get(lifecycle.blue.id) is revision:
            test, production = 100.0 - lifecycle.test_weight, 100.0 - lifecycle.production_weight
        else:
            test = production = 0.0
        body.update(requestedTestTrafficWeight=test, requestedProductionTrafficWeight=production)
    return body


def _counts_json(revision: ServiceRevision, counts: tuple[int, int, int]) -> Params:
    requested, running, pending = counts
    return {"arn": revision.arn, "requestedTaskCount": requested, "runningTaskCount": running,
            "pendingTaskCount": pending}


def _brief_json(record: ServiceDeployment) -> Params:
    """A ServiceDeploymentBrief, as ListServiceDeployments answers."""
    body: Params = {
        "serviceDeploymentArn": record.arn, "serviceArn": record.service.arn,
        "clusterArn": record.service.cluster_arn, "createdAt": record.created_at,
        "targetServiceRevisionArn": record.target.arn, "status": record.status,
    }
    optional = {"startedAt": record.started_at, "finishedAt": record.finished_at, "statusReason": record.status_reason}
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def _revision_json(revision: ServiceRevision) -> Params:
    body: Params = {
        "serviceRevisionArn": revision.arn, "serviceArn": revision.service_arn, "clusterArn": revision.cluster_arn,
        "taskDefinition": revision.task_definition.arn, "loadBalancers": revision.load_balancers,
        "serviceRegistries": revision.service_registries, "containerImages": revision.container_images,
        "guardDutyEnabled": False, "createdAt": revision.created_at,
    }
    if revision.capacity_provider_strategy:
        body["capacityProviderStrategy"] = revision.capacity_provider_strategy
    else:
        body["launchType"] = revision.launch_type
    if revision.launch_type == "FARGATE":
        body.update(platformVersion=revision.platform_version or "LATEST", platformFamily="Linux")
    if revision.network_configuration:
        body["networkConfiguration"] = revision.network_configuration
    return body


def _configuration_json(config: models.DeploymentConfiguration) -> Params:
    """The ``deploymentConfiguration`` a service deployment copies from its service when it is created."""
    breaker: Params = {"enable": config.breaker_enable, "rollback": config.breaker_rollback}
    if config.breaker_threshold is not None:
        breaker["thresholdConfiguration"] = {"type": config.breaker_threshold.type,
                                             "value": config.breaker_threshold.value}
    return {"deploymentCircuitBreaker": breaker, "maximumPercent": config.maximum_percent,
            "minimumHealthyPercent": config.minimum_healthy_percent, **bluegreen.configuration_json(config)}


def _token_position(token: Any, arns: list[str]) -> int:
    """Where the page after ``token`` (the last ARN of the previous page, encoded) starts in ``arns``; 0 without a
    token. Raises InvalidParameterException for a token this engine did not give."""
    if not token:
        return 0
    try:
        after = json.loads(base64.urlsafe_b64decode(str(token).encode()))["after"]
        return arns.index(after) + 1
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidParameterException("Invalid nextToken.") from None
