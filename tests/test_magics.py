"""%galileo_token through a real IPython shell against the sandbox."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from galileo_magic import GalileoToken
from galileo_magic.sandbox import SandboxServer
from galileo_magic.sandbox import seed as demo


def run(shell: InteractiveShell, cell: str):  # type: ignore[no-untyped-def]
    return shell.run_cell(cell, store_history=True)


@pytest.mark.usefixtures("sandbox_env")
def test_magic_stores_token_and_shows_countdown_line(shell: InteractiveShell) -> None:
    with capture_output() as captured:
        result = run(shell, "%galileo_token --org-slug acme-labs")

    assert result.success
    token = shell.user_ns["galileo_token"]
    assert isinstance(token, GalileoToken)
    assert token.organization_slug == "acme-labs"
    shown = captured.stdout + "".join(str(o.data) for o in captured.outputs)
    assert "galileo_token" in shown and "acme-labs" in shown and "expires" in shown
    assert token.access_token not in shown
    assert result.result is None


def test_magic_help_lists_the_flags(shell: InteractiveShell) -> None:
    with capture_output() as captured:
        run(shell, "%galileo_token?")

    for flag in ("--api-key", "--org-id", "--org-slug", "--var", "--auto-refresh"):
        assert flag in captured.stdout


@pytest.mark.usefixtures("sandbox_env")
def test_magic_var_flag_chooses_variable(shell: InteractiveShell) -> None:
    assert run(shell, "%galileo_token --var tok --quiet").success

    assert isinstance(shell.user_ns["tok"], GalileoToken)
    assert "galileo_token" not in shell.user_ns


@pytest.mark.parametrize("name", ["1abc", "a-b", "class", "x y"])
def test_magic_var_must_be_identifier(shell: InteractiveShell, name: str) -> None:
    result = run(shell, f"%galileo_token --var '{name}'")

    assert isinstance(result.error_in_exec, UsageError)
    assert "not a Python identifier" in str(result.error_in_exec)


@pytest.mark.usefixtures("sandbox_env")
def test_magic_config_traits_apply(shell: InteractiveShell) -> None:
    run(shell, "%config GalileoMagics.variable = 'configured'")

    assert run(shell, "%galileo_token --quiet").success
    assert isinstance(shell.user_ns["configured"], GalileoToken)


def test_magic_config_api_url_is_used(
    shell: InteractiveShell, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_API_KEY", demo.DEMO_API_KEY)
    run(shell, f"%config GalileoMagics.api_url = '{sandbox.url}'")

    assert run(shell, "%galileo_token --quiet").success
    assert shell.user_ns["galileo_token"].api_url == sandbox.url


@pytest.mark.parametrize("where", ["environment", ".env"])
def test_magic_config_console_url_ranks_below_environment_and_dotenv(
    shell: InteractiveShell,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    monkeypatch.setenv("GALILEO_API_KEY", demo.DEMO_API_KEY)
    if where == "environment":
        monkeypatch.setenv("GALILEO_CONSOLE_URL", sandbox.url)
    else:
        Path(".env").write_text(f"GALILEO_CONSOLE_URL={sandbox.url}\n")
    # Nothing listens on port 9 of loopback: used, this setting would fail.
    run(shell, "%config GalileoMagics.console_url = 'http://127.0.0.1:9'")

    result = run(shell, "%galileo_token --quiet")

    assert result.success, result.error_in_exec
    assert shell.user_ns["galileo_token"].api_url == sandbox.url


def test_magic_config_console_url_beats_the_default(
    shell: InteractiveShell, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_API_KEY", demo.DEMO_API_KEY)
    run(shell, f"%config GalileoMagics.console_url = '{sandbox.url}'")

    assert run(shell, "%galileo_token --quiet").success
    assert shell.user_ns["galileo_token"].api_url == sandbox.url


def test_magic_flag_console_url_beats_environment(
    shell: InteractiveShell, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_API_KEY", demo.DEMO_API_KEY)
    monkeypatch.setenv("GALILEO_CONSOLE_URL", "http://127.0.0.1:9")

    assert run(shell, f"%galileo_token --quiet --console-url {sandbox.url}").success
    assert shell.user_ns["galileo_token"].api_url == sandbox.url


@pytest.mark.usefixtures("sandbox_env")
def test_magic_failure_keeps_previous_token(shell: InteractiveShell) -> None:
    run(shell, "%galileo_token --quiet")
    held = shell.user_ns["galileo_token"]
    raw = held.access_token

    result = run(shell, "%galileo_token --org-slug no-such-org")

    assert isinstance(result.error_in_exec, UsageError)
    assert str(result.error_in_exec).startswith("OrganizationError: ")
    assert shell.user_ns["galileo_token"] is held
    assert held.access_token == raw


@pytest.mark.usefixtures("sandbox_env")
def test_magic_does_not_expand_variables(shell: InteractiveShell) -> None:
    shell.user_ns["slug"] = "acme-labs"

    result = run(shell, "%galileo_token --org-slug $slug")

    assert isinstance(result.error_in_exec, UsageError)
    assert "'$slug'" in str(result.error_in_exec)


def test_magic_without_credentials_or_stdin_fails_at_once(
    shell: InteractiveShell, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_CONSOLE_URL", sandbox.url)

    result = run(shell, "%galileo_token")

    assert isinstance(result.error_in_exec, UsageError)
    message = str(result.error_in_exec)
    assert "GALILEO_API_KEY" in message and "GALILEO_USERNAME" in message


def test_magic_secret_on_line_is_scrubbed_from_history(
    shell: InteractiveShell, sandbox: SandboxServer, tmp_path: Path
) -> None:
    line = (
        f"%galileo_token --api-url {sandbox.url} --api-key {demo.DEMO_API_KEY} --quiet"
    )

    result = run(shell, line)
    shell.history_manager.writeout_cache()

    assert result.success
    assert isinstance(shell.user_ns["galileo_token"], GalileoToken)
    recorded = [shell.user_ns["In"][-1], shell.user_ns["_ih"][-1], shell.user_ns["_i"]]
    recorded.append(shell.user_ns[f"_i{shell.execution_count - 1}"])
    with sqlite3.connect(tmp_path / "history.sqlite") as db:
        recorded += [
            row[0] + row[1]
            for row in db.execute("SELECT source, source_raw FROM history")
        ]
    assert any("--api-key ***" in text for text in recorded)
    assert not any(demo.DEMO_API_KEY in text for text in recorded)


def test_magic_bad_quoting_is_usage_error(shell: InteractiveShell) -> None:
    result = run(shell, "%galileo_token --org-slug 'acme")

    assert isinstance(result.error_in_exec, UsageError)
    assert "quot" in str(result.error_in_exec)


def test_magic_unknown_flag_is_usage_error(shell: InteractiveShell) -> None:
    result = run(shell, "%galileo_token --orgid 1")

    assert isinstance(result.error_in_exec, UsageError)


def test_unload_extension_removes_magic(shell: InteractiveShell) -> None:
    shell.run_line_magic("unload_ext", "galileo_magic")

    assert shell.find_line_magic("galileo_token") is None
    shell.run_line_magic("load_ext", "galileo_magic")
    assert shell.find_line_magic("galileo_token") is not None


def test_magic_help_says_login_prompts_in_a_terminal(shell: InteractiveShell) -> None:
    with capture_output() as captured:
        run(shell, "%galileo_token?")

    help_text = " ".join(captured.stdout.split())
    assert "Always show the login form (a hidden prompt in a terminal)." in help_text


IPYTHON_NAMES = ["In", "Out", "get_ipython", "exit", "quit", "_ih", "_oh", "_dh"]
IPYTHON_NAMES += ["_", "__", "___", "_i", "_ii", "_iii", "_1", "_i1", "_i12"]


@pytest.mark.parametrize("name", IPYTHON_NAMES)
def test_magic_var_refuses_ipython_names(
    shell: InteractiveShell, sandbox_env: None, name: str
) -> None:
    result = run(shell, f"%galileo_token --quiet --var {name}")

    assert type(result.error_in_exec) is UsageError
    message = str(result.error_in_exec)
    assert f"--var {name!r} is one of IPython's own names" in message
    assert "galileo_token" in message
    assert not isinstance(shell.user_ns.get(name), GalileoToken)
    assert isinstance(shell.user_ns["In"], list)


@pytest.mark.parametrize("name", ["In", "get_ipython", "_", "_i3", "1abc"])
def test_magic_config_variable_refuses_bad_names(
    shell: InteractiveShell, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    run(shell, f"%config GalileoMagics.variable = {name!r}")

    assert shell.run_line_magic("config", "GalileoMagics.variable") == "galileo_token"
    assert f"GalileoMagics.variable {name!r} " in caplog.text
    assert "use a name like galileo_token" in caplog.text


@pytest.mark.parametrize(
    ("setting", "kept", "said"),
    [
        ("refresh_margin = -5", 300, "should not be less than 0"),
        ("timeout = 0", 10.0, "timeout must be a positive number of seconds"),
        ("timeout = -1.5", 10.0, "timeout must be a positive number of seconds"),
        ("timeout = float('nan')", 10.0, "must be a positive number of seconds"),
    ],
)
def test_magic_config_refuses_bad_numbers(
    shell: InteractiveShell,
    caplog: pytest.LogCaptureFixture,
    setting: str,
    kept: float,
    said: str,
) -> None:
    run(shell, f"%config GalileoMagics.{setting}")

    name = setting.split()[0]
    assert shell.run_line_magic("config", f"GalileoMagics.{name}") == kept
    assert said in caplog.text


@pytest.mark.parametrize(
    ("flag", "words"),
    [
        ("--api-key", "API key"),
        ("--org-slug", "organization slug"),
        ("--org-id", "organization id"),
        ("--console-url", "console URL"),
        ("--api-url", "API URL"),
        ("--username", "user name"),
    ],
)
def test_magic_empty_flag_is_refused_not_defaulted(
    shell: InteractiveShell,
    sandbox: SandboxServer,
    sandbox_env: None,
    flag: str,
    words: str,
) -> None:
    run(shell, f"%config GalileoMagics.console_url = '{sandbox.url}'")
    run(shell, f"%config GalileoMagics.api_url = '{sandbox.url}'")

    result = run(shell, f"%galileo_token --quiet {flag} ''")

    assert type(result.error_in_exec) is UsageError
    message = str(result.error_in_exec)
    assert message.startswith(f"ConfigurationError: The {words} given is empty;")
    assert "galileo_token" not in shell.user_ns
