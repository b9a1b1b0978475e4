"""The case life cycle: opening, references, transitions, assignment, closure with the
chief's approval, reopening, notes and tasks -- each step a timeline entry and an audit
event written in the same transaction."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from himaya.accounts.roles import Role
from himaya.cases import selectors, services
from himaya.cases.classification import GbvimsType, IncidentAct, ViolenceForm
from himaya.cases.errors import TransitionRefused
from himaya.cases.intake import PerpetratorData, SurvivorData
from himaya.cases.models import (
    Alert,
    AlertKind,
    CaseFile,
    Note,
    Relationship,
    Task,
    TimelineEntry,
)
from himaya.cases.states import CaseState
from himaya.core.actor import Actor
from himaya.core.errors import InvalidInput, NotFound, PermissionDenied
from himaya.core.models import AuditEvent
from tests.cases.helpers import (
    an_incident,
    days_ago,
    make_actor,
    make_person,
    make_unit,
    open_case,
)

pytestmark = pytest.mark.django_db


def audit_actions(case: CaseFile) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_type="cases.case", target_id=str(case.pk))
        .order_by("sequence")
        .values_list("action", flat=True)
    )


def next_due(case: CaseFile) -> date | None:
    return CaseFile.objects.values_list("next_due_on", flat=True).get(pk=case.pk)


def kinds(case: CaseFile) -> list[str]:
    return list(TimelineEntry.objects.filter(case=case).values_list("kind", flat=True))


@pytest.fixture
def unit_staff() -> tuple[Actor, Actor]:
    unit = make_unit()
    return make_actor(Role.UNIT_CHIEF, unit), make_actor(Role.UNIT_OFFICER, unit)


# --- opening and references ---------------------------------------------------------------


def test_references_count_per_unit_and_year_and_say_nothing_about_her() -> None:
    first_unit, second_unit = make_unit(), make_unit()
    a = make_actor(Role.UNIT_OFFICER, first_unit)
    b = make_actor(Role.UNIT_OFFICER, second_unit)
    year = timezone.localdate().year
    one, two = open_case(a), open_case(a)
    other = open_case(b)
    assert one.reference == f"U{first_unit.pk:04d}-{year}-00001"
    assert two.reference == f"U{first_unit.pk:04d}-{year}-00002"
    assert other.reference == f"U{second_unit.pk:04d}-{year}-00001"
    assert re.fullmatch(r"U\d{4}-\d{4}-\d{5}", one.reference)


def test_opening_records_the_whole_intake_with_a_timeline_entry_and_audit(
    unit_staff: tuple[Actor, Actor],
) -> None:
    _, officer = unit_staff
    case = open_case(
        officer,
        survivor=SurvivorData(full_name="Salma Idrissi", phone="0661234567"),
        incidents=[
            an_incident(forms=[ViolenceForm.PHYSICAL], acts=[IncidentAct.SEXUAL_ASSAULT]),
            an_incident(occurred_on=None, occurred_from=days_ago(90), occurred_to=days_ago(60)),
        ],
        perpetrators=[PerpetratorData(relationship=Relationship.SPOUSE, full_name="Karim")],
    )
    assert case.state == CaseState.OPEN
    assert case.created_by_id == officer.user_id
    assert case.incidents.count() == 2
    assert set(case.incidents.values_list("gbvims_type", flat=True)) == {
        GbvimsType.SEXUAL_ASSAULT,
        GbvimsType.PHYSICAL_ASSAULT,
    }
    assert case.perpetrators.count() == 1
    opened = TimelineEntry.objects.get(case=case, kind="opened")
    assert opened.actor_id == officer.user_id
    assert opened.to_state == CaseState.OPEN
    assert opened.at is not None
    assert "case.open" in audit_actions(case)
    # Her data key and the perpetrator's are distinct subjects.
    perpetrator = case.perpetrators.get()
    assert perpetrator.data_key_id != case.survivor.data_key_id


def test_only_unit_staff_open_cases() -> None:
    prosecutor = make_actor(Role.PROSECUTOR)
    with pytest.raises(PermissionDenied):
        open_case(prosecutor)
    assert not CaseFile.objects.exists()


# --- transitions --------------------------------------------------------------------------


def test_a_transition_is_a_timeline_entry_with_actor_and_time(
    unit_staff: tuple[Actor, Actor],
) -> None:
    _, officer = unit_staff
    case = open_case(officer)
    services.case_transition(actor=officer, case_id=case.pk, to_state=CaseState.ASSESSED)
    case.refresh_from_db()
    assert case.state == CaseState.ASSESSED
    entry = TimelineEntry.objects.get(case=case, kind="transition")
    assert (entry.from_state, entry.to_state) == (CaseState.OPEN, CaseState.ASSESSED)
    assert entry.actor_id == officer.user_id
    assert "case.transition" in audit_actions(case)


def test_a_transition_not_in_the_table_is_refused(unit_staff: tuple[Actor, Actor]) -> None:
    _, officer = unit_staff
    case = open_case(officer)
    services.case_transition(actor=officer, case_id=case.pk, to_state=CaseState.ASSESSED)
    with pytest.raises(TransitionRefused):
        services.case_transition(actor=officer, case_id=case.pk, to_state=CaseState.OPEN)
    case.refresh_from_db()
    assert case.state == CaseState.ASSESSED


def test_closing_is_not_a_plain_transition(unit_staff: tuple[Actor, Actor]) -> None:
    chief, _ = unit_staff
    case = open_case(chief)
    for target in (CaseState.CLOSED, CaseState.CLOSURE_REQUESTED, "nonsense"):
        with pytest.raises(InvalidInput) as caught:
            services.case_transition(actor=chief, case_id=case.pk, to_state=target)
        assert "to_state" in caught.value.fields


def test_another_units_officer_gets_not_found_for_any_write(
    unit_staff: tuple[Actor, Actor],
) -> None:
    chief, _ = unit_staff
    case = open_case(chief)
    stranger = make_actor(Role.UNIT_CHIEF, make_unit())
    with pytest.raises(NotFound):
        services.case_transition(actor=stranger, case_id=case.pk, to_state=CaseState.ASSESSED)
    with pytest.raises(NotFound):
        services.note_add(actor=stranger, case_id=case.pk, body="x")
    with pytest.raises(NotFound):
        services.case_assign(actor=stranger, case_id=case.pk, officer_id=None)
    with pytest.raises(NotFound):
        services.note_add(actor=stranger, case_id="not-a-uuid", body="x")


# --- assignment ---------------------------------------------------------------------------


def test_the_chief_assigns_an_officer_of_the_unit(unit_staff: tuple[Actor, Actor]) -> None:
    chief, officer = unit_staff
    case = open_case(officer)
    services.case_assign(actor=chief, case_id=case.pk, officer_id=officer.user_id)
    case.refresh_from_db()
    assert case.assigned_to_id == officer.user_id
    entry = TimelineEntry.objects.get(case=case, kind="assigned")
    assert entry.metadata["officer"] == officer.user_id
    assert "case.assign" in audit_actions(case)


def test_an_officer_cannot_assign(unit_staff: tuple[Actor, Actor]) -> None:
    _, officer = unit_staff
    case = open_case(officer)
    with pytest.raises(PermissionDenied):
        services.case_assign(actor=officer, case_id=case.pk, officer_id=officer.user_id)


def test_a_case_cannot_be_assigned_to_someone_outside_the_unit(
    unit_staff: tuple[Actor, Actor],
) -> None:
    chief, _ = unit_staff
    case = open_case(chief)
    outsider = make_person(Role.UNIT_OFFICER, make_unit())
    with pytest.raises(InvalidInput) as caught:
        services.case_assign(actor=chief, case_id=case.pk, officer_id=outsider.user.pk)
    assert "officer_id" in caught.value.fields


# --- closure and reopening ----------------------------------------------------------------


def test_closure_needs_a_reason_and_the_chiefs_approval(
    unit_staff: tuple[Actor, Actor],
) -> None:
    chief, officer = unit_staff
    case = open_case(officer)
    with pytest.raises(InvalidInput) as caught:
        services.case_request_closure(actor=officer, case_id=case.pk, reason="bored")
    assert "reason" in caught.value.fields
    services.case_request_closure(actor=officer, case_id=case.pk, reason="survivor_decided")
    alert = Alert.objects.get(case=case, kind=AlertKind.CLOSURE_REQUESTED)
    assert alert.agency_id == case.unit_id
    with pytest.raises(PermissionDenied):
        services.case_approve_closure(actor=officer, case_id=case.pk)
    services.case_approve_closure(actor=chief, case_id=case.pk)
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED
    assert case.closure_reason == "survivor_decided"
    assert case.closed_at is not None
    alert.refresh_from_db()
    assert alert.read_at is not None
    assert kinds(case)[-2:] == ["closure_requested", "closed"]
    assert {"case.closure_requested", "case.closed"} <= set(audit_actions(case))


def test_a_declined_closure_returns_the_case_to_where_it_was(
    unit_staff: tuple[Actor, Actor],
) -> None:
    chief, officer = unit_staff
    case = open_case(officer)
    services.case_transition(actor=officer, case_id=case.pk, to_state=CaseState.ASSESSED)
    services.case_request_closure(actor=officer, case_id=case.pk, reason="no_contact")
    services.case_decline_closure(actor=chief, case_id=case.pk)
    case.refresh_from_db()
    assert case.state == CaseState.ASSESSED
    assert case.closure_reason == ""


def test_the_chief_reopens_a_closed_case_with_a_reason(
    unit_staff: tuple[Actor, Actor],
) -> None:
    chief, officer = unit_staff
    case = open_case(officer)
    services.case_request_closure(actor=officer, case_id=case.pk, reason="no_contact")
    services.case_approve_closure(actor=chief, case_id=case.pk)
    with pytest.raises(PermissionDenied):
        services.case_reopen(actor=officer, case_id=case.pk, reason="She came back today.")
    with pytest.raises(InvalidInput) as caught:
        services.case_reopen(actor=chief, case_id=case.pk, reason="")
    assert "reason" in caught.value.fields
    services.case_reopen(actor=chief, case_id=case.pk, reason="She came back to the unit.")
    case.refresh_from_db()
    assert case.state == CaseState.OPEN
    assert case.closed_at is None
    event = AuditEvent.objects.get(action="case.reopened", target_id=str(case.pk))
    assert event.reason == "She came back to the unit."


def test_a_closed_case_takes_no_notes(unit_staff: tuple[Actor, Actor]) -> None:
    chief, _ = unit_staff
    case = open_case(chief)
    services.case_request_closure(actor=chief, case_id=case.pk, reason="duplicate")
    services.case_approve_closure(actor=chief, case_id=case.pk)
    with pytest.raises(PermissionDenied):
        services.note_add(actor=chief, case_id=case.pk, body="late note")


# --- notes and tasks ----------------------------------------------------------------------


def test_a_note_is_sealed_at_rest(unit_staff: tuple[Actor, Actor]) -> None:
    _, officer = unit_staff
    case = open_case(officer)
    text = "Elle a peur de rentrer ce soir, NoteCanary4471"
    note = services.note_add(actor=officer, case_id=case.pk, body=text)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT body FROM {Note._meta.db_table} WHERE id = %s", [note.pk])  # noqa: S608
        raw = bytes(cursor.fetchone()[0])
    assert b"NoteCanary4471" not in raw
    assert Note.objects.get(pk=note.pk).body == text
    entry = TimelineEntry.objects.get(case=case, kind="note_added")
    assert "NoteCanary4471" not in str(entry.metadata)


def test_an_empty_note_is_refused_on_its_field(unit_staff: tuple[Actor, Actor]) -> None:
    _, officer = unit_staff
    case = open_case(officer)
    with pytest.raises(InvalidInput) as caught:
        services.note_add(actor=officer, case_id=case.pk, body="   ")
    assert "body" in caught.value.fields


def test_tasks_keep_the_cases_next_due_date(unit_staff: tuple[Actor, Actor]) -> None:
    chief, officer = unit_staff
    case = open_case(officer)
    today = timezone.localdate()
    later = services.task_add(
        actor=officer, case_id=case.pk, description="Call the shelter", due_on=today + timedelta(5)
    )
    sooner = services.task_add(
        actor=officer,
        case_id=case.pk,
        description="Medical certificate",
        due_on=today + timedelta(1),
        assigned_to_id=chief.user_id,
    )
    assert next_due(case) == today + timedelta(1)
    services.task_complete(actor=officer, task_id=sooner.pk)
    assert next_due(case) == today + timedelta(5)
    services.task_complete(actor=officer, task_id=later.pk)
    assert next_due(case) is None
    assert Task.objects.filter(case=case, done_at__isnull=False).count() == 2
    assert audit_actions(case).count("case.task_complete") == 2


def test_a_task_due_in_the_past_is_refused(unit_staff: tuple[Actor, Actor]) -> None:
    _, officer = unit_staff
    case = open_case(officer)
    with pytest.raises(InvalidInput) as caught:
        services.task_add(
            actor=officer, case_id=case.pk, description="Too late", due_on=date(2000, 1, 1)
        )
    assert "due_on" in caught.value.fields


# --- her record, incidents, perpetrators ---------------------------------------------------


def test_updating_her_phone_reindexes_her_and_logs_only_field_names(
    unit_staff: tuple[Actor, Actor],
) -> None:
    _, officer = unit_staff
    case = open_case(officer, survivor=SurvivorData(full_name="Nadia Amrani", phone="0611111111"))
    services.survivor_update(
        actor=officer,
        case_id=case.pk,
        data=SurvivorData(full_name="Nadia Amrani", phone="0622222222"),
    )
    assert not selectors.find_by_phone(actor=officer, phone="0611111111").own
    assert selectors.find_by_phone(actor=officer, phone="0622222222").own[0].case == case
    entry = TimelineEntry.objects.get(case=case, kind="survivor_updated")
    assert entry.metadata == {"fields": ["phone"]}
    assert "0622222222" not in str(entry.metadata)


def test_her_birth_date_cannot_come_after_a_recorded_incident(
    unit_staff: tuple[Actor, Actor],
) -> None:
    _, officer = unit_staff
    case = open_case(officer, incidents=[an_incident(occurred_on=days_ago(400))])
    with pytest.raises(InvalidInput) as caught:
        services.survivor_update(
            actor=officer,
            case_id=case.pk,
            data=SurvivorData(full_name="Amina Tazi", date_of_birth=days_ago(100)),
        )
    assert "date_of_birth" in caught.value.fields


def test_an_added_incident_is_classified_and_checked_against_her_birth(
    unit_staff: tuple[Actor, Actor],
) -> None:
    _, officer = unit_staff
    case = open_case(
        officer, survivor=SurvivorData(full_name="Amina Tazi", date_of_birth=date(2010, 5, 1))
    )
    incident = services.incident_add(
        actor=officer,
        case_id=case.pk,
        data=an_incident(forms=[ViolenceForm.ECONOMIC, ViolenceForm.PSYCHOLOGICAL]),
    )
    assert incident.gbvims_type == GbvimsType.DENIAL
    with pytest.raises(InvalidInput) as caught:
        services.incident_add(
            actor=officer, case_id=case.pk, data=an_incident(occurred_on=date(2009, 1, 1))
        )
    assert "occurred_on" in caught.value.fields
    assert "case.incident_add" in audit_actions(case)


def test_a_perpetrator_needs_a_relationship(unit_staff: tuple[Actor, Actor]) -> None:
    _, officer = unit_staff
    case = open_case(officer)
    with pytest.raises(InvalidInput) as caught:
        services.perpetrator_add(actor=officer, case_id=case.pk, data=PerpetratorData())
    assert "relationship" in caught.value.fields
    services.perpetrator_add(
        actor=officer,
        case_id=case.pk,
        data=PerpetratorData(relationship=Relationship.EX_SPOUSE, phone="0699887766"),
    )
    assert case.perpetrators.count() == 2


def test_every_write_leaves_an_audit_event_in_order(unit_staff: tuple[Actor, Actor]) -> None:
    chief, officer = unit_staff
    case = open_case(officer)
    services.note_add(actor=officer, case_id=case.pk, body="n")
    services.case_assign(actor=chief, case_id=case.pk, officer_id=officer.user_id)
    services.case_transition(actor=officer, case_id=case.pk, to_state=CaseState.REFERRED)
    assert audit_actions(case) == [
        "case.open",
        "case.note_add",
        "case.assign",
        "case.transition",
    ]
