"""The fixtures of pytest-ecsdeploy: each one wires a pytest request to the module that does the work.

``deploy_env``, ``aws`` and ``localstack`` are session-scoped; ``ecsdeploy_context`` and the actions on it
(``ecr``, ``task_definition``, ``ecs_service``, ``ecs_task``, ``smoke``) are module-scoped, bound to the
scenario's service; ``deploy`` (image, revision and rollout in one call, on ``ecr``, ``task_definition`` and
``ecs_service``) is function-scoped. The run comes from the session object (its stash key
:data:`~pytest_ecsdeploy.session.SESSION` on the config); without ``--env`` there is none, and every fixture
but ``localstack`` skips. :class:`TerminalLog` is the actions' live output.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .actions.deploy import Deploy
from .actions.ecr import Ecr
from .actions.service import EcsService
from .actions.smoke import Smoke
from .actions.task import EcsTask
from .actions.taskdef import TaskDefinition
from .aws import ClientFactory
from .checks import Check
from .config import Environment, Service
from .context import Hooks, ServiceContext
from .errors import EcsDeployError
from .localstack import LocalStack, LocalStackSettings, docker_ping, image_present, localstack_container, skip_reason
from .report.octopus import OctopusReporter
from .run import Run
from .session import FAILED_STEP, FAILURE, NO_ENV_REASON, PLAN_NOT_RUN, SERVICE, SESSION, EcsDeploySession
from .terminal import write_lines


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
        message = str(exc)
    pytest.fail(message, pytrace=False)  # outside the except: one sentence, no "during handling" chain


@pytest.fixture(scope="module")
def ecsdeploy_context(request: pytest.FixtureRequest, aws: ClientFactory) -> Iterator[ServiceContext]:
    """Everything the actions of this scenario share: environment, service, clients, options, record, log.

    The service's lease, taken by the scenario's first write, is released when the scenario ends.
    """
    session = _session(request)
    run = session.run
    module = request.node
    service_name = module.stash.get(SERVICE, None) if isinstance(module, pytest.Module) else None
    if service_name is None:
        pytest.fail(
            "this module is not bound to a service; add pytestmark = pytest.mark.ecs_service('NAME')",
            pytrace=False,
        )
    deployment = run.deployment
    service = deployment.service(service_name)
    ctx = run.context(
        service_name, TerminalLog(request.config, service_name, session.octopus),
        _hooks(request.config, service, deployment.environment, session.octopus),
    )
    yield ctx
    run.leases.release(ctx.cluster, service.service_name)


@pytest.fixture(scope="module")
def ecr(ecsdeploy_context: ServiceContext) -> Iterator[Ecr]:
    """The scenario service's ECR repository: the release image pinned by digest, promotion, pushes.

    >>> ref = ecr.image()                 # --image-tag -> '<repositoryUri>@sha256:…'; checks tag and scan findings
    >>> ecr.promote(ref, to="prod")       # registry-side retag, idempotent
    """
    repository = Ecr(ecsdeploy_context)
    yield repository
    repository.close()  # the Docker client of push(), if one was opened


@pytest.fixture(scope="module")
def task_definition(ecsdeploy_context: ServiceContext) -> TaskDefinition:
    """The scenario service's next task definition: a source, a few changes, validated, registered once.

    >>> revision = task_definition.with_image("app", ecr.image()).register()   # sidecars keep their images
    >>> task_definition.registered.arn                                          # the exact ARN to deploy
    """
    return TaskDefinition(ecsdeploy_context)


@pytest.fixture(scope="module")
def ecs_service(request: pytest.FixtureRequest, ecsdeploy_context: ServiceContext) -> Iterator[EcsService]:
    """The scenario's ECS service: ``ecs_service.deploy(revision)`` rolls it out, watches, checks, rolls back.

    >>> rollout = ecs_service.deploy(task_definition.registered)
    >>> rollout.is_completed, ecs_service.is_steady
    (True, True)

    When a later step of the scenario fails (a smoke check, a plain ``assert``), the service is returned to the
    revision it ran before this run as the scenario ends, unless ``--no-rollback``.
    """
    service = EcsService(ecsdeploy_context)
    yield service
    module = request.node
    failed_step = module.stash.get(FAILED_STEP, None) if isinstance(module, pytest.Module) else None
    cause = module.stash.get(FAILURE, None) if isinstance(module, pytest.Module) else None
    try:
        service.finish(failed_step, cause)
    except EcsDeployError as exc:
        pytest.fail(f"{type(exc).__name__}: {exc}", pytrace=False)


@pytest.fixture
def deploy(ecsdeploy_context: ServiceContext, ecr: Ecr, task_definition: TaskDefinition,
           ecs_service: EcsService) -> Deploy:
    """The common case in one call: ``deploy()`` pins ``--image-tag``, registers the revision, rolls it out.

    >>> def test_deploy(deploy):
    ...     assert deploy().is_completed
    """
    return Deploy(ecsdeploy_context, ecr, task_definition, ecs_service)


@pytest.fixture(scope="module")
def smoke(ecsdeploy_context: ServiceContext) -> Smoke:
    """Smoke checks against the service after its rollout; skipped in ``--plan``.

    >>> smoke.http("/health", expect_status=200, contains="ok", within=60)
    >>> smoke.targets_healthy()
    >>> smoke.alarms_ok(["web-5xx"])

    A failing smoke check fails the step, and the service is rolled back like after any failed step.
    """
    if ecsdeploy_context.options.plan:
        pytest.skip(f"{PLAN_NOT_RUN}: smoke checks need the rollout this plan did not make")
    return Smoke(ecsdeploy_context)


@pytest.fixture(scope="module")
def ecs_task(ecsdeploy_context: ServiceContext) -> EcsTask:
    """One-off tasks of the scenario service's revisions (migrations), where the service runs.

    >>> result = ecs_task.run(task_definition.registered, command=["./manage.py", "migrate"])
    >>> result.exit_code("app")
    0

    Waits until every task stopped; any non-zero exit code of any container, a task that never started, or a
    timeout fails the step. In ``--plan`` it prints the RunTask it would make and runs nothing.
    """
    return EcsTask(ecsdeploy_context)


@pytest.fixture(scope="session")
def localstack() -> Iterator[LocalStack]:
    """LocalStack (its ECS and ECR need a paid plan's token) in a container for the session, via testcontainers.

    >>> localstack.client("ecs").create_cluster(clusterName="ci")
    >>> localstack.url
    'http://localhost:32771'

    Skipped, with what to do, when ``LOCALSTACK_AUTH_TOKEN`` is not set, no Docker engine answers, or the image
    (``ECSDEPLOY_LOCALSTACK_IMAGE``, default ``localstack/localstack-pro``) is not in the local engine.
    """
    settings = LocalStackSettings.from_environ(os.environ)
    reason = skip_reason(settings, docker_ping=docker_ping, image_present=image_present)
    if reason is not None:
        pytest.skip(reason)
    with localstack_container(settings) as container:
        yield LocalStack(url=container.get_url(), region=settings.region, container=container)


class TerminalLog:
    """Live lines for one service, written past pytest's output capture so progress shows while waiting.

    Under Octopus (``octopus`` given) a warning goes out at Octopus's warning level instead of as a plain line.
    """

    def __init__(self, config: pytest.Config, service: str, octopus: OctopusReporter | None) -> None:
        self.config = config
        self.prefix = f"[{service}]"
        self.octopus = octopus

    def info(self, message: str) -> None:
        self._write(message)

    def warning(self, message: str) -> None:
        if self.octopus is not None:  # under Octopus the warning level is the warning, not a second copy of it
            self.octopus.warning(f"{self.prefix} {message}")
        else:
            self._write(f"WARNING: {message}", yellow=True)

    def check(self, check: Check) -> None:
        self._write(check.line(), red=check.result == "failed")

    def _write(self, message: str, **markup: bool) -> None:
        write_lines(self.config, (f"  {self.prefix} {line}" for line in message.splitlines() or [""]), **markup)


def _session(request: pytest.FixtureRequest) -> EcsDeploySession:
    session = request.config.stash.get(SESSION, None)
    if session is None:
        pytest.skip(NO_ENV_REASON)
    return session


def _run(request: pytest.FixtureRequest) -> Run:
    return _session(request).run


def _hooks(config: pytest.Config, service: Service, environment: Environment,
           octopus: OctopusReporter | None = None) -> Hooks:
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
        stage=octopus.stage if octopus is not None else lambda percentage, message: None,
    )
