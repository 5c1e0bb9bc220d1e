"""Fixtures for the alert tests: webhook servers on 127.0.0.1 that misbehave on purpose."""

import contextlib
import socket
import threading
import time

import pytest

from observability import webhook_gate


@pytest.fixture(autouse=True)
def _fresh_local_gate():
    webhook_gate.reset_local()
    yield
    webhook_gate.reset_local()


@pytest.fixture
def emit(django_capture_on_commit_callbacks):
    """emit_alert, with the webhook's on-commit send run before returning (tests run in a transaction)."""
    from observability.alerts import emit_alert

    def _emit(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            result = emit_alert(*args, **kwargs)
        return result

    return _emit


class RawServer:
    """A TCP server on 127.0.0.1 that reads the request and then answers with ``script``.

    ``script(conn)`` writes whatever it likes; it is stopped by ``close()``. Counts
    accepted connections.
    """

    def __init__(self, script):
        self.script = script
        self.connections = 0
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self):
        workers = []
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            worker = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            worker.start()
            workers.append(worker)

    def _handle(self, conn):
        with contextlib.closing(conn):
            conn.settimeout(0.2)
            with contextlib.suppress(OSError):
                conn.recv(65536)
            with contextlib.suppress(OSError):
                self.script(conn, self._stop)

    def close(self):
        self._stop.set()
        self._sock.close()
        self._thread.join(2)


def _hang(conn, stop):
    stop.wait(30)


def _trickle_headers(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Slow: ")
    while not stop.is_set():
        conn.sendall(b"a")
        time.sleep(0.05)


def _trickle_error_body(conn, stop):
    conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 100000\r\n\r\n")
    while not stop.is_set():
        conn.sendall(b"x")
        time.sleep(0.05)


@pytest.fixture
def hung_server():
    server = RawServer(_hang)
    yield server
    server.close()


@pytest.fixture(params=["headers", "error_body"])
def trickling_server(request):
    server = RawServer(_trickle_headers if request.param == "headers" else _trickle_error_body)
    yield server
    server.close()


@pytest.fixture
def refused_url():
    """A URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
