"""What ECS refuses and moto or the engine would otherwise accept, refused with ECS's error codes and messages.

A CI run that goes green on the local AWS and red in production is the one failure the local AWS exists to
prevent, so a request ECS refuses is refused here too:

- a task definition with networkMode ``awsvpc`` run or serviced without an ``awsvpcConfiguration``
  (:func:`require_network_configuration`, InvalidParameterException; moto refuses StartTask's itself);
- an ``awsvpcConfiguration`` without subnets, and subnets and security groups that EC2 does not have
  (:func:`check_network`, InvalidParameterException);
- ``launchType`` together with a ``capacityProviderStrategy`` (:func:`launch_type_or_strategy`,
  InvalidParameterException);
- a task definition past ECS's limits: more than 10 containers, a family or container name that is not 1 to 255
  letters, digits, hyphens and underscores (:func:`check_task_definition`, ClientException);
- a task-definition reference whose revision is not a number (``web:latest``, ``web:``, ``web:1:2``) in a request
  moto answers (:func:`check_revision`, InvalidParameterException ``Invalid revision number. Number: latest``, ECS's
  words as UpdateService answers them); moto would parse it with ``int()`` and answer a 500, which SDKs retry. An
  unknown revision with a number (``web:99``) stays moto's ClientException ``Unable to describe task definition.``;
- DeleteCluster on a cluster that still has container instances, services or tasks (:func:`check_delete_cluster`,
  which moto's ECS backend asks through the engine, so CloudFormation's deletes are refused too).

:data:`BEFORE_MOTO` holds the checks of the requests moto answers (RegisterTaskDefinition, and those naming a
revision: DescribeTaskDefinition, StartTask, the tag operations on a task-definition ARN): the HTTP middleware
runs one before passing its request on, with the rollout engine if one runs (None before the first request that
needs one), and answers its error instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...tomlfile import read_toml
from .. import moto_state
from .exceptions import (
    ClientException,
    ClusterContainsContainerInstancesException,
    ClusterContainsServicesException,
    ClusterContainsTasksException,
    InvalidParameterException,
)

if TYPE_CHECKING:
    from .responses import RolloutEngine

Params = dict[str, Any]

NETWORK_REQUIRED = "Network Configuration must be provided when networkMode 'awsvpc' is specified."
BOTH_LAUNCH_TYPE_AND_STRATEGY = ("Specifying both a launch type and capacity provider strategy is not supported. "
                                 "Remove one and try again.")
#: ECS's limits on a task definition, the same data the product checks before it registers one (the file names its
#: sources): read here through tomlfile.py, the one product module besides errors.py the emulator may import.
LIMITS = read_toml(Path(__file__).resolve().parents[2] / "ecs_limits.toml", missing="reinstall pytest-ecsdeploy",
                   kind="a limits file")
MAX_CONTAINERS: int = LIMITS["containers_per_task_definition"]  # the quota "Containers per task definition"
_NAME = re.compile(LIMITS["name_pattern"] + r"\Z", re.ASCII)
_NAME_LENGTH: int = LIMITS["name_length"]


def has_network_configuration(network_configuration: Any) -> bool:
    """Whether a ``networkConfiguration`` parameter carries an ``awsvpcConfiguration``."""
    return isinstance(network_configuration, dict) and bool(network_configuration.get("awsvpcConfiguration"))


def require_network_configuration(network_mode: str | None, network_configuration: Any) -> None:
    """Raise InvalidParameterException when a task of ``network_mode`` awsvpc would run without an
    ``awsvpcConfiguration`` in ``network_configuration`` (the request's, or the service's it keeps)."""
    if network_mode == "awsvpc" and not has_network_configuration(network_configuration):
        raise InvalidParameterException(NETWORK_REQUIRED)


def check_network(account: str, region: str, network_configuration: Any) -> None:
    """Raise InvalidParameterException for an ``awsvpcConfiguration`` in ``network_configuration`` that lists no
    subnet, else for its first subnet, then security group, that moto's EC2 does not have in ``account`` and
    ``region``."""
    if not has_network_configuration(network_configuration):
        return
    awsvpc = network_configuration["awsvpcConfiguration"]
    if not awsvpc.get("subnets"):
        raise InvalidParameterException("subnets can not be empty.")
    subnets, groups = moto_state.ec2_missing(account, region, [str(s) for s in awsvpc.get("subnets") or []],
                                             [str(g) for g in awsvpc.get("securityGroups") or []])
    if subnets:
        raise InvalidParameterException(f"Error retrieving subnet information for [{', '.join(subnets)}]: "
                                        f"The subnet ID '{subnets[0]}' does not exist "
                                        "(ErrorCode: InvalidSubnetID.NotFound)")
    if groups:
        raise InvalidParameterException(f"Error retrieving security group information for [{', '.join(groups)}]: "
                                        f"The security group '{groups[0]}' does not exist "
                                        "(ErrorCode: InvalidGroup.NotFound)")


def launch_type_or_strategy(params: Params) -> None:
    """Raise InvalidParameterException when a RunTask or CreateService request gives both a ``launchType`` and a
    non-empty ``capacityProviderStrategy``."""
    if params.get("launchType") and params.get("capacityProviderStrategy"):
        raise InvalidParameterException(BOTH_LAUNCH_TYPE_AND_STRATEGY)


def check_task_definition(engine: RolloutEngine | None, account: str, region: str, params: Params) -> None:
    """A RegisterTaskDefinition request within ECS's limits; else ClientException (what moto leaves to ECS:
    a missing name or image stays moto's to refuse)."""
    family = params.get("family")
    if isinstance(family, str) and family:
        _check_name(family, "Family")
    definitions = params.get("containerDefinitions")
    if not isinstance(definitions, list):
        return
    if len(definitions) > MAX_CONTAINERS:
        raise ClientException("Too many containers.")
    for definition in definitions:
        name = definition.get("name") if isinstance(definition, dict) else None
        if isinstance(name, str):
            _check_name(name, "Container.name")


def check_revision(engine: RolloutEngine | None, account: str, region: str, params: Params) -> None:
    """A request's task-definition reference (``taskDefinition``, or a tag operation's ``resourceArn`` when it
    names a task definition) whose revision is a number, or that has none (the family's latest); else
    InvalidParameterException ``Invalid revision number. Number: <revision>``."""
    reference = params.get("taskDefinition", params.get("resourceArn"))
    if not isinstance(reference, str):
        return
    if reference.startswith("arn:"):
        if ":task-definition/" not in reference:
            return
        reference = reference.split(":task-definition/", 1)[1]
    _, colon, revision = reference.rpartition("/")[2].partition(":")
    if colon and not (revision.isascii() and revision.isdigit()):
        raise InvalidParameterException(f"Invalid revision number. Number: {revision}")


def _check_name(name: str, what: str) -> None:
    if not _NAME.match(name):
        raise ClientException(f"{what} contains invalid characters.")
    if len(name) > _NAME_LENGTH:
        raise ClientException(f"{what} is longer than {_NAME_LENGTH} characters.")


def check_delete_cluster(container_instances: int, services: int, tasks: int) -> None:
    """Refuse DeleteCluster of a cluster that still has ``services`` not yet INACTIVE, ``tasks`` not yet STOPPED
    or ``container_instances`` registered (ACTIVE or DRAINING): ClusterContainsServicesException, then
    ClusterContainsTasksException, then ClusterContainsContainerInstancesException. ECS documents the three
    refusals, not their order; services and tasks come first because on an EC2 cluster the instances outlive
    them, and the refusal that names what must go first is the one a user can act on. A DRAINING service counts:
    its tasks are still stopping (it turns INACTIVE once none is left)."""
    if services:
        raise ClusterContainsServicesException()
    if tasks:
        raise ClusterContainsTasksException()
    if container_instances:
        raise ClusterContainsContainerInstancesException()


#: Checks of the ECS requests moto answers, by operation name: (the rollout engine or None, account, region,
#: request body) -> None, raising the EngineError ECS would answer.
BEFORE_MOTO: dict[str, Callable[[RolloutEngine | None, str, str, Params], None]] = {
    "RegisterTaskDefinition": check_task_definition,
    **dict.fromkeys(("DescribeTaskDefinition", "StartTask", "ListTagsForResource", "TagResource", "UntagResource"),
                    check_revision),
}
