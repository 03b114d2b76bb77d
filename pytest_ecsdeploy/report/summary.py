"""The terminal summary of a run: one table row per service, then one line per failure reason.

Example (two services, one rolled back)::

    service  from -> to      outcome                 duration  checks ok/failed
    web      web:6 -> web:7  deployed                42.1s     9/0
    api      api:3 -> api:4  rolled back (to api:3)  61.0s     5/1, rollback 4/0
    api: step test_smoke failed after the rollout

A pure function of the :class:`~pytest_ecsdeploy.report.record.RunRecord`: the session writes the lines it
returns under its own ``ecsdeploy summary`` separator.
"""

from __future__ import annotations

from ..arns import short_revision
from ..checks import Check
from .record import RunRecord, ServiceRecord

HEADER = ("service", "from -> to", "outcome", "duration", "checks ok/failed")
#: The action a rollback's checks are recorded under (``actions/service.py``), counted apart from the deployment's.
ROLLBACK_ACTION = "ecs_service.rollback"
#: Outcomes whose reason, when one is recorded, is not worth a line of its own: nothing went wrong.
QUIET_OUTCOMES = ("deployed", "unchanged", "planned")


def summary_lines(record: RunRecord) -> list[str]:
    """The table (a header row, then one row per service in the record's order), then the reason lines.

    Columns are ``service``, ``from -> to`` (short revisions, ``-`` when unknown, ``(new revision)`` for a
    ``--plan`` that would register one), ``outcome`` (with ``(to family:revision)`` after a rollback,
    ``(rolled back to family:revision)`` after a cancelled run's rollback), ``duration`` (seconds, one decimal)
    and ``checks ok/failed`` (counts; once a rollback started, the rollback's checks are counted apart:
    ``5/1, rollback 4/0``). Every column but the last is padded to its widest cell, two spaces apart.
    A BLUE_GREEN, LINEAR or CANARY service adds the stages its service deployment went through
    (``web: CANARY service deployment Qi7G: PRE_SCALE_UP, …, CLEAN_UP SUCCESSFUL``); ``deployed (bake running)``
    says ``deploy(until="traffic_shifted")`` returned before the bake ended. A reason line, ``SERVICE: REASON``,
    follows for each service that did not end well and recorded why; a rollback that did not complete adds
    ``SERVICE: rollback OUTCOME: REASON``.
    An empty record gives the header row alone.
    """
    rows = [HEADER] + [_row(service) for service in record.services.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER) - 1)]
    table = ["  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
             for row in rows]
    return table + [line for service in record.services.values() for line in _stages(service) + _reasons(service)]


def _stages(rec: ServiceRecord) -> list[str]:
    """``web: BLUE_GREEN service deployment Qi7G: PRE_SCALE_UP, SCALE_UP, …, CLEAN_UP SUCCESSFUL`` (each stage once,
    the last status seen), for a service followed through its service deployment."""
    if not rec.stages or not rec.service_deployment:
        return []
    names = [str(s.get("stage")) for i, s in enumerate(rec.stages)
             if i == 0 or s.get("stage") != rec.stages[i - 1].get("stage")]
    return [f"{rec.service}: {rec.strategy} service deployment {rec.service_deployment.rsplit('/', 1)[-1]}: "
            f"{', '.join(names)} {rec.stages[-1].get('status')}"]


def _row(rec: ServiceRecord) -> tuple[str, str, str, str, str]:
    before = short_revision(rec.revision_before)
    after = short_revision(rec.revision_after)
    if rec.outcome == "planned" and rec.revision_after is None:
        after = "(new revision)"
    outcome = rec.outcome
    if rec.outcome == "deployed" and rec.bake_running:
        outcome += " (bake running)"
    if rec.rollback is not None and rec.outcome in ("rolled back", "rollback failed"):
        outcome += f" (to {short_revision(rec.rollback.to_revision)})"
    elif rec.rollback is not None and rec.outcome == "cancelled":
        to = short_revision(rec.rollback.to_revision)
        outcome += f" (rolled back to {to})" if rec.rollback.outcome == "completed" else f" (rollback to {to} " \
            f"{rec.rollback.outcome})"
    checks = _counts([c for c in rec.checks.items if c.action != ROLLBACK_ACTION])
    if rec.rollback is not None:
        checks += f", rollback {_counts([c for c in rec.checks.items if c.action == ROLLBACK_ACTION])}"
    return rec.service, f"{before} -> {after}", outcome, f"{rec.duration:.1f}s", checks


def _counts(checks: list[Check]) -> str:
    return f"{sum(c.result == 'passed' for c in checks)}/{sum(c.result == 'failed' for c in checks)}"


def _reasons(rec: ServiceRecord) -> list[str]:
    if not rec.reason or rec.outcome in QUIET_OUTCOMES:
        return []
    lines = [f"{rec.service}: {rec.reason}"]
    rollback = rec.rollback
    if rollback is not None and rollback.outcome not in ("completed", "pending") and rollback.reason:
        lines.append(f"{rec.service}: rollback {rollback.outcome}: {rollback.reason}")
    return lines
