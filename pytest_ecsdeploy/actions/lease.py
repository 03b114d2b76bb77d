"""One deployment per service at a time, across machines: a lease per service, held in a DynamoDB table.

Before its first write to a service (a revision registered, a tag promoted, UpdateService, RunTask) a run takes
the service's lease (:meth:`Leases.hold`, called by :meth:`~pytest_ecsdeploy.context.ServiceContext.before_write`
right after the account guard). A second run asking for it is refused before it writes anything, with
:class:`~pytest_ecsdeploy.errors.LeaseHeld` naming the holder (:class:`Holder`: run id, host, process, start time,
and the Octopus deployment when there is one); its service's outcome is ``refused``. ``--plan`` takes no lease.

**Why DynamoDB, not an SSM parameter.** SSM's PutParameter without Overwrite is an atomic create, but SSM has no
conditional overwrite or delete: taking over an expired lease, renewing one and releasing one would each read
first and write later, so two runs could both take over the same expired lease, and a slow holder's renewal could
overwrite its successor's. A DynamoDB write with a ConditionExpression is one atomic compare-and-set on the item
("Condition expressions", Amazon DynamoDB Developer Guide), so every step below is a single request that either
applies or fails with ConditionalCheckFailedException. (Terraform's S3 backend locks its state the same way.)

The table is :data:`TABLE` (partition key ``lease``, a string; on-demand capacity) in the environment's account
and region. When it does not exist it is created on first use (CreateTable, then DescribeTable until ACTIVE); a
team that creates it beforehand needs no ``dynamodb:CreateTable`` (``docs/iam-policy.md``). One item per service:
``lease`` = ``<cluster>/<service>``; ``owner`` = ``<run id>/<host>/<pid>`` (what every conditional write compares);
``runId``, ``host``, ``pid``, ``startedAt`` (ISO 8601, UTC), ``octopusDeploymentId`` (when present) and
``expiresAt`` (epoch seconds).

- **take**: PutItem on condition that no item exists, or its ``expiresAt`` has passed, or it is this run's;
- **refused**: the condition failed; the item is read (GetItem, consistent) to name its holder;
- **take over**: an item whose holder is gone is replaced with a warning naming it: gone means past
  ``expiresAt`` (its holder stopped renewing), or on this same host, a process that no longer exists (a run
  killed outright and re-run at once need not wait for the expiry). A replace after a read is conditional on the
  very item judged gone (``owner`` and ``expiresAt`` unchanged), so two runs cannot both take it over;
- **renew**: every :data:`RENEW_EVERY` seconds a daemon thread sets ``expiresAt`` to now + :data:`TTL` on
  condition that ``owner`` is still this run; if it is not, the thread warns that the lease was lost and stops;
- **release**: DeleteItem on condition that ``owner`` is this run, when the scenario ends and again when the run
  closes (deployed, failed or cancelled alike). A run that cannot release leaves a lease that expires after TTL.

``expiresAt`` is compared with the taker's clock, so the machines' clocks must agree to well within :data:`TTL`.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..aws import call
from ..checks import Check
from ..errors import ActionError, LeaseHeld, TransientError
from ..report.octopus import octopus_deployment_id

if TYPE_CHECKING:
    from ..aws import ClientFactory
    from ..context import Log, ServiceContext

__all__ = ["Holder", "Leases", "RENEW_EVERY", "TABLE", "TTL", "describe_lease", "read_lease"]

TABLE = "ecsdeploy-leases"
KEY = "lease"  # the table's partition key
TTL = 120.0  # seconds a lease lives without renewal
RENEW_EVERY = 30.0  # seconds between renewals
TABLE_ACTIVE_WITHIN = 60.0  # seconds a new table may take to become ACTIVE
ATTEMPTS = 5  # takes in a row, when the lease changes hands between our write and our read
LEASE = "lease"  # the checks' action name
CONDITION_FAILED = "ConditionalCheckFailedException"
NO_TABLE = "ResourceNotFoundException"
TABLE_EXISTS = "ResourceInUseException"


@dataclass(frozen=True)
class Holder:
    """Who holds (or asks for) a lease: ``Holder.here(os.environ)`` for this process.

    ``run_id`` is 12 hex digits, fresh for each run; ``started_at`` ISO 8601 UTC to the second;
    ``octopus_deployment`` the Octopus deployment id (``Deployments-123``) or None.
    """

    run_id: str
    host: str
    pid: int
    started_at: str
    octopus_deployment: str | None = None

    @classmethod
    def here(cls, environ: Mapping[str, str], *, now: float | None = None) -> Holder:
        started = dt.datetime.fromtimestamp(time.time() if now is None else now, dt.timezone.utc)
        return cls(run_id=uuid.uuid4().hex[:12], host=socket.gethostname(), pid=os.getpid(),
                   started_at=started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                   octopus_deployment=octopus_deployment_id(environ))

    @property
    def owner(self) -> str:
        return f"{self.run_id}/{self.host}/{self.pid}"

    @property
    def name(self) -> str:
        """``run 3f2a9c0d1e2b on host ci-7 (pid 4242)``"""
        return f"run {self.run_id} on host {self.host} (pid {self.pid})"

    @property
    def octopus(self) -> str:
        """``, Octopus deployment Deployments-123``, or "" without one."""
        return f", Octopus deployment {self.octopus_deployment}" if self.octopus_deployment else ""

    def describe(self) -> str:
        """``run 3f2a9c0d1e2b on host ci-7 (pid 4242), started 2026-11-30T15:10:43Z, Octopus deployment …``"""
        return f"{self.name}, started {self.started_at}{self.octopus}"

    def item(self, key: str, expires_at: float) -> dict[str, Any]:
        item = {KEY: {"S": key}, "owner": {"S": self.owner}, "runId": {"S": self.run_id}, "host": {"S": self.host},
                "pid": {"N": str(self.pid)}, "startedAt": {"S": self.started_at},
                "expiresAt": {"N": f"{expires_at:.3f}"}}
        if self.octopus_deployment:
            item["octopusDeploymentId"] = {"S": self.octopus_deployment}
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Holder:
        """The holder an item names; fields a foreign or damaged item lacks read as ``?``."""
        def text(name: str) -> str:
            return str((item.get(name) or {}).get("S") or (item.get(name) or {}).get("N") or "?")

        pid = text("pid")
        return cls(run_id=text("runId"), host=text("host"), pid=int(pid) if pid.isdigit() else -1,
                   started_at=text("startedAt"), octopus_deployment=(item.get("octopusDeploymentId") or {}).get("S"))


def _expires_at(item: Mapping[str, Any]) -> float:
    try:
        return float(item["expiresAt"]["N"])
    except (KeyError, TypeError, ValueError):
        return 0.0


def _utc(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _get_item(aws: ClientFactory, key: str, who: str) -> dict[str, Any] | None:
    answer = call(aws, "dynamodb", "get_item", f"read the lease (DynamoDB table {TABLE}, item {key})", who=who,
                  TableName=TABLE, Key={KEY: {"S": key}}, ConsistentRead=True)
    item = answer.get("Item")
    return dict(item) if item else None


def read_lease(aws: ClientFactory, cluster: str, service_name: str, *, who: str) -> tuple[Holder, float] | None:
    """Who holds the lease of service ``service_name`` in ``cluster`` and when it expires (epoch seconds; a time
    passed means its holder stopped renewing it), read consistently; None when no item names the service or the
    table does not exist. Reads only (GetItem); ActionError when DynamoDB refuses."""
    try:
        item = _get_item(aws, f"{cluster}/{service_name}", who)
    except ActionError as exc:
        if exc.code == NO_TABLE:
            return None
        raise
    return None if item is None else (Holder.from_item(item), _expires_at(item))


def describe_lease(holder: Holder, expires_at: float, now: float) -> str:
    """A lease as ``ecsdeploy status`` shows it (``now`` and ``expires_at`` in epoch seconds):
    ``held by run 3f2a9c0d1e2b on host ci-7 (pid 4242) since 2026-11-30T15:10:43Z; expires at … unless renewed``,
    or, past ``expires_at``, ``…; expired at … without being renewed: the next run takes it over``."""
    held = f"held by {holder.name} since {holder.started_at}{holder.octopus}"
    if expires_at < now:
        return f"{held}; expired at {_utc(expires_at)} without being renewed: the next run takes it over"
    return f"{held}; expires at {_utc(expires_at)} unless renewed"


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (one we may not signal exists too)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Leases:
    """The leases of one run, one per service: ``leases.hold(ctx)`` before a write, ``release_all()`` at the end.

    ``clock`` (epoch seconds) and ``alive`` (pid -> bool) replace ``time.time`` and :func:`process_alive` in tests;
    ``ttl`` and ``renew_every`` are seconds.
    """

    def __init__(self, holder: Holder, *, ttl: float = TTL, renew_every: float = RENEW_EVERY,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 alive: Callable[[int], bool] = process_alive) -> None:
        self.holder = holder
        self.ttl = ttl
        self.renew_every = renew_every
        self._clock = clock
        self._sleep = sleep
        self._alive = alive
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()

    def hold(self, ctx: ServiceContext) -> None:
        """Take the lease of ``ctx``'s service, unless this run holds it already or runs ``--plan``.

        Records the check ``lease`` (action ``lease``). Raises LeaseHeld (after recording the failed check and
        the outcome ``refused``) when another run holds it; ActionError when DynamoDB refuses.
        """
        if ctx.options.plan:
            return
        key = f"{ctx.cluster}/{ctx.service.service_name}"
        who = f"service '{ctx.service.service_name}'"
        with self._lock:
            if key in self._held:
                return
            try:
                gone = self._take(ctx.aws, key, who)
            except LeaseHeld as exc:
                ctx.checks.record(Check(LEASE, "pre", "lease", "failed", str(exc)))
                ctx.record.set_outcome("refused", str(exc))
                raise
            held = _Held(self, ctx.aws, key, who, ctx.log)
            self._held[key] = held
        if gone is not None:
            holder, why = gone
            ctx.log.warning(f"took over the lease of {who} in cluster '{ctx.cluster}' from {holder.describe()}: "
                            f"{why}")
        ctx.checks.passed(LEASE, "pre", "lease", f"{who} is deployed by this run alone (DynamoDB table {TABLE}, "
                                                 f"item {key}, renewed every {self.renew_every:g} s)")
        ctx.log.info(f"lease of {who} taken by {self.holder.describe()}")
        held.start()

    def release(self, cluster: str, service_name: str) -> None:
        """Release one service's lease, if this run holds it; a failure is a warning (the lease expires)."""
        with self._lock:
            held = self._held.pop(f"{cluster}/{service_name}", None)
        if held is not None:
            held.release()

    def release_all(self) -> None:
        with self._lock:
            held = list(self._held.values())
            self._held.clear()
        for one in held:
            one.release()

    @property
    def held(self) -> list[str]:
        """The keys (``<cluster>/<service>``) of the leases this run holds."""
        with self._lock:
            return sorted(self._held)

    # -- the conditional writes ----------------------------------------------------------------------------------

    def _take(self, aws: ClientFactory, key: str, who: str) -> tuple[Holder, str] | None:
        """Take the lease; the holder taken over and why, or None; LeaseHeld when a live run holds it."""
        me = self.holder.owner
        for _ in range(ATTEMPTS):
            now = self._clock()
            try:
                answer = self._put(aws, key, who, now, "attribute_not_exists(#key) OR #expires < :now OR #owner = :me",
                                   {":now": {"N": f"{now:.3f}"}, ":me": {"S": me}})
            except ActionError as exc:
                if exc.code != CONDITION_FAILED:
                    raise
            else:
                old = answer.get("Attributes") or {}
                if old and old.get("owner", {}).get("S") != me:
                    return Holder.from_item(old), f"it expired at {_utc(_expires_at(old))} without being renewed"
                return None
            item = _get_item(aws, key, who)
            if item is None:
                continue  # released between our write and our read
            holder = Holder.from_item(item)
            if holder.host != self.holder.host or holder.pid == os.getpid() or self._alive(holder.pid):
                raise LeaseHeld(
                    f"{who} is being deployed by another run, {holder.describe()}; its lease "
                    f"(DynamoDB table {TABLE}, item {key}) expires at {_utc(_expires_at(item))} unless renewed, so "
                    f"nothing was changed: run again once it has finished.", holder=holder.describe())
            try:
                self._put(aws, key, who, now, "#owner = :old AND #expires = :expires",
                          {":old": item.get("owner") or {"S": ""}, ":expires": item.get("expiresAt") or {"N": "0"}})
            except ActionError as exc:
                if exc.code != CONDITION_FAILED:
                    raise
                continue  # someone else changed it first: look again
            return holder, f"its process no longer exists on {holder.host}"
        raise ActionError(f"{who}: could not take the lease (DynamoDB table {TABLE}, item {key}): it changed hands "
                          f"{ATTEMPTS} times while being taken; run again.")

    def _put(self, aws: ClientFactory, key: str, who: str, now: float, condition: str,
             values: dict[str, Any]) -> dict[str, Any]:
        names = {"#key": KEY, "#expires": "expiresAt", "#owner": "owner"}
        params: dict[str, Any] = {
            "TableName": TABLE, "Item": self.holder.item(key, now + self.ttl), "ConditionExpression": condition,
            "ExpressionAttributeNames": {k: v for k, v in names.items() if k in condition},
            "ExpressionAttributeValues": values, "ReturnValues": "ALL_OLD",
        }
        def put() -> dict[str, Any]:
            return call(aws, "dynamodb", "put_item", f"take the lease (DynamoDB table {TABLE}, item {key})", who=who,
                        **params)

        try:
            return put()
        except ActionError as exc:
            if exc.code != NO_TABLE:
                raise
        self._create_table(aws, who)
        return put()

    def _create_table(self, aws: ClientFactory, who: str) -> None:
        try:
            call(aws, "dynamodb", "create_table", f"create the lease table {TABLE}", who=who,
                 hint=f"create it as docs/iam-policy.md shows, or allow dynamodb:CreateTable on {TABLE}",
                 TableName=TABLE, KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
                 AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        except ActionError as exc:
            if exc.code != TABLE_EXISTS:  # another run created it first
                raise
        deadline = self._clock() + TABLE_ACTIVE_WITHIN
        while True:
            table = call(aws, "dynamodb", "describe_table", f"read the lease table {TABLE}", who=who, TableName=TABLE)
            status = table["Table"].get("TableStatus")
            if status == "ACTIVE":
                return
            if self._clock() >= deadline:
                raise ActionError(f"{who}: the lease table {TABLE} is {status}, not ACTIVE, "
                                  f"{TABLE_ACTIVE_WITHIN:g} s after it was created.")
            self._sleep(1.0)

    def renew(self, aws: ClientFactory, key: str, who: str) -> bool:
        """Push the lease's expiry to now + ttl; False when this run no longer holds it."""
        try:
            call(aws, "dynamodb", "update_item", f"renew the lease (DynamoDB table {TABLE}, item {key})", who=who,
                 TableName=TABLE, Key={KEY: {"S": key}}, UpdateExpression="SET #expires = :expires",
                 ConditionExpression="#owner = :me", ExpressionAttributeNames={"#expires": "expiresAt",
                                                                                 "#owner": "owner"},
                 ExpressionAttributeValues={":expires": {"N": f"{self._clock() + self.ttl:.3f}"},
                                            ":me": {"S": self.holder.owner}})
        except ActionError as exc:
            if exc.code in (CONDITION_FAILED, NO_TABLE):
                return False
            raise
        return True

    def delete(self, aws: ClientFactory, key: str, who: str) -> None:
        """Delete the lease's item if this run still holds it."""
        try:
            call(aws, "dynamodb", "delete_item", f"release the lease (DynamoDB table {TABLE}, item {key})", who=who,
                 TableName=TABLE, Key={KEY: {"S": key}}, ConditionExpression="#owner = :me",
                 ExpressionAttributeNames={"#owner": "owner"},
                 ExpressionAttributeValues={":me": {"S": self.holder.owner}})
        except ActionError as exc:
            if exc.code not in (CONDITION_FAILED, NO_TABLE):  # taken over, or the table is gone: not ours to free
                raise


class _Held:
    """One lease this run holds: its renewal thread, and its release."""

    def __init__(self, leases: Leases, aws: ClientFactory, key: str, who: str, log: Log) -> None:
        self.leases = leases
        self.aws = aws
        self.key = key
        self.who = who
        self.log = log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"ecsdeploy-lease-{key}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _renew(self) -> None:
        failing = False
        while not self._stop.wait(self.leases.renew_every):
            try:
                if not self.leases.renew(self.aws, self.key, self.who):
                    self.log.warning(f"the lease of {self.who} is no longer this run's (taken over after it expired); "
                                     f"another run may deploy the service now")
                    return
            except TransientError as exc:
                if not failing:  # the next renewal may pass; the lease lasts several renewals
                    self.log.warning(f"{str(exc).rstrip('.')}; trying again")
                failing = True
            except ActionError as exc:
                self.log.warning(f"{str(exc).rstrip('.')}; the lease expires at the latest {self.leases.ttl:g} s "
                                 f"after its last renewal")
                return
            else:
                failing = False

    def release(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.leases.ttl)
        try:
            self.leases.delete(self.aws, self.key, self.who)
        except ActionError as exc:
            self.log.warning(f"{str(exc).rstrip('.')}; the lease expires by itself within {self.leases.ttl:g} s")
