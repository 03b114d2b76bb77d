"""smoke.http() against a real HTTP server on 127.0.0.1, started in the test; time is a fake clock unless noted."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pytest_ecsdeploy.actions.smoke import HttpResult, Smoke, redact_url
from pytest_ecsdeploy.aws import ClientFactory
from pytest_ecsdeploy.config import Environment, Service
from pytest_ecsdeploy.context import PrintLog, RunOptions, ServiceContext
from pytest_ecsdeploy.errors import ConfigError
from pytest_ecsdeploy.report.record import ServiceRecord

Answer = tuple[int, str, Mapping[str, str]]  # status, body, extra response headers


@dataclass
class Request:
    path: str
    headers: dict[str, str]


@dataclass
class HttpServer:
    """A real HTTP server whose answer is ``respond(path)``; ``delay`` seconds before answering."""

    respond: Callable[[str], Answer] = lambda path: (200, "ok", {})
    delay: float = 0.0
    requests: list[Request] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def server() -> Iterator[HttpServer]:
    state = HttpServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            state.requests.append(Request(self.path, dict(self.headers.items())))
            if state.delay:
                state.stop.wait(state.delay)
            status, body, headers = state.respond(self.path)
            data = body.encode("utf-8")
            try:
                self.send_response(status)
                for key, value in {"Content-Type": "text/plain; charset=utf-8", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join()


class FakeClock:
    """Monotonic time that only ``sleep`` moves; ``sleeps`` keeps every sleep asked for."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


def make_ctx(health_url: str | None) -> ServiceContext:
    environment = Environment(name="local", backend="emulator", cluster="local", region="us-east-1")
    return ServiceContext(
        environment=environment,
        service=Service(name="web", service_name="web", health_url=health_url),
        aws=ClientFactory(environment, local_endpoint="http://127.0.0.1:9"),  # never called by smoke.http()
        options=RunOptions(),
        record=ServiceRecord(service="web", environment="local", cluster="local"),
        log=PrintLog("[web] "),
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ctx(server: HttpServer) -> ServiceContext:
    return make_ctx(server.url)


@pytest.fixture
def checker(ctx: ServiceContext, clock: FakeClock) -> Smoke:
    return Smoke(ctx, clock=clock, sleep=clock.sleep)


def log_lines(ctx: ServiceContext) -> list[str]:
    assert isinstance(ctx.log, PrintLog)
    return ctx.log.lines


# -- passing ----------------------------------------------------------------------------------------------


def test_healthy_service_passes_at_once(server: HttpServer, ctx: ServiceContext, checker: Smoke,
                                        clock: FakeClock) -> None:
    server.respond = lambda path: (200, '{"status": "ok"}', {"X-Version": "1.4.2"})
    result = checker.http("/health", expect_status=200, contains="ok")
    assert isinstance(result, HttpResult)
    assert (result.url, result.status, result.reason) == (f"{server.url}/health", 200, "OK")
    assert result.json() == {"status": "ok"}
    assert (result.attempts, result.elapsed) == (1, 0.0)
    assert result.headers["X-Version"] == "1.4.2"
    assert [r.path for r in server.requests] == ["/health"]
    assert server.requests[0].headers["User-Agent"] == "pytest-ecsdeploy-smoke"
    assert clock.sleeps == []
    assert log_lines(ctx) == [f"smoke: GET {server.url}/health -> 200 OK in 0 ms (attempt 1, 60 s left)"]
    [check] = ctx.checks.items
    assert (check.action, check.phase, check.result) == ("smoke.http", "post", "passed")
    assert check.name == "GET /health answers status 200 and a body containing 'ok'"
    assert check.detail == f"{server.url}/health answered 200 OK in 0 ms after 1 attempt over 0.0 s"


def test_slow_to_start_is_retried_with_a_growing_backoff(server: HttpServer, ctx: ServiceContext,
                                                          checker: Smoke, clock: FakeClock) -> None:
    ready_at = clock.now + 4
    server.respond = lambda path: (200, "ok", {}) if clock.now >= ready_at else (503, "warming up", {})
    result = checker.http("/health", within=60)
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0]
    assert (result.status, result.attempts, result.elapsed) == (200, 5, 7.5)
    assert [line.split(" -> ")[1] for line in log_lines(ctx)] == [
        "503 Service Unavailable in 0 ms (attempt 1, 60 s left)",
        "503 Service Unavailable in 0 ms (attempt 2, 60 s left)",
        "503 Service Unavailable in 0 ms (attempt 3, 58 s left)",
        "503 Service Unavailable in 0 ms (attempt 4, 56 s left)",
        "200 OK in 0 ms (attempt 5, 52 s left)",
    ]
    assert ctx.checks.items[-1].detail.endswith("after 5 attempts over 7.5 s")


def test_backoff_is_capped_at_five_seconds(server: HttpServer, checker: Smoke, clock: FakeClock) -> None:
    ready_at = clock.now + 20
    server.respond = lambda path: (200, "ok", {}) if clock.now >= ready_at else (502, "", {})
    assert checker.http("/", within=60).attempts == 8
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_any_of_several_statuses(server: HttpServer, checker: Smoke) -> None:
    server.respond = lambda path: (204, "", {})
    assert checker.http("/ping", expect_status=(200, 204)).status == 204


def test_redirect_is_followed(server: HttpServer, checker: Smoke) -> None:
    server.respond = lambda path: (302, "", {"Location": "/health"}) if path == "/old" else (200, "ok", {})
    result = checker.http("/old", contains="ok")
    assert [r.path for r in server.requests] == ["/old", "/health"]
    assert result.status == 200


@pytest.mark.parametrize(
    ("base", "path", "expected"),
    [("/app/", "health", "/app/health"), ("/app", "/health", "/app/health"), ("", "", "/"),
     ("/app", "", "/app"), ("", "/v1/health?deep=1", "/v1/health?deep=1")],
)
def test_path_is_joined_to_health_url(server: HttpServer, clock: FakeClock, base: str, path: str,
                                      expected: str) -> None:
    checker = Smoke(make_ctx(server.url + base), clock=clock, sleep=clock.sleep)
    checker.http(path)
    assert server.requests[-1].path == expected


def test_an_absolute_url_is_used_as_it_is(server: HttpServer, clock: FakeClock) -> None:
    checker = Smoke(make_ctx(None), clock=clock, sleep=clock.sleep)
    assert checker.http(f"{server.url}/direct").url == f"{server.url}/direct"


# -- failing ----------------------------------------------------------------------------------------------


def test_wrong_status_fails_naming_url_expectation_and_answer(server: HttpServer, ctx: ServiceContext,
                                                               checker: Smoke) -> None:
    server.respond = lambda path: (404, "<h1>Not Found</h1>\n<p>no route /health</p>", {})
    with pytest.raises(AssertionError) as excinfo:
        checker.http("/health", within=0)
    message = str(excinfo.value)
    assert message == (
        f"smoke: GET {server.url}/health did not answer status 200 within 0 s (1 attempt: 404 Not Found ×1); "
        "the last answer was 404 Not Found with body '<h1>Not Found</h1> <p>no route /health</p>'."
    )
    [check] = ctx.checks.items
    assert (check.action, check.phase, check.result, check.detail) == ("smoke.http", "post", "failed", message)


def test_wrong_body_fails_quoting_the_body(server: HttpServer, checker: Smoke) -> None:
    server.respond = lambda path: (200, '{"status": "degraded", "db": "down"}', {})
    with pytest.raises(AssertionError, match=r"""did not answer status 200 and a body containing '"ok"' """
                                             r"""within 3 s \(4 attempts: 200 OK ×4\); the last answer was 200 OK """
                                             r"""but its body does not contain '"ok"': '\{"status": "degraded", "db": "down"\}'\.$"""):
        checker.http("/health", contains='"ok"', within=3)


def test_an_empty_body_and_a_long_body_are_described(server: HttpServer, checker: Smoke) -> None:
    server.respond = lambda path: (500, "", {})
    with pytest.raises(AssertionError, match="the last answer was 500 Internal Server Error with an empty body"):
        checker.http("/", within=0)
    server.respond = lambda path: (200, "", {})
    with pytest.raises(AssertionError, match="the last answer was 200 OK but its body is empty.$"):
        checker.http("/", contains="ok", within=0)
    server.respond = lambda path: (500, "x" * 5000, {})
    with pytest.raises(AssertionError) as excinfo:
        checker.http("/", within=0)
    assert str(excinfo.value).endswith(f"with body '{'x' * 200}…'.")


def test_connection_refused(clock: FakeClock) -> None:
    with socket.socket() as bound:  # bound but not listening: every connection is refused
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}"
        ctx = make_ctx(url)
        with pytest.raises(AssertionError) as excinfo:
            Smoke(ctx, clock=clock, sleep=clock.sleep).http("/health", within=2)
    assert str(excinfo.value) == (
        f"smoke: GET {url}/health did not answer status 200 within 2 s (4 attempts: connection refused ×4); "
        "the last attempt failed: connection refused."
    )
    assert log_lines(ctx)[0] == f"smoke: GET {url}/health -> connection refused in 0 ms (attempt 1, 2 s left)"


def test_within_exceeded_stops_at_the_bound(server: HttpServer, checker: Smoke, clock: FakeClock) -> None:
    server.respond = lambda path: (503, "warming up", {})
    start = clock.now
    with pytest.raises(AssertionError) as excinfo:
        checker.http("/health", within=10)
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 2.5]
    assert clock.now - start == 10
    assert len(server.requests) == 6
    assert "within 10 s (6 attempts: 503 Service Unavailable ×6); the last answer was 503 Service Unavailable " \
           "with body 'warming up'." in str(excinfo.value)


def test_the_history_of_answers_is_summarised(server: HttpServer, checker: Smoke, clock: FakeClock) -> None:
    answers: Iterator[Answer] = iter([(502, "", {}), (502, "", {}), (503, "", {}), (200, "starting", {})])
    server.respond = lambda path: next(answers)
    with pytest.raises(AssertionError, match=r"\(4 attempts: 502 Bad Gateway ×2, 503 Service Unavailable ×1, "
                                             r"200 OK ×1\); the last answer was 200 OK but its body does not "
                                             r"contain 'ready': 'starting'\.$"):
        checker.http("/", contains="ready", within=3.5)


def test_an_attempt_times_out_within_the_time_left(server: HttpServer, ctx: ServiceContext) -> None:
    server.delay = 60  # real seconds; the fixture releases the handler at teardown
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"\(1 attempt: no answer within 1\.0 s ×1\); the last attempt "
                                             r"failed: no answer within 1\.0 s\.$"):
        Smoke(ctx).http("/slow", within=0.2)
    assert time.monotonic() - started < 30  # gave up after the attempt's timeout, long before the answer


def test_attempt_timeouts_are_bounded_by_the_time_left(server: HttpServer, ctx: ServiceContext,
                                                       clock: FakeClock) -> None:
    timeouts: list[float] = []

    class Recording(Smoke):
        def _get(self, url: str, headers: Mapping[str, str], timeout: float) -> object:  # type: ignore[override]
            timeouts.append(timeout)
            return super()._get(url, headers, timeout)

    server.respond = lambda path: (503, "", {})
    with pytest.raises(AssertionError):
        Recording(ctx, clock=clock, sleep=clock.sleep).http("/", within=12)
    assert timeouts == [10.0, 10.0, 10.0, 8.5, 4.5, 1.0]


def test_missing_health_url_is_one_sentence_naming_service_and_key(clock: FakeClock) -> None:
    with pytest.raises(ConfigError) as excinfo:
        Smoke(make_ctx(None), clock=clock, sleep=clock.sleep).http("/health")
    assert str(excinfo.value) == (
        "service 'web' has no health_url, so smoke.http() has nothing to request; "
        "set health_url in [services.web] of ecsdeploy.toml."
    )


@pytest.mark.parametrize("health_url", ["web.example.com/health", "ftp://web.example.com", "http://"])
def test_a_health_url_that_is_no_http_url_is_a_config_error(clock: FakeClock, health_url: str) -> None:
    with pytest.raises(ConfigError, match=rf"^service 'web': health_url '{re.escape(health_url)}' in "
                                          r"\[services\.web\] of ecsdeploy\.toml is not an http:// or https:// URL "
                                          r"with a host\.$"):
        Smoke(make_ctx(health_url), clock=clock, sleep=clock.sleep).http("/health")


@pytest.mark.parametrize(("kwargs", "match"), [({"within": -1}, "within must be 0 or more"),
                                               ({"expect_status": ()}, "at least one status")])
def test_bad_arguments(checker: Smoke, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        checker.http("/", **kwargs)  # type: ignore[arg-type]


# -- secrets ----------------------------------------------------------------------------------------------


def test_credentials_and_headers_are_sent_but_never_printed(server: HttpServer, clock: FakeClock,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    server.respond = lambda path: (401, "denied", {})
    ctx = make_ctx(f"http://ci:hunter2@127.0.0.1:{server.port}")
    checker = Smoke(ctx, clock=clock, sleep=clock.sleep)
    with pytest.raises(AssertionError) as excinfo:
        checker.http("/health?token=abc123&deep=1", within=0, headers={"X-Api-Key": "k-987"})
    request = server.requests[0]
    assert request.headers["Authorization"] == "Basic Y2k6aHVudGVyMg=="  # ci:hunter2
    assert request.headers["X-Api-Key"] == "k-987"
    assert request.path == "/health?token=abc123&deep=1"
    shown = f"http://ci:***@127.0.0.1:{server.port}/health?token=***&deep=1"
    assert shown in str(excinfo.value)
    printed = "\n".join([str(excinfo.value), *log_lines(ctx), *(c.line() for c in ctx.checks.items),
                         capsys.readouterr().out])
    for secret in ("hunter2", "Y2k6aHVudGVyMg", "abc123", "k-987", "X-Api-Key", "Authorization"):
        assert secret not in printed


def test_result_repr_shows_no_headers(server: HttpServer, checker: Smoke) -> None:
    server.respond = lambda path: (200, "ok", {"Set-Cookie": "session=s3cr3t"})
    result = checker.http("/")
    assert result.headers["Set-Cookie"] == "session=s3cr3t"
    assert "s3cr3t" not in repr(result)


@pytest.mark.parametrize(
    ("url", "shown"),
    [("https://ci:hunter2@web.example.com/health?token=abc&verbose=1",
      "https://ci:***@web.example.com/health?token=***&verbose=1"),
     ("https://web.example.com/health?X-Amz-Signature=f00&flag", "https://web.example.com/health?X-Amz-Signature=***&flag"),
     ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/")],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


# -- test traffic ---------------------------------------------------------------------------------------------


def test_test_traffic_goes_to_test_url_and_production_to_health_url(server: HttpServer, clock: FakeClock) -> None:
    server.respond = lambda path: (200, "green" if path.startswith("/test") else "blue", {})
    ctx = make_ctx(f"{server.url}/prod")
    ctx.service = Service(name="web", service_name="web", health_url=f"{server.url}/prod", test_url=f"{server.url}/test")
    checker = Smoke(ctx, clock=clock, sleep=clock.sleep)
    assert checker.http("/version", contains="green", traffic="test").url == f"{server.url}/test/version"
    assert checker.http("/version", contains="blue").url == f"{server.url}/prod/version"
    assert [r.path for r in server.requests] == ["/test/version", "/prod/version"]
    names = [c.name for c in ctx.record.checks.items]
    assert names == ["GET /version answers status 200 and a body containing 'green' through the test listener",
                     "GET /version answers status 200 and a body containing 'blue'"]


def test_test_traffic_failing_says_so_and_fails_like_an_assert(server: HttpServer, clock: FakeClock) -> None:
    server.respond = lambda path: (503, "down", {})
    ctx = make_ctx(None)
    ctx.service = Service(name="web", service_name="web", test_url=server.url)
    with pytest.raises(AssertionError, match=r"through the test listener|did not answer status 200"):
        Smoke(ctx, clock=clock, sleep=clock.sleep).http("/", within=2, traffic="test")
    assert ctx.record.checks.items[-1].result == "failed"


@pytest.mark.parametrize("traffic", ["TEST", "green", ""])
def test_an_unknown_traffic_is_refused(checker: Smoke, traffic: str) -> None:
    with pytest.raises(ValueError, match=r"^traffic must be 'production' or 'test', got "):
        checker.http("/", traffic=traffic)


@pytest.mark.parametrize("test_url", ["web.example.com", "ftp://web.example.com"])
def test_a_test_url_that_is_no_http_url_is_a_config_error(clock: FakeClock, test_url: str) -> None:
    ctx = make_ctx(None)
    ctx.service = Service(name="web", service_name="web", test_url=test_url)
    with pytest.raises(ConfigError, match=r"^service 'web': test_url .* is not an http:// or https:// URL"):
        Smoke(ctx, clock=clock, sleep=clock.sleep).http("/", traffic="test")
