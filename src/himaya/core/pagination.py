"""Keyset pagination for every list, in the API and on pages.

Offsets grow slower with every page and skip or repeat rows when something is inserted
between two requests. A keyset page instead asks for "the rows after this (sort key, id)",
which an index on ``(sort key, id)`` answers in the same time on page 1 and page 10 000.

The cursor handed to the client is opaque: the last row's ``(sort key, id)``, JSON-encoded
and signed with the site's secret key, salted per list, so a client can neither forge a
position nor replay a cursor of one list on another. Sort keys are timestamps, numbers or
codes -- never identifying data, because cursors travel in URLs.

Use it in a selector::

    page = paginate(qs, order_by="created_at", cursor=cursor, limit=limit, salt="cases")

and return ``page.items`` with ``page.next_cursor`` (``None`` on the last page). In the API,
take the query parameters with ``PageQuery`` (``cursor``, ``limit``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core import signing
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from ninja import Schema
from pydantic import Field

from himaya.core.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_SALT_PREFIX = "himaya.pagination:"


@dataclass(frozen=True, slots=True)
class Page[T: Model]:
    items: Sequence[T]
    next_cursor: str | None
    limit: int


class PageQuery(Schema):
    """Query parameters of every paginated API list."""

    cursor: str | None = Field(
        default=None,
        max_length=512,
        description="Opaque position returned as next_cursor by the previous page.",
    )
    limit: int = Field(
        default=DEFAULT_LIMIT,
        ge=1,
        description=f"Items per page; values above {MAX_LIMIT} are capped to {MAX_LIMIT}.",
    )


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(limit, MAX_LIMIT))


def _encode_value(value: object) -> list[Any]:
    # Tagged, so that decoding gives back the exact type the database compares against.
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("Keyset pagination needs timezone-aware datetimes.")
        return ["dt", value.isoformat()]
    if isinstance(value, dt.date):
        return ["d", value.isoformat()]
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, int):
        return ["i", value]
    if isinstance(value, Decimal):
        return ["dec", str(value)]
    if isinstance(value, str):
        return ["s", value]
    raise TypeError(f"Cannot paginate on a value of type {type(value).__name__}.")


def _decode_value(tagged: object) -> object:
    if not isinstance(tagged, list) or len(tagged) != 2:
        raise ValueError("bad cursor value")
    tag, raw = tagged
    decoders: dict[str, Any] = {
        "dt": dt.datetime.fromisoformat,
        "d": dt.date.fromisoformat,
        "b": bool,
        "i": int,
        "dec": Decimal,
        "s": str,
    }
    if tag not in decoders:
        raise ValueError("bad cursor tag")
    return decoders[tag](raw)


def encode_cursor(*, sort_value: object, pk: int, salt: str) -> str:
    return signing.dumps([_encode_value(sort_value), pk], salt=_SALT_PREFIX + salt)


def decode_cursor(cursor: str, *, salt: str) -> tuple[object, int]:
    """The (sort value, id) a cursor stands for; ``InvalidInput`` for anything else."""
    try:
        payload = signing.loads(cursor, salt=_SALT_PREFIX + salt)
        sort_raw, pk = payload
        if not isinstance(pk, int) or isinstance(pk, bool):
            raise ValueError("bad cursor id")
        return _decode_value(sort_raw), pk
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise InvalidInput(
            _("This page link is no longer valid. Start again from the first page."),
            fields={"cursor": [_("This cursor is not valid.")]},
        ) from exc


def paginate[T: Model](
    queryset: QuerySet[T] | Sequence[QuerySet[T]],
    *,
    order_by: str,
    cursor: str | None,
    limit: int | None,
    salt: str,
    descending: bool = True,
) -> Page[T]:
    """One page of ``queryset`` ordered by ``(order_by, id)``, newest first by default.

    ``order_by`` must be a non-null, non-identifying column covered by an index together
    with ``id``. ``salt`` names the list (e.g. ``"accounts.tokens"``) so its cursors are
    useless on any other list.

    Several querysets (disjoint parts of one list, e.g. one per state) are each read in
    index order up to the page size and merged: one ordered index range per part, where a
    single ``IN`` over the parts reads and sorts every matching row, a cost that grows with
    the list.
    """
    size = clamp_limit(limit)
    full_salt = f"{salt}:{order_by}:{'desc' if descending else 'asc'}"
    parts = [queryset] if isinstance(queryset, QuerySet) else list(queryset)
    after = Q()
    if cursor:
        value, pk = decode_cursor(cursor, salt=full_salt)
        op = "lt" if descending else "gt"
        after = Q(**{f"{order_by}__{op}": value}) | Q(**{order_by: value, f"pk__{op}": pk})
    sign = "-" if descending else ""
    rows: list[T] = []
    for part in parts:
        rows += part.filter(after).order_by(f"{sign}{order_by}", f"{sign}pk")[: size + 1]
    if len(parts) > 1:
        rows.sort(key=lambda row: (getattr(row, order_by), row.pk), reverse=descending)
        rows = rows[: size + 1]
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = encode_cursor(
            sort_value=getattr(last, order_by), pk=int(last.pk), salt=full_salt
        )
    return Page(items=rows, next_cursor=next_cursor, limit=size)
