"""The countdown widget: a token's expiry, ticking in the browser."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..tokens import GalileoToken
from .text import with_text_line

__all__ = ["CountdownWidget", "countdown_line"]

_HERE = Path(__file__).parent


def countdown_line(token: GalileoToken, variable: str) -> str:
    """The countdown as one line of text, for front ends without widgets."""
    return f"Galileo token in {variable}: {token.describe()}"


class CountdownWidget(anywidget.AnyWidget):
    """Shows a token's organization, expiry and a live countdown.

    Synced state holds no secret: expiry times, names and a status message.
    The browser asks the kernel for the server time once per render (a custom
    message round trip) and then ticks on its own: no kernel message per tick.
    """

    _esm = _HERE / "countdown.js"
    _css = _HERE / "countdown.css"

    variable = traitlets.Unicode("galileo_token").tag(sync=True)
    organization = traitlets.Unicode("").tag(sync=True)
    expires_at_ms = traitlets.Float(0.0).tag(sync=True)
    # Server clock minus kernel clock. The browser starts from it (as if its
    # clock were the kernel's) until its sync message comes back, so a view
    # drawn again after a reload is right from its first tick.
    clock_skew_ms = traitlets.Float(0.0).tag(sync=True)
    refresh_margin = traitlets.Int(300).tag(sync=True)
    auto_refresh = traitlets.Bool(False).tag(sync=True)
    # The refresh timer's next attempt, server clock; 0 when none is due. The
    # browser shows "refreshes in" from this alone, never from its own guess.
    refresh_at_ms = traitlets.Float(0.0).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    state = traitlets.Enum(
        ("active", "replaced", "signed-out"), default_value="active"
    ).tag(sync=True)

    def __init__(
        self,
        token: GalileoToken,
        *,
        variable: str,
        refresh_margin: int = 300,
        auto_refresh: bool = False,
        on_refresh: Callable[[], None] | None = None,
        on_logout: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(
            variable=variable,
            refresh_margin=int(refresh_margin),
            auto_refresh=bool(auto_refresh),
        )
        self._token = token
        self._on_refresh = on_refresh
        self._on_logout = on_logout
        self.show(token)
        self.on_msg(self._handle_message)

    def show(self, token: GalileoToken, message: str = "") -> None:
        """Point the countdown at ``token`` (after a fetch or a refresh)."""
        self._token = token
        with self.hold_sync():
            self.organization = token.organization
            self.expires_at_ms = token.expires_at.timestamp() * 1000
            self.clock_skew_ms = token.clock_skew.total_seconds() * 1000
            self.message = message
            self.state = "active"

    def schedule(self, at: datetime | None) -> None:
        """Show the next automatic refresh at ``at`` (server clock), or none."""
        self.refresh_at_ms = 0.0 if at is None else at.timestamp() * 1000

    def _handle_message(self, _: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "sync":
            now = self._token.server_now().timestamp() * 1000
            self.send(
                {"type": "sync", "sent": content.get("sent"), "server_now_ms": now}
            )
        elif kind == "refresh" and self._on_refresh is not None:
            self._on_refresh()
        elif kind == "logout" and self._on_logout is not None:
            self._on_logout()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        line = countdown_line(self._token, self.variable)
        return with_text_line(super()._repr_mimebundle_(**kwargs), line)
