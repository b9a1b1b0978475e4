"""Referrals: from a district focal point to a unit, and from a unit to a service.

* ``FirstContact`` is what a district station's focal point records when a woman first comes
  to her: sealed with a data key of its own, which becomes *her* data key when the unit
  accepts the referral and opens her case from it (nothing re-typed, nothing re-encrypted
  under another key).
* ``Referral`` is one hand-over between agencies, with an acceptance deadline, a state
  (``states.py``), and, for a referral to a service, the cases ``Grant`` it rests on: the
  receiving agency sees only the field groups of that grant, only while the referral is
  active. Everything she said is sealed with her key (``data_key``, the same key as her
  survivor record), so crypto-shredding her erases the referrals too.
* ``ReferralEvent`` is the referral's own timeline (kinds, states, ids: never content).
* ``ShelterOccupancy`` counts a shelter's admitted women against its beds.

Writes go through ``referrals.services``; reads through ``referrals.selectors``; who may do
what is decided in ``referrals.policies``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from himaya.core.fields import SealedCharField, SealedJSONField, SealedTextField
from himaya.referrals.states import ACTIVE_STATES, EscalationLevel, ReferralState

_ACTIVE = [str(s) for s in sorted(ACTIVE_STATES)]


class Danger(models.TextChoices):
    YES = "yes", _("Yes, she is in immediate danger")
    NO = "no", _("No")
    DECLINED = "declined", _("She preferred not to say")


class FirstContact(models.Model):
    """First support at a district station. Sealed with its own key (kind "survivor")."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    station = models.ForeignKey(
        "network.Agency", on_delete=models.PROTECT, related_name="first_contacts"
    )
    data_key = models.ForeignKey("core.DataKey", on_delete=models.PROTECT, related_name="+")
    full_name = SealedCharField(_("name"), max_length=200, subject="data_key", blank=True)
    phone = SealedCharField(_("phone"), max_length=32, subject="data_key", blank=True)
    #: What she needs now, in the focal point's words.
    needs = SealedTextField(_("what she needs now"), subject="data_key", blank=True)
    immediate_danger = models.CharField(_("immediate danger"), max_length=8, choices=Danger.choices)
    #: channel, phone, safe times, may leave a message, code word (as at intake).
    safe_contact = SealedJSONField(_("safe contact"), subject="data_key", null=True, blank=True)
    note = SealedTextField(_("short note"), subject="data_key", blank=True)
    residence_commune = models.ForeignKey(
        "geo.Commune", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    preferred_language = models.CharField(_("preferred language"), max_length=8, blank=True)
    #: Forms of violence she mentioned (Law 103-13 codes) and when, for the case's first
    #: incident; both may be declined.
    forms = models.JSONField(_("forms of violence"), default=list)
    occurred_on = models.DateField(_("date of the incident"), null=True, blank=True)
    #: Questions she preferred not to answer, by name.
    declined = models.JSONField(_("questions she preferred not to answer"), default=list)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("first contact")

    def __str__(self) -> str:
        return f"FirstContact {self.pk}"


class ReferralKind(models.TextChoices):
    TO_UNIT = "to_unit", _("From a district station to a unit")
    TO_SERVICE = "to_service", _("From a unit to a service")


class Urgency(models.TextChoices):
    ROUTINE = "routine", _("Routine")
    URGENT = "urgent", _("Urgent (within the day)")
    EMERGENCY = "emergency", _("Emergency (now)")


class Need(models.TextChoices):
    """Why she is referred to a service."""

    SHELTER = "shelter", _("Shelter")
    MEDICAL = "medical", _("Medical care or certificate")
    LEGAL_AID = "legal_aid", _("Legal aid")
    PSYCHOSOCIAL = "psychosocial", _("Psychosocial support")
    LISTENING = "listening", _("Listening and orientation")
    LIVELIHOODS = "livelihoods", _("Education and livelihoods")
    OTHER = "other", _("Other")


class Referral(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=ReferralKind.choices)
    state = models.CharField(
        _("state"), max_length=16, choices=ReferralState.choices, default=ReferralState.SENT
    )
    from_agency = models.ForeignKey(
        "network.Agency",
        on_delete=models.PROTECT,
        related_name="referrals_sent",
        db_index=False,  # referral_outbox_idx starts with it
    )
    to_agency = models.ForeignKey(
        "network.Agency",
        on_delete=models.PROTECT,
        related_name="referrals_received",
        db_index=False,  # referral_inbox_idx starts with it
    )
    #: Her key: the first contact's for a referral to a unit (it becomes her survivor key),
    #: her survivor record's for a referral to a service.
    data_key = models.ForeignKey("core.DataKey", on_delete=models.PROTECT, related_name="+")
    first_contact = models.ForeignKey(
        FirstContact,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
    )
    #: The case referred (to a service), or opened on acceptance (to a unit).
    case = models.ForeignKey(
        "cases.CaseFile",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
        db_index=False,  # referral_case_idx starts with it
    )
    #: What the receiving agency may see, and why (to a service only).
    grant = models.OneToOneField(
        "cases.Grant", on_delete=models.PROTECT, null=True, blank=True, related_name="referral"
    )
    #: The agency routing suggested; when the sender chose another, ``override_reason`` says why.
    suggested_agency = models.ForeignKey(
        "network.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    override_reason = SealedTextField(_("why another agency"), subject="data_key", blank=True)
    need = models.CharField(_("reason"), max_length=16, choices=Need.choices, blank=True)
    urgency = models.CharField(
        _("urgency"), max_length=12, choices=Urgency.choices, default=Urgency.ROUTINE
    )
    #: The sender's words to the receiver (sealed: it may say something about her).
    message = SealedTextField(_("message to the receiver"), subject="data_key", blank=True)
    deadline_at = models.DateTimeField(_("answer expected by"))
    escalation_level = models.PositiveSmallIntegerField(
        choices=EscalationLevel.choices, default=EscalationLevel.NONE
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    decline_reason = SealedTextField(_("why declined"), subject="data_key", blank=True)
    #: What the receiving agency provided (shelter nights, consultation…), in its words.
    provided = SealedTextField(_("what was provided"), subject="data_key", blank=True)
    close_reason = models.CharField(_("why closed"), max_length=32, blank=True)
    admitted_at = models.DateTimeField(_("admitted"), null=True, blank=True)
    departed_at = models.DateTimeField(_("left"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("referral")
        constraints = [
            # One active referral of a case to one agency (a second would be a duplicate).
            models.UniqueConstraint(
                fields=["case", "to_agency"],
                condition=Q(state__in=_ACTIVE, case__isnull=False, kind="to_service"),
                name="referral_one_active_per_case_and_agency",
            ),
            # A first contact is referred to one unit at a time.
            models.UniqueConstraint(
                fields=["first_contact"],
                condition=Q(state__in=_ACTIVE, first_contact__isnull=False),
                name="referral_one_active_per_first_contact",
            ),
            models.CheckConstraint(
                condition=Q(kind="to_unit", first_contact__isnull=False)
                | Q(kind="to_service", case__isnull=False),
                name="referral_has_its_subject",
            ),
        ]
        indexes = [
            # The receiver's queue: what waits, by deadline.
            models.Index(
                fields=["to_agency", "state", "deadline_at", "id"], name="referral_inbox_idx"
            ),
            # The receiver's finished ones, newest first (read in this order, so a page costs
            # the same whatever the number of referrals it ever received).
            models.Index(
                fields=["to_agency", "-created_at", "-id"], name="referral_inbox_done_idx"
            ),
            # The sender's list, newest first.
            models.Index(fields=["from_agency", "-created_at", "-id"], name="referral_outbox_idx"),
            models.Index(fields=["case", "-created_at"], name="referral_case_idx"),
            # The escalation job: due items only, whatever the size of the table.
            models.Index(
                fields=["escalation_level", "deadline_at", "id"],
                condition=Q(state="sent", escalation_level__lt=2),
                name="referral_overdue_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Referral {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES


class ReferralEvent(models.Model):
    """What happened to a referral, in order. Kinds, states and ids only."""

    referral = models.ForeignKey(
        Referral,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,  # referral_event_idx starts with it
    )
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=32)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16, blank=True)
    metadata = models.JSONField(default=dict)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["referral", "at"], name="referral_event_idx")]

    def __str__(self) -> str:
        return f"ReferralEvent {self.pk}"


class ShelterOccupancy(models.Model):
    """How many women a shelter has admitted through referrals and not yet seen leave.

    Row-locked on every admission and departure, so two admissions at once cannot both take
    the last bed. Full means ``occupied >= Agency.beds``.
    """

    agency = models.OneToOneField(
        "network.Agency", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    occupied = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"ShelterOccupancy {self.pk}"
