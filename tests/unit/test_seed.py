"""The seed schema: parsing, template rendering, and one message per mistake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_ecsdeploy.emulator.seed import (
    Seed,
    SeedCodeDeploy,
    SeedDeploymentConfiguration,
    SeedLoadBalancer,
    load_seed_file,
    parse_seed,
)
from pytest_ecsdeploy.emulator.seeding import image_manifest
from pytest_ecsdeploy.errors import ConfigError

WHERE = "deployments/ecsdeploy.toml: [environments.local.seed]"
TEMPLATE = {
    "family": "web",
    "requiresCompatibilities": ["FARGATE"],
    "networkMode": "awsvpc",
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [
        {"name": "app", "image": "placeholder", "portMappings": [{"containerPort": 8080}],
         "environment": [{"name": "GREETING", "value": "${GREETING:-hello}"}]},
        {"name": "log-router", "image": "fluent-bit:2", "essential": False},
    ],
}


@pytest.fixture
def base(tmp_path: Path) -> Path:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "taskdef.json").write_text(json.dumps(TEMPLATE))
    return tmp_path


LB = {"target_group": "web", "container": "app", "port": 8080}


def _service(**overrides: Any) -> dict[str, Any]:
    service: dict[str, Any] = {"task_definition": "web/taskdef.json", "images": {"app": "web:1.0.0"}}
    service.update(overrides)
    return {"clusters": ["local"], "repositories": {"web": {"tags": ["1.0.0", "1.1.0"]}}, "services": {"web": service}}


def test_a_full_seed_parses(base: Path) -> None:
    seed = parse_seed(
        {
            "clusters": ["local"],
            "repositories": {"web": {"tags": ["1.0.0", "1.1.0"], "image_tag_mutability": "IMMUTABLE"}},
            "task_definitions": {"worker": "web/taskdef.json"},
            "services": {"web": {
                "task_definition": "web/taskdef.json",
                "images": {"app": "web:1.1.0"},
                "desired_count": 2,
                "deployment_configuration": {"minimum_healthy_percent": 50, "maximum_percent": 150,
                                             "circuit_breaker": True, "rollback": True},
                "load_balancer": {"target_group": "web", "container": "app", "port": 8080},
            }},
            "secrets": {"db/password": "value"},
            "ssm_parameters": {"/a": "x", "/b": {"value": "y", "type": "SecureString"}},
            "log_groups": ["/ecs/web", "/aws/ecs/containerinsights/local#1"],
        },
        WHERE, base, {"GREETING": "hi"},
    )
    assert seed.clusters == ("local",)
    assert seed.repositories["web"].tags == ("1.0.0", "1.1.0")
    assert seed.repositories["web"].image_tag_mutability == "IMMUTABLE"
    assert seed.task_definitions["worker"].family == "worker"  # the key is the family
    web = seed.services["web"]
    assert (web.cluster, web.desired_count, web.launch_type) == ("local", 2, "FARGATE")
    assert web.task_definition.family == "web"
    assert web.images == {"app": ("web", "1.1.0")}
    assert web.task_definition.payload["containerDefinitions"][0]["environment"] == [
        {"name": "GREETING", "value": "hi"}
    ]
    assert web.deployment_configuration == SeedDeploymentConfiguration(50, 150, True, True)
    assert web.deployment_configuration.as_api() == {
        "minimumHealthyPercent": 50, "maximumPercent": 150,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    }
    assert web.load_balancer == SeedLoadBalancer("web", "app", 8080)
    assert seed.secrets == {"db/password": "value"}
    assert seed.ssm_parameters == {"/a": ("x", "String"), "/b": ("y", "SecureString")}
    assert seed.log_groups == ("/ecs/web", "/aws/ecs/containerinsights/local#1")


def test_defaults(base: Path) -> None:
    seed = parse_seed({"services": {"api": {"task_definition": "web/taskdef.json"}}}, "s.toml", base, {})
    api = seed.services["api"]
    assert (api.cluster, api.desired_count, api.images, api.load_balancer) == ("default", 1, {}, None)
    assert api.deployment_configuration == SeedDeploymentConfiguration(100, 200, False, False)
    assert parse_seed({}, "s.toml", base, {}) == Seed()


@pytest.mark.parametrize(
    ("given", "api"),
    [
        ({"strategy": "BLUE_GREEN", "bake_time_minutes": 0}, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0}),
        ({"strategy": "LINEAR"}, {"strategy": "LINEAR"}),
        ({"strategy": "ROLLING", "bake_time_minutes": 5}, {"bakeTimeInMinutes": 5}),
    ],
)
def test_a_deployment_strategy_goes_to_create_service(base: Path, given: dict[str, Any], api: dict[str, Any]) -> None:
    seed = parse_seed({"services": {"api": {"task_definition": "web/taskdef.json", "deployment_configuration": given}}},
                      "s.toml", base, {})
    assert seed.services["api"].deployment_configuration.as_api() == {
        "minimumHealthyPercent": 100, "maximumPercent": 200,
        "deploymentCircuitBreaker": {"enable": False, "rollback": False}, **api,
    }


def test_the_default_cluster_is_the_environments(base: Path) -> None:
    seed = {"clusters": ["a", "b"], "services": {"api": {"task_definition": "web/taskdef.json"},
                                                 "web": {"task_definition": "web/taskdef.json", "cluster": "a"}}}
    parsed = parse_seed(seed, "s.toml", base, {}, default_cluster="local")
    assert (parsed.services["api"].cluster, parsed.services["web"].cluster) == ("local", "a")
    one = parse_seed({"clusters": ["only"], "services": {"api": {"task_definition": "web/taskdef.json"}}},
                     "s.toml", base, {})
    assert one.services["api"].cluster == "only"


def test_describe_output_is_accepted_and_read_only_fields_dropped(base: Path) -> None:
    described = {
        "taskDefinition": {**TEMPLATE, "family": "",
                           "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:7",
                           "revision": 7, "status": "ACTIVE", "requiresAttributes": [], "compatibilities": ["FARGATE"],
                           "registeredAt": 1700000000.0, "registeredBy": "arn:aws:iam::1:root"},
        "tags": [{"key": "team", "value": "web"}],
    }
    (base / "described.json").write_text(json.dumps(described))
    seed = parse_seed({"services": {"api": {"task_definition": "described.json"}}}, "s.toml", base, {})
    payload = seed.services["api"].task_definition.payload
    assert set(payload) == {"family", "requiresCompatibilities", "networkMode", "cpu", "memory",
                            "containerDefinitions", "tags"}
    assert payload["family"] == "api"  # an empty family falls back to the service name
    assert payload["tags"] == [{"key": "team", "value": "web"}]


def test_a_seed_file_has_the_tables_at_top_level(base: Path) -> None:
    path = base / "seed.toml"
    path.write_text(
        'clusters = ["local"]\n'
        '[repositories.web]\ntags = ["1.0.0"]\n'
        '[services.web]\ntask_definition = "web/taskdef.json"\nimages = { app = "web:1.0.0" }\n'
        '[secrets]\n"db/password" = "value"\n'
    )
    seed = load_seed_file(path, {})
    assert seed.services["web"].task_definition.source == base / "web" / "taskdef.json"
    assert seed.secrets == {"db/password": "value"}


def test_manifests_are_distinct_per_tag_and_stable() -> None:
    first = json.loads(image_manifest("web", "1.0.0"))
    assert first["schemaVersion"] == 2
    assert first["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert first["config"]["digest"].startswith("sha256:")
    assert image_manifest("web", "1.0.0") == image_manifest("web", "1.0.0")
    assert json.loads(image_manifest("web", "1.1.0"))["layers"] != first["layers"]
    assert json.loads(image_manifest("api", "1.0.0"))["layers"] != first["layers"]


T = "deployments/ecsdeploy.toml: "


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        ({"cluster": ["local"]},
         T + "[environments.local.seed]: unknown key 'cluster'; did you mean 'clusters'? (valid keys are: clusters, "
             "image_behaviours, log_groups, repositories, secrets, services, ssm_parameters, task_definitions)."),
        ({"log_groups": "/ecs/api"},
         T + "[environments.local.seed] log_groups: expected a list of strings, got '/ecs/api' (a string)."),
        ({"log_groups": ["/ecs/api", "bad group"]},
         T + "[environments.local.seed] log_groups: 'bad group' is not a log group name."),
        ({"clusters": "local"},
         T + "[environments.local.seed] clusters: expected a list of strings, got 'local' (a string)."),
        ({"clusters": ["lo cal"]}, T + "[environments.local.seed] clusters: 'lo cal' is not a cluster name."),
        ({"repositories": {"Web": {}}},
         T + "[environments.local.seed] repositories: 'Web' is not a valid ECR repository name (lower-case letters, "
             "digits, . _ - and /)."),
        ({"repositories": {"web": ["1.0.0"]}},
         T + "[environments.local.seed.repositories] web: expected a table, got a list."),
        ({"repositories": {"web": {"tag": ["1.0.0"]}}},
         T + "[environments.local.seed.repositories.web]: unknown key 'tag'; did you mean 'tags'? (valid keys are: "
             "image_tag_mutability, tags)."),
        ({"repositories": {"web": {"tags": ["1.0.0", "1.0.0"]}}},
         T + "[environments.local.seed.repositories.web] tags: '1.0.0' is listed twice."),
        ({"repositories": {"web": {"tags": ["v 1"]}}},
         T + "[environments.local.seed.repositories.web] tags: 'v 1' is not an image tag."),
        ({"repositories": {"web": {"image_tag_mutability": "IMUTABLE"}}},
         T + "[environments.local.seed.repositories.web] image_tag_mutability: 'IMUTABLE' is not one of MUTABLE, "
             "IMMUTABLE; did you mean 'IMMUTABLE'?"),
        ({"task_definitions": {"worker": 3}},
         T + "[environments.local.seed.task_definitions] worker: expected a template path (a string), got 3 "
             "(an integer)."),
        (_service(desired_count="two"),
         T + "[environments.local.seed.services.web] desired_count: expected an integer, got 'two' (a string)."),
        (_service(desired_count=-1),
         T + "[environments.local.seed.services.web] desired_count: expected an integer from 0 to 5000, got -1."),
        (_service(desired_count=True),
         T + "[environments.local.seed.services.web] desired_count: expected an integer, got true (a boolean)."),
        (_service(desired=2),
         T + "[environments.local.seed.services.web]: unknown key 'desired'; did you mean 'desired_count'? (valid "
             "keys are: cluster, codedeploy, deployment_configuration, desired_count, images, launch_type, "
             "load_balancer, task_definition)."),
        ({"services": {"web": {}}},
         T + "[environments.local.seed.services.web]: missing the key 'task_definition'."),
        (_service(task_definition="web/missing.json"),
         T + "[environments.local.seed.services.web] task_definition: the template web/missing.json does not exist "
             "(looked for {base}/web/missing.json)."),
        (_service(task_definition="web"),
         T + "[environments.local.seed.services.web] task_definition: web is a directory, not a task-definition "
             "template."),
        (_service(task_definition="broken.json"),
         T + "[environments.local.seed.services.web] task_definition: broken.json is not valid JSON: Expecting ':' "
             "delimiter at line 1 column 11."),
        (_service(task_definition="nocontainers.json"),
         T + "[environments.local.seed.services.web] task_definition: nocontainers.json has no containerDefinitions "
             "(a non-empty list of objects)."),
        (_service(task_definition="needsvar.json"),
         T + "[environments.local.seed.services.web] task_definition (needsvar.json): variable ${DB_HOST} is not set; "
             "pass --var DB_HOST=VALUE or set it in the environment."),
        (_service(images={"ap": "web:1.0.0"}),
         T + "[environments.local.seed.services.web] images: container 'ap' is not in web/taskdef.json; did you mean "
             "'app'? (its containers are: app, log-router)."),
        (_service(images={"app": "web"}),
         T + "[environments.local.seed.services.web] images.app: expected 'repository:tag' of a seeded repository, "
             "got 'web'."),
        (_service(images={"app": "wbe:1.0.0"}),
         T + "[environments.local.seed.services.web] images.app: repository 'wbe' is not in the seed's repositories; "
             "did you mean 'web'? (choose one of: web)."),
        (_service(images={"app": "web:2.0.0"}),
         T + "[environments.local.seed.services.web] images.app: tag '2.0.0' is not among the tags of repository "
             "'web' (1.0.0, 1.1.0)."),
        (_service(launch_type="fargate"),
         T + "[environments.local.seed.services.web] launch_type: 'fargate' is not one of FARGATE, EC2."),
        (_service(deployment_configuration={"maximum_percent": 300}),
         T + "[environments.local.seed.services.web.deployment_configuration] maximum_percent: expected an integer "
             "from 100 to 200, got 300."),
        (_service(deployment_configuration={"circuit_breaker": "yes"}),
         T + "[environments.local.seed.services.web.deployment_configuration] circuit_breaker: expected true or "
             "false, got 'yes' (a string)."),
        (_service(deployment_configuration={"rollback": True}),
         T + "[environments.local.seed.services.web.deployment_configuration] rollback: needs circuit_breaker = "
             "true (ECS rolls back only when the circuit breaker trips)."),
        (_service(deployment_configuration={"minimum_healthy": 50}),
         T + "[environments.local.seed.services.web.deployment_configuration]: unknown key 'minimum_healthy'; did "
             "you mean 'minimum_healthy_percent'? (valid keys are: bake_time_minutes, circuit_breaker, "
             "maximum_percent, minimum_healthy_percent, rollback, strategy)."),
        (_service(deployment_configuration={"strategy": "BLUE_GREEN"}),
         T + "[environments.local.seed.services.web.deployment_configuration] strategy: BLUE_GREEN needs "
             "bake_time_minutes (ECS asks for bakeTimeInMinutes)."),
        (_service(deployment_configuration={"strategy": "PURPLE"}),
         T + "[environments.local.seed.services.web.deployment_configuration] strategy: 'PURPLE' is not one of "
             "ROLLING, BLUE_GREEN, LINEAR, CANARY."),
        (_service(deployment_configuration={"strategy": "CANARY", "bake_time_minutes": 1441}),
         T + "[environments.local.seed.services.web.deployment_configuration] bake_time_minutes: expected an "
             "integer from 0 to 1440, got 1441."),
        (_service(load_balancer={"target_group": "web", "container": "app"}),
         T + "[environments.local.seed.services.web.load_balancer]: missing the key 'port'."),
        (_service(load_balancer={"target_group": "web", "container": "sidecar", "port": 80}),
         T + "[environments.local.seed.services.web.load_balancer] container: 'sidecar' is not a container of "
             "web/taskdef.json; its containers are: app, log-router."),
        (_service(load_balancer={"target_group": "web_tg", "container": "app", "port": 80}),
         T + "[environments.local.seed.services.web.load_balancer] target_group: 'web_tg' is not a valid target "
             "group name (1 to 32 letters, digits and -, not starting or ending with -)."),
        (_service(codedeploy={"alternate_target_group": "green"}),
         T + "[environments.local.seed.services.web] codedeploy: needs load_balancer (CodeDeploy moves traffic "
             "between two target groups behind a listener)."),
        (_service(load_balancer=LB, codedeploy={}),
         T + "[environments.local.seed.services.web.codedeploy]: missing the key 'alternate_target_group'."),
        (_service(load_balancer=LB, codedeploy={"alternate_target_group": "web"}),
         T + "[environments.local.seed.services.web.codedeploy] alternate_target_group: 'web' must be a valid "
             "target group name (1 to 32 letters, digits and -) other than load_balancer's."),
        (_service(load_balancer=LB, codedeploy={"alternate_target_group": "green", "test_listener_port": 80}),
         T + "[environments.local.seed.services.web.codedeploy] test_listener_port: must differ from "
             "listener_port."),
        (_service(load_balancer=LB, codedeploy={"alternate_target_group": "green",
                                                "deployment_config": "CodeDeployDefault.AllAtOnce"}),
         T + "[environments.local.seed.services.web.codedeploy] deployment_config: 'CodeDeployDefault.AllAtOnce' is "
             "not one of CodeDeployDefault.ECSAllAtOnce, CodeDeployDefault.ECSLinear10PercentEvery1Minutes, "
             "CodeDeployDefault.ECSLinear10PercentEvery3Minutes, CodeDeployDefault.ECSCanary10Percent5Minutes, "
             "CodeDeployDefault.ECSCanary10Percent15Minutes; did you mean 'CodeDeployDefault.ECSAllAtOnce'?"),
        (_service(load_balancer=LB, codedeploy={"alternate_target_group": "green", "hooks": {"f": "Pending"}}),
         T + "[environments.local.seed.services.web.codedeploy] hooks.f: 'Pending' is not one of Succeeded, "
             "Failed."),
        (_service(load_balancer=LB, codedeploy={"alternate_target_group": "green", "ready_wait_minutes": 2881}),
         T + "[environments.local.seed.services.web.codedeploy] ready_wait_minutes: expected an integer from 0 to "
             "2880, got 2881."),
        ({**_service(), "clusters": ["a", "b"]},
         T + "[environments.local.seed.services.web]: name its cluster (cluster = \"...\"): the seed has several "
             "clusters (a, b)."),
        ({"secrets": {"db/password": 1}},
         T + "[environments.local.seed.secrets] \"db/password\": expected the secret string, got 1 (an integer)."),
        ({"ssm_parameters": {"/a": {"value": "x", "type": "Secure"}}},
         T + "[environments.local.seed.ssm_parameters.\"/a\"] type: 'Secure' is not one of String, StringList, "
             "SecureString; did you mean 'SecureString'?"),
        ({"ssm_parameters": {"/a": ["x"]}},
         T + "[environments.local.seed.ssm_parameters] \"/a\": expected a string or a table { value, type }, got a "
             "list."),
    ],
)
def test_bad_seeds(base: Path, seed: dict[str, Any], message: str) -> None:
    (base / "broken.json").write_text('{"family" "web"}')
    (base / "nocontainers.json").write_text('{"family": "web", "containerDefinitions": []}')
    (base / "needsvar.json").write_text('{"containerDefinitions": [{"name": "app", "image": "${DB_HOST}"}]}')
    with pytest.raises(ConfigError) as exc:
        parse_seed(seed, "deployments/ecsdeploy.toml: [environments.local.seed]", base, {})
    assert str(exc.value) == message.replace("{base}", str(base))


def test_where_without_a_table_names_top_level_tables(base: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_seed(_service(desired_count="two"), "seed.toml", base, {})
    assert str(exc.value) == "seed.toml: [services.web] desired_count: expected an integer, got 'two' (a string)."
    with pytest.raises(ConfigError) as exc:
        parse_seed({"clusters": 1}, "seed.toml", base, {})
    assert str(exc.value) == "seed.toml: clusters: expected a list of strings, got 1 (an integer)."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("clusters = [\n", "{path} is not valid TOML: "),
        (b"\xff\xfe", "{path} is not UTF-8 text: invalid start byte at byte 0."),
    ],
)
def test_bad_seed_files(tmp_path: Path, text: str | bytes, message: str) -> None:
    path = tmp_path / "seed.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ConfigError) as exc:
        load_seed_file(path, {})
    assert str(exc.value).startswith(message.format(path=path))
    assert str(exc.value).endswith(".")
    with pytest.raises(ConfigError, match=r"does not exist; check the path given to --seed\.$"):
        load_seed_file(tmp_path / "missing.toml", {})


def test_a_seed_that_is_not_a_table() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_seed(["local"], "LocalAWS(seed=...)", Path.cwd(), {})  # type: ignore[arg-type]
    assert str(exc.value) == "LocalAWS(seed=...): expected a table, got a list."


def test_a_codedeploy_table_parses_with_its_defaults(base: Path) -> None:
    seed = parse_seed(_service(load_balancer=LB, codedeploy={"alternate_target_group": "green",
                                                             "hooks": {"smoke": "Failed"}}), "seed.toml", base, {})
    assert seed.services["web"].codedeploy == SeedCodeDeploy("green", "web", "web", hooks={"smoke": "Failed"})
    assert (seed.services["web"].codedeploy.listener_port, seed.services["web"].codedeploy.ready_wait_minutes) == (
        80, None)
