"""Faults a deployment must survive: throttling, connections reset while it watches, the process killed during
the watch, and a second run deploying the same service at the same time.

Each run is ``pytest deployments --env outside`` in a subprocess; the emulator it deploys to lives in the test
process, on a clock the test drives (``driven_clock``): simulated time follows the wall clock, and a test can stop
it, so that a rollout stays IN_PROGRESS exactly as long as the test needs (a process is killed, a second run
starts, the network is down).
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_ecsdeploy.emulator import LocalAWS

RUN_ARGS = ("deployments", "--env", "outside", "-rA")

# A conftest for the scenario project: 30 % of every AWS call of the run (3 of every 10, placed at random within
# each block of 10: seeded, and throttles may come several in a row) and the first attempt of every write are
# answered with a throttling error before they leave the process; what was throttled goes to throttled.json.
THROTTLING_CONFTEST = '''
import json
import random
from pathlib import Path

import pytest
from botocore.awsrequest import AWSResponse

HERE = Path(__file__).parent
WRITES = {"RegisterTaskDefinition", "UpdateService"}
calls = {"total": 0, "throttled": 0, "by_operation": {}}
rng = random.Random(20240607)
block = []
written = set()


class Raw:
    def __init__(self, body):
        self.body = body

    def stream(self, **kwargs):
        yield self.body


def thirty_percent():
    if not block:
        block.extend([True] * 3 + [False] * 7)
        rng.shuffle(block)
    return block.pop()


def throttle(request, **kwargs):
    operation = kwargs["event_name"].rsplit(".", 1)[-1]
    calls["total"] += 1
    first_write = operation in WRITES and operation not in written
    written.add(operation)
    if not (thirty_percent() or first_write):
        return None
    calls["throttled"] += 1
    calls["by_operation"][operation] = calls["by_operation"].get(operation, 0) + 1
    if "json" in str(request.headers.get("Content-Type", "")):
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": "ThrottlingException"}
    else:
        body = (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
                b"</Error><RequestId>throttled</RequestId></ErrorResponse>")
        headers = {"Content-Type": "text/xml"}
    return AWSResponse(request.url, 400, headers, Raw(body))


@pytest.fixture(scope="session", autouse=True)
def throttling(aws):
    aws.session.events.register("before-send", throttle)
    yield
    (HERE / "throttled.json").write_text(json.dumps(calls))
'''


# A socket closed with SO_LINGER 0 sends a reset (RST) instead of the usual FIN.
_LINGER_0 = struct.pack("ii", 1, 0)


class _Link:
    """One proxied connection, pumped by two threads (client -> upstream, upstream -> client).

    Only the last pump to finish closes the sockets: closing a socket under another thread's blocked ``recv()``
    neither wakes it nor lets the kernel send anything, so a request in flight would hang until the client's read
    timeout. Everything else ends a pump with ``shutdown()``, which does wake a blocked ``recv()``.
    """

    def __init__(self, client: socket.socket, upstream: socket.socket, on_closed: Callable[[_Link], None]) -> None:
        self.client, self.upstream = client, upstream
        self._on_closed = on_closed
        self._pumps = 2
        self._resetting = False
        self._lock = threading.Lock()

    def start(self) -> None:
        for source, target in ((self.client, self.upstream), (self.upstream, self.client)):
            threading.Thread(target=self._pump, args=(source, target), name="resetting-proxy-pump",
                             daemon=True).start()

    def reset(self) -> bool:
        """Reset the client's connection (RST, no FIN before it), whatever the pumps are doing; False when the
        connection had already ended."""
        with self._lock:
            if self._pumps == 0 or self._resetting:
                return False
            self._resetting = True
            self.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_0)  # the close below sends RST
        self.cut()
        return True

    def cut(self) -> None:
        """Wake both pumps so that they finish: reading stops on both sides; writing stops towards upstream (a
        FIN to the emulator), never towards the client, which gets the RST of ``reset`` or nothing."""
        for sock, how in ((self.client, socket.SHUT_RD), (self.upstream, socket.SHUT_RDWR)):
            try:
                sock.shutdown(how)
            except OSError:  # not connected any more
                pass

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
            with self._lock:
                if not self._resetting:
                    target.shutdown(socket.SHUT_WR)  # pass the end of the stream on
        except OSError:
            self.cut()
        with self._lock:
            self._pumps -= 1
            last = self._pumps == 0
        if last:
            self.client.close()
            self.upstream.close()
            self._on_closed(self)


class ResettingProxy:
    """A TCP proxy in front of the emulator that, while ``resetting``, answers every connection with a reset
    (RST) and resets the ones already open, a request in flight included.

    ``resets`` counts the connections it reset, ``refused`` those among them that a client opened while it was
    resetting: :meth:`wait_until_refused` tells a test that a client has really met the outage and tried again.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.resets = 0
        self.refused = 0
        self._resetting = False
        self._links: set[_Link] = set()
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="resetting-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_resetting(self) -> None:
        with self._changed:
            self._resetting = True
            links = list(self._links)
        reset = sum(link.reset() for link in links)
        with self._changed:
            self.resets += reset

    def stop_resetting(self) -> None:
        with self._changed:
            self._resetting = False

    def wait_until_refused(self, count: int, timeout: float) -> None:
        """Wait until ``count`` connections were refused; AssertionError after ``timeout`` seconds (a guard
        against a client that never comes back, not a timing)."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.refused >= count, timeout):
                raise AssertionError(f"{self.refused} of {count} connections refused within {timeout:g} s")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.listener.close()
        with self._changed:
            links = list(self._links)
        for link in links:  # let the emulator's connection threads end
            link.cut()

    def _closed(self, link: _Link) -> None:
        with self._changed:
            self._links.discard(link)

    def _accept(self) -> None:
        self.listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self._changed:  # decided under the lock: no connection slips past start_resetting
                refuse = self._resetting
                if refuse:
                    self.resets += 1
                    self.refused += 1
                    self._changed.notify_all()
                else:
                    link = _Link(client, upstream, self._closed)
                    self._links.add(link)
            if refuse:
                upstream.close()
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_0)
                client.close()
            else:
                link.start()


def web_service(local: LocalAWS) -> dict[str, Any]:
    return local.client("ecs").describe_services(cluster="local", services=["web"])["services"][0]  # type: ignore[no-any-return]


def revisions(local: LocalAWS) -> list[str]:
    arns = local.client("ecs").list_task_definitions(familyPrefix="web")["taskDefinitionArns"]
    return [arn.rsplit("/", 1)[-1] for arn in arns]


def steady_on(local: LocalAWS, revision: str) -> str:
    """The id of the service's only deployment, after checking it is COMPLETED on ``revision`` with 2 tasks."""
    service = web_service(local)
    (only,) = service["deployments"]
    assert only["rolloutState"] == "COMPLETED" and only["taskDefinition"].endswith(f"/{revision}"), only
    assert service["runningCount"] == service["desiredCount"] == 2, service
    return str(only["id"])


def record(project: Path) -> dict[str, Any]:
    return json.loads((project / "record.json").read_text())["services"]["web"]  # type: ignore[no-any-return]


@pytest.fixture
def fresh_emulator(driven_emulator: LocalAWS, driven_clock: Any) -> LocalAWS:
    """The module's emulator back at its seed, its clock running."""
    driven_clock.run()
    driven_emulator.reset()
    return driven_emulator


def test_the_proxy_resets_a_request_in_flight_and_refuses_new_connections() -> None:
    upstream = socket.create_server(("127.0.0.1", 0))
    received, answer = threading.Event(), threading.Event()

    def serve() -> None:  # an emulator still working on the request when the outage starts
        connection, _ = upstream.accept()
        with connection:
            connection.recv(100)
            received.set()
            answer.wait(30)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    proxy = ResettingProxy(int(upstream.getsockname()[1]))
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as client:
            client.sendall(b"DescribeServices")
            assert received.wait(10)
            proxy.start_resetting()
            with pytest.raises(ConnectionResetError):  # at once: not silence until the client's read timeout
                client.recv(100)
        with pytest.raises(ConnectionResetError):  # while connecting or at the first read
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as again:
                again.recv(100)
        proxy.wait_until_refused(1, timeout=10)
    finally:
        answer.set()
        proxy.close()
        server.join()
        upstream.close()
    assert (proxy.resets, proxy.refused) == (2, 1)


def test_throttling_on_30_percent_of_calls_slows_a_deployment_down_but_it_completes(
    fresh_emulator: LocalAWS, scenario_project: Path, run_pytest: Callable[..., Any]
) -> None:
    (scenario_project / "deployments" / "conftest.py").write_text(THROTTLING_CONFTEST)
    outcome = run_pytest(fresh_emulator.endpoint_url, *RUN_ARGS, "--image-tag", "2.0.0", "--ecsdeploy-report",
                         "record.json", timeout=300)
    assert outcome.returncode == 0, outcome.output
    assert not outcome.tracebacks(), outcome.output
    calls = json.loads((scenario_project / "deployments" / "throttled.json").read_text())
    # the faults were there: 3 of every 10 calls, of at least 20 (a deploy describes each revision once, so a quiet
    # run of this scenario makes fewer than 30)
    assert calls["throttled"] >= 3 * (calls["total"] // 10) >= 6, calls
    assert {"RegisterTaskDefinition", "UpdateService"} <= set(calls["by_operation"]), calls
    rec = record(scenario_project)
    assert rec["outcome"] == "deployed", rec
    assert rec["deploymentId"] == steady_on(fresh_emulator, "web:2")
    assert revisions(fresh_emulator) == ["web:1", "web:2"]


def test_connections_reset_while_watching_and_the_watch_recovers(
    fresh_emulator: LocalAWS, driven_clock: Any, scenario_project: Path, start_pytest: Callable[..., Any]
) -> None:
    proxy = ResettingProxy(fresh_emulator.port)
    driven_clock.freeze()  # the rollout stands still until the network is back: the watch must outlast the outage
    try:
        run = start_pytest(proxy.url, *RUN_ARGS, "--image-tag", "2.0.0", "--ecsdeploy-report", "record.json",
                           name="run")
        run.wait_for(r"deployment ecs-svc/\d+ of web:2 started$")
        proxy.start_resetting()
        proxy.wait_until_refused(2, timeout=60)  # the watch met the outage and tried again
        proxy.stop_resetting()
        driven_clock.run()
        outcome = run.finish()
    finally:
        proxy.close()
    assert outcome.returncode == 0, outcome.output
    assert not outcome.tracebacks(), outcome.output
    rec = record(scenario_project)
    assert rec["outcome"] == "deployed", rec
    assert rec["deploymentId"] == steady_on(fresh_emulator, "web:2")
    assert revisions(fresh_emulator) == ["web:1", "web:2"]


def test_a_run_killed_while_watching_is_continued_by_the_same_command(
    fresh_emulator: LocalAWS, driven_clock: Any, scenario_project: Path, start_pytest: Callable[..., Any]
) -> None:
    endpoint = fresh_emulator.endpoint_url
    args = (*RUN_ARGS, "--image-tag", "2.0.0", "--ecsdeploy-report", "record.json")
    driven_clock.freeze()  # nothing rolls out until the second run watches
    first = start_pytest(endpoint, *args, name="first")
    deployment = first.wait_for(r"deployment (ecs-svc/\d+) of web:2 started$").group(1)
    first.wait_for(r"\(service web\) has started 2 tasks")  # the watch has taken its first look
    first.process.kill()  # SIGKILL: no teardown, no rollback, no record
    first.finish()
    primary, _previous = web_service(fresh_emulator)["deployments"]
    assert (primary["id"], primary["rolloutState"]) == (deployment, "IN_PROGRESS")

    second = start_pytest(endpoint, *args, name="second")
    second.wait_for(rf"deployment {deployment} of web:2 is already in progress; waiting for it$")
    driven_clock.run()
    outcome = second.finish()
    assert outcome.returncode == 0, outcome.output
    assert not outcome.tracebacks(), outcome.output
    assert "updating service" not in outcome.output
    assert record(scenario_project)["deploymentId"] == deployment == steady_on(fresh_emulator, "web:2")
    assert revisions(fresh_emulator) == ["web:1", "web:2"]  # no second revision


def test_a_second_run_on_the_same_service_is_refused_naming_the_first_run(
    fresh_emulator: LocalAWS, driven_clock: Any, run_pytest: Callable[..., Any], start_pytest: Callable[..., Any]
) -> None:
    endpoint = fresh_emulator.endpoint_url
    driven_clock.freeze()
    first = start_pytest(endpoint, *RUN_ARGS, "--image-tag", "2.0.0", name="first")
    deployment = first.wait_for(r"deployment (ecs-svc/\d+) of web:2 started$").group(1)
    run_id = re.search(r"lease of service 'web' taken by run ([0-9a-f]{12}) ", first.output())
    second = run_pytest(endpoint, *RUN_ARGS, "--image-tag", "3.0.0")
    assert web_service(fresh_emulator)["deployments"][0]["id"] == deployment  # the second run updated nothing
    assert revisions(fresh_emulator) == ["web:1", "web:2"]  # nor registered anything
    driven_clock.run()
    outcome = first.finish()
    assert second.returncode == 1, second.output
    assert not second.tracebacks(), second.output
    assert run_id is not None, first.output()
    assert re.search(rf"LeaseHeld: service 'web' is being deployed by another run, run {run_id.group(1)} on host \S+ "
                     rf"\(pid {first.process.pid}\), started \S+Z;", second.output), second.output
    assert "updating service" not in second.output
    assert outcome.returncode == 0, outcome.output
    assert steady_on(fresh_emulator, "web:2") == deployment
