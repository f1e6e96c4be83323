"""Command line: serve the sandbox on loopback and print the demo credentials."""

from __future__ import annotations

import argparse
import math
import sys

import uvicorn

from .app import create_app
from .seed import Seed, default_seed
from .server import bind_socket, check_loopback, format_url


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the options; a host that is not loopback is a usage error."""
    parser = argparse.ArgumentParser(
        prog="python -m galileo_magic.sandbox",
        description="A Galileo-compatible token server for demos and tests.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address")
    parser.add_argument(
        "--port", type=_port, default=8088, help="0 to 65535; 0 picks a free one"
    )
    parser.add_argument(
        "--ttl",
        type=_positive,
        default=3600.0,
        help="access token lifetime, seconds (more than 0)",
    )
    parser.add_argument(
        "--clock-offset",
        type=_finite,
        default=0.0,
        help="seconds added to the server clock, to try clock skew",
    )
    args = parser.parse_args(argv)
    try:
        args.host = check_loopback(args.host)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def _port(text: str) -> int:
    port = int(text) if text.strip().isdigit() else -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port from 0 to 65535")
    return port


def _finite(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return number


def _positive(text: str) -> float:
    number = _finite(text)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number above 0")
    return number


def banner(url: str, seed: Seed) -> str:
    """What to paste into a notebook to use this server."""
    lines = [f"Galileo sandbox serving at {url}", "Sandbox-only demo accounts:"]
    for user in seed.users:
        lines += [
            f"  email:    {user.email}",
            f"  password: {user.password}",
            f"  API key:  {user.api_key}",
            "  organizations:",
        ]
        lines += [f"    {org.id}  {org.slug}" for org in user.organizations]
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted; uvicorn handles Ctrl-C and SIGTERM."""
    args = parse_args(argv)
    seed = default_seed()
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        where = format_url(args.host, args.port)
        print(f"Cannot listen on {where}: {exc.strerror}.", file=sys.stderr)
        return 1
    url = format_url(args.host, sock.getsockname()[1])
    print(banner(url, seed), flush=True)

    app = create_app(seed, ttl=args.ttl, clock_offset=args.clock_offset)
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, date_header=False
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
