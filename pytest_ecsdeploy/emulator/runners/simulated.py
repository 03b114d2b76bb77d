"""The simulated runner: no process runs; each container's life is computed from the simulated time.

It computes everything from the engine's ``now``, which is what makes rollouts deterministic under a fake
clock. Outcomes are set per image::

    runner.set_image_behaviour("web:v2", "crash", exit_code=3, after=0.5)
    runner.set_image_behaviour("sha256:4f1c...", "pull-error")
    runner.set_image_behaviour("api:1.1", "exit", command=["migrate"])   # only containers run with that command
    runner.set_image_behaviour("web:v3", "crash", logs=["panic: no DATABASE_URL"])  # lines for CloudWatch Logs

Without a behaviour, a service's container runs healthy until it is stopped, and a container of any other task
(RunTask: a migration, a job) exits 0 after :data:`ONE_OFF`'s 0.5 s, as a job that did its work would.

A container whose logConfiguration is awslogs gets its log stream when its task starts, and a task whose log
group does not exist fails to start as on Fargate (``runners.awslogs``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..clock import Timings
from . import awslogs
from .base import ContainerSpec, ContainerState, HealthStatus, TaskSpec, split_reference

# Behaviours of the simulated runner: name -> {param: default}.
BEHAVIOURS: dict[str, dict[str, Any]] = {
    "healthy": {"logs": ()},
    "crash": {"exit_code": 1, "after": 0.2, "logs": ()},
    "unhealthy": {"after": 0.2, "logs": ()},
    "pull-error": {"reason": None},
    "exit": {"exit_code": 0, "after": 0.5, "logs": ()},
}


@dataclass(frozen=True)
class ImageBehaviour:
    """The outcome of every container that runs a matching image."""

    behaviour: str = "healthy"
    exit_code: int = 0
    after: float = 0.0
    reason: str | None = None
    logs: tuple[str, ...] = ()

    @classmethod
    def build(cls, behaviour: str, **params: Any) -> ImageBehaviour:
        if behaviour not in BEHAVIOURS:
            valid = ", ".join(BEHAVIOURS)
            raise ValueError(f"unknown image behaviour {behaviour!r}; choose one of: {valid}")
        allowed = BEHAVIOURS[behaviour]
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            valid = ", ".join(allowed) or "none"
            raise ValueError(
                f"unknown parameter(s) {', '.join(unknown)} for image behaviour {behaviour!r}; valid: {valid}"
            )
        values = {**allowed, **params}
        if "exit_code" in values and (
            not isinstance(values["exit_code"], int) or isinstance(values["exit_code"], bool)
        ):
            raise ValueError(f"exit_code must be an integer, got {values['exit_code']!r}")
        if "after" in values:
            after = values["after"]
            if not isinstance(after, (int, float)) or isinstance(after, bool) or after < 0:
                raise ValueError(f"after must be a non-negative number of seconds, got {after!r}")
        if values.get("reason") is not None and not isinstance(values["reason"], str):
            raise ValueError(f"reason must be a string, got {values['reason']!r}")
        if "logs" in values:
            lines = values["logs"]
            if isinstance(lines, str) or not isinstance(lines, (list, tuple)) or not all(
                    isinstance(line, str) for line in lines):
                raise ValueError(f"logs must be a list of strings, got {lines!r}")
            values["logs"] = tuple(lines)
        return cls(behaviour=behaviour, **values)


def image_keys(image: str) -> tuple[str, ...]:
    """The keys an image reference is matched by, most specific first: the full reference, its digest, and
    ``repository:tag`` (the last path component; tag ``latest`` when neither tag nor digest is given)."""
    name, tag, digest = split_reference(image)
    keys = [image]
    if digest:
        keys.append(digest)
    repository = name.rsplit("/", 1)[-1]
    if tag:
        keys.append(f"{repository}:{tag}")
    elif not digest:
        keys.append(f"{repository}:latest")
    return tuple(dict.fromkeys(keys))


def normalise_key(image: str) -> str:
    """How a reference given to ``set_image_behaviour`` is stored: a bare digest, ``repository:tag`` or as is."""
    image = image.strip()
    if not image:
        raise ValueError("image must not be empty")
    name, tag, digest = split_reference(image)
    if image.startswith("sha256:"):
        return image
    if digest and "/" not in name:
        return digest  # "web@sha256:..." means that digest
    if "/" not in name and not digest:
        return f"{name}:{tag or 'latest'}"
    return image


#: What a container of a task no service started does when no behaviour names its image: a job that ends well.
ONE_OFF = ImageBehaviour.build("exit", exit_code=0, after=0.5)


@dataclass
class _SimTask:
    spec: TaskSpec
    started: float
    behaviours: dict[str, ImageBehaviour]
    stop_requested: float | None = None
    logs: dict[str, awslogs.Destination] = field(default_factory=dict)  # by container: where its lines go
    refused: dict[str, str] = field(default_factory=dict)  # by container: why its log stream could not open
    written: set[str] = field(default_factory=set)  # containers whose lines are in CloudWatch Logs


class SimulatedRunner:
    """Runs nothing: each container's life is computed from the simulated time and its image's behaviour.

    Behaviours (set with :meth:`set_image_behaviour`; images not set are ``healthy``):

    - ``healthy``: pulls, runs, and (when the container defines a health check) reports HEALTHY;
    - ``crash`` (``exit_code`` 1, ``after`` 0.2 s): exits with ``exit_code`` ``after`` seconds after it started;
    - ``unhealthy`` (``after`` 0.2 s): runs, then reports UNHEALTHY (fails its container health checks);
    - ``pull-error`` (``reason``): the pull fails with CannotPullContainerError, the task never runs;
    - ``exit`` (``exit_code`` 0, ``after`` 0.5 s): runs to completion, for one-off tasks such as migrations.

    Every behaviour but ``pull-error`` takes ``logs``, the lines the container prints (a list of strings): a
    container whose logConfiguration is awslogs writes them to CloudWatch Logs at the simulated time it starts
    running (``healthy``, ``unhealthy``) or exits on its own (``crash``, ``exit``: a process's last words), none
    when it is stopped before then.

    A behaviour set with a ``command`` applies only to containers started with exactly that command (a RunTask
    override, or the container definition's own), and wins over the image's behaviour without one: a one-off
    task of an image (``command=["migrate"]``) can ``exit`` while the service's tasks of that image keep running.

    The behaviour is fixed when a task starts, as an image is: changing it affects tasks started later.
    """

    def __init__(self, timings: Timings | None = None) -> None:
        self.timings = timings or Timings()
        self._behaviours: dict[str, ImageBehaviour] = {}
        self._command_behaviours: dict[tuple[str, tuple[str, ...]], ImageBehaviour] = {}
        self._tasks: dict[str, _SimTask] = {}
        self._lock = threading.Lock()

    def set_image_behaviour(self, image: str, behaviour: str, *, command: Sequence[str] | None = None,
                            **params: Any) -> None:
        """Set the outcome of containers running ``image`` (full reference, ``repository:tag`` or digest), or
        only of those started with ``command`` (a list of strings, compared whole)."""
        built = ImageBehaviour.build(behaviour, **params)
        if command is not None and (isinstance(command, str) or not all(isinstance(p, str) for p in command)):
            raise ValueError(f"command must be a list of strings, got {command!r}")
        with self._lock:
            if command is None:
                self._behaviours[normalise_key(image)] = built
            else:
                self._command_behaviours[(normalise_key(image), tuple(command))] = built

    def behaviour_for(self, container: ContainerSpec, default: ImageBehaviour | None = None) -> ImageBehaviour:
        """The behaviour that applies to a container: the most specific key of its image or of an alias; else
        ``default`` (healthy, running until stopped)."""
        own = image_keys(container.image)
        digests = [k for k in own[1:] if k.startswith("sha256:")]
        digests += [a for a in container.aliases if a.startswith("sha256:")]
        tags = [k for k in own[1:] if not k.startswith("sha256:")]
        tags += [normalise_key(a) for a in container.aliases if not a.startswith("sha256:")]
        keys = (container.image, *digests, *tags)
        command = container.definition.get("command")
        with self._lock:
            if command and self._command_behaviours:
                started_with = tuple(str(part) for part in command)
                for key in keys:
                    if (key, started_with) in self._command_behaviours:
                        return self._command_behaviours[(key, started_with)]
            for key in keys:
                if key in self._behaviours:
                    return self._behaviours[key]
        return default if default is not None else ImageBehaviour()

    # Runner protocol -------------------------------------------------------------------------------------

    def start(self, spec: TaskSpec, now: float) -> None:
        # A service's task runs until it is stopped; any other task (RunTask: a migration) is a job that ends.
        default = None if spec.group.startswith("service:") else ONE_OFF
        behaviours = {c.name: self.behaviour_for(c, default) for c in spec.containers}
        task = _SimTask(spec=spec, started=now, behaviours=behaviours)
        for container in spec.containers:
            where = awslogs.destination(spec.task_arn, spec.task_id, container, _runtime_id(spec, container))
            if where is None or behaviours[container.name].behaviour == "pull-error":
                continue  # a container that is never created opens no log stream
            refused = awslogs.open_stream(where)
            if refused is None:
                task.logs[container.name] = where
            else:
                task.refused[container.name] = refused
        with self._lock:
            self._tasks[spec.task_id] = task

    def poll(self, task_id: str, now: float) -> dict[str, ContainerState]:
        with self._lock:
            task = self._tasks.get(task_id)
        if task is None:
            return {}
        self._write_logs(task, now)
        return {c.name: self._container_state(task, c, now) for c in task.spec.containers}

    def next_change(self, task_id: str, now: float) -> float | None:
        with self._lock:
            task = self._tasks.get(task_id)
        if task is None:
            return None
        times = [t for c in task.spec.containers for t in self._timeline(task, c) if t > now]
        return min(times) if times else None

    def stop(self, task_id: str, now: float) -> None:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is not None and task.stop_requested is None:
                task.stop_requested = now

    def release(self, task_id: str) -> None:
        with self._lock:
            self._tasks.pop(task_id, None)

    def close(self) -> None:
        with self._lock:
            self._tasks.clear()

    # The simulated life of one container ------------------------------------------------------------------

    def _running_at(self, task: _SimTask) -> float:
        return task.started + self.timings.pull + self.timings.container_start

    def _logs_at(self, task: _SimTask, container: ContainerSpec) -> float | None:
        """When the container writes its behaviour's ``logs``: as it starts running, or as it exits on its own;
        None when it writes none (no lines, no awslogs stream, or stopped before then)."""
        behaviour = task.behaviours[container.name]
        if not behaviour.logs or container.name not in task.logs or task.refused:
            return None
        running = self._running_at(task)
        at = running + behaviour.after if behaviour.behaviour in ("crash", "exit") else running
        stop = task.stop_requested
        if stop is not None and (stop < running or stop + min(self.timings.stopping, container.stop_timeout) < at):
            return None
        return at

    def _write_logs(self, task: _SimTask, now: float) -> None:
        for container in task.spec.containers:
            at = self._logs_at(task, container)
            if at is None or now < at:
                continue
            with self._lock:
                if container.name in task.written:
                    continue
                task.written.add(container.name)
            millis = int(at * 1000)
            awslogs.write(task.logs[container.name], [(millis, line) for line in task.behaviours[container.name].logs])

    def _timeline(self, task: _SimTask, container: ContainerSpec) -> list[float]:
        """Every simulated time at which this container's reported state changes."""
        t = self.timings
        pulled = task.started + t.pull
        running = self._running_at(task)
        behaviour = task.behaviours[container.name]
        times = [pulled, running]
        if behaviour.behaviour in ("crash", "exit", "unhealthy"):
            times.append(running + behaviour.after)
        if container.health_check is not None:
            times.append(running + t.health_check)
        if task.stop_requested is not None:
            times += [task.stop_requested, task.stop_requested + min(t.stopping, container.stop_timeout)]
        return times

    def _container_state(self, task: _SimTask, container: ContainerSpec, now: float) -> ContainerState:
        t = self.timings
        behaviour = task.behaviours[container.name]
        pulled = task.started + t.pull
        running = self._running_at(task)
        digest = next((a for a in (container.image, *container.aliases) if a.startswith("sha256:")), None)
        if digest is None and "@sha256:" in container.image:
            digest = container.image.split("@", 1)[1]
        runtime_id = _runtime_id(task.spec, container)
        stop = task.stop_requested
        if task.refused:  # a log stream that could not open: the task fails to start once its images are pulled
            if stop is not None and stop < pulled and now >= stop:
                return ContainerState("STOPPED")
            if now < pulled:
                return ContainerState("PULLING")
            return ContainerState("STOPPED", reason=task.refused.get(container.name), image_digest=digest)
        if behaviour.behaviour == "pull-error":
            if stop is not None and stop < pulled and now >= stop:
                return ContainerState("STOPPED")
            if now < pulled:
                return ContainerState("PULLING")
            reason = behaviour.reason or (
                f"CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve "
                f"ref {container.image}: {container.image}: not found"
            )
            return ContainerState("STOPPED", reason=reason)
        if stop is not None and stop < running:
            # Stopped before the container ever ran: it is removed without an exit code.
            if now >= stop:
                return ContainerState("STOPPED", image_digest=digest)
        if now < pulled:
            return ContainerState("PULLING")
        if now < running:
            return ContainerState("PULLED", image_digest=digest, runtime_id=runtime_id)
        exits_at: float | None = None
        exit_code = 0
        if behaviour.behaviour in ("crash", "exit"):
            exits_at, exit_code = running + behaviour.after, behaviour.exit_code
        if stop is not None:
            stopped_at = stop + min(t.stopping, container.stop_timeout)
            if exits_at is None or stopped_at < exits_at:
                # SIGTERM handled within stopTimeout: exit 0; otherwise SIGKILL: 137.
                exits_at, exit_code = stopped_at, (0 if t.stopping <= container.stop_timeout else 137)
        if exits_at is not None and now >= exits_at:
            return ContainerState("STOPPED", exit_code=exit_code, image_digest=digest, runtime_id=runtime_id)
        health: HealthStatus = "UNKNOWN"
        if behaviour.behaviour == "unhealthy" and now >= running + behaviour.after:
            health = "UNHEALTHY"
        elif container.health_check is not None and now >= running + t.health_check:
            health = "HEALTHY"
        return ContainerState("RUNNING", health=health, image_digest=digest, runtime_id=runtime_id)


def _runtime_id(spec: TaskSpec, container: ContainerSpec) -> str:
    """The simulated container's runtime id (Docker's container id on ECS)."""
    return f"{spec.task_id}-{container.name}"
