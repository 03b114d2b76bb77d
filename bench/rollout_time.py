"""A 10-task rollout's wall time against its simulated time (the emulator's own measure).

A service of 10 tasks (minimumHealthyPercent 100, maximumPercent 200) is updated to a new revision with boto3,
then DescribeServices is asked every 20 ms until the new deployment is COMPLETED. Simulated time is the engine's
record: the deployment's createdAt to its ``deployment completed.`` event. Wall time is from UpdateService's
return to the first answer that shows COMPLETED. At speed 1 the two should agree (the engine moves tasks at the
simulated instants they are due, whether or not anyone asks); at speed 10 wall time should be a tenth. With a
FakeClock moved in one step, the wall time is what computing the whole rollout costs the engine.

    .venv/bin/python bench/rollout_time.py [--runs N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import Series, deployment, engine_service, event_time, header, image_uri, seed, table, write_project

from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.clock import Clock, FakeClock, RealClock

TAGS = ("1.0.0", "1.1.0")
TASKS = 10


def one_rollout(clock: Clock, fake: FakeClock | None) -> tuple[float, float]:
    """(simulated seconds, wall seconds) of one 10-task rollout."""
    with tempfile.TemporaryDirectory() as tmp:
        config = write_project(Path(tmp), ["web"])
        with LocalAWS(seed=seed(["web"], TAGS, desired=TASKS), clock=clock, runner="simulated",
                      base_dir=config.parent) as local:
            ecs = local.client("ecs")
            current = ecs.describe_services(cluster="local", services=["web"])["services"][0]["taskDefinition"]
            payload = ecs.describe_task_definition(taskDefinition=current)["taskDefinition"]
            payload = {k: v for k, v in payload.items() if k in ("family", "networkMode", "requiresCompatibilities",
                                                                   "cpu", "memory", "containerDefinitions")}
            payload["containerDefinitions"][0]["image"] = image_uri(local, TAGS[1])
            arn = ecs.register_task_definition(**payload)["taskDefinition"]["taskDefinitionArn"]
            answer = ecs.update_service(cluster="local", service="web", taskDefinition=arn)["service"]
            started = time.perf_counter()
            deployment_id = answer["deployments"][0]["id"]
            if fake is not None:
                fake.advance(3600)  # far past the end: the next request makes the engine compute all of it
            while True:
                primary = ecs.describe_services(cluster="local", services=["web"])["services"][0]["deployments"][0]
                if primary["id"] == deployment_id and primary.get("rolloutState") == "COMPLETED":
                    break
                time.sleep(0.02)
            wall = time.perf_counter() - started
            completed = event_time(local, "web", f"(deployment {deployment_id}) deployment completed.")
            simulated = completed - float(deployment(local, "web", deployment_id)["createdAt"])
            assert engine_service(local, "web")["runningCount"] == TASKS
    return simulated, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="rollouts per clock (default 3)")
    args = parser.parse_args()
    header(f"A {TASKS}-task rollout: wall time against simulated time")
    rows = []
    for name in ("RealClock(speed=1)", "RealClock(speed=10)", "FakeClock, advanced once"):
        simulated, wall = Series(), Series()
        for _ in range(args.runs):
            fake = FakeClock(start=time.time()) if name.startswith("Fake") else None
            clock: Clock = fake if fake is not None else RealClock(speed=10.0 if "10" in name else 1.0)
            s, w = one_rollout(clock, fake)
            simulated.add(s)
            wall.add(w)
        rows.append((name, simulated, wall, f"{simulated.median / wall.median:.1f}"))
    print(table(["clock", "simulated (s)", "wall (s)", "simulated / wall"], rows))
    print(f"\nmedian / max of {args.runs} rollouts each; default Timings, simulated runner, minimumHealthyPercent 100, "
          "maximumPercent 200.")


if __name__ == "__main__":
    main()
