"""The HTTP plumbing of the embedded local AWS: the threaded WSGI server, moto's WSGI app, and the helpers that
read a request and write an answer the way AWS answers.

moto's server entry points (``moto.moto_server.werkzeug_app``: the app that dispatches a request to the service
it is for, and the request handler) are public, the way ``moto_server`` runs them, so they are imported here
rather than in ``moto_state``, which holds what reaches into moto's internals.
"""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import socketserver
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Protocol

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def moto_app() -> WsgiApp:
    """moto's WSGI app: every AWS service moto has, each request dispatched to the one it is for."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app: WsgiApp = DomainDispatcherApplication(create_backend_app)
    return app


# -- requests and answers --------------------------------------------------------------------------------


def read_body(environ: Environ) -> bytes:
    """A WSGI request's body (empty when there is none or its length is not a number)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def json_response(start_response: StartResponse, status: int, payload: Any,
                  content_type: str = "application/json") -> list[bytes]:
    """Answer ``payload`` as JSON with ``status`` and a request id (datetimes as epoch seconds)."""
    body = json.dumps(payload, default=_json_default).encode("utf-8")
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ],
    )
    return [body]


def aws_error(start_response: StartResponse, status: int, code: str, message: str) -> list[bytes]:
    """An AWS JSON-protocol error: ``{"__type": code, "message": message}`` with ``status``."""
    return json_response(start_response, status, {"__type": code, "message": message},
                         content_type="application/x-amz-json-1.1")


def not_implemented(environ: Environ, start_response: StartResponse, detail: str) -> list[bytes]:
    """AWS's answer to an unknown operation (400, not retried), saying that it is the emulator's gap."""
    from importlib.metadata import version

    match = re.fullmatch(r"The (\w+) action has not been implemented", detail)
    action = "".join(word.capitalize() for word in match[1].split("_")) if match else detail
    message = f"the embedded local AWS (moto {version('moto')}) does not implement {action}."
    if environ.get("HTTP_X_AMZ_TARGET") or "json" in environ.get("CONTENT_TYPE", ""):
        return aws_error(start_response, 400, "UnknownOperationException", message)
    from xml.sax.saxutils import escape

    request_id = str(uuid.uuid4())
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>{escape(message)}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
    start_response("400 Bad Request", [("Content-Type", "text/xml"), ("Content-Length", str(len(body))),
                                       ("x-amzn-RequestId", request_id)])
    return [body]


def _json_default(value: Any) -> Any:
    import datetime

    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 500: "Internal Server Error", 503: "Service Unavailable"}


def with_body(environ: Environ, body: bytes) -> Environ:
    """A copy of ``environ`` whose request body is ``body`` (read already, perhaps changed)."""
    changed = dict(environ)
    changed["wsgi.input"] = io.BytesIO(body)
    changed["CONTENT_LENGTH"] = str(len(body))
    return changed


def call_app(app: WsgiApp, environ: Environ) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI app to completion: (status line, headers, body)."""
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        captured["status"], captured["headers"] = status, list(headers)
        return lambda data: None

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return str(captured.get("status", "500 Internal Server Error")), captured.get("headers", []), body


# -- the HTTP server -------------------------------------------------------------------------------------


def _request_handler() -> type[Any]:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class _QuietHandler(MotoRequestHandler):
        """moto's handler (keeps underscored header names) without a log line per request."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            log.debug("%s %s", self.requestline, code)

    return _QuietHandler


class StartError(RuntimeError):
    """The server cannot listen (the port is taken, the address is not this host's); the message says why."""


def _server_class() -> type[Any]:
    from werkzeug.serving import BaseWSGIServer

    class Server(socketserver.ThreadingMixIn, BaseWSGIServer):
        """werkzeug's threaded server that knows its connection threads, so stop() leaves none behind."""

        multithread = True
        daemon_threads = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._connections: dict[threading.Thread, socket.socket] = {}
            self._connections_lock = threading.Lock()
            super().__init__(*args, **kwargs)

        def server_bind(self) -> None:
            try:
                super().server_bind()
            except OSError as exc:  # werkzeug would print and sys.exit(1)
                reason = exc.strerror or str(exc)
                raise StartError(f"cannot listen on {self.host}:{self.port}: {reason}.") from None

        def process_request(self, request: Any, client_address: Any) -> None:
            thread = threading.Thread(
                target=self.process_request_thread,
                args=(request, client_address),
                name="ecsdeploy-emulator-request",
                daemon=True,
            )
            with self._connections_lock:
                self._connections[thread] = request
            thread.start()

        def process_request_thread(self, request: Any, client_address: Any) -> None:
            try:
                super().process_request_thread(request, client_address)
            finally:
                with self._connections_lock:
                    self._connections.pop(threading.current_thread(), None)

        def close_connections(self) -> None:
            with self._connections_lock:
                connections = list(self._connections.items())
            for _, sock in connections:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            for thread, _ in connections:
                thread.join(timeout=5)

    return Server


class Server(Protocol):
    """The part of the werkzeug server LocalAWS uses."""

    server_address: tuple[Any, ...]

    def serve_forever(self, poll_interval: float = 0.5) -> None: ...
    def shutdown(self) -> None: ...
    def server_close(self) -> None: ...
    def close_connections(self) -> None: ...


def make_server(host: str, port: int, app: WsgiApp) -> Server:
    """A threaded HTTP server for ``app`` on ``host:port`` (0: a free port), with moto's request handler (it keeps
    header names with underscores), listening but not yet serving: a connection waits in the listen backlog until
    ``serve_forever()`` runs. Raises StartError when it cannot listen."""
    server: Server = _server_class()(host, port, app, handler=_request_handler())
    return server


def url_host(host: str) -> str:
    """How a URL names ``host``: 127.0.0.1 for a wildcard address, an IPv6 address in brackets."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host
