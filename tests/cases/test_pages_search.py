"""Finding her again from the search page: her files in my unit as links, other units only
as a unit to contact, and nothing typed or identifying echoed back."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from himaya.accounts.roles import Role
from himaya.cases.intake import SurvivorData
from himaya.cases.models import CaseFile
from himaya.core.models import AuditEvent
from himaya.network.models import Agency
from tests.cases.helpers import Staff, make_commune, make_unit, open_case
from tests.cases.pages_helpers import body, case_url, signed_in, signed_staff

pytestmark = pytest.mark.django_db

BORN = date(1994, 5, 17)


@pytest.fixture
def unit() -> Agency:
    return make_unit()


@pytest.fixture
def officer(unit: Agency) -> Staff:
    return signed_staff(Role.UNIT_OFFICER, unit)


@pytest.fixture
def her_case(officer: Staff) -> CaseFile:
    return open_case(
        officer.actor,
        survivor=SurvivorData(
            full_name="Fatima Zahra Alaoui", phone="0661234567", cin="BK654321", date_of_birth=BORN
        ),
    )


def search(client: Client, **fields: str) -> str:
    response = client.post(reverse("cases:search"), fields)
    assert response.status_code == 200, body(response)[:2000]
    return body(response)


def own_results(page: str) -> str:
    return page.split('id="own-heading"', 1)[1].split("</section>", 1)[0]


def other_results(page: str) -> str:
    return page.split('id="elsewhere-heading"', 1)[1].split("</section>", 1)[0]


@pytest.mark.parametrize(
    "fields",
    [
        {"phone": "06 61 23 45 67"},
        {"phone": "+212661234567"},
        {"cin": "bk654321"},
        {"name": "Fatema Zahra"},
        {"name": "Alaoui Fatima"},
        {"name": "فاطمة"},
    ],
)
def test_her_file_is_found_by_phone_cin_or_any_spelling_of_her_name(
    officer: Staff, her_case: CaseFile, fields: dict[str, str]
) -> None:
    page = search(signed_in(officer), **fields)
    results = own_results(page)
    assert her_case.reference in results
    assert f'href="{case_url(her_case.pk)}"' in results


def test_results_show_no_name_and_the_form_comes_back_empty(
    officer: Staff, her_case: CaseFile
) -> None:
    page = search(signed_in(officer), phone="0661234567", name="Fatima Zahra")
    assert her_case.reference in page
    # ("Fatima" is in the help text as an example of spellings; her other names are not.)
    for typed in ("Zahra", "Alaoui", "0661234567", "661234567", "BK654321"):
        assert typed not in page


def test_another_units_file_is_named_by_its_unit_only(officer: Staff) -> None:
    elsewhere = make_unit()
    their_officer = signed_staff(Role.UNIT_OFFICER, elsewhere)
    theirs = open_case(
        their_officer.actor,
        survivor=SurvivorData(full_name="Salma Idrissi", phone="0677889900", date_of_birth=BORN),
    )
    page = search(signed_in(officer), phone="0677889900")

    assert elsewhere.name_ar in other_results(page)  # the page is in Arabic
    assert theirs.reference not in page
    assert str(theirs.pk) not in page
    assert "Salma" not in page
    assert theirs.reference not in own_results(page)
    assert signed_in(officer).get(case_url(theirs.pk)).status_code == 404


def test_a_bare_name_never_reveals_another_unit_but_a_name_and_birth_date_does(
    officer: Staff,
) -> None:
    elsewhere = make_unit()
    their_officer = signed_staff(Role.UNIT_OFFICER, elsewhere)
    open_case(
        their_officer.actor,
        survivor=SurvivorData(full_name="Houda Tazi", date_of_birth=BORN),
    )
    client = signed_in(officer)

    bare = search(client, name="Houda Tazi")
    assert elsewhere.name_ar not in bare

    narrowed = search(client, name="Houda Tazi", date_of_birth=BORN.isoformat())
    assert elsewhere.name_ar in other_results(narrowed)


def test_a_name_with_a_commune_and_age_range_looks_beyond_the_unit(officer: Staff) -> None:
    commune = make_commune("Ain Chock")
    elsewhere = make_unit()
    their_officer = signed_staff(Role.UNIT_OFFICER, elsewhere)
    open_case(
        their_officer.actor,
        survivor=SurvivorData(
            full_name="Rachida Bennani", age_range="25-34", residence_commune_id=commune.pk
        ),
    )
    page = search(
        signed_in(officer), name="Rachida Bennani", age_range="25-34", commune=commune.code
    )
    assert elsewhere.name_ar in other_results(page)


def test_a_wrong_phone_is_refused_next_to_the_field(officer: Staff) -> None:
    response = signed_in(officer).post(reverse("cases:search"), {"phone": "12"})
    assert response.status_code == 422
    page = body(response)
    assert 'id="own-heading"' not in page
    assert "errorlist" in page.split('name="phone"', 1)[1].split("</div>", 1)[0]


def test_an_empty_search_asks_for_something_to_look_for(officer: Staff) -> None:
    response = signed_in(officer).post(reverse("cases:search"), {})
    assert response.status_code == 422
    assert 'role="alert"' in body(response)


def test_a_search_is_never_run_from_a_url(officer: Staff, her_case: CaseFile) -> None:
    """Nothing typed must travel in a URL: a GET with parameters shows the empty form."""
    response = signed_in(officer).get(reverse("cases:search"), {"phone": "0661234567"})
    assert response.status_code == 200
    assert her_case.reference not in body(response)
    assert not AuditEvent.objects.filter(action="case.search").exists()


def test_searches_are_audited_by_kind_never_by_value(officer: Staff, her_case: CaseFile) -> None:
    search(signed_in(officer), phone="0661234567", cin="BK654321")
    events = AuditEvent.objects.filter(action="case.search", actor_user_id=officer.user.pk)
    assert sorted(e.metadata["by"] for e in events) == ["cin", "phone"]
    for event in events:
        assert "0661234567" not in str(event.metadata)
        assert str(her_case.pk) in event.metadata["own_cases"]
