"""One embedded local AWS for a whole test module, emptied before each of its tests, with its boto3 clients built
once.

Starting a LocalAWS costs about 0.3 s of CPU (moto's backends, the HTTP server, the seed) where ``reset()`` costs
20 ms, 0.1 s with a blue/green seed applied again; a boto3 client of a new session 0.1-0.3 s (botocore reads the
service's model again) where one of a session that already read it costs about 10 ms. A module's tests share one
``ModuleAWS`` through a module-scoped fixture::

    @pytest.fixture(scope="module")
    def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleAWS]:
        with ModuleAWS(SEED, files={"web.json": TEMPLATE}, base_dir=tmp_path_factory.mktemp("aws")) as aws:
            yield aws

    @pytest.fixture
    def driven(shared: ModuleAWS) -> Driven:
        return Driven(shared.fresh())

Each test starts from the seed again (``fresh()``) on the module's FakeClock. That clock only moves forward, so a
test measures simulated times from where it starts, never from the clock's origin. The LocalAWS's ``client()``
answers the module's clients too (the seed goes through them at each reset). A test that starts a LocalAWS of its
own (one runs per process) first calls ``suspend()`` (the ``alone`` fixture of tests/e2e/conftest.py); the next
``fresh()`` starts the shared one again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pytest_ecsdeploy.aws import ClientFactory
from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.clock import FakeClock
from pytest_ecsdeploy.emulator.local_aws import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY

if TYPE_CHECKING:
    import boto3

    from pytest_ecsdeploy.config import Environment

#: Simulated seconds a follow loop moves when the engine has nothing due: a stage without work lasts 0.5 s
#: (Timings.lifecycle_stage), so no change is skipped.
STEP = 0.25


class ModuleAWS:
    """A LocalAWS on a FakeClock (started at the first ``fresh()``), its clients, and a boto3 session for the
    ClientFactories of the actions under test.

    ``seed`` goes to LocalAWS; ``files`` (name -> JSON-able content) are written to ``base_dir`` for the seed to read;
    ``prepare(local)`` runs after each start and reset (what the seed cannot say, e.g. an image behaviour);
    ``options`` go to LocalAWS (``runner=...``)."""

    def __init__(self, seed: Mapping[str, Any] | None = None, *, base_dir: Path,
                 files: Mapping[str, Any] | None = None, prepare: Callable[[LocalAWS], None] | None = None,
                 **options: Any) -> None:
        for name, content in (files or {}).items():
            (base_dir / name).write_text(json.dumps(content))
        self.clock = FakeClock()
        self._make = lambda: LocalAWS(seed, base_dir=base_dir, clock=self.clock, **options)
        self._prepare = prepare
        self._local: LocalAWS | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._session: boto3.Session | None = None

    @property
    def local(self) -> LocalAWS:
        if self._local is None:
            raise RuntimeError("the module's LocalAWS is not running: call fresh() first")
        return self._local

    def fresh(self, *, seed: bool = True) -> ModuleAWS:
        """The LocalAWS emptied (then seeded again unless ``seed=False``), started if it is not running."""
        if self._local is None:
            self._local = self._make().start()  # a start is empty, then seeded
            self._clients.clear()  # a new start listens on a new port
            # reset() seeds again through the LocalAWS's client(), which builds each client anew (60 ms): nine for
            # a blue/green seed. The module's, built once, answer the same.
            self._local.client = self.client  # type: ignore[method-assign]
            if not seed and self._local.seeded:
                self._local.reset(seed=False)
        else:
            self._local.reset(seed=seed)
        if self._prepare is not None:
            self._prepare(self._local)
        return self

    def suspend(self) -> None:
        """Stop the LocalAWS, so that a test can start one of its own; the next ``fresh()`` starts it again."""
        local, self._local = self._local, None
        if local is not None:
            local.stop()

    def client(self, service_name: str, *, region_name: str | None = None, **kwargs: Any) -> Any:
        """The module's boto3 client of ``service_name`` on the LocalAWS (what ``LocalAWS.client`` answers, built
        once per module). Shared by the module's tests: a test that registers an event handler on a client or
        replaces one of its methods takes ``own_client()`` instead."""
        if kwargs:  # other credentials: another account's client
            return self.own_client(service_name, region_name=region_name, **kwargs)
        key = (service_name, region_name or self.local.region)
        if key not in self._clients:
            self._clients[key] = self.own_client(service_name, region_name=region_name)
        return self._clients[key]

    def own_client(self, service_name: str, **kwargs: Any) -> Any:
        """A new boto3 client of ``service_name`` on the LocalAWS, for this test alone."""
        return LocalAWS.client(self.local, service_name, **kwargs)

    def client_factory(self, environment: Environment) -> ClientFactory:
        """A ClientFactory for ``environment`` (an ``emulator`` one) on the LocalAWS, as the plugin builds it, but
        for its session: one per module, with the emulator's fake credentials, so that its clients are built from
        the service models botocore has read once. The clients are the factory's own."""
        if self._session is None:
            import boto3

            self._session = boto3.Session(aws_access_key_id=FAKE_ACCESS_KEY_ID,
                                          aws_secret_access_key=FAKE_SECRET_ACCESS_KEY,
                                          region_name=environment.region)
        return ClientFactory(environment, local_endpoint=self.local.endpoint_url, session=self._session)

    def next_instant(self, step: float = STEP) -> None:
        """Move the clock to the engine's next change (nothing changes in between), or ``step`` when none is due."""
        next_instant(self.local, self.clock, step)

    def __enter__(self) -> ModuleAWS:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.suspend()


def next_instant(local: LocalAWS, clock: FakeClock, step: float = STEP) -> None:
    """Move ``clock`` (``local``'s) to its engine's next change (nothing changes in between), or by ``step`` when
    none is due."""
    due = local.next_change()
    if due is None:
        clock.advance(step)
    else:
        clock.advance_to(due)
