"""The blue/green example (examples/blue-green/) end to end, as ``make demo`` runs it: ``pytest examples/blue-green
--env local --image-tag 1.1.0`` in a subprocess, from a copy whose two listener ports are free ones and whose
local AWS runs faster than the example's own (tests/speedup.py). The new revision answers on the test listener
while production stays on the old one; then production moves. A smoke step failing at the pause rolls back
through the pause; a step failing after the deployment ended deploys the previous revision again, and that
rollback is not held at the service's PAUSE hook."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import SCENARIO_RUN_OPTIONS
from speedup import at_speed, speed_for, without_speed

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "blue-green"
PORTS = ("18090", "18091")  # the production and test listeners' listen_port / test_listen_port, and their URLs
SUMMARY_ROW = re.compile(r"^shop\s+(?P<change>\S+ -> \S+)\s+(?P<outcome>\S.*?)\s+\d+\.\ds\s+\d+/\d+", re.M)


def free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """examples/blue-green copied under tmp_path/blue-green, its fixed listener ports replaced by free ones."""
    root = tmp_path / "blue-green"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\nfilterwarnings = error\n")
    config = root / "ecsdeploy.toml"
    text = config.read_text()
    for port in PORTS:
        assert text.count(port) == 2, f"expected a listener port and its URL on {port} in {EXAMPLE}"
        text = text.replace(port, free_port())
    config.write_text(text)
    return root


def run(example: Path, runner: str = "simulated") -> tuple[int, str]:
    config = example / "ecsdeploy.toml"
    config.write_text(at_speed(without_speed(config.read_text()), speed_for(runner)))
    environ = {key: value for key, value in os.environ.items() if key not in ("SHOP_URL", "SHOP_TEST_URL")}
    process = subprocess.run([sys.executable, "-m", "pytest", "blue-green", "--env", "local", "--image-tag", "1.1.0",
                              *SCENARIO_RUN_OPTIONS],
                             cwd=example.parent, env={**environ, "ECSDEPLOY_RUNNER": runner}, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    return process.returncode, process.stdout


def shop_row(output: str) -> tuple[str, str]:
    table = output.split(" ecsdeploy summary ", 1)[-1]
    found = SUMMARY_ROW.search(table)
    assert found is not None, output[-3000:]
    return found["change"], found["outcome"]


def assert_green_served_test_traffic_first(output: str) -> None:
    # lasting lines only: a stage shorter than one look may go unprinted
    paused = output.index("at POST_TEST_TRAFFIC_SHIFT awaits ContinueServiceDeployment")
    smoke = output.index("/version -> 200")
    production = output.index("ContinueServiceDeployment CONTINUE for hook")
    assert paused < smoke < production, output[-4000:]


def test_the_example_pauses_for_smoke_checks_on_the_test_listener_then_moves_production(example: Path) -> None:
    status, output = run(example)
    assert status == 0, output[-4000:]
    assert shop_row(output) == ("shop:1 -> shop:2", "deployed")
    assert_green_served_test_traffic_first(output)
    assert re.search(r"shop: BLUE_GREEN service deployment \S+: .*POST_TEST_TRAFFIC_SHIFT.* SUCCESSFUL", output)
    assert "target group shop-green: 2 of 2 targets healthy" in output  # green's target group serves now


def test_a_failed_smoke_check_on_the_test_listener_rolls_back_through_the_pause(example: Path) -> None:
    scenario = example / "test_shop.py"
    text = scenario.read_text()
    assert 'contains=ecr.image().tag, traffic="test"' in text
    scenario.write_text(text.replace('contains=ecr.image().tag, traffic="test"',
                                     'contains="not this release", traffic="test", within=1'))
    status, output = run(example)
    assert status != 0
    change, outcome = shop_row(output)
    assert (change, outcome) == ("shop:1 -> shop:2", "rolled back (to shop:1)"), output[-4000:]
    assert "ContinueServiceDeployment CONTINUE" not in output  # production never moved to shop:2
    assert "ROLLBACK_SUCCESSFUL" in output


def test_a_step_failing_after_the_deployment_ended_rolls_back_without_waiting_at_the_pause(example: Path) -> None:
    scenario = example / "test_shop.py"
    scenario.write_text(scenario.read_text() + '\n\ndef test_a_later_check():\n    assert False, "the later check says no"\n')
    status, output = run(example)
    assert status != 0
    assert shop_row(output) == ("shop:1 -> shop:2", "rolled back (to shop:1)"), output[-4000:]
    assert "a rollback is not held at a pause" in output
    assert_green_served_test_traffic_first(output)


@pytest.mark.docker
def test_the_example_on_real_containers(example: Path) -> None:
    status, output = run(example, runner="docker")
    assert status == 0, output[-4000:]
    assert shop_row(output) == ("shop:1 -> shop:2", "deployed")
    assert_green_served_test_traffic_first(output)
