"""What every benchmark shares: result rows, the machine, a sandbox process."""

from __future__ import annotations

import json
import os
import platform
import ssl
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SERVER_SCRIPT = Path(__file__).with_name("server.py")
ROOT = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT = 30.0


@dataclass
class Row:
    """One line of the results table."""

    name: str
    measured: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None  # None: shown for information, no target

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "info"
        return "met" if self.met else "MISSED"


def ratio_row(
    name: str, measured: float, baseline: float, unit: str, limit: float
) -> Row:
    """A row comparing two numbers as measured / baseline against ``limit``."""
    ratio = measured / baseline if baseline else float("inf")
    return Row(
        name,
        f"{measured:.3g} {unit}",
        f"{baseline:.3g} {unit}",
        ratio,
        f"<= {limit:g}x",
        ratio <= limit,
    )


def median(values: list[float]) -> float:
    """The median, or NaN for no values."""
    return statistics.median(values) if values else float("nan")


def machine() -> dict[str, str]:
    """Where the numbers were taken: cores, CPU model, Python."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def quiet_environment(**extra: str) -> dict[str, str]:
    """The current environment without GALILEO_* variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALILEO_")}
    env.pop("REQUESTS_CA_BUNDLE", None)
    env.update(extra)
    return env


class Sandbox:
    """A sandbox server process on 127.0.0.1 that counts client connections."""

    def __init__(
        self, process: subprocess.Popen[str], url: str, ca_file: str | None = None
    ) -> None:
        self.process = process
        self.url = url
        self.ca_file = ca_file

    def connections(self, reset: bool = False) -> tuple[int, int]:
        """Distinct client connections and requests seen (since the last reset)."""
        query = "?reset=1" if reset else ""
        address = f"{self.url}/_bench/connections{query}"
        context = ssl.create_default_context(cafile=self.ca_file)
        with urllib.request.urlopen(address, timeout=10, context=context) as answer:
            data = json.load(answer)
        return int(data["connections"]), int(data["requests"])


@contextmanager
def sandbox(ttl: float = 3600.0, *, tls: bool = False) -> Iterator[Sandbox]:
    """Start ``server.py`` in its own process; stop it (by its PID) at the end.

    With ``tls`` it serves HTTPS with a certificate from a throwaway CA whose
    file is ``Sandbox.ca_file``.
    """
    command = [sys.executable, str(SERVER_SCRIPT), "--ttl", str(ttl)]
    with tempfile.TemporaryDirectory() as workdir:
        ca_file = None
        if tls:
            ca_file, certfile, keyfile = _certificates(Path(workdir))
            command += ["--certfile", certfile, "--keyfile", keyfile]
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=workdir,
            env=quiet_environment(PYTHONPATH=str(ROOT)),
        )
        try:
            assert process.stdout is not None  # set by stdout=PIPE
            url = process.stdout.readline().strip()
            if not url.startswith(("http://127.0.0.1:", "https://127.0.0.1:")):
                raise RuntimeError(f"The benchmark sandbox did not start ({url!r}).")
            yield Sandbox(process, url, ca_file)
        finally:
            if process.stdin is not None:
                process.stdin.close()
            try:
                process.wait(SERVER_START_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _certificates(folder: Path) -> tuple[str, str, str]:
    """A throwaway CA and a certificate for 127.0.0.1: (CA, cert, key) files."""
    import trustme

    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    paths = [str(folder / name) for name in ("ca.pem", "cert.pem", "key.pem")]
    authority.cert_pem.write_to_path(paths[0])
    issued.cert_chain_pems[0].write_to_path(paths[1])
    issued.private_key_pem.write_to_path(paths[2])
    return paths[0], paths[1], paths[2]


def format_table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| Benchmark | galileo-magic | Baseline | Ratio | Target | Result |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
        lines.append(
            f"| {row.name} | {row.measured} | {row.baseline} | {ratio} | "
            f"{row.target} | {row.verdict} |"
        )
    return "\n".join(lines)
