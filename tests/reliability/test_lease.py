"""One deployment per service at a time: the lease (``actions/lease.py``) against the embedded local AWS.

Two runs started together on one service, 20 times, with latency before every write: one deploys, the other is
refused before it writes anything. Then the lease's life: taken over past its expiry or when its process is gone,
renewed, lost, released when a run fails, ignored by ``--plan``, and a refused run's record and Octopus message.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_ecsdeploy.actions.deploy import Deploy
from pytest_ecsdeploy.actions.ecr import Ecr
from pytest_ecsdeploy.actions.lease import TABLE, TTL, Holder, Leases
from pytest_ecsdeploy.actions.service import EcsService
from pytest_ecsdeploy.actions.taskdef import TaskDefinition
from pytest_ecsdeploy.context import Hooks, PrintLog, RunOptions, ServiceContext
from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.errors import EcsDeployError, LeaseHeld
from pytest_ecsdeploy.run import Run

from .conftest import BASE, SEED, SEED_VARIABLES, RunPytest, copy_base

KEY = "local/web"
READS = ("Describe", "List", "Get", "BatchGet")


@pytest.fixture(scope="module")
def fast_emulator() -> Iterator[LocalAWS]:
    """Seeded like the standing emulator, its rollouts 20 times faster than ECS's."""
    with LocalAWS(seed=SEED, runner="simulated", base_dir=BASE / "deployments", variables=SEED_VARIABLES,
                  speed=20) as local:
        yield local


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_base(tmp_path / "project")


def load_run(project: Path, endpoint: str, tag: str | None = "2.0.0", *, plan: bool = False,
             holder: Holder | None = None) -> Run:
    run = Run.load(env_name="outside", config_path=None, rootdir=project, args=[str(project / "deployments")],
                   options=RunOptions(image_tag=tag, plan=plan), environ={"RELIABILITY_ENDPOINT": endpoint})
    return run if holder is None else Run(run.deployment, run.options, holder=holder)


def lease_item(local: LocalAWS) -> dict[str, Any] | None:
    return local.client("dynamodb").get_item(TableName=TABLE, Key={"lease": {"S": KEY}}, ConsistentRead=True).get("Item")


class Writes:
    """The ECS and ECR writes one run sends, each held back by ``latency`` seconds (plus up to half as much)."""

    def __init__(self, run: Run, latency: float, rng: random.Random) -> None:
        self.sent: list[str] = []
        self._latency = latency
        self._rng = rng
        for service in ("ecs", "ecr", "dynamodb"):
            run.aws().client(service).meta.events.register("before-call", self._before)

    def _before(self, model: Any, **_: Any) -> None:
        if model.name.startswith(READS):
            return
        time.sleep(self._latency * (1 + self._rng.random() / 2))
        if model.service_model.service_name != "dynamodb":
            self.sent.append(model.name)


def deploy(ctx: ServiceContext) -> Deploy:
    return Deploy(ctx, Ecr(ctx), TaskDefinition(ctx), EcsService(ctx))


def race(runs: list[Run], contexts: list[ServiceContext]) -> list[Any]:
    """Start ``deploy()`` of every context at the same moment, each in its own thread; each one's Rollout or
    error. Every run is closed (its lease released) as its thread ends."""
    results: list[Any] = [None] * len(runs)
    barrier = threading.Barrier(len(runs))

    def go(i: int) -> None:
        barrier.wait()
        try:
            results[i] = deploy(contexts[i])()
        except EcsDeployError as exc:
            results[i] = exc
        finally:
            runs[i].close()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(runs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return results


def test_two_runs_started_together_one_deploys_and_the_other_writes_nothing(
    fast_emulator: LocalAWS, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The race is over once the lease is taken; the winner's watch then only waits for a rollout that takes 0.1 s at
    # this speed, so it looks every 0.05 s rather than after the 0.5 s pause a real rollout gets (20 deployments).
    monkeypatch.setattr(EcsService, "poll_first", 0.05)
    monkeypatch.setattr(EcsService, "poll_max", 0.1)
    ecs = fast_emulator.client("ecs")
    rng = random.Random(13)
    for attempt in range(20):
        tag = ("2.0.0", "3.0.0")[attempt % 2]  # never what runs now, so the winner has something to write
        runs = [load_run(project, fast_emulator.endpoint_url, tag) for _ in range(2)]
        writes = [Writes(run, 0.05, rng) for run in runs]
        contexts = [run.context("web", PrintLog(f"[{i}] "), Hooks()) for i, run in enumerate(runs)]
        before = ecs.describe_services(cluster="local", services=["web"])["services"][0]["taskDefinition"]
        families = len(ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"])
        results = race(runs, contexts)
        outcomes = [ctx.record.outcome for ctx in contexts]
        assert sorted(outcomes) == ["deployed", "refused"], (attempt, outcomes, results)
        winner, loser = (0, 1) if outcomes[0] == "deployed" else (1, 0)
        assert isinstance(results[loser], LeaseHeld), results[loser]
        assert writes[loser].sent == [], f"attempt {attempt}: the refused run wrote {writes[loser].sent}"
        assert runs[winner].leases.holder.run_id in str(results[loser])
        assert writes[winner].sent.count("UpdateService") == 1 and "RegisterTaskDefinition" in writes[winner].sent
        service = ecs.describe_services(cluster="local", services=["web"])["services"][0]
        assert service["taskDefinition"] == contexts[winner].record.revision_after != before
        assert [d["id"] for d in service["deployments"]] == [contexts[winner].record.deployment_id]
        assert len(ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"]) == families + 1
        assert lease_item(fast_emulator) is None  # both released


@pytest.fixture
def ctx_of(fast_emulator: LocalAWS, project: Path) -> Iterator[Callable[..., tuple[Run, ServiceContext]]]:
    """``ctx_of(holder, **leases)``: a run whose Leases are built with ``leases`` (clock, alive, renew_every …)
    and the ServiceContext of web in it; every run is closed at the end."""
    runs: list[Run] = []

    def make(holder: Holder, **leases: Any) -> tuple[Run, ServiceContext]:
        run = load_run(project, fast_emulator.endpoint_url, holder=holder)
        run.leases = Leases(holder, **leases)
        runs.append(run)
        return run, run.context("web", PrintLog(f"[{holder.run_id}] "), Hooks())

    yield make
    for run in runs:
        run.close()


def holder(run_id: str, *, pid: int | None = None, host: str | None = None, octopus: str | None = None) -> Holder:
    here = Holder.here({})
    return Holder(run_id=run_id, host=host or here.host, pid=here.pid if pid is None else pid,
                  started_at=here.started_at, octopus_deployment=octopus)


def octopus_messages(output: str, name: str, first: str, second: str) -> list[tuple[str, str]]:
    """The (``first``, ``second``) attributes, decoded, of every ``##octopus[name ...]`` line of ``output``."""
    found = []
    for line in output.splitlines():
        if line.startswith(f"##octopus[{name} "):
            attributes = dict(re.findall(r"(\w+)='([^']*)'", line))
            found.append(tuple(base64.b64decode(attributes[key]).decode() for key in (first, second)))
    return found  # type: ignore[return-value]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_lease_past_its_expiry_is_taken_over_with_a_warning_and_its_holder_learns_it_lost_it(
    fast_emulator: LocalAWS, ctx_of: Callable[..., tuple[Run, ServiceContext]]
) -> None:
    fast_emulator.reset()
    clock = Clock(time.time())
    first_run, first = ctx_of(holder("aaaaaaaaaaaa", host="ci-1", octopus="Deployments-41"), clock=clock,
                              renew_every=3600)
    first.before_write()
    assert lease_item(fast_emulator)["runId"]["S"] == "aaaaaaaaaaaa"

    second_run, second = ctx_of(holder("bbbbbbbbbbbb"), clock=clock, renew_every=3600)
    with pytest.raises(LeaseHeld) as refused:  # not expired: refused, naming the holder
        second.before_write()
    assert re.search(r"run aaaaaaaaaaaa on host ci-1 \(pid \d+\), started \S+Z, Octopus deployment Deployments-41",
                     str(refused.value)), refused.value
    assert second.record.outcome == "refused" and second.checks.items[-1].result == "failed"

    clock.now += TTL + 1  # the first holder stopped renewing long ago
    third_run, third = ctx_of(holder("cccccccccccc"), clock=clock, renew_every=3600)
    third.before_write()
    assert lease_item(fast_emulator)["runId"]["S"] == "cccccccccccc"
    assert any(line.startswith("WARNING: took over the lease of service 'web'") and "aaaaaaaaaaaa" in line
               and "expired at" in line for line in third.log.lines), third.log.lines  # type: ignore[attr-defined]
    assert first_run.leases.renew(first.aws, KEY, "web") is False  # its renewal finds the lease gone
    first_run.close()  # and its release leaves the new holder's lease alone
    assert lease_item(fast_emulator)["runId"]["S"] == "cccccccccccc"
    third_run.close()
    assert lease_item(fast_emulator) is None


def test_a_lease_whose_process_is_gone_on_this_host_is_taken_over_at_once(
    fast_emulator: LocalAWS, ctx_of: Callable[..., tuple[Run, ServiceContext]]
) -> None:
    fast_emulator.reset()
    killed = holder("deaddeaddead", pid=4_000_001)
    _, first = ctx_of(killed, renew_every=3600)
    first.before_write()
    _, elsewhere = ctx_of(holder("eeeeeeeeeeee", host="another-host"), alive=lambda pid: False)
    with pytest.raises(LeaseHeld):  # a process on another host cannot be looked at: only its expiry counts
        elsewhere.before_write()
    _, second = ctx_of(holder("ffffffffffff"), alive=lambda pid: pid != killed.pid)
    second.before_write()
    assert lease_item(fast_emulator)["runId"]["S"] == "ffffffffffff"
    assert any("deaddeaddead" in line and "its process no longer exists" in line
               for line in second.log.lines), second.log.lines  # type: ignore[attr-defined]


def test_the_lease_is_renewed_while_the_run_lives_and_plan_takes_none(
    fast_emulator: LocalAWS, ctx_of: Callable[..., tuple[Run, ServiceContext]], project: Path
) -> None:
    fast_emulator.reset()
    clock = Clock(1_000_000.0)
    run, ctx = ctx_of(holder("renewrenewre"), clock=clock, renew_every=0.02)
    ctx.before_write()
    assert float(lease_item(fast_emulator)["expiresAt"]["N"]) == 1_000_000.0 + TTL
    clock.now = 2_000_000.0
    deadline = time.monotonic() + 30  # a bound on the wait, not a timing assertion
    while float(lease_item(fast_emulator)["expiresAt"]["N"]) != 2_000_000.0 + TTL:
        assert time.monotonic() < deadline, "the lease was not renewed"
        time.sleep(0.02)
    ctx.before_write()  # held already: nothing more is written
    assert run.leases.held == [KEY]

    planned = load_run(project, fast_emulator.endpoint_url, plan=True)
    plan_ctx = planned.context("web", PrintLog("[plan] "), Hooks())
    plan_ctx.before_write()
    assert planned.leases.held == [] and lease_item(fast_emulator)["runId"]["S"] == "renewrenewre"
    run.close()
    assert lease_item(fast_emulator) is None


def test_a_run_that_fails_releases_its_lease_and_a_refused_run_says_who_holds_it(
    fast_emulator: LocalAWS, project: Path, run_pytest: RunPytest
) -> None:
    fast_emulator.reset()
    scenario = project / "deployments" / "test_web.py"
    good = scenario.read_text()
    scenario.write_text(good + "\n\ndef test_after():\n    assert False, 'the smoke test failed'\n")
    failed = run_pytest(fast_emulator.endpoint_url, "deployments", "--env", "outside", "--image-tag", "2.0.0",
                        timeout=240)
    assert failed.returncode == 1, failed.output
    assert "rolled back" in failed.output and lease_item(fast_emulator) is None, failed.output
    scenario.write_text(good)

    holder_run = load_run(project, fast_emulator.endpoint_url, holder=holder("abcdefabcdef", octopus="Deployments-7"))
    holder_run.context("web", PrintLog(), Hooks()).before_write()
    ecs = fast_emulator.client("ecs")
    revisions = ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"]
    try:
        refused = run_pytest(fast_emulator.endpoint_url, "deployments", "--env", "outside", "--image-tag", "3.0.0",
                             "--octopus", "--ecsdeploy-report", "record.json", timeout=240)
        planned = run_pytest(fast_emulator.endpoint_url, "deployments", "--env", "outside", "--image-tag", "3.0.0",
                             "--plan", timeout=240)
    finally:
        holder_run.close()
    assert refused.returncode == 1, refused.output
    assert "LeaseHeld: service 'web' is being deployed by another run, run abcdefabcdef" in refused.output
    assert ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"] == revisions  # nothing registered
    record = json.loads((project / "record.json").read_text())["services"]["web"]
    assert record["outcome"] == "refused" and "abcdefabcdef" in record["reason"], record
    variables = dict(octopus_messages(refused.output, "setVariable", "name", "value"))
    assert variables["EcsDeploy.web.Outcome"] == "refused", variables
    [(text, _)] = octopus_messages(refused.output, "resultMessage", "message", "message")
    assert "web was not deployed" in text and "run abcdefabcdef" in text and "Deployments-7" in text, text
    assert planned.returncode == 0, planned.output  # --plan takes no lease, so it is not refused
