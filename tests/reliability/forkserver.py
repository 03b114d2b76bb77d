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
the signal that ended it, as in :mod:`subprocess`).
"""

from __future__ import annotations

import json
import os
import pkgutil
import runpy
import sys
from importlib.metadata import entry_points

# What a scenario run imports that is neither the plugin nor the scenario's own files.
PRELOAD = ("pytest", "_pytest._argcomplete", "boto3", "botocore.session", "botocore.client", "botocore.regions",
           "botocore.endpoint", "detect_secrets.core.secrets_collection", "detect_secrets.settings", "requests",
           "urllib3", "execnet", "faulthandler", "readline", "pygments.lexers.python", "pygments.formatters.terminal",
           "tomllib", "json", "http.client", "xml.etree.ElementTree", "concurrent.futures")


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


if __name__ == "__main__":
    serve()
