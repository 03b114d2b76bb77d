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
