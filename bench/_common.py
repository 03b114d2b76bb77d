"""What the benchmarks share: a scenario project on disk, a deployment through the library (``Run``, no pytest),
the common recipe as a baseline, the engine's own record of when things happened, and the results table.

Every time here is read from one clock: the ``RealClock`` handed to ``LocalAWS(clock=...)``. The engine stamps
its records (a deployment's ``(deployment X) deployment completed.`` event, a task's ``stoppingAt``) with that
clock's simulated time, which at speed 1 is wall time; a benchmark reads the same clock when the deploy step
returns, so a latency is the difference of two readings of one clock.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pytest_ecsdeploy.actions.deploy import Deploy
from pytest_ecsdeploy.actions.ecr import Ecr
from pytest_ecsdeploy.actions.service import EcsService, Rollout
from pytest_ecsdeploy.actions.taskdef import TaskDefinition, read_only_fields
from pytest_ecsdeploy.checks import Check
from pytest_ecsdeploy.context import Hooks, RunOptions
from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.errors import EcsDeployError
from pytest_ecsdeploy.run import Run

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT_REGION = "123456789012/us-east-1"
CLUSTER = "local"


def task_definition(family: str) -> dict[str, Any]:
    """The template of every benchmark service: one essential container ``app`` on Fargate."""
    return {
        "family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{
            "name": "app", "image": "app:placeholder", "essential": True,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            "environment": [{"name": "PORT", "value": "8080"}],
        }],
    }


def write_project(root: Path, services: Sequence[str], *, endpoint_variable: str = "BENCH_ENDPOINT") -> Path:
    """``root/deployments``: ecsdeploy.toml with environment ``bench`` (an emulator at ``${BENCH_ENDPOINT}``),
    one ``[services.NAME]`` and template per service (repository ``app``). Returns the config path."""
    deployments = root / "deployments"
    lines = [
        "[defaults]", 'region = "us-east-1"', "wait_timeout = 300", "",
        "[environments.bench]", 'backend = "emulator"', f'cluster = "{CLUSTER}"',
        f'endpoint_url = "${{{endpoint_variable}}}"', "",
    ]
    for name in services:
        (deployments / name).mkdir(parents=True, exist_ok=True)
        (deployments / name / "taskdef.json").write_text(json.dumps(task_definition(name), indent=2))
        lines += [f"[services.{name}]", 'repository = "app"', f'task_definition = "{name}/taskdef.json"',
                  'containers = ["app"]', ""]
    config = deployments / "ecsdeploy.toml"
    config.write_text("\n".join(lines))
    return config


def seed(services: Sequence[str], tags: Sequence[str], *, desired: int = 2, breaker: bool = False,
         rollback: bool = False) -> dict[str, Any]:
    """The emulator's seed for ``write_project``: repository ``app`` with ``tags``, each service steady on
    ``app:<first tag>`` with ``desired`` tasks."""
    configuration = {"circuit_breaker": breaker, "rollback": rollback} if breaker else {}
    return {
        "clusters": [CLUSTER],
        "repositories": {"app": {"tags": list(tags)}},
        "services": {
            name: {"task_definition": f"{name}/taskdef.json", "images": {"app": f"app:{tags[0]}"},
                   "desired_count": desired, **({"deployment_configuration": configuration} if configuration else {})}
            for name in services
        },
    }


class StampLog:
    """A silent ``Log`` that keeps every line with the time it was written (``clock()``)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.lines: list[tuple[float, str]] = []

    def info(self, message: str) -> None:
        self.lines.append((self.clock(), message))

    def warning(self, message: str) -> None:
        self.lines.append((self.clock(), f"WARNING: {message}"))

    def check(self, check: Check) -> None:
        self.lines.append((self.clock(), check.line()))

    def first(self, prefix: str, contains: str = "") -> float | None:
        """When the first line starting with ``prefix`` and containing ``contains`` was written."""
        return next((t for t, line in self.lines if line.startswith(prefix) and contains in line), None)


@dataclass
class Deployed:
    """One deployment through the library: the rollout (or the error), the log, when the step returned."""

    returned_at: float
    log: StampLog
    rollout: Rollout | None = None
    error: EcsDeployError | None = None
    run: Run | None = None

    @property
    def deployment_id(self) -> str | None:
        if self.rollout is not None:
            return self.rollout.deployment_id
        assert self.run is not None
        return next(iter(self.run.record.services.values())).deployment_id


def load_run(config: Path, endpoint: str, image_tag: str, *, endpoint_variable: str = "BENCH_ENDPOINT") -> Run:
    return Run.load(env_name="bench", config_path=str(config), rootdir=config.parent.parent, args=[],
                    options=RunOptions(image_tag=image_tag), environ={endpoint_variable: endpoint})


def deploy(run: Run, service: str, clock: Callable[[], float]) -> Deployed:
    """``deploy()`` of the fixture, for ``service``: pin the tag, register, roll out, watch, roll back on failure."""
    log = StampLog(clock)
    ctx = run.context(service, log, Hooks())
    step = Deploy(ctx, Ecr(ctx), TaskDefinition(ctx), EcsService(ctx))
    try:
        rollout = step()
    except EcsDeployError as exc:
        return Deployed(clock(), log, error=exc, run=run)
    return Deployed(clock(), log, rollout=rollout, run=run)


# -- the baseline: the common recipe ------------------------------------------------------------------------------


@dataclass
class RecipeResult:
    deployment_id: str
    returned_at: float
    outcome: str  # "success" (the waiter said stable) or what it raised


def recipe(local: LocalAWS, service: str, image: str, clock: Callable[[], float], *,
           waiter: dict[str, int] | None = None, ecs: Any = None) -> RecipeResult:
    """describe-task-definition -> register-task-definition (image patched, read-only fields dropped) ->
    describe-services -> update-service -> ``aws ecs wait services-stable`` (botocore's waiter, default 15 s x 40
    unless ``waiter`` = WaiterConfig); ``ecs`` is the client to use (default: a new one on ``local``)."""
    ecs = ecs if ecs is not None else local.client("ecs")
    current = ecs.describe_services(cluster=CLUSTER, services=[service])["services"][0]["taskDefinition"]
    payload = ecs.describe_task_definition(taskDefinition=current)["taskDefinition"]
    for key in read_only_fields():
        payload.pop(key, None)
    for container in payload["containerDefinitions"]:
        container["image"] = image  # the recipe's jq filter: every container gets the new image
    arn = ecs.register_task_definition(**payload)["taskDefinition"]["taskDefinitionArn"]
    ecs.describe_services(cluster=CLUSTER, services=[service])
    answer = ecs.update_service(cluster=CLUSTER, service=service, taskDefinition=arn)["service"]
    deployment_id = next(d["id"] for d in answer["deployments"] if d["status"] == "PRIMARY")
    try:
        ecs.get_waiter("services_stable").wait(cluster=CLUSTER, services=[service], **(
            {"WaiterConfig": waiter} if waiter else {}))
    except Exception as exc:  # noqa: BLE001 - the recipe's outcome, whatever it is
        return RecipeResult(deployment_id, clock(), f"{type(exc).__name__}: {str(exc).splitlines()[0][:80]}")
    return RecipeResult(deployment_id, clock(), "success")


def image_uri(local: LocalAWS, tag: str) -> str:
    uri = local.client("ecr").describe_repositories(repositoryNames=["app"])["repositories"][0]["repositoryUri"]
    return f"{uri}:{tag}"


# -- the engine's record --------------------------------------------------------------------------------------------


def engine_service(local: LocalAWS, service: str) -> dict[str, Any]:
    return local.snapshot()["ecs"]["engine"][ACCOUNT_REGION]["services"][f"{CLUSTER}/{service}"]  # type: ignore[no-any-return]


def deployment(local: LocalAWS, service: str, deployment_id: str | None) -> dict[str, Any]:
    """The engine's record of one deployment of ``service`` (while it is still listed)."""
    return next(d for d in engine_service(local, service)["deployments"] if d["id"] == deployment_id)


def event_time(local: LocalAWS, service: str, text: str) -> float:
    """When the engine wrote the service event containing ``text`` (its own record of the moment)."""
    events = engine_service(local, service)["events"]
    times = [float(e["createdAt"]) for e in events if text in e["message"]]
    if not times:
        raise LookupError(f"no event of {service} contains {text!r}")
    return min(times)


def failed_task_stops(local: LocalAWS, deployment_id: str) -> list[float]:
    """When each failed task of ``deployment_id`` was stopped (``stoppingAt``), in order."""
    tasks = local.snapshot()["ecs"]["engine"][ACCOUNT_REGION]["tasks"].values()
    return sorted(
        float(t["stoppingAt"]) for t in tasks
        if t.get("startedBy") == deployment_id
        and t.get("stopCode") in ("EssentialContainerExited", "TaskFailedToStart") and "stoppingAt" in t
    )


# -- numbers and the table ------------------------------------------------------------------------------------------


@dataclass
class Series:
    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    def __str__(self) -> str:
        digits = 3 if self.max < 0.1 else 2
        return f"{self.median:.{digits}f} / {self.max:.{digits}f}"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table."""
    body = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in body)) if body else len(str(h)) for i, h in enumerate(headers)]
    lines = ["| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in body]
    return "\n".join(lines)


def machine() -> str:
    """``2 cores (Intel Xeon …), Linux 6.1, Python 3.11.7, 2026-08-22 14:03 UTC``."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = f", load {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return (f"{os.cpu_count()} cores ({cpu}{load}), {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")


def header(title: str) -> None:
    print(f"## {title}\n\n{machine()}\ncommand: {' '.join([Path(sys.executable).name, *sys.argv])}\n", flush=True)


def start_emulator_process(seed_file: Path, *, speed: float = 1.0) -> tuple[subprocess.Popen[str], str]:
    """``ecsdeploy-emulator --port 0 --seed FILE --runner simulated`` in its own process; returns it and its
    endpoint URL."""
    command = [sys.executable, "-m", "pytest_ecsdeploy.emulator.cli", "--port", "0", "--seed", str(seed_file),
               "--speed", str(speed), "--runner", "simulated"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    for line in process.stdout:
        if "local AWS at " in line:
            return process, line.split("local AWS at ", 1)[1].split()[0]
        if time.monotonic() > deadline:
            break
    process.kill()
    raise RuntimeError(f"ecsdeploy-emulator did not start: {process.stdout.read()}")


def seed_toml(table_: dict[str, Any]) -> str:
    """A seed mapping as the TOML file ``ecsdeploy-emulator --seed`` reads (tables, strings, numbers, booleans,
    lists of strings, inline tables of strings)."""

    def value(item: Any) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, (int, float)):
            return str(item)
        if isinstance(item, str):
            return json.dumps(item)
        if isinstance(item, list):
            return "[" + ", ".join(value(i) for i in item) + "]"
        if isinstance(item, dict):
            return "{ " + ", ".join(f"{k} = {value(v)}" for k, v in item.items()) + " }"
        raise TypeError(f"cannot write {item!r} as TOML")

    lines: list[str] = []

    def emit(prefix: str, mapping: dict[str, Any]) -> None:
        plain = {k: v for k, v in mapping.items() if not (isinstance(v, dict) and k in NESTED)}
        if prefix:
            lines.append(f"[{prefix}]")
        lines.extend(f"{k} = {value(v)}" for k, v in plain.items())
        lines.append("")
        for key, sub in mapping.items():
            if isinstance(sub, dict) and key in NESTED:
                for name, inner in sub.items():
                    emit(f"{prefix + '.' if prefix else ''}{key}.{name}", inner)

    emit("", table_)
    return "\n".join(lines)


NESTED = ("repositories", "services")
