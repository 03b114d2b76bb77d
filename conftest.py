"""The repository's own test settings: pytester for plugin tests, and when the Docker tests run.

A test marked ``docker`` needs a Docker engine, the ``docker`` command, the registry binary and busybox. Where one
is missing it is skipped with the reason, unless ``ECSDEPLOY_REQUIRE_DOCKER=1``: CI sets it, so a broken Docker
setup fails the run there instead of hiding behind skips.
"""

from __future__ import annotations

import os
import shutil

import pytest

pytest_plugins = ["pytester"]

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
