"""ecr.push() through a real Docker engine into the embedded local AWS's registry (``LocalAWS(runner="docker")``):
the digest ECR reports must be the one Docker pushed. Skipped where Docker or the registry is missing."""

from __future__ import annotations

import io
import os
import tarfile
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pytest_ecsdeploy.actions.ecr import Ecr
from pytest_ecsdeploy.context import ServiceContext
from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.errors import CheckFailed

pytestmark = pytest.mark.docker

ServiceContextFactory = Callable[..., ServiceContext]  # the service_context fixture (tests/e2e/conftest.py)


def _engine() -> Any:
    import docker

    client = docker.from_env()  # conftest.py skips this module where no engine answers (fails it in CI)
    client.ping()
    return client


@pytest.fixture(scope="module")
def docker_engine() -> Iterator[Any]:
    """The local Docker engine (skips the module's tests when none answers)."""
    client = _engine()
    yield client
    client.close()


@pytest.fixture(scope="module")
def module_local_aws(docker_engine: Any) -> Iterator[LocalAWS]:
    """Overrides the conftest's: a LocalAWS whose ECR has a registry behind repositoryUri."""
    with LocalAWS(runner="docker") as local:
        if local.registry_host is None:
            pytest.skip("the embedded local AWS has no registry (install docker-registry or set ECSDEPLOY_REGISTRY_BIN)")
        yield local


@pytest.fixture
def built_image(docker_engine: Any) -> Iterator[str]:
    """A one-file image built offline (FROM scratch) under a tag of its own (tests run in parallel on one engine),
    removed afterwards with every tag given to it."""
    import docker.errors

    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, body in (("Dockerfile", b"FROM scratch\nCOPY hello /hello\n"), ("hello", os.urandom(16))):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    context.seek(0)
    tag = f"ecsdeploy-push-test:{uuid.uuid4().hex[:12]}"
    image, _ = docker_engine.images.build(fileobj=context, custom_context=True, tag=tag, rm=True)
    yield tag
    try:
        tags = docker_engine.images.get(image.id).tags
    except docker.errors.ImageNotFound:
        return
    for name in tags:
        try:
            docker_engine.images.remove(name)
        except docker.errors.ImageNotFound:
            pass


@pytest.fixture
def ecr(clean_aws: LocalAWS, service_context: ServiceContextFactory) -> Iterator[Ecr]:
    clean_aws.client("ecr").create_repository(repositoryName="web")
    instance = Ecr(service_context())
    yield instance
    instance.close()


def test_push_through_a_docker_engine(ecr: Ecr, built_image: str, clean_aws: LocalAWS) -> None:
    ref = ecr.push(built_image, tag="e2e")
    assert ref.repository_uri == f"{clean_aws.registry_host}/web"
    assert ref.digest is not None and ref.digest == ecr.image("e2e").digest
    assert [(c.name, c.result) for c in ecr.ctx.checks.items if c.action == "ecr.push"] == [
        ("repository exists", "passed"), ("local image exists", "passed"), ("ECR has the pushed digest", "passed")]
    again = ecr.push(built_image, tag="e2e-again")  # the same image under a second tag: same digest
    assert again.digest == ref.digest


def test_push_of_an_image_docker_does_not_have(ecr: Ecr) -> None:
    with pytest.raises(CheckFailed, match=r"local image exists: Docker has no image 'ecsdeploy-no-such:1'\.$"):
        ecr.push("ecsdeploy-no-such:1", tag="e2e")


def test_an_image_deleted_through_ecr_leaves_the_registry(ecr: Ecr, built_image: str, clean_aws: LocalAWS) -> None:
    ref = ecr.push(built_image, tag="gone")
    client = clean_aws.client("ecr")
    answer = client.batch_delete_image(repositoryName="web", imageIds=[{"imageTag": "gone"}])
    assert answer["failures"] == [] and answer["imageIds"][0]["imageDigest"] == ref.digest
    # a read imports what the registry has and ECR has not heard of: the deleted image must not come back
    assert client.describe_images(repositoryName="web")["imageDetails"] == []
