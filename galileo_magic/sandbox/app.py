"""The FastAPI application that answers like the Galileo API server."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formatdate
from typing import Annotated

from fastapi import Body, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import UUID4
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import Identity, current_identity, current_identity_v1, unauthorized
from .organizations import query_organizations, resolve_organization
from .schemas import (
    CurrentUserDB,
    GetTokenResponse,
    HealthcheckResponse,
    ListOrganizationsResponse,
    OrganizationDB,
    QueryOrganizationParams,
    Token,
)
from .seed import Seed, default_seed
from .tokens import ServerClock, TokenStore

API_VERSION = "v1"
SERVER_VERSION = "1.1085.0-sandbox"


@dataclass
class SandboxState:
    """What every request handler reads, kept on ``app.state.sandbox``."""

    seed: Seed
    clock: ServerClock
    store: TokenStore


class DateHeaderMiddleware:
    """Sets the ``Date`` header from the server clock, offset included."""

    def __init__(self, app: ASGIApp, clock: ServerClock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                stamp = formatdate(self.clock.now().timestamp(), usegmt=True)
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"date"
                ]
                headers.append((b"date", stamp.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_date)


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


State = Annotated[SandboxState, Depends(_state)]
OrganizationId = UUID4 | None
OrganizationSlug = str | None


def _both_organizations_error(organization_slug: str) -> RequestValidationError:
    message = "organization_id and organization_slug are exclusive; give one."
    return RequestValidationError(
        [
            {
                "type": "value_error",
                "loc": ("query", "organization_slug"),
                "msg": f"Value error, {message}",
                "input": organization_slug,
                "ctx": {"error": message},
            }
        ]
    )


def _issue_token(
    state: SandboxState,
    identity: Identity,
    organization_id: UUID4 | None,
    organization_slug: str | None,
) -> GetTokenResponse:
    if organization_id is not None and organization_slug is not None:
        raise _both_organizations_error(organization_slug)

    org = resolve_organization(
        identity.user,
        identity.current_organization,
        str(organization_id) if organization_id is not None else None,
        organization_slug,
    )
    token, grant = state.store.issue(identity.user, org)
    return GetTokenResponse(access_token=token, expires_at=grant.expires_at)


def _add_routes(app: FastAPI) -> None:
    @app.get("/healthcheck", tags=["health"])
    async def healthcheck() -> HealthcheckResponse:
        return HealthcheckResponse(
            api_version=API_VERSION, message="ok", version=SERVER_VERSION
        )

    @app.post("/login", tags=["auth"])
    async def login_email(
        state: State, form: Annotated[OAuth2PasswordRequestForm, Depends()]
    ) -> Token:
        user = state.seed.user_by_password(form.username, form.password)
        if user is None:
            raise unauthorized("Incorrect username or password")
        token, _ = state.store.issue(user, None)
        return Token(access_token=token)

    @app.get("/v1/token", tags=["auth"])
    async def get_token(
        state: State,
        identity: Annotated[Identity, Depends(current_identity_v1)],
        organization_id: OrganizationId = None,
        organization_slug: OrganizationSlug = None,
    ) -> GetTokenResponse:
        return _issue_token(state, identity, organization_id, organization_slug)

    @app.get("/v2/token", tags=["auth"], operation_id="get_token_v2_token_get")
    async def get_token_v2(
        state: State,
        identity: Annotated[Identity, Depends(current_identity)],
        organization_id: OrganizationId = None,
        organization_slug: OrganizationSlug = None,
    ) -> GetTokenResponse:
        return _issue_token(state, identity, organization_id, organization_slug)

    @app.get("/current_user", tags=["users"])
    async def current_user(
        identity: Annotated[Identity, Depends(current_identity)],
    ) -> CurrentUserDB:
        user, org = identity.user, identity.current_organization
        return CurrentUserDB.model_validate(
            {
                "id": user.id,
                "email": user.email,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "role": user.role,
                "email_is_verified": True,
                "organization_id": org.id,
                "organization_name": org.name,
                "created_at": user.created_at,
                "updated_at": user.created_at,
            }
        )

    @app.post(
        "/organizations/query",
        tags=["organizations"],
        operation_id="query_organizations_organizations_query_post",
    )
    async def query_organizations_route(
        identity: Annotated[Identity, Depends(current_identity)],
        params: Annotated[QueryOrganizationParams | None, Body()] = None,
        starting_token: int = 0,
        limit: int = 100,
    ) -> ListOrganizationsResponse:
        found = query_organizations(identity.user, params or QueryOrganizationParams())
        page = found[starting_token : starting_token + limit]
        more = starting_token + limit < len(found)
        return ListOrganizationsResponse(
            starting_token=starting_token,
            limit=limit,
            paginated=more,
            next_starting_token=starting_token + limit if more else None,
            organizations=[
                OrganizationDB.model_validate(
                    {
                        "id": org.id,
                        "name": org.name,
                        "slug": org.slug,
                        "created_at": org.created_at,
                        "updated_at": org.created_at,
                    }
                )
                for org in page
            ],
        )


def create_app(
    seed: Seed | None = None, *, ttl: float = 3600.0, clock_offset: float = 0.0
) -> FastAPI:
    """Build a sandbox app; ``clock_offset`` seconds are added to server time."""
    app = FastAPI(title="Galileo sandbox", version=SERVER_VERSION)
    clock = ServerClock(clock_offset)
    app.state.sandbox = SandboxState(
        seed=seed if seed is not None else default_seed(),
        clock=clock,
        store=TokenStore(clock, ttl),
    )
    app.add_middleware(DateHeaderMiddleware, clock=clock)
    _add_routes(app)
    return app
