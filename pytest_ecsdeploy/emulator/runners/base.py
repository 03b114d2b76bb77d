"""What a runner is to the rollout engine: the ``Runner`` protocol and the specs and states it passes.

The engine owns the ECS view of a task (lastStatus, desiredStatus, stopCode, events); a runner owns its
containers. The engine calls :meth:`Runner.start` when a task leaves PROVISIONING, :meth:`Runner.poll` while it
waits for the containers to pull, run, report health or exit, :meth:`Runner.stop` when ECS would send SIGTERM
(SIGKILL follows after each container's ``stopTimeout``), and :meth:`Runner.release` once the task is STOPPED.
Every call carries the engine's simulated time ``now``; a runner of real containers ignores it and reports what
it sees (``runners.docker``), the simulated runner computes everything from it (``runners.simulated``).

The emulator's one parser of image references is here too (:func:`split_reference`, :func:`split_ecr_image`):
the engine, the runners and the load balancers read images with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

#: How a LocalAWS is told which runner to use: ``auto`` is Docker when an engine answers, else simulated.
RUNNER_NAMES = ("auto", "simulated", "docker")


def check_runner_name(name: str) -> str:
    """``name`` when it is one of RUNNER_NAMES; otherwise a ValueError that lists them."""
    if name not in RUNNER_NAMES:
        raise ValueError(f"'{name}' is not a task runner; choose one of: {', '.join(RUNNER_NAMES)}.")
    return name

HealthStatus = Literal["HEALTHY", "UNHEALTHY", "UNKNOWN"]
ContainerPhase = Literal["PULLING", "PULLED", "RUNNING", "STOPPED"]


@dataclass(frozen=True)
class ContainerSpec:
    """One container of a task as the runner needs it.

    ``aliases`` are other names of the same image the engine knows of (``repository:tag`` and ``sha256:``
    digest resolved through ECR), so an outcome set for ``web:v2`` also applies to ``.../web@sha256:...``.
    ``definition`` is the container definition with RunTask overrides applied (command, environment...).
    """

    name: str
    image: str
    essential: bool = True
    health_check: dict[str, Any] | None = None
    stop_timeout: float = 30.0
    aliases: tuple[str, ...] = ()
    definition: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskSpec:
    """A task to run: its id (32 hex digits), ARN, task definition and containers."""

    task_id: str
    task_arn: str
    cluster: str
    task_definition_arn: str
    containers: tuple[ContainerSpec, ...]
    group: str = ""
    started_by: str = ""


@dataclass(frozen=True)
class ContainerState:
    """What a runner reports for one container.

    ``phase`` STOPPED with ``exit_code`` None and a ``reason`` means the container never started (for
    example ``CannotPullContainerError: ...``); STOPPED with an exit code means it ran and exited.
    """

    phase: ContainerPhase
    exit_code: int | None = None
    reason: str | None = None
    health: HealthStatus = "UNKNOWN"
    image_digest: str | None = None
    runtime_id: str | None = None

    @property
    def failed_to_start(self) -> bool:
        return self.phase == "STOPPED" and self.exit_code is None and self.reason is not None


class Runner(Protocol):
    """Runs the containers of tasks for the engine. Calls are made under the engine's lock: keep them quick
    (a runner of real containers starts pulls and stops in the background and reports through ``poll``)."""

    def start(self, spec: TaskSpec, now: float) -> None:
        """Begin pulling and starting the task's containers."""

    def poll(self, task_id: str, now: float) -> dict[str, ContainerState]:
        """The current state of each container of the task, by container name."""
        ...

    def next_change(self, task_id: str, now: float) -> float | None:
        """The simulated time after ``now`` at which ``poll`` will answer differently, if the runner knows
        it (the simulated runner does); None when only polling can tell (real containers)."""
        ...

    def stop(self, task_id: str, now: float) -> None:
        """SIGTERM every container now, SIGKILL those still running after their ``stop_timeout``."""

    def release(self, task_id: str) -> None:
        """Forget the task (remove its containers); it is STOPPED."""

    def close(self) -> None:
        """Stop everything still running and free resources."""


def split_reference(image: str) -> tuple[str, str | None, str | None]:
    """``registry/path/repo:tag@sha256:d`` -> (``registry/path/repo``, ``tag``, ``sha256:d``)."""
    digest: str | None = None
    if "@" in image:
        image, digest = image.split("@", 1)
    tag: str | None = None
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        image, tag = image.rsplit(":", 1)
    return image, tag, digest


#: An image in ECR as task definitions name it: ``<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<path>``.
_ECR_IMAGE = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
                        r"(?P<path>.+)$")


def split_ecr_image(image: str) -> tuple[str, str, str] | None:
    """``<account>.dkr.ecr.<region>.amazonaws.com/team/web:1`` -> (account, region, ``team/web:1``): the ECR
    registry's account and region and the reference within it (split it with :func:`split_reference`); None
    when ``image`` is not in ECR."""
    match = _ECR_IMAGE.match(image)
    return (match["account"], match["region"], match["path"]) if match else None
