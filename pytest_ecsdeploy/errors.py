"""The exceptions pytest-ecsdeploy raises, each carrying its context.

    EcsDeployError                  base: every message is one sentence a user can act on
     ├── ConfigError                ecsdeploy.toml, a task-definition template, an option or a seed table is wrong
     ├── AccountMismatch            the credentials belong to another account than the environment's
     ├── CheckFailed                a pre- or post-check failed, built-in or from a hook (carries the Check)
     ├── ActionError                an action could not do what it was asked (carries the AWS error code)
     │    ├── RolloutFailed         a rollout did not end deployed (FAILED, rolled back by ECS, superseded,
     │    │                         timed out, a post-check failed), or its rollback failed
     │    └── TransientError        an AWS call failed in a way that may pass when it is made again (throttled,
     │                              5xx, connection reset or timed out); a wait outlasts it, a one-shot call fails
     ├── LeaseHeld                  another run holds the service's lease (it deploys the service now)
     └── NotSupported               the service uses something this version does not handle yet

This module imports no pytest. One raised while the run is set up (``plugin.py``, once ``--env`` is given) or
while a scenario is bound to its service at collection stops pytest with a usage error (exit 4); one raised in
a step is reported by the session object (``session.py``) as that step's failure, ``ClassName: message``,
without a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .checks import Check


class EcsDeployError(Exception):
    """Base class: ``str(error)`` is the whole message, one sentence naming what was expected and found."""


class ConfigError(EcsDeployError):
    """The configuration file, a task-definition template, a command-line option or a seed table is wrong."""


class AccountMismatch(EcsDeployError):
    """The caller's account (STS GetCallerIdentity) is not the environment's ``account_id``."""

    def __init__(self, message: str, *, expected: str, actual: str) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class CheckFailed(EcsDeployError):
    """A built-in check failed; ``check`` is the recorded result."""

    def __init__(self, check: Check) -> None:
        super().__init__(f"check failed: {check.name}: {check.detail}")
        self.check = check


class ActionError(EcsDeployError):
    """An action could not be carried out; ``code`` is the AWS error code when AWS refused it."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class RolloutFailed(ActionError):
    """A rollout did not reach COMPLETED on the revision that was deployed."""


class TransientError(ActionError):
    """An AWS call failed in a way that may pass when made again (:func:`pytest_ecsdeploy.aws.is_transient`)."""


class LeaseHeld(EcsDeployError):
    """Another run holds the service's lease (``actions/lease.py``); ``holder`` describes it in words."""

    def __init__(self, message: str, *, holder: str) -> None:
        super().__init__(message)
        self.holder = holder


class NotSupported(EcsDeployError):
    """The service uses a feature this version does not support yet (for example the CODE_DEPLOY controller)."""
