"""Shared fixtures: a clean environment, the sandbox, and a real IPython shell."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from galileo_magic.sandbox import SandboxServer
from galileo_magic.sandbox import seed as demo


@pytest.fixture(autouse=True)
def clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """No GALILEO_* variable, CA bundle or .env leaks in from the machine.

    The CA bundle variables go too: the tests talk only to loopback servers,
    and those with TLS bring their own CA (trustme).
    """
    bundles = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
    for name in list(os.environ):
        if name.startswith("GALILEO_") or name in bundles:
            monkeypatch.delenv(name)
    workdir = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(workdir)
    return workdir


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    """One sandbox server on 127.0.0.1 for the whole test session."""
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox_env(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> None:
    """Point GALILEO_CONSOLE_URL at the sandbox and give the demo API key."""
    monkeypatch.setenv("GALILEO_CONSOLE_URL", sandbox.url)
    monkeypatch.setenv("GALILEO_API_KEY", demo.DEMO_API_KEY)


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[InteractiveShell]:
    """A real IPython shell with its own history file and the extension loaded."""
    config = Config()
    config.HistoryManager.hist_file = str(tmp_path / "history.sqlite")
    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance(config=config, ipython_dir=str(tmp_path / "ipy"))
    ip.run_line_magic("load_ext", "galileo_magic")
    yield ip
    ip.run_line_magic("unload_ext", "galileo_magic")
    ip.history_manager.end_session()
    ip.history_manager.save_thread.stop()
    InteractiveShell.clear_instance()


def run(shell: InteractiveShell, cell: str) -> object:
    """Run a cell and return its result, raising nothing."""
    return shell.run_cell(cell, store_history=True)
