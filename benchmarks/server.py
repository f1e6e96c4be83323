"""A sandbox server in its own process that also counts TCP connections.

Run by the benchmarks as a script: it prints its base URL on one line, serves
on 127.0.0.1 until its standard input closes, then stops. A separate process
keeps the server's work off the measured process's GIL and memory.
``GET /_bench/connections`` answers how many distinct client connections
(host, port) and requests were seen since the last ``?reset=1``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from galileo_magic.sandbox import SandboxServer

STATS_PATH = "/_bench/connections"


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


def main() -> int:
    """Serve until standard input is closed by the parent process."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ttl", type=float, default=3600.0)
    args = parser.parse_args()
    server = SandboxServer(host="127.0.0.1", port=0, ttl=args.ttl)
    server.app = ConnectionCounter(server.app)
    with server:
        print(server.url, flush=True)
        sys.stdin.read()
    return 0


if __name__ == "__main__":
    sys.exit(main())
