"""The one exception tree of galileo-magic.

    GalileoMagicError
    ├── ConfigurationError   bad input: a malformed URL, UUID, flag or variable name
    ├── AuthenticationError  the server refused the credentials (401/403)
    ├── OrganizationError    the organization is unknown or not yours (404/422)
    ├── ServerError          5xx, a body that is not JSON, missing or bad fields
    └── NetworkError         DNS, refused connection, TLS failure, timeout

Every message is one line that names the value or URL at fault and the fix, and
carries the server's ``detail`` when there is one. No message ever holds a secret.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "GalileoMagicError",
    "NetworkError",
    "OrganizationError",
    "ServerError",
]


class GalileoMagicError(Exception):
    """Base class of every error raised by galileo-magic.

    ``url`` and ``status`` are set when the error comes from an HTTP exchange.
    """

    def __init__(
        self, message: str, *, url: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class ConfigurationError(GalileoMagicError, ValueError):
    """Bad input, refused before any request is sent."""


class AuthenticationError(GalileoMagicError):
    """The server refused the credentials (401 or 403)."""


class OrganizationError(GalileoMagicError):
    """The organization is unknown, malformed, or the user is not a member."""


class ServerError(GalileoMagicError):
    """The server failed or answered something that is not a valid token."""


class NetworkError(GalileoMagicError):
    """The server could not be reached: DNS, connection, TLS or a timeout."""
