"""TaskDefinition against the embedded local AWS: the corpus of real task definitions round-trips, registration
is idempotent, validation reports every problem, the render hook is honoured and a plan writes nothing."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import seed_secrets

from pytest_ecsdeploy.actions.taskdef import (
    MASK,
    TaskDefinition,
    differences,
    normalise,
    payload_from,
    read_only_fields,
)
from pytest_ecsdeploy.context import ServiceContext
from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.errors import ActionError, CheckFailed, ConfigError

ServiceContextFactory = Callable[..., ServiceContext]  # the service_context fixture (tests/e2e/conftest.py)

ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIRS = (ROOT / "tests" / "data" / "taskdefs", ROOT.parent / "shared" / "taskdefs")
CORPUS_DIR = next((d for d in CORPUS_DIRS if d.is_dir()), CORPUS_DIRS[0])
CORPUS = sorted(CORPUS_DIR.glob("*.json"))
NEW_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/roundtrip@sha256:" + "ab" * 32

FARGATE_WEB: dict[str, Any] = {
    "family": "web",
    "requiresCompatibilities": ["FARGATE"],
    "networkMode": "awsvpc",
    "cpu": "256",
    "memory": "512",
    "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
    "containerDefinitions": [
        {"name": "app", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.0", "essential": True,
         "portMappings": [{"containerPort": 8080}],
         "environment": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "DB_PASSWORD", "value": "hunter2-old"}]},
        {"name": "envoy", "image": "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.27.0.0-prod", "essential": False},
    ],
    "tags": [{"key": "team", "value": "shop"}],
}


# The fields DescribeTaskDefinition adds (the ECS API reference), typed in on purpose: an oracle independent of the
# model-derived list of actions/taskdef/payload.py (read_only_fields).
DESCRIBE_ONLY = {"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt",
                 "registeredBy", "deregisteredAt", "deleteRequestedAt"}


def independent_payload(document: dict[str, Any]) -> dict[str, Any]:
    """What a careful person would send for a corpus file, without actions/taskdef/: unwrap describe output, drop the
    describe-only fields and nulls, drop the empty strings exporters write for unset enums."""
    body = dict(document.get("taskDefinition", document))
    if document.get("tags"):
        body["tags"] = document["tags"]

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()
                    if v is not None and not (k in ("ipcMode", "pidMode", "appProtocol") and v == "")}
        if isinstance(value, list):
            return [clean(v) for v in value if v is not None]
        return value

    return clean({k: v for k, v in body.items() if k not in DESCRIBE_ONLY})


# -- helpers ------------------------------------------------------------------------------------------------


def write_template(tmp_path: Path, document: dict[str, Any], name: str = "taskdef.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def described(local: LocalAWS, arn: str) -> dict[str, Any]:
    """DescribeTaskDefinition with TAGS, as a RegisterTaskDefinition payload."""
    answer = local.client("ecs").describe_task_definition(taskDefinition=arn, include=["TAGS"])
    return payload_from({"taskDefinition": answer["taskDefinition"], "tags": answer.get("tags") or []}, arn)


def raw_described(local: LocalAWS, arn: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """DescribeTaskDefinition's own answer, less the fields that name the revision."""
    answer = local.client("ecs").describe_task_definition(taskDefinition=arn, include=["TAGS"])
    body = {k: v for k, v in answer["taskDefinition"].items() if k not in read_only_fields()}
    return body, answer.get("tags") or []


def create_service(local: LocalAWS, arn: str, payload: dict[str, Any], name: str = "web") -> None:
    extra: dict[str, Any] = {}
    if (payload.get("networkMode") or ("awsvpc" if "FARGATE" in payload.get("requiresCompatibilities", []) else "")) \
            == "awsvpc":
        subnets = local.client("ec2").describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])
        extra["networkConfiguration"] = {"awsvpcConfiguration": {"subnets": [subnets["Subnets"][0]["SubnetId"]]}}
    local.client("ecs").create_service(cluster="local", serviceName=name, taskDefinition=arn, desiredCount=0,
                                       **extra)


def revisions(local: LocalAWS, family: str) -> list[str]:
    return list(local.client("ecs").list_task_definitions(familyPrefix=family)["taskDefinitionArns"])


@pytest.fixture
def calls(clean_aws: LocalAWS, service_context: ServiceContextFactory) -> Iterator[list[str]]:
    """Every AWS operation the ServiceContext's clients send, by name (``ssm.DescribeParameters`` …)."""
    seen: list[str] = []
    aws = service_context().aws

    def note(model: Any, **_: Any) -> None:
        seen.append(f"{model.service_model.service_name}.{model.name}")

    # The module's clients are made once per region and kept: those of the corpus's region too.
    emitters = [aws.client(name, region).meta.events for name in ("ecs", "ssm", "secretsmanager", "sts")
                for region in (None, "ap-northeast-1")]
    emitters.append(aws.session.events)  # clients made later (other regions) copy the session's handlers
    for emitter in emitters:
        emitter.register("before-call", note)
    yield seen
    for emitter in emitters:
        emitter.unregister("before-call", note)


# -- the corpus ---------------------------------------------------------------------------------------------


def test_the_corpus_is_there() -> None:
    assert len(CORPUS) >= 15, f"expected the task-definition corpus in one of {[str(d) for d in CORPUS_DIRS]}"


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_corpus_file_round_trips(path: Path, clean_aws: LocalAWS, service_context: ServiceContextFactory,
                                 tmp_path: Path) -> None:
    """Register the file as a template, run a service on it, copy the running revision with one image changed:
    the new revision equals the original in every field but that image, and re-registering is a no-op."""
    text = path.read_text(encoding="utf-8")
    original = payload_from(json.loads(text), path.name)
    seed_secrets(clean_aws, original)
    template = tmp_path / path.name
    template.write_text(text.replace("${", "$${"), encoding="utf-8")  # literal ${...} the container resolves

    first = TaskDefinition(service_context(task_definition=template)).register()
    assert first.is_new and first.revision == 1
    registered = described(clean_aws, str(first.arn))
    assert differences(normalise(independent_payload(json.loads(text))), normalise(registered)) == []
    assert differences(normalise(original), normalise(registered)) == []

    create_service(clean_aws, str(first.arn), original)
    container = str(original["containerDefinitions"][-1]["name"])
    ctx = service_context()
    second = TaskDefinition(ctx).current().with_image(container, NEW_IMAGE).register()
    assert second.is_new and second.revision == 2
    assert second.image(container) == NEW_IMAGE
    assert ctx.record.revision_before == first.arn and ctx.record.revision_after == second.arn

    after = described(clean_aws, str(second.arn))
    assert differences(normalise(registered), normalise(after)) == [f"containerDefinitions[{container}].image"]
    before_raw, before_tags = raw_described(clean_aws, str(first.arn))
    after_raw, after_tags = raw_described(clean_aws, str(second.arn))
    expected = copy.deepcopy(before_raw)
    next(c for c in expected["containerDefinitions"] if c["name"] == container)["image"] = NEW_IMAGE
    assert after_raw == expected
    assert after_tags == before_tags

    again = TaskDefinition(service_context(task_definition=template)).register()
    assert again.status == "unchanged" and again.arn == first.arn
    assert len(revisions(clean_aws, str(original["family"]))) == 2


# -- sources ------------------------------------------------------------------------------------------------


def test_current_copies_the_running_revision_with_its_tags(clean_aws: LocalAWS,
                                                           service_context: ServiceContextFactory) -> None:
    arn = clean_aws.client("ecs").register_task_definition(**FARGATE_WEB)["taskDefinition"]["taskDefinitionArn"]
    create_service(clean_aws, arn, FARGATE_WEB)
    ctx = service_context(containers=("app",))
    definition = TaskDefinition(ctx).current()
    assert definition.payload["tags"] == [{"key": "team", "value": "shop"}]
    assert definition.payload["executionRoleArn"] == FARGATE_WEB["executionRoleArn"]
    assert not set(definition.payload) & read_only_fields()
    assert ctx.record.revision_before == arn
    assert ctx.record.image_before == FARGATE_WEB["containerDefinitions"][0]["image"]
    assert definition.running is not None and definition.running.arn == arn


def test_current_without_a_service_says_so(service_context: ServiceContextFactory) -> None:
    with pytest.raises(ActionError, match=r"service 'web' is not running in cluster 'local'.*\[services\.web\]"):
        TaskDefinition(service_context()).current()


def test_without_a_source_the_service_key_is_used_else_the_running_revision(
        clean_aws: LocalAWS, service_context: ServiceContextFactory, tmp_path: Path) -> None:
    template = write_template(tmp_path, FARGATE_WEB)
    assert TaskDefinition(service_context(task_definition=template)).family == "web"
    with pytest.raises(ActionError, match="is not running"):
        TaskDefinition(service_context()).payload  # noqa: B018 - the property reads the source


def test_from_file_renders_variables_cli_over_environment(service_context: ServiceContextFactory,
                                                          tmp_path: Path) -> None:
    document = copy.deepcopy(FARGATE_WEB)
    document["containerDefinitions"][0]["image"] = "${REGISTRY}/web:${TAG}"
    document["containerDefinitions"][0]["environment"] = [{"name": "STAGE", "value": "${STAGE:-dev}"},
                                                          {"name": "LITERAL", "value": "$${HOME}"}]
    template = write_template(tmp_path, document)
    ctx = service_context(environment_variables={"REGISTRY": "registry.local", "TAG": "env"},
                          variables={"TAG": "cli"})
    payload = TaskDefinition(ctx).from_file("taskdef.json").payload  # relative to the config's directory
    app = payload["containerDefinitions"][0]
    assert app["image"] == "registry.local/web:cli"
    assert app["environment"] == [{"name": "STAGE", "value": "dev"}, {"name": "LITERAL", "value": "${HOME}"}]
    assert template.is_file()


def test_from_file_errors_name_the_file_and_place(service_context: ServiceContextFactory, tmp_path: Path) -> None:
    document = copy.deepcopy(FARGATE_WEB)
    document["containerDefinitions"][0]["image"] = "web:${MISSING}"
    bad_var = write_template(tmp_path, document, "var.json")
    with pytest.raises(ConfigError, match=r"var\.json.*\$\{MISSING\} is not set; pass --var MISSING=VALUE"):
        TaskDefinition(service_context()).from_file(bad_var)
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "family": "web",\n  "containerDefinitions": [\n}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.json: line 4, column 1: not valid JSON"):
        TaskDefinition(service_context()).from_file(broken)
    typo = copy.deepcopy(FARGATE_WEB)
    typo["containerDefinitions"][0]["enviroment"] = typo["containerDefinitions"][0].pop("environment")
    with pytest.raises(ConfigError, match=r"container 'app' has an unknown key 'enviroment'; did you mean "
                                          r"'environment'\?"):
        TaskDefinition(service_context()).from_file(write_template(tmp_path, typo, "typo.json"))
    with pytest.raises(ConfigError, match=r"nope\.json does not exist; create the task-definition template or correct its path"):
        TaskDefinition(service_context()).from_file(tmp_path / "nope.json")


# -- changes ------------------------------------------------------------------------------------------------


def test_with_image_changes_only_the_named_container(service_context: ServiceContextFactory,
                                                     tmp_path: Path) -> None:
    path = CORPUS_DIR / "render-action-two-containers-same-image.json"
    definition = TaskDefinition(service_context()).from_file(path)
    definition.with_image("sample-app", "httpd:2.4.62")
    images = {c["name"]: c["image"] for c in definition.payload["containerDefinitions"]}
    assert images == {"sample-app": "httpd:2.4.62", "sample-app-2": "httpd:2.4"}


def test_unknown_container_lists_the_real_ones(service_context: ServiceContextFactory, tmp_path: Path) -> None:
    definition = TaskDefinition(service_context(task_definition=write_template(tmp_path, FARGATE_WEB)))
    with pytest.raises(ActionError, match=r"with_image: there is no container 'ap' in family 'web' .*did you mean "
                                          r"'app'\? its containers are: app, envoy\."):
        definition.with_image("ap", "web:2")


def test_with_environment_and_secrets_replace_or_append(service_context: ServiceContextFactory,
                                                        tmp_path: Path) -> None:
    definition = TaskDefinition(service_context(task_definition=write_template(tmp_path, FARGATE_WEB)))
    definition.with_environment("app", LOG_LEVEL="debug", WORKERS=4)
    definition.with_secrets("app", API_TOKEN="arn:aws:secretsmanager:us-east-1:123456789012:secret:api-AbCdEf")
    app = definition.payload["containerDefinitions"][0]
    assert app["environment"] == [{"name": "LOG_LEVEL", "value": "debug"},
                                  {"name": "DB_PASSWORD", "value": "hunter2-old"},
                                  {"name": "WORKERS", "value": "4"}]
    assert app["secrets"] == [{"name": "API_TOKEN",
                               "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-AbCdEf"}]
    with pytest.raises(ActionError, match=r"container 'app' FLAG: expected a string, got true"):
        definition.with_environment("app", FLAG=True)  # type: ignore[arg-type]


# -- register -----------------------------------------------------------------------------------------------


def test_register_is_idempotent_against_the_running_revision(clean_aws: LocalAWS,
                                                             service_context: ServiceContextFactory,
                                                             tmp_path: Path, calls: list[str]) -> None:
    template = write_template(tmp_path, FARGATE_WEB)
    first = TaskDefinition(service_context(task_definition=template)).register()
    create_service(clean_aws, str(first.arn), FARGATE_WEB)
    calls.clear()
    ctx = service_context(task_definition=template)
    again = TaskDefinition(ctx).register()
    assert (again.status, again.arn, again.is_new) == ("unchanged", first.arn, False)
    assert "ecs.RegisterTaskDefinition" not in calls
    check = next(c for c in ctx.checks.items if c.name == "already registered")
    assert check.result == "passed" and f"running revision {first.name}" in check.detail
    assert ctx.record.revision_after == first.arn
    assert revisions(clean_aws, "web") == [first.arn]


def test_register_reuses_an_identical_revision_that_is_not_running_yet(
        clean_aws: LocalAWS, service_context: ServiceContextFactory, tmp_path: Path) -> None:
    template = write_template(tmp_path, FARGATE_WEB)
    first = TaskDefinition(service_context(task_definition=template)).register()
    create_service(clean_aws, str(first.arn), FARGATE_WEB)
    second = TaskDefinition(service_context(task_definition=template)).with_image("app", "web:2").register()
    assert second.is_new and second.revision == 2
    third = TaskDefinition(service_context(task_definition=template)).with_image("app", "web:2").register()
    assert (third.status, third.arn) == ("existing", second.arn)
    assert len(revisions(clean_aws, "web")) == 2


def test_registered_is_the_exact_arn_not_latest_by_family(clean_aws: LocalAWS,
                                                          service_context: ServiceContextFactory,
                                                          tmp_path: Path) -> None:
    definition = TaskDefinition(service_context(task_definition=write_template(tmp_path, FARGATE_WEB)))
    with pytest.raises(ActionError, match=r"no revision was registered yet; call task_definition\.register\(\)"):
        definition.registered  # noqa: B018
    mine = definition.with_image("app", "web:2").register()
    other = dict(FARGATE_WEB, containerDefinitions=[{"name": "app", "image": "someone-else:9", "memory": 128}])
    clean_aws.client("ecs").register_task_definition(**other)  # someone registers after us
    assert definition.registered == mine
    assert definition.registered.arn is not None and definition.registered.arn.endswith("web:1")


def test_the_post_check_fails_when_the_revision_lacks_the_requested_image(
        clean_aws: LocalAWS, service_context: ServiceContextFactory, tmp_path: Path) -> None:
    ctx = service_context(task_definition=write_template(tmp_path, FARGATE_WEB))
    ecs = ctx.aws.client("ecs")

    def tamper(parsed: dict[str, Any], **_: Any) -> None:  # ECS answering with another image
        for container in parsed.get("taskDefinition", {}).get("containerDefinitions", []):
            if container["name"] == "app":
                container["image"] = "tampered:1"

    ecs.meta.events.register("after-call.ecs.RegisterTaskDefinition", tamper)
    try:
        with pytest.raises(CheckFailed, match=r"carries the requested images: app: tampered:1 instead of web:2"):
            TaskDefinition(ctx).with_image("app", "web:2").register()
    finally:
        ecs.meta.events.unregister("after-call.ecs.RegisterTaskDefinition", tamper)
    assert [c.result for c in ctx.checks.items if c.action == "task_definition.register"] == ["passed", "failed"]


# -- validation ---------------------------------------------------------------------------------------------


def test_validation_reports_every_problem_and_registers_nothing(clean_aws: LocalAWS,
                                                                service_context: ServiceContextFactory,
                                                                tmp_path: Path) -> None:
    document = copy.deepcopy(FARGATE_WEB)
    document.update(networkMode="bridge", memory="512", cpu="512")
    document["containerDefinitions"][0].update(essential=False, image="Web:Latest", memory=1024)
    document["containerDefinitions"][0]["secrets"] = [
        {"name": "DB", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf"},
        {"name": "KEY", "valueFrom": "/web/missing-parameter"},
    ]
    ctx = service_context(task_definition=write_template(tmp_path, document))
    with pytest.raises(CheckFailed) as failure:
        TaskDefinition(ctx).register()
    message = str(failure.value)
    for sentence in (
        "networkMode: Fargate tasks need 'awsvpc', found 'bridge'.",
        "task memory: Fargate with cpu 512 accepts 1024–4096 MiB in steps of 1024, found 512.",
        'containerDefinitions: no container is essential; mark at least one "essential": true.',
        "container 'app' image: 'Web:Latest' has upper-case letters in the repository 'Web'",
        "container 'app' memory: 1024 MiB is more than the task's memory 512 MiB.",
        "container 'app' secrets DB: Secrets Manager secret "
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf does not exist in us-east-1.",
        "container 'app' secrets KEY: SSM parameter /web/missing-parameter does not exist in us-east-1.",
    ):
        assert sentence in message
    assert "family 'web' has 8 problems" in message
    assert ctx.checks.items[-1].result == "failed" and ctx.checks.items[-1].action == "task_definition.validate"
    assert revisions(clean_aws, "web") == []


def test_secret_references_are_checked_without_reading_a_value(clean_aws: LocalAWS,
                                                               service_context: ServiceContextFactory,
                                                               tmp_path: Path, calls: list[str]) -> None:
    path = CORPUS_DIR / "ecspresso-ci-secrets-ssm-sm.json"
    seed_secrets(clean_aws, payload_from(json.loads(path.read_text()), path.name))
    ctx = service_context(task_definition=path)
    TaskDefinition(ctx).validate()
    check = next(c for c in ctx.checks.items if c.name == "secrets exist")
    assert (check.result, check.detail) == ("passed", "2 Secrets Manager and 2 SSM references exist")
    assert {"ssm.DescribeParameters", "secretsmanager.DescribeSecret"} <= set(calls)
    assert not {"ssm.GetParameter", "ssm.GetParameters", "secretsmanager.GetSecretValue"} & set(calls)
    printed = "\n".join(ctx.log.lines) + "\n".join(c.detail for c in ctx.checks.items)  # type: ignore[attr-defined]
    assert "s3cr3t-value-never-shown" not in printed
    assert "'FOO' is set both in environment and in secrets" in printed  # accepted by ECS, but warned about


def test_secrets_in_another_account_are_skipped_not_failed(service_context: ServiceContextFactory,
                                                           tmp_path: Path) -> None:
    document = copy.deepcopy(FARGATE_WEB)
    document["containerDefinitions"][0]["secrets"] = [
        {"name": "SHARED", "valueFrom": "arn:aws:secretsmanager:us-east-1:999999999999:secret:shared-AbCdEf"}]
    ctx = service_context(task_definition=write_template(tmp_path, document))
    TaskDefinition(ctx).validate()
    check = next(c for c in ctx.checks.items if c.name == "secrets exist")
    assert check.result == "skipped" and "in account 999999999999, not the deployment's" in check.detail


# -- the render hook ----------------------------------------------------------------------------------------


def test_the_render_hook_changes_the_payload_before_validation(clean_aws: LocalAWS,
                                                               service_context: ServiceContextFactory,
                                                               tmp_path: Path) -> None:
    seen: list[str] = []

    def render(payload: dict[str, Any]) -> None:
        seen.append(payload["containerDefinitions"][0]["image"])
        payload["tags"].append({"key": "deployed-by", "value": "pytest-ecsdeploy"})
        payload["containerDefinitions"].append({"name": "xray", "image": "amazon/aws-xray-daemon:3.3.13",
                                                "cpu": "32", "essential": "false"})

    ctx = service_context(task_definition=write_template(tmp_path, FARGATE_WEB), render=render)
    revision = TaskDefinition(ctx).with_image("app", "web:2").register()
    assert seen[0] == "web:2"  # the hook sees the changes
    payload = described(clean_aws, str(revision.arn))
    xray = payload["containerDefinitions"][2]
    assert (xray["name"], xray["cpu"], xray["essential"]) == ("xray", 32, False)  # conformed to the model
    assert {"key": "deployed-by", "value": "pytest-ecsdeploy"} in payload["tags"]


def test_a_render_hook_that_breaks_the_payload_is_named(service_context: ServiceContextFactory,
                                                        tmp_path: Path) -> None:
    def typo(payload: dict[str, Any]) -> None:
        payload["containerDefinitions"][0]["enviroment"] = []

    def too_small(payload: dict[str, Any]) -> None:
        payload["memory"] = "256"

    template = write_template(tmp_path, FARGATE_WEB)
    with pytest.raises(ActionError, match=r"after the render hook: container 'app' has an unknown key 'enviroment'"):
        TaskDefinition(service_context(task_definition=template, render=typo)).register()
    with pytest.raises(CheckFailed, match=r"task memory: Fargate with cpu 256 accepts 512, 1024 or 2048 MiB"):
        TaskDefinition(service_context(task_definition=template, render=too_small)).register()


# -- diff and plan ------------------------------------------------------------------------------------------


def test_plan_prints_the_masked_diff_and_writes_nothing(clean_aws: LocalAWS,
                                                        service_context: ServiceContextFactory,
                                                        tmp_path: Path) -> None:
    arn = clean_aws.client("ecs").register_task_definition(**FARGATE_WEB)["taskDefinition"]["taskDefinitionArn"]
    create_service(clean_aws, arn, FARGATE_WEB)
    before = clean_aws.snapshot()
    ctx = service_context(plan=True)
    definition = TaskDefinition(ctx).current().with_image("app", "web:2").with_environment(
        "app", DB_PASSWORD="hunter2-new", LOG_LEVEL="debug")
    revision = definition.register()
    assert clean_aws.snapshot() == before
    assert (revision.status, revision.arn, revision.name, revision.planned) == ("planned", None, "web:(planned)", True)
    assert definition.registered is revision and ctx.record.revision_after is None
    printed = "\n".join(ctx.log.lines)  # type: ignore[attr-defined]
    assert '-      "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.0",' in printed
    assert '+      "image": "web:2",' in printed
    assert '+        "LOG_LEVEL": "debug"' in printed
    assert f'+        "DB_PASSWORD": "{MASK} (changed)"' in printed
    assert "hunter2" not in printed
    assert ctx.checks.items[-1].result == "skipped" and "plan: would register" in ctx.checks.items[-1].detail


def test_diff_is_empty_for_the_running_revision_and_additions_without_one(
        clean_aws: LocalAWS, service_context: ServiceContextFactory, tmp_path: Path) -> None:
    template = write_template(tmp_path, FARGATE_WEB)
    fresh = TaskDefinition(service_context(task_definition=template)).diff()
    assert fresh.startswith("--- (no running revision)\n+++ web (new)")
    assert all(not line.startswith("-") for line in fresh.splitlines()[2:])
    assert "hunter2" not in fresh and f'"DB_PASSWORD": "{MASK}"' in fresh
    first = TaskDefinition(service_context(task_definition=template)).register()
    create_service(clean_aws, str(first.arn), FARGATE_WEB)
    assert TaskDefinition(service_context(task_definition=template)).diff() == ""
