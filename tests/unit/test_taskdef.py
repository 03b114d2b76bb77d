"""The actions/taskdef/ package without AWS: the payload derived from botocore's model, normalisation, validation
messages, the Fargate table and the masked diff."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pytest_ecsdeploy.actions.taskdef import (
    MASK,
    Revision,
    SecretRef,
    cpu_units,
    differences,
    fargate_memory_choices,
    image_reference_problem,
    looks_secret,
    mask_text,
    memory_mib,
    normalise,
    payload_from,
    payload_warnings,
    read_only_fields,
    register_shape,
    render_diff,
    secret_references,
    validate_payload,
)
from pytest_ecsdeploy.actions.taskdef.revision import deploy_containers, deploy_image
from pytest_ecsdeploy.config import Service
from pytest_ecsdeploy.errors import ActionError

ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = next((d for d in (ROOT / "tests" / "data" / "taskdefs", ROOT.parent / "shared" / "taskdefs")
                   if d.is_dir()), ROOT / "tests" / "data" / "taskdefs")
CORPUS = sorted(CORPUS_DIR.glob("*.json"))

FARGATE: dict[str, Any] = {
    "family": "web",
    "requiresCompatibilities": ["FARGATE"],
    "networkMode": "awsvpc",
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [{"name": "app", "image": "web:1", "essential": True}],
}


def fargate(**changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(FARGATE)
    payload.update(changes)
    return payload


def with_app(**changes: Any) -> dict[str, Any]:
    payload = fargate()
    payload["containerDefinitions"][0].update(changes)
    return payload


# -- the payload, from the model ----------------------------------------------------------------------------


def test_read_only_fields_are_computed_from_the_model_and_match_the_reference() -> None:
    # The TaskDefinition shape's members that RegisterTaskDefinitionRequest lacks: returned by DescribeTaskDefinition, rejected by RegisterTaskDefinition.
    assert read_only_fields() == {"taskDefinitionArn", "revision", "status", "requiresAttributes",
                                  "compatibilities", "registeredAt", "registeredBy", "deregisteredAt",
                                  "deleteRequestedAt"}


def example(shape: Any, depth: int = 0) -> Any:
    """A value for every member of ``shape``, recursively (a document that uses every field the model has)."""
    kind = shape.type_name
    if kind == "structure":
        return {name: example(member, depth + 1) for name, member in shape.members.items() if depth < 8}
    if kind == "list":
        return [example(shape.member, depth + 1)]
    if kind == "map":
        return {"key": example(shape.value, depth + 1)}
    if kind == "string":
        return shape.enum[-1] if shape.enum else f"{shape.name}-value"
    if kind in ("integer", "long"):
        return 7
    if kind == "boolean":
        return True
    if kind in ("double", "float"):
        return 1.5
    raise AssertionError(f"no example for {kind}")


def test_every_member_of_the_request_is_carried() -> None:
    document = example(register_shape())
    assert set(document) == set(register_shape().members)  # family … enableFaultInjection, whatever botocore has
    assert payload_from(document, "every-field.json") == document


def test_describe_output_loses_exactly_the_read_only_fields() -> None:
    request = example(register_shape())
    tags = request.pop("tags")
    body = dict(request, taskDefinitionArn="arn:aws:ecs:us-east-1:1:task-definition/f:3", revision=3,
                status="ACTIVE", requiresAttributes=[{"name": "ecs.capability.secrets.asm.environment-variables"}],
                compatibilities=["EC2", "FARGATE"], registeredAt="2024-06-27T20:28:00.685Z",
                registeredBy="arn:aws:sts::1:assumed-role/Admin/x", deregisteredAt=None)
    assert payload_from({"taskDefinition": body, "tags": tags}, "describe.json") == dict(request, tags=tags)


def test_nulls_and_empty_enum_strings_are_dropped_but_empty_values_kept() -> None:
    document = fargate(ipcMode="", pidMode="", executionRoleArn=None)
    document["containerDefinitions"][0].update(
        portMappings=[{"containerPort": 80, "appProtocol": ""}],
        environment=[{"name": "EMPTY", "value": ""}],
        healthCheck=None,
    )
    payload = payload_from(document, "t.json")
    assert "ipcMode" not in payload and "pidMode" not in payload and "executionRoleArn" not in payload
    app = payload["containerDefinitions"][0]
    assert app["portMappings"] == [{"containerPort": 80}]
    assert app["environment"] == [{"name": "EMPTY", "value": ""}]  # an empty value is a value (aws-actions #216)
    assert "healthCheck" not in app


def test_scalars_take_the_type_the_model_asks_for() -> None:
    document = fargate(cpu=256, memory=512)
    document["containerDefinitions"][0].update(cpu="128", essential="true", memoryReservation=64.0,
                                               logConfiguration={"logDriver": "awslogs",
                                                                 "options": {"awslogs-create-group": True}})
    payload = payload_from(document, "t.json")
    assert (payload["cpu"], payload["memory"]) == ("256", "512")
    app = payload["containerDefinitions"][0]
    assert (app["cpu"], app["essential"], app["memoryReservation"]) == (128, True, 64)
    assert app["logConfiguration"]["options"] == {"awslogs-create-group": "true"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"famly": "web"}, r"t\.json: the task definition has an unknown key 'famly'; did you mean 'family'\?"),
        ({"networkMode": "vpc"}, r"t\.json: networkMode: 'vpc' is not one of bridge, host, awsvpc, none\."),
        ({"containerDefinitions": {"name": "app"}}, r"containerDefinitions: expected a list, got an object\."),
        ({"cpu": ["256"]}, r"cpu: expected a string, got a list\."),
    ],
)
def test_payload_errors_name_the_file_and_key(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ActionError, match=message):
        payload_from(fargate(**change), "t.json")


def test_container_errors_name_the_container() -> None:
    with pytest.raises(ActionError, match=r"t\.json: container 'app' portMappings\[0\]\.containerPort: expected a "
                                          r"whole number, got 'http' \(a string\)\."):
        payload_from(with_app(portMappings=[{"containerPort": "http"}]), "t.json")
    with pytest.raises(ActionError, match=r"container 'app' has an unknown key 'imagee'; did you mean 'image'\?"):
        payload_from(with_app(imagee="x"), "t.json")
    document = fargate()
    del document["family"]
    with pytest.raises(ActionError, match=r"the task definition is missing the required key 'family'\."):
        payload_from(document, "t.json")


def test_describe_envelope_tags_win_and_other_envelope_keys_are_refused() -> None:
    inner = fargate(tags=[{"key": "team", "value": "old"}, {"key": "app", "value": "web"}])
    payload = payload_from({"taskDefinition": inner, "tags": [{"key": "team", "value": "new"}]}, "d.json")
    assert payload["tags"] == [{"key": "team", "value": "new"}, {"key": "app", "value": "web"}]
    with pytest.raises(ActionError, match=r"holds only 'taskDefinition' and 'tags', found also 'taskDefinitionArn'"):
        payload_from({"taskDefinition": fargate(), "taskDefinitionArn": "x"}, "d.json")
    with pytest.raises(ActionError, match=r"expected a JSON object with a task definition, got a list"):
        payload_from([], "d.json")  # type: ignore[arg-type]


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_corpus_payloads_are_valid_and_keep_every_field(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    payload = payload_from(document, path.name)
    body = document.get("taskDefinition", document)
    kept = {k for k, v in body.items() if v not in (None, "") and k not in read_only_fields()}
    assert kept <= set(payload) | {"tags"}
    assert validate_payload(payload) == []


# -- normalisation ------------------------------------------------------------------------------------------


def test_normalise_treats_ecs_defaults_empty_lists_and_order_as_equal() -> None:
    mine = {
        "family": "web", "requiresCompatibilities": ["FARGATE"], "cpu": "0.25 vCPU", "memory": "0.5 GB",
        "containerDefinitions": [
            {"name": "z-sidecar", "image": "envoy", "essential": False},
            {"name": "app", "image": "web:1", "portMappings": [{"containerPort": 80}],
             "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
             "healthCheck": {"command": ["CMD", "true"]}},
        ],
        "volumes": [{"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}],
        "tags": [{"key": "b", "value": "2"}, {"key": "a", "value": "1"}],
    }
    described = {
        "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256",
        "memory": "512", "placementConstraints": [],
        "containerDefinitions": [
            {"name": "app", "image": "web:1", "cpu": 0, "essential": True, "mountPoints": [], "volumesFrom": [],
             "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}],
             "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
             "healthCheck": {"command": ["CMD", "true"], "interval": 30, "timeout": 5, "retries": 3},
             "privileged": False},
            {"name": "z-sidecar", "image": "envoy", "essential": False, "cpu": 0, "portMappings": [],
             "environment": []},
        ],
        "volumes": [{"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "rootDirectory": "/"}}],
        "tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}],
    }
    assert normalise(mine) == normalise(described)
    assert differences(normalise(mine), normalise(described)) == []


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"image": "web:2"}, "containerDefinitions[app].image"),
        ({"essential": False}, "containerDefinitions[app].essential"),
        ({"environment": [{"name": "A", "value": ""}]}, "containerDefinitions[app].environment"),
        ({"portMappings": [{"containerPort": 80, "hostPort": 8080}]}, "containerDefinitions[app].portMappings"),
    ],
)
def test_normalise_keeps_what_matters(change: dict[str, Any], path: str) -> None:
    assert differences(normalise(with_app()), normalise(with_app(**change))) == [path]


def test_normalise_bridge_mode_and_dynamic_host_ports() -> None:
    ec2: dict[str, Any] = {"family": "w", "containerDefinitions": [{"name": "a", "image": "x", "memory": 64,
                                                                     "portMappings": [{"containerPort": 80, "hostPort": 0}]}]}
    same = copy.deepcopy(ec2)
    same["networkMode"] = "bridge"
    del same["containerDefinitions"][0]["portMappings"][0]["hostPort"]
    assert normalise(ec2) == normalise(same)
    fixed = copy.deepcopy(ec2)
    fixed["containerDefinitions"][0]["portMappings"][0]["hostPort"] = 80  # in bridge mode 80 is not the default
    assert normalise(ec2) != normalise(fixed)


@pytest.mark.parametrize(("text", "units"), [("256", 256), (1024, 1024), ("1 vCPU", 1024), ("0.25 vcpu", 256),
                                             ("2vCPU", 2048), ("1.5 cores", None), ("", None), (True, None)])
def test_cpu_units(text: Any, units: int | None) -> None:
    assert cpu_units(text) == units


@pytest.mark.parametrize(("text", "mib"), [("512", 512), ("2 GB", 2048), ("2GB", 2048), ("0.5 GB", 512),
                                           ("3072 MiB", 3072), ("lots", None)])
def test_memory_mib(text: str, mib: int | None) -> None:
    assert memory_mib(text) == mib


# -- the Fargate table --------------------------------------------------------------------------------------


def test_fargate_table_matches_the_reference() -> None:
    assert fargate_memory_choices(256) == (512, 1024, 2048)
    assert fargate_memory_choices(512) == (1024, 2048, 3072, 4096)
    assert fargate_memory_choices(1024) == tuple(range(2048, 8193, 1024))
    assert fargate_memory_choices(2048) == tuple(range(4096, 16385, 1024))
    assert fargate_memory_choices(4096)[::11] == (8192, 19456, 30720) and len(fargate_memory_choices(4096)) == 23
    assert fargate_memory_choices(8192) == tuple(range(16384, 61441, 4096))
    assert fargate_memory_choices(16384) == tuple(range(32768, 122881, 8192))
    assert fargate_memory_choices(300) == ()


@pytest.mark.parametrize(
    ("cpu", "memory", "valid"),
    [("256", "512", True), ("256", "2048", True), ("256", "3072", False), ("512", "1024", True),
     ("512", "512", False), ("1 vCPU", "8 GB", True), ("4096", "30720", True), ("4096", "32768", False),
     ("8192", "20480", True), ("8192", "18432", False), ("16384", "122880", True), ("300", "1024", False)],
)
def test_fargate_pairs(cpu: str, memory: str, valid: bool) -> None:
    problems = validate_payload(fargate(cpu=cpu, memory=memory))
    assert (problems == []) is valid, problems


# -- validation messages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (fargate(networkMode="bridge"), "networkMode: Fargate tasks need 'awsvpc', found 'bridge'."),
        (fargate(cpu="512", memory="512"),
         "task memory: Fargate with cpu 512 accepts 1024–4096 MiB in steps of 1024, found 512."),
        (fargate(cpu="300"), "task cpu: Fargate offers 256, 512, 1024, 2048, 4096, 8192, 16384 CPU units, found 300."),
        (fargate(cpu=None), "task cpu: Fargate tasks need task-level cpu and memory, cpu is not set."),
        (fargate(cpu="lots"), "task cpu: 'lots' is not a number of CPU units or vCPU (e.g. 512 or '1 vCPU')."),
        (fargate(runtimePlatform={"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}),
         "task cpu: Windows tasks on Fargate need at least 1024 CPU units, found 256."),
        (fargate(ephemeralStorage={"sizeInGiB": 10}), "ephemeralStorage sizeInGiB: Fargate accepts 21–200 GiB, found 10."),
        (with_app(essential=False), 'containerDefinitions: no container is essential; mark at least one "essential": true.'),
        (with_app(image="Web:1"),
         "container 'app' image: 'Web:1' has upper-case letters in the repository 'Web' (repositories are lowercase)."),
        (with_app(image="web:bad tag"), "container 'app' image: 'web:bad tag' contains whitespace."),
        (with_app(image="web@sha256:123"),
         "container 'app' image: 'web@sha256:123' has an invalid digest 'sha256:123' (expected sha256: and 64 hex "
         "digits)."),
        (with_app(memory=1024), "container 'app' memory: 1024 MiB is more than the task's memory 512 MiB."),
        (with_app(memory=128, memoryReservation=256),
         "container 'app' memoryReservation: 256 MiB is more than its memory limit 128 MiB."),
        (with_app(portMappings=[{"containerPort": 80, "hostPort": 8080}]),
         "container 'app' portMappings[0] hostPort: in awsvpc mode it must equal containerPort 80, found 8080."),
        (with_app(dependsOn=[{"containerName": "envoy", "condition": "START"}]),
         "container 'app' dependsOn: there is no container 'envoy'; containers: app."),
        (with_app(mountPoints=[{"sourceVolume": "data", "containerPath": "/data"}]),
         "container 'app' mountPoints: there is no volume 'data' (volumes: none are defined)."),
        (with_app(links=["db"]), "container 'app' links: links work only in bridge mode, the task uses 'awsvpc'."),
        (with_app(secrets=[{"name": "DB", "valueFrom": " "}]), "container 'app' secrets DB: valueFrom is empty."),
    ],
)
def test_validation_problem_sentences(payload: dict[str, Any], problem: str) -> None:
    assert problem in validate_payload(payload)


def test_ec2_rules_and_health_dependencies() -> None:
    ec2 = {"family": "w", "containerDefinitions": [
        {"name": "app", "image": "web", "dependsOn": [{"containerName": "envoy", "condition": "HEALTHY"}]},
        {"name": "envoy", "image": "envoy", "memory": 128},
    ]}
    assert validate_payload(ec2) == [
        "container 'app' memory: without task-level memory, EC2 tasks need memory or memoryReservation on every "
        "container.",
        "container 'app' dependsOn: condition HEALTHY needs a healthCheck on container 'envoy', it has none.",
    ]
    reserved = fargate(memory="1024", cpu="512")
    reserved["containerDefinitions"] = [{"name": n, "image": "x", "memoryReservation": 600} for n in ("a", "b")]
    assert validate_payload(reserved) == [
        "containerDefinitions: the containers reserve 1200 MiB in total, more than the task's memory 1024 MiB."]


def test_all_problems_are_reported_together() -> None:
    payload = fargate(networkMode="bridge", cpu="512", memory="512")
    payload["containerDefinitions"][0].update(essential=False, image="Web")
    assert len(validate_payload(payload)) == 4


def test_warnings_for_what_ecs_accepts() -> None:
    payload = with_app(environment=[{"name": "A", "value": "1"}, {"name": "A", "value": "2"}],
                       secrets=[{"name": "A", "valueFrom": "/p"}])
    assert payload_warnings(payload) == [
        "container 'app' environment: 'A' is set more than once; the last one wins.",
        "container 'app': 'A' is set both in environment and in secrets.",
    ]
    assert validate_payload(payload) == []


@pytest.mark.parametrize(
    "reference",
    ["nginx", "nginx:1.27", "amazon/aws-otel-collector", "docker.io/buoyantio/linkerd-viz:0.2.0",
     "localhost:5000/team/app:dev", "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:" + "a" * 64,
     "public.ecr.aws/nginx/nginx:latest", "my_repo/a__b-c.d:v1_2"],
)
def test_well_formed_image_references(reference: str) -> None:
    assert image_reference_problem(reference) is None


@pytest.mark.parametrize(
    ("reference", "problem"),
    [
        ("web@", "'web@' has an invalid digest '' (expected sha256: and 64 hex digits)"),
        ("web:", "'web:' has an invalid tag ''"),
        ("web:t\u00e5g", "'web:t\u00e5g' has an invalid tag 't\u00e5g'"),  # Docker's tags are ASCII
        ("web:-rc1", "'web:-rc1' has an invalid tag '-rc1'"),
        ("localhost:5000/te:am/web", "'localhost:5000/te:am/web' has an invalid repository 'te:am/web'"),
        ("-bad.example.com/web", "'-bad.example.com/web' has an invalid registry '-bad.example.com'"),
        ("team//web", "'team//web' has an invalid repository 'team//web'"),
        ("", "is empty"),
    ],
)
def test_malformed_image_references(reference: str, problem: str) -> None:
    assert image_reference_problem(reference) == problem


# -- secrets, masking and the diff --------------------------------------------------------------------------


def test_secret_references_and_their_lookup_ids() -> None:
    document = json.loads((CORPUS_DIR / "ecspresso-ci-secrets-ssm-sm.json").read_text())
    refs = secret_references(payload_from(document, "ecspresso.json"))
    assert {(r.service, r.region, r.lookup_id) for r in refs} == {
        ("ssm", None, "/ecspresso-test/foo"),
        ("ssm", "ap-northeast-1", "/ecspresso-test/bar"),
        ("secretsmanager", "ap-northeast-1",
         "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ecspresso-test/baz-06XQOH"),
        ("secretsmanager", "ap-northeast-1",
         "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ecspresso-test/json-soBS7X"),
    }
    assert SecretRef("app", "secrets X", "arn:aws:ssm:us-east-1:1:parameter/plain").lookup_id == "plain"
    log = with_app(logConfiguration={"logDriver": "awsfirelens",
                                     "secretOptions": [{"name": "apikey", "valueFrom": "arn:aws:secretsmanager:"
                                                        "us-east-1:1:secret:dd-AbCdEf"}]},
                   repositoryCredentials={"credentialsParameter": "arn:aws:secretsmanager:us-east-1:1:secret:hub-Ab"})
    assert [r.field for r in secret_references(log)] == ["logConfiguration.secretOptions apikey",
                                                         "repositoryCredentials credentialsParameter"]


@pytest.mark.parametrize(("name", "secret"), [("DB_PASSWORD", True), ("api_key", True), ("GITHUB_TOKEN", True),
                                              ("AWS_SECRET_ACCESS_KEY", True), ("DATABASE_DSN", True),
                                              ("LOG_LEVEL", False), ("PORT", False), ("DB_HOST", False)])
def test_looks_secret(name: str, secret: bool) -> None:
    assert looks_secret(name) is secret


def test_mask_text_hides_url_passwords() -> None:
    assert mask_text("postgres://app:pa55@db:5432/x") == f"postgres://app:{MASK}@db:5432/x"
    assert mask_text("https://example.com/a:b@c") == "https://example.com/a:b@c"


def test_diff_masks_secret_looking_values_and_shows_secret_arns() -> None:
    old = with_app(environment=[{"name": "DB_PASSWORD", "value": "topsecret"}, {"name": "MODE", "value": "a"},
                                {"name": "API_KEY", "value": "same-key-value"}])
    new = copy.deepcopy(old)
    app = new["containerDefinitions"][0]
    app["environment"][0]["value"] = "even-more-secret"
    app["environment"].append({"name": "DATABASE_URL", "value": "postgres://u:pw-in-url@db/x"})
    app["secrets"] = [{"name": "TOKEN", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:t-AbCdEf"}]
    app["logConfiguration"] = {"logDriver": "awsfirelens", "options": {"apikey": "dd-plain-key", "Host": "h"}}
    text = render_diff(old, new, "web:1 (running)", "web (new)")
    for secret in ("topsecret", "even-more-secret", "same-key-value", "pw-in-url", "dd-plain-key"):
        assert secret not in text
    assert f'-        "DB_PASSWORD": "{MASK}",' in text
    assert f'+        "DB_PASSWORD": "{MASK} (changed)",' in text
    assert f'"API_KEY": "{MASK}"' in text and f'"API_KEY": "{MASK} (changed)"' not in text
    assert '+        "TOKEN": "arn:aws:secretsmanager:us-east-1:1:secret:t-AbCdEf"' in text
    assert text.startswith("--- web:1 (running)\n+++ web (new)\n")
    assert render_diff(old, copy.deepcopy(old), "a", "b") == ""


def test_revision_shape() -> None:
    revision = Revision(family="web", revision=13, arn="arn:aws:ecs:us-east-1:1:task-definition/web:13",
                        status="registered", images=(("app", "web@sha256:1"), ("envoy", "envoy:1")))
    assert (revision.name, str(revision), revision.is_new, revision.planned) == (
        "web:13", "arn:aws:ecs:us-east-1:1:task-definition/web:13", True, False)
    assert revision.image("envoy") == "envoy:1"
    with pytest.raises(KeyError):
        revision.image("nope")
    planned = Revision(family="web", revision=None, arn=None, status="planned")
    assert (planned.name, str(planned), planned.planned, planned.is_new) == ("web:(planned)", "web:(planned)",
                                                                             True, False)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("arn:aws:secretsmanager:us-east-1:123456789012:secret:db/password-AbCdEf", True),
        ("arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ecspresso-test/json-soBS7X:foo::", True),
        ("arn:aws:ssm:us-west-2:123456789012:parameter/gmsa-credspec-mvc", True),
        ("/ecspresso-test/foo", True),
        ("db_password", True),
        ("correct horse battery staple", False),
        ("p@ss'w0rd!", False),
        ("", False),
    ],
)
def test_secret_references_are_told_from_pasted_values(value: str, ok: bool) -> None:
    from pytest_ecsdeploy.actions.taskdef.secret_refs import is_reference

    assert is_reference(value) is ok


# -- the containers a deploy replaces -------------------------------------------------------------------------

TWO_IMAGES = {"family": "web", "containerDefinitions": [
    {"name": "proxy", "image": "public.ecr.aws/nginx/nginx:1.27"},
    {"name": "app", "image": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:aa"},
    {"name": "worker", "image": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:bb"},
]}


@pytest.mark.parametrize(
    ("containers", "repository", "names", "image"),
    [
        (("worker",), "web", ("worker",), "111122223333.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:bb"),
        (None, "web", ("app", "worker"), "111122223333.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:aa"),
        (None, None, (), "public.ecr.aws/nginx/nginx:1.27"),  # named neither: the first container's image
        (("gone",), None, ("gone",), None),
    ],
    ids=["containers-key", "repository", "neither", "a-container-the-payload-lacks"],
)
def test_the_containers_a_deploy_replaces_and_the_image_the_record_keeps(
    containers: tuple[str, ...] | None, repository: str | None, names: tuple[str, ...], image: str | None
) -> None:
    service = Service(name="web", service_name="web", repository=repository, containers=containers)
    assert deploy_containers(TWO_IMAGES, service, region="eu-west-1") == names
    assert deploy_image(TWO_IMAGES, service, region="eu-west-1") == image


ECR_WEB = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/web"


@pytest.mark.parametrize(
    ("image", "in_it"),
    [
        (f"{ECR_WEB}:1.0.0", True),
        (f"{ECR_WEB}@sha256:{'a' * 64}", True),
        ("111122223333.dkr-ecr.eu-west-1.on.aws/web:1", True),  # the registry's dual-stack host
        ("registry.example.com:5000/web:4.2", False),  # another registry
        ("444455556666.dkr.ecr.eu-west-1.amazonaws.com/web:1", False),  # another account
        ("111122223333.dkr.ecr.us-east-1.amazonaws.com/web:1", False),  # another region
        ("web:placeholder", True),  # no registry named: a template's stand-in
        ("public.ecr.aws/web:1", False),  # ECR Public
        ("localhost:5000/web:1", False),
        ("docker.io/library/web:1", False),  # Docker Hub, named
        (f"{ECR_WEB}-sidecar:1", False),  # another repository of the registry
    ],
)
def test_only_an_image_of_the_same_registry_account_and_region_is_in_the_repository(image: str, in_it: bool) -> None:
    service = Service(name="web", service_name="web", repository="web")
    payload = {"family": "web", "containerDefinitions": [{"name": "app", "image": f"{ECR_WEB}:0"},
                                                         {"name": "side", "image": image}]}
    expected = ("app", "side") if in_it else ("app",)
    assert deploy_containers(payload, service, registry="111122223333.dkr.ecr.eu-west-1.amazonaws.com") == expected
    assert deploy_containers(payload, service, region="eu-west-1", account="111122223333") == expected
    # Before ECR has named the registry and without a pinned account, another account's image is not told apart.
    unpinned = deploy_containers(payload, service, region="eu-west-1")
    assert unpinned == expected or image.startswith("444455556666")


def test_a_registry_host_with_a_port_is_compared_whole() -> None:
    service = Service(name="web", service_name="web", repository="web")
    payload = {"family": "web", "containerDefinitions": [{"name": "app", "image": "127.0.0.1:5000/web:1"},
                                                         {"name": "side", "image": "127.0.0.1:5001/web:1"}]}
    assert deploy_containers(payload, service, registry="127.0.0.1:5000") == ("app",)
