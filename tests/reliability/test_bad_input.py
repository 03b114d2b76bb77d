"""Bad input is refused in one clear sentence, with a non-zero exit, no traceback, and no write to AWS.

The corpus is data: ``bad_input/*.toml``, one ``[[case]]`` per mistake, grouped by where the mistake is
(the configuration file, the command line, task-definition templates, scenario files). A case starts from the
base project (``bad_input/base``) and changes it:

``id``
    the test id.
``args``
    the command line after ``pytest`` (default: ``deployments --env outside --image-tag 2.0.0``).
``env``
    extra environment variables of the run.
``files``
    path -> whole new content (``{endpoint}`` is the emulator's URL, ``{repeat:N:TEXT}`` is TEXT N times).
``encoding``
    the encoding ``files`` are written in (default UTF-8).
``fifo``
    paths replaced by a FIFO that nothing writes to.
``replace``
    ``[[case.replace]]`` tables ``{file, old, new}``: an edit of a base file; ``old`` must occur in it.
``expect``
    the sentence the run must end with: an ``fnmatch`` pattern that one line of the output matches (after the
    line's leading whitespace and any ``ERROR: `` prefix are removed).
``exit``
    the exit status, when a particular one is expected (4 for a usage error); any non-zero one otherwise.
``secret``
    a value the case hands the product that must not appear anywhere in the output.
``kind``
    the kind of fault the case is a member of (1 to 8, listed in :data:`KINDS`). Such a case also runs with
    ``--junitxml``, ``--ecsdeploy-report`` and ``--octopus``, and its ``secret`` must be absent from the JUnit file,
    the record and the decoded service messages too; no line of its output may hold ``##octopus`` other than as
    one well-formed service message.
``xfail``
    the product bug that makes this case fail (reported, not yet fixed): the case is a strict xfail.

Each case runs in a subprocess against the standing emulator, whose whole state (``LocalAWS.snapshot()``) must
be the same after the run as before it.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_ecsdeploy.emulator import LocalAWS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CORPUS = Path(__file__).parent / "bad_input"
DEFAULT_ARGS = ("deployments", "--env", "outside", "--image-tag", "2.0.0")
CASE_KEYS = {"id", "args", "env", "files", "replace", "expect", "exit", "secret", "xfail", "kind", "encoding", "fifo"}
#: The kinds of fault a case may be a member of; each has at least five cases.
KINDS = {
    1: "a secret printed because of where it stands",
    3: "a value that could forge an Octopus service message",
    4: "a value whose form AWS defines, checked when ecsdeploy.toml is read",
    5: "a task definition past ECS's limits",
    6: "a template file that is not a sane file",
    8: "an empty or malformed secret reference",
}
# Every case is refused before anything is written, so nothing rolls out for a faster clock to hasten; at wall speed
# the state the cases compare before and after cannot move by itself during a run.
EMULATOR_SPEED = 1.0
OUTPUT_ARGS = ("--junitxml", "junit.xml", "--ecsdeploy-report", "record.json", "--octopus")
_REPEAT = re.compile(r"\{repeat:(\d+):([^}]*)\}")


@dataclass(frozen=True)
class Case:
    id: str
    expect: str
    args: tuple[str, ...] = DEFAULT_ARGS
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    replace: tuple[tuple[str, str, str], ...] = ()
    exit: int | None = None
    secret: str | None = None
    xfail: str | None = None
    kind: int | None = None
    encoding: str = "utf-8"
    fifo: tuple[str, ...] = ()

    def apply(self, root: Path, endpoint: str) -> None:
        for name, old, new in self.replace:
            path = root / name
            text = path.read_text()
            assert old in text, f"{self.id}: {old!r} is not in the base {name}"
            path.write_text(text.replace(old, new, 1))
        for name, content in self.files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            content = _REPEAT.sub(lambda m: m.group(2) * int(m.group(1)), content.replace("{endpoint}", endpoint))
            path.write_text(content, encoding=self.encoding)
        for name in self.fifo:
            path = root / name
            path.unlink(missing_ok=True)
            os.mkfifo(path)


def load_cases() -> list[Case]:
    cases: list[Case] = []
    for source in sorted(CORPUS.glob("*.toml")):
        for raw in tomllib.loads(source.read_text())["case"]:
            unknown = set(raw) - CASE_KEYS
            assert not unknown, f"{source.name}: case {raw.get('id')!r} has unknown keys {sorted(unknown)}"
            cases.append(Case(
                id=f"{source.stem}-{raw['id']}",
                expect=raw["expect"],
                args=tuple(raw.get("args", DEFAULT_ARGS)),
                env=dict(raw.get("env", {})),
                files=dict(raw.get("files", {})),
                replace=tuple((r["file"], r["old"], r["new"]) for r in raw.get("replace", [])),
                exit=raw.get("exit"),
                secret=raw.get("secret"),
                xfail=raw.get("xfail"),
                kind=raw.get("kind"),
                encoding=raw.get("encoding", "utf-8"),
                fifo=tuple(raw.get("fifo", ())),
            ))
    return cases


CASES = load_cases()


def test_the_corpus_is_large_and_covers_every_kind_of_input() -> None:
    kinds = {case.id.split("-", 1)[0] for case in CASES}
    assert kinds == {"config", "command_line", "templates", "scenarios"}
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


def test_every_kind_of_fault_has_five_members() -> None:
    members = {kind: [case.id for case in CASES if case.kind == kind] for kind in KINDS}
    assert {case.kind for case in CASES} <= {None, *KINDS}
    assert all(len(ids) >= 5 for ids in members.values()), members


def sentence_lines(output: str) -> list[str]:
    lines = []
    for line in output.splitlines():
        line = line.strip()
        lines.append(line.removeprefix("ERROR: ").strip())
    return lines


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=c.xfail)) if c.xfail else c for c in CASES],
    ids=[c.id for c in CASES],
)
def test_bad_input_is_refused_before_anything_is_written(
    case: Case, standing_emulator: LocalAWS, scenario_project: Path, run_pytest: Any
) -> None:
    endpoint = standing_emulator.endpoint_url
    case.apply(scenario_project, endpoint)
    before = standing_emulator.snapshot()
    args = (*case.args, *OUTPUT_ARGS) if case.kind is not None else case.args
    try:
        outcome = run_pytest(endpoint, *args, env=case.env, timeout=90)
        after = standing_emulator.snapshot()
    finally:
        if standing_emulator.snapshot() != before:
            standing_emulator.reset()  # the next case starts from the seed again
    shown = f"exit {outcome.returncode}; output:\n{outcome.output}"
    assert outcome.returncode != 0, shown
    if case.exit is not None:
        assert outcome.returncode == case.exit, shown
    assert not outcome.tracebacks(), f"traceback lines {outcome.tracebacks()}; {shown}"
    matching = [line for line in sentence_lines(outcome.output) if fnmatch.fnmatchcase(line, case.expect)]
    assert matching, f"no line matches {case.expect!r}; {shown}"
    assert after == before, f"the run changed the emulator's state; {shown}"
    outputs = {"terminal": outcome.output}
    if case.kind is not None:
        assert not outcome.forged_lines(), f"forged service messages {outcome.forged_lines()}; {shown}"
        outputs["octopus"] = "\n".join(outcome.octopus_messages())
        for name in ("junit.xml", "record.json"):
            if (scenario_project / name).is_file():
                outputs[name] = (scenario_project / name).read_text()
    if case.secret is not None:
        leaks = [where for where, text in outputs.items() if case.secret in text]
        assert not leaks, f"the secret {case.secret!r} is in {leaks}; {shown}"
