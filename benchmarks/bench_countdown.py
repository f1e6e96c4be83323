"""Countdown cost: what a displayed countdown costs a real kernel while idle.

A real ipykernel (started by jupyter_client over IPC sockets, its environment
pointing at a sandbox process on 127.0.0.1) loads the extension; then iopub messages and
the kernel's CPU time are counted over a quiet window, first without a
token, then with the countdown of ``%galileo_token`` displayed, then with
``--auto-refresh`` as well. The countdown ticks in the browser, so the
kernel should send nothing while it is shown.
"""

from __future__ import annotations

import queue
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from jupyter_client import KernelManager

from galileo_magic.sandbox import seed as demo

from .common import Row, quiet_environment, sandbox

WINDOW = 20.0
SETTLE = 2.0
READY_TIMEOUT = 60.0
EXECUTE_TIMEOUT = 60.0
CLOCK_TICK = 0.01  # /proc reports CPU time in 1/100 s
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def execute(client: Any, code: str) -> list[dict[str, Any]]:
    """Run ``code`` and return its iopub messages up to the idle status."""
    msg_id = client.execute(code, store_history=False)
    messages = []
    deadline = time.monotonic() + EXECUTE_TIMEOUT
    while time.monotonic() < deadline:
        try:
            msg = client.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            errors = [m for m in messages if m["msg_type"] == "error"]
            if errors:
                raise RuntimeError(f"{code!r} failed: {errors[0]['content']['evalue']}")
            return messages
    raise RuntimeError(f"{code!r} did not finish within {EXECUTE_TIMEOUT:g} s.")


def quiet_window(client: Any, kernel: psutil.Process) -> tuple[int, float]:
    """(iopub messages, kernel CPU seconds) over WINDOW seconds of idling."""
    time.sleep(SETTLE)
    while True:  # drop what was sent before the window
        try:
            client.get_iopub_msg(timeout=0.1)
        except queue.Empty:
            break
    before = kernel.cpu_times()
    count = 0
    deadline = time.monotonic() + WINDOW
    while (left := deadline - time.monotonic()) > 0:
        try:
            client.get_iopub_msg(timeout=left)
            count += 1
        except queue.Empty:
            pass
    after = kernel.cpu_times()
    cpu = (after.user - before.user) + (after.system - before.system)
    return count, cpu


def measure() -> dict[str, tuple[int, float]]:
    """Counts for the three windows, and what the magic displayed."""
    results: dict[str, tuple[int, float]] = {}
    with sandbox() as server, tempfile.TemporaryDirectory() as workdir:
        env = quiet_environment(
            GALILEO_CONSOLE_URL=server.url,
            GALILEO_API_KEY=demo.DEMO_API_KEY,
            IPYTHONDIR=str(Path(workdir) / "ipython"),
            JUPYTER_RUNTIME_DIR=str(Path(workdir) / "runtime"),
        )
        # IPC sockets in our own folder: nothing listens on any port.
        manager = KernelManager(
            kernel_name="python3", transport="ipc", ip=str(Path(workdir) / "kernel")
        )
        manager.start_kernel(env=env, cwd=workdir)
        client = manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=READY_TIMEOUT)
            kernel = psutil.Process(manager.provisioner.pid)  # type: ignore[union-attr]
            execute(client, "%load_ext galileo_magic")
            results["without"] = quiet_window(client, kernel)
            shown = execute(client, "%galileo_token")
            if not any(WIDGET_MIME in m["content"].get("data", {}) for m in shown):
                raise RuntimeError("%galileo_token displayed no countdown widget.")
            results["shown"] = quiet_window(client, kernel)
            execute(client, "%galileo_token --auto-refresh")
            results["auto"] = quiet_window(client, kernel)
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    return results


def run() -> list[Row]:
    """Measure the windows; return the rows."""
    results = measure()
    base_messages, base_cpu = results["without"]
    rows = []
    for key, label in (("shown", "countdown"), ("auto", "countdown + auto-refresh")):
        messages, cpu = results[key]
        per_minute = messages * 60 / WINDOW
        rows.append(
            Row(
                f"iopub messages in {WINDOW:g} s with the {label} shown (real kernel)",
                f"{messages} ({per_minute:.1f}/min)",
                f"{base_messages} with no token",
                None,
                "0 per tick, <= 1/min",
                per_minute <= 1,
            )
        )
        extra = cpu - base_cpu
        rows.append(
            Row(
                f"kernel CPU in {WINDOW:g} s with the {label} shown",
                f"{cpu * 1000:.0f} ms",
                f"{base_cpu * 1000:.0f} ms with no token",
                cpu / base_cpu if base_cpu else None,
                "<= 1.1x, or within 2 clock ticks (20 ms)",
                extra <= 2 * CLOCK_TICK + 1e-9 or cpu <= 1.1 * base_cpu,
            )
        )
    return rows
