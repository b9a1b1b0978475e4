"""Telling her: the referral steps that concern her become notices on her case.

``himaya.cases.notices.notify`` decides the channel and the time from her own preferences
(never against them); this module only names the event, a dedupe key (a retried step tells
her once) and, for a police unit, its public name. A service's name is never put in a notice:
a shelter named on her phone could tell him where she is. It runs inside the referral
service's transaction: the notice exists exactly when the step does.
"""

from __future__ import annotations

from collections.abc import Mapping

from himaya.cases.models import CaseFile, NoticeEvent
from himaya.cases.notices import notify
from himaya.core.actor import Actor


def tell_her(
    *,
    case: CaseFile,
    event: NoticeEvent,
    dedupe_key: str,
    author: Actor | None,
    params: Mapping[str, str] | None = None,
) -> None:
    notify(case=case, event=event, dedupe_key=dedupe_key, author=author, params=params)
