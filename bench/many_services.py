"""Many services at once: 1, 10 and 50 services deployed in one run, against one service.

The emulator runs as its own process (``ecsdeploy-emulator --seed``, N services of 2 tasks, each steady on
app:1.0.0), so the deployer's memory is its own; both share the machine's cores. Two ways to deploy N services:

- **threads**: one process, one ``Run`` (one set of boto3 clients), ``deploy()`` of every service in its own
  thread at the same time: what the library can do (and the same without the throttling model below);
- **xdist**: ``pytest deployments/ -n 2 --env bench`` on N scenario files, what a user types; each worker deploys
  its share one after another.

Throttling: the emulator never throttles, so the deployer's session carries a model of ECS's account-wide token
buckets (``before-send``; see README): read actions 50 burst / 20 per second per category, RegisterTaskDefinition
20 burst / 1 per second. Requests over the budget get ThrottlingException, which botocore's retries and
the watch must absorb; "failed" counts deployments that did not complete. Under xdist each of the N workers
(``--workers N``, default 2) holds 1/N of every bucket. Peak memory is ``getrusage().ru_maxrss`` of the deploying
process (threads) or of the largest pytest process (xdist: controller or worker), and the emulator's VmHWM.

    .venv/bin/python bench/many_services.py [--sizes 1 10 50] [--modes threads threads-adaptive xdist]
        [--workers N] [--baseline DIR]

``--baseline DIR`` (a copy of another commit: ``git archive HEAD~1 | tar -x -C DIR``) measures every mode and size
with that copy's package too (this script's child, ``PYTHONPATH=DIR``), right after this one's.

``threads-adaptive`` is the threads mode with the clients' retries as they were before (botocore's adaptive mode).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import ROOT, deploy, header, load_run, seed, seed_toml, start_emulator_process, table, write_project

TAGS = ("1.0.0", "2.0.0")
WORKERS = 2  # xdist workers unless --workers says otherwise
# category -> (burst, refill per second, ECS operations); modelled on the ECS API throttling documentation.
BUCKETS: dict[str, tuple[float, float, frozenset[str]]] = {
    "cluster read": (50, 20, frozenset({"DescribeClusters", "ListClusters"})),
    "service read": (50, 20, frozenset({"DescribeServices", "ListServices"})),
    "task read": (50, 20, frozenset({"DescribeTasks", "ListTasks"})),
    "task definition read": (50, 20, frozenset({"DescribeTaskDefinition", "ListTaskDefinitions"})),
    "RegisterTaskDefinition": (20, 1, frozenset({"RegisterTaskDefinition"})),
}

# The same model as a conftest for the xdist runs (each worker process holds 1/WORKERS of every bucket).
THROTTLE_MODULE = r'''
import json
import os
import threading
import time
from pathlib import Path

import pytest
from botocore.awsrequest import AWSResponse

BUCKETS = {buckets!r}
SHARE = {share!r}
HERE = Path(__file__).parent


class Raw:
    def __init__(self, body):
        self.body = body

    def stream(self, **kwargs):
        yield self.body


class Model:
    def __init__(self, share):
        self.lock = threading.Lock()
        self.buckets = {{name: [burst * share, burst * share, rate * share, time.monotonic(), set(ops), name]
                        for name, (burst, rate, ops) in BUCKETS.items()}}
        self.throttled = 0
        self.by_bucket = {{}}
        self.calls = 0

    def __call__(self, request, event_name, **kwargs):
        _, service, operation = event_name.split(".", 2)
        with self.lock:
            self.calls += 1
            for bucket in self.buckets.values():
                if service != "ecs" or operation not in bucket[4]:
                    continue
                now = time.monotonic()
                bucket[0] = min(bucket[1], bucket[0] + (now - bucket[3]) * bucket[2])
                bucket[3] = now
                if bucket[0] >= 1:
                    bucket[0] -= 1
                    return None
                self.throttled += 1
                self.by_bucket[bucket[5]] = self.by_bucket.get(bucket[5], 0) + 1
                body = json.dumps({{"__type": "ThrottlingException", "message": "Rate exceeded"}}).encode()
                return AWSResponse(request.url, 400, {{"Content-Type": "application/x-amz-json-1.1"}}, Raw(body))
        return None


MODEL = Model(SHARE)


@pytest.fixture(scope="session", autouse=True)
def ecs_throttling(aws):
    aws.session.events.register("before-send", MODEL)
    yield
    name = os.environ.get("PYTEST_XDIST_WORKER", "main")
    (HERE / f"throttled-{{name}}.json").write_text(json.dumps({{"throttled": MODEL.throttled, "calls": MODEL.calls,
                                                                  "by_bucket": MODEL.by_bucket}}))
'''


def throttle_model(share: float) -> Any:
    namespace: dict[str, Any] = {"__file__": __file__}
    exec(THROTTLE_MODULE.format(buckets={k: (b, r, sorted(o)) for k, (b, r, o) in BUCKETS.items()},
                                share=share), namespace)
    return namespace["MODEL"]


def names(count: int) -> list[str]:
    return [f"svc{n:02d}" for n in range(count)]


def adaptive_retries() -> None:
    """Clients made from now on retry as they did before: botocore's adaptive mode (a client-side rate limiter
    per client, slowed by any throttled call)."""
    from botocore.config import Config

    from pytest_ecsdeploy import aws

    standard = aws.client_config
    aws.client_config = lambda: standard().merge(Config(retries={"mode": "adaptive",  # type: ignore[assignment]
                                                                 "max_attempts": aws.MAX_ATTEMPTS}))


def child_threads(project: Path, endpoint: str, count: int, *, throttling: bool = True,
                  adaptive: bool = False) -> dict[str, Any]:
    if adaptive:
        adaptive_retries()
    run = load_run(project / "deployments" / "ecsdeploy.toml", endpoint, TAGS[1])
    model = throttle_model(1.0 if throttling else 1e9)
    run.aws().session.events.register("before-send", model)
    results: dict[str, str] = {}

    def one(service: str) -> None:
        done = deploy(run, service, time.time)
        results[service] = "completed" if done.rollout is not None and done.rollout.is_completed else str(done.error)

    threads = [threading.Thread(target=one, args=(name,)) for name in names(count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    failed = {k: v for k, v in results.items() if v != "completed"}
    return {"wall": wall, "completed": count - len(failed), "failed": failed, "throttled": model.throttled,
            "by_bucket": model.by_bucket, "calls": model.calls,
            "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_xdist(project: Path, endpoint: str, count: int, workers: int = WORKERS) -> dict[str, Any]:
    deployments = project / "deployments"
    (deployments / "conftest.py").write_text(THROTTLE_MODULE.format(
        buckets={k: (b, r, sorted(o)) for k, (b, r, o) in BUCKETS.items()}, share=1 / workers))
    for name in names(count):
        (deployments / f"test_{name}.py").write_text(
            f'import pytest\n\npytestmark = pytest.mark.ecs_service("{name}")\n\n\ndef test_deploy(deploy):\n'
            "    deploy()\n")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "deployments", "-n", str(workers), "--env", "bench", "--image-tag",
         TAGS[1], "-p", "no:cacheprovider", "-q"],
        cwd=project, env=dict(os.environ, BENCH_ENDPOINT=endpoint), capture_output=True, text=True, check=False,
    )
    wall = time.monotonic() - started
    passed = re.search(r"(\d+) passed", done.stdout)
    counts = [json.loads(p.read_text()) for p in deployments.glob("throttled-*.json")]
    completed = int(passed.group(1)) if passed else 0
    return {"wall": wall, "completed": completed,
            "failed": {} if completed == count else {"pytest": done.stdout[-2000:]},
            "throttled": sum(c["throttled"] for c in counts), "calls": sum(c["calls"] for c in counts),
            "by_bucket": {name: sum(c.get("by_bucket", {}).get(name, 0) for c in counts) for name in BUCKETS},
            "maxrss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


MODES = {
    "threads": child_threads,
    "threads-unthrottled": lambda project, endpoint, count: child_threads(project, endpoint, count, throttling=False),
    "threads-adaptive": lambda project, endpoint, count: child_threads(project, endpoint, count, adaptive=True),
    "xdist": child_xdist,
}
LABELS = {"threads": "threads", "threads-unthrottled": "threads, no throttling model",
          "threads-adaptive": "threads, adaptive retries (as before)", "xdist": f"xdist -n {WORKERS}"}
#: RegisterTaskDefinition's bucket: the floor of N services' registrations is (N - burst) / rate seconds
REGISTER_BURST, REGISTER_RATE = BUCKETS["RegisterTaskDefinition"][:2]


def measure(mode: str, count: int, code: Path = ROOT, workers: int = WORKERS) -> dict[str, Any]:
    """Start an emulator with ``count`` services, run the ``mode`` child against it with the package of ``code`` (a
    copy of the repository: this one, or ``--baseline``), return what it measured."""
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        config = write_project(project, names(count))
        seed_file = config.parent / "seed.toml"
        seed_file.write_text(seed_toml(seed(names(count), TAGS)))
        emulator, endpoint = start_emulator_process(seed_file)
        try:
            done = subprocess.run(
                [sys.executable, __file__, "--child", mode, "--count", str(count), "--project", str(project),
                 "--endpoint", endpoint, "--workers", str(workers)],
                capture_output=True, text=True, check=False, timeout=900,
                env={**os.environ, "PYTHONPATH": str(code)},
            )
            if done.returncode != 0:
                raise RuntimeError(f"the {mode} child failed:\n{done.stdout}\n{done.stderr}")
            result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
            status = Path(f"/proc/{emulator.pid}/status")
            hwm = re.search(r"VmHWM:\s+(\d+) kB", status.read_text()) if status.exists() else None
            result["emulator_mib"] = int(hwm.group(1)) / 1024 if hwm else float("nan")
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50], help="services (threads modes)")
    parser.add_argument("--xdist-sizes", type=int, nargs="+", default=[1, 10],
                        help="services for the xdist mode (default 1 10; 50 adds about three minutes)")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--workers", type=int, default=WORKERS,
                        help=f"xdist workers of the xdist mode (default {WORKERS}); the throttling model splits every "
                             "bucket between them")
    parser.add_argument("--baseline", type=Path,
                        help="a copy of another commit (git archive): each measurement is made with its package too, "
                             "right after this one's, against the same kind of emulator")
    parser.add_argument("--child", choices=list(MODES), help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "xdist":
            print(json.dumps(child_xdist(args.project, args.endpoint, args.count, args.workers)))
        else:
            print(json.dumps(MODES[args.child](args.project, args.endpoint, args.count)))
        return
    header("Many services at once")
    codes = {"ours": ROOT, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    rows = []
    for mode in args.modes:
        one: dict[str, float] = {}
        for count in args.xdist_sizes if mode == "xdist" else args.sizes:
            results = {kind: measure(mode, count, code, args.workers) for kind, code in codes.items()}
            for kind, result in results.items():
                one[kind] = result["wall"] if count == 1 else one.get(kind, float("nan"))
                floor = max(0.0, count - REGISTER_BURST) / REGISTER_RATE + one[kind]
                throttled = ", ".join(f"{name} {n}" for name, n in sorted(result.get("by_bucket", {}).items()) if n)
                versus = f"{result['wall'] / results['baseline']['wall']:.2f}x" if "baseline" in results else "-"
                label = f"xdist -n {args.workers}" if mode == "xdist" else LABELS[mode]
                rows.append((label + (" (baseline)" if kind == "baseline" else ""), count,
                             f"{result['wall']:.1f}", versus,
                             f"{floor:.1f}" if mode != "threads-unthrottled" else "-",
                             f"{result['wall'] / floor:.2f}x" if mode != "threads-unthrottled" else "-",
                             f"{result['completed']}/{count}", len(result["failed"]),
                             f"{result['throttled']}" + (f" ({throttled})" if throttled else ""),
                             result["calls"], f"{result['maxrss_mib']:.0f}", f"{result['emulator_mib']:.0f}"))
                print(f"  {mode} {count} {kind}: {result['wall']:.1f} s, {result['completed']}/{count} completed, "
                      f"{result['throttled']} throttled of {result['calls']} calls ({throttled or 'none'})", flush=True)
                for service, why in sorted(result["failed"].items())[:3]:
                    print(f"    failed {service}: {why[:300]}", flush=True)
    print()
    print(table(["mode", "services", "wall (s)", "vs baseline", "floor (s)", "vs floor", "completed", "failed",
                 "throttled (by bucket)", "API calls", "deployer peak RSS (MiB)", "emulator peak RSS (MiB)"], rows))
    print("\nthrottled: requests the ECS token-bucket model answered with ThrottlingException (retried)."
          "\nfloor: RegisterTaskDefinition's bucket lets 20 through at once, then one a second, plus the 1-service "
          "wall of the same mode and code (one rollout); a mode's sizes must start with 1 for it."
          "\nbaseline: the same child and emulator with the package of --baseline, measured right after ours.")


if __name__ == "__main__":
    main()
