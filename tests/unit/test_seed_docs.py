"""docs/seed.md against the code: each table lists exactly the keys the seed parser reads, each behaviour exactly
its parameters and defaults, and every example parses as a seed (its templates written beside it)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pytest_ecsdeploy.emulator.runners.simulated import BEHAVIOURS
from pytest_ecsdeploy.emulator.seed import SEED_TABLES, parse_seed
from pytest_ecsdeploy.tomlfile import read_toml

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "docs" / "seed.md").read_text(encoding="utf-8")


def sections() -> dict[str, str]:
    """``### heading`` -> the text under it, the heading without backquotes and trailing remarks."""
    parts = re.split(r"^### (.+)$", TEXT, flags=re.M)
    return {re.sub(r"`| \(.*\)$", "", heading).strip(): body for heading, body in zip(parts[1::2], parts[2::2],
                                                                                        strict=True)}


def first_column(body: str) -> list[str]:
    """The first cell of each row of the first table in ``body``, backquotes dropped."""
    rows = [line for line in body.splitlines() if line.startswith("| `")]
    return [row.split("|")[1].strip().strip("`") for row in rows]


@pytest.mark.parametrize("table", list(SEED_TABLES))
def test_every_table_lists_exactly_the_keys_the_parser_reads(table: str) -> None:
    documented = sections()
    assert table in documented, f"docs/seed.md has no section ### {table}"
    assert first_column(documented[table].split("The behaviours and their parameters")[0]) == list(
        SEED_TABLES[table]), f"docs/seed.md: the keys of {table}, in the parser's order"


def test_every_behaviour_lists_its_parameters_and_defaults() -> None:
    body = sections()["[[image_behaviours]]"].split("The behaviours and their parameters")[1]
    rows = {row.split("|")[1].strip().strip("`"): row.split("|")[2] for row in body.splitlines()
            if row.startswith("| `")}
    assert list(rows) == list(BEHAVIOURS)
    for behaviour, params in BEHAVIOURS.items():
        named = re.findall(r"`(\w+)`(?: \(([^)]*)\))?", rows[behaviour])
        assert [name for name, _ in named] == list(params), behaviour
        for name, default in named:
            if isinstance(params[name], (int, float)) and not isinstance(params[name], bool):
                assert default == f"{params[name]:g}", f"{behaviour} {name}: the default is {params[name]}"


def examples() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", TEXT, re.S)


def seed_of(example: dict[str, Any]) -> dict[str, Any]:
    """The seed table of an example: an environment's ``seed``, or the whole file (``--seed FILE``)."""
    for environment in (example.get("environments") or {}).values():
        if "seed" in environment:
            return environment["seed"]  # type: ignore[no-any-return]
    return example


def test_there_is_an_example_per_runner() -> None:
    simulated, docker = examples()[-2:]
    before_simulated, after_simulated = TEXT.split(simulated)
    assert "**Simulated**" in before_simulated and "**Docker**" in after_simulated.split(docker)[0]
    assert "image_behaviours" in simulated and "image_behaviours" not in docker


@pytest.mark.parametrize("index", [0, 1, 2], ids=["codedeploy", "simulated", "docker"])
def test_every_example_is_a_valid_seed(tmp_path: Path, index: int) -> None:
    example = tmp_path / "example.toml"
    example.write_text(examples()[index], encoding="utf-8")
    seed = seed_of(read_toml(example, missing="it was just written", kind="a TOML file"))
    paths = [s["task_definition"] for s in (seed.get("services") or {}).values()]
    paths += list((seed.get("task_definitions") or {}).values())
    for path in paths:
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"family": target.stem, "containerDefinitions": [
            {"name": "app", "image": "placeholder", "portMappings": [{"containerPort": 8080}]}]}))

    parsed = parse_seed(seed, "docs/seed.md", tmp_path, {})

    assert parsed.repositories and parsed.services
