"""The reads and argument checks that several actions share, so that each rule is written once.

- :func:`describe_service`: the one DescribeServices of a service, and the one rule for "there is no such
  service" (not listed, or INACTIVE) with its one wording; ``ecs_service``, ``ecs_task``, ``smoke`` and
  ``task_definition`` read the service through it.
- :func:`revision_target`: the exact revision a deploy or a one-off task acts on (never "the latest of a family"),
  checked before any call; ``taskdef/revision.py`` describes it and checks that it is ACTIVE
  (:func:`~.taskdef.revision.active_revision`: beside the one DescribeTaskDefinition, and out of this module,
  which ``taskdef`` itself reads the service through).
- :func:`serving_target_groups`: the target groups of a service that hold its tasks, with their targets' states;
  for a blue/green load balancer (``advancedConfiguration.alternateTargetGroupArn``) whichever of the two the
  running revision registered in, since the two swap roles with each deployment.
- :func:`seconds_argument`: a ``timeout=`` given to a method, checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..arns import parse_family_revision, target_group_name
from ..aws import call
from ..errors import ActionError

if TYPE_CHECKING:
    from ..aws import ClientFactory

#: The code of the ActionError for a service that is not there: ECS's own code for it (UpdateService answers it).
SERVICE_NOT_FOUND = "ServiceNotFoundException"


def describe_service(aws: ClientFactory, cluster: str, name: str, *, who: str,
                     required: bool = False) -> dict[str, Any] | None:
    """Service ``name`` of ``cluster`` as DescribeServices answers it (a DRAINING one included).

    A service that is not listed, or is INACTIVE (deleted: ECS lists it for a while after), is not there: None,
    or with ``required`` an ActionError with the code :data:`SERVICE_NOT_FOUND` that reads ``service 'web' is not
    in cluster 'prod' (INACTIVE).``. A failed call (a missing cluster: ClusterNotFoundException) is an ActionError
    whose message starts with ``who``.
    """
    answer = call(aws, "ecs", "describe_services", f"describe service '{name}' in cluster '{cluster}'", who=who,
                  cluster=cluster, services=[name])
    services = answer.get("services") or []
    status = str(services[0].get("status")) if services else "MISSING"
    if services and status != "INACTIVE":
        return dict(services[0])
    if required:
        raise ActionError(f"service '{name}' is not in cluster '{cluster}' ({status}).", code=SERVICE_NOT_FOUND)
    return None


def revision_target(revision: Any, *, plan: bool, who: str, method: str, verb: str) -> tuple[str | None, str]:
    """(ARN or ``family:revision``, label) of the exact revision to ``verb``, for a deploy and a one-off task; the
    ARN is None for a revision that ``--plan`` did not register. A bare family is refused: never "the latest of a
    family".

    ``who`` starts the messages (``service 'web'``), ``method`` names the call (``service 'web': deploy()``).
    """
    if getattr(revision, "planned", False):
        if not plan:
            raise ActionError(f"{who}: revision {revision.name} was only planned; there is no task definition "
                              f"to {verb}.")
        return None, str(revision.name)
    reference = getattr(revision, "arn", revision)
    if not isinstance(reference, str) or not reference:
        raise ActionError(f"{method} takes a Revision or a task-definition ARN, got {revision!r}.")
    parsed = parse_family_revision(reference)
    if parsed is None:
        raise ActionError(f"{who}: '{reference}' is neither a task-definition ARN nor 'family:revision'; {verb} an "
                          f"exact revision ('web:7' or its ARN).")
    if parsed.revision is None:
        raise ActionError(f"{who}: '{reference}' names a family, not a revision; {verb} an exact revision "
                          f"('{reference}:7' or its ARN), never the latest of a family.")
    return reference, str(parsed)


def seconds_argument(value: Any, where: str) -> float:
    """A positive number of seconds, given as ``where`` (``deploy(timeout=...)``); anything else is an ActionError
    quoting it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ActionError(f"{where} expects a number of seconds, got {value!r}.")
    if not value > 0:
        raise ActionError(f"{where} expects a positive number of seconds, got {value!r}.")
    return float(value)


def serving_target_groups(aws: ClientFactory, service: Mapping[str, Any], *, who: str
                          ) -> dict[str, list[dict[str, Any]]]:
    """Target group ARN -> its ELBv2 DescribeTargetHealth ``TargetHealthDescriptions``, for each target group of
    ``service`` (a DescribeServices entry) that serves it.

    A ``loadBalancers`` entry with ``advancedConfiguration.alternateTargetGroupArn`` (BLUE_GREEN, LINEAR, CANARY)
    names two target groups, and ECS registers each new revision in the one the previous revision did not use, so
    after a deployment the service's ``targetGroupArn`` may hold no targets at all (STRATEGIES.md A.1: the groups
    swap roles). Of such a pair, the groups with targets that are not draining are kept; when neither has any, the
    ``targetGroupArn`` one is, so a caller still sees "no targets". A failed call is an ActionError."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for balancer in service.get("loadBalancers") or []:
        pair = [balancer.get("targetGroupArn"), (balancer.get("advancedConfiguration") or {}).get(
            "alternateTargetGroupArn")]
        read: dict[str, list[dict[str, Any]]] = {}
        for arn in dict.fromkeys(str(a) for a in pair if a):
            if arn in groups:
                continue
            answer = call(aws, "elbv2", "describe_target_health",
                          f"read the health of target group {target_group_name(arn)}", who=who, TargetGroupArn=arn)
            read[arn] = list(answer.get("TargetHealthDescriptions") or [])
        serving = {arn: found for arn, found in read.items()
                   if any((d.get("TargetHealth") or {}).get("State") != "draining" for d in found)}
        groups.update(serving or dict(list(read.items())[:1]))
    return groups
