"""The blue/green scenario of docs/strategies.md, run as written through pytester (in this process, whose tests
start no LocalAWS of their own: one runs per process) against the embedded local AWS, and its LINEAR and CANARY variants (the page's other
``deployment_configuration`` lines): a good deployment printed stage by stage, a crashing image that ECS rolls back
(and we do not roll back again), and a later step failing, which deploys the previous revision the blue/green way
and follows it to its end."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import speedup
from fakes import SCENARIO_RUN_OPTIONS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "strategies.md"
STAGES = ["PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
          "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"]

BEHAVIOURS = '''
import json
import urllib.request

import pytest


@pytest.fixture(scope="session", autouse=True)
def crashing_image(aws):
    body = json.dumps({"image": "web:2.0.0", "behaviour": "crash", "exit_code": 3}).encode()
    request = urllib.request.Request(aws.endpoint_url + "/_ecsdeploy/image-behaviour", data=body, method="POST")
    urllib.request.urlopen(request).read()
'''

LATER_STEP = '''

def test_the_new_version_answers():
    assert False, "the smoke check says no"
'''


def documented_configurations() -> dict[str, str]:
    """Strategy -> the seed's ``deployment_configuration = {...}`` line for it, as docs/strategies.md shows them
    before its CodeDeploy section: the scenario's own (BLUE_GREEN) and its LINEAR and CANARY variants."""
    text = DOCS.read_text(encoding="utf-8").split("## CodeDeploy blue/green", 1)[0]
    found = re.findall(r'^(deployment_configuration = \{ strategy = "(\w+)".*)$', text, flags=re.MULTILINE)
    return {strategy: line for line, strategy in found}


def documented_files() -> dict[str, str]:
    """``deployments/...`` path -> content, for each file docs/strategies.md shows in a fenced block before its
    CodeDeploy section (tests/e2e/test_docs_strategies.py runs that one)."""
    text = DOCS.read_text(encoding="utf-8").split("## CodeDeploy blue/green", 1)[0]  # that section has its own test
    found = re.findall(r"^`(deployments/[^`]+)`:\n\n```\w*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    return dict(found)


class Scenario:
    """The documented files in a pytester directory, the seed's ``deployment_configuration`` line the page gives for
    ``strategy``."""

    def __init__(self, pytester: pytest.Pytester, strategy: str) -> None:
        self.pytester, self.strategy = pytester, strategy
        configurations = documented_configurations()
        for path, content in documented_files().items():
            target = pytester.path / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.endswith("ecsdeploy.toml"):
                assert configurations["BLUE_GREEN"] in content
                content = content.replace(configurations["BLUE_GREEN"], configurations[strategy])
            target.write_text(content)

    def at_speed(self, speed: float) -> Scenario:
        """The environment's local AWS at ``speed`` simulated seconds per wall second (docs/ci.md): the rollouts
        the page's scenario waits for take a twentieth of the time at 20; every line checked here is printed at any
        speed (a stage line comes from each look that sees a new stage, the last look's included)."""
        config = self.pytester.path / "deployments" / "ecsdeploy.toml"
        config.write_text(speedup.at_speed(config.read_text(), speed))
        return self

    def add(self, path: str, content: str) -> Scenario:
        target = self.pytester.path / "deployments" / path
        target.write_text(target.read_text() + content if target.exists() else content)
        return self

    def run(self) -> pytest.RunResult:
        return self.pytester.runpytest(
            "deployments/", "--env", "local", "--image-tag", "2.0.0", "-p", "no:cacheprovider", *SCENARIO_RUN_OPTIONS, "-rA",
            "--ecsdeploy-report", str(self.pytester.path / "record.json"),
        )

    def record(self) -> dict[str, Any]:
        return json.loads((self.pytester.path / "record.json").read_text())["services"]["web"]  # type: ignore[no-any-return]


@pytest.fixture(params=["BLUE_GREEN", "LINEAR", "CANARY"])
def scenario(pytester: pytest.Pytester, request: pytest.FixtureRequest) -> Scenario:
    return Scenario(pytester, request.param)


def printed_stages(result: pytest.RunResult, revision: str) -> list[str]:
    """The stages printed for the service deployment of ``revision``, checked to be in ECS's order. The watch
    looks every quarter second or more, in wall time, so a stage as short as that may pass unseen on a loaded
    machine (the last look always prints the stage it ended in): the exact sequence is the conformance tests'
    (test_local_aws_bluegreen.py) and test_service_strategies_aws.py's, on a fake clock."""
    pattern = re.compile(rf"service deployment \S+ of {revision}: lifecycle stage (\w+) \(")
    printed = [m.group(1) for m in pattern.finditer(result.stdout.str())]
    steps = ("PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")  # both again at each LINEAR or CANARY step
    places = [STAGES.index(steps[1]) if stage in steps else STAGES.index(stage) for stage in printed]
    places = [place for i, place in enumerate(places) if i == 0 or place != places[i - 1]]
    assert places == sorted(set(places)), printed
    return printed


def test_the_documented_files_are_there() -> None:
    assert set(documented_files()) == {"deployments/ecsdeploy.toml", "deployments/web/taskdef.json",
                                       "deployments/test_web.py"}
    assert list(documented_configurations()) == ["BLUE_GREEN", "LINEAR", "CANARY"]


def test_the_documented_blue_green_scenario_deploys_stage_by_stage(scenario: Scenario) -> None:
    result = scenario.at_speed(20).run()
    result.assert_outcomes(passed=1)
    assert printed_stages(result, "web:2")
    result.stdout.fnmatch_lines([
        f"*[[]ok  ] pre  ecs_service.deploy: deployment controller ECS — {scenario.strategy} deployment strategy",
        "*[[]web] service deployment * of web:2: lifecycle stage *",
        "*[[]web] service deployment * of web:2 SUCCESSFUL (stage CLEAN_UP, production traffic 100% / test 100% on "
        "web:2, 2 of 2 tasks running, status SUCCESSFUL)",
        "*[[]ok  ] post ecs_service.deploy: every running task on the new revision — 2 of 2 RUNNING tasks on web:2",
    ])
    record = scenario.record()
    assert record["outcome"] == "deployed" and record["rollback"] is None and record["strategy"] == scenario.strategy


def test_a_crashing_image_is_rolled_back_by_ecs_once_and_the_run_fails(scenario: Scenario) -> None:
    # At wall speed: at a faster clock the watch can read tasks failing before the service's failedTasks shows
    # them, and give its own verdict instead of the circuit breaker's that this test checks.
    result = scenario.add("conftest.py", BEHAVIOURS).run()
    result.assert_outcomes(failed=1)
    assert set(printed_stages(result, "web:2")) <= {"PRE_SCALE_UP", "SCALE_UP"}  # it never got past SCALE_UP
    # A task may be seen first STOPPED, and the rollback's 0.3 s unseen, when the machine is loaded: what every
    # run prints is the failure of a task, then the verdict.
    result.stdout.fnmatch_lines([
        "*[[]web] task * (web:2) *: EssentialContainerExited: Essential container in task exited, app exited 3",
        "RolloutFailed: service 'web': deployment * of web:2 failed; rolled back to web:1.",
        "  why: service deployment * of web:2 failed and ECS rolled it back to web:1: ECS deployment circuit breaker: "
        "tasks failed to start",
        "  rollback: ECS rolled it back to web:1 (deployment * completed in *",
    ])
    assert "updating service web: web:2 -> web:1" not in result.stdout.str()  # no second rollback
    record = scenario.record()
    assert record["outcome"] == "rolled back" and record["rollback"]["outcome"] == "completed"
    assert record["rollback"]["to_revision"].endswith("web:1") and record["strategy"] == scenario.strategy


def test_a_later_step_failing_deploys_the_previous_revision_the_blue_green_way(scenario: Scenario) -> None:
    result = scenario.at_speed(20).add("test_web.py", LATER_STEP).run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*[[]web] WARNING: rolling service web back to web:1",
        "*[[]web] updating service web: web:2 -> web:1",
        "*[[]web] service deployment * of web:1: lifecycle stage *",
        "*[[]ok  ] post ecs_service.rollback: rolled back — rolled back to web:1 (deployment ecs-svc/* completed in *",
    ])
    assert printed_stages(result, "web:1")
    record = scenario.record()
    assert record["outcome"] == "rolled back" and record["rollback"]["outcome"] == "completed"
    assert record["strategy"] == scenario.strategy


PAUSE_HOOK = '''
import pytest


@pytest.fixture(scope="session", autouse=True)
def pause_hook(aws):
    aws.client("ecs").update_service(cluster="local", service="web", deploymentConfiguration={
        "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]})
'''

SMOKE_BEFORE_PRODUCTION = '''
import pytest

pytestmark = pytest.mark.ecs_service("web")


def test_green_up(deploy):
    assert deploy(until="test_traffic").is_paused


def test_green_answers(smoke):
    smoke.http("/version", contains="{answer}", traffic="test", within=1)


def test_shift_production(ecs_service):
    assert ecs_service.continue_deployment().is_completed
'''


@pytest.fixture
def test_listener(scenario: Scenario) -> Iterator[str]:
    """A local HTTP server standing in for the test listener (``test_url`` of ``[services.web]``): it answers
    ``web 2.0.0`` at once, so the smoke step's first attempt decides and it gives up after a second."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = b"web 2.0.0"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    config = scenario.pytester.path / "deployments" / "ecsdeploy.toml"
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    config.write_text(config.read_text().replace('repository = "web"\n', f'repository = "web"\ntest_url = "{url}"\n'))
    try:
        yield url
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(("answer", "outcome"), [("2.0.0", "deployed"), ("3.0.0", "rolled back")],
                         ids=["green-answers", "green-fails"])
def test_smoke_checks_on_test_traffic_before_production_moves(scenario: Scenario, test_listener: str, answer: str,
                                                              outcome: str) -> None:
    (scenario.pytester.path / "deployments" / "test_web.py").write_text(
        SMOKE_BEFORE_PRODUCTION.replace("{answer}", answer))
    result = scenario.at_speed(20).add("conftest.py", PAUSE_HOOK).run()
    record = scenario.record()
    assert record["outcome"] == outcome, result.stdout.str()
    assert record["strategy"] == scenario.strategy and record["serviceDeployment"]
    result.stdout.fnmatch_lines(["*[[]web] service deployment * of web:2 paused at POST_TEST_TRAFFIC_SHIFT: the new "
                                 "revision serves test traffic, production stays on the previous one *"])
    if outcome == "deployed":
        result.assert_outcomes(passed=3)
        result.stdout.fnmatch_lines(["*ContinueServiceDeployment CONTINUE for hook *",
                                     "*[[]web] service deployment * of web:2 SUCCESSFUL *"])
        assert [s["stage"] for s in record["stages"]][-1] == "CLEAN_UP"
    else:
        result.assert_outcomes(passed=1, failed=1, skipped=1)  # the steps after a failed one are skipped
        result.stdout.fnmatch_lines(["*through the pause: ContinueServiceDeployment ROLLBACK for hook *"])
        assert record["rollback"]["outcome"] == "completed" and record["rollback"]["to_revision"].endswith("web:1")
        assert record["stages"][-1]["status"] == "ROLLBACK_SUCCESSFUL"
