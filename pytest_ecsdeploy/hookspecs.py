"""Extension hooks of pytest-ecsdeploy, registered through ``pytest_addhooks``.

Implement them in a ``conftest.py`` beside your scenarios (or in a plugin); every implementation is called, and
the checks of every implementation of the two check hooks are run (none of these hooks stops at a first result)::

    def pytest_ecsdeploy_render_task_definition(service, environment, task_definition):
        task_definition.setdefault("tags", []).append({"key": "deployed-by", "value": "pytest-ecsdeploy"})

    def pytest_ecsdeploy_deployed(record):
        notify_chat(f"{record.service} is live on {record.revision_after}")
"""

from __future__ import annotations

from typing import Any

import pytest

from .config import Environment, Service
from .report.record import ServiceRecord


@pytest.hookspec
def pytest_ecsdeploy_render_task_definition(
    service: Service, environment: Environment, task_definition: dict[str, Any]
) -> None:
    """Change the RegisterTaskDefinition payload before it is validated and registered.

    ``task_definition`` is the payload dict (RegisterTaskDefinition's request shape); change it in place, for
    example add tags or a sidecar. ``service`` and ``environment`` are the resolved
    :class:`~pytest_ecsdeploy.config.Service` and :class:`~pytest_ecsdeploy.config.Environment`.
    """


@pytest.hookspec
def pytest_ecsdeploy_pre_checks(
    service: Service, environment: Environment, action: str
) -> list[tuple[str, bool, str]] | None:
    """Return extra checks to run before ``action`` writes: ``"ecs_service.deploy"`` or ``"ecs_task.run"``.

    Each check is ``(name, ok, detail)``; a check with ``ok`` false fails the step before anything changes::

        def pytest_ecsdeploy_pre_checks(service, environment, action):
            if action == "ecs_service.deploy":
                return [("change window open", in_change_window(), "Mon-Thu 09:00-16:00 UTC")]
    """


@pytest.hookspec
def pytest_ecsdeploy_post_checks(
    service: Service, environment: Environment, action: str
) -> list[tuple[str, bool, str]] | None:
    """Return extra checks to run after ``action`` completed; a failing one fails the step.

    ``action`` is ``"ecs_service.deploy"`` (a failing check fails the deployment, which is then rolled back
    unless ``--no-rollback``), ``"ecs_service.rollback"`` (once our rollback deployment completed) or
    ``"ecs_task.run"``.
    """


@pytest.hookspec
def pytest_ecsdeploy_deployed(record: ServiceRecord) -> None:
    """Called once a service is deployed and its post-checks passed; ``record`` is its ServiceRecord."""


@pytest.hookspec
def pytest_ecsdeploy_rolled_back(record: ServiceRecord) -> None:
    """Called after a failed service was rolled back (``record.rollback`` says how the rollback ended)."""

