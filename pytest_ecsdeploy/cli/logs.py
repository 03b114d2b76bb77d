"""``ecsdeploy logs``: the last lines a service's containers wrote to CloudWatch Logs, masked.

The tasks read are ``--task ID`` (its id or ARN), else the service's RUNNING tasks, else (none running) the
last tasks that stopped. For each container: its awslogs stream read back (GetLogEvents), or one line saying
where its output went (FireLens, another driver, no log configuration). Exit 0, or 1 when the service or the
task is not there.
"""

from __future__ import annotations

import argparse

from ..actions.logs import DEFAULT_LINES, TaskLogReader
from ..actions.reads import describe_service
from ..actions.watch import TaskView
from ..errors import ActionError
from .common import (
    EXIT_OK,
    Output,
    add_common_arguments,
    describe_tasks,
    open_run,
    positive_int,
    show_task_logs,
    task_arns,
)

HELP = "show the last lines the service's containers wrote to CloudWatch Logs, masked"
DESCRIPTION = """\
Show the last lines each container of the service's tasks wrote to CloudWatch Logs (awslogs driver: stream
<awslogs-stream-prefix>/<container>/<task-id>), masked like all output. Without --task: the RUNNING tasks, or
when none runs, the last tasks that stopped. For FireLens or another log driver, one line says where the
output went.
"""
STOPPED_SHOWN = 3  # tasks shown when none is running


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, service="required")
    parser.add_argument("--task", metavar="ID", help="one task: its id or ARN (default: the running tasks)")
    parser.add_argument("--lines", type=positive_int, default=DEFAULT_LINES, metavar="N",
                        help="lines shown per container (default: %(default)s)")


def run(args: argparse.Namespace, out: Output) -> int:
    with open_run(args) as the_run:
        service = the_run.deployment.service(args.service)
        cluster = service.cluster or the_run.deployment.environment.cluster
        aws = the_run.aws()
        who = f"service '{service.service_name}'"
        describe_service(aws, cluster, service.service_name, who=who, required=True)
        if args.task:
            tasks = [TaskView.from_api(t) for t in describe_tasks(aws, cluster, [args.task], who)]
            if not tasks:
                raise ActionError(f"task '{args.task}' is not in cluster '{cluster}'.")
        else:
            tasks = [TaskView.from_api(t) for t in describe_tasks(
                aws, cluster, task_arns(aws, cluster, service.service_name, "RUNNING"), who)]
            if not tasks:
                stopped = [TaskView.from_api(t) for t in describe_tasks(
                    aws, cluster, task_arns(aws, cluster, service.service_name, "STOPPED"), who)]
                tasks = sorted(stopped, key=lambda t: t.stopping_at or 0.0, reverse=True)[:STOPPED_SHOWN]
                out.line(f"service {service.name} runs no task; the last {len(tasks)} that stopped:")
        reader = TaskLogReader(aws, who=who, region=the_run.deployment.environment.region)
        for task in tasks:
            out.line(f"{task.label()} {task.last_status}")
            show_task_logs(reader, task, args.lines, out, indent="  ")
        return EXIT_OK
