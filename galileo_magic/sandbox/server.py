"""Run the sandbox app with uvicorn in a background thread on loopback."""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
import time
from types import TracebackType

import uvicorn

from .app import create_app
from .seed import Seed, default_seed

STARTUP_TIMEOUT = 10.0
SHUTDOWN_TIMEOUT = 10.0


def check_loopback(host: str) -> str:
    """Return the address to bind for ``host``; ValueError unless it is loopback."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ValueError(
            f"The sandbox only listens on loopback, not {host!r}: "
            "use 127.0.0.1, ::1 or localhost."
        )
    return host


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket bound to a loopback ``host`` and ``port``."""
    host = check_loopback(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP lets asyncio set TCP_NODELAY; without it each kept-alive answer
    # waits ~40 ms for the delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    if sys.platform != "win32":
        # Lets a restarted server reuse a fixed port left in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def format_url(host: str, port: int) -> str:
    """The base URL of a server on ``host`` and ``port``."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class SandboxServer:
    """A sandbox server in a daemon thread; ``start`` and ``stop`` are idempotent."""

    def __init__(
        self,
        seed: Seed | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ttl: float = 3600.0,
        clock_offset: float = 0.0,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        self.host = check_loopback(host)
        self.seed = seed if seed is not None else default_seed()
        self.port = port
        self._requested_port = port
        self.app = create_app(self.seed, ttl=ttl, clock_offset=clock_offset)
        self.startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``; the port is known once bound."""
        return format_url(self.host, self.port)

    @property
    def running(self) -> bool:
        """Whether the server thread is up and serving."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> SandboxServer:
        """Bind, serve in a thread and wait until it accepts requests."""
        if self.running:
            return self
        self._socket = bind_socket(self.host, self._requested_port)
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            date_header=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"galileo-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._wait_until_started()
        return self

    def _wait_until_started(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while self._server is not None and not self._server.started:
            if not self.running or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"Sandbox server at {self.url} did not start within "
                    f"{self.startup_timeout:g} s."
                )
            time.sleep(0.01)

    def stop(self) -> None:
        """Shut the server down and wait for its thread; safe to call twice."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(SHUTDOWN_TIMEOUT)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
