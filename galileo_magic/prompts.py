"""Asking for missing credentials, or refusing at once where nobody can answer.

A terminal gets hidden prompts; a kernel whose front end allows input gets
the login form instead; anything else (nbclient, papermill, a pipe) gets a
UsageError naming the variables to set, so a run never hangs on a prompt.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError

from .auth import Secret
from .credentials import CredentialValues, missing_message

__all__ = ["CANCELLED", "can_prompt", "complete"]

CANCELLED = "Sign-in cancelled; the token already held is kept."
LOGIN_NEEDS_TERMINAL = (
    "--login asks for the credentials, but there is no terminal to ask in (stdin "
    "is not a terminal); drop --login to use the GALILEO_* variables or .env."
)


def complete(
    shell: Any,
    values: CredentialValues,
    *,
    prompt_password: bool,
    login: bool = False,
) -> bool:
    """Ask for what is missing, or fail at once where nobody can answer.

    False means the login form should ask instead: always for ``--login``
    in a kernel, and for missing credentials in a kernel that allows
    input (JupyterLab, Notebook, VS Code; nbclient and papermill do not).
    A terminal gets hidden prompts, and with ``--login`` is asked for the
    flow's secrets whatever was found; no stdin at all, a UsageError.
    """
    missing = values.missing()
    if prompt_password:
        # A bare --password means the password flow, whatever else is around.
        missing = "a password" if values.username else "a user name"
    in_kernel = getattr(shell, "kernel", None) is not None
    if in_kernel and (login or (missing and can_prompt(shell))):
        return False
    if login:
        if not can_prompt(shell):
            raise UsageError(missing_message() if missing else LOGIN_NEEDS_TERMINAL)
        missing = _forget_secrets(values, password_flow=prompt_password)
    if missing is None:
        return True
    if not can_prompt(shell):
        raise UsageError(missing_message())

    if missing in ("credentials", "an API key"):
        key = _ask(getpass.getpass, "Galileo API key (hidden): ").strip()
        if not key:
            raise UsageError(missing_message())
        values.api_key = Secret(key)
        values.sources["api_key"] = "argument"
        values.auth = values.auth or "api-key"
        return True
    if missing == "a user name":
        found = values.username
        asked = f"Galileo user name [{found}]: " if found else "Galileo user name: "
        values.username = _ask(input, asked).strip() or found
        values.sources["username"] = "argument"
    if prompt_password or missing == "a password" or not values.password:
        values.password = Secret(_ask(getpass.getpass, "Galileo password (hidden): "))
        values.sources["password"] = "argument"
    if not (values.username and values.password):
        raise UsageError(missing_message())
    return True


def _forget_secrets(values: CredentialValues, *, password_flow: bool) -> str:
    """Drop every secret found, for ``--login``; what to ask for instead.

    The flow stays the one the found credentials (or ``--auth``) chose; the
    user name is asked again, with the one found as the default.
    """
    method = "oauth2" if password_flow else values.inferred_auth()
    for name in ("api_key", "password"):
        setattr(values, name, None)
        values.sources.pop(name, None)
    return "an API key" if method in (None, "api-key") else "a user name"


def _ask(read: Callable[[str], str], prompt: str) -> str:
    """One answer; Ctrl-C or Ctrl-D cancels the run with one line, no traceback."""
    try:
        return read(prompt)
    except (KeyboardInterrupt, EOFError):
        pass  # raised below, outside the handler, so nothing chains to it
    raise UsageError(CANCELLED)


def can_prompt(shell: Any) -> bool:
    """Whether someone can answer: a kernel allowing input, or a terminal."""
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:
        return bool(getattr(kernel, "_allow_stdin", False))
    stdin = sys.stdin
    return stdin is not None and stdin.isatty()
