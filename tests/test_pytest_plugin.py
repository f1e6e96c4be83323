"""The galileo_sandbox fixture that the package installs for users' own tests."""

from __future__ import annotations

import pytest

from galileo_magic import fetch_token
from galileo_magic.sandbox import SandboxServer


def test_galileo_sandbox_fixture_serves_tokens(
    galileo_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_CONSOLE_URL", galileo_sandbox.url)
    monkeypatch.setenv("GALILEO_API_KEY", galileo_sandbox.seed.users[0].api_key)

    token = fetch_token()

    assert galileo_sandbox.url.startswith("http://127.0.0.1:")
    assert not token.expired
