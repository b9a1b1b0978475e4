"""Load Morocco's geography from the committed data files into the database.

The files under ``geo/data/`` are built by ``make geodata`` (``tools/geodata/build.py``) and
committed; this module only reads them, so the app needs none of the heavy build inputs.

Loading is an upsert by HCP code, idempotent and cheap to repeat: every row is compared with
what is stored and only new or changed rows are written, in bulk. A second run finds nothing
to do and issues no write at all, so ``load_demo`` and deployments can call it every time.
Rows that are in the database but no longer in the files are *not* deleted (agencies and cases
point at communes with ``PROTECT``); they are reported as stale for a person to deal with.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.db import models, transaction

from himaya.geo.models import Commune, Province, Region

DATA_DIR = Path(__file__).resolve().parent / "data"


class Writer(Protocol):
    """Where progress lines go: a text file, ``sys.stdout`` or a command's ``self.stdout``."""

    def write(self, text: str, /) -> object: ...


@dataclass(frozen=True, slots=True)
class LevelResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Codes stored in the database that the data files no longer have.
    stale: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass(frozen=True, slots=True)
class LoadResult:
    regions: LevelResult
    provinces: LevelResult
    communes: LevelResult

    @property
    def changed(self) -> bool:
        """Whether anything was written."""
        return any(level.created or level.updated for level in self._levels())

    def _levels(self) -> tuple[LevelResult, LevelResult, LevelResult]:
        return (self.regions, self.provinces, self.communes)

    def summary(self) -> str:
        parts = []
        for name, level in zip(("regions", "provinces", "communes"), self._levels(), strict=True):
            text = (
                f"{name}: {level.created} created, {level.updated} updated, "
                f"{level.unchanged} unchanged"
            )
            if level.stale:
                text += f", {len(level.stale)} no longer in the data ({', '.join(level.stale)})"
            parts.append(text)
        return "; ".join(parts)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _int(text: str) -> int:
    return int(text)


def _int_or_none(text: str) -> int | None:
    return int(text) if text else None


def _upsert[M: (Region, Province, Commune)](
    model: type[M],
    rows: Iterable[Mapping[str, Any]],
    *,
    fields: Sequence[str],
) -> LevelResult:
    """Create or update ``model`` rows keyed by ``code``; write only what differs."""
    existing: dict[str, M] = {obj.code: obj for obj in model._default_manager.all()}
    to_create: list[M] = []
    to_update: list[M] = []
    seen: set[str] = set()
    unchanged = 0
    for row in rows:
        code = row["code"]
        seen.add(code)
        obj = existing.get(code)
        if obj is None:
            to_create.append(model(code=code, **{f: row[f] for f in fields}))
            continue
        dirty = False
        for f in fields:
            if getattr(obj, f) != row[f]:
                setattr(obj, f, row[f])
                dirty = True
        if dirty:
            to_update.append(obj)
        else:
            unchanged += 1
    if to_create:
        model._default_manager.bulk_create(to_create, batch_size=500)
    if to_update:
        model._default_manager.bulk_update(to_update, list(fields), batch_size=500)
    return LevelResult(
        created=len(to_create),
        updated=len(to_update),
        unchanged=unchanged,
        stale=tuple(sorted(set(existing) - seen)),
    )


def _ids(model: type[models.Model]) -> dict[str, int]:
    return dict(model._default_manager.values_list("code", "pk"))


@transaction.atomic
def load_geography(stdout: Writer | None = None, *, data_dir: Path | None = None) -> LoadResult:
    """Load regions, provinces and communes from the data files (idempotent).

    ``stdout``, when given, receives one line of progress per level.
    """
    folder = data_dir or DATA_DIR

    def say(line: str) -> None:
        if stdout is not None:
            stdout.write(line + "\n")

    regions = _upsert(
        Region,
        (
            {
                "code": r["code"],
                "name_fr": r["name_fr"],
                "name_ar": r["name_ar"],
                "population_total": _int(r["population_total"]),
                "population_women": _int_or_none(r["population_women"]),
                "population_legal": _int(r["population_legal"]),
            }
            for r in _read_csv(folder / "regions.csv")
        ),
        fields=("name_fr", "name_ar", "population_total", "population_women", "population_legal"),
    )
    say(f"regions: {regions.created} created, {regions.updated} updated")

    region_ids = _ids(Region)
    paths: dict[str, str] = json.loads((folder / "provinces.svg.json").read_text(encoding="utf-8"))[
        "provinces"
    ]
    provinces = _upsert(
        Province,
        (
            {
                "code": p["code"],
                "region_id": region_ids[p["region_code"]],
                "kind": p["kind"],
                "name_fr": p["name_fr"],
                "name_ar": p["name_ar"],
                "latitude": float(p["latitude"]),
                "longitude": float(p["longitude"]),
                "boundary_svg": paths.get(p["code"], ""),
                "population_total": _int(p["population_total"]),
                "population_women": _int_or_none(p["population_women"]),
                "population_legal": _int(p["population_legal"]),
            }
            for p in _read_csv(folder / "provinces.csv")
        ),
        fields=(
            "region_id",
            "kind",
            "name_fr",
            "name_ar",
            "latitude",
            "longitude",
            "boundary_svg",
            "population_total",
            "population_women",
            "population_legal",
        ),
    )
    say(f"provinces: {provinces.created} created, {provinces.updated} updated")

    province_ids = _ids(Province)
    communes = _upsert(
        Commune,
        (
            {
                "code": c["code"],
                "province_id": province_ids[c["province_code"]],
                "name_fr": c["name_fr"],
                "name_ar": c["name_ar"],
                "is_urban": c["area"] == "urban",
                "latitude": float(c["latitude"]),
                "longitude": float(c["longitude"]),
                "coordinate_source": c["coordinate_source"],
                "population_total": _int(c["population_total"]),
                "population_women": _int_or_none(c["population_women"]),
                "population_legal": _int(c["population_legal"]),
            }
            for c in _read_csv(folder / "communes.csv")
        ),
        fields=(
            "province_id",
            "name_fr",
            "name_ar",
            "is_urban",
            "latitude",
            "longitude",
            "coordinate_source",
            "population_total",
            "population_women",
            "population_legal",
        ),
    )
    say(f"communes: {communes.created} created, {communes.updated} updated")
    return LoadResult(regions=regions, provinces=provinces, communes=communes)
