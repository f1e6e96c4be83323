"""Scrub a secret typed on the magic line out of In, _ih, _i* and the history file."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

__all__ = ["redact_current_cell"]

logger = logging.getLogger(__name__)
MASK = "***"


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        # The parsed form quotes the line as a Python string, so escape it too.
        for form in {secret, repr(secret)[1:-1]}:
            text = text.replace(form, MASK)
    return text


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
