"""Start-up: collecting the example deployment with and without the plugin, and the emulator's cold start.

- ``pytest --collect-only deployments/`` in the repository, with the plugin (scenarios skipped: no ``--env``),
  with ``--env local`` (ecsdeploy.toml and the seed read and checked; nothing started), and with
  ``-p no:ecsdeploy`` (pytest alone; the scenario files are collected as plain test modules, their unknown marker
  warning ignored). Baseline: ``python -c pass``.
- The emulator's cold start in a fresh process: importing LocalAWS, ``LocalAWS().start()``, and the first ECS
  answer (ListClusters), from before the import; empty, empty with moto's ECS models imported as before
  (``moto_state.one_boto3_session`` off), and seeded with the example's ``local`` seed (simulated runner). And
  ``ecsdeploy-emulator --runner simulated`` from the command's start to its first ECS answer.

    .venv/bin/python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import time

import boto3
from _common import ROOT, Series, header, table

COLD_START = textwrap.dedent('''
    import json, sys, time
    t0 = time.perf_counter()
    from pytest_ecsdeploy.emulator import LocalAWS
    t_import = time.perf_counter()
    kwargs = {}
    if sys.argv[1] == "several-sessions":  # the import as it was: moto's region tables make their own Sessions
        import contextlib
        from pytest_ecsdeploy.emulator import moto_state
        moto_state.one_boto3_session = contextlib.nullcontext
    if sys.argv[1] == "seeded":
        from pathlib import Path
        from pytest_ecsdeploy.config import load_config
        env = load_config(Path("deployments/ecsdeploy.toml")).resolve("local", {}, {}).environment
        kwargs = dict(seed=env.seed, base_dir="deployments", variables=env.variables, runner="simulated")
    aws = LocalAWS(**kwargs).start()
    t_start = time.perf_counter()
    aws.client("ecs").list_clusters()
    t_first = time.perf_counter()
    aws.stop()
    print(json.dumps({"import": t_import - t0, "start": t_start - t0, "first": t_first - t0}))
''')


LABELS = {
    "empty": "LocalAWS(), empty",
    "several-sessions": "LocalAWS(), empty, moto's ECS models imported as before (a boto3 Session per region table)",
    "seeded": "LocalAWS(seed=<example local seed>)",
}


def timed(command: list[str]) -> float:
    """Wall seconds of ``command``; exit 5 (pytest: no tests collected, the scenarios skipped) is fine."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 5):
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return seconds


def cli_first_answer() -> float:
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "pytest_ecsdeploy.emulator.cli", "--port", "0", "--runner",
                                "simulated"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        url = next(line for line in process.stdout if "local AWS at " in line).split("local AWS at ", 1)[1].split()[0]
        ecs = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name="us-east-1").client("ecs", endpoint_url=url)
        ecs.list_clusters()
        return time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each measurement (default 7)")
    args = parser.parse_args()
    header("Start-up")
    pytest = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "deployments/"]
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "pytest --collect-only deployments/ -p no:ecsdeploy": [*pytest, "-p", "no:ecsdeploy", "-W",
                                                               "ignore::pytest.PytestUnknownMarkWarning"],
        "pytest --collect-only deployments/ (plugin, no --env)": pytest,
        "pytest --collect-only deployments/ --env local": [*pytest, "--env", "local"],
    }
    collect = {name: Series() for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            collect[name].add(timed(command))
    bare = collect["pytest --collect-only deployments/ -p no:ecsdeploy"].median
    rows = [(name, series, f"{series.median / bare:.2f}x" if "pytest" in name else "-")
            for name, series in collect.items()]
    print(table(["command", "wall (s), median / max", "vs pytest without the plugin"], rows))

    cold = {kind: {"import": Series(), "start": Series(), "first": Series()} for kind in LABELS}
    for _ in range(args.runs):  # the kinds interleaved, so that a change in the machine's load meets each alike
        for kind, phases in cold.items():
            done = subprocess.run([sys.executable, "-c", COLD_START, kind], cwd=ROOT, capture_output=True, text=True,
                                  check=True)
            for phase, seconds in json.loads(done.stdout.strip().splitlines()[-1]).items():
                phases[phase].add(seconds)
    cli = Series()
    for _ in range(args.runs):
        cli.add(cli_first_answer())
    print()
    print(table(
        ["emulator cold start (fresh process)", "import LocalAWS (s)", "start() returned (s)",
         "first ECS answer (s)"],
        [(LABELS[kind], p["import"], p["start"], p["first"]) for kind, p in cold.items()]
        + [("ecsdeploy-emulator --port 0 --runner simulated (process start to first answer)", "-", "-", cli)],
    ))
    print(f"\nseconds, median / max of {args.runs} runs; times of LocalAWS are counted from before its import.")


if __name__ == "__main__":
    main()
