"""GalileoToken, the value a fetch returns, with expiry parsing and clock skew."""

from __future__ import annotations

import math
import re
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from .auth import TokenResponse
from .errors import ServerError

__all__ = ["GalileoToken", "mask", "parse_expiry"]

# A skew below this is the Date header's one-second resolution, not a real offset.
SKEW_THRESHOLD = timedelta(seconds=2)

_ISO = re.compile(
    r"""
    (?P<date>\d{4}-\d{2}-\d{2})
    [Tt\ ]
    (?P<hour>\d{2}):(?P<minute>\d{2})
    (?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?
    (?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?)?
    """,
    # ASCII only: \d would also match other scripts' digits, which int() takes.
    re.VERBOSE | re.ASCII,
)
_EPOCH = re.compile(r"[+-]?\d+(?:\.\d+)?", re.ASCII)
_EPOCH_START = datetime(1970, 1, 1, tzinfo=timezone.utc)


def parse_expiry(value: Any) -> datetime:
    """Turn the server's ``expires_at`` into an aware UTC datetime.

    Accepts ISO 8601 with ``Z`` or a ``+hh:mm``/``-hh:mm`` offset (also
    ``+hhmm`` and ``+hh``) and 1 to 9 fraction digits (beyond microseconds
    they are truncated), and epoch seconds as a number or a numeric string.
    A timestamp without an offset (naive) is taken as UTC, which is what the
    Galileo server means by one. Anything else, including epoch milliseconds
    (they land past year 9999), is a ServerError that names the value.
    """
    if isinstance(value, bool):
        raise _bad_expiry(value)
    if isinstance(value, (int, float)):
        return _from_epoch(value)
    if not isinstance(value, str):
        raise _bad_expiry(value)
    text = value.strip()
    if _EPOCH.fullmatch(text):
        return _from_epoch_text(text)
    match = _ISO.fullmatch(text)
    if not match:
        raise _bad_expiry(value)
    try:
        return _from_match(match)
    except (ValueError, OverflowError):
        # An offset can push a valid date past year 1 or 9999.
        raise _bad_expiry(value) from None


def _from_match(match: re.Match[str]) -> datetime:
    year, month, day = (int(part) for part in match["date"].split("-"))
    fraction = (match["fraction"] or "").ljust(6, "0")[:6]
    moment = datetime(
        year,
        month,
        day,
        int(match["hour"]),
        int(match["minute"]),
        int(match["second"] or 0),
        int(fraction),
        tzinfo=timezone.utc,
    )
    zone = match["zone"]
    if zone and zone not in "Zz":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:] or 0)
        if hours > 23 or minutes > 59:
            raise ValueError(zone)
        moment -= sign * timedelta(hours=hours, minutes=minutes)
    return moment


def _from_epoch(seconds: float) -> datetime:
    try:
        # math.isfinite itself overflows on an int beyond the float range.
        if not math.isfinite(seconds):
            raise _bad_expiry(seconds)
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise _bad_expiry(seconds) from None


def _from_epoch_text(text: str) -> datetime:
    # Digit by digit, not through a float, so microseconds survive any year.
    whole, _, fraction = text.lstrip("+-").partition(".")
    sign = -1 if text.startswith("-") else 1
    try:
        offset = timedelta(
            seconds=int(whole), microseconds=int(fraction[:6].ljust(6, "0"))
        )
        return _EPOCH_START + sign * offset
    except (OverflowError, ValueError):
        # ValueError: more digits than int() accepts (sys.int_info).
        raise _bad_expiry(text) from None


def _bad_expiry(value: Any) -> ServerError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ServerError(
        f"The server sent expires_at={shown}, which is not an ISO 8601 time or "
        "epoch seconds; check that --api-url points at the Galileo API."
    )


def mask(token: str) -> str:
    """Show a token as its first three and last four characters."""
    if len(token) < 16:
        return "***"
    return f"{token[:3]}...{token[-4:]}"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class GalileoToken:
    """A short-lived Galileo access token and what it is for.

    ``str(token)`` is the raw token, so ``f"Bearer {token}"`` works; ``repr``
    and every display show it masked. ``remaining`` and ``expired`` use the
    server's clock, corrected by the offset read from the response's Date
    header. Auto-refresh updates an instance in place.
    """

    def __init__(
        self,
        access_token: str,
        expires_at: datetime,
        *,
        token_type: str = "bearer",
        organization_id: str | None = None,
        organization_slug: str | None = None,
        api_url: str | None = None,
        clock_skew: timedelta = timedelta(0),
    ) -> None:
        self._lock = threading.Lock()
        self._access_token = access_token
        self.token_type = token_type
        self.expires_at = expires_at.astimezone(timezone.utc)
        self.organization_id = organization_id
        self.organization_slug = organization_slug
        self.api_url = api_url
        self.clock_skew = clock_skew

    @classmethod
    def from_response(
        cls,
        response: TokenResponse,
        *,
        organization_id: str | None = None,
        organization_slug: str | None = None,
        api_url: str | None = None,
        received_at: datetime | None = None,
    ) -> GalileoToken:
        """Build a token from the server's answer, measuring the clock skew.

        The skew is the response's Date header minus ``received_at`` (the
        kernel's clock when the answer arrived); below SKEW_THRESHOLD it is
        the header's one-second rounding and counts as none.
        """
        try:
            expires_at = parse_expiry(response.expires_at)
        except ServerError as exc:
            raise ServerError(f"GET {response.url}: {exc}", url=response.url) from exc
        skew = timedelta(0)
        if response.server_date is not None:
            server_date = response.server_date
            if server_date.tzinfo is None:
                # An HTTP date is GMT; "-0000" makes the parser return it naive.
                server_date = server_date.replace(tzinfo=timezone.utc)
            measured = server_date - (received_at or _utcnow())
            if abs(measured) >= SKEW_THRESHOLD:
                skew = measured
        return cls(
            response.access_token,
            expires_at,
            token_type=response.token_type,
            organization_id=organization_id,
            organization_slug=organization_slug,
            api_url=api_url,
            clock_skew=skew,
        )

    @property
    def access_token(self) -> str:
        """The raw token. Treat it as a secret."""
        return self._access_token

    @property
    def organization(self) -> str:
        """The organization in words: its slug, else its id, else 'default'."""
        return self.organization_slug or self.organization_id or "default"

    def server_now(self) -> datetime:
        """The current time on the server's clock."""
        return _utcnow() + self.clock_skew

    @property
    def remaining(self) -> timedelta:
        """Time left before expiry on the server's clock; never negative."""
        with self._lock:
            # Read both under the lock: a refresh may be replacing them.
            expires_at, skew = self.expires_at, self.clock_skew
        return max(expires_at - (_utcnow() + skew), timedelta(0))

    @property
    def expired(self) -> bool:
        """Whether the server considers the token expired now."""
        return self.remaining <= timedelta(0)

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header that carries this token."""
        return {"Authorization": f"Bearer {self._access_token}"}

    def update_from(self, other: GalileoToken) -> None:
        """Take the value of a newer token in place (used by auto-refresh)."""
        with self._lock:
            self._access_token = other._access_token
            self.token_type = other.token_type
            self.expires_at = other.expires_at
            self.organization_id = other.organization_id or self.organization_id
            self.organization_slug = other.organization_slug or self.organization_slug
            self.api_url = other.api_url or self.api_url
            self.clock_skew = other.clock_skew

    def describe(self) -> str:
        """One readable line with no secret: organization, expiry, time left.

        The expiry is shown in local time on this machine's clock: the
        server's instant minus the measured clock skew.
        """
        with self._lock:
            expires_at, skew = self.expires_at, self.clock_skew
        local = (expires_at - skew).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
        if self.expired:
            return f"organization {self.organization}: expired at {local}"
        return (
            f"organization {self.organization}: expires {local} "
            f"(in {format_remaining(self.remaining)})"
        )

    def __str__(self) -> str:
        return self._access_token

    def __format__(self, spec: str) -> str:
        return format(self._access_token, spec)

    def __repr__(self) -> str:
        return (
            f"GalileoToken({mask(self._access_token)!r}, "
            f"organization={self.organization!r}, "
            f"expires_at={self.expires_at.isoformat()!r})"
        )

    def __reduce__(self) -> Any:
        # Refuse pickling: a pickle would write the raw token to disk.
        raise TypeError("GalileoToken is not picklable: it holds a secret.")


def format_remaining(remaining: timedelta) -> str:
    """``1:02:03`` or ``59:58`` for a time left."""
    total = max(int(remaining.total_seconds()), 0)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes:02d}:{seconds:02d}"
