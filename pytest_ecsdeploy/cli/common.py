"""What every ``ecsdeploy`` command shares: the options, loading the run, the masked output, the exit codes.

A command is a module with ``add_arguments(parser)`` and ``run(args, out) -> int``; ``main`` (``__init__.py``)
builds the parser and turns errors into exit codes the way pytest does:

- 0: done; 1: done and failed (a rollback that failed, a service that is not there, AWS refused);
- 4: a usage error: a bad option, an environment or service not in ecsdeploy.toml, a file ``init`` will not
  overwrite. Every error is one sentence on stderr, masked, without a traceback.

The configuration, the environments, the clients, the account guard and the embedded local AWS are the
plugin's own (:class:`~pytest_ecsdeploy.run.Run`), so a command sees exactly what a scenario run sees.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..actions.logs import TaskLogReader
from ..actions.watch import TaskView
from ..aws import call, pages
from ..checks import Check
from ..config import DEFAULT_CONFIG, load_config
from ..context import RunOptions
from ..errors import ConfigError
from ..options import parse_vars
from ..redact import clean_block
from ..run import Run

if TYPE_CHECKING:
    from ..aws import ClientFactory

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 4


def mask(text: str) -> str:
    """``text`` as it may leave the process: through the one masking layer every output of a run goes through
    (``redact.clean_block``: secrets masked, each line kept a line, ``##octopus`` defused); values a task
    definition marks as secret are masked by the caller that knows them (``actions/logs.py``)."""
    return clean_block(text)


class Output:
    """Where a command writes: ``line()`` for results (stdout), ``warning()`` for warnings (stderr), every line
    masked. It is also the actions' Log (``info``, ``warning``, ``check``)."""

    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self._stdout = stdout or sys.stdout
        self._stderr = stderr or sys.stderr

    def line(self, text: str = "") -> None:
        print(mask(text), file=self._stdout, flush=True)

    def info(self, message: str) -> None:
        self.line(message)

    def warning(self, message: str) -> None:
        print(f"WARNING: {mask(message)}", file=self._stderr, flush=True)

    def check(self, check: Check) -> None:
        self.line(check.line())

    def error(self, command: str, message: str) -> None:
        print(f"ecsdeploy {command}: {mask(message)}", file=self._stderr, flush=True)


def add_common_arguments(parser: argparse.ArgumentParser, *, service: str,
                         service_help: str = "service: a [services.NAME] table of ecsdeploy.toml") -> None:
    """``--env``, ``--service`` (``service``: ``required``, ``optional`` or ``none``), ``--dir``, ``--config`` and
    ``--var``, as every command takes them."""
    parser.add_argument("--env", required=True, metavar="NAME",
                        help="environment of ecsdeploy.toml to use (its backend, region, account guard, cluster)")
    if service != "none":
        parser.add_argument("--service", required=service == "required", metavar="NAME",
                            help=service_help
                                 + ("" if service == "required" else " (default: every service)"))
    parser.add_argument("--dir", default=str(DEFAULT_CONFIG.parent), metavar="DIR",
                        help="the deployment folder that holds ecsdeploy.toml (default: %(default)s)")
    parser.add_argument("--config", metavar="PATH", help="the ecsdeploy.toml to read (default: DIR/ecsdeploy.toml)")
    parser.add_argument("--var", action="append", default=[], metavar="KEY=VALUE",
                        help="a value for ${KEY} placeholders (repeatable); wins over the process environment")


def positive_int(text: str) -> int:
    """An argparse type: a whole number above 0 (anything else is a usage error, exit 4)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {value}")
    return value


def config_path(args: argparse.Namespace) -> Path:
    return Path(args.config) if args.config else Path(args.dir) / DEFAULT_CONFIG.name


@contextmanager
def open_run(args: argparse.Namespace, *, wait_timeout: float | None = None) -> Iterator[Run]:
    """The run of ``args.env`` (config read and checked whole, placeholders filled), closed at the end (which stops
    an embedded local AWS it started). ConfigError for any mistake in the file or the options.

    A command never rolls back what it did itself (``rollback=False``): ``ecsdeploy rollback`` is the rollback."""
    options = RunOptions(variables=parse_vars(args.var, "--var"), wait_timeout=wait_timeout, rollback=False)
    path = config_path(args)
    if not path.exists():
        raise ConfigError(f"{path} does not exist; pass --dir DIR or --config PATH, or write one with ecsdeploy init.")
    deployment = load_config(path).resolve(args.env, options.variables, dict(os.environ))
    run = Run(deployment, options)
    try:
        yield run
    finally:
        run.close()



# -- tasks and their logs, for status and logs -----------------------------------------------------------------


def task_arns(aws: ClientFactory, cluster: str, service: str, desired_status: str) -> list[str]:
    """ListTasks of ``service`` with ``desired_status`` (RUNNING or STOPPED), every page."""
    return [str(arn) for page in pages(aws, "ecs", "list_tasks", f"list its {desired_status} tasks",
                                       who=f"service '{service}'", cluster=cluster, serviceName=service,
                                       desiredStatus=desired_status)
            for arn in page.get("taskArns") or []]


def describe_tasks(aws: ClientFactory, cluster: str, arns: list[str], who: str) -> list[dict[str, Any]]:
    """DescribeTasks of ``arns``, 100 at a time (ECS's limit)."""
    tasks: list[dict[str, Any]] = []
    for i in range(0, len(arns), 100):
        answer = call(aws, "ecs", "describe_tasks", "describe its tasks", who=who, cluster=cluster,
                      tasks=arns[i:i + 100])
        tasks.extend(answer.get("tasks") or [])
    return tasks


def show_task_logs(reader: TaskLogReader, task: TaskView, limit: int, out: Output, indent: str) -> None:
    """For each container of ``task``: where its logs are and its last ``limit`` lines, masked, or one line
    saying why none (``actions/logs.py``)."""
    for line in reader.read(task, limit).render(indent):
        out.line(line)
