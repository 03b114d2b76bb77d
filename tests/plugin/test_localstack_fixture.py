"""The ``localstack`` fixture's skips, through pytester: each reason is one line that says what to do."""

from __future__ import annotations

import pytest

from pytest_ecsdeploy.localstack import docker_ping

TEST = """
def test_uses_localstack(localstack):
    raise AssertionError("LocalStack cannot start on this machine")
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for name in ("LOCALSTACK_AUTH_TOKEN", "ECSDEPLOY_LOCALSTACK_IMAGE", "TESTCONTAINERS_RYUK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_stack=TEST)
    return pytester


def test_without_a_token_it_is_skipped_naming_the_variable(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-rs")

    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED * LOCALSTACK_AUTH_TOKEN is not set: LocalStack's ECS and ECR need a paid "
                                 "plan's auth token; export LOCALSTACK_AUTH_TOKEN=<your token> to run this*"])


def test_without_docker_it_is_skipped_naming_the_engine_it_asked(suite: pytest.Pytester,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALSTACK_AUTH_TOKEN", "ls-test-0000")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{suite.path}/no-docker.sock")

    result = suite.runpytest("-rs")

    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([f"SKIPPED * no Docker engine answers at unix://{suite.path}/no-docker.sock (no such socket): "
                                  "LocalStack and the task containers of its ECS run on Docker; start dockerd or set "
                                  "DOCKER_HOST, then run again."])


def test_without_the_image_it_is_skipped_with_the_docker_pull_to_run(suite: pytest.Pytester,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    if docker_ping() is not None:
        pytest.skip("needs a Docker engine to tell that the image is missing; none answers")
    monkeypatch.setenv("LOCALSTACK_AUTH_TOKEN", "ls-test-0000")
    monkeypatch.setenv("ECSDEPLOY_LOCALSTACK_IMAGE", "localstack/localstack-pro:0.0.0-not-here")

    result = suite.runpytest("-rs")

    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED * the LocalStack image localstack/localstack-pro:0.0.0-not-here is not in "
                                 "the local Docker engine * run `docker pull localstack/localstack-pro:0.0.0-not-here`"
                                 " once*"])
