"""The demo service network: synthetic agencies placed on Morocco's real geography.

Every agency built here is flagged ``is_synthetic``, carries "(démo)" / "(تجريبي)" in its
names, a ``DEMO-`` code, and ``.invalid`` e-mail addresses: none of it is a real agency.
The placement follows the published shape of the network (UN Women: 132 police units at the
principal stations, 440 district stations) but every count is a parameter:

* police units: one in the most populous urban commune of every province, the rest shared
  among urban communes in proportion to population (D'Hondt), spread around big cities;
* district stations: shared among urban communes by population, each linked to its nearest
  unit as default unit, with one focal point;
* prosecution offices: one first-instance jurisdiction per province, two or three for the
  most populous provinces, each commune given to the nearest seat of its province;
* an appeal court per region; gendarmerie units in the most populous rural communes of each
  province; hospital units, shelters, NGO listening centres, legal aid and psychosocial
  services shared among provinces by population; the national helpline, the central unit.

Idempotent: agencies are keyed by code; a second run creates only what is missing and never
changes an existing agency (so edits made in the demo survive ``load_demo``).
"""

from __future__ import annotations

import heapq
import math
import random
from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import transaction

from himaya.core import audit
from himaya.core.actor import SYSTEM
from himaya.core.crypto import data_key_create
from himaya.core.models import DataKey
from himaya.geo.models import Commune, Province
from himaya.network.geometry import haversine_km
from himaya.network.hours import parse_hours
from himaya.network.index import bump_revision
from himaya.network.models import (
    Agency,
    AgencyKind,
    FocalPoint,
    Jurisdiction,
    Language,
    OpeningHours,
    Service,
)

DEMO_PREFIX = "DEMO-"
SUFFIX_FR = " (démo)"
SUFFIX_AR = " (تجريبي)"

#: Amazigh varieties and Hassaniya by province (HCP code), for the languages agencies speak.
_REGIONAL_LANGUAGES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("01.051", "02.167", "02.381", "02.113"), (Language.TARIFIT,)),
    **dict.fromkeys(
        (
            "02.251",
            "03.131",
            "03.171",
            "03.271",
            "03.451",
            "03.561",
            "04.291",
            "05.081",
            "05.091",
            "05.301",
            "08.201",
            "08.363",
            "08.401",
            "08.577",
            "08.587",
        ),
        (Language.TAMAZIGHT,),
    ),
    **dict.fromkeys(
        (
            "07.041",
            "07.161",
            "07.211",
            "07.351",
            "09.001",
            "09.163",
            "09.273",
            "09.541",
            "09.551",
            "09.581",
            "10.473",
        ),
        (Language.TACHELHIT,),
    ),
    **dict.fromkeys(("10.071", "10.261", "10.521"), (Language.TACHELHIT, Language.HASSANIYA)),
    **dict.fromkeys(
        ("11.121", "11.221", "11.321", "11.537", "12.066", "12.391"), (Language.HASSANIYA,)
    ),
}
_OFFICE_HOURS = "mon-fri 08:30-16:30"
_NGO_HOURS = "mon-fri 09:00-17:00; sat 09:00-13:00"
_LEGAL_HOURS = "mon-fri 09:00-16:00"


@dataclass(slots=True)
class _Spec:
    code: str
    kind: str
    name_fr: str
    name_ar: str
    commune: Commune | None
    lat: float | None
    lon: float | None
    hours: str = "24/7"
    languages: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    default_unit_code: str | None = None
    focal_points: tuple[str, ...] = ()
    competent: tuple[int, ...] = ()
    address: str | None = None


def dhondt[K: Hashable](
    weights: Mapping[K, float], seats: int, *, initial: Mapping[K, int] | None = None
) -> dict[K, int]:
    """Share ``seats`` (on top of ``initial``) in proportion to ``weights`` (D'Hondt):
    each next seat goes to the largest ``weight / (seats already held + 1)``."""
    held = {key: (initial or {}).get(key, 0) for key in weights}
    order = {key: i for i, key in enumerate(weights)}
    heap = [(-weights[k] / (held[k] + 1), order[k], k) for k in weights if weights[k] > 0]
    heapq.heapify(heap)
    for _ in range(max(0, seats)):
        if not heap:
            break
        _priority, rank, key = heapq.heappop(heap)
        held[key] += 1
        heapq.heappush(heap, (-weights[key] / (held[key] + 1), rank, key))
    return held


def _spread(commune: Commune, k: int, n: int) -> tuple[float, float]:
    """The k-th of n points spread around a commune's centre (k = 0 is the centre), within a
    radius that grows with the population: a sunflower pattern, deterministic."""
    if k == 0 or n <= 1:
        return commune.latitude, commune.longitude
    radius_km = min(10.0, 0.9 * math.sqrt(commune.population_total / 10_000) + 0.8)
    r = radius_km * math.sqrt(k / n)
    angle = k * 2.399963  # the golden angle, in radians
    dlat = (r * math.cos(angle)) / 111.2
    dlon = (r * math.sin(angle)) / (111.2 * math.cos(math.radians(commune.latitude)))
    return round(commune.latitude + dlat, 6), round(commune.longitude + dlon, 6)


def _nearest_commune(origin: Commune, candidates: list[Commune]) -> Commune:
    return min(
        candidates,
        key=lambda c: (
            haversine_km(origin.latitude, origin.longitude, c.latitude, c.longitude),
            c.code,
        ),
    )


def _languages(province_code: str, rng: random.Random, *, big_city: bool) -> tuple[str, ...]:
    langs: list[str] = [Language.ARABIC, Language.DARIJA, Language.FRENCH]
    langs.extend(_REGIONAL_LANGUAGES.get(province_code, ()))
    if big_city and rng.random() < 0.4:
        langs.append(rng.choice((Language.TACHELHIT, Language.TAMAZIGHT)))
    if province_code.startswith(("01.", "02.")) and rng.random() < 0.3:
        langs.append(Language.SPANISH)
    if rng.random() < 0.08:
        langs.append(Language.SIGN_LANGUAGE)
    return tuple(dict.fromkeys(str(x) for x in langs))


def _name_with_number(base: str, n: int, total: int) -> str:
    return base if total <= 1 else f"{base} {n}"


class _Builder:
    def __init__(self, *, seed: int) -> None:
        # Demo placement, not security: a seeded generator makes the network reproducible.
        self.rng = random.Random(seed)  # noqa: S311  # nosec B311
        self.communes = list(Commune.objects.select_related("province__region").order_by("code"))
        self.provinces = list(Province.objects.select_related("region").order_by("code"))
        self.by_province: dict[int, list[Commune]] = defaultdict(list)
        for c in self.communes:
            self.by_province[c.province_id].append(c)
        for items in self.by_province.values():
            items.sort(key=lambda c: (-c.population_total, c.code))
        self.specs: list[_Spec] = []

    def urban_of(self, province: Province) -> list[Commune]:
        items = self.by_province.get(province.pk, [])
        urban = [c for c in items if c.is_urban]
        return urban or items[:1]

    def seat_of(self, province: Province) -> Commune | None:
        urban = self.urban_of(province)
        return urban[0] if urban else None

    def langs(self, commune: Commune) -> tuple[str, ...]:
        return _languages(
            commune.province.code, self.rng, big_city=commune.population_total > 400_000
        )

    # --- police units and district stations ---------------------------------------------

    def police_units(self, count: int) -> list[_Spec]:
        seats = [c for c in (self.seat_of(p) for p in self.provinces) if c is not None]
        seats.sort(key=lambda c: (-c.population_total, c.code))
        initial = {commune.pk: 1 for commune in seats[: max(0, count)]}
        by_id = {c.pk: c for c in self.communes}
        # Urban communes compete for the extra units; a province seat that is rural (a
        # province without a town) keeps its one unit.
        weights = {c.pk: float(c.population_total) for c in self.communes if c.is_urban}
        weights.update({pk: float(by_id[pk].population_total) for pk in initial})
        extra = count - sum(initial.values())
        shares = dhondt(weights, extra, initial=initial)
        specs = []
        number = 0
        for commune_id, n in sorted(shares.items(), key=lambda kv: by_id[kv[0]].code):
            commune = by_id[commune_id]
            for k in range(n):
                number += 1
                lat, lon = _spread(commune, k, n)
                specs.append(
                    _Spec(
                        code=f"{DEMO_PREFIX}PU-{number:03d}",
                        kind=AgencyKind.POLICE_UNIT,
                        name_fr=_name_with_number(
                            f"Cellule femmes victimes de violence — {commune.name_fr}", k + 1, n
                        )
                        + SUFFIX_FR,
                        name_ar=_name_with_number(
                            f"خلية التكفل بالنساء ضحايا العنف — {commune.name_ar}", k + 1, n
                        )
                        + SUFFIX_AR,
                        commune=commune,
                        lat=lat,
                        lon=lon,
                        languages=self.langs(commune),
                        services=(
                            Service.COMPLAINT,
                            Service.FIRST_RECEPTION,
                            Service.PROTECTION_MEASURES,
                        ),
                        extra={"step_free_access": self.rng.random() < 0.6},
                    )
                )
        return specs

    def district_stations(self, count: int, units: list[_Spec]) -> list[_Spec]:
        urban = [c for c in self.communes if c.is_urban]
        shares = dhondt({c.pk: float(c.population_total) for c in urban}, count)
        by_id = {c.pk: c for c in self.communes}
        specs = []
        number = 0
        for commune_id, n in sorted(shares.items(), key=lambda kv: by_id[kv[0]].code):
            commune = by_id[commune_id]
            for k in range(n):
                number += 1
                lat, lon = _spread(commune, k + 1 if n > 1 else 0, n + 1)
                nearest = min(
                    units,
                    key=lambda u: (haversine_km(lat, lon, u.lat or 0.0, u.lon or 0.0), u.code),
                )
                specs.append(
                    _Spec(
                        code=f"{DEMO_PREFIX}DS-{number:03d}",
                        kind=AgencyKind.DISTRICT_STATION,
                        name_fr=_name_with_number(
                            f"Arrondissement de police — {commune.name_fr}", k + 1, n
                        )
                        + SUFFIX_FR,
                        name_ar=_name_with_number(f"الدائرة الأمنية — {commune.name_ar}", k + 1, n)
                        + SUFFIX_AR,
                        commune=commune,
                        lat=lat,
                        lon=lon,
                        languages=self.langs(commune),
                        services=(Service.FIRST_RECEPTION, Service.COMPLAINT),
                        default_unit_code=nearest.code,
                        focal_points=(f"Point focal n°{number} (démo)",),
                        extra={"step_free_access": self.rng.random() < 0.5},
                    )
                )
        return specs

    # --- justice ---------------------------------------------------------------------------

    def prosecution_offices(self, *, split_population: int) -> list[_Spec]:
        specs = []
        number = 0
        for province in self.provinces:
            communes = self.by_province.get(province.pk, [])
            urban = self.urban_of(province)
            if not communes or not urban:
                continue
            population = sum(c.population_total for c in communes)
            wanted = min(3, 1 + population // split_population) if split_population else 1
            seats: list[Commune] = []
            for candidate in urban:
                if all(
                    haversine_km(candidate.latitude, candidate.longitude, s.latitude, s.longitude)
                    >= 20
                    for s in seats
                ):
                    seats.append(candidate)
                if len(seats) >= wanted:
                    break
            members: dict[int, list[int]] = {s.pk: [] for s in seats}
            for commune in communes:
                members[_nearest_commune(commune, seats).pk].append(commune.pk)
            for seat in seats:
                number += 1
                specs.append(
                    _Spec(
                        code=f"{DEMO_PREFIX}PR-{number:03d}",
                        kind=AgencyKind.PROSECUTION_OFFICE,
                        name_fr=f"Parquet près le tribunal de première instance de "
                        f"{seat.name_fr}{SUFFIX_FR}",
                        name_ar=f"النيابة العامة لدى المحكمة الابتدائية — {seat.name_ar}"
                        + SUFFIX_AR,
                        commune=seat,
                        lat=seat.latitude,
                        lon=seat.longitude,
                        hours=_OFFICE_HOURS,
                        languages=self.langs(seat),
                        services=(Service.COMPLAINT, Service.PROTECTION_MEASURES),
                        competent=tuple(members[seat.pk]),
                        extra={"step_free_access": True},
                    )
                )
        return specs

    def appeal_courts(self) -> list[_Spec]:
        specs = []
        regions: dict[int, list[Commune]] = defaultdict(list)
        for c in self.communes:
            if c.is_urban:
                regions[c.province.region_id].append(c)
        for number, (_region, items) in enumerate(sorted(regions.items()), start=1):
            seat = max(items, key=lambda c: (c.population_total, c.code))
            specs.append(
                _Spec(
                    code=f"{DEMO_PREFIX}CA-{number:02d}",
                    kind=AgencyKind.APPEAL_COURT,
                    name_fr=f"Cour d'appel de {seat.name_fr}{SUFFIX_FR}",
                    name_ar=f"محكمة الاستئناف — {seat.name_ar}{SUFFIX_AR}",
                    commune=seat,
                    lat=seat.latitude,
                    lon=seat.longitude,
                    hours=_OFFICE_HOURS,
                    languages=self.langs(seat),
                    services=(Service.PROTECTION_MEASURES,),
                )
            )
        return specs

    # --- gendarmerie and services ---------------------------------------------------------

    def gendarmerie(self, count: int) -> list[_Spec]:
        rural: dict[int, list[Commune]] = {
            p.pk: [c for c in self.by_province.get(p.pk, []) if not c.is_urban]
            for p in self.provinces
        }
        weights = {pk: float(sum(c.population_total for c in items)) for pk, items in rural.items()}
        with_rural = {pk: 1 for pk, items in rural.items() if items}
        shares = dhondt(weights, count - len(with_rural), initial=with_rural)
        specs = []
        number = 0
        for province in self.provinces:
            for commune in rural[province.pk][: shares.get(province.pk, 0)]:
                number += 1
                specs.append(
                    _Spec(
                        code=f"{DEMO_PREFIX}GR-{number:03d}",
                        kind=AgencyKind.GENDARMERIE_UNIT,
                        name_fr=f"Brigade de gendarmerie — {commune.name_fr}{SUFFIX_FR}",
                        name_ar=f"مركز الدرك الملكي — {commune.name_ar}{SUFFIX_AR}",
                        commune=commune,
                        lat=commune.latitude,
                        lon=commune.longitude,
                        languages=self.langs(commune),
                        services=(Service.COMPLAINT, Service.FIRST_RECEPTION),
                    )
                )
        return specs

    def services_of(self, kind: str, count: int, prefix: str) -> list[_Spec]:
        """``count`` agencies of ``kind`` shared among provinces by population, placed in
        each province's most populous urban communes in turn."""
        weights = {
            p.pk: float(sum(c.population_total for c in self.by_province.get(p.pk, [])))
            for p in self.provinces
        }
        shares = dhondt(weights, count)
        specs = []
        number = 0
        for province in self.provinces:
            urban = self.urban_of(province)
            n = shares.get(province.pk, 0)
            if not urban or not n:
                continue
            placed: dict[int, int] = defaultdict(int)
            for i in range(n):
                commune = urban[i % min(len(urban), 3)]
                placed[commune.pk] += 1
                number += 1
                specs.append(self._service_spec(kind, prefix, number, commune, placed[commune.pk]))
        return specs

    def _service_spec(
        self, kind: str, prefix: str, number: int, commune: Commune, nth: int
    ) -> _Spec:
        rng = self.rng
        suffix = f" {nth}" if nth > 1 else ""
        lat, lon = _spread(commune, nth, nth + 2)
        base = _Spec(
            code=f"{DEMO_PREFIX}{prefix}-{number:03d}",
            kind=kind,
            name_fr="",
            name_ar="",
            commune=commune,
            lat=lat,
            lon=lon,
            languages=self.langs(commune),
        )
        if kind == AgencyKind.SHELTER:
            children = rng.random() < 0.7
            base.name_fr = f"Centre d'hébergement — {commune.name_fr}{suffix}{SUFFIX_FR}"
            base.name_ar = f"مركز الإيواء — {commune.name_ar}{suffix}{SUFFIX_AR}"
            base.services = (
                Service.SHELTER,
                Service.PSYCHOSOCIAL,
                Service.LISTENING,
                *((Service.CHILDCARE,) if children else ()),
            )
            base.address = f"Adresse fictive n°{number}, {commune.name_fr} (démo)"
            base.extra = {
                "beds": rng.choice((8, 12, 16, 20, 24, 30, 40)),
                "accepts_single_mothers": rng.random() < 0.5,
                "accepts_children": children,
                "accepts_minors": rng.random() < 0.3,
                "accepts_women_with_disabilities": rng.random() < 0.4,
                "step_free_access": rng.random() < 0.5,
            }
        elif kind == AgencyKind.HOSPITAL_UNIT:
            base.name_fr = (
                f"Unité hospitalière femmes et enfants — {commune.name_fr}{suffix}{SUFFIX_FR}"
            )
            base.name_ar = (
                f"الوحدة الاستشفائية للنساء والأطفال — {commune.name_ar}{suffix}{SUFFIX_AR}"
            )
            base.services = (
                Service.MEDICAL_CARE,
                Service.MEDICAL_CERTIFICATE,
                Service.PSYCHOSOCIAL,
            )
            base.extra = {"step_free_access": True}
        elif kind == AgencyKind.NGO_CENTRE:
            base.name_fr = f"Centre d'écoute associatif — {commune.name_fr}{suffix}{SUFFIX_FR}"
            base.name_ar = f"مركز الاستماع الجمعوي — {commune.name_ar}{suffix}{SUFFIX_AR}"
            base.hours = _NGO_HOURS if rng.random() < 0.5 else _LEGAL_HOURS
            base.services = (
                Service.LISTENING,
                Service.PSYCHOSOCIAL,
                *((Service.LEGAL_AID,) if rng.random() < 0.5 else ()),
                *((Service.LIVELIHOODS,) if rng.random() < 0.4 else ()),
            )
            base.extra = {"step_free_access": rng.random() < 0.4}
        elif kind == AgencyKind.LEGAL_AID:
            base.name_fr = f"Aide juridique — {commune.name_fr}{suffix}{SUFFIX_FR}"
            base.name_ar = f"المساعدة القانونية — {commune.name_ar}{suffix}{SUFFIX_AR}"
            base.hours = _LEGAL_HOURS
            base.services = (Service.LEGAL_AID,)
            base.extra = {"step_free_access": rng.random() < 0.5}
        else:
            base.name_fr = f"Soutien psychosocial — {commune.name_fr}{suffix}{SUFFIX_FR}"
            base.name_ar = f"الدعم النفسي والاجتماعي — {commune.name_ar}{suffix}{SUFFIX_AR}"
            base.hours = _NGO_HOURS
            base.services = (Service.PSYCHOSOCIAL, Service.LISTENING)
            base.extra = {"step_free_access": rng.random() < 0.5}
        return base

    def national(self) -> list[_Spec]:
        rabat = next(
            (c for c in self.communes if c.name_fr == "Rabat"),
            max(self.communes, key=lambda c: c.population_total),
        )
        all_languages = tuple(
            str(x)
            for x in (
                Language.ARABIC,
                Language.DARIJA,
                Language.FRENCH,
                Language.TARIFIT,
                Language.TAMAZIGHT,
                Language.TACHELHIT,
                Language.HASSANIYA,
            )
        )
        return [
            _Spec(
                code=f"{DEMO_PREFIX}HL-001",
                kind=AgencyKind.HELPLINE,
                name_fr="Ligne d'écoute nationale" + SUFFIX_FR,
                name_ar="الخط الوطني للاستماع" + SUFFIX_AR,
                commune=None,
                lat=None,
                lon=None,
                languages=all_languages,
                services=(Service.HELPLINE, Service.LISTENING, Service.INTERPRETATION),
                extra={"phone": "8350"},
            ),
            _Spec(
                code=f"{DEMO_PREFIX}CU-001",
                kind=AgencyKind.CENTRAL_UNIT,
                name_fr="Cellule centrale" + SUFFIX_FR,
                name_ar="الخلية المركزية" + SUFFIX_AR,
                commune=rabat,
                lat=rabat.latitude,
                lon=rabat.longitude,
                hours=_OFFICE_HOURS,
                languages=(Language.ARABIC, Language.FRENCH),
            ),
            _Spec(
                code=f"{DEMO_PREFIX}AD-001",
                kind=AgencyKind.ADMINISTRATION,
                name_fr="Administration du système" + SUFFIX_FR,
                name_ar="إدارة النظام" + SUFFIX_AR,
                commune=None,
                lat=None,
                lon=None,
                hours=_OFFICE_HOURS,
                languages=(Language.ARABIC, Language.FRENCH),
            ),
        ]


def _agency(spec: _Spec, default_unit_id: int | None) -> Agency:
    is_shelter = spec.kind == AgencyKind.SHELTER
    agency = Agency(
        code=spec.code,
        kind=spec.kind,
        name_fr=spec.name_fr,
        name_ar=spec.name_ar,
        is_synthetic=True,
        commune=spec.commune,
        latitude=spec.commune.latitude if is_shelter and spec.commune else spec.lat,
        longitude=spec.commune.longitude if is_shelter and spec.commune else spec.lon,
        open_24_7=spec.hours == "24/7",
        languages=sorted(spec.languages),
        services=sorted(str(s) for s in spec.services),
        email=f"{spec.code.lower()}@demo.invalid",
        default_unit_id=default_unit_id,
    )
    for name, value in spec.extra.items():
        setattr(agency, name, value)
    if is_shelter:
        agency.data_key = data_key_create(actor=SYSTEM, kind=DataKey.Kind.AGENCY)
        agency.protected_address = spec.address or ""
    return agency


@transaction.atomic
def build_network(
    stdout: IO[str] | None = None,
    *,
    units: int = 132,
    district_stations: int = 440,
    seed: int = 103_13,
    gendarmerie_units: int = 250,
    hospital_units: int = 90,
    shelters: int = 40,
    ngo_centres: int = 120,
    legal_aid: int = 60,
    psychosocial: int = 40,
    split_jurisdiction_population: int = 1_000_000,
) -> None:
    """Build (or complete) the synthetic demo network on the loaded geography."""

    def say(line: str) -> None:
        if stdout is not None:
            stdout.write(line + "\n")

    builder = _Builder(seed=seed)
    if not builder.communes:
        raise ValueError("Load the geography first (manage.py load_geo): there are no communes.")
    unit_specs = builder.police_units(units)
    specs = [
        *unit_specs,
        *builder.district_stations(district_stations, unit_specs),
        *builder.prosecution_offices(split_population=split_jurisdiction_population),
        *builder.appeal_courts(),
        *builder.gendarmerie(gendarmerie_units),
        *builder.services_of(AgencyKind.HOSPITAL_UNIT, hospital_units, "HO"),
        *builder.services_of(AgencyKind.SHELTER, shelters, "SH"),
        *builder.services_of(AgencyKind.NGO_CENTRE, ngo_centres, "NG"),
        *builder.services_of(AgencyKind.LEGAL_AID, legal_aid, "LA"),
        *builder.services_of(AgencyKind.PSYCHOSOCIAL, psychosocial, "PS"),
        *builder.national(),
    ]
    existing = set(
        Agency.objects.filter(code__startswith=DEMO_PREFIX).values_list("code", flat=True)
    )
    missing = [s for s in specs if s.code not in existing]
    if not missing:
        say(f"demo network: already complete ({len(specs)} agencies)")
        return
    # Police units first: district stations point at them.
    first = [s for s in missing if s.default_unit_code is None]
    second = [s for s in missing if s.default_unit_code is not None]
    Agency.objects.bulk_create([_agency(s, None) for s in first], batch_size=500)
    ids = dict(Agency.objects.filter(code__startswith=DEMO_PREFIX).values_list("code", "id"))
    Agency.objects.bulk_create(
        [_agency(s, ids.get(s.default_unit_code or "")) for s in second], batch_size=500
    )
    ids = dict(Agency.objects.filter(code__startswith=DEMO_PREFIX).values_list("code", "id"))
    hours: list[OpeningHours] = []
    focal: list[FocalPoint] = []
    jurisdiction: list[Jurisdiction] = []
    taken = set(Jurisdiction.objects.values_list("commune_id", flat=True))
    for spec in missing:
        agency_id = ids[spec.code]
        weekly = parse_hours(spec.hours)
        hours.extend(
            OpeningHours(agency_id=agency_id, weekday=i.weekday, opens=i.opens, closes=i.closes)
            for i in weekly.intervals
        )
        focal.extend(FocalPoint(station_id=agency_id, full_name=n) for n in spec.focal_points)
        for commune_id in spec.competent:
            if commune_id not in taken:
                taken.add(commune_id)
                jurisdiction.append(Jurisdiction(office_id=agency_id, commune_id=commune_id))
    OpeningHours.objects.bulk_create(hours, batch_size=1000)
    FocalPoint.objects.bulk_create(focal, batch_size=1000)
    Jurisdiction.objects.bulk_create(jurisdiction, batch_size=1000)
    counts: dict[str, int] = defaultdict(int)
    for spec in missing:
        counts[spec.kind] += 1
    audit.record(
        actor=SYSTEM,
        action="network.demo_build",
        target_type="network.agency",
        target_id=None,
        metadata={"created": len(missing), "by_kind": dict(sorted(counts.items()))},
    )
    bump_revision()
    say(
        "demo network: "
        + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        + f" created ({len(specs) - len(missing)} already present)"
    )
