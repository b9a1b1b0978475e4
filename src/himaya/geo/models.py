"""Geography of Morocco: regions, provinces/prefectures, communes, census denominators.

Loaded from the committed data files under ``geo/data/`` (built by ``make geodata``, loaded by
``manage.py load_geo``; see ``geo/data/PROVENANCE.md`` for sources and licences).

Population figures are HCP's 2024 census. ``population_total`` and ``population_women`` are the
*municipal* population (people living in ordinary households and in collective housing), the
one HCP breaks down by sex, so that women / total is a true share; ``population_legal`` adds the
population counted apart (barracks, prisons, boarding schools…) and is the figure HCP publishes
as "population légale".
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    code = models.CharField(_("HCP code"), max_length=16, unique=True)
    name_ar = models.CharField(_("name (Arabic)"), max_length=200)
    name_fr = models.CharField(_("name (French)"), max_length=200)
    population_total = models.PositiveIntegerField(_("population (2024 census)"), default=0)
    population_women = models.PositiveIntegerField(_("women (2024 census)"), null=True, blank=True)
    population_legal = models.PositiveIntegerField(_("legal population (2024 census)"), default=0)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")

    def __str__(self) -> str:
        return self.name_fr


class ProvinceKind(models.TextChoices):
    PROVINCE = "province", _("Province")
    PREFECTURE = "prefecture", _("Prefecture")


class Province(models.Model):
    """A province or prefecture."""

    code = models.CharField(_("HCP code"), max_length=16, unique=True)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="provinces")
    kind = models.CharField(
        _("kind"), max_length=16, choices=ProvinceKind.choices, default=ProvinceKind.PROVINCE
    )
    name_ar = models.CharField(_("name (Arabic)"), max_length=200)
    name_fr = models.CharField(_("name (French)"), max_length=200)
    #: A point inside the province (its centroid when that falls inside): where a label or a
    #: province-level marker goes.
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    #: Simplified boundary as SVG path data in the map projection (see geo/projection.py).
    boundary_svg = models.TextField(blank=True)
    population_total = models.PositiveIntegerField(_("population (2024 census)"), default=0)
    population_women = models.PositiveIntegerField(_("women (2024 census)"), null=True, blank=True)
    population_legal = models.PositiveIntegerField(_("legal population (2024 census)"), default=0)

    class Meta:
        ordering = ["code"]
        verbose_name = _("province or prefecture")

    def __str__(self) -> str:
        return self.name_fr


class CoordinateSource(models.TextChoices):
    """How a commune's coordinate was obtained (``make geodata``; PROVENANCE.md)."""

    POLYGON_CENTROID = "polygon_centroid", _("Centroid of the commune's boundary")
    POLYGON_INTERIOR = "polygon_interior", _("Point inside the commune's boundary")
    GEONAMES = "geonames", _("GeoNames point of the same name")
    PROVINCE_CENTROID = "province_centroid", _("Province centroid (fallback)")


class Commune(models.Model):
    code = models.CharField(_("HCP code"), max_length=16, unique=True)
    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="communes")
    name_ar = models.CharField(_("name (Arabic)"), max_length=200)
    name_fr = models.CharField(_("name (French)"), max_length=200)
    is_urban = models.BooleanField(_("urban"), default=False)
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    #: How the coordinate was obtained: polygon centroid, geonames, province centroid fallback.
    coordinate_source = models.CharField(
        max_length=32, blank=True, choices=CoordinateSource.choices
    )
    population_total = models.PositiveIntegerField(_("population (2024 census)"), default=0)
    #: None where HCP publishes no breakdown by sex (four small communes in the far south).
    population_women = models.PositiveIntegerField(_("women (2024 census)"), null=True, blank=True)
    population_legal = models.PositiveIntegerField(_("legal population (2024 census)"), default=0)

    class Meta:
        ordering = ["code"]
        verbose_name = _("commune")

    def __str__(self) -> str:
        return self.name_fr
