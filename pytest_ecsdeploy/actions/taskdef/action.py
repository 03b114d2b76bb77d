"""The ``task_definition`` fixture's class: pick a source, change only what a deploy changes, validate, show the
masked diff against the running revision and register once (or reuse an identical revision).

What it builds on lives beside it: the payload and its normal form (``payload.py``), the checks without AWS
(``validation.py``), secret references and their existence (``secret_refs.py``), the masked diff (``diff.py``)
and the :class:`Revision` it returns (``revision.py``). Checks are recorded under the actions
``task_definition.validate``, ``task_definition.register`` and ``task_definition.source``.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...aws import call
from ...errors import ActionError, ConfigError
from ..reads import describe_service
from .diff import render_diff
from .payload import cpu_units, differences, kind_of, memory_mib, normalise, payload_from, payload_from_template
from .revision import (
    WHO,
    Described,
    Revision,
    deploy_containers,
    deploy_image,
    describe,
    described_from,
    images_of,
    latest_active,
    repository_place,
)
from .secret_refs import NOT_A_REFERENCE, SecretCheck, is_reference
from .template_vars import TemplateVariables
from .validation import payload_warnings, validate_payload

if TYPE_CHECKING:
    from ...context import ServiceContext
    from ..ecr import ImageRef

VALIDATE = "task_definition.validate"
REGISTER = "task_definition.register"
SOURCE = "task_definition.source"


@dataclass
class _Source:
    payload: dict[str, Any]
    label: str
    requested_images: dict[str, str] = field(default_factory=dict)


class TaskDefinition:
    """The ``task_definition`` fixture: the scenario service's next task definition, built from a source and a
    few changes, validated, diffed against the running revision and registered once.

    Example::

        def test_register_revision(task_definition, ecr):
            task_definition.with_image("app", ecr.image())               # only 'app'; sidecars keep theirs
            task_definition.with_environment("app", LOG_LEVEL="info")
            print(task_definition.diff())                                # masked unified diff
            revision = task_definition.register()                        # validates first; idempotent
            assert revision.image("app").endswith(ecr.image().digest)

    Sources: :meth:`current` (the running revision, with its tags) or :meth:`from_file` (a ``${VAR}`` template);
    without either, the service's ``task_definition`` key, else the running revision. Every change returns
    ``self``. In ``--plan`` :meth:`register` prints the diff and registers nothing.
    """

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self._source: _Source | None = None
        self._running_cache: tuple[Described | None] | None = None
        self._final_cache: dict[str, Any] | None = None
        self._validated: dict[str, Any] | None = None
        self._registered: Revision | None = None
        self._secret_check = SecretCheck(ctx)

    # -- sources ------------------------------------------------------------------------------------------

    def current(self) -> TaskDefinition:
        """Start from the revision the service runs now (DescribeServices -> DescribeTaskDefinition with TAGS)."""
        running = self._running()
        if running is None:
            svc = self.ctx.service
            raise ActionError(
                f"service '{svc.service_name}' is not running in cluster '{self.ctx.cluster}', so there is no "
                f"task definition to copy; create the service first or set task_definition in "
                f"[services.{svc.name}]."
            )
        self._set_source(running.payload, f"running revision {running.name}")
        self.ctx.checks.passed(SOURCE, "pre", "source", f"copied the running revision {running.name}")
        return self

    def from_file(self, path: str | Path | None = None) -> TaskDefinition:
        """Start from a JSON template: ``${VAR}`` filled from ``--var``, the environment's ``vars`` and the built-in
        ``${REGION}``, ``${ACCOUNT_ID}`` and ``${IMAGE_TAG}`` (``template_vars.py``).

        ``path`` defaults to the service's ``task_definition`` key; a relative path is read from the directory
        of ecsdeploy.toml. A bare RegisterTaskDefinition document and describe-task-definition output are both
        accepted; read-only fields are dropped. Write ``$${`` for a literal ``${`` the container resolves itself.
        """
        template = self._template_path(path)
        env = self.ctx.environment
        variables = TemplateVariables({**dict(env.variables), **dict(self.ctx.options.variables)},
                                      region=lambda: env.region, account_id=lambda: self.ctx.aws.account_id,
                                      image_tag=lambda: self.ctx.options.image_tag)
        payload = payload_from_template(template, variables)
        self._set_source(payload, str(template))
        self.ctx.checks.passed(SOURCE, "pre", "source", f"rendered {template} (family '{payload['family']}')")
        return self

    # -- changes ------------------------------------------------------------------------------------------

    def with_image(self, container: str, image: ImageRef | str) -> TaskDefinition:
        """Set ``container``'s image (an ``ImageRef`` gives its digest-pinned reference); other containers keep
        theirs. An unknown container name is an error listing the real ones."""
        reference = image if isinstance(image, str) else image.reference
        definition = self._container(container, "with_image")
        definition["image"] = reference
        assert self._source is not None
        self._source.requested_images[container] = reference
        self._changed()
        return self

    def with_environment(self, container: str, **values: str | int | float) -> TaskDefinition:
        """Set environment variables of ``container`` (replacing a variable of the same name, else appending)."""
        definition = self._container(container, "with_environment")
        environment = list(definition.get("environment") or [])
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise ActionError(
                    f"with_environment: container '{container}' {name}: expected a string, got {kind_of(value)}."
                )
            _upsert(environment, name, {"name": name, "value": str(value)})
        definition["environment"] = environment
        self._changed()
        return self

    def with_secrets(self, container: str, **arns: str) -> TaskDefinition:
        """Set secrets of ``container``: name -> Secrets Manager ARN or SSM parameter name/ARN (never a value)."""
        definition = self._container(container, "with_secrets")
        secrets = list(definition.get("secrets") or [])
        for name, arn in arns.items():
            if not isinstance(arn, str) or not arn.strip():
                raise ActionError(
                    f"with_secrets: container '{container}' {name}: expected an ARN or parameter name, "
                    f"got {kind_of(arn) if not isinstance(arn, str) else 'an empty string'}."
                )
            if not is_reference(arn.strip()):
                raise ActionError(f"with_secrets: container '{container}' {name}: {NOT_A_REFERENCE}.")
            _upsert(secrets, name, {"name": name, "valueFrom": arn.strip()})
        definition["secrets"] = secrets
        self._changed()
        return self

    # -- what it is ---------------------------------------------------------------------------------------

    @property
    def payload(self) -> dict[str, Any]:
        """A copy of the RegisterTaskDefinition payload as it would be sent (the render hook applied)."""
        return copy.deepcopy(self._final())

    @property
    def family(self) -> str:
        return str(self._final()["family"])

    @property
    def containers(self) -> tuple[str, ...]:
        """The container names, in definition order."""
        return tuple(str(c.get("name")) for c in self._ensure_source().payload["containerDefinitions"])

    @property
    def deploy_containers(self) -> tuple[str, ...]:
        """The containers a deploy replaces: the service's ``containers`` key, else those whose image is in the
        service's ``repository`` (sidecars from other repositories keep theirs)."""
        return self.deploy_containers_of(self._ensure_source().payload)

    def deploy_containers_of(self, payload: Mapping[str, Any]) -> tuple[str, ...]:
        """The deploy containers (see :attr:`deploy_containers`) of any payload."""
        return deploy_containers(payload, self.ctx.service, **repository_place(self.ctx))

    @property
    def running(self) -> Revision | None:
        """The revision the service runs now, or None when the service does not exist (yet)."""
        running = self._running()
        return running.as_revision("unchanged") if running is not None else None

    @property
    def registered(self) -> Revision:
        """The revision :meth:`register` returned: the exact ARN to deploy (never "latest by family")."""
        if self._registered is None:
            raise ActionError(
                "task_definition.registered: no revision was registered yet; call task_definition.register() "
                "in an earlier step."
            )
        return self._registered

    # -- checks -------------------------------------------------------------------------------------------

    def validate(self) -> TaskDefinition:
        """Check the final payload before anything is written; every problem is reported at once.

        Records a check per rule that passed and one failed check listing every problem (which raises
        CheckFailed): Fargate cpu/memory, network mode, essential containers, memory, image references,
        references between containers and volumes, and secret references that must exist (Secrets Manager
        DescribeSecret / SSM DescribeParameters: metadata only, no value is read).
        """
        __tracebackhide__ = True
        payload = self._final()
        if self._validated is not None and normalise(self._validated) == normalise(payload):
            return self
        checks = self.ctx.checks
        problems = validate_payload(payload)
        for warning in payload_warnings(payload):
            self.ctx.log.warning(warning)
        secret_problems, secret_detail, unchecked = self._secret_check.check(payload)
        problems += secret_problems
        if problems:
            count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
            checks.failed(VALIDATE, "pre", "task definition is valid",
                          f"family '{payload['family']}' has {count}: " + " ".join(problems))
        fargate = "FARGATE" in (payload.get("requiresCompatibilities") or ())
        if fargate:
            checks.passed(VALIDATE, "pre", "fargate size",
                          f"cpu {cpu_units(payload.get('cpu'))} / memory {memory_mib(payload.get('memory'))} MiB, "
                          f"networkMode awsvpc")
        essentials = [str(c["name"]) for c in payload["containerDefinitions"] if c.get("essential", True)]
        checks.passed(VALIDATE, "pre", "essential container", ", ".join(essentials))
        images = [f"{c['name']}={c.get('image')}" for c in payload["containerDefinitions"]]
        checks.passed(VALIDATE, "pre", "image references", "; ".join(images))
        if secret_detail:
            if unchecked:
                checks.skipped(VALIDATE, "pre", "secrets exist", secret_detail)
            else:
                checks.passed(VALIDATE, "pre", "secrets exist", secret_detail)
        self._validated = copy.deepcopy(payload)
        return self

    def diff(self) -> str:
        """A unified diff of the running revision and this payload, secret-looking values masked; ``""`` when
        they are equal. Without a running revision every line is an addition."""
        payload = self._final()
        running = self._running()
        old = running.payload if running is not None else None
        old_label = f"{running.name} (running)" if running is not None else "(no running revision)"
        return render_diff(old, payload, old_label, f"{payload['family']} (new)")

    # -- the write ----------------------------------------------------------------------------------------

    def register(self) -> Revision:
        """Register the payload as a new revision, unless an identical one exists; returns the Revision to deploy.

        Validates first. When the normalised payload equals the running revision (or the family's latest ACTIVE
        revision), nothing is registered and that exact ARN is returned. Post-checks, on RegisterTaskDefinition's
        answer: the new revision is ACTIVE and carries the requested images. In ``--plan`` the diff is printed and a
        ``planned`` Revision returned.
        """
        __tracebackhide__ = True
        self.validate()
        payload = self._final()
        checks, log, record = self.ctx.checks, self.ctx.log, self.ctx.record
        running = self._running()
        record.image_after = deploy_image(payload, self.ctx.service, **repository_place(self.ctx)) or record.image_after
        wanted = normalise(payload)
        if running is not None and normalise(running.payload) == wanted:
            checks.passed(REGISTER, "pre", "already registered",
                          f"the payload equals the running revision {running.name}; nothing registered")
            log.info(f"task definition unchanged: {running.name} is already running")
            return self._done(running.as_revision("unchanged"))
        diff = render_diff(running.payload if running else None, payload,
                           f"{running.name} (running)" if running else "(no running revision)",
                           f"{payload['family']} (new)")
        latest = latest_active(self.ctx.aws, str(payload["family"]), self.ctx.log, known=running)
        if latest is not None and (running is None or latest.arn != running.arn) and \
                normalise(latest.payload) == wanted:
            checks.passed(REGISTER, "pre", "already registered",
                          f"the payload equals {latest.name}, the family's latest ACTIVE revision; reusing it")
            log.info(f"task definition {latest.name} already holds this payload; reusing it")
            self._log_diff(diff)
            return self._done(latest.as_revision("existing"))
        self._log_diff(diff)
        if self.ctx.options.plan:
            checks.skipped(REGISTER, "pre", "register",
                           f"plan: would register a new revision of family '{payload['family']}'")
            planned = Revision(family=str(payload["family"]), revision=None, arn=None, status="planned",
                               images=images_of(payload))
            record.revision_after = None
            self._registered = planned
            return planned
        sent = dict(images_of(payload))
        for name, image in self._ensure_source().requested_images.items():
            if sent.get(name) != image:
                log.warning(f"the render hook changed the image of container '{name}' from {image} to {sent.get(name)}")
        self.ctx.before_write()
        answer = call(self.ctx.aws, "ecs", "register_task_definition",
                      f"register a revision of family '{payload['family']}'", who=WHO, **payload)
        arn = str(answer["taskDefinition"]["taskDefinitionArn"])
        log.info(f"registered {arn}")
        # RegisterTaskDefinition answers with the revision as ECS stored it (the body and tags DescribeTaskDefinition
        # would return), so the post-checks read that answer rather than asking again.
        described = described_from(answer, arn)
        checks.expect(described.status == "ACTIVE", REGISTER, "post", "revision is ACTIVE",
                      f"{described.name} is {described.status}")
        sent = dict(images_of(payload))
        requested = {name: sent.get(name, image) for name, image in self._ensure_source().requested_images.items()}
        actual = dict(images_of(described.payload))
        wrong = [f"{name}: {actual.get(name)} instead of {image}" for name, image in requested.items()
                 if actual.get(name) != image]
        checks.expect(not wrong, REGISTER, "post", "carries the requested images",
                      "; ".join(wrong) if wrong else
                      (", ".join(f"{n}={i}" for n, i in requested.items()) or "no image was changed"))
        changed = differences(wanted, normalise(described.payload))
        if changed:
            log.warning(
                f"{described.name} differs from the payload sent at: {', '.join(changed[:8])}; ECS changed them"
            )
        return self._done(described.as_revision("registered"))

    # -- internals ----------------------------------------------------------------------------------------

    def _done(self, revision: Revision) -> Revision:
        self._registered = revision
        self.ctx.record.revision_after = revision.arn
        return revision

    def _log_diff(self, diff: str) -> None:
        if not diff:
            return
        self.ctx.log.info("task definition diff:")
        for line in diff.splitlines():
            self.ctx.log.info(line)

    def _template_path(self, path: str | Path | None) -> Path:
        if path is None:
            configured = self.ctx.service.task_definition
            if configured is None:
                raise ConfigError(
                    f"[services.{self.ctx.service.name}] has no task_definition key; pass a path to "
                    f"task_definition.from_file(path) or copy the running revision with .current()."
                )
            return Path(configured)
        candidate = Path(path)
        if not candidate.is_absolute() and self.ctx.base_dir is not None:
            candidate = Path(self.ctx.base_dir) / candidate
        return candidate

    def _ensure_source(self) -> _Source:
        if self._source is None:
            if self.ctx.service.task_definition is not None:
                self.from_file()
            else:
                self.current()
        assert self._source is not None
        return self._source

    def _set_source(self, payload: dict[str, Any], label: str) -> None:
        self._source = _Source(payload=copy.deepcopy(payload), label=label)
        self._changed()

    def _changed(self) -> None:
        self._final_cache = None

    def _container(self, name: str, method: str) -> dict[str, Any]:
        source = self._ensure_source()
        for container in source.payload["containerDefinitions"]:
            if container.get("name") == name:
                return container  # type: ignore[no-any-return]
        real = ", ".join(str(c.get("name")) for c in source.payload["containerDefinitions"])
        close = difflib.get_close_matches(name, self.containers, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ActionError(
            f"{method}: there is no container '{name}' in family '{source.payload['family']}' "
            f"({source.label}); {hint}its containers are: {real}."
        )

    def _final(self) -> dict[str, Any]:
        """The payload after the render hook, conformed to the model again (the hook may add anything)."""
        if self._final_cache is None:
            source = self._ensure_source()
            candidate = copy.deepcopy(source.payload)
            self.ctx.hooks.render_task_definition(candidate)
            self._final_cache = payload_from(candidate, "the task definition after the render hook")
        return self._final_cache

    def _running(self) -> Described | None:
        if self._running_cache is None:
            self._running_cache = (self._find_running(),)
        return self._running_cache[0]

    def _find_running(self) -> Described | None:
        try:
            service = describe_service(self.ctx.aws, self.ctx.cluster, self.ctx.service.service_name, who=WHO)
        except ActionError as exc:
            if exc.code != "ClusterNotFoundException":
                raise
            self.ctx.log.info(f"cluster '{self.ctx.cluster}' does not exist; no running task definition")
            return None
        if service is None or not service.get("taskDefinition"):
            return None
        described = describe(self.ctx.aws, str(service["taskDefinition"]))
        self.ctx.record.revision_before = described.arn
        if self.ctx.record.image_before is None:
            self.ctx.record.image_before = deploy_image(described.payload, self.ctx.service,
                                                        **repository_place(self.ctx))
        return described


def _upsert(items: list[dict[str, Any]], name: str, entry: dict[str, Any]) -> None:
    for index, item in enumerate(items):
        if item.get("name") == name:
            items[index] = entry
            return
    items.append(entry)
