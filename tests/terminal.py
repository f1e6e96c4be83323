"""A real terminal IPython for tests, driven through a pseudo-terminal (pexpect)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect

IPYTHON = Path(sys.executable).with_name("ipython")


def spawn_ipython(env: dict[str, str]) -> pexpect.spawn:
    """Start ``ipython`` with plain prompts and ``env`` added to the environment."""
    child = pexpect.spawn(
        str(IPYTHON),
        ["--no-banner", "--quick", "--colors=NoColor", "--simple-prompt"],
        env={**os.environ, **env},
        encoding="utf-8",
        timeout=60,
    )
    child.expect_exact("In [1]: ")
    child.sendline("%load_ext galileo_magic")
    child.expect_exact("In [2]: ")
    return child


def answer_key_prompt(env: dict[str, str], magic: str, key: str) -> str:
    """Run ``magic``, type ``key`` at the hidden prompt; return the screen."""
    child = spawn_ipython(env)
    try:
        child.sendline(magic)
        child.expect_exact("Galileo API key (hidden): ")
        child.sendline(key)
        child.expect("Galileo token in galileo_token: organization (.*)\r\n")
        seen = str(child.before) + str(child.after)
        child.expect_exact("In [3]: ")
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    return seen
