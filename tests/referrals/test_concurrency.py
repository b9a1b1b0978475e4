"""Two people acting on one referral at the same moment: the row lock makes them queue, one
wins, the other gets a clear message, and the data stays consistent (one case opened, one
grant, one answer). Needs real concurrent connections: PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from himaya.cases.models import CaseFile, Survivor
from himaya.core.audit import verify_chain
from himaya.core.errors import Conflict
from himaya.referrals import services
from himaya.referrals.models import Referral
from himaya.referrals.states import ReferralState
from tests.referrals.helpers import (
    case_with_consent,
    english,
    make_world,
    refer_first_contact,
    refer_to_shelter,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs real concurrent connections (the SQLite test database is in memory)",
    ),
]


def _race(steps: list[Callable[[], object]]) -> list[str]:
    barrier = threading.Barrier(len(steps))

    def run(step: Callable[[], object]) -> str:
        try:
            barrier.wait(timeout=10)
            step()
            return "ok"
        except Conflict as exc:
            # A thread starts in the site's default language: read the message in English.
            return f"conflict: {english(exc.message)}"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        return list(pool.map(run, steps))


def test_two_officers_accepting_at_once_open_one_case() -> None:
    ContentType.objects.clear_cache()
    world = make_world()
    referral = refer_first_contact(world)
    results = _race(
        [
            lambda: services.referral_accept(actor=world.chief, referral_id=referral.pk),
            lambda: services.referral_accept(actor=world.officer, referral_id=referral.pk),
        ]
    )
    assert sorted(r.split(":")[0] for r in results) == ["conflict", "ok"]
    assert any("already accepted" in r for r in results)
    assert CaseFile.objects.count() == 1
    assert Survivor.objects.count() == 1
    assert Referral.objects.get(pk=referral.pk).state == ReferralState.ACCEPTED
    assert verify_chain().ok


def test_accepting_while_the_unit_withdraws_leaves_one_answer() -> None:
    ContentType.objects.clear_cache()
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case)
    results = _race(
        [
            lambda: services.referral_accept(actor=world.provider, referral_id=referral.pk),
            lambda: services.referral_withdraw(actor=world.officer, referral_id=referral.pk),
        ]
    )
    assert sorted(r.split(":")[0] for r in results) == ["conflict", "ok"]
    final = Referral.objects.select_related("grant").get(pk=referral.pk)
    assert final.state in (ReferralState.ACCEPTED, ReferralState.WITHDRAWN)
    assert final.grant is not None
    # Access lives exactly when the referral does.
    assert (final.grant.revoked_at is None) == (final.state == ReferralState.ACCEPTED)


def test_two_referrals_to_one_agency_at_once_make_one() -> None:
    ContentType.objects.clear_cache()
    world = make_world()
    case = case_with_consent(world)
    results = _race([lambda: refer_to_shelter(world, case), lambda: refer_to_shelter(world, case)])
    assert sorted(r.split(":")[0] for r in results) == ["conflict", "ok"]
    assert Referral.objects.filter(case=case, state=ReferralState.SENT).count() == 1
