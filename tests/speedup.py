"""Copies of the example projects and the docs' scenarios run faster than the originals: their embedded local AWS
at a faster clock (the emulator environment's ``speed`` key). The examples themselves stay at speed 1, the way
their README and ``make demo`` run them; only a test's copy is sped up.

``SIMULATED`` suits tasks the emulator simulates, whose every wait is on its clock. ``DOCKER`` suits tasks that
are real containers: they start, answer and stop in wall time, so a faster clock leaves them less of it for each
simulated second (health-check grace, stop timeouts) and too fast a one fails them.
"""

from __future__ import annotations

import re

SIMULATED = 20.0
DOCKER = 4.0

_SPEED_LINE = re.compile(r"^speed\s*=.*\n", re.MULTILINE)


def at_speed(toml_text: str, speed: float, environment: str = "local") -> str:
    """``toml_text`` (an ecsdeploy.toml) with ``speed = <speed>`` in its ``[environments.<environment>]`` table,
    which must be there once and not set a speed already."""
    header = f"[environments.{environment}]\n"
    assert toml_text.count(header) == 1, f"expected one {header.strip()} table"
    table = toml_text.split(header, 1)[1].split("\n[", 1)[0]
    assert not _SPEED_LINE.search(table), f"{header.strip()} sets a speed already"
    return toml_text.replace(header, f"{header}speed = {speed:g}\n")


def without_speed(toml_text: str) -> str:
    """``toml_text`` with its ``speed`` lines removed: an environment given an ``endpoint_url`` takes the speed of
    the emulator there and refuses one of its own."""
    return _SPEED_LINE.sub("", toml_text)


def speed_for(runner: str) -> float:
    """The speed for tasks run by ``runner`` (``simulated`` or ``docker``)."""
    return DOCKER if runner == "docker" else SIMULATED
