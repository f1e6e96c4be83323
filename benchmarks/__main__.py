"""Run every benchmark and print one table: ``python -m benchmarks``.

``--only load,fetch`` picks some; ``--output docs/benchmarks.md`` also
writes the report (machine, table, method) to a file.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from . import bench_countdown, bench_fetch, bench_load, bench_scale
from .common import Row, format_table, machine

BENCHMARKS: dict[str, tuple[str, Callable[[], list[Row]]]] = {
    "load": ("Load cost", bench_load.run),
    "fetch": ("Fetch cost", bench_fetch.run),
    "countdown": ("Countdown cost", bench_countdown.run),
    "scale": ("Scale of use", bench_scale.run),
}

METHOD = """\
## How it was measured

Every goal is a ratio against a baseline measured in the same run, or a count;
all servers listen on 127.0.0.1 only.

- **Load**: each sample is a fresh interpreter that has already imported
  IPython and made an `InteractiveShell`; only the `%load_ext` call is timed
  (the whole process too, for reference). `galileo_magic` and `dotenv` alternate;
  bytecode caches go to a private folder filled by one warm-up run each. The
  modules the load added are read from `sys.modules` and `python -X importtime`.
- **Fetch**: the sandbox app runs in its own process (uvicorn, keep-alive on,
  TCP_NODELAY on its connections like production servers); `fetch_token` with
  an API key, a bare `requests.Session().get` and a bare `requests.get` (a new
  connection each time) of the same `/v1/token` URL take turns, 200 calls each
  after 10 warm-up calls. A middleware counts the distinct client
  (host, port) pairs, that is TCP connections, the server saw. The issue's
  literal baseline is the bare `requests.get`; the bare Session row is the
  stricter like-for-like comparison.
- **Countdown**: a real ipykernel started by jupyter_client (IPC transport)
  runs `%load_ext galileo_magic`, then `%galileo_token`, then
  `%galileo_token --auto-refresh` against the sandbox process; after each, all
  iopub messages and the kernel's CPU time (psutil) are counted over a quiet
  window. The first window, with no token, is the baseline.
- **Scale**: an in-process `InteractiveShell` runs
  `%galileo_token --auto-refresh --var tokN` 1,000 times over three variables
  after 50 warm-up runs; resident memory (after `gc.collect()`), entries of
  `/proc/self/fd` and live threads are compared, and the thread count is
  checked after every run. The baseline column of the memory row is 1,000
  plain cells in the same shell, for what IPython's own history costs.
"""


NOTES = """\
## Why a target can be missed

- **Fetch, like for like (HTTP and HTTPS)**: `fetch_token` does more than a
  bare GET, on every call: it resolves the credentials (arguments, then the
  `GALILEO_*` environment, then a search for `.env` from the working folder up
  to the root), validates them into a request, reads the body with a size and
  time limit, parses the expiry and the server's `Date` header for clock skew,
  and builds a `GalileoToken`. Together that is a fixed cost of a few tenths
  of a millisecond, measured against a loopback round trip of about 2 ms; on
  a real network, where a round trip to the API takes tens of milliseconds,
  the same cost is about 1%.
- **Fetch, pooled vs new connection over plain HTTP**: a new TCP connection on
  loopback costs only about half a millisecond, while the server takes longer
  to answer, so even a bare pooled `requests.Session` cannot reach 0.8x
  there (see the "most pooling can save" row). Over HTTPS, where a new
  connection includes a TLS handshake as it always does against Galileo,
  pooling is well under the target.
- **An earlier `SandboxServer`** bound its socket with protocol 0, so asyncio
  left Nagle's algorithm on and each answer on a kept-alive connection waited
  about 40 ms for the client's delayed ACK. This benchmark found it; the
  sandbox now binds with `IPPROTO_TCP`, like the server used here.
"""


def report(rows: list[Row], seconds: float) -> str:
    """The whole report as Markdown: machine, table, method."""
    info = machine()
    missed = [row.name for row in rows if row.met is False]
    summary = f"{len(missed)} target(s) missed." if missed else "Every target was met."
    return "\n".join(
        [
            "# Benchmarks",
            "",
            "Produced by `.venv/bin/python -m benchmarks` from the project root "
            f"in {seconds:.0f} s.",
            "",
            f"Machine: {info['nproc']} cores, {info['cpu']}, Python "
            f"{info['python']}, {info['platform']}.",
            "",
            format_table(rows),
            "",
            summary,
            "",
            NOTES,
            METHOD,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks, print the report; 0 even if a target is missed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help="comma-separated subset"
    )
    parser.add_argument("--output", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(
            f"unknown benchmark(s) {', '.join(unknown)}; use {', '.join(BENCHMARKS)}"
        )

    start = time.monotonic()
    rows: list[Row] = []
    for name in chosen:
        title, bench = BENCHMARKS[name]
        print(f"Running {title} ...", file=sys.stderr, flush=True)
        rows.extend(bench())
    text = report(rows, time.monotonic() - start)
    print(text)
    if args.output is not None:
        args.output.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
