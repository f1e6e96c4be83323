"""Scrub a secret typed on the magic line out of In, _ih, _i* and the history file."""

from __future__ import annotations

import io
import logging
import re
import shlex
from collections.abc import Iterable
from typing import Any

__all__ = [
    "redact_current_cell",
    "redact_message",
    "secret_words",
    "shell_lexer",
    "typed_forms",
    "url_passwords",
]

logger = logging.getLogger(__name__)
MASK = "***"
SECRET_FLAGS = ("--api-key", "--password")
# Parts of a flag's name that suggest it carries a secret, mistyped or not.
SECRET_HINTS = ("pass", "pw", "key", "secret", "token")
# A masked value is a whole shell word or value: what may touch it on the line
# (as typed, or inside the repr that In holds, or around a URL's password).
_BEFORE = r"(?<![^\s='\"\\:])"
_AFTER = r"(?![^\s'\"\\@])"


def _forms(secret: str) -> set[str]:
    """The secret as typed, and as it reads inside a Python string literal.

    In ``In`` the magic line is the repr of the whole line, whose quote
    character depends on the rest of the line, so both escapings are tried.
    An error message may hold it escaped, or as the repr of its UTF-8 bytes.
    """
    escaped = secret.replace("\\", "\\\\")
    return {
        secret,
        repr(secret)[1:-1],
        escaped.replace("'", "\\'"),
        escaped.replace('"', '\\"'),
        secret.encode("unicode_escape").decode("ascii"),
        repr(secret.encode("utf-8"))[2:-1],
    }


def _redact(text: str, secrets: Iterable[str], before: str, after: str) -> str:
    forms = {form for secret in secrets if secret for form in _forms(secret)}
    for form in sorted(forms, key=len, reverse=True):
        text = re.sub(before + re.escape(form) + after, MASK, text)
    return text


def redact_message(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret masked wherever no letter or digit extends it."""
    return _redact(text, secrets, r"(?<!\w)", r"(?!\w)")


def shell_lexer(stream: io.StringIO) -> shlex.shlex:
    """A POSIX shell word splitter that leaves ``#`` to the caller.

    shlex's own comment handling would cut ``pa#ss`` short, silently.
    """
    lexer = shlex.shlex(stream, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    return lexer


def typed_forms(line: str, secrets: Iterable[str]) -> list[str]:
    """The words of ``line``, as typed (quotes and escapes kept), holding a secret.

    ``"a\\"b"`` on the line is the secret ``a"b``; masking the secret alone
    would leave it readable there.
    """
    wanted = [s for s in secrets if s]
    stream = io.StringIO(line)
    lexer = shell_lexer(stream)
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
    """Whether ``flag`` is, or looks like a mistyping of, a flag holding a secret."""
    if not flag.startswith("-"):
        return False
    name = flag.lower().replace("-", "").replace("_", "")
    if any(hint in name for hint in SECRET_HINTS):
        return True
    import difflib  # only for the rare unknown flag; keeps %load_ext light

    return bool(difflib.get_close_matches(name, ("password", "apikey"), cutoff=0.7))


def url_passwords(words: Iterable[object]) -> list[str]:
    """The passwords of URLs written with credentials (``//user:password@host``)."""
    found = []
    for word in words:
        if not isinstance(word, str):
            continue
        for netloc in re.findall(r"//([^/?#\s'\"]*)", word):
            userinfo = netloc.rpartition("@")[0]
            password = userinfo.partition(":")[2]
            if password:
                found.append(password)
    return found


def secret_words(line: str) -> list[str]:
    """Best guess at the secrets of a line that cannot be parsed.

    The word after ``--api-key``/``--password`` or a mistyped flag like them
    (or after ``=``), split on white space, and the password of any URL, so
    a line with bad quoting or an unknown flag still leaves no secret behind.
    """
    words = line.split()
    found = []
    for index, word in enumerate(words):
        flag, equals, value = word.partition("=")
        # Mistyped flags too (--apikey, --pasword): a secret may follow them.
        if not (flag in SECRET_FLAGS or _looks_secret(flag)):
            continue
        if equals and value:
            found.append(value)
        elif not equals and index + 1 < len(words):
            following = words[index + 1]
            if not following.startswith("--"):
                found.append(following)
    return [*found, *url_passwords(words)]


def redact_current_cell(shell: Any, secrets: list[str]) -> None:
    """Replace ``secrets`` by ``***`` in everything that recorded this cell.

    Only whole words or values are masked, never a part of another word.
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
            entries[-1] = _mask_words(entries[-1], secrets)

    namespace = shell.user_ns
    for name in ("_i", "_ii", "_iii", f"_i{line}"):
        value = namespace.get(name)
        if isinstance(value, str):
            namespace[name] = _mask_words(value, secrets)
    if isinstance(getattr(history, "_i00", None), str):
        history._i00 = _mask_words(history._i00, secrets)

    with history.db_input_cache_lock:
        history.db_input_cache[:] = [
            (number, _mask_words(source, secrets), _mask_words(raw, secrets))
            for number, source, raw in history.db_input_cache
        ]
        _redact_database(history, line, secrets)


def _mask_words(text: str, secrets: Iterable[str]) -> str:
    return _redact(text, secrets, _BEFORE, _AFTER)


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
                        _mask_words(source, secrets),
                        _mask_words(raw, secrets),
                        history.session_number,
                        line,
                    ),
                )
    except Exception as exc:
        # Any sqlite or shutdown error: the magic's run must not fail on it.
        logger.warning(
            "galileo-magic: could not scrub the history file: %s", type(exc).__name__
        )
