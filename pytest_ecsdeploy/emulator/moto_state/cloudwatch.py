"""CloudWatch: the state of alarms, and which are in state ALARM."""

from __future__ import annotations


def cloudwatch_alarm_states(account: str, region: str, names: tuple[str, ...]) -> dict[str, str]:
    """The state (OK, ALARM or INSUFFICIENT_DATA) of each of the CloudWatch alarms ``names`` that moto holds in that
    account and region; an alarm it does not hold is left out."""
    from moto.cloudwatch.models import cloudwatch_backends

    regions = dict.get(cloudwatch_backends, account)
    backend = dict.get(regions, region) if regions is not None else None
    alarms = dict(backend.alarms) if backend is not None else {}
    return {name: str(alarms[name].state_value) for name in names if name in alarms}


def cloudwatch_alarms_in_alarm(account: str, region: str, names: tuple[str, ...]) -> list[str]:
    """Those of the CloudWatch alarms ``names`` that moto holds in state ALARM in that account and region, in the
    order given (an alarm moto does not hold is not in ALARM)."""
    from moto.cloudwatch.models import cloudwatch_backends

    regions = dict.get(cloudwatch_backends, account)
    backend = dict.get(regions, region) if regions is not None else None
    if backend is None:
        return []
    alarms = dict(backend.alarms)
    return [name for name in names if name in alarms and alarms[name].state_value == "ALARM"]
