"""Helpers for the notices tests: a unit, its staff, and cases with her contact preferences.

    unit = make_unit()
    officer = make_actor(Role.UNIT_OFFICER, unit)
    case = case_with(officer, channel="sms", safe_times="10:00-12:00", sms=True)

Her preferences are written the way the intake writes them (``survivor.safe_contact``) and
her consents through the intake's consent answers: the real services, the real database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from himaya.cases.intake import ConsentData, SurvivorData
from himaya.cases.models import CaseFile, Channel, ConsentPurpose
from himaya.core.actor import Actor
from tests.cases.helpers import open_case

MOROCCO = ZoneInfo("Africa/Casablanca")
PHONE = "0612345678"
PHONE_E164 = "+212612345678"
CODE_WORD = "jasmin"
#: Words of her story that must never leave in an SMS.
NARRATIVE_WORDS = ("coups", "frappée", "violence", "police", "unité", "unit")


def morocco(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MOROCCO)


def case_with(
    actor: Actor,
    *,
    channel: str | None = "sms",
    safe_times: str | None = None,
    sms: bool | None = True,
    phone_consent: bool | None = None,
    language: str = "fr",
    first_contact: str = Channel.WALK_IN,
    code_word: str | None = CODE_WORD,
    portal: bool | None = None,
    **contact: Any,
) -> CaseFile:
    safe_contact: dict[str, Any] = {"phone": PHONE}
    if channel is not None:
        safe_contact["channel"] = channel
    if safe_times is not None:
        safe_contact["safe_times"] = safe_times
    if code_word is not None:
        safe_contact["code_word"] = code_word
    safe_contact.update(contact)
    consents = []
    if sms is not None:
        consents.append(ConsentData(purpose=ConsentPurpose.CONTACT_SMS, granted=sms))
    if phone_consent is not None:
        consents.append(ConsentData(purpose=ConsentPurpose.CONTACT_PHONE, granted=phone_consent))
    case = open_case(
        actor,
        channel=first_contact,
        survivor=SurvivorData(
            full_name="Salma Synthétique",
            phone="0698765432",
            preferred_language=language,
            safe_contact=safe_contact,
        ),
        consents=consents,
    )
    if portal is not None:
        # The portal sets this flag when she gets a codename (docs/architecture/notices.md).
        survivor = case.survivor
        survivor.safe_contact = {**(survivor.safe_contact or {}), "portal": portal}
        survivor.save(update_fields=["safe_contact"])
    return CaseFile.objects.select_related("survivor", "survivor__data_key").get(pk=case.pk)


def _catalogue_has_notices() -> bool:
    from django.utils import translation

    with translation.override("fr"):
        return translation.gettext("You have a new message.") != "You have a new message."


def skip_without_catalogue() -> None:
    """For tests that read the translated sentences: they run once the lead has merged this
    work's msgids (/tmp/i18n/notices.json) into the compiled catalogues."""
    if not _catalogue_has_notices():
        pytest.skip("the notices' translations are not in the compiled catalogues yet")
