"""What the acting person can do: the entries of the staff navigation and home page.

Each app registers its entries from ``AppConfig.ready()``; whether an entry shows is the
app's own policy, given the ``Actor``. The shell only lists what the policies allow, so a
link never appears for a role that would be refused (and the view still checks, always).

    navigation.register(
        NavEntry(
            key="cases.list",
            label=_("Case files"),
            description=_("Open and follow the cases your unit holds."),
            url_name="cases:list",
            allowed=policies.can_list_cases,
            order=10,
        )
    )
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise

from himaya.core.actor import Actor

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class NavEntry:
    key: str
    label: str | Promise
    description: str | Promise
    url_name: str
    allowed: Callable[[Actor], bool]
    order: int = 100


@dataclass(frozen=True, slots=True)
class NavLink:
    """An entry resolved for one actor, ready for a template."""

    key: str
    label: str | Promise
    description: str | Promise
    url: str


_entries: dict[str, NavEntry] = {}


def register(entry: NavEntry) -> None:
    """Add (or replace, by key) an entry. Idempotent, so a reloaded app does no harm."""
    _entries[entry.key] = entry


def unregister(key: str) -> None:
    _entries.pop(key, None)


def links_for(actor: Actor | None) -> list[NavLink]:
    """The entries ``actor`` may use, in order. No actor (anonymous): nothing."""
    if actor is None or actor.is_system:
        return []
    links = []
    for entry in sorted(_entries.values(), key=lambda e: (e.order, e.key)):
        if not entry.allowed(actor):
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            # An app registered an entry for a page it does not (yet) route: hide it
            # rather than break every page of the site.
            logger.warning("navigation entry %s names an unknown URL", entry.key)
            continue
        links.append(
            NavLink(key=entry.key, label=entry.label, description=entry.description, url=url)
        )
    return links
