"""pytest-ecsdeploy: deployments to Amazon ECS written as pytest scenario files."""

from __future__ import annotations

from .checks import Check
from .config import Environment, Service
from .deploy import Deploy
from .ecr import Ecr, ImageRef
from .errors import (
    AccountMismatch,
    ActionError,
    CheckFailed,
    ConfigError,
    EcsDeployError,
    NotSupported,
    RolloutFailed,
)
from .record import RunRecord, ServiceRecord
from .service import EcsService, Rollout
from .smoke import Smoke
from .task import EcsTask, TaskResult
from .taskdef import Revision, TaskDefinition

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
