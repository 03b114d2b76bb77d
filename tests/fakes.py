"""Fakes the tests share: a client that fails chosen calls, and a clock that only sleeping moves.

Importable from any test module (``from fakes import Flaky, FakeClock``): pyproject.toml puts ``tests/`` on the
path, since the test folders are not packages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Flaky:
    """A boto3 client that fails chosen calls before they leave: ``faults[operation]`` is a list, one entry per
    call (per pagination for a paginated one), of an exception to raise or None to let the call through.
    ``calls`` keeps every operation asked for, in order."""

    def __init__(self, client: Any, faults: dict[str, list[BaseException | None]]) -> None:
        self.client = client
        self.faults = faults
        self.calls: list[str] = []

    def fault(self, operation: str) -> None:
        self.calls.append(operation)
        plan = self.faults.get(operation)
        fault = plan.pop(0) if plan else None
        if fault is not None:
            raise fault

    def get_paginator(self, operation: str) -> Any:
        flaky, paginator = self, self.client.get_paginator(operation)

        class Paginator:
            def paginate(self, **params: Any) -> Any:
                flaky.fault(operation)
                return paginator.paginate(**params)

        return Paginator()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(**params: Any) -> Any:
            self.fault(name)
            return method(**params)

        return call


class FakeClock:
    """Monotonic seconds that only :meth:`sleep` moves; ``sleeps`` keeps every sleep asked for, and ``on_sleep``
    (when set) runs after each, for a world that should move with the clock."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[], None] | None = None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"asked to sleep {seconds} s"
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep()
