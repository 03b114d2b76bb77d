"""Failure latency: from the decisive failure to the deploy step failing, and what the common recipe says instead.

A release image that crashes 0.2 s after it starts (the emulator's ``crash`` behaviour) is deployed to a 2-task
service. The decisive failure is the rollout engine's own record:

- with the deployment circuit breaker (enable + rollback): the moment the engine failed the deployment (its
  ``(deployment X) deployment failed: tasks failed to start.`` event, written when the failed-task count reached
  the threshold); ECS then rolls the service back by itself;
- without it: the ``stoppingAt`` of the task whose failure reaches the threshold (3 for 2 tasks): ECS would go on
  starting tasks forever; the plugin counts them, fails the deployment and rolls it back.

For the plugin three times are shown: when its watch reported the failure (the warning line), when the step failed
(RolloutFailed, after the rollback it follows or starts has completed: the run fails only with the service back on
its previous revision), and the step's failure measured from the rollback's completion.

Baseline, in the same run: the recipe with ``aws ecs wait services-stable`` (botocore's waiter, 15 s delay). With
the circuit breaker it reports success once ECS's rollback is stable; without it the service never becomes stable
and the waiter is stopped after 4 attempts (45 s) here; with its defaults it fails after 40 attempts (600 s).

    .venv/bin/python bench/failure_latency.py [--runs N] [--baseline-runs M]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import (
    Series,
    deploy,
    engine_service,
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

from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.clock import RealClock
from pytest_ecsdeploy.errors import RolloutFailed

TAGS = ("1.0.0", "2.0.0-crashes")
THRESHOLD = 3  # min(max(ceil(0.5 x 2), 3), 200)
CAPPED_WAITER = {"Delay": 15, "MaxAttempts": 4}


def decisive(local: LocalAWS, deployment_id: str, breaker: bool) -> float:
    if breaker:
        return event_time(local, "web", f"(deployment {deployment_id}) deployment failed")
    stops = failed_task_stops(local, deployment_id)
    assert len(stops) >= THRESHOLD, stops
    return stops[THRESHOLD - 1]


def rollback_completed(local: LocalAWS, after: float) -> float:
    """When the engine recorded the rollback's deployment COMPLETED: the first completion after ``after``."""
    times = [float(e["createdAt"]) for e in engine_service(local, "web")["events"]
             if e["message"].endswith("deployment completed.") and float(e["createdAt"]) > after]
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="failing deployments through the plugin per setting")
    parser.add_argument("--baseline-runs", type=int, default=2, help="recipe runs with the circuit breaker")
    args = parser.parse_args()
    header("Failure latency")
    rows = []
    for breaker in (True, False):
        reported, failed, after_rollback, baseline = Series(), Series(), Series(), Series()
        outcomes: set[str] = set()
        recipe_outcomes: list[str] = []
        kinds = ["ours"] * args.runs + ["recipe"] * (args.baseline_runs if breaker else 1)
        for n, kind in enumerate(kinds, start=1):
            with tempfile.TemporaryDirectory() as tmp:
                config = write_project(Path(tmp), ["web"])
                clock = RealClock()
                with LocalAWS(seed=seed(["web"], TAGS, breaker=breaker, rollback=breaker), clock=clock,
                              runner="simulated", base_dir=config.parent) as local:
                    local.set_image_behaviour(f"app:{TAGS[1]}", "crash", exit_code=1)
                    if kind == "ours":
                        done = deploy(load_run(config, local.endpoint_url, TAGS[1]), "web", clock.now)
                        assert isinstance(done.error, RolloutFailed), done.rollout or done.error
                        assert done.deployment_id is not None
                        record = next(iter(done.run.record.services.values())) if done.run else None
                        outcomes.add(record.outcome if record else "?")
                        moment = decisive(local, done.deployment_id, breaker)
                        warned = done.log.first("WARNING: ")
                        assert warned is not None
                        reported.add(warned - moment)
                        failed.add(done.returned_at - moment)
                        after_rollback.add(done.returned_at - rollback_completed(local, moment))
                        note = f"failed {failed.values[-1]:.2f} s after the decisive failure"
                    else:
                        result = recipe(local, "web", image_uri(local, TAGS[1]), clock.now,
                                        waiter=None if breaker else CAPPED_WAITER)
                        moment = decisive(local, result.deployment_id, breaker)
                        recipe_outcomes.append(result.outcome)
                        baseline.add(result.returned_at - moment)
                        note = f"{result.outcome} {baseline.values[-1]:.2f} s after the decisive failure"
            print(f"  circuit breaker {'on' if breaker else 'off'}: run {n} ({kind}): {note}", flush=True)
        setting = ("circuit breaker + rollback (ECS rolls back)" if breaker else
                   "no circuit breaker (the plugin fails it, rolls back)")
        said = "; ".join(sorted(set(recipe_outcomes)))
        if breaker:
            said = f"{baseline} — says: {said}"
        else:
            said = f"no verdict after {baseline.max:.0f} s (stopped at 4 attempts; default: fails at 600 s)"
        rows.append((setting, reported, failed, after_rollback, ", ".join(sorted(outcomes)), said))
    print()
    print(table(
        ["setting", "watch reported it (s)", "step failed (s)", "step failed after rollback completed (s)",
         "record", "services_stable, 15 s"],
        rows,
    ))
    print(f"\nseconds after the decisive failure (engine record), median / max; {args.runs} failing deployments "
          "through the plugin per setting. The plugin never reported success.")


if __name__ == "__main__":
    main()
