"""The production and test listeners of blue/green services: one endpoint on 127.0.0.1 each (HTTP, or TCP for a
Network Load Balancer), routing by the listener rule's current forward weights.

A service deploying with ECS's BLUE_GREEN, LINEAR or CANARY strategy names in ``loadBalancers[].
advancedConfiguration`` a production listener rule and, optionally, a test listener rule, each forwarding to its
two target groups with weights that the rollout engine rewrites as traffic moves (``ecs/traffic.py``). The
endpoint of a service's production (or test) listener picks, for each request, a target group by that rule's
weights as moto's ELBv2 holds them at that moment (smooth weighted round robin: weights 90/10 send exactly one
request in ten to the second group), and hands the request to that target group's own endpoint
(``loadbalancer.py``: a proxy to the task's container with Docker, a simulated answer for the simulated runner).
So during a paused blue/green deployment, ``GET /version`` through the test listener answers green's tag and
through the production listener blue's. Answers carry ``X-Ecsdeploy-Target-Group: <name>`` besides the target
group endpoint's own headers; a rule with no weight left (or a service without such a rule) answers 503.

A service on the CODE_DEPLOY controller has no such rules: its listeners are those of the first target group pair
of the CodeDeploy deployment group naming it (``prodTrafficRoute`` and ``testTrafficRoute``), and the endpoint
routes by the listener's default forward action, which the local CodeDeploy rewrites as it shifts traffic
(``codedeploy/``). During a deployment stopped at Ready the test listener forwards to the replacement task set's
target group and the production listener still to the original's.

Only the named rule (or the listener's default action) routes: its conditions and the listener's other rules are
not evaluated.

Behind a Network Load Balancer the named rules are TCP listeners (botocore ecs AdvancedConfiguration) and an NLB
does not read HTTP, so the endpoint is TCP (``endpoints.tcp_endpoint``): each connection, not each request, gets a
target group by the listener's default forward weights, then a target of it (round robin): the task's container
port with Docker, the next one when a task refuses; for a simulated task, the target group's endpoint, which
answers for it. Nothing is added to what it carries (no ``X-Ecsdeploy-Target-Group``); a connection without a
target is closed, as an NLB without a healthy target does.

Endpoints are keyed by (service name, production or test), not by ARN, so a ``LocalAWS.reset()`` that recreates
the seeded rules keeps them on their ports. Ports come from the seed (a blue/green service's ``listen_port`` and
``test_listen_port``, a CODE_DEPLOY service's ``codedeploy`` table's), else free ones, which
``LocalAWS.listener_url("web", test=True)`` tells. Example::

    listeners = Listeners(lambda: engine, lambda: balancers, ports={("web", False): 8080})
    listeners.url("web")               # 'http://127.0.0.1:8080'
    listeners.url("web", test=True)    # 'http://127.0.0.1:PORT'
    listeners.stop()
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

from . import moto_state
from .endpoints import Answer, Endpoint, Request, http_endpoint, relay, tcp_endpoint
from .loadbalancer import LoadBalancers, target_group_name

log = logging.getLogger(__name__)

__all__ = ["Listeners"]

Key = tuple[str, bool]  # (service name, test listener)


class Listeners:
    """The listener endpoints of blue/green services; see the module docstring. ``engine`` returns the rollout
    engine (None before it exists), ``balancers`` the target groups' endpoints; ``ports`` maps (service name,
    test) to a fixed port."""

    def __init__(self, engine: Callable[[], Any], balancers: Callable[[], LoadBalancers], *,
                 ports: Mapping[Key, int] | None = None) -> None:
        self.engine = engine
        self.balancers = balancers
        self.ports = dict(ports or {})
        self._servers: dict[Key, Endpoint] = {}
        self._current: dict[Key, dict[str, int]] = {}  # smooth weighted round robin: target group -> current
        self._lock = threading.Lock()

    def url(self, service: str, *, test: bool = False) -> str:
        """``http://127.0.0.1:PORT`` of the service's production (or test) listener, opening it if needed. Raises
        LookupError when no service of that name has such a listener rule, or the port cannot open."""
        if self.rule(service, test) is None:
            which, route = ("testListenerRule", "testTrafficRoute") if test else ("productionListenerRule",
                                                                                  "prodTrafficRoute")
            raise LookupError(f"no service named '{service}' has a loadBalancers advancedConfiguration with a {which} "
                              f"or a CodeDeploy deployment group with a {route} listener.")
        return f"http://127.0.0.1:{self._open((service, test))}"

    def open_fixed(self) -> None:
        """Open every endpoint that has a fixed port (the seeded ones), so they listen from the start."""
        for key in self.ports:
            if self.rule(*key) is not None:
                try:
                    self._open(key)
                except LookupError as exc:
                    log.error("%s", exc)

    def stop(self) -> None:
        """Close every endpoint; idempotent."""
        with self._lock:
            servers, self._servers = list(self._servers.values()), {}
            self._current.clear()
        for server in servers:
            server.close()

    def rule(self, service: str, test: bool) -> str | None:
        """The ARN of the production (or test) listener rule of the ACTIVE service named ``service``; for a
        CODE_DEPLOY service, the listener of its deployment group's prodTrafficRoute (testTrafficRoute), whose
        default action CodeDeploy points at the serving target groups."""
        engine = self.engine()
        if engine is None:
            return None
        key = "testListenerRule" if test else "productionListenerRule"
        for where, region_state in engine.snapshot().items():
            for cluster_and_name, found in region_state["services"].items():
                if found["serviceName"] != service or found["status"] != "ACTIVE":
                    continue
                if (found.get("deploymentController") or {}).get("type") == "CODE_DEPLOY":
                    account, region = where.split("/", 1)
                    cluster = cluster_and_name.rsplit("/", 1)[0]
                    return moto_state.codedeploy_traffic_route(account, region, cluster, service, test=test)
                for balancer in found.get("loadBalancers") or []:
                    arn = (balancer.get("advancedConfiguration") or {}).get(key)
                    if arn:
                        return str(arn)
        return None

    def pick(self, key: Key) -> str | None:
        """The target group (ARN) the next request to listener ``key`` goes to, by its rule's weights now; None
        when the rule is gone or gives no weight to any target group."""
        rule = self.rule(*key)
        read = moto_state.elbv2_listener_rule(rule) if rule is not None else None
        groups = {arn: weight for arn, weight in read[1] if weight > 0} if read is not None else {}
        if not groups:
            return None
        with self._lock:  # nginx's smooth weighted round robin: even spread, exact proportions
            current = self._current.setdefault(key, {})
            for arn in list(current):
                if arn not in groups:
                    del current[arn]
            for arn, weight in groups.items():
                current[arn] = current.get(arn, 0) + weight
            chosen = max(current, key=lambda arn: current[arn])
            current[chosen] -= sum(groups.values())
        return chosen

    def _open(self, key: Key) -> int:
        with self._lock:
            if key in self._servers:
                return self._servers[key].port
            port = int(self.ports.get(key, 0))
            which = f"{'test' if key[1] else 'production'} listener of service {key[0]}"
            rule = self.rule(*key)
            read = moto_state.elbv2_listener_rule(rule) if rule is not None else None
            network = read is not None and read[0] == "network"
            try:
                endpoint = (tcp_endpoint(port, which, lambda: self._connect(key)) if network else
                            http_endpoint(port, which, "ecsdeploy-listener", self._answer(key, which)))
            except OSError as exc:
                raise LookupError(f"the {'test' if key[1] else 'production'} listener of service '{key[0]}' cannot "
                                  f"listen on 127.0.0.1:{port}: {exc.strerror or exc}.") from None
            self._servers[key] = endpoint
        log.info("service %s %s listener%s: http://127.0.0.1:%d", key[0], "test" if key[1] else "production",
                 " (TCP)" if network else "", endpoint.port)
        return endpoint.port

    def _answer(self, key: Key, which: str) -> Callable[[Request], Answer]:
        """An Application Load Balancer listener: each request to the endpoint of the target group its rule's
        weights pick, with ``X-Ecsdeploy-Target-Group``."""

        def answer(request: Request) -> Answer:
            arn = self.pick(key)
            if arn is None:
                return Answer(503, f"the {which} forwards to no target group\n".encode())
            group = ("X-Ecsdeploy-Target-Group", target_group_name(arn))
            try:
                port = int(self.balancers().url(arn).rsplit(":", 1)[1])
                found = relay(port, request, {**request.headers, "Connection": "close"})
            except (LookupError, OSError) as exc:
                return Answer(502, f"target group {target_group_name(arn)} did not answer: {exc}\n".encode(), [group])
            return Answer(found.status, found.data, [*found.headers, group])

        return answer

    def _connect(self, key: Key) -> socket.socket | None:
        """A Network Load Balancer listener: the connection to a target of the target group its weights pick
        for this connection: a task's container port (the Docker runner; the next target when one refuses), or,
        for a simulated task, the target group's endpoint, which answers for it. None when the listener forwards
        to no target group or the target group has no target that takes the connection."""
        arn = self.pick(key)
        if arn is None:
            return None
        balancers = self.balancers()
        for target in balancers.next_target(arn):
            try:
                port = target.port if target.port is not None else int(balancers.url(arn).rsplit(":", 1)[1])
                return socket.create_connection(("127.0.0.1", port), timeout=30)
            except (LookupError, OSError):
                log.debug("%s: target %s did not take a connection", target_group_name(arn), target.task_id)
        return None
