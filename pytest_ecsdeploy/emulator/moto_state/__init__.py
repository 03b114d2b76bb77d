"""The one seam into moto's internals: everything the embedded local AWS reads or changes of moto's state.

moto keeps each service's state in process-global backends (``ecs_backends[account][region]`` and so on) and
offers no public API for them; this package is the only one that imports them, so a moto upgrade that moves
something breaks here and nowhere else. One module per AWS service it reaches (state: the whole; iam; ecs; engine
and ecs_backend: the rollout engine as moto's ECS backend; cloudformation; ec2; elbv2; cloudwatch; codedeploy;
ecr; secrets: Secrets Manager and SSM; logs), everything re-exported here, so callers write ``moto_state.ecr_image``.
It holds:

- the whole state as JSON-able data (:func:`snapshot`) and its reset (:func:`reset`);
- the account an access key belongs to (:func:`account_of_access_key`, moto's own rule);
- what the rollout engine reads of ECS (:func:`ecs_cluster`, :func:`ecs_task_definition`), ECR
  (:func:`ecr_image`) and changes in ELBv2 (:class:`Elbv2Targets`);
- where the rollout engine runs tasks: a cluster's capacity providers (:func:`ecs_cluster_capacity`), its
  container instances and the resources they have left (:func:`ecs_container_instances`, :func:`ecs_reserve`),
  and the elastic network interface of an awsvpc task in EC2 (:func:`ec2_create_task_interface`,
  :func:`ec2_set_interface_status`, :func:`ec2_delete_interface`);
- what the load balancers read of ELBv2 and ECR (:func:`target_group_arn`, :func:`registered_targets`,
  :func:`ecr_tag_of`), and what the local CodeDeploy reads of its deployment groups and changes of listeners
  (:func:`codedeploy_group`, :func:`codedeploy_traffic_route`, :func:`elbv2_target_group_arn`,
  :func:`elbv2_forward`), and the Docker runner of ECR, Secrets Manager and SSM (:func:`ecr_has_repository`,
  :func:`secret_string`, :func:`ssm_parameter_value`);
- the rollout engine's services and tasks made moto's ECS backend's (:func:`use_ecs_engine`, the adapter
  :class:`EcsEngine` the engine implements), so that every client of moto sees the engine's one state;
- what the ECR bridge reads and writes of ECR (:func:`ecr_locate`, :func:`ecr_put_image`,
  :func:`ecr_tags_by_digest`) and the ``Repository.uri`` patch (:func:`set_repository_host`);
- what the runners write to CloudWatch Logs for the awslogs driver (:func:`logs_open_stream`,
  :func:`logs_put_events`);
- boto3 sessions that share one botocore loader, moto's region lists' included (:func:`boto3_session`,
  :func:`shared_loader`).

One state for ECS. The rollout engine's ``RegionState`` is the one store of ECS services and tasks; moto's ECS
backend is made to see it (:func:`use_ecs_engine`) rather than the engine keeping its state in moto's models or
replacing moto's backend whole. Why: moto's ``Service`` and ``Task`` have no deployments, task lifecycle or circuit
breaker, so keeping the engine's state in them means two representations kept in step; replacing the backend whole
means rewriting what moto does well (clusters, task definitions, container instances, capacity providers,
attributes, account settings). Instead moto's backend asks the engine, through the :class:`EcsEngine` adapter the
engine implements (this package imports nothing of the engine), whenever moto's other callers need a service or a
task: CloudFormation, the tagging operations and the Resource Groups Tagging API, DescribeClusters' counts,
DeleteCluster, Application Auto Scaling. ECS's HTTP requests for services and tasks never reach moto's backend (the
middleware sends them to the engine, whose answers keep their shapes), so moto's RunTask, StopTask, ListTasks and
DescribeTasks are left as they are: nothing else in moto calls them.

Every iteration over a backend dictionary holds moto's ``backend_lock`` (moto creates backends on first access,
from any request thread). Importing this package is cheap: moto's models are imported by the first call that needs
them. moto's ECS models come with :func:`use_ecs_engine` (a LocalAWS's start), moto's EC2 models only when a
request needs EC2 (:func:`_defer_ec2_package`), so that the first ECS answer does not wait for them.
"""

from __future__ import annotations

from .cloudwatch import cloudwatch_alarm_states, cloudwatch_alarms_in_alarm
from .codedeploy import codedeploy_group, codedeploy_traffic_route, codedeploy_update_group
from .ec2 import (
    TaskInterface,
    ec2_create_task_interface,
    ec2_delete_interface,
    ec2_missing,
    ec2_set_interface_status,
    one_boto3_session,
)
from .ecr import (
    ecr_has_repository,
    ecr_image,
    ecr_locate,
    ecr_put_image,
    ecr_tag_of,
    ecr_tags_by_digest,
    set_repository_host,
)
from .ecs import (
    EcsCapacity,
    EcsCluster,
    EcsContainerInstance,
    EcsTaskDefinition,
    ecs_cluster,
    ecs_cluster_capacity,
    ecs_container_instances,
    ecs_reserve,
    ecs_task_definition,
)
from .ecs_backend import use_ecs_engine
from .elbv2 import (
    Elbv2Targets,
    elbv2_forward,
    elbv2_listener_rule,
    elbv2_set_forward_weights,
    elbv2_target_group_arn,
    elbv2_target_group_exists,
    registered_targets,
    target_group_arn,
)
from .engine import EcsEngine, EngineProvider, EngineResource
from .iam import account_of_access_key
from .loader import boto3_session, shared_loader
from .logs import logs_open_stream, logs_put_events
from .secrets import secret_string, ssm_parameter_value
from .state import reset, snapshot

__all__ = [
    "EcsCapacity",
    "EcsCluster",
    "EcsContainerInstance",
    "EcsEngine",
    "EcsTaskDefinition",
    "Elbv2Targets",
    "EngineProvider",
    "EngineResource",
    "TaskInterface",
    "account_of_access_key",
    "boto3_session",
    "cloudwatch_alarm_states",
    "cloudwatch_alarms_in_alarm",
    "codedeploy_group",
    "codedeploy_traffic_route",
    "codedeploy_update_group",
    "ec2_create_task_interface",
    "ec2_delete_interface",
    "ec2_missing",
    "ec2_set_interface_status",
    "ecr_has_repository",
    "ecr_image",
    "ecr_locate",
    "ecr_put_image",
    "ecr_tag_of",
    "ecr_tags_by_digest",
    "ecs_cluster",
    "ecs_cluster_capacity",
    "ecs_container_instances",
    "ecs_reserve",
    "ecs_task_definition",
    "elbv2_forward",
    "elbv2_listener_rule",
    "elbv2_set_forward_weights",
    "elbv2_target_group_arn",
    "elbv2_target_group_exists",
    "logs_open_stream",
    "logs_put_events",
    "one_boto3_session",
    "registered_targets",
    "reset",
    "secret_string",
    "set_repository_host",
    "shared_loader",
    "snapshot",
    "ssm_parameter_value",
    "target_group_arn",
    "use_ecs_engine",
]
