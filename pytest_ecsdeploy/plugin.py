"""pytest hooks of pytest-ecsdeploy: options, the marker, the fixtures, and the session object when ``--env`` is given.

Until ``--env`` is given the plugin reads no file, makes no AWS call and prints nothing: a scenario module is
collected as skipped, with one reason line. With ``--env`` (or its ini key or variable) the run's stateful hooks
come from :class:`~pytest_ecsdeploy.session.EcsDeploySession`, built here and registered as the plugin
``ecsdeploy-session``; on a pytest-xdist controller also :class:`~pytest_ecsdeploy.parallel.XdistController`
(``ecsdeploy-xdist``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from . import hookspecs
from .errors import EcsDeployError
from .options import add_options, get_setting
from .parallel import XdistController, check_dist
from .redact import clean_line
from .session import FIXTURES_MODULE, NO_ENV_REASON, PLUGIN_NAME, SESSION, EcsDeploySession, is_scenario

MARKER_HELP = (
    "ecs_service(name): bind this scenario module to [services.NAME] of ecsdeploy.toml "
    "(default: the file name, test_NAME.py)."
)
XDIST_PLUGIN_NAME = "ecsdeploy-xdist"  # the controller's pytest-xdist hooks (parallel.py)
pytest_plugins = [FIXTURES_MODULE]


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    env = get_setting(config, "ecsdeploy_env")
    if env.value is None:
        return
    try:
        session = EcsDeploySession.from_config(config, env)
    except EcsDeployError as exc:
        raise pytest.UsageError(clean_line(str(exc))) from None
    config.stash[SESSION] = session
    config.pluginmanager.register(session, PLUGIN_NAME)
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        check_dist(config)
        config.pluginmanager.register(XdistController(session.run), XDIST_PLUGIN_NAME)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport, Any]:
    """Without a session (no ``--env``), a scenario module is one skipped collection report with the reason."""
    report = yield
    if (
        SESSION not in collector.config.stash
        and isinstance(collector, pytest.Module)
        and report.passed
        and is_scenario(collector, report.result)
    ):
        return pytest.CollectReport(
            collector.nodeid, "skipped", (str(collector.path), 0, f"Skipped: {NO_ENV_REASON}"), []
        )
    return report
