"""Turning an HTTP answer into a token answer or one error of our tree.

Reading is bounded in size and time; every message names the request, says
what to fix, carries the server's ``detail`` and never a secret the request
sent, even when the server echoes one. Like the protocol module it serves,
this module never prints, displays or stores anything.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import time
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

import requests
from urllib3 import exceptions as urllib3_errors

from .auth import (
    API_KEY_HEADERS,
    Auth,
    OrganizationChoice,
    TokenResponse,
    check_access_token,
)
from .errors import (
    AuthenticationError,
    GalileoMagicError,
    NetworkError,
    OrganizationError,
    ServerError,
)
from .transport import DeadlineExceeded, speaks_plain_http

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_REDIRECTS",
    "json_or_none",
    "network_error",
    "parse_token",
    "raise_for_status",
    "read_body",
    "scrub_sent",
]

MAX_BODY_BYTES = 1 << 20
MAX_REDIRECTS = 5


def read_body(response: requests.Response, deadline: float, where: str) -> bytes:
    """Read at most MAX_BODY_BYTES before the deadline, so no server can stall us."""
    chunks: list[bytes] = []
    size = 0
    failure: GalileoMagicError
    try:
        # read1 returns whatever has arrived, so a dripping server meets the deadline.
        while chunk := response.raw.read1(16384, decode_content=True):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise ServerError(
                    f"{where} sent more than {MAX_BODY_BYTES} bytes; a token answer "
                    "is tiny, so check --api-url.",
                    url=where,
                )
            if time.monotonic() > deadline:
                raise NetworkError(
                    f"{where} was still sending its answer after the time limit; "
                    "the server is too slow, try again or raise %config "
                    "GalileoMagics.timeout.",
                    url=where,
                )
            chunks.append(chunk)
        return b"".join(chunks)
    except (requests.exceptions.RequestException, urllib3_errors.HTTPError) as exc:
        failure = network_error(exc, where)
    # Raised outside the handler: the requests error holds the request, its
    # headers and form body included, and must not ride along.
    raise failure


def json_or_none(raw: bytes) -> Any:
    """The body as JSON, or None when it is empty or not JSON."""
    try:
        return json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        return None


def parse_token(response: requests.Response, body: Any, url: str) -> TokenResponse:
    """Check a GET /v1/token answer's fields and keep them as a TokenResponse.

    ``expires_at`` is only checked to be there: tokens.parse_expiry reads it
    when the token is built, and names the URL if it cannot.
    """
    where = f"GET {url}"
    if not isinstance(body, dict):
        raise ServerError(
            f"{where} answered JSON that is not an object; check --api-url.",
            url=where,
        )
    token = check_access_token(body.get("access_token"), where, response.status_code)
    if body.get("expires_at") in (None, ""):
        raise ServerError(
            f"{where} answered a token without expires_at; check that --api-url "
            "points at the Galileo API.",
            url=where,
        )
    return TokenResponse(
        access_token=token,
        token_type=str(body.get("token_type") or "bearer"),
        expires_at=body["expires_at"],
        server_date=_server_date(response),
        url=response.url or url,
    )


def _server_date(response: requests.Response) -> datetime | None:
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def _detail(body: Any, raw: bytes) -> str:
    """The server's own words: FastAPI's ``detail`` string or validation list."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str):
        text = detail
    elif isinstance(detail, list):
        text = "; ".join(_validation_item(item) for item in detail[:3])
    elif body is None and raw:
        # An HTML error page from a proxy: its words, without the markup.
        page = raw[:4096].decode("utf-8", "replace")
        text = re.sub(r"<(script|style)\b.*?</\1>|<[^>]*>", " ", page, flags=re.S)
        text = f"non-JSON body: {' '.join(text.split())[:120]}"
    else:
        text = ""
    return " ".join(text.split())[:300]


def _validation_item(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    loc = ".".join(str(part) for part in item.get("loc", []) if part != "query")
    return f"{loc}: {item.get('msg', '')}" if loc else str(item.get("msg", ""))


def _mentions_organization(body: Any) -> bool:
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):
        return any(
            "organization" in str(d.get("loc", ""))
            for d in detail
            if isinstance(d, dict)
        )
    return isinstance(detail, str) and "organization" in detail.lower()


def raise_for_status(
    response: requests.Response,
    body: Any,
    raw: bytes,
    where: str,
    auth: Auth,
    organization: OrganizationChoice,
) -> None:
    """Raise the error of our tree that a 4xx or 5xx answer stands for."""
    status = response.status_code
    detail = scrub_sent(_detail(body, raw), response, auth)
    said = f"{status} {detail}" if detail else str(status)
    if status in (401, 403):
        raise AuthenticationError(
            f"Galileo refused the {auth.describe()} at {where} ({said}); {auth.fix()}.",
            url=where,
            status=status,
        )
    if status in (404, 422) and _mentions_organization(body):
        raise OrganizationError(
            f"Organization {organization.describe()} was refused at {where} ({said}); "
            "check --org-id/--org-slug or GALILEO_ORGANIZATION_ID/_SLUG.",
            url=where,
            status=status,
        )
    wait = response.headers.get("Retry-After", "").strip()[:40]
    if status == 429:
        fix = "wait a minute and run it again"
        if wait:
            fix = f"the server asks to wait (Retry-After: {wait}), run it again then"
    elif status >= 500:
        fix = "the server failed; try again later"
    else:
        fix = "check --api-url and %config GalileoMagics.token_path"
    raise ServerError(f"{where} answered {said}; {fix}.", url=where, status=status)


def network_error(exc: Exception, where: str) -> NetworkError | ServerError:
    """Name what went wrong on the wire; requests hides it under MaxRetryError.

    The message names the innermost error's type; raise the result outside
    the ``except`` block, so that no request (headers, form body) is chained.
    """
    root = _root_cause(exc)
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return ServerError(
            f"{where} redirected more than {MAX_REDIRECTS} times (a redirect loop); "
            "check --api-url.",
            url=where,
        )
    tls = isinstance(exc, requests.exceptions.SSLError) or isinstance(
        root, (urllib3_errors.SSLError, ssl.SSLError)
    )
    if tls and speaks_plain_http(root):
        origin = urlsplit(where.partition(" ")[2])
        reason = f"the server at https://{origin.netloc} does not speak HTTPS"
        fix = f"use http://{origin.netloc} for a local server"
    elif tls:
        reason = "the TLS certificate could not be verified"
        fix = "set REQUESTS_CA_BUNDLE or %config GalileoMagics.verify to your CA bundle"
    elif isinstance(root, DeadlineExceeded):
        reason = "the server was still sending its headers at the time limit"
        fix = "the server is too slow; try again or raise %config GalileoMagics.timeout"
    elif isinstance(exc, requests.exceptions.ConnectTimeout) or (
        isinstance(root, urllib3_errors.ConnectTimeoutError)
        and not isinstance(root, urllib3_errors.NewConnectionError)
    ):
        reason, fix = "the connection timed out", "check the URL and your network"
    elif isinstance(exc, requests.exceptions.ReadTimeout) or isinstance(
        root, (urllib3_errors.ReadTimeoutError, TimeoutError)
    ):
        reason = "the server did not answer in time"
        fix = "try again or raise %config GalileoMagics.timeout"
    elif isinstance(root, urllib3_errors.ProtocolError):
        reason = "the connection broke off in the middle of the answer"
        fix = "try again; if it persists, check --api-url"
    elif isinstance(root, (urllib3_errors.NewConnectionError, ConnectionError)):
        refused = "refused" in str(root).lower()
        reason = "the connection was refused" if refused else "it could not connect"
        fix = "check --api-url/--console-url and that the server is running"
    else:
        reason, fix = "the request failed", "check --api-url"
    cause = _innermost(root).__class__.__name__
    return NetworkError(f"{where} failed: {reason} ({cause}); {fix}.", url=where)


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost error of a requests/urllib3 wrapping chain."""
    seen = exc
    for _ in range(6):
        inner = getattr(seen, "reason", None)
        if not isinstance(inner, BaseException) and seen.args:
            inner = seen.args[0]
        if not isinstance(inner, BaseException) or inner is seen:
            return seen
        seen = inner
    return seen


def _innermost(root: BaseException) -> BaseException:
    """The error under ``root`` that urllib3 raised it from, if any."""
    for _ in range(6):
        inner = root.__cause__
        if inner is None and not root.__suppress_context__:
            inner = root.__context__
        if inner is None:
            break
        root = inner
    return root


def scrub_sent(text: str, response: requests.Response, auth: Auth) -> str:
    """``text`` (a detail, a URL) with every secret this exchange sent masked."""
    for secret in _sent_secrets(response, auth):
        text = text.replace(secret, "***")
    return text


def _sent_secrets(response: requests.Response, auth: Auth) -> list[str]:
    """Every secret this exchange sent, in every form a server might echo."""
    secrets = auth.secrets()
    for hop in [*response.history, response]:
        for name, value in hop.request.headers.items():
            if name.lower() == "authorization" or name in API_KEY_HEADERS:
                secrets += [value, value.partition(" ")[2]]
    if auth.method == "basic" and auth.username and auth.password:
        pair = f"{auth.username}:{auth.password.reveal()}".encode()
        secrets.append(base64.b64encode(pair).decode())
    # As a URL would carry them, too.
    secrets += [encode(s, safe="") for s in secrets for encode in (quote, quote_plus)]
    return sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)
