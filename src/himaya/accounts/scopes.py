"""What an API token may be used for: the one list of scopes.

A scope narrows a token; it never widens what the membership behind it may do. Every
endpoint still runs the same policies as the pages, so a ``cases:read`` token of a focal
point sees exactly what that focal point sees on screen, and no more.

Later apps add their scopes here, one line each, and protect their endpoints with
``auth=require_scope(Scope.X)`` (see ``himaya.accounts.api_auth``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from himaya.accounts.roles import Role


class Scope(models.TextChoices):
    CASES_READ = "cases:read", _("Read case files")
    CASES_WRITE = "cases:write", _("Create and update case files")
    REFERRALS_READ = "referrals:read", _("Read referrals")
    REFERRALS_WRITE = "referrals:write", _("Send and answer referrals")
    JUSTICE_READ = "justice:read", _("Read forwarded complaints, decisions and measures")
    JUSTICE_WRITE = "justice:write", _("Forward complaints; record decisions and measures")
    NETWORK_READ = "network:read", _("Read the service directory")
    STATS_READ = "stats:read", _("Read de-identified statistics")
    ADMIN = "admin", _("Administer accounts and reference data")


#: Scopes that only some roles may put on a token. Any other scope may be chosen by anyone;
#: the policies behind each endpoint still decide what the token's membership may do.
RESTRICTED_SCOPES: dict[str, frozenset[str]] = {
    Scope.ADMIN: frozenset({Role.SYSTEM_ADMIN}),
}


def scopes_allowed_for_role(role: str | None) -> list[str]:
    """The scopes a membership with ``role`` may grant a token, in declaration order."""
    return [
        scope.value
        for scope in Scope
        if scope.value not in RESTRICTED_SCOPES or role in RESTRICTED_SCOPES[scope.value]
    ]
