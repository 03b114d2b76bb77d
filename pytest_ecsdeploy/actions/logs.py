"""Where a container's output went, and its last lines read back from CloudWatch Logs, masked: for the
``ecsdeploy logs`` and ``ecsdeploy status`` commands, and for the tasks that fail in a run.

- :func:`log_source`: a container definition's ``logConfiguration`` and a task id, as the place its logs are:
  for the ``awslogs`` driver the group, region (``awslogs-region``, else the environment's) and stream
  ``<awslogs-stream-prefix>/<container name>/<task id>`` (the driver's naming; ECS developer guide, "Send Amazon
  ECS logs to CloudWatch"); for FireLens (``awsfirelens``), another driver, a stream without a prefix (named
  after the container's runtime id) or no configuration, one sentence saying where the output went instead.
- :class:`TaskLogReader`: the last ``limit`` lines of each container of a task (GetLogEvents with
  ``startFromHead=false`` and ``limit=N``: the newest N events, oldest first; CloudWatch Logs API reference,
  GetLogEvents), as a :class:`TaskLogs`. A missing stream, AccessDenied or any other failed read, the task
  definition's included, is one line in its place: reading logs never fails what asked for them.
- :class:`LogMask`: every line read goes through it: the values a task definition marks as secret
  (environment values whose names look secret) masked wherever they appear, then the one masking layer every
  output goes through (``redact.clean_line``).
- :class:`FailedTaskLogs`: when a task of a rollout, a rollback or a one-off task fails, its containers' last
  ``--failed-log-lines`` lines (20 by default) are read once it is STOPPED, printed under the task's stop line
  and kept in the record (``failedTasks``), from where the JUnit report and the Octopus result message take them::

    reader = FailedTaskLogs(ctx, who="service 'web'")
    reader.follow(watch.failures, final=look.verdict is not None)   # reads each failed task once it is STOPPED

No pytest here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..aws import ACCESS_DENIED, call
from ..errors import EcsDeployError
from ..redact import MASK, clean_line, looks_secret
from .watch import TaskView

if TYPE_CHECKING:
    from ..aws import ClientFactory
    from ..context import ServiceContext

__all__ = ["DEFAULT_LINES", "MASK", "MAX_TASKS", "ContainerLog", "FailedTaskLogs", "LogMask", "LogSource",
           "TaskLogReader", "TaskLogs", "log_source", "render_recorded"]

#: How many lines are read back when the caller says nothing (``--failed-log-lines``, ``ecsdeploy logs --lines``).
DEFAULT_LINES = 20
MAX_TASKS = 10  # failed tasks whose logs one watch reads: a failing rollout of 200 tasks tells no more than 10


class LogMask:
    """Masks what a log line must not show; ``secrets`` are values known to be secret (at least 4 characters:
    shorter ones would mask ordinary words).

    >>> LogMask(["hunter2-db"]).line("login with hunter2-db failed; API_TOKEN=abc123 at postgres://u:pw@db/x")
    'login with <masked> failed; API_TOKEN=<masked> at postgres://u:<masked>@db/x'
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    @classmethod
    def of_task_definition(cls, payload: Mapping[str, Any]) -> LogMask:
        """The values of ``payload``'s environment variables whose names look secret, in every container."""
        return cls(str(item.get("value") or "") for container in payload.get("containerDefinitions") or []
                   for item in container.get("environment") or [] if looks_secret(str(item.get("name") or "")))

    def line(self, text: str) -> str:
        """``text`` with the known secret values masked, then through the one masking layer (``redact.clean_line``:
        secrets by structure and by shape, line breaks escaped, ``##octopus`` defused)."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return clean_line(text)


@dataclass(frozen=True)
class LogSource:
    """Where container ``container`` of a task logs: an awslogs ``group``/``stream`` in ``region`` (``stream`` is
    None when it cannot be named), and ``note``, one sentence for when the logs cannot be read here."""

    container: str
    driver: str | None
    group: str | None = None
    stream: str | None = None
    region: str | None = None
    note: str | None = None

    @property
    def readable(self) -> bool:
        return self.group is not None and self.stream is not None

    @property
    def where(self) -> str:
        """``log group /ecs/web, stream ecs/app/1f2e (us-east-1)``, or the note when it cannot be read."""
        if not self.readable:
            return self.note or "-"
        return f"log group {self.group}, stream {self.stream}" + (f" ({self.region})" if self.region else "")


def log_source(container: Mapping[str, Any], task_id: str, region: str | None = None) -> LogSource:
    """Where ``container`` (a container definition) of task ``task_id`` sends its output (see the module);
    ``region`` is the environment's, for an awslogs configuration without ``awslogs-region``.

    >>> log_source({"name": "app", "logConfiguration": {"logDriver": "awslogs", "options": {
    ...     "awslogs-group": "/ecs/web", "awslogs-stream-prefix": "ecs"}}}, "1f2e", "eu-west-1").where
    'log group /ecs/web, stream ecs/app/1f2e (eu-west-1)'
    """
    name = str(container.get("name"))
    config = container.get("logConfiguration") or {}
    driver = config.get("logDriver")
    options = {str(k): str(v) for k, v in (config.get("options") or {}).items()}
    if not driver:
        return LogSource(name, None, note="no logConfiguration: ECS kept none of its output where it can be read")
    if driver == "awslogs":
        group, prefix = options.get("awslogs-group"), options.get("awslogs-stream-prefix")
        region = options.get("awslogs-region") or region
        if not group:
            return LogSource(name, driver, note="awslogs without awslogs-group: not read")
        if not prefix:
            where = f" ({region})" if region else ""
            return LogSource(name, driver, group=group, region=region,
                             note=f"log group {group}{where}, in a stream named after the container's runtime id "
                                  f"(no awslogs-stream-prefix): not read")
        return LogSource(name, driver, group=group, stream=f"{prefix}/{name}/{task_id}", region=region)
    shown = ", ".join(f"{k}={v}" for k, v in sorted(options.items())
                      if not looks_secret(k) and k.lower() not in ("config-file-value", "secretoptions"))
    where = f" ({shown})" if shown else ""
    if driver == "awsfirelens":
        return LogSource(name, driver, note=f"logs go through FireLens{where}, not read here: look where its log "
                                            f"router sends them")
    return LogSource(name, driver, note=f"logs go to the {driver} log driver{where}, not CloudWatch Logs: not read "
                                        f"here")


@dataclass(frozen=True)
class ContainerLog:
    """One container's part: where its output went (``where``), the last lines read, or why none (``note``)."""

    container: str
    where: str
    lines: tuple[str, ...] = ()
    note: str | None = None

    def render(self, indent: str = "  ") -> list[str]:
        """``  app, last 2 lines of log group /ecs/web, stream ecs/app/1f2e (us-east-1):`` then each line indented
        two more, or one line ``  app: NOTE``."""
        if self.note is not None:
            return [f"{indent}{self.container}: {self.note}"]
        if not self.lines:
            return [f"{indent}{self.container}: no lines in {self.where}"]
        count = f"last {len(self.lines)} line{'s' if len(self.lines) > 1 else ''}"
        return [f"{indent}{self.container}, {count} of {self.where}:", *(f"{indent}  {line}" for line in self.lines)]

    def to_dict(self) -> dict[str, Any]:
        return {"container": self.container, "where": self.where, "lines": list(self.lines), "note": self.note}


@dataclass(frozen=True)
class TaskLogs:
    """A task's stop line (or status line) and its containers' logs."""

    task: str  # task id
    revision: str | None
    stopped: str  # the task's stop line, as printed
    containers: tuple[ContainerLog, ...] = field(default=())

    def render(self, indent: str = "  ") -> list[str]:
        return [line for container in self.containers for line in container.render(indent)]

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "revision": self.revision, "stopped": self.stopped,
                "containers": [c.to_dict() for c in self.containers]}


class TaskLogReader:
    """Reads tasks' logs for one caller: each task definition is described once (for where its containers log
    and which values are secret). ``region`` is the environment's; ``who`` names the caller in messages."""

    def __init__(self, aws: ClientFactory, *, who: str, region: str | None = None) -> None:
        self.aws = aws
        self.who = who
        self.region = region
        self._definitions: dict[str, dict[str, Any] | str] = {}  # revision ARN -> its description, or why none

    def read(self, task: TaskView, limit: int) -> TaskLogs:
        """The last ``limit`` lines of each of ``task``'s containers (those the task lists, else those its task
        definition defines), masked; a container whose lines cannot be read has a note instead."""
        found = self._definition(task.revision)
        if isinstance(found, str):
            containers: tuple[ContainerLog, ...] = tuple(
                ContainerLog(c.name, "-", note=found) for c in task.containers) or (ContainerLog("-", "-", note=found),)
        else:
            log_mask = LogMask.of_task_definition(found)
            by_name = {str(d.get("name")): d for d in found.get("containerDefinitions") or []}
            names = [c.name for c in task.containers] or list(by_name)
            containers = tuple(self._container(log_source(by_name.get(name, {"name": name}), task.id, self.region),
                                               limit, log_mask) for name in names)
        return TaskLogs(task.id, task.revision, task.stop_line(), containers)

    def _definition(self, revision: str | None) -> dict[str, Any] | str:
        if not revision:
            return "the task names no task definition: its logs are not known"
        if revision not in self._definitions:
            try:
                answer = call(self.aws, "ecs", "describe_task_definition", "read where its containers log",
                              who=self.who, taskDefinition=revision)
                self._definitions[revision] = dict(answer.get("taskDefinition") or {})
            except EcsDeployError as exc:
                self._definitions[revision] = f"logs not read: {str(exc).rstrip('.')}"
        return self._definitions[revision]

    def _container(self, source: LogSource, limit: int, log_mask: LogMask) -> ContainerLog:
        where = source.where
        if source.group is None or source.stream is None:
            return ContainerLog(source.container, where, note=where)
        try:
            answer = call(self.aws, "logs", "get_log_events", f"read the last lines of {where}", who=self.who,
                          region=source.region, logGroupName=source.group, logStreamName=source.stream,
                          startFromHead=False, limit=limit)
        except EcsDeployError as exc:
            code = getattr(exc, "code", None)
            if code == "ResourceNotFoundException":
                region = f" ({source.region})" if source.region else ""
                return ContainerLog(source.container, where, note=f"no log stream {source.stream} in log group "
                                                                  f"{source.group}{region}: it wrote nothing there, "
                                                                  f"or the group is missing")
            if code in ACCESS_DENIED:
                return ContainerLog(source.container, where, note=f"not allowed to read {where} (logs:GetLogEvents)")
            return ContainerLog(source.container, where, note=str(exc).rstrip("."))
        lines = [str(e.get("message", "")).rstrip("\n") for e in answer.get("events") or []]
        return ContainerLog(source.container, where, tuple(log_mask.line(line) for line in lines[-limit:]))


class FailedTaskLogs:
    """Reads the logs of failed tasks for one watch (a rollout, a rollback, a one-off task); see the module
    docstring. ``who`` names the action in messages; ``limit`` defaults to the run's ``--failed-log-lines``."""

    def __init__(self, ctx: ServiceContext, *, who: str, limit: int | None = None) -> None:
        self.ctx = ctx
        self.limit = limit if limit is not None else ctx.options.failed_log_lines
        self.reader = TaskLogReader(ctx.aws, who=who, region=ctx.environment.region)
        self.read_tasks: set[str] = set()
        self.skipped = 0

    def follow(self, failures: Mapping[str, TaskView], *, final: bool) -> None:
        """Read each failed task not read yet once it is STOPPED (its containers' last lines are flushed by then),
        or at once when ``final`` (the watch ends)."""
        for arn, task in failures.items():
            if arn not in self.read_tasks and (task.is_stopped or final):
                self.read(task)

    def read(self, task: TaskView) -> TaskLogs | None:
        """Read, print and record ``task``'s logs; None when :data:`MAX_TASKS` were read already (said once)."""
        if self.limit <= 0 or task.arn in self.read_tasks:
            return None
        self.read_tasks.add(task.arn)
        if len(self.read_tasks) > MAX_TASKS:
            self.skipped += 1
            if self.skipped == 1:
                self.ctx.log.info(f"logs of failed tasks after the first {MAX_TASKS} are not read")
            return None
        logs = self.reader.read(task, self.limit)
        for line in logs.render():
            self.ctx.log.info(line)
        self.ctx.record.failed_tasks.append(logs.to_dict())
        return logs


def render_recorded(entry: Mapping[str, Any]) -> list[str]:
    """A record's ``failedTasks`` entry as printed: its stop line, then its containers' lines."""
    containers = tuple(ContainerLog(str(c.get("container")), str(c.get("where")), tuple(c.get("lines") or ()),
                                    c.get("note")) for c in entry.get("containers") or [])
    logs = TaskLogs(str(entry.get("task")), entry.get("revision"), str(entry.get("stopped")), containers)
    return [logs.stopped, *logs.render()]
