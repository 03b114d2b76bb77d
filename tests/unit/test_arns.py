"""arns.py: each parser over its kind of reference, well-formed and malformed, with exact expectations."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_ecsdeploy.arns import (
    Arn,
    FamilyRevision,
    ImageReference,
    is_tag,
    parse_arn,
    parse_family_revision,
    parse_image,
    secret_arn,
    short_revision,
    target_group_name,
    task_id,
)

ACCOUNT = "111122223333"
TD = f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition"
ECR = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com"
DIGEST = "sha256:" + "3f" * 32

# -- ARNs ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts", "resource_type", "resource_id"),
    [
        (f"{TD}/web:7", ("aws", "ecs", "eu-west-1", ACCOUNT, "task-definition/web:7"), "task-definition", "web:7"),
        (f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task/local/0a1b2c", ("aws", "ecs", "eu-west-1", ACCOUNT, "task/local/0a1b2c"),
         "task", "local/0a1b2c"),
        (f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db/password-AbCdEf:password::",
         ("aws", "secretsmanager", "us-east-1", ACCOUNT, "secret:db/password-AbCdEf:password::"), "secret",
         "db/password-AbCdEf:password::"),
        (f"arn:aws:ssm:us-west-2:{ACCOUNT}:parameter/app/db/password",
         ("aws", "ssm", "us-west-2", ACCOUNT, "parameter/app/db/password"), "parameter", "app/db/password"),
        (f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:targetgroup/web-tg/6d0ecf831eec9f09",
         ("aws", "elasticloadbalancing", "eu-west-1", ACCOUNT, "targetgroup/web-tg/6d0ecf831eec9f09"), "targetgroup",
         "web-tg/6d0ecf831eec9f09"),
        ("arn:aws:iam::aws:policy/ReadOnlyAccess", ("aws", "iam", "", "aws", "policy/ReadOnlyAccess"), "policy",
         "ReadOnlyAccess"),
        ("arn:aws:s3:::my-bucket", ("aws", "s3", "", "", "my-bucket"), "", "my-bucket"),
        (f"arn:aws-cn:ecs:cn-north-1:{ACCOUNT}:cluster/prod", ("aws-cn", "ecs", "cn-north-1", ACCOUNT, "cluster/prod"),
         "cluster", "prod"),
        (f"arn:aws-us-gov:ecs:us-gov-west-1:{ACCOUNT}:service/prod/web",
         ("aws-us-gov", "ecs", "us-gov-west-1", ACCOUNT, "service/prod/web"), "service", "prod/web"),
    ],
)
def test_arns_are_split_into_their_parts(text: str, parts: tuple[str, ...], resource_type: str,
                                         resource_id: str) -> None:
    arn = parse_arn(text)
    assert arn == Arn(*parts)
    assert (arn.resource_type, arn.resource_id, str(arn)) == (resource_type, resource_id, text)


@pytest.mark.parametrize(
    "text",
    [
        "web:7",  # a name, not an ARN
        "",
        "arn:aws:ecs:eu-west-1:111122223333",  # no resource
        "arn:aws:ecs:eu-west-1:111122223333:",
        "arn:azure:ecs:eu-west-1:111122223333:cluster/x",  # not an AWS partition
        "arn:aws:ECS:eu-west-1:111122223333:cluster/x",  # services are lower case
        "arn:aws:ecs:eu-west-1:1111-2222-3333:cluster/x",  # an account is digits
        "arn:aws:ecs:eu-west-1:111122223333:cluster/my cluster",  # whitespace
        " arn:aws:ecs:eu-west-1:111122223333:cluster/x",
        "arn:aws:ecs:eu-west-1:111122223333:cluster/x\n",
        "ARN:aws:ecs:eu-west-1:111122223333:cluster/x",
        None,
        42,
    ],
)
def test_what_is_not_an_arn(text: Any) -> None:
    assert parse_arn(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task/local/0a1b2c3d4e5f", "0a1b2c3d4e5f"),
        (f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task/0a1b2c3d4e5f", "0a1b2c3d4e5f"),  # the format before cluster names
        ("0a1b2c3d4e5f", "0a1b2c3d4e5f"),
        ("local/0a1b2c3d4e5f", "0a1b2c3d4e5f"),
    ],
)
def test_task_id(text: str, expected: str) -> None:
    assert task_id(text) == expected


SECRET = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:db/password-AbCdEf"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SECRET, SECRET),
        (f"{SECRET}:password::", SECRET),  # a JSON key, as a task definition's valueFrom has it
        (f"{SECRET}:password:AWSPREVIOUS:", SECRET),  # and a version stage
        (f"{SECRET}::AWSCURRENT:", SECRET),
        (f"{SECRET}:::0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9", SECRET),  # a version id
        (f"arn:aws-cn:secretsmanager:cn-north-1:{ACCOUNT}:secret:db-AbCdEf:k::",
         f"arn:aws-cn:secretsmanager:cn-north-1:{ACCOUNT}:secret:db-AbCdEf"),
        # not a Secrets Manager secret's ARN
        (f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/db/password", None),
        (f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:other:db-AbCdEf", None),
        ("db/password", None),
        ("", None),
    ],
)
def test_secret_arn_drops_what_follows_the_secrets_name(text: str, expected: str | None) -> None:
    assert secret_arn(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:targetgroup/web-tg/6d0ecf831eec9f09", "web-tg"),
        (f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:targetgroup/web-tg", "web-tg"),
        # not a target group's ARN: unchanged
        (f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:loadbalancer/app/web/50dc6c495c0c9188",
         f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:loadbalancer/app/web/50dc6c495c0c9188"),
        (f"arn:aws:ecs:eu-west-1:{ACCOUNT}:targetgroup/web/1", f"arn:aws:ecs:eu-west-1:{ACCOUNT}:targetgroup/web/1"),
        ("web-tg", "web-tg"),
    ],
)
def test_target_group_name(text: str, expected: str) -> None:
    assert target_group_name(text) == expected


# -- family:revision ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("web:7", FamilyRevision("web", 7)),
        ("web", FamilyRevision("web", None)),
        ("my_app-2:13", FamilyRevision("my_app-2", 13)),
        ("web:0007", FamilyRevision("web", 7)),
        ("W" * 255 + ":1", FamilyRevision("W" * 255, 1)),
        (f"{TD}/web:7", FamilyRevision("web", 7)),
        (f"{TD}/web", FamilyRevision("web", None)),
        (f"arn:aws-cn:ecs:cn-north-1:{ACCOUNT}:task-definition/api:41", FamilyRevision("api", 41)),
    ],
)
def test_family_and_revision(text: str, expected: FamilyRevision) -> None:
    assert parse_family_revision(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "web:",
        "web:latest",
        "web:-1",
        "web:7:8",
        "my web:7",
        "web/7",
        "web.app:7",
        "W" * 256 + ":1",
        f"{TD}/web:7/extra",
        f"{TD}/",
        f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service/local/web",  # an ARN, but not a task definition's
        f"arn:aws:ecr:eu-west-1:{ACCOUNT}:task-definition/web:7",
        "arn:aws:ecs:eu-west-1:not-an-account:task-definition/web:7",
        None,
        7,
    ],
)
def test_what_is_not_a_family_or_revision(text: Any) -> None:
    assert parse_family_revision(text) is None


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (f"{TD}/web:13", "web:13"),
        (f"{TD}/web", "web"),
        ("web:13", "web:13"),
        (None, "-"),
        ("", "-"),
        # not a revision: shown as it is, never cut at a slash
        (f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service/local/web", f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service/local/web"),
        ("web:(planned)", "web:(planned)"),
    ],
)
def test_short_revision(reference: str | None, expected: str) -> None:
    assert short_revision(reference) == expected


def test_short_revision_says_what_a_missing_revision_is_called() -> None:
    assert short_revision(None, "the previous revision") == "the previous revision"
    assert short_revision("", "") == ""
    assert short_revision(f"{TD}/web:2", "") == "web:2"


# -- image references ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("nginx", ImageReference(None, "nginx", None, None)),
        ("nginx:1.27", ImageReference(None, "nginx", "1.27", None)),
        ("amazon/aws-otel-collector", ImageReference(None, "amazon/aws-otel-collector", None, None)),
        ("docker.io/library/nginx:latest", ImageReference("docker.io", "library/nginx", "latest", None)),
        ("localhost/web", ImageReference("localhost", "web", None, None)),
        ("localhost:5000/team/app:dev", ImageReference("localhost:5000", "team/app", "dev", None)),
        ("127.0.0.1:5000/web:1.0.0", ImageReference("127.0.0.1:5000", "web", "1.0.0", None)),
        ("[::1]:5000/web", ImageReference("[::1]:5000", "web", None, None)),
        (f"web@{DIGEST}", ImageReference(None, "web", None, DIGEST)),
        (f"{ECR}/team/web:1.4.2@{DIGEST}", ImageReference(ECR, "team/web", "1.4.2", DIGEST)),
        ("public.ecr.aws/nginx/nginx:latest", ImageReference("public.ecr.aws", "nginx/nginx", "latest", None)),
        # malformed: split all the same, for validation to name the part that is wrong
        ("web:", ImageReference(None, "web", "", None)),
        ("web@", ImageReference(None, "web", None, "")),
        ("localhost:5000/te:am/web", ImageReference("localhost:5000", "te:am/web", None, None)),
        ("", ImageReference(None, "", None, None)),
        ("Web:1", ImageReference(None, "Web", "1", None)),
    ],
)
def test_image_references_are_split_by_dockers_rules(reference: str, expected: ImageReference) -> None:
    image = parse_image(reference)
    assert image == expected
    assert str(image) == reference


@pytest.mark.parametrize(
    ("reference", "account", "region"),
    [
        (f"{ECR}/web:1", ACCOUNT, "eu-west-1"),
        (f"{ACCOUNT}.dkr.ecr-fips.us-gov-west-1.amazonaws.com/web:1", ACCOUNT, "us-gov-west-1"),
        (f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn/web:1", ACCOUNT, "cn-north-1"),
        (f"{ACCOUNT}.dkr-ecr.eu-west-1.on.aws/web:1", ACCOUNT, "eu-west-1"),  # dual-stack
        ("000000000000.dkr.ecr.us-east-1.localhost.localstack.cloud:4566/web:1", "000000000000", "us-east-1"),
        # not ECR
        ("public.ecr.aws/nginx/nginx:latest", None, None),
        ("1234.dkr.ecr.eu-west-1.amazonaws.com/web:1", None, None),  # an account has 12 digits
        ("localhost:5000/web:1", None, None),
        (f"{ACCOUNT}/web:1", None, None),  # no registry: a Docker Hub user named by digits
        ("web:1", None, None),
    ],
)
def test_ecr_registries_are_recognised(reference: str, account: str | None, region: str | None) -> None:
    image = parse_image(reference)
    assert (image.account, image.region, image.is_ecr) == (account, region, account is not None)


def test_an_image_name_is_the_reference_without_tag_and_digest() -> None:
    assert parse_image(f"{ECR}/team/web:1.4.2@{DIGEST}").name == f"{ECR}/team/web"
    assert parse_image("nginx:1.27").name == "nginx"


@pytest.mark.parametrize(
    ("text", "valid"),
    [("1.4.2", True), ("latest", True), ("_x", True), ("v1_2-rc.3", True), ("a" * 128, True),
     ("a" * 129, False), ("", False), (".hidden", False), ("-rc1", False), ("1.0/x", False), ("t\u00e5g", False),
     ("has space", False), (None, False), (7, False)],
)
def test_tags(text: Any, valid: bool) -> None:
    assert is_tag(text) is valid
