"""The prosecution office's own record of a complaint: decisions, hearings, protection
measures and breaches.

**Tell it once.** A ``Complaint`` holds no copy of her file: what the office reads (her
identity, her account, the incidents, the alleged perpetrators, the evidence list with its
hashes) is the case file itself, read through the ``cases.Grant`` the forwarding created and
cut to that grant's field groups by ``cases.policies``. What lives here is what the office
writes: its decisions, hearings and measures. Free text that could identify her (a
dismissal's reason, a sentence, a measure's conditions, a breach's description) is sealed
with her own data key, so erasing her key erases it too.

Writes go through ``justice.services``; reads through ``justice.selectors``; who may do what
is decided in ``justice.policies`` only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from himaya.core.fields import SealedTextField
from himaya.justice.states import (
    ComplaintState,
    DecisionKind,
    HearingOutcome,
    HearingState,
    MeasureState,
)


class ComplaintSource(models.TextChoices):
    UNIT = "unit", _("Forwarded by the police unit")
    ONLINE = "online", _("Filed online by her")


class Complaint(models.Model):
    """A case file forwarded to one prosecution office: an entry in the office's queue."""

    case = models.ForeignKey("cases.CaseFile", on_delete=models.PROTECT, related_name="complaints")
    office = models.ForeignKey(
        "network.Agency",
        on_delete=models.PROTECT,
        related_name="complaints",
        db_index=False,  # complaint_office_idx starts with it
    )
    #: The sharing that lets the office read the file (null only if it was never created).
    grant = models.ForeignKey(
        "cases.Grant", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source = models.CharField(_("source"), max_length=8, choices=ComplaintSource.choices)
    state = models.CharField(
        _("state"),
        max_length=24,
        choices=ComplaintState.choices,
        default=ComplaintState.RECEIVED,
    )
    #: Filed online: complete enough to stand as a complaint, or she must confirm it in
    #: person (an appointment) first.
    needs_confirmation = models.BooleanField(_("needs her confirmation in person"), default=False)
    #: Null when nobody on the staff forwarded it (she filed it online).
    forwarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(  # noqa: DJ001 -- NULL: no key, outside the unique index
        max_length=64, null=True, blank=True, editable=False
    )
    received_at = models.DateTimeField(auto_now_add=True)
    #: When the office should have decided (the queue's deadline).
    decision_due_on = models.DateField(_("decision due"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("complaint")
        constraints = [
            # A case is with at most one office at a time (a dismissed or judged complaint
            # no longer counts): forwarding twice is refused or answered with the first.
            models.UniqueConstraint(
                fields=["case"],
                condition=~Q(state__in=[ComplaintState.DISMISSED, ComplaintState.JUDGED]),
                name="complaint_one_open_per_case",
            ),
            models.UniqueConstraint(
                fields=["case", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="complaint_unique_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(
                fields=["office", "state", "decision_due_on", "id"], name="complaint_queue_idx"
            ),
            models.Index(fields=["office", "-received_at", "-id"], name="complaint_office_idx"),
        ]

    def __str__(self) -> str:
        return f"Complaint {self.pk}"


class ComplaintEvent(models.Model):
    """The complaint's own timeline (never content: kinds, states, ids)."""

    complaint = models.ForeignKey(
        Complaint,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,  # complaint_event_idx starts with it
    )
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=32)
    from_state = models.CharField(max_length=24, blank=True)
    to_state = models.CharField(max_length=24, blank=True)
    metadata = models.JSONField(default=dict)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["complaint", "at"], name="complaint_event_idx")]

    def __str__(self) -> str:
        return f"ComplaintEvent {self.pk}"


class Decision(models.Model):
    complaint = models.ForeignKey(
        Complaint,
        on_delete=models.CASCADE,
        related_name="decisions",
        db_index=False,  # decision_complaint_idx starts with it
    )
    kind = models.CharField(_("decision"), max_length=32, choices=DecisionKind.choices)
    #: Required for a dismissal; sealed (it can name people and places).
    reason = SealedTextField(_("reason"), subject="complaint.case.survivor.data_key", blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["complaint", "decided_at"], name="decision_complaint_idx")]

    def __str__(self) -> str:
        return f"Decision {self.pk}"


class Hearing(models.Model):
    complaint = models.ForeignKey(
        Complaint,
        on_delete=models.CASCADE,
        related_name="hearings",
        db_index=False,  # hearing_complaint_idx starts with it
    )
    scheduled_at = models.DateTimeField(_("date and time"))
    #: The court and room (public information about the court, not about her).
    place = models.CharField(_("place"), max_length=200, blank=True)
    remote = models.BooleanField(_("remote hearing"), default=False)
    state = models.CharField(
        max_length=12, choices=HearingState.choices, default=HearingState.SCHEDULED
    )
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=HearingOutcome.choices, blank=True
    )
    sentence = SealedTextField(
        _("sentence"), subject="complaint.case.survivor.data_key", blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["scheduled_at", "id"],
                condition=Q(state=HearingState.SCHEDULED),
                name="hearing_upcoming_idx",
            ),
            models.Index(fields=["complaint", "scheduled_at"], name="hearing_complaint_idx"),
        ]

    def __str__(self) -> str:
        return f"Hearing {self.pk}"


class MeasureKind(models.TextChoices):
    """Law 103-13 protection measures; more kinds by configuration
    (``HIMAYA_JUSTICE_EXTRA_MEASURE_KINDS``)."""

    NO_CONTACT = "no_contact", _("No contact with her")
    NO_APPROACH = "no_approach", _("No approach within a distance")
    NO_COMMUNICATION = "no_communication", _("No communication by any means")
    EVICTION = "eviction", _("Eviction of the aggressor from the home")
    RETURN_HOME = "return_home", _("Return with the children to a designated home")
    TREATMENT = "treatment", _("Psychological treatment")


class MeasureBasis(models.TextChoices):
    PC_88_3 = "pc_88_3", _("Penal Code art. 88-3 (during prosecution)")
    PC_88_1 = "pc_88_1", _("Penal Code art. 88-1 (on conviction)")
    CPP_82_5_2 = "cpp_82_5_2", _("Criminal Procedure Code art. 82-5-2")
    OTHER = "other", _("Other legal basis (see conditions)")


class IssuingAuthority(models.TextChoices):
    PROSECUTOR = "prosecutor", _("Public prosecutor")
    INVESTIGATING_JUDGE = "investigating_judge", _("Investigating judge")
    COURT = "court", _("Court")


class ProtectionMeasure(models.Model):
    complaint = models.ForeignKey(
        Complaint,
        on_delete=models.CASCADE,
        related_name="measures",
        db_index=False,  # measure_complaint_idx starts with it
    )
    kind = models.CharField(_("measure"), max_length=40)
    #: For "no approach": the distance he must keep, in metres.
    distance_m = models.PositiveIntegerField(_("distance (metres)"), null=True, blank=True)
    legal_basis = models.CharField(_("legal basis"), max_length=16, choices=MeasureBasis.choices)
    authority = models.CharField(
        _("issuing authority"), max_length=24, choices=IssuingAuthority.choices
    )
    starts_on = models.DateField(_("start"))
    #: Null: until further order (or permanent, on conviction).
    ends_on = models.DateField(_("end"), null=True, blank=True)
    #: "survivor" and/or dependant ids (``cases.Dependant``) — ids, never names.
    protected = models.JSONField(_("protected persons"), default=list)
    #: Places, routes, a school: identifying, so sealed.
    conditions = SealedTextField(
        _("conditions"), subject="complaint.case.survivor.data_key", blank=True
    )
    on_conviction = models.BooleanField(_("ordered on conviction"), default=False)
    state = models.CharField(
        max_length=8, choices=MeasureState.choices, default=MeasureState.ACTIVE
    )
    #: Set once by the expiry job: the measure was flagged for review (idempotence).
    review_flagged_at = models.DateTimeField(null=True, blank=True)
    ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="measure_ends_after_start",
            )
        ]
        indexes = [
            # The expiry job and the "near expiry" queue: active measures with an end.
            models.Index(
                fields=["ends_on", "id"],
                condition=Q(state=MeasureState.ACTIVE, ends_on__isnull=False),
                name="measure_expiry_idx",
            ),
            models.Index(fields=["complaint", "starts_on"], name="measure_complaint_idx"),
        ]

    def __str__(self) -> str:
        return f"ProtectionMeasure {self.pk}"


class BreachReporter(models.TextChoices):
    UNIT = "unit", _("The police unit")
    PROSECUTOR = "prosecutor", _("The prosecutor")
    SURVIVOR = "survivor", _("Her, through the portal")


class Breach(models.Model):
    """A reported breach of a measure: itself an offence (Penal Code 321-1)."""

    measure = models.ForeignKey(
        ProtectionMeasure,
        on_delete=models.CASCADE,
        related_name="breaches",
        db_index=False,  # breach_measure_idx starts with it
    )
    reported_by_kind = models.CharField(max_length=12, choices=BreachReporter.choices)
    #: Null when she reported it herself.
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    description = SealedTextField(
        _("what happened"), subject="measure.complaint.case.survivor.data_key"
    )
    #: Her portal's retry-safe key (a resubmitted form reports one breach, not two).
    idempotency_key = models.CharField(  # noqa: DJ001 -- NULL: no key, outside the unique index
        max_length=64, null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="breach_unique_idempotency_key",
            )
        ]
        indexes = [models.Index(fields=["measure", "-created_at"], name="breach_measure_idx")]

    def __str__(self) -> str:
        return f"Breach {self.pk}"
