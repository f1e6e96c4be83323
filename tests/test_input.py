"""Input handling: literal values, shell quoting, names, .env, no stdin, typed secrets.

What the magic sends is read at a loopback fault server that records every
request header, so "taken literally" is checked on the wire.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultserver import FaultServer
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from galileo_magic.credentials import gather
from galileo_magic.sandbox import SandboxServer
from galileo_magic.sandbox import seed as demo


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def sent_key(faults: FaultServer) -> str:
    [request] = faults.requests
    return request.headers["Galileo-API-Key"]


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("'$HOME'", "$HOME"),
        ("$HOME", "$HOME"),
        ("{secret_name}", "{secret_name}"),
        ("'{1+1}'", "{1+1}"),
        ('"a b"', "a b"),
        ("'it\"s'", 'it"s'),
        ('"it\'s"', "it's"),
        (r"a\ b", "a b"),
        (r'"back\\slash"', "back\\slash"),
    ],
)
def test_magic_values_taken_literally(
    typed: str, sent: str, shell: InteractiveShell, faults: FaultServer
) -> None:
    shell.user_ns["secret_name"] = "EXPANDED"
    line = f"%galileo_token --quiet --api-url {faults.url('ok')} --api-key {typed}"
    result = shell.run_cell(line)
    assert result.success, result.error_in_exec
    assert sent_key(faults) == sent


def test_magic_org_slug_with_space_sent_as_one_value(
    shell: InteractiveShell, faults: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_API_KEY", "k-literal")
    url = faults.url("ok")
    result = shell.run_cell(f"%galileo_token --api-url {url} --org-slug 'acme $x'")
    assert result.success, result.error_in_exec
    assert faults.requests[0].path.endswith("?organization_slug=acme+%24x")


@pytest.mark.parametrize(
    "line", ["--org-slug 'unclosed", '--org-slug "unclosed', "--org-slug trailing\\"]
)
def test_magic_bad_quoting_is_usage_error(line: str, shell: InteractiveShell) -> None:
    result = shell.run_cell(f"%galileo_token {line}")
    assert isinstance(result.error_in_exec, UsageError)
    assert "close the quote" in str(result.error_in_exec)


@pytest.mark.parametrize("name", ["1abc", "class", "a.b", "a-b", "x[0]", "''"])
def test_magic_var_must_be_identifier(name: str, shell: InteractiveShell) -> None:
    result = shell.run_cell(f"%galileo_token --var {name}")
    assert isinstance(result.error_in_exec, UsageError)
    assert "not a Python identifier" in str(result.error_in_exec)


def test_magic_var_sets_the_named_variable(
    shell: InteractiveShell, sandbox_env: None
) -> None:
    result = shell.run_cell("%galileo_token --quiet --var my_token")
    assert result.success, result.error_in_exec
    assert shell.user_ns["my_token"].access_token
    assert "galileo_token" not in shell.user_ns


def test_magic_unknown_flag_hides_its_words(shell: InteractiveShell) -> None:
    result = shell.run_cell("%galileo_token --apikey gsk-canary-mistyped-3141")
    assert isinstance(result.error_in_exec, UsageError)
    assert "canary" not in str(result.error_in_exec)
    assert "canary" not in "".join(shell.user_ns["In"])


def test_dotenv_values_are_literal(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME_PART", "EXPANDED")
    (clean_environment / ".env").write_text(
        "GALILEO_API_KEY=key-${HOME_PART}-$HOME_PART\n"
        "GALILEO_PASSWORD='pa$$word ${X}'\n"
        "GALILEO_USERNAME=ada\n"
    )
    values = gather({})
    assert values.api_key is not None and values.password is not None
    assert values.api_key.reveal() == "key-${HOME_PART}-$HOME_PART"
    assert values.password.reveal() == "pa$$word ${X}"
    assert "GALILEO_API_KEY" not in os.environ


def test_magic_dotenv_key_sent_literally(
    shell: InteractiveShell, faults: FaultServer, clean_environment: Path
) -> None:
    (clean_environment / ".env").write_text("GALILEO_API_KEY=k-${USER}-{x}\n")
    result = shell.run_cell(f"%galileo_token --quiet --api-url {faults.url('ok')}")
    assert result.success, result.error_in_exec
    assert sent_key(faults) == "k-${USER}-{x}"


@pytest.mark.timeout(120)
def test_magic_in_nbclient_without_credentials_fails_at_once(
    tmp_path: Path,
) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext galileo_magic"),
        nbformat.v4.new_code_cell("%galileo_token"),
    ]
    client = NotebookClient(
        notebook, timeout=60, kernel_name="python3", resources={"metadata": {}}
    )
    with pytest.raises(CellExecutionError) as err:
        client.execute(cwd=str(tmp_path))
    assert "UsageError" in str(err.value)
    assert "GALILEO_API_KEY" in str(err.value)


def new_shell(history: Path) -> InteractiveShell:
    config = Config()
    config.HistoryManager.hist_file = str(history)
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(config=config, ipython_dir=str(history.parent))
    shell.run_line_magic("load_ext", "galileo_magic")
    return shell


def end_shell(shell: InteractiveShell) -> None:
    shell.run_line_magic("unload_ext", "galileo_magic")
    shell.history_manager.end_session()
    shell.history_manager.save_thread.stop()
    InteractiveShell.clear_instance()


SECRET_LINES = [
    ("%galileo_token --quiet --api-key {key}", "{key}"),
    ("%galileo_token --quiet --api-key={key}", "{key}"),
    ('%galileo_token --quiet --api-key "{key}"', "{key}"),
    ("%galileo_token --quiet --api-key '{key}' # it's", "{key}"),
    ('%galileo_token --quiet --api-key "a\\"{key}"', 'a"{key}'),
    ("%galileo_token --quiet --api-key a\\ {key}", "a {key}"),
]


@pytest.mark.parametrize(("template", "secret"), SECRET_LINES)
def test_magic_typed_secret_masked_in_history(
    template: str,
    secret: str,
    tmp_path: Path,
    faults: FaultServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = "gsk-canary-typed-5a7c9e"
    history = tmp_path / "history.sqlite"
    shell = new_shell(history)
    try:
        shell.run_line_magic("config", f"GalileoMagics.api_url = {faults.url('ok')!r}")
        line = template.format(key=key)
        first = shell.run_cell(line, store_history=True)
        second = shell.run_cell(line, store_history=True)
        assert first.success and second.success, first.error_in_exec
        for request in faults.requests:
            assert request.headers["Galileo-API-Key"] == secret.format(key=key)
        namespace = shell.user_ns
        seen = [*namespace["In"], *namespace["_ih"]]
        seen += [namespace[n] for n in ("_i", "_ii", "_i1", "_i2")]
        assert "***" in namespace["In"][1] and "***" in namespace["In"][2]
    finally:
        end_shell(shell)

    warnings = capsys.readouterr().err.count("a secret was typed")
    with sqlite3.connect(history) as db:
        rows = db.execute("SELECT source, source_raw FROM history").fetchall()
    assert len(rows) == 2
    for text in [*seen, *(column for row in rows for column in row)]:
        assert "canary" not in text
    assert warnings == 1


@pytest.mark.parametrize(
    "line",
    [
        "--api-key gsk-canary-x --org-slug 'oops",
        '--password=gsk-canary-x --org-slug "oops',
        "--apikey gsk-canary-x",
        "--status --api-key gsk-canary-x",
    ],
)
def test_magic_secret_masked_even_when_line_fails_early(
    line: str, tmp_path: Path
) -> None:
    history = tmp_path / "history.sqlite"
    shell = new_shell(history)
    try:
        shell.run_cell(f"%galileo_token {line}", store_history=True)
        seen = [*shell.user_ns["In"], shell.user_ns["_i1"]]
    finally:
        end_shell(shell)
    with sqlite3.connect(history) as db:
        rows = db.execute("SELECT source, source_raw FROM history").fetchall()
    assert rows
    for text in [*seen, *(column for row in rows for column in row)]:
        assert "canary" not in text


@pytest.mark.timeout(60)
def test_magic_in_terminal_ipython_masks_history(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """A whole IPython process: its history file is read after it has exited."""
    (tmp_path / "profile").mkdir()
    history = tmp_path / "profile" / "history.sqlite"
    script = (
        "%load_ext galileo_magic\n"
        f"%galileo_token --quiet --api-url {sandbox.url} "
        f"--api-key {demo.DEMO_API_KEY}\n"
        "print(galileo_token.expired)\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "IPython",
            "--quick",
            "--no-banner",
            "--simple-prompt",
            f"--HistoryManager.hist_file={history}",
            f"--ipython-dir={tmp_path / 'profile'}",
        ],
        input=script,
        capture_output=True,
        text=True,
        timeout=50,
        cwd=tmp_path,
    )
    assert "False" in done.stdout, done.stdout + done.stderr
    assert demo.DEMO_API_KEY not in done.stdout + done.stderr
    with sqlite3.connect(history) as db:
        rows = db.execute("SELECT source, source_raw FROM history").fetchall()
    assert any("galileo_token --quiet" in row[1] for row in rows)
    assert demo.DEMO_API_KEY not in str(rows)


def test_magic_misspelled_and_url_secrets_masked_in_history(tmp_path: Path) -> None:
    lines = [
        "%galileo_token --pasword typo-pw-3 --username ada",
        "%galileo_token --console-url http://user:urlpass@127.0.0.1:1 --api-key k",
        "%galileo_token --console-url=https://ada:urlpass@127.0.0.1:1",
    ]
    history = tmp_path / "history.sqlite"
    shell = new_shell(history)
    try:
        results = [shell.run_cell(line, store_history=True) for line in lines]
        seen = [*shell.user_ns["In"], *shell.user_ns["_ih"], shell.user_ns["_i1"]]
    finally:
        end_shell(shell)
    assert all(isinstance(r.error_in_exec, UsageError) for r in results)
    with sqlite3.connect(history) as db:
        rows = db.execute("SELECT source, source_raw FROM history").fetchall()
    assert len(rows) == 3
    for text in [*seen, *(column for row in rows for column in row)]:
        assert "typo-pw-3" not in text and "urlpass" not in text
    assert "http://user:***@127.0.0.1:1" in rows[1][1]


def test_magic_short_typed_secret_masks_only_its_own_word(
    tmp_path: Path, faults: FaultServer
) -> None:
    history = tmp_path / "history.sqlite"
    shell = new_shell(history)
    try:
        shell.run_line_magic("config", f"GalileoMagics.api_url = {faults.url('ok')!r}")
        result = shell.run_cell(
            "%galileo_token --quiet --api-key a", store_history=True
        )
        parsed, raw = shell.user_ns["In"][1], shell.user_ns["_i1"]
    finally:
        end_shell(shell)
    assert result.success, result.error_in_exec
    assert sent_key(faults) == "a"
    expected = "get_ipython().run_line_magic('galileo_token', '--quiet --api-key ***')"
    assert parsed.strip() == expected
    assert raw.strip() == "%galileo_token --quiet --api-key ***"
