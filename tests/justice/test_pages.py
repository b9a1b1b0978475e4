"""The justice pages: the prosecutor's queue (bounded queries), the complaint page and its
forms (messages on the field, 422), the unit's "Forward to the prosecutor", and the same 404
for another office's complaint as for a missing one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from himaya.accounts.roles import Role
from himaya.cases.models import Alert, AlertKind
from himaya.justice import errors
from himaya.justice.models import Complaint, Hearing, ProtectionMeasure
from himaya.justice.states import ComplaintState
from tests.cases.helpers import make_unit
from tests.cases.pages_helpers import body, comparable, shown, signed_in, signed_staff, title
from tests.justice.helpers import (
    forward,
    her_case,
    make_office,
    make_world,
    open_proceedings,
    order_measure,
    set_hearing,
)

pytestmark = pytest.mark.django_db


def complaint_url(complaint: Complaint) -> str:
    return reverse("justice:complaint", args=[complaint.pk])


def test_the_queue_lists_the_offices_complaints_with_a_bounded_number_of_queries() -> None:
    world = make_world(signed=True)
    complaints = [forward(world) for _ in range(3)]
    for complaint in complaints:
        open_proceedings(world, complaint)
        set_hearing(world, complaint)
        order_measure(world, complaint, ends_on=timezone.localdate() + timedelta(days=2))
    forward(world)
    client = signed_in(world.prosecutor)
    with CaptureQueriesContext(connection) as few:
        response = client.get(reverse("justice:queue"))
    assert response.status_code == 200
    page = body(response)
    for complaint in complaints:
        assert complaint.case.reference in page
    assert "Amina" not in page
    more = [forward(world) for _ in range(5)]
    for complaint in more:
        open_proceedings(world, complaint)
        set_hearing(world, complaint)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("justice:queue")).status_code == 200
    assert len(many) == len(few)
    assert len(many) <= 25


def test_the_queue_is_for_prosecutors_only() -> None:
    world = make_world(signed=True)
    assert signed_in(world.chief).get(reverse("justice:queue")).status_code in (403, 404)


def test_the_complaint_page_shows_the_granted_file_and_what_was_received() -> None:
    world = make_world(signed=True)
    complaint = forward(world, her_case(world, scope=["narrative", "evidence"]))
    response = signed_in(world.prosecutor).get(complaint_url(complaint))
    assert response.status_code == 200
    page = body(response)
    assert "He hit me in the kitchen" in page
    assert "Amina" not in page  # identity was not shared
    assert "Amina" not in title(response)
    assert complaint.case.reference not in title(response)


def test_another_offices_complaint_is_the_same_404_as_a_missing_one() -> None:
    world = make_world(signed=True)
    complaint = forward(world)
    other = signed_in(signed_staff(Role.PROSECUTOR, make_office()))
    foreign = other.get(complaint_url(complaint))
    missing = other.get(reverse("justice:complaint", args=[complaint.pk + 1000]))
    assert foreign.status_code == missing.status_code == 404
    assert comparable(foreign) == comparable(missing)


def test_a_decision_on_the_page_moves_the_complaint() -> None:
    world = make_world(signed=True)
    complaint = forward(world)
    client = signed_in(world.prosecutor)
    response = client.post(
        reverse("justice:decision_add", args=[complaint.pk]), {"kind": "open_proceedings"}
    )
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.state == ComplaintState.PROCEEDINGS


def test_a_hearing_in_the_past_comes_back_with_the_message_on_its_field() -> None:
    world = make_world(signed=True)
    complaint = forward(world)
    open_proceedings(world, complaint)
    client = signed_in(world.prosecutor)
    past = timezone.localtime() - timedelta(days=1)
    response = client.post(
        reverse("justice:hearing_add", args=[complaint.pk]),
        {"scheduled_at": past.strftime("%Y-%m-%dT%H:%M"), "place": "Tribunal"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422
    assert shown(errors.HEARING_IN_PAST, response) in body(response)
    assert not Hearing.objects.exists()


def test_a_measure_ending_before_its_start_comes_back_on_the_page() -> None:
    world = make_world(signed=True)
    complaint = forward(world)
    client = signed_in(world.prosecutor)
    today = timezone.localdate()
    response = client.post(
        reverse("justice:measure_add", args=[complaint.pk]),
        {
            "kind": "no_contact",
            "legal_basis": "pc_88_3",
            "authority": "prosecutor",
            "starts_on": today.isoformat(),
            "ends_on": (today - timedelta(days=3)).isoformat(),
            "protected": ["survivor"],
        },
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422
    assert shown(errors.END_BEFORE_START, response) in body(response)
    assert not ProtectionMeasure.objects.exists()


def test_the_unit_forwards_from_the_case_and_reports_a_breach() -> None:
    world = make_world(signed=True)
    case = her_case(world)
    client = signed_in(world.officer)
    status = client.get(reverse("justice:case_status", args=[case.pk]))
    assert status.status_code == 200
    assert "Forward to the prosecutor" in body(status) or "forward" in body(status)
    response = client.post(reverse("justice:forward", args=[case.pk]), {})
    assert response.status_code == 302
    complaint = Complaint.objects.get(case=case)
    measure = order_measure(world, complaint)
    response = client.post(
        reverse("justice:breach_add", args=[measure.pk]), {"description": "He came to her door."}
    )
    assert response.status_code == 302
    assert Alert.objects.filter(kind=AlertKind.MEASURE_BREACH).count() == 2
    # The unit reads the complaint's status but cannot decide.
    page = signed_in(world.chief).get(complaint_url(complaint))
    assert page.status_code == 200
    assert reverse("justice:decision_add", args=[complaint.pk]) not in body(page)


def test_forwarding_without_consent_on_the_page_says_why_next_to_the_field() -> None:
    world = make_world(signed=True)
    case = her_case(world, consent=False)
    response = signed_in(world.officer).post(
        reverse("justice:forward", args=[case.pk]), {}, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 422
    assert shown(errors.NO_CONSENT, response) in body(response)
    assert not Complaint.objects.exists()


def test_another_unit_gets_404_on_the_case_status_page() -> None:
    world = make_world(signed=True)
    case = her_case(world)
    stranger = signed_in(signed_staff(Role.UNIT_OFFICER, make_unit()))
    assert stranger.get(reverse("justice:case_status", args=[case.pk])).status_code == 404


def test_the_queue_reads_no_case_account_for_its_rows() -> None:
    """Each list of the queue shows the case's reference: her sealed account (and who was
    present) is never read for it (``selectors.CASE_SEALED``)."""
    from himaya.justice import selectors, services

    world = make_world()
    waiting = forward(world)
    busy = forward(world)
    open_proceedings(world, busy)
    set_hearing(world, busy)
    measure = order_measure(world, busy, ends_on=timezone.localdate() + timedelta(days=2))
    services.breach_report(
        actor=world.prosecutor.actor, measure_id=measure.pk, description="He came to her door."
    )
    queue = selectors.prosecutor_queue(actor=world.prosecutor.actor)
    cases = [
        *(c.case for c in queue.awaiting.items),
        *(h.complaint.case for h in queue.hearings),
        *(m.complaint.case for m in queue.expiring),
        *(b.measure.complaint.case for b in queue.breaches),
    ]
    assert len(cases) == 4
    assert waiting.case.reference in {c.reference for c in cases}
    for case in cases:
        assert {"narrative", "others_present"} <= case.get_deferred_fields()


def test_the_awaiting_list_pages_both_states_by_deadline() -> None:
    """Complaints received and under further investigation come in one list, earliest
    decision deadline first, each once across pages, although each state is read along
    its own index range and merged (``core.pagination.paginate`` with parts)."""
    from himaya.justice import selectors

    world = make_world()
    complaints = [forward(world) for _ in range(5)]
    today = timezone.localdate()
    for n, complaint in enumerate(complaints):
        Complaint.objects.filter(pk=complaint.pk).update(
            state=ComplaintState.INVESTIGATION if n % 2 else ComplaintState.RECEIVED,
            decision_due_on=today + timedelta(days=min(n, 3)),  # two share a day
        )
    expected = list(
        Complaint.objects.filter(pk__in=[c.pk for c in complaints])
        .order_by("decision_due_on", "pk")
        .values_list("pk", flat=True)
    )
    seen: list[int] = []
    cursor = None
    for _ in range(5):
        page = selectors.prosecutor_queue(actor=world.prosecutor.actor, cursor=cursor, limit=2)
        seen += [c.pk for c in page.awaiting.items]
        cursor = page.awaiting.next_cursor
        if cursor is None:
            break
    assert seen == expected


def test_a_queue_row_shows_its_link_step_days_and_badge() -> None:
    """What an awaiting row says, whatever builds it (``views._queue_context``)."""
    from django.utils.formats import date_format
    from django.utils.translation import override

    world = make_world(signed=True)
    late = forward(world)
    due = timezone.localdate() - timedelta(days=2)
    Complaint.objects.filter(pk=late.pk).update(decision_due_on=due)
    response = signed_in(world.prosecutor).get(reverse("justice:queue"))
    page = body(response)
    address = complaint_url(late)
    row = page[page.index(address) - 40 : page.index("</tr>", page.index(address))]
    assert f'<a class="case-ref" href="{address}"><bdi dir="ltr">{late.case.reference}' in row
    assert shown(ComplaintState.RECEIVED.label, response) in row
    received = timezone.localtime(late.received_at)
    assert f'<time datetime="{received.isoformat()}">' in row
    assert f'<time datetime="{due.isoformat()}" class="case-overdue">' in row
    with override(response.headers["Content-Language"]):
        assert date_format(due, "DATE_FORMAT") in row
    assert "case-badge--alert" in row
