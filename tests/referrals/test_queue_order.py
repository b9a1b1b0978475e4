"""A receiver's "waiting and accepted" queue reads each state along the inbox index and
merges them: the pages still come in deadline order, each referral once, across cursors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from himaya.referrals import selectors, services
from himaya.referrals.models import Referral
from tests.referrals.helpers import make_world, refer_first_contact

pytestmark = pytest.mark.django_db


def test_waiting_and_accepted_referrals_page_together_by_deadline() -> None:
    world = make_world()
    referrals = [refer_first_contact(world) for _ in range(5)]
    for referral in referrals[1::2]:
        services.referral_accept(actor=world.chief, referral_id=referral.pk)
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
        page = selectors.incoming(actor=world.officer, cursor=cursor, limit=2)
        seen += [r.pk for r in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected
    states = set(Referral.objects.filter(pk__in=seen).values_list("state", flat=True))
    assert states == {"sent", "accepted"}


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
