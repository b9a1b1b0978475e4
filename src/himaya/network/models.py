"""Agencies of the service network: one model for every kind of agency.

A police unit, a district station, a prosecution office, a shelter and the helpline are all
``Agency`` rows that differ by ``kind``; what only some kinds carry (beds, competent communes,
default unit) lives in nullable columns or small child tables. Writes go through
``network.services`` (which also invalidate the routing index); reads through
``network.selectors``.

A shelter's street address is the one datum here that can get a woman killed: it is sealed at
rest (``protected_address``) and never stored in ``address``; a shelter's coordinates are those
of its commune, never the building's (see ``services._shelter_coordinates``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from himaya.core.fields import SealedTextField


class AgencyKind(models.TextChoices):
    POLICE_UNIT = "police_unit", _("Police unit for women victims of violence")
    DISTRICT_STATION = "district_station", _("District police station")
    GENDARMERIE_UNIT = "gendarmerie_unit", _("Gendarmerie unit")
    PROSECUTION_OFFICE = "prosecution_office", _("Prosecution office (first-instance court)")
    APPEAL_COURT = "appeal_court", _("Appeal court")
    HOSPITAL_UNIT = "hospital_unit", _("Hospital unit")
    SHELTER = "shelter", _("Shelter")
    NGO_CENTRE = "ngo_centre", _("NGO listening centre")
    LEGAL_AID = "legal_aid", _("Legal aid")
    PSYCHOSOCIAL = "psychosocial", _("Psychosocial service")
    HELPLINE = "helpline", _("Helpline")
    CENTRAL_UNIT = "central_unit", _("Central unit")
    ADMINISTRATION = "administration", _("System administration")


#: Kinds that serve the whole country and so have no commune.
NATIONAL_KINDS = frozenset(
    {AgencyKind.HELPLINE, AgencyKind.CENTRAL_UNIT, AgencyKind.ADMINISTRATION}
)


class Language(models.TextChoices):
    """Languages a survivor may need to be received in (ISO 639-3 where one exists)."""

    ARABIC = "ar", _("Arabic")
    DARIJA = "ary", _("Darija (Moroccan Arabic)")
    TARIFIT = "rif", _("Tarifit")
    TAMAZIGHT = "tzm", _("Tamazight (Central Atlas)")
    TACHELHIT = "shi", _("Tachelhit")
    HASSANIYA = "mey", _("Hassaniya")
    FRENCH = "fr", _("French")
    SPANISH = "es", _("Spanish")
    ENGLISH = "en", _("English")
    SIGN_LANGUAGE = "xms", _("Moroccan Sign Language")


class Service(models.TextChoices):
    """What a survivor can get at an agency (the directory's "services offered")."""

    COMPLAINT = "complaint", _("Receives complaints")
    PROTECTION_MEASURES = "protection_measures", _("Protection measures")
    FIRST_RECEPTION = "first_reception", _("First reception and referral")
    MEDICAL_CARE = "medical_care", _("Medical care")
    MEDICAL_CERTIFICATE = "medical_certificate", _("Medical certificate")
    SHELTER = "shelter", _("Shelter")
    LISTENING = "listening", _("Listening and orientation")
    PSYCHOSOCIAL = "psychosocial", _("Psychosocial support")
    LEGAL_AID = "legal_aid", _("Legal aid")
    INTERPRETATION = "interpretation", _("Interpretation")
    CHILDCARE = "childcare", _("Childcare")
    LIVELIHOODS = "livelihoods", _("Education and livelihoods")
    HELPLINE = "helpline", _("Helpline (24/7)")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class Agency(models.Model):
    kind = models.CharField(_("kind"), max_length=32, choices=AgencyKind.choices)
    # A stable external code (DGSN/ministry code, or DEMO-… for the synthetic network): the
    # identity used by imports and exports. Nullable so that agencies created before the
    # directory existed (and by other apps' tests) need none; unique when present.
    code = models.CharField(_("code"), max_length=32, unique=True, null=True, blank=True)
    name_ar = models.CharField(_("name (Arabic)"), max_length=200)
    name_fr = models.CharField(_("name (French)"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    is_synthetic = models.BooleanField(
        _("synthetic demo data"), default=False, help_text=_("Never a real agency.")
    )
    commune = models.ForeignKey(
        "geo.Commune",
        on_delete=models.PROTECT,
        related_name="agencies",
        null=True,
        blank=True,
        verbose_name=_("commune"),
    )
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    #: Public street address. Always empty for shelters: theirs is ``protected_address``.
    address = models.CharField(_("address"), max_length=300, blank=True)
    #: The shelter's own data key (kind "agency"): seals its address; null for other kinds.
    data_key = models.ForeignKey(
        "core.DataKey", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    #: A shelter's street address, sealed; null for every other kind. Never filtered on,
    #: never listed: read only through ``services.shelter_address_reveal``.
    protected_address = SealedTextField(
        _("protected address"), null=True, blank=True, subject="data_key"
    )

    open_24_7 = models.BooleanField(_("open 24 hours a day, 7 days a week"), default=False)
    languages = models.JSONField(_("languages spoken"), default=list, blank=True)
    services = models.JSONField(_("services offered"), default=list, blank=True)
    step_free_access = models.BooleanField(_("step-free access"), default=False)
    accessibility_notes = models.CharField(_("accessibility notes"), max_length=300, blank=True)

    beds = models.PositiveIntegerField(_("beds"), null=True, blank=True)
    accepts_single_mothers = models.BooleanField(_("takes single mothers"), default=False)
    accepts_children = models.BooleanField(_("takes women with their children"), default=False)
    accepts_minors = models.BooleanField(_("takes girls under 18"), default=False)
    accepts_women_with_disabilities = models.BooleanField(
        _("takes women with disabilities"), default=False
    )

    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    website = models.URLField(_("website"), blank=True)

    default_unit = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        related_name="district_stations",
        null=True,
        blank=True,
        limit_choices_to={"kind": AgencyKind.POLICE_UNIT},
        verbose_name=_("default police unit"),
    )
    temporarily_unavailable = models.BooleanField(_("temporarily unavailable"), default=False)
    unavailable_until = models.DateTimeField(_("unavailable until"), null=True, blank=True)
    unavailable_reason = models.CharField(_("reason unavailable"), max_length=200, blank=True)

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        indexes = [
            models.Index(fields=["kind", "is_active", "name_fr", "id"], name="agency_dir_idx"),
        ]
        constraints = [
            # Belt and braces for the services' rule: a shelter's address is only ever sealed.
            models.CheckConstraint(
                condition=~Q(kind=AgencyKind.SHELTER) | Q(address=""),
                name="agency_shelter_address_sealed",
            ),
            models.CheckConstraint(
                condition=Q(kind=AgencyKind.SHELTER) | Q(protected_address__isnull=True),
                name="agency_only_shelters_have_protected_address",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="agency_coordinates_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name_fr

    @property
    def is_shelter(self) -> bool:
        return self.kind == AgencyKind.SHELTER


class OpeningHours(models.Model):
    """One opening interval on one weekday (local time in Morocco). ``closes`` earlier than
    ``opens`` means the interval runs past midnight into the next day."""

    agency = models.ForeignKey(
        Agency,
        on_delete=models.CASCADE,
        related_name="opening_hours",
        db_index=False,  # openinghours_unique_start starts with it
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "weekday", "opens"], name="openinghours_unique_start"
            ),
            models.CheckConstraint(condition=~Q(opens=models.F("closes")), name="hours_nonempty"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class FocalPoint(models.Model):
    """The trained officer(s) at a district station who give first support and refer to the
    unit. A directory entry (name and work phone), not an account."""

    station = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="focal_points")
    full_name = models.CharField(_("name"), max_length=200)
    phone = models.CharField(_("work phone"), max_length=32, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["full_name", "id"]
        verbose_name = _("focal point")

    def __str__(self) -> str:
        return self.full_name


class Jurisdiction(models.Model):
    """A commune for which a prosecution office is competent. A commune belongs to exactly one
    first-instance jurisdiction."""

    office = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="jurisdictions")
    commune = models.OneToOneField(
        "geo.Commune", on_delete=models.PROTECT, related_name="jurisdiction"
    )

    class Meta:
        verbose_name = _("jurisdiction")

    def __str__(self) -> str:
        return f"{self.office_id}:{self.commune_id}"


class NetworkRevision(models.Model):
    """One row whose token changes with every write to the network: web processes compare it
    (at most every few seconds) to know when to rebuild their in-process routing index."""

    token = models.CharField(max_length=32)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.token
