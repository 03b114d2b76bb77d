"""The local endpoints the emulator's load balancing is built from: the TCP endpoint of a Network Load Balancer
listener carries any bytes both ways and closes what it cannot join; the HTTP endpoint writes what its function
answers."""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from pytest_ecsdeploy.emulator.endpoints import Answer, Endpoint, Request, http_endpoint, relay, tcp_endpoint


@pytest.fixture
def echo() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that sends back, upper-cased, all a connection sent, once it has sent all."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                received = b""
                while chunk := connection.recv(4096):
                    received += chunk
                connection.sendall(received.upper())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    server.close()
    thread.join(timeout=5)


def exchange(endpoint: Endpoint, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=10) as connection:
        connection.sendall(data)
        connection.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := connection.recv(4096):
            received += chunk
        return received


def test_the_tcp_endpoint_carries_bytes_both_ways_until_both_sides_are_done(echo: int) -> None:
    picked: list[int] = []

    def connect() -> socket.socket:
        picked.append(echo)
        return socket.create_connection(("127.0.0.1", echo), timeout=10)

    endpoint = tcp_endpoint(0, "listener", connect)
    try:
        payload = bytes(range(256)) * 1024  # not HTTP, larger than a chunk
        assert exchange(endpoint, payload) == payload.upper()
        assert exchange(endpoint, b"second") == b"SECOND"
        assert picked == [echo, echo]  # one pick per connection
    finally:
        endpoint.close()


def test_the_tcp_endpoint_closes_a_connection_it_has_no_target_for() -> None:
    endpoint = tcp_endpoint(0, "listener", lambda: None)
    try:
        with socket.create_connection(("127.0.0.1", endpoint.port), timeout=10) as connection:
            try:
                connection.sendall(b"GET / HTTP/1.1\r\n\r\n")
                received = connection.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                # closed with the request unread, the kernel ends the connection with a reset rather than an end
                # of stream, depending on which comes first: either way nothing was answered and it is closed
                received = b""
            assert received == b""
    finally:
        endpoint.close()


def test_a_port_taken_is_an_os_error() -> None:
    endpoint = tcp_endpoint(0, "listener", lambda: None)
    try:
        with pytest.raises(OSError):
            http_endpoint(endpoint.port, "other", "test", lambda request: Answer(200, b""))
        with pytest.raises(OSError):
            tcp_endpoint(endpoint.port, "other", lambda: None)
    finally:
        endpoint.close()


def test_the_http_endpoint_writes_the_answer_and_relay_passes_a_request_on() -> None:
    seen: list[Request] = []

    def answer(request: Request) -> Answer:
        seen.append(request)
        return Answer(418, b"short and stout\n", [("X-Kind", "teapot"), ("Server", "upstream"),
                                                  ("Transfer-Encoding", "chunked")])

    upstream = http_endpoint(0, "upstream", "test-upstream", answer)
    front = http_endpoint(0, "front", "test-front", lambda request: relay(upstream.port, request, {
        **request.headers, "Connection": "close"}))
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{front.port}/pot?x=1", data=b"tea", method="POST",
                                         headers={"X-Asked": "1"})
        with pytest.raises(urllib.error.HTTPError) as answered:
            urllib.request.urlopen(request, timeout=10)
        error = answered.value
        assert (error.code, error.read()) == (418, b"short and stout\n")
        assert error.headers["X-Kind"] == "teapot" and error.headers["Content-Type"] == "text/plain"
        assert error.headers["Server"].startswith("test-front") and "Transfer-Encoding" not in error.headers
        (received,) = seen
        assert (received.command, received.path, received.body, received.headers["X-Asked"]) == (
            "POST", "/pot?x=1", b"tea", "1")
        assert "Connection" not in received.headers or received.headers["Connection"] == "close"
    finally:
        front.close()
        upstream.close()
