"""The emulator's one parser of image references (``emulator/runners/base.py``), which the engine, the runners
and the load balancers share."""

from __future__ import annotations

import pytest

from pytest_ecsdeploy.emulator.runners.base import split_ecr_image, split_reference

ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("web", ("web", None, None)),
        ("web:1.4", ("web", "1.4", None)),
        (f"{ECR}/team/web:1@sha256:ab", (f"{ECR}/team/web", "1", "sha256:ab")),
        ("127.0.0.1:5000/web", ("127.0.0.1:5000/web", None, None)),  # a registry's port is not a tag
    ],
)
def test_split_reference(image: str, expected: tuple[str, str | None, str | None]) -> None:
    assert split_reference(image) == expected


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (f"{ECR}/team/web:1", ("123456789012", "eu-west-1", "team/web:1")),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/web@sha256:ab",
         ("123456789012", "cn-north-1", "web@sha256:ab")),
        ("nginx:1", None),
        ("127.0.0.1:5000/web:1", None),
        (f"{ECR}/", None),  # no repository
        ("12345.dkr.ecr.eu-west-1.amazonaws.com/web", None),  # an account has 12 digits
    ],
)
def test_split_ecr_image(image: str, expected: tuple[str, str, str] | None) -> None:
    assert split_ecr_image(image) == expected
