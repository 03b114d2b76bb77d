"""One run of deployments: the resolved configuration, the options, the record, the clients, the local AWS.

Built by the session object (:meth:`~pytest_ecsdeploy.session.EcsDeploySession.from_config`) when ``--env`` is
given, and usable without pytest: the benchmarks (``bench/``) load one with :meth:`Run.load` and build each
service's context for the actions with :meth:`Run.context`. Nothing here talks to AWS or starts the embedded
local AWS until :meth:`Run.aws` is first asked for (:meth:`Run.context` asks), so collecting scenario files
costs no AWS call.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .actions.lease import Holder, Leases
from .aws import ClientFactory
from .cancel import Cancellation
from .config import Deployment, find_config, load_config
from .context import Hooks, Log, RunOptions, ServiceContext
from .report.record import RunRecord

if TYPE_CHECKING:
    from .emulator import LocalAWS


class Run:
    """The state of one run; ``Run.load(...)`` reads and checks the configuration."""

    def __init__(self, deployment: Deployment, options: RunOptions, *, holder: Holder | None = None) -> None:
        self.deployment = deployment
        self.options = options
        env = deployment.environment
        self.record = RunRecord(
            environment=env.name, backend=env.backend, region=env.region,
            image_tag=options.image_tag, image_tags=dict(options.image_tags), plan=options.plan,
        )
        self.cancellation = Cancellation(options.cancel_grace)
        self._aws: ClientFactory | None = None
        self._local: LocalAWS | None = None
        # The embedded local AWS another process started for this run (a pytest-xdist controller): used, not started.
        self.local_endpoint: str | None = None
        self._lock = threading.Lock()
        self._seed = self._check_seed()
        # One lease per service this run writes to (actions/lease.py); ``holder`` names this run to other runs.
        self.leases = Leases(holder or Holder.here(os.environ))

    @classmethod
    def load(
        cls,
        *,
        env_name: str,
        config_path: str | None,
        rootdir: Path,
        args: list[str],
        options: RunOptions,
        environ: dict[str, str],
    ) -> Run:
        path = find_config(config_path, rootdir, args)
        deployment = load_config(path).resolve(env_name, options.variables, environ)
        return cls(deployment, options)

    @property
    def environment(self) -> Any:
        return self.deployment.environment

    @property
    def uses_local_aws(self) -> bool:
        """True when the embedded local AWS is started in this process (emulator without endpoint_url)."""
        env = self.deployment.environment
        return env.backend == "emulator" and not env.endpoint_url

    @property
    def local_aws(self) -> LocalAWS | None:
        return self._local

    def aws(self) -> ClientFactory:
        """The client factory, starting the embedded local AWS first when this environment uses it."""
        with self._lock:
            if self._aws is None:
                endpoint = None
                if self.uses_local_aws and self.local_endpoint is not None:
                    endpoint = self.local_endpoint
                elif self.uses_local_aws:
                    self._local = self._start_local_aws()
                    endpoint = self._local.endpoint_url
                self._aws = ClientFactory(self.deployment.environment, local_endpoint=endpoint)
            return self._aws

    def context(self, service_name: str, log: Log, hooks: Hooks) -> ServiceContext:
        """The ServiceContext of one scenario module bound to ``service_name``."""
        service = self.deployment.service(service_name)
        cluster = service.cluster or self.deployment.environment.cluster
        record = self.record.service(service_name, cluster)
        record.checks.on_result = log.check
        return ServiceContext(
            environment=self.deployment.environment,
            service=service,
            aws=self.aws(),
            options=self.options,
            record=record,
            log=log,
            hooks=hooks,
            base_dir=self.deployment.base_dir,
            cancellation=self.cancellation,
            lease=self.leases.hold,
        )

    def close(self) -> None:
        """Release every lease this run holds, then stop the embedded local AWS if this run started it."""
        self.leases.release_all()
        with self._lock:
            if self._local is not None:
                self._local.stop()
                self._local = None

    def _check_seed(self) -> Any:
        env = self.deployment.environment
        if env.backend != "emulator" or not env.seed:
            return None
        from .emulator.seed import parse_seed

        return parse_seed(
            env.seed,
            where=f"{self.deployment.path}: [environments.{env.name}.seed]",
            base_dir=self.deployment.base_dir,
            variables=env.variables,
            default_cluster=env.cluster,
        )

    def _start_local_aws(self) -> LocalAWS:
        from .emulator import LocalAWS

        env = self.deployment.environment
        local = LocalAWS(
            seed=self._seed,
            region=env.region,
            runner=env.runner,
            speed=env.speed,
            base_dir=self.deployment.base_dir,
            variables=env.variables,
        )
        local.start()
        return local
