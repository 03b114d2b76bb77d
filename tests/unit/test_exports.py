"""The public surface is curated: a name added to or dropped from pytest_ecsdeploy is a decision, not drift."""

from __future__ import annotations

import pytest_ecsdeploy

PUBLIC = {
    "AccountMismatch", "ActionError", "Check", "CheckFailed", "ConfigError", "Deploy", "EcsDeployError",
    "EcsService", "EcsTask", "Ecr", "Environment", "ImageRef", "NotSupported", "Revision", "Rollout",
    "RolloutFailed", "RunRecord", "Service", "ServiceRecord", "Smoke", "TaskDefinition", "TaskResult",
    "__version__",
}


def test_exports_are_the_documented_ones() -> None:
    assert set(pytest_ecsdeploy.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(pytest_ecsdeploy, name) is not None


def test_every_public_class_has_a_docstring() -> None:
    for name in PUBLIC - {"__version__"}:
        assert (getattr(pytest_ecsdeploy, name).__doc__ or "").strip(), name
