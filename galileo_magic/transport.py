"""How requests reach the server: retries, redirects, deadlines, settings.

GET is retried at most twice in all (on 429, 502, 503, 504 and failed
connections); API-key headers never follow a redirect to another origin.

A socket read timeout bounds each ``recv``, not the whole answer: a server
that drips one byte of its status line or headers every half timeout would
hold a request for hours. Here one shared daemon thread shuts down the socket
of any response still unread at its deadline, and the request then fails as
a read timeout.

The settings of a client (timeout, API key header name, the CA bundle) are
checked here too, so a bad one is a ConfigurationError before any request
rather than an OSError or a "request failed" deep inside requests.
"""

from __future__ import annotations

import heapq
import itertools
import math
import os
import re
import socket
import threading
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from .auth import API_KEY_HEADERS
from .errors import ConfigurationError
from .urls import same_origin

__all__ = [
    "CA_BUNDLE_VARIABLES",
    "DEADLINE_FACTOR",
    "MAX_RETRY_AFTER",
    "DeadlineAdapter",
    "DeadlineExceeded",
    "RedirectSafeSession",
    "ca_bundle",
    "check_header_name",
    "check_timeout",
    "resolve_verify",
    "retry_policy",
    "speaks_plain_http",
]

# The status line and headers get this many read timeouts in all.
DEADLINE_FACTOR = 3.0
# Where a CA bundle comes from when verify is True. requests reads the first
# two by itself; SSL_CERT_FILE is what most private-CA setups export.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
VERIFY_SETTING = "the verify setting"
# RFC 7230 token: the characters a header name may hold.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
MAX_RETRY_AFTER = 10.0
RETRY_STATUSES = (429, 502, 503, 504)
# OpenSSL's words when the bytes after our ClientHello are not TLS at all:
# the server answered in plain HTTP.
_NOT_TLS = frozenset(
    "WRONG_VERSION_NUMBER RECORD_LAYER_FAILURE UNKNOWN_PROTOCOL "
    "PACKET_LENGTH_TOO_LONG HTTP_REQUEST".split()
)


class _BoundedRetry(Retry):
    """A urllib3 Retry that never waits longer than MAX_RETRY_AFTER per try."""

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), MAX_RETRY_AFTER)


def retry_policy() -> Retry:
    """At most two retries in all: statuses for GET, failed connections for any.

    urllib3 lets a zero counter fall back to ``total``, so ``total`` is what
    bounds a mix (a refused connection, then a 503). A connection that failed
    never sent the request, so retrying it is safe for POST too.
    """
    return _BoundedRetry(
        total=2,
        connect=2,
        read=0,
        # TLS and protocol failures do not mend on their own: fail at once.
        other=0,
        status=2,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET"}),
        backoff_factor=0.25,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )


class RedirectSafeSession(requests.Session):
    """A Session that also drops API-key headers on a cross-origin redirect.

    requests already strips ``Authorization`` there, but forwards custom
    headers such as ``Galileo-API-Key`` as they are.
    """

    secret_headers: tuple[str, ...] = API_KEY_HEADERS

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        super().rebuild_auth(prepared_request, response)
        old, new = response.request.url or "", prepared_request.url or ""
        if not same_origin(old, new):
            for name in self.secret_headers:
                prepared_request.headers.pop(name, None)


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
        # misc: mypy cannot see that the connection class mixed in after this
        # one defines getresponse.
        if sock is None or not isinstance(limit, (int, float)) or limit <= 0:
            return super().getresponse()  # type: ignore[misc]
        entry = _watchdog.watch(sock, time.monotonic() + limit * DEADLINE_FACTOR)
        try:
            response = super().getresponse()  # type: ignore[misc]  # as above
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


def speaks_plain_http(error: BaseException) -> bool:
    """Whether a TLS failure is the server answering our handshake in plain HTTP."""
    reason = getattr(error, "reason", None)
    if isinstance(reason, str) and reason in _NOT_TLS:
        return True
    text = str(error).upper().replace(" ", "_")
    return any(words in text for words in _NOT_TLS)


def check_timeout(timeout: Any) -> float:
    """``timeout`` as float seconds, or ConfigurationError if it is not positive."""
    number = isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
    if not number or not math.isfinite(timeout) or timeout <= 0:
        shown = repr(timeout) if number else f"a {type(timeout).__name__}"
        raise ConfigurationError(
            f"The timeout must be a positive number of seconds, not {shown}; pass "
            "e.g. timeout=10 or set %config GalileoMagics.timeout = 10."
        )
    return float(timeout)


def check_header_name(name: Any) -> str:
    """``name`` if it is a valid HTTP header name (an RFC 7230 token)."""
    if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
        raise ConfigurationError(
            f"The API key header name {name!r} is not a valid HTTP header name "
            "(letters, digits and !#$%&'*+-.^_`|~ only); set %config "
            "GalileoMagics.api_key_header to one, e.g. Galileo-API-Key."
        )
    return name


def resolve_verify(verify: Any) -> bool | str:
    """What to verify TLS with: False, True (the system CAs) or a CA bundle path.

    With ``verify`` True the CA_BUNDLE_VARIABLES are read, now, in order; any
    path given must exist.
    """
    if verify is False:
        return False
    if verify is None or verify is True:
        for name in CA_BUNDLE_VARIABLES:
            if os.environ.get(name):
                return ca_bundle(os.environ[name], name)
        return True
    return ca_bundle(verify, VERIFY_SETTING)


def ca_bundle(path: Any, source: str) -> str:
    """``path`` if a CA bundle file or folder is there, else ConfigurationError."""
    fix = (
        "set %config GalileoMagics.verify to True, False or the path of a CA "
        "bundle file"
        if source == VERIFY_SETTING
        else f"point {source} at your CA bundle file or unset it"
    )
    if not isinstance(path, str) or not path.strip():
        # An empty string would quietly turn verification off in requests.
        raise ConfigurationError(
            f"The CA bundle from {source} is {path!r}, which is not a path; {fix}."
        )
    if not os.path.exists(path):
        raise ConfigurationError(
            f"The CA bundle {path!r} (from {source}) does not exist; {fix}."
        )
    return path
