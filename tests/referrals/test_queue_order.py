"""A receiver's "waiting and accepted" queue reads each state along the inbox index and
merges them: the pages still come in deadline order, each referral once, across cursors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from himaya.accounts.roles import Role
from himaya.referrals import selectors, services
from himaya.referrals.models import Referral
from tests.cases.api_helpers import bearer, token_for
from tests.cases.helpers import make_person
from tests.referrals.helpers import (
    case_with_consent,
    make_world,
    refer_first_contact,
    refer_to_shelter,
)

pytestmark = pytest.mark.django_db


def test_a_services_waiting_and_accepted_referrals_page_together_by_deadline() -> None:
    world = make_world()
    referrals = [refer_to_shelter(world, case_with_consent(world)) for _ in range(5)]
    for referral in referrals[1::2]:
        services.referral_accept(actor=world.provider, referral_id=referral.pk)
    # Deadlines interleave the two states; two share a deadline (the id breaks the tie).
    soon = timezone.now() + timedelta(hours=1)
    for n, referral in enumerate(referrals):
        at = soon + timedelta(minutes=10 * min(n, 3))
        Referral.objects.filter(pk=referral.pk).update(deadline_at=at)
    expected = [
        r.pk
        for r in Referral.objects.filter(pk__in=[r.pk for r in referrals]).order_by(
            "deadline_at", "pk"
        )
    ]
    seen = []
    cursor = None
    for _ in range(5):
        page = selectors.incoming(actor=world.provider, cursor=cursor, limit=2)
        seen += [r.pk for r in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected
    states = set(Referral.objects.filter(pk__in=seen).values_list("state", flat=True))
    assert states == {"sent", "accepted"}


def test_a_units_accepted_referral_leaves_the_waiting_tab() -> None:
    """Accepting a station's referral opens her case: the hand-over is done, so the unit's
    waiting tab keeps only the women still waiting for an answer, and the accepted one is
    listed with the others."""
    world = make_world()
    waiting = refer_first_contact(world)
    accepted = refer_first_contact(world)
    services.referral_accept(actor=world.chief, referral_id=accepted.pk)
    # Accepted long ago: with the old rule it would head the waiting tab forever.
    Referral.objects.filter(pk=accepted.pk).update(deadline_at=timezone.now() - timedelta(days=400))
    assert [r.pk for r in selectors.incoming(actor=world.officer, limit=50).items] == [waiting.pk]
    others = selectors.incoming(actor=world.officer, active=False, limit=50).items
    assert [r.pk for r in others] == [accepted.pk]


def test_finished_referrals_are_not_in_the_waiting_queue() -> None:
    world = make_world()
    kept = refer_first_contact(world)
    declined = refer_first_contact(world)
    services.referral_decline(
        actor=world.chief, referral_id=declined.pk, reason="No officer free tonight, sorry."
    )
    waiting = selectors.incoming(actor=world.officer, limit=50).items
    assert [r.pk for r in waiting] == [kept.pk]
    done = selectors.incoming(actor=world.officer, active=False, limit=50).items
    assert [r.pk for r in done] == [declined.pk]


def test_queue_rows_read_no_sealed_column_and_no_narrative() -> None:
    """A queue row shows kinds, agencies, states, deadlines and her case's reference: the
    referral's sealed message and her case's sealed narrative are never read for it
    (``selectors.LIST_COLUMNS``)."""
    world = make_world()
    referral = refer_first_contact(world)
    services.referral_accept(actor=world.chief, referral_id=referral.pk)
    (row,) = selectors.incoming(actor=world.officer, active=False, limit=50).items
    assert {"message", "decline_reason", "provided", "override_reason"} <= (
        row.get_deferred_fields()
    )
    assert row.case is not None
    assert "narrative" in row.case.get_deferred_fields()
    assert row.case.reference
    assert row.to_agency.name_fr == world.unit.name_fr


def test_the_api_lists_cost_a_fixed_number_of_queries() -> None:
    """Every field the API's list items carry is read with the page: one referral or
    seven, the same statements (a column left out of ``LIST_COLUMNS`` would cost one
    more query per row)."""
    officer = make_person(Role.UNIT_OFFICER, (world := make_world()).unit)
    headers = bearer(token_for(officer, "referrals:read"))
    services.referral_accept(actor=world.chief, referral_id=refer_first_contact(world).pk)
    listed_url = "/api/v1/referrals/incoming?finished=true"
    # The token's first use records it (once a minute): not a cost of the list.
    Client().get(listed_url, headers=headers)
    with CaptureQueriesContext(connection) as one:
        listed = Client().get(listed_url, headers=headers)
    assert listed.status_code == 200
    assert listed.json()["items"][0]["case_reference"]
    for _ in range(6):
        services.referral_accept(actor=world.chief, referral_id=refer_first_contact(world).pk)
    with CaptureQueriesContext(connection) as seven:
        listed = Client().get(listed_url, headers=headers)
    assert len(listed.json()["items"]) == 7
    assert len(seven.captured_queries) == len(one.captured_queries)
