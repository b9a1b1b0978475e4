"""One rule decides who reads the unit's alerts (policies.may_read_alerts): the page and the
API both answer the unit chief, and refuse every other role alike."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from himaya.accounts.roles import Role
from himaya.cases import policies, services
from tests.accounts.helpers import ROLE_AGENCY_KIND, make_agency
from tests.cases.api_helpers import API, bearer, token_for
from tests.cases.helpers import make_actor, make_person, make_unit, open_case
from tests.cases.pages_helpers import signed_in, signed_staff

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", [Role.UNIT_OFFICER, Role.PROSECUTOR, Role.NATIONAL_ANALYST])
def test_only_the_unit_chief_reads_alerts_on_the_page_and_through_the_api(role: str) -> None:
    unit = make_unit()
    chief = make_person(Role.UNIT_CHIEF, unit)
    case = open_case(chief.actor)
    services.case_request_closure(actor=chief.actor, case_id=case.pk, reason="duplicate")
    agency = unit if role == Role.UNIT_OFFICER else make_agency(ROLE_AGENCY_KIND[role])
    other = make_person(role, agency)
    assert policies.may_read_alerts(chief.actor)
    assert not policies.may_read_alerts(other.actor)

    api = Client()
    chief_items = api.get(f"{API}/alerts", headers=bearer(token_for(chief))).json()["items"]
    assert len(chief_items) == 1
    assert api.get(f"{API}/alerts", headers=bearer(token_for(other))).status_code == 404

    page_chief = signed_in(signed_staff(Role.UNIT_CHIEF, unit))
    assert page_chief.get(reverse("cases:alerts")).status_code == 200
    page_other = signed_in(signed_staff(role, agency))
    assert page_other.get(reverse("cases:alerts")).status_code == 404


def test_the_system_reads_no_alerts() -> None:
    from himaya.core.actor import SYSTEM

    assert not policies.may_read_alerts(SYSTEM)
    assert policies.may_read_alerts(make_actor(Role.UNIT_CHIEF, make_unit()))
