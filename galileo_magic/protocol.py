"""The HTTP exchange with Galileo: the three auth flows of GET /v1/token.

This module talks HTTP and nothing else. It never prints, displays or stores
anything, and it knows nothing of IPython. Every request has a timeout, GET
retries are bounded, and credentials never follow a redirect to another origin
(whose answer, made to an anonymous request, is refused).
The values it sends and returns live in ``auth``; reading an answer and naming
its failure as one of our errors live in ``responses``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.util.retry import Retry

from .auth import (
    API_KEY_HEADERS,
    Auth,
    OrganizationChoice,
    TokenResponse,
    is_header_safe,
)
from .errors import ConfigurationError, ServerError
from .responses import (
    MAX_REDIRECTS,
    json_or_none,
    network_error,
    parse_token,
    raise_for_status,
    read_body,
)
from .transport import (
    DEADLINE_FACTOR,
    DeadlineAdapter,
    check_header_name,
    check_timeout,
    resolve_verify,
)
from .urls import require_secure, same_origin

__all__ = ["DEFAULT_API_KEY_HEADER", "DEFAULT_TIMEOUT", "GalileoClient"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
DEFAULT_API_KEY_HEADER = "Galileo-API-Key"
DEFAULT_TOKEN_PATH = "/v1/token"
MAX_RETRY_AFTER = 10.0
RETRY_STATUSES = (429, 502, 503, 504)


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
        self.timeout = check_timeout(timeout)
        self.api_key_header = check_header_name(api_key_header)
        resolve_verify(verify)
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
        return parse_token(response, body, url, auth)

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
        if not is_header_safe(token) or not token.isascii():
            raise ServerError(
                f"POST {url} answered 200 with an access_token holding spaces, "
                "control or non-ASCII characters, which no Authorization header can "
                "carry; check that --api-url points at the Galileo API.",
                url=f"POST {url}",
            )
        return token

    def _verify(self) -> bool | str:
        """The CA bundle or switch for this request, read from the environment now."""
        return resolve_verify(self.session.verify)

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
        verify = self._verify()
        unsendable = False
        try:
            response = self.session.request(
                method,
                url,
                headers=headers,
                auth=basic,
                timeout=(self.timeout, self.timeout),
                verify=verify,
                allow_redirects=redirects,
                stream=True,
                **kwargs,
            )
        except requests.exceptions.InvalidHeader:
            unsendable = True
        except requests.exceptions.RequestException as exc:
            raise network_error(exc, where, auth) from exc
        except (UnicodeError, ValueError):
            unsendable = True
        if unsendable:
            # Raised outside the except block: the cause (a UnicodeEncodeError
            # holds the whole string) would carry the secret along.
            raise ConfigurationError(
                f"{where} could not be sent: a credential or setting holds a "
                "character HTTP cannot carry (the value is not shown); check the "
                f"credentials ({auth.fix()}) and %config GalileoMagics.api_key_header.",
                url=where,
            )
        with response:
            foreign = _foreign_hop(url, response)
            if foreign is not None:
                origin = urlsplit(foreign)
                raise ServerError(
                    f"{where} was redirected to another origin, {foreign}, which got "
                    "no credentials, so its answer is refused; set --api-url to "
                    f"{origin.scheme}://{origin.netloc} if you trust it.",
                    url=where,
                    status=response.status_code,
                )
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
            raw = read_body(response, deadline, where, auth)
        body = json_or_none(raw)
        if response.status_code >= 400:
            raise_for_status(response, body, raw, where, auth, organization)
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


def _foreign_hop(url: str, response: requests.Response) -> str | None:
    """The URL that left ``url``'s origin on the way to ``response``, if any.

    The credentials were dropped there, so whatever answered after it spoke
    to an anonymous request. The final URL is named when it is foreign.
    """
    if not response.history:
        return None
    if not same_origin(url, response.url):
        return response.url
    hops = [hop.url for hop in response.history]
    return next((hop for hop in hops if not same_origin(url, hop)), None)
