"""Personal access tokens: create, revoke, list, and check one presented by a client.

A token reads ``hmy_<prefix>_<secret>``. The prefix is public (it finds the row and names
the token in lists); the secret is 256 random bits, shown once at creation and stored only
as its SHA-256 digest. A digest without a salt or key is enough here: the secret is random
and long, so there is no dictionary to try, and a stolen table still yields no usable token.

Policy (checked here, whichever door the request came through):

- a person creates, lists and revokes only their own tokens;
- a token acts as the membership the person was acting as when creating it, and stops
  working when that membership or the account is deactivated;
- ``admin`` and other restricted scopes only for the roles ``scopes.RESTRICTED_SCOPES`` names;
- tokens are created from a signed-in, second-factor-verified session only: a token cannot
  mint another token, so a leaked token cannot outlive its own revocation;
- every token expires, after at most ``settings.API_TOKEN_MAX_DAYS`` days.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from himaya.accounts.models import ApiAuthThrottle, ApiToken, Membership, User
from himaya.accounts.scopes import Scope, scopes_allowed_for_role
from himaya.core import audit, rows
from himaya.core.actor import Actor
from himaya.core.errors import InvalidInput, NotFound, PermissionDenied
from himaya.core.pagination import Page, paginate

PLAINTEXT_MARKER = "hmy"  # says "a Himaya token" to humans and secret scanners
_PLAINTEXT_RE = re.compile(r"^hmy_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")
#: ``last_used_at`` is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)

AuthMethod = Literal["session", "token"]


def _secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _new_prefix() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def max_days() -> int:
    return int(settings.API_TOKEN_MAX_DAYS)


# --- Policy -------------------------------------------------------------------------------


def _acting_membership(actor: Actor) -> Membership:
    """The active membership the actor acts as; tokens need one to know whose rules apply."""
    if actor.user_id is None or actor.membership_id is None:
        raise PermissionDenied(_("Choose the agency and role you act as before making a token."))
    membership = (
        Membership.objects.select_related("user")
        .filter(pk=actor.membership_id, user_id=actor.user_id, is_active=True)
        .first()
    )
    if membership is None or not membership.user.is_active:
        raise PermissionDenied()
    return membership


def _validate_scopes(scopes: list[str], *, role: str) -> list[str]:
    unknown = [scope for scope in scopes if scope not in Scope.values]
    if unknown:
        raise InvalidInput(
            fields={"scopes": [_("Unknown scope: %(scopes)s.") % {"scopes": ", ".join(unknown)}]}
        )
    allowed = set(scopes_allowed_for_role(role))
    refused = [scope for scope in scopes if scope not in allowed]
    if refused:
        raise InvalidInput(
            fields={
                "scopes": [
                    _("Your role cannot grant: %(scopes)s.") % {"scopes": ", ".join(refused)}
                ]
            }
        )
    if not scopes:
        raise InvalidInput(fields={"scopes": [_("Choose at least one scope.")]})
    # Stored in the registry's order, without duplicates, so equal grants look equal.
    return [scope for scope in Scope.values if scope in set(scopes)]


# --- Services -----------------------------------------------------------------------------


@transaction.atomic
def token_create(
    *,
    actor: Actor,
    name: str,
    scopes: list[str],
    expires_in_days: int,
    authenticated_by: AuthMethod = "session",
) -> tuple[ApiToken, str]:
    """Creates a token acting as the actor's current membership.

    Returns the row and the plaintext, which exists nowhere else: show it once, store it
    nowhere. ``authenticated_by`` says how the request proved who it is; a token cannot be
    used to create another token.
    """
    if authenticated_by != "session":
        raise PermissionDenied(_("Tokens can only be created from a signed-in session."))
    membership = _acting_membership(actor)
    clean_name = name.strip()
    if not clean_name:
        raise InvalidInput(fields={"name": [_("This field is required.")]})
    if len(clean_name) > 100:
        raise InvalidInput(
            fields={"name": [_("Enter at most %(limit_value)s characters.") % {"limit_value": 100}]}
        )
    if not 1 <= expires_in_days <= max_days():
        raise InvalidInput(
            fields={
                "expires_in_days": [
                    _("A token must expire within 1 to %(days)s days.") % {"days": max_days()}
                ]
            }
        )
    clean_scopes = _validate_scopes(list(scopes), role=membership.role)

    now = timezone.now()
    prefix = _new_prefix()
    secret = secrets.token_urlsafe(32)  # 32 bytes -> 43 URL-safe characters
    token = ApiToken.objects.create(
        owner_id=membership.user_id,
        membership=membership,
        name=clean_name,
        prefix=prefix,
        secret_sha256=_secret_digest(secret),
        scopes=clean_scopes,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days),
    )
    audit.record(
        actor=actor,
        action="api_token.create",
        target_type="accounts.apitoken",
        target_id=str(token.pk),
        metadata={"prefix": prefix, "scopes": clean_scopes, "expires_in_days": expires_in_days},
    )
    return token, f"{PLAINTEXT_MARKER}_{prefix}_{secret}"


@transaction.atomic
def token_revoke(*, actor: Actor, token_id: int) -> ApiToken:
    """Revokes one of the actor's own tokens at once. Revoking twice changes nothing.

    Someone else's token is "not found", exactly like a token that does not exist.
    """
    if actor.user_id is None:
        raise NotFound()
    token = ApiToken.objects.select_for_update().filter(pk=token_id, owner_id=actor.user_id).first()
    if token is None:
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            actor=actor,
            action="api_token.revoke",
            target_type="accounts.apitoken",
            target_id=str(token.pk),
            metadata={"prefix": token.prefix},
        )
    return token


# --- Selectors ----------------------------------------------------------------------------


def _own_tokens(actor: Actor) -> QuerySet[ApiToken]:
    """Fails closed: an actor without a user (the system) owns no tokens."""
    if actor.user_id is None:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(owner_id=actor.user_id)


def token_list(
    *, actor: Actor, cursor: str | None = None, limit: int | None = None
) -> Page[ApiToken]:
    """The actor's own tokens, newest first, one keyset page at a time."""
    return paginate(
        _own_tokens(actor),
        order_by="created_at",
        cursor=cursor,
        limit=limit,
        salt="accounts.tokens",
    )


# --- Authentication -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenMatch:
    token: ApiToken
    actor: Actor
    scopes: frozenset[str]


#: What ``ApiToken.objects.select_related("owner", "membership")`` reads, table by table.
_TOKEN_PARTS: tuple[tuple[type[models.Model], str], ...] = (
    (ApiToken, "t"),
    (User, "u"),
    (Membership, "m"),
)


@functools.cache
def _token_sql(vendor: str) -> str:
    """One token by its (unique) prefix, with its owner and membership: the statement the
    ORM writes for ``select_related("owner", "membership")``, built once per vendor."""
    named = [(rows.names(model), model, alias) for model, alias in _TOKEN_PARTS]
    selected = [
        f"{alias}.{column[f.name]}"
        for (_table, column), model, alias in named
        for f in model._meta.concrete_fields
    ]
    (token, t), (user, u), (membership, m) = (names for names, _model, _alias in named)
    return (
        f"SELECT {', '.join(selected)} FROM {token} t "  # noqa: S608  # nosec B608
        f"INNER JOIN {user} u ON u.{u['id']} = t.{t['owner']} "
        f"INNER JOIN {membership} m ON m.{m['id']} = t.{t['membership']} "
        f"WHERE t.{t['prefix']} = %s"
    )


def _token_by_prefix(prefix: str) -> ApiToken | None:
    """The token with this prefix, its owner and membership attached, or ``None``.

    Every API request authenticates first; compiling the ``select_related`` query through
    the ORM each time cost more than running it. The SQL is kept (``_token_sql``); each
    value goes through the converters the ORM would apply to that column (so dates, JSON
    and booleans come back as the ORM gives them on either database) and each record is
    built with ``Model.from_db``, as the ORM builds it."""
    with connection.cursor() as cursor:
        cursor.execute(_token_sql(connection.vendor), [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    records: list[models.Model] = []
    start = 0
    for model, alias in _TOKEN_PARTS:
        fields = model._meta.concrete_fields
        values: list[Any] = []
        for field, raw in zip(fields, row[start : start + len(fields)], strict=True):
            column, value = field.get_col(alias), raw
            for convert in [
                *connection.ops.get_db_converters(column),
                *column.get_db_converters(connection),
            ]:
                value = convert(value, column, connection)
            values.append(value)
        start += len(fields)
        records.append(model.from_db(connection.alias, [f.attname for f in fields], values))
    token, owner, membership = records
    if not isinstance(token, ApiToken):  # the first part is the token; said to mypy
        raise TypeError(token)
    ApiToken._meta.get_field("owner").set_cached_value(token, owner)
    ApiToken._meta.get_field("membership").set_cached_value(token, membership)
    return token


def token_authenticate(plaintext: str, *, now: datetime | None = None) -> TokenMatch | None:
    """The token a client presented, if it is genuine, unexpired, unrevoked, and its owner
    and membership are active; otherwise ``None`` -- one answer for every kind of failure.

    Records the use at most once per ``LAST_USED_RESOLUTION`` so that a busy integration does
    not cost a database write per request.
    """
    moment = now or timezone.now()
    parsed = _PLAINTEXT_RE.match(plaintext.strip())
    if parsed is None:
        return None
    prefix, secret = parsed.groups()
    token = _token_by_prefix(prefix)
    # The digest is compared even for an unknown prefix, so timing does not tell whether
    # the prefix exists.
    expected = token.secret_sha256 if token is not None else "0" * 64
    genuine = hmac.compare_digest(expected, _secret_digest(secret))
    if token is None or not genuine or not token.is_usable(now=moment):
        return None
    owner: User = token.owner
    membership = token.membership
    if not owner.is_active or not membership.is_active or membership.user_id != owner.pk:
        return None
    if token.last_used_at is None or moment - token.last_used_at >= LAST_USED_RESOLUTION:
        # A conditional UPDATE: parallel requests in the same minute write once at most.
        ApiToken.objects.filter(pk=token.pk, last_used_at=token.last_used_at).update(
            last_used_at=moment
        )
        token.last_used_at = moment
    actor = Actor(
        user_id=owner.pk,
        username=owner.get_username(),
        role=membership.role,
        agency_id=membership.agency_id,
        membership_id=membership.pk,
        recently_verified=False,  # a token never counts as a fresh second factor
    )
    return TokenMatch(token=token, actor=actor, scopes=frozenset(token.scopes))


# --- Slowing down guessing ----------------------------------------------------------------


def _address_digest(address: str) -> str:
    return salted_hmac("himaya.accounts.api_auth", address, algorithm="sha256").hexdigest()


def _window() -> timedelta:
    return timedelta(seconds=int(settings.API_AUTH_WINDOW_SECONDS))


@functools.cache
def _throttled_sql(vendor: str) -> str:
    """Whether an address has reached its limit; built once per database vendor."""
    table, column = rows.names(ApiAuthThrottle)
    return (
        f"SELECT 1 FROM {table} "  # noqa: S608  # nosec B608
        f"WHERE {column['key_digest']} = %s AND {column['failures']} >= %s"
    )


def api_auth_retry_after(*, address: str, now: datetime | None = None) -> int | None:
    """Seconds until ``address`` may try a token again, or ``None`` if it may now."""
    moment = now or timezone.now()
    digest = _address_digest(address)
    limit = int(settings.API_AUTH_MAX_FAILURES)
    # Asked before every token is checked, and almost always answered "no": that answer
    # comes from one plain look-up on the unique digest (compiling it through the ORM cost
    # more than running it); only an address at its limit is read whole.
    with connection.cursor() as cursor:
        cursor.execute(_throttled_sql(connection.vendor), [digest, limit])
        if cursor.fetchone() is None:
            return None
    row = ApiAuthThrottle.objects.filter(key_digest=digest).first()
    if row is None or row.failures < limit:
        return None
    remaining = row.window_started_at + _window() - moment
    if remaining <= timedelta(0):
        return None
    return max(1, int(remaining.total_seconds()))


def api_auth_register_failure(*, address: str, now: datetime | None = None) -> None:
    """Counts one failed token from ``address`` in the current window.

    The row is locked while counting so that parallel attempts cannot lose increments.
    """
    moment = now or timezone.now()
    with transaction.atomic():
        row, _created = ApiAuthThrottle.objects.select_for_update().get_or_create(
            key_digest=_address_digest(address), defaults={"window_started_at": moment}
        )
        if moment - row.window_started_at >= _window():
            row.window_started_at = moment
            row.failures = 0
        row.failures += 1
        row.save(update_fields=["window_started_at", "failures"])
