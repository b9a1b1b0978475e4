"""The guided intake in the browser: one interview, step by step, saved as it goes, every
question declinable, every mistake shown on its field, and ONE case however it is submitted.

Everything goes through the real sign-in (password and TOTP), the real pages and the real
database; what the pages stored is read back through the selectors."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise

from himaya.accounts.models import User
from himaya.accounts.roles import Role
from himaya.cases import selectors, services
from himaya.cases.forms_intake import MSG_BOTH
from himaya.cases.intake import (
    MSG_CIN,
    MSG_DATE,
    MSG_FUTURE_INCIDENT,
    MSG_PHONE,
    MSG_UNKNOWN_COMMUNE,
    SurvivorData,
)
from himaya.cases.models import CaseFile, IntakeDraft
from himaya.core.models import DataKey
from himaya.geo.models import Commune
from himaya.network.index import get_index
from himaya.network.models import Agency
from tests.accounts.helpers import login_staff, make_staff
from tests.cases.helpers import (
    an_intake,
    days_ago,
    make_actor,
    make_commune,
    make_unit,
    new_key,
)

pytestmark = pytest.mark.django_db

CANARY_NAME = "Zoubida Canaryname"
CANARY_PHONE = "0661234567"
CANARY_CIN = "ZK998877"


@dataclass
class Desk:
    """A unit officer signed in through the real pages."""

    client: Client
    user: User
    unit: Agency


def desk(language: str = "fr", unit: Agency | None = None, role: str = Role.UNIT_OFFICER) -> Desk:
    unit = unit or make_unit()
    user = make_staff(role, unit)
    client = Client()
    client.cookies["himaya_lang"] = language
    login_staff(client, user)
    return Desk(client=client, user=user, unit=unit)


@pytest.fixture
def officer() -> Desk:
    return desk("fr")


@pytest.fixture
def communes() -> list[Commune]:
    return [make_commune("Ain Chock"), make_commune("Maarif")]


def in_language(message: str | Promise, language: str) -> str:
    with translation.override(language):
        return translation.gettext(message) if isinstance(message, str) else str(message)


def page(response: Any) -> str:
    return html.unescape(response.content.decode())


def field_errors(response: Any, field_id: str) -> list[str]:
    """The messages shown on one field (Django renders them with the field's error id)."""
    match = re.search(
        rf'<ul class="errorlist" id="{re.escape(field_id)}_error">(.*?)</ul>', page(response), re.S
    )
    return re.findall(r"<li>(.*?)</li>", match.group(1), re.S) if match else []


def start(client: Client) -> uuid.UUID:
    response = client.post(reverse("cases:intake_start"))
    assert response.status_code == 302
    match = re.search(r"/intake/([0-9a-f-]{36})/conditions/$", response["Location"])
    assert match, response["Location"]
    return uuid.UUID(match.group(1))


def step_url(draft_id: uuid.UUID, step: str) -> str:
    return reverse("cases:intake_step", args=[draft_id, step])


def post(
    client: Client, draft_id: uuid.UUID, step: str, data: Mapping[str, Any], action: str = "next"
) -> Any:
    return client.post(step_url(draft_id, step), {**data, "action": action})


def moved_on(response: Any, draft_id: uuid.UUID, step: str) -> None:
    assert response.status_code == 302, page(response)[:3000]
    assert response["Location"] == step_url(draft_id, step)


def full_interview(
    client: Client, draft_id: uuid.UUID, communes: list[Commune], *, name: str = "Amina Tazi"
) -> None:
    """Every step, answered as an officer would, each moving on to the next."""
    province = communes[0].province.code
    moved_on(
        post(
            client,
            draft_id,
            "conditions",
            {
                "channel": "walk_in",
                "private_room": "yes",
                "interviewer_gender": "woman",
                "interviewer_gender_chosen": "on",
                "interpreter_language": "tzm",
                "others_present": "Sa sœur",
            },
        ),
        draft_id,
        "survivor",
    )
    moved_on(
        post(
            client,
            draft_id,
            "survivor",
            {
                "full_name": name,
                "cin": "bk 123456",
                "phone": "0612345678",
                "date_of_birth": "1990-04-02",
                "address_declined": "on",
                "province": province,
                "commune": str(communes[0].pk),
                "preferred_language": "ary",
            },
        ),
        draft_id,
        "contact",
    )
    moved_on(
        post(
            client,
            draft_id,
            "contact",
            {
                "channel": "sms",
                "phone": "0698765432",
                "safe_times": "10h-12h",
                "may_leave_message": "no",
                "code_word_declined": "on",
            },
        ),
        draft_id,
        "incidents",
    )
    moved_on(
        post(
            client,
            draft_id,
            "incidents",
            {
                "count": "2",
                "inc-0-date_kind": "day",
                "inc-0-occurred_on": days_ago(3).isoformat(),
                "inc-0-province": province,
                "inc-0-commune": str(communes[1].pk),
                "inc-0-forms": ["physical", "psychological"],
                "inc-0-acts": ["physical_assault"],
                "inc-0-context": ["intimate_partner"],
                "inc-1-date_kind": "period",
                "inc-1-occurred_from": days_ago(60).isoformat(),
                "inc-1-occurred_to": days_ago(30).isoformat(),
                "inc-1-commune_declined": "on",
                "inc-1-forms": ["economic"],
            },
        ),
        draft_id,
        "perpetrators",
    )
    moved_on(
        post(
            client,
            draft_id,
            "perpetrators",
            {
                "count": "1",
                "per-0-relationship": "spouse",
                "per-0-full_name": "Karim Tazi",
                "per-0-cin_declined": "on",
                "per-0-age_range": "35-44",
                "per-0-number_involved": "1",
            },
        ),
        draft_id,
        "dependants",
    )
    moved_on(
        post(
            client,
            draft_id,
            "dependants",
            {
                "count": "1",
                "dep-0-first_name": "Yasmine",
                "dep-0-age": "6",
                "dep-0-relationship": "child",
                "dep-0-at_risk": "on",
            },
        ),
        draft_id,
        "consent",
    )
    moved_on(
        post(
            client,
            draft_id,
            "consent",
            {
                "share_prosecutor": "yes",
                "share_prosecutor_scope": ["identity", "incidents", "narrative"],
                "share_shelter": "no",
                "statistics": "later",
            },
        ),
        draft_id,
        "narrative",
    )
    moved_on(
        post(
            client, draft_id, "narrative", {"narrative": "Il m'a frappée.\r\nDevant les enfants."}
        ),
        draft_id,
        "review",
    )


# --- the whole interview -------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_a_complete_intake_opens_exactly_one_case_with_her_answers(
    language: str, communes: list[Commune]
) -> None:
    officer = desk(language)
    draft_id = start(officer.client)
    full_interview(officer.client, draft_id, communes)

    review = officer.client.get(step_url(draft_id, "review"))
    assert review.status_code == 200
    text = page(review)
    assert "Amina Tazi" in text
    assert in_language("Open her case file", language) in text

    response = officer.client.post(reverse("cases:intake_submit", args=[draft_id]))
    assert response.status_code == 302
    case = CaseFile.objects.get(unit=officer.unit)
    assert response["Location"] == reverse("cases:case_detail", args=[case.pk])

    actor = make_actor(Role.UNIT_CHIEF, officer.unit)
    details = selectors.case_details(actor=actor, case_id=case.pk)
    survivor = details.case.survivor
    assert survivor.full_name == "Amina Tazi"
    assert survivor.cin == "BK123456"
    assert survivor.phone == "+212612345678"
    assert survivor.date_of_birth == "1990-04-02"
    assert survivor.residence_commune_id == communes[0].pk
    assert survivor.preferred_language == "ary"
    assert survivor.declined == ["address"]
    assert survivor.safe_contact == {
        "channel": "sms",
        "phone": "+212698765432",
        "safe_times": "10h-12h",
        "may_leave_message": False,
        "declined": ["code_word"],
    }
    assert details.case.channel == "walk_in"
    assert details.case.private_room == "yes"
    assert details.case.interviewer_gender == "woman"
    assert details.case.interviewer_gender_chosen is True
    assert details.case.interpreter_language == "tzm"
    assert details.case.others_present == "Sa sœur"
    assert details.case.narrative == "Il m'a frappée.\nDevant les enfants."
    first, second = details.incidents
    assert first.occurred_on == days_ago(3)
    assert first.commune_id == communes[1].pk
    assert first.forms == ["physical", "psychological"]
    assert first.acts == ["physical_assault"]
    assert first.context == ["intimate_partner"]
    assert (second.occurred_on, second.occurred_from, second.occurred_to) == (
        None,
        days_ago(60),
        days_ago(30),
    )
    assert second.commune_id is None
    assert second.declined == ["commune"]
    (perpetrator,) = details.perpetrators
    assert perpetrator.relationship == "spouse"
    assert perpetrator.full_name == "Karim Tazi"
    assert perpetrator.cin == ""
    assert perpetrator.declined == ["cin"]
    assert perpetrator.age_range == "35-44"
    (dependant,) = details.dependants
    assert (dependant.first_name, dependant.age, dependant.relationship, dependant.at_risk) == (
        "Yasmine",
        6,
        "child",
        True,
    )
    answers = {c.purpose: (c.granted, c.scope) for c in details.consents}
    assert answers == {
        "share_prosecutor": (True, ["identity", "incidents", "narrative"]),
        "share_shelter": (False, []),
        "statistics": (False, []),
    }
    # The draft is frozen and emptied: her words now live only in her file.
    draft = IntakeDraft.objects.get(pk=draft_id)
    assert draft.submitted_case_id == case.pk
    assert draft.data is None


def test_the_case_page_is_where_a_submitted_draft_leads(
    officer: Desk, communes: list[Commune]
) -> None:
    draft_id = start(officer.client)
    full_interview(officer.client, draft_id, communes)
    officer.client.post(reverse("cases:intake_submit", args=[draft_id]))
    case = CaseFile.objects.get(unit=officer.unit)
    for url in (step_url(draft_id, "survivor"), step_url(draft_id, "review")):
        response = officer.client.get(url)
        assert response.status_code == 302
        assert response["Location"] == reverse("cases:case_detail", args=[case.pk])


# --- she preferred not to say --------------------------------------------------------------


def test_declined_answers_are_stored_as_declined_never_as_blanks(officer: Desk) -> None:
    draft_id = start(officer.client)
    client = officer.client
    moved_on(post(client, draft_id, "conditions", {"channel": "helpline"}), draft_id, "survivor")
    every = {
        f"{name}_declined": "on"
        for name in (
            "full_name",
            "cin",
            "phone",
            "date_of_birth",
            "age_range",
            "address",
            "commune",
            "preferred_language",
        )
    }
    moved_on(post(client, draft_id, "survivor", every), draft_id, "contact")
    moved_on(
        post(
            client,
            draft_id,
            "contact",
            {"channel_declined": "on", "may_leave_message_declined": "on"},
        ),
        draft_id,
        "incidents",
    )
    moved_on(
        post(
            client,
            draft_id,
            "incidents",
            {
                "count": "1",
                "inc-0-date_kind_declined": "on",
                "inc-0-commune_declined": "on",
                "inc-0-forms_declined": "on",
                "inc-0-acts_declined": "on",
                "inc-0-context_declined": "on",
            },
        ),
        draft_id,
        "perpetrators",
    )
    moved_on(
        post(
            client,
            draft_id,
            "perpetrators",
            {
                "count": "1",
                "per-0-relationship": "declined",
                "per-0-full_name_declined": "on",
                "per-0-phone_declined": "on",
            },
        ),
        draft_id,
        "dependants",
    )
    moved_on(
        post(
            client,
            draft_id,
            "dependants",
            {
                "count": "1",
                "dep-0-first_name_declined": "on",
                "dep-0-age": "4",
                "dep-0-at_risk": "on",
            },
        ),
        draft_id,
        "consent",
    )
    review = client.get(step_url(draft_id, "review"))
    assert in_language("She preferred not to say", "fr") in page(review)
    response = client.post(reverse("cases:intake_submit", args=[draft_id]))
    assert response.status_code == 302, page(response)[:3000]

    case = CaseFile.objects.select_related("survivor").get(unit=officer.unit)
    assert sorted(case.survivor.declined) == sorted(
        [
            "full_name",
            "cin",
            "phone",
            "date_of_birth",
            "age_range",
            "address",
            "residence_commune",
            "preferred_language",
        ]
    )
    assert case.survivor.full_name == ""
    assert case.survivor.safe_contact == {"declined": ["channel", "may_leave_message"]}
    incident = case.incidents.get()
    assert sorted(incident.declined) == ["acts", "commune", "context", "date", "forms"]
    assert incident.occurred_on is None
    assert incident.forms == []
    perpetrator = case.perpetrators.get()
    assert perpetrator.relationship == "declined"
    assert sorted(perpetrator.declined) == ["full_name", "phone"]
    dependant = case.dependants.get()
    assert dependant.declined == ["first_name"]
    assert dependant.age == 4


def test_an_answer_both_typed_and_declined_asks_the_officer_to_choose(officer: Desk) -> None:
    draft_id = start(officer.client)
    response = post(
        officer.client,
        draft_id,
        "survivor",
        {"full_name": "Amina Tazi", "full_name_declined": "on", "phone": "0612345678"},
    )
    assert response.status_code == 422
    assert field_errors(response, "id_full_name") == [in_language(MSG_BOTH, "fr")]
    assert 'value="Amina Tazi"' in page(response)


# --- mistakes, on their fields --------------------------------------------------------------


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_a_wrong_cin_and_phone_are_shown_on_their_fields_and_nothing_typed_is_lost(
    language: str, communes: list[Commune]
) -> None:
    officer = desk(language)
    draft_id = start(officer.client)
    response = post(
        officer.client,
        draft_id,
        "survivor",
        {
            "full_name": "Amina Tazi",
            "cin": "12345678",
            "phone": "12",
            "date_of_birth": "1990-04-02",
            "address": "Derb Sultan",
            "province": communes[0].province.code,
            "commune": str(communes[0].pk),
        },
    )
    assert response.status_code == 422
    assert field_errors(response, "id_cin") == [in_language(MSG_CIN, language)]
    assert field_errors(response, "id_phone") == [in_language(MSG_PHONE, language)]
    assert field_errors(response, "id_full_name") == []
    text = page(response)
    for typed in ('value="Amina Tazi"', 'value="12345678"', 'value="12"', 'value="1990-04-02"'):
        assert typed in text
    assert "Derb Sultan" in text
    assert f'<option value="{communes[0].pk}" selected>' in text
    assert 'aria-invalid="true"' in text
    # Saved as typed: coming back later shows the same values and the same messages.
    again = officer.client.get(step_url(draft_id, "survivor"))
    assert field_errors(again, "id_cin") == [in_language(MSG_CIN, language)]
    assert 'value="12345678"' in page(again)


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_impossible_and_future_dates_and_unknown_communes_are_refused_on_their_fields(
    language: str, communes: list[Commune]
) -> None:
    officer = desk(language)
    draft_id = start(officer.client)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = post(
        officer.client,
        draft_id,
        "incidents",
        {
            "count": "2",
            "inc-0-date_kind": "day",
            "inc-0-occurred_on": tomorrow,
            "inc-0-forms": ["physical"],
            "inc-0-province": communes[0].province.code,
            "inc-0-commune": "999999",
            "inc-1-date_kind": "day",
            "inc-1-occurred_on": "2025-02-30",
            "inc-1-forms": ["sexual"],
        },
    )
    assert response.status_code == 422
    assert field_errors(response, "id_inc-0-occurred_on") == [
        in_language(MSG_FUTURE_INCIDENT, language)
    ]
    assert field_errors(response, "id_inc-0-commune") == [
        in_language(MSG_UNKNOWN_COMMUNE, language)
    ]
    assert field_errors(response, "id_inc-1-occurred_on") == [in_language(MSG_DATE, language)]
    text = page(response)
    assert f'value="{tomorrow}"' in text
    assert 'value="2025-02-30"' in text
    assert re.search(r'name="inc-1-forms" value="sexual"[^>]*checked', text)


def test_a_wrong_safe_contact_phone_is_shown_on_its_field(officer: Desk) -> None:
    draft_id = start(officer.client)
    response = post(officer.client, draft_id, "contact", {"channel": "phone_call", "phone": "abc"})
    assert response.status_code == 422
    assert field_errors(response, "id_phone") == [in_language(MSG_PHONE, "fr")]


def test_moving_between_steps_is_never_blocked_but_the_review_lists_what_to_correct(
    officer: Desk,
) -> None:
    draft_id = start(officer.client)
    response = post(officer.client, draft_id, "survivor", {"phone": "12"}, action="goto:review")
    moved_on(response, draft_id, "review")
    review = officer.client.get(step_url(draft_id, "review"))
    text = page(review)
    # The message sits with the answer it is about, and opening the file waits for it.
    phone = re.escape(in_language("Phone", "fr"))
    message = re.escape(in_language(MSG_PHONE, "fr"))
    assert re.search(
        rf"<dt>{phone}</dt><dd[^>]*>.*?<ul class=\"errorlist\"><li>{message}</li>", text
    )
    opener = re.escape(in_language("Open her case file", "fr"))
    assert re.search(rf"<button type=\"submit\" class=\"button\" disabled>{opener}</button>", text)
    refused = officer.client.post(reverse("cases:intake_submit", args=[draft_id]))
    assert refused.status_code == 422
    assert not CaseFile.objects.filter(unit=officer.unit).exists()


# --- one case, however many submissions ------------------------------------------------------


def test_submitting_twice_opens_one_case(officer: Desk, communes: list[Commune]) -> None:
    draft_id = start(officer.client)
    full_interview(officer.client, draft_id, communes)
    key = IntakeDraft.objects.get(pk=draft_id).data["idempotency_key"]
    submit = reverse("cases:intake_submit", args=[draft_id])
    first = officer.client.post(submit, {"idempotency_key": key})
    second = officer.client.post(submit, {"idempotency_key": key})
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert CaseFile.objects.filter(unit=officer.unit).count() == 1


def test_the_key_is_made_by_the_server_when_the_intake_starts(officer: Desk) -> None:
    first, second = start(officer.client), start(officer.client)
    keys = [IntakeDraft.objects.get(pk=d).data["idempotency_key"] for d in (first, second)]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", key) for key in keys)
    assert keys[0] != keys[1]
    review = officer.client.get(step_url(first, "review"))
    assert f'name="idempotency_key" value="{keys[0]}"' in page(review)


# --- nobody else sees her draft ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "same_unit"),
    [
        (Role.FOCAL_POINT, False),
        (Role.NATIONAL_ANALYST, False),
        (Role.UNIT_OFFICER, False),
        (Role.UNIT_CHIEF, False),
        (Role.UNIT_OFFICER, True),
    ],
)
def test_someone_elses_draft_is_not_found(officer: Desk, role: str, same_unit: bool) -> None:
    draft_id = start(officer.client)
    post(officer.client, draft_id, "survivor", {"full_name": CANARY_NAME}, action="later")
    other = desk("fr", unit=officer.unit if same_unit else None, role=role)
    for method, url in (
        ("get", step_url(draft_id, "survivor")),
        ("get", step_url(draft_id, "review")),
        ("post", step_url(draft_id, "survivor")),
        ("post", reverse("cases:intake_submit", args=[draft_id])),
        ("post", reverse("cases:intake_discard", args=[draft_id])),
    ):
        response = getattr(other.client, method)(url)
        assert response.status_code == 404, (method, url)
        assert CANARY_NAME not in page(response)
    assert IntakeDraft.objects.get(pk=draft_id).data["survivor"]["full_name"] == CANARY_NAME


def test_roles_outside_the_units_have_no_intake_at_all() -> None:
    for role in (Role.FOCAL_POINT, Role.NATIONAL_ANALYST, Role.PROSECUTOR):
        other = desk("fr", role=role)
        assert other.client.get(reverse("cases:intake_start")).status_code == 404
        assert other.client.post(reverse("cases:intake_start")).status_code == 404
        assert not IntakeDraft.objects.exists()


def test_new_intake_is_in_the_navigation_of_unit_staff_only(officer: Desk) -> None:
    url = reverse("cases:intake_start")
    assert f'href="{url}"' in page(officer.client.get(reverse("core:home")))
    focal = desk("fr", role=Role.FOCAL_POINT)
    assert f'href="{url}"' not in page(focal.client.get(reverse("core:home")))


# --- nothing about her in a URL or a title -----------------------------------------------------


def test_no_personal_data_in_any_url_or_title(officer: Desk, communes: list[Commune]) -> None:
    client = officer.client
    canaries = [CANARY_NAME, "Zoubida", CANARY_PHONE, "+212661234567", CANARY_CIN, "Karim"]
    seen: list[str] = []

    def look(response: Any) -> None:
        if response.status_code in (301, 302):
            seen.append(response["Location"])
            return
        text = page(response)
        seen.extend(re.findall(r"<title>(.*?)</title>", text, re.S))
        seen.extend(re.findall(r'(?:href|action|hx-post|hx-get)="([^"]*)"', text))

    draft_id = start(client)
    look(client.get(reverse("cases:intake_start")))
    look(
        post(
            client,
            draft_id,
            "survivor",
            {"full_name": CANARY_NAME, "phone": CANARY_PHONE, "cin": CANARY_CIN},
        )
    )
    look(
        post(
            client,
            draft_id,
            "perpetrators",
            {"count": "1", "per-0-relationship": "spouse", "per-0-full_name": "Karim"},
        )
    )
    for step in ("conditions", "survivor", "contact", "incidents", "perpetrators", "review"):
        look(client.get(step_url(draft_id, step)))
    look(post(client, draft_id, "survivor", {"full_name": CANARY_NAME, "cin": "bad"}))
    look(client.get(reverse("cases:intake_start")))
    assert seen
    for value in seen:
        for canary in canaries:
            assert canary not in value, (canary, value)


# --- interrupted, resumed, discarded ----------------------------------------------------------


def test_save_and_continue_later_keeps_everything_typed(officer: Desk) -> None:
    draft_id = start(officer.client)
    response = post(
        officer.client,
        draft_id,
        "survivor",
        {"full_name": "Amina Tazi", "phone": "0612345678"},
        action="later",
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:intake_start")
    landing = officer.client.get(response["Location"])
    assert step_url(draft_id, "survivor") in page(landing)
    resumed = page(officer.client.get(step_url(draft_id, "survivor")))
    assert 'value="Amina Tazi"' in resumed
    assert 'value="0612345678"' in resumed


def test_the_background_autosave_keeps_what_is_typed_mid_step(officer: Desk) -> None:
    draft_id = start(officer.client)
    response = post(
        officer.client, draft_id, "survivor", {"full_name": "Amina", "phone": "12"}, "autosave"
    )
    assert response.status_code == 204
    data = IntakeDraft.objects.get(pk=draft_id).data
    assert data["survivor"]["full_name"] == "Amina"
    # Saved, not "answered": the step shows no message until the officer moves on.
    assert "survivor" not in data["visited"]
    assert field_errors(officer.client.get(step_url(draft_id, "survivor")), "id_phone") == []


def test_discarding_erases_the_draft_for_good(officer: Desk) -> None:
    draft_id = start(officer.client)
    post(officer.client, draft_id, "survivor", {"full_name": CANARY_NAME}, action="later")
    response = officer.client.post(reverse("cases:intake_discard", args=[draft_id]))
    assert response.status_code == 302
    draft = IntakeDraft.objects.select_related("data_key").get(pk=draft_id)
    assert DataKey.objects.get(pk=draft.data_key_id).shredded_at is not None
    assert officer.client.get(step_url(draft_id, "survivor")).status_code == 404
    assert step_url(draft_id, "survivor") not in page(
        officer.client.get(reverse("cases:intake_start"))
    )


def test_list_items_are_added_and_removed_without_javascript(officer: Desk) -> None:
    draft_id = start(officer.client)
    response = post(
        officer.client,
        draft_id,
        "perpetrators",
        {"count": "1", "per-0-relationship": "spouse", "per-0-full_name": "Karim"},
        action="add",
    )
    assert response.status_code == 302
    assert response["Location"] == step_url(draft_id, "perpetrators") + "#per-1"
    text = page(officer.client.get(step_url(draft_id, "perpetrators")))
    assert 'name="per-1-full_name"' in text
    assert 'value="Karim"' in text
    response = post(
        officer.client,
        draft_id,
        "perpetrators",
        {
            "count": "2",
            "per-0-relationship": "spouse",
            "per-0-full_name": "Karim",
            "per-1-relationship": "family",
            "per-1-full_name": "Hassan",
        },
        action="remove:0",
    )
    text = page(officer.client.get(step_url(draft_id, "perpetrators")))
    assert 'value="Hassan"' in text
    assert "Karim" not in text
    # An untouched form is not a perpetrator: it is dropped when the officer moves on.
    post(
        officer.client,
        draft_id,
        "perpetrators",
        {"count": "2", "per-0-relationship": "family", "per-0-full_name": "Hassan"},
    )
    assert len(IntakeDraft.objects.get(pk=draft_id).data["perpetrators"]) == 1


# --- the commune picker ------------------------------------------------------------------------


def test_the_commune_list_follows_the_province_without_javascript(
    officer: Desk, communes: list[Commune]
) -> None:
    draft_id = start(officer.client)
    blank = page(officer.client.get(step_url(draft_id, "survivor")))
    assert f'value="{communes[0].pk}"' not in blank
    response = post(
        officer.client,
        draft_id,
        "survivor",
        {"full_name": "Amina", "province": communes[0].province.code},
        action="refresh:commune",
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#id_commune")
    text = page(officer.client.get(response["Location"]))
    assert f'<option value="{communes[0].pk}">' in text
    assert f'<option value="{communes[1].pk}">' in text
    assert 'value="Amina"' in text


def test_the_commune_list_refreshes_in_place_with_htmx(
    officer: Desk, communes: list[Commune]
) -> None:
    response = officer.client.post(
        reverse("cases:intake_communes"),
        {"target": "inc-0-commune", "inc-0-province": communes[0].province.code},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    text = page(response)
    assert text.startswith('<select name="inc-0-commune" id="id_inc-0-commune">')
    assert communes[1].name_fr in text
    bad = officer.client.post(reverse("cases:intake_communes"), {"target": "full_name"})
    assert bad.status_code == 404


def test_a_commune_outside_the_province_chosen_is_refused_on_its_field(
    officer: Desk, communes: list[Commune]
) -> None:
    other = Commune.objects.create(
        code="TST-OTHER",
        province=communes[0].province.__class__.objects.create(
            code="TST-P2",
            region=communes[0].province.region,
            name_ar="إقليم 2",
            name_fr="Province deux",
            latitude=31.6,
            longitude=-8.0,
        ),
        name_ar="جماعة أخرى",
        name_fr="Autre commune",
        latitude=31.6,
        longitude=-8.0,
    )
    draft_id = start(officer.client)
    response = post(
        officer.client,
        draft_id,
        "survivor",
        {"province": communes[0].province.code, "commune": str(other.pk)},
    )
    assert response.status_code == 422
    assert field_errors(response, "id_commune") == [
        in_language(
            "This commune is not in the province chosen. Choose the commune again from the list.",
            "fr",
        )
    ]


# --- is she already known? ---------------------------------------------------------------------


def test_an_earlier_contact_in_another_unit_is_shown_before_submitting_without_content(
    officer: Desk,
) -> None:
    elsewhere = make_unit()
    services.case_open_from_intake(
        actor=make_actor(Role.UNIT_OFFICER, elsewhere),
        data=an_intake(
            survivor=SurvivorData(full_name="Amina Tazi", phone="0612345678"),
            narrative="Secret words of the other file",
        ),
        idempotency_key=new_key(),
    )
    draft_id = start(officer.client)
    post(officer.client, draft_id, "survivor", {"full_name": "Amina", "phone": "0612345678"})
    text = page(officer.client.get(step_url(draft_id, "review")))
    notice = in_language("An earlier contact exists in %(unit)s — contact them.", "fr")
    assert notice % {"unit": elsewhere.name_fr} in text
    other = CaseFile.objects.get(unit=elsewhere)
    assert other.reference not in text
    assert str(other.pk) not in text
    assert "Secret words" not in text


# --- cost ---------------------------------------------------------------------------------------


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_a_step_page_costs_the_same_few_queries_whatever_it_holds(
    officer: Desk, communes: list[Commune]
) -> None:
    one, many = start(officer.client), start(officer.client)
    incident = {
        "date_kind": "day",
        "occurred_on": days_ago(2).isoformat(),
        "province": communes[0].province.code,
        "commune": str(communes[0].pk),
        "forms": ["physical"],
    }

    def items(count: int) -> dict[str, Any]:
        data: dict[str, Any] = {"count": str(count)}
        for index in range(count):
            data.update({f"inc-{index}-{k}": v for k, v in incident.items()})
        return data

    post(officer.client, one, "incidents", items(1), action="later")
    post(officer.client, many, "incidents", items(8), action="later")
    get_index()  # the process's network snapshot (communes), built once, is not the page's
    cost_one = _queries(officer.client, step_url(one, "incidents"))
    cost_many = _queries(officer.client, step_url(many, "incidents"))
    assert cost_many == cost_one
    assert cost_one <= 25
