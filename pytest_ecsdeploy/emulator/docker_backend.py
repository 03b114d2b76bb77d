"""What a LocalAWS runs besides moto and the engine when its tasks run on Docker: the local registry behind ECR,
its bridge to moto, the load balancers' endpoints, and a fresh :class:`DockerRunner` for each engine.

``LocalAWS(runner="docker")`` uses it always, ``runner="auto"`` when a Docker engine answers (see
:func:`~pytest_ecsdeploy.emulator.runners.docker.resolve_runner`); ``runner="simulated"`` (the default) never.
Example::

    backend = DockerBackend(account="123456789012", region="us-east-1", engine=lambda: engine)
    backend.start("http://127.0.0.1:4566")      # registry on 127.0.0.1:PORT, ECR URIs on it
    runner = backend.new_runner(speed=1.0)      # for the engine
    backend.stop()
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .ecr_bridge import EVENTS_PATH, EcrBridge
from .loadbalancer import LoadBalancers
from .registry import LocalRegistry, RegistryError, find_registry_binary, seed_layer
from .runners.docker import DockerRunner, read_secret, remove_images_of

log = logging.getLogger(__name__)

__all__ = ["DockerBackend", "docker_unavailable_reason"]


def docker_unavailable_reason() -> str | None:
    """Why a LocalAWS cannot run everything on Docker on this machine, as one clause naming what to install or
    start; None when it can: a Docker engine answers, the distribution registry is installed (ECR's images
    live in it) and a static busybox is there (seeded images are built from it).

    For a test suite to skip its Docker tests with the reason, as ``localstack.skip_reason`` does for
    LocalStack. LocalAWS itself does not ask it: ``runner="auto"`` needs only an engine that answers, and a
    missing registry or busybox surfaces where it is needed (a warning at start; an error naming the busybox
    when a seeded image is built).
    """
    import os

    from .registry import BUSYBOX
    from .runners.docker import docker_available

    if not docker_available():
        return "no Docker engine answers (start dockerd, or set DOCKER_HOST)"
    if find_registry_binary() is None:
        return "no distribution registry is installed (Debian package docker-registry)"
    if not os.path.exists(BUSYBOX):
        return f"no static busybox at {BUSYBOX} (Debian package busybox-static)"
    return None


class DockerBackend:
    """The registry (when ``docker-registry`` is installed), the ECR bridge and the load balancers of one
    LocalAWS; ``engine`` returns its current rollout engine (None before the first), ``lb_ports`` maps target
    group names to fixed endpoint ports."""

    def __init__(self, *, account: str, region: str, engine: Callable[[], Any],
                 lb_ports: Mapping[str, int] | None = None) -> None:
        self.account = account
        self.region = region
        self.registry: LocalRegistry | None = None
        self.bridge: EcrBridge | None = None
        self.balancers = LoadBalancers(engine, ports=lb_ports)

    def start(self, endpoint_url: str) -> None:
        """Start the registry (reporting pushes to ``endpoint_url``) and the load balancers."""
        if find_registry_binary() is None:
            log.warning("no distribution registry is installed (Debian package docker-registry): ECR keeps "
                        "moto's repository URIs and Docker cannot pull from it")
        else:
            registry = LocalRegistry(notify_url=f"{endpoint_url}{EVENTS_PATH}")
            registry.start()
            self.registry = registry
            self.bridge = EcrBridge(registry, account=self.account, region=self.region)
            self.bridge.start()
        self.balancers.start()

    def stop(self) -> None:
        """Close the endpoints, stop the registry and remove the images Docker pulled from it; idempotent."""
        self.balancers.stop()
        if self.bridge is not None:
            self.bridge.stop()
            self.bridge = None
        if self.registry is not None:
            host = self.registry.host
            self.registry.stop()
            self.registry = None
            remove_images_of(host)

    def reset(self) -> None:
        """Empty the registry (moto was emptied)."""
        if self.bridge is not None:
            self.bridge.reset()

    def new_runner(self, *, speed: float) -> DockerRunner:
        """A Docker runner for a new engine, pulling from the registry and reading secrets from moto."""
        host = self.registry.host if self.registry is not None else None
        return DockerRunner(speed=speed, secrets=read_secret, registry_hosts=(host,) if host else (), ecr_registry=host)

    @property
    def registry_host(self) -> str | None:
        """``127.0.0.1:PORT`` of the registry, None without one."""
        return self.registry.host if self.registry is not None else None

    def seed_manifest(self) -> Callable[[str, str], str] | None:
        """What makes a seeded image's manifest: real busybox-based images when the registry runs."""
        if self.registry is None:
            return None
        try:
            seed_layer()
        except RegistryError as exc:
            log.warning("seeded images stay placeholders Docker cannot run: %s", exc)
            return None
        return self.registry.seed_manifest

    def wait_until_steady(self, engine: Any, services: Sequence[tuple[str, str]], timeout: float = 180) -> None:
        """Wait until each (cluster, service) has one COMPLETED deployment with every task running: seeded
        services start steady with simulated tasks, and with real containers once their tasks pass their
        health checks. Raises ActionError naming the service and its last events when one cannot."""
        from ..errors import ActionError

        pending = list(services)
        deadline = time.monotonic() + timeout
        while pending:
            for cluster, name in list(pending):
                where = {"cluster": cluster}
                service = engine.handle("DescribeServices", self.account, self.region,
                                        {**where, "services": [name]})["services"][0]
                deployments = service["deployments"]
                stopped = engine.handle("ListTasks", self.account, self.region,
                                        {**where, "serviceName": name, "desiredStatus": "STOPPED"})["taskArns"]
                if stopped:  # a seeded task that stops before the service is steady will not do better later
                    task = engine.handle("DescribeTasks", self.account, self.region,
                                         {**where, "tasks": stopped[:1]})["tasks"][0]
                    task_id = stopped[0].rsplit("/", 1)[-1]
                    raise ActionError(f"seeded service '{name}' cannot run on Docker: task {task_id} stopped: "
                                      f"{task.get('stoppedReason') or task.get('stopCode')}.")
                if time.monotonic() > deadline:
                    events = "; ".join(e["message"] for e in reversed(service["events"][:5]))
                    raise ActionError(f"seeded service '{name}' was not steady on Docker after {timeout:.0f} s: "
                                      f"{events or 'no events'}")
                if (len(deployments) == 1 and deployments[0]["rolloutState"] == "COMPLETED"
                        and service["runningCount"] == service["desiredCount"]):
                    pending.remove((cluster, name))
            if pending:
                time.sleep(0.1)

    def handle_ecr(self, environ: dict[str, Any], start_response: Callable[..., Any],
                   moto_app: Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]],
                   action: str) -> Iterable[bytes] | None:
        """An ECR request through the bridge, or None when there is no registry (moto alone answers)."""
        if self.bridge is None:
            return None
        return self.bridge.handle_ecr(environ, start_response, moto_app, action)

    def handle_events(self, body: bytes) -> int:
        """The registry's push notifications."""
        return self.bridge.handle_events(body) if self.bridge is not None else 0

    def load_balancer_url(self, target_group: str) -> str:
        return self.balancers.url(target_group)
