"""The header's "acting as" part: which agency and role this session acts for."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from himaya.accounts import selectors
from himaya.accounts.actors import MEMBERSHIP_ATTR
from himaya.accounts.models import Membership, User


def acting_membership(request: HttpRequest) -> dict[str, Any]:
    """Only for signed-in staff pages (the staff gate set the actor); nothing otherwise.

    Agency names and role labels are not personal data; no name of a person is shown.
    """
    membership = getattr(request, MEMBERSHIP_ATTR, None)
    user = getattr(request, "user", None)
    if getattr(request, "actor", None) is None or not isinstance(user, User):
        return {}
    return {
        "acting_membership_template": "accounts/_acting_as.html",
        "acting_membership": membership if isinstance(membership, Membership) else None,
        # Lazy: the count runs only if the header template asks for it.
        "acting_can_switch": lambda: selectors.memberships_for_user(user=user).count() > 1,
    }
