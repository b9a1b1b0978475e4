"""Two people acting on one complaint at the same moment: the row lock makes them queue, one
wins, the other gets a clear message on its field, and the data stays consistent. The
threaded races need real concurrent connections (PostgreSQL); the stale-page case runs
everywhere."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from himaya.accounts.roles import Role
from himaya.cases.models import Grant, Notice, NoticeEvent
from himaya.core.audit import verify_chain
from himaya.core.errors import InvalidInput
from himaya.justice import services
from himaya.justice.models import Complaint, Decision
from himaya.justice.states import ComplaintState, DecisionKind
from tests.cases.helpers import make_person
from tests.justice.helpers import forward, her_case, make_world

DISMISS_REASON = "The facts could not be established after investigation."

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs real concurrent connections (the SQLite test database is in memory)",
)


def _race(steps: list[Callable[[], object]]) -> list[str]:
    barrier = threading.Barrier(len(steps))

    def run(step: Callable[[], object]) -> str:
        try:
            barrier.wait(timeout=10)
            step()
            return "ok"
        except InvalidInput as exc:
            return f"refused: {sorted(exc.fields)}"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        return list(pool.map(run, steps))


@pytest.mark.django_db
def test_a_decision_from_a_stale_page_after_a_dismissal_is_refused_on_its_field() -> None:
    world = make_world()
    complaint = forward(world)
    colleague = make_person(Role.PROSECUTOR, world.office)
    services.decision_record(
        actor=world.prosecutor.actor,
        complaint_id=complaint.pk,
        kind=DecisionKind.DISMISS,
        reason=DISMISS_REASON,
    )
    with pytest.raises(InvalidInput) as refused:
        services.decision_record(
            actor=colleague.actor,
            complaint_id=complaint.pk,
            kind=DecisionKind.OPEN_PROCEEDINGS,
        )
    assert "kind" in refused.value.fields
    assert Complaint.objects.get(pk=complaint.pk).state == ComplaintState.DISMISSED


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_prosecutors_deciding_at_once_leave_one_consistent_decision() -> None:
    ContentType.objects.clear_cache()
    world = make_world()
    complaint = forward(world)
    colleague = make_person(Role.PROSECUTOR, world.office)
    results = _race(
        [
            lambda: services.decision_record(
                actor=world.prosecutor.actor,
                complaint_id=complaint.pk,
                kind=DecisionKind.DISMISS,
                reason=DISMISS_REASON,
            ),
            lambda: services.decision_record(
                actor=colleague.actor,
                complaint_id=complaint.pk,
                kind=DecisionKind.DISMISS,
                reason=DISMISS_REASON,
            ),
        ]
    )
    assert sorted(r.split(":")[0] for r in results) == ["ok", "refused"]
    assert Decision.objects.filter(complaint=complaint).count() == 1
    assert Complaint.objects.get(pk=complaint.pk).state == ComplaintState.DISMISSED
    assert verify_chain().ok


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_officers_forwarding_at_once_send_one_complaint() -> None:
    ContentType.objects.clear_cache()
    world = make_world()
    case = her_case(world)
    results = _race(
        [
            lambda: services.complaint_forward(actor=world.officer.actor, case_id=case.pk),
            lambda: services.complaint_forward(actor=world.chief.actor, case_id=case.pk),
        ]
    )
    assert results == ["ok", "ok"]
    assert Complaint.objects.filter(case=case).count() == 1
    assert Grant.objects.filter(case=case, agency=world.office).count() == 1
    assert (
        Notice.objects.filter(case=case, event=NoticeEvent.COMPLAINT_FORWARDED)
        .values("dedupe_key")
        .distinct()
        .count()
        == 1
    )
