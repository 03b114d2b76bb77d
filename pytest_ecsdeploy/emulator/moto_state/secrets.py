"""Secrets Manager and SSM Parameter Store: the values a container's secrets read."""

from __future__ import annotations

from typing import Any

# -- Secrets Manager and SSM -----------------------------------------------------------------------------


def secret_string(account: str, region: str, secret_id: str, *, version_id: str | None = None,
                  version_stage: str | None = None) -> str | None:
    """A secret's SecretString (None when it has only a SecretBinary); raises moto's error when the secret or
    the version does not exist, whose text says which."""
    from moto.secretsmanager.models import secretsmanager_backends

    backend: Any = secretsmanager_backends[account][region]
    text = backend.get_secret_value(secret_id, version_id, version_stage).get("SecretString")
    return None if text is None else str(text)


def ssm_parameter_value(account: str, region: str, name: str) -> str | None:
    """An SSM parameter's value (a SecureString decrypted, as ECS reads it), None when it does not exist;
    ``name`` is the parameter's name or ARN."""
    from moto.ssm.models import ssm_backends

    parameter = ssm_backends[account][region].get_parameter(name)
    return None if parameter is None else str(parameter.decrypt(parameter.value))
