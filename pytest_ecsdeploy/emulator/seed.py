"""What the embedded local AWS holds when it starts: the seed schema and its checks (``seeding`` applies it).

The same tables come from three places:

- ``LocalAWS(seed={...})``: a mapping;
- an environment's ``seed`` table in ``deployments/ecsdeploy.toml`` (``[environments.local.seed]``);
- ``ecsdeploy-emulator --seed FILE``: a TOML file with the same tables at its top level.

Schema (every key optional; docs/seed.md is the reference, with an example per runner)::

    clusters = ["local"]                        # ECS clusters (clusters that services name are created too)

    [repositories.web]                          # an ECR repository named web
    tags = ["1.0.0", "1.1.0"]                   # each tag a distinct image (a Docker v2 schema 2 manifest,
                                                #   stored through PutImage; digests are the same every run)
    image_tag_mutability = "MUTABLE"            # or "IMMUTABLE" (default MUTABLE)

    [task_definitions]                          # extra families: family -> template path
    worker = "worker/taskdef.json"

    [services.web]                              # an ECS service named web, steady on its first revision
    task_definition = "web/taskdef.json"        # required: JSON template, path relative to base_dir
    cluster = "local"                           # default: the environment's cluster, else the only entry
                                                #   of `clusters`, else "default"
    images = { app = "web:1.0.0" }              # container -> "repository:tag" of a seeded repository
    desired_count = 2                           # default 1
    launch_type = "FARGATE"                     # or "EC2" (default FARGATE); an awsvpc task definition's
                                                #   service gets the default VPC's default subnets and
                                                #   security group as its network configuration; an EC2
                                                #   service gets one container instance per task in its
                                                #   cluster (EC2 tasks run only on container instances)
    deployment_configuration = { minimum_healthy_percent = 100, maximum_percent = 200,
                                 circuit_breaker = true, rollback = true }
                                                # each key optional; left out: 100, 200, and the circuit
                                                #   breaker and rollback off (CreateService's defaults);
                                                #   rollback needs circuit_breaker = true;
                                                #   strategy = "BLUE_GREEN" (or LINEAR, CANARY; default
                                                #   ROLLING) with bake_time_minutes = 0..1440 (BLUE_GREEN
                                                #   needs it): see docs/strategies.md; lifecycle_hooks =
                                                #   [{ stages = [...], timeout_minutes, timeout_action }]
                                                #   (PAUSE hooks), linear = { step_percent,
                                                #   step_bake_minutes }, canary = { percent, bake_minutes }
    load_balancer = { target_group = "web", container = "app", port = 8080 }  # creates an ELBv2 target group
                                                # listen_port = 8080 (optional): the target group's local
                                                #   endpoint listens on 127.0.0.1:8080;
                                                # alternate_target_group = "web-green": blue/green-ready (a
                                                #   second target group, a load balancer with a production
                                                #   and, unless test_listener = false, a test listener, each
                                                #   with a rule forwarding to both, and advancedConfiguration);
                                                #   listen_port is then the production listener's endpoint and
                                                #   test_listen_port the test listener's; type = "network": a
                                                #   Network Load Balancer instead (TCP listeners, no rules: the
                                                #   listeners forward to both; ECS adds 10 minutes per shift stage)

    [services.web.codedeploy]                   # the service is on the CODE_DEPLOY controller (needs
    alternate_target_group = "web-green"        #   load_balancer): a second target group, a load balancer
    application = "web"                         #   with a production and a test listener forwarding to the
    deployment_group = "web"                    #   first, a CodeDeploy application and deployment group
    deployment_config = "CodeDeployDefault.ECSAllAtOnce"   # (defaults: the service's name, ECSAllAtOnce,
    listener_port = 80                          #   ports 80 and 8080, no ready wait, 5 minutes' termination
    test_listener_port = 8080                   #   wait, auto rollback on); ready_wait_minutes = N stops at
    ready_wait_minutes = 30                     #   Ready (STOP_DEPLOYMENT) for N minutes; hooks: what each
    termination_wait_minutes = 5                #   named Lambda function reports (Succeeded or Failed), see
    auto_rollback = true                        #   docs/seed.md; listen_port / test_listen_port: the
    listen_port = 9080                          #   listeners' endpoints on 127.0.0.1 (else free ports);
    hooks = { "smoke-check" = "Failed" }        #   alarms: the group's CloudWatch alarms (created in OK):
    alarms = ["web-5xx"]                        #   one in ALARM stops a deployment (rolled back with
                                                #   auto_rollback)

    log_groups = ["/ecs/api"]                   # CloudWatch Logs groups that task definitions' awslogs
                                                #   options name (a task fails to start without its group)

    [secrets]                                   # Secrets Manager: name -> secret string
    "db/password" = "value"

    [ssm_parameters]                            # SSM: name -> value (String) or { value, type }
    "/web/base-url" = "http://localhost"
    "/web/api-key" = { value = "k", type = "SecureString" }

    [[hook_answers]]                            # what the Lambda function of AWS_LAMBDA lifecycle hooks answers
    function = "smoke"                          #   (no Lambda runs): a name or ARN, its answers in turn (the
    answers = ["IN_PROGRESS", "SUCCEEDED"]      #   last one repeats), and the seconds before an IN_PROGRESS
    call_back_delay = 30                        #   hook is invoked again (default 30)

    [[image_behaviours]]                        # how the simulated runner runs an image (ignored by the Docker
    image = "api:1.1.0"                         #   runner, where the image's own process decides): image (one
                                                #   a seeded repository holds, else an error with "did you mean"),
    behaviour = "exit"                          #   behaviour (healthy, crash, unhealthy, pull-error, exit) and
    exit_code = 0                               #   its parameters (exit_code, after, reason, logs); with command,
    after = 1.0                                 #   only containers started with exactly that command (a
    command = ["/bin/sh", "-c", "migrate"]      #   migration's RunTask override) behave so, the service's tasks
    logs = ["migrated 3 tables"]                #   do not; logs: the lines a container with an awslogs
                                                #   logConfiguration writes to CloudWatch Logs

Templates: ``${VAR}``, ``${VAR:-default}`` and ``$${`` are rendered from ``variables`` with the same helper as
ecsdeploy.toml (``pytest_ecsdeploy.tomlfile.render_template``); the process environment is not read unless it
is part of ``variables``. A template may be a RegisterTaskDefinition payload or DescribeTaskDefinition output
(``{"taskDefinition": {...}, "tags": [...]}``): read-only fields (taskDefinitionArn, revision, status, ...)
are dropped. A service's family is the template's ``family`` (else the service name); in
``[task_definitions]`` the key is the family. An image in ``images`` becomes ``<repositoryUri>:<tag>``.

Every mistake is a :class:`~pytest_ecsdeploy.errors.ConfigError` with one sentence naming where it is::

    deployments/ecsdeploy.toml: [environments.local.seed.services.web] desired_count: expected an integer,
    got 'two' (a string).

``where`` is the source, optionally followed by the table the seed lives in (``"deployments/ecsdeploy.toml:
[environments.local.seed]"``); tables inside it are named from there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..tomlfile import choices, closest, describe, read_toml, render_template

__all__ = [
    "SEED_TABLES",
    "Seed",
    "SeedCodeDeploy",
    "SeedDeploymentConfiguration",
    "SeedImageBehaviour",
    "SeedLoadBalancer",
    "SeedRepository",
    "SeedService",
    "SeedTaskDefinition",
    "load_seed_file",
    "parse_seed",
]

READ_ONLY_TASK_DEFINITION_FIELDS = (
    "taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
    "registeredAt", "registeredBy", "deregisteredAt", "deleteRequestedAt",
)
_TOP_KEYS = ("clusters", "repositories", "task_definitions", "services", "secrets", "ssm_parameters",
             "image_behaviours", "log_groups", "hook_answers")
_ANSWER_KEYS = ("function", "answers", "call_back_delay")
_BEHAVIOUR_KEYS = ("image", "behaviour", "command", "exit_code", "after", "reason", "logs")
_REPOSITORY_KEYS = ("tags", "image_tag_mutability")
_SERVICE_KEYS = ("task_definition", "cluster", "images", "desired_count", "launch_type",
                 "deployment_configuration", "load_balancer", "codedeploy")
_DEPLOYMENT_KEYS = ("minimum_healthy_percent", "maximum_percent", "circuit_breaker", "rollback", "strategy",
                    "bake_time_minutes", "lifecycle_hooks", "linear", "canary")
_HOOK_KEYS = ("stages", "timeout_minutes", "timeout_action")
_HOOK_STAGES = ("RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT",
                "PRE_PRODUCTION_TRAFFIC_SHIFT",
                "POST_PRODUCTION_TRAFFIC_SHIFT")  # where the engine runs PAUSE hooks (ecs/bluegreen.py)
_LINEAR_KEYS = ("step_percent", "step_bake_minutes")
_CANARY_KEYS = ("percent", "bake_minutes")
_STRATEGIES = ("ROLLING", "BLUE_GREEN", "LINEAR", "CANARY")
_LOAD_BALANCER_KEYS = ("target_group", "container", "port", "listen_port", "alternate_target_group", "test_listener",
                       "test_listen_port", "type")
LOAD_BALANCER_TYPES = ("application", "network")  # ELBv2 CreateLoadBalancer Type, as the seed's type says it
_CODEDEPLOY_KEYS = ("alternate_target_group", "application", "deployment_group", "deployment_config",
                    "listener_port", "test_listener_port", "listen_port", "test_listen_port", "ready_wait_minutes",
                    "termination_wait_minutes",
                    "auto_rollback", "hooks", "alarms")
_CODEDEPLOY_CONFIGS = ("CodeDeployDefault.ECSAllAtOnce", "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
                       "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
                       "CodeDeployDefault.ECSCanary10Percent5Minutes", "CodeDeployDefault.ECSCanary10Percent15Minutes")
_TARGET_GROUP_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?\Z")
_PARAMETER_KEYS = ("value", "type")
_PARAMETER_TYPES = ("String", "StringList", "SecureString")
_MUTABILITY = ("MUTABLE", "IMMUTABLE")
_LAUNCH_TYPES = ("FARGATE", "EC2")
_IMAGE_REF = re.compile(r"(?P<repository>[a-z0-9][a-z0-9._/-]*):(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})\Z")
_REPOSITORY_NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*\Z")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,254}\Z")
_ALARM_NAME = re.compile(r"[^\x00-\x1f]{1,255}\Z")  # CloudWatch PutMetricAlarm's AlarmName
_LOG_GROUP = re.compile(r"[A-Za-z0-9_./#-]{1,512}\Z")  # CloudWatch Logs CreateLogGroup's logGroupName
#: Every table of the seed and the keys it takes, as docs/seed.md lists them (tests/unit/test_seed_docs.py).
SEED_TABLES: dict[str, tuple[str, ...]] = {
    "The seed table": _TOP_KEYS,
    "[repositories.NAME]": _REPOSITORY_KEYS,
    "[services.NAME]": _SERVICE_KEYS,
    "[services.NAME.deployment_configuration]": _DEPLOYMENT_KEYS,
    "[[services.NAME.deployment_configuration.lifecycle_hooks]]": _HOOK_KEYS,
    "[services.NAME.deployment_configuration.linear]": _LINEAR_KEYS,
    "[services.NAME.deployment_configuration.canary]": _CANARY_KEYS,
    "[services.NAME.load_balancer]": _LOAD_BALANCER_KEYS,
    "[services.NAME.codedeploy]": _CODEDEPLOY_KEYS,
    "[ssm_parameters.NAME]": _PARAMETER_KEYS,
    "[[image_behaviours]]": _BEHAVIOUR_KEYS,
    "[[hook_answers]]": _ANSWER_KEYS,
}


@dataclass(frozen=True)
class SeedRepository:
    """An ECR repository and the tags to push to it."""

    name: str
    tags: tuple[str, ...] = ()
    image_tag_mutability: str = "MUTABLE"


@dataclass(frozen=True)
class SeedTaskDefinition:
    """A rendered task-definition template: ``payload`` is a RegisterTaskDefinition request."""

    family: str
    payload: Mapping[str, Any]
    source: Path


@dataclass(frozen=True)
class SeedDeploymentConfiguration:
    """A service's deploymentConfiguration (ECS's defaults: 100 / 200, circuit breaker off, ROLLING)."""

    minimum_healthy_percent: int = 100
    maximum_percent: int = 200
    circuit_breaker: bool = False
    rollback: bool = False
    strategy: str = "ROLLING"
    bake_time_minutes: int | None = None
    lifecycle_hooks: tuple[tuple[tuple[str, ...], int, str], ...] = ()  # PAUSE hooks: (stages, minutes, action)
    linear: tuple[float, int] | None = None  # (stepPercent, stepBakeTimeInMinutes)
    canary: tuple[float, int] | None = None  # (canaryPercent, canaryBakeTimeInMinutes)

    def as_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "minimumHealthyPercent": self.minimum_healthy_percent,
            "maximumPercent": self.maximum_percent,
            "deploymentCircuitBreaker": {"enable": self.circuit_breaker, "rollback": self.rollback},
        }
        if self.strategy != "ROLLING":
            body["strategy"] = self.strategy
        if self.bake_time_minutes is not None:
            body["bakeTimeInMinutes"] = self.bake_time_minutes
        if self.lifecycle_hooks:
            body["lifecycleHooks"] = [
                {"targetType": "PAUSE", "lifecycleStages": list(stages),
                 "timeoutConfiguration": {"timeoutInMinutes": minutes, "action": action}}
                for stages, minutes, action in self.lifecycle_hooks]
        if self.linear is not None:
            body["linearConfiguration"] = {"stepPercent": self.linear[0], "stepBakeTimeInMinutes": self.linear[1]}
        if self.canary is not None:
            body["canaryConfiguration"] = {"canaryPercent": self.canary[0], "canaryBakeTimeInMinutes": self.canary[1]}
        return body


@dataclass(frozen=True)
class SeedLoadBalancer:
    """An ELBv2 target group (created by the seed) in front of one container port."""

    target_group: str
    container: str
    port: int
    listen_port: int | None = None  # the target group's endpoint port on 127.0.0.1 (any runner); None: a free one
    # Blue/green: the second target group, then listen_port is the production listener's port; a test listener
    # (on test_listen_port, else a free port) unless test_listener is false.
    alternate_target_group: str | None = None
    test_listener: bool = True
    test_listen_port: int | None = None
    # Blue/green: an Application Load Balancer (listener rules) or a Network Load Balancer (TCP listeners).
    balancer_type: str = "application"


@dataclass(frozen=True)
class SeedCodeDeploy:
    """A CODE_DEPLOY service's CodeDeploy side: the second target group, the listeners (ports), the application
    and deployment group, and what its hooks' Lambda functions report (function name -> Succeeded or Failed)."""

    alternate_target_group: str
    application: str
    deployment_group: str
    deployment_config: str = "CodeDeployDefault.ECSAllAtOnce"
    listener_port: int = 80
    test_listener_port: int = 8080
    ready_wait_minutes: int | None = None
    termination_wait_minutes: int = 5
    auto_rollback: bool = True
    hooks: Mapping[str, str] = field(default_factory=dict)
    # The 127.0.0.1 endpoint ports of the production and test listeners (listeners.py); None: free ones.
    listen_port: int | None = None
    test_listen_port: int | None = None
    alarms: tuple[str, ...] = ()  # CloudWatch alarms of the group's alarmConfiguration, created in state OK


@dataclass(frozen=True)
class SeedService:
    """An ECS service, created steady on the first revision of ``task_definition``."""

    name: str
    cluster: str
    task_definition: SeedTaskDefinition
    images: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # container -> (repository, tag)
    desired_count: int = 1
    launch_type: str = "FARGATE"
    deployment_configuration: SeedDeploymentConfiguration = field(default_factory=SeedDeploymentConfiguration)
    load_balancer: SeedLoadBalancer | None = None
    codedeploy: SeedCodeDeploy | None = None


@dataclass(frozen=True)
class SeedImageBehaviour:
    """An outcome for the simulated runner: ``LocalAWS.set_image_behaviour(image, behaviour, **params)``."""

    image: str
    behaviour: str
    params: Mapping[str, Any] = field(default_factory=dict)  # exit_code, after, reason, logs, command


@dataclass(frozen=True)
class Seed:
    """A checked seed, ready for ``seeding.apply_seed``.

    Example::

        seed = parse_seed({"clusters": ["local"], "repositories": {"web": {"tags": ["1.0.0"]}}},
                          "LocalAWS(seed=...)", Path.cwd(), {})
        seed.repositories["web"].tags     # ('1.0.0',)
    """

    clusters: tuple[str, ...] = ()
    repositories: Mapping[str, SeedRepository] = field(default_factory=dict)
    task_definitions: Mapping[str, SeedTaskDefinition] = field(default_factory=dict)
    services: Mapping[str, SeedService] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    ssm_parameters: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # name -> (value, type)
    image_behaviours: tuple[SeedImageBehaviour, ...] = ()
    log_groups: tuple[str, ...] = ()
    hook_answers: tuple[tuple[str, tuple[str, ...], float], ...] = ()  # (function, answers, callBackDelay seconds)


# -- parsing ---------------------------------------------------------------------------------------------


class _Where:
    """Names tables in messages: ``source: [prefix.services.web] key: ...``."""

    def __init__(self, where: str) -> None:
        match = re.fullmatch(r"(?P<source>.*?):\s*\[(?P<prefix>[^\]]+)\]", where)
        self.source, self.prefix = (match["source"], match["prefix"]) if match else (where, "")

    def table(self, *parts: str) -> str:
        names = [self.prefix] if self.prefix else []
        names.extend(_key(part) for part in parts)
        return f"[{'.'.join(names)}]" if names else ""

    def error(self, table: str, key: str | None, text: str) -> ConfigError:
        spot = " ".join(part for part in (table, key) if part)
        return ConfigError(f"{self.source}: {spot}: {text}" if spot else f"{self.source}: {text}")


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def parse_seed(
    mapping: Mapping[str, Any],
    where: str,
    base_dir: Path,
    variables: Mapping[str, str],
    *,
    default_cluster: str | None = None,
) -> Seed:
    """Check ``mapping`` against the seed schema and render its templates; raises ConfigError.

    ``where`` names the source in messages (``"seed.toml"``, or ``"deployments/ecsdeploy.toml:
    [environments.local.seed]"`` for a table inside a file); template paths are relative to ``base_dir``.
    ``default_cluster`` (an environment's ``cluster``) is the cluster of services that name none.
    """
    w = _Where(where)
    top = w.table()
    _check_table(w, top, mapping, _TOP_KEYS, None)

    clusters = tuple(_string_list(w, top, "clusters", mapping.get("clusters", []), _NAME, "a cluster name"))

    repositories: dict[str, SeedRepository] = {}
    for name, raw in _tables(w, top, "repositories", mapping.get("repositories", {})).items():
        table = w.table("repositories", name)
        if not _REPOSITORY_NAME.match(name):
            raise w.error(top, "repositories", f"'{name}' is not a valid ECR repository name "
                                               "(lower-case letters, digits, . _ - and /).")
        _check_table(w, table, raw, _REPOSITORY_KEYS, None)
        tags = _string_list(w, table, "tags", raw.get("tags", []), _TAG, "an image tag")
        if len(set(tags)) != len(tags):
            duplicate = next(tag for tag in tags if tags.count(tag) > 1)
            raise w.error(table, "tags", f"'{duplicate}' is listed twice.")
        mutability = _choice(w, table, "image_tag_mutability", raw.get("image_tag_mutability", "MUTABLE"),
                             _MUTABILITY)
        repositories[name] = SeedRepository(name, tuple(tags), mutability)

    task_definitions: dict[str, SeedTaskDefinition] = {}
    table = w.table("task_definitions")
    for family, path in _mapping(w, top, "task_definitions", mapping.get("task_definitions", {})).items():
        if not isinstance(path, str):
            raise w.error(table, _key(family), f"expected a template path (a string), got {describe(path)}.")
        if not _NAME.match(family):
            raise w.error(table, _key(family), "is not a valid family name (letters, digits, _ and -).")
        task_definitions[family] = _template(w, table, _key(family), path, base_dir, variables, family)

    services: dict[str, SeedService] = {}
    for name, raw in _tables(w, top, "services", mapping.get("services", {})).items():
        services[name] = _service(w, name, raw, clusters, repositories, base_dir, variables, default_cluster)

    secrets: dict[str, str] = {}
    table = w.table("secrets")
    for name, value in _mapping(w, top, "secrets", mapping.get("secrets", {})).items():
        if not isinstance(value, str):
            raise w.error(table, _key(name), f"expected the secret string, got {describe(value)}.")
        secrets[name] = value

    parameters: dict[str, tuple[str, str]] = {}
    table = w.table("ssm_parameters")
    for name, value in _mapping(w, top, "ssm_parameters", mapping.get("ssm_parameters", {})).items():
        if isinstance(value, str):
            parameters[name] = (value, "String")
            continue
        if not isinstance(value, Mapping):
            raise w.error(table, _key(name), f"expected a string or a table {{ value, type }}, got "
                                             f"{describe(value)}.")
        inner = w.table("ssm_parameters", name)
        _check_table(w, inner, value, _PARAMETER_KEYS, ("value",))
        text = value["value"]
        if not isinstance(text, str):
            raise w.error(inner, "value", f"expected a string, got {describe(text)}.")
        parameters[name] = (text, _choice(w, inner, "type", value.get("type", "String"), _PARAMETER_TYPES))

    behaviours = _image_behaviours(w, top, mapping.get("image_behaviours", []))
    _check_behaviour_images(w, behaviours, repositories)
    log_groups = tuple(_string_list(w, top, "log_groups", mapping.get("log_groups", []), _LOG_GROUP,
                                    "a log group name"))
    answers = _hook_answers(w, top, mapping.get("hook_answers", []))
    return Seed(clusters, repositories, task_definitions, services, secrets, parameters, behaviours, log_groups,
                answers)


def _hook_answers(w: _Where, top: str, value: Any) -> tuple[tuple[str, tuple[str, ...], float], ...]:
    """The ``[[hook_answers]]`` entries: what a Lambda function of AWS_LAMBDA lifecycle hooks answers, invocation
    after invocation (``LocalAWS.set_hook_answers``)."""
    if not isinstance(value, (list, tuple)):
        raise w.error(top, "hook_answers", f"expected a list of tables ([[hook_answers]]), got {describe(value)}.")
    result = []
    for index, raw in enumerate(value, start=1):
        table = f"{w.table('hook_answers')} entry {index}"
        _check_table(w, table, raw, _ANSWER_KEYS, ("function", "answers"))
        function = _string(w, table, "function", raw["function"])
        answers = raw["answers"]
        statuses = ("SUCCEEDED", "FAILED", "IN_PROGRESS")
        if not isinstance(answers, (list, tuple)) or not answers or any(a not in statuses for a in answers):
            raise w.error(table, "answers", f"expected a list of {', '.join(statuses)}, got {describe(answers)}.")
        delay = raw.get("call_back_delay", 30)
        if not isinstance(delay, (int, float)) or isinstance(delay, bool) or delay < 0:
            raise w.error(table, "call_back_delay", f"expected seconds (a number, 0 or more), got {describe(delay)}.")
        result.append((function, tuple(answers), float(delay)))
    return tuple(result)


def _image_behaviours(w: _Where, top: str, value: Any) -> tuple[SeedImageBehaviour, ...]:
    """The ``[[image_behaviours]]`` entries, each checked the way the simulated runner checks them."""
    from .runners.simulated import BEHAVIOURS, ImageBehaviour

    if not isinstance(value, (list, tuple)):
        raise w.error(top, "image_behaviours", f"expected a list of tables ([[image_behaviours]]), got "
                                               f"{describe(value)}.")
    result = []
    for index, raw in enumerate(value, start=1):
        table = f"{w.table('image_behaviours')} entry {index}"
        _check_table(w, table, raw, _BEHAVIOUR_KEYS, ("image", "behaviour"))
        image = _string(w, table, "image", raw["image"])
        behaviour = _choice(w, table, "behaviour", raw["behaviour"], tuple(BEHAVIOURS))
        params = {k: v for k, v in raw.items() if k not in ("image", "behaviour", "command")}
        try:
            ImageBehaviour.build(behaviour, **params)
        except ValueError as exc:
            raise w.error(table, None, f"{exc}.") from None
        if "command" in raw:
            params["command"] = tuple(_string_list(w, table, "command", raw["command"], re.compile(r".+", re.S),
                                                   "a non-empty string"))
            if not params["command"]:
                raise w.error(table, "command", "expected at least one string.")
        result.append(SeedImageBehaviour(image, behaviour, params))
    return tuple(result)


def _check_behaviour_images(w: _Where, behaviours: tuple[SeedImageBehaviour, ...],
                            repositories: Mapping[str, SeedRepository]) -> None:
    """Each behaviour must name an image a seeded repository holds (``repository:tag``, or a registry URI ending
    in it): a typo would otherwise leave the image healthy, and a crash drill would deploy green."""
    held = [f"{repository.name}:{tag}" for repository in repositories.values() for tag in repository.tags]
    for index, behaviour in enumerate(behaviours, start=1):
        image = behaviour.image
        if any(image == ref or image.endswith(f"/{ref}") for ref in held):
            continue
        listing = (choices(image.rsplit("/", 1)[-1], held, "the seeded images are") if held else
                   "the seed has no repository with tags (repositories.NAME.tags)")
        raise w.error(f"{w.table('image_behaviours')} entry {index}", "image",
                      f"no seeded repository holds '{image}'; {listing}.")


def load_seed_file(path: Path, variables: Mapping[str, str]) -> Seed:
    """Read a seed TOML file (the seed tables at top level); template paths are relative to its folder."""
    data = read_toml(path, missing="check the path given to --seed", kind="a seed TOML file")
    return parse_seed(data, str(path), path.parent, variables)


def _service(
    w: _Where,
    name: str,
    raw: Mapping[str, Any],
    clusters: tuple[str, ...],
    repositories: Mapping[str, SeedRepository],
    base_dir: Path,
    variables: Mapping[str, str],
    default_cluster: str | None,
) -> SeedService:
    table = w.table("services", name)
    if not _NAME.match(name):
        raise w.error(w.table("services"), None, f"'{name}' is not a valid service name (letters, digits, _ and -).")
    _check_table(w, table, raw, _SERVICE_KEYS, ("task_definition",))
    if "cluster" in raw:
        cluster = _string(w, table, "cluster", raw["cluster"])
        if not _NAME.match(cluster):
            raise w.error(table, "cluster", f"'{cluster}' is not a valid cluster name.")
    elif default_cluster:
        cluster = default_cluster
    elif len(clusters) > 1:
        raise w.error(table, None, f"name its cluster (cluster = \"...\"): the seed has several clusters "
                                   f"({', '.join(clusters)}).")
    else:
        cluster = clusters[0] if clusters else "default"
    path = _string(w, table, "task_definition", raw["task_definition"])
    task_definition = _template(w, table, "task_definition", path, base_dir, variables, None, default_family=name)
    containers = [str(c["name"]) for c in task_definition.payload["containerDefinitions"]]

    images: dict[str, tuple[str, str]] = {}
    for container, ref in _mapping(w, table, "images", raw.get("images", {})).items():
        key = f"images.{_key(container)}"
        if container not in containers:
            raise w.error(table, "images", f"container '{container}' is not in {path}; "
                                           f"{choices(container, containers, 'its containers are')}.")
        if not isinstance(ref, str):
            raise w.error(table, key, f"expected 'repository:tag', got {describe(ref)}.")
        match = _IMAGE_REF.match(ref)
        if not match:
            raise w.error(table, key, f"expected 'repository:tag' of a seeded repository, got '{ref}'.")
        repository, tag = match["repository"], match["tag"]
        if repository not in repositories:
            raise w.error(table, key, f"repository '{repository}' is not in the seed's repositories; "
                                      f"{choices(repository, repositories)}.")
        if tag not in repositories[repository].tags:
            known = ", ".join(repositories[repository].tags) or "none"
            raise w.error(table, key, f"tag '{tag}' is not among the tags of repository '{repository}' ({known}).")
        images[container] = (repository, tag)

    desired_count = _integer(w, table, "desired_count", raw.get("desired_count", 1), 0, 5000)
    launch_type = _choice(w, table, "launch_type", raw.get("launch_type", "FARGATE"), _LAUNCH_TYPES)

    deployment = SeedDeploymentConfiguration()
    if "deployment_configuration" in raw:
        inner = w.table("services", name, "deployment_configuration")
        value = raw["deployment_configuration"]
        if not isinstance(value, Mapping):
            raise w.error(table, "deployment_configuration", f"expected a table, got {describe(value)}.")
        _check_table(w, inner, value, _DEPLOYMENT_KEYS, None)
        minimum = _integer(w, inner, "minimum_healthy_percent", value.get("minimum_healthy_percent", 100), 0, 100)
        maximum = _integer(w, inner, "maximum_percent", value.get("maximum_percent", 200), 100, 200)
        breaker = _boolean(w, inner, "circuit_breaker", value.get("circuit_breaker", False))
        rollback = _boolean(w, inner, "rollback", value.get("rollback", False))
        if rollback and not breaker:
            raise w.error(inner, "rollback", "needs circuit_breaker = true (ECS rolls back only when the "
                                             "circuit breaker trips).")
        strategy = _choice(w, inner, "strategy", value.get("strategy", "ROLLING"), _STRATEGIES)
        bake = value.get("bake_time_minutes")
        bake = None if bake is None else _integer(w, inner, "bake_time_minutes", bake, 0, 1440)
        if strategy == "BLUE_GREEN" and bake is None:
            raise w.error(inner, "strategy", "BLUE_GREEN needs bake_time_minutes (ECS asks for bakeTimeInMinutes).")
        hooks = _lifecycle_hooks(w, name, value.get("lifecycle_hooks", []))
        shifts: dict[str, tuple[float, int] | None] = {}
        for key, keys, least, wanted in (("linear", _LINEAR_KEYS, 3.0, "LINEAR"), ("canary", _CANARY_KEYS, 0.1,
                                                                                   "CANARY")):
            shifts[key] = None
            if key in value:
                if strategy != wanted:
                    raise w.error(inner, key, f"applies to strategy = \"{wanted}\" only, not {strategy}.")
                shift = w.table("services", name, "deployment_configuration", key)
                _check_table(w, shift, value[key], keys, keys)
                shifts[key] = (_percent(w, shift, keys[0], value[key][keys[0]], least),
                               _integer(w, shift, keys[1], value[key][keys[1]], 0, 1440))
        deployment = SeedDeploymentConfiguration(minimum, maximum, breaker, rollback, strategy, bake, hooks,
                                                 shifts["linear"], shifts["canary"])

    load_balancer = None
    if "load_balancer" in raw:
        inner = w.table("services", name, "load_balancer")
        value = raw["load_balancer"]
        if not isinstance(value, Mapping):
            raise w.error(table, "load_balancer", f"expected a table, got {describe(value)}.")
        _check_table(w, inner, value, _LOAD_BALANCER_KEYS, _LOAD_BALANCER_KEYS[:3])
        target_group = _string(w, inner, "target_group", value["target_group"])
        if not _TARGET_GROUP_NAME.match(target_group):
            raise w.error(inner, "target_group", f"'{target_group}' is not a valid target group name "
                                                 "(1 to 32 letters, digits and -, not starting or ending with -).")
        container = _string(w, inner, "container", value["container"])
        if container not in containers:
            raise w.error(inner, "container", f"'{container}' is not a container of {path}; "
                                              f"{choices(container, containers, 'its containers are')}.")
        port = _integer(w, inner, "port", value["port"], 1, 65535)
        listen_port = None
        if "listen_port" in value:
            listen_port = _integer(w, inner, "listen_port", value["listen_port"], 1, 65535)
        alternate = None
        if "alternate_target_group" in value:
            alternate = _string(w, inner, "alternate_target_group", value["alternate_target_group"])
            if not _TARGET_GROUP_NAME.match(alternate) or alternate == target_group:
                raise w.error(inner, "alternate_target_group", f"'{alternate}' is not a valid target group name "
                                                               "other than target_group.")
        test_listener = _boolean(w, inner, "test_listener", value.get("test_listener", True))
        test_port = None
        if "test_listen_port" in value:
            test_port = _integer(w, inner, "test_listen_port", value["test_listen_port"], 1, 65535)
            if not test_listener or test_port == listen_port:
                raise w.error(inner, "test_listen_port", "needs test_listener = true and a port other than "
                                                         "listen_port.")
        balancer_type = _string(w, inner, "type", value.get("type", "application"))
        if balancer_type not in LOAD_BALANCER_TYPES:
            raise w.error(inner, "type", f"'{balancer_type}' is not a load balancer type; "
                                         f"{choices(balancer_type, LOAD_BALANCER_TYPES, 'types are')}.")
        if alternate is None and ("test_listener" in value or test_port is not None or "type" in value):
            raise w.error(inner, None, "test_listener, test_listen_port and type need alternate_target_group (a "
                                       "blue/green service's second target group).")
        load_balancer = SeedLoadBalancer(target_group, container, port, listen_port, alternate, test_listener,
                                         test_port, balancer_type)

    codedeploy = None
    if "codedeploy" in raw:
        if load_balancer is None:
            raise w.error(table, "codedeploy", "needs load_balancer (CodeDeploy moves traffic between two target "
                                               "groups behind a listener).")
        if load_balancer.alternate_target_group is not None:
            raise w.error(table, "codedeploy", "takes its own alternate_target_group: load_balancer's "
                                               "alternate_target_group is for ECS blue/green, not CodeDeploy.")
        codedeploy = _codedeploy(w, name, table, raw["codedeploy"], load_balancer)
    return SeedService(name, cluster, task_definition, images, desired_count, launch_type, deployment,
                       load_balancer, codedeploy)


def _codedeploy(w: _Where, name: str, table: str, value: Any, balancer: SeedLoadBalancer) -> SeedCodeDeploy:
    inner = w.table("services", name, "codedeploy")
    if not isinstance(value, Mapping):
        raise w.error(table, "codedeploy", f"expected a table, got {describe(value)}.")
    _check_table(w, inner, value, _CODEDEPLOY_KEYS, ("alternate_target_group",))
    alternate = _string(w, inner, "alternate_target_group", value["alternate_target_group"])
    if not _TARGET_GROUP_NAME.match(alternate) or alternate == balancer.target_group:
        raise w.error(inner, "alternate_target_group", f"'{alternate}' must be a valid target group name (1 to 32 "
                                                       "letters, digits and -) other than load_balancer's.")
    ports = [_integer(w, inner, key, value.get(key, default), 1, 65535)
             for key, default in (("listener_port", 80), ("test_listener_port", 8080))]
    if ports[0] == ports[1]:
        raise w.error(inner, "test_listener_port", "must differ from listener_port.")
    listen = [None if key not in value else _integer(w, inner, key, value[key], 1, 65535)
              for key in ("listen_port", "test_listen_port")]
    if listen[0] is not None and listen[0] == listen[1]:
        raise w.error(inner, "test_listen_port", "must differ from listen_port.")
    ready = value.get("ready_wait_minutes")
    hooks: dict[str, str] = {}
    for function, result in _mapping(w, inner, "hooks", value.get("hooks", {})).items():
        hooks[function] = _choice(w, inner, f"hooks.{_key(function)}", result, ("Succeeded", "Failed"))
    return SeedCodeDeploy(
        alternate, _string(w, inner, "application", value.get("application", name)),
        _string(w, inner, "deployment_group", value.get("deployment_group", name)),
        _choice(w, inner, "deployment_config", value.get("deployment_config", _CODEDEPLOY_CONFIGS[0]),
                _CODEDEPLOY_CONFIGS),
        ports[0], ports[1], None if ready is None else _integer(w, inner, "ready_wait_minutes", ready, 0, 2880),
        _integer(w, inner, "termination_wait_minutes", value.get("termination_wait_minutes", 5), 0, 2880),
        _boolean(w, inner, "auto_rollback", value.get("auto_rollback", True)), hooks, listen[0], listen[1],
        _alarm_names(w, inner, value.get("alarms", [])))


def _alarm_names(w: _Where, table: str, value: Any) -> tuple[str, ...]:
    """A deployment group's CloudWatch alarm names: at most 10, each once (CodeDeploy's limits)."""
    names = _string_list(w, table, "alarms", value, _ALARM_NAME, "a CloudWatch alarm name (1 to 255 characters)")
    if len(set(names)) < len(names) or len(names) > 10:
        raise w.error(table, "alarms", "expected at most 10 alarm names, each once.")
    return tuple(names)


def _lifecycle_hooks(w: _Where, service: str, value: Any) -> tuple[tuple[tuple[str, ...], int, str], ...]:
    """The ``[[...lifecycle_hooks]]`` entries: PAUSE hooks, each at stages the engine pauses at, with its time-out
    (1-20160 minutes, default 1440) and action (ROLLBACK, the default, or CONTINUE), as ECS takes them."""
    table = w.table("services", service, "deployment_configuration", "lifecycle_hooks")
    if not isinstance(value, (list, tuple)):
        raise w.error(table, None, f"expected a list of tables, got {describe(value)}.")
    hooks = []
    for index, raw in enumerate(value, start=1):
        entry = f"{table} entry {index}"
        _check_table(w, entry, raw, _HOOK_KEYS, ("stages",))
        stages = raw["stages"]
        if not isinstance(stages, (list, tuple)) or not stages or any(s not in _HOOK_STAGES for s in stages):
            raise w.error(entry, "stages", f"expected a list of stages among {', '.join(_HOOK_STAGES)}, got "
                                           f"{describe(stages)}.")
        minutes = _integer(w, entry, "timeout_minutes", raw.get("timeout_minutes", 1440), 1, 20160)
        action = _choice(w, entry, "timeout_action", raw.get("timeout_action", "ROLLBACK"), ("ROLLBACK", "CONTINUE"))
        hooks.append((tuple(stages), minutes, action))
    return tuple(hooks)


def _percent(w: _Where, table: str, key: str, value: Any, low: float) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= 100:
        raise w.error(table, key, f"expected a number from {low:g} to 100, got {describe(value)}.")
    return float(value)


def _template(
    w: _Where,
    table: str,
    key: str,
    path_text: str,
    base_dir: Path,
    variables: Mapping[str, str],
    family: str | None,
    default_family: str | None = None,
) -> SeedTaskDefinition:
    path = base_dir / path_text
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise w.error(table, key, f"the template {path_text} does not exist (looked for {path}).") from None
    except IsADirectoryError:
        raise w.error(table, key, f"{path_text} is a directory, not a task-definition template.") from None
    except UnicodeDecodeError as exc:
        raise w.error(table, key, f"{path_text} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    rendered = render_template(text, variables, f"{w.source}: {table} {key} ({path_text})")
    try:
        data = json.loads(rendered)
    except json.JSONDecodeError as exc:
        raise w.error(table, key, f"{path_text} is not valid JSON: {exc.msg} at line {exc.lineno} column "
                                  f"{exc.colno}.") from None
    if isinstance(data, dict) and isinstance(data.get("taskDefinition"), dict):
        tags = data.get("tags")
        data = dict(data["taskDefinition"])
        if tags and "tags" not in data:
            data["tags"] = tags
    if not isinstance(data, dict):
        raise w.error(table, key, f"{path_text} must hold a JSON object (a task definition), not "
                                  f"{type(data).__name__}.")
    payload = {k: v for k, v in data.items() if k not in READ_ONLY_TASK_DEFINITION_FIELDS}
    definitions = payload.get("containerDefinitions")
    if not isinstance(definitions, list) or not definitions or not all(isinstance(d, dict) for d in definitions):
        raise w.error(table, key, f"{path_text} has no containerDefinitions (a non-empty list of objects).")
    for index, definition in enumerate(definitions):
        if not isinstance(definition.get("name"), str) or not isinstance(definition.get("image"), str):
            raise w.error(table, key, f"{path_text}: containerDefinitions[{index}] needs a name and an image "
                                      "(strings).")
    if family is not None:
        payload["family"] = family
    elif not isinstance(payload.get("family"), str) or not payload["family"]:
        payload["family"] = default_family
    return SeedTaskDefinition(str(payload["family"]), payload, path)


def _check_table(
    w: _Where, table: str, value: Any, keys: tuple[str, ...], required: tuple[str, ...] | None
) -> None:
    if not isinstance(value, Mapping):
        raise w.error(table, None, f"expected a table, got {describe(value)}.")
    for key in value:
        if key not in keys:
            raise w.error(table, None, f"unknown key '{key}'; {choices(str(key), keys, 'valid keys are')}.")
    for key in required or ():
        if key not in value:
            raise w.error(table, None, f"missing the key '{key}'.")


def _mapping(w: _Where, table: str, key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise w.error(table, key, f"expected a table, got {describe(value)}.")
    return value


def _tables(w: _Where, table: str, key: str, value: Any) -> Mapping[str, Mapping[str, Any]]:
    for name, inner in _mapping(w, table, key, value).items():
        if not isinstance(inner, Mapping):
            raise w.error(w.table(key), _key(name), f"expected a table, got {describe(inner)}.")
    return value  # type: ignore[no-any-return]


def _string(w: _Where, table: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise w.error(table, key, f"expected a non-empty string, got {describe(value)}.")
    return value


def _string_list(w: _Where, table: str, key: str, value: Any, pattern: re.Pattern[str], what: str) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise w.error(table, key, f"expected a list of strings, got {describe(value)}.")
    for item in value:
        if not pattern.match(item):
            raise w.error(table, key, f"'{item}' is not {what}.")
    return list(value)


def _integer(w: _Where, table: str, key: str, value: Any, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise w.error(table, key, f"expected an integer, got {describe(value)}.")
    if not low <= value <= high:
        raise w.error(table, key, f"expected an integer from {low} to {high}, got {value}.")
    return value


def _boolean(w: _Where, table: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise w.error(table, key, f"expected true or false, got {describe(value)}.")
    return value


def _choice(w: _Where, table: str, key: str, value: Any, options: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise w.error(table, key, f"expected one of {', '.join(options)}, got {describe(value)}.")
    if value not in options:
        close = closest(value, options)
        hint = f"; did you mean '{close}'?" if close else "."
        raise w.error(table, key, f"'{value}' is not one of {', '.join(options)}{hint}")
    return value
