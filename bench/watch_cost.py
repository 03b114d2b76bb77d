"""What a rollout watch costs and how late it sees the outcome, per rollout shape: ours, as it was, the recipe.

Three ways to follow the same deployments, in the same run, on the same embedded local AWS (``RealClock``,
speed 1), each deployment on a fresh emulator:

- **ours**: the ``deploy`` fixture's ``deploy()`` through the library (``_common.deploy``).
- **previous**: the same ``deploy()`` with the watch as it was before its task reads followed change
  (:func:`previous_watch`): ListTasks RUNNING + ListTasks STOPPED + DescribeTasks at every look, and looks 0.25 s
  apart after a change, x1.5 per quiet look, up to 5 s.
- **recipe**: describe, register, update-service, ``aws ecs wait services-stable`` (botocore's waiter, 15 s);
  for the crash loop it is capped at 2 attempts (it never says stable; bench/failure_latency.py has the rest).

Per shape: completion latency (the engine's ``deployment completed.`` event to the watch logging it, and to the
step returning), failure-to-step latency for the crash loop (the engine's stoppingAt of the failed task that
reached the threshold to the watch's verdict), API calls per deployment (botocore ``before-call``), and API calls
per minute of watching (calls from UpdateService's answer to the verdict, over that stretch).

    .venv/bin/python bench/watch_cost.py [--runs N] [--baseline-runs M] [--long-grace S] [--baseline DIR]

``--baseline DIR`` (a copy of another commit: ``git archive HEAD~1 | tar -x -C DIR``) measures that copy's
``deploy()`` in place of "previous", and ours alike, each deployment in a child process (``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from _common import (
    ROOT,
    Series,
    deploy,
    event_time,
    failed_task_stops,
    header,
    image_uri,
    load_run,
    recipe,
    seed,
    table,
    write_project,
)

from pytest_ecsdeploy.actions import service_watch as service_module
from pytest_ecsdeploy.actions.service import EcsService
from pytest_ecsdeploy.actions.watch import DeploymentWatch
from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.clock import RealClock, Timings
from pytest_ecsdeploy.errors import RolloutFailed

TAGS = ("1.0.0", "1.1.0")
THRESHOLD = 3  # failed tasks that fail a 2-task deployment without the circuit breaker


@dataclass(frozen=True)
class Shape:
    desired: int
    grace: tuple[float, float]  # new tasks' healthy grace, drawn per deployment (seconds)
    crash: bool = False
    runs: int | None = None  # deployments per kind, when not --runs


def shapes(long_grace: float) -> dict[str, Shape]:
    return {
        "quick (2 tasks, ~2 s)": Shape(2, (0.4, 0.4)),
        "quiet (2 tasks, healthy grace 4-12 s)": Shape(2, (4.0, 12.0)),
        "10 tasks": Shape(10, (0.4, 0.4)),
        "crash loop (2 tasks, no circuit breaker)": Shape(2, (0.4, 0.4), crash=True),
        f"long quiet (2 tasks, healthy grace {long_grace:g} s, as ECS without health checks)":
            Shape(2, (long_grace, long_grace), runs=1),
    }


class EveryLook(DeploymentWatch):
    """The previous watch's rule: read the tasks at every look."""

    def needs_tasks(self, service: Any) -> bool:
        return True


@contextmanager
def previous_watch() -> Iterator[None]:
    """``EcsService`` watching as it did before: tasks read at every look, pauses 0.25 s x1.5 up to 5 s."""
    saved = service_module.DeploymentWatch, EcsService.poll_max, EcsService.poll_factor
    service_module.DeploymentWatch, EcsService.poll_max, EcsService.poll_factor = EveryLook, 5.0, 1.5  # type: ignore[misc]
    try:
        yield
    finally:
        service_module.DeploymentWatch, EcsService.poll_max, EcsService.poll_factor = saved  # type: ignore[misc]


class Calls:
    """Every API call of a session with the time it was made (``clock()``)."""

    def __init__(self, session: Any, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.at: list[tuple[float, str]] = []
        session.events.register("before-call", self._call)

    def _call(self, event_name: str, **kwargs: Any) -> None:
        self.at.append((self.clock(), event_name.split(".", 2)[2]))

    def watching(self, until: float) -> tuple[int, float]:
        """Calls after the UpdateService call up to ``until``, and that stretch in seconds."""
        start = next(t for t, op in self.at if op == "UpdateService")
        return sum(1 for t, op in self.at if start < t <= until), until - start


@dataclass
class Figures:
    saw: Series
    returned: Series
    calls: Series
    per_minute: Series

    @classmethod
    def empty(cls) -> Figures:
        return cls(Series(), Series(), Series(), Series())


def one(kind: str, shape: Shape, grace: float) -> tuple[float, float, int, float]:
    """One deployment: (latency seen, latency returned, calls, calls per minute of watching)."""
    with tempfile.TemporaryDirectory() as tmp:
        config = write_project(Path(tmp), ["web"])
        clock = RealClock()
        with LocalAWS(seed=seed(["web"], TAGS, desired=shape.desired), clock=clock,
                      timings=Timings(healthy_grace=grace), runner="simulated", base_dir=config.parent) as local:
            if shape.crash:
                local.set_image_behaviour(f"app:{TAGS[1]}", "crash", exit_code=1)
            if kind == "recipe":
                session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                                region_name="us-east-1")
                calls = Calls(session, clock.now)
                waiter = {"Delay": 15, "MaxAttempts": 2} if shape.crash else None
                result = recipe(local, "web", image_uri(local, TAGS[1]), clock.now,
                                ecs=session.client("ecs", endpoint_url=local.endpoint_url), waiter=waiter)
                moment = (failed_task_stops(local, result.deployment_id)[THRESHOLD - 1] if shape.crash else
                          event_time(local, "web", f"(deployment {result.deployment_id}) deployment completed."))
                watched, stretch = calls.watching(result.returned_at)
                late = result.returned_at - moment
                return late, late, len(calls.at), watched / stretch * 60
            run = load_run(config, local.endpoint_url, TAGS[1])
            calls = Calls(run.aws().session, clock.now)
            with previous_watch() if kind == "previous" else _nothing():
                done = deploy(run, "web", clock.now)
            deployment_id = done.deployment_id
            if shape.crash:
                assert isinstance(done.error, RolloutFailed), done.rollout or done.error
                moment = failed_task_stops(local, str(deployment_id))[THRESHOLD - 1]
                seen = done.log.first("WARNING: ")
            else:
                assert done.rollout is not None and done.rollout.is_completed, done.error
                moment = event_time(local, "web", f"(deployment {deployment_id}) deployment completed.")
                seen = done.log.first(f"deployment {deployment_id} ", " completed (")
            assert seen is not None
            watched, stretch = calls.watching(seen)
            return seen - moment, done.returned_at - moment, len(calls.at), watched / stretch * 60


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def one_from(code: Path, kind: str, shape: Shape, grace: float) -> tuple[float, float, int, float]:
    """:func:`one` in a child process with the package of ``code`` (a copy of the repository)."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--desired", str(shape.desired), "--grace", str(grace),
         *(["--crash"] if shape.crash else [])],
        capture_output=True, text=True, check=False, timeout=600, env={**os.environ, "PYTHONPATH": str(code)},
    )
    if done.returncode != 0:
        raise RuntimeError(f"the {kind} child failed:\n{done.stdout}\n{done.stderr}")
    saw, returned, calls, per_minute = json.loads(done.stdout.strip().splitlines()[-1])
    return float(saw), float(returned), int(calls), float(per_minute)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="deployments per shape for ours and previous (default 5)")
    parser.add_argument("--baseline-runs", type=int, default=2, help="recipe deployments per shape (default 2)")
    parser.add_argument("--long-grace", type=float, default=40.0, help="healthy grace of the long quiet shape")
    parser.add_argument("--baseline", type=Path,
                        help="a copy of another commit (git archive): its deploy() is measured as 'previous' instead "
                             "of the previous watch restored in process; both it and ours run in child processes")
    parser.add_argument("--child", choices=["ours", "previous"], help=argparse.SUPPRESS)
    parser.add_argument("--desired", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--grace", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--crash", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one(args.child, Shape(args.desired, (args.grace, args.grace), crash=args.crash), args.grace)))
        return
    header("Watch cost and latency per rollout shape")
    label = "baseline" if args.baseline else "previous"

    def measure(kind: str, shape: Shape, grace: float) -> tuple[float, float, int, float]:
        if args.baseline is None or kind == "recipe":
            return one(kind, shape, grace)
        return one_from(args.baseline.resolve() if kind == "previous" else ROOT, "ours", shape, grace)

    rng = random.Random(17)
    rows = []
    for name, shape in shapes(args.long_grace).items():
        figures = {kind: Figures.empty() for kind in ("ours", "previous", "recipe")}
        runs = shape.runs or args.runs
        order = [k for n in range(max(runs, args.baseline_runs)) for k in
                 (["ours", "previous"] if n < runs else []) + (["recipe"] if n < min(args.baseline_runs, runs) else [])]
        for kind in order:
            grace = round(rng.uniform(*shape.grace), 2)
            saw, returned, calls, per_minute = measure(kind, shape, grace)
            f = figures[kind]
            f.saw.add(saw)
            f.returned.add(returned)
            f.calls.add(calls)
            f.per_minute.add(per_minute)
            print(f"  {name}: {label if kind == 'previous' else kind} (grace {grace} s): saw it {saw:.2f} s, "
                  f"returned {returned:.2f} s after, "
                  f"{calls} calls, {per_minute:.0f} per minute of watching", flush=True)
        ours, previous, base = figures["ours"], figures["previous"], figures["recipe"]
        rows.append((
            name, ours.saw, ours.returned, previous.saw, base.saw if not shape.crash else f"no verdict ({base.saw})",
            f"{previous.saw.median / ours.saw.median:.2f}x",
            f"{statistics.median(ours.calls.values):g} / {statistics.median(previous.calls.values):g} / "
            f"{statistics.median(base.calls.values):g}",
            f"{statistics.median(ours.per_minute.values):.0f} / {statistics.median(previous.per_minute.values):.0f}"
            f" / {statistics.median(base.per_minute.values):.0f}",
            f"{statistics.median(previous.calls.values) / statistics.median(ours.calls.values):.2f}x",
        ))
    print()
    print(table(
        ["rollout shape", "ours: saw it (s)", "ours: step returned (s)", f"{label}: saw it (s)",
         "recipe: returned (s)", f"{label} / ours (latency)", f"calls per deployment: ours / {label} / recipe",
         f"calls per minute watching: ours / {label} / recipe", f"{label} / ours (calls)"],
        rows,
    ))
    print("\nlatency: seconds after the engine's record (deployment completed; for the crash loop the stoppingAt of "
          f"the {THRESHOLD}rd failed task), median / max; {args.runs} deployments per shape through ours and previous "
          f"(the long quiet shape: 1), {args.baseline_runs} through the recipe.")


if __name__ == "__main__":
    main()
