"""The repository's own test settings: pytester for plugin tests, which modules outlive a pytester test, and when
the Docker tests run.

A test marked ``docker`` needs a Docker engine, the ``docker`` command, the registry binary and busybox. Where one
is missing it is skipped with the reason, unless ``ECSDEPLOY_REQUIRE_DOCKER=1``: CI sets it, so a broken Docker
setup fails the run there instead of hiding behind skips.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest
from _pytest import pytester

pytest_plugins = ["pytester"]

#: Where installed libraries and this project's package live: modules from there are imported once per process.
_LIBRARIES = tuple(str(Path(p).resolve()) for p in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
_PACKAGE = str(Path(__file__).resolve().parent / "pytest_ecsdeploy")


def _imported_once(name: str) -> bool:
    """Whether module ``name`` belongs to an installed library or to pytest_ecsdeploy (not to a pytester test's
    own files)."""
    path = getattr(sys.modules.get(name), "__file__", None)
    return path is not None and str(Path(path).resolve()).startswith((*_LIBRARIES, _PACKAGE))


_snapshot_init = pytester.SysModulesSnapshot.__init__


def _snapshot_keeping_libraries(self: pytester.SysModulesSnapshot,
                                preserve: Callable[[str], bool] | None = None) -> None:
    # pytester drops every module a test imported when the test ends, so that the next one imports its own test
    # files afresh. A test that starts the embedded local AWS in this process imports moto (and moto imports
    # more on its first requests); dropping those while werkzeug, botocore and moto's registries still hold their
    # classes makes the next import a second copy that no longer catches its own exceptions: every moto error
    # then answers 500 for the rest of the worker. Libraries are kept, as pytester keeps zope for the same reason.
    _snapshot_init(self, lambda name: (preserve is not None and preserve(name)) or _imported_once(name))


pytester.SysModulesSnapshot.__init__ = _snapshot_keeping_libraries  # type: ignore[method-assign]
# moto's EC2 backend builds its 1,301 default AMIs (each with a snapshot and random ids, ~0.1-0.4 s of CPU) at every
# emulator start and reset. No test lists AMIs, and moto launches the seed's container instances without checking
# their image exists, so the suite goes without them; the scenario runs it starts in a subprocess inherit this.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    needing_docker = [item for item in items if item.get_closest_marker("docker") is not None]
    if not needing_docker or os.environ.get("ECSDEPLOY_REQUIRE_DOCKER") == "1":
        return
    missing = docker_missing()
    if missing is None:
        return
    skip = pytest.mark.skip(reason=f"Docker tests: {missing}")
    for item in needing_docker:
        item.add_marker(skip)


def docker_missing() -> str | None:
    """Why the Docker tests cannot run here, or None when they can."""
    if shutil.which("docker") is None:
        return "the docker command is not installed (Debian package docker.io)"
    from pytest_ecsdeploy.emulator.docker_backend import docker_unavailable_reason

    return docker_unavailable_reason()
