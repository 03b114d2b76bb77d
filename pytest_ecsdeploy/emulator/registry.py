"""ECR's data plane for the embedded local AWS: a real OCI registry that ``docker push`` and ``docker pull`` use.

When the Docker runner is on, :class:`LocalRegistry` runs Debian's ``docker-registry`` (the distribution registry
v2) on a free loopback port, with its storage in a temporary folder; ``ecr_bridge.EcrBridge`` keeps it and
moto's ECR in step. This module knows nothing of moto: it speaks the registry's HTTP API.

Seeded images: with Docker, every ``repository:tag`` a seed lists is a real image of about 1 MB (Debian's static
busybox, ``/bin/busybox`` from busybox-static) whose process answers ``GET /health`` and ``GET /version`` (the
tag) on ``$PORT`` (default 8080), so seeded services run for real and smoke checks have something to reach.
Digests are stable from run to run on one machine (they depend on the busybox binary).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import json
import logging
import os
import platform
import shutil
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["LocalRegistry", "RegistryError", "digest_of", "find_registry_binary", "seed_layer"]

BUSYBOX = "/bin/busybox"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_TYPES = (
    DOCKER_MANIFEST,
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
)
_LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
_CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"

#: The seeded images' program: /health and /version on $PORT, exits 0 on SIGTERM.
SEED_START_SCRIPT = """\
#!/bin/sh
# pytest-ecsdeploy seeded image: GET /health -> ok, GET /version -> the image tag, on $PORT (default 8080); given
# a command (a task definition's or a RunTask override's), it runs that instead, as an image's entrypoint does.
/bin/busybox --install -s /bin
[ "$#" -gt 0 ] && exec "$@"
mkdir -p /www
echo ok > /www/health
echo "$IMAGE_TAG" > /www/version
httpd -f -p "${PORT:-8080}" -h /www &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; exit 0' TERM INT
wait "$pid"
"""


class RegistryError(RuntimeError):
    """The registry refused a request or could not start; the message says which and why."""


def find_registry_binary() -> str | None:
    """The distribution registry's command: ``$ECSDEPLOY_REGISTRY_BIN``, ``docker-registry`` (Debian) or
    ``registry`` (upstream name), None when none is installed."""
    configured = os.environ.get("ECSDEPLOY_REGISTRY_BIN")
    if configured:
        return configured
    return shutil.which("docker-registry") or shutil.which("registry")


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def digest_of(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``: a blob's or a manifest's digest, as the registry and ECR compute it."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


class LocalRegistry:
    """A distribution registry process on ``127.0.0.1:PORT`` with its storage in a temporary folder.

    Example::

        registry = LocalRegistry(notify_url="http://127.0.0.1:4566/_ecsdeploy/registry/events").start()
        registry.host                      # '127.0.0.1:40213'
        registry.tags("web")               # ['1.0.0']
        registry.stop()                    # the process ends and its storage is deleted
    """

    def __init__(self, *, notify_url: str | None = None, binary: str | None = None) -> None:
        self.notify_url = notify_url
        self.binary = binary or find_registry_binary()
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._log: Any = None

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> LocalRegistry:
        """Start the registry and wait until it answers ``GET /v2/``; raises RegistryError."""
        if self.binary is None:
            raise RegistryError("no distribution registry is installed (Debian package docker-registry).")
        self._dir = tempfile.TemporaryDirectory(prefix="ecsdeploy-registry-")
        last = ""
        for _ in range(3):  # a free port can be taken between choosing and binding it: try another
            self.port = _free_port()
            config = os.path.join(self._dir.name, "config.json")
            with open(config, "w", encoding="utf-8") as handle:
                json.dump(self._config(), handle)
            self._log = open(os.path.join(self._dir.name, "registry.log"), "ab")  # noqa: SIM115 - closed in stop()
            self._process = subprocess.Popen(
                [self.binary, "serve", config], stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    break
                try:
                    if self.request("GET", "/v2/", timeout=1)[0] == 200:
                        return self
                except OSError:
                    pass
                time.sleep(0.05)
            last = self._tail_log()
            self._end_process()
        self.stop()
        raise RegistryError(f"the registry did not start: {last or 'no output'}")

    def stop(self) -> None:
        """Stop the process and delete its storage; idempotent."""
        self._end_process()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def _end_process(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _tail_log(self) -> str:
        if self._dir is None:
            return ""
        try:
            with open(os.path.join(self._dir.name, "registry.log"), "rb") as handle:
                lines = handle.read().decode("utf-8", "replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def _config(self) -> dict[str, Any]:
        assert self._dir is not None
        config: dict[str, Any] = {
            "version": "0.1",
            "log": {"level": "error", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": os.path.join(self._dir.name, "data")},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": f"127.0.0.1:{self.port}"},
        }
        if self.notify_url:
            config["notifications"] = {
                "endpoints": [
                    {
                        "name": "ecsdeploy",
                        "url": self.notify_url,
                        "timeout": "5s",
                        "threshold": 3,
                        "backoff": "1s",
                        "ignoredmediatypes": ["application/octet-stream"],
                    }
                ]
            }
        return config

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: what repository URIs start with."""
        return f"127.0.0.1:{self.port}"

    # -- the registry HTTP API ----------------------------------------------------------------------------

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request to the registry: (status, lower-cased headers, body)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            connection.close()

    def repositories(self) -> list[str]:
        status, _, body = self.request("GET", "/v2/_catalog?n=1000")
        return list(json.loads(body).get("repositories") or []) if status == 200 else []

    def tags(self, repository: str) -> list[str]:
        """The repository's tags; none for a repository nobody pushed to."""
        status, _, body = self.request("GET", f"/v2/{repository}/tags/list")
        if status != 200:
            return []
        return list(json.loads(body).get("tags") or [])

    def resolve(self, repository: str, reference: str) -> str | None:
        """The digest a tag (or digest) names in the registry, None when it does not."""
        status, headers, _ = self.request(
            "HEAD", f"/v2/{repository}/manifests/{reference}", headers={"Accept": ", ".join(MANIFEST_TYPES)}
        )
        return headers.get("docker-content-digest") if status == 200 else None

    def manifest(self, repository: str, reference: str) -> tuple[bytes, str, str]:
        """(manifest bytes exactly as pushed, media type, digest); raises RegistryError when missing."""
        status, headers, body = self.request(
            "GET", f"/v2/{repository}/manifests/{reference}", headers={"Accept": ", ".join(MANIFEST_TYPES)}
        )
        if status != 200:
            raise RegistryError(f"the registry has no manifest {repository}:{reference} (HTTP {status}).")
        media_type = headers.get("content-type", "").split(";")[0] or DOCKER_MANIFEST
        return body, media_type, headers.get("docker-content-digest") or digest_of(body)

    def has_blob(self, repository: str, digest: str) -> bool:
        return self.request("HEAD", f"/v2/{repository}/blobs/{digest}")[0] == 200

    def upload_blob(self, repository: str, data: bytes) -> str:
        """Upload ``data`` as a blob of ``repository`` (monolithic upload) unless it is there; its digest."""
        digest = digest_of(data)
        if self.has_blob(repository, digest):
            return digest
        status, headers, body = self.request("POST", f"/v2/{repository}/blobs/uploads/")
        if status != 202:
            raise RegistryError(f"the registry refused an upload to {repository} (HTTP {status}): {body[:200]!r}")
        location = self._location(headers)
        separator = "&" if "?" in location else "?"
        status, _, body = self.request(
            "PUT", f"{location}{separator}digest={digest}", body=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        if status != 201:
            raise RegistryError(f"the registry refused blob {digest} in {repository} (HTTP {status}): {body[:200]!r}")
        return digest

    def mount_blob(self, repository: str, digest: str, source: str) -> bool:
        """Link a blob of ``source`` into ``repository`` without copying; True when it worked."""
        query = urllib.parse.urlencode({"mount": digest, "from": source})
        status, headers, _ = self.request("POST", f"/v2/{repository}/blobs/uploads/?{query}")
        if status == 202:  # not mounted: the registry opened an upload instead; cancel it
            self.request("DELETE", self._location(headers))
        return status == 201

    def put_manifest(self, repository: str, reference: str, manifest: bytes, media_type: str) -> str:
        """Store a manifest under a tag (or its digest); its blobs must be in the repository. The digest."""
        status, headers, body = self.request(
            "PUT", f"/v2/{repository}/manifests/{reference}", body=manifest, headers={"Content-Type": media_type}
        )
        if status != 201:
            raise RegistryError(
                f"the registry refused the manifest {repository}:{reference} (HTTP {status}): "
                f"{body.decode('utf-8', 'replace')[:300]}"
            )
        return headers.get("docker-content-digest") or digest_of(manifest)

    def delete_manifest(self, repository: str, digest: str) -> bool:
        return self.request("DELETE", f"/v2/{repository}/manifests/{digest}")[0] == 202

    def clear(self) -> None:
        """Delete every manifest (and so every tag) of every repository: the registry looks empty."""
        for repository in self.repositories():
            digests = {self.resolve(repository, tag) for tag in self.tags(repository)}
            for digest in digests - {None}:
                self.delete_manifest(repository, str(digest))

    def _location(self, headers: Mapping[str, str]) -> str:
        location = headers.get("location", "")
        parsed = urllib.parse.urlsplit(location)
        return parsed.path + (f"?{parsed.query}" if parsed.query else "") if parsed.scheme else location

    # -- manifests and blobs across repositories -------------------------------------------------------------

    def push_manifest(self, repository: str, reference: str, manifest: bytes, media_type: str) -> str:
        """:meth:`put_manifest`, first mounting into ``repository`` the blobs it lacks from other repositories.

        Raises RegistryError when a blob is in no repository (for example a made-up manifest)."""
        for digest in _referenced_blobs(manifest):
            if self.has_blob(repository, digest):
                continue
            sources = [r for r in self.repositories() if r != repository]
            if not any(self.has_blob(source, digest) and self.mount_blob(repository, digest, source)
                       for source in sources):
                raise RegistryError(f"blob {digest} is in no repository of the registry")
        return self.put_manifest(repository, reference, manifest, media_type)

    # -- seeded images ------------------------------------------------------------------------------------------

    def seed_manifest(self, repository: str, tag: str) -> str:
        """Upload a real image for ``repository:tag`` (busybox serving /health and /version on $PORT, or running the
        command it is given) and return its manifest (Docker v2 schema 2) for PutImage; the tag itself is set by
        PutImage."""
        layer, diff_id = seed_layer()
        config = json.dumps(
            {
                "architecture": _architecture(),
                "os": "linux",
                "config": {
                    "Env": ["PATH=/bin", f"IMAGE_TAG={tag}", "PORT=8080"],
                    "Entrypoint": ["/bin/sh", "/app/start.sh"],
                    "ExposedPorts": {"8080/tcp": {}},
                    "Labels": {"org.opencontainers.image.version": tag,
                               "org.opencontainers.image.title": repository,
                               "pytest-ecsdeploy.seeded": "true"},
                    "StopSignal": "SIGTERM",
                },
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                "history": [{"created_by": "pytest-ecsdeploy seed"}],
            },
            sort_keys=True,
        ).encode()
        layer_digest = self.upload_blob(repository, layer)
        config_digest = self.upload_blob(repository, config)
        manifest = {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": _CONFIG_TYPE, "size": len(config), "digest": config_digest},
            "layers": [{"mediaType": _LAYER_TYPE, "size": len(layer), "digest": layer_digest}],
        }
        return json.dumps(manifest, indent=3)


def _referenced_blobs(manifest: bytes) -> list[str]:
    try:
        data = json.loads(manifest)
    except ValueError:
        return []
    blobs = [data["config"]["digest"]] if isinstance(data.get("config"), dict) else []
    blobs += [layer["digest"] for layer in data.get("layers") or [] if isinstance(layer, dict)]
    return [str(blob) for blob in blobs]


def _architecture() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


_layer_cache: tuple[bytes, str] | None = None
_layer_lock = threading.Lock()


def seed_layer() -> tuple[bytes, str]:
    """The seeded images' one layer (gzip'd tar: busybox, /bin/sh, /app/start.sh) and its diff id, built
    byte-for-byte the same every time (fixed owners, modes and times); RegistryError without a static busybox."""
    global _layer_cache
    with _layer_lock:
        if _layer_cache is not None:
            return _layer_cache
        try:
            with open(BUSYBOX, "rb") as handle:
                busybox = handle.read()
        except OSError as exc:
            raise RegistryError(f"seeded images need a static busybox at {BUSYBOX} (Debian package "
                                f"busybox-static): {exc.strerror or exc}") from None
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            def add(name: str, *, data: bytes | None = None, mode: int = 0o755, link: str | None = None) -> None:
                info = tarfile.TarInfo(name)
                info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode = 0, 0, 0, "", "", mode
                if link is not None:
                    info.type, info.linkname = tarfile.SYMTYPE, link
                elif data is None:
                    info.type = tarfile.DIRTYPE
                else:
                    info.size = len(data)
                tar.addfile(info, io.BytesIO(data) if data is not None else None)

            add("app")
            add("app/start.sh", data=SEED_START_SCRIPT.encode(), mode=0o755)
            add("bin")
            add("bin/busybox", data=busybox)
            add("bin/sh", link="busybox")
            add("tmp", mode=0o1777)
        tar_bytes = raw.getvalue()
        compressed = io.BytesIO()
        with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0, compresslevel=6) as zipped:
            zipped.write(tar_bytes)
        _layer_cache = (compressed.getvalue(), digest_of(tar_bytes))
        return _layer_cache
