"""Building the ``Actor`` every service and selector takes, from a request.

Every staff view calls ``actor_from_request(request)``. It never returns the system actor
for a person: without a verified sign-in it raises, so a view that forgot its protection
still fails closed.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpRequest

from himaya.accounts import selectors, session_keys
from himaya.accounts.models import Membership, User
from himaya.core.actor import Actor
from himaya.core.errors import PermissionDenied

_CACHE_ATTR = "_himaya_actor"
#: The ``Membership`` behind the request's actor (for the header), set with the actor.
MEMBERSHIP_ATTR = "_himaya_membership"


def is_otp_verified(user: object) -> bool:
    """True when django-otp's middleware bound a confirmed device of this user to the session."""
    check = getattr(user, "is_verified", None)
    return bool(callable(check) and check())


def actor_for_user(
    user: User, *, membership: Membership | None = None, recently_verified: bool = False
) -> Actor:
    return Actor(
        user_id=user.pk,
        username=user.get_username(),
        role=membership.role if membership is not None else None,
        agency_id=membership.agency_id if membership is not None else None,
        membership_id=membership.pk if membership is not None else None,
        recently_verified=recently_verified,
    )


def acting_membership(request: HttpRequest, user: User) -> Membership | None:
    """The membership chosen for this session; the only one if there is just one; else None."""
    chosen = request.session.get(session_keys.MEMBERSHIP_ID)
    if chosen is not None:
        membership = selectors.membership_for_user(user=user, membership_id=chosen)
        if membership is not None:
            return membership
    memberships = list(selectors.memberships_for_user(user=user)[:2])
    return memberships[0] if len(memberships) == 1 else None


def otp_is_fresh(request: HttpRequest) -> bool:
    """The second factor was proved within ``STEP_UP_SECONDS`` (sign-in or step-up)."""
    verified_at = request.session.get(session_keys.OTP_AT)
    if not isinstance(verified_at, int | float):
        return False
    return 0 <= time.time() - verified_at <= int(settings.STEP_UP_SECONDS)


def actor_from_request(request: HttpRequest) -> Actor:
    """The signed-in, second-factor-verified person acting through one membership.

    Raises ``PermissionDenied`` for anyone else (anonymous, password-only, disabled).
    """
    cached = getattr(request, _CACHE_ATTR, None)
    if isinstance(cached, Actor):
        return cached
    user = request.user
    if not (isinstance(user, User) and user.is_active and is_otp_verified(user)):
        raise PermissionDenied
    verified = otp_is_fresh(request)
    membership = acting_membership(request, user)
    actor = actor_for_user(user, membership=membership, recently_verified=verified)
    setattr(request, _CACHE_ATTR, actor)
    setattr(request, MEMBERSHIP_ATTR, membership)
    return actor
