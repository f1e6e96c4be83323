"""Who is calling: API keys, bearer tokens and HTTP Basic, as the server accepts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import HTTPException, Request, Security, status
from fastapi.security import (
    APIKeyHeader,
    HTTPBasic,
    HTTPBasicCredentials,
    OAuth2PasswordBearer,
)

from .seed import Organization, Seed, User
from .tokens import TokenError, TokenStore

GALILEO_KEY_HEADER = "Galileo-API-Key"
SPLUNK_KEY_HEADER = "Splunk-AO-API-Key"

# The scheme names are those of the published spec for GET /v1/token; the
# Splunk header gets its own name since one app cannot give one name two headers.
galileo_key_scheme = APIKeyHeader(
    name=GALILEO_KEY_HEADER, scheme_name="APIKeyHeader", auto_error=False
)
splunk_key_scheme = APIKeyHeader(
    name=SPLUNK_KEY_HEADER, scheme_name="SplunkAOAPIKeyHeader", auto_error=False
)
bearer_scheme = OAuth2PasswordBearer(
    tokenUrl="login", scheme_name="OAuth2PasswordBearer", auto_error=False
)
basic_scheme = HTTPBasic(scheme_name="HTTPBasic", auto_error=False)

GalileoKey = Annotated[str | None, Security(galileo_key_scheme)]
SplunkKey = Annotated[str | None, Security(splunk_key_scheme)]
BearerToken = Annotated[str | None, Security(bearer_scheme)]
BasicCredentials = Annotated[HTTPBasicCredentials | None, Security(basic_scheme)]


@dataclass(frozen=True)
class Identity:
    """An authenticated caller, and the organization its token is bound to."""

    user: User
    organization: Organization | None = None

    @property
    def current_organization(self) -> Organization:
        """The token's organization, else the user's default one."""
        return self.organization or self.user.default_organization


def unauthorized(detail: str, scheme: str = "Bearer") -> HTTPException:
    """A 401 like the server's, with the challenge for ``scheme``."""
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": scheme},
    )


def identify(
    seed: Seed,
    store: TokenStore,
    *,
    api_key: str | None,
    bearer: str | None,
    basic: HTTPBasicCredentials | None,
) -> Identity:
    """Check the first credential present; a bad one is refused, never skipped."""
    if api_key is not None:
        user = seed.user_by_api_key(api_key)
        if user is None:
            raise unauthorized("Invalid API key.", scheme="APIKey")
        return Identity(user)
    if bearer is not None:
        try:
            grant = store.lookup(bearer)
        except TokenError as exc:
            raise unauthorized(str(exc)) from exc
        return Identity(grant.user, grant.organization)
    if basic is not None:
        user = seed.user_by_password(basic.username, basic.password)
        if user is None:
            raise unauthorized("Incorrect username or password", scheme="Basic")
        return Identity(user)
    raise unauthorized("Not authenticated")


def _identify_request(
    request: Request,
    api_key: str | None,
    bearer: str | None,
    basic: HTTPBasicCredentials | None,
) -> Identity:
    state = request.app.state.sandbox
    return identify(
        state.seed, state.store, api_key=api_key, bearer=bearer, basic=basic
    )


async def current_identity_v1(
    request: Request,
    galileo_key: GalileoKey,
    bearer: BearerToken,
    basic: BasicCredentials,
) -> Identity:
    """Caller of GET /v1/token; the Splunk header works but stays out of its spec."""
    api_key = galileo_key or request.headers.get(SPLUNK_KEY_HEADER)
    return _identify_request(request, api_key, bearer, basic)


async def current_identity(
    request: Request,
    galileo_key: GalileoKey,
    splunk_key: SplunkKey,
    bearer: BearerToken,
    basic: BasicCredentials,
) -> Identity:
    """Caller of the other authenticated endpoints, either API key header listed."""
    return _identify_request(request, galileo_key or splunk_key, bearer, basic)
