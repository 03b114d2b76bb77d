"""The last lines a failed task's containers wrote: read from CloudWatch Logs, masked, printed and recorded.

When a task of a rollout, a rollback or a one-off task fails, :class:`FailedTaskLogs` reads, for each of its
containers, where the task definition sends that container's output (``logConfiguration``):

- ``awslogs``: the last ``--failed-log-lines`` lines (20 by default) of log stream
  ``<awslogs-stream-prefix>/<container name>/<task id>`` in group ``awslogs-group``, region ``awslogs-region``
  (the environment's region without it), with ``GetLogEvents`` (``startFromHead=false``, ``limit=N``: the newest
  N events, oldest first; ECS developer guide, "Send Amazon ECS logs to CloudWatch"; CloudWatch Logs API
  reference, GetLogEvents);
- FireLens (``awsfirelens``) or any other driver, a container without a prefix (its stream is named after the
  container's runtime id), or none: one line saying where the logs went;
- a missing group or stream, AccessDenied or any other failed read: one line saying so; reading logs never fails
  the step on its own.

Lines are masked (:func:`~pytest_ecsdeploy.redact.mask_log_line`: passwords in URLs, ``NAME=value`` with a
secret-looking name, and the values of the task definition's secret-looking environment variables), printed
under the task's stop line, and kept in the record (``failedTasks``), from where the JUnit report and the
Octopus result message take them. Example::

    reader = FailedTaskLogs(ctx, who="service 'web'")
    reader.follow(watch.failures, final=look.verdict is not None)   # reads each failed task once it is STOPPED
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..aws import call
from ..context import ServiceContext
from ..errors import EcsDeployError
from ..redact import looks_secret, mask_log_line
from .watch import TaskView

__all__ = ["DEFAULT_LINES", "MAX_TASKS", "ContainerLog", "FailedTaskLogs", "TaskLogs", "log_source", "render_recorded"]

DEFAULT_LINES = 20
MAX_TASKS = 10  # failed tasks whose logs one watch reads: a failing rollout of 200 tasks tells no more than 10
MASK = "<masked>"


@dataclass(frozen=True)
class ContainerLog:
    """One container's part: where its output went (``where``), the last lines read, or why none (``note``)."""

    container: str
    where: str
    lines: tuple[str, ...] = ()
    note: str | None = None

    def render(self) -> list[str]:
        """``  app, last 2 lines of /ecs/web ecs/app/1f2e (us-east-1):`` then each line indented, or one line."""
        if self.note is not None:
            return [f"  {self.container}: {self.note}"]
        if not self.lines:
            return [f"  {self.container}: no lines in {self.where}"]
        count = f"last {len(self.lines)} line{'s' if len(self.lines) > 1 else ''}"
        return [f"  {self.container}, {count} of {self.where}:", *(f"    {line}" for line in self.lines)]

    def to_dict(self) -> dict[str, Any]:
        return {"container": self.container, "where": self.where, "lines": list(self.lines), "note": self.note}


@dataclass(frozen=True)
class TaskLogs:
    """A failed task's stop line and its containers' logs."""

    task: str  # task id
    revision: str | None
    stopped: str  # the task's stop line, as printed
    containers: tuple[ContainerLog, ...] = field(default=())

    def render(self) -> list[str]:
        return [line for container in self.containers for line in container.render()]

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "revision": self.revision, "stopped": self.stopped,
                "containers": [c.to_dict() for c in self.containers]}


def log_source(definition: Mapping[str, Any], task: str, region: str) -> tuple[str, str | None, str | None, str]:
    """Where a container definition's output goes: ``(where, group, stream, region)``; ``group`` and ``stream``
    are None when the lines cannot be read from CloudWatch Logs, and ``where`` then says why.

    >>> log_source({"name": "app", "logConfiguration": {"logDriver": "awslogs", "options": {
    ...     "awslogs-group": "/ecs/web", "awslogs-stream-prefix": "ecs"}}}, "1f2e", "eu-west-1")
    ('log group /ecs/web, stream ecs/app/1f2e (eu-west-1)', '/ecs/web', 'ecs/app/1f2e', 'eu-west-1')
    """
    configuration = definition.get("logConfiguration")
    if not isinstance(configuration, Mapping) or not configuration.get("logDriver"):
        return "no logConfiguration: ECS kept none of its output", None, None, region
    driver = str(configuration["logDriver"])
    given = configuration.get("options")
    options: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    if driver == "awsfirelens":
        output = f" (output plugin {options['Name']})" if options.get("Name") else ""
        return f"logs go through FireLens{output}, not read here: look where its log router sends them", None, \
            None, region
    if driver != "awslogs":
        return f"logs go to the {driver} log driver, not CloudWatch Logs: not read here", None, None, region
    group = str(options.get("awslogs-group") or "")
    region = str(options.get("awslogs-region") or region)
    prefix = str(options.get("awslogs-stream-prefix") or "")
    if not group:
        return "awslogs without awslogs-group: not read", None, None, region
    if not prefix:
        return (f"log group {group} ({region}), in a stream named after the container's runtime id (no "
                f"awslogs-stream-prefix): not read"), None, None, region
    stream = f"{prefix}/{definition.get('name')}/{task}"
    return f"log group {group}, stream {stream} ({region})", group, stream, region


class FailedTaskLogs:
    """Reads the logs of failed tasks for one watch (a rollout, a rollback, a one-off task); see the module
    docstring. ``who`` names the action in messages; ``limit`` defaults to the run's ``--failed-log-lines``."""

    def __init__(self, ctx: ServiceContext, *, who: str, limit: int | None = None) -> None:
        self.ctx = ctx
        self.who = who
        self.limit = limit if limit is not None else ctx.options.failed_log_lines
        self.read_tasks: set[str] = set()
        self.skipped = 0
        self._definitions: dict[str, dict[str, Any] | str] = {}  # revision ARN -> its description, or why none

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
        found = self._definition(task.revision)
        if isinstance(found, str):
            containers: tuple[ContainerLog, ...] = tuple(
                ContainerLog(c.name, "-", note=found) for c in task.containers) or (ContainerLog("-", "-", note=found),)
        else:
            secrets = _secret_values(found)
            by_name = {str(d.get("name")): d for d in found.get("containerDefinitions") or []}
            names = [c.name for c in task.containers] or list(by_name)
            containers = tuple(self._container(task, name, by_name.get(name, {"name": name}), secrets)
                               for name in names)
        logs = TaskLogs(task.id, task.revision, task.stop_line(), containers)
        for line in logs.render():
            self.ctx.log.info(line)
        self.ctx.record.failed_tasks.append(logs.to_dict())
        return logs

    def _definition(self, revision: str | None) -> dict[str, Any] | str:
        if not revision:
            return "the task names no task definition: its logs are not known"
        if revision not in self._definitions:
            try:
                answer = call(self.ctx.aws, "ecs", "describe_task_definition", "read where its containers log",
                              who=self.who, taskDefinition=revision)
                self._definitions[revision] = dict(answer.get("taskDefinition") or {})
            except EcsDeployError as exc:
                self._definitions[revision] = f"logs not read: {str(exc).rstrip('.')}"
        return self._definitions[revision]

    def _container(self, task: TaskView, name: str, definition: Mapping[str, Any], secrets: list[str]
                   ) -> ContainerLog:
        where, group, stream, region = log_source(definition, task.id, self.ctx.environment.region)
        if group is None or stream is None:
            return ContainerLog(name, where, note=where)
        try:
            answer = call(self.ctx.aws, "logs", "get_log_events", f"read the last lines of {where}", who=self.who,
                          region=region, logGroupName=group, logStreamName=stream, startFromHead=False,
                          limit=self.limit)
        except EcsDeployError as exc:
            code = getattr(exc, "code", None)
            if code == "ResourceNotFoundException":
                return ContainerLog(name, where, note=f"no log stream {stream} in log group {group} ({region}): "
                                                      f"it wrote nothing there, or the group is missing")
            if code in ("AccessDeniedException", "AccessDenied"):
                return ContainerLog(name, where, note=f"not allowed to read {where} (logs:GetLogEvents)")
            return ContainerLog(name, where, note=str(exc).rstrip("."))
        lines = [str(e.get("message", "")).rstrip("\n") for e in answer.get("events") or []]
        return ContainerLog(name, where, tuple(mask_log_line(line, secrets, MASK) for line in lines[-self.limit:]))


def _secret_values(definition: Mapping[str, Any]) -> list[str]:
    """The values of secret-looking environment variables of every container (printed nowhere, logs included)."""
    values = {str(item.get("value")) for container in definition.get("containerDefinitions") or []
              for item in container.get("environment") or []
              if looks_secret(str(item.get("name", ""))) and item.get("value")}
    return sorted(values, key=len, reverse=True)


def render_recorded(entry: Mapping[str, Any]) -> list[str]:
    """A record's ``failedTasks`` entry as printed: its stop line, then its containers' lines."""
    containers = tuple(ContainerLog(str(c.get("container")), str(c.get("where")), tuple(c.get("lines") or ()),
                                    c.get("note")) for c in entry.get("containers") or [])
    logs = TaskLogs(str(entry.get("task")), entry.get("revision"), str(entry.get("stopped")), containers)
    return [logs.stopped, *logs.render()]
