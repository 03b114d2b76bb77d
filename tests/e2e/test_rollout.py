"""Whole scenario files run through pytester (in a subprocess: one LocalAWS per process) against the embedded
local AWS: a rollout to completion, crashing images with and without the circuit breaker, a later step failing,
a timeout, a foreign deployment in progress, a deployment of this revision in progress, a re-run of a live
deployment, --plan, more than 100 tasks, and the extension hooks.

Most runs use ``--env local`` (the LocalAWS starts inside the run, seeded from ecsdeploy.toml, its clock at
``speed`` 20 but where the output must show each task RUNNING); a conftest in the scenario directory
sets image behaviours through the control route and, at the end of the session, writes what the service looks
like (``state.json``). Runs that need the state before and after, or a clock that stands still, use an
``emulator`` environment pointing at a LocalAWS started here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import SCENARIO_RUN_OPTIONS, DrivenClock

from pytest_ecsdeploy.emulator import LocalAWS

TASK_DEFINITION = {
    "family": "web",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [
        {"name": "app", "image": "web:placeholder", "essential": True,
         "portMappings": [{"containerPort": 8080, "protocol": "tcp"}]},
        {"name": "log_router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
         "essential": True, "memoryReservation": 50},
    ],
}

SEED = """
[environments.local.seed]
clusters = ["local"]

[environments.local.seed.repositories.web]
tags = ["1.0.0", "2.0.0", "3.0.0"]

[environments.local.seed.services.web]
task_definition = "web/taskdef.json"
images = {{ app = "web:1.0.0" }}
desired_count = {desired}
deployment_configuration = {{ {deployment} }}
"""

CONFIG = """
[defaults]
region = "us-east-1"
wait_timeout = 60

[environments.local]
backend = "emulator"
cluster = "local"
runner = "simulated"
speed = {speed}
{seed}
[environments.outside]
backend = "emulator"
cluster = "local"
endpoint_url = "{endpoint}"

[services.web]
repository = "web"
task_definition = "web/taskdef.json"
"""

CONFTEST = '''
import json
import urllib.request
from pathlib import Path

import pytest

from pytest_ecsdeploy.session import SESSION

BEHAVIOURS = {behaviours!r}
HERE = Path(__file__).parent


@pytest.fixture(scope="session", autouse=True)
def image_behaviours(aws):
    for image, (behaviour, params) in BEHAVIOURS.items():
        body = json.dumps({{"image": image, "behaviour": behaviour, **params}}).encode()
        request = urllib.request.Request(aws.endpoint_url + "/_ecsdeploy/image-behaviour", data=body, method="POST")
        urllib.request.urlopen(request).read()


def pytest_sessionfinish(session):
    ecsdeploy = session.config.stash.get(SESSION, None)
    if ecsdeploy is None or ecsdeploy.run._aws is None:
        return
    run = ecsdeploy.run
    ecs = run.aws().client("ecs")
    service = ecs.describe_services(cluster="local", services=["web"])["services"][0]
    arns = ecs.list_tasks(cluster="local", serviceName="web", desiredStatus="RUNNING", maxResults=100)
    tasks = []
    while True:
        if arns["taskArns"]:
            tasks += ecs.describe_tasks(cluster="local", tasks=arns["taskArns"])["tasks"]
        if not arns.get("nextToken"):
            break
        arns = ecs.list_tasks(cluster="local", serviceName="web", desiredStatus="RUNNING", maxResults=100,
                              nextToken=arns["nextToken"])
    running = {{}}
    for task in tasks:
        if task["lastStatus"] == "RUNNING":
            name = task["taskDefinitionArn"].rsplit("/", 1)[-1]
            running[name] = running.get(name, 0) + 1
    state = {{
        "taskDefinition": service["taskDefinition"].rsplit("/", 1)[-1],
        "deployments": [
            {{"id": d["id"], "status": d["status"], "rolloutState": d.get("rolloutState"),
              "reason": d.get("rolloutStateReason"), "taskDefinition": d["taskDefinition"].rsplit("/", 1)[-1]}}
            for d in service["deployments"]
        ],
        "running": running,
        "revisions": [a.rsplit("/", 1)[-1] for a in ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"]],
    }}
    (HERE / "state.json").write_text(json.dumps(state))
'''

STEPS = '''
import pytest

pytestmark = pytest.mark.ecs_service("web")


def test_image_is_published(ecr):
    ecr.image()


def test_register_revision(task_definition, ecr):
    task_definition.with_image("app", ecr.image()).register()


def test_roll_out(ecs_service, task_definition):
    rollout = ecs_service.deploy(task_definition.registered{deploy_args})
    assert rollout.is_completed, rollout
    assert ecs_service.is_steady and ecs_service.revision == task_definition.registered.arn


def test_after_the_rollout(ecs_service):
    {after}
'''

ONE_LINE = '''
import pytest

pytestmark = pytest.mark.ecs_service("web")


def test_deploy(deploy):
    rollout = deploy()
    print("ROLLOUT", rollout.outcome)
'''


class Project:
    """A scenario directory in pytester's tmp dir, run in a subprocess."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.dir = pytester.path / "deployments"
        self.dir.joinpath("web").mkdir(parents=True)
        self.dir.joinpath("web", "taskdef.json").write_text(json.dumps(TASK_DEFINITION, indent=2))

    def write(self, *, scenario: str = STEPS, after: str = "pass", deploy_args: str = "", desired: int = 2,
              deployment: str = "", behaviours: dict[str, tuple[str, dict[str, Any]]] | None = None,
              endpoint: str = "http://127.0.0.1:9", extra_conftest: str = "", speed: float = 20) -> Project:
        seed = SEED.format(desired=desired, deployment=deployment)
        self.dir.joinpath("ecsdeploy.toml").write_text(CONFIG.format(seed=seed, endpoint=endpoint, speed=speed))
        self.dir.joinpath("conftest.py").write_text(CONFTEST.format(behaviours=behaviours or {}) + extra_conftest)
        self.dir.joinpath("test_web.py").write_text(scenario.format(after=after, deploy_args=deploy_args))
        return self

    def run(self, *args: str, env: str = "local", tag: str = "2.0.0") -> pytest.RunResult:
        return self.pytester.runpytest_subprocess(
            "deployments", "--env", env, "--image-tag", tag, "-p", "no:cacheprovider", *SCENARIO_RUN_OPTIONS, "-rA",
            "--ecsdeploy-report", str(self.report_path), *args, timeout=300,
        )

    @property
    def report_path(self) -> Path:
        return self.pytester.path / "record.json"

    def record(self) -> dict[str, Any]:
        return json.loads(self.report_path.read_text())["services"]["web"]  # type: ignore[no-any-return]

    def state(self) -> dict[str, Any]:
        return json.loads(self.dir.joinpath("state.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture
def project(pytester: pytest.Pytester) -> Project:
    return Project(pytester)


def steady_on(state: dict[str, Any], revision: str, count: int = 2) -> bool:
    (only,) = state["deployments"]
    return only["rolloutState"] == "COMPLETED" and state["running"] == {revision: count}


def no_traceback(result: pytest.RunResult) -> None:
    text = result.stdout.str()
    assert "Traceback" not in text and "def deploy(" not in text and "raise " not in text


# -- runs that start their own LocalAWS (--env local) -----------------------------------------------------------


def test_a_rollout_completes_prints_what_happens_and_fills_the_record(project: Project) -> None:
    # At wall speed: the watch prints a task RUNNING from a task read, and at a faster clock the look that finds the
    # rollout completed may be the first after the tasks started, which reads none.
    result = project.write(after="assert ecs_service.rollout.deployment_id", speed=1).run()
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([
        "*[[]web] updating service web: web:1 -> web:2",
        "*[[]web] deployment ecs-svc/* of web:2 started",
        "*[[]web] (service web) has started 2 tasks: (task *) (task *).",
        "*[[]web] task * (web:2) RUNNING",
        "*[[]web] (service web) (deployment ecs-svc/*) deployment completed.",
        "*[[]web] deployment ecs-svc/* of web:2 completed (2 of 2 tasks running on web:2, 0 failed (threshold 3), "
        "rolloutState COMPLETED)",
        "*[[]ok  ] post ecs_service.deploy: runningCount == desiredCount — 2 of 2 tasks running",
        "*[[]ok  ] post ecs_service.deploy: every running task on the new revision — 2 of 2 RUNNING tasks on web:2",
        "*ecsdeploy summary*",
        "service  from -> to      outcome   duration  checks ok/failed",
        "web      web:1 -> web:2  deployed  *",
    ])
    record = project.record()
    assert record["outcome"] == "deployed"
    assert [r.rsplit("/", 1)[-1] for r in (record["revision"]["before"], record["revision"]["after"])] == ["web:1", "web:2"]
    assert record["image"]["before"].endswith("/web:1.0.0") and "/web@sha256:" in record["image"]["after"]
    assert record["rollback"] is None and record["deploymentId"].startswith("ecs-svc/")
    assert {"update", "steady"} <= set(record["timings"])
    assert any(e["message"].endswith("deployment completed.") for e in record["events"])
    assert steady_on(project.state(), "web:2")


@pytest.mark.parametrize(
    ("deployment", "rolled_back_by"),
    [
        ("circuit_breaker = true, rollback = true", "ecs"),
        ("circuit_breaker = true, rollback = false", "us"),
        ("circuit_breaker = false", "us"),
    ],
    ids=["breaker-with-ecs-rollback", "breaker-without-rollback", "no-breaker"],
)
def test_a_crashing_image_fails_is_rolled_back_once_and_the_run_fails(
    project: Project, deployment: str, rolled_back_by: str
) -> None:
    result = project.write(deployment=deployment, behaviours={"web:2.0.0": ("crash", {"exit_code": 3})}).run()
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    assert result.ret == 1
    no_traceback(result)
    result.stdout.fnmatch_lines([
        # "stopping" when it is read while its other container still runs, "STOPPED" when read later
        "*[[]web] task * (web:2) [sS][tT][oO][pP]*: EssentialContainerExited: Essential container in task exited, "
        "app exited 3*",
        "*SKIPPED*test_web.py:*: an earlier step failed: test_roll_out",
    ])
    if rolled_back_by == "ecs":
        result.stdout.fnmatch_lines([
            "RolloutFailed: service 'web': deployment ecs-svc/* of web:2 failed; rolled back to web:1.",
            # ECS's reason: the failed deployment's rolloutStateReason, or its service event once it drained away
            "  why: ECS's circuit breaker failed deployment ecs-svc/* of web:2 (*: tasks failed to start) and is "
            "rolling the service back to web:1 (deployment ecs-svc/*)",
            "  rollback: ECS rolled it back to web:1 (deployment ecs-svc/* completed in *s)",
        ])
        assert "updating service web: web:2 -> web:1" not in result.stdout.str()  # no second rollback
    else:
        result.stdout.fnmatch_lines([
            "RolloutFailed: service 'web': deployment ecs-svc/* of web:2 failed; rolled back to web:1.",
            "  why: deployment ecs-svc/* of web:2 failed: * (* of 2 tasks running on web:2, * failed (threshold 3), "
            "rolloutState *)",
            "  rollback: rolled back to web:1 (deployment ecs-svc/* completed in *s)",
        ])
        result.stdout.fnmatch_lines(["*[[]web] updating service web: web:2 -> web:1"])
    result.stdout.fnmatch_lines(["web      web:1 -> web:2  rolled back (to web:1)  *s  */*, rollback */0", "web: *"])
    record = project.record()
    assert record["outcome"] == "rolled back"
    assert record["rollback"]["outcome"] == "completed"
    assert record["rollback"]["to_revision"].endswith("web:1") and record["rollback"]["from_revision"].endswith("web:2")
    assert "rollback" in record["timings"]
    state = project.state()
    assert steady_on(state, "web:1")
    (final,) = state["deployments"]
    assert final["id"] == record["rollback"]["deployment_id"]  # the one rollback that happened, followed to its end
    assert state["revisions"] == ["web:1", "web:2"]  # a rollback deregisters nothing


def test_a_later_step_failing_rolls_the_service_back(project: Project) -> None:
    result = project.write(after='assert ecs_service.revision is None, "the smoke check says no"').run()
    result.assert_outcomes(passed=3, failed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "*[[]web] WARNING: rolling service web back to web:1",
        "*[[]web] (service web) (deployment ecs-svc/*) deployment completed.",
        "*[[]ok  ] post ecs_service.rollback: rolled back — rolled back to web:1 (deployment ecs-svc/* completed in *",
    ])
    record = project.record()
    assert (record["outcome"], record["reason"]) == ("rolled back", "step test_after_the_rollout failed after the rollout")
    assert record["rollback"]["outcome"] == "completed"
    assert steady_on(project.state(), "web:1")


def test_no_rollback_leaves_the_failed_service_as_it_is(project: Project) -> None:
    result = project.write(after="assert False").run("--no-rollback")
    result.assert_outcomes(passed=3, failed=1)
    assert "rolling service web back" not in result.stdout.str()
    record = project.record()
    assert (record["outcome"], record["rollback"]) == ("failed", None)
    assert steady_on(project.state(), "web:2")


def test_no_rollback_after_a_failed_rollout(project: Project) -> None:
    result = project.write(behaviours={"web:2.0.0": ("pull-error", {})}).run("--no-rollback")
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    result.stdout.fnmatch_lines([
        "*[[]web] task * (web:2) *: TaskFailedToStart: CannotPullContainerError: * not found",
        "RolloutFailed: service 'web': deployment ecs-svc/* of web:2 failed; not rolled back.",
        "  why: deployment ecs-svc/* of web:2 failed: * of its tasks stopped with failures (threshold 3), the last "
        "task * (web:2) with TaskFailedToStart: CannotPullContainerError: *",
        "  rollback: not rolled back (--no-rollback)",
    ])
    assert project.record()["outcome"] == "failed"
    state = project.state()
    assert state["taskDefinition"] == "web:2" and state["running"] == {"web:1": 2}


def test_more_than_100_tasks(project: Project) -> None:
    result = project.write(desired=120).run()
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([
        "*[[]ok  ] post ecs_service.deploy: runningCount == desiredCount — 120 of 120 tasks running",
        "*[[]ok  ] post ecs_service.deploy: every running task on the new revision — 120 of 120 RUNNING tasks on web:2",
    ])
    assert steady_on(project.state(), "web:2", count=120)


HOOKS = '''

def pytest_ecsdeploy_pre_checks(service, environment, action):
    if action == "ecs_service.deploy":
        return [("change window open", {window_open}, f"{{service.name}} in {{environment.name}}")]


def pytest_ecsdeploy_post_checks(service, environment, action):
    return [("dashboards green", True, action)]


def pytest_ecsdeploy_deployed(record):
    (HERE / "deployed.txt").write_text(f"{{record.service}} {{record.outcome}} {{record.revision_after.rsplit('/', 1)[-1]}}")


def pytest_ecsdeploy_rolled_back(record):
    (HERE / "rolled_back.txt").write_text(f"{{record.service}} {{record.outcome}} {{record.rollback.outcome}}")
'''


def test_hooks_from_a_conftest_are_called(project: Project) -> None:
    result = project.write(scenario=ONE_LINE, extra_conftest=HOOKS.format(window_open=True)).run()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "*[[]ok  ] pre  ecs_service.deploy: change window open — web in local",
        "*[[]ok  ] post ecs_service.deploy: dashboards green — ecs_service.deploy",
    ])
    assert project.dir.joinpath("deployed.txt").read_text() == "web deployed web:2"
    assert not project.dir.joinpath("rolled_back.txt").exists()


def test_the_rolled_back_hook_and_a_failing_pre_check_hook(project: Project) -> None:
    project.write(scenario=ONE_LINE + "\n\ndef test_smoke():\n    assert False\n", extra_conftest=HOOKS.format(window_open=True))
    project.run().assert_outcomes(passed=1, failed=1)
    assert project.dir.joinpath("rolled_back.txt").read_text() == "web rolled back completed"
    assert project.dir.joinpath("deployed.txt").exists()  # deployed first, then rolled back

    project.dir.joinpath("rolled_back.txt").unlink()
    project.dir.joinpath("deployed.txt").unlink()
    project.write(scenario=ONE_LINE, extra_conftest=HOOKS.format(window_open=False))
    result = project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["CheckFailed: check failed: change window open: web in local"])
    assert project.state()["taskDefinition"] == "web:1"  # nothing was updated
    assert not project.dir.joinpath("deployed.txt").exists() and not project.dir.joinpath("rolled_back.txt").exists()
    assert project.record()["outcome"] == "failed"


# -- runs against a LocalAWS started here (environment "outside") ---------------------------------------------


def outside_seed(desired: int = 2) -> dict[str, Any]:
    return {
        "clusters": ["local"],
        "repositories": {"web": {"tags": ["1.0.0", "2.0.0"]}},
        "services": {"web": {"task_definition": "web/taskdef.json", "images": {"app": "web:1.0.0"},
                             "desired_count": desired}},
    }


@pytest.fixture(scope="module")
def outside_clock() -> Iterator[DrivenClock]:
    """The clock of ``outside_aws``: 20 times wall time while running."""
    clock = DrivenClock(speed=20)
    yield clock
    clock.close()


@pytest.fixture(scope="module")
def outside_aws(tmp_path_factory: pytest.TempPathFactory, outside_clock: DrivenClock) -> Iterator[LocalAWS]:
    """A LocalAWS in this process for the module's ``outside`` runs (started once: a start costs more than a reset),
    seeded from its own copy of the task definition."""
    base = tmp_path_factory.mktemp("outside")
    (base / "web").mkdir()
    (base / "web" / "taskdef.json").write_text(json.dumps(TASK_DEFINITION, indent=2))
    with LocalAWS(seed=outside_seed(), runner="simulated", base_dir=base, clock=outside_clock) as local:
        yield local


@pytest.fixture
def outside(project: Project, outside_aws: LocalAWS, outside_clock: DrivenClock) -> LocalAWS:
    """The module's LocalAWS back at its seed, its clock running; the scenario's environment ``outside`` points at
    it."""
    outside_clock.run()
    outside_aws.reset()
    project.write(scenario=ONE_LINE, endpoint=outside_aws.endpoint_url)
    return outside_aws


@pytest.fixture
def frozen(project: Project, outside: LocalAWS, outside_clock: DrivenClock) -> tuple[LocalAWS, DrivenClock]:
    """The module's LocalAWS back at its seed, its clock standing still until the test moves it: nothing rolls out
    by itself."""
    outside_clock.freeze()
    return outside, outside_clock


def service_of(local: LocalAWS) -> dict[str, Any]:
    return local.client("ecs").describe_services(cluster="local", services=["web"])["services"][0]  # type: ignore[no-any-return]


def register_web(local: LocalAWS, tag: str) -> str:
    payload = json.loads(json.dumps(TASK_DEFINITION))
    uri = local.client("ecr").describe_repositories(repositoryNames=["web"])["repositories"][0]["repositoryUri"]
    digest = local.client("ecr").describe_images(repositoryName="web", imageIds=[{"imageTag": tag}])["imageDetails"][0]["imageDigest"]
    payload["containerDefinitions"][0]["image"] = f"{uri}@{digest}"
    return str(local.client("ecs").register_task_definition(**payload)["taskDefinition"]["taskDefinitionArn"])


def test_plan_changes_nothing_and_says_what_it_would_do(project: Project, outside: LocalAWS) -> None:
    before = outside.snapshot()
    result = project.run("--plan", env="outside")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "*[[]web] plan: would update service web: web:1 -> web:(planned) (desiredCount 2)",
        "ROLLOUT PLANNED",
        "web      web:1 -> (new revision)  planned  *",
    ])
    assert outside.snapshot() == before


def test_a_rerun_of_a_live_deployment_registers_and_updates_nothing(project: Project, outside: LocalAWS) -> None:
    project.run(env="outside").assert_outcomes(passed=1)
    after_first = service_of(outside)
    state = outside.snapshot()
    result = project.run(env="outside")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "*[[]web] task definition unchanged: web:2 is already running",
        "*[[]web] service web already runs web:2; nothing to update",
        "ROLLOUT UNCHANGED",
        "web      web:2 -> web:2  unchanged  *",
    ])
    assert outside.snapshot() == state
    assert service_of(outside)["deployments"] == after_first["deployments"]
    assert project.record()["outcome"] == "unchanged"


def test_force_new_deployment_of_the_live_revision_starts_one(project: Project, outside: LocalAWS) -> None:
    project.run(env="outside").assert_outcomes(passed=1)
    first = service_of(outside)["deployments"][0]["id"]
    project.write(scenario=ONE_LINE.replace("deploy()", "deploy(force_new_deployment=True)"), endpoint=outside.endpoint_url)
    result = project.run(env="outside")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*[[]web] updating service web: web:2 -> web:2 (forceNewDeployment)", "ROLLOUT COMPLETED"])
    (final,) = service_of(outside)["deployments"]
    assert final["id"] != first and final["rolloutState"] == "COMPLETED"


def test_a_foreign_deployment_in_progress_is_refused(project: Project, frozen: tuple[LocalAWS, DrivenClock]) -> None:
    local, _ = frozen
    app = {**TASK_DEFINITION["containerDefinitions"][0], "image": "web:someone-elses"}  # type: ignore[dict-item]
    local.client("ecs").register_task_definition(**{**TASK_DEFINITION, "containerDefinitions": [app]})
    deployments = local.client("ecs").update_service(cluster="local", service="web",
                                                     taskDefinition="web:2")["service"]["deployments"]
    result = project.run(env="outside")
    result.assert_outcomes(failed=1)
    no_traceback(result)
    result.stdout.fnmatch_lines([
        f"CheckFailed: check failed: no other deployment in progress: deployment {deployments[0]['id']} of web:2 is "
        f"IN_PROGRESS on service 'web' (0 of 2 tasks running); wait for it to end (or stop it) and run again",
    ])
    assert [d["id"] for d in service_of(local)["deployments"]] == [d["id"] for d in deployments]


def test_a_timeout_fails_and_the_rollback_is_watched_the_same_way(
    project: Project, frozen: tuple[LocalAWS, DrivenClock]
) -> None:
    local, _ = frozen
    result = project.run("--wait-timeout", "1", env="outside")
    result.assert_outcomes(failed=1)
    no_traceback(result)
    result.stdout.fnmatch_lines([
        "RolloutFailed: service 'web': deployment ecs-svc/* of web:2 did not complete in time; its rollback failed "
        "too.",
        "  why: deployment ecs-svc/* of web:2 did not complete within 1 s (0 of 2 tasks running on web:2, * pending, "
        "0 failed (threshold 3), rolloutState IN_PROGRESS)",
        "  rollback: the rollback to web:1 failed too: deployment ecs-svc/* of web:1 did not complete within 1 s (*)",
        "web      web:1 -> web:2  rollback failed (to web:1)  *",
    ])
    record = project.record()
    assert record["outcome"] == "rollback failed" and record["rollback"]["outcome"] == "timed out"
    primary = service_of(local)["deployments"][0]
    assert primary["taskDefinition"].endswith("web:1") and primary["rolloutState"] == "IN_PROGRESS"


def test_a_timeout_without_rollback(project: Project, frozen: tuple[LocalAWS, DrivenClock]) -> None:
    local, _ = frozen
    result = project.run("--wait-timeout", "1", "--no-rollback", env="outside")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["RolloutFailed: service 'web': deployment ecs-svc/* of web:2 did not complete in "
                                 "time; not rolled back.",
                                 "  why: deployment ecs-svc/* of web:2 did not complete within 1 s (*)",
                                 "  rollback: not rolled back (--no-rollback)"])
    assert service_of(local)["deployments"][0]["taskDefinition"].endswith("web:2")


def test_a_deployment_of_this_revision_in_progress_is_waited_for(
    project: Project, frozen: tuple[LocalAWS, DrivenClock]
) -> None:
    local, clock = frozen
    revision = register_web(local, "2.0.0")  # what the scenario will register for --image-tag 2.0.0
    started = local.client("ecs").update_service(cluster="local", service="web", taskDefinition=revision)
    ours = started["service"]["deployments"][0]["id"]
    marker = project.dir / "adopting"
    project.dir.joinpath("conftest.py").write_text(project.dir.joinpath("conftest.py").read_text() + textwrap.dedent(f'''

        def pytest_ecsdeploy_pre_checks(service, environment, action):
            if action == "ecs_service.deploy":
                Path({str(marker)!r}).write_text("pre-checks passed")
    '''))
    with open(project.pytester.path / "out.txt", "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "deployments", "--env", "outside", "--image-tag", "2.0.0", "-p",
             "no:cacheprovider", *SCENARIO_RUN_OPTIONS, "-rA"], cwd=project.pytester.path, stdout=out, stderr=subprocess.STDOUT,
        )
        moving = threading.Event()

        def move_clock() -> None:
            while process.poll() is None:
                if moving.is_set():
                    clock.advance(0.5)  # 25 times wall time: the rollout's 2 simulated seconds in a few ticks
                time.sleep(0.02)

        mover = threading.Thread(target=move_clock)
        mover.start()
        try:
            deadline = time.monotonic() + 120  # a guard against a run that never gets there, not a timing
            while not marker.exists() and process.poll() is None:
                assert time.monotonic() < deadline, (project.pytester.path / "out.txt").read_text()
                time.sleep(0.02)
            moving.set()  # the scenario has chosen to wait: let the deployment roll out
            assert process.wait(timeout=120) == 0, (project.pytester.path / "out.txt").read_text()
        finally:
            process.kill()
            mover.join()
    output = (project.pytester.path / "out.txt").read_text()
    assert f"deployment {ours} of web:2 is already in progress; waiting for it" in output
    assert "ROLLOUT COMPLETED" in output and "updating service" not in output
    (final,) = service_of(local)["deployments"]
    assert final["id"] == ours and final["rolloutState"] == "COMPLETED"
