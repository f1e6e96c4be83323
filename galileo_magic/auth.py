"""The values of the token exchange: credentials, organization, the answer.

Plain values with no I/O: building one checks it (a flow without its
credentials, an id that is not a UUID4) before any request is sent. A
:class:`Secret` never shows itself, so none of these reprs holds one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from .defaults import DEFAULT_API_KEY_HEADER
from .errors import ConfigurationError, ServerError

__all__ = [
    "API_KEY_HEADERS",
    "AUTH_METHODS",
    "Auth",
    "AuthMethod",
    "OrganizationChoice",
    "Secret",
    "TokenResponse",
    "check_access_token",
    "check_method",
    "is_header_safe",
    "secret_values",
]

AuthMethod = Literal["api-key", "oauth2", "basic"]
AUTH_METHODS: tuple[AuthMethod, ...] = ("api-key", "oauth2", "basic")
# Header names that carry an API key; all are dropped on a cross-origin redirect.
API_KEY_HEADERS = (DEFAULT_API_KEY_HEADER, "Splunk-AO-API-Key")


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
        check_method(self.method)
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
        self._check_sendable()

    def _check_sendable(self) -> None:
        """Refuse, without echoing them, values that cannot go in a header.

        requests encodes header values and the HTTP Basic pair as Latin-1; any
        other character fails deep inside http.client with the value in the
        traceback. OAuth2 sends a UTF-8 form, so anything goes there.
        """
        if self.method == "api-key" and self.api_key:
            # Inner spaces are legal in a header value and cannot inject one.
            if not is_header_safe(self.api_key.reveal(), inner_spaces=True):
                raise ConfigurationError(
                    "The API key holds a tab, line break, other control character "
                    "or a character outside Latin-1, so no HTTP header can carry "
                    "it; copy the key again from the Galileo console and check "
                    "GALILEO_API_KEY or --api-key."
                )
        if self.method == "basic":
            for name, value in (
                ("user name", self.username),
                ("password", self.password.reveal() if self.password else None),
            ):
                if value and not _latin1(value):
                    raise ConfigurationError(
                        f"The HTTP Basic {name} holds a character outside Latin-1, "
                        "which HTTP Basic cannot send; use --auth oauth2 (it sends "
                        f"UTF-8) or {self.fix()}."
                    )

    def secrets(self) -> list[str]:
        """The raw secret strings, so that messages can be scrubbed of them."""
        return secret_values(self.api_key, self.password)

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
        """The organization in words, quoted, for an error message."""
        return repr(self.id or self.slug or "(the default organization)")


@dataclass(frozen=True)
class TokenResponse:
    """A successful GET /v1/token, as the server sent it."""

    access_token: str = field(repr=False)
    token_type: str
    expires_at: Any
    server_date: datetime | None
    url: str


def check_method(method: str) -> AuthMethod:
    """``method`` as an AuthMethod, or ConfigurationError naming the known ones."""
    for known in AUTH_METHODS:
        if method == known:
            return known
    raise ConfigurationError(
        f"Unknown auth method {method!r}; use one of {', '.join(AUTH_METHODS)}."
    )


def secret_values(*secrets: Secret | None) -> list[str]:
    """The raw strings of the secrets given, skipping the unset and the empty."""
    return [secret.reveal() for secret in secrets if secret]


def check_access_token(token: Any, where: str, status: int = 200) -> str:
    """``token`` if it is a non-empty string an Authorization header can carry.

    Otherwise a ServerError naming the request ``where`` (the token itself is
    never shown: it is a secret, and it is what would go in the header).
    """
    if not isinstance(token, str) or not token:
        raise ServerError(
            f"{where} answered {status} without an access_token; check that "
            "--api-url points at the Galileo API.",
            url=where,
            status=status,
        )
    if not (is_header_safe(token) and token.isascii()):
        raise ServerError(
            f"{where} answered {status} with an access_token holding spaces, "
            "control or non-ASCII characters, which no Authorization header can "
            "carry; check that --api-url points at the Galileo API.",
            url=where,
            status=status,
        )
    return token


def is_header_safe(value: str, *, inner_spaces: bool = False) -> bool:
    """Whether ``value`` can be sent as one HTTP header value, as it is.

    Latin-1 (what requests encodes headers as) with no control character and
    no whitespace, so nothing can be injected; with ``inner_spaces``, plain
    spaces between other characters are allowed, as HTTP allows them.
    """
    if not _latin1(value) or (inner_spaces and value != value.strip(" ")):
        return False
    return not any(
        (char.isspace() and not (inner_spaces and char == " "))
        or not char.isprintable()
        for char in value
    )


def _latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _canonical_uuid4(value: str) -> str:
    import uuid  # here, not at the top: uuid pulls in platform, slowing %load_ext

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
