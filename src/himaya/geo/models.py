"""Geography of Morocco: regions, provinces/prefectures, communes, census denominators.

Loaded from the committed data files under ``geo/data/`` (built by ``make geodata``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    code = models.CharField(_("HCP code"), max_length=16, unique=True)
    name_ar = models.CharField(_("name (Arabic)"), max_length=200)
    name_fr = models.CharField(_("name (French)"), max_length=200)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")

    def __str__(self) -> str:
        return self.name_fr


class Province(models.Model):
    """A province or prefecture."""

    code = models.CharField(_("HCP code"), max_length=16, unique=True)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="provinces")
    name_ar = models.CharField(_("name (Arabic)"), max_length=200)
    name_fr = models.CharField(_("name (French)"), max_length=200)
    #: Simplified boundary as SVG path data in the map projection (see geo/projection.py).
    boundary_svg = models.TextField(blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("province or prefecture")

    def __str__(self) -> str:
        return self.name_fr


class Commune(models.Model):
    code = models.CharField(_("HCP code"), max_length=16, unique=True)
    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="communes")
    name_ar = models.CharField(_("name (Arabic)"), max_length=200)
    name_fr = models.CharField(_("name (French)"), max_length=200)
    is_urban = models.BooleanField(_("urban"), default=False)
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    #: How the coordinate was obtained: polygon centroid, geonames, province centroid fallback.
    coordinate_source = models.CharField(max_length=32, blank=True)
    population_total = models.PositiveIntegerField(_("population (2024 census)"), default=0)
    population_women = models.PositiveIntegerField(
        _("women (2024 census)"), null=True, blank=True
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("commune")
        indexes = [models.Index(fields=["province"], name="commune_province_idx")]

    def __str__(self) -> str:
        return self.name_fr
