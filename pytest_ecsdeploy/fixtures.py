"""The fixtures of pytest-ecsdeploy: each one wires a pytest request to the module that does the work.

``deploy_env`` and ``aws`` are session-scoped; the actions (``ecr``, ``task_definition``, ``ecs_service``,
``smoke``) are module-scoped, bound to the scenario's service through ``ecsdeploy_context``.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import pytest

from .aws import ClientFactory
from .checks import Check
from .config import Environment
from .context import Hooks, ServiceContext
from .errors import EcsDeployError
from .plugin import NO_ENV_REASON, RUN, SERVICE
from .run import Run


@pytest.fixture(scope="session")
def deploy_env(request: pytest.FixtureRequest) -> Environment:
    """The environment chosen with ``--env``, resolved: ``deploy_env.name``, ``.region``, ``.cluster`` …"""
    return _run(request).environment


@pytest.fixture(scope="session")
def aws(request: pytest.FixtureRequest) -> ClientFactory:
    """boto3 clients for the chosen environment, whatever its backend: ``aws.client("ecs")``.

    For ``backend = "emulator"`` without ``endpoint_url`` the embedded local AWS is started (seeded) on first
    use and stopped at the end of the run. ``aws.ensure_account()`` is the account guard.
    """
    run = _run(request)
    try:
        return run.aws()
    except EcsDeployError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def ecsdeploy_context(request: pytest.FixtureRequest, aws: ClientFactory) -> ServiceContext:
    """Everything the actions of this scenario share: environment, service, clients, options, record, log."""
    run = _run(request)
    module = request.node
    service_name = module.stash.get(SERVICE, None) if isinstance(module, pytest.Module) else None
    if service_name is None:
        pytest.fail(
            "this module is not bound to a service; add pytestmark = pytest.mark.ecs_service('NAME')",
            pytrace=False,
        )
    deployment = run.deployment
    service = deployment.service(service_name)
    return run.context(
        service_name, TerminalLog(request.config, service_name), _hooks(request.config, service, deployment)
    )


class TerminalLog:
    """Live lines for one service, written past pytest's output capture so progress shows while waiting."""

    def __init__(self, config: pytest.Config, service: str) -> None:
        self.config = config
        self.prefix = f"[{service}]"

    def info(self, message: str) -> None:
        self._write(message)

    def warning(self, message: str) -> None:
        self._write(f"WARNING: {message}", yellow=True)

    def check(self, check: Check) -> None:
        self._write(check.line(), red=check.result == "failed")

    def _write(self, message: str, **markup: bool) -> None:
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is None:  # xdist workers have no terminal; the controller prints the summary
            return
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        with capman.global_and_fixture_disabled() if capman is not None else nullcontext():
            for line in message.splitlines() or [""]:
                tr.write_line(f"  {self.prefix} {line}", **markup)


def _run(request: pytest.FixtureRequest) -> Run:
    run = request.config.stash.get(RUN, None)
    if run is None:
        pytest.skip(NO_ENV_REASON)
    return run

def _hooks(config: pytest.Config, service: Any, environment: Any) -> Hooks:
    hook = config.hook

    def extra(results: list[list[tuple[str, bool, str]] | None]) -> list[tuple[str, bool, str]]:
        return [check for result in results if result for check in result]

    return Hooks(
        render_task_definition=lambda payload: hook.pytest_ecsdeploy_render_task_definition(
            service=service, environment=environment, task_definition=payload
        ),
        pre_checks=lambda action: extra(
            hook.pytest_ecsdeploy_pre_checks(service=service, environment=environment, action=action)
        ),
        post_checks=lambda action: extra(
            hook.pytest_ecsdeploy_post_checks(service=service, environment=environment, action=action)
        ),
        deployed=lambda record: hook.pytest_ecsdeploy_deployed(record=record),
        rolled_back=lambda record: hook.pytest_ecsdeploy_rolled_back(record=record),
    )
