"""The demo prosecutor's queue is not empty, and loading the demo twice adds nothing."""

from __future__ import annotations

import pytest

from himaya.accounts.actors import actor_for_user
from himaya.accounts.models import Membership
from himaya.cases.models import Alert, AlertKind, CaseFile
from himaya.demo.accounts import ensure_demo_accounts
from himaya.demo.justice import NARRATIVE, build_justice
from himaya.justice import selectors
from himaya.justice.models import Breach, Complaint, Hearing, ProtectionMeasure

pytestmark = pytest.mark.django_db


def test_the_demo_fills_the_prosecutors_queue_once() -> None:
    ensure_demo_accounts(password="demo-password-for-tests-1")
    assert build_justice() == 4
    assert build_justice() == 0
    assert Complaint.objects.count() == 4
    assert CaseFile.objects.filter(
        idempotency_key="demo-justice-04", complaints__isnull=True
    ).exists()
    assert Hearing.objects.count() == 1
    assert ProtectionMeasure.objects.count() == 2
    assert Breach.objects.count() == 1
    assert Alert.objects.filter(kind=AlertKind.MEASURE_BREACH).count() == 2
    assert all(c.case.narrative == NARRATIVE for c in Complaint.objects.select_related("case"))

    membership = Membership.objects.select_related("user").get(user__username="demo.prosecutor")
    prosecutor = actor_for_user(membership.user, membership=membership)
    queue = selectors.prosecutor_queue(actor=prosecutor)
    assert len(queue.awaiting.items) == 2
    assert any(c.needs_confirmation for c in queue.awaiting.items)
    assert len(queue.hearings) == 1
    assert len(queue.expiring) == 2
    assert len(queue.breaches) == 1
