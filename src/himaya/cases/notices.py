"""Keeping her informed: notices through the channels she said are safe, and messages.

Referrals, justice and the cases app itself call :func:`notify` when a step concerns her;
the portal reads :func:`inbox_for_survivor` and writes :func:`survivor_message_add`; unit
staff write to her with :func:`message_to_her` and read the thread with
:func:`thread_for_unit`. The rules (docs/architecture/notices.md):

* **Portal inbox**: used when the case was opened online (``case.channel == "online"``) or
  her ``safe_contact`` says ``"portal": true`` (the portal sets it when she gets a codename).
  Always delivered at once (``SENT``): she pulls it when she chooses.
* **SMS**: only when her safe channel is ``"sms"``, a phone is known, and her
  ``CONTACT_SMS`` consent is live (granted, not revoked); only inside her safe hours
  (Africa/Casablanca); and the text is always the same discreet sentence (``sms_text``):
  never the event, the unit, the police, violence or anything she said.
* **Call**: a ``cases.Task`` "call her back" for the assigned officer (or the unit), due on
  the day of her next safe time, only when her channel is a call (or a person she trusts, or
  unstated) and her ``CONTACT_PHONE`` consent is live. The task names the event, nothing else.
* Whatever she refused is stored ``WITHHELD`` so the unit sees she was *not* told; "no
  contact at all" withholds everything except the portal inbox.

Preferences are read again when a queued SMS falls due (:func:`deliver_due`): a consent
revoked in between withholds it.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from himaya.cases import policies, sms
from himaya.cases.models import (
    Alert,
    AlertKind,
    CaseFile,
    Channel,
    Consent,
    ConsentPurpose,
    Notice,
    NoticeChannel,
    NoticeEvent,
    NoticeState,
    SurvivorMessage,
    Task,
    TimelineEntry,
)
from himaya.cases.states import CaseState
from himaya.core import audit
from himaya.core.actor import SYSTEM, Actor
from himaya.core.crypto import is_erased
from himaya.core.errors import InvalidInput, NotFound, PermissionDenied

logger = logging.getLogger(__name__)

__all__ = [
    "PARAM_KEYS",
    "InboxItem",
    "NoticeRow",
    "Preferences",
    "Thread",
    "deliver_due",
    "deliver_notices",
    "inbox_for_survivor",
    "inbox_mark_read",
    "message_to_her",
    "notify",
    "preferences_for",
    "render_notice",
    "sms_text",
    "survivor_message_add",
    "survivor_messages_for_case",
    "thread_for_unit",
]

TARGET = "cases.case"
MAX_BODY = 5000
MAX_DEDUPE_KEY = 70  # the stored key adds ":<channel>" within the column's 80
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
#: How long a claimed SMS is held by one sender before another may try it again.
CLAIM_LEASE = timedelta(minutes=10)
#: Where her safe hours are counted, whatever the server's zone.
MOROCCO = ZoneInfo("Africa/Casablanca")
#: The portal acts for her: audit events and timeline entries name no staff member.
SURVIVOR = Actor(user_id=None, username="survivor-portal")

#: Keys ``notify(params=...)`` accepts, with the label of their line in the notice.
#: Values are short strings; ``date`` and ``until`` may be ISO dates (shown in her language).
PARAM_KEYS: Final[Mapping[str, Any]] = {
    "agency": gettext_lazy("Service"),
    "date": gettext_lazy("Date"),
    "time": gettext_lazy("Time"),
    "place": gettext_lazy("Place"),
    "measure": gettext_lazy("Measure"),
    "until": gettext_lazy("Until"),
}
MAX_PARAM = 300

#: One sentence per event, shown in the portal inbox (never in an SMS).
SENTENCES: Final[Mapping[str, Any]] = {
    NoticeEvent.CASE_RECEIVED: gettext_lazy(
        "A police unit received your report. Someone will contact you only in the way you "
        "said is safe."
    ),
    NoticeEvent.CASE_ACCEPTED: gettext_lazy(
        "The unit has taken your case in hand. You can follow it here."
    ),
    NoticeEvent.REFERRAL_ACCEPTED: gettext_lazy("A service agreed to help you."),
    NoticeEvent.COMPLAINT_FORWARDED: gettext_lazy(
        "Your complaint was sent to the prosecutor, who decides what happens next."
    ),
    NoticeEvent.HEARING_SET: gettext_lazy("A hearing date was set in your case."),
    NoticeEvent.MEASURE_ORDERED: gettext_lazy("A protection measure was ordered for you."),
    NoticeEvent.MEASURE_ENDING: gettext_lazy("A protection measure for you is ending soon."),
    NoticeEvent.CASE_CLOSED: gettext_lazy("Your case was closed."),
    NoticeEvent.MESSAGE: gettext_lazy("The unit wrote to you."),
}

#: What the officer's call-back task says: the event, nothing else.
CALL_TASKS: Final[Mapping[str, Any]] = {
    NoticeEvent.CASE_RECEIVED: gettext_lazy("Call her back: her report was received."),
    NoticeEvent.CASE_ACCEPTED: gettext_lazy("Call her back: the unit accepted her case."),
    NoticeEvent.REFERRAL_ACCEPTED: gettext_lazy("Call her back: a service accepted to help her."),
    NoticeEvent.COMPLAINT_FORWARDED: gettext_lazy(
        "Call her back: her complaint went to the prosecutor."
    ),
    NoticeEvent.HEARING_SET: gettext_lazy("Call her back: a hearing date was set."),
    NoticeEvent.MEASURE_ORDERED: gettext_lazy("Call her back: a protection measure was ordered."),
    NoticeEvent.MEASURE_ENDING: gettext_lazy("Call her back: a protection measure is ending."),
    NoticeEvent.CASE_CLOSED: gettext_lazy("Call her back: her case was closed."),
    NoticeEvent.MESSAGE: gettext_lazy("Call her back: the unit has a message for her."),
}

#: Her preferred language (network.Language codes) → a language the site is written in.
_LANGUAGE_OF: Final[Mapping[str, str]] = {
    "ar": "ar",
    "ary": "ar",
    "mey": "ar",
    "fr": "fr",
    "en": "en",
    "zgh": "zgh",
    "rif": "zgh",
    "tzm": "zgh",
    "shi": "zgh",
    "es": "fr",
}


# --- her safe hours ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SafeHours:
    """Windows of the day (minutes since midnight, Moroccan time) on some weekdays (0 = Monday).

    ``end < start`` crosses midnight. ``readable=False``: she said something we cannot turn
    into times with certainty; nothing automatic is sent then (the officer reads her words).
    """

    windows: tuple[tuple[int, int], ...]
    days: frozenset[int]
    readable: bool = True

    def contains(self, moment: datetime) -> bool:
        if not self.readable:
            return False
        local = timezone.localtime(moment, MOROCCO)
        minute = local.hour * 60 + local.minute
        for start, end in self.windows:
            if start <= end:
                if start <= minute < end and local.weekday() in self.days:
                    return True
            else:  # crosses midnight: the part after midnight belongs to the day before
                if minute >= start and local.weekday() in self.days:
                    return True
                if minute < end and (local.weekday() - 1) % 7 in self.days:
                    return True
        return False

    def next_safe(self, moment: datetime) -> datetime | None:
        """``moment`` when it is safe, else the start of the next safe window (≤ 8 days)."""
        if not self.readable or not self.windows or not self.days:
            return None
        if self.contains(moment):
            return moment
        local = timezone.localtime(moment, MOROCCO)
        candidates: list[datetime] = []
        for offset in range(9):
            day = local.date() + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            for start, _end in self.windows:
                at = datetime.combine(day, time(start // 60, start % 60), tzinfo=MOROCCO)
                if at > moment:
                    candidates.append(at)
        return min(candidates) if candidates else None


ALL_DAYS = frozenset(range(7))
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_TIME = re.compile(
    r"(?<![\d:])(\d{1,2})\s*(?:(?:[:h.]|\s?h\s?)\s*(\d{2})?\s*(am|pm)?|\s*(am|pm))(?![\d])",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(except|not|never|no|sauf|pas|jamais|ni|excepté|hors)\b|ماعدا|ما عدا|إلا|الا|باستثناء|"
    r"\bلا\b|ليس|أبدا|ابدا",
    re.IGNORECASE,
)
_DAY_WORDS: Final[Sequence[tuple[str, frozenset[int]]]] = (
    (r"week-?ends?|samedi et dimanche|نهاية الأسبوع|نهاية الاسبوع|عطلة", frozenset({5, 6})),
    (
        r"weekdays?|working days?|en semaine|jours? ouvr\w*|lundi au vendredi|"
        r"monday to friday|mon-fri|أيام العمل|أيام الأسبوع|ايام العمل",
        frozenset(range(5)),
    ),
    (r"\bmon(day)?s?\b|\blundis?\b|الاثنين|الإثنين", frozenset({0})),
    (r"\btue(s|sday)?s?\b|\bmardis?\b|الثلاثاء", frozenset({1})),
    (r"\bwed(nesday)?s?\b|\bmercredis?\b|الأربعاء|الاربعاء", frozenset({2})),
    (r"\bthu(rs|rsday)?s?\b|\bjeudis?\b|الخميس", frozenset({3})),
    (r"\bfri(day)?s?\b|\bvendredis?\b|الجمعة", frozenset({4})),
    (r"\bsat(urday)?s?\b|\bsamedis?\b|السبت", frozenset({5})),
    (r"\bsun(day)?s?\b|\bdimanches?\b|الأحد|الاحد", frozenset({6})),
)


def _minutes(hour: str, minute: str | None, meridiem: str | None) -> int | None:
    h, m = int(hour), int(minute or 0)
    if meridiem:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if meridiem.lower() == "pm" else 0)
    if h == 24 and m == 0:
        return 24 * 60
    if not (0 <= h <= 23 and 0 <= m <= 59):
        return None
    return h * 60 + m


def parse_safe_times(text: str) -> SafeHours:
    """Read her "when is it safe" answer, conservatively.

    Understood: time ranges written with a marker (``10:00-12:00``, ``10h-12h``,
    ``de 10h à 12h``, ``between 10am and 12pm``, Arabic digits), optionally limited to days
    (weekdays, weekend, day names in Arabic, French and English). Anything that would make a
    wrong reading dangerous — a negation ("except Friday", "sauf", "ماعدا"), an odd number of
    times, different times on different days — makes the whole answer unreadable: then no
    SMS is sent and the call task is due at once, for the officer to read her own words.
    """
    clean = (text or "").translate(_DIGITS).strip()
    unreadable = SafeHours(windows=(), days=frozenset(), readable=False)
    if not clean:
        return default_safe_hours()
    if _NEGATION.search(clean):
        return unreadable
    times: list[int] = []
    for match in _TIME.finditer(clean):
        value = _minutes(match.group(1), match.group(2), match.group(3) or match.group(4))
        if value is None:
            return unreadable
        times.append(value)
    if not times or len(times) % 2:
        return unreadable
    windows = tuple(
        (times[i], times[i + 1])
        for i in range(0, len(times), 2)
        if times[i] != times[i + 1] and times[i] < 24 * 60
    )
    if not windows:
        return unreadable
    days: set[int] = set()
    lowered = clean.lower()
    for pattern, found in _DAY_WORDS:
        if re.search(pattern, lowered, re.IGNORECASE):
            days |= found
    if days and len(windows) > 1:
        return unreadable  # which times go with which days? Better ask than guess.
    return SafeHours(windows=windows, days=frozenset(days) or ALL_DAYS)


def default_safe_hours() -> SafeHours:
    """When she gave no times: daytime only (``HIMAYA_NOTICE_DEFAULT_HOURS``)."""
    raw = getattr(settings, "HIMAYA_NOTICE_DEFAULT_HOURS", "09:00-19:00")
    parsed = parse_safe_times(raw) if raw else None
    if parsed is None or not parsed.readable:
        return SafeHours(windows=((9 * 60, 19 * 60),), days=ALL_DAYS)
    return parsed


# --- her preferences -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preferences:
    """What she said about being contacted, read from her sealed safe contact and consents."""

    channel: str  # "sms", "call", "trusted_person", "in_person", "no_contact", "" (unstated)
    phone: str
    code_word: str
    may_leave_message: bool | None
    portal: bool
    hours: SafeHours
    sms_consent: bool
    phone_consent: bool
    language: str

    @property
    def no_contact(self) -> bool:
        return self.channel == "no_contact"


_CHANNEL_ALIASES: Final[Mapping[str, str]] = {
    "sms": "sms",
    "phone_call": "call",
    "phone": "call",
    "call": "call",
    "trusted_person": "trusted_person",
    "in_person": "in_person",
    "no_contact": "no_contact",
}


def _live_consents(case_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
    found: dict[uuid.UUID, set[str]] = {}
    rows = Consent.objects.filter(
        case_id__in=list(case_ids),
        revoked_at__isnull=True,
        granted=True,
        purpose__in=[ConsentPurpose.CONTACT_PHONE, ConsentPurpose.CONTACT_SMS],
    ).values_list("case_id", "purpose")
    for case_id, purpose in rows:
        found.setdefault(case_id, set()).add(purpose)
    return found


def notice_language(case: CaseFile) -> str:
    wanted = _LANGUAGE_OF.get(case.survivor.preferred_language or "", "")
    site = {code for code, _name in settings.LANGUAGES}
    return wanted if wanted in site else settings.LANGUAGE_CODE


def preferences_for(case: CaseFile, *, consents: set[str] | None = None) -> Preferences:
    """Her preferences now. ``case.survivor`` (with its data key) should be loaded."""
    raw = case.survivor.safe_contact
    contact: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    declined = contact.get("declined") or []
    channel = "" if "channel" in declined else str(contact.get("channel") or "")
    if channel:
        channel = _CHANNEL_ALIASES.get(channel, "unknown")
    if consents is None:
        consents = _live_consents([case.pk]).get(case.pk, set())
    times = "" if "safe_times" in declined else str(contact.get("safe_times") or "")
    leave = contact.get("may_leave_message")
    own_phone = case.survivor.phone
    phone = str(contact.get("phone") or "") or ("" if is_erased(own_phone) else own_phone or "")
    return Preferences(
        channel=channel,
        phone=phone,
        code_word="" if "code_word" in declined else str(contact.get("code_word") or ""),
        may_leave_message=leave if isinstance(leave, bool) else None,
        portal=case.channel == Channel.ONLINE or contact.get("portal") is True,
        hours=parse_safe_times(times),
        sms_consent=ConsentPurpose.CONTACT_SMS in consents,
        phone_consent=ConsentPurpose.CONTACT_PHONE in consents,
        language=notice_language(case),
    )


def _sms_allowed(prefs: Preferences) -> bool:
    return (
        prefs.channel == "sms"
        and prefs.sms_consent
        and bool(prefs.phone)
        and prefs.hours.readable
        and prefs.may_leave_message is not False
    )


def _call_allowed(prefs: Preferences) -> bool:
    return prefs.channel in {"call", "trusted_person", ""} and prefs.phone_consent


def _outside_channel(prefs: Preferences) -> NoticeChannel:
    """The one channel outside the portal through which she asked to be reached."""
    return NoticeChannel.SMS if prefs.channel == "sms" else NoticeChannel.CALL


# --- rendering -----------------------------------------------------------------------------


def _format_param(key: str, value: str) -> str:
    if key in {"date", "until"}:
        try:
            return str(formats.date_format(date.fromisoformat(value), "DATE_FORMAT"))
        except ValueError:
            return value
    return value


def render_notice(notice: Notice) -> tuple[str, str]:
    """(title, text) of a notice in its language: the event's sentence with its details, or,
    for a message, the unit's words."""
    language = notice.language or settings.LANGUAGE_CODE
    with translation.override(language):
        title = str(NoticeEvent(notice.event).label)
        if notice.event == NoticeEvent.MESSAGE and notice.body:
            return title, notice.body
        lines = [str(SENTENCES[notice.event])]
        params = notice.params if isinstance(notice.params, Mapping) else {}
        for key, label in PARAM_KEYS.items():
            value = params.get(key)
            if value:
                lines.append(
                    _("%(label)s: %(value)s")
                    % {"label": label, "value": _format_param(key, str(value))}
                )
        return title, "\n".join(lines)


def sms_text(*, language: str, code_word: str = "") -> str:
    """The only SMS Himaya sends: the same neutral sentence for every event.

    The abuser may read her phone. So no event, no unit, no police, no violence, no link,
    nothing she told; only her code word, which she chose so she can recognise us.
    """
    with translation.override(language or settings.LANGUAGE_CODE):
        if code_word and getattr(settings, "HIMAYA_SMS_INCLUDE_CODE_WORD", True):
            return _("You have a new message. Code word: %(code)s") % {"code": code_word}
        return _("You have a new message.")


# --- notify --------------------------------------------------------------------------------


def _clean_params(params: Mapping[str, str] | None) -> dict[str, str] | None:
    if not params:
        return None
    unknown = set(params) - set(PARAM_KEYS)
    if unknown:
        raise ValueError(f"notice params must be among {sorted(PARAM_KEYS)}")
    clean = {key: str(value).strip()[:MAX_PARAM] for key, value in params.items() if value}
    return clean or None


def _task_owner(case: CaseFile, author: Actor | None) -> int | None:
    """Who the call task is recorded as created by; None: the system (an online report that
    nobody on the staff has touched yet)."""
    if author is not None and author.user_id is not None:
        return author.user_id
    return case.assigned_to_id or case.created_by_id


def _call_task(case: CaseFile, notice: Notice, due: datetime, author: Actor | None) -> Task:
    creator = _task_owner(case, author)
    with translation.override(settings.LANGUAGE_CODE):
        description = str(CALL_TASKS[notice.event])
    task = Task(
        case=case,
        description=description,
        due_on=timezone.localdate(due, MOROCCO),
        assigned_to_id=case.assigned_to_id,
        created_by_id=creator,
    )
    task.save()
    if case.state != CaseState.CLOSED and (
        case.next_due_on is None or task.due_on < case.next_due_on
    ):
        case.next_due_on = task.due_on
        CaseFile.objects.filter(pk=case.pk).update(next_due_on=task.due_on)
    return task


def _plan(
    prefs: Preferences, now: datetime
) -> list[tuple[NoticeChannel, NoticeState, datetime | None]]:
    """Which notices to store: (channel, state, send_after)."""
    plan: list[tuple[NoticeChannel, NoticeState, datetime | None]] = []
    if prefs.portal:
        plan.append((NoticeChannel.PORTAL, NoticeState.SENT, None))
    channel = _outside_channel(prefs)
    if prefs.no_contact:
        plan.append((channel, NoticeState.WITHHELD, None))
    elif channel == NoticeChannel.SMS:
        due = prefs.hours.next_safe(now) if _sms_allowed(prefs) else None
        if due is None:
            plan.append((channel, NoticeState.WITHHELD, None))
        else:
            plan.append((channel, NoticeState.QUEUED, due))
    elif _call_allowed(prefs):
        # An officer calls: at her next safe time, or today when her times need reading.
        plan.append((channel, NoticeState.SENT, prefs.hours.next_safe(now) or now))
    else:
        plan.append((channel, NoticeState.WITHHELD, None))
    return plan


def _store(
    case: CaseFile,
    event: NoticeEvent,
    dedupe_key: str,
    *,
    params: dict[str, str] | None,
    body: str,
    author: Actor | None,
    now: datetime,
) -> tuple[list[Notice], bool]:
    """The notices for one step; (notices, created) -- existing ones on a retry."""
    if case.survivor.data_key.wrapped_key is None:
        return [], False  # she was erased: nothing can be sealed for her, nothing is sent
    keys = {channel: f"{dedupe_key}:{channel}" for channel in NoticeChannel.values}
    existing = list(
        Notice.objects.filter(case=case, dedupe_key__in=list(keys.values())).order_by("channel")
    )
    if existing:
        return existing, False
    prefs = preferences_for(case)
    created: list[Notice] = []
    try:
        with transaction.atomic():
            for channel, state, send_after in _plan(prefs, now):
                notice = Notice(
                    case=case,
                    event=event,
                    channel=channel,
                    state=state,
                    language=prefs.language,
                    body=body,
                    params=params,
                    author_id=author.user_id if author is not None else None,
                    dedupe_key=keys[channel],
                    send_after=send_after,
                    sent_at=now if state == NoticeState.SENT else None,
                )
                if channel == NoticeChannel.CALL and state == NoticeState.SENT:
                    _call_task(case, notice, send_after or now, author)
                notice.save()
                created.append(notice)
    except IntegrityError:
        # Another request stored the same step at the same moment: theirs stands.
        return list(
            Notice.objects.filter(case=case, dedupe_key__in=list(keys.values())).order_by("channel")
        ), False
    return created, True


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise NotFound from None


def _after_commit(notices: Sequence[Notice]) -> None:
    due = [n.pk for n in notices if n.state == NoticeState.QUEUED and n.channel == "sms"]
    if due:
        transaction.on_commit(lambda: _send_soon(due))


def _send_soon(ids: list[uuid.UUID]) -> None:
    """Right after the step commits, send what is due now (the periodic job catches the
    rest and anything this misses)."""
    try:
        deliver_notices(ids)
    except Exception as exc:  # never break the step that notified her
        logger.error("notice delivery after commit failed: %s", type(exc).__name__)


def notify(
    *,
    case: CaseFile,
    event: NoticeEvent,
    dedupe_key: str,
    params: Mapping[str, str] | None = None,
    author: Actor | None = None,
) -> list[Notice]:
    """Tell her that ``event`` happened on ``case``, through the channel(s) she said are safe.

    Call inside the caller's transaction. Idempotent on (case, dedupe_key): a retried step
    returns the existing notices. Never raises for her preferences: a notice she said no to
    is stored WITHHELD (so the unit sees it was not sent), one outside her safe hours is
    QUEUED with send_after = next safe time.

    ``dedupe_key``: up to 70 characters naming the step (e.g. ``f"hearing:{hearing.pk}"``).
    ``params``: only the keys of ``PARAM_KEYS`` (agency, date, time, place, measure, until);
    they are sealed with her key and shown in her portal inbox, never in an SMS.
    """
    if event == NoticeEvent.MESSAGE:
        raise ValueError("a message to her goes through message_to_her()")
    key = (dedupe_key or "").strip()
    if not key or len(key) > MAX_DEDUPE_KEY:
        raise ValueError("dedupe_key must be 1 to 70 characters")
    clean_params = _clean_params(params)
    loaded = case
    with transaction.atomic():
        notices, created = _store(
            loaded,
            NoticeEvent(event),
            key,
            params=clean_params,
            body="",
            author=author,
            now=timezone.now(),
        )
        if created:
            _record(loaded, author or SYSTEM, "case.notice_add", event, notices)
            _after_commit(notices)
    return notices


def _record(
    case: CaseFile, actor: Actor, action: str, event: str, notices: Sequence[Notice]
) -> None:
    states = {n.channel: n.state for n in notices}
    TimelineEntry.objects.create(
        case=case,
        actor_id=actor.user_id,
        kind="notice_added",
        metadata={"event": event, "states": states},
    )
    audit.record(
        actor=actor,
        action=action,
        target_type=TARGET,
        target_id=str(case.pk),
        metadata={"event": event, "notices": [str(n.pk) for n in notices], "states": states},
    )


# --- the unit writes to her ----------------------------------------------------------------


def _holding_case(actor: Actor, case_id: uuid.UUID | str, *, lock: bool) -> CaseFile:
    qs = CaseFile.objects.select_related("survivor", "survivor__data_key").filter(pk=_uuid(case_id))
    if lock:
        qs = qs.select_for_update(of=("self",))
    case = qs.first()
    if case is None or policies.access_for(actor, case) is None:
        raise NotFound
    if not policies.is_unit_staff(actor, case.unit_id):
        raise PermissionDenied
    return case


def _clean_body(body: str) -> str:
    text = (body or "").strip()
    if not text:
        raise InvalidInput(fields={"body": [gettext_lazy("Write the message.")]})
    if len(text) > MAX_BODY:
        raise InvalidInput(
            fields={
                "body": [
                    gettext_lazy("At most %(limit)s characters.") % {"limit": MAX_BODY},
                ]
            }
        )
    return text


def _clean_key(value: str) -> str:
    if not IDEMPOTENCY_KEY.fullmatch(value or ""):
        raise InvalidInput(
            fields={
                "idempotency_key": [
                    gettext_lazy("This form has expired. Reload the page and submit.")
                ]
            }
        )
    return value


@transaction.atomic
def message_to_her(
    *, actor: Actor, case_id: uuid.UUID | str, body: str, idempotency_key: str
) -> list[Notice]:
    """A unit officer writes to her (event MESSAGE): portal inbox always if the case has
    portal access, plus SMS/call only per her preferences. Policy: holding unit staff only.

    Idempotent on (case, idempotency_key). The SMS never carries her words or the unit's:
    only the discreet sentence; the message itself waits in her portal inbox.
    """
    case = _holding_case(actor, case_id, lock=True)
    text = _clean_body(body)
    key = f"msg:{_clean_key(idempotency_key)}"
    notices, created = _store(
        case,
        NoticeEvent.MESSAGE,
        key,
        params=None,
        body=text,
        author=actor,
        now=timezone.now(),
    )
    if created:
        _record(case, actor, "case.message_send", NoticeEvent.MESSAGE, notices)
        _after_commit(notices)
    return notices


# --- her side (the portal passes the case it authenticated by codename) ---------------------


@dataclass(frozen=True, slots=True)
class InboxItem:
    id: uuid.UUID
    created_at: datetime
    title: str
    text: str
    read: bool


def _inbox(case: CaseFile) -> QuerySet[Notice]:
    return Notice.objects.filter(
        case=case, channel=NoticeChannel.PORTAL, state=NoticeState.SENT
    ).select_related("case__survivor__data_key")


def inbox_for_survivor(*, case: CaseFile, limit: int = 200) -> list[InboxItem]:
    """Her portal inbox: notices on the portal channel that are SENT, newest first, each
    rendered in the notice's language. Marks nothing."""
    rows = _inbox(case).order_by("-created_at", "-id")[:limit]
    items = []
    for notice in rows:
        title, text = render_notice(notice)
        items.append(
            InboxItem(
                id=notice.pk,
                created_at=notice.created_at,
                title=title,
                text=text,
                read=notice.read_at is not None,
            )
        )
    return items


def inbox_mark_read(*, case: CaseFile) -> int:
    """Mark every unread notice of her inbox read; how many were."""
    return Notice.objects.filter(
        case=case,
        channel=NoticeChannel.PORTAL,
        state=NoticeState.SENT,
        read_at__isnull=True,
    ).update(read_at=timezone.now())


@transaction.atomic
def survivor_message_add(*, case: CaseFile, body: str, idempotency_key: str) -> SurvivorMessage:
    """She writes to the unit from the portal. Idempotent on (case, idempotency_key).

    Alerts the holding unit (AlertKind.SURVIVOR_MESSAGE, one unread alert per case at a
    time), timeline entry, audit event. InvalidInput(fields={"body": ...}) when empty or
    > 5000 chars.
    """
    locked = (
        CaseFile.objects.select_for_update(of=("self",))
        .select_related("survivor", "survivor__data_key")
        .filter(pk=case.pk)
        .first()
    )
    if locked is None:
        raise NotFound
    key = _clean_key(idempotency_key)
    existing = SurvivorMessage.objects.filter(case=locked, idempotency_key=key).first()
    if existing is not None:
        return existing
    text = _clean_body(body)
    message = SurvivorMessage(case=locked, body=text, idempotency_key=key)
    message.save()
    unread = Alert.objects.filter(
        agency_id=locked.unit_id,
        kind=AlertKind.SURVIVOR_MESSAGE,
        case=locked,
        read_at__isnull=True,
    ).exists()
    if not unread:
        Alert.objects.create(agency_id=locked.unit_id, kind=AlertKind.SURVIVOR_MESSAGE, case=locked)
    TimelineEntry.objects.create(
        case=locked, actor=None, kind="survivor_message", metadata={"message": str(message.pk)}
    )
    audit.record(
        actor=SURVIVOR,
        action="case.survivor_message_add",
        target_type=TARGET,
        target_id=str(locked.pk),
        metadata={"message": str(message.pk)},
    )
    return message


def survivor_messages_for_case(*, case: CaseFile, limit: int = 200) -> list[SurvivorMessage]:
    """Her own messages, newest first (for her portal view of the thread)."""
    return list(
        SurvivorMessage.objects.filter(case=case)
        .select_related("case__survivor__data_key")
        .order_by("-created_at", "-id")[:limit]
    )


# --- the unit's view of the thread ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoticeRow:
    notice: Notice
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class Thread:
    case: CaseFile
    messages: list[SurvivorMessage]
    notices: list[NoticeRow]
    messages_next: str | None
    notices_next: str | None
    preferences: Preferences
    marked_read: int
    #: Her messages this opening marked read (shown as new).
    new_ids: frozenset[uuid.UUID]


_CURSOR_SALT = "himaya.cases.notices:"


def _encode(row: Notice | SurvivorMessage, salt: str) -> str:
    return signing.dumps([row.created_at.isoformat(), str(row.pk)], salt=_CURSOR_SALT + salt)


def _decode(cursor: str, salt: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, pk = signing.loads(cursor, salt=_CURSOR_SALT + salt)
        return datetime.fromisoformat(at), uuid.UUID(pk)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise InvalidInput(fields={"cursor": [gettext_lazy("This cursor is not valid.")]}) from exc


def page[T: (Notice, SurvivorMessage)](
    qs: QuerySet[T], *, cursor: str | None, limit: int, salt: str
) -> tuple[list[T], str | None]:
    """Keyset page newest first on (created_at, id) -- UUID ids, so not core.pagination."""
    size = max(1, min(int(limit), 200))
    if cursor:
        at, pk = _decode(cursor, salt)
        qs = qs.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk))
    rows = list(qs.order_by("-created_at", "-pk")[: size + 1])
    if len(rows) > size:
        rows = rows[:size]
        return rows, _encode(rows[-1], salt)
    return rows, None


def case_for_unit(*, actor: Actor, case_id: uuid.UUID | str) -> CaseFile:
    """The case, for its holding unit's staff only (others: NotFound / PermissionDenied)."""
    return _holding_case(actor, case_id, lock=False)


def notices_for_unit(
    *, actor: Actor, case_id: uuid.UUID | str, cursor: str | None = None, limit: int = 50
) -> tuple[CaseFile, list[NoticeRow], str | None]:
    """The notices of a case with their states (audited: the unit reads what she was told)."""
    case = _holding_case(actor, case_id, lock=False)
    rows, nxt = page(
        Notice.objects.filter(case=case).select_related("case__survivor__data_key"),
        cursor=cursor,
        limit=limit,
        salt="notices",
    )
    audit.record(
        actor=actor,
        action="case.notices_read",
        target_type=TARGET,
        target_id=str(case.pk),
        metadata={"count": len(rows)},
    )
    return case, [NoticeRow(n, *render_notice(n)) for n in rows], nxt


@transaction.atomic
def messages_for_unit(
    *, actor: Actor, case_id: uuid.UUID | str, cursor: str | None = None, limit: int = 50
) -> tuple[CaseFile, list[SurvivorMessage], str | None, list[uuid.UUID]]:
    """Her messages, newest first; the unread ones shown are marked read by this actor
    (audited with the ids)."""
    case = _holding_case(actor, case_id, lock=False)
    rows, nxt = page(
        SurvivorMessage.objects.filter(case=case).select_related("case__survivor__data_key"),
        cursor=cursor,
        limit=limit,
        salt="messages",
    )
    unread = [m.pk for m in rows if m.read_at is None]
    now = timezone.now()
    marked = 0
    if unread:
        marked = SurvivorMessage.objects.filter(pk__in=unread, read_at__isnull=True).update(
            read_at=now, read_by_id=actor.user_id
        )
        for row in rows:
            if row.pk in unread:
                row.read_at = now
        Alert.objects.filter(
            case=case, kind=AlertKind.SURVIVOR_MESSAGE, read_at__isnull=True
        ).update(read_at=now)
    audit.record(
        actor=actor,
        action="case.messages_read",
        target_type=TARGET,
        target_id=str(case.pk),
        metadata={"count": len(rows), "marked_read": [str(pk) for pk in unread]},
    )
    return case, rows, nxt, unread if marked else []


def thread_for_unit(
    *,
    actor: Actor,
    case_id: uuid.UUID | str,
    messages_cursor: str | None = None,
    notices_cursor: str | None = None,
    limit: int = 50,
) -> Thread:
    """Her messages (marked read, audited) and the notices with their states."""
    case, messages, messages_next, new = messages_for_unit(
        actor=actor, case_id=case_id, cursor=messages_cursor, limit=limit
    )
    _case, rows, notices_next = notices_for_unit(
        actor=actor, case_id=case_id, cursor=notices_cursor, limit=limit
    )
    return Thread(
        case=case,
        messages=messages,
        notices=rows,
        messages_next=messages_next,
        notices_next=notices_next,
        preferences=preferences_for(case),
        marked_read=len(new),
        new_ids=frozenset(new),
    )


# --- delivery ------------------------------------------------------------------------------


def _max_attempts() -> int:
    return max(1, int(getattr(settings, "HIMAYA_SMS_MAX_ATTEMPTS", 3)))


def _claim(
    ids: Sequence[uuid.UUID] | None, now: datetime, batch: int
) -> list[tuple[Notice, Preferences]]:
    """Lock due SMS notices, settle the ones her preferences now refuse or postpone, and
    lease the rest to this sender (``send_after`` moves ``CLAIM_LEASE`` ahead)."""
    with transaction.atomic():
        qs = Notice.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            state=NoticeState.QUEUED,
            channel=NoticeChannel.SMS,
        )
        qs = qs.filter(Q(send_after__isnull=True) | Q(send_after__lte=now))
        if ids is not None:
            qs = qs.filter(pk__in=list(ids))
        due = list(
            qs.select_related("case", "case__survivor", "case__survivor__data_key").order_by(
                "send_after", "id"
            )[:batch]
        )
        if not due:
            return []
        consents = _live_consents({n.case_id for n in due})
        ready: list[tuple[Notice, Preferences]] = []
        for notice in due:
            prefs = preferences_for(notice.case, consents=consents.get(notice.case_id, set()))
            if prefs.no_contact or not _sms_allowed(prefs):
                notice.state = NoticeState.WITHHELD
                notice.save(update_fields=["state"])
                _timeline_state(notice)
                continue
            nxt = prefs.hours.next_safe(now)
            if nxt is None:
                notice.state = NoticeState.WITHHELD
                notice.save(update_fields=["state"])
                _timeline_state(notice)
                continue
            if nxt > now:
                notice.send_after = nxt
                notice.save(update_fields=["send_after"])
                continue
            notice.attempts += 1
            notice.send_after = now + CLAIM_LEASE
            notice.save(update_fields=["attempts", "send_after"])
            ready.append((notice, prefs))
        return ready


def _timeline_state(notice: Notice) -> None:
    TimelineEntry.objects.create(
        case_id=notice.case_id,
        actor=None,
        kind="notice_state",
        to_state=notice.state,
        metadata={"notice": str(notice.pk), "channel": notice.channel},
    )


def _settle(notice: Notice, ok: bool, now: datetime) -> None:
    with transaction.atomic():
        current = Notice.objects.select_for_update().filter(pk=notice.pk).first()
        if current is None or current.state != NoticeState.QUEUED:
            return
        if ok:
            current.state = NoticeState.SENT
            current.sent_at = now
        elif current.attempts >= _max_attempts():
            current.state = NoticeState.FAILED
        else:
            # Try again later, no sooner than a few minutes (no retry storm on an outage).
            current.send_after = now + timedelta(minutes=5 * current.attempts)
        current.save(update_fields=["state", "sent_at", "send_after"])
        if current.state != NoticeState.QUEUED:
            _timeline_state(current)
        audit.record(
            actor=SYSTEM,
            action="case.notice_send",
            target_type=TARGET,
            target_id=str(current.case_id),
            metadata={
                "notice": str(current.pk),
                "channel": current.channel,
                "state": current.state,
                "attempts": current.attempts,
            },
        )


def _send(claimed: Sequence[tuple[Notice, Preferences]], now: datetime) -> int:
    if not claimed:
        return 0
    backend = sms.get_backend()
    sent = 0
    for notice, prefs in claimed:
        text = sms_text(language=notice.language or prefs.language, code_word=prefs.code_word)
        try:
            backend.send(to=prefs.phone, text=text, reference=str(notice.pk))
        except sms.SmsError as exc:
            logger.warning("sms for notice %s failed: %s", notice.pk, type(exc).__name__)
            _settle(notice, False, now)
            continue
        _settle(notice, True, now)
        sent += 1
    return sent


def deliver_notices(ids: Sequence[uuid.UUID], *, now: datetime | None = None) -> int:
    """Send these queued notices if they are due now (after the step that made them)."""
    moment = now or timezone.now()
    return _send(_claim(ids, moment, len(ids) or 1), moment)


def deliver_due(*, now: datetime | None = None, batch: int = 500) -> int:
    """Periodic job: sends QUEUED notices whose send_after has come (re-checking her
    preferences at send time: she may have revoked SMS consent since). Returns how many
    were sent."""
    moment = now or timezone.now()
    return _send(_claim(None, moment, batch), moment)
