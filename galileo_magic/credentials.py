"""Where credentials come from, in which order, and how they are checked.

Each field is looked up in turn in the explicit arguments (flags), the
environment, then the nearest ``.env`` file (read literally, without touching
``os.environ``), and for the console and API URLs last in the ``defaults``
(the magic's ``%config`` settings). The auth flow, when not given, is
inferred from the first source that holds any credential: an API key wins
over a user name and password there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from .auth import (
    Auth,
    AuthMethod,
    OrganizationChoice,
    Secret,
    check_method,
    secret_values,
)
from .errors import ConfigurationError
from .urls import DEFAULT_CONSOLE_URL, api_url_from_console, normalize_url

__all__ = [
    "ENVIRONMENT",
    "CredentialValues",
    "TokenRequest",
    "build_request",
    "find_dotenv_path",
    "gather",
    "missing_message",
    "read_dotenv",
]

# Field name -> environment variable, the same names as the Galileo SDK.
ENVIRONMENT = {
    "console_url": "GALILEO_CONSOLE_URL",
    "api_url": "GALILEO_API_URL",
    "api_key": "GALILEO_API_KEY",
    "username": "GALILEO_USERNAME",
    "password": "GALILEO_PASSWORD",
    "organization_id": "GALILEO_ORGANIZATION_ID",
    "organization_slug": "GALILEO_ORGANIZATION_SLUG",
}
SECRET_FIELDS = ("api_key", "password")
CREDENTIAL_FIELDS = ("api_key", "username", "password")
# The only fields the ``defaults`` layer may give.
DEFAULT_FIELDS = ("console_url", "api_url")
# Each argument in words, for messages that suit a flag and a Python argument.
WORDS = {
    "console_url": "console URL",
    "api_url": "API URL",
    "api_key": "API key",
    "username": "user name",
    "password": "password",
    "organization_id": "organization id",
    "organization_slug": "organization slug",
    "auth": "auth method",
}


@dataclass
class CredentialValues:
    """What the sources gave, field by field, before validation.

    Secret fields hold :class:`Secret` so that no repr can show them.
    ``sources`` records where each field came from ("argument",
    "environment", ".env" or "config"); ``empty`` the arguments given as
    empty text, which do not fall back to the other sources;
    ``dotenv_path`` the ``.env`` file read, if any.
    """

    console_url: str | None = None
    api_url: str | None = None
    api_key: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    organization_id: str | None = None
    organization_slug: str | None = None
    auth: str | None = None
    sources: dict[str, str] = field(default_factory=dict)
    empty: list[str] = field(default_factory=list)
    dotenv_path: str | None = None

    def has_credentials(self) -> bool:
        """Whether an API key, or a user name with a password, was found."""
        return bool(self.api_key or (self.username and self.password))

    def missing(self) -> str | None:
        """What is still needed to authenticate, in words, or None.

        None too when an argument was given empty: that is a mistake for
        ``build_request`` to report, not a gap to prompt for.
        """
        if any(not getattr(self, name, None) for name in self.empty):
            return None
        method = self.inferred_auth()
        if method == "api-key":
            return None if self.api_key else "an API key"
        if self.username and not self.password:
            return "a password"
        if self.password and not self.username:
            return "a user name"
        if not self.username:
            return "credentials"
        return None

    def inferred_auth(self) -> AuthMethod | None:
        """The flow to use: the given one, else the first source's best."""
        if self.auth:
            return check_method(self.auth)
        ranked = sorted(
            (f for f in CREDENTIAL_FIELDS if getattr(self, f)),
            key=lambda f: _RANK[self.sources.get(f, ".env")],
        )
        if not ranked:
            return None
        first_source = self.sources.get(ranked[0])
        if self.api_key and self.sources.get("api_key") == first_source:
            return "api-key"
        return "oauth2"

    def secrets(self) -> list[str]:
        """The raw secret strings found, so that messages can be scrubbed of them."""
        return secret_values(self.api_key, self.password)


_RANK = {"argument": 0, "environment": 1, ".env": 2, "config": 3}


@dataclass(frozen=True)
class TokenRequest:
    """A validated request: where to ask, with what, for which organization."""

    api_url: str
    console_url: str
    auth: Auth
    organization: OrganizationChoice


def gather(
    arguments: Mapping[str, str | None],
    *,
    environ: Mapping[str, str] | None = None,
    dotenv: Mapping[str, str | None] | None = None,
    defaults: Mapping[str, str | None] | None = None,
) -> CredentialValues:
    """Merge the sources, field by field, first found wins.

    ``dotenv`` defaults to the nearest ``.env`` file from the working
    directory upward; pass ``{}`` to skip it. ``defaults`` is the lowest
    layer and gives only ``console_url`` and ``api_url`` (source
    "config"). An argument that is not a string is a ConfigurationError;
    one given as empty text is recorded in ``empty`` (``build_request``
    refuses it) rather than silently replaced. Empty values in the other
    sources count as unset.
    """
    values = CredentialValues(auth=_clean(arguments.get("auth")))
    values.empty = _given_empty(arguments)
    if dotenv is None:
        values.dotenv_path = find_dotenv_path()
        dotenv = read_dotenv(values.dotenv_path) if values.dotenv_path else {}
    environ = os.environ if environ is None else environ
    layers = [
        ("argument", dict(arguments)),
        ("environment", {name: environ.get(var) for name, var in ENVIRONMENT.items()}),
        (".env", {name: dotenv.get(var) for name, var in ENVIRONMENT.items()}),
        ("config", {name: (defaults or {}).get(name) for name in DEFAULT_FIELDS}),
    ]
    for name in ENVIRONMENT:
        _resolve(values, name, layers)
    _keep_one_organization_source(values)
    return values


def _given_empty(arguments: Mapping[str, str | None]) -> list[str]:
    """The arguments given as empty text; one that is not text is refused."""
    for name, value in arguments.items():
        if value is not None and not isinstance(value, str):
            # The type only: the value may be a secret.
            raise ConfigurationError(
                f"The {WORDS.get(name, name)} given must be text (str), not "
                f"{type(value).__name__}; pass it as a string."
            )
    return [
        n for n in WORDS if arguments.get(n) is not None and not _clean(arguments[n])
    ]


def _resolve(
    values: CredentialValues,
    name: str,
    layers: list[tuple[str, dict[str, str | None]]],
) -> None:
    """Set field ``name`` from the first source that holds it.

    An argument given, even as empty text, ends the search: build_request
    refuses it, rather than a lower source silently replacing it.
    """
    for source, mapping in layers:
        given = mapping.get(name)
        raw = _clean(given, strip=name != "password")
        if raw is not None:
            _set(values, name, raw, source)
        if raw is not None or (source == "argument" and given is not None):
            return


def _set(values: CredentialValues, name: str, raw: str, source: str) -> None:
    setattr(values, name, Secret(raw) if name in SECRET_FIELDS else raw)
    values.sources[name] = source


def _keep_one_organization_source(values: CredentialValues) -> None:
    """An id from one source and a slug from a lower one: the higher one wins."""
    if not (values.organization_id and values.organization_slug):
        return
    id_rank = _RANK[values.sources["organization_id"]]
    slug_rank = _RANK[values.sources["organization_slug"]]
    if id_rank < slug_rank:
        values.organization_slug = None
        del values.sources["organization_slug"]
    elif slug_rank < id_rank:
        values.organization_id = None
        del values.sources["organization_id"]


def find_dotenv_path() -> str | None:
    """The nearest ``.env`` from the working directory upward, or None."""
    from dotenv import find_dotenv

    return find_dotenv(usecwd=True) or None


def read_dotenv(path: str | None = None) -> dict[str, str | None]:
    """A ``.env`` file (the nearest one by default), read literally as UTF-8."""
    from dotenv import dotenv_values

    path = path or find_dotenv_path()
    if not path:
        return {}
    problem = ""
    try:
        return dict(dotenv_values(path, interpolate=False, encoding="utf-8"))
    except UnicodeDecodeError:
        problem = "is not UTF-8 text; save it as UTF-8"
    except OSError as exc:
        problem = f"cannot be read ({exc.strerror or type(exc).__name__}); fix it"
    # Raised outside the except block: a UnicodeDecodeError holds the file's
    # bytes, secrets included, and must not ride along as the context.
    raise ConfigurationError(
        f"The .env file {path} {problem} or remove it, then run again."
    )


def build_request(values: CredentialValues) -> TokenRequest:
    """Validate the gathered values into a request, or raise ConfigurationError."""
    console_url = normalize_url(values.console_url or DEFAULT_CONSOLE_URL)
    if values.api_url:
        api_url = normalize_url(values.api_url, what="API URL")
    else:
        api_url = api_url_from_console(console_url)
    for name in values.empty:
        if not getattr(values, name, None):
            raise ConfigurationError(
                f"The {WORDS[name]} given is empty; give a value, or leave it "
                "out to use the GALILEO_* variables and .env."
            )
    method = values.inferred_auth()
    if method is None:
        raise ConfigurationError(missing_message())
    if values.organization_id and values.organization_slug:
        raise ConfigurationError(_both_organizations(values))
    auth = Auth(
        method,
        api_key=values.api_key if method == "api-key" else None,
        username=values.username if method != "api-key" else None,
        password=values.password if method != "api-key" else None,
    )
    organization = OrganizationChoice(
        id=values.organization_id, slug=values.organization_slug
    )
    return TokenRequest(api_url, console_url, auth, organization)


def _both_organizations(values: CredentialValues) -> str:
    """'Not both' in the words of the one source that gave both."""
    source = values.sources.get("organization_id")
    names = f"{ENVIRONMENT['organization_id']} or {ENVIRONMENT['organization_slug']}"
    if source == "environment":
        fix = f"unset {names} in the environment"
    elif source == ".env":
        fix = f"remove {names} from {values.dotenv_path or 'the .env file'}"
    else:
        fix = "drop --org-id or --org-slug (organization_id= or organization_slug=)"
    return (
        f"Give an organization id or a slug, not both (got id "
        f"{values.organization_id!r} and slug {values.organization_slug!r}); {fix}."
    )


def missing_message() -> str:
    """The one-line error for 'no credentials anywhere'."""
    return (
        "No Galileo credentials found: set GALILEO_API_KEY (or GALILEO_USERNAME "
        "and GALILEO_PASSWORD) in the environment or a .env file, or pass "
        "--api-key / --username and --password."
    )


def _clean(value: str | None, *, strip: bool = True) -> str | None:
    if value is None:
        return None
    text = value.strip() if strip else value
    return text if text.strip() else None
