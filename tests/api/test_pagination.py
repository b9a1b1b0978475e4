"""Keyset pagination: stable pages, opaque tamper-proof cursors, capped page size."""

from __future__ import annotations

import pytest
from django.test import Client

from himaya.accounts.models import ApiToken
from himaya.core.errors import InvalidInput
from himaya.core.pagination import MAX_LIMIT, paginate
from tests.api.conftest import bearer, make_token
from tests.api.helpers import Staff


@pytest.fixture
def five_tokens(officer: Staff) -> list[ApiToken]:
    return [make_token(officer, name=f"t{i}")[0] for i in range(5)]


def test_pages_cover_every_row_once_newest_first(five_tokens: list[ApiToken]) -> None:
    seen: list[int] = []
    cursor = None
    while True:
        page = paginate(
            ApiToken.objects.all(), order_by="created_at", cursor=cursor, limit=2, salt="t"
        )
        seen += [token.pk for token in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [token.pk for token in reversed(five_tokens)]


def test_rows_with_the_same_sort_key_are_ordered_by_id(five_tokens: list[ApiToken]) -> None:
    same = five_tokens[0].created_at
    ApiToken.objects.update(created_at=same)
    first = paginate(ApiToken.objects.all(), order_by="created_at", cursor=None, limit=3, salt="t")
    second = paginate(
        ApiToken.objects.all(), order_by="created_at", cursor=first.next_cursor, limit=3, salt="t"
    )
    ids = [t.pk for t in first.items] + [t.pk for t in second.items]
    assert ids == sorted((t.pk for t in five_tokens), reverse=True)
    assert second.next_cursor is None


def test_a_row_inserted_between_pages_is_neither_skipped_nor_repeated(
    officer: Staff, five_tokens: list[ApiToken]
) -> None:
    first = paginate(ApiToken.objects.all(), order_by="created_at", cursor=None, limit=2, salt="t")
    make_token(officer, name="newcomer")  # newer than every row: belongs before page 1
    rest = paginate(
        ApiToken.objects.all(), order_by="created_at", cursor=first.next_cursor, limit=10, salt="t"
    )
    assert [t.pk for t in first.items] + [t.pk for t in rest.items] == [
        t.pk for t in reversed(five_tokens)
    ]


def test_a_tampered_or_foreign_cursor_is_refused(five_tokens: list[ApiToken]) -> None:
    page = paginate(ApiToken.objects.all(), order_by="created_at", cursor=None, limit=2, salt="t")
    assert page.next_cursor is not None
    tampered = page.next_cursor[:-2] + ("AA" if not page.next_cursor.endswith("AA") else "BB")
    for cursor in (tampered, "garbage", page.next_cursor):
        salt = "other-list" if cursor == page.next_cursor else "t"
        with pytest.raises(InvalidInput) as excinfo:
            paginate(
                ApiToken.objects.all(), order_by="created_at", cursor=cursor, limit=2, salt=salt
            )
        assert "cursor" in excinfo.value.params["fields"]  # type: ignore[operator]


def test_the_page_size_is_capped(five_tokens: list[ApiToken]) -> None:
    page = paginate(
        ApiToken.objects.all(), order_by="created_at", cursor=None, limit=10_000, salt="t"
    )
    assert page.limit == MAX_LIMIT
    assert len(page.items) == 5


def test_a_bad_cursor_through_the_api_is_a_422_on_the_cursor_field(
    api_client: Client, officer: Staff
) -> None:
    _t, plaintext = make_token(officer)
    response = api_client.get("/api/v1/tokens", {"cursor": "forged"}, headers=bearer(plaintext))
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"cursor"}
