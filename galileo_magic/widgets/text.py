"""The readable text line a widget shows where no widget manager runs."""

from __future__ import annotations

from typing import Any

__all__ = ["with_text_line"]


def with_text_line(bundle: Any, line: str) -> Any:
    """A widget's mime bundle with ``line`` as its text/plain, not the repr."""
    if isinstance(bundle, tuple):
        data, metadata = bundle
        return {**data, "text/plain": line}, metadata
    return {**(bundle or {}), "text/plain": line}
