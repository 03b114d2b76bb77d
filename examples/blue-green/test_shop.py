"""Release shop blue/green: the new revision answers on the test listener before production traffic moves to it.

    pytest examples/blue-green --env local --image-tag 1.1.0
"""

import pytest

pytestmark = pytest.mark.ecs_service("shop")


def test_image_is_published(ecr):
    ecr.image()  # --image-tag -> digest-pinned reference; fails if the tag is missing


def test_register_revision(task_definition, ecr):
    task_definition.with_image("app", ecr.image()).register()


def test_green_up(ecs_service, task_definition):
    rollout = ecs_service.deploy(task_definition.registered, until="test_traffic")
    assert rollout.is_paused  # green serves the test listener; production stays on blue


def test_green_answers_on_the_test_listener(smoke, ecr):
    smoke.http("/version", contains=ecr.image().tag, traffic="test")  # a failure here rolls back through the pause


def test_shift_production(ecs_service):
    ecs_service.continue_deployment()  # production traffic moves, bake, clean-up; watched to the end


def test_production_answers(smoke, ecr):
    smoke.http("/version", contains=ecr.image().tag)
