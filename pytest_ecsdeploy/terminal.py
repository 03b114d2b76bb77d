"""Writing to the real terminal from inside a test, past pytest's output capture.

Progress while a rollout is watched, check lines and Octopus service messages must reach the terminal as they
happen, not when the step ends; pytest captures a test's output (even ``sys.__stdout__``, with fd capture),
so every such line goes through :func:`write_lines`, which cleans it first (``redact.clean_block``: secrets
masked, ``##octopus`` defused); only Octopus's own service messages go out verbatim (:func:`write_service_messages`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from contextlib import nullcontext
from typing import Any

import pytest

from .redact import clean_block


def write_lines(config: pytest.Config, lines: Iterable[str], **markup: bool) -> None:
    """Write each line, cleaned (``redact.clean_block``), to the terminal now, with capture suspended; a no-op on
    xdist workers."""
    _write(config, (clean_block(line) for line in lines), markup)


def write_service_messages(config: pytest.Config, lines: Iterable[str]) -> None:
    """Write Octopus service messages (``report/octopus.py`` built them and cleaned their values) verbatim."""
    _write(config, lines, {})


def _write(config: pytest.Config, lines: Iterable[str], markup: dict[str, bool]) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: it has no terminal of its own
        return
    capman = config.pluginmanager.get_plugin("capturemanager")
    tr = config.pluginmanager.get_plugin("terminalreporter")
    with capman.global_and_fixture_disabled() if capman is not None else nullcontext():
        writer: Any = getattr(tr, "_tw", None)
        if writer is not None and writer.width_of_current_line:
            writer.line()  # after a progress marker such as "[100%]": start our lines on a line of their own
        for line in lines:
            if tr is not None:
                tr.write_line(line, **markup)
            else:
                sys.stdout.write(line + "\n")
        sys.stdout.flush()
