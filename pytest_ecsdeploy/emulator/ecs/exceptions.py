"""The errors the rollout engine answers with: one class per ECS error code it sends, as moto's ECS has its own.

    EngineError                           base: ``code`` is the ECS error code, ``message`` its text, ``status`` HTTP
     ├── ClientException                  unknown or inactive task definition ("TaskDefinition not found.")
     ├── InvalidParameterException        a parameter ECS would refuse ("The referenced task was not found.")
     ├── ClusterNotFoundException         "Cluster not found." / "The referenced cluster was inactive."
     ├── ServiceNotFoundException         "Service not found."
     ├── ServiceNotActiveException        "Service was not ACTIVE." (the service was deleted)
     ├── ClusterContainsContainerInstancesException  DeleteCluster on a cluster with container instances
     ├── ClusterContainsServicesException DeleteCluster on a cluster with services not yet INACTIVE
     ├── ClusterContainsTasksException    DeleteCluster on a cluster with tasks not yet STOPPED
     ├── ServiceDeploymentNotFoundException  StopServiceDeployment of a service deployment the engine never made
     ├── ConflictException                StopServiceDeployment of a finished service deployment
     └── UnknownOperationException        an action the engine does not implement

The HTTP middleware turns one into ``{"__type": code, "message": message}`` with ``status``; anything else the
engine raises is its own bug, answered as a 500 ``ServerException``.
"""

from __future__ import annotations


class EngineError(Exception):
    """An ECS error response: ``code`` as ECS sends it in ``__type``, ``message`` word for word."""

    code: str = "ServerException"
    status: int = 400
    default_message: str = ""

    def __init__(self, message: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ClientException(EngineError):
    """The request was refused because of what it refers to (for example an unknown task definition)."""

    code = "ClientException"


class InvalidParameterException(EngineError):
    """A parameter is not valid for this request."""

    code = "InvalidParameterException"


class ClusterNotFoundException(EngineError):
    """The cluster does not exist (or is INACTIVE: ``ClusterNotFoundException.inactive()``)."""

    code = "ClusterNotFoundException"
    default_message = "Cluster not found."

    @classmethod
    def inactive(cls) -> ClusterNotFoundException:
        return cls("The referenced cluster was inactive.")


class ServiceNotFoundException(EngineError):
    """The service does not exist in this cluster."""

    code = "ServiceNotFoundException"
    default_message = "Service not found."


class ServiceNotActiveException(EngineError):
    """The service exists but was deleted (DRAINING or INACTIVE)."""

    code = "ServiceNotActiveException"
    default_message = "Service was not ACTIVE."


class ClusterContainsContainerInstancesException(EngineError):
    """DeleteCluster on a cluster with container instances registered (ACTIVE or DRAINING)."""

    code = "ClusterContainsContainerInstancesException"
    default_message = "The Cluster cannot be deleted while Container Instances are active or draining."


class ClusterContainsServicesException(EngineError):
    """DeleteCluster on a cluster whose services are not all INACTIVE (deleted and drained)."""

    code = "ClusterContainsServicesException"
    default_message = "The Cluster cannot be deleted while Services are active."


class ClusterContainsTasksException(EngineError):
    """DeleteCluster on a cluster whose tasks are not all STOPPED."""

    code = "ClusterContainsTasksException"
    default_message = "The Cluster cannot be deleted while Tasks are active."


class ServiceDeploymentNotFoundException(EngineError):
    """The service deployment ARN names no service deployment."""

    code = "ServiceDeploymentNotFoundException"
    default_message = "The service deployment does not exist."


class ConflictException(EngineError):
    """The resource's current state does not allow the request (a service deployment that has finished)."""

    code = "ConflictException"


class UnknownOperationException(EngineError):
    """The action is not one the engine implements."""

    code = "UnknownOperationException"
