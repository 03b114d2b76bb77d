"""moto's own ECS tests as a check of the embedded local AWS: what passes against ``moto_server`` passes against
``ecsdeploy-emulator``.

The tests are those of the installed moto version (``tests/test_ecs`` of its sdist on PyPI, with the
``tests/*.py`` helpers they import), downloaded once and checked against PyPI's SHA-256, then kept under
``.cache/moto-ecs-suite/``. They run in moto's server mode (``TEST_SERVER_MODE=true``,
``TEST_SERVER_MODE_ENDPOINT``; each test's ``mock_aws`` then resets the server through ``POST /moto-api/reset``),
once against plain ``moto_server`` (the baseline) and once against ``ecsdeploy-emulator --runner simulated``, each
started on a free port.

The check fails (exit 1) when a test that passes against moto_server does not pass against the emulator, unless
``scripts/moto_ecs_exceptions.toml`` lists it with its reason (the test asserts one of moto's shortcuts rather
than ECS's behaviour); it fails too on an exception that no longer needs to be one (it passes against the emulator,
or does not pass against moto_server), so the list stays honest. Exit 2: the tests could not be fetched or a
server could not start.

    python scripts/moto_ecs_suite.py [-k EXPRESSION] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "moto-ecs-suite"
EXCEPTIONS = Path(__file__).resolve().parent / "moto_ecs_exceptions.toml"
BIN = Path(sys.executable).parent
READY_TIMEOUT = 60.0  # seconds for a server to answer its first request
SUITE_TIMEOUT = 1800.0  # seconds for one run of the tests


def sdist(moto_version: str) -> Path:
    """The sdist of moto ``moto_version``, from the cache or PyPI (its SHA-256 checked against PyPI's)."""
    target = CACHE / f"moto-{moto_version}.tar.gz"
    if target.exists():
        return target
    # The simple index (PEP 503) is what every PyPI mirror and proxy serves; its links carry the file's SHA-256.
    name = f"moto-{moto_version}.tar.gz"
    with urllib.request.urlopen("https://pypi.org/simple/moto/", timeout=60) as answer:
        index = answer.read().decode()
    found = re.search(r'href="([^"#]+/' + re.escape(name) + r')#sha256=([0-9a-f]{64})"', index)
    if found is None:
        raise SystemExit(f"moto {moto_version} has no sdist on PyPI.")
    url, digest = found.groups()
    with urllib.request.urlopen(url, timeout=300) as answer:
        data = answer.read()
    if hashlib.sha256(data).hexdigest() != digest:
        raise SystemExit(f"the sdist of moto {moto_version} does not match PyPI's SHA-256.")
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(target)
    return target


def extract(archive: Path, moto_version: str) -> Path:
    """``tests/*.py`` and ``tests/test_ecs/`` of the sdist, extracted once; returns the folder holding ``tests``."""
    folder = CACHE / f"moto-{moto_version}"
    if (folder / "tests" / "test_ecs").is_dir():
        return folder
    prefix = f"moto-{moto_version}/tests/"
    with tarfile.open(archive) as tar:
        members = [
            m for m in tar.getmembers()
            if m.isfile() and m.name.startswith(prefix)
            and ("/" not in m.name[len(prefix):] or m.name.startswith(prefix + "test_ecs/"))
        ]
        for member in members:
            member.name = member.name[len(f"moto-{moto_version}/"):]
        tar.extractall(folder, members=members, filter="data")
    # The suite's own pytest configuration: none of this repository's (its conftest, options and plugins).
    (folder / "pytest.ini").write_text("[pytest]\nmarkers =\n    requires_docker\n")
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(name: str, command: list[str], port: int, log: Path) -> Iterator[str]:
    """Run ``command`` (a server on ``port``) until the block ends; yields its URL once it answers HTTP."""
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            deadline = time.monotonic() + READY_TIMEOUT
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"{name} exited with {process.returncode} before answering; see {log}.")
                try:
                    urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"{name} did not answer within {READY_TIMEOUT:.0f} s; see {log}.") from None
                    time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def run_suite(folder: Path, url: str, report: Path, selection: list[str]) -> dict[str, str]:
    """Run ``tests/test_ecs`` in server mode against ``url``: test id -> passed, failed, error or skipped."""
    env = dict(os.environ, TEST_SERVER_MODE="true", TEST_SERVER_MODE_ENDPOINT=url, AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1", PYTHONPATH=str(folder))
    for variable in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(variable, None)
    command = [sys.executable, "-m", "pytest", "tests/test_ecs", "-c", "pytest.ini", "--rootdir", str(folder),
               "-p", "no:cacheprovider", "-p", "no:ecsdeploy", "-p", "no:xdist", "-q", "--no-header",
               f"--junitxml={report}", *selection]
    subprocess.run(command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=SUITE_TIMEOUT, check=False)
    return outcomes(report)


def outcomes(report: Path) -> dict[str, str]:
    """Test id (``tests/test_ecs/<file>.py::<name>``) -> outcome, from a JUnit XML report."""
    result: dict[str, str] = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        module = case.get("classname", "")
        test_id = f"{module.replace('.', '/')}.py::{case.get('name')}"
        kinds = {child.tag for child in case}
        result[test_id] = next((k for k in ("failure", "error", "skipped") if k in kinds), "passed").replace(
            "failure", "failed")
    return result


def verdict(baseline: dict[str, str], emulator: dict[str, str], exceptions: dict[str, str], *,
            everything: bool) -> tuple[list[str], list[str], list[str]]:
    """(regressions: the tests passed against moto_server and not against the emulator; the unexplained ones, not
    in ``exceptions``; the stale exceptions: listed but not a regression, among the tests run unless
    ``everything`` ran), each sorted."""
    regressions = sorted(t for t, o in baseline.items() if o == "passed" and emulator.get(t) != "passed")
    unexplained = [t for t in regressions if t not in exceptions]
    stale = sorted(t for t in exceptions if t not in regressions and (everything or t in baseline))
    return regressions, unexplained, stale


def read_exceptions() -> dict[str, str]:
    """Test id -> the reason it may fail against the emulator, from ``moto_ecs_exceptions.toml``."""
    sys.path.insert(0, str(ROOT))
    from pytest_ecsdeploy.tomlfile import read_toml

    data = read_toml(EXCEPTIONS, missing="create it with an empty [tests] table", kind="a TOML file")
    tests = data.get("tests", {})
    if not isinstance(tests, dict) or not all(isinstance(v, str) and v for v in tests.values()):
        raise SystemExit(f"{EXCEPTIONS}: [tests] must map each test id to its reason, a non-empty string.")
    return dict(tests)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", dest="expression", help="run only the tests matching this pytest -k expression")
    parser.add_argument("--json", type=Path, help="write the outcomes of both runs to this file")
    args = parser.parse_args(argv)
    moto_version = version("moto")
    folder = extract(sdist(moto_version), moto_version)
    selection = ["-k", args.expression] if args.expression else []
    runs: dict[str, dict[str, str]] = {}
    commands = {
        "moto_server": lambda port: [str(BIN / "moto_server"), "-p", str(port)],
        # This checkout's emulator (``-m`` from the repository root), whatever the environment has installed.
        "ecsdeploy-emulator": lambda port: [sys.executable, "-m", "pytest_ecsdeploy.emulator.cli", "--port",
                                            str(port), "--runner", "simulated"],
    }
    for name, command in commands.items():
        port = free_port()
        started = time.monotonic()
        with server(name, command(port), port, CACHE / f"{name}.log") as url:
            runs[name] = run_suite(folder, url, CACHE / f"{name}.xml", selection)
        passed = sum(outcome == "passed" for outcome in runs[name].values())
        print(f"{name}: {passed} passed of {len(runs[name])} (moto {moto_version}, "
              f"{time.monotonic() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1, sort_keys=True))
    baseline, emulator = runs["moto_server"], runs["ecsdeploy-emulator"]
    exceptions = read_exceptions()
    regressions, unexplained, stale = verdict(baseline, emulator, exceptions, everything=not args.expression)
    for test_id in regressions:
        mark = "excepted" if test_id in exceptions else "FAILED"
        print(f"  {mark}: {test_id} ({emulator.get(test_id, 'not run')})")
    for test_id in stale:
        print(f"  STALE exception: {test_id} (moto_server: {baseline.get(test_id, 'not run')}, "
              f"emulator: {emulator.get(test_id, 'not run')})")
    print(f"{len(unexplained)} unexplained failures, {len(regressions) - len(unexplained)} listed exceptions, "
          f"{len(stale)} stale exceptions.")
    return 1 if unexplained or stale else 0


if __name__ == "__main__":
    sys.exit(main())
