"""Request and response bodies, shaped like the Galileo server's OpenAPI schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import UUID4, BaseModel, Field

# No docstrings on these classes: pydantic would publish them as schema
# descriptions, which the real server's OpenAPI does not have.


class HealthcheckResponse(BaseModel):
    api_version: str
    message: str
    version: str


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class GetTokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class CurrentUserDB(BaseModel):
    id: UUID4
    permissions: list[dict[str, object]] = []
    email: str
    first_name: str | None = ""
    last_name: str | None = ""
    auth_method: str = "email"
    role: str = "read_only"
    email_is_verified: bool | None = None
    organization_id: UUID4
    organization_name: str
    created_at: datetime
    updated_at: datetime
    generic_permissions: list[dict[str, object]] = []


class OrganizationDB(BaseModel):
    id: UUID4
    permissions: list[dict[str, object]] = []
    name: str
    slug: str
    created_at: datetime
    updated_at: datetime


class ListOrganizationsResponse(BaseModel):
    starting_token: int = 0
    limit: int = 100
    paginated: bool = False
    next_starting_token: int | None = None
    organizations: list[OrganizationDB]


class OrganizationNameFilter(BaseModel):
    name: Literal["name"] = "name"
    operator: Literal["eq", "ne", "contains", "one_of", "not_in"]
    value: str | list[str]
    case_sensitive: bool = True


class OrganizationIsMemberFilter(BaseModel):
    name: Literal["is_member"] = "is_member"
    value: bool


class OrganizationCreatedAtSort(BaseModel):
    name: Literal["created_at"] = "created_at"
    ascending: bool = True
    sort_type: Literal["column"] = "column"


class OrganizationNameSort(BaseModel):
    name: Literal["name"] = "name"
    ascending: bool = True
    sort_type: Literal["column"] = "column"


OrganizationFilter = Annotated[
    OrganizationNameFilter | OrganizationIsMemberFilter,
    Field(discriminator="name"),
]
OrganizationSort = Annotated[
    OrganizationCreatedAtSort | OrganizationNameSort,
    Field(discriminator="name"),
]


class QueryOrganizationParams(BaseModel):
    filters: list[OrganizationFilter] = []
    sort: OrganizationSort | None = OrganizationCreatedAtSort(ascending=False)
