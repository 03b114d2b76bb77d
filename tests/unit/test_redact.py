"""The one rule for what is never printed: secret-looking names and passwords inside URLs."""

from __future__ import annotations

import pytest

from pytest_ecsdeploy.redact import looks_secret, mask_url_password, mask_url_passwords


@pytest.mark.parametrize(
    "name",
    ["DB_PASSWORD", "db_pass", "PGPWD", "API_KEY", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "X-Amz-Signature",
     "sig", "DATABASE_DSN", "SESSION_ID", "auth_header", "PRIVATE_CERT", "CONN_STRING", "cookie", "salt"],
)
def test_secret_names(name: str) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize("name", ["LOG_LEVEL", "PORT", "REGION", "FEATURE_FLAGS", "HOSTNAME"])
def test_ordinary_names(name: str) -> None:
    assert not looks_secret(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgres://app:pa55@db:5432/x", "postgres://app:***@db:5432/x"),
        ("run postgres://app:pa55@db/x now", "run postgres://app:***@db/x now"),
        ("https://me@example.com:p@ss@host/path", "https://me@example.com:***@host/path"),
        ("https://u:p@ss@host/", "https://u:***@host/"),
        ("https://u:@host/", "https://u:***@host/"),
        ("redis://h:x?y@z:6379", "redis://h:***@z:6379"),
        ("https://host/no/password", "https://host/no/password"),
    ],
)
def test_passwords_in_text_are_masked(text: str, expected: str) -> None:
    masked = mask_url_passwords(text, "***")
    assert masked == expected


def test_one_url_with_a_space_in_its_password() -> None:
    masked = mask_url_password("https://ci:two words@web.example.com/health", "***")
    assert masked == "https://ci:***@web.example.com/health"
    assert "two" not in masked and "words" not in masked
