"""The rollout engine as moto's ECS backend sees it: the :class:`EcsEngine` protocol the engine implements, the
provider that gives it (:func:`set_provider`), the calls into it with ECS's errors made moto's (:func:`_ask`), and
:class:`EngineResource`, one of its services or tasks where moto expects one of its models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

# -- ECS services and tasks: the rollout engine's, as moto's ECS backend sees them ------------------------


class EcsEngine(Protocol):
    """What moto's ECS backend asks of the rollout engine, which holds every ECS service and task.

    Each method raises, for what ECS refuses, an exception with ECS's error ``code`` and ``message`` as attributes
    (moto answers it as that ECS error). Tags are ECS's ``[{"key": ..., "value": ...}]`` lists.
    """

    def handle(self, action: str, account: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
        """An ECS service or task action (CreateService, DescribeServices, ...): request body -> response body."""
        ...

    def resource_tags(self, account: str, region: str, arn: str) -> list[dict[str, str]] | None:
        """The tags of the service or task ``arn``; None when the engine has no such service or task."""
        ...

    def set_resource_tags(self, account: str, region: str, arn: str, tags: list[dict[str, str]]) -> None:
        """Replace the tags of the service or task ``arn`` (one :meth:`resource_tags` found)."""
        ...

    def tagged_resources(self, account: str, region: str) -> list[tuple[str, str, list[dict[str, str]]]]:
        """(ARN, ``ecs:service`` or ``ecs:task``, tags) of every service not INACTIVE and every task."""
        ...

    def cluster_counts(self, account: str, region: str, cluster: str) -> dict[str, int]:
        """DescribeClusters' ``activeServicesCount``, ``runningTasksCount`` and ``pendingTasksCount`` of the
        cluster named ``cluster``."""
        ...

    def check_delete_cluster(self, account: str, region: str, cluster: str, container_instances: int) -> None:
        """Raise ECS's refusal of DeleteCluster for the cluster named ``cluster``, which has
        ``container_instances`` container instances registered (ACTIVE or DRAINING)."""
        ...


#: The rollout engine's provider: called with True it returns the engine, creating it if needed; with False the
#: running one or None. Set by :func:`use_ecs_engine`.
EngineProvider = Callable[[bool], "EcsEngine | None"]
_engine_provider: EngineProvider | None = None


def set_provider(provider: EngineProvider | None) -> None:
    """The provider :func:`_engine` and :func:`_running_engine` ask from now on (None: no engine)."""
    global _engine_provider
    _engine_provider = provider


def _engine() -> EcsEngine:
    provider = _engine_provider
    engine = provider(True) if provider is not None else None
    if engine is None:
        raise RuntimeError("moto's ECS backend asked for the rollout engine while none is in use.")
    return engine


def _running_engine() -> EcsEngine | None:
    provider = _engine_provider
    return provider(False) if provider is not None else None


def _ecs_error(exc: Exception) -> Exception:
    """``exc`` as moto's ECS error when it carries ECS's ``code`` and ``message``, else ``exc``."""
    from moto.ecs.exceptions import ECSException

    code, message = getattr(exc, "code", None), getattr(exc, "message", None)
    if isinstance(code, str) and isinstance(message, str):
        return ECSException(code, message)
    return exc


def _ask(action: str, account: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
    try:
        return _engine().handle(action, account, region, params)
    except Exception as exc:
        error = _ecs_error(exc)
        if error is exc:
            raise
        raise error from None


class EngineResource:
    """A service or task of the rollout engine where moto expects one of its models: identity, the fields moto's
    other services read (CloudFormation, Application Auto Scaling), and ``tags`` read and written in the engine."""

    def __init__(self, account: str, region: str, body: dict[str, Any]) -> None:
        self._account, self._region = account, region
        self.arn = str(body.get("serviceArn") or body.get("taskArn"))
        self.task_arn = self.arn
        self.name = str(body.get("serviceName") or self.arn.rsplit("/", 1)[-1])
        self.cluster_arn = str(body.get("clusterArn"))
        self.cluster_name = self.cluster_arn.rsplit("/", 1)[-1]
        self.status = body.get("status") or body.get("lastStatus")
        self.desired_count = body.get("desiredCount")
        self.task_definition = body.get("taskDefinition") or body.get("taskDefinitionArn")
        self.task_sets: list[Any] = []

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @property
    def tags(self) -> list[dict[str, str]]:
        return list(_engine().resource_tags(self._account, self._region, self.arn) or [])

    @tags.setter
    def tags(self, tags: list[dict[str, str]]) -> None:
        _engine().set_resource_tags(self._account, self._region, self.arn, list(tags))

    def is_created(self) -> bool:
        """For CloudFormation: the service exists once CreateService has answered."""
        return True

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "Name":
            return self.name
        if attribute_name == "ServiceArn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    def delete(self, account: str, region: str) -> None:
        """CloudFormation's delete of the stack's service: DeleteService with force, as CloudFormation does."""
        _ask("DeleteService", account, region, {"cluster": self.cluster_arn, "service": self.arn, "force": True})


def _camel(key: str) -> str:
    """moto's snake_case key of an UpdateService request (``task_definition``) in the API's camelCase."""
    head, *rest = key.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)
