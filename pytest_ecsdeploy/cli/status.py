"""``ecsdeploy status``: where each service stands, read-only.

Per service (every ``[services.NAME]``, or ``--service NAME``): the revision it runs, desired / running /
pending tasks, the run that holds its lease (when the lease table names one), each deployment with its
rolloutState, for a BLUE_GREEN, LINEAR or CANARY service the service deployment in progress with its lifecycle
stage and traffic weights (DescribeServiceDeployments, in the words of the deployment's watch, ``lifecycle.py``),
and the last tasks that stopped with a failure, with their stoppedReason, exit codes and, for containers that log
through awslogs, their last log lines, masked.
Exit 0 when every service was read, 1 when one is not in its cluster.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from typing import Any

from ..actions.lease import describe_lease, read_lease
from ..actions.lifecycle import ENDED, SHIFTING, StageWatch, strategy_of
from ..actions.logs import TaskLogReader
from ..actions.reads import describe_service
from ..actions.watch import TaskView, primary_deployment, running_revision, service_deployments
from ..arns import short_revision
from ..aws import ClientFactory
from ..errors import ActionError
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    Output,
    add_common_arguments,
    describe_tasks,
    open_run,
    positive_int,
    show_task_logs,
    task_arns,
)

HELP = "show each service's revision, tasks, deployments in progress and last failed tasks with their log lines"
DESCRIPTION = """\
Show where each service of the environment stands: the revision it runs, desired/running/pending tasks,
the run that holds its lease (DynamoDB table ecsdeploy-leases), every deployment with its rolloutState, for a
BLUE_GREEN, LINEAR or CANARY service the service deployment in progress (its lifecycle stage and traffic weights),
and the last tasks that stopped with a failure (stoppedReason, exit codes) with the last lines their containers
wrote to CloudWatch Logs (awslogs driver), masked. Reads only.
"""
FAILED_TASKS = 3  # the last failed tasks shown per service


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, service="optional")
    parser.add_argument("--lines", type=positive_int, default=10, metavar="N",
                        help="log lines shown per container of a failed task (default: %(default)s)")


def run(args: argparse.Namespace, out: Output) -> int:
    with open_run(args) as the_run:
        deployment = the_run.deployment
        names = [args.service] if args.service else list(deployment.services)
        services = [deployment.service(name) for name in names]  # ConfigError for a name not in the file
        aws = the_run.aws()
        code = EXIT_OK
        for service in services:
            cluster = service.cluster or deployment.environment.cluster
            who = f"service '{service.service_name}'"
            try:
                described = describe_service(aws, cluster, service.service_name, who=who, required=True)
            except ActionError as exc:
                out.line(f"service {service.name}: {exc}")
                code = EXIT_FAILED
                continue
            assert described is not None
            out.line(f"service {service.name} (cluster {cluster}): {short_revision(running_revision(described))}, "
                     f"{described.get('desiredCount', 0)} desired, {described.get('runningCount', 0)} running, "
                     f"{described.get('pendingCount', 0)} pending")
            lease = read_lease(aws, cluster, service.service_name, who=who)
            if lease is not None:
                out.line(f"  lease: {describe_lease(*lease, now=time.time())}")
            for d in service_deployments(described):
                state = f"rolloutState {d.rollout_state}" if d.rollout_state else "no rolloutState"
                reason = f": {d.reason}" if d.reason else ""
                out.line(f"  deployment {d.id} {d.status} {short_revision(d.revision)}, {state}, {d.running} of "
                         f"{d.desired} running, {d.pending} pending, {d.failed_tasks} failed{reason}")
            stage = stage_line(aws, cluster, service.service_name, described, who=who)
            if stage is not None:
                out.line(f"  {stage}")
            stopped = [TaskView.from_api(t) for t in describe_tasks(
                aws, cluster, task_arns(aws, cluster, service.service_name, "STOPPED"), who)]
            failed = sorted((t for t in stopped if t.is_failure), key=lambda t: t.stopping_at or 0.0,
                            reverse=True)[:FAILED_TASKS]
            if not failed:
                out.line("  no failed tasks among those ECS still lists")
                continue
            out.line(f"  last failed tasks ({len(failed)}):")
            reader = TaskLogReader(aws, who=who, region=deployment.environment.region)
            for task in failed:
                out.line(f"    {task.stop_line()}")
                show_task_logs(reader, task, args.lines, out, indent="      ")
        return code


def stage_line(aws: ClientFactory, cluster: str, name: str, described: Mapping[str, Any], *, who: str) -> str | None:
    """For a service (``described``: its DescribeServices entry) whose strategy is BLUE_GREEN, LINEAR or CANARY,
    the line the deployment's watch prints for its service deployment still in progress (stage, traffic weights,
    tasks, status); None for another strategy, or when no service deployment is in progress."""
    primary = primary_deployment(described)
    current = described.get("currentServiceDeployment")
    if strategy_of(described) not in SHIFTING or primary is None or primary.revision is None or not current:
        return None
    stages = StageWatch(aws, who=who, cluster=cluster, service=name, revision=primary.revision,
                        deployment_id=primary.id, hint=str(current))
    found = stages.look(described)
    if found is None or found.get("status") in ENDED:
        return None
    return stages.line(found)
