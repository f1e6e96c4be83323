"""A sandbox server in its own process that also counts TCP connections.

Run by the benchmarks as a script: it prints its base URL on one line, serves
on 127.0.0.1 until its standard input closes, then stops. A separate process
keeps the server's work off the measured process's GIL and memory.
``GET /_bench/connections`` answers how many distinct client connections
(host, port) and requests were seen since the last ``?reset=1``.

It serves the sandbox app itself rather than through ``SandboxServer`` so that
it can also speak HTTPS (``--certfile``/``--keyfile``), which the sandbox does
not.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from galileo_magic.sandbox import create_app, default_seed

STATS_PATH = "/_bench/connections"
STARTUP_TIMEOUT = 10.0


class ConnectionCounter:
    """ASGI middleware noting the client address of every HTTP request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.peers: set[tuple[str, int]] = set()
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == STATS_PATH:
            await self._answer(scope, send)
            return
        if scope["type"] == "http":
            client = scope.get("client") or ("?", 0)
            self.peers.add((str(client[0]), int(client[1])))
            self.requests += 1
        await self.app(scope, receive, send)

    async def _answer(self, scope: Any, send: Any) -> None:
        body = json.dumps(
            {"connections": len(self.peers), "requests": self.requests}
        ).encode()
        if b"reset=1" in scope.get("query_string", b""):
            self.peers.clear()
            self.requests = 0
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def serve(
    app: Any, ready: Callable[[str], None], tls: tuple[str, str] | None = None
) -> None:
    """Serve ``app`` on 127.0.0.1 from a TCP socket; call ``ready`` with its URL.

    ``tls`` is (certificate file, key file) to serve HTTPS.
    """
    # IPPROTO_TCP, as in SandboxServer, lets asyncio turn Nagle's algorithm off.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        date_header=False,
        lifespan="off",
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("The benchmark server did not start.")
        time.sleep(0.01)
    try:
        scheme = "https" if tls else "http"
        ready(f"{scheme}://127.0.0.1:{sock.getsockname()[1]}")
    finally:
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT)
        sock.close()


def wait_for_parent(url: str) -> None:
    """Tell the parent the URL, then serve until it closes our stdin."""
    print(url, flush=True)
    sys.stdin.read()


def main() -> int:
    """Serve until standard input is closed by the parent process."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ttl", type=float, default=3600.0)
    parser.add_argument("--certfile", help="serve HTTPS with this certificate")
    parser.add_argument("--keyfile", help="and this private key")
    args = parser.parse_args()
    app = ConnectionCounter(create_app(default_seed(), ttl=args.ttl))
    tls = (args.certfile, args.keyfile) if args.certfile else None
    serve(app, wait_for_parent, tls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
