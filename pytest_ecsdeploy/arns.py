"""One parser each for the references a deployment handles: ARNs, ``family:revision`` and image references."""

from __future__ import annotations


def short_revision(arn: str | None) -> str:
    """``arn:aws:ecs:…:task-definition/web:7`` -> ``web:7``; ``-`` for None."""
    return arn.rsplit("/", 1)[-1] if arn else "-"
