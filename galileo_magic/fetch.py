"""fetch_token: credentials in, a GalileoToken out, with no IPython needed."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

from .credentials import TokenRequest, build_request, gather
from .defaults import DEFAULT_API_KEY_HEADER, DEFAULT_TIMEOUT, DEFAULT_TOKEN_PATH
from .errors import ServerError
from .protocol import GalileoClient
from .tokens import GalileoToken
from .transport import check_timeout

__all__ = ["fetch_token", "get_client", "request_token"]

logger = logging.getLogger(__name__)

_clients: dict[tuple[float, bool | str, str, str], GalileoClient] = {}
_clients_lock = threading.Lock()


def get_client(
    *,
    timeout: float | None = None,
    verify: bool | str = True,
    api_key_header: str = DEFAULT_API_KEY_HEADER,
    token_path: str = DEFAULT_TOKEN_PATH,
) -> GalileoClient:
    """The shared pooled client for these settings, so connections are reused."""
    seconds = DEFAULT_TIMEOUT if timeout is None else check_timeout(timeout)
    key = (seconds, verify, api_key_header, token_path)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = GalileoClient(
                timeout=key[0],
                verify=verify,
                api_key_header=api_key_header,
                token_path=token_path,
            )
            _clients[key] = client
        return client


def close_clients() -> None:
    """Close every pooled client (on extension unload)."""
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def request_token(request: TokenRequest, client: GalileoClient) -> GalileoToken:
    """Fetch a token for a validated request."""
    response = client.get_token(request.api_url, request.auth, request.organization)
    token = GalileoToken.from_response(
        response,
        organization_id=request.organization.id,
        organization_slug=request.organization.slug,
        api_url=request.api_url,
        received_at=datetime.now(timezone.utc),
    )
    if token.expired:
        where = f"GET {response.url}"
        raise ServerError(
            f"{where} answered a token that had already expired, at "
            f"{token.expires_at.isoformat()} (judged on the server's own clock); "
            "the server's token lifetime or clock is wrong, tell its operator.",
            url=where,
        )
    logger.info(
        "galileo-magic: token for organization %s, expires %s",
        token.organization,
        token.expires_at.isoformat(),
    )
    return token


def fetch_token(
    *,
    api_key: str | None = None,
    username: str | None = None,
    password: str | None = None,
    auth: str | None = None,
    organization_id: str | None = None,
    organization_slug: str | None = None,
    console_url: str | None = None,
    api_url: str | None = None,
    timeout: float | None = None,
) -> GalileoToken:
    """Fetch a short-lived Galileo access token.

    Arguments left unset fall back to the ``GALILEO_*`` environment
    variables, then to the nearest ``.env`` file; an argument given as empty
    text is refused rather than replaced. ``auth`` is ``"api-key"``,
    ``"oauth2"`` or ``"basic"``; when omitted, an API key wins over a user
    name and password. ``timeout`` is seconds per HTTP step (default 10).
    Raises a :class:`~galileo_magic.GalileoMagicError` subclass on any
    failure, bad arguments included.
    """
    values = gather(
        {
            "api_key": api_key,
            "username": username,
            "password": password,
            "auth": auth,
            "organization_id": organization_id,
            "organization_slug": organization_slug,
            "console_url": console_url,
            "api_url": api_url,
        }
    )
    request = build_request(values)
    return request_token(request, get_client(timeout=timeout))
