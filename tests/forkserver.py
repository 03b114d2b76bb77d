"""A process that has imported pytest's and the plugin's libraries once and forks a ``python -m pytest`` run on
request: what a run costs in CPU is mostly those imports (about 0.5 s of its 0.8 s), and the suite makes over a
hundred runs.

Each run is still a process of its own: a child of this one that changes to the run's directory, takes the run's
environment, reads nothing from standard input, writes its standard output and error to the files it is given, and
then does exactly what ``python -m pytest ARGS`` does (``runpy``, ``sys.argv`` and ``sys.path[0]`` as the
interpreter sets them), exiting through the interpreter's own exit (atexit handlers, non-daemon threads joined).

Only third-party libraries and pytest's own modules are imported here, never a package that pytest loads as a
plugin from an entry point (the plugin under test among them): pytest rewrites the asserts of those as it imports
them, and one already imported would be run unrewritten, with a warning. What the interpreter reads from the
environment when it starts (``PYTHON*`` variables, the locale) is this process's: :class:`ForkServer` sends a run
whose environment differs there to a fresh interpreter instead.

The protocol, one JSON object a line: the request ``{"cwd", "env", "args", "stdout", "stderr"}`` on standard input,
answered by ``{"pid": N}`` when the run has started and ``{"status": N}`` when it has ended (a negative ``N`` is
the signal that ended it, as in :mod:`subprocess`). :class:`ForkServer` is the client, imported by the tests
(``from forkserver import ForkServer``); this file run as a script is the server.
"""

from __future__ import annotations

import json
import os
import pkgutil
import runpy
import select
import signal
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

# What a scenario run imports that is neither the plugin nor the scenario's own files.
PRELOAD = ("pytest", "_pytest._argcomplete", "boto3", "botocore.session", "botocore.client", "botocore.regions",
           "botocore.endpoint", "detect_secrets.core.secrets_collection", "detect_secrets.settings", "requests",
           "urllib3", "execnet", "faulthandler", "readline", "pygments.lexers.python", "pygments.formatters.terminal",
           "json", "http.client", "xml.etree.ElementTree", "concurrent.futures")


def plugin_packages() -> set[str]:
    """Top-level packages that pytest loads as plugins from entry points (and rewrites the asserts of)."""
    return {ep.value.split(":")[0].split(".")[0] for ep in entry_points(group="pytest11")}


def preload() -> None:
    import importlib

    from _pytest.config import default_plugins

    for name in PRELOAD:
        importlib.import_module(name)
    for name in default_plugins:  # pytest's own plugins, imported by every run's configuration
        importlib.import_module(f"_pytest.{name}")
    import detect_secrets.plugins

    for module in pkgutil.iter_modules(detect_secrets.plugins.__path__):  # what its plugin discovery imports
        importlib.import_module(f"detect_secrets.plugins.{module.name}")
    imported = plugin_packages() & {name.split(".")[0] for name in sys.modules}
    assert not imported, f"the fork server imported plugin packages {sorted(imported)}: their asserts would not be rewritten"


def run(request: dict[str, object]) -> None:
    """In the child: become ``python -m pytest ARGS`` in the request's directory and environment; never returns."""
    os.chdir(str(request["cwd"]))
    os.environ.clear()
    os.environ.update(request["env"])  # type: ignore[arg-type]
    for fd, path, flags in ((0, os.devnull, os.O_RDONLY), (1, request["stdout"], os.O_WRONLY),
                            (2, request["stderr"], os.O_WRONLY)):
        opened = os.open(str(path), flags)
        os.dup2(opened, fd)
        os.close(opened)
    sys.argv = ["-m", *request["args"]]  # type: ignore[misc]
    sys.path[0] = os.getcwd()  # what ``python -m`` puts first, where this file's folder was
    # Raises SystemExit with pytest's exit status, which ends this process as it ends ``python -m pytest``.
    runpy.run_module("pytest", run_name="__main__", alter_sys=True)
    sys.exit(0)


def serve() -> None:
    preload()
    sys.stdout.write(json.dumps({"ready": True}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            run(request)
        sys.stdout.write(json.dumps({"pid": pid}) + "\n")
        sys.stdout.flush()
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        sys.stdout.write(json.dumps({"status": code}) + "\n")
        sys.stdout.flush()


#: What the interpreter reads from the environment as it starts (flags, paths, hash seed, encodings).
STARTUP_VARIABLES = ("PYTHON", "LC_", "LANG")


def _startup(env: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in env.items() if key.startswith(STARTUP_VARIABLES)}


class ForkServer:
    """The client: ``run(command, cwd, env, timeout)`` is ``subprocess.run(command, cwd=cwd, env=env,
    capture_output=True, text=True, timeout=timeout)`` for ``command`` = ``python -m pytest ARGS``, the run forked
    from a server started in ``env`` (its output goes through files in ``folder``). Another command, or an
    environment the interpreter would start differently in, runs in a fresh interpreter."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self._folder = folder
        self._env = env
        self._process = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         env=env, cwd=folder)
        self._buffer = b""
        self._runs = 0
        ready = self._answer(time.monotonic() + 120)
        assert ready is not None, "the fork server did not start"

    def _answer(self, deadline: float) -> dict[str, Any] | None:
        """The server's next line, or None at ``deadline``."""
        assert self._process.stdout is not None
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._process.stdout], [], [], left)[0]:
                return None
            data = os.read(self._process.stdout.fileno(), 4096)
            if not data:
                raise RuntimeError(f"the fork server ended (exit {self._process.wait()})")
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)  # type: ignore[no-any-return]

    def run(self, command: list[str], cwd: Path, env: dict[str, str],
            timeout: float) -> subprocess.CompletedProcess[str]:
        if command[:3] != [sys.executable, "-m", "pytest"] or _startup(env) != _startup(self._env):
            return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        self._runs += 1
        out, err = self._folder / f"run-{self._runs}.out", self._folder / f"run-{self._runs}.err"
        out.touch()
        err.touch()
        request = {"cwd": str(cwd), "env": env, "args": command[3:], "stdout": str(out), "stderr": str(err)}
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(request).encode() + b"\n")
        self._process.stdin.flush()
        deadline = time.monotonic() + timeout
        started = self._answer(time.monotonic() + 60)
        assert started is not None, "the fork server did not start the run"
        try:
            ended = self._answer(deadline)
            if ended is None:
                os.kill(started["pid"], signal.SIGKILL)
                self._answer(time.monotonic() + 60)
                raise subprocess.TimeoutExpired(command, timeout, out.read_text(errors="replace"),
                                                err.read_text(errors="replace"))
            return subprocess.CompletedProcess(command, ended["status"], out.read_text(errors="replace"),
                                               err.read_text(errors="replace"))
        finally:
            out.unlink()
            err.unlink()

    def close(self) -> None:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.close()  # the server's loop ends
        self._process.wait(timeout=60)
        self._process.stdout.close()


if __name__ == "__main__":
    serve()
