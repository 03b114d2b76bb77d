"""The docs that could drift from the code are checked against it."""

from __future__ import annotations

from pathlib import Path

from pytest_ecsdeploy.config import reference_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_configuration_reference_is_generated_from_the_schema() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    start = text.index("<!-- generated from pytest_ecsdeploy/config.py")
    end = text.index("<!-- end of generated section -->")
    generated = text[text.index("\n", start) + 1 : end]
    assert generated == reference_markdown(), "regenerate: python -c 'from pytest_ecsdeploy.config import reference_markdown; print(reference_markdown())'"
