"""The forms AWS defines for names and identifiers, checked before anything is sent.

Each checker takes a value and returns None when it has the form, else what was expected, for a sentence
``<where>: expected <form>, got '<value>'.`` (``"an ECS cluster name (1 to 255 letters, digits, hyphens and
underscores)"``); the caller names the file, table and key. ``config.py`` checks every key of
``ecsdeploy.toml`` that has a form when the file is read; ``actions/taskdef/validation.py`` checks a task
definition's family, container names, tags and ports.

Sources: the ECS API reference (CreateCluster ``clusterName``, CreateService ``serviceName``,
RegisterTaskDefinition ``family`` and container ``name``, PortMapping, Tag), the ECR API reference
(CreateRepository ``repositoryName``: 2 to 256 characters, ``(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-]
[a-z0-9]+)*``), the IAM User Guide (role ARNs and path characters), the AWS General Reference (regions, 12-digit
account ids). ECS's limits on a task definition are data, :data:`ECS_LIMITS` (``ecs_limits.toml``), shared with the
embedded local AWS, which refuses what they forbid.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .arns import parse_arn
from .tomlfile import read_toml

ECS_LIMITS: Mapping[str, Any] = read_toml(
    Path(__file__).with_name("ecs_limits.toml"), missing="reinstall pytest-ecsdeploy", kind="a limits file"
)
MAX_CONTAINERS: int = ECS_LIMITS["containers_per_task_definition"]
NAME_LENGTH: int = ECS_LIMITS["name_length"]
_ECS_NAME = re.compile(ECS_LIMITS["name_pattern"], re.ASCII)
_ECS_NAME_WORDS = f"1 to {NAME_LENGTH} letters, digits, hyphens and underscores"
_REPOSITORY = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*", re.ASCII)
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}", re.ASCII)
_ACCOUNT = re.compile(r"[0-9]{12}", re.ASCII)
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}", re.ASCII)
#: Tag keys and values: letters, digits and spaces in UTF-8, and ``_ . : / = + - @`` (the ECS API reference, Tag).
_TAG_TEXT = re.compile(r"[\w\s.:/=+@-]*")
TAG_KEY_LENGTH, TAG_VALUE_LENGTH, MAX_TAGS = 128, 256, 50
PORT_RANGE = (0, 65535)


def _ecs_name(what: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, str) and len(value) <= NAME_LENGTH and _ECS_NAME.fullmatch(value):
            return None
        return f"{what} ({_ECS_NAME_WORDS})"

    return check


cluster_name = _ecs_name("an ECS cluster name")
service_name = _ecs_name("an ECS service name")
family_name = _ecs_name("a task-definition family")
container_name = _ecs_name("a container name")


def cluster(value: Any) -> str | None:
    """A cluster as ``ecsdeploy.toml`` names it: its name, or its ARN."""
    arn = parse_arn(value)
    if arn is not None and arn.service == "ecs" and arn.resource_type == "cluster":
        return cluster_name(arn.resource_id)
    return cluster_name(value)


def repository(value: Any) -> str | None:
    if isinstance(value, str) and 2 <= len(value) <= 256 and _REPOSITORY.fullmatch(value):
        return None
    return ("an ECR repository name (2 to 256 lowercase letters, digits and . _ - between them, in parts "
            "separated by /)")


def region(value: Any) -> str | None:
    if isinstance(value, str) and _REGION.fullmatch(value):
        return None
    return "an AWS region (such as us-east-1 or eu-central-2)"


def account_id(value: Any) -> str | None:
    if isinstance(value, str) and _ACCOUNT.fullmatch(value):
        return None
    return "12 digits"


def role_arn(value: Any) -> str | None:
    if isinstance(value, str) and len(value) <= 2048 and _ROLE_ARN.fullmatch(value):
        return None
    return "an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)"


def http_url(value: Any) -> str | None:
    parts = urllib.parse.urlsplit(value) if isinstance(value, str) and not any(c.isspace() for c in value) else None
    if parts is not None and parts.scheme in ("http", "https") and parts.hostname:
        try:
            parts.port  # noqa: B018 - a port that is not a number raises
        except ValueError:
            return "an http or https URL with a port from 0 to 65535"
        return None
    return "an http or https URL"


def tag_key(value: Any) -> str | None:
    if not isinstance(value, str) or not 1 <= len(value) <= TAG_KEY_LENGTH or not _TAG_TEXT.fullmatch(value):
        return f"a tag key (1 to {TAG_KEY_LENGTH} letters, digits, spaces and _ . : / = + - @)"
    if value.lower().startswith("aws:"):
        return "a tag key without the prefix aws: (reserved for AWS)"
    return None


def tag_value(value: Any) -> str | None:
    if isinstance(value, str) and len(value) <= TAG_VALUE_LENGTH and _TAG_TEXT.fullmatch(value):
        return None
    return f"a tag value (up to {TAG_VALUE_LENGTH} letters, digits, spaces and _ . : / = + - @)"


def port(value: Any) -> str | None:
    low, high = PORT_RANGE
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return None
    return f"a port ({low} to {high})"


#: The checkers by the name ``config.Key.form`` gives.
FORMS: dict[str, Callable[[Any], str | None]] = {
    "cluster": cluster,
    "service": service_name,
    "container": container_name,
    "repository": repository,
    "region": region,
    "account id": account_id,
    "role arn": role_arn,
    "url": http_url,
}
