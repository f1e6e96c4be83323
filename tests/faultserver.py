"""A tiny threaded HTTP(S) server on 127.0.0.1 that answers with chosen faults.

The first path segment names the fault, so ``{url}/html-502`` is an API URL
whose ``/v1/token`` answers 502 with an HTML page. Every request is recorded
(path and headers) so tests can count retries and see what was sent.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

GOOD_TOKEN = "eyJfault.server.good-token-0123456789"
EXPIRES = "2099-01-01T00:00:00Z"
EXPIRED = "2000-01-01T00:00:00Z"
# Long enough that any client timeout in the tests trips before it ends.
STALL_SECONDS = 30.0


@dataclass
class Recorded:
    """One request the server saw."""

    method: str
    path: str
    headers: dict[str, str]
    at: float


def _json(status: int, body: Any, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return (
        status,
        {"Content-Type": "application/json", **headers},
        json.dumps(body).encode(),
    )


def _token(**fields: Any) -> tuple[int, dict[str, str], bytes]:
    body = {"access_token": GOOD_TOKEN, "token_type": "bearer", "expires_at": EXPIRES}
    body.update(fields)
    return _json(200, {k: v for k, v in body.items() if v is not None})


HTML = b"<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
VALIDATION = [
    {
        "type": "uuid_type",
        "loc": ["query", "organization_id"],
        "msg": "Input should be a valid UUID",
        "input": "nope",
    }
]

# name -> (status, headers, body); "ok" is a good token answer.
CANNED: dict[str, tuple[int, dict[str, str], bytes]] = {
    "ok": _token(),
    "401": _json(401, {"detail": "Invalid API key"}),
    "403": _json(403, {"detail": "Not allowed for this organization"}),
    "404": _json(404, {"detail": "Not Found"}),
    "405": _json(405, {"detail": "Method Not Allowed"}),
    "422-string": _json(422, {"detail": "organization_slug is not valid"}),
    "422-list": _json(422, {"detail": VALIDATION}),
    "429": _json(429, {"detail": "Too many requests"}, **{"Retry-After": "1"}),
    "500": _json(500, {"detail": "Internal Server Error"}),
    "html-502": (502, {"Content-Type": "text/html"}, HTML),
    "503": _json(503, {"detail": "Service Unavailable"}),
    "504": _json(504, {"detail": "Gateway Timeout"}),
    "not-json": (200, {"Content-Type": "text/plain"}, b"hello, not json"),
    "truncated": (200, {"Content-Type": "application/json"}, b'{"access_token": "ey'),
    "no-token": _token(access_token=None),
    "no-expiry": _token(expires_at=None),
    "bad-expiry": _token(expires_at="next tuesday"),
    # Shaped like a time, so only the full parse (tokens.parse_expiry) refuses it.
    "impossible-expiry": _token(expires_at="2026-13-45T00:00Z"),
    "expired": _token(expires_at=EXPIRED),
    # Would go into an Authorization header: a second header smuggled in.
    "spaced-token": _token(access_token="eyJfault bad\r\nX-Injected: yes"),
    "oversized": (
        200,
        {"Content-Type": "application/json"},
        b'{"pad": "' + b"x" * (2 << 20) + b'"}',
    ),
}


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that give up mid-answer are the point of these tests.
        return


class FaultServer:
    """A threaded HTTP server on 127.0.0.1 and a free port; HTTPS with ``ssl``."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        self.redirect_target = ""
        self.sent_secrets: list[str] = []
        self._stop = threading.Event()
        self.httpd = _QuietServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        if ssl_context is not None:
            self.httpd.socket = ssl_context.wrap_socket(
                self.httpd.socket, server_side=True
            )
        self.scheme = "https" if ssl_context is not None else "http"
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}
        )
        self._thread.daemon = True

    def url(self, case: str = "", host: str = "127.0.0.1") -> str:
        """The base URL of a fault, e.g. ``http://127.0.0.1:5000/html-502``."""
        base = f"{self.scheme}://{host}:{self.port}"
        return f"{base}/{case}" if case else base

    def count(self, case: str) -> int:
        """How many requests asked for ``case``."""
        with self.lock:
            return sum(1 for r in self.requests if r.path.split("/")[1] == case)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self._answer()

            def _answer(self) -> None:
                with server.lock:
                    server.requests.append(
                        Recorded(
                            self.command,
                            self.path,
                            dict(self.headers),
                            time.monotonic(),
                        )
                    )
                case = self.path.split("?")[0].split("/")[1]
                special = SPECIAL.get(case)
                if special is not None:
                    special(server, self)
                    return
                status, headers, body = CANNED.get(case, CANNED["404"])
                self.send(status, headers, body)

            def send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def _stall(server: FaultServer, handler: Any) -> None:
    server._stop.wait(STALL_SECONDS)
    handler.close_connection = True


def _drip_body(server: FaultServer, handler: Any) -> None:
    body = json.dumps({"access_token": GOOD_TOKEN, "expires_at": EXPIRES}).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body) * 1000))
    handler.end_headers()
    _drip(server, handler, b" " * (len(body) * 1000))


def _drip_headers(server: FaultServer, handler: Any) -> None:
    _drip(server, handler, b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 60000)


def _drip(server: FaultServer, handler: Any, data: bytes) -> None:
    try:
        for index in range(len(data)):
            if server._stop.wait(0.05):
                break
            handler.wfile.write(data[index : index + 1])
            handler.wfile.flush()
    except OSError:
        pass
    handler.close_connection = True


def _redirect(status: int, location: str, handler: Any) -> None:
    handler.send(status, {"Location": location}, b"")


def _cross_origin(server: FaultServer, handler: Any) -> None:
    _redirect(307, server.redirect_target, handler)


def _home(server: FaultServer, handler: Any) -> None:
    _redirect(307, "/ok/v1/token", handler)


def _loop(server: FaultServer, handler: Any) -> None:
    _redirect(302, handler.path, handler)


def _retry_then_ok(server: FaultServer, handler: Any) -> None:
    """503 with Retry-After on the first request of a case, then a token."""
    if server.count("retry-then-ok") == 1:
        handler.send(*_json(503, {"detail": "busy"}, **{"Retry-After": "1"}))
    else:
        handler.send(*CANNED["ok"])


def _short_lived(server: FaultServer, handler: Any) -> None:
    """A fresh token that lives two seconds, served slowly (0.3 s)."""
    server._stop.wait(0.3)
    expires = datetime.now(timezone.utc) + timedelta(seconds=2)
    token = f"eyJshort.{uuid.uuid4().hex}.lived"
    handler.send(
        *_json(200, {"access_token": token, "expires_at": expires.isoformat()})
    )


def _expired_on_server_clock(server: FaultServer, handler: Any) -> None:
    """A token valid for an hour of real time, from a server two hours ahead.

    By the server's own clock (its Date header) it expired an hour ago.
    """
    now = datetime.now(timezone.utc)
    body = json.dumps(
        {
            "access_token": GOOD_TOKEN,
            "expires_at": (now + timedelta(hours=1)).isoformat(),
        }
    ).encode()
    handler.send_response_only(200)
    handler.send_header(
        "Date", formatdate((now + timedelta(hours=2)).timestamp(), usegmt=True)
    )
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _echo(server: FaultServer, handler: Any) -> None:
    """A careless server that quotes the request headers in its error detail."""
    detail = f"bad credentials: {dict(handler.headers)}"
    handler.send(*_json(401, {"detail": detail}))


SPECIAL: dict[str, Callable[[FaultServer, Any], None]] = {
    "stall": _stall,
    "drip": _drip_body,
    "drip-headers": _drip_headers,
    "redirect-away": _cross_origin,
    "redirect-loop": _loop,
    "redirect-home": _home,
    "retry-then-ok": _retry_then_ok,
    "echo-401": _echo,
    "short-lived": _short_lived,
    "expired-server-clock": _expired_on_server_clock,
}


def refused_url() -> str:
    """A loopback URL where nothing listens: the port was bound, then freed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class BlackHole:
    """A loopback listener with a full backlog, so new connections never finish."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers: list[socket.socket] = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(filler)
        time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        for sock in [*self.fillers, self.listener]:
            sock.close()


class AnswerThenGone:
    """A loopback listener that answers one request with 503, then is gone.

    It stops listening as soon as it accepts that first connection, so every
    retry after the 503 meets a refused connection: a GET that mixes a status
    retry with connection retries.
    """

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.answered = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        finally:
            self.listener.close()
        body = json.dumps({"detail": "Service Unavailable"}).encode()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            conn.sendall(
                b"HTTP/1.1 503 Service Unavailable\r\n"
                b"Content-Type: application/json\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            self.answered += 1

    def close(self) -> None:
        try:
            # Wakes an accept() still waiting; close() alone would not.
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed after its one answer
        self.listener.close()
        self._thread.join(5)


def tls_context(ca: Any) -> ssl.SSLContext:
    """A server-side TLS context with a trustme certificate for 127.0.0.1."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context
