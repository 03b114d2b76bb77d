"""pytest-ecsdeploy: deployments to Amazon ECS written as pytest scenario files."""

from __future__ import annotations

from .checks import Check
from .config import Environment, Service
from .errors import (
    AccountMismatch,
    ActionError,
    CheckFailed,
    ConfigError,
    EcsDeployError,
    NotSupported,
    RolloutFailed,
)

__version__ = "0.1.0"

__all__ = [
    "AccountMismatch",
    "ActionError",
    "Check",
    "CheckFailed",
    "ConfigError",
    "EcsDeployError",
    "Environment",
    "NotSupported",
    "RolloutFailed",
    "Service",
    "__version__",
]
