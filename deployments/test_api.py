"""Roll out api with its database migration first: pin the release image, register the revision, run the
migration as a one-off task of exactly that revision, then update the service.

    pytest deployments/ --env local --image-tag 1.1.0 -k api

The migration runs where the service runs (its subnets and security groups), and any non-zero exit code of any
container, a task that never started, or a migration still running after 5 minutes fails the step; the service
is then left on the revision it runs, since the rollout step is skipped.
"""

import pytest

pytestmark = pytest.mark.ecs_service("api")

# The revision's own image and entry point (/bin/sh -c) with another command. For the embedded local AWS,
# ecsdeploy.toml's seed tells the simulated runner that this command finishes; on ECS it simply runs.
MIGRATE = ["echo 'api: migrating the schema' && sleep 1"]


def test_image_is_published(ecr):
    ecr.image()  # --image-tag -> digest-pinned reference; fails if the tag is missing or has CRITICAL findings


def test_register_revision(task_definition, ecr):
    task_definition.with_image("app", ecr.image()).register()


def test_migrate_database(ecs_task, task_definition):
    if task_definition.registered.status == "unchanged":
        pytest.skip("api already runs this revision: its migration ran when it was rolled out")
    ecs_task.run(task_definition.registered, command=MIGRATE, timeout=300)


def test_roll_out(ecs_service, task_definition):
    ecs_service.deploy(task_definition.registered)  # watches the rollout; rolls back if it or a later step fails
