"""Where a container's output went, and its last lines read back from CloudWatch Logs, masked.

- :func:`log_source`: a container definition's ``logConfiguration`` and a task id, as the place its logs are:
  for the ``awslogs`` driver the group, region and stream (``<awslogs-stream-prefix>/<container>/<task-id>``, the
  driver's naming, ECS developer guide "Using the awslogs log driver"); for FireLens (``awsfirelens``) or another
  driver, one sentence saying where the output went instead.
- :func:`last_lines`: the last ``limit`` events of an awslogs stream (CloudWatch Logs GetLogEvents, newest last),
  each masked by a :class:`LogMask`.
- :class:`LogMask`: the values a task definition marks as secret (environment values whose names look secret)
  masked wherever they appear, then the one masking layer every output goes through (``redact.clean_line``).

No pytest here; ``ecsdeploy logs`` and ``ecsdeploy status`` use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..aws import call
from ..errors import ActionError
from ..redact import MASK, clean_line, looks_secret

if TYPE_CHECKING:
    from ..aws import ClientFactory

#: How many lines are read back when the caller says nothing (the same default as the failure report's).
DEFAULT_LINES = 20

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


def log_source(container: Mapping[str, Any], task_id: str) -> LogSource:
    """Where ``container`` (a container definition) of task ``task_id`` sends its output (see the module)."""
    name = str(container.get("name"))
    config = container.get("logConfiguration") or {}
    driver = config.get("logDriver")
    options = {str(k): str(v) for k, v in (config.get("options") or {}).items()}
    if not driver:
        return LogSource(name, None, note=f"container {name} has no logConfiguration: its output stays with the "
                                          f"Docker daemon's default log driver on the container instance")
    if driver == "awslogs":
        group, prefix = options.get("awslogs-group"), options.get("awslogs-stream-prefix")
        if not group:
            return LogSource(name, driver, note=f"container {name} logs through awslogs without awslogs-group")
        if not prefix:
            return LogSource(name, driver, group=group, region=options.get("awslogs-region"),
                             note=f"container {name} logs to {group} without awslogs-stream-prefix, so its stream "
                                  f"is named by the Docker container id on the instance")
        return LogSource(name, driver, group=group, stream=f"{prefix}/{name}/{task_id}",
                         region=options.get("awslogs-region"))
    shown = ", ".join(f"{k}={v}" for k, v in sorted(options.items())
                      if not looks_secret(k) and k.lower() not in ("config-file-value", "secretoptions"))
    where = f" ({shown})" if shown else ""
    if driver == "awsfirelens":
        return LogSource(name, driver, note=f"container {name} logs through FireLens{where}: read them where its "
                                            f"log router sends them")
    return LogSource(name, driver, note=f"container {name} logs through the {driver} driver{where}: read them "
                                        f"there")


def last_lines(aws: ClientFactory, source: LogSource, limit: int, log_mask: LogMask, *, who: str) -> list[str]:
    """The last ``limit`` messages of ``source``'s awslogs stream, oldest first, each masked; [] when the stream
    does not exist (yet). A failed call is an ActionError starting with ``who``."""
    assert source.group is not None and source.stream is not None
    try:
        answer = call(aws, "logs", "get_log_events", f"read log stream {source.stream} of group {source.group}",
                      who=who, region=source.region, logGroupName=source.group, logStreamName=source.stream,
                      limit=limit, startFromHead=False)
    except ActionError as exc:
        if exc.code == "ResourceNotFoundException":
            return []
        raise
    return [log_mask.line(str(event.get("message", "")).rstrip("\n")) for event in answer.get("events") or []]
