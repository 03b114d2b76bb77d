"""The Docker runner: each task's containers run as real containers on the local Docker engine.

:class:`DockerRunner` implements the rollout engine's ``Runner`` protocol. The engine decides what ECS would do
(start a task, stop it, count a failure); the runner does it with Docker and reports what it sees, so a smoke
check reaches a real process and a crashing image fails the way it fails on ECS:

- each container is ``ecsdeploy-<cluster>-<task id>-<container>``, labelled ``ecsdeploy.managed=true``,
  ``ecsdeploy.owner=<host>:<pid>``, ``ecsdeploy.cluster``, ``ecsdeploy.task``, ``ecsdeploy.container``, so
  ``docker ps --filter label=ecsdeploy.task=<id>`` finds a task's containers;
- the task definition's image, command, entryPoint, environment, secrets (read from the local Secrets Manager
  and SSM), portMappings (published on 127.0.0.1; a random host port where hostPort is 0 or absent),
  essential, dependsOn (START, COMPLETE, SUCCESS, HEALTHY), healthCheck (Docker's own health check, times
  divided by ``speed``), workingDirectory, user, dockerLabels, memory / memoryReservation,
  readonlyRootFilesystem and linuxParameters.initProcessEnabled are honoured, and containers do not share a
  network namespace (each is on Docker's default bridge);
- a container whose logConfiguration is awslogs has its stdout and stderr lines, with Docker's timestamps, copied
  to the local CloudWatch Logs as they come (``runners.awslogs``: group, region, stream
  ``prefix/container/task-id``), all of them before the container is reported STOPPED; when its group does not
  exist (and awslogs-create-group is not true) the task fails to start, as on Fargate;
- an image written as ECR spells it, ``<account>.dkr.ecr.<region>.amazonaws.com/<repository>...``, whose
  repository the local ECR has, is pulled from the local registry (``ecr_registry``), where that repository's
  images are: a task definition written for ECR runs unchanged (LocalStack resolves its ECR host the same way);
- images of the local registry (and any ``127.0.0.1`` / ``localhost`` registry) are always pulled, others only
  when the engine does not have them (ECS_IMAGE_PULL_BEHAVIOR=prefer-cached): a pull that fails is
  ``CannotPullContainerError``; a secret that cannot be read is ``ResourceInitializationError``, a container
  Docker cannot start ``CannotStartContainerError``;
- stopping a task sends SIGTERM (or the image's stop signal) to its containers, dependents first, then
  SIGKILL to those still running after ``stopTimeout`` (divided by ``speed``);
- a task's containers are removed when it is released (STOPPED); :meth:`DockerRunner.close` removes every
  container it started, and a new runner removes containers left by a process of this host that is gone.

Every Docker call runs in the task's own thread; ``poll`` only reads what the thread last saw, so the engine
never waits for Docker under its lock. Example::

    runner = DockerRunner(speed=10)
    engine = RolloutEngine(runner=runner, clock=RealClock(speed=10))
"""

from __future__ import annotations

import dataclasses
import datetime
import http.client
import logging
import os
import socket
import threading
import time
import urllib.parse
import uuid
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

from .. import moto_state
from ..clock import Timings
from . import awslogs
from .base import (
    ContainerPhase,
    ContainerSpec,
    ContainerState,
    HealthStatus,
    TaskSpec,
    check_runner_name,
    split_ecr_image,
    split_reference,
)

log = logging.getLogger(__name__)

__all__ = ["DOCKER_TIMINGS", "DockerRunner", "docker_available", "docker_client", "read_secret",
           "remove_images_of", "resolve_runner"]

#: The engine's timings with real containers: a task without container health checks counts as healthy after 5
#: simulated seconds RUNNING (ECS waits 40 s; the simulated runner's 0.4 s is sooner than a process that dies at
#: start is seen dying, which would make a crashing release look healthy and the circuit breaker never trip).
DOCKER_TIMINGS = Timings(healthy_grace=5.0)
RunnerName = Literal["simulated", "docker"]
MANAGED = "ecsdeploy.managed"
OWNER = "ecsdeploy.owner"
RUNNER = "ecsdeploy.runner"
POLL_INTERVAL = 0.2
_CONDITIONS = ("START", "COMPLETE", "SUCCESS", "HEALTHY")
_HEALTH: dict[str, HealthStatus] = {"healthy": "HEALTHY", "unhealthy": "UNHEALTHY"}


def docker_client(timeout: float | None = 60) -> Any:
    """A Docker SDK client from the environment (DOCKER_HOST...), or None when the SDK is missing."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's own imports, not ours
            import docker
    except ImportError:  # pragma: no cover - docker is a dependency
        return None
    return docker.from_env(timeout=timeout, max_pool_size=32)


def docker_available(timeout: float = 2.0) -> bool:
    """True when a Docker engine answers ``GET /_ping`` within ``timeout`` seconds (DOCKER_HOST, else the
    default socket); the SDK answers for hosts other than unix:// and tcp://."""
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    parsed = urllib.parse.urlsplit(host)
    try:
        if parsed.scheme == "unix":
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(parsed.path)
                sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                return sock.recv(64).split(b" ", 2)[1:2] == [b"200"]
        if parsed.scheme in ("tcp", "http") and not os.environ.get("DOCKER_TLS_VERIFY"):
            connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port or 2375,
                                                    timeout=timeout)
            try:
                connection.request("GET", "/_ping")
                return connection.getresponse().status == 200
            finally:
                connection.close()
        client = docker_client(timeout=timeout)
        if client is None:
            return False
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no socket, permission denied, a daemon that does not answer
        return False


def resolve_runner(choice: str, *, fake_clock: bool = False) -> RunnerName:
    """Which runner a LocalAWS uses for ``choice`` (``auto``, ``simulated`` or ``docker``): ``auto`` is Docker
    when an engine answers, unless time is a fake clock (real containers cannot follow it), else simulated.
    A ValueError names a choice that is not one of them."""
    if check_runner_name(choice) == "auto":
        return "docker" if not fake_clock and docker_available() else "simulated"
    return "docker" if choice == "docker" else "simulated"


def remove_images_of(registry_host: str) -> None:
    """Remove the Docker engine's images pulled from or tagged for ``registry_host`` (a registry that is gone)."""
    client = docker_client(timeout=30)
    if client is None:
        return
    try:
        for image in client.api.images(name=f"{registry_host}/*"):
            for reference in [*(image.get("RepoTags") or []), *(image.get("RepoDigests") or [])]:
                if reference.startswith(f"{registry_host}/"):
                    try:
                        client.api.remove_image(reference, noprune=False)
                    except Exception:  # in use by a container someone else runs, or already gone
                        log.debug("could not remove image %s", reference, exc_info=True)
    except Exception:
        log.debug("could not list the images of %s", registry_host, exc_info=True)
    finally:
        client.close()


def read_secret(task_arn: str, value_from: str) -> str:
    """A task's secret from the local Secrets Manager or SSM, as ECS reads it: a Secrets Manager ARN (optionally
    ``:json-key:version-stage:version-id`` after the secret's name) or an SSM parameter (ARN, or name in the
    task's region). Raises an exception whose text says what is missing."""
    import json

    _, _, _, task_region, task_account, *_ = (task_arn.split(":") + [""] * 6)[:6]
    parts = value_from.split(":")
    if value_from.startswith("arn:") and len(parts) >= 7 and parts[2] == "secretsmanager":
        region, account = parts[3], parts[4]
        secret_id = ":".join(parts[:7])
        json_key, stage, version = (parts[7:10] + ["", "", ""])[:3]
        text = moto_state.secret_string(account, region, secret_id, version_id=version or None,
                                        version_stage=stage or None)
        if text is None:
            raise LookupError(f"secret {secret_id} has no SecretString")
        if json_key:
            value = json.loads(text).get(json_key)
            if value is None:
                raise LookupError(f"secret {secret_id} has no key {json_key}")
            return str(value)
        return str(text)
    region, account = task_region, task_account
    if value_from.startswith("arn:") and len(parts) >= 6 and parts[2] == "ssm":
        region, account = parts[3], parts[4]
    value = moto_state.ssm_parameter_value(account, region, value_from)  # a SecureString decrypted, as ECS does
    if value is None:
        raise LookupError(f"SSM parameter {value_from} does not exist")
    return value


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_is_gone(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's (a shared engine): not ours to judge
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class _Container:
    spec: ContainerSpec
    phase: ContainerPhase = "PULLING"
    exit_code: int | None = None
    reason: str | None = None
    health: HealthStatus = "UNKNOWN"
    image_digest: str | None = None
    docker_id: str | None = None
    ports: dict[int, int] = field(default_factory=dict)  # containerPort -> host port on 127.0.0.1
    started: bool = False
    forwarder: threading.Thread | None = None  # copies the container's output to CloudWatch Logs (awslogs)

    def state(self) -> ContainerState:
        return ContainerState(self.phase, self.exit_code, self.reason, self.health, self.image_digest, self.docker_id)


@dataclass
class _Task:
    spec: TaskSpec
    containers: dict[str, _Container]
    stop: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


class DockerRunner:
    """Runs task containers on the local Docker engine; see the module docstring.

    ``speed`` divides the times Docker counts itself (health check interval, timeout and start period; stop
    timeouts), to match a LocalAWS whose clock runs ``speed`` times faster. ``secrets`` resolves a secret's
    ``valueFrom`` for a task (its ARN) to the value; LocalAWS passes one that reads moto's Secrets Manager and
    SSM. ``registry_hosts`` are registries always pulled from (the local registry). ``ecr_registry`` (the
    local registry's ``127.0.0.1:PORT``) is where images referenced by an ECR URI of the local ECR are pulled
    from (:meth:`local_image`).

    Example::

        runner = DockerRunner()
        runner.host_port(task_id, "app", 8080)     # where 127.0.0.1 reaches the task's app:8080
    """

    def __init__(
        self,
        *,
        speed: float = 1.0,
        secrets: Any = None,
        registry_hosts: tuple[str, ...] = (),
        ecr_registry: str | None = None,
        client: Any = None,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed!r}")
        self.speed = float(speed)
        self.secrets = secrets
        self.registry_hosts = registry_hosts
        self.ecr_registry = ecr_registry
        self.client = client if client is not None else docker_client()
        if self.client is None:  # pragma: no cover - docker is a dependency
            raise RuntimeError("the Docker runner needs the docker Python package.")
        self._log_client: Any = None  # without a read timeout: a container may print nothing for minutes
        self.owner = _owner()
        self.id = uuid.uuid4().hex
        self._tasks: dict[str, _Task] = {}
        self._threads: list[threading.Thread] = []  # every task's, released or not: close() joins them all
        self._lock = threading.Lock()
        self._closed = False
        self.remove_leftovers()

    # -- housekeeping --------------------------------------------------------------------------------------

    def containers(self, *, all_owners: bool = False) -> list[Any]:
        """The containers this runner started (every runner's with ``all_owners``), running or not."""
        label = MANAGED + "=true" if all_owners else f"{RUNNER}={self.id}"
        # ignore_removed: another process may remove one of them between listing and inspecting it
        return list(self.client.containers.list(all=True, filters={"label": label}, ignore_removed=True))

    def remove_leftovers(self) -> int:
        """Remove containers of earlier runs whose process (on this host) is gone; how many were removed."""
        removed = 0
        for container in self.containers(all_owners=True):
            owner = (container.labels or {}).get(OWNER, "")
            if _owner_is_gone(owner):
                self._remove(container.id)
                removed += 1
        if removed:
            log.info("removed %d container(s) left by an earlier run", removed)
        return removed

    def _remove(self, docker_id: str) -> None:
        try:
            self.client.api.remove_container(docker_id, force=True, v=True)
        except Exception as exc:
            if getattr(exc, "status_code", None) != 404:
                log.debug("could not remove container %s", docker_id, exc_info=True)

    # -- the Runner protocol -------------------------------------------------------------------------------

    def local_image(self, image: str) -> str:
        """Where Docker finds ``image``: ``<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest]``
        becomes ``<ecr_registry>/<repository>...`` when the local ECR has that repository in that account and
        region; any other reference is returned as given."""
        ecr = split_ecr_image(image)
        if ecr is None or self.ecr_registry is None:
            return image
        account, region, path = ecr
        if not moto_state.ecr_has_repository(account, region, split_reference(path)[0]):
            return image
        return f"{self.ecr_registry}/{path}"

    def start(self, spec: TaskSpec, now: float) -> None:
        containers = [dataclasses.replace(c, image=self.local_image(c.image)) for c in spec.containers]
        task = _Task(spec, {c.name: _Container(c) for c in containers})
        task.thread = threading.Thread(target=self._run, args=(task,), name=f"ecsdeploy-task-{spec.task_id[:8]}",
                                       daemon=True)
        with self._lock:
            if self._closed:
                return
            self._tasks[spec.task_id] = task
            self._threads = [thread for thread in self._threads if thread.is_alive()] + [task.thread]
        task.thread.start()

    def poll(self, task_id: str, now: float) -> dict[str, ContainerState]:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return {}
            return {name: container.state() for name, container in task.containers.items()}

    def next_change(self, task_id: str, now: float) -> float | None:
        return None

    def stop(self, task_id: str, now: float) -> None:
        with self._lock:
            task = self._tasks.get(task_id)
        if task is not None:
            task.stop.set()

    def release(self, task_id: str) -> None:
        with self._lock:
            task = self._tasks.pop(task_id, None)
        if task is not None:
            task.stop.set()
            task.released.set()

    def close(self) -> None:
        """Stop every task's thread and remove every container this process started."""
        with self._lock:
            self._closed = True
            tasks = list(self._tasks.values())
            self._tasks.clear()
            threads, self._threads = self._threads, []
        for task in tasks:
            task.stop.set()
            task.released.set()
        for thread in threads:
            thread.join(timeout=10)
        for container in self.containers():
            self._remove(container.id)
        self.client.close()
        if self._log_client is not None:
            self._log_client.close()

    # -- what the load balancer asks ------------------------------------------------------------------------

    def host_port(self, task_id: str, container: str, container_port: int) -> int | None:
        """The 127.0.0.1 port that reaches ``container_port`` of a running container of the task."""
        with self._lock:
            task = self._tasks.get(task_id)
            found = task.containers.get(container) if task is not None else None
            if found is None or found.phase != "RUNNING":
                return None
            return found.ports.get(int(container_port))

    # -- one task's life, in its own thread ----------------------------------------------------------------------

    def _set(self, container: _Container, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(container, key, value)

    def _fail_all(self, task: _Task, reason: str | None, only: _Container | None = None) -> None:
        """Report the task's containers that never ran as STOPPED: with ``reason`` (a failure to start; with
        ``only``, that container's and the others without one), or without one (stopped before they ran)."""
        for container in task.containers.values():
            if not container.started and container.phase != "STOPPED":
                given = reason if only is None or container is only else None
                self._set(container, phase="STOPPED", reason=given)

    def _run(self, task: _Task) -> None:
        try:
            self._launch(task)
            self._watch(task)
        except Exception as exc:  # a Docker failure no branch foresaw: the task fails to start, visibly
            log.exception("task %s failed in the Docker runner", task.spec.task_id)
            self._fail_all(task, f"CannotStartContainerError: {exc}")
        finally:
            task.released.wait()
            for container in task.containers.values():
                if container.docker_id is not None:
                    self._remove(container.docker_id)

    def _launch(self, task: _Task) -> None:
        try:
            environment = {name: self._environment(task, c.spec) for name, c in task.containers.items()}
        except _SecretError as exc:
            self._fail_all(task, f"ResourceInitializationError: unable to pull secrets or registry auth: {exc}")
            return
        for container in task.containers.values():
            if task.stop.is_set():
                self._fail_all(task, None)
                return
            error = self._pull(container)
            if error is not None:
                self._fail_all(task, error, only=container)
                return
            self._set(container, phase="PULLED")
        pending = list(task.containers.values())
        while pending and not task.stop.is_set():
            ready, blocked = [], None
            for container in pending:
                verdict = self._dependencies(task, container)
                if verdict is True:
                    ready.append(container)
                elif isinstance(verdict, str):
                    blocked = (container, verdict)
            if blocked is not None:
                container, why = blocked
                self._fail_all(task, f"CannotStartContainerError: {why}", only=container)
                return
            for container in ready:
                pending.remove(container)
                error = self._create_and_start(task, container, environment[container.spec.name])
                if error is not None:
                    self._fail_all(task, error, only=container)
                    return
            if pending and not ready:
                self._refresh(task)
                task.stop.wait(POLL_INTERVAL)
        if task.stop.is_set():
            self._fail_all(task, None)

    def _watch(self, task: _Task) -> None:
        while not task.stop.is_set():
            self._refresh(task)
            task.stop.wait(POLL_INTERVAL)
        self._stop_containers(task)
        while not task.released.is_set():
            self._refresh(task)
            task.released.wait(POLL_INTERVAL)

    def _refresh(self, task: _Task) -> None:
        for container in task.containers.values():
            if container.docker_id is None or container.phase == "STOPPED":
                continue
            try:
                info = self.client.api.inspect_container(container.docker_id)
            except Exception as exc:
                if getattr(exc, "status_code", None) == 404:  # removed from outside (docker rm -f)
                    self._set(container, phase="STOPPED", exit_code=137)
                continue
            state = info.get("State") or {}
            changes: dict[str, Any] = {}
            if state.get("Status") in ("exited", "dead"):
                if container.forwarder is not None:  # every line is in CloudWatch Logs before ECS says STOPPED
                    container.forwarder.join(timeout=5)
                changes.update(phase="STOPPED", exit_code=int(state.get("ExitCode", 0)))
                if state.get("OOMKilled"):
                    changes["reason"] = "OutOfMemoryError: Container killed due to memory usage"
            elif state.get("Running"):
                changes["phase"] = "RUNNING"
            health = (state.get("Health") or {}).get("Status")
            if health is not None:
                changes["health"] = _HEALTH.get(health, "UNKNOWN")
            if not container.ports:
                changes["ports"] = _published(info)
            self._set(container, **changes)

    def _stop_containers(self, task: _Task) -> None:
        """SIGTERM the running containers (those that others depend on last), SIGKILL after stopTimeout."""
        self._fail_all(task, None)  # never started: stopped without an exit code or a reason
        order = _stop_order(task)
        deadlines: dict[str, float] = {}
        for container in order:
            if container.docker_id is None or container.phase == "STOPPED":
                continue
            try:
                info = self.client.api.inspect_container(container.docker_id)
                signal = (info.get("Config") or {}).get("StopSignal") or "SIGTERM"
                self.client.api.kill(container.docker_id, signal=signal)
            except Exception:
                log.debug("could not signal %s", container.docker_id, exc_info=True)
            deadlines[container.spec.name] = time.monotonic() + container.spec.stop_timeout / self.speed
        while not task.released.is_set():
            self._refresh(task)
            running = [c for c in order if c.docker_id is not None and c.phase != "STOPPED"]
            if not running:
                return
            for container in running:
                if time.monotonic() >= deadlines.get(container.spec.name, 0):
                    try:
                        self.client.api.kill(container.docker_id, signal="SIGKILL")
                    except Exception:
                        log.debug("could not kill %s", container.docker_id, exc_info=True)
            task.released.wait(POLL_INTERVAL / 2)

    # -- the steps ------------------------------------------------------------------------------------------------

    def _always_pull(self, image: str) -> bool:
        host = image.split("/", 1)[0] if "/" in image else ""
        return host in self.registry_hosts or host.startswith(("127.", "localhost"))

    def _pull(self, container: _Container) -> str | None:
        """Pull the container's image as ECS would; None, or the CannotPullContainerError reason."""
        image = container.spec.image
        name, tag, digest = split_reference(image)
        reference = digest or tag or "latest"
        local = self._image(image)
        if local is None or self._always_pull(image):
            try:
                for line in self.client.api.pull(name, tag=reference, stream=True, decode=True):
                    if isinstance(line, dict) and line.get("error"):
                        raise _PullError(str(line["error"]))
                local = self._image(image)
            except Exception as exc:
                explanation = getattr(exc, "explanation", None) or str(exc)
                if local is None:
                    return (f"CannotPullContainerError: pull image manifest has been retried 1 time(s): "
                            f"failed to resolve ref {image}: {explanation}")
                log.info("could not pull %s (%s); using the engine's copy", image, explanation)
        if local is None:
            return f"CannotPullContainerError: failed to resolve ref {image}: not found"
        found = digest
        if found is None:
            found = next((d.split("@", 1)[1] for d in local.get("RepoDigests") or []
                          if d.split("@", 1)[0] == name), None)
        self._set(container, image_digest=found)
        return None

    def _image(self, image: str) -> dict[str, Any] | None:
        try:
            info: dict[str, Any] = self.client.api.inspect_image(image)
            return info
        except Exception:
            return None

    def _dependencies(self, task: _Task, container: _Container) -> bool | str | None:
        """True when every dependsOn condition holds, a reason when one never can, None to wait."""
        waiting = False
        for dependency in container.spec.definition.get("dependsOn") or []:
            other = task.containers.get(str(dependency.get("containerName")))
            condition = str(dependency.get("condition") or "START").upper()
            if other is None or condition not in _CONDITIONS:
                return f"dependsOn {dependency!r} names no container of the task or no known condition"
            exited = other.phase == "STOPPED"
            if condition == "START":
                ok = other.started
            elif condition == "COMPLETE":
                ok = exited and other.started
            elif condition == "SUCCESS":
                if exited and other.started and other.exit_code not in (0, None):
                    return f"dependency {other.spec.name} exited with {other.exit_code}, expected SUCCESS"
                ok = exited and other.started
            else:
                if other.health == "UNHEALTHY" or (exited and other.started):
                    return f"dependency {other.spec.name} did not become HEALTHY"
                ok = other.health == "HEALTHY"
            if exited and not other.started:
                return f"dependency {other.spec.name} never started"
            waiting = waiting or not ok
        return None if waiting else True

    def _environment(self, task: _Task, spec: ContainerSpec) -> dict[str, str]:
        definition = spec.definition
        environment = {str(e["name"]): str(e.get("value", "")) for e in definition.get("environment") or []
                       if isinstance(e, dict) and "name" in e}
        for secret in definition.get("secrets") or []:
            if not isinstance(secret, dict) or "name" not in secret:
                continue
            value_from = str(secret.get("valueFrom") or "")
            if self.secrets is None:
                raise _SecretError(f"no secret store to read {value_from}")
            try:
                environment[str(secret["name"])] = str(self.secrets(task.spec.task_arn, value_from))
            except Exception as exc:
                raise _SecretError(f"unable to retrieve secret {value_from}: {exc}") from None
        return environment

    def _create_and_start(self, task: _Task, container: _Container, environment: dict[str, str]) -> str | None:
        spec, definition = container.spec, container.spec.definition
        name = f"ecsdeploy-{task.spec.cluster}-{task.spec.task_id}-{spec.name}"
        labels = {str(k): str(v) for k, v in (definition.get("dockerLabels") or {}).items()}
        labels.update({
            MANAGED: "true", OWNER: self.owner, RUNNER: self.id, "ecsdeploy.cluster": task.spec.cluster,
            "ecsdeploy.task": task.spec.task_id, "ecsdeploy.task-arn": task.spec.task_arn,
            "ecsdeploy.container": spec.name, "ecsdeploy.group": task.spec.group,
        })
        ports: dict[str, Any] = {}
        for mapping in definition.get("portMappings") or []:
            if not isinstance(mapping, dict) or not mapping.get("containerPort"):
                continue
            protocol = str(mapping.get("protocol") or "tcp").lower()
            ports[f"{int(mapping['containerPort'])}/{protocol}"] = ("127.0.0.1", int(mapping.get("hostPort") or 0)
                                                                    or None)
        kwargs: dict[str, Any] = {"name": name, "labels": labels, "environment": environment, "ports": ports,
                                  "detach": True}
        for key, target in (("command", "command"), ("entryPoint", "entrypoint")):
            if definition.get(key):
                kwargs[target] = list(definition[key])
        for key, target in (("workingDirectory", "working_dir"), ("user", "user"), ("hostname", "hostname")):
            if definition.get(key):
                kwargs[target] = str(definition[key])
        if definition.get("memory"):
            kwargs["mem_limit"] = f"{int(definition['memory'])}m"
        if definition.get("memoryReservation"):
            kwargs["mem_reservation"] = f"{int(definition['memoryReservation'])}m"
        if definition.get("readonlyRootFilesystem"):
            kwargs["read_only"] = True
        if (definition.get("linuxParameters") or {}).get("initProcessEnabled"):
            kwargs["init"] = True
        if spec.health_check:
            kwargs["healthcheck"] = _health_check(spec.health_check, self.speed)
        try:
            created = self.client.containers.create(spec.image, **kwargs)
        except Exception as exc:
            return f"CannotCreateContainerError: {getattr(exc, 'explanation', None) or exc}"
        self._set(container, docker_id=created.id)
        if task.stop.is_set():
            return None
        where = awslogs.destination(task.spec.task_arn, task.spec.task_id, spec, created.id)
        if where is not None:
            refused = awslogs.open_stream(where)
            if refused is not None:
                return refused
        try:
            created.start()
        except Exception as exc:
            return f"CannotStartContainerError: {getattr(exc, 'explanation', None) or exc}"
        self._set(container, started=True, phase="RUNNING")
        if where is not None:
            self._forward_logs(container, where)
        self._refresh(task)
        return None

    def _forward_logs(self, container: _Container, where: awslogs.Destination) -> None:
        """Copy the container's stdout and stderr lines to CloudWatch Logs, in a thread that ends with the
        container (Docker closes a followed log stream when the container stops)."""
        with self._lock:
            if self._log_client is None:
                self._log_client = docker_client(timeout=None)
            client = self._log_client
        docker_id = container.docker_id

        def forward() -> None:
            pending = b""
            try:
                for chunk in client.api.logs(docker_id, stdout=True, stderr=True, stream=True, follow=True,
                                             timestamps=True):
                    *lines, pending = (pending + chunk).split(b"\n")
                    awslogs.write(where, [docker_log_event(line) for line in lines if line])
                if pending:
                    awslogs.write(where, [docker_log_event(pending)])
            except Exception:  # the container was removed under the stream, or the engine went away
                log.debug("could not copy the logs of %s", docker_id, exc_info=True)

        thread = threading.Thread(target=forward, name=f"ecsdeploy-logs-{str(docker_id)[:8]}", daemon=True)
        container.forwarder = thread
        with self._lock:
            self._threads.append(thread)
        thread.start()


class _SecretError(Exception):
    pass


class _PullError(Exception):
    pass


def _health_check(check: dict[str, Any], speed: float) -> dict[str, Any]:
    """ECS's healthCheck as Docker's: the same command forms; seconds (ECS defaults 30/5/3/0) to ns / speed."""

    def ns(seconds: float) -> int:
        return max(int(seconds / speed * 1e9), 1_000_000)

    command = [str(part) for part in check.get("command") or []]
    result: dict[str, Any] = {
        "test": command,
        "interval": ns(float(check.get("interval", 30))),
        "timeout": ns(float(check.get("timeout", 5))),
        "retries": int(check.get("retries", 3)),
    }
    if check.get("startPeriod"):
        result["start_period"] = ns(float(check["startPeriod"]))
    return result


def docker_log_event(line: bytes) -> tuple[int, str]:
    """A line of ``docker logs --timestamps`` (``2026-01-31T12:00:00.123456789Z text``) as a CloudWatch Logs
    event: (epoch milliseconds, text); a line without a timestamp is stamped now."""
    text = line.decode("utf-8", errors="replace").rstrip("\r")
    stamp, _, message = text.partition(" ")
    head, _, fraction = stamp.rstrip("Z").partition(".")
    try:
        moment = datetime.datetime.fromisoformat(head).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return int(time.time() * 1000), text
    return int(moment.timestamp()) * 1000 + int((fraction + "000")[:3]), message


def _published(info: dict[str, Any]) -> dict[int, int]:
    ports: dict[int, int] = {}
    for key, bindings in ((info.get("NetworkSettings") or {}).get("Ports") or {}).items():
        port = key.split("/", 1)[0]
        for binding in bindings or []:
            if binding.get("HostPort") and port.isdigit():
                ports[int(port)] = int(binding["HostPort"])
                break
    return ports


def _stop_order(task: _Task) -> list[_Container]:
    """Containers that nothing depends on first, the dependencies of others after them."""
    depended = {str(d.get("containerName")) for c in task.containers.values()
                for d in c.spec.definition.get("dependsOn") or [] if isinstance(d, dict)}
    containers = list(task.containers.values())
    return [c for c in containers if c.spec.name not in depended] + [c for c in containers if c.spec.name in depended]
