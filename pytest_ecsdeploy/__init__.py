"""pytest-ecsdeploy: deployments to Amazon ECS written as pytest scenario files."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    AccountMismatch,
    ActionError,
    CheckFailed,
    ConfigError,
    EcsDeployError,
    NotSupported,
    RolloutFailed,
)

if TYPE_CHECKING:
    from .actions.deploy import Deploy
    from .actions.ecr import Ecr, ImageRef
    from .actions.service import EcsService, Rollout
    from .actions.smoke import Smoke
    from .actions.task import EcsTask, TaskResult
    from .actions.taskdef import Revision, TaskDefinition
    from .checks import Check
    from .config import Environment, Service
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

#: The module of each public class, imported at the class's first use: importing a submodule alone (the embedded
#: local AWS, whose cold start counts, or its command) then does not import every action module and boto3.
_LAZY = {
    "Deploy": ".actions.deploy", "Ecr": ".actions.ecr", "ImageRef": ".actions.ecr", "EcsService": ".actions.service",
    "Rollout": ".actions.service", "Smoke": ".actions.smoke", "EcsTask": ".actions.task",
    "TaskResult": ".actions.task", "Revision": ".actions.taskdef", "TaskDefinition": ".actions.taskdef",
    "Check": ".checks", "Environment": ".config", "Service": ".config", "RunRecord": ".report.record",
    "ServiceRecord": ".report.record",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
