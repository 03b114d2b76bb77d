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

from ...arns import parse_arn, secret_arn
from ...aws import ACCESS_DENIED, call
from ...errors import ActionError
from .revision import WHO

if TYPE_CHECKING:
    from ...context import ServiceContext


_PARAMETER_NAME = re.compile(r"/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*\Z")
NOT_A_REFERENCE = (
    "expected an ARN or parameter name; the value given is not shown, as it may be the secret itself"
)


def is_reference(value: str) -> bool:
    """True for a Secrets Manager / SSM ARN or an SSM parameter name: what ``valueFrom`` may hold.

    Anything else (spaces, quotes, a pasted password) is not printed in any message: it may be the secret.
    """
    arn = parse_arn(value)
    if arn is not None:
        return arn.service in ("secretsmanager", "ssm")
    return len(value) <= 2048 and _PARAMETER_NAME.match(value) is not None


@dataclass(frozen=True)
class SecretRef:
    """One reference to a secret: where it is used and what it points at (never its value)."""

    container: str
    field: str          # "secrets FOO", "logConfiguration.secretOptions apikey", "repositoryCredentials"
    value_from: str

    @property
    def service(self) -> Literal["secretsmanager", "ssm"]:
        arn = parse_arn(self.value_from)
        return "secretsmanager" if arn is not None and arn.service == "secretsmanager" else "ssm"

    @property
    def region(self) -> str | None:
        """The region of an ARN reference, None for a bare parameter name (the task's region)."""
        arn = parse_arn(self.value_from)
        return arn.region or None if arn is not None else None

    @property
    def account(self) -> str | None:
        """The account of an ARN reference, None for a bare parameter name (the task's account)."""
        arn = parse_arn(self.value_from)
        return arn.account or None if arn is not None else None

    @property
    def lookup_id(self) -> str:
        """The secret ARN without a JSON key / version suffix, or the SSM parameter name."""
        arn = parse_arn(self.value_from)
        if arn is None:
            return self.value_from
        if arn.service == "secretsmanager":
            return secret_arn(self.value_from) or self.value_from
        name = arn.resource_id  # parameter/<name>, the name with its leading slash dropped
        return f"/{name}" if "/" in name else name


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
                continue  # validate_payload reports it, without the value
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
        """None when the secret exists; else a problem, or ``unchecked: <why>`` when AWS would not tell. No answer
        at all (a connection that failed) is an ActionError."""
        region = ref.region or self.ctx.environment.region
        doing = f"check the secret {ref.lookup_id} of container '{ref.container}'"
        try:
            if ref.service == "secretsmanager":
                answer = call(self.ctx.aws, "secretsmanager", "describe_secret", doing, who=WHO, region=region,
                              SecretId=ref.lookup_id)
                if answer.get("DeletedDate"):
                    return f"Secrets Manager secret {ref.lookup_id} is scheduled for deletion"
                return None
            found = call(self.ctx.aws, "ssm", "describe_parameters", doing, who=WHO, region=region,
                         ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [ref.lookup_id]}])
            return None if found.get("Parameters") else f"SSM parameter {ref.lookup_id} does not exist in {region}"
        except ActionError as exc:
            if exc.code is None:
                raise
            if exc.code == "ResourceNotFoundException":
                return f"Secrets Manager secret {ref.lookup_id} does not exist in {region}"
            if exc.code in ACCESS_DENIED:
                return f"unchecked: not allowed to describe it ({exc.code})"
            return f"unchecked: AWS answered {exc.code}"
