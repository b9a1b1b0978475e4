"""Correcting her file after intake through the real pages and signed-in sessions: each page
shows what was recorded, saves what is typed through the services, keeps everything typed
when an answer is wrong (with the translated message on its field), and is refused to
anyone outside the holding unit exactly as a missing case is."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from himaya.accounts.roles import Role
from himaya.cases import selectors, services
from himaya.cases.forms_intake import MSG_BOTH
from himaya.cases.intake import MSG_PHONE, MSG_UNKNOWN_COMMUNE, PerpetratorData, SurvivorData
from himaya.cases.models import CaseFile, Dependant, Relationship, TimelineEntry
from himaya.core.models import AuditEvent
from himaya.network.models import Agency
from tests.cases.helpers import Staff, days_ago, make_commune, make_unit, open_case
from tests.cases.pages_helpers import (
    body,
    case_url,
    comparable,
    shown,
    signed_in,
    signed_staff,
    title,
)

pytestmark = pytest.mark.django_db

NAME = "Nadia Berrada"
PHONE = "0612345678"
NEW_PHONE = "0677889900"
HIM = "Youssef Oulad"


@pytest.fixture
def unit() -> Agency:
    return make_unit()


@pytest.fixture
def officer(unit: Agency) -> Staff:
    return signed_staff(Role.UNIT_OFFICER, unit)


@pytest.fixture
def case(officer: Staff) -> CaseFile:
    return open_case(
        officer.actor,
        survivor=SurvivorData(full_name=NAME, phone=PHONE),
        perpetrators=[PerpetratorData(relationship=Relationship.SPOUSE, full_name=HIM)],
    )


@pytest.fixture
def client(officer: Staff) -> Client:
    return signed_in(officer)


def url(name: str, case: CaseFile, *args: object) -> str:
    return reverse(f"cases:{name}", args=[case.pk, *args])


def her_form(**changes: str) -> dict[str, str]:
    values = {
        "full_name": NAME,
        "phone": PHONE,
        "contact-channel": "sms",
        "contact-may_leave_message": "no",
        "action": "save",
    }
    values.update(changes)
    return values


def value_of(page: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', page)
    return found.group(1) if found else ""


def adding(client: Client, path: str, data: dict[str, object]) -> dict[str, object]:
    """The form as the add page gives it: with its one-time submission token."""
    token = value_of(body(client.get(path)), "submission")
    assert token
    return {**data, "submission": token}


def test_her_details_page_shows_what_was_recorded_and_no_identity_in_its_title(
    client: Client, case: CaseFile
) -> None:
    response = client.get(url("survivor_edit", case))
    assert response.status_code == 200
    page = body(response)
    assert value_of(page, "full_name") == escape(NAME)
    assert value_of(page, "phone") == "+212612345678"
    assert NAME not in title(response)
    assert PHONE not in response.request["PATH_INFO"]
    # Opening the page is an audited read of the case.
    assert AuditEvent.objects.filter(action="case.read", target_id=str(case.pk)).exists()


def test_saving_her_details_updates_the_record_and_her_phone_finds_her_again(
    client: Client, officer: Staff, case: CaseFile
) -> None:
    response = client.post(
        url("survivor_edit", case),
        her_form(phone=NEW_PHONE, **{"contact-code_word": "jasmine", "cin_declined": "on"}),
    )
    assert response.status_code == 302
    assert response["Location"] == case_url(case.pk) + "#survivor"
    survivor = CaseFile.objects.select_related("survivor__data_key").get(pk=case.pk).survivor
    assert survivor.phone == "+212677889900"
    assert "cin" in survivor.declined
    assert survivor.safe_contact == {
        "channel": "sms",
        "may_leave_message": False,
        "code_word": "jasmine",
    }
    found = selectors.find_by_phone(actor=officer.actor, phone=NEW_PHONE)
    assert [match.case.pk for match in found.own] == [case.pk]
    assert not selectors.find_by_phone(actor=officer.actor, phone=PHONE).found
    entry = TimelineEntry.objects.get(case=case, kind="survivor_updated")
    assert set(entry.metadata["fields"]) == {"phone", "safe_contact", "declined"}


def test_a_wrong_phone_keeps_everything_typed_and_says_so_on_the_field(
    client: Client, case: CaseFile
) -> None:
    with translation.override("fr"):
        expected = str(MSG_PHONE)
    client.cookies["himaya_lang"] = "fr"
    response = client.post(
        url("survivor_edit", case),
        her_form(full_name="Nadia B.", phone="12345", **{"contact-safe_times": "le matin"}),
    )
    assert response.status_code == 422
    page = body(response)
    assert escape(expected) in page
    assert value_of(page, "full_name") == "Nadia B."
    assert value_of(page, "phone") == "12345"
    assert value_of(page, "contact-safe_times") == "le matin"
    assert 'href="#id_phone"' in page
    survivor = CaseFile.objects.select_related("survivor__data_key").get(pk=case.pk).survivor
    assert survivor.full_name == NAME


def test_an_answer_both_given_and_declined_must_be_one_or_the_other(
    client: Client, case: CaseFile
) -> None:
    response = client.post(url("survivor_edit", case), her_form(full_name_declined="on"))
    assert response.status_code == 422
    assert shown(MSG_BOTH, response) in body(response)
    assert not TimelineEntry.objects.filter(case=case, kind="survivor_updated").exists()


def test_an_incident_is_added_with_its_commune_and_classified(
    client: Client, case: CaseFile
) -> None:
    commune = make_commune("Anfa")
    path = url("incident_add", case)
    response = client.post(
        path,
        adding(
            client,
            path,
            {
                "date_kind": "period",
                "occurred_from": days_ago(40).isoformat(),
                "occurred_to": days_ago(30).isoformat(),
                "province": commune.province.code,
                "commune": str(commune.pk),
                "forms": ["economic", "psychological"],
                "action": "save",
            },
        ),
    )
    assert response.status_code == 302
    added = case.incidents.order_by("-id").first()
    assert added is not None
    assert added.commune_id == commune.pk
    assert added.occurred_on is None
    assert sorted(added.forms) == ["economic", "psychological"]
    assert added.gbvims_type


def test_the_commune_picker_without_javascript_redraws_and_saves_nothing(
    client: Client, case: CaseFile
) -> None:
    commune = make_commune("Maarif")
    incident = case.incidents.get()
    response = client.post(
        url("incident_edit", case, incident.pk),
        {
            "date_kind": "day",
            "occurred_on": "not a day",
            "province": commune.province.code,
            "forms": ["physical"],
            "action": "refresh:commune",
        },
    )
    assert response.status_code == 200
    page = body(response)
    assert f'<option value="{commune.pk}"' in page
    assert value_of(page, "occurred_on") == "not a day"
    assert not TimelineEntry.objects.filter(case=case, kind="incident_updated").exists()


def test_a_wrong_incident_keeps_what_was_typed_with_messages_on_its_fields(
    client: Client, case: CaseFile
) -> None:
    incident = case.incidents.get()
    client.cookies["himaya_lang"] = "ar"
    response = client.post(
        url("incident_edit", case, incident.pk),
        {
            "date_kind": "day",
            "occurred_on": days_ago(-3).isoformat(),
            "commune": "999999",
            "forms": ["physical", "sexual"],
            "action": "save",
        },
    )
    assert response.status_code == 422
    page = body(response)
    with translation.override("ar"):
        assert escape(str(MSG_UNKNOWN_COMMUNE)) in page
    assert value_of(page, "occurred_on") == days_ago(-3).isoformat()
    assert re.search(r'value="sexual"[^>]*checked', page)
    incident.refresh_from_db()
    assert incident.forms == ["physical"]


def test_correcting_him_through_the_page(client: Client, case: CaseFile) -> None:
    him = case.perpetrators.get()
    page = body(client.get(url("perpetrator_edit", case, him.pk)))
    assert value_of(page, "full_name") == escape(HIM)
    response = client.post(
        url("perpetrator_edit", case, him.pk),
        {
            "relationship": "ex_spouse",
            "full_name": HIM,
            "phone": "0699887766",
            "number_involved": "1",
            "action": "save",
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#perpetrators")
    him.refresh_from_db()
    assert (him.relationship, him.phone) == ("ex_spouse", "+212699887766")


def test_a_child_is_added_then_corrected_through_the_pages(client: Client, case: CaseFile) -> None:
    path = url("dependant_add", case)
    response = client.post(
        path,
        adding(
            client,
            path,
            {"first_name": "Imane", "age": "6", "relationship": "child", "at_risk": "on"},
        ),
    )
    assert response.status_code == 302
    child = Dependant.objects.get(case=case)
    wrong = client.post(
        url("dependant_edit", case, child.pk),
        {"first_name": "Imane", "age": "sixty", "relationship": "child", "action": "save"},
    )
    assert wrong.status_code == 422
    assert value_of(body(wrong), "age") == "sixty"
    right = client.post(
        url("dependant_edit", case, child.pk),
        {"age": "7", "relationship": "child", "first_name_declined": "on", "action": "save"},
    )
    assert right.status_code == 302
    child.refresh_from_db()
    assert (child.first_name, child.age, child.at_risk, child.declined) == (
        "",
        7,
        False,
        ["first_name"],
    )


def test_the_case_page_links_to_every_edit_page(client: Client, case: CaseFile) -> None:
    page = body(client.get(case_url(case.pk)))
    for link in (
        url("survivor_edit", case),
        url("incident_add", case),
        url("incident_edit", case, case.incidents.get().pk),
        url("perpetrator_add", case),
        url("perpetrator_edit", case, case.perpetrators.get().pk),
        url("dependant_add", case),
    ):
        assert f'href="{link}"' in page


@pytest.mark.parametrize(
    ("name", "item"),
    [
        ("survivor_edit", None),
        ("incident_add", None),
        ("incident_edit", "incident"),
        ("perpetrator_edit", "perpetrator"),
    ],
)
def test_another_units_officer_gets_the_same_404_as_for_a_missing_case(
    case: CaseFile, name: str, item: str | None
) -> None:
    stranger = signed_in(signed_staff(Role.UNIT_OFFICER, make_unit()))
    extra: list[object] = []
    if item == "incident":
        extra = [case.incidents.get().pk]
    elif item == "perpetrator":
        extra = [case.perpetrators.get().pk]
    theirs = stranger.get(reverse(f"cases:{name}", args=[case.pk, *extra]))
    missing = stranger.get(reverse(f"cases:{name}", args=[uuid.uuid4(), *extra]))
    assert theirs.status_code == missing.status_code == 404
    assert comparable(theirs) == comparable(missing)
    posted = stranger.post(reverse(f"cases:{name}", args=[case.pk, *extra]), {"action": "save"})
    assert posted.status_code == 404


def test_an_incident_of_another_case_is_not_found_through_this_case(
    client: Client, officer: Staff, case: CaseFile
) -> None:
    other = open_case(officer.actor)
    response = client.get(url("incident_edit", case, other.incidents.get().pk))
    assert response.status_code == 404


def test_a_closed_case_is_read_only(unit: Agency, case: CaseFile) -> None:
    chief = signed_staff(Role.UNIT_CHIEF, unit)
    services.case_request_closure(actor=chief.actor, case_id=case.pk, reason="no_contact")
    services.case_approve_closure(actor=chief.actor, case_id=case.pk)
    client = signed_in(chief)
    assert client.get(url("survivor_edit", case)).status_code == 403
    page = body(client.get(case_url(case.pk)))
    assert url("survivor_edit", case) not in page


def test_a_double_click_on_add_adds_one_child_not_two(client: Client, case: CaseFile) -> None:
    path = url("dependant_add", case)
    form = adding(client, path, {"first_name": "Imane", "age": "6", "relationship": "child"})
    first = client.post(path, form)
    again = client.post(path, form)
    assert (first.status_code, again.status_code) == (302, 302)
    assert Dependant.objects.filter(case=case).count() == 1


def test_an_add_form_without_its_token_saves_nothing_and_keeps_what_was_typed(
    client: Client, case: CaseFile
) -> None:
    response = client.post(
        url("dependant_add", case), {"first_name": "Imane", "age": "6", "relationship": "child"}
    )
    assert response.status_code == 422
    assert value_of(body(response), "first_name") == "Imane"
    assert value_of(body(response), "submission")
    assert not Dependant.objects.filter(case=case).exists()
