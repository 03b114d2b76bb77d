"""The embedded local AWS: moto's server in-process, with this project's ECS rollout engine in front of it.

One HTTP endpoint on 127.0.0.1 answers every AWS API that boto3 or the ``aws`` CLI sends it:

- ECS JSON requests (``X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Action>``) whose action the
  rollout engine owns (``ecs.responses.ACTIONS``: services and their tasks) go to the engine, with the caller's
  account (derived from the access key the way moto does it, so STS AssumeRole credentials into another
  account work) and region (from the SigV4 credential scope);
- control routes under ``/_ecsdeploy/`` serve a client in another process:
  ``POST /_ecsdeploy/image-behaviour`` (JSON ``{"image": ..., "behaviour": ..., <params>}``),
  ``GET /_ecsdeploy/state`` (``LocalAWS.snapshot()`` as JSON) and ``POST /_ecsdeploy/reset``
  (empty state, then the seed applied again; body ``{"seed": false}`` to leave it empty);
- everything else goes to moto (ECR, ECS clusters and task definitions, ELBv2, STS, IAM, Secrets Manager,
  SSM, CloudWatch Logs, ...); with the Docker runner (issue 7), ECR requests pass through the local registry's
  bridge (``registry.EcrBridge``) and ``POST /_ecsdeploy/registry/events`` takes the registry's push
  notifications.

moto keeps its state in process-global backends, so **one LocalAWS runs per process at a time**: starting
a second while one runs raises ``RuntimeError``; each start resets moto's state, so every LocalAWS starts
empty (then seeded).

``snapshot()`` is the whole state as plain JSON-able data. From moto it takes what identifies things and
what a deployment changes (names, ARNs, digests and tags, revisions and their status, container
definitions), never timestamps such as imagePushedAt; the rollout engine's part (``["ecs"]["engine"]``,
services with deployments and events, and tasks, keyed ``"<account>/<region>"``) holds simulated times
that move only when a write or a task's next state change happens. So two snapshots of a steady state
compare equal; random parts (target group and secret ARN suffixes, deployment and task ids) differ from
one start to the next.

The rollout engine is created on the first request that needs it (an ECS service or task action,
``set_image_behaviour``, a seeded service): importing it imports moto's ECS and EC2 models, which is most
of a cold start. ``reset()`` replaces it, so image behaviours set before a reset are gone after it.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import socketserver
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from . import moto_state
from .runners.base import RUNNER_NAMES

if TYPE_CHECKING:
    import boto3.session

    from .clock import Clock, Timings
    from .docker_backend import DockerBackend
    from .ecs.responses import RolloutEngine
    from .loadbalancer import LoadBalancers
    from .runners.base import Runner
    from .seed import Seed

__all__ = ["LocalAWS", "FAKE_ACCESS_KEY_ID", "FAKE_SECRET_ACCESS_KEY"]

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT_ID = "123456789012"  # moto's default account (moto.core.DEFAULT_ACCOUNT_ID)
DEFAULT_REGION = "us-east-1"
FAKE_ACCESS_KEY_ID = "testing"
FAKE_SECRET_ACCESS_KEY = "testing"  # a fake credential: the emulator checks no signature
ECS_TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
CONTROL_PREFIX = "/_ecsdeploy/"

# The same pattern moto's BaseResponse uses to find the access key in a SigV4/SigV2 Authorization header.
_ACCESS_KEY = re.compile(r"AWS.*(?P<access_key>(?<![A-Z0-9])[A-Z0-9]{20}(?![A-Z0-9]))[:/]")
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/(?P<region>[^/,\s]+)/")

_lock = threading.Lock()
_running: LocalAWS | None = None

StartResponse = Callable[..., Any]
Environ = dict[str, Any]


class LocalAWS:
    """A local AWS endpoint: moto's server plus the ECS rollout engine, in this process.

    Example::

        with LocalAWS(seed={"clusters": ["local"]}) as aws:
            ecs = aws.client("ecs")
            ecs.describe_clusters(clusters=["local"])["clusters"][0]["status"]   # 'ACTIVE'
            aws.set_image_behaviour("web:2.0.0", "crash", exit_code=1)
            print(aws.endpoint_url)                                               # http://127.0.0.1:PORT

    ``seed`` is a mapping in the seed schema (see ``pytest_ecsdeploy.emulator.seed``) or a parsed ``Seed``;
    relative paths in it are read from ``base_dir`` (default: the current directory) and ``${VAR}`` in
    templates is filled from ``variables``; it is created in ``region`` (the default region of
    ``client()`` too). ``clock`` (default: wall time scaled by ``speed``), ``timings`` and ``runner`` go to
    the rollout engine; ``runner`` is a ``Runner`` or a name: ``simulated`` (the simulated runner, the
    default), ``docker`` (task containers run on the local Docker engine, see ``runners.docker``) or ``auto``
    (Docker when an engine answers and ``clock`` is not given, else simulated).

    Each target group a service uses gets an HTTP endpoint on 127.0.0.1 (``load_balancer_url()``, see
    ``loadbalancer``; a seeded service's ``listen_port`` fixes its port): with Docker it forwards to the
    service's healthy tasks, with the simulated runner it answers for them as the example image would. With
    Docker (issue 7), LocalAWS also runs a local registry that ECR's repository URIs point at
    (``127.0.0.1:PORT/<repository>``, see ``registry``); seeded images are real.
    """

    def __init__(
        self,
        seed: Mapping[str, Any] | Seed | None = None,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        clock: Clock | None = None,
        timings: Timings | None = None,
        speed: float = 1.0,
        runner: Runner | str | None = None,
        base_dir: str | Path | None = None,
        variables: Mapping[str, str] | None = None,
        region: str = DEFAULT_REGION,
    ) -> None:
        if not isinstance(speed, (int, float)) or isinstance(speed, bool) or speed <= 0:
            raise ValueError(f"speed must be a positive number, got {speed!r}.")
        # issue 7: a runner by name is resolved at start(): "docker" (or "auto" with Docker) -> DockerRunner
        self._runner_name = _runner_by_name(runner) if isinstance(runner, str) else None
        if isinstance(runner, str):
            runner = None
        self._docker: DockerBackend | None = None
        self._balancers: LoadBalancers | None = None  # the simulated runner's; with Docker, DockerBackend's
        self._seed_source = seed
        self._port = port
        self._host = host
        self._clock = clock
        self._timings = timings
        self._speed = speed
        self._runner = runner
        self._base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
        self._variables: Mapping[str, str] = dict(variables or {})
        self._seed: Seed | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._engine: RolloutEngine | None = None
        self._engine_lock = threading.RLock()
        self._session: boto3.session.Session | None = None
        self._session_lock = threading.Lock()
        self.region = region
        self.account_id = DEFAULT_ACCOUNT_ID

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> LocalAWS:
        """Reset moto's state, start the engine and the HTTP server, apply the seed; returns ``self``."""
        global _running
        seed = self._parse_seed()  # a bad seed fails before anything starts
        with _lock:
            if self._server is not None:
                raise RuntimeError("this LocalAWS is already running; stop it before starting it again.")
            if _running is not None:
                where = f" at {_running.endpoint_url}" if _running.running else ""
                raise RuntimeError(
                    f"another LocalAWS is already running in this process{where}; "
                    "moto's state is process-global, so stop it first (one LocalAWS per process)."
                )
            _running = self
        try:
            self._start_server()
            self._start_docker(seed)  # issue 7: registry and load balancers when tasks run on Docker
            if self._docker is None:  # the simulated runner's endpoints: routes read at each request
                from .loadbalancer import LoadBalancers

                self._balancers = LoadBalancers(lambda: self._engine, ports=_listen_ports(seed))
            self._seed = seed
            if seed is not None:
                self._apply_seed(seed)
            self._load_balancers().update()  # seeded services' endpoints listen when start() returns
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (closing open connections), close the engine and join every thread; idempotent."""
        global _running
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            server.shutdown()
            server.server_close()
            server.close_connections()
        if thread is not None:
            thread.join()
        with self._engine_lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()
        docker, self._docker = self._docker, None
        if docker is not None:  # issue 7
            docker.stop()
        balancers, self._balancers = self._balancers, None
        if balancers is not None:
            balancers.stop()
        with _lock:
            if _running is self:
                _running = None

    def __enter__(self) -> LocalAWS:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The TCP port the endpoint listens on (the one chosen when ``port=0``)."""
        if self._server is None:
            raise RuntimeError("LocalAWS is not running; call start() or use it as a context manager.")
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``: pass it as ``endpoint_url`` to boto3 or as ``AWS_ENDPOINT_URL``."""
        return f"http://{_url_host(self._host)}:{self.port}"

    # -- clients and control -----------------------------------------------------------------------------

    def client(self, service_name: str, *, region_name: str | None = None, **kwargs: Any) -> Any:
        """A boto3 client for ``service_name`` on this endpoint, with fake credentials (account 123456789012).

        ``region_name`` defaults to ``self.region``; other keyword arguments go to ``Session.client``
        (for example ``aws_access_key_id`` from an STS AssumeRole answer, to act in another account).
        """
        with self._session_lock:
            if self._session is None:
                import boto3.session

                self._session = boto3.session.Session()
            kwargs.setdefault("aws_access_key_id", FAKE_ACCESS_KEY_ID)
            kwargs.setdefault("aws_secret_access_key", FAKE_SECRET_ACCESS_KEY)
            return self._session.client(
                service_name,
                region_name=region_name or self.region,
                endpoint_url=self.endpoint_url,
                **kwargs,
            )

    def set_image_behaviour(self, image: str, behaviour: str, **params: Any) -> None:
        """How the simulated runner treats tasks of ``image`` (full URI, ``repository:tag`` or digest).

        ``behaviour`` is ``healthy`` (default), ``crash`` (``exit_code``, ``after``), ``unhealthy``,
        ``pull-error`` or ``exit``; see the rollout engine for the parameters each takes.
        """
        self._require_engine().set_image_behaviour(image, behaviour, **params)

    def seed_service(self, params: Mapping[str, Any], *, region: str | None = None) -> dict[str, Any]:
        """Create a service already steady on its first revision (CreateService ``params``) in this account.

        This is how seeds create services; the answer is the service as DescribeServices shows it.
        """
        answer = self._require_engine().seed_service(self.account_id, region or self.region, dict(params))
        return dict(answer["service"])

    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-able data, free of wall-clock-only fields (see the module docstring)."""
        state = moto_state.snapshot()
        with self._engine_lock:
            engine = self._engine
        state["ecs"]["engine"] = engine.snapshot() if engine is not None else {}
        return state

    def reset(self, *, seed: bool = True) -> None:
        """Empty the whole state (moto and engine, image behaviours too), then apply the seed again unless
        ``seed=False``."""
        if self._server is None:
            raise RuntimeError("LocalAWS is not running; call start() or use it as a context manager.")
        with self._engine_lock:
            old, self._engine = self._engine, None
            if old is not None:
                old.close()
            moto_state.reset()
            if self._docker is not None:  # issue 7: the registry empties with ECR
                self._docker.reset()
            # Endpoints are per target group ARN, and the seed's target groups come back with new ARNs: close
            # them (freeing fixed listen ports) so the seeded ones open again on their ports.
            balancers = self._load_balancers()
            balancers.stop()
            if self._docker is not None:
                balancers.start()
        if seed and self._seed is not None:
            self._apply_seed(self._seed)
            balancers.update()

    # -- Docker (issue 7) --------------------------------------------------------------------------------

    @property
    def runner_name(self) -> str:
        """``docker`` when task containers run on Docker, else ``simulated`` (``auto`` resolved at start)."""
        return "docker" if self._docker is not None else "simulated"

    @property
    def registry_host(self) -> str | None:
        """``127.0.0.1:PORT`` of the registry behind ECR (Docker runner only), else None."""
        return self._docker.registry_host if self._docker is not None else None

    def load_balancer_url(self, target_group: str) -> str:
        """``http://127.0.0.1:PORT`` of a target group's endpoint (name or ARN), opening it if needed: it forwards
        to the healthy tasks (Docker), or answers for them as the example image would (simulated runner); the
        port is the seed's ``listen_port`` when it gives one. LookupError names an unknown target group."""
        return self._load_balancers().url(target_group)

    def _load_balancers(self) -> LoadBalancers:
        if self._docker is not None:
            return self._docker.balancers
        if self._balancers is None:
            raise RuntimeError("LocalAWS is not running; call start() or use it as a context manager.")
        return self._balancers

    def _start_docker(self, seed: Seed | None) -> None:
        if self._runner_name is None:
            return
        from .docker_backend import DockerBackend
        from .runners.docker import docker_available, resolve_runner

        if self._runner_name == "docker" and not docker_available():
            from ..errors import ActionError

            raise ActionError("runner \"docker\": no Docker engine answers (is dockerd running? DOCKER_HOST?); "
                              "use runner = \"auto\" or \"simulated\" without one.")
        if resolve_runner(self._runner_name, fake_clock=self._clock is not None) != "docker":
            return
        self._docker = DockerBackend(account=self.account_id, region=self.region, engine=lambda: self._engine,
                                     lb_ports=_listen_ports(seed))
        self._docker.start(self.endpoint_url)

    # -- internals ---------------------------------------------------------------------------------------

    def _parse_seed(self) -> Seed | None:
        if self._seed_source is None:
            return None
        from .seed import Seed, parse_seed

        if isinstance(self._seed_source, Seed):
            return self._seed_source
        return parse_seed(self._seed_source, "LocalAWS(seed=...)", self._base_dir, self._variables)

    def _apply_seed(self, seed: Seed) -> None:
        from .seeding import apply_seed

        manifests = self._docker.seed_manifest() if self._docker is not None else None  # issue 7: real images
        apply_seed(seed, self, manifests=manifests)
        if self._docker is not None:  # issue 7: real tasks become steady once healthy; seeds promise steady
            services = [(service.cluster, service.name) for service in seed.services.values()]
            self._docker.wait_until_steady(self._require_engine(), services)

    def _require_engine(self) -> RolloutEngine:
        """The rollout engine, created on first use: importing it imports moto's ECS and EC2 models, which
        is most of a cold start, and requests to other services do not need it."""
        with self._engine_lock:
            if self._engine is None:
                if self._server is None:
                    raise RuntimeError("LocalAWS is not running; call start() or use it as a context manager.")
                self._engine = self._new_engine()
            return self._engine

    def _new_engine(self) -> RolloutEngine:
        from .clock import RealClock
        from .ecs.responses import RolloutEngine

        clock = self._clock if self._clock is not None else RealClock(speed=self._speed)
        runner, timings = self._runner, self._timings
        if self._docker is not None:  # issue 7: a fresh Docker runner per engine (reset() closes the old one)
            from .runners.docker import DOCKER_TIMINGS

            runner, timings = self._docker.new_runner(speed=self._speed), timings or DOCKER_TIMINGS
        engine = RolloutEngine(clock=clock, runner=runner, timings=timings)
        engine.start()
        return engine

    def _start_server(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        moto_state.reset()
        app = _Middleware(self, DomainDispatcherApplication(create_backend_app))
        self._server = _make_server(self._host, self._port, app, handler=_request_handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"ecsdeploy-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()


def _listen_ports(seed: Seed | None) -> dict[str, int]:
    """Target group name -> the fixed port of its endpoint, from the seeded services' ``listen_port``."""
    balancers = [s.load_balancer for s in seed.services.values()] if seed is not None else []
    return {b.target_group: b.listen_port for b in balancers if b is not None and b.listen_port}


def _runner_by_name(name: str) -> str | None:
    """None for the engine's SimulatedRunner; "docker" or "auto" (resolved at start)."""
    if name == "simulated":
        return None
    if name in ("auto", "docker"):
        return name
    raise ValueError(f"'{name}' is not a task runner; choose one of: {', '.join(RUNNER_NAMES)}.")


# -- the WSGI middleware ---------------------------------------------------------------------------------


class _Middleware:
    """Routes engine-owned ECS actions to the engine, /_ecsdeploy/ to the control routes, the rest to moto."""

    def __init__(self, aws: LocalAWS, moto_app: Callable[[Environ, StartResponse], Iterable[bytes]]) -> None:
        self.aws = aws
        self.moto_app = moto_app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        docker = self.aws._docker
        if docker is not None:  # issue 7: the registry's push notifications; ECR through the registry bridge
            answer = self.docker(docker, environ, start_response, path)
            if answer is not None:
                return answer
        if isinstance(path, str) and path.startswith(CONTROL_PREFIX):
            return self.control(environ, start_response, path[len(CONTROL_PREFIX):].strip("/"))
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith(ECS_TARGET_PREFIX):
            action = target[len(ECS_TARGET_PREFIX):]
            from .ecs.responses import ACTIONS

            if action in ACTIONS:
                return self.ecs(environ, start_response, action)
        try:
            return self.moto_app(environ, start_response)
        except NotImplementedError as exc:  # moto's answer to an action it lacks would be a 500 (and retries)
            return _not_implemented(environ, start_response, str(exc))

    def docker(self, docker: DockerBackend, environ: Environ, start_response: StartResponse,
               path: str) -> Iterable[bytes] | None:
        from .ecr_bridge import ECR_TARGET_PREFIX, EVENTS_PATH

        if path == EVENTS_PATH and environ.get("REQUEST_METHOD") == "POST":
            return _json(start_response, 200, {"imported": docker.handle_events(read_body(environ))})
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith(ECR_TARGET_PREFIX):
            try:
                return docker.handle_ecr(environ, start_response, self.moto_app, target[len(ECR_TARGET_PREFIX):])
            except NotImplementedError as exc:
                return _not_implemented(environ, start_response, str(exc))
        return None

    def ecs(self, environ: Environ, start_response: StartResponse, action: str) -> Iterable[bytes]:
        from .ecs.exceptions import EngineError

        try:
            params = json.loads(read_body(environ) or b"{}")
            if not isinstance(params, dict):
                raise ValueError("the request body is not a JSON object")
        except ValueError as exc:
            return _aws_error(start_response, 400, "SerializationException", f"could not read the request: {exc}")
        account = account_id_of(environ)
        region = region_of(environ)
        try:
            engine = self.aws._require_engine()
            result = engine.handle(action, account, region, params)
        except EngineError as exc:
            return _aws_error(start_response, int(exc.status), str(exc.code), str(exc.message))
        except Exception as exc:  # an engine bug: answer like AWS does, keep the traceback in the log
            log.exception("the rollout engine failed on %s", action)
            return _aws_error(start_response, 500, "ServerException", f"{type(exc).__name__}: {exc}")
        return _json(start_response, 200, result, content_type="application/x-amz-json-1.1")

    def control(self, environ: Environ, start_response: StartResponse, route: str) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        routes = {("POST", "image-behaviour"), ("GET", "state"), ("POST", "reset")}
        if (method, route) not in routes:
            known = ", ".join(f"{m} {CONTROL_PREFIX}{r}" for m, r in sorted(routes, key=lambda x: x[1]))
            status = 405 if route in {r for _, r in routes} else 404
            return _json(start_response, status, {"error": f"no route {method} {CONTROL_PREFIX}{route}; "
                                                           f"the control routes are: {known}."})
        try:
            body = read_body(environ)
            data = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            return _json(start_response, 400, {"error": f"the request body is not JSON: {exc}."})
        if not isinstance(data, dict):
            return _json(start_response, 400, {"error": "the request body must be a JSON object."})
        try:
            if route == "state":
                return _json(start_response, 200, self.aws.snapshot())
            if route == "reset":
                seed = data.get("seed", True)
                if not isinstance(seed, bool):
                    return _json(start_response, 400, {"error": f"seed: expected true or false, got {seed!r}."})
                self.aws.reset(seed=seed)
                return _json(start_response, 200, {"reset": True, "seeded": seed and self.aws._seed is not None})
            return self.image_behaviour(start_response, data)
        except Exception as exc:
            log.exception("control route %s %s failed", method, route)
            return _json(start_response, 500, {"error": f"{type(exc).__name__}: {exc}"})

    def image_behaviour(self, start_response: StartResponse, data: dict[str, Any]) -> Iterable[bytes]:
        from .ecs.exceptions import EngineError

        params = dict(data)
        image = params.pop("image", None)
        behaviour = params.pop("behaviour", None)
        for name, value in (("image", image), ("behaviour", behaviour)):
            if not isinstance(value, str) or not value:
                return _json(start_response, 400, {"error": f"{name}: expected a non-empty string, got {value!r}."})
        try:
            self.aws.set_image_behaviour(str(image), str(behaviour), **params)
        except (EngineError, ValueError, TypeError) as exc:
            message = exc.message if isinstance(exc, EngineError) else str(exc)
            return _json(start_response, 400, {"error": message})
        return _json(start_response, 200, {"image": image, "behaviour": behaviour, **params})


def account_id_of(environ: Mapping[str, Any]) -> str:
    """The caller's account, in moto's order: MOTO_ACCOUNT_ID, the x-moto-account-id header, the access key."""
    import os

    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    header = environ.get("HTTP_X_MOTO_ACCOUNT_ID")
    if header:
        return str(header)
    match = _ACCESS_KEY.search(environ.get("HTTP_AUTHORIZATION", ""))
    return moto_state.account_of_access_key(match.group("access_key") if match else "AKIAEXAMPLE")


def region_of(environ: Mapping[str, Any]) -> str:
    """The region of the SigV4 credential scope, or us-east-1 for an unsigned request."""
    match = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group("region") if match else DEFAULT_REGION


def read_body(environ: Environ) -> bytes:
    """A WSGI request's body (empty when there is none or its length is not a number)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _json(start_response: StartResponse, status: int, payload: Any,
          content_type: str = "application/json") -> list[bytes]:
    body = json.dumps(payload, default=_json_default).encode("utf-8")
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ],
    )
    return [body]


def _aws_error(start_response: StartResponse, status: int, code: str, message: str) -> list[bytes]:
    return _json(start_response, status, {"__type": code, "message": message},
                 content_type="application/x-amz-json-1.1")


def _not_implemented(environ: Environ, start_response: StartResponse, detail: str) -> list[bytes]:
    """AWS's answer to an unknown operation (400, not retried), saying that it is the emulator's gap."""
    from importlib.metadata import version

    match = re.fullmatch(r"The (\w+) action has not been implemented", detail)
    action = "".join(word.capitalize() for word in match[1].split("_")) if match else detail
    message = f"the embedded local AWS (moto {version('moto')}) does not implement {action}."
    if environ.get("HTTP_X_AMZ_TARGET") or "json" in environ.get("CONTENT_TYPE", ""):
        return _aws_error(start_response, 400, "UnknownOperationException", message)
    from xml.sax.saxutils import escape

    request_id = str(uuid.uuid4())
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>{escape(message)}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
    start_response("400 Bad Request", [("Content-Type", "text/xml"), ("Content-Length", str(len(body))),
                                       ("x-amzn-RequestId", request_id)])
    return [body]


def _json_default(value: Any) -> Any:
    import datetime

    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 500: "Internal Server Error", 503: "Service Unavailable"}


# -- the HTTP server -------------------------------------------------------------------------------------


def _request_handler() -> type[Any]:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class _QuietHandler(MotoRequestHandler):
        """moto's handler (keeps underscored header names) without a log line per request."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            log.debug("%s %s", self.requestline, code)

    return _QuietHandler


class _StartError(RuntimeError):
    pass


def _server_class() -> type[Any]:
    from werkzeug.serving import BaseWSGIServer

    class Server(socketserver.ThreadingMixIn, BaseWSGIServer):
        """werkzeug's threaded server that knows its connection threads, so stop() leaves none behind."""

        multithread = True
        daemon_threads = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._connections: dict[threading.Thread, socket.socket] = {}
            self._connections_lock = threading.Lock()
            super().__init__(*args, **kwargs)

        def server_bind(self) -> None:
            try:
                super().server_bind()
            except OSError as exc:  # werkzeug would print and sys.exit(1)
                reason = exc.strerror or str(exc)
                raise _StartError(f"cannot listen on {self.host}:{self.port}: {reason}.") from None

        def process_request(self, request: Any, client_address: Any) -> None:
            thread = threading.Thread(
                target=self.process_request_thread,
                args=(request, client_address),
                name="ecsdeploy-emulator-request",
                daemon=True,
            )
            with self._connections_lock:
                self._connections[thread] = request
            thread.start()

        def process_request_thread(self, request: Any, client_address: Any) -> None:
            try:
                super().process_request_thread(request, client_address)
            finally:
                with self._connections_lock:
                    self._connections.pop(threading.current_thread(), None)

        def close_connections(self) -> None:
            with self._connections_lock:
                connections = list(self._connections.items())
            for _, sock in connections:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            for thread, _ in connections:
                thread.join(timeout=5)

    return Server


class _Server(Protocol):
    """The part of the werkzeug server LocalAWS uses."""

    server_address: tuple[Any, ...]

    def serve_forever(self, poll_interval: float = 0.5) -> None: ...
    def shutdown(self) -> None: ...
    def server_close(self) -> None: ...
    def close_connections(self) -> None: ...


def _make_server(host: str, port: int, app: Any, handler: type[Any]) -> _Server:
    server: _Server = _server_class()(host, port, app, handler=handler)
    return server


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host
