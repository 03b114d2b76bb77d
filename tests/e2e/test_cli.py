"""The ``ecsdeploy`` command against the embedded local AWS, run as a user runs it (``python -m
pytest_ecsdeploy.cli`` in a subprocess, an ``emulator`` environment with the endpoint of a LocalAWS started here).

- ``init`` on each of the shared task definitions running as a service: the scenario it writes, run with
  ``pytest DIR --env local --plan`` and the running tag, changes nothing; run for real with a new tag, it
  registers a revision whose only change is the image of the deployed containers;
- ``rollback`` to the revision before, or the one named, watched to its end; refused without a previous revision
  and for another deployment controller;
- ``status`` and ``logs``: revisions, deployments, failed tasks and their awslogs lines (written here with
  PutLogEvents into the stream the awslogs driver names), masked; the lease holder (an item written here);
- every usage error exits 4 with one sentence; ``--help`` of each command explains it.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import fakes
import pytest
from fakes import SCENARIO_RUN_OPTIONS, default_network, registered_instances, seed_secrets
from forkserver import ForkServer

from pytest_ecsdeploy.actions.lease import KEY, TABLE, Holder
from pytest_ecsdeploy.actions.service import EcsService
from pytest_ecsdeploy.actions.taskdef import differences, normalise, payload_from
from pytest_ecsdeploy.arns import parse_image
from pytest_ecsdeploy.cli import main
from pytest_ecsdeploy.cli.common import Output
from pytest_ecsdeploy.emulator import LocalAWS

ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIRS = (ROOT / "tests" / "data" / "taskdefs", ROOT.parent / "shared" / "taskdefs")
CORPUS_DIR = next((d for d in CORPUS_DIRS if d.is_dir()), CORPUS_DIRS[0])
CORPUS = sorted(CORPUS_DIR.glob("*.json"))
CLUSTER = "local"
NEW_TAG = "roundtrip-2"


@pytest.fixture(scope="module")
def local() -> Iterator[LocalAWS]:
    with LocalAWS(speed=8.0) as aws:
        yield aws


@pytest.fixture
def aws(local: LocalAWS) -> LocalAWS:
    local.reset(seed=False)
    local.client("ecs").create_cluster(clusterName=CLUSTER)
    return local


@pytest.fixture
def project(tmp_path: Path, aws: LocalAWS) -> Path:
    """A folder with a pytest.ini and deployments/ecsdeploy.toml whose environment ``local`` is ``aws``."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    deployments = tmp_path / "deployments"
    deployments.mkdir()
    (deployments / "ecsdeploy.toml").write_text(
        f'[environments.local]\nbackend = "emulator"\ncluster = "{CLUSTER}"\nendpoint_url = "{aws.endpoint_url}"\n'
        f"wait_timeout = 120\n")
    return tmp_path


def environ() -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECSDEPLOY_"))},
            "PYTHONPATH": str(ROOT)}


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_ecsdeploy.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=environ())


@pytest.fixture(scope="module")
def pytest_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer]:
    """Where the scenario runs are forked from, with the libraries every run imports already imported."""
    server = ForkServer(tmp_path_factory.mktemp("forkserver"), environ())
    yield server
    server.close()


def pytest_run(runs: ForkServer, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return runs.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *SCENARIO_RUN_OPTIONS, *args],
                    cwd, environ(), timeout=600)


# Each wait is on the emulator's state, at speed 8: most states come within a second.
wait_for = partial(fakes.wait_for, timeout=120, interval=0.05)


def register(aws: LocalAWS, document: dict[str, Any]) -> str:
    payload = payload_from(document, "test")
    return str(aws.client("ecs").register_task_definition(**payload)["taskDefinition"]["taskDefinitionArn"])


def run_service(aws: LocalAWS, name: str, arn: str, desired: int = 1, **extra: Any) -> None:
    """Service ``name`` steady on ``arn`` (on a default subnet when its network mode is awsvpc)."""
    revision = aws.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    mode = revision.get("networkMode")
    for container in revision["containerDefinitions"]:  # the log groups its awslogs containers write to, as in AWS
        config = container.get("logConfiguration") or {}
        options = config.get("options") or {}
        if config.get("logDriver") == "awslogs" and options.get("awslogs-group"):
            logs = aws.client("logs", region_name=options.get("awslogs-region") or aws.region)
            if not logs.describe_log_groups(logGroupNamePrefix=options["awslogs-group"])["logGroups"]:
                logs.create_log_group(logGroupName=options["awslogs-group"])
    network = {"networkConfiguration": default_network(aws.account_id, aws.region)} if mode == "awsvpc" else {}
    if "FARGATE" not in (revision.get("requiresCompatibilities") or []):
        # EC2 tasks need container instances; two per task, so a rolling update of a task with static host ports
        # (host or bridge mode) finds an instance where they are free, as it must on ECS.
        registered_instances(aws, CLUSTER, 2 * max(desired, 1))
    aws.seed_service({"cluster": CLUSTER, "serviceName": name, "taskDefinition": arn, "desiredCount": desired,
                      **network, **extra})


def web_document(image: str, family: str = "web", **container: Any) -> dict[str, Any]:
    return {"family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256",
            "memory": "512", "containerDefinitions": [{"name": "app", "image": image, "essential": True,
                                                        **container}]}


def described(aws: LocalAWS, arn: str) -> dict[str, Any]:
    answer = aws.client("ecs").describe_task_definition(taskDefinition=arn, include=["TAGS"])
    return payload_from({"taskDefinition": answer["taskDefinition"], "tags": answer.get("tags") or []}, arn)


def service(aws: LocalAWS, name: str) -> dict[str, Any]:
    return dict(aws.client("ecs").describe_services(cluster=CLUSTER, services=[name])["services"][0])


# -- init: the corpus round-trips ----------------------------------------------------------------------------------


def test_the_corpus_is_there() -> None:
    assert len(CORPUS) >= 15, f"expected the task-definition corpus in one of {[str(d) for d in CORPUS_DIRS]}"


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_init_writes_a_deployment_that_plans_no_change_and_deploys_only_a_new_image(
        path: Path, aws: LocalAWS, project: Path, pytest_runs: ForkServer) -> None:
    name = "svc"
    document = json.loads(path.read_text())
    seed_secrets(aws, payload_from(document, path.name))
    arn = register(aws, document)
    before = described(aws, arn)
    run_service(aws, name, arn)
    out, err = io.StringIO(), io.StringIO()
    code = main(["init", "--env", "local", "--service", name, "--dir", str(project / "deployments")],
                Output(out, err))
    assert code == 0, err.getvalue()
    template = (project / "deployments" / name / "taskdef.json").read_text()
    for field in ("taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
                  "registeredAt", "registeredBy", "deregisteredAt"):
        assert f'"{field}"' not in template
    assert "${IMAGE_TAG}" in template
    assert "123456789012" not in template  # the account is ${ACCOUNT_ID}
    [tag] = {parse_image(image).tag or "latest" for image in (c["image"] for c in before["containerDefinitions"])
             if f'"{parse_image(image).name}:${{IMAGE_TAG}}"' in template.replace(
                 "${ACCOUNT_ID}", "123456789012").replace("${REGION}", "us-east-1")}

    plan = pytest_run(pytest_runs, project, "deployments", "--env", "local", "--image-tag", tag, "--plan")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "task definition unchanged" in plan.stdout, plan.stdout
    assert service(aws, name)["taskDefinition"] == arn

    real = pytest_run(pytest_runs, project, "deployments", "--env", "local", "--image-tag", NEW_TAG)
    assert real.returncode == 0, real.stdout + real.stderr
    after_arn = service(aws, name)["taskDefinition"]
    assert after_arn != arn
    after = described(aws, after_arn)
    changed = differences(normalise(before), normalise(after))
    assert changed and all(p.startswith("containerDefinitions[") and p.endswith("].image") for p in changed), changed
    assert all(c["image"].endswith(f":{NEW_TAG}") for c in after["containerDefinitions"]
               if f"containerDefinitions[{c['name']}].image" in changed)


# -- init: what it refuses -------------------------------------------------------------------------------------


def test_init_creates_the_file_with_a_new_environment_and_pins_nothing_on_the_emulator(
        aws: LocalAWS, tmp_path: Path) -> None:
    arn = register(aws, web_document("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.0.0"))
    run_service(aws, "web", arn)
    folder = tmp_path / "new"
    done = cli(tmp_path, "init", "--env", "dev", "--service", "web", "--dir", str(folder), "--cluster", CLUSTER,
               "--backend", "emulator", "--endpoint-url", aws.endpoint_url)
    assert done.returncode == 0, done.stderr
    config = (folder / "ecsdeploy.toml").read_text()
    assert '[environments.dev]\nbackend = "emulator"\ncluster = "local"' in config
    assert '[services.web]' in config and 'repository = "web"' in config and 'containers = ["app"]' in config
    template = json.loads((folder / "web" / "taskdef.json").read_text())
    assert template["containerDefinitions"][0]["image"] == "${ACCOUNT_ID}.dkr.ecr.${REGION}.amazonaws.com/web:${IMAGE_TAG}"
    assert "def test_image_is_published(ecr):" in (folder / "test_web.py").read_text()


def test_init_adds_a_table_without_rewriting_the_others(aws: LocalAWS, project: Path) -> None:
    for name in ("web", "api"):
        run_service(aws, name, register(aws, web_document(f"{name}:1.0.0", family=name)))
    config = project / "deployments" / "ecsdeploy.toml"
    config.write_text(config.read_text() + '\n# ours\n[services.web]\ncontainers = ["app"]  # keep\n')
    before = config.read_text()
    done = cli(project, "init", "--env", "local", "--service", "api")
    assert done.returncode == 0, done.stderr
    after = config.read_text()
    assert after.startswith(before) and "[services.api]" in after[len(before):]


@pytest.mark.parametrize("existing", ["template", "scenario", "table"])
def test_init_overwrites_nothing(existing: str, aws: LocalAWS, project: Path) -> None:
    run_service(aws, "web", register(aws, web_document("web:1.0.0")))
    deployments = project / "deployments"
    config = deployments / "ecsdeploy.toml"
    target = {"template": deployments / "web" / "taskdef.json", "scenario": deployments / "test_web.py",
              "table": config}[existing]
    if existing == "table":
        config.write_text(config.read_text() + '\n[services.web]\ncontainers = ["app"]\n')
    else:
        target.parent.mkdir(exist_ok=True)
        target.write_text("mine\n")
    before = {p: p.read_text() for p in deployments.rglob("*") if p.is_file()}
    done = cli(project, "init", "--env", "local", "--service", "web")
    assert done.returncode == 4, done.stderr
    expected = ("[services.web] is already in deployments/ecsdeploy.toml; ecsdeploy init overwrites nothing."
                if existing == "table" else f"{target.relative_to(project)} exists; ecsdeploy init overwrites nothing.")
    assert done.stderr == f"ecsdeploy init: {expected}\n"
    assert {p: p.read_text() for p in deployments.rglob("*") if p.is_file()} == before


def test_init_of_a_service_that_is_not_there_writes_nothing(aws: LocalAWS, project: Path) -> None:
    done = cli(project, "init", "--env", "local", "--service", "nope")
    assert done.returncode == 1
    assert done.stderr == "ecsdeploy init: service 'nope' is not in cluster 'local' (MISSING).\n"
    assert sorted(p.name for p in (project / "deployments").iterdir()) == ["ecsdeploy.toml"]


# -- rollback ----------------------------------------------------------------------------------------------------


def two_revisions(aws: LocalAWS) -> tuple[str, str]:
    first = register(aws, web_document("web:1.0.0"))
    second = register(aws, web_document("web:1.1.0"))
    run_service(aws, "web", second, desired=2)
    return first, second


def with_web(project: Path) -> Path:
    config = project / "deployments" / "ecsdeploy.toml"
    config.write_text(config.read_text() + '\n[services.web]\ncontainers = ["app"]\n')
    return project


def test_rollback_returns_to_the_revision_before_and_watches_it(aws: LocalAWS, project: Path) -> None:
    first, _ = two_revisions(aws)
    done = cli(with_web(project), "rollback", "--env", "local", "--service", "web")
    assert done.returncode == 0, done.stderr
    assert "rolling service web back: web:2 -> web:1" in done.stdout
    assert "has reached a steady state." in done.stdout  # the watch printed the service's events
    assert done.stdout.rstrip().splitlines()[-1].startswith("rolled service web back from web:2 to web:1 (deployment ")
    assert service(aws, "web")["taskDefinition"] == first


def test_rollback_to_a_named_revision(aws: LocalAWS, project: Path) -> None:
    first, second = two_revisions(aws)
    third = register(aws, web_document("web:1.2.0"))
    aws.client("ecs").update_service(cluster=CLUSTER, service="web", taskDefinition=third)
    wait_for("web:3 rolled out", lambda: service(aws, "web")["deployments"][0].get("rolloutState") == "COMPLETED")
    done = cli(with_web(project), "rollback", "--env", "local", "--service", "web", "--to", "web:1")
    assert done.returncode == 0, done.stderr
    assert service(aws, "web")["taskDefinition"] == first


def test_rollback_without_a_previous_revision_changes_nothing(aws: LocalAWS, project: Path) -> None:
    only = register(aws, web_document("web:1.0.0"))
    run_service(aws, "web", only)
    done = cli(with_web(project), "rollback", "--env", "local", "--service", "web")
    assert done.returncode == 1
    assert done.stderr == ("ecsdeploy rollback: service 'web' runs web:1 and family 'web' has no ACTIVE revision "
                           "before it; name one with --to FAMILY:REVISION.\n")
    assert service(aws, "web")["taskDefinition"] == only


@pytest.mark.parametrize("controller", ["EXTERNAL"])
def test_rollback_refuses_another_deployment_controller(controller: str, aws: LocalAWS, project: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # The local ECS engine refuses these controllers itself, so the service is read as ECS would answer.
    two_revisions(aws)
    real = EcsService.describe
    monkeypatch.setattr(EcsService, "describe",
                        lambda self: {**real(self), "deploymentController": {"type": controller}})
    out, err = io.StringIO(), io.StringIO()
    code = main(["rollback", "--env", "local", "--service", "web", "--dir", str(with_web(project) / "deployments")],
                Output(out, err))
    assert code == 1
    assert err.getvalue() == (f"ecsdeploy rollback: service 'web' uses the {controller} deployment controller; "
                              "ecsdeploy rollback handles the ECS and CODE_DEPLOY deployment controllers.\n")
    assert service(aws, "web")["taskDefinition"].endswith("/web:2")


@pytest.mark.parametrize(("args", "message"), [
    (("--env", "nope", "--service", "web"),
     "'nope' is not an environment in deployments/ecsdeploy.toml; choose one of: local."),
    (("--env", "local", "--service", "wbe"),
     "deployments/ecsdeploy.toml: service 'wbe' is not in [services]; did you mean 'web'? (choose one of: web)."),
    (("--env", "local", "--service", "web", "--to", "web"),
     "--to expects an exact revision ('web:41' or its ARN), got 'web'."),
])
def test_rollback_usage_errors_exit_4_with_one_sentence(args: tuple[str, ...], message: str, aws: LocalAWS,
                                                         project: Path) -> None:
    done = cli(with_web(project), "rollback", *args)
    assert (done.returncode, done.stderr) == (4, f"ecsdeploy rollback: {message}\n")


# -- status and logs ----------------------------------------------------------------------------------------------

AWSLOGS = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1",
                                                 "awslogs-stream-prefix": "web"}}


def crashed_web(aws: LocalAWS) -> str:
    """Service web back on web:1 (ECS's circuit breaker) after a rollout of web:2 whose tasks crashed; the id of
    one crashed task. Each crashed task's awslogs stream holds three lines (one with secrets)."""
    good = register(aws, web_document("web:1.0.0", logConfiguration=AWSLOGS,
                                      environment=[{"name": "DB_PASSWORD", "value": "hunter2-db"}]))
    bad = register(aws, web_document("web:2.0.0", logConfiguration=AWSLOGS,
                                     environment=[{"name": "DB_PASSWORD", "value": "hunter2-db"}]))
    run_service(aws, "web", good, deploymentConfiguration={
        "deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    aws.set_image_behaviour("web:2.0.0", "crash", exit_code=3)
    ecs = aws.client("ecs")
    ecs.update_service(cluster=CLUSTER, service="web", taskDefinition=bad)
    wait_for("web rolled back to web:1", lambda: (now := service(aws, "web"))["taskDefinition"] == good and len(
        now["deployments"]) == 1 and now["deployments"][0].get("rolloutState") == "COMPLETED")
    stopped = [t["taskArn"] for t in ecs.describe_tasks(cluster=CLUSTER, tasks=ecs.list_tasks(
        cluster=CLUSTER, serviceName="web", desiredStatus="STOPPED")["taskArns"])["tasks"]
        if t["taskDefinitionArn"] == bad]
    assert stopped
    logs = aws.client("logs")  # the group exists: run_service made it, as the task definition's infrastructure
    now = int(time.time() * 1000)
    for arn in stopped:  # the awslogs driver's stream: prefix/container/task-id
        stream = f"web/app/{arn.rsplit('/', 1)[-1]}"
        if not logs.describe_log_streams(logGroupName="/ecs/web", logStreamNamePrefix=stream)["logStreams"]:
            logs.create_log_stream(logGroupName="/ecs/web", logStreamName=stream)
        logs.put_log_events(logGroupName="/ecs/web", logStreamName=stream, logEvents=[
            {"timestamp": now, "message": "starting"},
            {"timestamp": now + 1, "message": "connecting with hunter2-db to postgres://app:pw0rd@db/x"},
            {"timestamp": now + 2, "message": "FATAL: ORDERS_QUEUE_URL is not set"},
        ])
    return str(stopped[0].rsplit("/", 1)[-1])


def test_status_shows_revision_deployments_and_failed_tasks_with_their_log_lines(aws: LocalAWS, project: Path) -> None:
    crashed_web(aws)
    done = cli(with_web(project), "status", "--env", "local")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("service web (cluster local): web:1, 1 desired, 1 running, 0 pending\n  deployment ecs-svc/")
    assert "PRIMARY web:1, rolloutState COMPLETED, 1 of 1 running" in out
    assert "(web:2) STOPPED: EssentialContainerExited: Essential container in task exited, app exited 3" in out
    assert "        FATAL: ORDERS_QUEUE_URL is not set\n" in out
    assert "        connecting with <masked> to postgres://app:<masked>@db/x\n" in out
    assert "hunter2-db" not in out and "pw0rd" not in out


def test_status_names_the_run_that_holds_the_lease_while_the_table_has_its_item(aws: LocalAWS, project: Path) -> None:
    run_service(aws, "web", register(aws, web_document("web:1.0.0")))
    no_table = cli(with_web(project), "status", "--env", "local")
    assert no_table.returncode == 0, no_table.stderr
    assert "lease" not in no_table.stdout
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    holder = Holder(run_id="3f2a9c0d1e2b", host="ci-7", pid=4242, started_at="2026-11-30T15:10:43Z")
    dynamodb.put_item(TableName=TABLE, Item=holder.item("other/web", time.time() + 120))  # another cluster's web
    assert "lease" not in cli(project, "status", "--env", "local").stdout
    dynamodb.put_item(TableName=TABLE, Item=holder.item(f"{CLUSTER}/web", time.time() + 120))
    held = cli(project, "status", "--env", "local")
    assert held.returncode == 0, held.stderr
    lines = held.stdout.splitlines()
    assert lines[1].startswith("  lease: held by run 3f2a9c0d1e2b on host ci-7 (pid 4242) since 2026-11-30T15:10:43Z; "
                               "expires at ") and lines[1].endswith(" unless renewed")
    dynamodb.put_item(TableName=TABLE, Item=holder.item(f"{CLUSTER}/web", 1000.0))
    expired = cli(project, "status", "--env", "local")
    assert expired.stdout.splitlines()[1] == (
        "  lease: held by run 3f2a9c0d1e2b on host ci-7 (pid 4242) since 2026-11-30T15:10:43Z; expired at "
        "1970-01-01T00:16:40Z without being renewed: the next run takes it over")


def test_logs_of_one_task_masked(aws: LocalAWS, project: Path) -> None:
    task_id = crashed_web(aws)
    done = cli(with_web(project), "logs", "--env", "local", "--service", "web", "--task", task_id, "--lines", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"task {task_id} (web:2) STOPPED",
        f"  app, last 2 lines of log group /ecs/web, stream web/app/{task_id} (us-east-1):",
        "    connecting with <masked> to postgres://app:<masked>@db/x",
        "    FATAL: ORDERS_QUEUE_URL is not set",
    ]


def test_logs_say_where_firelens_and_other_drivers_send_the_output(aws: LocalAWS, project: Path) -> None:
    document = web_document("web:1.0.0", logConfiguration={
        "logDriver": "awsfirelens", "options": {"Name": "datadog", "apikey": "s3cr3t-key", "Host": "intake"}})
    document["containerDefinitions"].append({"name": "log_router", "image": "fluent-bit:stable", "essential": True,
                                             "firelensConfiguration": {"type": "fluentbit"}})
    run_service(aws, "web", register(aws, document))
    done = cli(with_web(project), "logs", "--env", "local", "--service", "web")
    assert done.returncode == 0, done.stderr
    assert "  app: logs go through FireLens (Host=intake, Name=datadog), not read here: look where its log router " \
           "sends them" in done.stdout
    assert "  log_router: no logConfiguration" in done.stdout
    assert "s3cr3t" not in done.stdout


def test_logs_and_status_of_a_service_that_is_not_there(aws: LocalAWS, project: Path) -> None:
    logs = cli(with_web(project), "logs", "--env", "local", "--service", "web")
    assert (logs.returncode, logs.stderr) == (1, "ecsdeploy logs: service 'web' is not in cluster 'local' (MISSING).\n")
    status = cli(project, "status", "--env", "local")
    assert status.returncode == 1
    assert status.stdout == "service web: service 'web' is not in cluster 'local' (MISSING).\n"


# -- help and usage ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["init", "rollback", "status", "logs"])
def test_help_explains_each_command(command: str, tmp_path: Path) -> None:
    done = cli(tmp_path, command, "--help")
    assert done.returncode == 0
    assert f"usage: ecsdeploy {command} " in done.stdout
    assert "--env NAME" in done.stdout and "Exit codes: 0 done, 1 failed, 4 usage error." in done.stdout


def test_usage_errors_exit_4(tmp_path: Path) -> None:
    done = cli(tmp_path, "logs", "--service", "web")
    assert (done.returncode, done.stderr) == (
        4, "ecsdeploy logs: The following arguments are required: --env; see ecsdeploy logs --help.\n")
    for lines in ("0", "x"):
        bad = cli(tmp_path, "status", "--env", "prod", "--lines", lines)
        assert bad.returncode == 4 and bad.stderr.startswith("ecsdeploy status: Argument --lines: expected a whole number")
    missing = cli(tmp_path, "status", "--env", "prod")
    assert (missing.returncode, missing.stderr) == (
        4, "ecsdeploy status: deployments/ecsdeploy.toml does not exist; pass --dir DIR or --config PATH, or write "
           "one with ecsdeploy init.\n")


@pytest.mark.parametrize("breaker", [False, True], ids=["in-progress", "failed"])
def test_rollback_of_a_rollout_that_does_not_end_returns_to_what_served_before_it(
        breaker: bool, aws: LocalAWS, project: Path) -> None:
    """The revision before is learned from the deployments ECS lists (the old one beside the PRIMARY), not from the
    family's order: web:3 is the newest ACTIVE revision below the crashing web:4, but web:1 served before it."""
    good = register(aws, web_document("web:1.0.0"))
    register(aws, web_document("web:1.1.0"))
    register(aws, web_document("web:1.2.0"))
    bad = register(aws, web_document("web:2.0.0"))
    config = {"deploymentCircuitBreaker": {"enable": True, "rollback": False}} if breaker else {}
    run_service(aws, "web", good, desired=2, deploymentConfiguration=config)
    aws.set_image_behaviour("web:2.0.0", "crash", exit_code=1)
    aws.client("ecs").update_service(cluster=CLUSTER, service="web", taskDefinition=bad)
    wanted = "FAILED" if breaker else "IN_PROGRESS"
    wait_for(f"web:4 {wanted} beside web:1, a task stopped", lambda: (
        (now := service(aws, "web"))["deployments"][0].get("rolloutState") == wanted
        and any(d["taskDefinition"] == good for d in now["deployments"][1:])
        and aws.client("ecs").list_tasks(cluster=CLUSTER, serviceName="web", desiredStatus="STOPPED")["taskArns"]))
    done = cli(with_web(project), "rollback", "--env", "local", "--service", "web")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rolling service web back: web:4 -> web:1" in done.stdout
    assert service(aws, "web")["taskDefinition"] == good


# -- blue/green, linear and canary services --------------------------------------------------------------------------


@pytest.mark.parametrize("config", [
    {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0},
    {"strategy": "LINEAR", "bakeTimeInMinutes": 0,
     "linearConfiguration": {"stepPercent": 50.0, "stepBakeTimeInMinutes": 0}},
    {"strategy": "CANARY", "bakeTimeInMinutes": 0,
     "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 0}},
], ids=lambda config: str(config["strategy"]))
def test_rollback_of_a_shifting_service_deploys_the_previous_revision_stage_by_stage(
        config: dict[str, Any], aws: LocalAWS, project: Path) -> None:
    first = register(aws, web_document("web:1.0.0"))
    second = register(aws, web_document("web:1.1.0"))
    run_service(aws, "web", second, desired=2, deploymentConfiguration=config)
    done = cli(with_web(project), "rollback", "--env", "local", "--service", "web")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (f"rolling service web back: web:2 -> web:1 (a new {config['strategy']} service deployment, followed "
            f"stage by stage)") in done.stdout
    stages = re.findall(r"service deployment \S+ of web:1: lifecycle stage (\w+) \(", done.stdout)
    assert stages and stages[-1] == "CLEAN_UP", done.stdout
    assert re.search(r"service deployment \S+ of web:1 SUCCESSFUL", done.stdout), done.stdout
    assert done.stdout.rstrip().splitlines()[-1].startswith("rolled service web back from web:2 to web:1 (deployment ")
    assert service(aws, "web")["taskDefinition"] == first


def test_status_shows_the_lifecycle_stage_and_traffic_weights_of_a_blue_green_deployment_in_progress(
        aws: LocalAWS, project: Path) -> None:
    first = register(aws, web_document("web:1.0.0"))
    second = register(aws, web_document("web:1.1.0"))
    run_service(aws, "web", first, desired=2,
                deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 60})
    ecs = aws.client("ecs")
    arn = ecs.update_service(cluster=CLUSTER, service="web", taskDefinition=second)["service"][
        "currentServiceDeployment"]
    # an hour's bake: the deployment stays there for the test's length
    wait_for("the deployment at BAKE_TIME", lambda: ecs.describe_service_deployments(
        serviceDeploymentArns=[arn])["serviceDeployments"][0].get("lifecycleStage") == "BAKE_TIME")
    done = cli(with_web(project), "status", "--env", "local")
    assert done.returncode == 0, done.stderr
    name = arn.rsplit("/", 1)[-1]
    assert (f"  service deployment {name} of web:2: stage BAKE_TIME, production traffic 100% / test 100% on web:2, "
            f"2 of 2 tasks running, 2 on the previous revision, status IN_PROGRESS\n") in done.stdout, done.stdout


def test_status_shows_no_stage_once_the_blue_green_deployment_ended(aws: LocalAWS, project: Path) -> None:
    run_service(aws, "web", register(aws, web_document("web:1.0.0")), desired=1,
                deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0})
    ecs = aws.client("ecs")
    arn = ecs.update_service(cluster=CLUSTER, service="web", taskDefinition=register(aws, web_document(
        "web:1.1.0")))["service"]["currentServiceDeployment"]
    wait_for("the deployment SUCCESSFUL", lambda: ecs.describe_service_deployments(
        serviceDeploymentArns=[arn])["serviceDeployments"][0].get("status") == "SUCCESSFUL")
    done = cli(with_web(project), "status", "--env", "local")
    assert done.returncode == 0, done.stderr
    assert "service deployment" not in done.stdout and "rolloutState COMPLETED" in done.stdout, done.stdout



@pytest.mark.parametrize("paused", [True, False], ids=["paused", "baking"])
def test_rollback_of_a_service_deployment_still_going_rolls_it_back_through_itself(
        paused: bool, aws: LocalAWS, project: Path) -> None:
    first = register(aws, web_document("web:1.0.0"))
    second = register(aws, web_document("web:1.1.0"))
    hooks = [{"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}] if paused else []
    run_service(aws, "web", first, desired=2, deploymentConfiguration={"strategy": "BLUE_GREEN",
                                                                       "bakeTimeInMinutes": 60})
    ecs = aws.client("ecs")
    ecs.update_service(cluster=CLUSTER, service="web", deploymentConfiguration={"lifecycleHooks": hooks})
    arn = ecs.update_service(cluster=CLUSTER, service="web", taskDefinition=second)["service"][
        "currentServiceDeployment"]
    wanted = "POST_TEST_TRAFFIC_SHIFT" if paused else "BAKE_TIME"
    wait_for(f"the deployment at {wanted}", lambda: ecs.describe_service_deployments(
        serviceDeploymentArns=[arn])["serviceDeployments"][0].get("lifecycleStage") == wanted)
    done = cli(with_web(project), "rollback", "--env", "local", "--service", "web")
    assert done.returncode == 0, done.stdout + done.stderr
    how = "through the pause: ContinueServiceDeployment ROLLBACK" if paused else "StopServiceDeployment ROLLBACK"
    assert how in done.stdout + done.stderr
    assert done.stdout.rstrip().splitlines()[-1].startswith(
        f"rolled service web back from web:2 to web:1 (service deployment {arn.rsplit('/', 1)[1]} ROLLBACK_SUCCESSFUL")
    assert ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]["status"] == \
        "ROLLBACK_SUCCESSFUL"
    assert service(aws, "web")["taskDefinition"] == first
