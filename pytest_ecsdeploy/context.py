"""What every action is given: the environment, the service, clients, the run's options, the record, a log.

The actions (``actions/``: ``ecr.py``, ``taskdef/``, ``service.py``, ``task.py``, ``smoke.py``, ``deploy.py``)
know nothing of pytest; :meth:`~pytest_ecsdeploy.run.Run.context` builds one :class:`ServiceContext` per
scenario module (asked by the ``ecsdeploy_context`` fixture, or by a script or benchmark without pytest) and
the actions are constructed on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .aws import ClientFactory
from .checks import Check, Checks
from .config import Environment, Service
from .report.record import ServiceRecord


class Log(Protocol):
    """Live output while a step runs (under pytest, ``fixtures.TerminalLog`` writes it past the output capture,
    with the service's name)."""

    def info(self, message: str) -> None: ...

    def warning(self, message: str) -> None: ...

    def check(self, check: Check) -> None: ...


class PrintLog:
    """A Log that prints each line (``prefix`` first) and keeps it in ``lines``, for driving the actions without
    pytest: a script over :meth:`~pytest_ecsdeploy.run.Run.context`, and the tests, which read ``lines``.

    A warning is kept as ``"WARNING: <message>"``, a check as its :meth:`~pytest_ecsdeploy.checks.Check.line`.
    The benchmarks keep a log of their own, silent and with the time of each line.
    """

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)
        print(f"{self.prefix}{message}", flush=True)

    def warning(self, message: str) -> None:
        self.lines.append(f"WARNING: {message}")
        print(f"{self.prefix}WARNING: {message}", flush=True)

    def check(self, check: Check) -> None:
        self.info(check.line())


@dataclass(frozen=True)
class RunOptions:
    """The run's settings from the command line (or ini keys / ECSDEPLOY_* variables)."""

    image_tag: str | None = None
    plan: bool = False
    rollback: bool = True
    wait_timeout: float | None = None
    failed_log_lines: int = 20  # last lines of each failed task's containers to read from CloudWatch Logs
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hooks:
    """The extension hooks as plain callables, so actions can call them without knowing pluggy.

    ``render_task_definition(payload)`` may change the RegisterTaskDefinition payload in place;
    ``pre_checks(action)`` / ``post_checks(action)`` return extra ``(name, ok, detail)`` checks;
    ``deployed(record)`` / ``rolled_back(record)`` notify.
    """

    render_task_definition: Callable[[dict[str, Any]], None] = lambda payload: None
    pre_checks: Callable[[str], list[tuple[str, bool, str]]] = lambda action: []
    post_checks: Callable[[str], list[tuple[str, bool, str]]] = lambda action: []
    deployed: Callable[[ServiceRecord], None] = lambda record: None
    rolled_back: Callable[[ServiceRecord], None] = lambda record: None


@dataclass
class ServiceContext:
    """One scenario's view of the world: ``ctx.aws.client("ecs")``, ``ctx.service.service_name`` …"""

    environment: Environment
    service: Service
    aws: ClientFactory
    options: RunOptions
    record: ServiceRecord
    log: Log
    hooks: Hooks = field(default_factory=Hooks)
    base_dir: Any = None

    @property
    def checks(self) -> Checks:
        return self.record.checks

    @property
    def cluster(self) -> str:
        return self.service.cluster or self.environment.cluster

    @property
    def wait_timeout(self) -> float:
        return self.options.wait_timeout or self.environment.wait_timeout
