"""Local load balancing for the embedded local AWS: one HTTP endpoint on 127.0.0.1 per target group.

Each target group that a service names in ``loadBalancers`` gets a small threaded HTTP endpoint on 127.0.0.1
that hands each request to the next (round robin) of the service's tasks that are registered in the target
group (the rollout engine registers a task in ELBv2 when it reaches RUNNING and deregisters it when it starts
stopping, as ECS does), are still desired RUNNING and are not UNHEALTHY. It is what ``health_url`` points at
in a local environment. Answers carry ``X-Ecsdeploy-Task: <task id>``; with no such task the answer is 503.

- With the Docker runner the endpoint is a reverse proxy to the task's real container, so smoke checks reach
  real processes during and after a rollout; routes are refreshed every ``refresh`` seconds by a thread.
- With the simulated runner there is no process to reach: the endpoint **simulates** one, answering as the
  example image (``deployments/image``) and the seeded images would (:func:`simulated_answer`: ``/health`` ->
  200 ``ok``, ``/version`` -> the task's image tag, anything else 404), with ``X-Ecsdeploy-Simulated: 1``. The
  same tasks are eligible, so a crashing or unhealthy release gets 503 as it would on Docker. Routes are read
  from the engine at each request (no thread), and an endpoint opens when ``url()`` is asked or the LocalAWS
  starts with a seeded service behind it.

The port of a target group's endpoint is the seed's ``load_balancer.listen_port`` (``ports`` here) so
``ecsdeploy.toml`` can say ``health_url = "http://127.0.0.1:8080"``; otherwise a free port, which
``LocalAWS.load_balancer_url("web")`` tells. Example::

    balancers = LoadBalancers(engine=lambda: engine, ports={"web": 8080}).start()
    balancers.url("web")        # 'http://127.0.0.1:8080'
    balancers.stop()
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import moto_state
from .endpoints import Answer, Endpoint, Request, http_endpoint, relay
from .runners.base import split_reference

log = logging.getLogger(__name__)

__all__ = ["LoadBalancers", "Target", "simulated_answer"]

@dataclass(frozen=True)
class Target:
    """A task that can take requests: its id and the 127.0.0.1 port of its container port, or, for a simulated
    task (no process behind it), no port and the ``version`` its ``/version`` answers."""

    task_id: str
    port: int | None
    version: str = ""


def target_group_name(arn: str) -> str:
    """``arn:...:targetgroup/web/0123abcd`` -> ``web``."""
    return arn.split(":targetgroup/", 1)[-1].split("/", 1)[0]


class LoadBalancers:
    """The local endpoints of every target group a service uses; see the module docstring.

    ``engine`` returns the rollout engine (or None before it exists). When its runner offers
    ``host_port(task_id, container, container_port)`` (the Docker runner does) requests are forwarded there;
    otherwise the tasks are simulated and answered here. ``ports`` maps target group names to fixed listen
    ports. After :meth:`start` the routing table is rebuilt every ``refresh`` seconds; without it (the
    simulated runner), at each request.
    """

    def __init__(self, engine: Callable[[], Any], *, ports: Mapping[str, int] | None = None,
                 refresh: float = 0.1) -> None:
        self.engine = engine
        self.ports = dict(ports or {})
        self.refresh = refresh
        self._listeners: dict[str, Endpoint] = {}
        self._failed: set[str] = set()
        self._routes: dict[str, list[Target]] = {}
        self._counters: dict[str, itertools.count[int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> LoadBalancers:
        """Start the thread that keeps endpoints and routes up to date."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ecsdeploy-lb-routes", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close every endpoint and the routing thread; idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            listeners, self._listeners = list(self._listeners.values()), {}
            self._routes.clear()
            self._failed.clear()
        for listener in listeners:
            listener.close()

    def url(self, target_group: str) -> str:
        """``http://127.0.0.1:PORT`` of a target group (name or ARN), opening its endpoint if needed.

        Raises LookupError when no target group of that name or ARN exists."""
        arn = target_group if target_group.startswith("arn:") else moto_state.target_group_arn(target_group)
        if arn is None:
            raise LookupError(f"no target group named '{target_group}'.")
        listener = self._listener(arn)
        if listener is None:
            raise LookupError(f"the endpoint of target group '{target_group_name(arn)}' could not open; see the log.")
        return f"http://127.0.0.1:{listener.port}"

    def targets(self, target_group_arn: str) -> list[Target]:
        """The tasks requests to the target group go to now."""
        with self._lock:
            return list(self._routes.get(target_group_arn, []))

    def next_target(self, target_group_arn: str) -> list[Target]:
        """The targets in the order to try them for one request (round robin)."""
        if self._thread is None:  # no refresh thread (simulated runner): the routes as of this request
            self.update()
        with self._lock:
            targets = list(self._routes.get(target_group_arn, []))
            counter = self._counters.setdefault(target_group_arn, itertools.count())
            start = next(counter) % len(targets) if targets else 0
        return targets[start:] + targets[:start]

    # -- internals ---------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(self.refresh):
            try:
                self.update()
            except Exception:  # keep serving with the last table
                log.exception("the local load balancer could not refresh its routes")

    def update(self) -> None:
        """Rebuild the routing table from the engine and ELBv2; open endpoints for new target groups."""
        engine = self.engine()
        if engine is None:
            with self._lock:
                self._routes = {}
            return
        runner = engine.runner
        host_port = getattr(runner, "host_port", None)
        routes: dict[str, list[Target]] = {}
        for region_state in engine.snapshot().values():
            tasks = list(region_state["tasks"].values())
            for service in region_state["services"].values():
                if service["status"] == "INACTIVE":
                    continue
                for balancer, arn in _target_groups(service):
                    registered = moto_state.registered_targets(arn)
                    found = routes.setdefault(arn, [])
                    for task in tasks:
                        if not _serves(task, service, registered):
                            continue
                        task_id = task["taskArn"].rsplit("/", 1)[-1]
                        if host_port is None:  # the simulated runner: answered by simulated_answer()
                            found.append(Target(task_id, None, _version(task, balancer.get("containerName"))))
                            continue
                        container_port = int(balancer.get("containerPort") or 80)
                        port = host_port(task_id, balancer.get("containerName"), container_port)
                        if port is not None:
                            found.append(Target(task_id, int(port)))
        with self._lock:
            self._routes = routes
        for arn in routes:
            self._listener(arn)

    def _listener(self, arn: str) -> Endpoint | None:
        with self._lock:
            if arn in self._listeners or arn in self._failed:
                return self._listeners.get(arn)
            name = target_group_name(arn)
            port = int(self.ports.get(name, 0))
            try:
                listener = http_endpoint(port, f"target group {name}", "ecsdeploy-lb", _answer(self, arn))
            except OSError as exc:
                self._failed.add(arn)
                log.error("cannot open the endpoint of target group %s on 127.0.0.1:%s: %s", name, port,
                          exc.strerror or exc)
                return None
            self._listeners[arn] = listener
            log.info("target group %s: http://127.0.0.1:%d", name, listener.port)
            return listener



def _target_groups(service: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], str]]:
    """(loadBalancers entry, target group ARN) of each target group the service's tasks may register in: an
    entry's ``targetGroupArn`` and, for a blue/green service, its ``advancedConfiguration.alternateTargetGroupArn``
    (the new revision's tasks register there); for a CODE_DEPLOY service, its task sets' entries too (the
    replacement task set registers in the other target group of the pair)."""
    found: list[tuple[Mapping[str, Any], str]] = []
    entries = list(service.get("loadBalancers") or [])
    entries += [balancer for task_set in service.get("taskSets") or [] for balancer in task_set.get("loadBalancers")
                or []]
    for balancer in entries:
        alternate = (balancer.get("advancedConfiguration") or {}).get("alternateTargetGroupArn")
        found.extend((balancer, arn) for arn in (balancer.get("targetGroupArn"), alternate)
                     if arn and all(arn != seen for _, seen in found))  # a task counts once per target group
    return found


def _serves(task: Mapping[str, Any], service: Mapping[str, Any], registered: set[str]) -> bool:
    if task.get("group") != f"service:{service['serviceName']}" or task.get("clusterArn") != service["clusterArn"]:
        return False
    if task.get("lastStatus") != "RUNNING" or task.get("desiredStatus") != "RUNNING":
        return False
    if task.get("healthStatus") == "UNHEALTHY":
        return False
    addresses = {interface.get("privateIpv4Address") for container in task.get("containers") or []
                 for interface in container.get("networkInterfaces") or []}
    return bool(addresses & registered)


# -- the simulated runner's tasks -------------------------------------------------------------------------------


def simulated_answer(path: str, version: str) -> tuple[int, bytes]:
    """A SIMULATION of what the example image (and every seeded image) answers on its port, for a task of the
    simulated runner, which runs no process: ``/health`` -> 200 ``ok``, ``/version`` -> 200 and ``version`` (the
    image tag), anything else -> 404, as busybox httpd serving ``/www`` does. The query string is ignored."""
    route = path.split("?", 1)[0].split("#", 1)[0]
    if route == "/health":
        return 200, b"ok\n"
    if route == "/version":
        return 200, f"{version}\n".encode()
    return 404, b"404 Not Found\n"


def _version(task: Mapping[str, Any], container_name: str | None) -> str:
    """The tag of the image the task's container runs: from its reference (``repo:tag``), else the ECR tag of
    its digest (a digest-pinned ``repo@sha256:...``), else the digest itself; ``latest`` for neither."""
    container: Mapping[str, Any] = next(
        (c for c in task.get("containers") or [] if c.get("name") == container_name), {})
    name, tag, digest = split_reference(str(container.get("image") or ""))
    if tag:
        return tag
    digest = digest or container.get("imageDigest")
    if not digest:
        return "latest"
    host, _, path = name.partition("/")
    repository = path if path and ("." in host or ":" in host or host == "localhost") else name
    return moto_state.ecr_tag_of(repository, str(digest)) or str(digest)


def _answer(balancers: LoadBalancers, arn: str) -> Callable[[Request], Answer]:
    """How the endpoint of target group ``arn`` answers a request: the next target's answer (a simulated task's
    :func:`simulated_answer`, else its container's, the next target tried when one does not answer)."""
    name = target_group_name(arn)

    def answer(request: Request) -> Answer:
        targets = balancers.next_target(arn)
        if not targets:
            return Answer(503, f"no healthy targets in target group {name}\n".encode())
        headers = {**request.headers, "X-Forwarded-For": request.client, "Connection": "close"}
        for target in targets:
            task = ("X-Ecsdeploy-Task", target.task_id)
            if target.port is None:  # a simulated task: no process to forward to
                status, data = simulated_answer(request.path, target.version)
                return Answer(status, data, [("Content-Type", "text/plain"), ("X-Ecsdeploy-Simulated", "1"), task])
            try:
                found = relay(target.port, request, headers)
            except OSError:
                log.debug("%s: target %s on port %d did not answer", name, target.task_id, target.port)
                continue
            return Answer(found.status, found.data, [*found.headers, task])
        return Answer(502, f"no target of target group {name} answered\n".encode())

    return answer
