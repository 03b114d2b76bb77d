"""``deployments/ecsdeploy.toml`` parsed into frozen, typed environments and services.

The file is read and checked whole (every table, every key, every type) as soon as ``--env`` is given, so a
mistake ends the run before anything is deployed. ``${VAR}`` placeholders are filled only in the environment
that was chosen and in the services, so ``--env local`` never needs the production role's variable.

A placeholder is filled from, in this order: ``--var KEY=VALUE``, the process environment, the chosen
environment's ``vars`` table. ``${VAR:-fallback}`` gives a fallback, and ``$${`` writes a literal ``${``.

Every mistake is a :class:`~pytest_ecsdeploy.errors.ConfigError` whose message is one sentence naming the
file, the table and the key, and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .aws import BACKENDS as _BACKEND_REGISTRY
from .errors import ConfigError
from .forms import FORMS
from .tomlfile import choices, describe, read_toml, render_template

DEFAULT_CONFIG = Path("deployments") / "ecsdeploy.toml"
BACKENDS = tuple(_BACKEND_REGISTRY)
RUNNERS = ("auto", "simulated", "docker")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED", "NONE")
DEFAULT_REGION = "us-east-1"
DEFAULT_WAIT_TIMEOUT = 600.0


@dataclass(frozen=True)
class Key:
    """One key of a table: its type (``str``, ``int``, ``float``, ``bool``, ``list``, ``table``) and its meaning."""

    type: str
    help: str
    required: bool = False
    choices: tuple[str, ...] = ()
    form: str = ""  # the AWS-defined form its value (each item of a list) must have, a name of forms.FORMS
    empty_is_unset: bool = False  # "" means the key is not set (``${VAR:-}``), so it is not checked against the form


# The schema is the single source of the configuration reference in docs/configuration.md (a test compares them).
DEFAULTS_KEYS: dict[str, Key] = {
    "region": Key("str", "AWS region used by environments that name none.", form="region"),
    "wait_timeout": Key("float", "Seconds a rollout may take before it counts as failed (default 600)."),
    "scan_severity": Key(
        "str", "Lowest ECR scan severity that fails `ecr.image()` (default CRITICAL; NONE turns the gate off).",
        choices=SEVERITIES,
    ),
}
ENVIRONMENT_KEYS: dict[str, Key] = {
    "backend": Key("str", "Where the AWS API is: `aws`, `emulator` (embedded local AWS) or `localstack`.",
                   required=True, choices=BACKENDS),
    "cluster": Key("str", "ECS cluster name the services run in.", required=True, form="cluster"),
    "region": Key("str", "AWS region (default: `[defaults] region`, else us-east-1).", form="region"),
    "account_id": Key("str", "12-digit account the credentials must belong to; any other account stops the run "
                             "before the first write.", form="account id"),
    "role_arn": Key("str", "IAM role to assume for the deployment (session name "
                           "`pytest-ecsdeploy-<env>-<user>`, which CloudTrail shows).", form="role arn",
                    empty_is_unset=True),
    "profile": Key("str", "Named profile from the AWS config files (backend `aws`)."),
    "endpoint_url": Key("str", "Endpoint of the AWS API: a running `ecsdeploy-emulator` or LocalStack; "
                               "omitted for `emulator`, the embedded local AWS starts in-process.", form="url",
                        empty_is_unset=True),
    "wait_timeout": Key("float", "Seconds a rollout may take in this environment."),
    "vars": Key("table", "Values for `${VAR}` placeholders, used when neither `--var` nor the process "
                         "environment sets them."),
    "seed": Key("table", "What the embedded local AWS holds at start (backend `emulator` only): clusters, "
                         "repositories and their images, task definitions, services."),
    "runner": Key("str", "How the embedded local AWS runs tasks: `auto` (Docker when an engine answers), "
                         "`simulated` or `docker`.", choices=RUNNERS),
    "speed": Key("float", "Simulated seconds per wall second of the embedded local AWS started in-process (default "
                          "1): `20` runs its rollouts, bakes and waits twenty times faster; `wait_timeout` stays "
                          "wall seconds."),
}
SERVICE_KEYS: dict[str, Key] = {
    "repository": Key("str", "ECR repository of the service's image.", form="repository"),
    "task_definition": Key("str", "Task-definition template (JSON, `${VAR}` rendered), relative to the "
                                  "config file; omit to copy the revision the service runs now."),
    "containers": Key("list", "Containers whose image a deploy replaces; sidecars keep theirs (default: the "
                              "containers whose image is in `repository`).", form="container"),
    "health_url": Key("str", "Base URL that `smoke.http()` checks.", form="url", empty_is_unset=True),
    "test_url": Key("str", "Base URL of the service's test listener, for `smoke.http(traffic=\"test\")` "
                           "(default: found from the test listener rule of a BLUE_GREEN, LINEAR or CANARY "
                           "service, or from the deployment group's testTrafficRoute of a CODE_DEPLOY service).",
                  form="url", empty_is_unset=True),
    "service_name": Key("str", "ECS service name, when it differs from the table name.", form="service"),
    "cluster": Key("str", "ECS cluster, when it differs from the environment's.", form="cluster"),
    "scan_severity": Key("str", "Lowest ECR scan severity that fails `ecr.image()` for this service.",
                         choices=SEVERITIES),
    "codedeploy_application": Key("str", "CodeDeploy application of a CODE_DEPLOY service (with "
                                         "`codedeploy_deployment_group`; default: the one whose deployment group "
                                         "names the service)."),
    "codedeploy_deployment_group": Key("str", "CodeDeploy deployment group of a CODE_DEPLOY service (with "
                                              "`codedeploy_application`)."),
    "codedeploy_deployment_config": Key("str", "CodeDeploy deployment config for this service's deployments "
                                               "(default: the deployment group's)."),
    "codedeploy_hooks": Key("table", "AppSpec hooks of a CODE_DEPLOY service: lifecycle event -> Lambda function, "
                                     "e.g. `{ AfterAllowTestTraffic = \"web-smoke\" }` (BeforeInstall, "
                                     "AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic, AfterAllowTraffic)."),
}
TOP_LEVEL = ("defaults", "environments", "services")
#: The AppSpec hooks of an ECS deployment, in the order they run (AWS CodeDeploy doc
#: reference-appspec-file-structure-hooks).
CODEDEPLOY_HOOKS = ("BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic")

_TYPE_WORDS = {
    "str": "a string", "int": "an integer", "float": "a positive number", "bool": "true or false",
    "list": "a list of strings", "table": "a table",
}


@dataclass(frozen=True)
class Service:
    """A service to deploy, from ``[services.NAME]``.

    >>> service.name, service.service_name, service.containers
    ('web', 'web', ('app',))
    """

    name: str
    service_name: str
    repository: str | None = None
    task_definition: Path | None = None
    containers: tuple[str, ...] | None = None
    health_url: str | None = None
    test_url: str | None = None
    cluster: str | None = None
    scan_severity: str = "CRITICAL"
    codedeploy_application: str | None = None
    codedeploy_deployment_group: str | None = None
    codedeploy_deployment_config: str | None = None
    codedeploy_hooks: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Environment:
    """Where to deploy, from ``[environments.NAME]`` with defaults applied and placeholders filled.

    ``sources`` says where region, account and backend came from, for the report header.
    """

    name: str
    backend: str
    cluster: str
    region: str
    account_id: str | None = None
    role_arn: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT
    runner: str = "auto"
    speed: float = 1.0
    variables: Mapping[str, str] = field(default_factory=dict, repr=False)
    seed: Mapping[str, Any] | None = None
    sources: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Deployment:
    """The chosen environment and every service, resolved: what a run deploys with."""

    path: Path
    environment: Environment
    services: Mapping[str, Service]

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def service(self, name: str) -> Service:
        try:
            return self.services[name]
        except KeyError:
            raise ConfigError(
                f"{self.path}: service '{name}' is not in [services]; "
                f"{choices(name, self.services)}."
            ) from None


@dataclass(frozen=True)
class ConfigFile:
    """The checked, not yet resolved contents of an ecsdeploy.toml."""

    path: Path
    defaults: Mapping[str, Any]
    environments: Mapping[str, Mapping[str, Any]]
    services: Mapping[str, Mapping[str, Any]]

    def resolve(
        self,
        env_name: str,
        cli_vars: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Deployment:
        """Resolve ``env_name`` and every service, filling placeholders; raises ConfigError."""
        if env_name not in self.environments:
            raise ConfigError(
                f"'{env_name}' is not an environment in {self.path}; {choices(env_name, self.environments)}."
            )
        raw = self.environments[env_name]
        table = f"[environments.{env_name}]"
        own_vars = {k: str(v) for k, v in raw.get("vars", {}).items()}
        variables = Variables(cli_vars or {}, environ or {}, own_vars)

        def fill(value: Any, where: str) -> Any:
            if isinstance(value, str):
                return render_template(value, variables.lookup, f"{self.path}: {where}")
            if isinstance(value, list):
                return [fill(v, where) for v in value]
            if isinstance(value, dict):
                return {k: fill(v, f"{where}.{k}") for k, v in value.items()}
            return value

        env = {k: fill(v, f"{table} {k}") for k, v in raw.items() if k != "seed"}
        _check_choices(self.path, table, env, ENVIRONMENT_KEYS)
        sources: dict[str, str] = {"backend": f"{self.path.name} {table}"}
        if "region" in env:
            region, sources["region"] = env["region"], f"{self.path.name} {table}"
        elif "region" in self.defaults:
            region, sources["region"] = self.defaults["region"], f"{self.path.name} [defaults]"
        else:
            region, sources["region"] = DEFAULT_REGION, "built-in default"
        _check_forms(self.path, table, env, ENVIRONMENT_KEYS)
        account_id = env.get("account_id")
        sources["account"] = f"{self.path.name} {table}" if account_id else "not pinned"
        if env["backend"] != "emulator":
            for key in ("seed", "runner", "speed"):
                if key in raw:
                    raise ConfigError(
                        f"{self.path}: {table} {key}: only an environment with backend = \"emulator\" "
                        f"takes '{key}', this one has backend = \"{env['backend']}\"."
                    )
        elif "speed" in env and env.get("endpoint_url"):
            raise ConfigError(f"{self.path}: {table} speed: the emulator at endpoint_url runs at the speed it was "
                              f"started with (`ecsdeploy-emulator --speed`); remove speed or endpoint_url.")
        wait_timeout = float(env.get("wait_timeout", self.defaults.get("wait_timeout", DEFAULT_WAIT_TIMEOUT)))
        environment = Environment(
            name=env_name,
            backend=env["backend"],
            cluster=env["cluster"],
            region=region,
            account_id=account_id,
            role_arn=env.get("role_arn") or None,
            profile=env.get("profile") or None,
            endpoint_url=env.get("endpoint_url") or None,
            wait_timeout=wait_timeout,
            runner=env.get("runner", "auto"),
            speed=float(env.get("speed", 1.0)),
            variables=variables,
            seed=raw.get("seed"),
            sources=sources,
        )
        services = {
            name: self._service(name, {k: fill(v, f"[services.{name}] {k}") for k, v in svc.items()})
            for name, svc in self.services.items()
        }
        return Deployment(path=self.path, environment=environment, services=services)

    def _service(self, name: str, raw: Mapping[str, Any]) -> Service:
        _check_choices(self.path, f"[services.{name}]", raw, SERVICE_KEYS)
        _check_forms(self.path, f"[services.{name}]", raw, SERVICE_KEYS)
        expected = FORMS["service"](name)
        if "service_name" not in raw and expected is not None:
            raise ConfigError(f"{self.path}: [services.{name}] names the ECS service (it has no service_name key): "
                              f"expected {expected}, got '{name}'.")
        template = raw.get("task_definition")
        containers = raw.get("containers")
        codedeploy = [k for k in ("codedeploy_application", "codedeploy_deployment_group") if raw.get(k)]
        if len(codedeploy) == 1:
            raise ConfigError(f"{self.path}: [services.{name}] sets {codedeploy[0]} without "
                              f"{({'codedeploy_application', 'codedeploy_deployment_group'} - set(codedeploy)).pop()}; "
                              f"set both or neither.")
        hooks = raw.get("codedeploy_hooks") or {}
        for event, function in hooks.items():
            if event not in CODEDEPLOY_HOOKS:
                raise ConfigError(f"{self.path}: [services.{name}] codedeploy_hooks: '{event}' is not an AppSpec "
                                  f"hook of ECS; {choices(event, CODEDEPLOY_HOOKS, 'valid hooks are')}.")
            if not isinstance(function, str) or not function:
                raise ConfigError(f"{self.path}: [services.{name}] codedeploy_hooks {event}: expected the name or ARN "
                                  f"of a Lambda function, got {describe(function)}.")
        return Service(
            name=name,
            service_name=raw.get("service_name", name),
            repository=raw.get("repository"),
            task_definition=(self.path.parent / template) if template else None,
            containers=tuple(containers) if containers is not None else None,
            health_url=raw.get("health_url") or None,
            test_url=raw.get("test_url") or None,
            cluster=raw.get("cluster"),
            scan_severity=raw.get("scan_severity", self.defaults.get("scan_severity", "CRITICAL")),
            codedeploy_application=raw.get("codedeploy_application") or None,
            codedeploy_deployment_group=raw.get("codedeploy_deployment_group") or None,
            codedeploy_deployment_config=raw.get("codedeploy_deployment_config") or None,
            codedeploy_hooks=dict(hooks),
        )


class Variables(Mapping[str, str]):
    """The values ``${VAR}`` placeholders see: ``--var``, then the process environment, then the ``vars`` table.

    Its repr names no value, so a traceback that shows an Environment never shows a credential from the
    process environment.
    """

    def __init__(self, cli: Mapping[str, str], environ: Mapping[str, str], own: Mapping[str, str]) -> None:
        self._layers = (dict(cli), dict(environ), dict(own))

    def __getitem__(self, name: str) -> str:
        for layer in self._layers:
            if name in layer:
                return layer[name]
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter({name: None for layer in self._layers for name in layer})

    def __len__(self) -> int:
        return len({name for layer in self._layers for name in layer})

    def __repr__(self) -> str:
        return f"<Variables: {len(self)} names>"

    def lookup(self, name: str) -> str | None:
        return self.get(name)


def load_config(path: Path) -> ConfigFile:
    """Read and check ``path`` whole; raises ConfigError for a missing file, invalid TOML or a wrong key."""
    data = read_toml(path, missing="create it or pass --ecsdeploy-config PATH", kind="an ecsdeploy.toml file")
    for key in data:
        if key not in TOP_LEVEL:
            raise ConfigError(f"{path}: unknown table [{key}]; {choices(key, TOP_LEVEL, 'expected one of')}.")
    defaults = _table(path, data, "defaults", "[defaults]")
    _check_keys(path, "[defaults]", defaults, DEFAULTS_KEYS)
    environments = _table(path, data, "environments", "[environments]")
    if not environments:
        raise ConfigError(f"{path}: no [environments.NAME] table; define at least one environment.")
    for name, env in environments.items():
        table = f"[environments.{name}]"
        if not isinstance(env, dict):
            raise ConfigError(f"{path}: {table} must be a table, got {describe(env)}.")
        _check_keys(path, table, env, ENVIRONMENT_KEYS)
        if not math.isfinite(env.get("speed", 1.0)):  # a clock at infinite speed would end every wait at once
            raise ConfigError(f"{path}: {table} speed: expected a finite positive number, "
                              f"got {describe(env['speed'])}.")
        for var, value in env.get("vars", {}).items():
            if not isinstance(value, (str, int, float, bool)):
                raise ConfigError(f"{path}: {table} vars.{var}: expected a string, got {describe(value)}.")
    services = _table(path, data, "services", "[services]")
    for name, svc in services.items():
        table = f"[services.{name}]"
        if not isinstance(svc, dict):
            raise ConfigError(f"{path}: {table} must be a table, got {describe(svc)}.")
        _check_keys(path, table, svc, SERVICE_KEYS)
        if "containers" in svc and not svc["containers"]:
            raise ConfigError(f"{path}: {table} containers: expected at least one container name.")
    return ConfigFile(path=path, defaults=defaults, environments=environments, services=services)


def find_config(explicit: str | None, rootdir: Path, args: list[str]) -> Path:
    """The config file: ``--ecsdeploy-config``, else ``ecsdeploy.toml`` in a directory given on the command line,
    else ``deployments/ecsdeploy.toml`` under the rootdir."""
    if explicit:
        return Path(explicit)
    for arg in args:
        candidate = Path(arg.split("::")[0])
        folder = candidate if candidate.is_dir() else candidate.parent
        if (folder / "ecsdeploy.toml").is_file():
            return folder / "ecsdeploy.toml"
    return rootdir / DEFAULT_CONFIG


def _table(path: Path, data: Mapping[str, Any], key: str, label: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {label} must be a table, got {describe(value)}.")
    return value


def _check_keys(path: Path, table: str, values: Mapping[str, Any], schema: Mapping[str, Key]) -> None:
    for key, value in values.items():
        spec = schema.get(key)
        if spec is None:
            raise ConfigError(f"{path}: {table} has an unknown key '{key}'; {choices(key, schema, 'valid keys are')}.")
        if not _has_type(value, spec.type):
            raise ConfigError(f"{path}: {table} {key}: expected {_TYPE_WORDS[spec.type]}, got {describe(value)}.")
        if "${" not in str(value):  # a placeholder is checked once it is filled (_check_choices, _check_forms)
            _check_choices(path, table, {key: value}, schema)
            _check_forms(path, table, {key: value}, schema)
    for key, spec in schema.items():
        if spec.required and key not in values:
            raise ConfigError(f"{path}: {table} is missing the key '{key}' ({spec.help.rstrip('.')}).")


def _check_choices(path: Path, table: str, values: Mapping[str, Any], schema: Mapping[str, Key]) -> None:
    for key, value in values.items():
        spec = schema.get(key)
        if spec is not None and spec.choices and value not in spec.choices:
            raise ConfigError(f"{path}: {table} {key}: '{value}' is not one of {', '.join(spec.choices)}.")


def _check_forms(path: Path, table: str, values: Mapping[str, Any], schema: Mapping[str, Key]) -> None:
    """Every value whose form AWS defines (``Key.form``, checked by ``forms.py``) has it, else a ConfigError."""
    for key, value in values.items():
        spec = schema.get(key)
        if spec is None or not spec.form:
            continue
        for item in value if isinstance(value, list) else [value]:
            if item == "" and spec.empty_is_unset:
                continue
            expected = FORMS[spec.form](item)
            if expected is not None:
                raise ConfigError(f"{path}: {table} {key}: expected {expected}, got '{item}'.")


def _has_type(value: Any, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, dict)


def reference_markdown() -> str:
    """The key tables of docs/configuration.md, generated from the schema above (a test keeps them equal)."""
    parts = []
    for title, schema in (
        ("`[defaults]`", DEFAULTS_KEYS),
        ("`[environments.NAME]`", ENVIRONMENT_KEYS),
        ("`[services.NAME]`", SERVICE_KEYS),
    ):
        rows = ["| key | type | required | meaning |", "|---|---|---|---|"]
        for key, spec in schema.items():
            kind = _TYPE_WORDS[spec.type] + (f": {', '.join(spec.choices)}" if spec.choices else "")
            rows.append(f"| `{key}` | {kind} | {'yes' if spec.required else 'no'} | {spec.help} |")
        parts.append(f"### {title}\n\n" + "\n".join(rows))
    return "\n\n".join(parts) + "\n"
