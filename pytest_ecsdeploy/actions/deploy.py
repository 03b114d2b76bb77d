"""The ``deploy`` fixture: the whole deployment of the common case in one call.

``deploy()`` pins the release image (``ecr.image()``, from ``--image-tag``), puts it into the service's deploy
containers of a task definition from the service's configured source (its ``task_definition`` template, else
the running revision), registers that revision (or reuses an identical one) and rolls it out with
``ecs_service.deploy()``, which watches it, checks it and rolls it back on failure.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..context import ServiceContext
from ..errors import ActionError, ConfigError
from .ecr import Ecr
from .reads import seconds_argument
from .service import EcsService, Rollout
from .taskdef import TaskDefinition

__all__ = ["Deploy"]


class Deploy:
    """The ``deploy`` fixture: ``deploy()`` is image, revision and rollout in one step.

    Example::

        pytestmark = pytest.mark.ecs_service("web")

        def test_deploy(deploy):
            rollout = deploy()                      # --image-tag into the service's containers, then roll out
            assert rollout.is_completed

        def test_deploy_sidecar_too(deploy):
            deploy("1.4.2", containers=["app", "worker"], timeout=900)
    """

    def __init__(self, ctx: ServiceContext, ecr: Ecr, task_definition: TaskDefinition, ecs_service: EcsService) -> None:
        self.ctx = ctx
        self.ecr = ecr
        self.task_definition = task_definition
        self.ecs_service = ecs_service

    def __call__(
        self,
        tag: str | None = None,
        *,
        containers: Sequence[str] | None = None,
        timeout: float | None = None,
        force_new_deployment: bool = False,
        until: str | None = None,
    ) -> Rollout:
        """Deploy image ``tag`` (default ``--image-tag``) into ``containers`` (default: the service's
        ``containers``, else those whose image is in its repository) and roll the revision out (``until``: see
        ``ecs_service.deploy()``)."""
        __tracebackhide__ = True
        if containers is not None and (isinstance(containers, str) or not all(isinstance(c, str) for c in containers)):
            raise ActionError(f"deploy(containers=...) expects a list of container names, as in containers=['app'], "
                              f"got {containers!r}.")
        if timeout is not None:
            seconds_argument(timeout, "deploy(timeout=...)")  # refused before anything is registered
        image = self.ecr.image(tag)
        names = tuple(containers) if containers is not None else self.task_definition.deploy_containers
        if not names:
            raise ConfigError(
                f"[services.{self.ctx.service.name}]: no container of family '{self.task_definition.family}' runs an "
                f"image of repository '{self.ctx.service.repository}'; name the containers to deploy with "
                f"containers = [...] (its containers are: {', '.join(self.task_definition.containers)})."
            )
        for name in names:
            self.task_definition.with_image(name, image)
        revision = self.task_definition.register()
        return self.ecs_service.deploy(revision, timeout=timeout, force_new_deployment=force_new_deployment,
                                       until=until)
