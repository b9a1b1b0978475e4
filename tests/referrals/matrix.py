"""Objects of the referrals app for the authorisation matrix (``tests/security/routes.py``).

A referral no principal's agency sent or received: the other unit refers its (foreign) case
to a shelter of its own, on a legal basis. Made once per matrix world.
"""

from __future__ import annotations

from typing import Any

from himaya.cases.models import SharingBasis
from himaya.network.models import AgencyKind
from himaya.referrals import services
from himaya.referrals.models import Need
from tests.accounts.helpers import make_agency
from tests.cases.helpers import make_commune


def foreign_referral_id(world: Any) -> str:
    cached = world.__dict__.get("_referrals_foreign")
    if cached is None:
        commune = make_commune("Matrix shelter")
        shelter = make_agency(
            AgencyKind.SHELTER,
            commune=commune,
            latitude=commune.latitude,
            longitude=commune.longitude,
        )
        referral = services.referral_send(
            actor=world.other_officer,
            case_id=world.foreign_case.pk,
            data=services.ServiceReferralData(
                agency_id=shelter.pk,
                need=Need.SHELTER,
                scope=["identity"],
                basis=SharingBasis.LIFE_THREAT,
                legal_reason="He threatened to kill her tonight",
            ),
        )
        cached = str(referral.pk)
        world.__dict__["_referrals_foreign"] = cached
    return str(cached)
