"""Start-up: collecting the example deployment with and without the plugin, and the emulator's cold start.

- ``pytest --collect-only deployments/`` in the repository, with the plugin (scenarios skipped: no ``--env``),
  with ``--env local`` (ecsdeploy.toml and the seed read and checked; nothing started), and with
  ``-p no:ecsdeploy`` (pytest alone; the scenario files are collected as plain test modules, their unknown marker
  warning ignored). Baseline: ``python -c pass``.
- The emulator's cold start in a fresh process: importing LocalAWS, ``LocalAWS().start()``, and the first ECS
  answer (ListClusters), from before the import, with the process's CPU seconds up to that answer (all threads:
  a figure the machine's load changes less than wall time); empty, and seeded with the example's ``local`` seed
  (simulated runner). And ``ecsdeploy-emulator --runner simulated`` from the command's start to its first ECS
  answer. ``--baseline DIR`` (a copy of another commit, e.g. ``git archive HEAD~1 | tar -x -C DIR``) runs the
  empty cold start from that copy too, interleaved with this one's.

    .venv/bin/python bench/startup.py [--runs N] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import boto3
from _common import ROOT, Series, header, table

COLD_START = textwrap.dedent('''
    import json, sys, time
    t0, cpu0 = time.perf_counter(), time.process_time()
    from pytest_ecsdeploy.emulator import LocalAWS
    t_import = time.perf_counter()
    kwargs = {}
    if sys.argv[1] == "seeded":
        from pathlib import Path
        from pytest_ecsdeploy.config import load_config
        env = load_config(Path("deployments/ecsdeploy.toml")).resolve("local", {}, {}).environment
        kwargs = dict(seed=env.seed, base_dir="deployments", variables=env.variables, runner="simulated")
    aws = LocalAWS(**kwargs).start()
    t_start = time.perf_counter()
    aws.client("ecs").list_clusters()
    t_first, cpu = time.perf_counter(), time.process_time() - cpu0
    aws.stop()
    print(json.dumps({"import": t_import - t0, "start": t_start - t0, "first": t_first - t0, "cpu": cpu}))
''')


LABELS = {
    "empty": "LocalAWS(), empty",
    "baseline": "LocalAWS(), empty, from --baseline",
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
    parser.add_argument("--baseline", type=Path, help="a copy of another commit to measure the empty cold start of")
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

    kinds = [kind for kind in LABELS if kind != "baseline" or args.baseline is not None]
    cold = {kind: {"import": Series(), "start": Series(), "first": Series(), "cpu": Series()} for kind in kinds}
    for _ in range(args.runs):  # the kinds interleaved, so that a change in the machine's load meets each alike
        for kind, phases in cold.items():
            where = args.baseline.resolve() if kind == "baseline" else ROOT
            done = subprocess.run([sys.executable, "-c", COLD_START, kind], cwd=where, capture_output=True, text=True,
                                  check=True, env={**os.environ, "PYTHONPATH": str(where)})
            for phase, seconds in json.loads(done.stdout.strip().splitlines()[-1]).items():
                phases[phase].add(seconds)
    cli = Series()
    for _ in range(args.runs):
        cli.add(cli_first_answer())
    print()
    print(table(
        ["emulator cold start (fresh process)", "import LocalAWS (s)", "start() returned (s)",
         "first ECS answer (s)", "CPU to the first answer (s)", "vs baseline (first answer)"],
        [(LABELS[kind], p["import"], p["start"], p["first"], p["cpu"],
          f"{p['first'].median / cold['baseline']['first'].median:.2f}x" if "baseline" in cold else "-")
         for kind, p in cold.items()]
        + [("ecsdeploy-emulator --port 0 --runner simulated (process start to first answer)", "-", "-", cli, "-",
            "-")],
    ))
    print(f"\nseconds, median / max of {args.runs} runs; times of LocalAWS are counted from before its import.")


if __name__ == "__main__":
    main()
