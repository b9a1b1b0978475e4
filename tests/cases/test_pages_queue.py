"""The unit's queue and the chief's alerts, through the real pages and a signed-in session."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy

from himaya.accounts.roles import Role
from himaya.cases import selectors, services, views
from himaya.cases.intake import SurvivorData
from himaya.cases.models import Alert, AlertKind, CaseFile, Task
from himaya.cases.states import ClosureReason
from himaya.network.models import Agency
from tests.cases.helpers import Staff, make_unit, open_case
from tests.cases.pages_helpers import body, shown, signed_in, signed_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit() -> Agency:
    return make_unit()


@pytest.fixture
def chief(unit: Agency) -> Staff:
    return signed_staff(Role.UNIT_CHIEF, unit)


@pytest.fixture
def officer(unit: Agency) -> Staff:
    return signed_staff(Role.UNIT_OFFICER, unit)


def queue(client: Client, tab: str, **params: str) -> str:
    response = client.get(reverse("cases:queue"), {"tab": tab, **params})
    assert response.status_code == 200
    return body(response)


def make_overdue(case: CaseFile, officer: Staff) -> None:
    """A task due tomorrow, then two days pass (the services refuse due dates in the past)."""
    task = services.task_add(
        actor=officer.actor,
        case_id=case.pk,
        description="Call the shelter back",
        due_on=timezone.localdate() + timedelta(days=1),
    )
    past = timezone.localdate() - timedelta(days=1)
    Task.objects.filter(pk=task.pk).update(due_on=past)
    CaseFile.objects.filter(pk=case.pk).update(next_due_on=past)


def test_each_tab_shows_the_right_cases(chief: Staff, officer: Staff) -> None:
    new = open_case(officer.actor)
    mine = open_case(officer.actor)
    services.case_assign(actor=chief.actor, case_id=mine.pk, officer_id=officer.user.pk)
    overdue = open_case(officer.actor)
    services.case_assign(actor=chief.actor, case_id=overdue.pk, officer_id=chief.user.pk)
    make_overdue(overdue, officer)
    closing = open_case(officer.actor)
    services.case_assign(actor=chief.actor, case_id=closing.pk, officer_id=chief.user.pk)
    services.case_request_closure(
        actor=officer.actor, case_id=closing.pk, reason=ClosureReason.SERVICES_COMPLETED
    )
    client = signed_in(officer)

    listed = {
        tab: {
            c.reference for c in (new, mine, overdue, closing) if c.reference in queue(client, tab)
        }
        for tab in ("new", "mine", "overdue", "awaiting_approval")
    }

    assert listed == {
        "new": {new.reference},
        "mine": {mine.reference},
        "overdue": {overdue.reference},
        "awaiting_approval": {closing.reference},
    }


def test_a_row_shows_its_link_dates_and_badges(chief: Staff, officer: Staff) -> None:
    """What a row says, whatever builds it: the file's address, the reference, the day it
    opened (ISO in ``datetime``, DATE_FORMAT in words), the overdue task's day with its
    badge, and the flags; a quiet row shows dashes."""
    late = open_case(officer.actor)
    services.case_assign(actor=chief.actor, case_id=late.pk, officer_id=chief.user.pk)
    make_overdue(late, officer)
    CaseFile.objects.filter(pk=late.pk).update(repeat_perpetrator=True, suspected_automated=True)
    late.refresh_from_db()
    response = signed_in(chief).get(reverse("cases:queue"), {"tab": "overdue"})
    page = body(response)
    row = page[page.index(late.reference) - 300 : page.index("</tr>", page.index(late.reference))]

    assert f'href="{reverse("cases:case_detail", args=[late.pk])}"' in row
    opened = timezone.localtime(late.created_at)
    assert f'<time datetime="{opened.isoformat()}">' in row
    due = late.next_due_on
    assert due is not None
    with translation.override(response.headers["Content-Language"]):
        assert date_format(due, "DATE_FORMAT") in row
        assert date_format(opened.date(), "DATE_FORMAT") in row
    assert f'<time datetime="{due.isoformat()}" class="case-overdue">' in row
    assert f"{shown(gettext_lazy('overdue'), response)}</span>" in row
    assert shown(gettext_lazy("repeat perpetrator"), response) in row
    assert shown(gettext_lazy("looks automated"), response) in row
    assert row.count("case-badge--alert") == 2  # overdue, repeat perpetrator
    assert str(chief.user) in row

    quiet = open_case(officer.actor)
    page = queue(signed_in(chief), "new")
    row = page[page.index(quiet.reference) : page.index("</tr>", page.index(quiet.reference))]
    assert "case-badge" not in row
    assert row.count("—") == 3  # no officer, no task due, no flags


def test_the_queue_shows_references_and_facts_but_never_her_name(
    chief: Staff, officer: Staff
) -> None:
    case = open_case(
        officer.actor, survivor=SurvivorData(full_name="Khadija Amrani", phone="0612345678")
    )
    services.case_assign(actor=chief.actor, case_id=case.pk, officer_id=officer.user.pk)
    page = queue(signed_in(officer), "mine")

    assert case.reference in page
    assert str(officer.user) in page
    assert "Khadija" not in page
    assert "Amrani" not in page
    assert "612345678" not in page


def test_a_repeat_perpetrator_is_flagged_in_the_queue(officer: Staff) -> None:
    case = open_case(officer.actor)
    CaseFile.objects.filter(pk=case.pk).update(repeat_perpetrator=True)
    page = queue(signed_in(officer), "new")
    assert 'case-badge--alert">' in page.split(case.reference, 1)[1].split("</tr>", 1)[0]


#: Session, user, second factor, membership, the page's one keyset query, its audit event
#: and the shell: a constant, whatever the number of cases in the unit or the country.
QUEUE_QUERIES = 10


def assert_tab_costs(
    client: Client, tab: str, rows: int, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(QUEUE_QUERIES):
        response = client.get(reverse("cases:queue"), {"tab": tab})
    assert response.status_code == 200
    assert body(response).count('class="case-ref"') == rows


@pytest.mark.parametrize("count", [5, 30])
def test_every_tab_costs_the_same_queries_with_5_or_30_cases(
    chief: Staff, officer: Staff, count: int, django_assert_max_num_queries: Any
) -> None:
    cases = [
        open_case(officer.actor, survivor=SurvivorData(full_name=f"Survivor Number{i}"))
        for i in range(count)
    ]
    client = signed_in(officer)
    assert_tab_costs(client, "new", count, django_assert_max_num_queries)
    for case in cases:
        services.case_assign(actor=chief.actor, case_id=case.pk, officer_id=officer.user.pk)
    assert_tab_costs(client, "mine", count, django_assert_max_num_queries)
    past = timezone.localdate() - timedelta(days=2)
    CaseFile.objects.filter(pk__in=[c.pk for c in cases]).update(next_due_on=past)
    assert_tab_costs(client, "overdue", count, django_assert_max_num_queries)
    for case in cases:
        services.case_request_closure(
            actor=officer.actor, case_id=case.pk, reason=ClosureReason.SERVICES_COMPLETED
        )
    assert_tab_costs(client, "awaiting_approval", count, django_assert_max_num_queries)


def next_page_url(page: str) -> str:
    found = re.search(r'<a href="([^"]*cursor=[^"]*)">', page)
    assert found is not None, "no next page link"
    return html.unescape(found.group(1))


def test_the_queue_is_paged_by_keyset(officer: Staff, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "QUEUE_PER_PAGE", 2)
    cases = [open_case(officer.actor) for _ in range(3)]
    client = signed_in(officer)
    first = queue(client, "new")
    second = body(client.get(next_page_url(first)))

    shown_first = {c.reference for c in cases if c.reference in first}
    shown_second = {c.reference for c in cases if c.reference in second}
    assert len(shown_first) == 2
    assert len(shown_second) == 1
    assert not shown_first & shown_second
    # Newest first: the last page holds the oldest case.
    assert shown_second == {cases[0].reference}
    assert "cursor=" not in second.split("case-pager", 1)[1]


def test_a_forged_cursor_falls_back_to_the_first_page(officer: Staff) -> None:
    case = open_case(officer.actor)
    page = queue(signed_in(officer), "new", cursor="not-a-cursor")
    assert case.reference in page


@pytest.mark.parametrize(
    "role", [Role.PROSECUTOR, Role.NATIONAL_ANALYST, Role.SYSTEM_ADMIN, Role.AUDITOR]
)
def test_roles_outside_a_unit_get_no_queue(role: str) -> None:
    from tests.accounts.helpers import ROLE_AGENCY_KIND, make_agency

    staff = signed_staff(role, make_agency(ROLE_AGENCY_KIND[role]))
    client = signed_in(staff)
    assert client.get(reverse("cases:queue")).status_code == 404
    assert client.get(reverse("cases:search")).status_code == 404
    assert client.get(reverse("cases:alerts")).status_code == 404


# --- alerts -------------------------------------------------------------------------------


def test_the_chief_reads_her_alerts_and_marks_them_read(chief: Staff, officer: Staff) -> None:
    case = open_case(officer.actor)
    services.case_request_closure(
        actor=officer.actor, case_id=case.pk, reason=ClosureReason.NO_CONTACT
    )
    other = make_unit()
    Alert.objects.create(
        agency=Agency.objects.get(pk=case.unit_id),
        kind=AlertKind.PRIOR_CONTACT,
        case=case,
        other_agency=other,
    )
    client = signed_in(chief)
    page = body(client.get(reverse("cases:alerts")))
    assert case.reference in page
    assert other.name_ar in page  # the unit to contact, in the page's language (Arabic)
    alert = Alert.objects.get(kind=AlertKind.PRIOR_CONTACT)

    response = client.post(reverse("cases:alert_read", args=[alert.pk]))

    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.read_at is not None
    assert f"/alerts/{alert.pk}/read/" not in body(client.get(reverse("cases:alerts")))


def test_a_busy_chief_pages_through_all_her_unread_alerts(
    chief: Staff, officer: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Older alerts are a page away, not out of reach; the rows read the case's reference,
    never its sealed columns."""
    monkeypatch.setattr(views, "ALERTS_PER_PAGE", 3)
    case = open_case(officer.actor)
    start = timezone.now() - timedelta(days=1)
    alerts = []
    for n in range(5):
        alert = Alert.objects.create(agency_id=case.unit_id, kind=AlertKind.BREAK_GLASS, case=case)
        Alert.objects.filter(pk=alert.pk).update(created_at=start + timedelta(minutes=n))
        alerts.append(alert)
    client = signed_in(chief)
    with CaptureQueriesContext(connection) as queries:
        first = client.get(reverse("cases:alerts"))
    assert first.status_code == 200
    marked = re.findall(r"/alerts/(\d+)/read/", body(first))
    assert [int(pk) for pk in marked] == [a.pk for a in alerts[:1:-1]]  # the 3 newest
    assert case.reference in body(first)
    assert not any('"narrative"' in q["sql"] for q in queries.captured_queries)
    next_url = html.unescape(re.findall(r'href="([^"]*cursor=[^"]*)"', body(first))[0])
    older = body(client.get(next_url))
    assert [int(pk) for pk in re.findall(r"/alerts/(\d+)/read/", older)] == [
        alerts[1].pk,
        alerts[0].pk,
    ]
    assert 'href="/cases/alerts/"' in older  # back to the first page
    expired = client.get(reverse("cases:alerts"), {"cursor": "tampered"})
    assert expired.status_code == 200
    assert len(re.findall(r"/alerts/(\d+)/read/", body(expired))) == 3


def test_an_officer_has_no_alerts_and_cannot_mark_the_chiefs(chief: Staff, officer: Staff) -> None:
    case = open_case(officer.actor)
    alert = Alert.objects.create(agency_id=case.unit_id, kind=AlertKind.BREAK_GLASS, case=case)
    client = signed_in(officer)
    assert client.get(reverse("cases:alerts")).status_code == 404
    assert client.post(reverse("cases:alert_read", args=[alert.pk])).status_code == 404
    alert.refresh_from_db()
    assert alert.read_at is None


def test_the_navigation_offers_the_case_pages_to_unit_staff(chief: Staff) -> None:
    page = body(signed_in(chief).get(reverse("core:home")))
    for name in ("cases:queue", "cases:search", "cases:alerts"):
        assert f'href="{reverse(name)}"' in page


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's EXPLAIN QUERY PLAN")
def test_a_page_of_alerts_is_read_along_its_index_never_sorted(chief: Staff) -> None:
    """The page orders by (created_at, id) among the unread: without an index in that order
    (``alert_inbox``, partial on the unread) every unread alert of the unit was read and
    sorted for each page (8,000 in a busy unit at national scale, bench_pages)."""
    unit = chief.actor.agency_id
    assert unit is not None
    Alert.objects.create(agency_id=unit, kind=AlertKind.BREAK_GLASS)
    with CaptureQueriesContext(connection) as queries:
        selectors.alert_page(actor=chief.actor, limit=50)
    (query,) = [q["sql"] for q in queries.captured_queries if "cases_alert" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {query}")
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "alert_inbox" in plan
    assert "TEMP B-TREE" not in plan
