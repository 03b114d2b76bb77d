"""The local endpoints of the embedded local AWS's load balancing, on 127.0.0.1: an HTTP endpoint that answers each
request with a function, and a TCP endpoint that joins each connection to one its function picks.

A target group's endpoint (``loadbalancer.py``) and an Application Load Balancer listener's (``listeners.py``)
are HTTP endpoints: :func:`http_endpoint` parses the request, hands it to ``answer`` as a :class:`Request`
(hop-by-hop headers left out) and writes back the :class:`Answer` with a Content-Length, ``Connection: close``,
and ``text/plain`` when it names no Content-Type; :func:`relay` passes a request on to another local port. A
Network Load Balancer listener's endpoint is TCP (an NLB does not read HTTP): :func:`tcp_endpoint` asks
``connect`` for an upstream socket per connection and copies bytes both ways until both sides are done; with
none it closes the connection, as an NLB without a healthy target does. Example::

    endpoint = http_endpoint(0, "target group web", "ecsdeploy-lb", lambda request: Answer(200, b"ok\\n"))
    endpoint.port          # the port it listens on
    endpoint.close()
"""

from __future__ import annotations

import http.client
import logging
import selectors
import socket
import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["Answer", "Endpoint", "Request", "http_endpoint", "relay", "tcp_endpoint"]

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
                        "transfer-encoding", "upgrade", "content-length"})
IDLE_SECONDS = 60.0  # a joined TCP connection with no byte either way for this long is closed
_CHUNK = 65536


@dataclass(frozen=True)
class Request:
    """One HTTP request: its method, path (with the query), headers without the hop-by-hop ones, body (None when
    empty) and the client's address."""

    command: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    client: str


@dataclass(frozen=True)
class Answer:
    """What an HTTP endpoint answers: a status, a body and headers (hop-by-hop ones, Server and Date left out)."""

    status: int
    data: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


class Endpoint:
    """A server listening on 127.0.0.1, served by a daemon thread until :meth:`close`."""

    def __init__(self, server: socketserver.TCPServer, name: str) -> None:
        self.server = server
        self.port = int(server.server_address[1])
        self.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                                       name=name)
        self.thread.start()

    def close(self) -> None:
        """Stop listening and wait for the serving thread; connections in progress end on their own."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def relay(port: int, request: Request, headers: dict[str, str]) -> Answer:
    """``request`` sent with ``headers`` to 127.0.0.1:``port`` (one connection, closed after), and its answer.
    Raises OSError when nothing answers there."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(request.command, request.path, body=request.body, headers=headers)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    return Answer(response.status, data, [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP])


def http_endpoint(port: int, label: str, server_version: str, answer: Callable[[Request], Answer]) -> Endpoint:
    """An HTTP endpoint on 127.0.0.1:``port`` (0: a free one) answering every method with ``answer``; ``label``
    names it in the log. Raises OSError when the port cannot open."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s: " + format, label, *args)

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            found = answer(Request(self.command, self.path, headers, body, self.client_address[0]))
            self.send_response(found.status)
            if not any(k.lower() == "content-type" for k, _ in found.headers):
                self.send_header("Content-Type", "text/plain")
            for name, value in found.headers:
                if name.lower() not in HOP_BY_HOP | {"server", "date"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(found.data)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(found.data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    Handler.server_version = server_version
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return Endpoint(server, f"ecsdeploy-{label.replace(' ', '-')}")


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def tcp_endpoint(port: int, label: str, connect: Callable[[], socket.socket | None]) -> Endpoint:
    """A TCP endpoint on 127.0.0.1:``port`` (0: a free one) joining each connection to the socket ``connect``
    returns for it (None: the connection is closed at once); ``label`` names it in the log. Raises OSError when
    the port cannot open."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            upstream = connect()
            if upstream is None:
                log.debug("%s: no target for a connection from %s", label, self.client_address[0])
                return
            with upstream:
                _join(self.request, upstream)

    return Endpoint(_TCPServer(("127.0.0.1", port), Handler), f"ecsdeploy-{label.replace(' ', '-')}")


def _join(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways; a side that ends its sending (EOF) has the other side's sending ended too, and the
    join ends once both have, or after :data:`IDLE_SECONDS` without a byte."""
    peers = {client: upstream, upstream: client}
    open_ = {client, upstream}
    with selectors.DefaultSelector() as selector:
        for side in open_:
            selector.register(side, selectors.EVENT_READ)
        while open_:
            ready = selector.select(IDLE_SECONDS)
            if not ready:
                return
            for key, _ in ready:
                sock: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    data = sock.recv(_CHUNK)
                    if data:
                        peers[sock].sendall(data)
                        continue
                    peers[sock].shutdown(socket.SHUT_WR)
                except OSError:  # a side reset its connection: nothing more goes either way
                    return
                selector.unregister(sock)
                open_.discard(sock)
