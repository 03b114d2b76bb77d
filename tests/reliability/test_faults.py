"""Faults a deployment must survive: throttling, connections reset while it watches, the process killed during
the watch, and a second run deploying the same service at the same time.

Each run is ``pytest deployments --env outside`` in a subprocess; the emulator it deploys to lives in the test
process, on a clock the test drives (``driven_clock``): simulated time follows the wall clock, and a test can stop
it, so that a rollout stays IN_PROGRESS exactly as long as the test needs (a process is killed, a second run
starts, the network is down).
"""

from __future__ import annotations

import json
import socket
import threading
import time
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


class ResettingProxy:
    """A TCP proxy in front of the emulator that, while ``resetting``, answers every connection with a reset
    (RST) and resets the ones already open; ``resets`` counts the connections it reset."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.resets = 0
        self._resetting = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="resetting-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_resetting(self) -> None:
        self._resetting.set()
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            self._reset(sock)

    def stop_resetting(self) -> None:
        self._resetting.clear()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.listener.close()

    def _reset(self, sock: socket.socket) -> None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.close()
        except OSError:
            return
        with self._lock:
            self.resets += 1

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
            if self._resetting.is_set():
                self._reset(client)
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self._lock:
                self._open.add(client)
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target, client), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, client: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            try:
                sock.close()
            except OSError:
                pass
        with self._lock:
            self._open.discard(client)


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
    try:
        run = start_pytest(proxy.url, *RUN_ARGS, "--image-tag", "2.0.0", "--ecsdeploy-report", "record.json",
                           name="run")
        run.wait_for(r"deployment ecs-svc/\d+ of web:2 started$")
        driven_clock.freeze()  # the rollout stands still while the network is down: the watch must outlast it
        proxy.start_resetting()
        time.sleep(3)
        proxy.stop_resetting()
        driven_clock.run()
        outcome = run.finish()
    finally:
        proxy.close()
    assert proxy.resets > 0
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
    time.sleep(0.5)  # well into the watch
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


def test_a_second_run_on_the_same_service_refuses_naming_the_first_runs_deployment(
    fresh_emulator: LocalAWS, driven_clock: Any, run_pytest: Callable[..., Any], start_pytest: Callable[..., Any]
) -> None:
    endpoint = fresh_emulator.endpoint_url
    driven_clock.freeze()
    first = start_pytest(endpoint, *RUN_ARGS, "--image-tag", "2.0.0", name="first")
    deployment = first.wait_for(r"deployment (ecs-svc/\d+) of web:2 started$").group(1)
    second = run_pytest(endpoint, *RUN_ARGS, "--image-tag", "3.0.0")
    assert web_service(fresh_emulator)["deployments"][0]["id"] == deployment  # the second run updated nothing
    driven_clock.run()
    outcome = first.finish()
    assert second.returncode == 1, second.output
    assert not second.tracebacks(), second.output
    assert (
        f"CheckFailed: check failed: no other deployment in progress: deployment {deployment} of web:2 is "
        f"IN_PROGRESS on service 'web'"
    ) in second.output
    assert "updating service" not in second.output
    assert outcome.returncode == 0, outcome.output
    assert steady_on(fresh_emulator, "web:2") == deployment
