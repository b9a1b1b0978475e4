"""The unit's case file: the survivor, what happened to her, who did it, what she consents to.

Everything that identifies her or tells her story is sealed with her own data key
(``core.DataKey``): names, CIN, phone, address, date of birth, narrative, notes, evidence.
Search goes through blind indexes (``core.blind_index``), never through plaintext.

"She preferred not to say" is an answer, not a blank: every question she declines is listed in
the record's ``declined`` field by name, so a blank means "not asked yet" and the interface can
tell the two apart.

Writes go through ``cases.services``; reads through ``cases.selectors``; who may do what is
decided in ``cases.policies`` only.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from himaya.cases.classification import GbvimsType
from himaya.cases.states import CaseState
from himaya.core.fields import SealedCharField, SealedJSONField, SealedTextField


class AgeRange(models.TextChoices):
    UNDER_12 = "0-11", _("under 12")
    FROM_12 = "12-17", _("12 to 17")
    FROM_18 = "18-24", _("18 to 24")
    FROM_25 = "25-34", _("25 to 34")
    FROM_35 = "35-44", _("35 to 44")
    FROM_45 = "45-59", _("45 to 59")
    FROM_60 = "60+", _("60 or older")
    UNKNOWN = "unknown", _("unknown")


class Channel(models.TextChoices):
    """How she first reached the unit."""

    WALK_IN = "walk_in", _("Walked in")
    FOCAL_POINT = "focal_point", _("Referred by a district focal point")
    HELPLINE = "helpline", _("Helpline")
    ONLINE = "online", _("Online portal")
    HOSPITAL = "hospital", _("Hospital")
    NGO = "ngo", _("NGO")
    PROSECUTOR = "prosecutor", _("Prosecutor")


class LegalBasis(models.TextChoices):
    """Why the record is kept (Law 09-08): decides what an erasure request does."""

    LAW = "law", _("Police or prosecution record kept under law")
    CONSENT = "consent", _("Kept with her consent")


class TriState(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    DECLINED = "declined", _("She preferred not to say")


class Gender(models.TextChoices):
    WOMAN = "woman", _("Woman")
    MAN = "man", _("Man")


class Survivor(models.Model):
    """The woman or girl at the centre of a case. Identity fields are sealed with her key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    data_key = models.ForeignKey("core.DataKey", on_delete=models.PROTECT, related_name="+")
    full_name = SealedCharField(_("full name"), max_length=200, subject="data_key", blank=True)
    cin = SealedCharField(_("national ID (CIN)"), max_length=16, subject="data_key", blank=True)
    phone = SealedCharField(_("phone"), max_length=32, subject="data_key", blank=True)
    address = SealedTextField(_("address"), subject="data_key", blank=True)
    date_of_birth = SealedCharField(
        _("date of birth"), max_length=10, subject="data_key", blank=True
    )
    #: Coarse and unsealed: used to narrow duplicate candidates and in statistics.
    age_range = models.CharField(
        _("age range"), max_length=8, choices=AgeRange.choices, default=AgeRange.UNKNOWN
    )
    residence_commune = models.ForeignKey(
        "geo.Commune",
        verbose_name=_("commune of residence"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    preferred_language = models.CharField(_("preferred language"), max_length=8, blank=True)
    #: channel, phone (if different), safe times, may leave a message, code word — sealed.
    safe_contact = SealedJSONField(_("safe contact"), subject="data_key", null=True, blank=True)
    declined = models.JSONField(_("questions she preferred not to answer"), default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("survivor")

    def __str__(self) -> str:
        return f"Survivor {self.pk}"


class CaseFile(models.Model):
    """The file a unit holds on one survivor's case."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    #: Readable per unit and year, e.g. ``U0042-2026-00017``; carries nothing about her.
    reference = models.CharField(_("reference"), max_length=32, unique=True)
    unit = models.ForeignKey(
        "network.Agency",
        on_delete=models.PROTECT,
        related_name="case_files",
        db_index=False,  # case_queue_idx starts with it
    )
    survivor = models.ForeignKey(Survivor, on_delete=models.PROTECT, related_name="case_files")
    state = models.CharField(
        _("state"), max_length=24, choices=CaseState.choices, default=CaseState.OPEN
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )
    channel = models.CharField(_("first contact"), max_length=16, choices=Channel.choices)
    legal_basis = models.CharField(
        _("legal basis"), max_length=16, choices=LegalBasis.choices, default=LegalBasis.LAW
    )
    narrative = SealedTextField(_("her account"), subject="survivor.data_key", blank=True)
    # Interview conditions are part of the record (ESP): how she was heard.
    private_room = models.CharField(
        _("private room"), max_length=8, choices=TriState.choices, blank=True
    )
    interviewer_gender = models.CharField(
        _("interviewer's gender"), max_length=8, choices=Gender.choices, blank=True
    )
    interviewer_gender_chosen = models.BooleanField(
        _("she chose the interviewer's gender"), default=False
    )
    interpreter_language = models.CharField(_("interpreter language"), max_length=8, blank=True)
    others_present = SealedTextField(
        _("others present, with her agreement"), subject="survivor.data_key", blank=True
    )
    repeat_perpetrator = models.BooleanField(_("repeat perpetrator"), default=False)
    #: Client-supplied key that makes intake idempotent (double click, retry after time-out).
    idempotency_key = models.CharField(  # noqa: DJ001 -- NULL: no key, outside the unique index
        max_length=64, null=True, blank=True, editable=False
    )
    #: Null when nobody on the staff opened it: she filed it herself through the portal, or
    #: a district focal point's referral became the case when the unit accepted it.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    #: The portal's abuse checks thought the report looked automated. It is marked for the
    #: unit, never deleted: a real survivor may trip a check.
    suspected_automated = models.BooleanField(_("looks automated"), default=False)
    closure_reason = models.CharField(_("closure reason"), max_length=32, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    #: Earliest due date of its open tasks, kept by the task services, so the "overdue" queue
    #: is one range scan of an index instead of a join over every task in the country.
    next_due_on = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("case file")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="casefile_unique_idempotency_key",
            )
        ]
        indexes = [
            # The unit's queue: newest first, keyset-paginated on (created_at, id).
            models.Index(fields=["unit", "state", "-created_at", "-id"], name="case_queue_idx"),
            # "New": active and nobody assigned yet. Partial, so it stays as small as the
            # backlog whatever the number of cases.
            models.Index(
                fields=["unit", "-created_at", "-id"],
                condition=Q(assigned_to__isnull=True)
                & ~Q(state__in=[CaseState.CLOSURE_REQUESTED, CaseState.CLOSED]),
                name="case_new_idx",
            ),
            # "Mine": an officer's cases not yet closed, in the unit she acts for.
            models.Index(
                fields=["assigned_to", "unit", "-created_at", "-id"],
                condition=~Q(state=CaseState.CLOSED),
                name="case_mine_idx",
            ),
            models.Index(
                fields=["unit", "next_due_on", "id"],
                condition=Q(next_due_on__isnull=False),
                name="case_overdue_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class UnitCounter(models.Model):
    """Next reference number per unit and year (row-locked when a case is opened)."""

    unit = models.ForeignKey(
        "network.Agency",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # unitcounter_unique_unit_year starts with it
    )
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "year"], name="unitcounter_unique_unit_year")
        ]

    def __str__(self) -> str:
        return f"UnitCounter {self.pk}"


class Incident(models.Model):
    """One incident; one survivor per incident (GBVIMS)."""

    case = models.ForeignKey(CaseFile, on_delete=models.CASCADE, related_name="incidents")
    occurred_on = models.DateField(_("date"), null=True, blank=True)
    #: When only a period is known: first and last possible day.
    occurred_from = models.DateField(_("from"), null=True, blank=True)
    occurred_to = models.DateField(_("to"), null=True, blank=True)
    commune = models.ForeignKey(
        "geo.Commune", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    forms = models.JSONField(_("forms of violence (Law 103-13)"), default=list)
    acts = models.JSONField(_("acts (GBVIMS)"), default=list)
    gbvims_type = models.CharField(_("GBVIMS core type"), max_length=24, choices=GbvimsType.choices)
    context = models.JSONField(_("case context"), default=list)
    declined = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("incident")

    def __str__(self) -> str:
        return f"Incident {self.pk}"


class Relationship(models.TextChoices):
    SPOUSE = "spouse", _("Spouse")
    EX_SPOUSE = "ex_spouse", _("Former spouse")
    FIANCE = "fiance", _("Fiancé")
    FAMILY = "family", _("Family member")
    EMPLOYER = "employer", _("Employer")
    COLLEAGUE = "colleague", _("Colleague")
    ACQUAINTANCE = "acquaintance", _("Acquaintance")
    STRANGER = "stranger", _("Stranger")
    ONLINE = "online", _("Unknown online account")
    DECLINED = "declined", _("She preferred not to say")


class Perpetrator(models.Model):
    """An alleged perpetrator named in one case. The same man in several cases is found by
    blind index, never by comparing plaintext across units."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(CaseFile, on_delete=models.CASCADE, related_name="perpetrators")
    data_key = models.ForeignKey("core.DataKey", on_delete=models.PROTECT, related_name="+")
    full_name = SealedCharField(_("name"), max_length=200, subject="data_key", blank=True)
    cin = SealedCharField(_("national ID (CIN)"), max_length=16, subject="data_key", blank=True)
    phone = SealedCharField(_("phone"), max_length=32, subject="data_key", blank=True)
    relationship = models.CharField(
        _("relationship to her"), max_length=16, choices=Relationship.choices
    )
    age_range = models.CharField(
        _("age range"), max_length=8, choices=AgeRange.choices, default=AgeRange.UNKNOWN
    )
    number_involved = models.PositiveSmallIntegerField(_("number of perpetrators"), default=1)
    #: Questions about him she preferred not to answer (``intake.PERPETRATOR_DECLINABLE``).
    declined = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("alleged perpetrator")

    def __str__(self) -> str:
        return f"Perpetrator {self.pk}"


class Dependant(models.Model):
    """A child or other dependant at risk."""

    case = models.ForeignKey(CaseFile, on_delete=models.CASCADE, related_name="dependants")
    first_name = SealedCharField(
        _("first name"), max_length=100, subject="case.survivor.data_key", blank=True
    )
    age = models.PositiveSmallIntegerField(_("age"), null=True, blank=True)
    relationship = models.CharField(_("relationship"), max_length=32, blank=True)
    at_risk = models.BooleanField(_("at risk"), default=True)
    #: Questions about the dependant she preferred not to answer.
    declined = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"Dependant {self.pk}"


class ConsentPurpose(models.TextChoices):
    SHARE_PROSECUTOR = "share_prosecutor", _("Share with the prosecutor")
    SHARE_SHELTER = "share_shelter", _("Share with a shelter")
    SHARE_HEALTH = "share_health", _("Share with health services")
    SHARE_LEGAL_AID = "share_legal_aid", _("Share with legal aid")
    SHARE_PSYCHOSOCIAL = "share_psychosocial", _("Share with psychosocial support")
    SHARE_NGO = "share_ngo", _("Share with an NGO")
    CONTACT_PHONE = "contact_phone", _("Contact her by phone")
    CONTACT_SMS = "contact_sms", _("Contact her by SMS")
    STATISTICS = "statistics", _("Use in de-identified statistics")


class Consent(models.Model):
    """Her answer to one purpose. Revoking keeps the row and stamps ``revoked_at``."""

    case = models.ForeignKey(CaseFile, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=24, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("she agreed"))
    #: Which groups of fields the recipient may see (identity, contact, narrative, evidence…).
    scope = models.JSONField(_("fields shared"), default=list)
    #: Null when she gave it herself, online.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            # At most one live answer per purpose: a new answer revokes the old one first.
            models.UniqueConstraint(
                fields=["case", "purpose"],
                condition=Q(revoked_at__isnull=True),
                name="consent_one_live_answer_per_purpose",
            )
        ]

    def __str__(self) -> str:
        return f"Consent {self.pk}"


class SharingBasis(models.TextChoices):
    CONSENT = "consent", _("Her consent")
    MINOR = "minor", _("She is a minor (legal duty)")
    LIFE_THREAT = "life_threat", _("Life-threatening risk")
    COURT_ORDER = "court_order", _("Court or prosecutor order")
    BREAK_GLASS = "break_glass", _("Emergency access")


class Grant(models.Model):
    """Access to a case for an agency other than the holding unit.

    Referrals, forwarding to the prosecutor and emergency access all create grants; the
    policy layer reads only grants, so every way in is one mechanism with one audit trail.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(CaseFile, on_delete=models.CASCADE, related_name="grants")
    agency = models.ForeignKey(
        "network.Agency",
        on_delete=models.PROTECT,
        related_name="grants",
        db_index=False,  # grant_agency_case_idx starts with it
    )
    #: For emergency access: the one person it was granted to.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    basis = models.CharField(max_length=16, choices=SharingBasis.choices)
    consent = models.ForeignKey(
        Consent, on_delete=models.PROTECT, null=True, blank=True, related_name="grants"
    )
    scope = models.JSONField(default=list)
    reason = models.TextField(blank=True)
    #: Null when the system granted it (her online complaint reaching the prosecutor).
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["agency", "case"], name="grant_agency_case_idx")]

    def __str__(self) -> str:
        return f"Grant {self.pk}"


class TimelineEntry(models.Model):
    """What happened to the case, in order. Never holds content: kinds, states, ids."""

    case = models.ForeignKey(
        CaseFile,
        on_delete=models.CASCADE,
        related_name="timeline",
        db_index=False,  # timeline_case_at_idx starts with it
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
        indexes = [models.Index(fields=["case", "at"], name="timeline_case_at_idx")]

    def __str__(self) -> str:
        return f"TimelineEntry {self.pk}"


class Note(models.Model):
    case = models.ForeignKey(CaseFile, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = SealedTextField(_("note"), subject="case.survivor.data_key")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Note {self.pk}"


class Task(models.Model):
    case = models.ForeignKey(CaseFile, on_delete=models.CASCADE, related_name="tasks")
    description = SealedTextField(_("task"), subject="case.survivor.data_key")
    due_on = models.DateField(_("due"))
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    #: Null when the system set it (a call to her planned by a notice on an online report).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["done_at", "due_on"], name="task_due_idx")]

    def __str__(self) -> str:
        return f"Task {self.pk}"


class EvidenceKind(models.TextChoices):
    INJURY_PHOTO = "injury_photo", _("Photo of injuries")
    MEDICAL_CERTIFICATE = "medical_certificate", _("Medical certificate")
    SCREENSHOT = "screenshot", _("Screenshot of online abuse")
    AUDIO = "audio", _("Audio recording")
    DOCUMENT = "document", _("Other document")


class Evidence(models.Model):
    """An attachment, encrypted at rest with her key; its SHA-256 is the chain of custody."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(CaseFile, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(_("kind"), max_length=24, choices=EvidenceKind.choices)
    description = SealedTextField(_("description"), subject="case.survivor.data_key", blank=True)
    original_name = SealedCharField(max_length=255, subject="case.survivor.data_key", blank=True)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    #: SHA-256 of the file as received (before metadata stripping) and as stored.
    sha256_received = models.CharField(max_length=64)
    sha256_stored = models.CharField(max_length=64)
    #: Random name of the encrypted blob under MEDIA_ROOT; nothing about her in it.
    blob_name = models.CharField(max_length=80, unique=True)
    #: Null when she sent it herself from the portal.
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Evidence {self.pk}"


class IntakeDraft(models.Model):
    """An interview in progress, saved as it goes so nothing is lost if it is interrupted.

    The draft already has her own data key, so even a draft is sealed at rest; an abandoned
    draft is discarded by shredding that key.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    unit = models.ForeignKey("network.Agency", on_delete=models.PROTECT, related_name="+")
    data_key = models.ForeignKey("core.DataKey", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    step = models.CharField(max_length=24, default="conditions")
    data = SealedJSONField(subject="data_key", null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    #: One draft per case at most (``intake_draft_one_per_case``). Not a OneToOneField: its
    #: unique index holds every unsubmitted draft under NULL, and SQLite, trusting a unique
    #: index to find one row, answered "her drafts" by reading every unsubmitted draft in
    #: the country (discarded ones stay forever) and sorting them.
    submitted_case = models.ForeignKey(
        CaseFile,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["submitted_case"],
                condition=models.Q(submitted_case__isnull=False),
                name="intake_draft_one_per_case",
            )
        ]
        # An officer's interviews in progress in a unit, newest first, as the list reads
        # them: along the index, never sorted, whatever the country's drafts.
        indexes = [
            models.Index(
                fields=["created_by", "unit", "-updated_at", "-id"],
                name="intake_draft_open",
                condition=models.Q(submitted_case__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"IntakeDraft {self.pk}"


class AlertKind(models.TextChoices):
    BREAK_GLASS = "break_glass", _("Emergency access to a case")
    SHARED_WITHOUT_CONSENT = "shared_without_consent", _("Shared without consent")
    REPEAT_PERPETRATOR = "repeat_perpetrator", _("Repeat perpetrator")
    CLOSURE_REQUESTED = "closure_requested", _("Closure awaiting approval")
    PRIOR_CONTACT = "prior_contact", _("Earlier contact in another unit")
    REFERRAL_OVERDUE = "referral_overdue", _("Referral not accepted in time")
    REFERRAL_DECLINED = "referral_declined", _("Referral declined")
    MEASURE_BREACH = "measure_breach", _("Breach of a protection measure")
    MEASURE_EXPIRING = "measure_expiring", _("Protection measure near expiry")
    SURVIVOR_MESSAGE = "survivor_message", _("New message from her")
    ONLINE_REPORT = "online_report", _("New online report")


class Alert(models.Model):
    """A message to an agency's chief. Carries references, never content from another unit."""

    agency = models.ForeignKey("network.Agency", on_delete=models.PROTECT, related_name="alerts")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    case = models.ForeignKey(
        CaseFile, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    #: For cross-unit alerts: which other unit to contact (never the other file's content).
    other_agency = models.ForeignKey(
        "network.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Unread only, ordered as the page is, (created_at, id): a page of the newest unread
        # alerts is read along the index, never sorted from all of them (8,000 unread in a
        # busy unit at 1,000,000 cases; bench_pages). PostgreSQL does not take "read_at IS
        # NULL" as fixing that column's order, so read_at is the condition, not a column.
        indexes = [
            models.Index(
                fields=["agency", "-created_at", "-id"],
                name="alert_inbox",
                condition=models.Q(read_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"Alert {self.pk}"


# --- keeping her informed (DESIGN.md: notices live with the case, floor 3) ----------------


class NoticeEvent(models.TextChoices):
    """A step that concerns her. Referrals and justice write these; the portal reads them."""

    CASE_RECEIVED = "case_received", _("A police unit received your report")
    CASE_ACCEPTED = "case_accepted", _("The unit accepted your case")
    REFERRAL_ACCEPTED = "referral_accepted", _("A service accepted to help you")
    COMPLAINT_FORWARDED = "complaint_forwarded", _("Your complaint was sent to the prosecutor")
    HEARING_SET = "hearing_set", _("A hearing date was set")
    MEASURE_ORDERED = "measure_ordered", _("A protection measure was ordered")
    MEASURE_ENDING = "measure_ending", _("A protection measure is ending")
    CASE_CLOSED = "case_closed", _("Your case was closed")
    MESSAGE = "message", _("A message from the unit")


class NoticeChannel(models.TextChoices):
    PORTAL = "portal", _("Portal inbox")
    SMS = "sms", _("SMS")
    CALL = "call", _("Call by the officer")


class NoticeState(models.TextChoices):
    #: Waiting for a time she said is safe.
    QUEUED = "queued", _("Waiting for a safe time")
    # One notice ("avis" in French, "إشعار" in Arabic): not the plural of the referral tab.
    SENT = "sent", pgettext_lazy("notice state", "Sent")
    #: Her preferences say no: recorded, never sent.
    WITHHELD = "withheld", _("Not sent: against her preferences")
    FAILED = "failed", _("Sending failed")


class Notice(models.Model):
    """One thing she is told, through one channel. Text is sealed with her key.

    ``dedupe_key`` makes a retried step create one notice, not two.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(
        CaseFile,
        on_delete=models.CASCADE,
        related_name="notices",
        db_index=False,  # notice_case_idx starts with it
    )
    event = models.CharField(max_length=24, choices=NoticeEvent.choices)
    channel = models.CharField(max_length=8, choices=NoticeChannel.choices)
    state = models.CharField(max_length=12, choices=NoticeState.choices, default=NoticeState.QUEUED)
    language = models.CharField(max_length=8, blank=True)
    #: Free text (a message from the unit) or what fills the event's sentence (a hearing's
    #: date and place): sealed, because even a date and a court can say who she is.
    body = SealedTextField(subject="case.survivor.data_key", blank=True)
    params = SealedJSONField(subject="case.survivor.data_key", null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    dedupe_key = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)
    #: Not before this moment (her safe hours); null: as soon as possible.
    send_after = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    #: For the portal inbox: when she opened it.
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "dedupe_key"], name="notice_dedupe")]
        indexes = [
            models.Index(fields=["case", "-created_at"], name="notice_case_idx"),
            models.Index(
                fields=["send_after", "id"],
                condition=Q(state="queued"),
                name="notice_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Notice {self.pk}"


class SurvivorMessage(models.Model):
    """What she writes to the unit from the portal (or adds to her report). Sealed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(
        CaseFile,
        on_delete=models.CASCADE,
        related_name="survivor_messages",
        db_index=False,  # survivor_message_case_idx starts with it
    )
    body = SealedTextField(subject="case.survivor.data_key")
    #: Client-supplied (a hidden form field): a resubmitted form adds one message, not two.
    idempotency_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "idempotency_key"], name="survivor_message_idempotent"
            )
        ]
        indexes = [models.Index(fields=["case", "-created_at"], name="survivor_message_case_idx")]

    def __str__(self) -> str:
        return f"SurvivorMessage {self.pk}"
