"""One-off tasks: run a revision once (a database migration, a cache warm-up) and fail unless it finished cleanly.

The ``ecs_task`` fixture is an :class:`EcsTask` bound to the scenario's service::

    def test_migrate(ecs_task, task_definition):
        result = ecs_task.run(task_definition.registered, command=["./manage.py", "migrate", "--noinput"])
        assert result.exit_code("app") == 0

:meth:`EcsTask.run` guards the account, reads the revision (DescribeTaskDefinition, unless it is a Revision from
``task_definition``, which carries its description) and the service (DescribeServices: the task is started with
the service's launch type or capacity providers, platform version and network configuration, so a Fargate task
lands in the subnets and security groups the service runs in), calls RunTask, then polls DescribeTasks until every
task is STOPPED, printing each state change as it arrives; a stopped task's line reads as in a rollout
(``task 1f2e… (api:4) STOPPED: EssentialContainerExited: Essential container in task exited, app exited 0``).
It fails, with one sentence naming the task, the container and what was found, when:

- any container of any task exited with a code other than 0 (sidecars included, not only the first container);
- a task never started (``stopCode`` TaskFailedToStart, ``CannotPullContainerError`` …): that is never a
  success, whatever the missing exit codes would suggest;
- an essential container has no exit code, or a container that never ran has a reason;
- a task was stopped by someone or something else (``UserInitiated``, ``SpotInterruption`` …);
- the tasks did not stop within ``timeout`` seconds: they are stopped (StopTask) before the error is raised.

The ``pytest_ecsdeploy_pre_checks`` and ``pytest_ecsdeploy_post_checks`` hooks are called with the action
``"ecs_task.run"``: before RunTask (a failing one stops the run before anything starts) and after the tasks
succeeded.

In ``--plan`` the reads run, the RunTask that would be made is printed and recorded, and nothing is started.
Environment overrides are printed by name only: their values may be secrets.
Checks are recorded under the action ``ecs_task.run``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ..arns import task_id
from ..aws import call, mask_account
from ..checks import Check
from ..context import ServiceContext
from ..errors import ActionError
from ..redact import mask_argv, mask_tree
from .logs import FailedTaskLogs
from .polling import PollSchedule, Seen, wait_for
from .reads import SERVICE_NOT_FOUND, describe_service, revision_target, seconds_argument
from .taskdef.revision import active_revision
from .watch import TaskView

__all__ = ["EcsTask", "TaskResult", "task_problems"]

RUN = "ecs_task.run"
WHO = "ecs_task.run()"  # how messages name this action
STARTED_BY = "pytest-ecsdeploy"
MAX_COUNT = 10  # RunTask starts at most 10 tasks per call
#: A task that stopped this way finished on its own; any other stopCode means it was interrupted.
FINISHED_STOP_CODE = "EssentialContainerExited"


@dataclass(frozen=True)
class TaskResult:
    """What :meth:`EcsTask.run` did. A run that returns succeeded: every container of every task exited 0.

    >>> result = ecs_task.run(task_definition.registered, command=["migrate"])
    >>> result.exit_code("app"), result.tasks[0].stop_code, short(result.revision)
    (0, 'EssentialContainerExited', 'api:4')

    ``tasks`` are the tasks as DescribeTasks showed them once STOPPED (:class:`~.watch.TaskView`: ``.arn``,
    ``.stop_code``, ``.stopped_reason``, ``.containers``, ``.exit_code(name)``). In ``--plan`` nothing ran:
    ``is_planned`` is True, ``tasks`` is empty and ``plan`` says what would have run.
    """

    revision: str | None
    tasks: tuple[TaskView, ...] = ()
    duration: float = 0.0
    plan: str | None = None
    lines: tuple[str, ...] = field(default=(), repr=False)  # the state changes printed while waiting

    @property
    def is_planned(self) -> bool:
        return self.plan is not None

    def exit_code(self, container: str) -> int | None:
        """The exit code of ``container`` in the one task that ran (``count=1``); ValueError otherwise."""
        if len(self.tasks) != 1:
            raise ValueError(f"exit_code() needs exactly one task, this run has {len(self.tasks)}; "
                             f"read result.tasks[i].exit_code(name) instead.")
        return self.tasks[0].exit_code(container)


def task_problems(task: TaskView, essentials: Mapping[str, bool]) -> list[str]:
    """Why a stopped one-off task did not succeed, one phrase each; an empty list means it did. ``essentials``
    maps the revision's container names to ``essential`` (a container not named counts as essential).

    >>> task_problems(TaskView.from_api({"taskArn": "arn:…/task/local/1f2e", "lastStatus": "STOPPED",
    ...     "stopCode": "EssentialContainerExited", "containers": [{"name": "app", "exitCode": 0},
    ...     {"name": "log", "exitCode": 3}]}), {"app": True, "log": False})
    ['container log exited 3']
    """
    problems: list[str] = []
    reason = task.stopped_reason or "no reason given"
    if task.stop_code == "TaskFailedToStart":
        named = [c.name for c in task.containers if c.exit_code is None and c.reason == task.stopped_reason]
        others = [f"{c.name}: {c.reason}" for c in task.containers
                  if c.exit_code is None and c.reason and c.reason != task.stopped_reason]
        whose = f"container {', '.join(named)}: " if named else ""
        problems.append(f"failed to start ({whose}{reason}" + "".join(f"; {o}" for o in others) + ")")
        return problems
    for container in task.containers:
        essential = essentials.get(container.name, True)
        if container.exit_code is not None and container.exit_code != 0:
            problems.append(f"container {container.describe()}")
        elif container.exit_code is None and (essential or container.reason):
            kind = "essential container" if essential else "container"
            problems.append(f"{kind} {container.name} has no exit code"
                            + (f" ({container.reason})" if container.reason else ""))
    if task.stop_code not in (FINISHED_STOP_CODE, None):
        problems.append(f"was stopped before it finished ({task.stop_code}: {reason})")
    elif task.stop_code is None and not task.containers:
        problems.append(f"stopped without a stop code or containers ({reason})")
    return problems


class EcsTask:
    """The ``ecs_task`` fixture: one-off tasks of the scenario service's revisions.

    Example::

        def test_migrate(ecs_task, task_definition):
            ecs_task.run(task_definition.registered, command=["./manage.py", "migrate"], timeout=900)

        def test_backfill(ecs_task):
            ecs_task.run("arn:aws:ecs:eu-west-1:111122223333:task-definition/api:41",
                         container="worker", environment={"BATCH": "2026-11"}, count=2)

    ``clock`` (monotonic seconds) and ``sleep`` replace ``time.monotonic`` and ``time.sleep`` in tests.
    """

    poll_first = 0.25  # seconds between the first looks at the task
    poll_max = 5.0  # never slower than this
    progress_every = 30.0  # print where the tasks stand when nothing else was printed for this long

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ctx = ctx
        self._clock = clock
        self._sleep = sleep
        self.last: TaskResult | None = None  # the last run()'s

    @property
    def cluster(self) -> str:
        return self.ctx.cluster

    def run(
        self,
        revision_or_arn: Any,
        *,
        command: Sequence[str] | None = None,
        container: str | None = None,
        environment: Mapping[str, str] | None = None,
        timeout: float | None = None,
        count: int = 1,
    ) -> TaskResult:
        """Run ``revision_or_arn`` (a Revision from ``task_definition.register()``, or a task-definition ARN or
        ``family:revision``) ``count`` times with the service's network configuration, wait until every task
        stopped, and return the result; ActionError when a task did not finish cleanly (see the module docstring).

        ``command`` (a list, as in a container definition) and ``environment`` (added to the container's own)
        override ``container``: by default the service's only ``containers`` entry, else the revision's only
        container. ``timeout`` defaults to ``--wait-timeout``.
        """
        __tracebackhide__ = True
        started = self._clock()
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_COUNT:
            raise ActionError(f"ecs_task.run(): count must be a whole number from 1 to {MAX_COUNT}, got {count!r}.")
        if command is not None and (isinstance(command, str) or not all(isinstance(p, str) for p in command)):
            raise ActionError(f"ecs_task.run(): command must be a list of strings, as in a container definition, "
                              f"got {mask_tree(command)!r}.")
        timeout = (seconds_argument(timeout, "ecs_task.run(timeout=...)") if timeout is not None
                   else float(self.ctx.wait_timeout))
        arn, label = revision_target(revision_or_arn, plan=self.ctx.options.plan, who=WHO, method=WHO, verb="run")
        checks = self.ctx.checks
        account = self.ctx.before_write()
        pinned = " (the environment's account_id)" if self.ctx.environment.account_id else " (account_id not pinned)"
        checks.passed(RUN, "pre", "account", f"caller account {mask_account(account)}{pinned}")
        essentials: dict[str, bool] = {}  # container name -> essential; empty for a revision that is only planned
        if arn is not None:
            described = active_revision(self.ctx, revision_or_arn, arn, label, action=RUN, who=WHO)
            essentials = {str(c.get("name")): bool(c.get("essential", True))
                          for c in described.payload.get("containerDefinitions") or []}
        target = self._container(container, essentials, label, command, environment)
        service = self._describe_service()
        params = self._run_task_params(arn, service, target, command, environment, count)
        what = self._describe_run(label, params, target, command, environment, count)
        them = "them" if count > 1 else "it"
        for name, ok, detail in self.ctx.hooks.pre_checks(RUN):
            checks.expect(ok, RUN, "pre", name, detail)
        if arn is None or self.ctx.options.plan:
            plan = f"would run {what}, and wait up to {timeout:g} s for {them} to stop"
            self.ctx.log.info(f"plan: {plan}")
            checks.skipped(RUN, "pre", "run task", f"plan: {plan}")
            self.last = TaskResult(revision=arn, duration=self._clock() - started, plan=plan)
            return self.last
        self.ctx.log.info(f"running {what}; waiting up to {timeout:g} s for {them} to stop")
        arns = self._start(params, label)
        lines: list[str] = []
        stopped = self._wait(arns, label, timeout, lines)
        self.ctx.record.timings["task"] = round(self._clock() - started, 3)
        failures = [(task, task_problems(task, essentials)) for task in stopped]
        failures = [(task, problems) for task, problems in failures if problems]
        if failures:
            failed_logs = FailedTaskLogs(self.ctx, who=WHO)
            for task, _ in failures:
                failed_logs.read(task)
            sentence = "; ".join(f"task {task.id} of {label}: {', '.join(problems)}" for task, problems in failures)
            self._fail("every container exited 0", f"{sentence}.")
        summary = "; ".join(
            f"task {task.id}: " + ", ".join(c.describe() or f"{c.name} has no exit code" for c in task.containers)
            for task in stopped
        )
        checks.passed(RUN, "post", "every container exited 0", summary)
        for name, ok, detail in self.ctx.hooks.post_checks(RUN):
            checks.expect(ok, RUN, "post", name, detail)
        self.last = TaskResult(revision=arn, tasks=tuple(stopped), duration=self._clock() - started,
                               lines=tuple(lines))
        return self.last

    # -- before RunTask -------------------------------------------------------------------------------------

    def _container(self, name: str | None, essentials: Mapping[str, bool], label: str,
                   command: Sequence[str] | None, environment: Mapping[str, str] | None) -> str | None:
        """The container that ``command`` and ``environment`` override (None when nothing is overridden)."""
        if name is None and command is None and not environment:
            return None
        if name is None:
            configured = self.ctx.service.containers or ()
            if len(configured) == 1:
                name = configured[0]
            elif len(essentials) == 1:
                name = next(iter(essentials))
            elif not essentials:
                return None  # a planned revision: its containers are not known yet
            else:
                raise ActionError(f"ecs_task.run(): {label} has the containers {', '.join(essentials)}; name the one "
                                  f"to override with container=\"…\".")
        if essentials and name not in essentials:
            raise ActionError(f"ecs_task.run(): {label} has no container '{name}'; its containers are "
                              f"{', '.join(essentials)}.")
        return name

    def _describe_service(self) -> dict[str, Any]:
        """The scenario's service: where its tasks run (launch type, capacity providers, network configuration)."""
        __tracebackhide__ = True
        name = self.ctx.service.service_name
        try:
            service = describe_service(self.ctx.aws, self.cluster, name, who=WHO, required=True)
        except ActionError as exc:
            if exc.code != SERVICE_NOT_FOUND:
                raise
            self._fail("service network configuration", f"{str(exc).rstrip('.')}; a one-off task runs where the "
                                                         f"service runs, so the service must exist.", phase="pre")
        assert service is not None
        network = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration")
        where = (f"subnets {', '.join(network.get('subnets') or []) or '-'}, security groups "
                 f"{', '.join(network.get('securityGroups') or []) or '-'}, assignPublicIp "
                 f"{network.get('assignPublicIp', 'DISABLED')}") if network else "no awsvpc configuration"
        self.ctx.checks.passed(RUN, "pre", "service network configuration", f"from service {name}: {where}")
        return service

    def _run_task_params(self, arn: str | None, service: Mapping[str, Any], container: str | None,
                         command: Sequence[str] | None, environment: Mapping[str, str] | None,
                         count: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "cluster": self.cluster, "taskDefinition": arn, "count": count,
            "startedBy": STARTED_BY,
        }
        strategy = service.get("capacityProviderStrategy")
        if strategy:
            params["capacityProviderStrategy"] = strategy
        elif service.get("launchType"):
            params["launchType"] = service["launchType"]
        if service.get("platformVersion") and (strategy or service.get("launchType") == "FARGATE"):
            params["platformVersion"] = service["platformVersion"]
        if service.get("networkConfiguration"):
            params["networkConfiguration"] = service["networkConfiguration"]
        if container is not None:
            override: dict[str, Any] = {"name": container}
            if command is not None:
                override["command"] = list(command)
            if environment:
                override["environment"] = [{"name": str(k), "value": str(v)} for k, v in environment.items()]
            params["overrides"] = {"containerOverrides": [override]}
        return params

    def _describe_run(self, label: str, params: Mapping[str, Any], container: str | None,
                      command: Sequence[str] | None, environment: Mapping[str, str] | None, count: int) -> str:
        """``1 task of api:4 on cluster local (FARGATE, subnets …) with app command [...]``."""
        where = [str(params.get("launchType") or "capacity providers " + ", ".join(
            str(s.get("capacityProvider")) for s in params.get("capacityProviderStrategy") or []))]
        network = (params.get("networkConfiguration") or {}).get("awsvpcConfiguration")
        if network:
            where.append(f"subnets {', '.join(network.get('subnets') or [])}")
            where.append(f"security groups {', '.join(network.get('securityGroups') or [])}")
        text = f"{count} task{'s' if count > 1 else ''} of {label} on cluster {self.cluster} ({', '.join(where)})"
        if container is not None and command is not None:
            text += f" with {container} command {mask_argv(command)}"
        if container is not None and environment:
            shown = ", ".join(str(k) for k in environment)  # names only: a value may be a secret
            text += f" and environment {shown}" if command is not None else f" with {container} environment {shown}"
        return text

    # -- RunTask and the wait -------------------------------------------------------------------------------

    def _start(self, params: dict[str, Any], label: str) -> list[str]:
        __tracebackhide__ = True
        answer = call(self.ctx.aws, "ecs", "run_task", f"run a task of {label}", who=WHO, **params)
        failures = answer.get("failures") or []
        arns = [str(t["taskArn"]) for t in answer.get("tasks") or []]
        if failures:
            if arns:
                self._stop(arns, "pytest-ecsdeploy: RunTask could not start every task")
            detail = "; ".join(f"{f.get('arn', '?')}: {f.get('reason', '?')}" + (f" ({f['detail']})"
                               if f.get("detail") else "") for f in failures)
            self._fail("tasks started", f"RunTask could not start {len(failures)} of {params['count']} tasks of "
                                        f"{label}: {detail}.")
        if len(arns) != params["count"]:
            self._fail("tasks started", f"RunTask started {len(arns)} tasks of {label}, not {params['count']}.")
        self.ctx.checks.passed(RUN, "pre", "tasks started", ", ".join(task_id(a) for a in arns))
        return arns

    def _wait(self, arns: list[str], label: str, timeout: float, lines: list[str]) -> list[TaskView]:
        """DescribeTasks until every task is STOPPED, printing each change; stops them and fails on timeout. A look
        that fails with a transient error is skipped, as in a rollout watch."""
        __tracebackhide__ = True
        latest: dict[str, TaskView] = {}

        def describe_tasks() -> dict[str, Any]:
            return call(self.ctx.aws, "ecs", "describe_tasks", f"describe the tasks of {label}", who=WHO,
                        cluster=self.cluster, tasks=arns)

        def judge(answer: dict[str, Any]) -> Seen[list[TaskView]]:
            new: list[str] = []
            for raw in answer.get("tasks") or []:
                task = TaskView.from_api(raw)
                new += _changes(latest.get(task.arn), task)
                latest[task.arn] = task
            for line in new:
                lines.append(line)
                self.ctx.log.info(line)
            done = len(latest) == len(arns) and all(t.is_stopped for t in latest.values())
            return Seen([latest[arn] for arn in arns] if done else None, changed=bool(new), printed=bool(new))

        def states(among: list[str]) -> str:
            return ", ".join(f"{task_id(a)} {latest[a].last_status if a in latest else 'not listed'}" for a in among)

        stopped = wait_for(describe_tasks, judge, timeout=timeout,
                           schedule=PollSchedule(self.poll_first, self.poll_max), clock=self._clock, sleep=self._sleep,
                           warn=self.ctx.log.warning,
                           progress=lambda: self.ctx.log.info(f"waiting for {label}: {states(arns)}"),
                           progress_every=self.progress_every)
        if stopped is not None:
            return stopped
        running = [a for a in arns if a not in latest or not latest[a].is_stopped]
        self._stop(running, f"pytest-ecsdeploy: not stopped within {timeout:g} s")
        self._fail("tasks stopped", f"{len(running)} task{'s' if len(running) > 1 else ''} of {label} did not stop "
                                    f"within {timeout:g} s ({states(running)}); stopped with StopTask.")

    def _stop(self, arns: list[str], reason: str) -> None:
        for arn in arns:
            try:
                call(self.ctx.aws, "ecs", "stop_task", f"stop task {task_id(arn)}", who=WHO, cluster=self.cluster,
                     task=arn, reason=reason)
            except ActionError as exc:  # the step fails anyway; a task left running is named, not hidden
                self.ctx.log.warning(str(exc))
            else:
                self.ctx.log.info(f"task {task_id(arn)} stopping: {reason}")

    # -- helpers --------------------------------------------------------------------------------------------

    def _fail(self, name: str, message: str, phase: str = "post") -> NoReturn:
        __tracebackhide__ = True
        self.ctx.checks.record(Check(RUN, phase, name, "failed", message))
        if self.ctx.record.outcome == "pending":  # before a rollout: the deployment of this service failed here
            self.ctx.record.set_outcome("failed", f"one-off task: {message}")
        raise ActionError(f"{WHO}: {message}")


def _changes(before: TaskView | None, now: TaskView) -> list[str]:
    """The lines a new look at a one-off task brings: a container that ended before its task did (its exit code or
    reason), the task's new status, and once the task is STOPPED the line a rollout prints for it too
    (:meth:`TaskView.stop_line`, with every container's exit code)."""
    if now.is_stopped:
        return [now.stop_line()] if before is None or not before.is_stopped else []
    lines: list[str] = []
    earlier = {c.name: c.describe() for c in before.containers} if before is not None else {}
    for container in now.containers:
        detail = container.describe()
        if detail and detail != earlier.get(container.name):
            lines.append(f"{now.label()} container {detail}")
    if before is None or before.last_status != now.last_status:
        lines.append(f"{now.label()} {now.last_status}")
    return lines
