"""The embedded local AWS: moto's server in-process, with this project's ECS rollout engine in front of it.

One HTTP endpoint on 127.0.0.1 answers every AWS API that boto3 or the ``aws`` CLI sends it: the rollout engine
answers ECS services and tasks, moto the rest, and control routes under ``/_ecsdeploy/`` serve a client in another
process (``middleware`` says which request goes where; ``wsgi`` is the server). With the Docker runner, tasks run
as containers, ECR's images live in a local registry (``docker_backend``), and each target group a service uses
gets an endpoint on 127.0.0.1 that reaches its tasks (``loadbalancer``).

moto keeps its state in process-global backends, so **one LocalAWS runs per process at a time**: starting
a second while one runs raises ``RuntimeError``; each start resets moto's state, so every LocalAWS starts
empty (then seeded), and its stop() empties it again. Resets drop moto's backends, which moto builds again at their
first use. The first start in a process freezes what the process holds then (``gc.freeze()``, see
``_freeze_once``).

``snapshot()`` is the whole state as plain JSON-able data. From moto it takes what identifies things and
what a deployment changes (names, ARNs, digests and tags, revisions and their status, container
definitions), never timestamps such as imagePushedAt; the rollout engine's part (``["ecs"]["engine"]``,
services with deployments and events, and tasks, keyed ``"<account>/<region>"``) holds simulated times
that move only when a write or a task's next state change happens. So two snapshots of a steady state
compare equal; random parts (target group and secret ARN suffixes, deployment and task ids) differ from
one start to the next.

The rollout engine is created on the first request that needs it (an ECS service or task action,
``set_image_behaviour``, a seeded service), so a LocalAWS whose clients never touch ECS services runs no ticker
thread. ``reset()`` replaces it, so image behaviours set before a reset are gone after it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import moto_state
from .middleware import DEFAULT_REGION, Middleware
from .runners.base import check_runner_name
from .wsgi import Server, make_server, moto_app, url_host

if TYPE_CHECKING:
    import boto3.session

    from .clock import Clock, Timings
    from .docker_backend import DockerBackend
    from .ecs.responses import RolloutEngine
    from .listeners import Listeners
    from .loadbalancer import LoadBalancers
    from .runners.base import Runner
    from .seed import Seed
    from .seeding import SeedTarget

__all__ = ["LocalAWS", "FAKE_ACCESS_KEY_ID", "FAKE_SECRET_ACCESS_KEY"]

DEFAULT_ACCOUNT_ID = "123456789012"  # moto's default account (moto.core.DEFAULT_ACCOUNT_ID)
FAKE_ACCESS_KEY_ID = "testing"
FAKE_SECRET_ACCESS_KEY = "testing"  # a fake credential: the emulator checks no signature

_lock = threading.Lock()
_running: LocalAWS | None = None


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
    Docker, LocalAWS also runs a local registry that ECR's repository URIs point at
    (``127.0.0.1:PORT/<repository>``, see ``registry`` and ``ecr_bridge``); seeded images are real.
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
        # A runner by name is resolved at start(), when Docker is asked whether it answers: "docker" (or "auto"
        # with an engine that answers) runs tasks on Docker, with the registry and endpoints that needs.
        self._runner_name = _runner_by_name(runner) if isinstance(runner, str) else None
        if isinstance(runner, str):
            runner = None
        self._docker: DockerBackend | None = None
        self._balancers: LoadBalancers | None = None  # the simulated runner's; with Docker, DockerBackend's
        self._listeners: Listeners | None = None  # blue/green services' production and test listeners
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
        self._app: Middleware | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._engine: RolloutEngine | None = None
        self._engine_lock = threading.RLock()
        self._session: boto3.session.Session | None = None
        self._session_lock = threading.Lock()
        self._reseeding: _SeedingTarget | None = None  # what reset() seeds through
        self.region = region
        self.account_id = DEFAULT_ACCOUNT_ID

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> LocalAWS:
        """Reset moto's state, start the engine and the HTTP server, apply the seed; returns ``self``.

        The port listens from the start but answers only once the seed is applied: a client that connects
        before (a fixed ``port`` that a CI job polls) waits, and its first answer sees the seeded state.
        """
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
            # One state: moto's ECS backend (CloudFormation, tagging, DescribeClusters...) sees the engine's
            # services and tasks, creating the engine when it needs one.
            moto_state.use_ecs_engine(self._engine_for_moto)
            # Ready means ready: the endpoint's socket listens from here on (so its port is known, and taken or
            # not at once), but it accepts nothing until the seed is in. A client that connects meanwhile waits in
            # the listen backlog, neither refused nor answered, and its first answer sees the seeded state; the
            # seed itself goes through a private endpoint that lives only while seeding.
            self._listen()
            self._start_docker(seed)  # after listening: the registry reports pushes to the endpoint
            if self._docker is None:  # the simulated runner's endpoints: routes read at each request
                from .loadbalancer import LoadBalancers

                self._balancers = LoadBalancers(lambda: self._engine, ports=_listen_ports(seed))
            self._seed = seed
            if seed is not None:
                self._seed_privately(seed)
            self._load_balancers().update()  # seeded services' endpoints listen when start() returns
            from .listeners import Listeners

            self._listeners = Listeners(lambda: self._engine, self._load_balancers, ports=_listener_ports(seed))
            self._listeners.open_fixed()
            _freeze_once()
            self._serve()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (closing open connections), close the engine and join every thread, and empty moto's
        state; idempotent."""
        global _running
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            if thread is not None:  # shutdown() waits for serve_forever, which a failed start() never ran
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
        if docker is not None:
            docker.stop()
        balancers, self._balancers = self._balancers, None
        if balancers is not None:
            balancers.stop()
        listeners, self._listeners = self._listeners, None
        if listeners is not None:
            listeners.stop()
        self._reseeding = None
        with _lock:
            if _running is self:
                # Left empty, as the next LocalAWS would find it anyway: a process that ran one keeps none of its
                # state alive (for the garbage collector to walk) nor visible to moto's in-process users.
                moto_state.reset()
                moto_state.use_ecs_engine(None)
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
        return f"http://{url_host(self._host)}:{self.port}"

    # -- clients and control -----------------------------------------------------------------------------

    def client(self, service_name: str, *, region_name: str | None = None, **kwargs: Any) -> Any:
        """A boto3 client for ``service_name`` on this endpoint, with fake credentials (account 123456789012).

        ``region_name`` defaults to ``self.region``; other keyword arguments go to ``Session.client``
        (for example ``aws_access_key_id`` from an STS AssumeRole answer, to act in another account).
        """
        return self._client_at(self.endpoint_url, service_name, region_name=region_name, **kwargs)

    def _client_at(self, url: str, service_name: str, *, region_name: str | None = None, **kwargs: Any) -> Any:
        with self._session_lock:
            if self._session is None:
                self._session = moto_state.boto3_session()
            kwargs.setdefault("aws_access_key_id", FAKE_ACCESS_KEY_ID)
            kwargs.setdefault("aws_secret_access_key", FAKE_SECRET_ACCESS_KEY)
            return self._session.client(service_name, region_name=region_name or self.region, endpoint_url=url,
                                        **kwargs)

    def set_image_behaviour(self, image: str, behaviour: str, **params: Any) -> None:
        """How the simulated runner treats tasks of ``image`` (full URI, ``repository:tag`` or digest).

        ``behaviour`` is ``healthy`` (default), ``crash`` (``exit_code``, ``after``), ``unhealthy``,
        ``pull-error`` or ``exit``; see the rollout engine for the parameters each takes.
        """
        self._require_engine().set_image_behaviour(image, behaviour, **params)

    def set_hook_answers(self, function: str, answers: list[str], *, call_back_delay: float = 30.0) -> None:
        """What the Lambda function ``function`` (name or ARN) of AWS_LAMBDA lifecycle hooks answers, since no
        Lambda runs here: each invocation takes the next of ``answers`` (``SUCCEEDED``, ``FAILED`` or
        ``IN_PROGRESS``), the last one for every later invocation; after IN_PROGRESS the hook is invoked again
        ``call_back_delay`` simulated seconds later. A hook whose function has no answers fails and rolls back.
        Raises ValueError for an empty list or another status."""
        self._require_engine().set_hook_answers(function, list(answers), call_back_delay)

    def set_codedeploy_hook(self, function: str, result: str) -> None:
        """What a CodeDeploy lifecycle hook naming Lambda function ``function`` reports from now on: ``Succeeded``
        (what every hook reports unless told otherwise) or ``Failed``; no Lambda runs here."""
        self._require_engine().set_codedeploy_hook(function, result)

    def seed_service(self, params: Mapping[str, Any], *, region: str | None = None) -> dict[str, Any]:
        """Create a service already steady on its first revision (CreateService ``params``) in this account.

        This is how seeds create services; the answer is the service as DescribeServices shows it.
        """
        answer = self._require_engine().seed_service(self.account_id, region or self.region, dict(params))
        return dict(answer["service"])

    def next_change(self) -> float | None:
        """The simulated time (epoch seconds) of the rollout engine's next change by the clock alone, None when
        nothing is pending or no engine runs yet; see ``RolloutEngine.next_change``."""
        with self._engine_lock:
            engine = self._engine
        return engine.next_change() if engine is not None else None

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
            if self._docker is not None:  # the registry holds ECR's images: it empties with ECR
                self._docker.reset()
            # Endpoints are per target group ARN, and the seed's target groups come back with new ARNs: close
            # them (freeing fixed listen ports) so the seeded ones open again on their ports.
            balancers = self._load_balancers()
            balancers.stop()
            if self._docker is not None:
                balancers.start()
        if seed and self._seed is not None:
            if self._reseeding is None:  # its clients serve every reset: the endpoint's URL does not change
                self._reseeding = _SeedingTarget(self, self.endpoint_url)
            self._apply_seed(self._seed, self._reseeding)
            balancers.update()

    @property
    def seeded(self) -> bool:
        """True when this LocalAWS has a seed, which ``reset()`` applies again."""
        return self._seed is not None

    # -- Docker ------------------------------------------------------------------------------------------

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

    def listener_url(self, service: str, *, test: bool = False) -> str:
        """``http://127.0.0.1:PORT`` of the production listener (or, ``test=True``, the test listener) of a
        blue/green service (its ``loadBalancers[].advancedConfiguration``), opening it if needed: each request goes
        to a target group picked by the listener rule's current weights (behind a Network Load Balancer, each
        connection, to the listener's), then to one of its tasks (``listeners.py``); the port is the seed's
        ``listen_port`` (``test_listen_port``) when it gives one. LookupError when no service of that name has
        such a listener rule."""
        if self._listeners is None:
            raise RuntimeError("LocalAWS is not running; call start() or use it as a context manager.")
        return self._listeners.url(service, test=test)

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

    def _seed_privately(self, seed: Seed) -> None:
        """Apply ``seed`` through an endpoint of its own on 127.0.0.1 (the same app), closed when done."""
        assert self._app is not None
        server = make_server("127.0.0.1", 0, self._app)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  name=f"ecsdeploy-emulator-seeding:{self.port}", daemon=True)
        thread.start()
        try:
            self._apply_seed(seed, _SeedingTarget(self, url))
        finally:
            server.shutdown()
            server.server_close()
            server.close_connections()
            thread.join()

    def _apply_seed(self, seed: Seed, target: SeedTarget) -> None:
        from .seeding import apply_seed

        # With Docker, seeded images are real (Docker pulls them), and seeded services are steady only once
        # their real tasks pass their health checks: wait for that, since a seed promises steady services.
        manifests = self._docker.seed_manifest() if self._docker is not None else None
        apply_seed(seed, target, manifests=manifests)
        if self._docker is not None:
            services = [(service.cluster, service.name) for service in seed.services.values()]
            self._docker.wait_until_steady(self._require_engine(), services)

    def _require_engine(self) -> RolloutEngine:
        """The rollout engine, created on first use (see the module docstring)."""
        with self._engine_lock:
            if self._engine is None:
                if self._server is None:
                    raise RuntimeError("LocalAWS is not running; call start() or use it as a context manager.")
                self._engine = self._new_engine()
            return self._engine

    def _engine_for_moto(self, create: bool) -> RolloutEngine | None:
        """moto_state's engine provider: the engine (created if need be) when ``create``, else the running one."""
        if create:
            return self._require_engine()
        with self._engine_lock:
            return self._engine

    def _new_engine(self) -> RolloutEngine:
        from .clock import RealClock
        from .ecs.responses import RolloutEngine

        clock = self._clock if self._clock is not None else RealClock(speed=self._speed)
        runner, timings = self._runner, self._timings
        if self._docker is not None:  # a fresh Docker runner per engine: reset() closed the old one with it
            from .runners.docker import DOCKER_TIMINGS

            runner, timings = self._docker.new_runner(speed=self._speed), timings or DOCKER_TIMINGS
        engine = RolloutEngine(clock=clock, runner=runner, timings=timings)
        engine.start()
        return engine

    def _listen(self) -> None:
        """Reset moto's state and bind the endpoint's socket, listening but not yet accepting."""
        moto_state.reset()
        self._app = Middleware(moto_app(), engine=self._require_engine, current_engine=lambda: self._engine,
                               docker=lambda: self._docker, control=self)
        self._server = make_server(self._host, self._port, self._app)

    def _serve(self) -> None:
        """Accept and answer connections on the endpoint, those waiting in the backlog first."""
        assert self._server is not None
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"ecsdeploy-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()


class _SeedingTarget:
    """``aws`` as a seed sees it, its boto3 clients on the endpoint at ``url`` (the private one while starting).

    One client per service and region, made at its first use: a seed asks for EC2's client once per awsvpc service
    and per target group, and making a boto3 client costs a method per operation (EC2 has ~600), each time."""

    def __init__(self, aws: LocalAWS, url: str) -> None:
        self._aws = aws
        self._url = url
        self._clients: dict[tuple[str, str | None], Any] = {}
        self.account_id = aws.account_id
        self.region = aws.region

    def client(self, service_name: str, *, region_name: str | None = None) -> Any:
        key = (service_name, region_name)
        if key not in self._clients:
            self._clients[key] = self._aws._client_at(self._url, service_name, region_name=region_name)
        return self._clients[key]

    def seed_service(self, params: Mapping[str, Any], *, region: str | None = None) -> dict[str, Any]:
        return self._aws.seed_service(params, region=region)

    def set_image_behaviour(self, image: str, behaviour: str, **params: Any) -> None:
        self._aws.set_image_behaviour(image, behaviour, **params)

    def set_hook_answers(self, function: str, answers: list[str], *, call_back_delay: float = 30.0) -> None:
        self._aws.set_hook_answers(function, answers, call_back_delay=call_back_delay)

    def set_codedeploy_hook(self, function: str, result: str) -> None:
        self._aws.set_codedeploy_hook(function, result)


_frozen = False


def _freeze_once() -> None:
    """Once per process, at the end of the first start: move every object to the garbage collector's permanent
    generation (``gc.freeze()``).

    Why: a started LocalAWS holds a large heap that lives as long as the process (moto's and botocore's modules,
    the service models botocore and moto loaded, the first seed's backends), and every full collection walked it
    again: pytest's five at the end of each run, the one at the interpreter's exit (seconds, under load), and
    those the allocations of a long test run trigger. Frozen objects are never walked again. The price: what the
    first start made and a later reset() or stop() drops (its backends, ~10 MB), and the garbage of the moment
    (~12k objects after a seeded start: no collection first, which would cost 0.1-0.3 s in every process that
    starts a LocalAWS), are freed only at exit, once per process; later starts, resets and stops free theirs as
    usual."""
    global _frozen
    with _lock:
        if _frozen:
            return
        _frozen = True
    import gc

    gc.freeze()


def _listen_ports(seed: Seed | None) -> dict[str, int]:
    """Target group name -> the fixed port of its endpoint, from the seeded services' ``listen_port`` (a blue/green
    service's is its production listener's: :func:`_listener_ports`)."""
    balancers = [s.load_balancer for s in seed.services.values()] if seed is not None else []
    return {b.target_group: b.listen_port for b in balancers
            if b is not None and b.listen_port and b.alternate_target_group is None}


def _listener_ports(seed: Seed | None) -> dict[tuple[str, bool], int]:
    """(service name, test listener) -> the fixed port of a seeded blue/green service's listener endpoint:
    ``listen_port`` for the production listener, ``test_listen_port`` for the test one (for a CODE_DEPLOY service,
    those of its ``codedeploy`` table)."""
    ports: dict[tuple[str, bool], int] = {}
    for service in seed.services.values() if seed is not None else []:
        balancer, codedeploy = service.load_balancer, service.codedeploy
        pair: tuple[int | None, int | None] = (None, None)
        if codedeploy is not None:
            pair = (codedeploy.listen_port, codedeploy.test_listen_port)
        elif balancer is not None and balancer.alternate_target_group is not None:
            pair = (balancer.listen_port, balancer.test_listen_port)
        for test, port in ((False, pair[0]), (True, pair[1])):
            if port:
                ports[(service.name, test)] = port
    return ports


def _runner_by_name(name: str) -> str | None:
    """None for the engine's SimulatedRunner; "docker" or "auto" (resolved at start)."""
    return None if check_runner_name(name) == "simulated" else name
