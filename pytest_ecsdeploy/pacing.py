"""Throttled calls of an operation whose token bucket refills slowly, spaced at the bucket's refill rate.

ECS meters its API per account and Region with token buckets; RegisterTaskDefinition's lets 20 calls through at
once and then refills one token a second (Amazon ECS Developer Guide, "Request throttling for the Amazon ECS
API"). botocore's retries back a throttled call off at random, doubling up to 20 s, so when many deployments of one
process register at once (threads sharing a ``Run``), the calls over the burst either come back too soon (throttled
again) or too late (the bucket's tokens go unused meanwhile). A :class:`Pacer` gives each throttled call a slot of
its own, one refill interval after the last slot it gave, and makes the calls that start while slots are handed
out queue behind them, so the bucket's tokens are used as they come and the process's own calls stop
crowding each other out. Calls pass unpaced while nothing is queued: the burst stays free.

:data:`PACED` names the operations paced and their refill rates; :func:`pace` hooks a Pacer into a botocore
client (``before-call``: a new call waits for its turn; ``needs-retry``: a throttled attempt takes a slot, up to
the client's attempts, as botocore counts them). The pacers are shared per process by whoever asks
:class:`Pacers` with the same key (the same credentials and endpoint: the same account's buckets), see
``aws.ClientFactory``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any

#: (service, operation) -> refill rate of its token bucket, calls per second. RegisterTaskDefinition: burst 20,
#: then one a second (Amazon ECS Developer Guide, "Request throttling"). Other operations refill at 20 or
#: more a second, where botocore's own back-off (its first pause is under a second) loses little.
PACED: Mapping[tuple[str, str], float] = {("ecs", "RegisterTaskDefinition"): 1.0}

#: How much longer than one refill interval a slot lasts: a thread wakes up a little late after its sleep, so two
#: slots exactly one interval apart can reach the bucket less than one interval apart and the second be throttled.
MARGIN = 0.05

#: The error codes of a throttled call (botocore's throttling codes that ECS and the emulators answer with);
#: an HTTP 429 answer is throttled whatever its code.
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "RequestLimitExceeded", "RequestThrottled",
})


class Pacer:
    """Slots for one operation's calls, ``(1 + margin) / rate`` seconds apart, while its bucket is empty.

    >>> pacer = Pacer(rate=1.0, clock=clock)   # clock() == 100.0
    >>> pacer.turn()        # nothing queued: go now
    0.0
    >>> pacer.throttled()   # throttled: a slot one interval from now
    1.05
    >>> pacer.turn()        # a new call queues behind that slot
    2.1

    ``clock`` is monotonic seconds. Thread-safe.
    """

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic, margin: float = MARGIN) -> None:
        if rate <= 0 or margin < 0:
            raise ValueError(f"expected rate > 0 and margin >= 0, got rate={rate!r}, margin={margin!r}")
        self.interval = (1.0 + margin) / rate
        self._clock = clock
        self._lock = threading.Lock()
        self._free = -math.inf  # the next free slot (clock seconds): one interval after the last slot given

    def throttled(self) -> float:
        """A call was just throttled: seconds until its slot, the next free one and at least one interval from now
        (the bucket is empty now; a token is there one interval later)."""
        with self._lock:
            now = self._clock()
            at = max(now + self.interval, self._free)
            self._free = at + self.interval
            return at - now

    def turn(self) -> float:
        """Seconds a new call waits before its first attempt: 0 while no slot is ahead of now, else until the next
        free slot (taken)."""
        with self._lock:
            now = self._clock()
            if self._free <= now:
                return 0.0
            at = self._free
            self._free = at + self.interval
            return at - now


class Pacers:
    """The pacers of one process, one per key and operation (a key names one account's buckets)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._pacers: dict[tuple[Hashable, str, str], Pacer] = {}

    def get(self, key: Hashable, service: str, operation: str) -> Pacer | None:
        """The pacer of ``operation`` for ``key`` (made at the first ask), or None for an operation not paced."""
        rate = PACED.get((service, operation))
        if rate is None:
            return None
        with self._lock:
            return self._pacers.setdefault((key, service, operation), Pacer(rate, clock=self.clock))


#: The process's pacers, shared by every ClientFactory.
PACERS = Pacers()


def is_throttled(response: Any) -> bool:
    """Whether botocore's ``needs-retry`` ``response`` (``(http, parsed)`` or None) is a throttled answer."""
    if not isinstance(response, tuple) or len(response) != 2 or not isinstance(response[1], dict):
        return False
    parsed = response[1]
    status = parsed.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return parsed.get("Error", {}).get("Code") in THROTTLING_CODES or status == 429


def pace(client: Any, service: str, key: Hashable, *, pacers: Pacers = PACERS) -> None:
    """Hook the pacers of ``key`` into ``client`` (a botocore client of ``service``) for every paced operation of
    ``service``: a call waits for its turn before its first attempt, and a throttled attempt waits for a slot of
    its own (instead of botocore's back-off) while it has attempts left (the client's ``total_max_attempts``)."""
    event_service = client.meta.service_model.service_id.hyphenize()
    max_attempts = int((client.meta.config.retries or {}).get("total_max_attempts") or 1)
    for (paced_service, operation) in PACED:
        pacer = pacers.get(key, paced_service, operation) if paced_service == service else None
        if pacer is None:
            continue
        client.meta.events.register_first(f"before-call.{event_service}.{operation}", _before_call(pacer, pacers))
        client.meta.events.register_first(f"needs-retry.{event_service}.{operation}",
                                          _needs_retry(pacer, pacers, max_attempts))


def _before_call(pacer: Pacer, pacers: Pacers) -> Callable[..., None]:
    def wait_for_turn(**kwargs: Any) -> None:
        wait = pacer.turn()
        if wait > 0:
            pacers.sleep(wait)
        # None: botocore makes the call (an answer here would stand in for the call's)

    return wait_for_turn


def _needs_retry(pacer: Pacer, pacers: Pacers, max_attempts: int) -> Callable[..., float | None]:
    def slot(response: Any = None, attempts: int = 1, **kwargs: Any) -> float | None:
        if not is_throttled(response) or attempts >= max_attempts:
            return None  # botocore's own retry rules decide
        pacers.sleep(pacer.throttled())
        return 0.0  # retry now: the pause was taken here, on the pacers' clock (botocore sleeps 0 s)

    return slot
