"""Extension hooks of pytest-ecsdeploy, registered through ``pytest_addhooks``.

Implement them in a ``conftest.py`` beside your scenarios (or in a plugin)::

    def pytest_ecsdeploy_render_task_definition(service, environment, task_definition):
        task_definition.setdefault("tags", []).append({"key": "deployed-by", "value": "pytest-ecsdeploy"})

    def pytest_ecsdeploy_deployed(record):
        notify_chat(f"{record.service} is live on {record.revision_after}")
"""

from __future__ import annotations

from typing import Any


def pytest_ecsdeploy_render_task_definition(service: Any, environment: Any, task_definition: dict[str, Any]) -> None:
    """Change the RegisterTaskDefinition payload before it is validated and registered.

    ``task_definition`` is the payload dict (RegisterTaskDefinition's request shape); change it in place, for
    example add tags or a sidecar. ``service`` and ``environment`` are the resolved
    :class:`~pytest_ecsdeploy.config.Service` and :class:`~pytest_ecsdeploy.config.Environment`.
    """


def pytest_ecsdeploy_pre_checks(service: Any, environment: Any, action: str) -> list[tuple[str, bool, str]] | None:
    """Return extra checks to run before ``action`` writes (``"ecs_service.deploy"``, ``"task_definition.register"``…).

    Each check is ``(name, ok, detail)``; a check with ``ok`` false fails the step before anything changes::

        def pytest_ecsdeploy_pre_checks(service, environment, action):
            if action == "ecs_service.deploy":
                return [("change window open", in_change_window(), "Mon-Thu 09:00-16:00 UTC")]
    """


def pytest_ecsdeploy_post_checks(service: Any, environment: Any, action: str) -> list[tuple[str, bool, str]] | None:
    """Return extra checks to run after ``action`` completed; a failing one fails the step (and rolls back)."""


def pytest_ecsdeploy_deployed(record: Any) -> None:
    """Called once a service is deployed and its post-checks passed; ``record`` is its ServiceRecord."""


def pytest_ecsdeploy_rolled_back(record: Any) -> None:
    """Called after a failed service was rolled back (``record.rollback`` says how the rollback ended)."""

