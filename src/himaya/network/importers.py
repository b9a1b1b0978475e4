"""Import and export of the service network as CSV (format: docs/guides/network.md).

The import is all or nothing: every line is checked first, and any error (unknown commune,
duplicate agency, missing field, position outside Morocco, file not in UTF-8…) produces a
line-by-line report and changes nothing. Only a clean file is applied, in one transaction,
with one audit event.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from django.db import transaction
from django.utils.translation import gettext as _

from himaya.core import audit
from himaya.core.actor import Actor
from himaya.core.errors import PermissionDenied
from himaya.geo.models import Commune
from himaya.network import policies
from himaya.network.hours import (
    HoursSyntaxError,
    Interval,
    WeeklyHours,
    format_hours,
    parse_hours,
)
from himaya.network.index import bump_revision
from himaya.network.models import Agency, AgencyKind, Jurisdiction
from himaya.network.services import apply_agency
from himaya.network.text import fold
from himaya.network.validation import AgencyData, CommuneRef, check_agency

REQUIRED_COLUMNS = ("code", "kind", "name_ar", "name_fr", "commune_code")
OPTIONAL_COLUMNS = (
    "latitude",
    "longitude",
    "address",
    "hours",
    "languages",
    "services",
    "step_free_access",
    "accessibility_notes",
    "beds",
    "accepts_single_mothers",
    "accepts_children",
    "accepts_minors",
    "accepts_women_with_disabilities",
    "phone",
    "email",
    "website",
    "default_unit_code",
    "focal_points",
    "competent_communes",
    "is_active",
    "is_synthetic",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
LIST_SEPARATOR = "|"
_TRUE = {"1", "yes", "true", "oui", "y"}
_FALSE = {"", "0", "no", "false", "non", "n"}
#: Above this many errors the report stops listing (the file needs fixing at its source).
MAX_REPORTED_ERRORS = 500


@dataclass(frozen=True, slots=True)
class LineError:
    line: int  # 0 for the file as a whole
    column: str
    message: str

    def __str__(self) -> str:
        where = _("line %(line)d") % {"line": self.line} if self.line else _("file")
        column = f" [{self.column}]" if self.column else ""
        return f"{where}{column}: {self.message}"


@dataclass(slots=True)
class ImportReport:
    rows: int = 0
    errors: list[LineError] = field(default_factory=list)
    warnings: list[LineError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    dry_run: bool = False
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(slots=True)
class _Row:
    line: int
    data: AgencyData
    commune: CommuneRef | None
    default_unit_code: str
    competent_codes: list[str]
    existing_id: int | None = None


class _Lookups:
    """Everything the checks need, loaded once (a few queries for the whole file)."""

    def __init__(self) -> None:
        self.communes: dict[str, CommuneRef] = {
            code: CommuneRef(pk, lat, lon)
            for code, pk, lat, lon in Commune.objects.values_list(
                "code", "id", "latitude", "longitude"
            )
        }
        self.agency_by_code: dict[str, tuple[int, str]] = {}
        self.agency_by_identity: dict[tuple[str, int | None, str], tuple[int, str | None]] = {}
        for pk, code, kind, commune_id, name_fr in Agency.objects.values_list(
            "id", "code", "kind", "commune_id", "name_fr"
        ):
            if code:
                self.agency_by_code[code] = (pk, kind)
            self.agency_by_identity[(kind, commune_id, fold(name_fr))] = (pk, code)
        self.jurisdiction: dict[int, int] = dict(
            Jurisdiction.objects.values_list("commune_id", "office_id")
        )


def _decode(raw: bytes, report: ImportReport) -> str | None:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            report.errors.append(
                LineError(
                    number,
                    "",
                    _("This line is not UTF-8 text. Save the file as “CSV UTF-8” and try again."),
                )
            )
            if len(report.errors) >= MAX_REPORTED_ERRORS:
                break
    return None


def _bool(value: str, column: str, line: int, report: ImportReport) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text not in _FALSE:
        report.errors.append(
            LineError(line, column, _("Write yes or no, not “%(value)s”.") % {"value": value[:20]})
        )
    return False


def _float(value: str, column: str, line: int, report: ImportReport) -> float | None:
    text = value.strip().replace(",", ".")
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        report.errors.append(
            LineError(line, column, _("“%(value)s” is not a number.") % {"value": value[:20]})
        )
        return None
    if not math.isfinite(number):
        report.errors.append(LineError(line, column, _("Enter a finite number.")))
        return None
    return number


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(LIST_SEPARATOR) if item.strip()]


def _focal_points(value: str, line: int, report: ImportReport) -> list[tuple[str, str]]:
    points = []
    for item in _list(value):
        name, _sep, phone = item.partition(":")
        if not name.strip():
            report.errors.append(
                LineError(line, "focal_points", _("Write each focal point as Name:phone."))
            )
            continue
        points.append((name.strip(), phone.strip()))
    return points


def _read_rows(text: str, report: ImportReport, lookups: _Lookups) -> list[_Row]:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing:
        report.errors.append(
            LineError(1, "", _("Missing columns: %(columns)s.") % {"columns": ", ".join(missing)})
        )
    if unknown:
        report.errors.append(
            LineError(
                1,
                "",
                _("Unknown columns: %(columns)s (see docs/guides/network.md).")
                % {"columns": ", ".join(c[:40] for c in unknown[:10])},
            )
        )
    if len(set(header)) != len(header):
        report.errors.append(LineError(1, "", _("A column appears twice in the header.")))
    if report.errors:
        return []
    rows: list[_Row] = []
    try:
        for record in reader:
            line = reader.line_num
            if None in record:
                report.errors.append(LineError(line, "", _("This line has too many fields.")))
                continue
            values = {k: _unprotect((v or "").strip()) for k, v in record.items()}
            if not any(values.values()):
                continue  # a blank line
            report.rows += 1
            rows.append(_read_row(values, line, report, lookups))
            if len(report.errors) >= MAX_REPORTED_ERRORS:
                break
    except csv.Error as exc:
        report.errors.append(
            LineError(
                reader.line_num,
                "",
                _("The CSV is malformed here: %(detail)s") % {"detail": str(exc)[:80]},
            )
        )
    return rows


def _read_row(values: dict[str, str], line: int, report: ImportReport, lookups: _Lookups) -> _Row:
    def get(name: str) -> str:
        return values.get(name, "")

    for name in REQUIRED_COLUMNS:
        if not get(name) and not (name == "commune_code" and get("kind") in _NATIONAL):
            report.errors.append(LineError(line, name, _("This field is required.")))
    commune_code = get("commune_code")
    commune = lookups.communes.get(commune_code) if commune_code else None
    if commune_code and commune is None:
        report.errors.append(
            LineError(
                line,
                "commune_code",
                _("No commune has the code “%(code)s”.") % {"code": commune_code[:32]},
            )
        )
    try:
        hours = parse_hours(get("hours"))
    except HoursSyntaxError as exc:
        report.errors.append(LineError(line, "hours", str(exc)))
        hours = WeeklyHours(False, ())
    beds_text = get("beds")
    beds: int | None = None
    if beds_text:
        if beds_text.isdigit():
            beds = int(beds_text)
        else:
            report.errors.append(LineError(line, "beds", _("Write the number of beds.")))
    data = AgencyData(
        kind=get("kind"),
        name_ar=get("name_ar"),
        name_fr=get("name_fr"),
        code=get("code") or None,
        commune_id=commune.id if commune else None,
        latitude=_float(get("latitude"), "latitude", line, report),
        longitude=_float(get("longitude"), "longitude", line, report),
        address=get("address"),
        hours=hours,
        languages=_list(get("languages")),
        services=_list(get("services")),
        step_free_access=_bool(get("step_free_access"), "step_free_access", line, report),
        accessibility_notes=get("accessibility_notes"),
        beds=beds,
        accepts_single_mothers=_bool(
            get("accepts_single_mothers"), "accepts_single_mothers", line, report
        ),
        accepts_children=_bool(get("accepts_children"), "accepts_children", line, report),
        accepts_minors=_bool(get("accepts_minors"), "accepts_minors", line, report),
        accepts_women_with_disabilities=_bool(
            get("accepts_women_with_disabilities"),
            "accepts_women_with_disabilities",
            line,
            report,
        ),
        phone=get("phone"),
        email=get("email"),
        website=get("website"),
        focal_points=_focal_points(get("focal_points"), line, report),
        is_active=_bool(get("is_active") or "yes", "is_active", line, report),
        is_synthetic=_bool(get("is_synthetic"), "is_synthetic", line, report),
    )
    if data.kind == AgencyKind.SHELTER and data.latitude is not None:
        report.warnings.append(
            LineError(
                line,
                "latitude",
                _("A shelter's position is never stored; its commune's centre is used."),
            )
        )
    return _Row(
        line=line,
        data=data,
        commune=commune,
        default_unit_code=get("default_unit_code"),
        competent_codes=_list(get("competent_communes")),
    )


_NATIONAL = {
    AgencyKind.HELPLINE.value,
    AgencyKind.CENTRAL_UNIT.value,
    AgencyKind.ADMINISTRATION.value,
}


def _check_rows(rows: list[_Row], report: ImportReport, lookups: _Lookups) -> None:
    """Rules across lines and against the database: duplicates, references, jurisdiction."""
    read_errors = {(e.line, e.column) for e in report.errors}
    _check_duplicates_in_file(rows, report)
    kinds_in_file = {r.data.code: r.data.kind for r in rows if r.data.code}
    for row in rows:
        _match_existing(row, report, lookups)
        data = row.data
        # The default unit must be a police unit, in the file or already in the directory.
        unit_kind = None
        if row.default_unit_code:
            unit_kind = kinds_in_file.get(row.default_unit_code)
            if unit_kind is None and row.default_unit_code in lookups.agency_by_code:
                unit_kind = lookups.agency_by_code[row.default_unit_code][1]
            # A placeholder id, so that check_agency checks the reference and its kind.
            data.default_unit_id = 0
        for column, messages in check_agency(
            data, commune=row.commune, default_unit_kind=unit_kind
        ).items():
            if (row.line, column) in read_errors or (
                column == "commune_code" and row.commune is None
            ):
                continue  # already reported while reading the line
            report.errors.extend(LineError(row.line, column, m) for m in messages)
        data.default_unit_id = None
    _check_jurisdictions(rows, report, lookups)


def _identity(data: AgencyData) -> tuple[str, int | None, str]:
    return (data.kind, data.commune_id, fold(data.name_fr))


def _check_duplicates_in_file(rows: list[_Row], report: ImportReport) -> None:
    first_line_of_code: dict[str, int] = {}
    first_line_of_identity: dict[tuple[str, int | None, str], int] = {}
    for row in rows:
        code = row.data.code
        if code and code in first_line_of_code:
            report.errors.append(
                LineError(
                    row.line,
                    "code",
                    _("Duplicate agency: code already used on line %(line)d.")
                    % {"line": first_line_of_code[code]},
                )
            )
        elif code:
            first_line_of_code[code] = row.line
        identity = _identity(row.data)
        if row.data.name_fr and identity in first_line_of_identity:
            report.errors.append(
                LineError(
                    row.line,
                    "name_fr",
                    _("Duplicate agency: same kind, commune and name as line %(line)d.")
                    % {"line": first_line_of_identity[identity]},
                )
            )
        else:
            first_line_of_identity[identity] = row.line


def _match_existing(row: _Row, report: ImportReport, lookups: _Lookups) -> None:
    """Find the agency a row updates: by code, else an uncoded agency of the same kind,
    commune and name (adopted, and given the row's code). Anything else of the same identity
    is a duplicate."""
    data = row.data
    by_code = lookups.agency_by_code.get(data.code) if data.code else None
    same = lookups.agency_by_identity.get(_identity(data))
    if by_code is not None:
        row.existing_id = by_code[0]
        if same is not None and same[0] != by_code[0]:
            report.errors.append(
                LineError(
                    row.line,
                    "name_fr",
                    _(
                        "Duplicate agency: another agency (code “%(code)s”) has the same "
                        "kind, commune and name."
                    )
                    % {"code": same[1] or "-"},
                )
            )
    elif same is not None and same[1]:
        report.errors.append(
            LineError(
                row.line,
                "code",
                _("Duplicate agency: it already exists with the code “%(code)s”.")
                % {"code": same[1]},
            )
        )
    elif same is not None:
        row.existing_id = same[0]


def _check_jurisdictions(rows: list[_Row], report: ImportReport, lookups: _Lookups) -> None:
    offices_in_file = {r.existing_id for r in rows if r.existing_id is not None}
    owner: dict[int, tuple[str, int]] = {}  # commune id -> (office label, line)
    for commune_id, office_id in lookups.jurisdiction.items():
        if office_id not in offices_in_file:
            owner[commune_id] = (str(office_id), 0)
    for row in rows:
        ids: list[int] = []
        for code in row.competent_codes:
            commune = lookups.communes.get(code)
            if commune is None:
                report.errors.append(
                    LineError(
                        row.line,
                        "competent_communes",
                        _("No commune has the code “%(code)s”.") % {"code": code[:32]},
                    )
                )
                continue
            previous = owner.get(commune.id)
            if previous is not None:
                where = (
                    _("line %(line)d") % {"line": previous[1]}
                    if previous[1]
                    else _("an office already in the directory")
                )
                report.errors.append(
                    LineError(
                        row.line,
                        "competent_communes",
                        _("Commune “%(code)s” is already given to %(where)s.")
                        % {"code": code[:32], "where": where},
                    )
                )
                continue
            owner[commune.id] = (row.data.code or "", row.line)
            ids.append(commune.id)
        row.data.competent_commune_ids = ids
        if row.competent_codes and row.data.kind != AgencyKind.PROSECUTION_OFFICE:
            report.errors.append(
                LineError(
                    row.line,
                    "competent_communes",
                    _("Only a prosecution office has competent communes."),
                )
            )


def import_network(
    raw: bytes,
    *,
    actor: Actor,
    dry_run: bool = False,
    deactivate_missing: bool = False,
) -> ImportReport:
    """Check ``raw`` (the CSV file's bytes) and, if every line is clean and not ``dry_run``,
    apply it in one transaction. With ``deactivate_missing``, active agencies of the kinds
    present in the file whose code is not in the file are deactivated (never deleted)."""
    if not (actor.is_system or policies.can_edit_network(actor)):
        raise PermissionDenied()
    report = ImportReport(dry_run=dry_run)
    text = _decode(raw, report)
    if text is None:
        return report
    if "\x00" in text:
        report.errors.append(LineError(0, "", _("This is not a text file.")))
        return report
    lookups = _Lookups()
    rows = _read_rows(text, report, lookups)
    if not rows:
        if not report.errors:
            report.errors.append(LineError(0, "", _("The file has no agency in it.")))
        return report
    _check_rows(rows, report, lookups)
    if report.errors:
        report.errors.sort(key=lambda e: (e.line, e.column))
        return report
    if dry_run:
        report.created = sum(1 for r in rows if r.existing_id is None)
        report.updated = len(rows) - report.created
        return report
    _apply(rows, report, actor=actor, lookups=lookups, deactivate_missing=deactivate_missing)
    report.applied = True
    return report


@transaction.atomic
def _apply(
    rows: list[_Row],
    report: ImportReport,
    *,
    actor: Actor,
    lookups: _Lookups,
    deactivate_missing: bool,
) -> None:
    # Offices in the file get their jurisdiction from the file: release first every commune
    # an office loses, so that communes can move between offices of the file in any order.
    offices = set(lookups.jurisdiction.values())
    for row in rows:
        if row.existing_id in offices:
            Jurisdiction.objects.filter(office_id=row.existing_id).exclude(
                commune_id__in=row.data.competent_commune_ids
            ).delete()
    # Police units first, so every default_unit_code of the file resolves.
    ordered = sorted(rows, key=lambda r: (r.data.kind != AgencyKind.POLICE_UNIT, r.line))
    code_to_id = {code: pk for code, (pk, _kind) in lookups.agency_by_code.items()}
    existing = Agency.objects.in_bulk([r.existing_id for r in rows if r.existing_id])
    for row in ordered:
        if row.default_unit_code:
            row.data.default_unit_id = code_to_id[row.default_unit_code]
        agency = existing.get(row.existing_id) if row.existing_id else None
        if agency is None:
            agency = Agency()
            apply_agency(actor=actor, agency=agency, data=row.data, commune=row.commune)
            report.created += 1
        else:
            if row.data.kind == AgencyKind.SHELTER and not row.data.address:
                row.data.address = None  # an empty cell keeps the sealed address
            changed = apply_agency(actor=actor, agency=agency, data=row.data, commune=row.commune)
            if changed:
                report.updated += 1
            else:
                report.unchanged += 1
        if agency.code:
            code_to_id[agency.code] = agency.pk
    if deactivate_missing:
        kinds = {r.data.kind for r in rows}
        codes = {r.data.code for r in rows if r.data.code}
        report.deactivated = (
            Agency.objects.filter(kind__in=kinds, is_active=True)
            .exclude(code__in=codes)
            .update(is_active=False)
        )
    audit.record(
        actor=actor,
        action="network.import",
        target_type="network.agency",
        target_id=None,
        metadata={
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "deactivated": report.deactivated,
        },
    )
    bump_revision()


# --- Export ---------------------------------------------------------------------------------


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def export_rows(
    *, actor: Actor, include_shelter_addresses: bool = False, reason: str = ""
) -> Iterator[list[str]]:
    """The header, then one row per agency (by kind and code), in the import format.

    A shelter's address is left empty unless ``include_shelter_addresses``, which only the
    command line may ask for, with a reason; that export is an audit event."""
    if not (actor.is_system or policies.can_edit_network(actor)):
        raise PermissionDenied()
    if include_shelter_addresses:
        if not policies.may_export_protected_addresses(actor):
            raise PermissionDenied()
        audit.record(
            actor=actor,
            action="network.export_protected",
            target_type="network.agency",
            target_id=None,
            reason=reason,
        )
    yield list(COLUMNS)
    agencies = (
        Agency.objects.select_related("commune", "default_unit", "data_key")
        .prefetch_related("opening_hours", "focal_points", "jurisdictions__commune")
        .order_by("kind", "code", "id")
    )
    if not include_shelter_addresses:
        agencies = agencies.defer("protected_address")
    for agency in agencies.iterator(chunk_size=500):
        yield _export_row(agency, include_shelter_addresses=include_shelter_addresses)


def _export_row(agency: Agency, *, include_shelter_addresses: bool) -> list[str]:
    hours = WeeklyHours(
        always_open=agency.open_24_7,
        intervals=tuple(Interval(h.weekday, h.opens, h.closes) for h in agency.opening_hours.all()),
    )
    if agency.kind == AgencyKind.SHELTER:
        address = str(agency.protected_address or "") if include_shelter_addresses else ""
        lat = lon = ""
    else:
        address = agency.address
        lat = "" if agency.latitude is None else f"{agency.latitude:.6f}"
        lon = "" if agency.longitude is None else f"{agency.longitude:.6f}"
    values = {
        "code": agency.code or "",
        "kind": agency.kind,
        "name_ar": agency.name_ar,
        "name_fr": agency.name_fr,
        "commune_code": agency.commune.code if agency.commune else "",
        "latitude": lat,
        "longitude": lon,
        "address": address,
        "hours": format_hours(hours),
        "languages": LIST_SEPARATOR.join(agency.languages),
        "services": LIST_SEPARATOR.join(agency.services),
        "step_free_access": _yes(agency.step_free_access),
        "accessibility_notes": agency.accessibility_notes,
        "beds": "" if agency.beds is None else str(agency.beds),
        "accepts_single_mothers": _yes(agency.accepts_single_mothers),
        "accepts_children": _yes(agency.accepts_children),
        "accepts_minors": _yes(agency.accepts_minors),
        "accepts_women_with_disabilities": _yes(agency.accepts_women_with_disabilities),
        "phone": agency.phone,
        "email": agency.email,
        "website": agency.website,
        "default_unit_code": (agency.default_unit.code or "") if agency.default_unit else "",
        "focal_points": LIST_SEPARATOR.join(
            f"{f.full_name}:{f.phone}" if f.phone else f.full_name
            for f in agency.focal_points.all()
            if f.is_active
        ),
        "competent_communes": LIST_SEPARATOR.join(
            sorted(j.commune.code for j in agency.jurisdictions.all())
        ),
        "is_active": _yes(agency.is_active),
        "is_synthetic": _yes(agency.is_synthetic),
    }
    return [_safe_cell(values[c]) for c in COLUMNS]


def _unprotect(value: str) -> str:
    """Undo ``_safe_cell``: the apostrophe that kept a spreadsheet from running a formula."""
    if len(value) > 1 and value[0] == "'" and value[1] in _FORMULA_STARTS:
        return value[1:]
    return value


_FORMULA_STARTS = "=+-@\t\r"


def _safe_cell(value: str) -> str:
    # A spreadsheet runs a cell starting with = + - @ as a formula (CSV injection).
    if value and value[0] in _FORMULA_STARTS and not _is_number(value):
        return "'" + value
    return value


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def write_csv(rows: Iterable[list[str]], stream: TextIO) -> int:
    writer = csv.writer(stream, lineterminator="\n")
    count = -1
    for row in rows:
        writer.writerow(row)
        count += 1
    return max(count, 0)


def group_errors_by_line(errors: Iterable[LineError]) -> dict[int, list[LineError]]:
    grouped: dict[int, list[LineError]] = defaultdict(list)
    for error in errors:
        grouped[error.line].append(error)
    return dict(grouped)
