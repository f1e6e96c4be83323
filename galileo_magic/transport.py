"""A requests adapter whose responses must arrive before a deadline.

A socket read timeout bounds each ``recv``, not the whole answer: a server
that drips one byte of its status line or headers every half timeout would
hold a request for hours. Here one shared daemon thread shuts down the socket
of any response still unread at its deadline, and the request then fails as
a read timeout.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ReadTimeoutError

__all__ = ["DEADLINE_FACTOR", "DeadlineAdapter", "DeadlineExceeded"]

# The status line and headers get this many read timeouts in all.
DEADLINE_FACTOR = 3.0


class DeadlineExceeded(ReadTimeoutError):
    """The server was still sending its status line or headers at the deadline."""


class _Watchdog:
    """One daemon thread that shuts down sockets whose deadline has passed."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[list[Any]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, sock: socket.socket, deadline: float) -> list[Any]:
        """Register ``sock``; the returned entry is released with ``release``."""
        entry = [deadline, next(self._order), sock, False]
        with self._cond:
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="galileo-magic-deadline", daemon=True
                )
                self._thread.start()
            if self._heap[0] is entry:
                self._cond.notify()
        return entry

    def release(self, entry: list[Any]) -> bool:
        """Forget an entry; True when its deadline already shut the socket."""
        with self._cond:
            entry[2] = None
            return bool(entry[3])

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2] is None:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                entry = heapq.heappop(self._heap)
                sock, entry[2], entry[3] = entry[2], None, True
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by its owner: nothing left to stop


_watchdog = _Watchdog()


class _DeadlineMixin:
    """Bounds ``getresponse`` by DEADLINE_FACTOR read timeouts in all."""

    sock: socket.socket | None
    timeout: Any

    def getresponse(self) -> Any:
        sock, limit = self.sock, self.timeout
        if sock is None or not isinstance(limit, (int, float)) or limit <= 0:
            return super().getresponse()  # type: ignore[misc]
        entry = _watchdog.watch(sock, time.monotonic() + limit * DEADLINE_FACTOR)
        try:
            response = super().getresponse()  # type: ignore[misc]
        except BaseException:
            if _watchdog.release(entry):
                raise _too_slow() from None
            raise
        if _watchdog.release(entry):
            # The shutdown may have cut the headers short without an error.
            raise _too_slow()
        return response


def _too_slow() -> DeadlineExceeded:
    # urllib3 only formats the pool and URL into the message, so None is safe.
    return DeadlineExceeded(None, None, "answer too slow")  # type: ignore[arg-type]


class _HTTPConnection(_DeadlineMixin, HTTPConnection):
    pass


class _HTTPSConnection(_DeadlineMixin, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections enforce the deadline on headers."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _HTTPPool,
            "https": _HTTPSPool,
        }
