"""Notices and messages with her, mounted next to the case-file API at /api/v1/cases/:

* ``GET  /cases/{case_id}/notices`` — what she was told, newest first, with channel and state
  (``sent``, ``queued`` with ``send_after``, ``withheld`` against her preferences,
  ``failed``) and the text as her inbox shows it (``cases:read``; audited);
* ``POST /cases/{case_id}/notices/message`` — write to her (``cases:write``): ``body`` and a
  client ``idempotency_key`` (8–64 of ``A-Za-z0-9_-``); a retry returns the same notices;
* ``GET  /cases/{case_id}/survivor-messages`` — what she wrote from the portal, newest first
  (``cases:read``); reading them marks the unread ones read by the caller (audited), as
  opening the page does.

Holding unit staff only: another agency gets ``404`` (a grantee, which knows the case,
``403``). Lists are keyset-paginated (``cursor``, ``limit``; ``next_cursor``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from himaya.accounts.api_auth import api_actor, require_scope
from himaya.accounts.scopes import Scope
from himaya.cases import notices
from himaya.core.pagination import PageQuery

router = Router(tags=["notices"])

READ = require_scope(Scope.CASES_READ)
WRITE = require_scope(Scope.CASES_WRITE)


class NoticeOut(Schema):
    id: uuid.UUID
    event: str
    channel: str
    #: sent, queued (waiting for a safe time: see send_after), withheld, failed.
    state: str
    language: str
    title: str
    text: str
    created_at: datetime
    send_after: datetime | None
    sent_at: datetime | None
    attempts: int
    #: For the portal channel: when she opened her inbox.
    read_at: datetime | None


class NoticePageOut(Schema):
    items: list[NoticeOut]
    next_cursor: str | None


class MessageIn(Schema):
    body: str = Field(max_length=notices.MAX_BODY)
    idempotency_key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class NoticeListOut(Schema):
    items: list[NoticeOut]


class SurvivorMessageOut(Schema):
    id: uuid.UUID
    body: str
    created_at: datetime
    read_at: datetime | None
    read_by_id: int | None


class SurvivorMessagePageOut(Schema):
    items: list[SurvivorMessageOut]
    next_cursor: str | None


def _notice(row: notices.NoticeRow) -> NoticeOut:
    n = row.notice
    return NoticeOut(
        id=n.pk,
        event=n.event,
        channel=n.channel,
        state=n.state,
        language=n.language,
        title=row.title,
        text=row.text,
        created_at=n.created_at,
        send_after=n.send_after,
        sent_at=n.sent_at,
        attempts=n.attempts,
        read_at=n.read_at,
    )


@router.get(
    "/{uuid:case_id}/notices",
    auth=READ,
    response=NoticePageOut,
    summary="What she was told, through which channel, and whether it was sent (audited)",
)
def notice_list(request: HttpRequest, case_id: uuid.UUID, page: Query[PageQuery]) -> NoticePageOut:
    _case, rows, nxt = notices.notices_for_unit(
        actor=api_actor(request), case_id=case_id, cursor=page.cursor, limit=page.limit
    )
    return NoticePageOut(items=[_notice(r) for r in rows], next_cursor=nxt)


@router.post(
    "/{uuid:case_id}/notices/message",
    auth=WRITE,
    response={201: NoticeListOut},
    summary="Write to her: portal inbox, plus SMS or call only as she said is safe",
    description=(
        "Returns one notice per channel. An SMS never carries the message: only a neutral "
        "'you have a new message' with her code word. Idempotent on idempotency_key."
    ),
)
def message_send(
    request: HttpRequest, case_id: uuid.UUID, payload: MessageIn
) -> Status[NoticeListOut]:
    found = notices.message_to_her(
        actor=api_actor(request),
        case_id=case_id,
        body=payload.body,
        idempotency_key=payload.idempotency_key,
    )
    rows = [notices.NoticeRow(n, *notices.render_notice(n)) for n in found]
    return Status(201, NoticeListOut(items=[_notice(r) for r in rows]))


@router.get(
    "/{uuid:case_id}/survivor-messages",
    auth=READ,
    response=SurvivorMessagePageOut,
    summary="Her messages from the portal; reading marks them read (audited)",
)
def survivor_message_list(
    request: HttpRequest, case_id: uuid.UUID, page: Query[PageQuery]
) -> SurvivorMessagePageOut:
    _case, rows, nxt, _marked = notices.messages_for_unit(
        actor=api_actor(request), case_id=case_id, cursor=page.cursor, limit=page.limit
    )
    return SurvivorMessagePageOut(
        items=[
            SurvivorMessageOut(
                id=m.pk,
                body=str(m.body),
                created_at=m.created_at,
                read_at=m.read_at,
                read_by_id=m.read_by_id,
            )
            for m in rows
        ],
        next_cursor=nxt,
    )
