"""One-off tasks: run a revision once (a database migration, a cache warm-up) and fail unless it finished cleanly.

The ``ecs_task`` fixture is an :class:`EcsTask` bound to the scenario's service::

    def test_migrate(ecs_task, task_definition):
        result = ecs_task.run(task_definition.registered, command=["./manage.py", "migrate", "--noinput"])
        assert result.exit_code("app") == 0

:meth:`EcsTask.run` guards the account, reads the revision (DescribeTaskDefinition) and the service
(DescribeServices: the task is started with the service's launch type or capacity providers, platform version
and network configuration, so a Fargate task lands in the subnets and security groups the service runs in),
calls RunTask, then polls DescribeTasks until every task is STOPPED, printing each state change as it arrives.
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

from ..arns import short_revision, task_id
from ..aws import Patience, call, mask_account
from ..checks import Check
from ..context import ServiceContext
from ..errors import ActionError
from .service import describe_service, revision_target
from .watch import PollSchedule

__all__ = ["ContainerExit", "EcsTask", "StoppedTask", "TaskResult", "task_problems"]

RUN = "ecs_task.run"
WHO = "ecs_task.run()"  # how messages name this action
STARTED_BY = "pytest-ecsdeploy"
MAX_COUNT = 10  # RunTask starts at most 10 tasks per call
#: A task that stopped this way finished on its own; any other stopCode means it was interrupted.
FINISHED_STOP_CODE = "EssentialContainerExited"


@dataclass(frozen=True)
class ContainerExit:
    """One container of a stopped task: its exit code (None when it never ran) and ECS's reason, if any."""

    name: str
    essential: bool
    exit_code: int | None
    reason: str | None = None

    def line(self) -> str:
        """``app exited 0``, ``log_router exited 3``, ``app never ran: CannotPullContainerError: …``."""
        if self.exit_code is not None:
            return f"{self.name} exited {self.exit_code}" + (f" ({self.reason})" if self.reason else "")
        return f"{self.name} has no exit code" + (f": {self.reason}" if self.reason else "")


@dataclass(frozen=True)
class StoppedTask:
    """A one-off task as DescribeTasks showed it once STOPPED."""

    arn: str
    revision: str
    stop_code: str | None
    stopped_reason: str | None
    containers: tuple[ContainerExit, ...]

    @property
    def id(self) -> str:
        return task_id(self.arn)

    def exit_code(self, container: str) -> int | None:
        """The exit code of ``container``; KeyError for a container the task does not have."""
        for entry in self.containers:
            if entry.name == container:
                return entry.exit_code
        raise KeyError(container)


@dataclass(frozen=True)
class TaskResult:
    """What :meth:`EcsTask.run` did. A run that returns succeeded: every container of every task exited 0.

    >>> result = ecs_task.run(task_definition.registered, command=["migrate"])
    >>> result.exit_code("app"), result.tasks[0].stop_code, short(result.revision)
    (0, 'EssentialContainerExited', 'api:4')

    In ``--plan`` nothing ran: ``is_planned`` is True, ``tasks`` is empty and ``plan`` says what would have run.
    """

    revision: str | None
    tasks: tuple[StoppedTask, ...] = ()
    duration: float = 0.0
    plan: str | None = None
    lines: tuple[str, ...] = field(default=(), repr=False)  # the state changes printed while waiting

    @property
    def is_planned(self) -> bool:
        return self.plan is not None

    @property
    def task_arns(self) -> tuple[str, ...]:
        return tuple(task.arn for task in self.tasks)

    def exit_code(self, container: str) -> int | None:
        """The exit code of ``container`` in the one task that ran (``count=1``); ValueError otherwise."""
        if len(self.tasks) != 1:
            raise ValueError(f"exit_code() needs exactly one task, this run has {len(self.tasks)}; "
                             f"read result.tasks[i].exit_code(name) instead.")
        return self.tasks[0].exit_code(container)


def stopped_task(task: Mapping[str, Any], essentials: Mapping[str, bool]) -> StoppedTask:
    """A DescribeTasks entry as a :class:`StoppedTask`; ``essentials`` maps container names to ``essential``."""
    containers = tuple(
        ContainerExit(
            name=str(c.get("name")),
            essential=essentials.get(str(c.get("name")), True),
            exit_code=c.get("exitCode"),
            reason=c.get("reason") or None,
        )
        for c in task.get("containers") or []
    )
    return StoppedTask(
        arn=str(task["taskArn"]),
        revision=str(task.get("taskDefinitionArn") or ""),
        stop_code=task.get("stopCode"),
        stopped_reason=task.get("stoppedReason"),
        containers=containers,
    )


def task_problems(task: StoppedTask) -> list[str]:
    """Why a stopped one-off task did not succeed, one phrase each; an empty list means it did.

    >>> task_problems(StoppedTask("arn:…/task/local/1f2e", "arn:…:api:4", "EssentialContainerExited",
    ...     "Essential container in task exited", (ContainerExit("app", True, 0), ContainerExit("log", False, 3))))
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
        if container.exit_code is not None and container.exit_code != 0:
            problems.append(f"container {container.name} exited {container.exit_code}"
                            + (f" ({container.reason})" if container.reason else ""))
        elif container.exit_code is None and (container.essential or container.reason):
            kind = "essential container" if container.essential else "container"
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
                              f"got {command!r}.")
        timeout = float(timeout if timeout is not None else self.ctx.wait_timeout)
        arn, label = revision_target(revision_or_arn, plan=self.ctx.options.plan, who=WHO, method=WHO, verb="run")
        checks = self.ctx.checks
        account = self.ctx.aws.ensure_account()
        pinned = " (the environment's account_id)" if self.ctx.environment.account_id else " (account_id not pinned)"
        checks.passed(RUN, "pre", "account", f"caller account {mask_account(account)}{pinned}")
        definition = self._describe_revision(arn, label) if arn is not None else None
        essentials = _essentials(definition)
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
        tasks = self._wait(arns, label, timeout, lines)
        stopped = [stopped_task(task, essentials) for task in tasks]
        self.ctx.record.timings["task"] = round(self._clock() - started, 3)
        failures = [(task, task_problems(task)) for task in stopped]
        failures = [(task, problems) for task, problems in failures if problems]
        if failures:
            sentence = "; ".join(f"task {task.id} of {label}: {', '.join(problems)}" for task, problems in failures)
            self._fail("every container exited 0", f"{sentence}.")
        summary = "; ".join(
            f"task {task.id}: " + ", ".join(c.line() for c in task.containers) for task in stopped
        )
        checks.passed(RUN, "post", "every container exited 0", summary)
        for name, ok, detail in self.ctx.hooks.post_checks(RUN):
            checks.expect(ok, RUN, "post", name, detail)
        self.last = TaskResult(revision=arn, tasks=tuple(stopped), duration=self._clock() - started,
                               lines=tuple(lines))
        return self.last

    # -- before RunTask -------------------------------------------------------------------------------------

    def _describe_revision(self, arn: str, label: str) -> dict[str, Any]:
        __tracebackhide__ = True
        definition = call(self.ctx.aws, "ecs", "describe_task_definition", f"describe task definition {label}",
                          who=WHO, taskDefinition=arn)["taskDefinition"]
        status = definition.get("status", "ACTIVE")
        self.ctx.checks.expect(status == "ACTIVE", RUN, "pre", "revision ACTIVE", f"{label} is {status}")
        return dict(definition)

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
        service = describe_service(self.ctx.aws, self.cluster, name, who=WHO)
        status = service.get("status") if service is not None else "MISSING"
        if service is None or status == "INACTIVE":
            detail = (f"service '{name}' is not in cluster '{self.cluster}' ({status}); a one-off task runs where the "
                      f"service runs, so the service must exist")
            self._fail("service network configuration", detail + ".", phase="pre")
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
            text += f" with {container} command {list(command)}"
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

    def _wait(self, arns: list[str], label: str, timeout: float, lines: list[str]) -> list[dict[str, Any]]:
        """DescribeTasks until every task is STOPPED, printing each change; stops them and fails on timeout. A look
        that fails with a transient error is skipped, as in a rollout watch."""
        __tracebackhide__ = True
        schedule = PollSchedule(self.poll_first, self.poll_max)
        patience = Patience(self.ctx.log.warning)
        deadline = self._clock() + timeout
        quiet_since = self._clock()
        seen: dict[str, tuple[Any, ...]] = {}
        latest: dict[str, dict[str, Any]] = {}

        def describe_tasks() -> dict[str, Any]:
            return call(self.ctx.aws, "ecs", "describe_tasks", f"describe the tasks of {label}", who=WHO,
                        cluster=self.cluster, tasks=arns)

        while True:
            changed = False
            answer = patience.look(describe_tasks)
            if answer is not None:
                for task in answer.get("tasks") or []:
                    latest[str(task["taskArn"])] = task
                    for line in _changes(task, seen):
                        changed = True
                        lines.append(line)
                        self.ctx.log.info(line)
                if changed:
                    quiet_since = self._clock()
                if len(latest) == len(arns) and all(t.get("lastStatus") in ("STOPPED", "DELETED")
                                                    for t in latest.values()):
                    return [latest[arn] for arn in arns]
            now = self._clock()
            if now >= deadline:
                running = [a for a in arns if latest.get(a, {}).get("lastStatus") not in ("STOPPED", "DELETED")]
                self._stop(running, f"pytest-ecsdeploy: not stopped within {timeout:g} s")
                states = ", ".join(f"{task_id(a)} {latest.get(a, {}).get('lastStatus', 'not listed')}"
                                   for a in running)
                self._fail("tasks stopped", f"{len(running)} task{'s' if len(running) > 1 else ''} of {label} did "
                                            f"not stop within {timeout:g} s ({states}); stopped with StopTask.")
            if now - quiet_since >= self.progress_every:
                states = ", ".join(f"{task_id(a)} {latest.get(a, {}).get('lastStatus', 'not listed')}"
                                   for a in arns)
                self.ctx.log.info(f"waiting for {label}: {states}")
                quiet_since = now
            self._sleep(min(schedule.next(changed), max(deadline - now, 0.0)))

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


def _essentials(definition: Mapping[str, Any] | None) -> dict[str, bool]:
    """Container name -> essential, in definition order (empty for a revision that is only planned)."""
    if definition is None:
        return {}
    return {str(c.get("name")): bool(c.get("essential", True)) for c in definition.get("containerDefinitions") or []}


def _changes(task: Mapping[str, Any], seen: dict[str, tuple[Any, ...]]) -> list[str]:
    """The lines a new look at ``task`` brings: container exits first, then its status (with why it stopped)."""
    arn = str(task["taskArn"])
    label = f"task {task_id(arn)} ({short_revision(task.get('taskDefinitionArn'))})"
    lines: list[str] = []
    printed_reasons: set[str] = set()
    for c in task.get("containers") or []:
        key = f"{arn}#{c.get('name')}"
        state = (c.get("lastStatus"), c.get("exitCode"), c.get("reason"))
        if seen.get(key) == state:
            continue
        seen[key] = state
        if c.get("exitCode") is not None:
            lines.append(f"{label} container {c.get('name')} exited {c.get('exitCode')}"
                         + (f" ({c['reason']})" if c.get("reason") else ""))
        elif c.get("reason"):
            lines.append(f"{label} container {c.get('name')}: {c['reason']}")
        if c.get("reason"):
            printed_reasons.add(str(c["reason"]))
    status = task.get("lastStatus")
    stop = (task.get("stopCode"), task.get("stoppedReason"))
    new_stop = any(stop) and seen.get(f"{arn}#stop") != stop
    if new_stop:
        seen[f"{arn}#stop"] = stop
    why = ": ".join(str(p) for p in (stop[0], None if stop[1] in printed_reasons else stop[1]) if p)
    if seen.get(arn) != (status,):
        seen[arn] = (status,)
        lines.append(f"{label} {status}" + (f": {why}" if new_stop and why else ""))
    elif new_stop:
        lines.append(f"{label} stopping: {why}")
    return lines
