"""pytest hooks of pytest-ecsdeploy: options, markers, fixtures wired to the action modules, ordering, summary.

Everything that does work lives in the modules this one imports; until ``--env`` is given the plugin reads no
file, makes no AWS call and prints nothing.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import hookspecs
from .arns import short_revision
from .aws import mask_account
from .context import RunOptions
from .errors import ConfigError, EcsDeployError
from .options import Setting, add_options, get_setting, parse_vars
from .report.octopus import OctopusReporter, ServiceMessages, octopus_signal
from .report.record import ServiceRecord
from .run import Run
from .terminal import write_lines

RUN = pytest.StashKey[Run]()
ENV_SETTING = pytest.StashKey[Setting]()
SERVICE = pytest.StashKey[str]()  # on a scenario Module: the service it deploys
FAILED_STEP = pytest.StashKey[str]()  # on a scenario Module: the first step that failed
OCTOPUS = pytest.StashKey[OctopusReporter]()
REPORT_PATH = pytest.StashKey[Path]()
WORKER_RECORDS = "ecsdeploy_records"  # key in pytest-xdist's workeroutput

DEPLOY_FIXTURES = frozenset(
    {"deploy_env", "aws", "ecsdeploy_context", "ecr", "task_definition", "ecs_service", "deploy", "smoke",
     "ecs_task"}
)
MARKER_HELP = (
    "ecs_service(name): bind this scenario module to [services.NAME] of ecsdeploy.toml "
    "(default: the file name, test_NAME.py)."
)
FIXTURES_MODULE = "pytest_ecsdeploy.fixtures"
pytest_plugins = [FIXTURES_MODULE]

NO_ENV_REASON = "deployment scenario: runs only with --env NAME (see pytest --help, ecsdeploy options)"


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
        run = _load_run(config, env)
    except EcsDeployError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[RUN] = run
    config.stash[ENV_SETTING] = env
    reporter = _octopus_reporter(config)
    if reporter is not None:
        config.stash[OCTOPUS] = reporter


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is not None:
        run.close()


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    run = config.stash.get(RUN, None)
    if run is None:
        return None
    env, opts = run.environment, run.options
    account = f"{mask_account(env.account_id)} (from {env.sources['account']})" if env.account_id else "not pinned"
    return [
        f"ecsdeploy: env={env.name} (from {config.stash[ENV_SETTING].source}) backend={env.backend} "
        f"region={env.region} (from {env.sources['region']}) account={account}",
        f"ecsdeploy: config={run.deployment.path} image-tag={opts.image_tag or '-'} "
        f"plan={'yes' if opts.plan else 'no'} rollback={'on' if opts.rollback else 'off'} "
        f"wait-timeout={opts.wait_timeout or env.wait_timeout:g}s",
    ] + ([f"ecsdeploy: Octopus service messages on ({_octopus_source(config)})"] if OCTOPUS in config.stash else [])


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport, Any]:
    report = yield
    if isinstance(collector, pytest.Module) and report.passed and _is_scenario(collector, report.result):
        run = collector.config.stash.get(RUN, None)
        if run is None:
            return pytest.CollectReport(
                collector.nodeid, "skipped", (str(collector.path), 0, f"Skipped: {NO_ENV_REASON}"), []
            )
        collector.stash[SERVICE] = _bind_service(collector, run)
    return report


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep every scenario's steps together and in file order, whatever reordering plugins did."""
    blocks: dict[pytest.Module, list[pytest.Item]] = {}
    for item in items:
        module = _scenario_module(item)
        if module is not None:
            blocks.setdefault(module, []).append(item)
    if not blocks:
        return
    ordered: list[pytest.Item] = []
    for item in items:
        module = _scenario_module(item)
        if module is None:
            ordered.append(item)
        elif module in blocks:
            ordered.extend(sorted(blocks.pop(module), key=lambda i: i.reportinfo()[1] or 0))
    items[:] = ordered


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    module = _scenario_module(item)
    if module is not None and FAILED_STEP in module.stash:
        pytest.skip(f"an earlier step failed: {module.stash[FAILED_STEP]}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    module = _scenario_module(item)
    if module is None:
        return report
    if report.skipped and FAILED_STEP in module.stash and report.when == "setup":
        # Point the skip at the step, not at this plugin.
        path, lineno, _ = item.reportinfo()
        reason = f"Skipped: an earlier step failed: {module.stash[FAILED_STEP]}"
        report.longrepr = (str(path), (lineno or 0) + 1, reason)
    if not report.failed:
        return report
    if report.when in ("setup", "call"):
        module.stash.setdefault(FAILED_STEP, item.name)
    if call.excinfo is not None and isinstance(call.excinfo.value, EcsDeployError):
        # A deployment error is a sentence for the user, not a traceback.
        report.longrepr = f"{type(call.excinfo.value).__name__}: {call.excinfo.value}"
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is None or not run.record.services:
        return
    tr = terminalreporter
    tr.write_sep("=", "ecsdeploy summary")
    for line in summary_lines(run):
        tr.write_line(line)
    if REPORT_PATH in config.stash:
        tr.write_line(f"deployment record written to {config.stash[REPORT_PATH]}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    yield
    module = _scenario_module(item)
    reporter = item.config.stash.get(OCTOPUS, None)
    if module is None or reporter is None or (nextitem is not None and _scenario_module(nextitem) is module):
        return
    run = item.config.stash[RUN]
    record = run.record.services.get(module.stash[SERVICE])
    if record is not None:
        done = len([r for r in run.record.services.values() if r.outcome != "pending"])
        reporter.service_finished(record, done, max(done, _scenario_count(item)))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the deployment record, then (after the JUnit file is written) tell Octopus about both."""
    run = session.config.stash.get(RUN, None)
    if run is None:
        return
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: the controller writes the record and reports
        workeroutput[WORKER_RECORDS] = [record.to_dict() for record in run.record.services.values()]
        return
    report = get_setting(session.config, "ecsdeploy_report").value
    path = run.record.write(Path(report)) if report else None
    if path is not None:
        session.config.stash[REPORT_PATH] = path  # said in the terminal summary, which comes after this hook
    reporter = session.config.stash.get(OCTOPUS, None)
    if reporter is not None:
        junit = session.config.getoption("xmlpath", None)
        reporter.run_finished(run.record, path, Path(junit) if junit else None, failed=exitstatus != 0)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: merge a finished worker's service records into the controller's record."""
    run = node.config.stash.get(RUN, None)
    records = getattr(node, "workeroutput", {}).get(WORKER_RECORDS)
    if run is None or not records:
        return
    reporter = node.config.stash.get(OCTOPUS, None)
    for data in records:
        record = ServiceRecord.from_dict(data)
        run.record.services[record.service] = record
        if reporter is not None:
            done = len([r for r in run.record.services.values() if r.outcome != "pending"])
            reporter.service_finished(record, done, max(done, len(run.record.services)))


# ---- helpers -------------------------------------------------------------------------------------------------


def summary_lines(run: Run) -> Iterator[str]:
    """The terminal summary table: service, from -> to, outcome, duration, checks passed/failed."""
    rows = [("service", "from -> to", "outcome", "duration", "checks ok/failed")]
    reasons: list[str] = []
    for rec in run.record.services.values():
        before = short_revision(rec.revision_before)
        after = short_revision(rec.revision_after)
        if rec.outcome == "planned" and rec.revision_after is None:
            after = "(new revision)"
        outcome = rec.outcome
        if rec.rollback is not None and rec.outcome in ("rolled back", "rollback failed"):
            outcome += f" (to {short_revision(rec.rollback.to_revision)})"
        if rec.reason and rec.outcome not in ("deployed", "unchanged", "planned"):
            reasons.append(f"{rec.service}: {rec.reason}")
            rollback = rec.rollback
            if rollback is not None and rollback.outcome not in ("completed", "pending") and rollback.reason:
                reasons.append(f"{rec.service}: rollback {rollback.outcome}: {rollback.reason}")
        rows.append((
            rec.service, f"{before} -> {after}", outcome, f"{rec.duration:.1f}s",
            f"{rec.checks.count('passed')}/{rec.checks.count('failed')}",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        yield "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4]
    yield from reasons


def _octopus_reporter(config: pytest.Config) -> OctopusReporter | None:
    if hasattr(config, "workerinput"):
        return None  # the controller reports; workers have no stdout of their own
    if not (get_setting(config, "ecsdeploy_octopus").value or octopus_signal(os.environ)):
        return None
    return OctopusReporter(ServiceMessages(write=lambda line: write_lines(config, [line])))


def _octopus_source(config: pytest.Config) -> str:
    setting = get_setting(config, "ecsdeploy_octopus")
    return setting.source if setting.value else f"detected: {octopus_signal(os.environ)}"


def _scenario_count(item: pytest.Item) -> int:
    return len({m for m in (_scenario_module(i) for i in item.session.items) if m is not None})


def _load_run(config: pytest.Config, env: Setting) -> Run:
    variables = parse_vars(get_setting(config, "ecsdeploy_vars").value, "--var")
    options = RunOptions(
        image_tag=get_setting(config, "ecsdeploy_image_tag").value,
        plan=bool(get_setting(config, "ecsdeploy_plan").value),
        rollback=not get_setting(config, "ecsdeploy_no_rollback").value,
        wait_timeout=get_setting(config, "ecsdeploy_wait_timeout").value,
        variables=variables,
    )
    run = Run.load(
        env_name=env.value,
        config_path=get_setting(config, "ecsdeploy_config").value,
        rootdir=Path(config.rootpath),
        args=[str(a) for a in config.args],
        options=options,
        environ=dict(os.environ),
    )
    if run.environment.backend == "aws" and env.source != "--env":
        raise ConfigError(
            f"environment '{env.value}' deploys to real AWS, so it must be named with --env on the command line, "
            f"not through {env.source}."
        )
    return run


def _ecs_service_marker(name: str) -> str:
    """The marker's signature: ``pytest.mark.ecs_service("web")``."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"the service name must be a non-empty string, got {name!r}")
    return name


def _is_scenario(module: pytest.Module, result: list[Any]) -> bool:
    """A scenario has the ecs_service marker or asks for one of this plugin's fixtures.

    A fixture only counts when the name resolves to ours: a test suite with its own ``aws`` fixture (a moto
    one, say) is not a deployment.
    """
    if any(m.name == "ecs_service" for m in module.own_markers):
        return True
    return any(_uses_our_fixture(node) for node in result)


def _uses_our_fixture(node: Any) -> bool:
    info = getattr(node, "_fixtureinfo", None)
    for name in DEPLOY_FIXTURES.intersection(getattr(node, "fixturenames", ())):
        definitions = info.name2fixturedefs.get(name) if info is not None else None
        if definitions and getattr(definitions[-1].func, "__module__", "") == FIXTURES_MODULE:
            return True
    return False


def _bind_service(module: pytest.Module, run: Run) -> str:
    markers = [m for m in module.own_markers if m.name == "ecs_service"]
    services = run.deployment.services
    if markers:
        try:
            name = _ecs_service_marker(*markers[0].args, **markers[0].kwargs)
        except TypeError as exc:
            raise pytest.UsageError(
                f"{module.path}: pytest.mark.ecs_service takes one service name, as in "
                f"pytest.mark.ecs_service(\"web\"): {exc}."
            ) from None
    else:
        name = module.path.stem.removeprefix("test_")
        if name not in services:
            raise pytest.UsageError(
                f"{module.path}: this scenario names no service; add pytestmark = pytest.mark.ecs_service(\"NAME\") "
                f"or name the file test_NAME.py (services in {run.deployment.path}: {', '.join(services) or 'none'})."
            )
    try:
        run.deployment.service(name)
    except ConfigError as exc:
        raise pytest.UsageError(f"{module.path}: {exc}") from None
    return name


def _scenario_module(item: pytest.Item) -> pytest.Module | None:
    module = item.getparent(pytest.Module)
    if module is not None and SERVICE in module.stash:
        return module
    return None
