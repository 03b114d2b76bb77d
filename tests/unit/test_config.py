"""ecsdeploy.toml parsing: resolution, placeholders, and one clear sentence for every mistake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_ecsdeploy import emulator
from pytest_ecsdeploy.config import (
    DEFAULTS_KEYS,
    ENVIRONMENT_KEYS,
    SERVICE_KEYS,
    find_config,
    load_config,
    render_template,
)
from pytest_ecsdeploy.context import RunOptions
from pytest_ecsdeploy.errors import ConfigError
from pytest_ecsdeploy.run import Run

GOOD = """
[defaults]
region = "eu-west-1"
wait_timeout = 300

[environments.local]
backend = "emulator"
cluster = "local"
vars = { WEB_URL = "http://127.0.0.1:8080" }

[environments.prod]
backend = "aws"
cluster = "prod"
region = "eu-central-1"
account_id = "111122223333"
role_arn = "${ROLE_ARN}"

[services.web]
repository = "web"
task_definition = "web/taskdef.json"
containers = ["app"]
health_url = "${WEB_URL}"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ecsdeploy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_resolves_environment_with_defaults_and_sources(tmp_path: Path) -> None:
    deployment = load_config(write(tmp_path, GOOD)).resolve("local", {}, {})
    env = deployment.environment
    assert (env.name, env.backend, env.cluster, env.region, env.wait_timeout) == (
        "local", "emulator", "local", "eu-west-1", 300.0,
    )
    assert env.sources["region"] == "ecsdeploy.toml [defaults]"
    assert env.sources["account"] == "not pinned"
    web = deployment.service("web")
    assert web.service_name == "web"
    assert web.containers == ("app",)
    assert web.task_definition == tmp_path / "web" / "taskdef.json"
    assert web.health_url == "http://127.0.0.1:8080"


def test_only_the_chosen_environment_needs_its_variables(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    config.resolve("local", {}, {})  # prod's ${ROLE_ARN} is not needed
    with pytest.raises(ConfigError) as exc:
        config.resolve("prod", {}, {"WEB_URL": "https://web"})
    assert str(exc.value) == (
        f"{tmp_path / 'ecsdeploy.toml'}: [environments.prod] role_arn: variable ${{ROLE_ARN}} is not set; "
        "pass --var ROLE_ARN=VALUE or set it in the environment."
    )


def test_placeholder_precedence_cli_then_process_then_environment_vars(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.resolve("local", {}, {}).service("web").health_url == "http://127.0.0.1:8080"
    from_env = config.resolve("local", {}, {"WEB_URL": "http://from-env"})
    assert from_env.service("web").health_url == "http://from-env"
    from_cli = config.resolve("local", {"WEB_URL": "http://from-cli"}, {"WEB_URL": "http://from-env"})
    assert from_cli.service("web").health_url == "http://from-cli"
    prod = config.resolve("prod", {"ROLE_ARN": "arn:aws:iam::111122223333:role/deploy"}, {"WEB_URL": "https://x.example"})
    assert prod.environment.role_arn == "arn:aws:iam::111122223333:role/deploy"
    assert prod.environment.region == "eu-central-1"
    assert prod.environment.sources["account"] == "ecsdeploy.toml [environments.prod]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a-${X}-b", "a-1-b"),
        ("${X}${Y}", "12"),
        ("$${X}", "${X}"),
        ("$${X} and ${X}", "${X} and 1"),
        ("${MISSING:-fallback}", "fallback"),
        ("${MISSING:-}", ""),
        ("${X:-fallback}", "1"),
        ("no placeholders, $ and } alone", "no placeholders, $ and } alone"),
    ],
)
def test_render_template(text: str, expected: str) -> None:
    assert render_template(text, {"X": "1", "Y": "2"}, "t") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${", "t: '${' is not closed by '}'; write '$${' for a literal '${'."),
        ("${1X}", "t: '${1X}' is not a variable name (letters, digits and _)."),
        ("${A-B}", "t: '${A-B}' is not a variable name (letters, digits and _)."),
        ("${NOPE}", "t: variable ${NOPE} is not set; pass --var NOPE=VALUE or set it in the environment."),
    ],
)
def test_render_template_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        render_template(text, {}, "t")
    assert str(exc.value) == message


ENV = '[environments.local]\nbackend = "emulator"\ncluster = "local"\n'

BAD_CONFIGS = [
    # (name, file text, env to resolve or None, message after "<path>: " or the whole message with {path})
    ("invalid toml", 'backend = "emulator\n', None,
     "{path} is not valid TOML: Illegal character '\\n' (at line 1, column 20)."),
    ("unknown top-level table", ENV + "[service.web]\n", None,
     "{path}: unknown table [service]; did you mean 'services'? (expected one of: defaults, environments, services)."),
    ("no environments", '[defaults]\nregion = "us-east-1"\n', None,
     "{path}: no [environments.NAME] table; define at least one environment."),
    ("environments not a table", "environments = 3\n", None,
     "{path}: [environments] must be a table, got 3 (an integer)."),
    ("environment not a table", "[environments]\nlocal = 'x'\n", None,
     "{path}: [environments.local] must be a table, got 'x' (a string)."),
    ("unknown environment key with suggestion", ENV + 'regoin = "us-east-1"\n', None,
     "{path}: [environments.local] has an unknown key 'regoin'; did you mean 'region'? (valid keys are: "
     + ", ".join(sorted(ENVIRONMENT_KEYS)) + ")."),
    ("unknown key without suggestion", ENV + "zzz = 1\n", None,
     "{path}: [environments.local] has an unknown key 'zzz'; valid keys are: "
     + ", ".join(sorted(ENVIRONMENT_KEYS)) + "."),
    ("missing backend", '[environments.local]\ncluster = "c"\n', None,
     "{path}: [environments.local] is missing the key 'backend' (Where the AWS API is: `aws`, `emulator` "
     "(embedded local AWS) or `localstack`)."),
    ("missing cluster", '[environments.local]\nbackend = "emulator"\n', None,
     "{path}: [environments.local] is missing the key 'cluster' (ECS cluster name the services run in)."),
    ("unknown backend", '[environments.local]\nbackend = "moto"\ncluster = "c"\n', None,
     "{path}: [environments.local] backend: 'moto' is not one of aws, emulator, localstack."),
    ("backend wrong type", '[environments.local]\nbackend = 1\ncluster = "c"\n', None,
     "{path}: [environments.local] backend: expected a string, got 1 (an integer)."),
    ("wait_timeout string", ENV + 'wait_timeout = "ten"\n', None,
     "{path}: [environments.local] wait_timeout: expected a positive number, got 'ten' (a string)."),
    ("wait_timeout negative", ENV + "wait_timeout = -5\n", None,
     "{path}: [environments.local] wait_timeout: expected a positive number, got -5 (an integer)."),
    ("wait_timeout boolean", ENV + "wait_timeout = true\n", None,
     "{path}: [environments.local] wait_timeout: expected a positive number, got true (a boolean)."),
    ("unknown defaults key", "[defaults]\nregion = 'eu-west-1'\ntimeout = 3\n" + ENV, None,
     "{path}: [defaults] has an unknown key 'timeout'; did you mean 'wait_timeout'? (valid keys are: "
     + ", ".join(sorted(DEFAULTS_KEYS)) + ")."),
    ("bad severity", "[defaults]\nscan_severity = 'SEVERE'\n" + ENV, None,
     "{path}: [defaults] scan_severity: 'SEVERE' is not one of CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, "
     "UNDEFINED, NONE."),
    ("vars not a table", ENV + "vars = 'A=1'\n", None,
     "{path}: [environments.local] vars: expected a table, got 'A=1' (a string)."),
    ("vars value a table", ENV + "vars = { A = { B = 1 } }\n", None,
     "{path}: [environments.local] vars.A: expected a string, got a table."),
    ("bad runner", ENV + "runner = 'podman'\n", None,
     "{path}: [environments.local] runner: 'podman' is not one of auto, simulated, docker."),
    ("choice given by a placeholder, checked once filled", ENV + "runner = '${RUNNER:-podman}'\n", "local",
     "{path}: [environments.local] runner: 'podman' is not one of auto, simulated, docker."),
    ("speed zero", ENV + "speed = 0\n", None,
     "{path}: [environments.local] speed: expected a positive number, got 0 (an integer)."),
    ("speed negative", ENV + "speed = -2.5\n", None,
     "{path}: [environments.local] speed: expected a positive number, got -2.5 (a number)."),
    ("speed not a number", ENV + "speed = '20'\n", None,
     "{path}: [environments.local] speed: expected a positive number, got '20' (a string)."),
    ("speed boolean", ENV + "speed = true\n", None,
     "{path}: [environments.local] speed: expected a positive number, got true (a boolean)."),
    ("speed not a number (nan)", ENV + "speed = nan\n", None,
     "{path}: [environments.local] speed: expected a positive number, got nan (a number)."),
    ("speed infinite", ENV + "speed = inf\n", None,
     "{path}: [environments.local] speed: expected a finite positive number, got inf (a number)."),
    ("speed on a real backend", '[environments.p]\nbackend = "aws"\ncluster = "c"\nspeed = 20\n', "p",
     "{path}: [environments.p] speed: only an environment with backend = \"emulator\" takes 'speed', this one has "
     "backend = \"aws\"."),
    ("speed of an emulator at an endpoint", ENV + "endpoint_url = 'http://127.0.0.1:5000'\nspeed = 20\n", "local",
     "{path}: [environments.local] speed: the emulator at endpoint_url runs at the speed it was started with "
     "(`ecsdeploy-emulator --speed`); remove speed or endpoint_url."),
    ("unknown service key", ENV + "[services.web]\nrepo = 'web'\n", None,
     "{path}: [services.web] has an unknown key 'repo'; did you mean 'repository'? (valid keys are: "
     + ", ".join(sorted(SERVICE_KEYS)) + ")."),
    ("containers not a list", ENV + "[services.web]\ncontainers = 'app'\n", None,
     "{path}: [services.web] containers: expected a list of strings, got 'app' (a string)."),
    ("containers list of numbers", ENV + "[services.web]\ncontainers = [1, 2]\n", None,
     "{path}: [services.web] containers: expected a list of strings, got a list with values that are not strings."),
    ("containers empty", ENV + "[services.web]\ncontainers = []\n", None,
     "{path}: [services.web] containers: expected at least one container name."),
    ("service not a table", ENV + "[services]\nweb = 'x'\n", None,
     "{path}: [services.web] must be a table, got 'x' (a string)."),
    ("environment not found", ENV, "prod",
     "'prod' is not an environment in {path}; choose one of: local."),
    ("environment not found, close", ENV, "locl",
     "'locl' is not an environment in {path}; did you mean 'local'? (choose one of: local)."),
    ("account id not 12 digits", '[environments.p]\nbackend = "aws"\ncluster = "c"\naccount_id = "1234"\n', "p",
     "{path}: [environments.p] account_id: expected 12 digits, got '1234'."),
    ("account id as integer", '[environments.p]\nbackend = "aws"\ncluster = "c"\naccount_id = 111122223333\n', None,
     "{path}: [environments.p] account_id: expected a string, got 111122223333 (an integer)."),
    ("seed on a real backend", '[environments.p]\nbackend = "aws"\ncluster = "c"\n[environments.p.seed]\n', "p",
     "{path}: [environments.p] seed: only an environment with backend = \"emulator\" takes 'seed', this one has "
     "backend = \"aws\"."),
    ("missing variable in a service", ENV + "[services.web]\nhealth_url = '${WEB_URL}'\n", "local",
     "{path}: [services.web] health_url: variable ${WEB_URL} is not set; pass --var WEB_URL=VALUE or set it in the "
     "environment."),
    ("unclosed placeholder", ENV + "[services.web]\nhealth_url = 'http://${HOST'\n", "local",
     "{path}: [services.web] health_url: '${' is not closed by '}'; write '$${' for a literal '${'."),
    ("codedeploy application without group", ENV + "[services.web]\ncodedeploy_application = 'shop'\n", "local",
     "{path}: [services.web] sets codedeploy_application without codedeploy_deployment_group; set both or "
     "neither."),
    ("codedeploy group without application", ENV + "[services.web]\ncodedeploy_deployment_group = 'g'\n", "local",
     "{path}: [services.web] sets codedeploy_deployment_group without codedeploy_application; set both or "
     "neither."),
    ("codedeploy hook unknown", ENV + "[services.web]\ncodedeploy_hooks = { AfterTestTraffic = 'smoke' }\n",
     "local", "{path}: [services.web] codedeploy_hooks: 'AfterTestTraffic' is not an AppSpec hook of ECS; did you "
              "mean 'AfterAllowTestTraffic'? (valid hooks are: AfterAllowTestTraffic, AfterAllowTraffic, "
              "AfterInstall, BeforeAllowTraffic, BeforeInstall)."),
    ("codedeploy hook not a name", ENV + "[services.web]\ncodedeploy_hooks = { BeforeInstall = 3 }\n", "local",
     "{path}: [services.web] codedeploy_hooks BeforeInstall: expected the name or ARN of a Lambda function, got 3 "
     "(an integer)."),
]


@pytest.mark.parametrize(("text", "env", "message"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_is_one_clear_sentence(tmp_path: Path, text: str, env: str | None, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        config = load_config(path)
        config.resolve(env or "local", {}, {})
    assert str(exc.value) == message.replace("{path}", str(path))
    assert "\n" not in str(exc.value)


def test_there_are_at_least_twenty_bad_config_cases() -> None:
    assert len(BAD_CONFIGS) >= 20


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml does not exist; create it or pass --ecsdeploy-config PATH\."):
        load_config(path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "ecsdeploy.toml"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match=r"is not UTF-8 text"):
        load_config(path)


def test_unknown_service(tmp_path: Path) -> None:
    deployment = load_config(write(tmp_path, GOOD)).resolve("local", {}, {})
    with pytest.raises(ConfigError) as exc:
        deployment.service("wbe")
    assert str(exc.value).endswith("service 'wbe' is not in [services]; did you mean 'web'? (choose one of: web).")


def test_find_config_prefers_explicit_then_argument_directory(tmp_path: Path) -> None:
    (tmp_path / "deployments").mkdir()
    (tmp_path / "deployments" / "ecsdeploy.toml").write_text("")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "ecsdeploy.toml").write_text("")
    assert find_config("x.toml", tmp_path, []) == Path("x.toml")
    assert find_config(None, tmp_path, [str(tmp_path / "other")]) == tmp_path / "other" / "ecsdeploy.toml"
    assert find_config(None, tmp_path, [str(tmp_path / "other" / "test_a.py::test_b")]) == (
        tmp_path / "other" / "ecsdeploy.toml"
    )
    assert find_config(None, tmp_path, []) == tmp_path / "deployments" / "ecsdeploy.toml"


def test_environment_repr_never_shows_variable_values(tmp_path: Path) -> None:
    deployment = load_config(write(tmp_path, GOOD)).resolve(
        "local", {"TOKEN": "cli-secret"}, {"AWS_SECRET_ACCESS_KEY": "env-secret"}
    )
    text = repr(deployment.environment)
    assert "cli-secret" not in text and "env-secret" not in text and "127.0.0.1:8080" not in text
    variables = deployment.environment.variables
    assert (variables["TOKEN"], variables["AWS_SECRET_ACCESS_KEY"], variables["WEB_URL"]) == (
        "cli-secret", "env-secret", "http://127.0.0.1:8080",
    )


def test_a_choice_may_come_from_a_placeholder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ENV + "runner = '${RUNNER:-auto}'\n"))
    assert config.resolve("local", {}, {}).environment.runner == "auto"
    assert config.resolve("local", {"RUNNER": "simulated"}, {}).environment.runner == "simulated"


@pytest.mark.parametrize(("line", "speed"), [("", 1.0), ("speed = 20\n", 20.0), ("speed = 0.5\n", 0.5)])
def test_the_embedded_local_aws_starts_at_the_environments_speed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, speed: float
) -> None:
    deployment = load_config(write(tmp_path, ENV + line)).resolve("local", {}, {})
    assert deployment.environment.speed == speed and isinstance(deployment.environment.speed, float)
    started: list[dict[str, Any]] = []

    class Recording:  # stands for LocalAWS: what the run starts it with
        endpoint_url = "http://127.0.0.1:9"

        def __init__(self, **kwargs: Any) -> None:
            started.append(kwargs)

        def start(self) -> None:
            pass

    monkeypatch.setattr(emulator, "LocalAWS", Recording)
    Run(deployment, RunOptions()).aws()
    assert [kwargs["speed"] for kwargs in started] == [speed]


def test_an_empty_optional_url_or_role_is_unset_and_an_empty_cluster_is_refused(tmp_path: Path) -> None:
    text = ENV + 'role_arn = "${ROLE:-}"\nendpoint_url = ""\n[services.web]\nhealth_url = "${WEB_URL:-}"\n'
    deployment = load_config(write(tmp_path, text)).resolve("local", {}, {})
    assert (deployment.environment.role_arn, deployment.environment.endpoint_url) == (None, None)
    assert deployment.service("web").health_url is None
    path = write(tmp_path, ENV.replace('cluster = "local"', 'cluster = "${CLUSTER:-}"'))
    with pytest.raises(ConfigError, match=r"\[environments.local\] cluster: expected an ECS cluster name"):
        load_config(path).resolve("local", {}, {})


def test_codedeploy_keys_reach_the_service(tmp_path: Path) -> None:
    text = GOOD + ('codedeploy_application = "shop"\ncodedeploy_deployment_group = "shop-web"\n'
                   'codedeploy_deployment_config = "CodeDeployDefault.ECSCanary10Percent5Minutes"\n'
                   'codedeploy_hooks = { AfterAllowTestTraffic = "web-smoke" }\n')
    service = load_config(write(tmp_path, text)).resolve("local", {}, {}).service("web")
    assert (service.codedeploy_application, service.codedeploy_deployment_group) == ("shop", "shop-web")
    assert service.codedeploy_deployment_config == "CodeDeployDefault.ECSCanary10Percent5Minutes"
    assert service.codedeploy_hooks == {"AfterAllowTestTraffic": "web-smoke"}
