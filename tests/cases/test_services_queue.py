"""Reading cases: the audited ``case_get``, the unit's queues and the timeline, each a
fixed number of queries (no N+1) on keyset pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from himaya.accounts.roles import Role
from himaya.cases import selectors, services
from himaya.cases.intake import SurvivorData
from himaya.cases.models import CaseFile, Task
from himaya.cases.selectors import QueueView
from himaya.cases.states import CaseState
from himaya.core.actor import Actor
from himaya.core.crypto import clear_data_key_cache
from himaya.core.errors import InvalidInput, NotFound, PermissionDenied
from himaya.core.models import AuditEvent
from tests.cases.helpers import make_actor, make_unit, open_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit_staff() -> tuple[Actor, Actor]:
    unit = make_unit()
    return make_actor(Role.UNIT_CHIEF, unit), make_actor(Role.UNIT_OFFICER, unit)


def open_many(actor: Actor, count: int) -> list[CaseFile]:
    return [
        open_case(actor, survivor=SurvivorData(full_name=f"Survivor Number{i}"))
        for i in range(count)
    ]


# --- case_get -----------------------------------------------------------------------------


def test_every_read_of_a_case_is_audited(unit_staff: tuple[Actor, Actor]) -> None:
    _, officer = unit_staff
    case = open_case(officer)
    selectors.case_get(actor=officer, case_id=case.pk)
    selectors.case_get(actor=officer, case_id=str(case.pk))
    reads = AuditEvent.objects.filter(action="case.read", target_id=str(case.pk))
    assert reads.count() == 2
    first = reads.earliest("sequence")
    assert first.actor_user_id == officer.user_id
    assert first.metadata["holding_unit"] is True


def test_an_outsider_gets_not_found_and_the_attempt_is_recorded(
    unit_staff: tuple[Actor, Actor],
) -> None:
    _, officer = unit_staff
    case = open_case(officer)
    outsider = make_actor(Role.UNIT_OFFICER, make_unit())
    with pytest.raises(NotFound) as refused:
        selectors.case_get(actor=outsider, case_id=case.pk)
    with pytest.raises(NotFound) as missing:
        selectors.case_get(actor=outsider, case_id="00000000-0000-0000-0000-000000000000")
    assert str(refused.value) == str(missing.value)
    with pytest.raises(NotFound):
        selectors.case_get(actor=outsider, case_id="../etc/passwd")
    denied = AuditEvent.objects.get(action="case.read_denied")
    assert denied.target_id == str(case.pk)
    assert denied.actor_user_id == outsider.user_id


def test_reading_her_record_costs_a_fixed_number_of_queries(
    unit_staff: tuple[Actor, Actor],
) -> None:
    _, officer = unit_staff
    case = open_case(officer, survivor=SurvivorData(full_name="Houda Bennani", phone="0612121212"))
    clear_data_key_cache()
    with CaptureQueriesContext(connection) as queries:
        got, access = selectors.case_get(actor=officer, case_id=case.pk)
        assert got.survivor.full_name == "Houda Bennani"
        assert got.survivor.phone == "+212612121212"
        assert access.holding_unit
    # The case with her record and key (1) + the audit append (3); nothing per field.
    assert len(queries) <= 4


# --- queues -------------------------------------------------------------------------------


def test_the_new_queue_lists_every_active_case_nobody_has_taken_in_the_unit_only(
    unit_staff: tuple[Actor, Actor],
) -> None:
    chief, officer = unit_staff
    mine, forwarded, closing, fresh = open_many(officer, 4)
    open_case(make_actor(Role.UNIT_OFFICER, make_unit()))  # another unit's
    services.case_assign(actor=chief, case_id=mine.pk, officer_id=officer.user_id)
    # Already with the prosecutor (her online complaint goes there directly), still nobody's:
    # it must not fall between the lists.
    services.case_transition(actor=officer, case_id=forwarded.pk, to_state=CaseState.FORWARDED)
    services.case_request_closure(actor=officer, case_id=closing.pk, reason="services_completed")
    page = selectors.unit_queue(actor=officer, view=QueueView.NEW)
    assert [case.pk for case in page.items] == [fresh.pk, forwarded.pk]
    page = selectors.unit_queue(actor=officer, view=QueueView.MINE)
    assert [case.pk for case in page.items] == [mine.pk]


def test_the_overdue_queue_puts_the_most_overdue_first(unit_staff: tuple[Actor, Actor]) -> None:
    _, officer = unit_staff
    a, b, c = open_many(officer, 3)
    today = timezone.localdate()
    for case, due in ((a, today + timedelta(1)), (b, today + timedelta(2)), (c, today)):
        services.task_add(actor=officer, case_id=case.pk, description="Follow up", due_on=due)
    # Time passes: the due dates are now behind us (set directly: services refuse the past).
    Task.objects.filter(case=a).update(due_on=today - timedelta(10))
    Task.objects.filter(case=b).update(due_on=today - timedelta(3))
    CaseFile.objects.filter(pk=a.pk).update(next_due_on=today - timedelta(10))
    CaseFile.objects.filter(pk=b.pk).update(next_due_on=today - timedelta(3))
    page = selectors.unit_queue(actor=officer, view=QueueView.OVERDUE)
    assert [case.pk for case in page.items] == [a.pk, b.pk]


def test_awaiting_approval_lists_requested_closures(unit_staff: tuple[Actor, Actor]) -> None:
    chief, officer = unit_staff
    case, _ = open_many(officer, 2)
    services.case_request_closure(actor=officer, case_id=case.pk, reason="services_completed")
    page = selectors.unit_queue(actor=chief, view=QueueView.AWAITING_APPROVAL)
    assert [c.pk for c in page.items] == [case.pk]


def test_queue_pages_follow_each_other_without_gaps_or_repeats(
    unit_staff: tuple[Actor, Actor],
) -> None:
    _, officer = unit_staff
    cases = open_many(officer, 7)
    seen: list[object] = []
    cursor = None
    while True:
        page = selectors.unit_queue(actor=officer, view=QueueView.NEW, cursor=cursor, limit=3)
        seen += [case.pk for case in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen, key=str) == sorted((case.pk for case in cases), key=str)
    assert len(seen) == len(set(seen)) == 7


def test_a_forged_cursor_is_refused_on_the_cursor_field(unit_staff: tuple[Actor, Actor]) -> None:
    _, officer = unit_staff
    with pytest.raises(InvalidInput) as caught:
        selectors.unit_queue(actor=officer, view=QueueView.NEW, cursor="forged")
    assert "cursor" in caught.value.fields
    with pytest.raises(InvalidInput) as caught:
        selectors.unit_queue(actor=officer, view="everything")
    assert "view" in caught.value.fields


def test_the_queue_is_for_unit_staff_only() -> None:
    with pytest.raises(PermissionDenied):
        selectors.unit_queue(actor=make_actor(Role.NATIONAL_ANALYST), view=QueueView.NEW)


@pytest.mark.parametrize("view", list(QueueView))
def test_a_queue_page_costs_the_same_queries_for_2_or_12_cases_with_names_shown(
    unit_staff: tuple[Actor, Actor], view: QueueView
) -> None:
    chief, officer = unit_staff

    def prepare(cases: list[CaseFile]) -> None:
        for case in cases:
            services.case_assign(actor=chief, case_id=case.pk, officer_id=chief.user_id)
            services.task_add(
                actor=chief, case_id=case.pk, description="t", due_on=timezone.localdate()
            )
            CaseFile.objects.filter(pk=case.pk).update(
                next_due_on=timezone.localdate() - timedelta(1)
            )
            services.case_request_closure(actor=chief, case_id=case.pk, reason="no_contact")

    def cost() -> tuple[int, int]:
        clear_data_key_cache()
        with CaptureQueriesContext(connection) as queries:
            page = selectors.unit_queue(actor=chief, view=view, limit=50)
            names = [case.survivor.full_name for case in page.items]
            assigned = [str(case.assigned_to) for case in page.items]
        assert len(names) == len(assigned)
        return len(queries), len(page.items)

    first = open_many(officer, 2)
    if view is not QueueView.NEW:
        prepare(first)
    small, shown_small = cost()
    more = open_many(officer, 10)
    if view is not QueueView.NEW:
        prepare(more)
    large, shown_large = cost()
    assert (shown_small, shown_large) == (2, 12)
    assert small == large
    assert large <= 4  # the page (1) + the audit append (3)


# --- timeline -----------------------------------------------------------------------------


def test_the_timeline_pages_oldest_first_for_whoever_may_read_the_case(
    unit_staff: tuple[Actor, Actor],
) -> None:
    chief, officer = unit_staff
    case = open_case(officer)
    for i in range(4):
        services.note_add(actor=officer, case_id=case.pk, body=f"note {i}")
    services.case_assign(actor=chief, case_id=case.pk, officer_id=officer.user_id)
    first = selectors.case_timeline(actor=chief, case_id=case.pk, limit=3)
    assert [e.kind for e in first.items] == ["opened", "note_added", "note_added"]
    second = selectors.case_timeline(actor=chief, case_id=case.pk, cursor=first.next_cursor)
    assert [e.kind for e in second.items] == ["note_added", "note_added", "assigned"]
    assert second.next_cursor is None
    assert AuditEvent.objects.filter(action="case.timeline_read").count() == 2
    with pytest.raises(NotFound):
        selectors.case_timeline(actor=make_actor(Role.UNIT_CHIEF, make_unit()), case_id=case.pk)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's partial-index rule")
@pytest.mark.parametrize(("view", "index"), [("new", "case_new_idx"), ("mine", "case_mine_idx")])
def test_sqlite_reads_the_new_and_mine_lists_along_their_partial_index(
    unit_staff: tuple[Actor, Actor], view: str, index: str
) -> None:
    """The plan of the query the selector really runs, with its bound parameters: SQLite
    uses a partial index only when the query states its condition with the same literals.
    Fails if the condition goes back to ``state IN (?, ?)`` (the plan then walks the
    unit's whole history: 27 ms instead of 0.2 ms at 1,000,000 cases)."""
    chief, officer = unit_staff
    services.case_assign(actor=chief, case_id=open_case(officer).pk, officer_id=chief.user_id)
    executed: list[tuple[str, Any]] = []

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        executed.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        selectors.unit_queue(actor=chief, view=view, limit=5, with_survivor=False)
    sql, params = next((q, p) for q, p in executed if '"cases_casefile"' in q)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert f"INDEX {index}" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
