"""Correcting her record after intake through the services: incidents classified again,
perpetrators re-indexed and checked again for repeats, dependants sealed, every change on the
timeline and in the audit log by field name only, and the same policy as every other edit."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from himaya.accounts.roles import Role
from himaya.cases import services
from himaya.cases.classification import GbvimsType, ViolenceForm
from himaya.cases.intake import DependantData, IncidentData, PerpetratorData, SurvivorData
from himaya.cases.models import (
    Alert,
    AlertKind,
    CaseFile,
    Dependant,
    Incident,
    Perpetrator,
    Relationship,
    TimelineEntry,
)
from himaya.cases.states import CaseState
from himaya.core.actor import Actor
from himaya.core.errors import InvalidInput, NotFound, PermissionDenied
from himaya.core.models import AuditEvent, BlindIndexEntry
from himaya.network.models import Agency
from tests.cases.api_helpers import API, READ, bearer, token_for
from tests.cases.helpers import (
    Staff,
    days_ago,
    make_actor,
    make_commune,
    make_person,
    make_unit,
    open_case,
)

pytestmark = pytest.mark.django_db

CANARY_CHILD = "CANARY-CHILD-Yasmine"


def _unit_officer() -> tuple[Agency, Actor]:
    unit = make_unit()
    return unit, make_actor(Role.UNIT_OFFICER, unit)


def test_correcting_an_incident_classifies_it_again_and_says_which_fields_changed() -> None:
    _unit, officer = _unit_officer()
    case = open_case(officer)
    incident = case.incidents.get()
    assert incident.gbvims_type == GbvimsType.PHYSICAL_ASSAULT

    services.incident_update(
        actor=officer,
        case_id=case.pk,
        incident_id=incident.pk,
        data=IncidentData(occurred_on=days_ago(3), forms=[ViolenceForm.SEXUAL]),
    )

    incident.refresh_from_db()
    assert incident.forms == [ViolenceForm.SEXUAL]
    assert incident.gbvims_type != GbvimsType.PHYSICAL_ASSAULT
    entry = TimelineEntry.objects.get(case=case, kind="incident_updated")
    assert entry.metadata["fields"] == ["forms"]
    assert entry.metadata["reclassified"] is True
    assert entry.actor_id == officer.user_id
    event = AuditEvent.objects.get(action="case.incident_update")
    assert event.target_id == str(case.pk)
    assert event.metadata["fields"] == ["forms"]


def test_an_unchanged_incident_writes_nothing() -> None:
    _unit, officer = _unit_officer()
    case = open_case(officer)
    incident = case.incidents.get()
    services.incident_update(
        actor=officer,
        case_id=case.pk,
        incident_id=incident.pk,
        data=IncidentData(occurred_on=incident.occurred_on, forms=list(incident.forms)),
    )
    assert not TimelineEntry.objects.filter(case=case, kind="incident_updated").exists()


def test_an_impossible_incident_correction_is_refused_on_its_field_and_changes_nothing() -> None:
    _unit, officer = _unit_officer()
    case = open_case(officer)
    incident = case.incidents.get()
    with pytest.raises(InvalidInput) as caught:
        services.incident_update(
            actor=officer,
            case_id=case.pk,
            incident_id=incident.pk,
            data=IncidentData(occurred_on=days_ago(-5), forms=[], commune_id=999_999),
        )
    assert set(caught.value.fields) == {"occurred_on", "forms", "commune_id"}
    assert Incident.objects.get(pk=incident.pk).forms == [ViolenceForm.PHYSICAL]


def test_an_incident_of_another_case_or_unit_is_not_found() -> None:
    _unit, officer = _unit_officer()
    mine, other_case = open_case(officer), open_case(officer)
    foreign_officer = make_actor(Role.UNIT_OFFICER, make_unit())
    data = IncidentData(occurred_on=days_ago(2), forms=[ViolenceForm.ECONOMIC])
    with pytest.raises(NotFound):
        services.incident_update(
            actor=officer,
            case_id=mine.pk,
            incident_id=other_case.incidents.get().pk,
            data=data,
        )
    with pytest.raises(NotFound):
        services.incident_update(
            actor=foreign_officer,
            case_id=mine.pk,
            incident_id=mine.incidents.get().pk,
            data=data,
        )


def test_a_new_incident_commune_places_the_named_perpetrator_in_the_index() -> None:
    _unit, officer = _unit_officer()
    case = open_case(officer)
    perpetrator = case.perpetrators.get()
    before = set(
        BlindIndexEntry.objects.filter(
            object_id=str(perpetrator.pk), purpose="perpetrator_match"
        ).values_list("digest", flat=True)
    )
    commune = make_commune("Anfa")
    services.perpetrator_update(
        actor=officer,
        case_id=case.pk,
        perpetrator_id=perpetrator.pk,
        data=PerpetratorData(relationship=Relationship.SPOUSE, full_name="Karim Alaoui"),
    )
    named = set(
        BlindIndexEntry.objects.filter(
            object_id=str(perpetrator.pk), purpose="perpetrator_match"
        ).values_list("digest", flat=True)
    )
    services.incident_update(
        actor=officer,
        case_id=case.pk,
        incident_id=case.incidents.get().pk,
        data=IncidentData(occurred_on=days_ago(3), forms=["physical"], commune_id=commune.pk),
    )
    placed = set(
        BlindIndexEntry.objects.filter(
            object_id=str(perpetrator.pk), purpose="perpetrator_match"
        ).values_list("digest", flat=True)
    )
    # A name alone places him nowhere; the incident's new commune makes him findable there.
    assert before == named == set()
    assert placed


def test_correcting_his_phone_moves_his_index_and_finds_the_repeat_in_another_unit() -> None:
    first_unit, first = _unit_officer()
    second_unit, second = _unit_officer()
    a = open_case(
        first,
        survivor=SurvivorData(full_name="Amina"),
        perpetrators=[PerpetratorData(relationship=Relationship.EX_SPOUSE, phone="0699887766")],
    )
    b = open_case(
        second,
        survivor=SurvivorData(full_name="Salma"),
        perpetrators=[PerpetratorData(relationship=Relationship.SPOUSE, phone="0611223344")],
    )
    assert not CaseFile.objects.filter(repeat_perpetrator=True).exists()
    him = b.perpetrators.get()
    old = set(
        BlindIndexEntry.objects.filter(
            object_id=str(him.pk), purpose="perpetrator_phone"
        ).values_list("digest", flat=True)
    )

    services.perpetrator_update(
        actor=second,
        case_id=b.pk,
        perpetrator_id=him.pk,
        data=PerpetratorData(relationship=Relationship.SPOUSE, phone="+212 699 887 766"),
    )

    new = set(
        BlindIndexEntry.objects.filter(
            object_id=str(him.pk), purpose="perpetrator_phone"
        ).values_list("digest", flat=True)
    )
    assert new
    assert new.isdisjoint(old)
    assert CaseFile.objects.get(pk=a.pk).repeat_perpetrator
    assert CaseFile.objects.get(pk=b.pk).repeat_perpetrator
    alerts = {
        (alert.agency_id, alert.case_id, alert.other_agency_id)
        for alert in Alert.objects.filter(kind=AlertKind.REPEAT_PERPETRATOR)
    }
    assert alerts == {
        (second_unit.pk, b.pk, first_unit.pk),
        (first_unit.pk, a.pk, second_unit.pk),
    }
    entry = TimelineEntry.objects.get(case=b, kind="perpetrator_updated")
    assert entry.metadata["fields"] == ["phone"]
    event = AuditEvent.objects.get(action="case.perpetrator_update")
    assert event.metadata["repeat_matches"] == 1
    assert "0699887766" not in str(event.metadata) + str(entry.metadata)


def test_a_wrong_phone_or_cin_for_him_is_refused_and_nothing_changes() -> None:
    _unit, officer = _unit_officer()
    case = open_case(officer)
    him = case.perpetrators.get()
    with pytest.raises(InvalidInput) as caught:
        services.perpetrator_update(
            actor=officer,
            case_id=case.pk,
            perpetrator_id=him.pk,
            data=PerpetratorData(relationship="", phone="12", cin="not a cin"),
        )
    assert set(caught.value.fields) == {"relationship", "phone", "cin"}
    assert Perpetrator.objects.get(pk=him.pk).relationship == Relationship.SPOUSE


def test_a_dependant_is_added_sealed_and_corrected() -> None:
    _unit, officer = _unit_officer()
    case = open_case(officer)
    child = services.dependant_add(
        actor=officer,
        case_id=case.pk,
        data=DependantData(first_name=CANARY_CHILD, age=4, relationship="child"),
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT first_name FROM cases_dependant WHERE id = %s", [child.pk])
        (raw,) = cursor.fetchone()
    assert CANARY_CHILD.encode() not in bytes(raw, "utf-8") if isinstance(raw, str) else bytes(raw)
    services.dependant_update(
        actor=officer,
        case_id=case.pk,
        dependant_id=child.pk,
        data=DependantData(
            first_name="", age=5, relationship="child", at_risk=False, declined=["first_name"]
        ),
    )
    again = Dependant.objects.get(pk=child.pk)
    assert (again.first_name, again.age, again.at_risk, again.declined) == (
        "",
        5,
        False,
        ["first_name"],
    )
    entry = TimelineEntry.objects.get(case=case, kind="dependant_updated")
    assert entry.metadata["fields"] == ["age", "at_risk", "declined", "first_name"]
    assert TimelineEntry.objects.filter(case=case, kind="dependant_added").exists()


def test_a_dependant_age_out_of_range_is_refused_on_the_age() -> None:
    _unit, officer = _unit_officer()
    case = open_case(officer)
    with pytest.raises(InvalidInput) as caught:
        services.dependant_add(
            actor=officer, case_id=case.pk, data=DependantData(age=45, declined=["shoe_size"])
        )
    assert set(caught.value.fields) == {"age", "declined"}
    assert not Dependant.objects.filter(case=case).exists()


def test_a_closed_case_cannot_be_corrected() -> None:
    unit = make_unit()
    chief = make_actor(Role.UNIT_CHIEF, unit)
    case = open_case(chief)
    services.case_request_closure(actor=chief, case_id=case.pk, reason="no_contact")
    services.case_approve_closure(actor=chief, case_id=case.pk)
    assert CaseFile.objects.get(pk=case.pk).state == CaseState.CLOSED
    with pytest.raises(PermissionDenied):
        services.dependant_add(actor=chief, case_id=case.pk, data=DependantData(age=3))
    with pytest.raises(PermissionDenied):
        services.incident_update(
            actor=chief,
            case_id=case.pk,
            incident_id=case.incidents.get().pk,
            data=IncidentData(occurred_on=days_ago(1), forms=["physical"]),
        )


def test_records_are_parsed_with_the_intakes_messages_without_its_prefix() -> None:
    with pytest.raises(InvalidInput) as caught:
        services.survivor_from_dict({"date_of_birth": "2020-02-31", "residence_commune_id": "x"})
    assert set(caught.value.fields) == {"date_of_birth", "residence_commune_id"}
    with pytest.raises(InvalidInput) as caught:
        services.dependant_from_dict({"age": "four"})
    assert set(caught.value.fields) == {"age"}
    assert services.dependant_from_dict({"age": "4", "at_risk": ""}).age == 4


# --- the same services through the API ----------------------------------------------------


def _api_staff() -> tuple[Staff, Client, dict[str, str]]:
    staff = make_person(Role.UNIT_OFFICER, make_unit())
    return staff, Client(), bearer(token_for(staff))


def test_the_api_corrects_her_record_with_the_intakes_messages() -> None:
    staff, client, headers = _api_staff()
    case = open_case(staff.actor, survivor=SurvivorData(full_name="Amina Tazi"))
    wrong = client.put(
        f"{API}/{case.pk}/survivor",
        {"full_name": "Amina", "phone": "123", "date_of_birth": "2020-13-01"},
        content_type="application/json",
        headers=headers,
    )
    assert wrong.status_code == 422
    assert set(wrong.json()["error"]["fields"]) == {"date_of_birth"}
    wrong = client.put(
        f"{API}/{case.pk}/survivor",
        {"full_name": "Amina", "phone": "123", "date_of_birth": "2099-01-01"},
        content_type="application/json",
        headers=headers,
    )
    assert wrong.status_code == 422
    assert set(wrong.json()["error"]["fields"]) == {"phone", "date_of_birth"}
    right = client.put(
        f"{API}/{case.pk}/survivor",
        {"full_name": "Amina", "phone": "0612345678", "declined": ["cin"]},
        content_type="application/json",
        headers=headers,
    )
    assert right.status_code == 200, right.content
    assert right.json()["declined"] == ["cin"]
    survivor = CaseFile.objects.select_related("survivor__data_key").get(pk=case.pk).survivor
    assert (survivor.full_name, survivor.phone) == ("Amina", "+212612345678")


def test_the_api_corrects_incidents_perpetrators_and_dependants() -> None:
    staff, client, headers = _api_staff()
    case = open_case(staff.actor)
    incident = case.incidents.get()
    response = client.put(
        f"{API}/{case.pk}/incidents/{incident.pk}",
        {"occurred_on": days_ago(2).isoformat(), "forms": ["technology"]},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200, response.content
    assert response.json()["forms"] == ["technology"]
    him = case.perpetrators.get()
    response = client.put(
        f"{API}/{case.pk}/perpetrators/{him.pk}",
        {"relationship": "stranger", "number_involved": 2},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200, response.content
    assert response.json()["number_involved"] == 2
    added = client.post(
        f"{API}/{case.pk}/dependants",
        {"first_name": "Imane", "age": 6, "relationship": "child"},
        content_type="application/json",
        headers=headers,
    )
    assert added.status_code == 201, added.content
    corrected = client.put(
        f"{API}/{case.pk}/dependants/{added.json()['id']}",
        {"age": 7, "at_risk": False},
        content_type="application/json",
        headers=headers,
    )
    assert corrected.status_code == 200
    assert corrected.json()["age"] == 7
    assert "first_name" not in corrected.json()


def test_the_api_answers_404_for_another_units_records_and_refuses_a_read_only_token() -> None:
    staff, client, _headers = _api_staff()
    case = open_case(staff.actor)
    _other, other_client, other_headers = _api_staff()
    response = other_client.put(
        f"{API}/{case.pk}/incidents/{case.incidents.get().pk}",
        {"occurred_on": days_ago(2).isoformat(), "forms": ["physical"]},
        content_type="application/json",
        headers=other_headers,
    )
    assert response.status_code == 404
    read_only = bearer(token_for(staff, READ))
    response = client.post(
        f"{API}/{case.pk}/dependants",
        {"age": 3},
        content_type="application/json",
        headers=read_only,
    )
    assert response.status_code == 403
    assert not Dependant.objects.exists()
