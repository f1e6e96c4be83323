"""Fetch cost: ``fetch_token`` against a bare ``requests`` GET of the same URL.

The sandbox runs in its own process on 127.0.0.1 and keeps connections alive
(uvicorn's default), over HTTP and then over HTTPS with a throwaway CA, since
a new connection to a real Galileo server includes a TLS handshake. Calls
are interleaved so that drift on a busy machine
hits every contender alike. A second pass counts the TCP connections the
server saw for each contender, and a third lets ``--auto-refresh`` refresh a
short-lived token several times to show that refreshes reuse the pool too.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests

from galileo_magic import fetch_token
from galileo_magic.sandbox import seed as demo

from .common import Row, Sandbox, median, ratio_row, sandbox
from .shell import make_shell

CALLS = 200
WARMUP = 10
LIKE_FOR_LIKE_LIMIT = 1.1
POOLED_LIMIT = 0.8
REFRESH_TTL = 3.0
REFRESH_MARGIN = 2
REFRESH_WINDOW = 5.5
TIMEOUT = 10.0


@contextmanager
def clean_process_state() -> Iterator[None]:
    """No GALILEO_* variable and an empty working directory, then put back."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("GALILEO_")}
    for name in saved:
        del os.environ[name]
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as workdir:
        os.chdir(workdir)
        try:
            yield
        finally:
            os.chdir(cwd)
            os.environ.update(saved)


def contenders(server: Sandbox) -> dict[str, Callable[[], object]]:
    """The three ways to get a token: ours, a bare Session, bare requests.get."""
    url = server.url + "/v1/token"
    headers = {"Galileo-API-Key": demo.DEMO_API_KEY}
    session = requests.Session()

    def ours() -> object:
        return fetch_token(api_key=demo.DEMO_API_KEY, api_url=server.url)

    def pooled() -> object:
        response = session.get(url, headers=headers, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()["access_token"]

    def fresh() -> object:
        response = requests.get(url, headers=headers, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()["access_token"]

    return {"fetch_token": ours, "session": pooled, "get": fresh}


def time_interleaved(
    calls: dict[str, Callable[[], object]], count: int
) -> dict[str, list[float]]:
    """Seconds per call for each contender, the order rotating every round."""
    names = list(calls)
    for name in names:
        for _ in range(WARMUP):
            calls[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for index in range(count):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            calls[name]()
            times[name].append(time.perf_counter() - start)
    return times


def count_connections(
    server: Sandbox, calls: dict[str, Callable[[], object]], count: int
) -> dict[str, tuple[int, int]]:
    """(connections, requests) the server saw for ``count`` calls of each."""
    seen = {}
    for name, call in calls.items():
        server.connections(reset=True)
        for _ in range(count):
            call()
        seen[name] = server.connections()
    return seen


def count_refreshes() -> tuple[int, int]:
    """(connections, requests) for one fetch plus its auto-refreshes."""
    with sandbox(ttl=REFRESH_TTL) as server, make_shell() as shell:
        os.environ["GALILEO_CONSOLE_URL"] = server.url
        os.environ["GALILEO_API_KEY"] = demo.DEMO_API_KEY
        try:
            shell.run_line_magic(
                "config", f"GalileoMagics.refresh_margin = {REFRESH_MARGIN}"
            )
            server.connections(reset=True)
            shell.run_line_magic("galileo_token", "--auto-refresh --quiet")
            time.sleep(REFRESH_WINDOW)
            return server.connections()
        finally:
            shell.run_line_magic("galileo_token", "--logout --quiet")
            del os.environ["GALILEO_CONSOLE_URL"], os.environ["GALILEO_API_KEY"]


@contextmanager
def trusting(ca_file: str | None) -> Iterator[None]:
    """Let every requests call trust ``ca_file`` (REQUESTS_CA_BUNDLE)."""
    if ca_file is None:
        yield
        return
    os.environ["REQUESTS_CA_BUNDLE"] = ca_file
    try:
        yield
    finally:
        del os.environ["REQUESTS_CA_BUNDLE"]


def timing_rows(times: dict[str, list[float]], label: str, calls: int) -> list[Row]:
    """Ours against the bare Session (like for like) and bare requests.get."""
    ours = median(times["fetch_token"]) * 1000
    return [
        ratio_row(
            f"{label}: `fetch_token` vs bare `requests.get` (the issue's baseline), "
            f"median of {calls}",
            ours,
            median(times["get"]) * 1000,
            "ms",
            LIKE_FOR_LIKE_LIMIT,
        ),
        ratio_row(
            f"{label}: `fetch_token` vs bare `requests.Session().get` (stricter: "
            f"like for like), median of {calls}",
            ours,
            median(times["session"]) * 1000,
            "ms",
            LIKE_FOR_LIKE_LIMIT,
        ),
        ratio_row(
            f"{label}: `fetch_token` (pooled) vs bare `requests.get` "
            f"(new connection each), median of {calls}",
            ours,
            median(times["get"]) * 1000,
            "ms",
            POOLED_LIMIT,
        ),
    ]


def run(calls: int = CALLS) -> list[Row]:
    """Time and count the contenders; return the rows."""
    with clean_process_state():
        with sandbox() as server:
            contestants = contenders(server)
            plain = time_interleaved(contestants, calls)
            seen = count_connections(server, contestants, calls)
        with sandbox(tls=True) as server, trusting(server.ca_file):
            secure = time_interleaved(contenders(server), calls)
        refresh_connections, refresh_requests = count_refreshes()

    rows = timing_rows(plain, "HTTP", calls)
    floor = median(plain["session"]) / median(plain["get"])
    rows.append(
        Row(
            "HTTP: bare Session vs bare `requests.get`, the most pooling can save "
            "on loopback",
            f"{median(plain['session']) * 1000:.3g} ms",
            f"{median(plain['get']) * 1000:.3g} ms",
            floor,
            "",
            None,
        )
    )
    rows += timing_rows(secure, "HTTPS", calls)
    connections, requests_seen = seen["fetch_token"]
    rows.append(
        Row(
            f"TCP connections the server saw for {calls} calls",
            f"{connections} ({requests_seen} requests)",
            f"`requests.get`: {seen['get'][0]}; Session: {seen['session'][0]}",
            None,
            "1",
            connections == 1,
        )
    )
    rows.append(
        Row(
            f"TCP connections for one fetch + auto-refreshes over "
            f"{REFRESH_WINDOW:g} s (token TTL {REFRESH_TTL:g} s)",
            f"{refresh_connections} ({refresh_requests} requests)",
            "",
            None,
            "1, with >= 3 requests",
            refresh_connections == 1 and refresh_requests >= 3,
        )
    )
    return rows
