"""The sandbox's clock and its in-memory store of issued tokens."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .seed import Organization, User


class ServerClock:
    """Wall-clock time shifted by a fixed offset, to play a server with skew."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> datetime:
        """The server's idea of the current time, aware UTC."""
        return datetime.now(timezone.utc) + timedelta(seconds=self.offset)


@dataclass(frozen=True)
class Grant:
    """What a token stands for: a user, optionally an organization, an expiry."""

    user: User
    organization: Organization | None
    expires_at: datetime


class TokenError(Exception):
    """A bearer token that is unknown or past its expiry."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jwt_shaped(claims: dict[str, object]) -> str:
    """Three base64url segments like a JWT; the last is random, never a signature."""
    header = {"alg": "HS256", "typ": "JWT"}
    parts = [
        _b64url(json.dumps(header, separators=(",", ":")).encode()),
        _b64url(json.dumps(claims, separators=(",", ":")).encode()),
        _b64url(secrets.token_bytes(32)),
    ]
    return ".".join(parts)


class TokenStore:
    """Session tokens from /login and access tokens from /v1/token, in memory."""

    def __init__(self, clock: ServerClock, ttl: float) -> None:
        self.clock = clock
        self.ttl = ttl
        self._grants: dict[str, Grant] = {}

    def issue(self, user: User, organization: Organization | None) -> tuple[str, Grant]:
        """Mint a token valid for ``ttl`` seconds of server time."""
        now = self.clock.now()
        grant = Grant(user, organization, now + timedelta(seconds=self.ttl))
        claims: dict[str, object] = {
            "sub": user.id,
            "exp": int(grant.expires_at.timestamp()),
            "jti": secrets.token_hex(8),
        }
        if organization is not None:
            claims["org"] = organization.id
        token = _jwt_shaped(claims)
        self._forget_expired(now)
        self._grants[token] = grant
        return token, grant

    def lookup(self, token: str) -> Grant:
        """The grant behind ``token``; raise TokenError if unknown or expired."""
        grant = self._grants.get(token)
        if grant is None:
            raise TokenError("Could not validate credentials")
        if grant.expires_at <= self.clock.now():
            del self._grants[token]
            raise TokenError("Token has expired")
        return grant

    def issued(self) -> list[str]:
        """Every token still held, so leak tests can search outputs for them."""
        return list(self._grants)

    def _forget_expired(self, now: datetime) -> None:
        expired = [key for key, g in self._grants.items() if g.expires_at <= now]
        for key in expired:
            del self._grants[key]
