"""Completion latency: from the moment the rollout is complete to the deploy step returning.

"Complete" is the rollout engine's own record: the time of the service event ``(deployment X) deployment
completed.``, written at the simulated instant the deployment became COMPLETED (at speed 1 simulated time is wall
time, read from the same clock as the step's return). The deploy step is the ``deploy`` fixture's
``deploy()`` through the library: pin the tag, register, UpdateService, watch, post-checks.

Baseline, measured in the same run against the same emulator: the common recipe (describe-task-definition ->
register -> describe-services -> update-service -> ``aws ecs wait services-stable``), whose waiter is botocore's
``services_stable`` with its default 15 s delay.

Two rollout shapes: the emulator's default timings (a 2-task rollout completes about 2 s after UpdateService), and
a quiet one in which new tasks run 4 to 12 s (drawn per deployment) before they count as healthy (ECS waits 40 s),
so the watch has nothing new to see for a while and backs off before the rollout completes. Each deployment gets
a fresh emulator (its timings are fixed when it starts).

    .venv/bin/python bench/completion_latency.py [--runs N] [--baseline-runs M]
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

from _common import (
    Series,
    deploy,
    deployment,
    event_time,
    header,
    image_uri,
    load_run,
    recipe,
    seed,
    table,
    write_project,
)

from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.clock import RealClock, Timings

#: rollout shape -> how long new tasks run before they count as healthy, drawn per deployment (seeded)
SHAPES: dict[str, tuple[float, float]] = {
    "default timings (2 tasks, ~2 s rollout)": (0.4, 0.4),
    "quiet rollout (2 tasks, 4-12 s healthy grace)": (4.0, 12.0),
}


TAGS = ("1.0.0", "1.1.0")


def completed_at(local: LocalAWS, deployment_id: str | None) -> float:
    return event_time(local, "web", f"(deployment {deployment_id}) deployment completed.")


def interleave(ours: int, baseline: int) -> list[str]:
    """``ours, recipe, ours, recipe, …, ours``: the two kinds spread over the same stretch of the run."""
    order: list[str] = []
    for n in range(max(ours, baseline)):
        order += (["ours"] if n < ours else []) + (["recipe"] if n < baseline else [])
    return order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="deployments through the plugin per shape (default 7)")
    parser.add_argument("--baseline-runs", type=int, default=3, help="recipe deployments per shape (default 3)")
    args = parser.parse_args()
    header("Completion latency")
    rng = random.Random(8)
    rows = []
    for shape, (shortest, longest) in SHAPES.items():
        ours, detect, baseline, rollout = Series(), Series(), Series(), Series()
        for n, kind in enumerate(interleave(args.runs, args.baseline_runs), start=1):
            timings = Timings(healthy_grace=round(rng.uniform(shortest, longest), 2))
            with tempfile.TemporaryDirectory() as tmp:
                config = write_project(Path(tmp), ["web"])
                clock = RealClock()
                with LocalAWS(seed=seed(["web"], TAGS), clock=clock, timings=timings, runner="simulated",
                              base_dir=config.parent) as local:
                    if kind == "ours":
                        done = deploy(load_run(config, local.endpoint_url, TAGS[1]), "web", clock.now)
                        assert done.rollout is not None and done.rollout.is_completed, done.error
                        completed = completed_at(local, done.deployment_id)
                        ours.add(done.returned_at - completed)
                        seen = done.log.first(f"deployment {done.deployment_id} ", " completed (")
                        assert seen is not None
                        detect.add(seen - completed)
                        rollout.add(completed - deployment(local, "web", done.deployment_id)["createdAt"])
                        took = f"{ours.values[-1]:.2f} s"
                    else:
                        result = recipe(local, "web", image_uri(local, TAGS[1]), clock.now)
                        assert result.outcome == "success", result.outcome
                        baseline.add(result.returned_at - completed_at(local, result.deployment_id))
                        took = f"{baseline.values[-1]:.2f} s"
            print(f"  {shape}: run {n} ({kind}, healthy grace {timings.healthy_grace} s): returned {took} after "
                  f"COMPLETED", flush=True)
        rows.append((shape, rollout, detect, ours, baseline, f"{baseline.median / ours.median:.0f}x"))
    print()
    print(table(
        ["rollout shape", "rollout took (s)", "watch saw it (s)", "deploy step returned (s)",
         "services_stable, 15 s (s)", "baseline / ours (median)"],
        rows,
    ))
    print("\nseconds after the engine recorded the deployment COMPLETED, median / max; "
          f"{args.runs} deployments through the plugin and {args.baseline_runs} through the recipe per shape.")


if __name__ == "__main__":
    main()
