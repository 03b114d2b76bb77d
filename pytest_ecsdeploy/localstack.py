"""LocalStack for tests: started through testcontainers when it can be, else a skip that says what to do.

LocalStack's ECS and ECR are in its paid plans only, and since March 2026 every LocalStack image needs an auth
token (``LOCALSTACK_AUTH_TOKEN``); its ECS runs each task as a container on the Docker engine it is given
through the mounted Docker socket. The embedded local AWS (``backend = "emulator"``) covers the same ground
without either, so a run without a token is skipped, never failed.

The ``localstack`` fixture (``fixtures.py``) uses this module::

    def test_cluster_exists(localstack):
        ecs = localstack.client("ecs")
        ecs.create_cluster(clusterName="ci")

It is skipped, with one sentence saying what to do, when ``LOCALSTACK_AUTH_TOKEN`` is not set, when no Docker
engine answers, or when the image (``ECSDEPLOY_LOCALSTACK_IMAGE``, default :data:`DEFAULT_IMAGE`) or the
Ryuk image testcontainers starts beside it is not in the local engine: images are never pulled implicitly,
because a pull of a 1 GB image in the middle of a test run is a surprise (and on some machines impossible).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_IMAGE", "LocalStack", "LocalStackSettings", "localstack_container", "skip_reason"]

#: The image of LocalStack's documented Pro compose file (docker-compose.localstack.yml uses the same).
DEFAULT_IMAGE = "localstack/localstack-pro"
TOKEN_VARIABLE = "LOCALSTACK_AUTH_TOKEN"
IMAGE_VARIABLE = "ECSDEPLOY_LOCALSTACK_IMAGE"
EDGE_PORT = 4566
DOCKER_SOCKET = "/var/run/docker.sock"
RYUK_IMAGE = "testcontainers/ryuk:0.8.1"  # testcontainers' default (RYUK_CONTAINER_IMAGE overrides it)
_ENABLED = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class LocalStackSettings:
    """What the fixture starts: the image, the token, the Docker socket to mount and the region.

    >>> settings = LocalStackSettings.from_environ({"LOCALSTACK_AUTH_TOKEN": "ls-…"}, region="eu-west-1")
    >>> settings.image, settings.container_environment()["AWS_DEFAULT_REGION"]
    ('localstack/localstack-pro', 'eu-west-1')
    """

    image: str = DEFAULT_IMAGE
    token: str | None = field(default=None, repr=False)
    region: str = "us-east-1"
    docker_socket: str = DOCKER_SOCKET
    ryuk_image: str | None = RYUK_IMAGE  # None when TESTCONTAINERS_RYUK_DISABLED is set

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], *, region: str | None = None) -> LocalStackSettings:
        """Read ``LOCALSTACK_AUTH_TOKEN``, ``ECSDEPLOY_LOCALSTACK_IMAGE``, ``AWS_DEFAULT_REGION`` and
        testcontainers' Ryuk settings from ``environ``."""
        ryuk_off = environ.get("TESTCONTAINERS_RYUK_DISABLED", "").strip().lower() in _ENABLED
        return cls(
            image=environ.get(IMAGE_VARIABLE) or DEFAULT_IMAGE,
            token=environ.get(TOKEN_VARIABLE) or None,
            region=region or environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            ryuk_image=None if ryuk_off else (environ.get("RYUK_CONTAINER_IMAGE") or RYUK_IMAGE),
        )

    def container_environment(self) -> dict[str, str]:
        """The container's environment: the token (ECS and ECR need it), the region, fixed test credentials."""
        return {
            TOKEN_VARIABLE: self.token or "",
            "AWS_DEFAULT_REGION": self.region,
            "DEBUG": "0",
            "PERSISTENCE": "0",
        }

    def volumes(self) -> dict[str, str]:
        """host path -> container path: the Docker socket, so LocalStack's ECS can run task containers."""
        return {self.docker_socket: DOCKER_SOCKET}

    def ports(self) -> dict[str, tuple[str, None]]:
        """The edge port, published on 127.0.0.1 only (a random host port): a LocalStack that holds the Docker
        socket must not be reachable from the network."""
        return {f"{EDGE_PORT}/tcp": ("127.0.0.1", None)}


def skip_reason(
    settings: LocalStackSettings,
    *,
    docker_ping: Callable[[], str | None],
    image_present: Callable[[str], bool],
) -> str | None:
    """Why LocalStack cannot be started here (one sentence saying what to do), or None when it can.

    ``docker_ping()`` returns None when a Docker engine answers, else what went wrong; ``image_present(image)``
    says whether the engine has the image locally. They are asked in that order, and only when needed.
    """
    if not settings.token:
        return (f"{TOKEN_VARIABLE} is not set: LocalStack's ECS and ECR need a paid plan's auth token; export "
                f"{TOKEN_VARIABLE}=<your token> to run this, or deploy to the embedded local AWS (--env local), "
                f"which needs no token.")
    problem = docker_ping()
    if problem is not None:
        where = os.environ.get("DOCKER_HOST") or f"unix://{DOCKER_SOCKET}"
        return (f"no Docker engine answers at {where} ({problem}): LocalStack and the task containers of its ECS "
                f"run on Docker; start dockerd or set DOCKER_HOST, then run again.")
    for image, what in ((settings.image, "LocalStack image"), (settings.ryuk_image, "testcontainers' Ryuk image")):
        if image is not None and not image_present(image):
            hint = (f", or set {IMAGE_VARIABLE} to a LocalStack image you have" if image == settings.image
                    else ", or set TESTCONTAINERS_RYUK_DISABLED=true")
            return (f"the {what} {image} is not in the local Docker engine and is not pulled during a test run: "
                    f"run `docker pull {image}` once{hint}, then run again.")
    return None


def docker_ping(timeout: float = 3.0) -> str | None:
    """None when the Docker engine of the environment (``DOCKER_HOST``…) answers a ping, else why not."""
    host = os.environ.get("DOCKER_HOST") or f"unix://{DOCKER_SOCKET}"
    if host.startswith("unix://") and not os.path.exists(host.removeprefix("unix://")):
        return "no such socket"  # asked before connecting: docker-py leaks the socket of a failed connect
    try:
        import docker

        client = docker.from_env(timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001 - no socket, permission denied, an engine that does not answer
        return type(exc).__name__
    return None


def image_present(image: str) -> bool:
    """True when the local Docker engine has ``image`` (no pull is attempted)."""
    import docker
    from docker.errors import ImageNotFound

    client = docker.from_env(timeout=10)
    try:
        client.images.get(image)
    except ImageNotFound:
        return False
    finally:
        client.close()
    return True


def localstack_container(settings: LocalStackSettings) -> Any:
    """A testcontainers ``LocalStackContainer`` configured from ``settings``, not started (creating it asks
    the Docker engine for its API version, so an engine must answer)."""
    try:
        from testcontainers.community.localstack import LocalStackContainer
    except ImportError:  # testcontainers before its community split (< 4.13)
        from testcontainers.localstack import LocalStackContainer

    container = LocalStackContainer(image=settings.image, edge_port=EDGE_PORT, region_name=settings.region)
    for name, value in settings.container_environment().items():
        container.with_env(name, value)
    for host, inside in settings.volumes().items():
        container.with_volume_mapping(host, inside, mode="rw")
    ports: dict[str, Any] = container.ports  # docker-py takes (host ip, host port); None picks a free port
    ports.pop(str(EDGE_PORT), None)  # the class exposes it on every interface; publish it on 127.0.0.1 only
    ports.update(settings.ports())
    return container


@dataclass(frozen=True)
class LocalStack:
    """A running LocalStack: ``url`` is its edge endpoint; ``client(name)`` a boto3 client for it.

    ``environ`` points localstack-client (and so an environment with ``backend = "localstack"``) at it.
    """

    url: str
    region: str
    container: Any = field(repr=False, default=None)

    @property
    def environ(self) -> dict[str, str]:
        host, _, port = self.url.removeprefix("http://").partition(":")
        return {"LOCALSTACK_HOST": host, "EDGE_PORT": port}

    def client(self, service_name: str) -> Any:
        import boto3

        return boto3.client(service_name, endpoint_url=self.url, region_name=self.region,
                            aws_access_key_id="test", aws_secret_access_key="test")
