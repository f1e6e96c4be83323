"""Finding a caller's organizations: by id or slug, and by query filters."""

from __future__ import annotations

from fastapi import HTTPException, status

from .schemas import (
    OrganizationIsMemberFilter,
    OrganizationNameFilter,
    OrganizationNameSort,
    QueryOrganizationParams,
)
from .seed import Organization, User


def resolve_organization(
    user: User,
    default: Organization,
    organization_id: str | None,
    organization_slug: str | None,
) -> Organization:
    """The organization asked for, or ``default``; 404 if not one of the user's."""
    if organization_id is None and organization_slug is None:
        return default
    for org in user.organizations:
        if organization_id is not None and org.id == organization_id:
            return org
        if organization_slug is not None and org.slug == organization_slug:
            return org
    wanted = organization_id if organization_id is not None else organization_slug
    raise HTTPException(
        status_code=status.HTTP_404_NOT_FOUND,
        detail=f"Organization {wanted} not found or you are not a member.",
    )


def _matches_name(org: Organization, rule: OrganizationNameFilter) -> bool:
    name = org.name if rule.case_sensitive else org.name.casefold()
    values = [rule.value] if isinstance(rule.value, str) else rule.value
    if not rule.case_sensitive:
        values = [value.casefold() for value in values]
    if rule.operator == "contains":
        return any(value in name for value in values)
    inside = name in values
    return not inside if rule.operator in ("ne", "not_in") else inside


def query_organizations(
    user: User, params: QueryOrganizationParams
) -> list[Organization]:
    """The user's organizations that pass every filter, in the requested order."""
    found = list(user.organizations)
    for rule in params.filters:
        if isinstance(rule, OrganizationIsMemberFilter):
            found = found if rule.value else []
        else:
            found = [org for org in found if _matches_name(org, rule)]

    if params.sort is not None:
        descending = not params.sort.ascending
        if isinstance(params.sort, OrganizationNameSort):
            found.sort(key=lambda org: org.name, reverse=descending)
        else:
            found.sort(key=lambda org: org.created_at, reverse=descending)
    return found
