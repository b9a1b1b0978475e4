"""Agencies of the service network (issue 3 grows this into the full directory)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


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


class Agency(models.Model):
    kind = models.CharField(_("kind"), max_length=32, choices=AgencyKind.choices)
    name_ar = models.CharField(_("name (Arabic)"), max_length=200)
    name_fr = models.CharField(_("name (French)"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    is_synthetic = models.BooleanField(
        _("synthetic demo data"), default=False, help_text=_("Never a real agency.")
    )

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        indexes = [models.Index(fields=["kind"], name="agency_kind_idx")]

    def __str__(self) -> str:
        return self.name_fr
