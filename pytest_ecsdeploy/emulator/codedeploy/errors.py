"""CodeDeploy's errors: one class for every error code, as CodeDeploy sends it in ``__type``.

The HTTP middleware answers an :class:`EngineError` as ``{"__type": code, "message": message}`` with its status,
so a CodeDeploy error is an EngineError whose code is the exception's name (botocore codedeploy error shapes):
``CodeDeployError("DeploymentIsNotInReadyStateException", "...")``.
"""

from __future__ import annotations

from ..ecs.exceptions import EngineError


class CodeDeployError(EngineError):
    """A CodeDeploy error response: ``code`` is the exception name (for example InvalidRevisionException)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
