"""Secret values in a task definition reach ECS and nothing else: not the terminal, the JUnit file, the deployment
record or the Octopus service messages.

The task definition's environment has DB_PASSWORD (from the process environment, as a CI secret would come), an
API token (from ``--var``) and a connection URL with a password in it (written in the template). The runs cover
every path that prints a task definition or a reason: a plan (the diff), a deployment, a deployment that fails
and is rolled back after the secrets were rotated (the diff of changed values, the failure reasons), and a
re-run of a live deployment.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_ecsdeploy.emulator import LocalAWS

PASSWORDS = ("hunter2-Pa55w0rd-4b1d", "hunter3-R0tated-9c2e")
TOKENS = ("tok_live_51Hq8ZpLx3vT7wK", "tok_live_rotated_77QmNs2aB")
URL_PASSWORD = "dsnSecretPart8841"
ENVIRONMENT = f'''
        {{"name": "PORT", "value": "8080"}},
        {{"name": "DB_PASSWORD", "value": "${{DB_PASSWORD}}"}},
        {{"name": "PAYMENTS_API_TOKEN", "value": "${{PAYMENTS_API_TOKEN}}"}},
        {{"name": "SENTRY_DSN", "value": "https://reporter:{URL_PASSWORD}@sentry.example.com/42"}},'''
_MESSAGE = re.compile(r"##octopus\[(?P<name>[\w-]+)(?P<attributes>[^\]]*)\]")
_ATTRIBUTE = re.compile(r"(?P<key>\w+)=(?P<quote>['\"])(?P<value>[^'\"]*)(?P=quote)")


def octopus_messages(output: str) -> list[str]:
    """Every service message of ``output`` with its attribute values decoded (Base64 of UTF-8)."""
    decoded = []
    for message in _MESSAGE.finditer(output):
        values = [
            f"{a['key']}={base64.b64decode(a['value']).decode()}" for a in _ATTRIBUTE.finditer(message["attributes"])
        ]
        decoded.append(" ".join([message["name"], *values]))
    return decoded


@pytest.fixture
def secret_project(scenario_project: Path, standing_emulator: LocalAWS) -> Path:
    standing_emulator.reset()
    taskdef = scenario_project / "deployments" / "web" / "taskdef.json"
    text = taskdef.read_text()
    assert '\n        {"name": "PORT", "value": "8080"},' in text
    taskdef.write_text(text.replace('\n        {"name": "PORT", "value": "8080"},', ENVIRONMENT, 1))
    return scenario_project


def test_secret_values_appear_in_no_output(
    secret_project: Path, standing_emulator: LocalAWS, run_pytest: Callable[..., Any]
) -> None:
    endpoint = standing_emulator.endpoint_url
    standing_emulator.set_image_behaviour("web:3.0.0", "crash", exit_code=1)
    runs = [  # (secret values, arguments, the run's expected exit status, whether it prints a diff)
        (0, ("--image-tag", "2.0.0", "--plan"), 0, True),
        (0, ("--image-tag", "2.0.0"), 0, True),
        (1, ("--image-tag", "3.0.0"), 1, True),  # rotated secrets, a crashing image: failure reasons, a rollback
        (0, ("--image-tag", "2.0.0"), 0, False),  # back on web:2 (its secrets as before): nothing to change
    ]
    texts: list[str] = []
    for number, (which, args, status, diff) in enumerate(runs):
        junit, report = f"junit-{number}.xml", f"record-{number}.json"
        outcome = run_pytest(
            endpoint, "deployments", "--env", "outside", "-v", "-rA", "--octopus", "--junitxml", junit,
            "--ecsdeploy-report", report, "--var", f"PAYMENTS_API_TOKEN={TOKENS[which]}", *args,
            env={"DB_PASSWORD": PASSWORDS[which]},
        )
        assert outcome.returncode == status, outcome.output
        assert "##octopus[setVariable " in outcome.output, outcome.output
        assert ("DB_PASSWORD" in outcome.output) is diff, outcome.output
        texts += [
            outcome.output, *octopus_messages(outcome.output),
            (secret_project / junit).read_text(), (secret_project / report).read_text(),
        ]
        if number == 0:
            assert '"DB_PASSWORD": "<masked>"' in outcome.output  # the plan's diff shows the variable, masked

    # The values did go through the product to ECS: the rotated ones are in web:3, the first ones in web:2.
    ecs = standing_emulator.client("ecs")
    for revision, which in (("web:2", 0), ("web:3", 1)):
        environment = {e["name"]: e["value"] for e in ecs.describe_task_definition(
            taskDefinition=revision)["taskDefinition"]["containerDefinitions"][0]["environment"]}
        assert (environment["DB_PASSWORD"], environment["PAYMENTS_API_TOKEN"]) == (PASSWORDS[which], TOKENS[which])
        assert URL_PASSWORD in environment["SENTRY_DSN"]

    for secret in (*PASSWORDS, *TOKENS, URL_PASSWORD):
        leaks = [text for text in texts if secret in text]
        assert not leaks, f"{secret!r} appears in:\n" + "\n----\n".join(leaks)


# -- secrets by where they stand, by shape, in every structure a task definition and a one-off task have ----------

#: name -> (the secret, where it stands in the template). Each member of "a secret printed because of where it
#: stands": a shell string, a --flag=value, a --flag value pair, a URL password with '/' and a space, a tag, a docker
#: label, a log-driver option, a health-check command, a value by its shape only (a GitHub token under an ordinary
#: name, an AWS access key in a command).
WHERE = {
    "shell string": ("tok-ShellString-41", '"command": ["sh", "-c", "export API_TOKEN=tok-ShellString-41 && exec app '
                                          '--db-password=pw-FlagEquals-42"],'),
    "flag=value": ("pw-FlagEquals-42", ""),
    "flag value": ("tok-FlagValue-43", '"entryPoint": ["/entry", "--token", "tok-FlagValue-43"],'),
    "url password with / and space": ("pa/ss UrlSpace-44", '"healthCheck": {"command": ["CMD-SHELL", "curl '
                                      'https://ci:pa/ss UrlSpace-44@localhost:8080/health"]},'),
    "docker label": ("lbl-Label-45", '"dockerLabels": {"traefik.http.middlewares.auth.basicauth.secret": '
                                     '"lbl-Label-45"},'),
    "log option": ("opt-LogOption-46", '"logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": '
                                       '"web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web", '
                                       '"x-api-key": "opt-LogOption-46"}},'),
    "github token by shape": ("ghp_ShapeOnly47xxxxxxxxxxxxxxxxxxxxxxxxx", '"environment": [{"name": "PORT", '
                              '"value": "8080"}, {"name": "NOTES", "value": "ghp_ShapeOnly47xxxxxxxxxxxxxxxxxxxxxxxxx"}],'),
}
TAG_SECRET = "tag-Tag-48"
TASK_SECRETS = ("MigratePw49", "AKIAMIGRATE0TOKEN050")


@pytest.fixture
def structured_secret_project(scenario_project: Path, standing_emulator: LocalAWS) -> Path:
    standing_emulator.reset()
    taskdef = scenario_project / "deployments" / "web" / "taskdef.json"
    text = taskdef.read_text()
    fields = "\n      ".join(field for _, field in WHERE.values() if field)
    text = text.replace('"essential": true,', f'"essential": true,\n      {fields}', 1)
    text = text.replace('      "environment": [\n        {"name": "PORT", "value": "8080"},\n'
                        '        {"name": "LOG_LEVEL", "value": "${LOG_LEVEL}"}\n      ]\n', '      "memory": 256\n', 1)
    text = text.replace('"family": "web",', f'"family": "web",\n  "tags": [{{"key": "deploy-token", "value": '
                                            f'"{TAG_SECRET}"}}, {{"key": "team", "value": "shop"}}],', 1)
    taskdef.write_text(text)
    (scenario_project / "deployments" / "test_web.py").write_text(
        "import pytest\n\npytestmark = pytest.mark.ecs_service('web')\n\n\n"
        "def test_deploy(deploy):\n    deploy()\n\n\n"
        "def test_migrate(ecs_task, task_definition):\n"
        "    ecs_task.run(task_definition.registered, container='app', command=['./migrate', '--url', "
        f"'postgres://app:{TASK_SECRETS[0]}@db/x', '--aws-key', '{TASK_SECRETS[1]}'])\n"
    )
    return scenario_project


def test_secrets_by_where_they_stand_and_by_shape_appear_in_no_output(
    structured_secret_project: Path, standing_emulator: LocalAWS, run_pytest: Callable[..., Any]
) -> None:
    outcome = run_pytest(
        standing_emulator.endpoint_url, "deployments", "--env", "outside", "--image-tag", "2.0.0", "--plan", "-v",
        "-rA", "--octopus", "--junitxml", "junit.xml", "--ecsdeploy-report", "record.json",
    )
    assert outcome.returncode == 0, outcome.output
    assert "traefik.http.middlewares.auth.basicauth.secret" in outcome.output  # the diff shows the label, masked
    assert "--db-password=<masked>" in outcome.output  # the diff shows the command, masked
    # the migration needs the revision the plan did not register: not run, and its command (secrets) not printed
    assert "plan: not run" in outcome.output
    texts = {
        "terminal": outcome.output, "octopus": "\n".join(outcome.octopus_messages()),
        "junit": (structured_secret_project / "junit.xml").read_text(),
        "record": (structured_secret_project / "record.json").read_text(),
    }
    secrets = [secret for secret, _ in WHERE.values()] + [TAG_SECRET, *TASK_SECRETS]
    leaks = {secret: [where for where, text in texts.items() if secret in text] for secret in secrets}
    assert not any(leaks.values()), {secret: where for secret, where in leaks.items() if where}
    assert not outcome.forged_lines()


def test_a_value_of_sixty_thousand_characters_made_to_backtrack_is_masked_in_linear_time(
    scenario_project: Path, standing_emulator: LocalAWS, run_pytest: Callable[..., Any]
) -> None:
    """ECS allows 64 KiB in an environment value; one that looks like the start of a URL, an assignment and a JWT
    60 000 times over costs a --plan no noticeable time (it took 5 s more with the quadratic URL pattern, and a
    2 MB one never finished; 2 MB here)."""
    standing_emulator.reset()
    taskdef = scenario_project / "deployments" / "web" / "taskdef.json"
    value = ("a://b:" * 350_000)[:2_000_000]
    taskdef.write_text(taskdef.read_text().replace('{"name": "PORT", "value": "8080"}',
                                                   f'{{"name": "NOTES", "value": "{value}"}}', 1))
    outcome = run_pytest(standing_emulator.endpoint_url, "deployments", "--env", "outside", "--image-tag", "2.0.0",
                         "--plan", timeout=120)
    assert outcome.returncode == 0, outcome.output[-2000:]
    assert '"NOTES": "a://b:a://b:' in outcome.output


def test_a_sidecar_of_another_registry_account_or_region_keeps_its_image(
    scenario_project: Path, standing_emulator: LocalAWS, run_pytest: Callable[..., Any]
) -> None:
    """With ``repository = "web"`` and no ``containers`` key, only the container whose image is in the emulator's
    ECR repository ``web`` is deployed; sidecars naming ``web`` in another registry (with a port, on localhost),
    account or region, or on ECR Public keep theirs."""
    standing_emulator.reset()
    uri = standing_emulator.client("ecr").describe_repositories(repositoryNames=["web"])["repositories"][0][
        "repositoryUri"]
    host = uri.rsplit("/", 1)[0]
    sidecars = {
        "other-registry": "registry.example.com:5000/web:4.2",
        "other-account": host.replace(host.split(".")[0], "444455556666") + "/web:1.0.0",
        "other-region": host.replace("us-east-1", "eu-west-1") + "/web:1.0.0",
        "local-registry": "localhost:5000/web:1.0.0",
        "ecr-public": "public.ecr.aws/web/web:1.0.0",
    }
    config = scenario_project / "deployments" / "ecsdeploy.toml"
    config.write_text(config.read_text().replace('containers = ["app"]\n', ""))
    taskdef = scenario_project / "deployments" / "web" / "taskdef.json"
    sides = "".join(f',\n    {{"name": "{name}", "image": "{image}", "essential": false, "memory": 16}}'
                    for name, image in sidecars.items())
    text = taskdef.read_text().replace('"image": "web:placeholder"', f'"image": "{uri}:placeholder"', 1)
    taskdef.write_text(text.replace("      ]\n    }\n  ]", "      ]\n    }" + sides + "\n  ]", 1))
    outcome = run_pytest(standing_emulator.endpoint_url, "deployments", "--env", "outside", "--image-tag", "2.0.0")
    assert outcome.returncode == 0, outcome.output
    ecs = standing_emulator.client("ecs")
    service = ecs.describe_services(cluster="local", services=["web"])["services"][0]
    containers = {c["name"]: c["image"] for c in ecs.describe_task_definition(
        taskDefinition=service["taskDefinition"])["taskDefinition"]["containerDefinitions"]}
    assert containers["app"].startswith(f"{uri}@sha256:")
    assert {name: containers[name] for name in sidecars} == sidecars
