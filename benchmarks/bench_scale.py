"""Scale of use: 1,000 runs of ``%galileo_token --auto-refresh`` in one shell.

A real in-process InteractiveShell runs the magic against a sandbox process
on 127.0.0.1, cycling over a few variable names so that every run replaces
a held token and its refresh timer. After a warm-up, the resident memory,
open file descriptors (sockets among them) and live threads are compared
with the state at the end, and the thread count is watched after every run.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import time
from dataclasses import dataclass

import psutil

from galileo_magic.sandbox import seed as demo

from .bench_fetch import clean_process_state
from .common import Row, sandbox
from .shell import make_shell

RUNS = 1000
WARMUP = 50
VARIABLES = 3
MEMORY_LIMIT_MB = 5.0
TIMER_PREFIX = "galileo-magic-refresh"


def snapshot() -> dict[str, float]:
    """Resident memory (MB), open descriptors, sockets and threads, now."""
    gc.collect()
    process = psutil.Process()
    fds = os.listdir("/proc/self/fd")
    sockets = 0
    for fd in fds:
        with contextlib.suppress(OSError):
            sockets += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return {
        "rss": process.memory_info().rss / 2**20,
        "fds": len(fds),
        "sockets": sockets,
        "threads": threading.active_count(),
        "timers": timers(),
    }


@dataclass
class Scale:
    """What the runs left behind, and the worst seen along the way."""

    before: dict[str, float]
    after: dict[str, float]
    plain_growth: float
    most_threads: int = 0
    most_timers: int = 0
    seconds: float = 0.0
    connections: int = 0
    requests: int = 0


def timers() -> int:
    """Live refresh timer threads, by the name the magic gives them."""
    return sum(t.name.startswith(TIMER_PREFIX) for t in threading.enumerate())


def measure(runs: int) -> Scale:
    """Run the magic ``runs`` times after a warm-up and watch the process."""
    with clean_process_state(), sandbox() as server, make_shell() as shell:
        os.environ["GALILEO_CONSOLE_URL"] = server.url
        os.environ["GALILEO_API_KEY"] = demo.DEMO_API_KEY
        lines = [
            f"%galileo_token --auto-refresh --var tok{i}" for i in range(VARIABLES)
        ]
        try:
            with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
                for index in range(WARMUP):
                    shell.run_cell(lines[index % VARIABLES], store_history=True)
                plain = snapshot()
                for index in range(runs):  # what IPython's own history costs
                    shell.run_cell(f"x = {index}", store_history=True)
                before = snapshot()
                found = Scale(before, before, before["rss"] - plain["rss"])
                server.connections(reset=True)
                start = time.perf_counter()
                for index in range(runs):
                    line = lines[index % VARIABLES]
                    shell.run_cell(line, store_history=True).raise_error()
                    found.most_threads = max(
                        found.most_threads, threading.active_count()
                    )
                    found.most_timers = max(found.most_timers, timers())
                found.seconds = time.perf_counter() - start
                found.after = snapshot()
                found.connections, found.requests = server.connections()
        finally:
            for name in ("GALILEO_CONSOLE_URL", "GALILEO_API_KEY"):
                os.environ.pop(name, None)
    return found


def run(runs: int = RUNS) -> list[Row]:
    """Measure; return the rows."""
    found = measure(runs)
    before, after = found.before, found.after
    growth = after["rss"] - before["rss"]
    return [
        Row(
            f"resident memory growth over {runs} runs (after {WARMUP} warm-up)",
            f"{growth:+.2f} MB",
            f"{found.plain_growth:+.2f} MB for {runs} cells `x = N`",
            None,
            f"< {MEMORY_LIMIT_MB:g} MB",
            growth < MEMORY_LIMIT_MB,
        ),
        Row(
            f"open file descriptors (sockets) after {runs} runs",
            f"{after['fds']:.0f} ({after['sockets']:.0f})",
            f"{before['fds']:.0f} ({before['sockets']:.0f}) after warm-up",
            None,
            "no growth",
            after["fds"] <= before["fds"] and after["sockets"] <= before["sockets"],
        ),
        Row(
            f"refresh timer threads, most at any time ({VARIABLES} variables)",
            f"{found.most_timers} (threads in all: {found.most_threads})",
            f"{before['timers']:.0f} ({before['threads']:.0f}) after warm-up",
            None,
            f"<= {VARIABLES} (one per variable)",
            found.most_timers <= VARIABLES and found.most_threads <= before["threads"],
        ),
        Row(
            f"TCP connections the server saw for {runs} runs",
            f"{found.connections} ({found.requests} requests)",
            "",
            None,
            "1",
            found.connections == 1,
        ),
        Row(
            f"time per run of the magic (fetch, store, display), {runs} runs",
            f"{found.seconds / runs * 1000:.2f} ms",
            "",
            None,
            "",
            None,
        ),
    ]
