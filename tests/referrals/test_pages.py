"""The referral pages: each role's queue, the first-contact form, the referral page (only the
consented fields, and the "what you received and why" box), the steps as POST forms, the
case's referrals with routing by need, the letter, and refusals that look like missing."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from himaya.accounts.roles import Role
from himaya.cases.models import CaseFile
from himaya.referrals import services
from himaya.referrals.models import Referral
from himaya.referrals.states import ReferralState
from tests.accounts.helpers import login_staff
from tests.cases.helpers import Staff
from tests.cases.pages_helpers import body, comparable, signed_staff, title
from tests.referrals.helpers import (
    NARRATIVE,
    SURVIVOR_NAME,
    case_with_consent,
    make_world,
    refer_first_contact,
    refer_to_shelter,
)

pytestmark = pytest.mark.django_db


def signed_in(staff: Staff) -> Client:
    """Signed in, reading English (the messages the tests look for)."""
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    login_staff(client, staff.user)
    return client


def test_a_focal_point_records_a_first_contact_and_refers_her() -> None:
    world = make_world()
    focal = signed_staff(Role.FOCAL_POINT, world.station)
    client = signed_in(focal)
    page = client.get(reverse("referrals:first_contact"))
    assert page.status_code == 200
    assert SURVIVOR_NAME not in title(page)
    response = client.post(
        reverse("referrals:first_contact"),
        {
            "full_name": SURVIVOR_NAME,
            "phone": "0612345678",
            "needs": "A safe place tonight",
            "immediate_danger": "no",
            "safe_channel": "phone_call",
            "violence": ["physical"],
            "declined": ["date"],
        },
    )
    assert response.status_code == 302
    referral = Referral.objects.get()
    assert response["Location"] == reverse("referrals:detail", args=[referral.pk])
    assert referral.to_agency_id == world.unit.pk
    listed = client.get(reverse("referrals:queue"))
    assert reverse("referrals:detail", args=[referral.pk]) in body(listed)
    assert SURVIVOR_NAME not in body(listed)


def test_the_first_contact_form_says_what_is_missing() -> None:
    world = make_world()
    client = signed_in(signed_staff(Role.FOCAL_POINT, world.station))
    response = client.post(
        reverse("referrals:first_contact"),
        {"to_unit": str(world.other_unit.pk), "immediate_danger": "no"},
    )
    assert response.status_code == 422
    assert "Write the reason in a sentence." in body(response)
    assert not Referral.objects.exists()


def test_the_unit_accepts_from_its_queue_and_the_case_opens() -> None:
    world = make_world()
    referral = refer_first_contact(world)
    officer = signed_staff(Role.UNIT_OFFICER, world.unit)
    client = signed_in(officer)
    queue = client.get(reverse("referrals:queue"))
    assert reverse("referrals:detail", args=[referral.pk]) in body(queue)
    page = client.get(reverse("referrals:detail", args=[referral.pk]))
    assert "A safe place tonight" in body(page)
    response = client.post(reverse("referrals:accept", args=[referral.pk]))
    assert response.status_code == 302
    case = CaseFile.objects.get()
    again = client.get(reverse("referrals:detail", args=[referral.pk]))
    assert reverse("cases:case_detail", args=[case.pk]) in body(again)
    # A second click gets a clear message, not a second case.
    second = client.post(reverse("referrals:accept", args=[referral.pk]))
    assert second.status_code == 409
    assert "already accepted" in body(second)
    assert CaseFile.objects.count() == 1


def test_the_provider_sees_only_the_consented_fields_and_why() -> None:
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case)
    provider = signed_staff(Role.SERVICE_PROVIDER, world.shelter)
    client = signed_in(provider)
    page = client.get(reverse("referrals:detail", args=[referral.pk]))
    html = body(page)
    assert page.status_code == 200
    assert SURVIVOR_NAME in html
    assert NARRATIVE not in html
    assert "What you received and why" in html
    assert "Identity (name, CIN, date of birth)" in html
    assert "Her account and how she was heard" not in html
    assert "Share with a shelter" in html
    assert SURVIVOR_NAME not in title(page)


def test_after_revocation_the_provider_page_shows_nothing_of_her() -> None:
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case)
    services.referral_accept(actor=world.provider, referral_id=referral.pk)
    services.referral_consent_withdrawn(actor=world.officer, referral_id=referral.pk)
    client = signed_in(signed_staff(Role.SERVICE_PROVIDER, world.shelter))
    html = body(client.get(reverse("referrals:detail", args=[referral.pk])))
    assert SURVIVOR_NAME not in html
    assert "Access to her file has ended" in html


def test_a_referral_not_received_is_refused_like_a_missing_one() -> None:
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case)
    client = signed_in(signed_staff(Role.SERVICE_PROVIDER, world.legal_aid))
    foreign = client.get(reverse("referrals:detail", args=[referral.pk]))
    missing = client.get(reverse("referrals:detail", args=[uuid.uuid4()]))
    assert foreign.status_code == missing.status_code == 404
    assert comparable(foreign) == comparable(missing)
    accept = client.post(reverse("referrals:accept", args=[referral.pk]))
    assert accept.status_code == 404
    assert Referral.objects.get(pk=referral.pk).state == ReferralState.SENT


def test_the_provider_declines_with_a_reason_on_the_page() -> None:
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case)
    client = signed_in(signed_staff(Role.SERVICE_PROVIDER, world.shelter))
    short = client.post(reverse("referrals:decline", args=[referral.pk]), {"reason": "no"})
    assert short.status_code == 422
    done = client.post(
        reverse("referrals:decline", args=[referral.pk]), {"reason": "No bed for her children"}
    )
    assert done.status_code == 302
    assert Referral.objects.get(pk=referral.pk).state == ReferralState.DECLINED


def test_the_unit_refers_a_case_to_a_service_from_its_page() -> None:
    world = make_world()
    case = case_with_consent(world)
    officer = signed_staff(Role.UNIT_OFFICER, world.unit)
    client = signed_in(officer)
    url = reverse("referrals:case_referrals", args=[case.pk])
    page = client.get(url, {"need": "shelter", "children": "on"})
    assert page.status_code == 200
    assert world.shelter.name_fr in body(page) or world.shelter.name_ar in body(page)
    response = client.post(
        url,
        {
            "agency": str(world.shelter.pk),
            "need": "shelter",
            "urgency": "routine",
            "scope": ["identity", "contact"],
            "basis": "consent",
            "message": "She needs a bed tonight",
        },
    )
    assert response.status_code == 302, body(response)
    referral = Referral.objects.get()
    assert referral.to_agency_id == world.shelter.pk
    duplicate = client.post(
        url,
        {
            "agency": str(world.shelter.pk),
            "need": "shelter",
            "urgency": "routine",
            "scope": ["identity"],
            "basis": "consent",
        },
    )
    assert duplicate.status_code == 422
    assert "already referred" in body(duplicate)
    listed = client.get(url)
    assert reverse("referrals:detail", args=[referral.pk]) in body(listed)


def test_a_case_of_another_unit_has_no_referrals_page() -> None:
    world = make_world()
    case = case_with_consent(world)
    client = signed_in(signed_staff(Role.UNIT_OFFICER, world.other_unit))
    url = reverse("referrals:case_referrals", args=[case.pk])
    assert client.get(url).status_code == 404
    assert client.get(reverse("referrals:case_referrals", args=[uuid.uuid4()])).status_code == 404


def test_the_letter_carries_only_what_her_consent_allows() -> None:
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case, scope=["contact"])
    client = signed_in(signed_staff(Role.UNIT_OFFICER, world.unit))
    html = body(client.get(reverse("referrals:letter", args=[referral.pk])))
    assert "+212612345678" in html
    assert SURVIVOR_NAME not in html
    assert NARRATIVE not in html
    pdf = client.get(reverse("referrals:letter_pdf", args=[referral.pk]))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert "document.pdf" in pdf["Content-Disposition"]


def test_queue_pages_cost_a_fixed_number_of_queries() -> None:
    world = make_world()
    officer = signed_staff(Role.UNIT_OFFICER, world.unit)
    client = signed_in(officer)
    refer_first_contact(world)
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("referrals:queue")).status_code == 200
    for _ in range(6):
        refer_first_contact(world)
    with CaptureQueriesContext(connection) as seven:
        assert client.get(reverse("referrals:queue")).status_code == 200
    assert len(seven.captured_queries) == len(one.captured_queries)
    assert len(one.captured_queries) <= 15


@pytest.mark.parametrize("role", [Role.PROSECUTOR, Role.NATIONAL_ANALYST, Role.SYSTEM_ADMIN])
def test_roles_without_referrals_get_no_queue(role: str) -> None:
    client = signed_in(signed_staff(role, make_world().central))
    assert client.get(reverse("referrals:queue")).status_code == 404


def test_a_queue_row_shows_its_link_deadline_and_badges() -> None:
    """What a row says, whatever builds it (``views._rows``): the referral's address, its
    kind (no case yet) or the case's reference, agencies, state, urgency, the deadline
    (ISO in ``datetime``, DATETIME_FORMAT in words, local time), the overdue badge and the
    escalation step."""
    from datetime import timedelta

    from django.utils import timezone
    from django.utils.formats import date_format

    world = make_world()
    officer = signed_staff(Role.UNIT_OFFICER, world.unit)
    late = refer_first_contact(world)
    deadline = timezone.now() - timedelta(hours=3)
    Referral.objects.filter(pk=late.pk).update(deadline_at=deadline, escalation_level=1)
    page = body(signed_in(officer).get(reverse("referrals:queue")))
    address = reverse("referrals:detail", args=[late.pk])
    row = page[page.index(address) - 60 : page.index("</tr>", page.index(address))]
    assert f'<a class="referral-kind" href="{address}">' in row
    assert "From a district station to a unit" in row
    assert world.station.name_fr in row
    assert world.unit.name_fr in row
    assert 'referral-state--sent">Waiting for an answer</span>' in row
    local = timezone.localtime(deadline)
    assert f'<time datetime="{local.isoformat()}" class="case-overdue">' in row
    with translation.override("en"):
        assert date_format(local, "DATETIME_FORMAT") in row
    assert 'case-badge--alert">overdue</span>' in row
    assert "Overdue: the unit chief was alerted" in row

    on_time = refer_to_shelter(world, case_with_consent(world))
    page = body(signed_in(officer).get(reverse("referrals:queue"), {"tab": "sent"}))
    address = reverse("referrals:detail", args=[on_time.pk])
    row = page[page.index(address) - 60 : page.index("</tr>", page.index(address))]
    assert on_time.case is not None
    assert f'<a class="case-ref" href="{address}"><bdi dir="ltr">{on_time.case.reference}' in row
    assert "case-badge" not in row
