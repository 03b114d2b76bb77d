"""The awslogs log driver as ECS runs it for both runners: where a container's output goes in CloudWatch Logs,
the log stream opened when the container is created, and the lines written to it.

A container definition with ``"logConfiguration": {"logDriver": "awslogs", "options": {...}}`` sends each line
its process writes to stdout or stderr to the moto CloudWatch Logs of the task's account (ECS developer guide,
"Send Amazon ECS logs to CloudWatch"; Docker's awslogs driver for the options):

- log group ``awslogs-group`` in region ``awslogs-region`` (the task's own region when the option is absent);
- log stream ``<awslogs-stream-prefix>/<container name>/<task id>``; without a prefix, the container's runtime
  id (the Docker daemon's container id), as on the EC2 launch type;
- the group must exist unless ``awslogs-create-group`` is true (``"true"``, as Docker parses booleans):
  otherwise the task fails to start, with Fargate's reason :data:`MISSING_GROUP`.

Lines are plain CloudWatch Logs events (``GetLogEvents``, ``FilterLogEvents``), one per line without its newline,
stamped in epoch milliseconds. Example::

    where = destination(spec.task_arn, spec.task_id, container, runtime_id)
    if where is not None and (reason := open_stream(where)) is None:
        write(where, [(1767225600000, "listening on :8080")])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import moto_state
from .base import ContainerSpec

#: The stoppedReason of a Fargate task whose awslogs group does not exist (awslogs-create-group not set).
MISSING_GROUP = ("ResourceInitializationError: failed to validate logger args: create stream has been retried 1 "
                 "times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log "
                 "group does not exist. : exit status 1")
_TRUE = ("1", "t", "T", "true", "TRUE", "True")  # Go's strconv.ParseBool, which Docker's awslogs driver uses


@dataclass(frozen=True)
class Destination:
    """Where one container's lines go: account, region, log group and stream; ``create_group`` is
    awslogs-create-group."""

    account: str
    region: str
    group: str
    stream: str
    create_group: bool = False


def destination(task_arn: str, task_id: str, container: ContainerSpec, runtime_id: str | None) -> Destination | None:
    """Where the container's output goes, or None when its logConfiguration is not awslogs with a group.
    ``task_arn`` gives the account and the default region; ``runtime_id`` names the stream without a prefix."""
    configuration = container.definition.get("logConfiguration")
    if not isinstance(configuration, dict) or configuration.get("logDriver") != "awslogs":
        return None
    given = configuration.get("options")
    options: dict[str, Any] = given if isinstance(given, dict) else {}
    group = str(options.get("awslogs-group") or "")
    if not group:
        return None
    _, _, _, task_region, account, *_ = (task_arn.split(":") + [""] * 6)[:6]
    prefix = str(options.get("awslogs-stream-prefix") or "")
    stream = f"{prefix}/{container.name}/{task_id}" if prefix else (runtime_id or task_id)
    region = str(options.get("awslogs-region") or task_region)
    return Destination(account, region, group, stream, str(options.get("awslogs-create-group", "")) in _TRUE)


def open_stream(where: Destination) -> str | None:
    """Create the log stream (and the group when allowed), as ECS does when it creates the container; None, or the
    reason the task fails to start (:data:`MISSING_GROUP`)."""
    opened = moto_state.logs_open_stream(where.account, where.region, where.group, where.stream,
                                         create_group=where.create_group)
    return None if opened else MISSING_GROUP


def write(where: Destination, events: Sequence[tuple[int, str]]) -> None:
    """Append ``events`` (epoch milliseconds, line) to the container's stream; a group deleted since the
    container started takes nothing, as the driver's writes then fail."""
    if events:
        moto_state.logs_put_events(where.account, where.region, where.group, where.stream, list(events))
