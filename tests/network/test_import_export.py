"""CSV import (all or nothing, line-by-line report) and export (the same format back)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from himaya.core.actor import SYSTEM, Actor
from himaya.core.models import AuditEvent
from himaya.geo.models import Commune
from himaya.network.importers import COLUMNS, export_rows, import_network, write_csv
from himaya.network.models import Agency, AgencyKind, Jurisdiction
from tests.network.conftest import make_actor
from tests.network.helpers import agency

SHELTER_ADDRESS = "12 rue des Orangers, Hay Riad"


def csv_bytes(rows: list[dict[str, str]], *, columns: tuple[str, ...] = COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return out.getvalue().encode("utf-8")


def good_rows() -> list[dict[str, str]]:
    return [
        {
            "code": "DGSN-RABAT-1",
            "kind": "police_unit",
            "name_ar": "خلية الرباط",
            "name_fr": "Cellule de Rabat",
            "commune_code": "04.421.01.0",
            "latitude": "33.97",
            "longitude": "-6.84",
            "address": "Avenue Mohammed V",
            "hours": "24/7",
            "languages": "ar|ary|fr",
            "services": "complaint|first_reception",
            "step_free_access": "yes",
            "phone": "+212 537 00 00 00",
        },
        {
            "code": "DGSN-SALE-D1",
            "kind": "district_station",
            "name_ar": "الدائرة الأولى سلا",
            "name_fr": "Arrondissement 1 Salé",
            "commune_code": "04.441.01.0",
            "default_unit_code": "DGSN-RABAT-1",
            "focal_points": "Nadia Alaoui:+212 600 00 00 01",
        },
        {
            "code": "PARQUET-SALE",
            "kind": "prosecution_office",
            "name_ar": "النيابة العامة سلا",
            "name_fr": "Parquet de Salé",
            "commune_code": "04.441.01.0",
            "hours": "mon-fri 08:30-16:30",
            "competent_communes": "04.441.01.0|04.441.05.01",
        },
        {
            "code": "SHELTER-1",
            "kind": "shelter",
            "name_ar": "مركز الإيواء",
            "name_fr": "Centre d'hébergement",
            "commune_code": "04.421.01.0",
            "address": SHELTER_ADDRESS,
            "beds": "20",
            "accepts_children": "yes",
            "accepts_single_mothers": "oui",
        },
        {
            "code": "HELPLINE",
            "kind": "helpline",
            "name_ar": "الخط",
            "name_fr": "Ligne d'écoute",
            "phone": "8350",
            "hours": "24/7",
        },
    ]


def test_a_clean_file_is_imported_with_every_link(geo: dict[str, Commune]) -> None:
    report = import_network(csv_bytes(good_rows()), actor=SYSTEM)
    assert report.ok, [str(e) for e in report.errors]
    assert (report.created, report.updated, report.applied) == (5, 0, True)
    unit = Agency.objects.get(code="DGSN-RABAT-1")
    station = Agency.objects.get(code="DGSN-SALE-D1")
    assert station.default_unit_id == unit.pk
    assert list(station.focal_points.values_list("full_name", "phone")) == [
        ("Nadia Alaoui", "+212 600 00 00 01")
    ]
    office = Agency.objects.get(code="PARQUET-SALE")
    assert set(office.jurisdictions.values_list("commune__code", flat=True)) == {
        "04.441.01.0",
        "04.441.05.01",
    }
    assert office.opening_hours.count() == 5
    assert unit.languages == ["ar", "ary", "fr"]
    assert unit.open_24_7
    shelter = Agency.objects.get(code="SHELTER-1")
    assert shelter.address == ""
    assert shelter.protected_address == SHELTER_ADDRESS
    assert (shelter.latitude, shelter.longitude) == (geo["Rabat"].latitude, geo["Rabat"].longitude)
    assert AuditEvent.objects.filter(action="network.import").count() == 1


def test_a_shelter_address_is_stored_only_as_ciphertext(geo: dict[str, Commune]) -> None:
    import_network(csv_bytes(good_rows()), actor=SYSTEM)
    with connection.cursor() as cursor:
        cursor.execute("SELECT protected_address FROM network_agency WHERE code = 'SHELTER-1'")
        (raw,) = cursor.fetchone()
    assert raw is not None
    assert SHELTER_ADDRESS.encode() not in bytes(raw)
    assert b"Orangers" not in bytes(raw)


def test_a_dry_run_reports_and_changes_nothing(geo: dict[str, Commune]) -> None:
    report = import_network(csv_bytes(good_rows()), actor=SYSTEM, dry_run=True)
    assert report.ok
    assert (report.created, report.applied) == (5, False)
    assert not Agency.objects.exists()


def test_a_file_with_errors_gets_a_line_by_line_report_and_changes_nothing(
    geo: dict[str, Commune], admin: Actor
) -> None:
    existing = agency(admin, AgencyKind.POLICE_UNIT, geo["Agadir"], name="Unité Agadir")
    rows = good_rows()
    rows[0]["commune_code"] = "99.999.99.99"  # line 2: unknown commune
    rows[1]["code"] = "DGSN-RABAT-1"  # line 3: duplicate code
    rows[2]["name_ar"] = ""  # line 4: missing required field
    rows[3]["latitude"], rows[3]["longitude"] = "48.85", "2.35"  # shelter: ignored, warned
    rows.append(
        {
            "code": "OUT",
            "kind": "police_unit",
            "name_ar": "خارج",
            "name_fr": "Hors du Maroc",
            "commune_code": "04.421.01.0",
            "latitude": "40.41",
            "longitude": "-3.70",
        }
    )  # line 7: outside Morocco
    rows.append(
        {
            "code": "SWAP",
            "kind": "police_unit",
            "name_ar": "مقلوب",
            "name_fr": "Inversé",
            "commune_code": "04.421.01.0",
            "latitude": "-6.84",
            "longitude": "33.97",
        }
    )  # line 8: latitude and longitude swapped
    rows.append({"code": "NOKIND", "name_ar": "x", "name_fr": "y", "commune_code": "04.421.01.0"})
    before = list(Agency.objects.values_list("id", "code", "name_fr"))

    report = import_network(csv_bytes(rows), actor=SYSTEM)

    assert not report.ok
    by_line = {(e.line, e.column) for e in report.errors}
    assert (2, "commune_code") in by_line
    assert (3, "code") in by_line
    assert (4, "name_ar") in by_line
    assert (7, "latitude") in by_line
    assert (8, "latitude") in by_line
    assert (9, "kind") in by_line
    swapped = next(e for e in report.errors if e.line == 8)
    assert "swapped" in swapped.message
    assert "outside Morocco" in next(e for e in report.errors if e.line == 7).message
    assert [w.line for w in report.warnings] == [5]
    assert str(report.errors[0]).startswith("line 2 [commune_code]:")
    # All or nothing: not a single row was written, the existing agency is untouched.
    assert list(Agency.objects.values_list("id", "code", "name_fr")) == before
    assert Agency.objects.get(pk=existing.pk).name_fr == "Unité Agadir"
    assert not AuditEvent.objects.filter(action="network.import").exists()


def test_a_file_not_in_utf8_is_refused_with_the_lines_at_fault(geo: dict[str, Commune]) -> None:
    # A spreadsheet saved as "CSV (Windows)": line 3 has an é in Windows-1252, not UTF-8.
    latin_row = {
        "code": "X-1",
        "kind": "legal_aid",
        "name_ar": "x",
        "name_fr": "Aide à Fès",
        "commune_code": "04.421.01.0",
    }
    latin_line = csv_bytes([latin_row]).decode("utf-8").split("\n")[1].encode("cp1252")
    raw = csv_bytes(good_rows()[:1]) + latin_line + b"\n"
    report = import_network(raw, actor=SYSTEM)
    assert [(e.line, "UTF-8" in e.message) for e in report.errors] == [(3, True)]
    assert not Agency.objects.exists()


def test_a_duplicate_of_an_agency_already_in_the_directory_is_refused(
    geo: dict[str, Commune], admin: Actor
) -> None:
    agency(admin, AgencyKind.POLICE_UNIT, geo["Rabat"], name="Cellule de Rabat", code="OLD-CODE")
    report = import_network(csv_bytes(good_rows()[:1]), actor=SYSTEM)
    assert [(e.line, e.column) for e in report.errors] == [(2, "code")]
    assert "OLD-CODE" in report.errors[0].message
    assert Agency.objects.count() == 1


def test_a_commune_already_held_by_another_office_is_refused(
    geo: dict[str, Commune], admin: Actor
) -> None:
    agency(
        admin,
        AgencyKind.PROSECUTION_OFFICE,
        geo["Salé"],
        name="Parquet existant",
        competent_commune_ids=[geo["Ameur"].pk],
    )
    report = import_network(csv_bytes(good_rows()), actor=SYSTEM)
    assert [(e.line, e.column) for e in report.errors] == [(4, "competent_communes")]
    assert Jurisdiction.objects.count() == 1


def test_missing_and_unknown_columns_are_reported_on_the_header_line(
    geo: dict[str, Commune],
) -> None:
    raw = b"code,kind,name_fr,colour\nA,police_unit,X,red\n"
    report = import_network(raw, actor=SYSTEM)
    messages = [str(e) for e in report.errors]
    assert all(e.line == 1 for e in report.errors)
    assert any("name_ar" in m and "commune_code" in m for m in messages)
    assert any("colour" in m for m in messages)


def test_importing_the_same_file_twice_changes_nothing_the_second_time(
    geo: dict[str, Commune],
) -> None:
    raw = csv_bytes(good_rows())
    import_network(raw, actor=SYSTEM)
    again = import_network(raw, actor=SYSTEM)
    assert again.ok
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert Agency.objects.get(code="SHELTER-1").protected_address == SHELTER_ADDRESS


def test_an_export_imports_back_without_any_change(geo: dict[str, Commune]) -> None:
    rows = good_rows()
    rows[0]["name_fr"] = '=HYPERLINK("http://evil")'  # a formula must not reach a spreadsheet
    import_network(csv_bytes(rows), actor=SYSTEM)
    out = io.StringIO()
    assert write_csv(export_rows(actor=SYSTEM), out) == 5
    exported = out.getvalue()
    assert "'=HYPERLINK" in exported
    assert SHELTER_ADDRESS not in exported  # sealed addresses stay out by default
    report = import_network(exported.encode("utf-8"), actor=SYSTEM)
    assert report.ok, [str(e) for e in report.errors]
    assert (report.created, report.updated, report.unchanged) == (0, 0, 5)
    assert Agency.objects.get(code="DGSN-RABAT-1").name_fr.startswith("=HYPERLINK")
    assert Agency.objects.get(code="SHELTER-1").protected_address == SHELTER_ADDRESS


def test_exporting_shelter_addresses_is_for_the_command_line_only_and_audited(
    geo: dict[str, Commune], admin: Actor
) -> None:
    import_network(csv_bytes(good_rows()), actor=SYSTEM)
    with pytest.raises(Exception, match="not allowed"):
        list(export_rows(actor=admin, include_shelter_addresses=True, reason="need it"))
    rows = list(export_rows(actor=SYSTEM, include_shelter_addresses=True, reason="Migration"))
    assert any(SHELTER_ADDRESS in row for row in rows)
    assert AuditEvent.objects.filter(action="network.export_protected").count() == 1


def test_only_the_administrator_or_the_command_line_may_import(geo: dict[str, Commune]) -> None:
    with pytest.raises(Exception, match="not allowed"):
        import_network(csv_bytes(good_rows()), actor=make_actor("unit_chief"))
    assert not Agency.objects.exists()


def test_the_commands_report_errors_and_import_a_clean_file(
    geo: dict[str, Commune], tmp_path: Path
) -> None:
    bad = good_rows()
    bad[0]["commune_code"] = "00.000"
    bad_path = tmp_path / "bad.csv"
    bad_path.write_bytes(csv_bytes(bad))
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("import_network", str(bad_path), stderr=err)
    assert "line 2 [commune_code]" in err.getvalue()

    good_path = tmp_path / "good.csv"
    good_path.write_bytes(csv_bytes(good_rows()))
    out = io.StringIO()
    call_command("import_network", str(good_path), "--dry-run", stdout=out)
    assert "dry run" in out.getvalue()
    assert not Agency.objects.exists()
    call_command("import_network", str(good_path), stdout=out)
    assert Agency.objects.count() == 5

    export_path = tmp_path / "export.csv"
    call_command("export_network", str(export_path), stdout=out)
    assert export_path.read_text(encoding="utf-8").splitlines()[0] == ",".join(COLUMNS)
    assert SHELTER_ADDRESS not in export_path.read_text(encoding="utf-8")
