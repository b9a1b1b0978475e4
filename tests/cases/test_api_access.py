"""Who sees what through the case-file API: the holding unit everything, a grantee only the
field groups she consented to and only while she consents, everyone else the same 404 as
for a case that does not exist; emergency access only with a fresh second factor; search
that names other units and nothing more."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from himaya.accounts.roles import Role
from himaya.cases import services
from himaya.cases.models import CaseFile
from himaya.core.models import AuditEvent
from himaya.network.models import AgencyKind
from tests.accounts.helpers import login_staff, make_agency, make_staff
from tests.cases.api_helpers import (
    API,
    READ,
    WRITE,
    bearer,
    intake_json,
    open_via_api,
    post,
    token_for,
)
from tests.cases.helpers import Staff, make_person, make_unit

pytestmark = pytest.mark.django_db

CANARIES = ("Amina", "Tazi", "612345678", "BK123456", "Orangers", "kitchen", "Karim", "Yasmine")


@pytest.fixture
def officer() -> Staff:
    return make_person(Role.UNIT_OFFICER, make_unit())


@pytest.fixture
def officer_token(officer: Staff) -> str:
    return token_for(officer, READ, WRITE)


@pytest.fixture
def case_id(client: Client, officer_token: str) -> str:
    case_id: str = open_via_api(client, officer_token)["id"]
    return case_id


# --- a grantee ----------------------------------------------------------------------------


def test_a_shelter_sees_only_what_she_agreed_to_and_loses_it_when_she_revokes(
    client: Client, officer: Staff, officer_token: str, case_id: str
) -> None:
    provider = make_person(Role.SERVICE_PROVIDER)
    assert provider.actor.agency_id is not None
    # The referral path shares on her live consent (intake: share_shelter, incidents only).
    services.case_share(
        actor=officer.actor,
        case_id=case_id,
        agency_id=provider.actor.agency_id,
        scope=["incidents"],
    )
    token = token_for(provider, READ)

    response = client.get(f"{API}/{case_id}", headers=bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["access"]["holding_unit"] is False
    assert body["access"]["groups"] == ["incidents"]
    assert body["access"]["bases"] == ["consent"]
    assert [grant["scope"] for grant in body["access"]["grants"]] == [["incidents"]]
    assert len(body["incidents"]) == 1
    # Nothing outside her consent, not even as an empty or null key.
    for absent in (
        "survivor",
        "narrative",
        "interview",
        "perpetrators",
        "dependants",
        "evidence",
        "notes",
        "consents",
        "sharing",
        "open_tasks",
        "assigned_to_id",
    ):
        assert absent not in body, absent
    for canary in CANARIES:
        assert canary not in response.content.decode(), canary
    assert client.get(f"{API}/{case_id}/timeline", headers=bearer(token)).status_code == 200

    revoked = post(
        client, f"{API}/{case_id}/consents/share_shelter/revoke", {}, bearer(officer_token)
    )
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None

    after = client.get(f"{API}/{case_id}", headers=bearer(token))
    missing = client.get(f"{API}/{uuid.uuid4()}", headers=bearer(token))
    assert after.status_code == missing.status_code == 404
    assert after.content == missing.content


def test_a_narrower_new_answer_narrows_what_the_grantee_sees(
    client: Client, officer: Staff, officer_token: str, case_id: str
) -> None:
    provider = make_person(Role.SERVICE_PROVIDER)
    assert provider.actor.agency_id is not None
    post(
        client,
        f"{API}/{case_id}/consents",
        {"purpose": "share_shelter", "granted": True, "scope": ["incidents", "identity"]},
        bearer(officer_token),
    )
    services.case_share(
        actor=officer.actor,
        case_id=case_id,
        agency_id=provider.actor.agency_id,
        scope=["incidents", "identity"],
    )
    token = token_for(provider, READ)
    body = client.get(f"{API}/{case_id}", headers=bearer(token)).json()
    assert body["survivor"]["full_name"] == "Amina Tazi"
    assert "phone" not in body["survivor"]  # contact is another group
    assert body["survivor"]["declined"] == []  # she declined her commune: a contact detail

    recorded = post(
        client,
        f"{API}/{case_id}/consents",
        {"purpose": "share_shelter", "granted": True, "scope": ["incidents"]},
        bearer(officer_token),
    )
    assert recorded.status_code == 201
    body = client.get(f"{API}/{case_id}", headers=bearer(token)).json()
    assert body["access"]["groups"] == ["incidents"]
    assert "survivor" not in body


# --- outsiders ----------------------------------------------------------------------------


def _attempts(case: str) -> list[tuple[str, str, dict[str, object] | None]]:
    return [
        ("get", f"{API}/{case}", None),
        ("get", f"{API}/{case}/timeline", None),
        ("post", f"{API}/{case}/notes", {"body": "Looking around."}),
        ("post", f"{API}/{case}/tasks", {"description": "x", "due_on": "2999-01-01"}),
        ("post", f"{API}/{case}/transition", {"to_state": "assessed"}),
        ("post", f"{API}/{case}/consents", {"purpose": "statistics", "granted": True}),
        ("post", f"{API}/{case}/consents/share_shelter/revoke", {}),
        ("post", f"{API}/{case}/closure", {"reason": "duplicate"}),
        ("post", f"{API}/{case}/closure/approve", {}),
        ("post", f"{API}/{case}/reopen", {"reason": "She came back to the unit."}),
        ("post", f"{API}/{case}/perpetrators", {"relationship": "stranger"}),
        ("post", f"{API}/{case}/incidents", {"occurred_on": "2025-01-01", "forms": ["physical"]}),
    ]


def _send(client: Client, method: str, path: str, body: object, token: str) -> tuple[int, bytes]:
    if method == "get":
        response = client.get(path, headers=bearer(token))
    else:
        response = post(client, path, body, bearer(token))
    return response.status_code, response.content


@pytest.mark.parametrize(
    "role", [Role.UNIT_OFFICER, Role.UNIT_CHIEF, Role.PROSECUTOR, Role.NATIONAL_ANALYST]
)
def test_another_agencys_token_gets_the_same_404_as_for_a_random_id(
    client: Client, case_id: str, role: str
) -> None:
    outsider = token_for(make_person(role), READ, WRITE)
    random_id = str(uuid.uuid4())
    for (method, path, body), (_m, missing_path, _b) in zip(
        _attempts(case_id), _attempts(random_id), strict=True
    ):
        theirs = _send(client, method, path, body, outsider)
        missing = _send(client, method, missing_path, body, outsider)
        assert theirs[0] == 404, (path, theirs)
        assert theirs == missing, path
    assert AuditEvent.objects.filter(action="case.read_denied", target_id=case_id).exists()


def test_an_id_that_is_not_one_gets_the_same_404(client: Client, officer_token: str) -> None:
    random = client.get(f"{API}/{uuid.uuid4()}", headers=bearer(officer_token))
    malformed = client.get(f"{API}/not-a-case", headers=bearer(officer_token))
    assert random.status_code == malformed.status_code == 404
    assert random.content == malformed.content


def test_another_units_task_cannot_be_completed(
    client: Client, officer: Staff, officer_token: str, case_id: str
) -> None:
    task = post(
        client,
        f"{API}/{case_id}/tasks",
        {"description": "Call her back.", "due_on": "2999-01-01"},
        bearer(officer_token),
    ).json()
    outsider = token_for(make_person(Role.UNIT_OFFICER), WRITE)
    theirs = post(client, f"{API}/tasks/{task['id']}/complete", {}, bearer(outsider))
    missing = post(client, f"{API}/tasks/{task['id'] + 1000}/complete", {}, bearer(outsider))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content


# --- emergency access ---------------------------------------------------------------------


def test_a_token_never_breaks_glass_it_needs_a_fresh_second_factor(
    client: Client, case_id: str
) -> None:
    other_unit_officer = make_person(Role.UNIT_OFFICER)
    token = token_for(other_unit_officer, READ, WRITE)
    response = post(
        client,
        f"{API}/break-glass",
        {"case_id": case_id, "reason": "She is at our desk, injured, at night."},
        bearer(token),
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "step_up_required"
    assert client.get(f"{API}/{case_id}", headers=bearer(token)).status_code == 404


def test_a_prosecutor_signed_in_breaks_glass_and_the_unit_chief_is_alerted(
    officer: Staff, officer_token: str, case_id: str
) -> None:
    api = Client()
    reference = api.get(f"{API}/{case_id}", headers=bearer(officer_token)).json()["reference"]
    office = make_agency(AgencyKind.PROSECUTION_OFFICE)
    prosecutor = make_staff(Role.PROSECUTOR, office)
    browser = Client()
    login_staff(browser, prosecutor)

    opened = post(
        browser,
        f"{API}/break-glass",
        {"reference": reference, "reason": "Hearing tonight; the file is needed now."},
        {},
    )
    assert opened.status_code == 201, opened.content
    assert opened.json()["case_id"] == case_id

    body = browser.get(f"{API}/{case_id}").json()
    assert body["access"]["emergency"] is True
    assert body["access"]["bases"] == ["break_glass"]
    assert body["survivor"]["full_name"] == "Amina Tazi"

    holding_unit = CaseFile.objects.get(pk=case_id).unit
    assert holding_unit.pk == officer.actor.agency_id
    chief = make_person(Role.UNIT_CHIEF, holding_unit)
    alerts = api.get(f"{API}/alerts", headers=bearer(token_for(chief, READ))).json()["items"]
    assert [(a["kind"], a["case_id"], a["other_agency_id"]) for a in alerts] == [
        ("break_glass", case_id, office.pk)
    ]


def test_roles_that_may_never_break_glass_get_404(client: Client, case_id: str) -> None:
    analyst = make_staff(Role.NATIONAL_ANALYST)
    login_staff(client, analyst)
    response = post(
        client,
        f"{API}/break-glass",
        {"case_id": case_id, "reason": "Curious about this one, sorry."},
        {},
    )
    assert response.status_code == 404


# --- search -------------------------------------------------------------------------------


def test_search_finds_her_files_in_my_unit_and_names_only_the_other_unit(
    client: Client, officer: Staff, officer_token: str, case_id: str
) -> None:
    mine = post(client, f"{API}/search", {"phone": "+212 6 12 34 56 78"}, bearer(officer_token))
    assert mine.status_code == 200
    assert [match["case_id"] for match in mine.json()["own"]] == [case_id]
    assert mine.json()["own"][0]["reasons"] == ["phone"]

    elsewhere = token_for(make_person(Role.UNIT_OFFICER), READ)
    theirs = post(client, f"{API}/search", {"cin": "bk123456"}, bearer(elsewhere))
    assert theirs.status_code == 200
    assert theirs.json()["own"] == []
    assert [unit["agency_id"] for unit in theirs.json()["elsewhere"]] == [officer.actor.agency_id]
    reference = client.get(f"{API}/{case_id}", headers=bearer(officer_token)).json()["reference"]
    assert case_id not in theirs.content.decode()
    assert reference not in theirs.content.decode()

    bare_name = post(client, f"{API}/search", {"name": "Amina Tazi"}, bearer(elsewhere))
    assert bare_name.json() == {"own": [], "elsewhere": []}
    with_birth = post(
        client,
        f"{API}/search",
        {"name": "Amina Tazi", "date_of_birth": "1990-05-01"},
        bearer(elsewhere),
    )
    assert [unit["agency_id"] for unit in with_birth.json()["elsewhere"]] == [
        officer.actor.agency_id
    ]


def test_search_takes_exactly_one_criterion(client: Client, officer_token: str) -> None:
    both = post(
        client, f"{API}/search", {"phone": "0612345678", "cin": "BK1"}, bearer(officer_token)
    )
    assert both.status_code == 422
    assert set(both.json()["error"]["fields"]) == {"phone", "cin"}
    none = post(client, f"{API}/search", {}, bearer(officer_token))
    assert set(none.json()["error"]["fields"]) == {"phone", "cin", "name"}
    narrowed = post(
        client,
        f"{API}/search",
        {"phone": "0612345678", "date_of_birth": "1990-05-01"},
        bearer(officer_token),
    )
    assert set(narrowed.json()["error"]["fields"]) == {"date_of_birth"}
    wrong = post(client, f"{API}/search", {"phone": "12"}, bearer(officer_token))
    assert set(wrong.json()["error"]["fields"]) == {"phone"}


def test_search_is_only_for_unit_staff(client: Client) -> None:
    token = token_for(make_person(Role.SERVICE_PROVIDER), READ)
    response = post(client, f"{API}/search", {"phone": "0612345678"}, bearer(token))
    assert response.status_code == 403


def test_a_signed_in_officer_uses_the_api_with_her_session(client: Client) -> None:
    unit = make_unit()
    user = make_staff(Role.UNIT_OFFICER, unit)
    login_staff(client, user)
    opened = post(client, f"{API}/intake", intake_json(), {"Idempotency-Key": "session-key-1"})
    assert opened.status_code == 201
    queue = client.get(f"{API}/queue").json()
    assert [item["id"] for item in queue["items"]] == [opened.json()["id"]]
