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

from .auth import (
    API_KEY_HEADERS,
    Auth,
    OrganizationChoice,
    TokenResponse,
    check_access_token,
)
from .defaults import DEFAULT_API_KEY_HEADER, DEFAULT_TIMEOUT, DEFAULT_TOKEN_PATH
from .errors import ConfigurationError, GalileoMagicError, ServerError
from .responses import (
    MAX_REDIRECTS,
    json_or_none,
    network_error,
    parse_token,
    raise_for_status,
    read_body,
    scrub_sent,
)
from .transport import (
    DEADLINE_FACTOR,
    DeadlineAdapter,
    RedirectSafeSession,
    check_header_name,
    check_timeout,
    resolve_verify,
    retry_policy,
)
from .urls import require_secure, same_origin

__all__ = ["GalileoClient"]

logger = logging.getLogger(__name__)


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
        self.session = RedirectSafeSession()
        self.session.verify = verify
        self.session.max_redirects = MAX_REDIRECTS
        self.session.secret_headers = tuple({*API_KEY_HEADERS, api_key_header})
        self.session.headers["User-Agent"] = "galileo-magic"
        adapter = DeadlineAdapter(max_retries=retry_policy(), pool_maxsize=4)
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
        return parse_token(response, body, url)

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
        # Auth.__post_init__ guarantees the credentials of its method.
        if auth.method == "api-key":
            assert auth.api_key is not None
            return {self.api_key_header: auth.api_key.reveal()}, None
        assert auth.username is not None and auth.password is not None
        pair = (auth.username, auth.password.reveal())
        if auth.method == "basic":
            return {}, pair
        return {"Authorization": f"Bearer {self._login(api_url, auth, pair)}"}, None

    def _login(self, api_url: str, auth: Auth, pair: tuple[str, str]) -> str:
        """POST /login with the OAuth2 password form; return the session token."""
        url = api_url + "/login"
        form = {"grant_type": "password", "username": pair[0], "password": pair[1]}
        response, body = self._exchange(
            "POST", url, auth, OrganizationChoice(), data=form, redirects=False
        )
        token = body.get("access_token") if isinstance(body, dict) else None
        return check_access_token(token, f"POST {url}", response.status_code)

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
        redirects: bool = True,
        **kwargs: Any,
    ) -> tuple[requests.Response, Any]:
        """Send one request and return the response with its JSON body."""
        where = f"{method} {url}"
        logger.debug("galileo-magic: %s (%s)", where, auth.method)
        response = self._send(method, url, where, auth, redirects=redirects, **kwargs)
        with response:
            self._check_redirect(url, where, response, auth, followed=redirects)
            # Timed from the headers, so Retry-After waits do not eat the body's time.
            deadline = time.monotonic() + self.timeout * DEADLINE_FACTOR
            raw = read_body(response, deadline, where)
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

    def _send(
        self,
        method: str,
        url: str,
        where: str,
        auth: Auth,
        *,
        headers: Mapping[str, str] | None = None,
        basic: tuple[str, str] | None = None,
        redirects: bool,
        **kwargs: Any,
    ) -> requests.Response:
        """The response to one request, its body unread; our error if none came."""
        verify = self._verify()
        failure: GalileoMagicError
        try:
            return self.session.request(
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
            failure = _unsendable(where, auth)
        except requests.exceptions.RequestException as exc:
            failure = network_error(exc, where)
        except (UnicodeError, ValueError):
            failure = _unsendable(where, auth)
        # Raised outside the handler: the cause would carry the secret along
        # (a UnicodeEncodeError holds the whole string, a requests error the
        # request with its headers and form body).
        raise failure

    def _check_redirect(
        self,
        url: str,
        where: str,
        response: requests.Response,
        auth: Auth,
        *,
        followed: bool,
    ) -> None:
        """Refuse an answer from another origin, or a redirect not to follow.

        The URLs come from the server, so they are scrubbed of what was sent.
        """
        foreign = _foreign_hop(url, response)
        if foreign is not None:
            parts = urlsplit(foreign)
            origin = scrub_sent(f"{parts.scheme}://{parts.netloc}", response, auth)
            raise ServerError(
                f"{where} was redirected to another origin, "
                f"{scrub_sent(foreign, response, auth)}, which got no credentials, "
                f"so its answer is refused; set --api-url to {origin} if you trust it.",
                url=where,
                status=response.status_code,
            )
        if response.is_redirect and not followed:
            target = scrub_sent(response.headers.get("Location", "?"), response, auth)
            raise ServerError(
                f"{where} was redirected ({response.status_code}) to {target}; "
                "credentials are not sent on; set --api-url to the final address.",
                url=where,
                status=response.status_code,
            )


def _unsendable(where: str, auth: Auth) -> ConfigurationError:
    """The error for a request that http.client or requests could not encode."""
    return ConfigurationError(
        f"{where} could not be sent: a credential or setting holds a character "
        "HTTP cannot carry (the value is not shown); check the credentials "
        f"({auth.fix()}) and %config GalileoMagics.api_key_header.",
        url=where,
    )


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
