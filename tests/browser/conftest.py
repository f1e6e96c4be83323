"""Real-browser fixtures: Debian Chromium, one isolated Jupyter server per test.

Everything listens on 127.0.0.1. Each test gets its own Jupyter server (so no
kernel or widget model leaks from one test into the next) with all Jupyter
state in a temporary folder, and ends it by its PID. Chromium is the system
one: these tests fail, never skip, when it is missing.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
import requests

from galileo_magic.sandbox import SandboxServer
from galileo_magic.sandbox import seed as demo

CHROMIUM = os.environ.get("GALILEO_TEST_CHROMIUM", "/usr/bin/chromium")
# Without the networking switches Chromium keeps trying hosts it cannot reach.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SERVER_START_TIMEOUT = 60.0
KERNEL_IDLE_TIMEOUT = 60.0
UI_TIMEOUT_MS = 30_000
DOCS = Path(__file__).resolve().parents[2] / "docs"
# The one page error Notebook 7.6 logs on load, from its keyboard shortcuts.
KNOWN_PAGE_ERRORS = ("reading 'schema'",)
WRONG_PASSWORD = "canary-wrong-password-5f1c9e"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")


@dataclass
class Jupyter:
    """A running Jupyter server (lab or notebook) and where its notebook lives."""

    kind: str
    url: str
    token: str
    root: Path
    process: subprocess.Popen[bytes]
    log: Path

    def page_url(self, name: str) -> str:
        where = "lab/tree" if self.kind == "lab" else "notebooks"
        return f"{self.url}/{where}/{name}?token={self.token}"

    def api(self, path: str) -> Any:
        response = requests.get(
            f"{self.url}{path}",
            headers={"Authorization": f"token {self.token}"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def wait_kernel_idle(self) -> None:
        deadline = time.monotonic() + KERNEL_IDLE_TIMEOUT
        while time.monotonic() < deadline:
            sessions = self.api("/api/sessions")
            states = [s["kernel"]["execution_state"] for s in sessions]
            if states and all(state == "idle" for state in states):
                return
            time.sleep(0.2)
        raise AssertionError(f"No idle kernel within {KERNEL_IDLE_TIMEOUT:g} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def _jupyter_environment(home: Path, sandbox: SandboxServer) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GALILEO_", "JUPYTER"))
    }
    for name, folder in (
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTERLAB_SETTINGS_DIR", "settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
        ("IPYTHONDIR", "ipython"),
    ):
        (home / folder).mkdir(parents=True, exist_ok=True)
        env[name] = str(home / folder)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["GALILEO_CONSOLE_URL"] = sandbox.url
    env["GALILEO_USERNAME"] = demo.DEMO_EMAIL
    settings = home / "settings"
    _write_json(
        settings / "@jupyterlab/apputils-extension/notification.jupyterlab-settings",
        {"fetchNews": "false", "checkForUpdates": False},
    )
    # Widget state saving ON: the leak check must see the worst case.
    _write_json(
        settings / "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings",
        {"saveState": True},
    )
    return env


def write_notebook(path: Path, cells: list[str]) -> None:
    """A notebook of code cells, for the server to open."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(notebook, path)


@pytest.fixture
def start_jupyter(tmp_path: Path, sandbox: SandboxServer) -> Iterator[Any]:
    """Start ``jupyter lab`` or ``jupyter notebook`` on 127.0.0.1; stop it by PID."""
    started: list[Jupyter] = []

    def start(kind: str, cells: list[str], name: str = "login.ipynb") -> Jupyter:
        home = tmp_path / "jupyter"
        root = tmp_path / "root"
        root.mkdir()
        write_notebook(root / name, cells)
        port, token = _free_port(), secrets.token_hex(16)
        log = tmp_path / "jupyter.log"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab" if kind == "lab" else "notebook",
                "--no-browser",
                "--allow-root",
                "--ip=127.0.0.1",
                f"--port={port}",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
            ],
            env=_jupyter_environment(home, sandbox),
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        server = Jupyter(kind, f"http://127.0.0.1:{port}", token, root, process, log)
        started.append(server)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise AssertionError(f"jupyter {kind} exited: {log.read_text()}")
            try:
                server.api("/api/status")
                return server
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise AssertionError(f"jupyter {kind} did not answer") from None
                time.sleep(0.2)

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright; never a downloaded browser."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install it with "
            "'apt-get install -y chromium' or set GALILEO_TEST_CHROMIUM. "
            "'playwright install' cannot work here."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


@dataclass
class PageErrors:
    """Errors the page raised or logged, except the known harmless ones."""

    seen: list[str] = field(default_factory=list)

    def unexpected(self) -> list[str]:
        return [e for e in self.seen if not any(k in e for k in KNOWN_PAGE_ERRORS)]


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser page whose errors are collected in ``page.errors``."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    errors = PageErrors()
    page.on("pageerror", lambda exc: errors.seen.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: msg.type == "error" and errors.seen.append(f"console: {msg.text}"),
    )
    page.errors = errors
    yield page
    context.close()


def canaries(sandbox: SandboxServer, *extra: str) -> list[str]:
    """Every secret that must not reach a saved notebook: typed and issued."""
    issued = sandbox.app.state.sandbox.store.issued()
    return [demo.DEMO_API_KEY, demo.DEMO_PASSWORD, WRONG_PASSWORD, *extra, *issued]


def _base64_forms(raw: bytes) -> set[str]:
    """What base64 of ``raw`` looks like inside a longer base64 text.

    The secret may start at any of three byte offsets of a 3-byte group; for
    each, keep only the characters that depend on the secret alone.
    """
    forms = set()
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * offset + raw).decode()
            start = -(-8 * offset // 6)  # ceil: characters touched by the padding
            forms.add(text[start:-4])
    return forms


def leaks(text: str, secrets_: list[str]) -> list[str]:
    """The secrets found in ``text``, plain or base64 at any alignment."""
    found = []
    for secret in secrets_:
        forms = {secret, *_base64_forms(secret.encode())}
        if any(form and form in text for form in forms):
            found.append(secret[:6] + "...")
    return found


def open_notebook(page: Any, server: Jupyter, name: str = "login.ipynb") -> None:
    """Open the notebook and wait for a ready kernel on both sides."""
    page.goto(server.page_url(name))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    server.wait_kernel_idle()
    page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').first.wait_for(
        state="attached"
    )


def run_cell(page: Any, index: int) -> Any:
    """Run one cell with Shift+Enter and return its output area."""
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    return cell.locator(".jp-OutputArea")


def cell_text(page: Any, index: int, contains: str) -> str:
    """The text of a cell's output once it contains ``contains``."""
    output = page.locator(".jp-Notebook .jp-CodeCell").nth(index)
    found = output.locator(".jp-OutputArea-output", has_text=contains).first
    found.wait_for()
    return str(found.inner_text())


def save_notebook(page: Any, server: Jupyter, name: str = "login.ipynb") -> str:
    """Save with Ctrl+S and return the file once the widget state is in it."""
    path = server.root / name
    before = path.stat().st_mtime_ns
    page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if path.stat().st_mtime_ns != before:
            text = path.read_text(encoding="utf-8")
            if "application/vnd.jupyter.widget-state+json" in text:
                return text
        time.sleep(0.2)
    raise AssertionError(f"{path} was not saved with widget state")
