"""Plugin behaviour through pytester: options, header, skip without --env, step semantics, marker validation."""

from __future__ import annotations

import pytest

from pytest_ecsdeploy.options import OPTIONS

CONFIG = """
[defaults]
region = "eu-west-1"

[environments.local]
backend = "emulator"
cluster = "local"

[environments.ci]
backend = "emulator"
cluster = "ci"
endpoint_url = "http://127.0.0.1:9"

[environments.prod]
backend = "aws"
cluster = "prod"
account_id = "111122223333"

[services.web]
repository = "web"

[services.api]
repository = "api"
"""

SCENARIO = """
import pytest

pytestmark = pytest.mark.ecs_service("web")

def test_first(deploy_env):
    assert deploy_env.name

def test_second(deploy_env):
    assert {fail}

def test_third(deploy_env):
    pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.mkdir("deployments")
    pytester.path.joinpath("deployments", "ecsdeploy.toml").write_text(CONFIG)
    pytester.path.joinpath("deployments", "test_web.py").write_text(SCENARIO.format(fail="True"))
    pytester.path.joinpath("deployments", "test_unrelated.py").write_text("def test_plain():\n    pass\n")
    return pytester


def test_help_lists_every_option_with_a_help_line(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    text = result.stdout.str()
    assert "deployments to Amazon ECS (pytest-ecsdeploy):" in text
    for option in OPTIONS:
        assert option.flag in text
        assert option.ini in text  # the ini key is listed too
    result.stdout.fnmatch_lines(["*--image-tag=TAG*Image tag to deploy*"])
    markers = pytester.runpytest("--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.ecs_service(name): bind this scenario module to [[]services.NAME]*"])


def test_without_env_scenarios_are_skipped_with_one_reason_line(project: pytest.Pytester) -> None:
    result = project.runpytest("deployments", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED [[]1] deployments/test_web.py:0: deployment scenario: runs only with --env*"])
    assert "ecsdeploy:" not in result.stdout.str()  # no header without --env


def test_plugin_is_inert_without_env(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        import sys
        def pytest_sessionfinish(session):
            heavy = sorted(m for m in ("boto3", "botocore", "moto", "docker") if m in sys.modules)
            print("HEAVY-MODULES:", ",".join(heavy) or "none")
        """
    )
    result = project.runpytest_subprocess("deployments", "-s")
    result.stdout.fnmatch_lines(["*HEAVY-MODULES: none*"])


def test_fixtures_mark_a_module_as_scenario_even_without_marker(project: pytest.Pytester) -> None:
    project.path.joinpath("deployments", "test_api.py").write_text("def test_x(aws):\n    pass\n")
    result = project.runpytest("deployments", "-rs")
    result.assert_outcomes(passed=1, skipped=2)


def test_a_suite_with_its_own_aws_fixture_is_not_a_scenario(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def aws():
            return "my moto fixture"
        """
    )
    pytester.makepyfile(test_mine="def test_uses_own(aws):\n    assert aws == 'my moto fixture'\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_header_shows_environment_and_sources(project: pytest.Pytester) -> None:
    result = project.runpytest("deployments", "--env", "local", "--image-tag", "1.4.2", "--co")
    result.stdout.fnmatch_lines([
        "ecsdeploy: env=local (from --env) backend=emulator region=eu-west-1 "
        "(from ecsdeploy.toml [defaults]) account=not pinned",
        "ecsdeploy: config=*ecsdeploy.toml image-tag=1.4.2 plan=no rollback=on wait-timeout=600s",
    ])


def test_header_masks_the_pinned_account(project: pytest.Pytester) -> None:
    result = project.runpytest("deployments", "--env", "prod", "--co", "--plan", "--no-rollback")
    result.stdout.fnmatch_lines([
        "ecsdeploy: env=prod (from --env) backend=aws region=eu-west-1 (from ecsdeploy.toml [defaults]) "
        "account=1111****3333 (from ecsdeploy.toml [environments.prod])",
        "*plan=yes rollback=off*",
    ])


def test_failed_step_skips_the_rest_of_its_module_only(project: pytest.Pytester) -> None:
    project.path.joinpath("deployments", "test_web.py").write_text(SCENARIO.format(fail="False"))
    project.path.joinpath("deployments", "test_api.py").write_text(
        "def test_a(deploy_env):\n    pass\n\ndef test_b(deploy_env):\n    pass\n"
    )
    result = project.runpytest("deployments", "--env", "ci", "-rs")
    result.assert_outcomes(passed=4, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED [[]1] deployments/test_web.py:12: an earlier step failed: test_second"])
    assert result.ret == 1


def test_a_setup_error_also_stops_the_module(project: pytest.Pytester) -> None:
    project.path.joinpath("deployments", "test_web.py").write_text(
        "import pytest\n"
        "@pytest.fixture\n"
        "def broken():\n    raise RuntimeError('no')\n"
        "def test_one(deploy_env, broken):\n    pass\n"
        "def test_two(deploy_env):\n    pass\n"
    )
    result = project.runpytest("deployments/test_web.py", "--env", "ci", "-rs")
    result.assert_outcomes(errors=1, skipped=1)
    result.stdout.fnmatch_lines(["*an earlier step failed: test_one"])


def test_steps_keep_file_order_when_another_plugin_reorders(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        def pytest_collection_modifyitems(items):
            items.reverse()
        """
    )
    result = project.runpytest("deployments/test_web.py", "--env", "ci", "-v")
    result.stdout.fnmatch_lines(["*test_first PASSED*", "*test_second PASSED*", "*test_third PASSED*"])


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ('pytest.mark.ecs_service("wbe")', "*service 'wbe' is not in [[]services]; did you mean 'web'?*"),
        ("pytest.mark.ecs_service()", "*pytest.mark.ecs_service takes one service name*missing 1 required*"),
        ('pytest.mark.ecs_service("web", "api")', "*takes one service name*"),
        ("pytest.mark.ecs_service(3)", "*the service name must be a non-empty string, got 3*"),
    ],
)
def test_marker_is_validated(project: pytest.Pytester, marker: str, message: str) -> None:
    project.path.joinpath("deployments", "test_web.py").write_text(
        f"import pytest\npytestmark = {marker}\ndef test_x(deploy_env):\n    pass\n"
    )
    result = project.runpytest("deployments", "--env", "ci")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_a_scenario_must_name_its_service(project: pytest.Pytester) -> None:
    project.path.joinpath("deployments", "test_checkout.py").write_text("def test_x(aws):\n    pass\n")
    result = project.runpytest("deployments", "--env", "ci")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *test_checkout.py: this scenario names no service*(services in *: web, api)."])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env", "prdo"], "ERROR: 'prdo' is not an environment in *; did you mean 'prod'? (choose one of: ci, local, prod)."),
        (["--env", "local", "--var", "NOEQUALS"], "ERROR: --var expects KEY=VALUE, got 'NOEQUALS'."),
        (["--env", "local", "--wait-timeout", "soon"], "ERROR: --wait-timeout expects a number of seconds, got 'soon'."),
        (["--env", "local", "--wait-timeout", "0"], "ERROR: --wait-timeout expects a positive number of seconds, got '0'."),
        (["--env", "local", "--ecsdeploy-config", "missing.toml"],
         "ERROR: missing.toml does not exist; create it or pass --ecsdeploy-config PATH."),
    ],
)
def test_bad_command_line_is_a_usage_error(project: pytest.Pytester, args: list[str], message: str) -> None:
    result = project.runpytest("deployments", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


def test_bad_config_file_is_a_usage_error(project: pytest.Pytester) -> None:
    project.path.joinpath("deployments", "ecsdeploy.toml").write_text(CONFIG + "\n[services.web2]\nrepo = 'x'\n")
    result = project.runpytest("deployments", "--env", "local")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *ecsdeploy.toml: [[]services.web2] has an unknown key 'repo'; did you mean 'repository'?*"])
    assert len([line for line in result.stderr.lines if line.strip()]) == 1


def test_env_from_ini_or_environment_variable_selects_only_local_backends(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makeini("[pytest]\necsdeploy_env = ci\n")
    result = project.runpytest("deployments", "--co")
    result.stdout.fnmatch_lines(["ecsdeploy: env=ci (from ini ecsdeploy_env)*"])
    monkeypatch.setenv("ECSDEPLOY_ENV", "local")
    result = project.runpytest("deployments", "--co")
    result.stdout.fnmatch_lines(["ecsdeploy: env=local (from ECSDEPLOY_ENV)*"])
    monkeypatch.setenv("ECSDEPLOY_ENV", "prod")
    result = project.runpytest("deployments", "--co")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "ERROR: environment 'prod' deploys to real AWS, so it must be named with --env on the command line, "
        "not through ECSDEPLOY_ENV."
    ])


def test_deployment_errors_are_a_sentence_not_a_traceback(project: pytest.Pytester) -> None:
    project.path.joinpath("deployments", "test_web.py").write_text(
        "from pytest_ecsdeploy import ActionError\n"
        "def test_x(deploy_env):\n"
        "    raise ActionError('the tag 9.9.9 is not in repository web; nearest: 1.4.2', code='ImageNotFoundException')\n"
    )
    result = project.runpytest("deployments/test_web.py", "--env", "ci")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["ActionError: the tag 9.9.9 is not in repository web; nearest: 1.4.2"])
    assert "raise ActionError" not in result.stdout.str()
