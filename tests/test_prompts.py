"""Asking for credentials: hidden prompts in a terminal, never a wait without one.

A terminal is a standard input that says it is one, and each prompt is
answered by a stand-in for ``getpass``/``input`` that records what was asked.
"""

from __future__ import annotations

import io
import sys

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from terminal import answer_key_prompt

from galileo_magic.sandbox import SandboxServer
from galileo_magic.sandbox import seed as demo


@pytest.mark.timeout(20)
def test_magic_without_stdin_or_credentials_fails_at_once(
    shell: InteractiveShell,
) -> None:
    assert not sys.stdin.isatty()
    result = shell.run_cell("%galileo_token")
    assert isinstance(result.error_in_exec, UsageError)
    message = str(result.error_in_exec)
    for name in ("GALILEO_API_KEY", "GALILEO_USERNAME", "GALILEO_PASSWORD"):
        assert name in message


class Terminal(io.StringIO):
    """A standard input that says it is a terminal, so the magic prompts."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A terminal's standard input, and each prompt shown there in turn."""
    monkeypatch.setattr(sys, "stdin", Terminal())
    return []


def reply_with(
    monkeypatch: pytest.MonkeyPatch, asked: list[str], replies: list[object]
) -> None:
    def answer(prompt: str = "") -> str:
        asked.append(prompt)
        reply = replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return str(reply)

    monkeypatch.setattr("getpass.getpass", answer)
    monkeypatch.setattr("builtins.input", answer)


@pytest.mark.parametrize("cancel", [KeyboardInterrupt(), EOFError()])
@pytest.mark.parametrize(
    ("flags", "before"),
    [
        ("", []),
        ("--username ada --password", []),
        ("--password", []),
        ("--password", ["ada"]),
    ],
)
def test_magic_prompt_cancelled_keeps_held_token(
    flags: str,
    before: list[str],
    cancel: BaseException,
    asked: list[str],
    shell: InteractiveShell,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GALILEO_API_URL", sandbox.url)
    line = f"%galileo_token --quiet --api-key {demo.DEMO_API_KEY}"
    assert shell.run_cell(line).success
    held = shell.user_ns["galileo_token"]
    reply_with(monkeypatch, asked, [*before, cancel])

    result = shell.run_cell(f"%galileo_token {flags}")

    assert type(result.error_in_exec) is UsageError
    assert "cancelled; the token already held is kept" in str(result.error_in_exec)
    assert result.error_in_exec.__context__ is None
    assert "Traceback" not in capsys.readouterr().err
    assert shell.user_ns["galileo_token"] is held
    assert len(asked) == len(before) + 1


def test_magic_bare_password_asks_user_name_then_password(
    asked: list[str],
    shell: InteractiveShell,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A wrong API key in the environment: only the password flow can succeed.
    monkeypatch.setenv("GALILEO_CONSOLE_URL", sandbox.url)
    monkeypatch.setenv("GALILEO_API_KEY", "gsk-not-the-one-asked-for")
    reply_with(monkeypatch, asked, [demo.DEMO_EMAIL, demo.DEMO_PASSWORD])

    result = shell.run_cell("%galileo_token --quiet --password")

    assert result.success, result.error_in_exec
    assert asked == ["Galileo user name: ", "Galileo password (hidden): "]
    assert shell.user_ns["galileo_token"].access_token
    assert demo.DEMO_PASSWORD not in "".join(shell.user_ns["In"])


def test_magic_login_in_a_terminal_asks_for_the_key_found_or_not(
    asked: list[str],
    shell: InteractiveShell,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The key found is refused by the server: only the one typed can succeed.
    monkeypatch.setenv("GALILEO_CONSOLE_URL", sandbox.url)
    monkeypatch.setenv("GALILEO_API_KEY", "gsk-found-but-not-wanted")
    reply_with(monkeypatch, asked, [demo.DEMO_API_KEY])

    result = shell.run_cell("%galileo_token --login --quiet")

    assert result.success, result.error_in_exec
    assert asked == ["Galileo API key (hidden): "]
    assert shell.user_ns["galileo_token"].access_token


def test_magic_login_in_a_terminal_asks_user_name_and_password_again(
    asked: list[str],
    shell: InteractiveShell,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GALILEO_CONSOLE_URL", sandbox.url)
    monkeypatch.setenv("GALILEO_USERNAME", demo.DEMO_EMAIL)
    monkeypatch.setenv("GALILEO_PASSWORD", "found-but-not-wanted")
    # Enter keeps the user name found; the password is the one typed.
    reply_with(monkeypatch, asked, ["", demo.DEMO_PASSWORD])

    result = shell.run_cell("%galileo_token --login --quiet")

    assert result.success, result.error_in_exec
    assert asked == [
        f"Galileo user name [{demo.DEMO_EMAIL}]: ",
        "Galileo password (hidden): ",
    ]
    assert shell.user_ns["galileo_token"].access_token


@pytest.mark.usefixtures("sandbox_env")
def test_magic_login_without_a_terminal_refuses_rather_than_ignore_it(
    shell: InteractiveShell,
) -> None:
    assert not sys.stdin.isatty()

    result = shell.run_cell("%galileo_token --login --quiet")

    assert type(result.error_in_exec) is UsageError
    assert "--login asks for the credentials" in str(result.error_in_exec)
    assert "galileo_token" not in shell.user_ns


def test_terminal_ipython_login_prompts_despite_a_key_in_the_environment(
    sandbox: SandboxServer,
) -> None:

    env = {
        "GALILEO_CONSOLE_URL": sandbox.url,
        "GALILEO_API_KEY": "gsk-found-but-not-wanted",
    }

    seen = answer_key_prompt(env, "%galileo_token --login", demo.DEMO_API_KEY)

    assert demo.DEMO_API_KEY not in seen
