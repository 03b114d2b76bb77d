"""CloudWatch Logs: the streams and events the runners write for the awslogs driver."""

from __future__ import annotations

import threading
from typing import Any

# -- CloudWatch Logs -------------------------------------------------------------------------------------

_logs_lock = threading.Lock()  # moto's log streams append without a lock; the runners write from many threads


def logs_open_stream(account: str, region: str, group: str, stream: str, *, create_group: bool) -> bool:
    """Create log stream ``stream`` in log group ``group`` (the group too when ``create_group``), keeping one that
    exists; False, creating nothing, when the group does not exist and ``create_group`` is false, or ``region``
    is not a region of CloudWatch Logs."""
    backend = _logs_backend(account, region)
    if backend is None:
        return False
    with _logs_lock:
        if group not in backend.groups:
            if not create_group:
                return False
            backend.create_log_group(group, {})
        if stream not in backend.groups[group].streams:
            backend.groups[group].create_log_stream(stream)
    return True


def logs_put_events(account: str, region: str, group: str, stream: str, events: list[tuple[int, str]]) -> bool:
    """Append ``events`` (epoch milliseconds, message) to a log stream, creating the stream again if it was
    deleted; False, writing nothing, when the log group is gone."""
    backend = _logs_backend(account, region)
    if backend is None:
        return False
    with _logs_lock:
        found = backend.groups.get(group)
        if found is None:
            return False
        if stream not in found.streams:
            found.create_log_stream(stream)
        found.put_log_events(stream, [{"timestamp": ms, "message": message} for ms, message in events])
    return True


def _logs_backend(account: str, region: str) -> Any:
    """moto's CloudWatch Logs backend of an account and region; None for a region moto does not know."""
    from moto.logs.models import logs_backends

    try:
        return logs_backends[account][region]
    except KeyError:
        return None
