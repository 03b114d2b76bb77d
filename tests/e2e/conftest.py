"""Fixtures shared by the end-to-end tests, a block for each area (ECR and task definitions, Docker).

Test modules that define a fixture of the same name (``local_aws`` in test_local_aws.py …) override these.
"""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fakes import wait_for as wait_for_state

from pytest_ecsdeploy.aws import ClientFactory
from pytest_ecsdeploy.config import Environment, Service
from pytest_ecsdeploy.context import Hooks, PrintLog, RunOptions, ServiceContext
from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.report.record import ServiceRecord

if TYPE_CHECKING:
    from module_aws import ModuleAWS

# -- ecr / task definition ---------------------------------------------------------------------------------------
# One LocalAWS per test module (moto's state is process-global, so one runs at a time), emptied before each test
# by ``clean_aws``; ``service_context`` builds the ServiceContext the plugin would hand to Ecr / TaskDefinition.

CLUSTER = "local"


@pytest.fixture(scope="module")
def module_local_aws() -> Iterator[LocalAWS]:
    """The embedded local AWS, started once for the test module."""
    with LocalAWS() as local:
        yield local


@pytest.fixture
def clean_aws(module_local_aws: LocalAWS) -> LocalAWS:
    """The module's LocalAWS, emptied (no seed) and holding the cluster ``local``."""
    module_local_aws.reset(seed=False)
    module_local_aws.client("ecs").create_cluster(clusterName=CLUSTER)
    return module_local_aws


@pytest.fixture(scope="module")
def module_client_factory(module_local_aws: LocalAWS) -> ClientFactory:
    """boto3 clients for an ``emulator`` environment on the module's LocalAWS (built once: building is slow)."""
    return ClientFactory(local_environment(module_local_aws), local_endpoint=module_local_aws.endpoint_url)


def local_environment(local: LocalAWS, **changes: Any) -> Environment:
    """The environment ``--env local`` resolves to, against ``local``."""
    environment = Environment(name="local", backend="emulator", cluster=CLUSTER, region=local.region)
    return replace(environment, **changes) if changes else environment


ServiceContextFactory = Callable[..., ServiceContext]


@pytest.fixture
def service_context(clean_aws: LocalAWS, module_client_factory: ClientFactory, tmp_path: Path) -> ServiceContextFactory:
    """A factory of ServiceContexts for the service ``web`` (repository ``web``, containers unset):
    ``service_context(image_tag="1.0", plan=True, render=hook, task_definition=path, scan_severity="HIGH",
    containers=("app",), variables={...}, environment_variables={...})``."""

    def make(
        *,
        service: str = "web",
        repository: str | None = "web",
        task_definition: Path | None = None,
        containers: tuple[str, ...] | None = None,
        scan_severity: str = "CRITICAL",
        image_tag: str | None = None,
        plan: bool = False,
        variables: dict[str, str] | None = None,
        environment_variables: dict[str, str] | None = None,
        render: Callable[[dict[str, Any]], None] | None = None,
    ) -> ServiceContext:
        environment = local_environment(clean_aws, variables=dict(environment_variables or {}))
        aws = module_client_factory
        if environment_variables:
            aws = ClientFactory(environment, local_endpoint=clean_aws.endpoint_url)
        hooks = Hooks(render_task_definition=render) if render is not None else Hooks()
        return ServiceContext(
            environment=environment,
            service=Service(name=service, service_name=service, repository=repository,
                            task_definition=task_definition, containers=containers, scan_severity=scan_severity),
            aws=aws,
            options=RunOptions(image_tag=image_tag, plan=plan, variables=dict(variables or {})),
            record=ServiceRecord(service=service, environment="local", cluster=CLUSTER),
            log=PrintLog(prefix=f"[{service}] "),
            hooks=hooks,
            base_dir=tmp_path,
        )

    return make


@pytest.fixture
def alone(shared: ModuleAWS) -> None:
    """For a test of a module sharing one LocalAWS (``shared``, tests/module_aws.py) that starts a LocalAWS of its
    own: the module's is stopped first, since one runs per process; the module's next test starts it again."""
    shared.suspend()


# -- Docker ------------------------------------------------------------------------------------------------------
# For the Docker tests (test_docker*.py, marked docker): ``example_image`` builds deployments/image (each image is
# removed at the end of the session); ``http_get``, ``wait_for`` and ``managed_containers`` are the small tools
# their checks share.

EXAMPLE_IMAGE_BUILD = Path(__file__).resolve().parents[2] / "deployments" / "image" / "build.sh"
HttpAnswer = tuple[int, str, "str | None"]


@pytest.fixture(scope="session")
def example_image() -> Iterator[Callable[..., str]]:
    """``example_image("2.0.0", "EXIT_AT_START=3")``: deployments/image built as a unique local image whose
    /version answers ``version`` (build args ``KEY=VALUE`` after it); every one is removed at the end."""
    built: list[str] = []

    def build(version: str, *build_args: str) -> str:
        image = f"ecsdeploy-test/web:{version}-{uuid.uuid4().hex[:8]}"
        args = [arg for pair in build_args for arg in ("--build-arg", pair)]
        subprocess.run([str(EXAMPLE_IMAGE_BUILD), version, image, *args], check=True, capture_output=True,
                       text=True, timeout=120)
        built.append(image)
        return image

    yield build
    if built:
        subprocess.run(["docker", "rmi", "-f", *built], capture_output=True, timeout=120)


def _http_get(url: str) -> HttpAnswer:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode().strip(), answer.headers.get("X-Ecsdeploy-Task")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode().strip(), error.headers.get("X-Ecsdeploy-Task")
    except OSError:
        return 0, "", None


@pytest.fixture(scope="session")
def http_get() -> Callable[[str], HttpAnswer]:
    """``http_get(url)`` -> (status, body, X-Ecsdeploy-Task header); status 0 when nothing answered."""
    return _http_get


@pytest.fixture(scope="session")
def wait_for() -> Callable[..., Any]:
    """``wait_for(what, probe, timeout=90, interval=0.2)``: :func:`fakes.wait_for`."""
    return wait_for_state


def _managed_containers(owner: str | None = None) -> list[str]:
    label = f"ecsdeploy.owner={owner}" if owner else "ecsdeploy.managed=true"
    done = subprocess.run(["docker", "ps", "-a", "--filter", f"label={label}", "--format", "{{.Names}}"],
                          check=True, capture_output=True, text=True, timeout=60)
    return done.stdout.split()


@pytest.fixture(scope="session")
def managed_containers() -> Callable[..., list[str]]:
    """``managed_containers(owner=None)``: names of the containers the emulator labels as its own (of one
    ``host:pid`` owner when given), running or not."""
    return _managed_containers
