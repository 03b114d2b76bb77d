"""The cancel: what the first and the second signal do, the shield of a rollback, the grace period."""

from __future__ import annotations

import os
import signal

import pytest

from pytest_ecsdeploy.cancel import Cancellation, Cancelled
from tests.fakes import FakeClock


def cancellation(grace: float = 10.0) -> tuple[Cancellation, FakeClock, list[int]]:
    clock, exits = FakeClock(), []
    return Cancellation(grace, clock=clock, exit=exits.append), clock, exits


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_first_signal_raises_a_keyboard_interrupt_that_names_it(signum: int) -> None:
    cancel, _, exits = cancellation()
    with pytest.raises(Cancelled, match=f"^{signal.Signals(signum).name} received$") as raised:
        cancel.handle(signum)
    assert isinstance(raised.value, KeyboardInterrupt)
    assert (cancel.requested, cancel.reason, exits) == (True, f"{signal.Signals(signum).name} received", [])


def test_a_shielded_first_signal_raises_nothing_and_starts_the_grace_period() -> None:
    cancel, clock, exits = cancellation(grace=10)
    said: list[str] = []
    cancel.notice = said.append
    assert (cancel.remaining(), cancel.expired(), cancel.bounded(600)) == (None, False, 600)
    with cancel.shield():
        cancel.handle(signal.SIGTERM)
    assert said == ["SIGTERM received during a rollback: waiting for it up to 10 s; a second signal ends the run "
                    "at once"]
    assert (cancel.remaining(), cancel.bounded(600), cancel.bounded(3)) == (10, 10, 3)
    clock.sleep(9.5)
    assert (cancel.remaining(), cancel.expired()) == (0.5, False)
    clock.sleep(1)
    assert (cancel.remaining(), cancel.expired(), cancel.bounded(600)) == (0, True, 0.001)
    assert exits == []


def test_the_second_signal_says_its_last_words_and_exits_at_once() -> None:
    cancel, _, exits = cancellation()
    heard: list[str] = []

    def broken(name: str) -> None:
        raise OSError("stdout is closed")

    cancel.last_words.extend([broken, heard.append])
    with pytest.raises(Cancelled):
        cancel.handle(signal.SIGTERM)
    cancel.handle(signal.SIGINT)
    assert (heard, exits) == (["SIGINT"], [128 + signal.SIGINT])  # a failing callback does not stop the others
    assert cancel.reason == "SIGTERM received"  # the first one's


def test_install_handles_both_signals_and_restores_the_previous_handlers() -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    cancel, _, _ = cancellation()
    restore = cancel.install()
    try:
        assert signal.getsignal(signal.SIGTERM) == cancel.handle
        with pytest.raises(Cancelled, match="SIGTERM received"):
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 0)  # let the handler run here
    finally:
        restore()
    assert {sig: signal.getsignal(sig) for sig in before} == before

