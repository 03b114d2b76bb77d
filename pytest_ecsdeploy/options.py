"""The command-line options, their ini keys and environment variables, resolved in one place.

Each setting has one name in three forms: ``--image-tag``, ini key ``ecsdeploy_image_tag``, environment variable
``ECSDEPLOY_IMAGE_TAG``. The command line wins, then the environment variable, then the ini key. The resolved
value carries where it came from, for the report header.

``--env`` is special: an environment whose backend is ``aws`` must be named on the command line. The ini key and
``ECSDEPLOY_ENV`` may select only local backends (``emulator``, ``localstack``), so a forgotten variable in a shell
or a line in pytest.ini can never deploy to a real account.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .arns import is_tag
from .errors import ConfigError
from .redact import clean_line
from .tomlfile import closest


@dataclass(frozen=True)
class Option:
    flag: str
    dest: str
    help: str
    kind: str = "str"  # str, bool, float, int, list, words (repeatable; its variable and ini key are split on blanks)
    metavar: str | None = None

    @property
    def ini(self) -> str:
        return "ecsdeploy_" + self.dest.removeprefix("ecsdeploy_")

    @property
    def env(self) -> str:
        return self.ini.upper()


OPTIONS: tuple[Option, ...] = (
    Option("--env", "ecsdeploy_env", "Environment to deploy to, a table of [environments] in ecsdeploy.toml. "
           "Without it, deployment scenarios are skipped.", metavar="NAME"),
    Option("--image-tag", "ecsdeploy_image_tag", "Image tag to deploy (for example the Octopus release number): "
           "TAG for every service, or SERVICE=TAG, repeatable, for each its own; pinned to its digest before "
           "anything is registered.", kind="words", metavar="[SERVICE=]TAG"),
    Option("--var", "ecsdeploy_vars", "Value for a ${KEY} placeholder in ecsdeploy.toml and task-definition "
           "templates; repeatable. Wins over the process environment.", kind="list", metavar="KEY=VALUE"),
    Option("--plan", "ecsdeploy_plan", "Do every read and check, print what each write would do (task-definition "
           "diff, service change) and change nothing; smoke steps are skipped.", kind="bool"),
    Option("--no-rollback", "ecsdeploy_no_rollback", "Leave a failed service as it is instead of returning it to "
           "the revision it ran before.", kind="bool"),
    Option("--wait-timeout", "ecsdeploy_wait_timeout", "Seconds a rollout may take before it counts as failed "
           "(default: wait_timeout in ecsdeploy.toml, else 600).", kind="float", metavar="SECONDS"),
    Option("--cancel-grace", "ecsdeploy_cancel_grace", "Seconds a run stopped by SIGINT, SIGTERM or a step "
           "time-out waits for the rollback to the revision that ran before (default 120); a second signal ends "
           "the run at once.", kind="float", metavar="SECONDS"),
    Option("--failed-log-lines", "ecsdeploy_failed_log_lines", "How many of the last lines each container of a "
           "failed task wrote to CloudWatch Logs to show, record and report (default 20; 0 reads none).",
           kind="int", metavar="N"),
    Option("--ecsdeploy-config", "ecsdeploy_config", "Path of the configuration file (default: ecsdeploy.toml in a "
           "directory given on the command line, else deployments/ecsdeploy.toml).", metavar="PATH"),
    Option("--ecsdeploy-report", "ecsdeploy_report", "Write the deployment record (JSON: images, revisions, "
           "checks, events, timings, outcome, rollback) to PATH.", metavar="PATH"),
    Option("--octopus", "ecsdeploy_octopus", "Write Octopus Deploy service messages (output variables, "
           "artifacts, progress) even when Octopus is not detected.", kind="bool"),
)
BY_DEST = {o.dest: o for o in OPTIONS}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Setting:
    value: Any
    source: str  # "--env", "ECSDEPLOY_ENV", "ini ecsdeploy_env" or "default"


def add_options(parser: Any) -> None:
    """Register every option and ini key on pytest's parser."""
    group = parser.getgroup("ecsdeploy", "deployments to Amazon ECS (pytest-ecsdeploy)")
    for opt in OPTIONS:
        if opt.kind == "bool":
            group.addoption(opt.flag, action="store_true", dest=opt.dest, default=None, help=opt.help)
            parser.addini(opt.ini, type="bool", default=None, help=opt.help)
        elif opt.kind in ("list", "words"):
            group.addoption(opt.flag, action="append", dest=opt.dest, default=None, metavar=opt.metavar,
                            help=opt.help)
            parser.addini(opt.ini, type="linelist", default=None, help=opt.help)
        else:
            group.addoption(opt.flag, action="store", dest=opt.dest, default=None, metavar=opt.metavar,
                            help=opt.help)
            parser.addini(opt.ini, type="string", default=None, help=opt.help)


def get_setting(config: Any, dest: str, environ: Mapping[str, str] | None = None) -> Setting:
    """The value of one setting and where it came from: command line, environment variable, ini key, default."""
    opt = BY_DEST[dest]
    environ = os.environ if environ is None else environ
    value = config.getoption(dest)
    if value is not None:
        return Setting(_convert(opt, value, opt.flag), opt.flag)
    if opt.env in environ and opt.kind == "words":
        return Setting(environ[opt.env].split(), opt.env)
    if opt.env in environ and opt.kind != "list":
        return Setting(_convert(opt, environ[opt.env], opt.env), opt.env)
    ini_value = config.getini(opt.ini)
    if ini_value not in (None, [], ""):
        if opt.kind == "words":
            return Setting([word for line in ini_value for word in str(line).split()], f"ini {opt.ini}")
        return Setting(_convert(opt, ini_value, f"ini {opt.ini}"), f"ini {opt.ini}")
    return Setting([] if opt.kind in ("list", "words") else (False if opt.kind == "bool" else None), "default")


def parse_vars(items: list[str], source: str) -> dict[str, str]:
    """``["A=1", "B=x=y"]`` -> ``{"A": "1", "B": "x=y"}``; a malformed item is a ConfigError."""
    result: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{source} expects KEY=VALUE, got '{item}'.")
        result[key.strip()] = value
    return result


def _shown(value: str) -> str:
    """``value`` quoted for an error message, masked and with its line breaks escaped: a value given on the command
    line never reaches the terminal or Octopus as it was given (a forged ``##octopus`` line)."""
    return clean_line(repr(value))


def parse_image_tags(items: list[str], source: str, services: Iterable[str] | None
                     ) -> tuple[str | None, dict[str, str]]:
    """``--image-tag`` values -> (the tag for every service, {service: its own tag}).

    ``["1.4.2"]`` -> ``("1.4.2", {})``; ``["web=1.4.2", "api=2.0.1"]`` -> ``(None, {"web": "1.4.2", "api":
    "2.0.1"})``; a bare tag and ``SERVICE=TAG`` items together: the bare one is for the services not named.
    ``services`` are the names of ``[services.NAME]`` (None: not checked). A ConfigError, one sentence, for an
    empty or malformed item, a service that is not configured, a service or a bare tag given twice, or a tag
    Docker would refuse.
    """
    known = list(services) if services is not None else None
    bare: str | None = None
    own: dict[str, str] = {}
    for item in items:
        shown = _shown(item)
        if not item.strip():
            raise ConfigError(f"{source} expects a value, got an empty string.")
        name, sep, tag = item.partition("=") if "=" in item else ("", "", item)
        name, tag = name.strip(), tag.strip()
        if sep and not name:
            raise ConfigError(f"{source} expects TAG or SERVICE=TAG, got {shown} (no service before '=').")
        if not is_tag(tag):
            raise ConfigError(f"{source} expects TAG or SERVICE=TAG, got {shown}: {_shown(tag)} is not a valid "
                              f"image tag (letters, digits, _ . -, up to 128, not starting with . or -).")
        if not sep:
            if bare is not None and bare != tag:
                raise ConfigError(f"{source} was given two tags for every service ({_shown(bare)} and {_shown(tag)}); "
                                  f"give one, or SERVICE=TAG for each service.")
            bare = tag
            continue
        if known is not None and name not in known:
            hint = closest(name, known)
            where = f"did you mean '{hint}'?" if hint else f"its services: {', '.join(known) or 'none'}."
            raise ConfigError(f"{source} names service {_shown(name)}, which is not in the configuration; {where}")
        if name in own and own[name] != tag:
            raise ConfigError(f"{source} gives service {_shown(name)} two tags ({_shown(own[name])} and "
                              f"{_shown(tag)}); give one.")
        own[name] = tag
    return bare, own


def _convert(opt: Option, value: Any, source: str) -> Any:
    if opt.kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(f"{source} expects true or false, got '{value}'.")
    if opt.kind == "float":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{source} expects a number of seconds, got '{value}'.") from None
        if not number > 0:
            raise ConfigError(f"{source} expects a positive number of seconds, got '{value}'.")
        return number
    if opt.kind == "int":
        text = str(value).strip()
        if not text.isdigit():
            raise ConfigError(f"{source} expects a whole number of 0 or more, got '{value}'.")
        return int(text)
    if opt.kind in ("list", "words"):
        return list(value)
    text = str(value).strip()
    if not text:
        raise ConfigError(f"{source} expects a value, got an empty string.")
    return text
