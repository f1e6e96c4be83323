"""Token lifecycle: one session per kernel variable, one refresh timer at most.

A :class:`RefreshTimer` is a daemon thread stopped by an Event; ``start`` and
``stop`` are safe to call twice. The :class:`Registry` replaces a variable's
session (stopping its timer) whenever the magic runs again for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import GalileoMagicError
from .tokens import GalileoToken

__all__ = ["RefreshTimer", "Registry", "TokenSession"]

logger = logging.getLogger(__name__)

FIRST_RETRY_DELAY = 5.0
MAX_RETRY_DELAY = 60.0


class RefreshTimer:
    """Fetches a new token ``margin`` seconds before expiry, in place.

    On failure the old token is kept, ``on_error`` is told, and the fetch is
    tried again with a doubling delay until the token has expired.
    """

    def __init__(
        self,
        token: GalileoToken,
        fetch: Callable[[], GalileoToken],
        *,
        margin: float,
        on_update: Callable[[GalileoToken], None] = lambda token: None,
        on_error: Callable[[GalileoMagicError], None] = lambda exc: None,
        name: str = "galileo-magic-refresh",
    ) -> None:
        self.token = token
        self._fetch = fetch
        self._margin = max(float(margin), 0.0)
        self._on_update = on_update
        self._on_error = on_error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def start(self) -> None:
        """Start the thread; a second call does nothing."""
        with self._lock:
            if not self._thread.is_alive() and not self._stop.is_set():
                self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it; safe to call twice or from itself."""
        self._stop.set()
        with self._lock:
            started = self._thread.ident is not None
        if started and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def seconds_until_refresh(self) -> float:
        return max(self.token.remaining.total_seconds() - self._margin, 0.0)

    def _run(self) -> None:
        delay = FIRST_RETRY_DELAY
        wait = self.seconds_until_refresh()
        while not self._stop.wait(wait):
            try:
                fresh = self._fetch()
            except GalileoMagicError as exc:
                logger.warning("galileo-magic: refresh failed: %s", exc)
                self._on_error(exc)
                if self.token.expired:
                    return
                wait = min(delay, self.token.remaining.total_seconds())
                delay = min(delay * 2, MAX_RETRY_DELAY)
                continue
            if self._stop.is_set():
                return
            self.token.update_from(fresh)
            delay = FIRST_RETRY_DELAY
            logger.info(
                "galileo-magic: refreshed token for %s", self.token.organization
            )
            self._on_update(self.token)
            wait = self.seconds_until_refresh()


@dataclass
class TokenSession:
    """What the kernel holds for one variable: the token and its helpers.

    ``refetch`` closes over the credentials, which live only in memory.
    """

    variable: str
    token: GalileoToken
    refetch: Callable[[], GalileoToken] | None = None
    timer: RefreshTimer | None = None
    view: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.stop()
            self.timer = None


class Registry:
    """The sessions of one shell, by variable name."""

    def __init__(self) -> None:
        self._sessions: dict[str, TokenSession] = {}
        self._lock = threading.Lock()

    def get(self, variable: str) -> TokenSession | None:
        with self._lock:
            return self._sessions.get(variable)

    def replace(self, session: TokenSession) -> TokenSession | None:
        """Install ``session``, stopping the timer of the one it replaces."""
        with self._lock:
            old = self._sessions.get(session.variable)
            self._sessions[session.variable] = session
        if old is not None and old is not session:
            old.stop()
        return old

    def forget(self, variable: str) -> TokenSession | None:
        """Remove a variable's session and stop its timer."""
        with self._lock:
            old = self._sessions.pop(variable, None)
        if old is not None:
            old.stop()
        return old

    def stop_all(self) -> None:
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            session.stop()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)
