"""Task-definition revisions: the :class:`Revision` that ``TaskDefinition.register()`` gives and
``ecs_service.deploy()`` takes, and a revision as ECS describes it (:class:`Described`, :func:`describe`,
:func:`latest_active`), with the one pre-check that a revision to deploy or run is ACTIVE (:func:`active_revision`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ...arns import in_repository, parse_family_revision, short_revision
from ...aws import call
from ...errors import ActionError
from .payload import payload_from

if TYPE_CHECKING:
    from ...aws import ClientFactory
    from ...config import Service
    from ...context import Log, ServiceContext

WHO = "task_definition"  # how messages of AWS failures name this action
RevisionStatus = Literal["registered", "unchanged", "existing", "planned"]


@dataclass(frozen=True)
class Revision:
    """A task-definition revision as ``register()`` left it; ``ecs_service.deploy(revision)`` takes it.

    ``status`` says how it came about:

    - ``registered``: a new revision was registered in this run;
    - ``unchanged``: the payload equals the revision the service runs now, nothing was registered;
    - ``existing``: the payload equals the family's latest ACTIVE revision (registered earlier, not running yet),
      nothing was registered and that exact ARN is reused;
    - ``planned``: ``--plan`` and the payload differs: a revision *would* be registered, so ``arn`` and
      ``revision`` are None (the number is not known until ECS assigns it).

    ``images`` are the (container, image) pairs of the revision, in definition order. ``described`` is the revision
    as ECS described it when this Revision was made (None for a planned one): ``ecs_service.deploy()`` and
    ``ecs_task.run()`` check it instead of describing the revision again.

    >>> revision = task_definition.with_image("app", ecr.image()).register()
    >>> revision.arn, revision.name, revision.is_new
    ('arn:aws:ecs:us-east-1:123456789012:task-definition/web:13', 'web:13', True)
    >>> revision.image("app")
    '123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:3f0c…'
    """

    family: str
    revision: int | None
    arn: str | None
    status: RevisionStatus
    images: tuple[tuple[str, str], ...] = ()
    described: Described | None = field(default=None, repr=False, compare=False)

    @property
    def planned(self) -> bool:
        """True when ``--plan`` stopped a registration: there is no ARN to deploy."""
        return self.status == "planned"

    @property
    def is_new(self) -> bool:
        """True when this run registered the revision."""
        return self.status == "registered"

    @property
    def name(self) -> str:
        """``family:revision`` (``family:(planned)`` in a plan)."""
        return f"{self.family}:{self.revision}" if self.revision is not None else f"{self.family}:(planned)"

    def image(self, container: str) -> str:
        """The image of ``container`` in this revision; KeyError for a container it does not have."""
        for name, image in self.images:
            if name == container:
                return image
        raise KeyError(container)

    def __str__(self) -> str:
        return self.arn or self.name


def images_of(payload: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The (container, image) pairs of ``payload``, in definition order."""
    return tuple((str(c.get("name")), str(c.get("image"))) for c in payload.get("containerDefinitions") or [])


def repository_place(ctx: ServiceContext) -> dict[str, str | None]:
    """Where the service's repository is, as :func:`deploy_containers` takes it: the registry host once ECR has
    described the repository (``ctx.registry``), else the environment's region and pinned account."""
    return {"registry": ctx.registry, "region": ctx.environment.region, "account": ctx.environment.account_id}


def deploy_containers(payload: Mapping[str, Any], service: Service, *, registry: str | None = None,
                      region: str | None = None, account: str | None = None) -> tuple[str, ...]:
    """The containers of ``payload`` a deploy replaces: the service's ``containers`` key, else those whose image is
    in the service's ``repository`` (``arns.in_repository``: the same repository in the same registry, account and
    region; sidecars from other repositories or registries keep theirs); () when it names neither."""
    if service.containers is not None:
        return tuple(service.containers)
    if not service.repository:
        return ()
    return tuple(str(c.get("name")) for c in payload.get("containerDefinitions") or []
                 if in_repository(str(c.get("image", "")), service.repository, registry=registry, region=region,
                                  account=account))


def deploy_image(payload: Mapping[str, Any], service: Service, **place: str | None) -> str | None:
    """The image of the first container of ``payload`` a deploy replaces (:func:`deploy_containers`, with ``place``
    as :func:`repository_place` gives it; the first container when the service names neither ``containers`` nor
    ``repository``), as the record keeps it in ``image_before`` and ``image_after``; None when ``payload`` has no
    such container."""
    images = dict(images_of(payload))
    named = service.containers is not None or bool(service.repository)
    chosen = deploy_containers(payload, service, **place) if named else tuple(images)
    return next((images[n] for n in chosen if n in images), None)


@dataclass
class Described:
    """A revision as DescribeTaskDefinition returns it, its body conformed to a RegisterTaskDefinition payload."""

    arn: str
    family: str
    revision: int
    status: str
    payload: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.family}:{self.revision}"

    def as_revision(self, status: RevisionStatus) -> Revision:
        return Revision(family=self.family, revision=self.revision, arn=self.arn, status=status,
                        images=images_of(self.payload), described=self)


def describe(aws: ClientFactory, arn: str, *, who: str = WHO, hint: str | None = None) -> Described:
    """DescribeTaskDefinition (with its tags) of the exact revision ``arn`` (an ARN or ``family:revision``); a
    failure is an ActionError that starts with ``who`` and ends with ``hint`` (see :func:`~pytest_ecsdeploy.aws.call`).
    """
    answer = call(aws, "ecs", "describe_task_definition", f"describe task definition {short_revision(arn)}", who=who,
                  hint=hint, taskDefinition=arn, include=["TAGS"])
    return described_from(answer, arn)


def described_from(answer: Mapping[str, Any], reference: str) -> Described:
    """A DescribeTaskDefinition or RegisterTaskDefinition answer (both are ``{"taskDefinition": {...}, "tags":
    [...]}``) as a :class:`Described`; ``reference`` names the revision in a message about a malformed body."""
    body = answer["taskDefinition"]
    payload = payload_from({"taskDefinition": body, "tags": answer.get("tags") or []}, f"revision {reference}")
    return Described(
        arn=str(body["taskDefinitionArn"]),
        family=str(body["family"]),
        revision=int(body["revision"]),
        status=str(body.get("status", "ACTIVE")),
        payload=payload,
    )


def active_revision(ctx: ServiceContext, revision: Any, reference: str, label: str, *, action: str, who: str,
                    hint: str | None = None) -> Described:
    """The revision to deploy or run, as ECS describes it, recorded as the pre-check ``revision ACTIVE`` of
    ``action`` (CheckFailed when it is not ACTIVE). ``revision`` is what the caller was given, ``reference`` and
    ``label`` what ``reads.revision_target`` made of it.

    A :class:`Revision` carries the description it was registered or found with, which is used instead of asking
    again; otherwise DescribeTaskDefinition is called (a failure names ``who`` and ends with ``hint``).
    """
    __tracebackhide__ = True
    known = getattr(revision, "described", None)
    described = known if isinstance(known, Described) else describe(ctx.aws, reference, who=who, hint=hint)
    ctx.checks.expect(described.status == "ACTIVE", action, "pre", "revision ACTIVE",
                      f"{label} is {described.status}")
    return described


def latest_active(aws: ClientFactory, family: str, log: Log, known: Described | None = None) -> Described | None:
    """The family's latest ACTIVE revision (its exact name, not a prefix match), or None; a failed listing is
    logged as a warning and gives None (a new revision is registered then). When it is ``known`` (the running
    revision, already described), that description is returned instead of asking again."""
    try:
        arns = call(aws, "ecs", "list_task_definitions", f"list the ACTIVE revisions of family '{family}'", who=WHO,
                    familyPrefix=family, status="ACTIVE", sort="DESC", maxResults=10)["taskDefinitionArns"]
    except ActionError as exc:
        log.warning(str(exc))
        return None
    revisions = [(parsed.revision, str(arn)) for arn in arns
                 if (parsed := parse_family_revision(arn)) is not None and parsed.family == family
                 and parsed.revision is not None]
    if not revisions:
        return None
    latest = max(revisions)[1]
    return known if known is not None and known.arn == latest else describe(aws, latest)
