"""moto's ECS backend made to see the rollout engine's services and tasks (:func:`use_ecs_engine`): the backend class
whose service methods ask the engine, put in place of moto's own."""

from __future__ import annotations

import sys
from typing import Any

from .cloudformation import _patch_cloudformation_service
from .ec2 import _defer_ec2_package
from .engine import (
    EngineProvider,
    EngineResource,
    _ask,
    _camel,
    _ecs_error,
    _engine,
    _running_engine,
    set_provider,
)
from .loader import share_with_moto
from .state import _backends


def use_ecs_engine(provider: EngineProvider | None) -> None:
    """Make moto's ECS backend see the rollout engine's services and tasks (None: moto's own again).

    The one state is the engine's. moto's ``EC2ContainerServiceBackend`` is replaced, in ``ecs_backends`` (for
    the backends to come) and in each existing backend's class, by a subclass whose service methods
    (create_service, update_service, delete_service, describe_services, list_services, ``_get_service``), whose
    ``_get_resource`` for service and task ARNs (so TagResource, UntagResource and ListTagsForResource reach the
    engine's tags), ``iter_tagged_resources`` (the Resource Groups Tagging API), ``describe_clusters`` (the
    counts) and ``delete_cluster`` (ECS's refusals) ask the engine through ``provider``; CloudFormation's
    ``AWS::ECS::Service`` creates, updates and deletes services through the engine with all its properties.
    The HTTP requests for services and tasks go to the engine's handlers directly (the middleware), so their
    answers keep the engine's shapes; moto's methods are for moto's other callers.
    """
    models = _ecs_models()
    share_with_moto()
    set_provider(provider)
    engine_class = _engine_backend_class()
    target = engine_class if provider is not None else models.EC2ContainerServiceBackend
    models.ecs_backends.backend = target
    for _, _, backend in _backends(models.ecs_backends):
        backend.__class__ = target
    for account_backend in list(dict.values(models.ecs_backends)):
        account_backend.backend = target
    _patch_cloudformation_service(provider is not None)


def _ecs_models() -> Any:
    """moto's ECS models module, imported with moto's EC2 package deferred (:func:`_defer_ec2_package`)."""
    if "moto.ecs.models" not in sys.modules:
        _defer_ec2_package()
    from moto.ecs import models

    return models




_engine_backend: type[Any] | None = None


def _engine_backend_class() -> type[Any]:
    """moto's ECS backend class with the engine's services and tasks (made once)."""
    global _engine_backend
    if _engine_backend is not None:
        return _engine_backend
    from moto.ecs import models

    base: Any = models.EC2ContainerServiceBackend  # overrides return the engine's, not moto's, models

    class EngineBackedEcsBackend(base):  # type: ignore[misc]
        """moto's ECS backend whose services and tasks are the rollout engine's (see use_ecs_engine)."""

        def _service(self, body: dict[str, Any]) -> EngineResource:
            return EngineResource(self.account_id, self.region_name, body)

        def create_service_request(self, params: dict[str, Any]) -> EngineResource:
            """CreateService with ``params`` as its request body."""
            return self._service(_ask("CreateService", self.account_id, self.region_name, params)["service"])

        def create_service(self, cluster_str: str, service_name: str, desired_count: int | None,
                           task_definition_str: str | None = None, load_balancers: Any = None,
                           scheduling_strategy: Any = None, tags: Any = None, deployment_controller: Any = None,
                           launch_type: str | None = None, service_registries: Any = None,
                           platform_version: str | None = None, propagate_tags: str = "NONE",
                           network_configuration: Any = None, role_arn: str | None = None) -> EngineResource:
            params = {"cluster": cluster_str, "serviceName": service_name, "desiredCount": desired_count,
                      "taskDefinition": task_definition_str, "loadBalancers": load_balancers,
                      "schedulingStrategy": scheduling_strategy, "tags": tags,
                      "deploymentController": deployment_controller, "launchType": launch_type,
                      "serviceRegistries": service_registries, "platformVersion": platform_version,
                      "propagateTags": propagate_tags, "networkConfiguration": network_configuration,
                      "role": role_arn}
            return self.create_service_request({k: v for k, v in params.items() if v is not None})

        def update_service(self, service_properties: dict[str, Any]) -> EngineResource:
            params = {_camel(key): value for key, value in service_properties.items() if value is not None}
            return self._service(_ask("UpdateService", self.account_id, self.region_name, params)["service"])

        def delete_service(self, cluster_name: str, service_name: str, force: bool) -> EngineResource:
            params = {"cluster": cluster_name, "service": service_name, "force": force}
            return self._service(_ask("DeleteService", self.account_id, self.region_name, params)["service"])

        def describe_services(self, cluster_str: str,
                              service_names_or_arns: list[str]) -> tuple[list[EngineResource], list[dict[str, str]]]:
            services: list[EngineResource] = []
            failures: list[dict[str, str]] = []
            for start in range(0, len(service_names_or_arns), 10):
                answer = _ask("DescribeServices", self.account_id, self.region_name,
                              {"cluster": cluster_str, "services": service_names_or_arns[start:start + 10]})
                services += [self._service(body) for body in answer["services"]]
                failures += answer["failures"]
            return services, failures

        def list_services(self, cluster_str: str, scheduling_strategy: str | None = None,
                          launch_type: str | None = None) -> list[str]:
            params = {"cluster": cluster_str, "schedulingStrategy": scheduling_strategy, "launchType": launch_type,
                      "maxResults": 100}
            params = {k: v for k, v in params.items() if v is not None}
            arns: list[str] = []
            while True:
                answer = _ask("ListServices", self.account_id, self.region_name, params)
                arns += answer["serviceArns"]
                if not answer.get("nextToken"):
                    return arns
                params["nextToken"] = answer["nextToken"]

        def _get_service(self, cluster_str: str, service_str: str) -> EngineResource:
            from moto.ecs.exceptions import ServiceNotFoundException

            services, _ = self.describe_services(cluster_str, [service_str])
            if not services:
                raise ServiceNotFoundException()
            return services[0]

        def _get_resource(self, resource_arn: str, parsed_arn: dict[str, str]) -> Any:
            from moto.ecs.exceptions import InvalidParameterException, ServiceNotFoundException

            kind = parsed_arn["service"]
            if kind not in ("service", "task"):
                return super()._get_resource(resource_arn, parsed_arn)
            if _engine().resource_tags(self.account_id, self.region_name, resource_arn) is None:
                if kind == "service":
                    raise ServiceNotFoundException()
                try:  # a task of moto's own (StartTask places tasks on container instances in moto)
                    return super()._get_resource(resource_arn, parsed_arn)
                except NotImplementedError:  # moto's answer to a task it does not have either
                    raise InvalidParameterException("The referenced task was not found.") from None
            return EngineResource(self.account_id, self.region_name,
                                  {"serviceArn" if kind == "service" else "taskArn": resource_arn,
                                   "clusterArn": resource_arn.rsplit("/", 1)[0].replace(f":{kind}/", ":cluster/")})

        def iter_tagged_resources(self) -> Any:
            from moto.core.resource_tagging import TaggedResource

            engine = _running_engine()
            for arn, kind, tags in engine.tagged_resources(self.account_id, self.region_name) if engine else []:
                yield TaggedResource(arn=arn, tags={t["key"]: t["value"] for t in tags}, resource_type=kind)
            yield from super().iter_tagged_resources()

        def describe_clusters(self, cluster_names: list[str]) -> tuple[list[Any], list[Any]]:
            clusters, failures = super().describe_clusters(cluster_names)
            engine = _running_engine()
            for cluster in clusters:
                counts = engine.cluster_counts(self.account_id, self.region_name, cluster.name) if engine else {}
                cluster.active_services_count = counts.get("activeServicesCount", 0)
                cluster.running_tasks_count = counts.get("runningTasksCount", 0)
                cluster.pending_tasks_count = counts.get("pendingTasksCount", 0)
                cluster.registered_container_instances_count = self._instances(cluster.name)
            return clusters, failures

        def delete_cluster(self, cluster_str: str) -> Any:
            cluster = self._get_cluster(cluster_str)
            try:
                _engine().check_delete_cluster(self.account_id, self.region_name, cluster.name,
                                               self._instances(cluster.name))
            except Exception as exc:
                error = _ecs_error(exc)
                if error is exc:
                    raise
                raise error from None
            return super().delete_cluster(cluster_str)

        def _instances(self, cluster_name: str) -> int:
            """The container instances registered in the cluster, ACTIVE or DRAINING."""
            instances = self.container_instances.get(cluster_name, {}).values()
            return sum(instance.status in ("ACTIVE", "DRAINING") for instance in instances)

    # moto finds a backend's URLs and responses by the module its class is defined in.
    EngineBackedEcsBackend.__module__ = models.EC2ContainerServiceBackend.__module__
    _engine_backend = EngineBackedEcsBackend
    return EngineBackedEcsBackend
