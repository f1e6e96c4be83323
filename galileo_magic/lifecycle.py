"""Token lifecycle: one session per kernel variable, one refresh timer at most.

A :class:`RefreshTimer` is a daemon thread stopped by an Event; ``start`` and
``stop`` are safe to call twice. The :class:`Registry` replaces a variable's
session (stopping its timer) whenever the magic runs again for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .errors import GalileoMagicError
from .tokens import GalileoToken

__all__ = ["RefreshTimer", "Registry", "TokenSession"]

logger = logging.getLogger(__name__)

FIRST_RETRY_DELAY = 5.0
MAX_RETRY_DELAY = 60.0
# The shortest wait between refreshes, so a server handing out tokens that
# live less than the margin cannot make the timer spin.
MIN_REFRESH_INTERVAL = 1.0
JOIN_TIMEOUT = 1.0


def _ignore(_: Any) -> None:
    """The default callback: do nothing."""


class RefreshTimer:
    """Fetches a new token ``margin`` seconds before expiry, in place.

    On failure the old token is kept, ``on_error`` is told, and the fetch is
    tried again after ``retry_delay`` seconds, doubling up to MAX_RETRY_DELAY,
    until the token expires; then ``on_expired`` is told and the thread ends.
    When the margin is more than half of the time left, the refresh happens
    half-way instead, so short-lived tokens are refreshed without a busy loop.
    ``on_schedule`` is told the server-clock time of each next attempt (a
    refresh or a retry), and None once no attempt is due any more.
    ``fetch`` must refuse a token that has already expired, as
    ``fetch.request_token`` does, so a live token is never swapped for it.
    """

    def __init__(
        self,
        token: GalileoToken,
        fetch: Callable[[], GalileoToken],
        *,
        margin: float,
        on_update: Callable[[GalileoToken], None] = _ignore,
        on_error: Callable[[GalileoMagicError], None] = _ignore,
        on_expired: Callable[[GalileoToken], None] = _ignore,
        on_schedule: Callable[[datetime | None], None] = _ignore,
        retry_delay: float = FIRST_RETRY_DELAY,
        name: str = "galileo-magic-refresh",
    ) -> None:
        self.token = token
        self._fetch: Callable[[], GalileoToken] | None = fetch
        self._margin = max(float(margin), 0.0)
        self._on_update = on_update
        self._on_error = on_error
        self._on_expired = on_expired
        self._on_schedule = on_schedule
        self._retry_delay = max(float(retry_delay), 0.01)
        self._stop = threading.Event()
        # Set by stop() and reschedule() to cut a wait short.
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._lock = threading.Lock()
        # The next attempt: on the monotonic clock (to wait) and the server's
        # (to show); set before the thread starts, so a view made right after
        # start() already sees it.
        self._due = 0.0
        self._refresh_at: datetime | None = None

    @property
    def name(self) -> str:
        """The thread's name, which tests and ``threading.enumerate()`` see."""
        return self._thread.name

    @property
    def running(self) -> bool:
        """Whether the thread is alive and has not been asked to stop."""
        return self._thread.is_alive() and not self._stop.is_set()

    def start(self) -> None:
        """Start the thread; a second call, or a call after stop, does nothing."""
        with self._lock:
            if self._thread.ident is None and not self._stop.is_set():
                # Planned here, told to nobody: whoever starts it reads refresh_at().
                self._plan(self.seconds_until_refresh())
                self._thread.start()

    def stop(self, timeout: float = JOIN_TIMEOUT) -> None:
        """Stop the thread and drop the fetch; safe to call twice or from itself.

        Waits at most ``timeout`` seconds: a fetch in flight finishes on its
        own (the thread is a daemon) and its result is thrown away.
        """
        self._stop.set()
        self._wake.set()
        with self._lock:
            started = self._thread.ident is not None
            # The fetch closes over the credentials; let them go with the timer.
            self._fetch = None
        if started and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def reschedule(self) -> None:
        """Recompute the next refresh from the token (after a manual refresh)."""
        self._wake.set()

    def refresh_at(self) -> datetime | None:
        """When the next refresh (or retry) is due, on the server's clock.

        None before ``start``, once stopped, and once the token has expired.
        """
        return None if self._stop.is_set() else self._refresh_at

    def seconds_until_refresh(self) -> float:
        """Seconds from now until the token should be refreshed."""
        remaining = self.token.remaining.total_seconds()
        lead = min(self._margin, remaining / 2)
        return max(remaining - lead, min(MIN_REFRESH_INTERVAL, remaining))

    def _plan(self, seconds: float | None) -> None:
        """Set the next attempt ``seconds`` from now; None: no attempt is due."""
        if seconds is None:
            self._refresh_at = None
        else:
            self._due = time.monotonic() + seconds
            self._refresh_at = self.token.server_now() + timedelta(seconds=seconds)

    def _schedule(self, seconds: float | None) -> None:
        """Plan the next attempt and tell ``on_schedule``."""
        self._plan(seconds)
        self._notify(self._on_schedule, self._refresh_at)

    def _run(self) -> None:
        delay = self._retry_delay
        while True:
            woken = self._wake.wait(max(self._due - time.monotonic(), 0.0))
            self._wake.clear()
            if self._stop.is_set():
                return
            if woken and time.monotonic() < self._due:
                delay = self._retry_delay
                self._schedule(self.seconds_until_refresh())
                continue
            if self.token.expired:
                self._expire()
                return
            error = self._refresh()
            if self._stop.is_set():
                return
            if error is None:
                delay = self._retry_delay
                self._schedule(self.seconds_until_refresh())
                continue
            self._notify(self._on_error, error)
            self._schedule(min(delay, self.token.remaining.total_seconds()))
            delay = min(delay * 2, MAX_RETRY_DELAY)

    def _refresh(self) -> GalileoMagicError | None:
        """Fetch and update the token in place; the error if that failed."""
        fetch = self._fetch
        if fetch is None:
            return None
        try:
            fresh = fetch()
        except GalileoMagicError as exc:
            logger.warning("galileo-magic: refresh failed: %s", exc)
            return exc
        except Exception as exc:  # a bug in a fetch must not kill the timer
            # Its type only, here and in the log: its text may hold a secret.
            logger.warning("galileo-magic: refresh failed: %s", type(exc).__name__)
            return GalileoMagicError(
                f"Refresh failed with {type(exc).__name__}; run %galileo_token again."
            )
        if self._stop.is_set():
            return None
        self.token.update_from(fresh)
        logger.info("galileo-magic: refreshed token for %s", self.token.organization)
        self._notify(self._on_update, self.token)
        return None

    def _expire(self) -> None:
        self._schedule(None)
        logger.warning(
            "galileo-magic: token for %s expired; run %%galileo_token again.",
            self.token.organization,
        )
        self._notify(self._on_expired, self.token)

    def _notify(self, callback: Callable[[Any], None], value: Any) -> None:
        # A failing display callback (a closed widget) must not end the timer.
        try:
            callback(value)
        except Exception as exc:
            logger.warning(
                "galileo-magic: refresh callback failed: %s", type(exc).__name__
            )


@dataclass
class TokenSession:
    """What the kernel holds for one variable: the token and its helpers.

    ``refetch`` closes over the credentials, which live only in memory.
    ``refresh_error`` is the last refresh failure, for ``--status``.
    """

    variable: str
    token: GalileoToken
    refetch: Callable[[], GalileoToken] | None = None
    timer: RefreshTimer | None = None
    view: Any = None
    refresh_error: str | None = None

    def stop(self) -> None:
        """Stop the timer and forget the credentials; safe to call twice."""
        timer, self.timer = self.timer, None
        self.refetch = None
        if timer is not None:
            timer.stop()


class Registry:
    """The sessions of one shell, by variable name."""

    def __init__(self) -> None:
        self._sessions: dict[str, TokenSession] = {}
        self._lock = threading.Lock()

    def get(self, variable: str) -> TokenSession | None:
        """The session held for ``variable``, if any."""
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
        """Forget every session and stop every timer (on extension unload)."""
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            session.stop()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)
