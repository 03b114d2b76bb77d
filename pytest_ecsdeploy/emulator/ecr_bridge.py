"""The ECR bridge: keeps moto's ECR and the local registry (``registry.LocalRegistry``) in step.

It is what makes the registry ECR's data plane, the way LocalStack's ECR does with ``ECR_ENDPOINT_STRATEGY=off``:

- repository URIs are ``127.0.0.1:PORT/<repository>`` (moto's ``<account>.dkr.ecr.<region>.amazonaws.com/...``
  would need DNS and TLS), and GetAuthorizationToken's ``proxyEndpoint`` is ``http://127.0.0.1:PORT``; the
  registry needs no login (Docker trusts plain-HTTP registries on 127.0.0.0/8);
- an image pushed with ``docker push`` appears in DescribeImages / BatchGetImage with the registry's digest:
  the registry reports each push to ``POST /_ecsdeploy/registry/events`` and the bridge puts the manifest
  into moto; ECR reads of a repository (DescribeImages, BatchGetImage, ListImages) first import any tag the
  registry has and ECR has not heard of, so a read right after ``docker push`` never races the notification;
- an image put through PutImage (``ecr.promote``, a seed) is pushed into the registry too, so Docker can pull it:
  its blobs must be in the registry already (in any repository: they are mounted across), which holds for
  promotions of pushed images and for seeded images (``LocalRegistry.seed_manifest`` uploads real blobs);
  PutImage's digest is the manifest's sha256, as ECR computes it (moto would derive one from the layers);
- BatchDeleteImage deletes the manifest from the registry once no ECR tag points at it.

Every repository of every account and region shares the one registry (as with LocalStack), so
repositories with the same name in two accounts share images there; pushes are recorded in the LocalAWS's own
account and region unless only another account or region has a repository of that name.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from typing import Any

from . import moto_state
from .registry import DOCKER_MANIFEST, MANIFEST_TYPES, LocalRegistry, RegistryError, digest_of
from .wsgi import Environ, StartResponse, WsgiApp, call_app, read_body, with_body

log = logging.getLogger(__name__)

__all__ = ["ECR_TARGET_PREFIX", "EVENTS_PATH", "EcrBridge"]

ECR_TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."
EVENTS_PATH = "/_ecsdeploy/registry/events"
_READS = ("DescribeImages", "BatchGetImage", "ListImages")


class EcrBridge:
    """Keeps moto's ECR and a :class:`LocalRegistry` in step (see the module docstring).

    ``account`` and ``region`` say where pushes land when a repository name exists in several accounts or
    regions (the LocalAWS's own). The WSGI middleware sends it every ECR request (:meth:`handle_ecr`) and the
    registry's notifications (:meth:`handle_events`).
    """

    def __init__(self, registry: LocalRegistry, *, account: str, region: str) -> None:
        self.registry = registry
        self.account = account
        self.region = region
        self._lock = threading.RLock()
        # (repository, tag, digest) states of the registry already reconciled with ECR: imported, or
        # overridden through the ECR API (a tag moved or deleted); a read never imports them again.
        self._seen: set[tuple[str, str | None, str]] = set()

    def start(self) -> None:
        moto_state.set_repository_host(self.registry.host)

    def stop(self) -> None:
        moto_state.set_repository_host(None)

    def reset(self) -> None:
        """Forget everything and empty the registry (LocalAWS.reset empties moto)."""
        with self._lock:
            self._seen.clear()
            try:
                self.registry.clear()
            except OSError:
                log.warning("could not empty the local registry", exc_info=True)

    # -- the WSGI side ----------------------------------------------------------------------------------------

    def handle_ecr(self, environ: Environ, start_response: StartResponse, moto_app: WsgiApp,
                   action: str) -> Iterable[bytes]:
        """Answer one ECR request through moto, with the registry's side of it before or after."""
        body = read_body(environ)
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = None
        if not isinstance(params, dict):
            return moto_app(with_body(environ, body), start_response)
        repository = params.get("repositoryName")
        if action in _READS and isinstance(repository, str):
            self._sync(repository)
        if action == "PutImage" and isinstance(params.get("imageManifest"), str) and not params.get("imageDigest"):
            params["imageDigest"] = digest_of(params["imageManifest"].encode("utf-8"))
            body = json.dumps(params).encode("utf-8")
        before: dict[str, set[str]] = {}
        if action == "BatchDeleteImage" and isinstance(repository, str):
            before = self._ecr_tags_by_digest(repository)
        status, headers, answer = call_app(moto_app, with_body(environ, body))
        if status.startswith("200"):
            try:
                if action == "PutImage" and isinstance(repository, str):
                    self._after_put_image(repository, params)
                elif action == "BatchDeleteImage" and isinstance(repository, str):
                    self._after_delete(repository, before)
                elif action == "GetAuthorizationToken":
                    answer = self._with_proxy_endpoint(answer)
            except (OSError, RegistryError, ValueError, KeyError):
                log.warning("the local registry could not follow %s", action, exc_info=True)
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(answer))))
        start_response(status, headers)
        return [answer]

    def handle_events(self, body: bytes) -> int:
        """The registry's notification envelope: import each manifest push; the number imported."""
        try:
            events = json.loads(body or b"{}").get("events") or []
        except (ValueError, AttributeError):
            return 0
        imported = 0
        for event in events:
            target = event.get("target") or {}
            if event.get("action") != "push" or target.get("mediaType") not in MANIFEST_TYPES:
                continue
            repository, tag, digest = target.get("repository"), target.get("tag"), target.get("digest")
            if not isinstance(repository, str) or not isinstance(digest, str):
                continue
            try:
                with self._lock:
                    if tag:
                        imported += self._reconcile(repository, str(tag))
                    elif (repository, None, digest) not in self._seen:
                        self._seen.add((repository, None, digest))
                        imported += self._import(repository, None, digest)
            except (OSError, RegistryError):
                log.warning("could not import the push of %s:%s into ECR", repository, tag, exc_info=True)
        return imported

    # -- reconciling ------------------------------------------------------------------------------------------

    def _sync(self, repository: str) -> None:
        try:
            with self._lock:
                for tag in self.registry.tags(repository):
                    self._reconcile(repository, tag)
        except (OSError, RegistryError):
            log.warning("could not read repository %s from the local registry", repository, exc_info=True)

    def _reconcile(self, repository: str, tag: str) -> int:
        digest = self.registry.resolve(repository, tag)
        if digest is None or (repository, tag, digest) in self._seen:
            return 0
        self._seen.add((repository, tag, digest))
        return self._import(repository, tag, digest)

    def _import(self, repository: str, tag: str | None, digest: str) -> int:
        where = moto_state.ecr_locate(repository, self.account, self.region)
        if where is None:
            log.warning("pushed %s:%s to the local registry, but no ECR repository is named %s; ECR does not "
                        "list it", repository, tag, repository)
            return 0
        manifest, media_type, digest = self.registry.manifest(repository, digest)
        refused = moto_state.ecr_put_image(*where, repository, manifest.decode("utf-8"), tag, media_type, digest)
        if refused is not None:
            if digest not in refused:  # not this image again: an IMMUTABLE tag ECR would have refused
                log.warning("ECR refused the push of %s:%s: %s", repository, tag, refused)
            return 0
        return 1

    def _after_put_image(self, repository: str, params: dict[str, Any]) -> None:
        manifest = str(params["imageManifest"]).encode("utf-8")
        media_type = params.get("imageManifestMediaType") or json.loads(manifest).get("mediaType") or DOCKER_MANIFEST
        tag = params.get("imageTag")
        with self._lock:
            try:
                digest = self.registry.push_manifest(repository, tag or digest_of(manifest), manifest, media_type)
            except RegistryError as exc:
                # ECR accepted it; Docker cannot pull it (for example a made-up manifest): say so once
                log.info("PutImage %s:%s is in ECR but not in the local registry: %s", repository, tag, exc)
                if tag:
                    current = self.registry.resolve(repository, tag)
                    if current is not None:
                        self._seen.add((repository, tag, current))  # ECR moved the tag: keep it moved
                return
            self._seen.add((repository, tag, digest))

    def _ecr_tags_by_digest(self, repository: str) -> dict[str, set[str]]:
        where = moto_state.ecr_locate(repository, self.account, self.region)
        return moto_state.ecr_tags_by_digest(*where, repository) if where is not None else {}

    def _after_delete(self, repository: str, before: dict[str, set[str]]) -> None:
        after = self._ecr_tags_by_digest(repository)
        with self._lock:
            for digest, tags in before.items():
                for tag in tags - after.get(digest, set()):
                    self._seen.add((repository, tag, digest))
                if digest not in after:
                    self._seen.add((repository, None, digest))
                    self.registry.delete_manifest(repository, digest)

    def _with_proxy_endpoint(self, answer: bytes) -> bytes:
        data = json.loads(answer)
        for item in data.get("authorizationData") or []:
            item["proxyEndpoint"] = f"http://{self.registry.host}"
        return json.dumps(data).encode("utf-8")
