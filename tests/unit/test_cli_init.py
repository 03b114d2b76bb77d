"""``ecsdeploy init``'s template: account, region and image tag as ``${VARS}``, ``${`` kept literal, and the
built-in variables a template is rendered with (``actions/taskdef/template_vars.py``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_ecsdeploy.actions.taskdef import normalise, payload_from
from pytest_ecsdeploy.actions.taskdef.template_vars import TemplateVariables
from pytest_ecsdeploy.cli.init import _deploy_containers, scenario, template_of
from pytest_ecsdeploy.errors import ConfigError
from pytest_ecsdeploy.tomlfile import render_template

ACCOUNT, REGION = "123456789012", "eu-west-1"
PAYLOAD: dict[str, Any] = {
    "family": "web",
    "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/exec",
    "containerDefinitions": [
        {"name": "log_router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
         "essential": True, "firelensConfiguration": {"type": "fluentbit"}},
        {"name": "app", "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web:1.4.2", "essential": True,
         "command": ["sh", "-c", "echo ${HOME} $$ ${PATH:-/bin}"],
         "environment": [{"name": "ZONE", "value": f"{REGION}a"}, {"name": "N", "value": f"{ACCOUNT}9"},
                         {"name": "${KEY}", "value": "$${already}"}],
         "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-region": REGION}}},
        {"name": "worker", "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web:1.4.2", "essential": False},
    ],
    "tags": [{"key": "account", "value": ACCOUNT}],
}


def render(template: dict[str, Any], tag: str) -> dict[str, Any]:
    text = render_template(json.dumps(template), {"ACCOUNT_ID": ACCOUNT, "REGION": REGION, "IMAGE_TAG": tag}, "t")
    return payload_from(json.loads(text), "t")


def test_the_template_names_account_region_and_tag_and_renders_back() -> None:
    containers = _deploy_containers(PAYLOAD, [])
    assert containers == ("app", "worker")  # the first essential non-router container, and its image's twins
    template, tag = template_of(PAYLOAD, account=ACCOUNT, region=REGION, containers=containers)
    assert tag == "1.4.2"
    app = template["containerDefinitions"][1]
    assert app["image"] == "${ACCOUNT_ID}.dkr.ecr.${REGION}.amazonaws.com/web:${IMAGE_TAG}"
    assert template["executionRoleArn"] == "arn:aws:iam::${ACCOUNT_ID}:role/exec"
    assert app["command"] == ["sh", "-c", "echo $${HOME} $$ $${PATH:-/bin}"]
    # a region inside a longer word and an account inside a longer number stay as they are
    assert app["environment"][:2] == [{"name": "ZONE", "value": f"{REGION}a"}, {"name": "N", "value": f"{ACCOUNT}9"}]
    assert template["containerDefinitions"][0]["image"] == PAYLOAD["containerDefinitions"][0]["image"]
    assert render(template, "1.4.2") == payload_from(PAYLOAD, "p")
    changed = render(template, "2.0.0")
    assert [c["image"] for c in changed["containerDefinitions"]][1:] == [
        f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web:2.0.0"] * 2


def test_an_image_without_a_tag_is_latest_and_compares_equal() -> None:
    payload = {"family": "x", "containerDefinitions": [{"name": "db", "image": "mysql"}]}
    template, tag = template_of(payload, account=ACCOUNT, region=REGION, containers=("db",))
    assert (template["containerDefinitions"][0]["image"], tag) == ("mysql:${IMAGE_TAG}", "latest")
    assert normalise(render(template, tag)) == normalise(payload)


def test_what_init_refuses() -> None:
    pinned = {"family": "x", "containerDefinitions": [{"name": "a", "image": "web@sha256:" + "a" * 64}]}
    with pytest.raises(ConfigError, match=r"container 'a' runs an image pinned by digest"):
        template_of(pinned, account=ACCOUNT, region=REGION, containers=("a",))
    two = {"family": "x", "containerDefinitions": [{"name": "a", "image": "web:1"}, {"name": "b", "image": "api:2"}]}
    with pytest.raises(ConfigError, match=r"^the containers a, b run different image tags \(1, 2\); name the ones"):
        template_of(two, account=ACCOUNT, region=REGION, containers=("a", "b"))
    with pytest.raises(ConfigError, match=r"^--container 'c' is not a container of family 'x'; its containers are: a, b\.$"):
        _deploy_containers(two, ["c"])
    assert _deploy_containers(two, ["b", "b"]) == ("b",)


def test_the_scenario_is_python_that_binds_the_service() -> None:
    with_ecr = scenario("web", "prod", "web:7", "web", "deployments", "prod", "1.4.2")
    compile(with_ecr, "test_web.py", "exec")
    assert 'pytestmark = pytest.mark.ecs_service("web")' in with_ecr and "def test_image_is_published(ecr):" in with_ecr
    without = scenario("web", "prod", "web:7", None, "deployments", "prod", "latest")
    compile(without, "test_web.py", "exec")
    assert "ecr" not in without.split('"""', 2)[2]


def test_template_variables_put_the_user_first_and_ask_aws_only_when_named() -> None:
    asked: list[str] = []

    def account() -> str:
        asked.append("sts")
        return ACCOUNT

    variables = TemplateVariables({"REGION": "us-west-2"}, region=lambda: REGION, account_id=account,
                                  image_tag=lambda: None)
    assert render_template("${REGION}", variables, "t") == "us-west-2"
    assert asked == []
    assert render_template("${ACCOUNT_ID} ${ACCOUNT_ID}", variables, "t") == f"{ACCOUNT} {ACCOUNT}"
    assert asked == ["sts"]
    with pytest.raises(ConfigError, match=r"^web/taskdef.json: variable \$\{IMAGE_TAG\} is not set; it is the run's "
                                          r"--image-tag: pass --image-tag TAG\.$"):
        render_template("x:${IMAGE_TAG}", variables, "web/taskdef.json")
    assert render_template("${IMAGE_TAG:-dev}", variables, "t") == "dev"
    with pytest.raises(ConfigError, match=r"variable \$\{NOPE\} is not set; pass --var NOPE=VALUE or set it"):
        render_template("${NOPE}", variables, "t")
