"""Secret references of a task definition: where each is used, what it points at, and whether it exists.

:func:`secret_references` finds them (container ``secrets``, log-driver ``secretOptions``,
``repositoryCredentials``); :class:`SecretCheck` asks Secrets Manager (DescribeSecret) and SSM
(DescribeParameters) whether they exist. Both calls return metadata only: no secret value is ever read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ...aws import client_config, error_code, error_message
from ...errors import ActionError

if TYPE_CHECKING:
    from ...context import ServiceContext


_ARN = re.compile(r"arn:aws[a-z-]*:(secretsmanager|ssm):[a-z0-9-]*:\d*:\S+\Z")
_PARAMETER_NAME = re.compile(r"/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*\Z")
NOT_A_REFERENCE = (
    "expected an ARN or parameter name; the value given is not shown, as it may be the secret itself"
)


def is_reference(value: str) -> bool:
    """True for a Secrets Manager / SSM ARN or an SSM parameter name: what ``valueFrom`` may hold.

    Anything else (spaces, quotes, a pasted password) is not printed in any message: it may be the secret.
    """
    return bool(_ARN.match(value) or (len(value) <= 2048 and _PARAMETER_NAME.match(value)))


@dataclass(frozen=True)
class SecretRef:
    """One reference to a secret: where it is used and what it points at (never its value)."""

    container: str
    field: str          # "secrets FOO", "logConfiguration.secretOptions apikey", "repositoryCredentials"
    value_from: str

    @property
    def service(self) -> Literal["secretsmanager", "ssm"]:
        return "secretsmanager" if ":secretsmanager:" in self.value_from else "ssm"

    @property
    def region(self) -> str | None:
        """The region of an ARN reference, None for a bare parameter name (the task's region)."""
        parts = self.value_from.split(":")
        return parts[3] if self.value_from.startswith("arn:") and len(parts) > 5 else None

    @property
    def account(self) -> str | None:
        parts = self.value_from.split(":")
        return parts[4] if self.value_from.startswith("arn:") and len(parts) > 5 else None

    @property
    def lookup_id(self) -> str:
        """The secret ARN without a JSON key / version suffix, or the SSM parameter name."""
        if self.service == "secretsmanager":
            return ":".join(self.value_from.split(":")[:7])
        if self.value_from.startswith("arn:"):
            resource = self.value_from.split(":", 5)[5]
            name = resource.partition("/")[2]
            return f"/{name}" if "/" in name else name
        return self.value_from


def secret_references(payload: Mapping[str, Any]) -> list[SecretRef]:
    """Every secret reference of ``payload``: container ``secrets``, log-driver ``secretOptions`` and
    ``repositoryCredentials``."""
    refs: list[SecretRef] = []
    for container in payload.get("containerDefinitions") or []:
        name = str(container.get("name"))
        for item in container.get("secrets") or []:
            refs.append(SecretRef(name, f"secrets {item.get('name')}", str(item.get("valueFrom") or "")))
        for item in (container.get("logConfiguration") or {}).get("secretOptions") or []:
            refs.append(SecretRef(name, f"logConfiguration.secretOptions {item.get('name')}",
                                  str(item.get("valueFrom") or "")))
        credentials = (container.get("repositoryCredentials") or {}).get("credentialsParameter")
        if credentials:
            refs.append(SecretRef(name, "repositoryCredentials credentialsParameter", str(credentials)))
    return [ref for ref in refs if ref.value_from]


class SecretCheck:
    """Whether the secrets a payload references exist, asked in their own region; used by ``validate()``.

    >>> problems, detail, unchecked = SecretCheck(ctx).check(payload)
    >>> detail
    '1 Secrets Manager and 2 SSM references exist'
    """

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self._clients: dict[tuple[str, str], Any] = {}

    def check(self, payload: Mapping[str, Any]) -> tuple[list[str], str, bool]:
        """(problems, detail for the check, whether some references could not be checked) for ``payload``."""
        refs = secret_references(payload)
        if not refs:
            return [], "", False
        problems: list[str] = []
        unchecked: set[str] = set()
        outcome: dict[tuple[str, str | None, str], str | None] = {}
        caller: list[str | None] = []
        for ref in refs:
            if not is_reference(ref.value_from):
                problems.append(f"container '{ref.container}' {ref.field}: {NOT_A_REFERENCE}.")
                continue
            key = (ref.service, ref.region, ref.lookup_id)
            if key not in outcome:
                if ref.account is not None and not caller:
                    caller.append(self._caller_account())
                if ref.account is not None and caller[0] is not None and ref.account != caller[0]:
                    outcome[key] = f"unchecked: in account {ref.account}, not the deployment's"
                else:
                    outcome[key] = self._problem(ref)
            result = outcome[key]
            if result is None:
                continue
            if result.startswith("unchecked: "):
                unchecked.add(f"{ref.value_from} ({result[len('unchecked: '):]})")
            else:
                problems.append(f"container '{ref.container}' {ref.field}: {result}.")
        services = {(ref.service, ref.lookup_id) for ref in refs}
        managers = sum(1 for service, _ in services if service == "secretsmanager")
        detail = f"{managers} Secrets Manager and {len(services) - managers} SSM references exist"
        if unchecked:
            detail = f"not checked: {'; '.join(sorted(unchecked))}"
        return problems, detail, bool(unchecked)

    def _caller_account(self) -> str | None:
        try:
            return self.ctx.aws.account_id
        except ActionError:
            return None

    def _problem(self, ref: SecretRef) -> str | None:
        """None when the secret exists; else a problem, or ``unchecked: <why>`` when it cannot be told."""
        from botocore.exceptions import BotoCoreError, ClientError

        region = ref.region or self.ctx.environment.region
        try:
            if ref.service == "secretsmanager":
                answer = self._regional("secretsmanager", region).describe_secret(SecretId=ref.lookup_id)
                if answer.get("DeletedDate"):
                    return f"Secrets Manager secret {ref.lookup_id} is scheduled for deletion"
                return None
            found = self._regional("ssm", region).describe_parameters(
                ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [ref.lookup_id]}]
            ).get("Parameters", [])
            return None if found else f"SSM parameter {ref.lookup_id} does not exist in {region}"
        except ClientError as exc:
            code = error_code(exc)
            if code == "ResourceNotFoundException":
                return f"Secrets Manager secret {ref.lookup_id} does not exist in {region}"
            if code in ("AccessDeniedException", "AccessDenied"):
                return f"unchecked: not allowed to describe it ({code})"
            return f"unchecked: {error_message(exc)}"
        except BotoCoreError as exc:
            raise ActionError(
                f"could not check the secret {ref.lookup_id} of container '{ref.container}' ({exc})."
            ) from None

    def _regional(self, service: str, region: str | None) -> Any:
        region = region or self.ctx.environment.region
        if region == self.ctx.environment.region:
            return self.ctx.aws.client(service)
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self.ctx.aws.session.client(
                service, region_name=region, endpoint_url=self.ctx.aws.endpoint_url, config=client_config()
            )
        return self._clients[key]
