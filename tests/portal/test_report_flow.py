"""A report and a complaint filed with JavaScript off, screen by screen, with the Django
client: they land in the right queues, once, and give a codename that opens her file."""

from __future__ import annotations

import pytest
from django.test import Client

from himaya.cases.models import Alert, AlertKind, CaseFile, Channel, Consent, Notice
from himaya.core.models import AuditEvent
from himaya.portal.models import Codename
from tests.portal.helpers import World, codename_in, hidden, post, walk

pytestmark = pytest.mark.django_db


def test_a_help_request_becomes_an_online_case_in_the_competent_unit(
    client: Client, world: World
) -> None:
    response, _receipt = walk(client, world)
    assert response.status_code == 200, response.content.decode()[:2000]
    case = CaseFile.objects.get()
    assert case.unit_id == world.unit.pk
    assert case.channel == Channel.ONLINE
    assert case.created_by_id is None
    assert case.suspected_automated is False
    assert case.survivor.full_name == "Amina Portail"
    assert case.survivor.safe_contact["portal"] is True
    assert case.survivor.safe_contact["channel"] == "sms"
    assert case.dependants.count() == 2
    incident = case.incidents.get()
    assert set(incident.forms) == {"physical", "psychological"}
    assert incident.gbvims_type == "physical_assault"
    assert Alert.objects.filter(agency=world.unit, kind=AlertKind.ONLINE_REPORT, case=case).exists()
    assert Consent.objects.filter(case=case, recorded_by__isnull=True).exists()
    assert Notice.objects.filter(case=case, event="case_received").exists()
    assert len(codename_in(response.content.decode()).split()) >= 6


def test_her_keys_and_the_opened_case_are_audited_in_one_append(
    client: Client, world: World
) -> None:
    """Her key's event, each man's, then ``case.open``: consecutive in the chain, written in
    one append (one time) at the end of the report's transaction."""
    walk(client, world)
    case = CaseFile.objects.get()
    opened = AuditEvent.objects.get(action="case.open", target_id=str(case.pk))
    keys = [str(case.survivor.data_key_id), *(str(p.data_key_id) for p in case.perpetrators.all())]
    events = list(
        AuditEvent.objects.filter(
            sequence__gt=opened.sequence - 1 - len(keys), sequence__lte=opened.sequence
        ).order_by("sequence")
    )
    assert [e.action for e in events] == ["datakey.create"] * len(keys) + ["case.open"]
    assert sorted(e.target_id for e in events[:-1]) == sorted(keys)
    assert len({e.occurred_at for e in events}) == 1


def test_a_complaint_also_enters_the_competent_prosecution_office_queue(
    client: Client, world: World
) -> None:
    from himaya.justice.models import Complaint

    response, _receipt = walk(client, world, kind="complaint")
    assert response.status_code == 200, response.content.decode()[:3000]
    case = CaseFile.objects.get()
    complaint = Complaint.objects.get(case=case)
    assert complaint.office_id == world.office.pk
    assert case.unit_id == world.unit.pk


def test_a_retried_submission_creates_no_second_report(client: Client, world: World) -> None:
    _response, state = walk(client, world, stop_before="review")
    data = {"state": state, "step": "review", "go": "next"}
    first = post(client, "/p/fr/form/", data)
    second = post(client, "/p/fr/form/", data)
    assert first.status_code == second.status_code == 200
    assert CaseFile.objects.count() == 1
    assert Codename.objects.count() == 1
    # The retry came within the replay window: a fresh codename replaces the first.
    new = codename_in(second.content.decode())
    assert new != codename_in(first.content.decode())
    follow = post(client, "/p/fr/follow/", {"codename": new})
    assert follow.status_code == 303


def test_the_codename_is_stored_only_as_a_slow_salted_hash(client: Client, world: World) -> None:
    response, _receipt = walk(client, world)
    code = codename_in(response.content.decode())
    row = Codename.objects.get()
    assert row.secret_hash.startswith("$argon2id$")
    stored = " ".join(str(v) for v in Codename.objects.values_list().get())
    for word in code.split()[:-1]:
        assert word not in stored


def test_a_complaint_without_a_name_is_refused_with_the_message_next_to_the_field(
    client: Client, world: World
) -> None:
    _response, state = walk(client, world, kind="complaint", stop_before="identity")
    data = {
        "state": state,
        "step": "identity",
        "go": "next",
        "full_name": "",
        "cin": "12-X",
        "date_of_birth": "1990-04-02",
    }
    page = post(client, "/p/fr/form/", data)
    assert page.status_code == 422
    text = page.content.decode()
    assert 'id="err-full_name"' in text
    assert 'id="err-cin"' in text
    assert 'value="1990-04-02"' in text  # what she typed is kept
    assert CaseFile.objects.count() == 0


def test_a_forged_state_is_refused(client: Client, world: World) -> None:
    page = post(client, "/p/fr/form/", {"state": "forged:abc", "step": "review"})
    assert page.status_code == 400
    assert CaseFile.objects.count() == 0


def test_a_post_from_another_site_is_refused(client: Client, world: World) -> None:
    response = client.post("/p/fr/form/", {"kind": "help"}, HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403


def test_a_filled_honeypot_marks_the_report_instead_of_dropping_it(
    client: Client, world: World
) -> None:
    response, _ = walk(client, world, extra_review={"website": "http://spam"})
    assert response.status_code == 200
    assert CaseFile.objects.get().suspected_automated is True


def test_a_form_filled_too_fast_is_marked_as_automated(client: Client, world: World) -> None:
    from django.test import override_settings

    with override_settings(PORTAL_MIN_FILL_SECONDS=3600):
        response, _ = walk(client, world)
    assert response.status_code == 200
    assert CaseFile.objects.get().suspected_automated is True


def test_the_receipt_is_a_download_only_when_asked(client: Client, world: World) -> None:
    response, receipt = walk(client, world)
    download = post(client, "/p/fr/receipt/", {"receipt": receipt})
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="note.txt"'
    assert CaseFile.objects.get().reference in download.content.decode()
    assert codename_in(response.content.decode()) not in download.content.decode()
    assert client.get("/p/fr/receipt/").status_code == 404
    _ = hidden


def test_the_unit_queue_shows_an_online_report_marked_when_it_looks_automated(
    client: Client, world: World
) -> None:
    from himaya.accounts.roles import Role
    from tests.network.helpers import login, make_staff

    response, _ = walk(client, world, extra_review={"website": "spam"})
    assert response.status_code == 200
    case = CaseFile.objects.get()
    staff = Client()
    login(staff, make_staff(Role.UNIT_OFFICER, world.unit))
    page = staff.get("/cases/").content.decode()
    assert case.reference in page
    assert "Online portal" in page
    assert "looks automated" in page
