"""The case-file API: intake through the API, idempotency, validation in her language,
scopes, the queue's keyset pages, the OpenAPI schema, and bounded query counts.

Every request carries a real token made by ``token_create`` for a real membership; nothing
of our stack is mocked.
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from himaya.accounts.roles import Role
from himaya.cases import schemas, services
from himaya.cases.intake import (
    MSG_CIN,
    MSG_DATE,
    MSG_FUTURE_INCIDENT,
    MSG_PHONE,
    ConsentData,
    DependantData,
    IncidentData,
    IntakeData,
    InterviewData,
    PerpetratorData,
    SurvivorData,
)
from himaya.cases.models import CaseFile, Survivor, TimelineEntry
from himaya.core.crypto import clear_data_key_cache
from himaya.core.models import AuditEvent
from tests.cases.api_helpers import (
    API,
    INTAKE,
    READ,
    WRITE,
    bearer,
    intake_json,
    new_key,
    open_via_api,
    post,
    token_for,
)
from tests.cases.helpers import Staff, days_ago, make_person, make_unit, open_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer() -> Staff:
    return make_person(Role.UNIT_OFFICER, make_unit())


@pytest.fixture
def token(officer: Staff) -> str:
    return token_for(officer, READ, WRITE)


# --- intake -------------------------------------------------------------------------------


def test_a_full_intake_through_the_api_opens_a_case_found_in_the_queue(
    client: Client, officer: Staff, token: str
) -> None:
    opened = open_via_api(client, token)
    assert opened["replayed"] is False
    assert opened["state"] == "open"
    case = CaseFile.objects.get(pk=opened["id"])
    assert case.reference == opened["reference"]
    assert case.unit_id == officer.actor.agency_id
    assert case.created_by_id == officer.user.pk

    queue = client.get(f"{API}/queue?view=new", headers=bearer(token))
    assert queue.status_code == 200
    items = queue.json()["items"]
    assert [item["id"] for item in items] == [opened["id"]]
    assert items[0]["survivor_name"] == "Amina Tazi"

    detail = client.get(f"{API}/{opened['id']}", headers=bearer(token)).json()
    assert detail["survivor"]["phone"] == "+212612345678"  # E.164, as the pages store it
    assert detail["survivor"]["cin"] == "BK123456"
    assert detail["survivor"]["declined"] == ["residence_commune"]
    assert detail["narrative"] == "He hit me in the kitchen."
    assert detail["incidents"][0]["gbvims_type"] == "physical_assault"
    assert detail["perpetrators"][0]["full_name"] == "Karim Tazi"
    assert detail["dependants"][0]["first_name"] == "Yasmine"
    assert detail["consents"][0]["purpose"] == "share_shelter"
    assert detail["access"] == {
        "holding_unit": True,
        "groups": sorted(
            [
                "contact",
                "dependants",
                "evidence",
                "identity",
                "incidents",
                "narrative",
                "perpetrators",
            ]
        ),
        "bases": ["holding_unit"],
        "emergency": False,
        "grants": [],
    }


def test_the_same_idempotency_key_twice_opens_one_case_and_the_replay_answers_200(
    client: Client, token: str
) -> None:
    key = new_key()
    first = post(client, INTAKE, intake_json(), bearer(token, key=key))
    again = post(client, INTAKE, intake_json(), bearer(token, key=key))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["reference"] == first.json()["reference"]
    assert (first.json()["replayed"], again.json()["replayed"]) == (False, True)
    assert CaseFile.objects.count() == 1
    assert Survivor.objects.count() == 1
    assert AuditEvent.objects.filter(action="case.open_replayed").count() == 1


@pytest.mark.parametrize("key", ["short", "has spaces in it", "x" * 65, "<script>x</script>"])
def test_a_malformed_idempotency_key_is_refused_on_its_header(
    client: Client, token: str, key: str
) -> None:
    response = post(client, INTAKE, intake_json(), bearer(token, key=key, language="en"))
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["Idempotency-Key"]
    assert not CaseFile.objects.exists()


def test_an_intake_without_an_idempotency_key_is_refused(client: Client, token: str) -> None:
    response = post(client, INTAKE, intake_json(), bearer(token, language="en"))
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"Idempotency-Key": ["This field is required."]}
    assert not CaseFile.objects.exists()


def _racing_intakes(token: str, key: str, contenders: int) -> list[tuple[int, str]]:
    barrier = threading.Barrier(contenders)

    def submit() -> tuple[int, str]:
        try:
            barrier.wait(timeout=10)
            response = post(Client(), INTAKE, intake_json(), bearer(token, key=key))
            return response.status_code, str(response.json().get("id"))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=contenders) as pool:
        return list(pool.map(lambda _: submit(), range(contenders)))


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs real concurrent connections (the SQLite test database is in memory)",
)
def test_two_racing_requests_with_one_key_open_one_case_on_postgresql() -> None:
    ContentType.objects.clear_cache()
    officer = make_person(Role.UNIT_OFFICER, make_unit())
    token = token_for(officer, WRITE)
    for _ in range(3):
        key = new_key()
        results = _racing_intakes(token, key, contenders=2)
        assert sorted(status for status, _id in results) == [200, 201]
        assert len({case_id for _status, case_id in results}) == 1
        assert CaseFile.objects.filter(idempotency_key=key).count() == 1
    assert CaseFile.objects.count() == 3
    assert Survivor.objects.count() == 3


# --- validation, in her language ----------------------------------------------------------


def _invalid_intake() -> dict[str, Any]:
    return intake_json(
        survivor={"full_name": "Amina Tazi", "phone": "12", "cin": "123"},
        incidents=[
            {"occurred_on": days_ago(3).isoformat(), "forms": ["physical"]},
            {"occurred_on": "2999-01-01", "forms": ["physical"]},
        ],
    )


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_validation_errors_name_dotted_fields_in_the_callers_language(
    client: Client, token: str, language: str
) -> None:
    response = post(
        client, INTAKE, _invalid_intake(), bearer(token, key=new_key(), language=language)
    )
    assert response.status_code == 422
    assert response["Content-Language"] == language
    error = response.json()["error"]
    with translation.override(language):
        expected = {
            "survivor.phone": [str(MSG_PHONE)],
            "survivor.cin": [str(MSG_CIN)],
            "incidents.1.occurred_on": [str(MSG_FUTURE_INCIDENT)],
        }
        assert error["message"] == str(translation.gettext("Some fields need your attention."))
    with translation.override("en"):
        # The catalogue really translates these: the assertion above can fail.
        assert str(MSG_PHONE) not in expected["survivor.phone"]
    assert error["code"] == "invalid_input"
    assert error["fields"] == expected
    assert not CaseFile.objects.exists()


def test_a_date_that_does_not_exist_gets_the_same_message_as_on_the_intake_page(
    client: Client, token: str
) -> None:
    body = intake_json(incidents=[{"occurred_on": "2025-02-30", "forms": ["physical"]}])
    response = post(client, INTAKE, body, bearer(token, key=new_key(), language="fr"))
    assert response.status_code == 422
    with translation.override("fr"):
        assert response.json()["error"]["fields"] == {"incidents.0.occurred_on": [str(MSG_DATE)]}


def test_a_misspelt_key_is_refused_rather_than_silently_dropped(client: Client, token: str) -> None:
    body = intake_json(survivor={"fullname": "Amina Tazi"})
    response = post(client, INTAKE, body, bearer(token, key=new_key(), language="en"))
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "survivor.fullname": ["This field is not accepted here."]
    }


def test_the_intake_schema_has_every_field_the_intake_reads() -> None:
    """The API's intake schema fixes the structure; ``intake_from_dict`` reads the values.
    A field added to the intake must be added to the schema too, or the API refuses it."""
    pairs: list[tuple[type[Any], type[Any]]] = [
        (schemas.IntakeIn, IntakeData),
        (schemas.SurvivorIn, SurvivorData),
        (schemas.IncidentIn, IncidentData),
        (schemas.PerpetratorIn, PerpetratorData),
        (schemas.DependantIn, DependantData),
        (schemas.InterviewIn, InterviewData),
        (schemas.ConsentIn, ConsentData),
    ]
    for schema, data in pairs:
        assert set(schema.model_fields) == {f.name for f in dataclasses.fields(data)}, schema


# --- scopes -------------------------------------------------------------------------------


def test_each_operation_needs_its_scope(client: Client, officer: Staff) -> None:
    case = open_case(officer.actor)
    reader = token_for(officer, READ)
    writer = token_for(officer, WRITE)
    directory = token_for(officer, "network:read")

    refused = post(client, INTAKE, intake_json(), bearer(reader, key=new_key()))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"
    assert not CaseFile.objects.exclude(pk=case.pk).exists()
    assert post(client, f"{API}/{case.pk}/notes", {"body": "x"}, bearer(reader)).status_code == 403

    for path in (f"{API}/queue", f"{API}/{case.pk}", f"{API}/{case.pk}/timeline", f"{API}/alerts"):
        assert client.get(path, headers=bearer(writer)).status_code == 403, path
        assert client.get(path, headers=bearer(directory)).status_code == 403, path
        # The alerts are the unit chief's alone (policies.may_read_alerts): 404 to an officer.
        expected = 404 if path.endswith("/alerts") else 200
        assert client.get(path, headers=bearer(reader)).status_code == expected, path
    assert post(client, f"{API}/search", {"phone": "0612345678"}, bearer(writer)).status_code == 403

    written = post(client, f"{API}/{case.pk}/notes", {"body": "She called."}, bearer(writer))
    assert written.status_code == 201


def test_without_a_token_the_answer_is_401(client: Client, officer: Staff) -> None:
    case = open_case(officer.actor)
    assert client.get(f"{API}/{case.pk}").status_code == 401
    response = post(client, INTAKE, intake_json(), {"Idempotency-Key": new_key()})
    assert response.status_code == 401
    assert not CaseFile.objects.exclude(pk=case.pk).exists()


def test_roles_that_never_open_cases_are_refused_intake(client: Client) -> None:
    for role in (Role.NATIONAL_ANALYST, Role.SERVICE_PROVIDER, Role.PROSECUTOR):
        token = token_for(make_person(role), READ, WRITE)
        response = post(client, INTAKE, intake_json(), bearer(token, key=new_key()))
        assert response.status_code == 403, role
    assert not CaseFile.objects.exists()


# --- the queue ----------------------------------------------------------------------------


def test_the_queue_is_paged_by_keyset_newest_first(
    client: Client, officer: Staff, token: str
) -> None:
    cases = [open_case(officer.actor) for _ in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        path = f"{API}/queue?view=new&limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(path, headers=bearer(token)).json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    newest_first = sorted(cases, key=lambda c: (c.created_at, c.pk), reverse=True)
    assert seen == [str(c.pk) for c in newest_first]


def test_a_tampered_cursor_or_an_unknown_view_is_refused_on_its_field(
    client: Client, officer: Staff, token: str
) -> None:
    for _ in range(3):
        open_case(officer.actor)
    cursor = client.get(f"{API}/queue?limit=1", headers=bearer(token)).json()["next_cursor"]
    response = client.get(f"{API}/queue?cursor={cursor}x", headers=bearer(token))
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["cursor"]
    response = client.get(f"{API}/queue?view=everything", headers=bearer(token))
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["view"]


def test_the_queue_is_only_for_the_units_own_staff(client: Client) -> None:
    token = token_for(make_person(Role.SERVICE_PROVIDER), READ)
    assert client.get(f"{API}/queue", headers=bearer(token)).status_code == 403


# --- bounded queries ----------------------------------------------------------------------


def _queries(client: Client, path: str, token: str) -> int:
    clear_data_key_cache()  # cold: each survivor's key has to be fetched
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, headers=bearer(token))
    assert response.status_code == 200, response.content
    return len(captured)


def test_list_endpoints_cost_the_same_queries_for_two_rows_as_for_twelve(
    client: Client,
) -> None:
    unit = make_unit()
    chief = make_person(Role.UNIT_CHIEF, unit)
    token = token_for(chief, READ, WRITE)
    first = open_case(chief.actor)
    second = open_case(chief.actor)
    # Each closure request alerts the chief: the alerts list grows with the cases.
    services.case_request_closure(actor=chief.actor, case_id=second.pk, reason="duplicate")
    services.note_add(actor=chief.actor, case_id=first.pk, body="A note.")
    paths = [
        f"{API}/queue?view=awaiting_approval",
        f"{API}/{first.pk}/timeline",
        f"{API}/alerts",
        f"{API}/{first.pk}",
    ]
    client.get(f"{API}/queue", headers=bearer(token))  # the token's last-use stamp, once
    few = {path: _queries(client, path, token) for path in paths}

    for _ in range(10):
        case = open_case(chief.actor)
        services.case_request_closure(actor=chief.actor, case_id=case.pk, reason="duplicate")
        services.note_add(actor=chief.actor, case_id=first.pk, body="A note.")
        services.incident_add(
            actor=chief.actor,
            case_id=first.pk,
            data=IncidentData(occurred_on=days_ago(1), forms=["physical"]),
        )
        services.perpetrator_add(
            actor=chief.actor, case_id=first.pk, data=PerpetratorData(relationship="stranger")
        )
    assert TimelineEntry.objects.filter(case=first).count() >= 30
    many = {path: _queries(client, path, token) for path in paths}
    awaiting = client.get(paths[0], headers=bearer(token)).json()["items"]
    assert len(awaiting) == 11
    assert many == few
    assert max(many.values()) <= 25, many


# --- the OpenAPI schema -------------------------------------------------------------------

OPERATIONS = {
    ("post", "/api/v1/cases/intake"),
    ("get", "/api/v1/cases/queue"),
    ("post", "/api/v1/cases/search"),
    ("post", "/api/v1/cases/break-glass"),
    ("get", "/api/v1/cases/alerts"),
    ("post", "/api/v1/cases/alerts/{alert_id}/read"),
    ("post", "/api/v1/cases/tasks/{task_id}/complete"),
    ("get", "/api/v1/cases/{case_id}"),
    ("get", "/api/v1/cases/{case_id}/timeline"),
    ("post", "/api/v1/cases/{case_id}/notes"),
    ("post", "/api/v1/cases/{case_id}/tasks"),
    ("post", "/api/v1/cases/{case_id}/consents"),
    ("post", "/api/v1/cases/{case_id}/consents/{purpose}/revoke"),
    ("post", "/api/v1/cases/{case_id}/transition"),
    ("post", "/api/v1/cases/{case_id}/assign"),
    ("post", "/api/v1/cases/{case_id}/closure"),
    ("post", "/api/v1/cases/{case_id}/closure/approve"),
    ("post", "/api/v1/cases/{case_id}/closure/decline"),
    ("post", "/api/v1/cases/{case_id}/reopen"),
    ("post", "/api/v1/cases/{case_id}/share-without-consent"),
    ("post", "/api/v1/cases/{case_id}/perpetrators"),
    ("post", "/api/v1/cases/{case_id}/incidents"),
}


def test_the_openapi_schema_lists_every_case_operation_and_none_is_public(
    client: Client,
) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    found = {
        (method, path)
        for path, operations in schema["paths"].items()
        if path.startswith("/api/v1/cases/")
        for method in operations
    }
    # Other case routers (evidence) share the prefix: every operation here must be listed.
    assert found >= OPERATIONS
    for method, path in found:
        operation = schema["paths"][path][method]
        assert operation["security"] == [{"TokenAuth": []}, {"SessionAuth": []}], path
    for method, path in OPERATIONS:
        assert schema["paths"][path][method]["tags"] == ["cases"], path
    components = set(schema["components"]["schemas"])
    assert {"IntakeIn", "CaseOpenedOut", "CaseOut", "QueueOut", "SearchIn", "SearchOut"} <= (
        components
    )
    intake = schema["paths"]["/api/v1/cases/intake"]["post"]
    assert set(intake["responses"]) >= {"200", "201"}
    assert {"in": "header", "name": "Idempotency-Key"}.items() <= intake["parameters"][0].items()


# --- hostile input ------------------------------------------------------------------------

HUGE = 2**80
NUL = "A reason long enough, with a \x00 inside."


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("{case}/assign", {"officer_id": HUGE}, "officer_id"),
        (
            "{case}/tasks",
            {"description": "x", "due_on": "2999-01-01", "assigned_to_id": HUGE},
            "assigned_to_id",
        ),
        (
            "{case}/incidents",
            {"occurred_on": "2025-01-01", "forms": ["physical"], "commune_id": HUGE},
            "commune_id",
        ),
        (
            "intake",
            intake_json(survivor={"residence_commune_id": HUGE}),
            "survivor.residence_commune_id",
        ),
        ("search", {"name": "Amina", "commune": HUGE}, "commune"),
        ("{case}/notes", {"body": NUL}, "body"),
        ("{case}/reopen", {"reason": NUL}, "reason"),
        ("intake", intake_json(dependants=[{"relationship": NUL}]), "dependants.0.relationship"),
        ("{case}/consents/share\x00shelter/revoke", {}, "purpose"),
    ],
)
def test_numbers_no_database_holds_and_null_characters_are_refused_on_their_field(
    client: Client, path: str, body: dict[str, Any], field: str
) -> None:
    chief = make_person(Role.UNIT_CHIEF, make_unit())
    token = token_for(chief, READ, WRITE)
    case = open_case(chief.actor)
    url = f"{API}/" + path.format(case=case.pk)
    response = post(client, url, body, bearer(token, key=new_key()))
    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
