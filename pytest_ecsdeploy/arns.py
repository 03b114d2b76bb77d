"""One parser each for the references a deployment handles: ARNs, ``family:revision`` and image references.

Every place of the product that takes one of these apart asks here; none of them calls AWS or raises. What does
not parse is None (:func:`parse_arn`, :func:`parse_family_revision`), or is kept as it is where only a label is
wanted (:func:`short_revision`, :func:`target_group_name`). Image references follow Docker's grammar and are
split, not validated (``actions/taskdef/validation.py`` checks each part).

    >>> parse_arn("arn:aws:ecs:eu-west-1:111122223333:task-definition/web:7")
    Arn(partition='aws', service='ecs', region='eu-west-1', account='111122223333', resource='task-definition/web:7')
    >>> parse_family_revision("arn:aws:ecs:eu-west-1:111122223333:task-definition/web:7")
    FamilyRevision(family='web', revision=7)
    >>> short_revision("arn:aws:ecs:eu-west-1:111122223333:task-definition/web:7"), short_revision(None)
    ('web:7', '-')
    >>> image = parse_image("111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/web:1.4.2")
    >>> image.registry, image.repository, image.tag, image.account, image.region
    ('111122223333.dkr.ecr.eu-west-1.amazonaws.com', 'team/web', '1.4.2', '111122223333', 'eu-west-1')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

# -- ARNs ---------------------------------------------------------------------------------------------------------

_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>\d*|aws):"
    r"(?P<resource>\S+)"
)
_RESOURCE_TYPE = re.compile(r"([^/:]+)[/:]")


@dataclass(frozen=True)
class Arn:
    """An ARN's parts: ``arn:<partition>:<service>:<region>:<account>:<resource>``.

    ``region`` and ``account`` are "" where the ARN has none (IAM, S3). ``resource`` is everything after the fifth
    colon, colons and slashes included: ``task-definition/web:7``, ``secret:db/password-AbCdEf:password::``.
    """

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @property
    def resource_type(self) -> str:
        """``task-definition`` of ``task-definition/web:7``, ``secret`` of ``secret:db-AbCdEf``; "" when the
        resource has no type (an S3 bucket)."""
        match = _RESOURCE_TYPE.match(self.resource)
        return match.group(1) if match else ""

    @property
    def resource_id(self) -> str:
        """What follows the resource type and its separator: ``web:7``, ``db-AbCdEf``, ``local/1f2e…``; the
        whole resource when it has no type."""
        kind = self.resource_type
        return self.resource[len(kind) + 1:] if kind else self.resource

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def parse_arn(text: object) -> Arn | None:
    """The parts of the ARN ``text``; None for anything that is not one (a name, whitespace, a missing part)."""
    match = _ARN.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    return Arn(**match.groupdict())


def secret_arn(reference: str) -> str | None:
    """The ARN of the secret a Secrets Manager reference points at: what follows the secret's name (a JSON key, a
    version stage, a version id, as in a task definition's ``valueFrom``) dropped; None for anything that is not a
    Secrets Manager secret's ARN.

    >>> secret_arn("arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf:password::")
    'arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf'
    """
    parsed = parse_arn(reference)
    if parsed is None or parsed.service != "secretsmanager" or parsed.resource_type != "secret":
        return None
    kind, _, rest = parsed.resource.partition(":")  # secret:<name>-<suffix>[:<json key>:<stage>:<version id>]
    return str(replace(parsed, resource=f"{kind}:{rest.split(':', 1)[0]}"))


def task_id(arn: str) -> str:
    """``arn:aws:ecs:…:task/local/1f2e…`` (or the older ``…:task/1f2e…``) -> ``1f2e…``: the last part of the
    resource; the last ``/`` part of anything that is not an ARN."""
    parsed = parse_arn(arn)
    return (parsed.resource if parsed is not None else arn).rsplit("/", 1)[-1]


def target_group_name(arn: str) -> str:
    """``arn:aws:elasticloadbalancing:…:targetgroup/web-tg/6d0ecf831eec9f09`` -> ``web-tg``; anything that is not
    a target group's ARN unchanged."""
    parsed = parse_arn(arn)
    if parsed is None or parsed.service != "elasticloadbalancing" or parsed.resource_type != "targetgroup":
        return arn
    return parsed.resource_id.split("/", 1)[0]


# -- family:revision ----------------------------------------------------------------------------------------------

#: ECS's rule for a family: up to 255 letters, digits, hyphens and underscores.
_FAMILY_REVISION = re.compile(r"(?P<family>[A-Za-z0-9_-]{1,255})(?::(?P<revision>[0-9]+))?")


@dataclass(frozen=True)
class FamilyRevision:
    """A task-definition revision by name: ``web:7``. ``revision`` is None for a bare family (which ECS reads as
    "the latest ACTIVE revision"; a deploy never targets one)."""

    family: str
    revision: int | None

    def __str__(self) -> str:
        return self.family if self.revision is None else f"{self.family}:{self.revision}"


def parse_family_revision(text: object) -> FamilyRevision | None:
    """``web:7``, ``web`` or a task-definition ARN (``arn:aws:ecs:…:task-definition/web:7``, or ``…/web``) as
    family and revision; None for anything else (another kind of ARN, a family with a space, ``web:latest``)."""
    if not isinstance(text, str):
        return None
    name = text
    if text.startswith("arn:"):
        arn = parse_arn(text)
        if arn is None or arn.service != "ecs" or arn.resource_type != "task-definition":
            return None
        name = arn.resource_id
    match = _FAMILY_REVISION.fullmatch(name)
    if match is None:
        return None
    revision = match.group("revision")
    return FamilyRevision(match.group("family"), int(revision) if revision is not None else None)


def short_revision(reference: str | None, missing: str = "-") -> str:
    """The revision for people: ``arn:aws:ecs:…:task-definition/web:7`` -> ``web:7`` (a family's ARN -> ``web``),
    ``web:7`` as it is, anything that is not a revision unchanged, and ``missing`` for None or "".

    >>> short_revision("arn:aws:ecs:eu-west-1:111122223333:task-definition/web:7"), short_revision("", "none")
    ('web:7', 'none')
    """
    if not reference:
        return missing
    parsed = parse_family_revision(reference)
    return str(parsed) if parsed is not None else reference


# -- image references ---------------------------------------------------------------------------------------------

#: An ECR registry host: ``<account>.dkr.ecr[-fips].<region>.…`` (amazonaws.com, amazonaws.com.cn, LocalStack's
#: ``localhost.localstack.cloud``) or the dual-stack ``<account>.dkr-ecr.<region>.on.aws``.
_ECR_HOST = re.compile(r"(?P<account>[0-9]{12})\.dkr[.-]ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.")
#: A tag, by Docker's rule: ASCII letters, digits, ``_ . -``, up to 128, not starting with ``.`` or ``-``.
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True)
class ImageReference:
    """An image reference split by Docker's rules: ``[registry/]repository[:tag][@digest]``.

    ``registry`` is the first part when it has a ``.`` or a ``:`` or is ``localhost`` (else None: Docker Hub).
    ``tag`` and ``digest`` are None when the reference has none, and "" when it has the separator but nothing
    after it (which validation reports). ``account`` and ``region`` are the ECR registry's, None elsewhere.
    """

    registry: str | None
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """The reference without tag and digest: ``registry/repository``."""
        return f"{self.registry}/{self.repository}" if self.registry is not None else self.repository

    @property
    def is_ecr(self) -> bool:
        return self.account is not None

    @property
    def account(self) -> str | None:
        match = _ECR_HOST.match(self.registry or "")
        return match.group("account") if match else None

    @property
    def region(self) -> str | None:
        match = _ECR_HOST.match(self.registry or "")
        return match.group("region") if match else None

    def __str__(self) -> str:
        tag = f":{self.tag}" if self.tag is not None else ""
        digest = f"@{self.digest}" if self.digest is not None else ""
        return f"{self.name}{tag}{digest}"


def parse_image(reference: str) -> ImageReference:
    """``reference`` split into registry, repository, tag and digest (see :class:`ImageReference`); never fails.

    >>> parse_image("localhost:5000/team/app:dev@sha256:ab")
    ImageReference(registry='localhost:5000', repository='team/app', tag='dev', digest='sha256:ab')
    """
    rest, at, digest = reference.partition("@")
    registry: str | None = None
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, remainder
    tag: str | None = None
    if ":" in rest.rsplit("/", 1)[-1]:  # a colon before the last slash is not a tag's
        rest, _, tag = rest.rpartition(":")
    return ImageReference(registry, rest, tag, digest if at else None)


def same_registry(first: str | None, second: str | None) -> bool:
    """Whether two registry hosts (``ImageReference.registry``) name one registry: ECR hosts by account and region
    (the dual-stack and FIPS hosts of a registry are that registry), any other by host and port ignoring case, and
    None (Docker Hub) only None.

    >>> same_registry("111122223333.dkr.ecr.eu-west-1.amazonaws.com", "111122223333.dkr-ecr.eu-west-1.on.aws")
    True
    """
    if first is None or second is None:
        return first is second
    one, other = parse_image(f"{first}/x"), parse_image(f"{second}/x")
    if one.is_ecr or other.is_ecr:
        return (one.account, one.region) == (other.account, other.region)
    return first.lower() == second.lower()


def in_repository(image: str, repository: str, *, registry: str | None = None, region: str | None = None,
                  account: str | None = None) -> bool:
    """Whether the image reference ``image`` is in the ECR repository ``repository``: the same repository path in
    the same registry. An image that names no registry (``web:placeholder``, a template's stand-in for the image a
    deploy sets) is in it by its path. With ``registry`` (the host of the repository's URI, as DescribeRepositories
    gives it) the hosts are compared (:func:`same_registry`); without it the image must be an ECR image of
    ``region`` and, when given, ``account``. An image that names another registry, account or region is never in
    the repository.

    >>> in_repository("registry.example.com:5000/nginx:4.2", "nginx", region="eu-west-1")
    False
    """
    parsed = parse_image(image)
    if parsed.repository != repository:
        return False
    if parsed.registry is None:
        return True
    if registry is not None:
        return same_registry(parsed.registry, registry)
    return parsed.is_ecr and parsed.region == region and (account is None or parsed.account == account)


def is_tag(text: object) -> bool:
    """Whether ``text`` is a valid image tag (Docker's rule, see :data:`_TAG`)."""
    return isinstance(text, str) and _TAG.fullmatch(text) is not None
