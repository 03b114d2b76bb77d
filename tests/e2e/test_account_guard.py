"""The account guard against the embedded local AWS's STS (moto's default account is 123456789012)."""

from __future__ import annotations

import pytest

from pytest_ecsdeploy.aws import ClientFactory, mask_account, session_name
from pytest_ecsdeploy.config import Environment
from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.errors import AccountMismatch, ActionError


def environment(**overrides: object) -> Environment:
    values: dict[str, object] = {"name": "staging", "backend": "emulator", "cluster": "c", "region": "us-east-1"}
    values.update(overrides)
    return Environment(**values)  # type: ignore[arg-type]


def test_mask_account_hides_the_middle_digits() -> None:
    assert mask_account("123456789012") == "1234****9012"


def test_session_name_is_readable_and_valid() -> None:
    name = session_name(environment(name="prod eu/1"))
    assert name.startswith("pytest-ecsdeploy-prod-eu-1-")
    assert len(name) <= 64


def test_matching_account_passes_and_unpinned_passes() -> None:
    with LocalAWS() as local:
        pinned = ClientFactory(environment(account_id="123456789012"), local_endpoint=local.endpoint_url)
        assert pinned.ensure_account() == "123456789012"
        unpinned = ClientFactory(environment(), local_endpoint=local.endpoint_url)
        assert unpinned.ensure_account() == "123456789012"


def test_mismatch_names_both_accounts_masked_and_stops_before_a_write() -> None:
    with LocalAWS() as local:
        aws = ClientFactory(environment(account_id="111122223333"), local_endpoint=local.endpoint_url)
        before = local.snapshot()
        with pytest.raises(AccountMismatch) as exc:
            aws.ensure_account()
            aws.client("ecs").create_cluster(clusterName="should-not-exist")
        assert str(exc.value) == (
            "environment 'staging' deploys to account 1111****3333, but the credentials belong to account "
            "1234****9012; nothing was changed."
        )
        assert "111122223333" not in str(exc.value) and "123456789012" not in str(exc.value)
        assert local.snapshot() == before


def test_role_arn_is_assumed_with_a_readable_session_name() -> None:
    with LocalAWS() as local:
        env = environment(account_id="111122223333", role_arn="arn:aws:iam::111122223333:role/deploy")
        aws = ClientFactory(env, local_endpoint=local.endpoint_url)
        assert aws.ensure_account() == "111122223333"
        arn = aws.caller_identity()["Arn"]
        assert arn.startswith("arn:aws:sts::111122223333:assumed-role/deploy/pytest-ecsdeploy-staging-")


def test_unreachable_endpoint_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pytest_ecsdeploy.aws.MAX_ATTEMPTS", 1)
    aws = ClientFactory(environment(endpoint_url="http://127.0.0.1:9"))
    with pytest.raises(ActionError) as exc:
        aws.ensure_account()
    assert str(exc.value).startswith("environment 'staging': could not read the caller's identity from STS (")
    assert str(exc.value).endswith("); check the credentials for this environment.")


SCENARIO_CONFIG = """
[environments.local]
backend = "emulator"
cluster = "local"
account_id = "111122223333"

[services.web]
repository = "web"
"""


def test_guard_through_the_plugin_fails_the_step_and_writes_nothing(pytester: pytest.Pytester) -> None:
    pytester.mkdir("deployments")
    pytester.path.joinpath("deployments", "ecsdeploy.toml").write_text(SCENARIO_CONFIG)
    pytester.path.joinpath("deployments", "test_web.py").write_text(
        "def test_write(aws):\n"
        "    aws.ensure_account()\n"
        "    aws.client('ecs').create_cluster(clusterName='oops')\n"
        "def test_after(aws):\n"
        "    pass\n"
    )
    result = pytester.runpytest_subprocess("deployments", "--env", "local", "-rs")
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines([
        "AccountMismatch: environment 'local' deploys to account 1111****3333, but the credentials belong to "
        "account 1234****9012; nothing was changed.",
    ])
