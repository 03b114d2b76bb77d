"""The guides in docs/ name what the code has: every public method of each fixture, every hook, every Octopus
output variable, every fixture; a method added without a line in the guide fails here."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from pytest_ecsdeploy import fixtures, hookspecs
from pytest_ecsdeploy.actions.deploy import Deploy
from pytest_ecsdeploy.actions.ecr import Ecr
from pytest_ecsdeploy.actions.service import EcsService
from pytest_ecsdeploy.actions.smoke import Smoke
from pytest_ecsdeploy.actions.task import EcsTask
from pytest_ecsdeploy.actions.taskdef import TaskDefinition
from pytest_ecsdeploy.report.octopus import OctopusReporter, ServiceMessages
from pytest_ecsdeploy.report.record import ServiceRecord
from pytest_ecsdeploy.session import DEPLOY_FIXTURES

DOCS = Path(__file__).resolve().parents[2] / "docs"
#: Public members the plugin calls itself, not scenario code: the guide need not name them.
INTERNAL = {"finish", "close", "deploy_containers_of", "ctx", "last", "rollout", "rollback_rollout"}


def scenarios_guide() -> str:
    return (DOCS / "writing-scenarios.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("cls", [Ecr, TaskDefinition, EcsService, Deploy, EcsTask, Smoke],
                         ids=lambda c: c.__name__)
def test_every_public_method_and_its_parameters_are_in_the_guide(cls: type) -> None:
    text = scenarios_guide()
    members = {name: member for name, member in vars(cls).items()
               if (inspect.isfunction(member) or isinstance(member, property))
               and (not name.startswith("_") or name == "__call__") and name not in INTERNAL}
    missing = [name for name in members if name != "__call__" and not re.search(rf"[.`(]{name}\b", text)]
    for name, member in members.items():
        if inspect.isfunction(member):
            parameters = list(inspect.signature(member).parameters)[1:]
            missing += [f"{name}({p})" for p in parameters if not re.search(rf"\b{p}\b", text)]

    assert members and not missing, f"docs/writing-scenarios.md does not mention {cls.__name__}: {missing}"


def test_every_fixture_and_hook_is_in_the_guide() -> None:
    text = scenarios_guide()
    hooks = [name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("pytest_")]
    own_fixtures = [name for name in DEPLOY_FIXTURES if name != "ecsdeploy_context"]

    assert len(hooks) == 5
    assert [h for h in hooks if f"def {h}(" not in text] == []
    assert [f for f in own_fixtures if f"`{f}`" not in text] == []
    assert hasattr(fixtures, "localstack") and "`localstack`" in (DOCS / "ci.md").read_text(encoding="utf-8")


def test_every_octopus_output_variable_is_in_the_octopus_guide() -> None:
    lines: list[str] = []
    names: list[str] = []

    class Capture(ServiceMessages):
        def set_variable(self, name: str, value: str, sensitive: bool = False) -> None:
            names.append(name)

    OctopusReporter(Capture(lines.append)).service_finished(
        ServiceRecord(service="web", environment="prod", cluster="prod"), done=1, total=1)
    text = (DOCS / "octopus.md").read_text(encoding="utf-8")

    assert len(names) == 5
    for name in names:
        suffix = name.removeprefix("EcsDeploy.web.")
        assert f"`{suffix}`" in text and "Output.EcsDeploy.<service>.<name>" in text
