"""Finding her again by phone, CIN or name; duplicate and prior-contact detection; repeat
perpetrators. Everything goes through blind indexes, and what crosses units is only
whether a match exists and which unit to contact."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from himaya.accounts.roles import Role
from himaya.cases import search, selectors, services
from himaya.cases.intake import PerpetratorData, SurvivorData
from himaya.cases.models import AgeRange, Alert, AlertKind, CaseFile, Relationship, TimelineEntry
from himaya.cases.search import MatchReason
from himaya.core.actor import Actor
from himaya.core.errors import InvalidInput, PermissionDenied
from himaya.core.models import AuditEvent, BlindIndexEntry
from himaya.core.shredding import data_key_shred
from himaya.geo.models import Commune
from himaya.network.models import Agency
from tests.cases.helpers import an_incident, make_actor, make_commune, make_unit, open_case

pytestmark = pytest.mark.django_db


@dataclasses.dataclass
class Unit:
    agency: Agency
    chief: Actor
    officer: Actor


def a_unit() -> Unit:
    agency = make_unit()
    return Unit(
        agency=agency,
        chief=make_actor(Role.UNIT_CHIEF, agency),
        officer=make_actor(Role.UNIT_OFFICER, agency),
    )


@pytest.fixture
def casablanca() -> Commune:
    return make_commune("Casablanca")


# --- look-ups -----------------------------------------------------------------------------


def test_a_phone_finds_her_file_however_the_number_is_typed() -> None:
    unit = a_unit()
    case = open_case(unit.officer, survivor=SurvivorData(full_name="Amina", phone="0612345678"))
    for typed in ("0612345678", "+212 6 12 34 56 78", "00212612345678", "06-12-34-56-78"):
        result = selectors.find_by_phone(actor=unit.officer, phone=typed)
        assert [m.case.pk for m in result.own] == [case.pk]
        assert result.own[0].reasons == {MatchReason.PHONE}
        assert result.own[0].strong


def test_a_cin_finds_her_file_in_lower_case_or_with_spaces() -> None:
    unit = a_unit()
    case = open_case(unit.officer, survivor=SurvivorData(full_name="Amina", cin="BK418273"))
    result = selectors.find_by_cin(actor=unit.officer, cin="bk 418-273")
    assert [m.case.pk for m in result.own] == [case.pk]


def test_a_phone_or_cin_in_a_wrong_format_is_refused_on_its_field() -> None:
    unit = a_unit()
    with pytest.raises(InvalidInput) as caught:
        selectors.find_by_phone(actor=unit.officer, phone="12")
    assert list(caught.value.fields) == ["phone"]
    with pytest.raises(InvalidInput) as caught:
        selectors.find_by_cin(actor=unit.officer, cin="123-ABC")
    assert list(caught.value.fields) == ["cin"]


def test_a_name_in_arabic_finds_her_file_written_in_latin_letters() -> None:
    unit = a_unit()
    fatima = open_case(unit.officer, survivor=SurvivorData(full_name="Fatima Zahra Tazi"))
    open_case(unit.officer, survivor=SurvivorData(full_name="Khadija Tazi"))
    for typed in ("فاطمة التازي", "Fadma", "Tazi Fatema", "fatima zahra"):
        result = selectors.find_by_name(actor=unit.officer, name=typed)
        assert [m.case.pk for m in result.own] == [fatima.pk], typed


def test_searching_is_for_unit_staff_and_is_audited_without_the_value() -> None:
    unit = a_unit()
    open_case(unit.officer, survivor=SurvivorData(full_name="Amina", phone="0612345678"))
    with pytest.raises(PermissionDenied):
        selectors.find_by_phone(actor=make_actor(Role.SERVICE_PROVIDER), phone="0612345678")
    selectors.find_by_phone(actor=unit.officer, phone="0612345678")
    event = AuditEvent.objects.get(action="case.search")
    assert event.metadata["by"] == "phone"
    assert event.metadata["own"] == 1
    assert "612345678" not in str(event.metadata) + event.reason


def test_a_shredded_survivor_can_no_longer_be_found() -> None:
    unit = a_unit()
    case = open_case(unit.officer, survivor=SurvivorData(full_name="Amina", phone="0612345678"))
    data_key_shred(actor=unit.chief, data_key=case.survivor.data_key, reason="erasure request")
    assert not selectors.find_by_phone(actor=unit.officer, phone="0612345678").found
    assert not selectors.find_by_name(actor=unit.officer, name="Amina").found


# --- across units: whether, and which unit -------------------------------------------------


def test_another_unit_learns_only_which_unit_holds_a_file_with_this_phone() -> None:
    first, second = a_unit(), a_unit()
    open_case(first.officer, survivor=SurvivorData(full_name="Amina Tazi", phone="0612345678"))
    result = selectors.find_by_phone(actor=second.officer, phone="0612345678")
    assert result.own == []
    assert [u.agency_id for u in result.elsewhere] == [first.agency.pk]
    assert {f.name for f in dataclasses.fields(result.elsewhere[0])} == {
        "agency_id",
        "name_ar",
        "name_fr",
        "strong",
    }
    assert result.elsewhere[0].strong


def test_a_bare_name_never_reveals_a_file_in_another_unit() -> None:
    first, second = a_unit(), a_unit()
    open_case(first.officer, survivor=SurvivorData(full_name="Fatima Tazi"))
    result = selectors.find_by_name(actor=second.officer, name="Fatima Tazi")
    assert not result.found


def test_name_and_birth_date_reveal_the_other_unit_across_scripts() -> None:
    first, second = a_unit(), a_unit()
    born = date(1990, 3, 4)
    open_case(first.officer, survivor=SurvivorData(full_name="Fatima Tazi", date_of_birth=born))
    result = selectors.find_by_name(actor=second.officer, name="فاطمة التازي", date_of_birth=born)
    assert [(u.agency_id, u.strong) for u in result.elsewhere] == [(first.agency.pk, True)]
    other_day = selectors.find_by_name(
        actor=second.officer, name="Fatima Tazi", date_of_birth=date(1990, 3, 5)
    )
    assert not other_day.found


def test_name_and_commune_are_a_possible_match_only_when_ages_agree(casablanca: Commune) -> None:
    first, second = a_unit(), a_unit()
    open_case(
        first.officer,
        survivor=SurvivorData(
            full_name="Fadma Ait Baha",
            age_range=AgeRange.FROM_25,
            residence_commune_id=casablanca.pk,
        ),
    )
    found = selectors.find_by_name(
        actor=second.officer,
        name="Fatma Baha",
        commune_id=casablanca.pk,
        age_range=AgeRange.FROM_25,
    )
    assert [(u.agency_id, u.strong) for u in found.elsewhere] == [(first.agency.pk, False)]
    older = selectors.find_by_name(
        actor=second.officer,
        name="Fatma Baha",
        commune_id=casablanca.pk,
        age_range=AgeRange.FROM_60,
    )
    assert not older.found
    elsewhere = selectors.find_by_name(
        actor=second.officer, name="Fatma Baha", commune_id=make_commune().pk
    )
    assert not elsewhere.found


def test_duplicate_candidates_fold_spellings_and_rank_strong_matches_first() -> None:
    unit = a_unit()
    born = date(1988, 11, 20)
    same_phone = open_case(
        unit.officer, survivor=SurvivorData(full_name="Someone Else", phone="0677001122")
    )
    partial = open_case(
        unit.officer, survivor=SurvivorData(full_name="Khadija Ouhammou", date_of_birth=born)
    )
    open_case(unit.officer, survivor=SurvivorData(full_name="Khadija Ouhammou"))
    result = selectors.duplicate_candidates(
        actor=unit.officer,
        full_name="Khadija Bent Mohamed Ouhamou",
        phone="+212677001122",
        date_of_birth=born,
    )
    by_case = {m.case.pk: m for m in result.own}
    assert by_case[same_phone.pk].reasons == {MatchReason.PHONE}
    assert MatchReason.PARTIAL_NAME_AND_BIRTH_DATE in by_case[partial.pk].reasons
    assert len(result.own) == 2  # the undated namesake has only two of the four name parts
    assert result.own[0].strong


def test_duplicate_candidates_can_leave_out_the_file_being_checked() -> None:
    unit = a_unit()
    case = open_case(unit.officer, survivor=SurvivorData(full_name="Amina", phone="0612345678"))
    result = selectors.duplicate_candidates(
        actor=unit.officer, phone="0612345678", exclude_case_id=case.pk
    )
    assert not result.found


def test_prior_contact_in_another_unit_alerts_the_new_units_chief_only() -> None:
    first, second = a_unit(), a_unit()
    earlier = open_case(
        first.officer, survivor=SurvivorData(full_name="Amina Tazi", cin="BK418273")
    )
    case = open_case(second.officer, survivor=SurvivorData(full_name="Amina Tazi", cin="bk418273"))
    alert = Alert.objects.get(kind=AlertKind.PRIOR_CONTACT)
    assert (alert.agency_id, alert.case_id, alert.other_agency_id) == (
        second.agency.pk,
        case.pk,
        first.agency.pk,
    )
    assert selectors.alerts_for(actor=second.chief) == [alert]
    assert selectors.alerts_for(actor=first.chief) == []
    assert selectors.alerts_for(actor=second.officer) == []
    entry = TimelineEntry.objects.get(case=case, kind="prior_contact")
    assert str(earlier.pk) not in str(entry.metadata)
    assert earlier.reference not in str(entry.metadata)


# --- performance shape --------------------------------------------------------------------


def test_a_lookup_costs_the_same_queries_for_one_match_or_many() -> None:
    unit = a_unit()
    others = [a_unit() for _ in range(3)]

    def cost(phone: str) -> int:
        selectors.find_by_phone(actor=unit.officer, phone=phone)  # warm the type cache
        with CaptureQueriesContext(connection) as queries:
            result = selectors.find_by_phone(actor=unit.officer, phone=phone)
            names = [m.case.survivor.full_name for m in result.own]
        assert len(names) == len(result.own)
        return len(queries)

    open_case(unit.officer, survivor=SurvivorData(full_name="A", phone="0611000001"))
    one = cost("0611000001")
    for i in range(5):
        open_case(unit.officer, survivor=SurvivorData(full_name=f"B{i}", phone="0611000002"))
    for other in others:
        open_case(other.officer, survivor=SurvivorData(full_name="C", phone="0611000002"))
    many = cost("0611000002")
    assert one == many <= 6  # digests, files, own files, and the audit append (3)


def test_duplicate_detection_costs_a_fixed_number_of_queries() -> None:
    unit = a_unit()
    for i in range(6):
        open_case(
            unit.officer,
            survivor=SurvivorData(full_name="Fatima Tazi", date_of_birth=date(1990, 1, 1 + i)),
        )
    selectors.duplicate_candidates(actor=unit.officer, full_name="x")  # warm caches
    with CaptureQueriesContext(connection) as queries:
        result = selectors.duplicate_candidates(
            actor=unit.officer, full_name="Fatima Tazi", date_of_birth=date(1990, 1, 1)
        )
        assert [m.case.survivor.full_name for m in result.own] == ["Fatima Tazi"] * 6
    assert len(queries) <= 7


def test_an_intake_names_her_earlier_files_without_reading_them() -> None:
    """Prior contact at intake keeps only the unit's earlier references (strong matches
    first, then the newest): the files themselves, her sealed record and its key are not
    read, however many there are."""
    unit = a_unit()
    weak = open_case(
        unit.officer, survivor=SurvivorData(full_name="Houda Berrada", phone="0611000009")
    )
    strong = [
        open_case(unit.officer, survivor=SurvivorData(full_name="Houda", phone="0611000003"))
        for _ in range(2)
    ]
    with CaptureQueriesContext(connection) as queries:
        case = open_case(
            unit.officer, survivor=SurvivorData(full_name="Houda Berrada", phone="0611000003")
        )
    entry = TimelineEntry.objects.get(case=case, kind="prior_contact")
    assert entry.metadata["earlier_here"] == [strong[1].reference, strong[0].reference]
    assert weak.reference not in entry.metadata["earlier_here"]
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert not [sql for sql in reads if "cases_survivor" in sql and "full_name" in sql]


def test_an_intake_costs_the_same_statements_whatever_the_files_naming_him() -> None:
    """Every other file naming him is flagged, and its timeline told, in one statement each
    for all of them: a man named in many files costs no more round trips."""

    def statements(earlier: int, phone: str) -> int:
        him = [PerpetratorData(relationship=Relationship.SPOUSE, phone=phone)]
        # One woman's files in several units: not repeats of each other (she came back).
        her = SurvivorData(full_name="Amina Tazi", phone=f"061{phone[3:]}")
        files = [
            open_case(a_unit().officer, survivor=her, perpetrators=him) for _ in range(earlier)
        ]
        officer = a_unit().officer
        with CaptureQueriesContext(connection) as queries:
            open_case(officer, survivor=SurvivorData(full_name="Salma"), perpetrators=him)
        told = TimelineEntry.objects.filter(case__in=files, kind="repeat_perpetrator")
        assert told.count() == earlier
        return len(queries)

    statements(1, "0699000009")  # content types and the like, cached once per process
    assert statements(1, "0699000001") == statements(3, "0699000002")


def test_her_entries_hold_digests_only() -> None:
    unit = a_unit()
    case = open_case(
        unit.officer,
        survivor=SurvivorData(
            full_name="Nawal Chraibi",
            phone="0612345678",
            cin="BK418273",
            date_of_birth=date(1995, 2, 2),
        ),
    )
    entries = BlindIndexEntry.objects.filter(object_id=str(case.survivor.pk))
    purposes = set(entries.values_list("purpose", flat=True))
    assert purposes == {"survivor_phone", "survivor_cin", "survivor_name", "survivor_match"}
    for digest in entries.values_list("digest", flat=True):
        assert len(bytes(digest)) == 16
        assert b"Nawal" not in bytes(digest)


# --- repeat perpetrators ------------------------------------------------------------------


def test_one_man_in_two_survivors_complaints_flags_both_cases_and_alerts_both_chiefs() -> None:
    first, second = a_unit(), a_unit()
    him = PerpetratorData(relationship=Relationship.EX_SPOUSE, phone="0699887766")
    a = open_case(first.officer, survivor=SurvivorData(full_name="Amina"), perpetrators=[him])
    assert not CaseFile.objects.get(pk=a.pk).repeat_perpetrator
    b = open_case(
        second.officer,
        survivor=SurvivorData(full_name="Salma"),
        perpetrators=[PerpetratorData(relationship=Relationship.SPOUSE, phone="+212 699 887 766")],
    )
    assert CaseFile.objects.get(pk=a.pk).repeat_perpetrator
    assert CaseFile.objects.get(pk=b.pk).repeat_perpetrator
    alerts = {
        (alert.agency_id, alert.case_id, alert.other_agency_id)
        for alert in Alert.objects.filter(kind=AlertKind.REPEAT_PERPETRATOR)
    }
    assert alerts == {
        (first.agency.pk, a.pk, second.agency.pk),
        (second.agency.pk, b.pk, first.agency.pk),
    }
    # Her unit's timeline says which unit to contact, and nothing about the other file.
    entry = TimelineEntry.objects.get(case=a, kind="repeat_perpetrator")
    assert entry.metadata == {"other_unit": second.agency.pk}
    assert entry.actor_id is None


def test_the_same_man_named_again_by_the_same_woman_is_not_a_repeat() -> None:
    first, second = a_unit(), a_unit()
    her = SurvivorData(full_name="Amina Tazi", phone="0612345678")
    him = [PerpetratorData(relationship=Relationship.SPOUSE, cin="AB123456")]
    a = open_case(first.officer, survivor=her, perpetrators=him)
    b = open_case(second.officer, survivor=her, perpetrators=him)
    assert not CaseFile.objects.filter(pk__in=[a.pk, b.pk], repeat_perpetrator=True).exists()
    assert not Alert.objects.filter(kind=AlertKind.REPEAT_PERPETRATOR).exists()


def test_his_name_in_either_script_in_the_same_commune_is_a_repeat(casablanca: Commune) -> None:
    first, second = a_unit(), a_unit()
    open_case(
        first.officer,
        survivor=SurvivorData(full_name="Amina"),
        incidents=[an_incident(commune_id=casablanca.pk)],
        perpetrators=[
            PerpetratorData(
                relationship=Relationship.SPOUSE,
                full_name="Mohamed El Alaoui",
                age_range=AgeRange.FROM_35,
            )
        ],
    )
    elsewhere = open_case(
        second.officer,
        survivor=SurvivorData(full_name="Salma"),
        incidents=[an_incident(commune_id=make_commune().pk)],
        perpetrators=[PerpetratorData(relationship=Relationship.SPOUSE, full_name="محمد العلوي")],
    )
    assert not CaseFile.objects.get(pk=elsewhere.pk).repeat_perpetrator
    later = services.perpetrator_add(
        actor=second.officer,
        case_id=elsewhere.pk,
        data=PerpetratorData(relationship=Relationship.ACQUAINTANCE, full_name="Mohammed Alaoui"),
    )
    assert later.pk
    assert not CaseFile.objects.get(pk=elsewhere.pk).repeat_perpetrator
    services.incident_add(
        actor=second.officer, case_id=elsewhere.pk, data=an_incident(commune_id=casablanca.pk)
    )
    assert CaseFile.objects.get(pk=elsewhere.pk).repeat_perpetrator
    assert Alert.objects.filter(
        kind=AlertKind.REPEAT_PERPETRATOR, agency=first.agency, other_agency=second.agency
    ).exists()


def test_repeat_detection_is_not_repeated_in_alerts() -> None:
    first, second = a_unit(), a_unit()
    him = PerpetratorData(relationship=Relationship.SPOUSE, phone="0699887766")
    open_case(first.officer, survivor=SurvivorData(full_name="Amina"), perpetrators=[him])
    b = open_case(second.officer, survivor=SurvivorData(full_name="Salma"), perpetrators=[him])
    services.perpetrator_add(actor=second.officer, case_id=b.pk, data=him)
    assert Alert.objects.filter(kind=AlertKind.REPEAT_PERPETRATOR).count() == 2


def test_the_chief_marks_an_alert_read() -> None:
    first, second = a_unit(), a_unit()
    open_case(first.officer, survivor=SurvivorData(full_name="Amina", phone="0612345678"))
    open_case(second.officer, survivor=SurvivorData(full_name="Amina", phone="0612345678"))
    (alert,) = selectors.alerts_for(actor=second.chief)
    services.alert_mark_read(actor=second.chief, alert_id=alert.pk)
    assert selectors.alerts_for(actor=second.chief) == []


def test_terms_never_mix_units_for_names() -> None:
    assert search.name_terms("Fatima Tazi", unit_id=7) == ["t:7:ftm", "t:7:tz", "f:7:ftm-tz"]
