"""Smoke checks after a rollout: the service answers over HTTP, its targets are healthy, its alarms are quiet.

:class:`Smoke` is the ``smoke`` fixture. Each method records a post check in the service's record and, when the
check fails, raises ``AssertionError`` (so a failed smoke step fails like any plain ``assert`` and triggers the
rollback) whose message names what was asked, the expectation and what came back.

Waiting methods retry with a short backoff (0.5 s, doubling, at most 5 s) until their ``within`` bound; the
clock and the sleep are injectable so tests need not wait. HTTP goes through urllib (no extra dependency):
redirects are followed, ``HTTP(S)_PROXY``/``NO_PROXY`` are honoured, a user and password in ``health_url`` are
sent as Basic authentication. Request headers are never printed, and a printed URL shows neither a password
nor the value of a query parameter whose name looks secret (``?token=***``).
"""

from __future__ import annotations

import base64
import http.client
import re
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ..arns import target_group_name
from ..aws import Patience, pages
from ..checks import Check
from ..context import ServiceContext
from ..errors import ActionError, ConfigError
from ..redact import looks_secret, mask_url_password
from .codedeploy import url_of_test_traffic_route
from .reads import SERVICE_NOT_FOUND, describe_service, serving_target_groups
from .strategy import url_of_test_listener

__all__ = ["HttpResult", "Smoke", "TargetHealth"]

WHO = "smoke"  # how messages name these checks

INITIAL_DELAY = 0.5  # seconds between the first attempts; doubles up to MAX_DELAY
MAX_DELAY = 5.0
ATTEMPT_TIMEOUT = 10.0  # the most one HTTP attempt may take, bounded further by the time left
MIN_ATTEMPT_TIMEOUT = 1.0  # the last attempt gets at least this long, so `within` may be overrun by this much
MAX_BODY = 1024 * 1024  # bytes of a response body that are read
BODY_SNIPPET = 200  # characters of a body quoted in a failure message
USER_AGENT = "pytest-ecsdeploy-smoke"
ALARM_NAMES_PER_CALL = 100  # DescribeAlarms takes at most 100 AlarmNames
TRAFFIC = ("production", "test")  # smoke.http(traffic=...): the production listener or the test listener

@dataclass(frozen=True)
class HttpResult:
    """The answer that passed ``smoke.http()``.

    >>> result = smoke.http("/version", contains='"version"')
    >>> result.status, result.json()["version"], result.attempts
    (200, '1.4.2', 1)
    """

    url: str  # as printed: without a password, secret-looking query values masked
    status: int
    reason: str
    body: str
    latency: float  # seconds the passing attempt took
    attempts: int
    elapsed: float  # seconds from the first attempt to the answer
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    def json(self) -> Any:
        """The body parsed as JSON."""
        import json

        return json.loads(self.body)


@dataclass(frozen=True)
class TargetHealth:
    """One target of a target group, as ELBv2 DescribeTargetHealth reports it."""

    target_group_arn: str
    target_id: str
    port: int | None
    state: str
    reason: str | None = None
    description: str | None = None

    @property
    def is_healthy(self) -> bool:
        return self.state == "healthy"

    @property
    def target_group(self) -> str:
        """The target group's name, from its ARN (``…:targetgroup/web-tg/6d0ecf831eec9f09`` -> ``web-tg``)."""
        return target_group_name(self.target_group_arn)

    def line(self) -> str:
        where = f"{self.target_id}:{self.port}" if self.port is not None else self.target_id
        why = ": ".join(p for p in (self.reason, self.description) if p)
        return f"{where} {self.state}" + (f" ({why})" if why else "")


@dataclass(frozen=True)
class _Answer:
    status: int | None
    reason: str
    body: str
    headers: Mapping[str, str]
    error: str | None
    latency: float

    def summary(self) -> str:
        return self.error if self.error is not None else f"{self.status} {self.reason}".rstrip()


class Smoke:
    """The ``smoke`` fixture: checks that a rolled-out service works.

    Example::

        def test_health(smoke):
            smoke.http("/health", expect_status=200, contains="ok", within=120)
            smoke.targets_healthy()
            smoke.alarms_ok(["web-5xx", "web-p99-latency"])

    ``clock`` (monotonic seconds) and ``sleep`` replace ``time.monotonic`` and ``time.sleep`` in tests.
    """

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ctx = ctx
        self._clock = clock
        self._sleep = sleep
        self._derived_test_url: str | None = None

    # -- HTTP ---------------------------------------------------------------------------------------------

    def http(
        self,
        path: str = "",
        expect_status: int | Sequence[int] = 200,
        contains: str | None = None,
        within: float = 60,
        *,
        headers: Mapping[str, str] | None = None,
        traffic: str = "production",
    ) -> HttpResult:
        """GET ``health_url`` + ``path`` until it answers ``expect_status`` (and a body containing ``contains``).

        ``traffic="test"`` goes through the test listener instead (a BLUE_GREEN, LINEAR or CANARY service paused
        by ``deploy(until="test_traffic")``: the new revision answers there while production stays on the old
        one; a CODE_DEPLOY service stopped at Ready): ``test_url`` + ``path``; without a ``test_url`` key, the URL of
        the listener of the service's ``testListenerRule`` (``strategy.url_of_test_listener``), or of a CODE_DEPLOY
        service's deployment group's testTrafficRoute (``codedeploy.url_of_test_traffic_route``), found once.

        Attempts are repeated with a short backoff until ``within`` seconds have passed; each attempt's status
        (or connection error) and latency is logged. An absolute ``path`` (``https://…``) is used as it is.
        ``headers`` are sent with every attempt and never printed. Returns the passing answer; raises
        AssertionError naming the URL, the expectation and the last answer.
        """
        __tracebackhide__ = True
        if within < 0:
            raise ValueError(f"within must be 0 or more seconds, got {within}.")
        statuses = (expect_status,) if isinstance(expect_status, int) else tuple(expect_status)
        if not statuses:
            raise ValueError("expect_status must name at least one status code.")
        if traffic not in TRAFFIC:
            raise ValueError(f"traffic must be 'production' or 'test', got {traffic!r}.")
        full_url = self._url(path, traffic)
        shown = redact_url(full_url)
        url, auth = _split_credentials(full_url)
        request_headers = {"User-Agent": USER_AGENT, **(auth or {}), **(headers or {})}
        expectation = "status " + " or ".join(str(s) for s in statuses)
        if contains is not None:
            expectation += f" and a body containing {contains!r}"
        check_name = f"GET {redact_url(path) or '/'} answers {expectation}" + (
            " through the test listener" if traffic == "test" else "")

        start = self._clock()
        deadline = start + within
        delay = INITIAL_DELAY
        seen: Counter[str] = Counter()
        attempt = 0
        while True:
            attempt += 1
            timeout = max(min(ATTEMPT_TIMEOUT, deadline - self._clock()), MIN_ATTEMPT_TIMEOUT)
            answer = self._get(url, request_headers, timeout)
            seen[answer.summary()] += 1
            left = max(0.0, deadline - self._clock())
            self.ctx.log.info(
                f"smoke: GET {shown} -> {answer.summary()} in {_ms(answer.latency)} "
                f"(attempt {attempt}, {left:.0f} s left)"
            )
            if answer.status in statuses and (contains is None or contains in answer.body):
                elapsed = self._clock() - start
                self.ctx.checks.passed(
                    "smoke.http", "post", check_name,
                    f"{shown} answered {answer.summary()} in {_ms(answer.latency)} "
                    f"after {_attempts(attempt)} over {elapsed:.1f} s",
                )
                return HttpResult(
                    url=shown, status=int(answer.status), reason=answer.reason, body=answer.body,
                    latency=answer.latency, attempts=attempt, elapsed=elapsed, headers=answer.headers,
                )
            now = self._clock()
            if now >= deadline:
                break
            self._sleep(min(delay, deadline - now))
            delay = min(delay * 2, MAX_DELAY)

        if answer.error is not None:
            last = f"the last attempt failed: {answer.error}"
        elif answer.status in statuses:
            body = _quote(answer.body)
            last = f"the last answer was {answer.summary()} but its body " + (
                f"does not contain {contains!r}: {body}" if body else "is empty"
            )
        else:
            body = _quote(answer.body)
            last = f"the last answer was {answer.summary()} with " + (f"body {body}" if body else "an empty body")
        history = ", ".join(f"{what} ×{n}" for what, n in seen.items())
        self._fail(
            "smoke.http", check_name,
            f"smoke: GET {shown} did not answer {expectation} within {within:g} s ({_attempts(attempt)}: "
            f"{history}); {last}.",
        )

    def _url(self, path: str, traffic: str = "production") -> str:
        if re.match(r"https?://", path, re.IGNORECASE):
            return path
        name = self.ctx.service.name
        key = "health_url" if traffic == "production" else "test_url"
        base = self.ctx.service.health_url if traffic == "production" else self._test_url()
        if not base:
            raise ConfigError(
                f"service '{name}' has no health_url, so smoke.http() has nothing to "
                f"request; set health_url in [services.{name}] of ecsdeploy.toml."
            )
        parts = urllib.parse.urlsplit(base)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"service '{name}': {key} '{redact_url(base)}' in [services.{name}] of ecsdeploy.toml is not "
                f"an http:// or https:// URL with a host."
            )
        return base.rstrip("/") + ("/" + path.lstrip("/") if path else "")

    def _test_url(self) -> str:
        """``test_url``, else the test listener's URL read from AWS (once per fixture)."""
        if self.ctx.service.test_url:
            return self.ctx.service.test_url
        if self._derived_test_url is None:
            service = describe_service(self.ctx.aws, self.ctx.cluster, self.ctx.service.service_name, who=WHO,
                                       required=True)
            assert service is not None
            if (service.get("deploymentController") or {}).get("type") == "CODE_DEPLOY":
                self._derived_test_url = url_of_test_traffic_route(self.ctx.aws, self.ctx.service, self.ctx.cluster,
                                                           self.ctx.service.service_name, who=WHO)
            else:
                self._derived_test_url = url_of_test_listener(self.ctx.aws, service, who=WHO)
            self.ctx.log.info(f"smoke: test traffic goes to {redact_url(self._derived_test_url)} (the test listener)")
        return self._derived_test_url

    def _get(self, url: str, headers: Mapping[str, str], timeout: float) -> _Answer:
        request = urllib.request.Request(url, headers=dict(headers), method="GET")
        started = self._clock()
        try:
            try:
                response = urllib.request.urlopen(request, timeout=timeout)
            except urllib.error.HTTPError as err:  # a 4xx/5xx answer is still an answer
                response = err
            with response:
                status, reason = int(response.status or 0), str(response.reason or "")
                body = response.read(MAX_BODY)
                answer_headers = {k: v for k, v in response.headers.items()}
                charset = response.headers.get_content_charset() or "utf-8"
        except Exception as exc:  # noqa: BLE001 - every way an attempt fails is reported, then retried
            return _Answer(None, "", "", {}, _connection_error(exc, timeout), self._clock() - started)
        try:
            text = body.decode(charset, errors="replace")
        except LookupError:
            text = body.decode("utf-8", errors="replace")
        return _Answer(status, reason, text, answer_headers, None, self._clock() - started)

    # -- target groups -------------------------------------------------------------------------------------

    def targets_healthy(self, within: float = 60) -> list[TargetHealth]:
        """Every target registered in the service's target groups is ``healthy`` (draining ones aside).

        The target groups come from the service (DescribeServices ``loadBalancers``; of a blue/green pair, the
        groups its tasks are registered in: :func:`~.reads.serving_target_groups`) and their health from
        ELBv2 DescribeTargetHealth, asked again with a short backoff until ``within`` seconds have passed (a look
        that fails with a transient error is skipped). A service without target groups records a skipped check.
        Returns the targets that count.
        """
        __tracebackhide__ = True
        action, check_name = "smoke.targets_healthy", "every registered target is healthy"
        service_name, cluster = self.ctx.service.service_name, self.ctx.cluster
        try:
            service = describe_service(self.ctx.aws, cluster, service_name, who=WHO, required=True)
        except ActionError as exc:
            if exc.code != SERVICE_NOT_FOUND:
                raise
            self._fail(action, check_name, f"smoke: {exc}")
        assert service is not None
        balancers = service.get("loadBalancers", [])
        if not any(lb.get("targetGroupArn") for lb in balancers):
            classic = [lb["loadBalancerName"] for lb in balancers if lb.get("loadBalancerName")]
            note = f" (Classic Load Balancer {', '.join(classic)} is not checked)" if classic else ""
            self.ctx.checks.skipped(action, "post", check_name, f"service {service_name} has no target groups{note}")
            return []

        def look() -> tuple[list[TargetHealth], list[str]]:
            """The targets that count, and what is wrong with them."""
            targets: list[TargetHealth] = []
            problems: list[str] = []
            for arn, found in serving_target_groups(self.ctx.aws, service, who=WHO).items():
                name = target_group_name(arn)
                group = [_target(arn, d) for d in found]
                live = [t for t in group if t.state != "draining"]
                targets.extend(live)
                states = Counter(t.state for t in group)
                self.ctx.log.info(
                    f"smoke: target group {name}: "
                    + (", ".join(f"{n} {state}" for state, n in sorted(states.items())) or "no targets")
                )
                if not live:
                    problems.append(f"target group {name} has no registered targets")
                bad = [t for t in live if not t.is_healthy]
                if bad:
                    problems.append(
                        f"target group {name} has {len(bad)} of {len(live)} targets not healthy: "
                        + ", ".join(t.line() for t in bad)
                    )
            return targets, problems

        patience = Patience(self.ctx.log.warning)
        start = self._clock()
        deadline = start + within
        delay = INITIAL_DELAY
        while True:
            looked = patience.look(look)
            targets, problems = looked if looked is not None else ([], [str(patience.failing).rstrip(".")])
            if not problems:
                counts = ", ".join(
                    f"{target_group_name(arn)} {sum(1 for t in targets if t.target_group_arn == arn)} healthy"
                    for arn in dict.fromkeys(t.target_group_arn for t in targets)
                )
                self.ctx.checks.passed(
                    action, "post", check_name, f"{counts} after {self._clock() - start:.1f} s"
                )
                return targets
            now = self._clock()
            if now >= deadline:
                break
            self._sleep(min(delay, deadline - now))
            delay = min(delay * 2, MAX_DELAY)
        self._fail(
            action, check_name,
            f"smoke: service {service_name}: targets were not all healthy within {within:g} s; "
            + "; ".join(problems) + ".",
        )

    # -- CloudWatch alarms ---------------------------------------------------------------------------------

    def alarms_ok(self, names: str | Iterable[str]) -> dict[str, str]:
        """None of the CloudWatch alarms ``names`` (metric or composite) is in ALARM, and all of them exist.

        Checked once (no waiting). Returns each alarm's StateValue (``OK``, ``INSUFFICIENT_DATA``). An alarm in
        ALARM fails naming it and its StateReason; names that are not alarms fail naming them.
        """
        __tracebackhide__ = True
        action, check_name = "smoke.alarms_ok", "no alarm is in ALARM"
        wanted = [names] if isinstance(names, str) else list(dict.fromkeys(names))
        if not wanted:
            self.ctx.checks.skipped(action, "post", check_name, "no alarm names were given")
            return {}
        found: dict[str, dict[str, Any]] = {}
        for i in range(0, len(wanted), ALARM_NAMES_PER_CALL):
            chunk = wanted[i:i + ALARM_NAMES_PER_CALL]
            answers = pages(self.ctx.aws, "cloudwatch", "describe_alarms",
                            "describe CloudWatch alarms " + ", ".join(chunk), who=WHO,
                            AlarmNames=chunk, AlarmTypes=["CompositeAlarm", "MetricAlarm"])
            for page in answers:
                for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                    found[alarm["AlarmName"]] = alarm
        states = {name: str(found[name]["StateValue"]) for name in wanted if name in found}
        summary = _alarm_summary(states)
        self.ctx.log.info(f"smoke: alarms {summary}")
        problems = [
            f"{name} is in ALARM: {' '.join(str(found[name].get('StateReason', '')).split())}"
            for name, state in states.items() if state == "ALARM"
        ]
        missing = [name for name in wanted if name not in found]
        if missing:
            region = self.ctx.environment.region
            problems.append(
                f"{'alarm' if len(missing) == 1 else 'alarms'} {', '.join(missing)} "
                f"{'does' if len(missing) == 1 else 'do'} not exist in {region}"
            )
        if problems:
            self._fail(action, check_name, "smoke: CloudWatch " + "; ".join(problems) + ".")
        self.ctx.checks.passed(action, "post", check_name, summary)
        return states

    # -- helpers -------------------------------------------------------------------------------------------

    def _fail(self, action: str, name: str, message: str) -> NoReturn:
        __tracebackhide__ = True
        self.ctx.checks.record(Check(action, "post", name, "failed", message))
        raise AssertionError(message)


def redact_url(url: str) -> str:
    """``url`` fit to print: no password, and ``***`` for query values whose names look secret (``redact.py``).

    >>> redact_url("https://ci:hunter2@web.example.com/health?token=abc&verbose=1")
    'https://ci:***@web.example.com/health?token=***&verbose=1'
    """
    parts = urllib.parse.urlsplit(mask_url_password(url, "***"))
    query = "&".join(
        f"{key}=***" if looks_secret(key) and sep else f"{key}{sep}{value}"
        for key, sep, value in (item.partition("=") for item in parts.query.split("&"))
    ) if parts.query else ""
    return urllib.parse.urlunsplit(parts._replace(query=query))


def _split_credentials(url: str) -> tuple[str, dict[str, str] | None]:
    """``url`` without its user and password, and those as a Basic Authorization header (urllib sends none)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, None
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    netloc = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), {"Authorization": f"Basic {token}"}


def _connection_error(exc: BaseException, timeout: float) -> str:
    reason: object = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"no answer within {timeout:.1f} s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(reason, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(reason, socket.gaierror):
        return f"cannot resolve the host name ({reason.strerror or reason})"
    if isinstance(reason, ssl.SSLError):
        return f"TLS error ({reason.reason or reason})"
    if isinstance(reason, OSError) and reason.strerror:
        return f"connection failed ({reason.strerror})"
    return f"request failed ({type(reason).__name__}: {reason})"


def _alarm_summary(states: Mapping[str, str]) -> str:
    """``web-5xx OK, web-latency INSUFFICIENT_DATA``; for more than 10 alarms, counts: ``120 OK, 3 ALARM``."""
    if len(states) <= 10:
        return ", ".join(f"{name} {state}" for name, state in states.items()) or "none found"
    return ", ".join(f"{n} {state}" for state, n in Counter(states.values()).most_common())


def _target(arn: str, description: Mapping[str, Any]) -> TargetHealth:
    target, health = description.get("Target", {}), description.get("TargetHealth", {})
    port = target.get("Port")
    return TargetHealth(
        target_group_arn=arn,
        target_id=str(target.get("Id", "?")),
        port=int(port) if port is not None else None,
        state=str(health.get("State", "unknown")),
        reason=health.get("Reason"),
        description=health.get("Description"),
    )


def _quote(body: str) -> str:
    """The start of ``body`` on one line, quoted; "" for an empty body."""
    text = " ".join(body.split())
    if not text:
        return ""
    if len(text) > BODY_SNIPPET:
        text = text[:BODY_SNIPPET] + "…"
    return repr(text)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _attempts(n: int) -> str:
    return f"{n} attempt" if n == 1 else f"{n} attempts"
