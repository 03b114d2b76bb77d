"""The run's stateful hooks: :class:`EcsDeploySession`, registered by the plugin only when ``--env`` is given.

The session object holds the :class:`~pytest_ecsdeploy.run.Run` (configuration, options, record, clients), the
Octopus reporter when the run reports to Octopus, and the path the deployment record was written to. Its hooks
give scenario files their semantics:

- a scenario module (it has the ``ecs_service`` marker or asks for one of this plugin's fixtures) is bound to
  one service of ``ecsdeploy.toml`` at collection, and its steps run together, in file order;
- after a step fails (in setup or call), the module's later steps are skipped, pointing at the step;
- a deployment error is reported as one sentence, not a traceback;
- when a module's last step is torn down, Octopus hears how its service ended;
- with ``--junitxml``, each step carries the checks recorded while it ran as properties, and a failed step the
  last log lines of the tasks that failed in it as system-out (``junit.py``);
- at the end the record is written (``--ecsdeploy-report``), summarised, and handed to Octopus.

With pytest-xdist (``parallel.py`` keeps each scenario on one worker) a worker writes none of these: when a
scenario ends, its service's record rides to the controller on the teardown report of its last step, and the
controller merges it, tells Octopus, and writes the record with the services in collection order, as a run
without workers does. A worker's records also go with its ``workeroutput`` when it stops, for a scenario whose
last step never reported.

The stash keys live here too: :data:`SESSION` on the config (fixtures reach the run through it),
:data:`SERVICE` and :data:`FAILED_STEP` on a scenario :class:`pytest.Module`.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from .aws import mask_account
from .cancel import DEFAULT_GRACE
from .config import Environment
from .context import RunOptions
from .errors import ConfigError, EcsDeployError
from .junit import FAILED_LOGS, check_property, failed_logs_text, write_failed_logs
from .options import Setting, get_setting, parse_image_tags, parse_vars
from .parallel import worker_endpoint
from .redact import clean_block, clean_line, clean_report
from .report.octopus import OctopusReporter, ServiceMessages, octopus_signal
from .report.record import ServiceRecord, mid_deployment
from .report.summary import summary_lines
from .run import Run
from .terminal import write_lines, write_service_messages

PLUGIN_NAME = "ecsdeploy-session"  # the session object's name in the plugin manager
SERVICE = pytest.StashKey[str]()  # on a scenario Module: the service it deploys
FAILED_STEP = pytest.StashKey[str]()  # on a scenario Module: the first step that failed
FAILURE = pytest.StashKey[str]()  # on a scenario Module: why that step failed, one line
WORKER_RECORDS = "ecsdeploy_records"  # key in pytest-xdist's workeroutput
FINISHED = pytest.StashKey[dict[str, Any]]()  # on a worker's last step of a scenario: what goes to the controller
REPORTED_SERVICE = "ecsdeploy_service"  # the attribute of that step's teardown report carrying it

FIXTURES_MODULE = "pytest_ecsdeploy.fixtures"
DEPLOY_FIXTURES = frozenset(
    {"deploy_env", "aws", "ecsdeploy_context", "ecr", "task_definition", "ecs_service", "deploy", "smoke",
     "ecs_task"}
)
PLAN_NOT_RUN = "plan: not run"  # how --plan skips a step that needs the writes it does not make
NO_ENV_REASON = "deployment scenario: runs only with --env NAME (see pytest --help, ecsdeploy options)"


class EcsDeploySession:
    """One run's state and hooks; ``EcsDeploySession.from_config(config, env)`` loads the run.

    Example::

        session = EcsDeploySession.from_config(config, get_setting(config, "ecsdeploy_env"))
        config.stash[SESSION] = session
        config.pluginmanager.register(session, PLUGIN_NAME)

    ``run`` is the run; ``env_setting`` the environment's name and where it came from (``--env``, ini key,
    variable); ``octopus`` the reporter, or None when the run does not report to Octopus (always None on a
    pytest-xdist worker: the controller reports); ``report_path`` the deployment record's file once written.
    """

    def __init__(self, run: Run, env_setting: Setting, octopus: OctopusReporter | None) -> None:
        self.run = run
        self.env_setting = env_setting
        self.octopus = octopus
        self.report_path: Path | None = None
        self._reported: set[str] = set()  # services whose Octopus variables were written
        self._not_run: list[str] = []  # --plan: the steps skipped because they need the writes
        self._restore_signals: Any = None
        self._config: pytest.Config | None = None
        self.is_worker = False  # a pytest-xdist worker: its controller reports
        self._order: dict[str, int] = {}  # service -> its scenario's place in the collection (from the workers)
        self._checks_reported: dict[str, int] = {}  # service -> its checks already given to a step as properties
        self._logs_reported: dict[str, int] = {}  # service -> its failed tasks already in a step's JUnit entry

    @classmethod
    def from_config(cls, config: pytest.Config, env: Setting) -> EcsDeploySession:
        """Load the run named by ``env`` (``--env``, ini key or variable) with the other ecsdeploy settings.

        Raises :class:`~pytest_ecsdeploy.errors.ConfigError` (or another EcsDeployError) for a bad setting or
        configuration file, and when an environment with ``backend = "aws"`` was not named with ``--env``.
        """
        session = cls(_load_run(config, env), env, _octopus_reporter(config))
        session.is_worker = hasattr(config, "workerinput")
        return session

    # ---- hooks -------------------------------------------------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """SIGINT and SIGTERM become a controlled cancel (``cancel.py``) for as long as the run lives."""
        self._config = session.config
        cancellation = self.run.cancellation
        cancellation.notice = self._notice
        cancellation.last_words.append(self._last_words)
        self._restore_signals = cancellation.install()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._restore_signals is not None:
            self._restore_signals()
            self._restore_signals = None
        self.run.close()

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        env, opts = self.run.environment, self.run.options
        account = f"{mask_account(env.account_id)} (from {env.sources['account']})" if env.account_id else "not pinned"
        lines = [
            f"ecsdeploy: env={env.name} (from {self.env_setting.source}) backend={env.backend}{_runner(env)} "
            f"region={env.region} (from {env.sources['region']}) account={account}",
            f"ecsdeploy: config={self.run.deployment.path} image-tag={opts.tags_label()} "
            f"plan={'yes' if opts.plan else 'no'} rollback={'on' if opts.rollback else 'off'} "
            f"wait-timeout={opts.wait_timeout or env.wait_timeout:g}s",
        ]
        if self.octopus is not None:
            lines.append(f"ecsdeploy: Octopus service messages on ({_octopus_source(config)})")
        return [clean_line(line) for line in lines]

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Generator[None, pytest.CollectReport, Any]:
        report = yield
        if isinstance(collector, pytest.Module) and report.passed and is_scenario(collector, report.result):
            collector.stash[SERVICE] = _bind_service(collector, self.run)
        return report

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
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
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        module = _scenario_module(item)
        if module is not None and FAILED_STEP in module.stash:
            pytest.skip(f"an earlier step failed: {module.stash[FAILED_STEP]}")
        record = self.run.record.services.get(module.stash[SERVICE]) if module is not None else None
        if self.run.options.plan and record is not None and record.outcome == "planned":
            self._not_run.append(item.name)
            pytest.skip(f"{PLAN_NOT_RUN}: it comes after the rollout this plan did not make")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        module = _scenario_module(item)
        if module is not None:
            self._checks_as_properties(item, module.stash[SERVICE])
        report = yield
        if report.when == "teardown" and FINISHED in item.stash:
            setattr(report, REPORTED_SERVICE, item.stash[FINISHED])  # serialised with the report to the controller
        if module is None:
            return report
        if report.skipped and FAILED_STEP in module.stash and report.when == "setup":
            # Point the skip at the step, not at this plugin.
            path, lineno, _ = item.reportinfo()
            reason = f"Skipped: an earlier step failed: {module.stash[FAILED_STEP]}"
            report.longrepr = (str(path), (lineno or 0) + 1, reason)
        if report.skipped and report.when == "setup" and PLAN_NOT_RUN in str(report.longrepr) and (
                item.name not in self._not_run):
            self._not_run.append(item.name)  # the smoke fixture's skip
        if not report.failed:
            return clean_report(report)
        record = self.run.record.services.get(module.stash[SERVICE])
        if (self.run.options.plan and report.when == "call" and record is not None and _planned_write(record)
                and call.excinfo is not None and not isinstance(call.excinfo.value, EcsDeployError)):
            # A user's own step that needs what the plan did not write (a registered revision, a rollout).
            path, lineno, _ = item.reportinfo()
            cause = _one_line_failure(call.excinfo)
            report.outcome = "skipped"
            report.longrepr = (str(path), (lineno or 0) + 1, f"Skipped: {PLAN_NOT_RUN}: it needs the writes this "
                                                              f"plan did not make ({cause})")
            self._not_run.append(item.name)
            return clean_report(report)
        if report.when in ("setup", "call"):
            module.stash.setdefault(FAILED_STEP, item.name)
            if FAILURE not in module.stash and call.excinfo is not None:
                module.stash[FAILURE] = _one_line_failure(call.excinfo)
        self._attach_failed_logs(report, module.stash[SERVICE])
        if call.excinfo is not None and isinstance(call.excinfo.value, EcsDeployError):
            # A deployment error is a sentence for the user, not a traceback.
            report.longrepr = f"{type(call.excinfo.value).__name__}: {clean_block(str(call.excinfo.value))}"
        return clean_report(report)

    def _checks_as_properties(self, item: pytest.Item, service: str) -> None:
        """The checks recorded since the last report of this service, as JUnit properties of the step
        (``user_properties``, which ``--junitxml`` writes as ``<property>`` elements of its testcase)."""
        record = self.run.record.services.get(service)
        if record is None:
            return
        shown = self._checks_reported.get(service, 0)
        for check in record.checks.items[shown:]:
            item.user_properties.append(check_property(check))
        self._checks_reported[service] = len(record.checks.items)

    def _attach_failed_logs(self, report: pytest.TestReport, service: str) -> None:
        """Give a failed step's report the logs of the tasks that failed since the last failed step."""
        record = self.run.record.services.get(service)
        if record is None:
            return
        shown = self._logs_reported.get(service, 0)
        if len(record.failed_tasks) > shown:
            setattr(report, FAILED_LOGS, failed_logs_text(record.failed_tasks[shown:]))
            self._logs_reported[service] = len(record.failed_tasks)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
        yield
        if self.run.cancellation.reason is not None:  # a signal that came during a rollback: stop after this step
            item.session.shouldstop = f"ecsdeploy: {self.run.cancellation.reason}"
        module = _scenario_module(item)
        if module is None or (nextitem is not None and _scenario_module(nextitem) is module):
            return
        record = self.run.record.services.get(module.stash[SERVICE])
        if record is None:
            return
        self._settle(record, module.stash.get(FAILURE, None))
        if self.is_worker:
            modules = _scenario_modules(item)
            item.stash[FINISHED] = {"record": record.to_dict(), "index": modules.index(module),
                                    "scenarios": len(modules)}
        elif self.octopus is not None:
            done = self._finished_count()
            self.octopus.service_finished(record, done, max(done, _scenario_count(item)))
            self._reported.add(record.service)

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A failed step's task logs go into its JUnit testcase (after ``--junitxml`` made it: trylast); on a
        pytest-xdist controller, the record of a scenario a worker finished is merged, and Octopus told."""
        if self._config is not None and report.failed:
            write_failed_logs(self._config, report)
        finished = getattr(report, REPORTED_SERVICE, None)
        if self.is_worker or not isinstance(finished, dict):
            return
        record = ServiceRecord.from_dict(finished["record"])
        self.run.record.services[record.service] = record
        self._order[record.service] = int(finished["index"])
        if self.octopus is not None:
            done = self._finished_count()
            self.octopus.service_finished(record, done, max(done, int(finished["scenarios"])))
            self._reported.add(record.service)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the deployment record, then (after the JUnit file is written) tell Octopus about both."""
        for record in self.run.record.services.values():
            self._settle(record, None)
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:  # a pytest-xdist worker: the controller writes the record and reports
            workeroutput[WORKER_RECORDS] = [record.to_dict() for record in self.run.record.services.values()]
            return
        if self._order:  # records merged from workers, in the order they finished: put them in collection order
            services = self.run.record.services
            names = sorted(services, key=lambda name: self._order.get(name, len(self._order)))
            self.run.record.services = {name: services[name] for name in names}
        report = get_setting(session.config, "ecsdeploy_report").value
        if report:
            self.report_path = self.run.record.write(Path(report))  # said in the terminal summary, after this hook
        if self.octopus is not None:
            total = len(self.run.record.services)
            for record in self.run.record.services.values():
                if record.service not in self._reported:  # a cancelled run skips the teardown hook that reports it
                    self.octopus.service_finished(record, self._finished_count(), total)
                    self._reported.add(record.service)
            junit = session.config.getoption("xmlpath", None)
            self.octopus.run_finished(
                self.run.record, self.report_path, Path(junit) if junit else None, failed=exitstatus != 0
            )

    def pytest_terminal_summary(self, terminalreporter: Any, config: pytest.Config) -> None:
        if not self.run.record.services:
            return
        terminalreporter.write_sep("=", "ecsdeploy summary")
        for line in summary_lines(self.run.record):
            terminalreporter.write_line(clean_block(line))
        if self._not_run:
            terminalreporter.write_line(f"{PLAN_NOT_RUN}: {len(self._not_run)} step(s) need the writes this plan did "
                                        f"not make: {', '.join(self._not_run)}")
        if self.report_path is not None:
            terminalreporter.write_line(f"deployment record written to {self.report_path}")

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """pytest-xdist: merge a finished worker's service records that no teardown report brought."""
        records = getattr(node, "workeroutput", {}).get(WORKER_RECORDS)
        if not records:
            return
        for data in records:
            record = ServiceRecord.from_dict(data)
            if record.service in self._order:
                continue
            self.run.record.services[record.service] = record
            if self.octopus is not None:
                done = self._finished_count()
                self.octopus.service_finished(record, done, max(done, len(self.run.record.services)))

    def _settle(self, record: ServiceRecord, failure: str | None) -> None:
        """Give a service that is still ``pending`` as its scenario ends one of the documented outcomes: cancelled
        (the run was stopped first), failed (a step failed before the rollout: ``failure`` says why), or unchanged
        (no step changed the service)."""
        if record.outcome != "pending":
            return
        cancelled = self.run.cancellation.reason
        if cancelled is not None:
            record.set_outcome("cancelled", f"{cancelled} before the service was changed; nothing to undo")
        elif self.run.options.plan and failure is None and _planned_write(record):
            record.set_outcome("planned", "the plan's writes are listed in its checks")
        elif failure is not None:
            record.set_outcome("failed", f"{failure}; the service was not changed by this run")
        else:
            record.set_outcome("unchanged", "no step of the scenario changed the service")

    def _notice(self, message: str) -> None:
        if self._config is not None:
            write_lines(self._config, [f"ecsdeploy: {message}"], yellow=True)

    def _last_words(self, signal_name: str) -> None:
        """What a second signal leaves before the process ends at once: one sentence per service that may be
        mid-deployment (to standard error), the record, and the Octopus variables and result message; written with
        plain ``os.write``, as the terminal writer may be in the middle of a line."""
        sentences = []
        for record in self.run.record.services.values():
            watching = record.outcome == "pending" and record.deployment_id is not None
            rolling_back = record.rollback is not None and record.rollback.outcome != "completed"
            if watching or rolling_back:
                sentence = mid_deployment(record)
                record.set_outcome("cancelled", f"{signal_name} received again: the run ended at once; {sentence}")
                sentences.append(f"ecsdeploy: {signal_name} received again, the run ends now: {sentence}")
            elif record.outcome == "pending":
                record.set_outcome("cancelled", f"{signal_name} received again before the service was changed; "
                                                f"nothing to undo")
        for line in sentences:
            os.write(2, f"{line}\n".encode())
        if self._config is None or hasattr(self._config, "workerinput"):
            return
        report = get_setting(self._config, "ecsdeploy_report").value
        if report:
            self.run.record.write(Path(report))
        if self.octopus is not None:
            reporter = OctopusReporter(ServiceMessages(write=_write_stdout))
            for record in self.run.record.services.values():
                reporter.service_finished(record, self._finished_count(), len(self.run.record.services))
            reporter.run_finished(self.run.record, Path(report) if report else None, None, failed=True)

    def _finished_count(self) -> int:
        return len([r for r in self.run.record.services.values() if r.outcome != "pending"])


SESSION = pytest.StashKey[EcsDeploySession]()  # on the config, when --env is given


# ---- scenario modules --------------------------------------------------------------------------------------------


def is_scenario(module: pytest.Module, result: list[Any]) -> bool:
    """A scenario has the ecs_service marker or asks for one of this plugin's fixtures.

    ``result`` is the module's collected nodes. A fixture only counts when the name resolves to ours: a test
    suite with its own ``aws`` fixture (a moto one, say) is not a deployment.
    """
    if any(m.name == "ecs_service" for m in module.own_markers):
        return True
    return any(_uses_our_fixture(node) for node in result)


def _scenario_module(item: pytest.Item) -> pytest.Module | None:
    """The scenario module ``item`` is a step of, or None when it is no step of a bound scenario."""
    module = item.getparent(pytest.Module)
    if module is not None and SERVICE in module.stash:
        return module
    return None


def _ecs_service_marker(name: str) -> str:
    """The marker's signature: ``pytest.mark.ecs_service("web")``; a wrong argument is a TypeError."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"the service name must be a non-empty string, got {name!r}")
    return name


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
        raise pytest.UsageError(clean_line(f"{module.path}: {exc}")) from None
    return name


def _planned_write(record: ServiceRecord) -> bool:
    """A write of this service was planned (and not made): a rollout, a registration, a task, a push."""
    return record.outcome == "planned" or any(
        c.result == "skipped" and c.detail.startswith("plan: would") for c in record.checks.items)


def _write_stdout(line: str) -> None:
    os.write(1, f"{line}\n".encode())


def _one_line_failure(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """A failed step's cause on one line: a deployment error's sentence, pytest.fail's message, else the
    exception's last line (``AssertionError: assert 1 == 2``)."""
    value = excinfo.value
    if isinstance(value, EcsDeployError):
        text = f"{type(value).__name__}: {value}"
    elif isinstance(value, pytest.fail.Exception):
        text = value.msg or "failed"
    else:
        text = excinfo.exconly()
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:299] + "…"


def _scenario_count(item: pytest.Item) -> int:
    return len(_scenario_modules(item))


def _scenario_modules(item: pytest.Item) -> list[pytest.Module]:
    """The session's scenario modules, in collection order."""
    return list(dict.fromkeys(m for m in (_scenario_module(i) for i in item.session.items) if m is not None))


# ---- building the session ----------------------------------------------------------------------------------------


def _load_run(config: pytest.Config, env: Setting) -> Run:
    variables = parse_vars(get_setting(config, "ecsdeploy_vars").value, "--var")
    tags = get_setting(config, "ecsdeploy_image_tag")
    image_tag, image_tags = parse_image_tags(tags.value, tags.source, None)
    log_lines = get_setting(config, "ecsdeploy_failed_log_lines").value
    options = RunOptions(
        image_tag=image_tag,
        image_tags=image_tags,
        plan=bool(get_setting(config, "ecsdeploy_plan").value),
        rollback=not get_setting(config, "ecsdeploy_no_rollback").value,
        wait_timeout=get_setting(config, "ecsdeploy_wait_timeout").value,
        cancel_grace=get_setting(config, "ecsdeploy_cancel_grace").value or DEFAULT_GRACE,
        failed_log_lines=RunOptions.failed_log_lines if log_lines is None else log_lines,
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
    parse_image_tags(tags.value, tags.source, run.deployment.services)  # now that the services are known
    run.local_endpoint = worker_endpoint(config)  # a pytest-xdist worker uses its controller's local AWS
    if run.environment.backend == "aws" and env.source != "--env":
        raise ConfigError(
            f"environment '{env.value}' deploys to real AWS, so it must be named with --env on the command line, "
            f"not through {env.source}."
        )
    return run


def _octopus_reporter(config: pytest.Config) -> OctopusReporter | None:
    if hasattr(config, "workerinput"):
        return None  # the controller reports; workers have no stdout of their own
    if not (get_setting(config, "ecsdeploy_octopus").value or octopus_signal(os.environ)):
        return None
    return OctopusReporter(ServiceMessages(write=lambda line: write_service_messages(config, [line])))


def _runner(env: Environment) -> str:
    """`` runner=docker (auto: a Docker engine answers)`` for an embedded local AWS (the check its start makes
    too), then `` speed=20`` when its clock is not wall time; "" for any other backend, and for an emulator at an
    endpoint, which chose its runner and speed itself."""
    if env.backend != "emulator" or env.endpoint_url:
        return ""
    from .emulator.runners.docker import resolve_runner

    runner = resolve_runner(env.runner)
    speed = f" speed={env.speed:g}" if env.speed != 1 else ""
    if env.runner != "auto":
        return f" runner={runner}{speed}"
    return f" runner={runner} (auto: {'a' if runner == 'docker' else 'no'} Docker engine answers){speed}"


def _octopus_source(config: pytest.Config) -> str:
    setting = get_setting(config, "ecsdeploy_octopus")
    return setting.source if setting.value else f"detected: {octopus_signal(os.environ)}"
