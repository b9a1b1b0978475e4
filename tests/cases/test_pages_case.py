"""The case page and its actions, through the real pages and signed-in sessions: who sees
what, what every view leaves in the audit trail, and each action's POST form."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from himaya.accounts import session_keys
from himaya.accounts.roles import Role
from himaya.cases import services
from himaya.cases.forms import FIELD_GROUP_LABELS
from himaya.cases.intake import DependantData, PerpetratorData, SurvivorData
from himaya.cases.models import (
    Alert,
    AlertKind,
    CaseFile,
    ConsentPurpose,
    Grant,
    Note,
    Relationship,
    SharingBasis,
    Task,
    TimelineEntry,
)
from himaya.cases.policies import FieldGroup
from himaya.cases.states import CaseState, ClosureReason
from himaya.core.models import AuditEvent
from himaya.network.models import Agency, AgencyKind
from tests.accounts.helpers import ROLE_AGENCY_KIND, make_agency
from tests.cases.helpers import Staff, make_unit, open_case
from tests.cases.pages_helpers import body, case_url, comparable, signed_in, signed_staff, title

pytestmark = pytest.mark.django_db

NAME = "Nadia Berrada"
CIN = "BK123456"
PHONE = "0612345678"
NARRATIVE = "He locked the door and took my passport."
PERPETRATOR = "Youssef Oulad"
CHILD = "Imane"


@pytest.fixture
def unit() -> Agency:
    return make_unit()


@pytest.fixture
def chief(unit: Agency) -> Staff:
    return signed_staff(Role.UNIT_CHIEF, unit)


@pytest.fixture
def officer(unit: Agency) -> Staff:
    return signed_staff(Role.UNIT_OFFICER, unit)


@pytest.fixture
def case(officer: Staff) -> CaseFile:
    return open_case(
        officer.actor,
        survivor=SurvivorData(full_name=NAME, cin=CIN, phone=PHONE, address="Derb 12"),
        perpetrators=[PerpetratorData(relationship=Relationship.SPOUSE, full_name=PERPETRATOR)],
        dependants=[DependantData(first_name=CHILD, age=6)],
        narrative=NARRATIVE,
    )


def shelter_sharing(chief: Staff, case: CaseFile, scope: list[str]) -> tuple[Staff, Grant]:
    """A shelter's worker, and a grant to her shelter resting on the survivor's consent."""
    shelter = make_agency(AgencyKind.SHELTER)
    services.consent_record(
        actor=chief.actor,
        case_id=case.pk,
        purpose=ConsentPurpose.SHARE_SHELTER,
        granted=True,
        scope=scope,
    )
    grant = services.case_share(
        actor=chief.actor, case_id=case.pk, agency_id=shelter.pk, scope=scope
    )
    return signed_staff(Role.SERVICE_PROVIDER, shelter), grant


# --- who sees what ------------------------------------------------------------------------


def test_the_holding_unit_sees_the_whole_file(officer: Staff, case: CaseFile) -> None:
    services.note_add(actor=officer.actor, case_id=case.pk, body="She will call on Monday.")
    page = body(signed_in(officer).get(case_url(case.pk)))
    for value in (NAME, CIN, "+212612345678", "Derb 12", NARRATIVE, PERPETRATOR, CHILD):
        assert value in page
    assert "She will call on Monday." in page
    assert case.reference in page


def test_a_grantee_sees_only_the_groups_she_received_and_why(chief: Staff, case: CaseFile) -> None:
    worker, _grant = shelter_sharing(chief, case, ["incidents", "contact"])
    response = signed_in(worker).get(case_url(case.pk))
    page = body(response)

    assert response.status_code == 200
    assert "+212612345678" in page  # contact was shared
    assert 'id="incidents"' in page
    for hidden in (NAME, CIN, NARRATIVE, PERPETRATOR, CHILD):
        assert hidden not in page
    for section in ('id="narrative"', 'id="perpetrators"', 'id="notes"', 'id="consents"'):
        assert section not in page
    # What it received, and on which basis.
    received = page.split('id="received"', 1)[1].split("</section>", 1)[0]
    with translation.override("ar"):  # the page's language (no preference, no cookie)
        expected = [
            str(SharingBasis.CONSENT.label),
            str(ConsentPurpose.SHARE_SHELTER.label),
            str(FIELD_GROUP_LABELS[FieldGroup.INCIDENTS]),
            str(FIELD_GROUP_LABELS[FieldGroup.CONTACT]),
        ]
    for text in expected:
        assert escape(text) in received
    assert escape(str(FIELD_GROUP_LABELS[FieldGroup.NARRATIVE])) not in received


@pytest.mark.parametrize(
    "role",
    [
        Role.UNIT_OFFICER,
        Role.UNIT_CHIEF,
        Role.NATIONAL_ANALYST,
        Role.SYSTEM_ADMIN,
        Role.AUDITOR,
        Role.PROSECUTOR,
    ],
)
def test_anyone_else_gets_the_same_not_found_as_for_a_missing_case(
    case: CaseFile, role: str
) -> None:
    agency = make_unit() if role in (Role.UNIT_OFFICER, Role.UNIT_CHIEF) else None
    outsider = signed_staff(role, agency or make_agency(ROLE_AGENCY_KIND[role]))
    client = signed_in(outsider)

    refused = client.get(case_url(case.pk))
    missing = client.get(case_url(uuid.uuid4()))

    assert refused.status_code == missing.status_code == 404
    assert comparable(refused) == comparable(missing)
    assert NAME not in body(refused)
    assert case.reference not in body(refused)
    for name in ("receipt", "receipt_pdf", "share_without_consent"):
        assert client.get(reverse(f"cases:{name}", args=[case.pk])).status_code == 404
    assert AuditEvent.objects.filter(action="case.read_denied", target_id=str(case.pk)).exists()


def test_analysts_and_administrators_see_nothing_even_with_a_grant_to_their_agency(
    chief: Staff, case: CaseFile
) -> None:
    shelter = make_agency(AgencyKind.SHELTER)
    services.consent_record(
        actor=chief.actor,
        case_id=case.pk,
        purpose=ConsentPurpose.SHARE_SHELTER,
        granted=True,
        scope=["incidents"],
    )
    services.case_share(
        actor=chief.actor, case_id=case.pk, agency_id=shelter.pk, scope=["incidents"]
    )
    auditor = signed_staff(Role.AUDITOR, shelter)
    assert signed_in(auditor).get(case_url(case.pk)).status_code == 404


def test_revoking_her_consent_ends_the_grantees_access_at_once(
    chief: Staff, case: CaseFile
) -> None:
    worker, _grant = shelter_sharing(chief, case, ["incidents"])
    grantee = signed_in(worker)
    assert grantee.get(case_url(case.pk)).status_code == 200
    unit_client = signed_in(chief)
    revoke = reverse("cases:consent_revoke", args=[case.pk, ConsentPurpose.SHARE_SHELTER])
    assert unit_client.get(revoke).status_code == 200  # the confirmation page

    unconfirmed = unit_client.post(revoke, {})
    assert unconfirmed.status_code == 422
    assert grantee.get(case_url(case.pk)).status_code == 200

    confirmed = unit_client.post(revoke, {"confirm": "on"})
    assert confirmed.status_code == 302
    assert grantee.get(case_url(case.pk)).status_code == 404


def test_every_view_of_the_case_page_is_an_audited_read(
    officer: Staff, chief: Staff, case: CaseFile
) -> None:
    worker, _grant = shelter_sharing(chief, case, ["incidents"])
    before = AuditEvent.objects.filter(action="case.read", target_id=str(case.pk)).count()
    signed_in(officer).get(case_url(case.pk))
    signed_in(officer).get(case_url(case.pk))
    signed_in(worker).get(case_url(case.pk))
    reads = AuditEvent.objects.filter(action="case.read", target_id=str(case.pk)).order_by(
        "sequence"
    )
    assert reads.count() == before + 3
    last = reads.last()
    assert last is not None
    assert last.actor_user_id == worker.user.pk
    assert last.metadata["holding_unit"] is False
    assert last.metadata["groups"] == ["incidents"]


def test_one_view_is_one_audited_read_with_its_timeline(officer: Staff, case: CaseFile) -> None:
    """The page's timeline comes with its ``case.read``: no second audited read (and, on
    SQLite, no second commit to disk) for the same view; a tampered cursor shows the first
    page of each list."""
    services.note_add(actor=officer.actor, case_id=case.pk, body="note")
    client = signed_in(officer)
    before = AuditEvent.objects.filter(target_id=str(case.pk)).count()
    page = client.get(case_url(case.pk))
    assert page.status_code == 200
    assert 'id="timeline"' in body(page)
    events = AuditEvent.objects.filter(target_id=str(case.pk)).order_by("sequence")
    assert [e.action for e in events][before:] == ["case.read"]
    tampered = client.get(case_url(case.pk), {"timeline": "not-a-cursor", "notes": "x"})
    assert tampered.status_code == 200
    assert 'id="timeline"' in body(tampered)


def test_her_name_is_in_no_title_and_no_address(officer: Staff, case: CaseFile) -> None:
    client = signed_in(officer)
    page = client.get(case_url(case.pk))
    assert NAME.split(maxsplit=1)[0] not in title(page)
    assert case.reference not in title(page)
    note = client.post(reverse("cases:note_add", args=[case.pk]), {"body": "Called her."})
    assert note.status_code == 302
    assert NAME.split(maxsplit=1)[0] not in note["Location"]
    search = client.post(reverse("cases:search"), {"name": NAME})
    assert NAME.split(maxsplit=1)[0] not in title(search)
    for url in (reverse("cases:queue"), reverse("cases:receipt", args=[case.pk])):
        assert NAME.split(maxsplit=1)[0] not in title(client.get(url))


# --- the life cycle -----------------------------------------------------------------------


def test_step_buttons_are_only_the_allowed_transitions(officer: Staff, case: CaseFile) -> None:
    page = body(signed_in(officer).get(case_url(case.pk)))
    offered = set(page.split('name="to_state" value="')[1:])
    offered_states = {chunk.split('"', 1)[0] for chunk in offered}
    assert offered_states == {CaseState.ASSESSED, CaseState.REFERRED, CaseState.FORWARDED}


def test_an_officer_moves_the_case_and_a_forbidden_step_is_refused(
    officer: Staff, case: CaseFile
) -> None:
    client = signed_in(officer)
    url = reverse("cases:transition", args=[case.pk])

    assert client.post(url, {"to_state": CaseState.ASSESSED}).status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.ASSESSED

    refused = client.post(url, {"to_state": CaseState.CLOSED})
    assert refused.status_code == 422
    progress = body(refused).split('id="progress"', 1)[1].split("</section>", 1)[0]
    assert 'role="alert"' in progress
    case.refresh_from_db()
    assert case.state == CaseState.ASSESSED


def test_closure_needs_the_chief_and_a_closed_case_can_be_reopened(
    officer: Staff, chief: Staff, case: CaseFile
) -> None:
    officer_client = signed_in(officer)
    requested = officer_client.post(
        reverse("cases:request_closure", args=[case.pk]),
        {"reason": ClosureReason.SURVIVOR_DECIDED},
    )
    assert requested.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.CLOSURE_REQUESTED
    assert Alert.objects.filter(case=case, kind=AlertKind.CLOSURE_REQUESTED).exists()
    assert "closure/approve" not in body(officer_client.get(case_url(case.pk)))

    officer_approves = officer_client.post(reverse("cases:approve_closure", args=[case.pk]))
    assert officer_approves.status_code == 403
    case.refresh_from_db()
    assert case.state == CaseState.CLOSURE_REQUESTED

    chief_client = signed_in(chief)
    assert "closure/approve" in body(chief_client.get(case_url(case.pk)))
    assert chief_client.post(reverse("cases:approve_closure", args=[case.pk])).status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED

    too_short = chief_client.post(reverse("cases:reopen", args=[case.pk]), {"reason": "back"})
    assert too_short.status_code == 422
    reopened = chief_client.post(
        reverse("cases:reopen", args=[case.pk]),
        {"reason": "She came back after a new assault."},
    )
    assert reopened.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.OPEN


def test_the_chief_declines_a_closure_and_the_case_goes_back(
    officer: Staff, chief: Staff, case: CaseFile
) -> None:
    services.case_transition(actor=officer.actor, case_id=case.pk, to_state=CaseState.ASSESSED)
    services.case_request_closure(
        actor=officer.actor, case_id=case.pk, reason=ClosureReason.NO_CONTACT
    )
    response = signed_in(chief).post(reverse("cases:decline_closure", args=[case.pk]))
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.ASSESSED


def test_the_chief_assigns_and_an_officer_cannot(
    officer: Staff, chief: Staff, case: CaseFile
) -> None:
    url = reverse("cases:assign", args=[case.pk])
    assert signed_in(officer).post(url, {"officer_id": officer.user.pk}).status_code == 403
    assert signed_in(chief).post(url, {"officer_id": officer.user.pk}).status_code == 302
    case.refresh_from_db()
    assert case.assigned_to_id == officer.user.pk


# --- notes, tasks, consents, sharing ------------------------------------------------------


def test_a_note_is_added_and_sealed(officer: Staff, case: CaseFile) -> None:
    client = signed_in(officer)
    response = client.post(
        reverse("cases:note_add", args=[case.pk]), {"body": "Prefers a call after 18:00."}
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#notes")
    note = Note.objects.get(case=case)
    assert note.body == "Prefers a call after 18:00."
    assert "Prefers a call after 18:00." in body(client.get(case_url(case.pk)))
    empty = client.post(reverse("cases:note_add", args=[case.pk]), {"body": ""})
    assert empty.status_code == 422


def test_a_task_is_added_with_its_due_date_then_completed(officer: Staff, case: CaseFile) -> None:
    client = signed_in(officer)
    due = timezone.localdate() + timedelta(days=3)
    added = client.post(
        reverse("cases:task_add", args=[case.pk]),
        {"description": "Medical certificate", "due_on": due.isoformat()},
    )
    assert added.status_code == 302
    task = Task.objects.get(case=case)
    case.refresh_from_db()
    assert case.next_due_on == due

    done = client.post(reverse("cases:task_complete", args=[case.pk, task.pk]))
    assert done.status_code == 302
    task.refresh_from_db()
    assert task.done_at is not None
    case.refresh_from_db()
    assert case.next_due_on is None


def test_a_task_due_in_the_past_is_refused_next_to_the_field(
    officer: Staff, case: CaseFile
) -> None:
    response = signed_in(officer).post(
        reverse("cases:task_add", args=[case.pk]),
        {
            "description": "Too late",
            "due_on": (timezone.localdate() - timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 422
    page = body(response)
    form = page.split('action="' + reverse("cases:task_add", args=[case.pk]), 1)[1]
    assert 'class="errorlist' in form.split("</form>", 1)[0]
    assert not Task.objects.filter(case=case).exists()


def test_consent_is_recorded_only_once_confirmed(officer: Staff, case: CaseFile) -> None:
    client = signed_in(officer)
    url = reverse("cases:consent_record", args=[case.pk])
    answer = {"purpose": ConsentPurpose.SHARE_HEALTH, "granted": "yes", "scope": ["incidents"]}
    assert client.post(url, answer).status_code == 422
    assert client.post(url, {**answer, "confirm": "on"}).status_code == 302
    assert case.consents.filter(purpose=ConsentPurpose.SHARE_HEALTH, granted=True).exists()


def test_sharing_without_consent_needs_a_basis_and_a_reason_and_alerts_the_chief(
    officer: Staff, case: CaseFile
) -> None:
    client = signed_in(officer)
    shelter = make_agency(AgencyKind.SHELTER)
    url = reverse("cases:share_without_consent", args=[case.pk])
    assert client.get(url).status_code == 200
    form = {
        "agency_id": shelter.pk,
        "basis": SharingBasis.LIFE_THREAT,
        "reason": "short",
        "scope": ["contact"],
    }
    assert client.post(url, form).status_code == 422
    assert not Grant.objects.filter(case=case).exists()

    minor = client.post(
        url, {**form, "basis": SharingBasis.MINOR, "reason": "He threatened to kill her tonight."}
    )
    assert minor.status_code == 422  # her record does not say she is under 18

    shared = client.post(url, {**form, "reason": "He threatened to kill her tonight."})
    assert shared.status_code == 302
    grant = Grant.objects.get(case=case)
    assert grant.basis == SharingBasis.LIFE_THREAT
    assert Alert.objects.filter(case=case, kind=AlertKind.SHARED_WITHOUT_CONSENT).exists()
    page = body(client.get(case_url(case.pk)))
    assert "case-grant--without-consent" in page


def test_the_unit_ends_a_sharing(chief: Staff, case: CaseFile) -> None:
    worker, grant = shelter_sharing(chief, case, ["incidents"])
    response = signed_in(chief).post(reverse("cases:grant_end", args=[case.pk, grant.pk]))
    assert response.status_code == 302
    assert signed_in(worker).get(case_url(case.pk)).status_code == 404


def test_a_grantee_cannot_act_on_the_file(chief: Staff, case: CaseFile) -> None:
    worker, _grant = shelter_sharing(chief, case, ["incidents"])
    client = signed_in(worker)
    assert client.post(reverse("cases:note_add", args=[case.pk]), {"body": "x"}).status_code == 403
    assert (
        client.post(
            reverse("cases:transition", args=[case.pk]), {"to_state": CaseState.ASSESSED}
        ).status_code
        == 403
    )
    assert not Note.objects.filter(case=case).exists()


# --- emergency access ---------------------------------------------------------------------


def age_second_factor(client: Client) -> None:
    session = client.session
    session[session_keys.OTP_AT] = 0
    session.save()


def test_break_glass_needs_a_fresh_second_factor_and_alerts_the_holding_chief(
    case: CaseFile,
) -> None:
    other = signed_staff(Role.UNIT_OFFICER, make_unit())
    client = signed_in(other)
    url = reverse("cases:break_glass")
    age_second_factor(client)
    form = {"reference": case.reference, "reason": "She is at our desk, injured, at night."}

    stale_get = client.get(url)
    stale_post = client.post(url, form)
    for response in (stale_get, stale_post):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:step_up"))
        assert "next=" in response["Location"]
    assert not Grant.objects.filter(case=case).exists()

    fresh = signed_in(other)
    assert fresh.get(url).status_code == 200
    opened = fresh.post(url, form)

    assert opened.status_code == 302
    assert opened["Location"] == case_url(case.pk)
    assert NAME in body(fresh.get(case_url(case.pk)))
    assert Alert.objects.filter(case=case, kind=AlertKind.BREAK_GLASS).exists()


def test_break_glass_on_an_unknown_reference_says_so_without_opening_anything() -> None:
    other = signed_staff(Role.UNIT_OFFICER, make_unit())
    response = signed_in(other).post(
        reverse("cases:break_glass"),
        {"reference": "U9999-2026-99999", "reason": "She is at our desk, injured, at night."},
    )
    assert response.status_code == 422
    assert not Grant.objects.exists()


def test_roles_that_never_break_glass_do_not_see_the_page() -> None:
    analyst = signed_staff(Role.NATIONAL_ANALYST, make_agency(AgencyKind.CENTRAL_UNIT))
    assert signed_in(analyst).get(reverse("cases:break_glass")).status_code == 404


def test_a_timeline_row_says_when_in_local_time(officer: Staff, case: CaseFile) -> None:
    entry = TimelineEntry.objects.filter(case=case).order_by("at", "id").first()
    assert entry is not None
    at = timezone.localtime(entry.at)
    page = body(signed_in(officer).get(case_url(case.pk)))
    assert f'<time datetime="{at.isoformat()}">' in page
    assert f" {at:%H:%M}</time>" in page
