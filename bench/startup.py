"""Start-up: collecting the example deployment, the emulator's life in a fresh process (start, reset, stop, exit),
and a scenario pytest run's start and exit; each figure beside a baseline's measured in the same run.

- ``pytest --collect-only deployments/`` in the repository, with the plugin (scenarios skipped: no ``--env``),
  with ``--env local`` (ecsdeploy.toml and the seed read and checked; nothing started), and with
  ``-p no:ecsdeploy`` (pytest alone; the scenario files are collected as plain test modules, their unknown marker
  warning ignored). Baseline: ``python -c pass``.
- The emulator in a fresh process, empty and seeded with the example's ``local`` seed (simulated runner): importing
  LocalAWS, ``start()``, the first ECS answer and the process's CPU seconds up to it (all threads: a figure the
  machine's load changes less than wall time), ``reset()`` (the median of ``--resets``, each followed by an EC2
  request, as a test that uses the seed's network makes), the objects the garbage collector tracks after them and
  one full collection, ``stop()``, and the interpreter's exit (from ``stop()``'s return to the process's end, read
  by the parent on the same monotonic clock).
- A scenario run: ``pytest`` in a project whose one test asks the ``aws`` fixture for an ECS answer (``--env
  local``, the example's seed, simulated runner): when the session starts, when the test has its answer, when the
  session has finished, and when the process has exited, each from the process's start.
- ``ecsdeploy-emulator --runner simulated`` from the command's start to its first ECS answer.

``--baseline DIR`` (a checkout of another commit, e.g. the main checkout, or ``git archive HEAD~1 | tar -x -C DIR``)
runs every measurement from that copy too, interleaved with this one's (its ``pytest_ecsdeploy`` ahead on the path,
this venv's libraries), and each figure gets its ratio to the baseline's; without it the pytest commands are
compared to pytest without the plugin.

    .venv/bin/python bench/startup.py [--runs N] [--resets N] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import boto3
from _common import ROOT, Series, header, table

LIFE = textwrap.dedent('''
    import gc, json, sys, time
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
    ec2, resets = aws.client("ec2"), []
    for _ in range(int(sys.argv[2])):
        started = time.perf_counter()
        aws.reset()
        resets.append(time.perf_counter() - started)
        ec2.describe_vpcs()
    gc.collect()
    objects = len(gc.get_objects())  # the frozen ones left out, as collections leave them
    started = time.perf_counter()
    gc.collect()
    collect = time.perf_counter() - started
    started = time.perf_counter()
    aws.stop()
    t_stop = time.perf_counter()
    print(json.dumps({"import": t_import - t0, "start": t_start - t0, "first": t_first - t0, "cpu": cpu,
                      "reset": sorted(resets)[len(resets) // 2], "objects": objects, "collect": collect,
                      "stop": t_stop - started, "stopped_at": t_stop,
                      "module": __import__("pytest_ecsdeploy").__file__}), flush=True)
''')

LIFE_PHASES = {
    "import": "import LocalAWS (s)",
    "start": "start() returned (s)",
    "first": "first ECS answer (s)",
    "cpu": "CPU to the first answer (s)",
    "reset": "reset() (s)",
    "objects": "objects a full collection walks after the resets (not frozen)",
    "collect": "gc.collect() (s)",
    "stop": "stop() (s)",
    "exit": "exit after stop() (s)",
}

# The scenario project's conftest stamps the phases of its run on the monotonic clock the parent reads too.
SCENARIO_CONFTEST = textwrap.dedent('''
    import json, os, time

    import pytest

    def _stamp(name):
        with open(os.environ["STARTUP_STAMPS"], "a") as stamps:
            stamps.write(json.dumps({name: time.perf_counter()}) + "\\n")

    def pytest_sessionstart(session):
        _stamp("session started")

    def pytest_sessionfinish(session, exitstatus):
        _stamp("session finished")

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(config):
        _stamp("unconfigured")
''')
SCENARIO_TEST = textwrap.dedent('''
    import json, os, time

    def test_first_answer(aws):
        aws.client("ecs").list_clusters()
        with open(os.environ["STARTUP_STAMPS"], "a") as stamps:
            stamps.write(json.dumps({"first ECS answer": time.perf_counter()}) + "\\n")
''')
SCENARIO_PHASES = ("session started", "first ECS answer", "session finished", "unconfigured", "exited")


def timed(command: list[str], where: Path) -> float:
    """Wall seconds of ``command`` run in ``where``; exit 5 (pytest: no tests collected, the scenarios skipped)
    is fine."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=where, capture_output=True, text=True, check=False, env=_env(where))
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 5):
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return seconds


def _env(where: Path) -> dict[str, str]:
    """This process's environment with ``where``'s package ahead of the installed one."""
    return {**os.environ, "PYTHONPATH": str(where), "ECSDEPLOY_RUNNER": "simulated"}


def life(kind: str, where: Path, resets: int) -> dict[str, float]:
    """One fresh process's emulator life (:data:`LIFE`) from ``where``: its phases in seconds."""
    process = subprocess.Popen([sys.executable, "-c", LIFE, kind, str(resets)], cwd=where, env=_env(where),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = process.communicate()
    ended = time.perf_counter()
    if process.returncode != 0:
        raise RuntimeError(f"the {kind} emulator life from {where} exited {process.returncode}:\n{err}")
    phases = json.loads(out.strip().splitlines()[-1])
    module = Path(phases.pop("module")).resolve()
    if not module.is_relative_to(where.resolve()):
        raise RuntimeError(f"{where}: pytest_ecsdeploy came from {module}")
    phases["exit"] = ended - phases.pop("stopped_at")
    return dict(phases)


def write_scenario(root: Path) -> Path:
    """A project whose one scenario takes its first ECS answer from the embedded local AWS, seeded as the
    example's ``local`` environment is (its templates read from the repository's deployments/)."""
    config = (ROOT / "deployments" / "ecsdeploy.toml").read_text()
    project = root / "scenario"
    project.mkdir()
    for name in ("api", "web", "image"):
        source = ROOT / "deployments" / name
        if source.exists():
            (project / name).symlink_to(source)
    (project / "ecsdeploy.toml").write_text(config)
    (project / "conftest.py").write_text(SCENARIO_CONFTEST)
    (project / "test_web.py").write_text(SCENARIO_TEST)  # a scenario of the service web
    return project


def scenario(project: Path, where: Path) -> dict[str, float]:
    """One ``pytest --env local`` run of the scenario project with ``where``'s package: its phases (seconds from
    the process's start)."""
    stamps = project / "stamps.jsonl"
    stamps.unlink(missing_ok=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", str(project), "--env", "local", "-q", "-p",
                           "no:cacheprovider", "-p", "no:randomly", "-p", "no:hypothesispytest",
                           "--rootdir", str(project)],
                          cwd=project, env={**_env(where), "STARTUP_STAMPS": str(stamps)}, capture_output=True,
                          text=True, check=False)
    ended = time.perf_counter()
    if done.returncode != 0:
        raise RuntimeError(f"the scenario from {where} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    phases = {name: at - started for line in stamps.read_text().splitlines() for name, at in json.loads(line).items()}
    phases["exited"] = ended - started
    return phases


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


def ratio(this: Series, baseline: Series | None) -> str:
    if baseline is None or not baseline.median:
        return "-"
    value = this.median / baseline.median
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.3f}x"


def compared(label: str, this: Series, baseline: Series | None) -> list[object]:
    return [label, _cell(this), _cell(baseline) if baseline is not None else "-", ratio(this, baseline)]


def _cell(series: Series) -> str:
    """Seconds as ``Series`` prints them; counts as whole numbers."""
    if all(float(value).is_integer() and value >= 1000 for value in series.values):
        return f"{series.median:.0f} / {series.max:.0f}"
    return str(series)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each measurement (default 7)")
    parser.add_argument("--resets", type=int, default=9, help="reset() calls per emulator life (default 9)")
    parser.add_argument("--baseline", type=Path, help="a copy of another commit to measure the same from")
    args = parser.parse_args()
    header("Start-up")
    trees = {"this": ROOT}
    if args.baseline is not None:
        trees["baseline"] = args.baseline.resolve()
    headers_of = ["this tree, median / max", "baseline, median / max", "this / baseline"]

    pytest = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "deployments/"]
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "pytest --collect-only deployments/ -p no:ecsdeploy": [*pytest, "-p", "no:ecsdeploy", "-W",
                                                               "ignore::pytest.PytestUnknownMarkWarning"],
        "pytest --collect-only deployments/ (plugin, no --env)": pytest,
        "pytest --collect-only deployments/ --env local": [*pytest, "--env", "local"],
    }
    collect = {(tree, name): Series() for tree in trees for name in commands}
    for _ in range(args.runs):  # the trees and commands interleaved, so that a change in the load meets each alike
        for name, command in commands.items():
            for tree, where in trees.items():
                collect[(tree, name)].add(timed(command, where))
    if "baseline" in trees:
        print(table(["command (wall s)", *headers_of],
                    [compared(name, collect[("this", name)], collect[("baseline", name)]) for name in commands]))
    else:
        bare = collect[("this", "pytest --collect-only deployments/ -p no:ecsdeploy")]
        print(table(["command", "wall (s), median / max", "vs pytest without the plugin"],
                    [(name, collect[("this", name)], ratio(collect[("this", name)], bare) if "pytest" in name else "-")
                     for name in commands]))

    kinds = ("empty", "seeded")
    lives = {(tree, kind): {phase: Series() for phase in LIFE_PHASES} for tree in trees for kind in kinds}
    for _ in range(args.runs):
        for kind in kinds:
            for tree, where in trees.items():
                for phase, value in life(kind, where, args.resets).items():
                    lives[(tree, kind)][phase].add(value)
    for kind in kinds:
        print()
        print(table([f"LocalAWS, {kind}, fresh process", *headers_of],
                    [compared(label, lives[("this", kind)][phase], lives.get(("baseline", kind), {}).get(phase))
                     for phase, label in LIFE_PHASES.items()]))

    runs = {tree: {phase: Series() for phase in SCENARIO_PHASES} for tree in trees}
    with tempfile.TemporaryDirectory() as tmp:
        project = write_scenario(Path(tmp))
        for _ in range(args.runs):
            for tree, where in trees.items():
                for phase, value in scenario(project, where).items():
                    runs[tree][phase].add(value)
    print()
    print(table(["pytest --env local, one scenario's first ECS answer (s from the process's start)", *headers_of],
                [compared(phase, runs["this"][phase], runs.get("baseline", {}).get(phase))
                 for phase in SCENARIO_PHASES]))

    cli = Series()
    for _ in range(args.runs):
        cli.add(cli_first_answer())
    print(f"\necsdeploy-emulator --port 0 --runner simulated, process start to first ECS answer (this tree): {cli} s")
    print(f"\nseconds, median / max of {args.runs} runs ({args.resets} resets each); times of LocalAWS are counted "
          "from before its import.")


if __name__ == "__main__":
    main()
