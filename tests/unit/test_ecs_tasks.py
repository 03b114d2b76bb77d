"""The task lifecycle of the rollout engine (emulator/ecs/tasks.py): how a task's health is read from its containers."""

from __future__ import annotations

from types import SimpleNamespace

from pytest_ecsdeploy.emulator.ecs.tasks import task_health


def test_task_health_counts_only_containers_with_a_health_check() -> None:
    def container(essential: bool, check: bool, status: str) -> SimpleNamespace:
        spec = SimpleNamespace(essential=essential, health_check={"command": ["CMD", "true"]} if check else None)
        return SimpleNamespace(spec=spec, health_status=status)

    app_ok = container(True, True, "HEALTHY")
    router = container(True, False, "UNKNOWN")  # a FireLens router without a health check
    assert task_health([app_ok, router]) == "HEALTHY"
    assert task_health([container(True, True, "UNHEALTHY"), router]) == "UNHEALTHY"
    assert task_health([container(True, True, "UNKNOWN"), app_ok]) == "UNKNOWN"
    assert task_health([router]) == "UNKNOWN"
    # Non-essential containers count only when no essential container has a health check.
    assert task_health([router, container(False, True, "UNHEALTHY")]) == "UNHEALTHY"
    assert task_health([app_ok, container(False, True, "UNHEALTHY")]) == "HEALTHY"
