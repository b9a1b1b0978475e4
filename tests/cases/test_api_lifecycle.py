"""Working on a case through the API: notes, tasks, consent, the life cycle, sharing on a
legal basis, alerts, and adding incidents and perpetrators -- the same services, policies
and messages as the pages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from himaya.accounts.roles import Role
from himaya.cases.intake import MSG_FUTURE_INCIDENT, MSG_PHONE
from himaya.cases.models import CaseFile, Note, Task
from himaya.network.models import AgencyKind
from tests.accounts.helpers import make_agency
from tests.cases.api_helpers import API, READ, WRITE, bearer, open_via_api, post, token_for
from tests.cases.helpers import days_ago, make_person, make_unit

pytestmark = pytest.mark.django_db


class Unit:
    def __init__(self) -> None:
        agency = make_unit()
        self.chief = make_person(Role.UNIT_CHIEF, agency)
        self.officer = make_person(Role.UNIT_OFFICER, agency)
        self.chief_token = token_for(self.chief, READ, WRITE)
        self.officer_token = token_for(self.officer, READ, WRITE)


@pytest.fixture
def unit() -> Unit:
    return Unit()


@pytest.fixture
def case_id(client: Client, unit: Unit) -> str:
    case_id: str = open_via_api(client, unit.officer_token)["id"]
    return case_id


def _state(client: Client, case_id: str, token: str) -> str:
    state: str = client.get(f"{API}/{case_id}", headers=bearer(token)).json()["state"]
    return state


# --- notes and tasks ----------------------------------------------------------------------


def test_a_note_is_sealed_and_shown_to_the_unit(client: Client, unit: Unit, case_id: str) -> None:
    added = post(
        client, f"{API}/{case_id}/notes", {"body": "She called."}, bearer(unit.officer_token)
    )
    assert added.status_code == 201
    assert Note.objects.get(pk=added.json()["id"]).body == "She called."
    notes = client.get(f"{API}/{case_id}", headers=bearer(unit.chief_token)).json()["notes"]
    assert [note["body"] for note in notes["items"]] == ["She called."]
    assert notes["items"][0]["author_id"] == unit.officer.user.pk

    empty = post(client, f"{API}/{case_id}/notes", {"body": "  "}, bearer(unit.officer_token))
    assert empty.status_code == 422
    assert list(empty.json()["error"]["fields"]) == ["body"]


def test_a_task_is_added_completed_and_kept_in_the_overdue_key(
    client: Client, unit: Unit, case_id: str
) -> None:
    due = days_ago(-7).isoformat()
    added = post(
        client,
        f"{API}/{case_id}/tasks",
        {"description": "Call the shelter.", "due_on": due, "assigned_to_id": unit.officer.user.pk},
        bearer(unit.officer_token),
    )
    assert added.status_code == 201, added.content
    task = added.json()
    assert (task["due_on"], task["assigned_to_id"], task["done_at"]) == (
        due,
        unit.officer.user.pk,
        None,
    )
    detail = client.get(f"{API}/{case_id}", headers=bearer(unit.officer_token)).json()
    assert [t["description"] for t in detail["open_tasks"]] == ["Call the shelter."]
    assert detail["next_due_on"] == due

    done = post(client, f"{API}/tasks/{task['id']}/complete", {}, bearer(unit.officer_token))
    assert done.status_code == 200
    assert done.json()["done_at"] is not None
    assert Task.objects.get(pk=task["id"]).done_at is not None
    assert CaseFile.objects.get(pk=case_id).next_due_on is None


def test_a_task_in_the_past_or_for_a_stranger_is_refused(
    client: Client, unit: Unit, case_id: str
) -> None:
    past = post(
        client,
        f"{API}/{case_id}/tasks",
        {"description": "Too late.", "due_on": days_ago(2).isoformat()},
        bearer(unit.officer_token),
    )
    assert past.status_code == 422
    assert list(past.json()["error"]["fields"]) == ["due_on"]
    stranger = make_person(Role.UNIT_OFFICER)
    foreign = post(
        client,
        f"{API}/{case_id}/tasks",
        {
            "description": "x",
            "due_on": days_ago(-1).isoformat(),
            "assigned_to_id": stranger.user.pk,
        },
        bearer(unit.officer_token),
    )
    assert foreign.status_code == 422
    assert list(foreign.json()["error"]["fields"]) == ["assigned_to_id"]
    assert not Task.objects.exists()


# --- the life cycle -----------------------------------------------------------------------


def test_the_life_cycle_through_the_api(client: Client, unit: Unit, case_id: str) -> None:
    officer, chief = bearer(unit.officer_token), bearer(unit.chief_token)

    moved = post(client, f"{API}/{case_id}/transition", {"to_state": "assessed"}, officer)
    assert (moved.status_code, moved.json()["state"]) == (200, "assessed")

    assigned = post(client, f"{API}/{case_id}/assign", {"officer_id": unit.officer.user.pk}, chief)
    assert assigned.json()["assigned_to_id"] == unit.officer.user.pk
    mine = client.get(f"{API}/queue?view=mine", headers=officer).json()["items"]
    assert [item["id"] for item in mine] == [case_id]
    assert post(client, f"{API}/{case_id}/assign", {"officer_id": None}, officer).status_code == 403

    asked = post(client, f"{API}/{case_id}/closure", {"reason": "services_completed"}, officer)
    assert asked.json()["state"] == "closure_requested"
    assert post(client, f"{API}/{case_id}/closure/approve", {}, officer).status_code == 403
    declined = post(client, f"{API}/{case_id}/closure/decline", {}, chief)
    assert declined.json()["state"] == "assessed"

    post(client, f"{API}/{case_id}/closure", {"reason": "survivor_decided"}, officer)
    closed = post(client, f"{API}/{case_id}/closure/approve", {}, chief)
    assert closed.json()["state"] == "closed"
    assert closed.json()["closure_reason"] == "survivor_decided"
    assert closed.json()["closed_at"] is not None
    refused = post(client, f"{API}/{case_id}/notes", {"body": "After closing."}, officer)
    assert refused.status_code == 403

    too_short = post(client, f"{API}/{case_id}/reopen", {"reason": "back"}, chief)
    assert too_short.status_code == 422
    assert list(too_short.json()["error"]["fields"]) == ["reason"]
    reason = {"reason": "She came back after a new incident."}
    assert post(client, f"{API}/{case_id}/reopen", reason, officer).status_code == 403
    reopened = post(client, f"{API}/{case_id}/reopen", reason, chief)
    assert reopened.json()["state"] == "open"

    kinds = [
        entry["kind"]
        for entry in client.get(f"{API}/{case_id}/timeline", headers=officer).json()["items"]
    ]
    assert kinds == [
        "opened",
        "transition",
        "assigned",
        "closure_requested",
        "closure_declined",
        "closure_requested",
        "closed",
        "reopened",
    ]


def test_a_step_the_case_cannot_take_from_where_it_is_is_a_conflict(
    client: Client, unit: Unit, case_id: str
) -> None:
    officer = bearer(unit.officer_token)
    post(client, f"{API}/{case_id}/transition", {"to_state": "referred"}, officer)
    back = post(client, f"{API}/{case_id}/transition", {"to_state": "assessed"}, officer)
    assert back.status_code == 409
    assert back.json()["error"]["code"] == "transition_refused"
    closing = post(client, f"{API}/{case_id}/transition", {"to_state": "closed"}, officer)
    assert closing.status_code == 422
    assert list(closing.json()["error"]["fields"]) == ["to_state"]
    assert _state(client, case_id, unit.officer_token) == "referred"


# --- consent, sharing on a legal basis, alerts --------------------------------------------


def test_sharing_without_consent_needs_a_basis_and_alerts_the_chief(
    client: Client, unit: Unit, case_id: str
) -> None:
    officer = bearer(unit.officer_token)
    shelter = make_agency(AgencyKind.SHELTER)
    minor = post(
        client,
        f"{API}/{case_id}/share-without-consent",
        {
            "agency_id": shelter.pk,
            "basis": "minor",
            "reason": "She says she is sixteen.",
            "scope": ["identity"],
        },
        officer,
    )
    assert minor.status_code == 422
    assert list(minor.json()["error"]["fields"]) == ["basis"]

    shared = post(
        client,
        f"{API}/{case_id}/share-without-consent",
        {
            "agency_id": shelter.pk,
            "basis": "life_threat",
            "reason": "He threatened to kill her tonight.",
            "scope": ["identity", "contact"],
        },
        officer,
    )
    assert shared.status_code == 201, shared.content
    assert shared.json()["basis"] == "life_threat"
    sharing = client.get(f"{API}/{case_id}", headers=officer).json()["sharing"]
    assert [(g["agency_id"], g["basis"]) for g in sharing] == [(shelter.pk, "life_threat")]

    # An officer is refused the alerts, as on the page (policies.may_read_alerts).
    assert client.get(f"{API}/alerts", headers=officer).status_code == 404
    alerts = client.get(f"{API}/alerts", headers=bearer(unit.chief_token)).json()["items"]
    assert [(a["kind"], a["other_agency_id"]) for a in alerts] == [
        ("shared_without_consent", shelter.pk)
    ]
    alert_id = alerts[0]["id"]
    assert post(client, f"{API}/alerts/{alert_id}/read", {}, officer).status_code == 404
    read = post(client, f"{API}/alerts/{alert_id}/read", {}, bearer(unit.chief_token))
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    assert client.get(f"{API}/alerts", headers=bearer(unit.chief_token)).json()["items"] == []


def test_consent_answers_are_recorded_and_checked(client: Client, unit: Unit, case_id: str) -> None:
    officer = bearer(unit.officer_token)
    recorded = post(
        client,
        f"{API}/{case_id}/consents",
        {"purpose": "share_health", "granted": True, "scope": ["incidents"]},
        officer,
    )
    assert recorded.status_code == 201
    assert (recorded.json()["purpose"], recorded.json()["scope"]) == ("share_health", ["incidents"])
    no_scope = post(
        client, f"{API}/{case_id}/consents", {"purpose": "share_ngo", "granted": True}, officer
    )
    assert no_scope.status_code == 422
    assert list(no_scope.json()["error"]["fields"]) == ["scope"]
    nothing = post(client, f"{API}/{case_id}/consents/share_ngo/revoke", {}, officer)
    assert nothing.status_code == 422
    assert list(nothing.json()["error"]["fields"]) == ["purpose"]


def test_the_alerts_list_is_paged_by_keyset(client: Client, unit: Unit) -> None:
    for _ in range(3):
        case_id = open_via_api(client, unit.officer_token)["id"]
        post(
            client,
            f"{API}/{case_id}/closure",
            {"reason": "duplicate"},
            bearer(unit.officer_token),
        )
    chief = bearer(unit.chief_token)
    first = client.get(f"{API}/alerts?limit=2", headers=chief).json()
    assert len(first["items"]) == 2
    rest = client.get(f"{API}/alerts?limit=2&cursor={first['next_cursor']}", headers=chief).json()
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    ids = [a["id"] for a in first["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True)


# --- incidents and perpetrators -----------------------------------------------------------


def test_an_incident_is_added_and_checked_as_at_intake(
    client: Client, unit: Unit, case_id: str
) -> None:
    officer = bearer(unit.officer_token)
    added = post(
        client,
        f"{API}/{case_id}/incidents",
        {"occurred_on": days_ago(1).isoformat(), "forms": ["sexual"], "acts": ["rape"]},
        officer,
    )
    assert added.status_code == 201, added.content
    assert added.json()["gbvims_type"] == "rape"
    future = post(
        client,
        f"{API}/{case_id}/incidents",
        {"occurred_on": "2999-01-01", "forms": ["physical"]},
        bearer(unit.officer_token, language="fr"),
    )
    assert future.status_code == 422
    with translation.override("fr"):
        assert future.json()["error"]["fields"] == {"occurred_on": [str(MSG_FUTURE_INCIDENT)]}
    detail = client.get(f"{API}/{case_id}", headers=officer).json()
    assert len(detail["incidents"]) == 2


def test_a_perpetrator_named_in_another_units_file_flags_the_case(
    client: Client, unit: Unit, case_id: str
) -> None:
    elsewhere = make_person(Role.UNIT_OFFICER)
    other_case = open_via_api(
        client,
        token_for(elsewhere, WRITE),
        survivor={"full_name": "Khadija Alaoui"},
        perpetrators=[{"relationship": "ex_spouse", "phone": "0661000111"}],
    )
    invalid = post(
        client,
        f"{API}/{case_id}/perpetrators",
        {"relationship": "spouse", "phone": "12"},
        bearer(unit.officer_token, language="ar"),
    )
    assert invalid.status_code == 422
    with translation.override("ar"):
        assert invalid.json()["error"]["fields"] == {"phone": [str(MSG_PHONE)]}

    added = post(
        client,
        f"{API}/{case_id}/perpetrators",
        {"relationship": "spouse", "phone": "+212661000111"},
        bearer(unit.officer_token),
    )
    assert added.status_code == 201, added.content
    assert added.json()["case_repeat_perpetrator"] is True
    assert CaseFile.objects.get(pk=other_case["id"]).repeat_perpetrator is True
    chief_alerts = client.get(f"{API}/alerts", headers=bearer(unit.chief_token)).json()["items"]
    assert [(a["kind"], a["other_agency_id"]) for a in chief_alerts] == [
        ("repeat_perpetrator", elsewhere.actor.agency_id)
    ]
