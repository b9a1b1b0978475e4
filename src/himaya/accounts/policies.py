"""Who may manage accounts. Decided from the acting membership, never from user flags."""

from __future__ import annotations

from himaya.accounts.roles import Role
from himaya.core.actor import Actor


def can_manage_accounts(actor: Actor) -> bool:
    """System administrators (and the system itself, for seeding) manage accounts,
    memberships and agencies. They never read case content: nothing here grants that."""
    return actor.is_system or actor.role == Role.SYSTEM_ADMIN
