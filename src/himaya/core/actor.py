"""Who is acting: the one shape every service, selector, policy and audit event takes.

Lower floors (core, network, geo) cannot import ``accounts``; they receive an ``Actor``
built by ``himaya.accounts.actors.actor_from_request`` (pages) or from an API token.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Actor:
    """A person acting in one role for one agency (a membership), or the system itself."""

    user_id: int | None
    username: str
    role: str | None = None
    agency_id: int | None = None
    membership_id: int | None = None
    #: True when the person proved a second factor recently enough for step-up actions.
    recently_verified: bool = False

    @property
    def is_system(self) -> bool:
        return self.user_id is None


SYSTEM = Actor(user_id=None, username="system")


def person_id(actor: Actor) -> int:
    """The user id of an actor that must be a person (not the system).

    A real check, not an ``assert``: asserts vanish under ``python -O`` and this one guards
    who is recorded as having acted.
    """
    if actor.user_id is None:
        from himaya.core.errors import PermissionDenied

        raise PermissionDenied
    return actor.user_id
