"""ECR: the release image pinned by digest, registry-side promotion, and pushes through Docker.

The ``ecr`` fixture is an :class:`Ecr` bound to the scenario service's repository::

    def test_image_is_published(ecr):
        image = ecr.image()            # --image-tag -> ImageRef; checks repository, tag and scan findings
        assert image.reference == f"{image.repository_uri}@{image.digest}"

    def test_promote(ecr):
        ecr.promote("web-candidates:1.4.2", to="1.4.2")    # BatchGetImage + PutImage, no Docker needed

Checks are recorded under the actions ``ecr.image``, ``ecr.promote`` and ``ecr.push``. In ``--plan`` every read
and pre-check runs; promote and push say what they would write and write nothing.
"""

from __future__ import annotations

import base64
import difflib
import fnmatch
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..arns import is_tag, parse_image
from ..aws import call, pages
from ..errors import ActionError, ConfigError
from .polling import PollSchedule, Seen, wait_for

if TYPE_CHECKING:
    from ..context import ServiceContext

IMAGE = "ecr.image"
PROMOTE = "ecr.promote"
PUSH = "ecr.push"
WHO = "ecr"  # how messages of AWS failures name this action

#: ECR's severities, most severe first; a finding fails the gate at or above the configured one.
SEVERITY_ORDER = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")
#: Manifest types BatchGetImage may return unchanged (without this list ECR may convert an OCI manifest).
MANIFEST_MEDIA_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
]
_WAITING = ("IN_PROGRESS", "PENDING")
_DONE = ("COMPLETE", "ACTIVE")


@dataclass(frozen=True)
class _Scan:
    """An image's scan as DescribeImageScanFindings tells it; ``found`` is False for an image with no scan."""

    found: bool
    status: str = ""
    description: str = ""
    findings: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ImageRef:
    """An image in ECR, pinned by digest: ``str(ref)`` is ``<repositoryUri>@sha256:…``, what task
    definitions should carry (a tag can move; a digest cannot).

    >>> ref = ecr.image("1.4.2")
    >>> ref.tag, ref.digest[:15], ref.repository_name
    ('1.4.2', 'sha256:3f0c9a1b', 'web')
    >>> str(ref)
    '123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:3f0c9a1b…'

    ``planned`` marks the answer of a write that ``--plan`` did not do; a planned push has no digest yet, so its
    ``reference`` falls back to ``<repositoryUri>:<tag>``.
    """

    repository_uri: str
    tag: str | None
    digest: str | None
    registry_id: str = ""
    repository_name: str = ""
    planned: bool = False

    @property
    def reference(self) -> str:
        """``<repositoryUri>@<digest>`` (``<repositoryUri>:<tag>`` only for a planned push)."""
        if self.digest:
            return f"{self.repository_uri}@{self.digest}"
        return f"{self.repository_uri}:{self.tag}"

    @property
    def is_pinned(self) -> bool:
        return bool(self.digest)

    @property
    def name(self) -> str:
        """``repository:tag`` for messages."""
        return f"{self.repository_name}:{self.tag}" if self.tag else f"{self.repository_name}@{self.digest}"

    def __str__(self) -> str:
        return self.reference


@dataclass(frozen=True)
class _Source:
    registry_id: str | None
    region: str | None
    repository: str
    tag: str | None
    digest: str | None

    @property
    def image_id(self) -> dict[str, str]:
        return {"imageDigest": self.digest} if self.digest else {"imageTag": str(self.tag)}

    @property
    def label(self) -> str:
        where = f"{self.repository}@{self.digest}" if self.digest else f"{self.repository}:{self.tag}"
        return f"{where} (registry {self.registry_id})" if self.registry_id else where


def parse_source(text: str) -> _Source:
    """``repo:tag``, ``repo@sha256:…`` or a full ECR URI (``<account>.dkr.ecr.<region>.amazonaws.com/repo:tag``);
    anything else is an ActionError."""
    image = parse_image(text.strip())
    if image.registry is not None and not image.is_ecr:
        raise ActionError(
            f"ecr.promote(): '{text}' is not in ECR; promote copies between ECR repositories (push other "
            f"images with ecr.push())."
        )
    if not image.repository or not (image.tag or image.digest):
        raise ActionError(
            f"ecr.promote(): '{text}' names no tag or digest; write 'repository:tag' or 'repository@sha256:…'."
        )
    return _Source(image.account, image.region, image.repository, image.tag or None, image.digest or None)


def severity_rank(severity: str | None) -> int:
    """CRITICAL 5 … INFORMATIONAL 1; UNDEFINED, UNTRIAGED and unknown severities 0."""
    try:
        return len(SEVERITY_ORDER) - 1 - SEVERITY_ORDER.index(str(severity).upper())
    except ValueError:
        return 0


def finding_id(finding: dict[str, Any]) -> str:
    """A basic finding's name (``CVE-2024-1234``) or an enhanced finding's vulnerability id / title / ARN."""
    details = finding.get("packageVulnerabilityDetails") or {}
    return str(
        finding.get("name") or details.get("vulnerabilityId") or finding.get("title") or finding.get("findingArn")
        or "(unnamed finding)"
    )


def nearest_tags(wanted: str, tags: dict[str, float], count: int = 3) -> str:
    """``nearest tags: 1.4.2, 1.4.3-rc1; most recently pushed: 1.5.0, 1.4.2`` for a missing ``wanted`` tag, from
    ``tags`` (tag -> push time)."""
    if not tags:
        return "the repository holds no tagged images"
    close = difflib.get_close_matches(wanted, list(tags), n=count, cutoff=0.5)
    recent = sorted(tags, key=lambda tag: (-tags[tag], tag))[:count]
    parts = []
    if close:
        parts.append(f"nearest tags: {', '.join(close)}")
    parts.append(f"most recently pushed: {', '.join(recent)}")
    return "; ".join(parts)


class Ecr:
    """The ``ecr`` fixture: the scenario service's ECR repository.

    Example::

        def test_image_is_published(ecr):
            ref = ecr.image()                           # tag from --image-tag
            ecr.image("1.4.2").digest                   # 'sha256:…'
            ecr.promote(ref, to="prod-2024-06-01")      # retag in the registry, idempotent
            ecr.push("web:dev", tag="dev-42")           # through Docker, digest checked against ECR

    ``image()`` answers are cached per tag for the fixture's scope, so a scenario that asks twice gets the
    same digest and the checks are recorded once. ``sleep``/``clock`` pace the scan wait (tests pass fakes);
    ``docker_client`` replaces ``docker.from_env()``.
    """

    scan_poll_seconds = 5.0
    scan_timeout_seconds = 600.0

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        docker_client: Any = None,
    ) -> None:
        self.ctx = ctx
        self._sleep = sleep
        self._clock = clock
        self._docker_client = docker_client
        self._owns_docker = False
        self._images: dict[str, ImageRef] = {}
        self._repositories: dict[str, dict[str, Any]] = {}

    # -- reads --------------------------------------------------------------------------------------------

    @property
    def repository(self) -> str:
        """The service's ``repository`` key."""
        name = self.ctx.service.repository
        if not name:
            raise ConfigError(
                f"[services.{self.ctx.service.name}] has no repository key; the ecr fixture needs the service's "
                f"ECR repository."
            )
        return name

    def image(self, tag: str | None = None) -> ImageRef:
        """The image tagged ``tag`` (default ``--image-tag``), pinned by digest.

        Pre-checks, each recorded: the repository exists; the tag exists (else the nearest tags that do are
        named); no scan finding at or above the service's ``scan_severity`` (default CRITICAL, NONE turns the
        gate off). A scan still in progress is waited for, up to ``scan_timeout_seconds``; an image with no
        scan is a skipped check.
        """
        __tracebackhide__ = True
        tag = self._tag(tag, "ecr.image()")
        if tag in self._images:
            return self._images[tag]
        repository = self._describe_repository(IMAGE, self.repository)
        digest = self._digest_of(repository, tag)
        name = f"{self.repository}:{tag}"
        if digest is None:
            self.ctx.checks.failed(
                IMAGE, "pre", "tag exists",
                f"tag '{tag}' is not in repository '{self.repository}'; {nearest_tags(tag, self._tags(repository))}.",
            )
        self.ctx.checks.passed(IMAGE, "pre", "tag exists", f"{name} -> {digest}")
        ref = ImageRef(
            repository_uri=str(repository["repositoryUri"]), tag=tag, digest=digest,
            registry_id=str(repository["registryId"]), repository_name=self.repository,
        )
        self._scan_gate(repository, ref)
        self.ctx.log.info(f"image {name} is {ref.reference}")
        self._images[tag] = ref
        return ref

    # -- writes -------------------------------------------------------------------------------------------

    def promote(self, source: ImageRef | str, to: str) -> ImageRef:
        """Tag ``source`` as ``to`` in the service's repository, inside the registry (BatchGetImage, then PutImage
        with the same manifest and media type; no Docker, no layer transfer).

        ``source`` is an :class:`ImageRef` or ``repo:tag`` / ``repo@sha256:…`` / a full ECR URI (another
        repository, account or region). Idempotent: when ``to`` already points at the digest nothing is written.
        An immutable ``to`` that points elsewhere is a failed check. Post-check: ``to`` resolves to the digest.
        """
        __tracebackhide__ = True
        checks = self.ctx.checks
        self._check_tag_format(to, "ecr.promote()")
        src = self._source(source)
        target = self._describe_repository(PROMOTE, self.repository)
        image = self._get_image(src)
        digest = str(image["imageId"]["imageDigest"])
        manifest = str(image["imageManifest"])
        media_type = image.get("imageManifestMediaType") or _manifest_media_type(manifest)
        checks.passed(PROMOTE, "pre", "source image exists", f"{src.label} -> {digest}")
        result = ImageRef(
            repository_uri=str(target["repositoryUri"]), tag=to, digest=digest,
            registry_id=str(target["registryId"]), repository_name=self.repository,
        )
        current = self._digest_of(target, to)
        if current == digest:
            checks.passed(PROMOTE, "pre", "tag points at the image",
                          f"{self.repository}:{to} already points at {digest}; nothing written")
            self.ctx.log.info(f"{self.repository}:{to} already is {digest}")
            return result
        if current is not None and _is_immutable(target, to):
            checks.failed(PROMOTE, "pre", "tag is free",
                          f"tag '{to}' in repository '{self.repository}' is immutable and already points at "
                          f"{current}, not {digest}; promote to a new tag.")
        move = f"{self.repository}:{to} -> {digest} (from {src.label})"
        if self.ctx.options.plan:
            self.ctx.log.info(f"plan: would tag {move}")
            checks.skipped(PROMOTE, "pre", "promote", f"plan: would tag {move}")
            return replace(result, planned=True)
        self.ctx.before_write()
        self._put_image(target, to, manifest, media_type, digest)
        self._images.pop(to, None)  # an image() answer cached for this tag is stale now
        after = self._digest_of(target, to)
        checks.expect(after == digest, PROMOTE, "post", "tag points at the image",
                      f"{self.repository}:{to} -> {after}" + ("" if after == digest else f", expected {digest}"))
        self.ctx.log.info(f"tagged {move}")
        return result

    def push(self, local_image: str, tag: str | None = None) -> ImageRef:
        """Push a local Docker image to the service's repository as ``tag`` (default ``--image-tag``).

        Logs in with ECR's GetAuthorizationToken (the token goes to the Docker engine with the push, it is
        never stored or printed). Post-check: the digest ECR reports for the tag equals the digest Docker
        reported for the push. No Docker engine is a clear ActionError.
        """
        __tracebackhide__ = True
        checks = self.ctx.checks
        tag = self._tag(tag, "ecr.push()")
        self._check_tag_format(tag, "ecr.push()")
        repository = self._describe_repository(PUSH, self.repository)
        uri = str(repository["repositoryUri"])
        engine = self._docker()
        from docker.errors import DockerException, ImageNotFound

        try:
            local = engine.images.get(local_image)
        except ImageNotFound:
            checks.failed(PUSH, "pre", "local image exists", f"Docker has no image '{local_image}'.")
        except DockerException as exc:
            raise ActionError(f"ecr.push(): Docker could not read image '{local_image}' ({exc}).") from None
        checks.passed(PUSH, "pre", "local image exists", f"{local_image} ({str(local.id)[:19]})")
        current = self._digest_of(repository, tag)
        if current is not None and _is_immutable(repository, tag):
            checks.failed(PUSH, "pre", "tag is free",
                          f"tag '{tag}' in repository '{self.repository}' is immutable and already points at "
                          f"{current}; push to a new tag.")
        if self.ctx.options.plan:
            self.ctx.log.info(f"plan: would push {local_image} to {uri}:{tag}")
            checks.skipped(PUSH, "pre", "push", f"plan: would push {local_image} to {uri}:{tag}")
            return ImageRef(repository_uri=uri, tag=tag, digest=None, registry_id=str(repository["registryId"]),
                            repository_name=self.repository, planned=True)
        self.ctx.before_write()
        username, password = self._login(str(repository["registryId"]))
        if not local.tag(uri, tag=tag):
            raise ActionError(f"ecr.push(): Docker could not tag '{local_image}' as {uri}:{tag}.")
        self.ctx.log.info(f"pushing {local_image} to {uri}:{tag}")
        pushed = self._stream_push(engine, uri, tag, {"username": username, "password": password})
        after = self._digest_of(repository, tag)
        checks.expect(after == pushed, PUSH, "post", "ECR has the pushed digest",
                      f"ECR reports {after} for {self.repository}:{tag}, Docker pushed {pushed}")
        ref = ImageRef(repository_uri=uri, tag=tag, digest=pushed, registry_id=str(repository["registryId"]),
                       repository_name=self.repository)
        self._images.pop(tag, None)
        self.ctx.log.info(f"pushed {ref.reference}")
        return ref

    def close(self) -> None:
        """Release the Docker client this fixture opened (its pooled sockets); the plugin calls it at teardown."""
        client, self._docker_client = self._docker_client, None
        if client is not None and self._owns_docker:
            client.close()

    # -- internals: repositories and images ---------------------------------------------------------------

    def _tag(self, tag: str | None, where: str) -> str:
        service = self.ctx.service.name
        chosen = tag or self.ctx.options.tag_for(service)
        if not chosen:
            raise ActionError(f"{where}: no image tag was given for service '{service}'; pass --image-tag TAG, "
                              f"--image-tag {service}=TAG, or name the tag in the call.")
        return chosen

    def _check_tag_format(self, tag: str, where: str) -> None:
        if not is_tag(tag):
            raise ActionError(
                f"{where}: '{tag}' is not a valid image tag (letters, digits, _ . -, up to 128, not starting "
                f"with . or -)."
            )

    def _describe_repository(self, action: str, name: str) -> dict[str, Any]:
        __tracebackhide__ = True
        if name in self._repositories:
            return self._repositories[name]
        try:
            answer = call(self.ctx.aws, "ecr", "describe_repositories", f"describe repository '{name}'", who=WHO,
                          repositoryNames=[name])
        except ActionError as exc:
            if exc.code == "RepositoryNotFoundException":
                self.ctx.checks.failed(action, "pre", "repository exists",
                                       f"repository '{name}' does not exist in {self._registry()}.")
            raise
        repository = dict(answer["repositories"][0])
        self.ctx.checks.passed(action, "pre", "repository exists", str(repository["repositoryUri"]))
        if name == self.ctx.service.repository:  # what deploy_containers compares a container's registry with
            self.ctx.registry = parse_image(str(repository["repositoryUri"])).registry
        self._repositories[name] = repository
        return repository

    def _registry(self) -> str:
        where = self.ctx.environment.region
        try:
            return f"registry {self.ctx.aws.account_id} ({where})"
        except ActionError:
            return f"the registry of {where}"

    def _digest_of(self, repository: dict[str, Any], tag: str) -> str | None:
        """The digest ``tag`` points at in ``repository``, None when the tag is not there."""
        try:
            details = call(self.ctx.aws, "ecr", "describe_images", f"describe {repository['repositoryName']}:{tag}",
                           who=WHO, registryId=repository["registryId"], repositoryName=repository["repositoryName"],
                           imageIds=[{"imageTag": tag}])["imageDetails"]
        except ActionError as exc:
            if exc.code == "ImageNotFoundException":
                return None
            raise
        return str(details[0]["imageDigest"]) if details else None

    def _tags(self, repository: dict[str, Any]) -> dict[str, float]:
        tags: dict[str, float] = {}
        for page in pages(self.ctx.aws, "ecr", "describe_images",
                          f"list the tags of repository '{repository['repositoryName']}'", who=WHO,
                          registryId=repository["registryId"], repositoryName=repository["repositoryName"],
                          filter={"tagStatus": "TAGGED"}):
            for detail in page.get("imageDetails", []):
                pushed = detail.get("imagePushedAt")
                stamp = pushed.timestamp() if hasattr(pushed, "timestamp") else 0.0
                for tag in detail.get("imageTags") or []:
                    tags[str(tag)] = stamp
        return tags

    def _source(self, source: ImageRef | str) -> _Source:
        if isinstance(source, ImageRef):
            region = parse_image(source.repository_uri).region
            return _Source(source.registry_id or None, region, source.repository_name, source.tag, source.digest)
        if not isinstance(source, str):
            raise ActionError(f"ecr.promote(): expected an ImageRef or 'repository:tag', got {type(source).__name__}.")
        return parse_source(source)

    def _get_image(self, src: _Source) -> dict[str, Any]:
        __tracebackhide__ = True
        kwargs: dict[str, Any] = {
            "repositoryName": src.repository,
            "imageIds": [src.image_id],
            "acceptedMediaTypes": MANIFEST_MEDIA_TYPES,
        }
        if src.registry_id:
            kwargs["registryId"] = src.registry_id
        try:
            answer = call(self.ctx.aws, "ecr", "batch_get_image", f"read the manifest of {src.label}", who=WHO,
                          region=src.region, **kwargs)
        except ActionError as exc:
            if exc.code == "RepositoryNotFoundException":
                self.ctx.checks.failed(PROMOTE, "pre", "source image exists",
                                       f"the source repository '{src.repository}' does not exist "
                                       f"({'registry ' + src.registry_id if src.registry_id else 'this registry'}).")
            raise
        images = answer.get("images") or []
        if not images:
            reason = (answer.get("failures") or [{}])[0].get("failureReason", "not found")
            self.ctx.checks.failed(PROMOTE, "pre", "source image exists",
                                   f"{src.label} is not in ECR ({str(reason).rstrip('.')}).")
        return dict(images[0])

    def _put_image(self, target: dict[str, Any], tag: str, manifest: str, media_type: str | None,
                   digest: str) -> None:
        __tracebackhide__ = True
        kwargs: dict[str, Any] = {
            "registryId": target["registryId"], "repositoryName": target["repositoryName"],
            "imageManifest": manifest, "imageTag": tag, "imageDigest": digest,
        }
        if media_type:
            kwargs["imageManifestMediaType"] = media_type
        try:
            call(self.ctx.aws, "ecr", "put_image", f"tag {target['repositoryName']}:{tag}", who=WHO, **kwargs)
        except ActionError as exc:
            code = exc.code
            if code in ("ImageTagAlreadyExistsException", "ImageAlreadyExistsException"):
                # ECR: ImageTagAlreadyExists = immutable tag taken; ImageAlreadyExists = same manifest and tag
                # already there. moto raises ImageAlreadyExists for both, so ask which it is.
                now = self._digest_of(target, tag)
                if now == digest:
                    return
                self.ctx.checks.failed(PROMOTE, "pre", "tag is free",
                                       f"tag '{tag}' in repository '{target['repositoryName']}' is immutable and "
                                       f"points at {now}, not {digest} ({code}); promote to a new tag.")
            if code in ("LayersNotFoundException", "ReferencedImagesNotFoundException"):
                raise ActionError(
                    f"ecr.promote(): repository '{target['repositoryName']}' lacks the layers of {digest} ({code}); "
                    f"ECR copies a manifest only where its layers already are, so push the image there once.",
                    code=code,
                ) from None
            raise

    # -- internals: the scan gate -------------------------------------------------------------------------

    def _scan_gate(self, repository: dict[str, Any], ref: ImageRef) -> None:
        __tracebackhide__ = True
        checks = self.ctx.checks
        threshold = (self.ctx.service.scan_severity or "CRITICAL").upper()
        if threshold == "NONE":
            checks.skipped(IMAGE, "pre", "scan findings", "the scan gate is off (scan_severity = NONE)")
            return
        name = f"{ref.name} ({str(ref.digest)[:19]}…)"
        started = self._clock()
        last: list[_Scan] = []  # the last scan read

        def waiting() -> None:
            status = last[0].status if last else "not read yet"
            self.ctx.log.info(f"waiting for the scan of {name}: {status} ({self._clock() - started:.0f} s)")

        def judge(scan: _Scan) -> Seen[_Scan]:
            first = not last
            last[:] = [scan]
            if not scan.found or scan.status not in _WAITING:
                return Seen(scan)
            if first:
                waiting()
            return Seen(printed=first)

        scan = wait_for(lambda: self._scan(repository, ref), judge, timeout=self.scan_timeout_seconds,
                        schedule=PollSchedule(self.scan_poll_seconds, self.scan_poll_seconds), clock=self._clock,
                        sleep=self._sleep, warn=self.ctx.log.warning, progress=waiting)
        if scan is None:
            waited = f"{self._clock() - started:.0f} s"
            checks.failed(IMAGE, "pre", "scan findings", f"the scan of {name} is still {last[0].status} after {waited}."
                          if last else f"the scan of {name} could not be read within {waited}.")
        if not scan.found:
            checks.skipped(IMAGE, "pre", "scan findings",
                           f"{name} has no scan (scan on push is off, or it was never scanned); nothing to gate on")
            return
        status, description, findings = scan.status, scan.description, scan.findings
        if status not in _DONE:
            detail = f"the scan of {name} ended {status}" + (f": {description}" if description else "")
            self.ctx.log.warning(detail)
            checks.skipped(IMAGE, "pre", "scan findings", detail)
            return
        rank = severity_rank(threshold)
        blocking = [f for f in findings if severity_rank(f.get("severity")) >= rank]
        if blocking:
            blocking.sort(key=lambda f: -severity_rank(f.get("severity")))
            listed = ", ".join(f"{finding_id(f)} ({str(f.get('severity')).upper()})" for f in blocking[:10])
            more = f" and {len(blocking) - 10} more" if len(blocking) > 10 else ""
            checks.failed(IMAGE, "pre", "scan findings",
                          f"{len(blocking)} finding{'s' if len(blocking) > 1 else ''} at or above {threshold} in "
                          f"{name}: {listed}{more}.")
        counts: dict[str, int] = {}
        for finding in findings:
            severity = str(finding.get("severity")).upper()
            counts[severity] = counts.get(severity, 0) + 1
        summary = ", ".join(f"{s} {n}" for s, n in sorted(counts.items(), key=lambda i: -severity_rank(i[0])))
        checks.passed(IMAGE, "pre", "scan findings",
                      f"none at or above {threshold} in {name}" + (f" (found: {summary})" if summary else ""))

    def _scan(self, repository: dict[str, Any], ref: ImageRef) -> _Scan:
        """The image's scan: its status, description and findings (all pages), or one that is not ``found``."""
        findings: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "registryId": repository["registryId"], "repositoryName": repository["repositoryName"],
            "imageId": {"imageDigest": ref.digest},
        }
        while True:
            try:
                page = call(self.ctx.aws, "ecr", "describe_image_scan_findings",
                            f"read the scan findings of {ref.name}", who=WHO, **kwargs)
            except ActionError as exc:
                if exc.code == "ScanNotFoundException":
                    return _Scan(found=False)
                raise
            scan_status = page.get("imageScanStatus") or {}
            status = str(scan_status.get("status", ""))
            body = page.get("imageScanFindings") or {}
            findings += list(body.get("findings") or []) + list(body.get("enhancedFindings") or [])
            token = page.get("nextToken")
            if not token or status in _WAITING:
                return _Scan(True, status, str(scan_status.get("description", "") or ""), tuple(findings))
            kwargs["nextToken"] = token

    # -- internals: Docker --------------------------------------------------------------------------------

    def _docker(self) -> Any:
        if self._docker_client is not None:
            return self._docker_client
        import docker
        import docker.errors

        host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        if host.startswith("unix://") and not os.path.exists(host[len("unix://"):]):
            # docker-py would leak the socket it opens for a missing path (a ResourceWarning); say it plainly
            raise ActionError(
                f"ecr.push() needs a Docker engine and none answers: {host} does not exist (start Docker or set "
                f"DOCKER_HOST)."
            )
        try:
            client = docker.from_env()
            client.ping()
        except docker.errors.DockerException as exc:
            raise ActionError(f"ecr.push() needs a Docker engine and none answers at {host}: {exc}.") from None
        self._docker_client, self._owns_docker = client, True
        return client

    def _login(self, registry_id: str) -> tuple[str, str]:
        kwargs: dict[str, Any] = {}
        if registry_id and registry_id != self._caller_account():
            kwargs["registryIds"] = [registry_id]
        data = call(self.ctx.aws, "ecr", "get_authorization_token", "get an ECR authorization token", who=WHO,
                    **kwargs)["authorizationData"][0]
        username, _, password = base64.b64decode(data["authorizationToken"]).decode("utf-8").partition(":")
        return username, password

    def _caller_account(self) -> str | None:
        try:
            return self.ctx.aws.account_id
        except ActionError:
            return None

    def _stream_push(self, engine: Any, uri: str, tag: str, auth: dict[str, str]) -> str:
        digest: str | None = None
        reported: set[tuple[str, str]] = set()
        try:
            events = engine.api.push(uri, tag=tag, stream=True, decode=True, auth_config=auth)
            for event in events:
                if event.get("error") or event.get("errorDetail"):
                    message = event.get("error") or (event.get("errorDetail") or {}).get("message")
                    raise ActionError(f"docker push {uri}:{tag} failed: {str(message).strip().rstrip('.')}.")
                aux = event.get("aux") or {}
                if aux.get("Digest"):
                    digest = str(aux["Digest"])
                status = str(event.get("status", ""))
                layer = str(event.get("id", ""))
                if layer and (status in ("Pushed", "Layer already exists") or status.startswith("Mounted from")):
                    if (layer, status) not in reported:
                        reported.add((layer, status))
                        self.ctx.log.info(f"  {layer}: {status}")
        except ActionError:
            raise
        except Exception as exc:
            raise ActionError(f"docker push {uri}:{tag} failed: {exc}.") from None
        if digest is None:
            raise ActionError(f"docker push {uri}:{tag} ended without reporting a digest.")
        return digest


def _is_immutable(repository: dict[str, Any], tag: str) -> bool:
    """Whether ``tag`` is immutable in ``repository``, exclusion filters (wildcards) included."""
    mutability = str(repository.get("imageTagMutability") or "MUTABLE")
    filters = repository.get("imageTagMutabilityExclusionFilters") or []
    excluded = any(fnmatch.fnmatchcase(tag, str(f.get("filter", ""))) for f in filters)
    if mutability == "IMMUTABLE":
        return True
    if mutability == "IMMUTABLE_WITH_EXCLUSION":
        return not excluded
    if mutability == "MUTABLE_WITH_EXCLUSION":
        return excluded
    return False


def _manifest_media_type(manifest: str) -> str | None:
    try:
        media_type = json.loads(manifest).get("mediaType")
    except (ValueError, AttributeError):
        return None
    return str(media_type) if media_type else None
