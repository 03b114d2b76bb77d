"""plugin.py through pytester: options and marker help, scenarios skipped and nothing loaded without --env, the
session object registered only with --env."""

from __future__ import annotations

import pytest

from pytest_ecsdeploy.options import OPTIONS
from pytest_ecsdeploy.session import PLUGIN_NAME, SESSION, EcsDeploySession


def test_help_lists_every_option_with_a_help_line(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    text = result.stdout.str()
    assert "deployments to Amazon ECS (pytest-ecsdeploy):" in text
    for option in OPTIONS:
        assert option.flag in text
        assert option.ini in text  # the ini key is listed too
    result.stdout.fnmatch_lines(["*--image-tag=[[]SERVICE=[]]TAG*", "*Image tag to deploy*"])
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


def test_the_session_object_is_registered_only_with_env(project: pytest.Pytester) -> None:
    without = project.parseconfigure("deployments")
    assert without.pluginmanager.get_plugin(PLUGIN_NAME) is None
    assert SESSION not in without.stash

    config = project.parseconfigure("deployments", "--env", "ci")
    session = config.pluginmanager.get_plugin(PLUGIN_NAME)
    assert isinstance(session, EcsDeploySession) and config.stash[SESSION] is session
    assert session.run.environment.name == "ci"

