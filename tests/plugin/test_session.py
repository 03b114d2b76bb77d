"""The session object through pytester: the header, binding scenario modules to services, step semantics, and
configuration errors as usage errors."""

from __future__ import annotations

import pytest


def test_header_shows_environment_and_sources(project: pytest.Pytester) -> None:
    result = project.runpytest("deployments", "--env", "local", "--image-tag", "1.4.2", "--co")
    result.stdout.fnmatch_lines([
        "ecsdeploy: env=local (from --env) backend=emulator runner=* (auto: * Docker engine answers) region=eu-west-1 "
        "(from ecsdeploy.toml [[]defaults]) account=not pinned",
        "ecsdeploy: config=*ecsdeploy.toml image-tag=1.4.2 plan=no rollback=on wait-timeout=600s",
    ])


@pytest.mark.parametrize("runner", ["simulated", "docker"])
def test_header_names_the_runner_an_environment_chose(project: pytest.Pytester, runner: str) -> None:
    config = project.path.joinpath("deployments", "ecsdeploy.toml")
    config.write_text(config.read_text().replace('cluster = "local"\n', f'cluster = "local"\nrunner = "{runner}"\n'))

    result = project.runpytest("deployments", "--env", "local", "--co")

    result.stdout.fnmatch_lines([f"ecsdeploy: env=local (from --env) backend=emulator runner={runner} region=*"])


def test_header_names_the_speed_of_the_embedded_local_aws(project: pytest.Pytester) -> None:
    config = project.path.joinpath("deployments", "ecsdeploy.toml")
    config.write_text(config.read_text().replace('cluster = "local"\n', 'cluster = "local"\nrunner = "simulated"\n'
                                                                       'speed = 20\n'))

    result = project.runpytest("deployments", "--env", "local", "--co")

    result.stdout.fnmatch_lines(["ecsdeploy: env=local (from --env) backend=emulator runner=simulated speed=20 "
                                 "region=*"])


def test_header_names_no_runner_where_the_emulator_chose_it(project: pytest.Pytester) -> None:
    result = project.runpytest("deployments", "--env", "ci", "--co")

    result.stdout.fnmatch_lines(["ecsdeploy: env=ci (from --env) backend=emulator region=eu-west-1 *"])


def test_header_masks_the_pinned_account(project: pytest.Pytester) -> None:
    result = project.runpytest("deployments", "--env", "prod", "--co", "--plan", "--no-rollback")
    result.stdout.fnmatch_lines([
        "ecsdeploy: env=prod (from --env) backend=aws region=eu-west-1 (from ecsdeploy.toml [defaults]) "
        "account=1111****3333 (from ecsdeploy.toml [environments.prod])",
        "*plan=yes rollback=off*",
    ])


def test_failed_step_skips_the_rest_of_its_module_only(project: pytest.Pytester) -> None:
    scenario = project.path.joinpath("deployments", "test_web.py")
    scenario.write_text(scenario.read_text().replace("assert True", "assert False"))
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
    config = project.path.joinpath("deployments", "ecsdeploy.toml")
    config.write_text(config.read_text() + "\n[services.web2]\nrepo = 'x'\n")
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
