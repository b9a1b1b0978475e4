"""Input and output schemas of the referrals API (separate per endpoint)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from ninja import Schema
from pydantic import Field

from himaya.cases.schemas import Text
from himaya.core.pagination import PageQuery


class FirstContactIn(Schema):
    full_name: Text = Field(default="", max_length=200)
    phone: Text = Field(default="", max_length=32)
    needs: Text = Field(default="", max_length=2000, description="What she needs now.")
    immediate_danger: Text = Field(description="yes, no or declined (she preferred not to say).")
    safe_contact: dict[str, object] | None = Field(
        default=None,
        description="channel, phone, safe_times, may_leave_message, code_word, notes, declined.",
    )
    note: Text = Field(default="", max_length=2000)
    residence_commune_id: int | None = None
    preferred_language: Text = Field(default="", max_length=8)
    forms: list[Text] = Field(default_factory=list, max_length=10)
    occurred_on: date | None = None
    declined: list[Text] = Field(default_factory=list, max_length=10)
    to_unit_id: int | None = Field(
        default=None, description="Another unit than routing's suggestion (needs a reason)."
    )
    override_reason: Text = Field(default="", max_length=1000)


class ServiceReferralIn(Schema):
    agency_id: int
    need: Text = Field(description="shelter, medical, legal_aid, psychosocial, listening, …")
    urgency: Text = Field(default="routine")
    scope: list[Text] = Field(description="Field groups the service may see.", max_length=10)
    message: Text = Field(default="", max_length=2000)
    basis: Text = Field(
        default="consent", description="consent, or a legal basis: life_threat, minor."
    )
    legal_reason: Text = Field(default="", max_length=1000)
    suggested_agency_id: int | None = None
    override_reason: Text = Field(default="", max_length=1000)


class ReferAgainIn(Schema):
    to_unit_id: int | None = None
    override_reason: Text = Field(default="", max_length=1000)


class DeclineIn(Schema):
    reason: Text = Field(max_length=1000, description="Why, in a sentence.")


class ProvidedIn(Schema):
    provided: Text = Field(max_length=2000)


class CompleteIn(Schema):
    provided: Text = Field(default="", max_length=2000)


class CloseIn(Schema):
    reason: Text = Field(description="no_longer_needed, she_left, no_contact or other.")


class WithdrawIn(Schema):
    reason: Text = Field(default="", max_length=1000)


class IncomingQueryIn(PageQuery):
    finished: bool = Field(
        default=False, description="The others (answered or finished) instead of the waiting ones."
    )


class AgencyRefOut(Schema):
    id: int
    name_ar: str
    name_fr: str


class ReferralItemOut(Schema):
    id: uuid.UUID
    kind: str
    state: str
    from_agency: AgencyRefOut
    to_agency: AgencyRefOut
    case_id: uuid.UUID | None
    case_reference: str | None
    need: str
    urgency: str
    deadline_at: datetime
    overdue: bool
    escalation_level: int
    created_at: datetime


class ReferralListOut(Schema):
    items: list[ReferralItemOut]
    next_cursor: str | None


class ReceivedOut(Schema):
    """What the receiving agency sees of her file, and why."""

    groups: list[str]
    basis: str
    consent_purpose: str | None
    consent_recorded_at: datetime | None
    legal_reason: str | None
    live: bool
    ended_at: datetime | None


class FirstContactOut(Schema):
    full_name: str
    phone: str
    needs: str
    immediate_danger: str
    safe_contact: dict[str, object] | None
    note: str
    residence_commune_id: int | None
    preferred_language: str
    forms: list[str]
    occurred_on: date | None
    declined: list[str]


class ReferralEventOut(Schema):
    at: datetime
    kind: str
    from_state: str
    to_state: str


class ReferralOut(ReferralItemOut):
    side: str
    message: str | None = None
    decline_reason: str | None = None
    provided: str | None = None
    close_reason: str
    admitted_at: datetime | None
    departed_at: datetime | None
    first_contact: FirstContactOut | None = None
    received: ReceivedOut | None = None
    events: list[ReferralEventOut]


class ReferralStateOut(Schema):
    id: uuid.UUID
    state: str
    case_id: uuid.UUID | None
    updated_at: datetime
