"""The magic's line: split like a shell, its names checked, a failure in one line.

Whatever escapes a run of ``%galileo_token`` becomes one ``UsageError`` line
with every secret the run saw masked: no traceback (its first frame would
repeat the raw line, secrets and all) and no chained exception.
"""

from __future__ import annotations

import io
import keyword
import re
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from .errors import GalileoMagicError
from .history import redact_message, secret_words, shell_lexer, url_passwords

if TYPE_CHECKING:
    from .credentials import CredentialValues

__all__ = ["MagicRun", "name_problem", "shell_words"]


class MagicRun:
    """One run of the magic: its line, and what it learned, to scrub a failure."""

    def __init__(self, line: str) -> None:
        self.line = line
        self.args: Any = None
        self.values: CredentialValues | None = None

    def secrets(self) -> list[str]:
        """Every secret seen: guessed from the line, parsed, gathered or asked."""
        found: list[object] = [*secret_words(self.line)]
        if self.args is not None:
            given = vars(self.args)
            found += [given.get("api_key"), given.get("password")]
            found += url_passwords(given.values())
        if self.values is not None:
            found += self.values.secrets()
        return [s for s in found if isinstance(s, str) and s]

    def failure(self, exc: BaseException) -> str:
        """One line about ``exc`` naming its type, with every secret masked.

        The traceback is neither shown nor logged: its frames hold the line.
        """
        if isinstance(exc, UsageError):
            text = str(exc)
        elif isinstance(exc, GalileoMagicError):
            text = f"{type(exc).__name__}: {exc}"
        elif isinstance(exc, KeyboardInterrupt):
            text = "Interrupted; the token already held is kept."
        else:
            text = (
                f"Unexpected {type(exc).__name__} in %galileo_token: {exc}; the "
                "token already held is kept. Please report this error."
            )
        return " ".join(redact_message(text, self.secrets()).splitlines())


def name_problem(name: str, shell: Any) -> str | None:
    """Why ``name`` cannot hold a token, with the fix; None if it can."""
    fix = "use a name like galileo_token."
    if not name.isidentifier() or keyword.iskeyword(name):
        return f"is not a Python identifier; {fix}"
    hidden = getattr(shell, "user_ns_hidden", None) or {}
    # IPython's output and input caches: _, __, ___, _5, _i, _ii, _iii, _i5.
    if name in hidden or re.fullmatch(r"_{1,3}|_i{1,3}|_i?\d+", name):
        return f"is one of IPython's own names; {fix}"
    return None


def shell_words(line: str) -> list[str]:
    """POSIX shell words; a ``#`` that starts a word begins a comment, as in bash."""
    stream = io.StringIO(line)
    lexer = shell_lexer(stream)
    words: list[str] = []
    while True:
        rest = line[stream.tell() :].lstrip()
        if not rest or rest.startswith("#"):
            return words
        word = lexer.get_token()
        if word is None:
            return words
        words.append(word)
