"""Roll out web: pin the release image, register a revision, update the service, smoke-check it.

    pytest deployments/ --env local --image-tag 1.1.0
"""

import pytest

pytestmark = pytest.mark.ecs_service("web")


def test_image_is_published(ecr):
    ecr.image()  # --image-tag -> digest-pinned reference; fails if the tag is missing or has CRITICAL findings


def test_register_revision(task_definition, ecr):
    task_definition.with_image("app", ecr.image()).register()


def test_roll_out(ecs_service, task_definition):
    ecs_service.deploy(task_definition.registered)  # watches the rollout; rolls back if it or a later step fails


def test_smoke(smoke, ecr):
    smoke.targets_healthy()
    smoke.http("/version", contains=ecr.image().tag)  # through the load balancer: the release answers
