"""The demo's synthetic referrals: from the demo station to the demo unit, from the demo unit
to the demo provider's shelter; through the real services, and loaded only once."""

import pytest

from himaya.demo.accounts import ensure_demo_accounts
from himaya.demo.cases import build_cases
from himaya.demo.referrals import build_referrals
from himaya.network.models import Agency, AgencyKind
from himaya.referrals.models import FirstContact, Referral, ReferralKind
from himaya.referrals.states import ReferralState


@pytest.mark.django_db
def test_demo_referrals_fill_the_queues_once() -> None:
    ensure_demo_accounts(password="demo-password-for-tests-1")
    # Without the demo network (not built in tests) demo.provider works in a fallback NGO
    # centre; with it, in a shelter. Make it the shelter the demo network gives her.
    Agency.objects.filter(memberships__user__username="demo.provider").update(
        kind=AgencyKind.SHELTER
    )
    build_cases(count=6)
    made = build_referrals()
    assert made >= 3
    assert build_referrals() == 0
    to_unit = Referral.objects.filter(kind=ReferralKind.TO_UNIT)
    assert to_unit.count() == 3
    assert to_unit.filter(state=ReferralState.ACCEPTED, case__isnull=False).count() == 1
    assert all("synthetic" in str(fc.note) for fc in FirstContact.objects.all())
    shelter = Referral.objects.filter(kind=ReferralKind.TO_SERVICE)
    assert shelter.exists()
    assert all(Agency.objects.get(pk=r.to_agency_id).is_synthetic for r in shelter)
