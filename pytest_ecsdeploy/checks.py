"""Checks: named pre- and post-conditions with a result and one line of detail.

Every action records its built-in checks here, cleaned of secrets and line breaks (``redact.clean_line``); a
failed check raises :class:`~pytest_ecsdeploy.errors.CheckFailed` after it is recorded, so the deployment record
always holds it.

>>> checks = Checks()
>>> checks.passed("ecr.image", "pre", "tag exists", "web:1.4.2 -> sha256:3f0c…")
Check(action='ecr.image', phase='pre', name='tag exists', result='passed', detail='web:1.4.2 -> sha256:3f0c…')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal, NoReturn

from .errors import CheckFailed
from .redact import clean_line

Result = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True)
class Check:
    """One check's outcome: ``action`` is the fixture method (``ecs_service.deploy``), ``phase`` pre or post."""

    action: str
    phase: str
    name: str
    result: Result
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """The one line printed for this check: ``[ok  ] pre  ecr.image: tag exists — web:1.4.2``."""
        mark = {"passed": "ok  ", "failed": "FAIL", "skipped": "skip"}[self.result]
        return f"[{mark}] {self.phase:<4} {self.action}: {self.name} — {self.detail}"


class Checks:
    """The checks of one service in one run, in the order they ran; ``on_result`` sees each as it is recorded."""

    def __init__(self, on_result: Callable[[Check], None] | None = None) -> None:
        self.items: list[Check] = []
        self.on_result = on_result

    def record(self, check: Check) -> Check:
        """Keep ``check`` with its name and detail cleaned (``redact.clean_line``): what the terminal, the record,
        the JUnit file and Octopus show of it."""
        check = Check(check.action, check.phase, clean_line(check.name), check.result, clean_line(check.detail))
        self.items.append(check)
        if self.on_result is not None:
            self.on_result(check)
        return check

    def passed(self, action: str, phase: str, name: str, detail: str) -> Check:
        return self.record(Check(action, phase, name, "passed", detail))

    def skipped(self, action: str, phase: str, name: str, detail: str) -> Check:
        return self.record(Check(action, phase, name, "skipped", detail))

    def failed(self, action: str, phase: str, name: str, detail: str) -> NoReturn:
        """Record a failed check and raise CheckFailed carrying it."""
        __tracebackhide__ = True
        raise CheckFailed(self.record(Check(action, phase, name, "failed", detail)))

    def expect(self, ok: bool, action: str, phase: str, name: str, detail: str) -> Check:
        """Record ``name`` as passed when ``ok``, else fail it; ``detail`` says what was found either way."""
        __tracebackhide__ = True
        if ok:
            return self.passed(action, phase, name, detail)
        self.failed(action, phase, name, detail)

    def count(self, result: Result) -> int:
        return sum(1 for c in self.items if c.result == result)
