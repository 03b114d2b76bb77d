"""API calls per deployment of a 2-task service: the plugin's ``deploy()`` against the common recipe.

Every call is counted through botocore's event hooks on the session the clients are made from: ``before-call``
once per API call (what a CloudTrail trail or an account's rate limit sees as one request, before retries) and
``before-send`` once per HTTP attempt. The recipe is describe-services -> describe-task-definition ->
register-task-definition -> describe-services -> update-service -> ``aws ecs wait services-stable`` (15 s).

The plugin looks at the service while it waits (DescribeServices, 0.5 s apart after a change and never more than
1 s apart), and reads the tasks (ListTasks RUNNING and STOPPED, DescribeTasks of tasks not yet STOPPED) only when
the service shows a task changed, so its count grows by about one call a second in a quiet stretch; the quiet
rollout (new tasks run 8 s before they count as healthy) shows that. bench/watch_cost.py compares it with the
watch as it was.

    .venv/bin/python bench/api_calls.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
from _common import deploy, header, image_uri, load_run, recipe, seed, table, write_project

from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.clock import RealClock, Timings

TAGS = ("1.0.0", "1.1.0")
SHAPES = {"~2 s rollout": Timings(), "quiet ~10 s rollout": Timings(healthy_grace=8.0)}


class Counted:
    """Counts ``before-call`` (API calls, by operation) and ``before-send`` (HTTP attempts) of a session."""

    def __init__(self, session: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.attempts = 0
        session.events.register("before-call", self._call)
        session.events.register("before-send", self._send)

    def _call(self, event_name: str, **kwargs: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        self.calls[f"{service}:{operation}"] += 1

    def _send(self, **kwargs: Any) -> None:
        self.attempts += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="deployments per shape and kind (default 3)")
    args = parser.parse_args()
    header("API calls per deployment (2-task service)")
    totals: list[tuple[str, ...]] = []
    operations: dict[str, dict[str, list[int]]] = {}
    for shape, timings in SHAPES.items():
        for kind in ("plugin", "recipe"):
            counts: list[Counter[str]] = []
            attempts: list[int] = []
            seconds: list[float] = []
            for _ in range(args.runs):
                with tempfile.TemporaryDirectory() as tmp:
                    config = write_project(Path(tmp), ["web"])
                    clock = RealClock()
                    with LocalAWS(seed=seed(["web"], TAGS), clock=clock, timings=timings, runner="simulated",
                                  base_dir=config.parent) as local:
                        started = clock.now()
                        if kind == "plugin":
                            run = load_run(config, local.endpoint_url, TAGS[1])
                            counted = Counted(run.aws().session)
                            done = deploy(run, "web", clock.now)
                            assert done.rollout is not None and done.rollout.is_completed, done.error
                        else:
                            session = boto3.session.Session(aws_access_key_id="testing",
                                                            aws_secret_access_key="testing", region_name="us-east-1")
                            counted = Counted(session)
                            ecs = session.client("ecs", endpoint_url=local.endpoint_url)
                            assert recipe(local, "web", image_uri(local, TAGS[1]), clock.now, ecs=ecs).outcome == \
                                "success"
                        seconds.append(clock.now() - started)
                counts.append(counted.calls)
                attempts.append(counted.attempts)
            calls = [sum(c.values()) for c in counts]
            label = f"{kind}, {shape}"
            totals.append((label, f"{statistics.median(calls):g} ({min(calls)}-{max(calls)})",
                           f"{statistics.median(attempts):g}", f"{statistics.median(seconds):.1f}",
                           f"{statistics.median(c / s for c, s in zip(calls, seconds, strict=True)):.1f}"))
            for operation in sorted({op for c in counts for op in c}):
                operations.setdefault(operation, {})[label] = [c[operation] for c in counts]
            print(f"  {label}: {calls} calls", flush=True)
    print()
    print(table(["deployment", "API calls, median (min-max)", "HTTP attempts", "seconds", "calls per second"],
                totals))
    print("\nplugin = deploy() of the fixture; recipe = describe, register, describe, update, services_stable (15 s)")
    labels = [row[0] for row in totals]
    print()
    print(table(["operation", *labels],
                [(op, *(f"{statistics.median(by.get(label, [0])):g}" for label in labels))
                 for op, by in sorted(operations.items())]))
    print(f"\nmedian of {args.runs} deployments each; a fresh emulator per deployment.")


if __name__ == "__main__":
    main()
