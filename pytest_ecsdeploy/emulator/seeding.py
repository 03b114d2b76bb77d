"""Applying a checked seed (``seed.Seed``) to a running LocalAWS.

Everything is created in the LocalAWS's account and region through the endpoint's public API (boto3): clusters,
ECR repositories and their images (PutImage), CloudWatch Logs groups, secrets, SSM parameters, task definitions
and target groups; each service through the rollout engine's ``seed_service``, so it starts with one COMPLETED
deployment and ``desired_count`` RUNNING tasks. Image behaviours are set before the services, whose first tasks
they may concern.

Example::

    seed = parse_seed({"clusters": ["local"], "repositories": {"web": {"tags": ["1.0.0"]}}},
                      "LocalAWS(seed=...)", Path.cwd(), {})
    apply_seed(seed, aws)["images"]       # {'web:1.0.0': 'sha256:...'}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from .seed import Seed, SeedCodeDeploy, SeedLoadBalancer

__all__ = ["MANIFEST_MEDIA_TYPE", "SeedTarget", "apply_seed", "image_manifest"]

MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


class SeedTarget(Protocol):
    """What :func:`apply_seed` needs: boto3 clients for the endpoint and the engine's ``seed_service``."""

    account_id: str
    region: str

    def client(self, service_name: str, *, region_name: str | None = None) -> Any: ...

    def seed_service(self, params: Mapping[str, Any], *, region: str | None = None) -> dict[str, Any]: ...

    def set_image_behaviour(self, image: str, behaviour: str, **params: Any) -> None: ...

    def set_hook_answers(self, function: str, answers: list[str], *, call_back_delay: float = 30.0) -> None: ...

    def set_codedeploy_hook(self, function: str, result: str) -> None: ...


def image_manifest(repository: str, tag: str) -> str:
    """A Docker v2 schema 2 manifest, distinct and stable for ``repository:tag`` (moto derives the digest
    from the layer digests, so the same seed gives the same digests every run)."""

    def blob(kind: str) -> str:
        return "sha256:" + hashlib.sha256(f"pytest-ecsdeploy seed {kind} {repository}:{tag}".encode()).hexdigest()

    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1469,
            "digest": blob("config"),
        },
        "layers": [
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 3370706,
             "digest": blob("layer")},
        ],
    }
    return json.dumps(manifest, indent=3)


def apply_seed(seed: Seed, target: SeedTarget, *, region: str | None = None,
               manifests: Callable[[str, str], str] | None = None) -> dict[str, Any]:
    """Create everything ``seed`` lists through ``target``'s endpoint, in ``region`` (default target.region).

    ``manifests(repository, tag)`` makes each seeded image's manifest (default: :func:`image_manifest`, a
    placeholder; with Docker, LocalAWS passes one that uploads a real image to its registry).

    Returns what was created: ``{"repositories": {name: uri}, "images": {"repo:tag": digest},
    "task_definitions": {family: arn}, "target_groups": {name: arn}, "services": {name: service}}``.
    """
    region = region or target.region
    manifest_of = manifests or image_manifest
    ecs = target.client("ecs", region_name=region)
    created: dict[str, Any] = {"repositories": {}, "images": {}, "task_definitions": {}, "target_groups": {},
                               "services": {}}

    for cluster in dict.fromkeys([*seed.clusters, *(service.cluster for service in seed.services.values())]):
        ecs.create_cluster(clusterName=cluster)

    for function, answers, delay in seed.hook_answers:
        target.set_hook_answers(function, list(answers), call_back_delay=delay)
    for behaviour in seed.image_behaviours:  # before the services, whose first tasks they may concern
        try:
            target.set_image_behaviour(behaviour.image, behaviour.behaviour, **behaviour.params)
        except TypeError:  # the runner runs real containers (Docker): each image's own process decides
            break

    if seed.repositories:
        ecr = target.client("ecr", region_name=region)
        for repository in seed.repositories.values():
            answer = ecr.create_repository(repositoryName=repository.name,
                                           imageTagMutability=repository.image_tag_mutability)
            created["repositories"][repository.name] = answer["repository"]["repositoryUri"]
            for tag in repository.tags:
                image = ecr.put_image(repositoryName=repository.name, imageTag=tag,
                                      imageManifest=manifest_of(repository.name, tag),
                                      imageManifestMediaType=MANIFEST_MEDIA_TYPE)["image"]
                created["images"][f"{repository.name}:{tag}"] = image["imageId"]["imageDigest"]

    if seed.secrets:
        secretsmanager = target.client("secretsmanager", region_name=region)
        for name, value in seed.secrets.items():
            secretsmanager.create_secret(Name=name, SecretString=value)
    if seed.log_groups:
        logs = target.client("logs", region_name=region)
        for group in dict.fromkeys(seed.log_groups):
            logs.create_log_group(logGroupName=group)
    if seed.ssm_parameters:
        ssm = target.client("ssm", region_name=region)
        for name, (value, kind) in seed.ssm_parameters.items():
            ssm.put_parameter(Name=name, Value=value, Type=kind)

    for family, definition in seed.task_definitions.items():
        answer = ecs.register_task_definition(**definition.payload)
        created["task_definitions"][family] = answer["taskDefinition"]["taskDefinitionArn"]

    target_groups: dict[str, str] = created["target_groups"]
    for service in seed.services.values():
        payload = dict(service.task_definition.payload)
        payload["containerDefinitions"] = [
            _with_image(definition, service.images, created["repositories"])
            for definition in payload["containerDefinitions"]
        ]
        arn = ecs.register_task_definition(**payload)["taskDefinition"]["taskDefinitionArn"]
        created["task_definitions"].setdefault(service.task_definition.family, arn)
        params: dict[str, Any] = {
            "cluster": service.cluster,
            "serviceName": service.name,
            "taskDefinition": arn,
            "desiredCount": service.desired_count,
            "launchType": service.launch_type,
            "deploymentConfiguration": service.deployment_configuration.as_api(),
        }
        if _network_mode(payload) == "awsvpc":
            params["networkConfiguration"] = _default_network(target, region)
        if service.launch_type == "EC2":
            _register_container_instances(target, region, service.cluster, max(service.desired_count, 1))
        if service.load_balancer is not None:
            balancer = service.load_balancer
            if balancer.target_group not in target_groups:
                target_groups[balancer.target_group] = _create_target_group(target, region, balancer)
            entry: dict[str, Any] = {"targetGroupArn": target_groups[balancer.target_group],
                                     "containerName": balancer.container, "containerPort": balancer.port}
            if balancer.alternate_target_group is not None:
                alternate = balancer.alternate_target_group
                if alternate not in target_groups:
                    target_groups[alternate] = _create_target_group(target, region, balancer, alternate)
                entry["advancedConfiguration"] = _listener_rules(target, region, service.name, balancer,
                                                                 entry["targetGroupArn"], target_groups[alternate])
            params["loadBalancers"] = [entry]
        if service.codedeploy is not None:
            params["deploymentController"] = {"type": "CODE_DEPLOY"}
        created["services"][service.name] = target.seed_service(params, region=region)
        if service.codedeploy is not None and service.load_balancer is not None:
            _seed_codedeploy(target, region, service.name, service.cluster, service.load_balancer,
                             service.codedeploy, target_groups)
    return created


def _seed_codedeploy(target: SeedTarget, region: str, service: str, cluster: str, balancer: SeedLoadBalancer,
                     codedeploy: SeedCodeDeploy, target_groups: dict[str, str]) -> None:
    """A CODE_DEPLOY service's CodeDeploy side: the alternate target group, a load balancer named after the
    service with the production and test listeners forwarding to the service's target group, the application
    (unless another service created it) and the deployment group with its CloudWatch alarms (created in OK), and
    the hooks' results."""
    alternate = SeedLoadBalancer(codedeploy.alternate_target_group, balancer.container, balancer.port)
    if alternate.target_group not in target_groups:
        target_groups[alternate.target_group] = _create_target_group(target, region, alternate)
    elbv2 = target.client("elbv2", region_name=region)
    subnets = _default_network(target, region)["awsvpcConfiguration"]["subnets"]
    arn = elbv2.create_load_balancer(Name=service[:32], Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    listeners = [elbv2.create_listener(LoadBalancerArn=arn, Protocol="HTTP", Port=port, DefaultActions=[
        {"Type": "forward", "TargetGroupArn": target_groups[balancer.target_group]}])["Listeners"][0]["ListenerArn"]
        for port in (codedeploy.listener_port, codedeploy.test_listener_port)]
    cloudwatch = target.client("cloudwatch", region_name=region)
    for name in codedeploy.alarms:  # SetAlarmState needs the alarm; a metric alarm starts in OK
        cloudwatch.put_metric_alarm(AlarmName=name, MetricName=name, Namespace="ecsdeploy/seed", Statistic="Sum",
                                    Period=60, EvaluationPeriods=1, Threshold=1.0,
                                    ComparisonOperator="GreaterThanOrEqualToThreshold")
    client = target.client("codedeploy", region_name=region)
    if codedeploy.application not in client.list_applications()["applications"]:
        client.create_application(applicationName=codedeploy.application, computePlatform="ECS")
    ready: dict[str, Any] = {"actionOnTimeout": "CONTINUE_DEPLOYMENT"}
    if codedeploy.ready_wait_minutes is not None:
        ready = {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": codedeploy.ready_wait_minutes}
    client.create_deployment_group(
        applicationName=codedeploy.application, deploymentGroupName=codedeploy.deployment_group,
        deploymentConfigName=codedeploy.deployment_config,
        serviceRoleArn=f"arn:aws:iam::{target.account_id}:role/ecsCodeDeployRole",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        ecsServices=[{"clusterName": cluster, "serviceName": service}],
        blueGreenDeploymentConfiguration={
            "deploymentReadyOption": ready,
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "TERMINATE", "terminationWaitTimeInMinutes": codedeploy.termination_wait_minutes}},
        loadBalancerInfo={"targetGroupPairInfoList": [{
            "targetGroups": [{"name": balancer.target_group}, {"name": alternate.target_group}],
            "prodTrafficRoute": {"listenerArns": [listeners[0]]},
            "testTrafficRoute": {"listenerArns": [listeners[1]]}}]},
        alarmConfiguration={"enabled": bool(codedeploy.alarms), "ignorePollAlarmFailure": False,
                            "alarms": [{"name": name} for name in codedeploy.alarms]},
        autoRollbackConfiguration={"enabled": codedeploy.auto_rollback,
                                   "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"]
                                   + (["DEPLOYMENT_STOP_ON_ALARM"] if codedeploy.alarms else [])})
    for function, result in codedeploy.hooks.items():
        target.set_codedeploy_hook(function, result)


def _register_container_instances(target: SeedTarget, region: str, cluster: str, count: int) -> None:
    """``count`` EC2 instances registered as container instances of ``cluster``: EC2 tasks run only on container
    instances, and one per task leaves each task room whatever CPU, memory and host ports it takes."""
    ec2, ecs = target.client("ec2", region_name=region), target.client("ecs", region_name=region)
    for instance in ec2.run_instances(ImageId="ami-12c6146b", MinCount=count, MaxCount=count)["Instances"]:
        ecs.register_container_instance(cluster=cluster,
                                        instanceIdentityDocument=json.dumps({"instanceId": instance["InstanceId"]}))


def _network_mode(payload: Mapping[str, Any]) -> str:
    """A task definition's networkMode with ECS's default (awsvpc for Fargate-only, else bridge)."""
    default = "awsvpc" if "FARGATE" in (payload.get("requiresCompatibilities") or ()) else "bridge"
    return str(payload.get("networkMode") or default)


def _default_network(target: SeedTarget, region: str) -> dict[str, Any]:
    """The network configuration of a seeded awsvpc service: the default VPC's default subnets and security
    group, as a console-created service gets (ECS refuses an awsvpc service without one, and a seed cannot name
    subnets that exist only once the local AWS has started)."""
    ec2 = target.client("ec2", region_name=region)
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    if subnets:
        vpc_id = subnets[0]["VpcId"]
    else:
        vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24")["Subnet"]]
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                   {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    return {"awsvpcConfiguration": {"subnets": sorted(s["SubnetId"] for s in subnets),
                                    "securityGroups": [g["GroupId"] for g in groups],
                                    "assignPublicIp": "DISABLED"}}


def _with_image(definition: Mapping[str, Any], images: Mapping[str, tuple[str, str]],
                uris: Mapping[str, str]) -> dict[str, Any]:
    result = dict(definition)
    if definition["name"] in images:
        repository, tag = images[definition["name"]]
        result["image"] = f"{uris[repository]}:{tag}"
    return result


def _create_target_group(target: SeedTarget, region: str, balancer: SeedLoadBalancer, name: str | None = None) -> str:
    """A target group of IP targets in the default VPC: HTTP, or TCP behind a Network Load Balancer (which takes
    TCP, TLS, UDP and TCP_UDP target groups only)."""
    ec2 = target.client("ec2", region_name=region)
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    vpc_id = vpcs[0]["VpcId"] if vpcs else ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    elbv2 = target.client("elbv2", region_name=region)
    protocol = "TCP" if balancer.balancer_type == "network" else "HTTP"
    answer = elbv2.create_target_group(Name=name or balancer.target_group, Protocol=protocol, Port=balancer.port,
                                       VpcId=vpc_id, TargetType="ip")
    return str(answer["TargetGroups"][0]["TargetGroupArn"])


def _listener_rules(target: SeedTarget, region: str, service: str, balancer: SeedLoadBalancer, primary: str,
                    alternate: str) -> dict[str, str]:
    """A blue/green service's ``advancedConfiguration``: an Application Load Balancer ``<service>`` (its name cut
    to 32 characters) in the default VPC's subnets with a production listener on port 80 and, unless
    ``test_listener`` is false, a test listener on port 8080, each with a rule (priority 1, path ``/*``)
    forwarding to both target groups, weights 1 and 0, as ECS asks before a blue/green deployment; the role is
    ``ecsInfrastructureRoleForLoadBalancers`` of the account (AWS's documented name; nothing checks it). With
    ``balancer_type`` network, a Network Load Balancer with TCP listeners on the same ports whose default actions
    forward to both target groups, the listeners themselves named (an NLB has no rules; botocore ecs
    AdvancedConfiguration)."""
    elbv2 = target.client("elbv2", region_name=region)
    subnets = _default_network(target, region)["awsvpcConfiguration"]["subnets"]
    name = service.replace("_", "-")[:32].strip("-") or "blue-green"
    network = balancer.balancer_type == "network"
    balancer_arn = elbv2.create_load_balancer(Name=name, Subnets=subnets, Type=balancer.balancer_type,
                                              Scheme="internal")["LoadBalancers"][0]["LoadBalancerArn"]
    forward = [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": primary, "Weight": 1},
                                                                      {"TargetGroupArn": alternate, "Weight": 0}]}}]
    rules = {}
    for key, port in (("productionListenerRule", 80), ("testListenerRule", 8080)):
        if key == "testListenerRule" and not balancer.test_listener:
            continue
        listener = elbv2.create_listener(LoadBalancerArn=balancer_arn, Protocol="TCP" if network else "HTTP",
                                         Port=port, DefaultActions=forward)["Listeners"][0]["ListenerArn"]
        rules[key] = listener if network else elbv2.create_rule(
            ListenerArn=listener, Priority=1, Actions=forward,
            Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}])["Rules"][0]["RuleArn"]
    return {"alternateTargetGroupArn": alternate, **rules,
            "roleArn": f"arn:aws:iam::{target.account_id}:role/ecsInfrastructureRoleForLoadBalancers"}
