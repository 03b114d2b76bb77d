"""The exceptions pytest-ecsdeploy raises, each carrying its context.

    EcsDeployError                  base: every message is one sentence a user can act on
     ├── ConfigError                ecsdeploy.toml, a command-line option or a seed table is wrong (exit 4)
     ├── AccountMismatch            the credentials belong to another account than the environment's
     ├── CheckFailed                a built-in pre- or post-check failed (carries the Check)
     ├── ActionError                an action could not do what it was asked (carries the AWS error code)
     │    └── RolloutFailed         a rollout ended FAILED, was rolled back by ECS, or timed out
     └── NotSupported               the service uses something this version does not handle yet

None of these modules imports pytest: the plugin turns ConfigError into pytest.UsageError and the others into
step failures without a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .checks import Check


class EcsDeployError(Exception):
    """Base class: ``str(error)`` is the whole message, one sentence naming what was expected and found."""


class ConfigError(EcsDeployError):
    """The configuration file, a command-line option or a seed table is wrong."""


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


class NotSupported(EcsDeployError):
    """The service uses a feature this version does not support yet (for example the CODE_DEPLOY controller)."""
