"""API of the accounts app: who am I, and my personal access tokens.

Thin, as every endpoint: parse, call a service or selector, serialize. Each endpoint has
its own input and output schemas.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.utils.translation import get_language
from ninja import Field, Query, Router, Schema, Status

from himaya.accounts import selectors, tokens
from himaya.accounts.api_auth import api_actor, api_grant
from himaya.accounts.models import ApiToken, Membership
from himaya.accounts.scopes import Scope
from himaya.core.pagination import PageQuery

router = Router(tags=["accounts"])


# --- Schemas ------------------------------------------------------------------------------


class MeMembershipOut(Schema):
    id: int
    agency_id: int
    agency_name: str
    role: str
    role_label: str


class MeTokenOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    expires_at: datetime


class MeOut(Schema):
    user_id: int
    username: str
    display_name: str
    auth_method: str = Field(description="'token' or 'session'.")
    acting_membership_id: int | None
    acting_role: str | None
    acting_agency_id: int | None
    memberships: list[MeMembershipOut]
    token: MeTokenOut | None = Field(description="The token used for this request, if any.")
    scopes: list[str] | None = Field(
        description="What the token may do; null for a browser session (not narrowed)."
    )


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    membership_id: int
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    active: bool


class TokenListOut(Schema):
    items: list[TokenOut]
    next_cursor: str | None


class TokenCreateIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)
    expires_in_days: int = Field(ge=1, description="At most API_TOKEN_MAX_DAYS (90 by default).")


class TokenCreatedOut(Schema):
    token: TokenOut
    plaintext: str = Field(
        description="The token itself. Shown this once: store it in your secret store now."
    )


# --- Serialisation ------------------------------------------------------------------------


def _membership_out(membership: Membership) -> MeMembershipOut:
    agency = membership.agency
    name = agency.name_ar if (get_language() or "").startswith("ar") else agency.name_fr
    return MeMembershipOut(
        id=membership.pk,
        agency_id=agency.pk,
        agency_name=name,
        role=membership.role,
        role_label=str(membership.get_role_display()),
    )


def _token_out(token: ApiToken) -> TokenOut:
    return TokenOut(
        id=token.pk,
        name=token.name,
        prefix=token.prefix,
        scopes=list(token.scopes),
        membership_id=token.membership_id,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
        last_used_at=token.last_used_at,
        active=token.is_usable(),
    )


# --- Endpoints ----------------------------------------------------------------------------


@router.get("/me", response=MeOut, summary="Who is calling")
def me(request: HttpRequest) -> MeOut:
    grant = api_grant(request)
    token = grant.token
    return MeOut(
        user_id=grant.user.pk,
        username=grant.user.get_username(),
        display_name=grant.user.display_name,
        auth_method=grant.method,
        acting_membership_id=grant.actor.membership_id,
        acting_role=grant.actor.role,
        acting_agency_id=grant.actor.agency_id,
        memberships=[_membership_out(m) for m in selectors.memberships_for_user(user=grant.user)],
        token=(
            MeTokenOut(
                id=token.pk,
                name=token.name,
                prefix=token.prefix,
                scopes=list(token.scopes),
                expires_at=token.expires_at,
            )
            if token is not None
            else None
        ),
        scopes=sorted(grant.scopes) if grant.scopes is not None else None,
    )


@router.get("/tokens", response=TokenListOut, summary="My tokens, newest first")
def token_list(request: HttpRequest, page: Query[PageQuery]) -> TokenListOut:
    result = tokens.token_list(actor=api_actor(request), cursor=page.cursor, limit=page.limit)
    return TokenListOut(
        items=[_token_out(token) for token in result.items], next_cursor=result.next_cursor
    )


@router.post(
    "/tokens",
    response={201: TokenCreatedOut},
    summary="Create a token (signed-in session only)",
)
def token_create(request: HttpRequest, payload: TokenCreateIn) -> Status[TokenCreatedOut]:
    grant = api_grant(request)
    token, plaintext = tokens.token_create(
        actor=grant.actor,
        name=payload.name,
        scopes=[scope.value for scope in payload.scopes],
        expires_in_days=payload.expires_in_days,
        authenticated_by=grant.method,
    )
    return Status(201, TokenCreatedOut(token=_token_out(token), plaintext=plaintext))


@router.delete("/tokens/{token_id}", response=TokenOut, summary="Revoke one of my tokens")
def token_revoke(request: HttpRequest, token_id: int) -> TokenOut:
    token = tokens.token_revoke(actor=api_actor(request), token_id=token_id)
    return _token_out(token)
