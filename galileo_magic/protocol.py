"""The HTTP exchange with Galileo: the three auth flows of GET /v1/token.

This module talks HTTP and nothing else. It never prints, displays or stores
anything, and it knows nothing of IPython. Every request has a timeout, GET
retries are bounded, and credentials never follow a redirect to another origin.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import ssl
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import requests
from urllib3 import exceptions as urllib3_errors
from urllib3.util.retry import Retry

from .errors import (
    AuthenticationError,
    ConfigurationError,
    NetworkError,
    OrganizationError,
    ServerError,
)
from .transport import DEADLINE_FACTOR, DeadlineAdapter, DeadlineExceeded
from .urls import require_secure, same_origin

__all__ = [
    "AUTH_METHODS",
    "Auth",
    "GalileoClient",
    "OrganizationChoice",
    "Secret",
    "TokenResponse",
]

logger = logging.getLogger(__name__)

AuthMethod = Literal["api-key", "oauth2", "basic"]
AUTH_METHODS: tuple[AuthMethod, ...] = ("api-key", "oauth2", "basic")
DEFAULT_TIMEOUT = 10.0
DEFAULT_API_KEY_HEADER = "Galileo-API-Key"
DEFAULT_TOKEN_PATH = "/v1/token"
# Header names that carry an API key; all are dropped on a cross-origin redirect.
API_KEY_HEADERS = ("Galileo-API-Key", "Splunk-AO-API-Key")
MAX_BODY_BYTES = 1 << 20
MAX_RETRY_AFTER = 10.0
RETRY_STATUSES = (429, 502, 503, 504)
MAX_REDIRECTS = 5


class Secret:
    """A string that never shows itself: repr, str and format all give ``***``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Auth:
    """One set of credentials and the flow that uses them."""

    method: AuthMethod
    api_key: Secret | None = None
    username: str | None = None
    password: Secret | None = None

    def __post_init__(self) -> None:
        if self.method not in AUTH_METHODS:
            raise ConfigurationError(
                f"Unknown auth method {self.method!r}; use one of "
                f"{', '.join(AUTH_METHODS)}."
            )
        if self.method == "api-key" and not self.api_key:
            raise ConfigurationError(
                "The api-key flow needs an API key; set GALILEO_API_KEY or pass "
                "--api-key."
            )
        if self.method != "api-key" and not (self.username and self.password):
            missing = "user name" if not self.username else "password"
            raise ConfigurationError(
                f"The {self.method} flow needs a user name and a password, and the "
                f"{missing} is empty; set GALILEO_USERNAME and GALILEO_PASSWORD or "
                "pass --username and --password."
            )

    def secrets(self) -> list[str]:
        """The raw secret strings, so that messages can be scrubbed of them."""
        return [s.reveal() for s in (self.api_key, self.password) if s]

    def describe(self) -> str:
        """What the server was shown, in words, for an error message."""
        if self.method == "api-key":
            return "API key"
        return (
            f"{'password' if self.method == 'oauth2' else 'HTTP Basic'} login of "
            f"{self.username!r}"
        )

    def fix(self) -> str:
        """How to give other credentials of this kind."""
        if self.method == "api-key":
            return "check GALILEO_API_KEY or --api-key"
        return "check GALILEO_USERNAME/GALILEO_PASSWORD or --username/--password"


@dataclass(frozen=True)
class OrganizationChoice:
    """The organization a token is for: an id (uuid4) or a slug, never both."""

    id: str | None = None
    slug: str | None = None

    def __post_init__(self) -> None:
        if self.id and self.slug:
            raise ConfigurationError(
                f"Give an organization id or a slug, not both (got id {self.id!r} "
                f"and slug {self.slug!r}); drop --org-id or --org-slug."
            )
        if self.id:
            object.__setattr__(self, "id", _canonical_uuid4(self.id))
        if self.slug is not None and not self.slug.strip():
            object.__setattr__(self, "slug", None)

    def params(self) -> dict[str, str]:
        """The query parameters of GET /v1/token."""
        if self.id:
            return {"organization_id": self.id}
        if self.slug:
            return {"organization_slug": self.slug}
        return {}

    def describe(self) -> str:
        return repr(self.id or self.slug or "(the default organization)")


@dataclass(frozen=True)
class TokenResponse:
    """A successful GET /v1/token, as the server sent it."""

    access_token: str = field(repr=False)
    token_type: str
    expires_at: Any
    server_date: datetime | None
    url: str


class _BoundedRetry(Retry):
    """A urllib3 Retry that never waits longer than MAX_RETRY_AFTER per try."""

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), MAX_RETRY_AFTER)


class _Session(requests.Session):
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


class GalileoClient:
    """A pooled HTTP client for the Galileo auth endpoints.

    One instance keeps one keep-alive connection pool; reuse it for repeated
    fetches. ``verify`` is True, False, or the path of a CA bundle.
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        verify: bool | str = True,
        api_key_header: str = DEFAULT_API_KEY_HEADER,
        token_path: str = DEFAULT_TOKEN_PATH,
    ) -> None:
        if not timeout or timeout <= 0:
            raise ConfigurationError(
                f"The timeout must be a positive number of seconds, not {timeout!r}."
            )
        self.timeout = float(timeout)
        self.api_key_header = api_key_header
        self.token_path = "/" + token_path.lstrip("/")
        self.session = _Session()
        self.session.verify = verify
        self.session.max_redirects = MAX_REDIRECTS
        self.session.secret_headers = tuple({*API_KEY_HEADERS, api_key_header})
        self.session.headers["User-Agent"] = "galileo-magic"
        retry = _BoundedRetry(
            total=3,
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
        adapter = DeadlineAdapter(max_retries=retry, pool_maxsize=4)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def get_token(
        self, api_url: str, auth: Auth, organization: OrganizationChoice
    ) -> TokenResponse:
        """Run the flow of ``auth`` and return the server's token answer."""
        require_secure(api_url)
        url = api_url + self.token_path
        headers, basic = self._credentials(api_url, auth)
        response, body = self._exchange(
            "GET",
            url,
            auth,
            organization,
            headers=headers,
            basic=basic,
            params=organization.params(),
        )
        return _parse_token(response, body, url, auth)

    def list_organizations(self, api_url: str, auth: Auth) -> list[dict[str, str]]:
        """The organizations the user belongs to, from POST /organizations/query."""
        require_secure(api_url)
        url = api_url + "/organizations/query"
        headers, basic = self._credentials(api_url, auth)
        _, body = self._exchange(
            "POST",
            url,
            auth,
            OrganizationChoice(),
            headers=headers,
            basic=basic,
            json={},
            redirects=False,
        )
        rows = body.get("organizations") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise ServerError(
                f"POST {url} answered without an organizations list; check --api-url.",
                url=f"POST {url}",
            )
        return [
            {
                "id": str(r.get("id")),
                "name": str(r.get("name")),
                "slug": str(r.get("slug")),
            }
            for r in rows
            if isinstance(r, dict) and r.get("id")
        ]

    def _credentials(
        self, api_url: str, auth: Auth
    ) -> tuple[dict[str, str], tuple[str, str] | None]:
        if auth.method == "api-key":
            assert auth.api_key is not None  # guaranteed by Auth.__post_init__
            return {self.api_key_header: auth.api_key.reveal()}, None
        assert auth.username is not None and auth.password is not None
        if auth.method == "basic":
            return {}, (auth.username, auth.password.reveal())
        return {"Authorization": f"Bearer {self._login(api_url, auth)}"}, None

    def _login(self, api_url: str, auth: Auth) -> str:
        """POST /login with the OAuth2 password form; return the session token."""
        url = api_url + "/login"
        assert auth.username is not None and auth.password is not None
        form = {
            "grant_type": "password",
            "username": auth.username,
            "password": auth.password.reveal(),
        }
        _, body = self._exchange(
            "POST", url, auth, OrganizationChoice(), data=form, redirects=False
        )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ServerError(
                f"POST {url} answered 200 without an access_token; check --api-url.",
                url=f"POST {url}",
            )
        return token

    def _verify(self) -> bool | str:
        """The CA bundle: REQUESTS_CA_BUNDLE, then SSL_CERT_FILE, read per request.

        requests reads REQUESTS_CA_BUNDLE (and CURL_CA_BUNDLE) by itself but
        not SSL_CERT_FILE, which is what most private-CA setups export.
        """
        verify = self.session.verify
        if verify is None or verify is True:
            for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
                if os.environ.get(name):
                    return os.environ[name]
            return True
        return verify

    def _exchange(
        self,
        method: str,
        url: str,
        auth: Auth,
        organization: OrganizationChoice,
        *,
        headers: Mapping[str, str] | None = None,
        basic: tuple[str, str] | None = None,
        redirects: bool = True,
        **kwargs: Any,
    ) -> tuple[requests.Response, Any]:
        """Send one request and return the response with its JSON body."""
        where = f"{method} {url}"
        logger.debug("galileo-magic: %s (%s)", where, auth.method)
        try:
            response = self.session.request(
                method,
                url,
                headers=headers,
                auth=basic,
                timeout=(self.timeout, self.timeout),
                verify=self._verify(),
                allow_redirects=redirects,
                stream=True,
                **kwargs,
            )
        except requests.exceptions.RequestException as exc:
            raise _network_error(exc, where, auth) from exc
        with response:
            if response.is_redirect and not redirects:
                target = response.headers.get("Location", "?")
                raise ServerError(
                    f"{where} was redirected ({response.status_code}) to {target}; "
                    "credentials are not sent on; set --api-url to the final address.",
                    url=where,
                    status=response.status_code,
                )
            # Timed from the headers, so Retry-After waits do not eat the body's time.
            deadline = time.monotonic() + self.timeout * DEADLINE_FACTOR
            raw = _read_body(response, deadline, where, auth)
        body = _json_or_none(raw)
        if response.status_code >= 400:
            _raise_for_status(response, body, raw, where, auth, organization)
        if body is None:
            kind = response.headers.get("Content-Type", "no content type")
            raise ServerError(
                f"{where} answered {response.status_code} with a body that is not "
                f"JSON ({kind}); check that --api-url points at the Galileo API.",
                url=where,
                status=response.status_code,
            )
        logger.debug("galileo-magic: %s -> %s", where, response.status_code)
        return response, body


def _canonical_uuid4(value: str) -> str:
    try:
        parsed = uuid.UUID(value.strip())
    except (ValueError, AttributeError):
        parsed = None
    if parsed is None or parsed.version != 4:
        raise ConfigurationError(
            f"Organization id {value!r} is not a UUID4; pass the id shown in the "
            "Galileo console (like 3f2c1d9e-8a4b-4c6d-9e0f-1a2b3c4d5e6f) or use "
            "--org-slug."
        )
    return str(parsed)


def _read_body(
    response: requests.Response, deadline: float, where: str, auth: Auth
) -> bytes:
    """Read at most MAX_BODY_BYTES before the deadline, so no server can stall us."""
    chunks: list[bytes] = []
    size = 0
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
    except (requests.exceptions.RequestException, urllib3_errors.HTTPError) as exc:
        raise _network_error(exc, where, auth) from exc
    return b"".join(chunks)


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        return None


def _parse_token(
    response: requests.Response, body: Any, url: str, auth: Auth
) -> TokenResponse:
    where = f"GET {url}"
    if not isinstance(body, dict):
        raise ServerError(
            f"{where} answered JSON that is not an object; check --api-url.",
            url=where,
        )
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise ServerError(
            f"{where} answered {response.status_code} without an access_token; "
            "check that --api-url points at the Galileo API.",
            url=where,
            status=response.status_code,
        )
    expires_at = body.get("expires_at")
    if expires_at in (None, ""):
        raise ServerError(
            f"{where} answered a token without expires_at; check that --api-url "
            "points at the Galileo API.",
            url=where,
        )
    if not _looks_like_time(expires_at):
        shown = repr(expires_at)[:60]
        raise ServerError(
            f"{where} answered expires_at={shown}, which is not an ISO 8601 time or "
            "epoch seconds; check that --api-url points at the Galileo API.",
            url=where,
        )
    token_type = body.get("token_type") or "bearer"
    return TokenResponse(
        access_token=token,
        token_type=str(token_type),
        expires_at=body["expires_at"],
        server_date=_server_date(response),
        url=response.url or url,
    )


def _looks_like_time(value: Any) -> bool:
    """A cheap shape check; tokens.parse_expiry does the real parsing."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and value.strip()[:1] in "+-0123456789"


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
    return isinstance(detail, str) and "rganization" in detail


def _raise_for_status(
    response: requests.Response,
    body: Any,
    raw: bytes,
    where: str,
    auth: Auth,
    organization: OrganizationChoice,
) -> None:
    status = response.status_code
    detail = _scrub(_detail(body, raw), _sent_secrets(response, auth))
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
    if status == 429:
        wait = response.headers.get("Retry-After", "").strip()[:40]
        fix = (
            f"the server asks to wait (Retry-After: {wait}), run it again then"
            if wait
            else "wait a minute and run it again"
        )
    elif status >= 500:
        fix = "the server failed; try again later"
    else:
        fix = "check --api-url and %config GalileoMagics.token_path"
    raise ServerError(f"{where} answered {said}; {fix}.", url=where, status=status)


def _network_error(
    exc: Exception, where: str, auth: Auth
) -> NetworkError | ServerError:
    """Name what went wrong on the wire; requests hides it under MaxRetryError."""
    root = _root_cause(exc)
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return ServerError(
            f"{where} redirected more than {MAX_REDIRECTS} times (a redirect loop); "
            "check --api-url.",
            url=where,
        )
    if isinstance(exc, requests.exceptions.SSLError) or isinstance(
        root, (urllib3_errors.SSLError, ssl.SSLError)
    ):
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
    return NetworkError(f"{where} failed: {reason}; {fix}.", url=where)


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


def _sent_secrets(response: requests.Response, auth: Auth) -> list[str]:
    """Every secret this exchange sent, in every form a server might echo."""
    secrets = auth.secrets()
    for name, value in response.request.headers.items():
        if name.lower() == "authorization" or name in API_KEY_HEADERS:
            secrets += [value, value.partition(" ")[2]]
    if auth.method == "basic" and auth.username and auth.password:
        pair = f"{auth.username}:{auth.password.reveal()}".encode()
        secrets.append(base64.b64encode(pair).decode())
    return sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
