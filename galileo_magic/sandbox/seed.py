"""Demo users, API keys and organizations the sandbox server starts with."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime, timezone

DEMO_API_KEY = "gsk-sandbox-ada-0000000000000000"
DEMO_EMAIL = "ada@sandbox.galileo.local"
DEMO_PASSWORD = "sandbox-ada-password"
DEMO_ORG_ID = "7ec3dc8d-1cd6-4b91-8f5c-34abf56c3f39"
DEMO_ORG_SLUG = "acme-research"

SHARED_ORG_ID = "9a00fd9a-a966-4546-acfe-b9b667937236"
SHARED_ORG_SLUG = "acme-labs"

SECOND_API_KEY = "gsk-sandbox-grace-00000000000000"
SECOND_EMAIL = "grace@sandbox.galileo.local"
SECOND_PASSWORD = "sandbox-grace-password"
SECOND_ORG_ID = "97665e82-a781-4897-9e20-582fda4d2b72"
SECOND_ORG_SLUG = "globex-analytics"

_SEEDED_AT = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Organization:
    """An organization a user can ask a token for."""

    id: str
    name: str
    slug: str
    created_at: datetime = _SEEDED_AT


@dataclass(frozen=True)
class User:
    """A sandbox account; its first organization is its default one."""

    id: str
    email: str
    password: str
    api_key: str
    first_name: str
    last_name: str
    organizations: list[Organization]
    role: str = "admin"
    created_at: datetime = _SEEDED_AT

    @property
    def default_organization(self) -> Organization:
        """The organization used when a request names none."""
        return self.organizations[0]


@dataclass
class Seed:
    """Everything the sandbox knows about accounts."""

    users: list[User] = field(default_factory=list)

    def user_by_api_key(self, api_key: str) -> User | None:
        """Find the user owning an API key."""
        for user in self.users:
            if hmac.compare_digest(user.api_key.encode(), api_key.encode()):
                return user
        return None

    def user_by_password(self, email: str, password: str) -> User | None:
        """Find the user with this email and password."""
        for user in self.users:
            if user.email.lower() == email.lower() and hmac.compare_digest(
                user.password.encode(), password.encode()
            ):
                return user
        return None

    def user_by_id(self, user_id: str) -> User | None:
        """Find a user by id."""
        return next((user for user in self.users if user.id == user_id), None)


def default_seed() -> Seed:
    """Two demo users, each in two organizations, one organization shared."""
    research = Organization(DEMO_ORG_ID, "Acme Research", DEMO_ORG_SLUG)
    labs = Organization(SHARED_ORG_ID, "Acme Labs", SHARED_ORG_SLUG)
    globex = Organization(SECOND_ORG_ID, "Globex Analytics", SECOND_ORG_SLUG)
    ada = User(
        id="f0bf6302-8713-44ac-811a-00c4171b56c6",
        email=DEMO_EMAIL,
        password=DEMO_PASSWORD,
        api_key=DEMO_API_KEY,
        first_name="Ada",
        last_name="Lovelace",
        organizations=[research, labs],
    )
    grace = User(
        id="1eacab58-0ac9-4d25-954e-99ddafa71f64",
        email=SECOND_EMAIL,
        password=SECOND_PASSWORD,
        api_key=SECOND_API_KEY,
        first_name="Grace",
        last_name="Hopper",
        organizations=[globex, labs],
        role="user",
    )
    return Seed(users=[ada, grace])
