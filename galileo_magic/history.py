"""Scrub a secret typed on the magic line out of In, _ih, _i* and the history file."""

from __future__ import annotations

import io
import logging
import shlex
from collections.abc import Iterable
from typing import Any

__all__ = ["redact_current_cell", "secret_words", "typed_forms"]

logger = logging.getLogger(__name__)
MASK = "***"
SECRET_FLAGS = ("--api-key", "--password")


def _forms(secret: str) -> set[str]:
    """The secret as typed, and as it reads inside a Python string literal.

    In ``In`` the magic line is the repr of the whole line, whose quote
    character depends on the rest of the line, so both escapings are tried.
    """
    escaped = secret.replace("\\", "\\\\")
    return {
        secret,
        repr(secret)[1:-1],
        escaped.replace("'", "\\'"),
        escaped.replace('"', '\\"'),
    }


def _redact(text: str, secrets: Iterable[str]) -> str:
    forms = {form for secret in secrets if secret for form in _forms(secret)}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    return text


def typed_forms(line: str, secrets: Iterable[str]) -> list[str]:
    """The words of ``line``, as typed (quotes and escapes kept), holding a secret.

    ``"a\\"b"`` on the line is the secret ``a"b``; masking the secret alone
    would leave it readable there.
    """
    wanted = [s for s in secrets if s]
    stream = io.StringIO(line)
    lexer = shlex.shlex(stream, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    found: list[str] = []
    start = 0
    try:
        while (word := lexer.get_token()) is not None:
            end = stream.tell()
            typed = line[start:end].strip()
            start = end
            if any(word == s or word.endswith("=" + s) for s in wanted):
                found.append(
                    typed.split("=", 1)[1] if typed.startswith("--") else typed
                )
    except ValueError:
        pass  # bad quoting: the caller falls back to secret_words
    return found


def _looks_secret(flag: str) -> bool:
    return flag.startswith("-") and any(
        hint in flag.lower() for hint in ("key", "pass", "secret")
    )


def secret_words(line: str) -> list[str]:
    """Best guess at the secrets of a line that cannot be parsed.

    The word after ``--api-key``/``--password`` or a mistyped flag like them
    (or after ``=``), split on white space, so a line with bad quoting or an
    unknown flag still leaves no secret behind.
    """
    words = line.split()
    found = []
    for index, word in enumerate(words):
        flag, equals, value = word.partition("=")
        # Mistyped flags too (--apikey, --pass): a secret may follow them.
        if not (flag in SECRET_FLAGS or _looks_secret(flag)):
            continue
        if equals and value:
            found.append(value)
        elif not equals and index + 1 < len(words):
            following = words[index + 1]
            if not following.startswith("--"):
                found.append(following)
    return found


def redact_current_cell(shell: Any, secrets: list[str]) -> None:
    """Replace ``secrets`` by ``***`` in everything that recorded this cell.

    IPython stores a cell before running it: in ``In``/``_ih`` (parsed),
    ``_i``/``_iN`` (raw), and in the SQLite history, maybe not written yet.
    """
    secrets = [s for s in secrets if s]
    history = getattr(shell, "history_manager", None)
    if not secrets or history is None:
        return
    # In[n] is line n; execution_count may already be one ahead.
    line = len(history.input_hist_raw) - 1
    for name in ("input_hist_parsed", "input_hist_raw"):
        entries = getattr(history, name, None)
        if entries:
            entries[-1] = _redact(entries[-1], secrets)

    namespace = shell.user_ns
    for name in ("_i", "_ii", "_iii", f"_i{line}"):
        value = namespace.get(name)
        if isinstance(value, str):
            namespace[name] = _redact(value, secrets)
    if isinstance(getattr(history, "_i00", None), str):
        history._i00 = _redact(history._i00, secrets)

    with history.db_input_cache_lock:
        history.db_input_cache[:] = [
            (number, _redact(source, secrets), _redact(raw, secrets))
            for number, source, raw in history.db_input_cache
        ]
        _redact_database(history, line, secrets)


def _redact_database(history: Any, line: int, secrets: list[str]) -> None:
    """Rewrite the row if the saving thread already wrote it."""
    if not getattr(history, "enabled", False) or history.session_number is None:
        return
    try:
        with history.db:
            rows = history.db.execute(
                "SELECT source, source_raw FROM history WHERE session=? AND line=?",
                (history.session_number, line),
            ).fetchall()
            for source, raw in rows:
                history.db.execute(
                    "UPDATE history SET source=?, source_raw=? "
                    "WHERE session=? AND line=?",
                    (
                        _redact(source, secrets),
                        _redact(raw, secrets),
                        history.session_number,
                        line,
                    ),
                )
    except Exception as exc:  # noqa: BLE001  # any sqlite or shutdown error
        logger.warning("galileo-magic: could not scrub the history file: %s", type(exc))
