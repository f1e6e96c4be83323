"""A pytest fixture that serves the Galileo sandbox on loopback for a test session.

Installed with galileo-magic as a pytest plugin: any test can ask for
``galileo_sandbox`` and gets a started :class:`SandboxServer` whose ``url``
to point ``GALILEO_CONSOLE_URL`` at, and whose ``seed`` holds the demo
credentials. Needs the ``sandbox`` extra (FastAPI and uvicorn).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .sandbox import SandboxServer


@pytest.fixture(scope="session")
def galileo_sandbox() -> Iterator[SandboxServer]:
    """A Galileo-compatible sandbox server on 127.0.0.1, one per test session."""
    try:
        from .sandbox import SandboxServer
    except ImportError as exc:  # FastAPI or uvicorn missing
        raise pytest.UsageError(
            "The galileo_sandbox fixture needs the sandbox extra: "
            "pip install 'galileo-magic[sandbox]'."
        ) from exc
    with SandboxServer() as server:
        yield server
