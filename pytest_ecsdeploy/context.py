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
from .cancel import DEFAULT_GRACE, Cancellation
from .checks import Check, Checks
from .config import Environment, Service
from .redact import clean_block
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
        message = clean_block(message)
        self.lines.append(message)
        print(f"{self.prefix}{message}", flush=True)

    def warning(self, message: str) -> None:
        message = clean_block(message)
        self.lines.append(f"WARNING: {message}")
        print(f"{self.prefix}WARNING: {message}", flush=True)

    def check(self, check: Check) -> None:
        self.info(check.line())


@dataclass(frozen=True)
class RunOptions:
    """The run's settings from the command line (or ini keys / ECSDEPLOY_* variables)."""

    image_tag: str | None = None  # --image-tag TAG: every service's tag
    image_tags: dict[str, str] = field(default_factory=dict)  # --image-tag SERVICE=TAG: a service's own
    plan: bool = False
    rollback: bool = True
    wait_timeout: float | None = None
    cancel_grace: float = DEFAULT_GRACE  # seconds a cancelled run waits for its rollback
    failed_log_lines: int = 20  # last lines of each failed task's containers to read from CloudWatch Logs
    variables: dict[str, str] = field(default_factory=dict)

    def tag_for(self, service: str) -> str | None:
        """The image tag ``--image-tag`` gives ``service`` (the name of its ``[services.NAME]``), or None."""
        return self.image_tags.get(service, self.image_tag)

    def tags_label(self) -> str:
        """``1.4.2``, ``web=1.4.2,api=2.0.1`` (and a bare tag last, ``*=1.4.2``, when both are given), or ``-``."""
        parts = [f"{name}={tag}" for name, tag in self.image_tags.items()]
        if self.image_tag is not None:
            parts.append(f"*={self.image_tag}" if parts else self.image_tag)
        return ",".join(parts) or "-"


@dataclass(frozen=True)
class Hooks:
    """The extension hooks as plain callables, so actions can call them without knowing pluggy.

    ``render_task_definition(payload)`` may change the RegisterTaskDefinition payload in place;
    ``pre_checks(action)`` / ``post_checks(action)`` return extra ``(name, ok, detail)`` checks;
    ``deployed(record)`` / ``rolled_back(record)`` notify; ``stage(percentage, message)`` shows a lifecycle stage
    of a service deployment on a progress bar (Octopus).
    """

    render_task_definition: Callable[[dict[str, Any]], None] = lambda payload: None
    pre_checks: Callable[[str], list[tuple[str, bool, str]]] = lambda action: []
    post_checks: Callable[[str], list[tuple[str, bool, str]]] = lambda action: []
    deployed: Callable[[ServiceRecord], None] = lambda record: None
    rolled_back: Callable[[ServiceRecord], None] = lambda record: None
    stage: Callable[[int, str], None] = lambda percentage, message: None


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
    registry: str | None = None  # the host of the service repository's URI, once ECR has described it
    cancellation: Cancellation = field(default_factory=Cancellation)  # the run's: SIGINT, SIGTERM, time-outs
    # Takes this service's lease (Run.context points it at Leases.hold); without a Run there is no lease.
    lease: Callable[[ServiceContext], None] = lambda ctx: None

    def before_write(self) -> str:
        """The guards every write passes first: the account guard, then the service's lease (``actions/lease.py``).

        Returns the caller's account; raises AccountMismatch, or LeaseHeld when another run deploys the service.
        """
        account = self.aws.ensure_account()
        self.lease(self)
        return account

    @property
    def checks(self) -> Checks:
        return self.record.checks

    @property
    def cluster(self) -> str:
        return self.service.cluster or self.environment.cluster

    @property
    def wait_timeout(self) -> float:
        return self.options.wait_timeout or self.environment.wait_timeout
