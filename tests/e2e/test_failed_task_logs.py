"""Crash drills, one per runner, through pytester (a subprocess: one LocalAWS per process): a release whose
container writes ``FATAL: ORDERS_QUEUE_URL is not set`` and exits, and a migration that does the same. The line
reaches the terminal (under the task's stop line), the deployment record, the JUnit report (system-out of the
failing step) and the Octopus result message; a line holding the database password reaches none of them
unmasked.

On the simulated runner the image behaviour prints the lines; on the Docker runner a real container does (the
task definition's entryPoint and command run in the seeded busybox image).
"""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

FATAL = "FATAL: ORDERS_QUEUE_URL is not set"
PASSWORD = "hunter2-orders-db"
SECRET_LINE = f"connecting to postgres://orders:{PASSWORD}@db:5432/orders"
MASKED_LINE = "connecting to postgres://orders:<masked>@db:5432/orders"
LINES = ["orders 2.0.0 starting", SECRET_LINE, FATAL]
SCRIPT = "; ".join(f"echo '{line}'" for line in LINES) + "; exit 1"

AWSLOGS = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1",
                                               "awslogs-stream-prefix": "ecs"}}


def taskdef(**app: Any) -> dict[str, Any]:
    return {"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256",
            "memory": "512",
            "containerDefinitions": [{"name": "app", "image": "web:placeholder", "essential": True,
                                      "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                                      "environment": [{"name": "DB_PASSWORD", "value": PASSWORD}],
                                      "logConfiguration": AWSLOGS, **app}]}


CONFIG = """
[defaults]
region = "us-east-1"
wait_timeout = {wait}

[environments.local]
backend = "emulator"
cluster = "local"
runner = "{runner}"
speed = {speed}

[environments.local.seed]
clusters = ["local"]
log_groups = ["/ecs/web"]

[environments.local.seed.repositories.web]
tags = ["1.0.0", "2.0.0"]

[environments.local.seed.services.web]
task_definition = "web/seed.json"
images = {{ app = "web:1.0.0" }}

[[environments.local.seed.image_behaviours]]
image = "web:2.0.0"
behaviour = "crash"
exit_code = 1
after = 0.5
logs = {logs}

[[environments.local.seed.image_behaviours]]
image = "web:1.0.0"
behaviour = "exit"
exit_code = 1
after = 0.5
command = ["/bin/sh", "-c", "{script}"]
logs = {logs}

[services.web]
repository = "web"
task_definition = "web/{template}"
"""

ROLL_OUT = """
import pytest

pytestmark = pytest.mark.ecs_service("web")


def test_roll_out(deploy):
    deploy("2.0.0")
"""

MIGRATE = """
import pytest

pytestmark = pytest.mark.ecs_service("web")


def test_migrate(ecs_task, ecs_service):
    ecs_task.run(ecs_service.revision, command=["/bin/sh", "-c", {script!r}], timeout=120)
"""

RUNNERS = ["simulated", pytest.param("docker", marks=pytest.mark.docker)]
# Simulated seconds per wall second of each runner's emulator: the crash loop's relaunches wait 10 simulated seconds
# and more. The Docker runner stays at wall time: its containers' own timings are real.
SPEEDS = {"simulated": 10, "docker": 1}


def write(pytester: pytest.Pytester, runner: str, scenario: str) -> None:
    crashing = "crash.json" if scenario == "roll out" else "seed.json"
    pytester.mkdir("deployments")
    pytester.mkdir("deployments/web")
    root = pytester.path / "deployments"
    root.joinpath("ecsdeploy.toml").write_text(CONFIG.format(
        runner=runner, wait=300 if runner == "docker" else 60, speed=SPEEDS[runner], logs=json.dumps(LINES),
        script=SCRIPT, template=crashing))
    root.joinpath("web", "seed.json").write_text(json.dumps(taskdef()))
    # On the Docker runner the crash is the container's own: the release's task definition runs the script.
    root.joinpath("web", "crash.json").write_text(json.dumps(taskdef(entryPoint=["/bin/sh", "-c"],
                                                                      command=[SCRIPT])))
    root.joinpath("test_web.py").write_text(ROLL_OUT if scenario == "roll out" else MIGRATE.format(script=SCRIPT))


def octopus_result(stdout: str) -> str:
    (encoded,) = re.findall(r"##octopus\[resultMessage message='([^']*)'\]", stdout)
    return base64.b64decode(encoded).decode()


@pytest.mark.parametrize("scenario", ["roll out", "one-off task"])
@pytest.mark.parametrize("runner", RUNNERS)
def test_the_last_lines_of_a_crashed_container_are_in_every_output(pytester: pytest.Pytester, runner: str,
                                                                   scenario: str) -> None:
    write(pytester, runner, scenario)
    report, junit = pytester.path / "record.json", pytester.path / "junit.xml"

    result = pytester.runpytest_subprocess("deployments", "--env", "local", "--octopus", "--failed-log-lines", "5",
                                           "--ecsdeploy-report", str(report), "--junitxml", str(junit), timeout=600)

    result.assert_outcomes(failed=1)
    stdout = result.stdout.str()
    # the terminal: the container's lines under the task's stop line
    result.stdout.fnmatch_lines([
        "*[[]web] task * (web:*) *: *app exited 1*",
        "*[[]web]   app, last 3 lines of log group /ecs/web, stream ecs/app/* (us-east-1):",
        "*[[]web]     orders 2.0.0 starting",
        f"*[[]web]     {MASKED_LINE}",
        f"*[[]web]     {FATAL}",
    ])
    # the record
    record = json.loads(report.read_text())["services"]["web"]
    failed = record["failedTasks"]
    assert failed and all(task["containers"][0]["lines"] == [LINES[0], MASKED_LINE, FATAL] for task in failed)
    assert failed[0]["containers"][0]["where"].startswith("log group /ecs/web, stream ecs/app/")
    # JUnit: system-out of the failing step
    (case,) = ET.parse(junit).getroot().iter("testcase")
    outputs = "\n".join(element.text or "" for element in case.iter("system-out"))
    assert FATAL in outputs and MASKED_LINE in outputs
    # JUnit: each check of the step as a property
    properties = [(p.get("name"), p.get("value")) for p in case.iter("property")]
    action = "ecs_service.deploy" if scenario == "roll out" else "ecs_task.run"
    assert [(name, value.split(":")[0]) for name, value in properties] == [
        (f"check: {c['action']} {c['phase']} {c['name']}", c["result"]) for c in record["checks"]]
    assert (f"check: {action} pre account", "passed: caller account 1234****9012 (account_id not pinned)") in properties
    # Octopus: the result message
    assert f"app logged: {FATAL}" in octopus_result(stdout)
    # the password, nowhere
    for text in (stdout, report.read_text(), junit.read_text(), octopus_result(stdout)):
        assert PASSWORD not in text


def test_without_log_lines_nothing_is_read(pytester: pytest.Pytester) -> None:
    write(pytester, "simulated", "one-off task")
    report = pytester.path / "record.json"

    result = pytester.runpytest_subprocess("deployments", "--env", "local", "--failed-log-lines", "0",
                                           "--ecsdeploy-report", str(report), timeout=300)

    result.assert_outcomes(failed=1)
    assert f"[web]     {FATAL}" not in result.stdout.str()  # the command line names it; no log line does
    assert json.loads(report.read_text())["services"]["web"]["failedTasks"] == []


def test_a_bad_failed_log_lines_is_a_usage_error(pytester: pytest.Pytester) -> None:
    write(pytester, "simulated", "one-off task")

    result = pytester.runpytest_subprocess("deployments", "--env", "local", "--failed-log-lines", "many")

    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--failed-log-lines expects a whole number of 0 or more, got 'many'.*"])

