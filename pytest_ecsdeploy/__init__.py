"""pytest-ecsdeploy: deployments to Amazon ECS written as pytest scenario files."""

from __future__ import annotations

from .actions.deploy import Deploy
from .actions.ecr import Ecr, ImageRef
from .actions.service import EcsService, Rollout
from .actions.smoke import Smoke
from .actions.task import EcsTask, TaskResult
from .actions.taskdef import Revision, TaskDefinition
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
from .report.record import RunRecord, ServiceRecord

__version__ = "0.1.0"

__all__ = [
    "AccountMismatch",
    "ActionError",
    "Check",
    "CheckFailed",
    "ConfigError",
    "Deploy",
    "EcsDeployError",
    "EcsService",
    "EcsTask",
    "Ecr",
    "Environment",
    "ImageRef",
    "NotSupported",
    "Revision",
    "Rollout",
    "RolloutFailed",
    "RunRecord",
    "Service",
    "ServiceRecord",
    "Smoke",
    "TaskDefinition",
    "TaskResult",
    "__version__",
]
