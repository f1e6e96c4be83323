"""Masking secrets in the history: the word-finding helpers, and a known limit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from galileo_magic.history import secret_words, typed_forms


def test_typed_forms_finds_quoted_and_escaped_words() -> None:
    line = '--api-key "a\\"b" --password=\'p w\' --org-slug x'
    assert typed_forms(line, ['a"b', "p w"]) == ['"a\\"b"', "'p w'"]


def test_secret_words_guesses_after_secret_flags() -> None:
    assert secret_words("--api-key K --pass=P --org-slug 'x") == ["K", "P"]


def test_secret_words_guesses_after_misspelled_flags_and_in_urls() -> None:
    line = (
        "--pasword P1 --passwrd=P2 --apikye K1 --pw P3 --token T "
        "--username ada --org-slug acme --api-url http://u:P4@h:1/x"
    )
    assert secret_words(line) == ["P1", "P2", "K1", "P3", "T", "P4"]


def test_history_keeps_a_token_written_as_a_url_user_name(
    shell: InteractiveShell, tmp_path: Path
) -> None:
    """A known limit, pinned so that a change is noticed.

    Only the password of ``//user:password@host`` is masked; a token given
    as the user name (``https://TOKEN@host``) stays in In, _ih and the
    history file as typed. The URL itself is refused, without echoing it.
    """
    line = (
        "%galileo_token --api-key k --console-url https://gsk-canary-user@127.0.0.1:9"
    )

    result = shell.run_cell(line, store_history=True)
    shell.history_manager.writeout_cache()

    assert type(result.error_in_exec) is UsageError
    assert "must not embed a user name or password" in str(result.error_in_exec)
    assert "gsk-canary-user" not in str(result.error_in_exec)
    assert "https://gsk-canary-user@127.0.0.1:9" in shell.user_ns["In"][-1]
    with sqlite3.connect(tmp_path / "history.sqlite") as db:
        rows = db.execute("SELECT source_raw FROM history").fetchall()
    assert any("https://gsk-canary-user@127.0.0.1:9" in row[0] for row in rows)
