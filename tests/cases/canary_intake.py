"""Canary values typed into a whole intake (and a note, a task, a draft), for the tests that
search the raw database bytes for them.

Run as ``python -m tests.cases.canary_intake`` with SQLITE_PATH and HIMAYA_KEYS_DIR set: it
creates every table in a fresh SQLite file (WAL mode, like production), writes the canaries
through the real services, prints one JSON line, then keeps its connection open -- so the WAL
still holds the new pages -- until it reads a line on stdin.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from typing import Any

ARABIC_NAME = "فاطمة الزهراء بنعلي"
LATIN_NAME = "Khadija Ouhammou"
PERPETRATOR_NAME = "Abdelghani Lmrabet"
PERPETRATOR_ARABIC = "عبد الغني المرابط"
PHONE_NATIONAL = "0661234987"
PHONE_E164 = "+212661234987"
PERPETRATOR_PHONE = "+212677445566"
CIN_VALUE = "BK418273"
PERPETRATOR_CIN = "JA998877"
ADDRESS = "Derb Sidi Bouloukat 17, Marrakech"
NARRATIVE = "Il m'a enfermée dans la cuisine pendant trois jours"
NOTE_TEXT = "She left the house at night with her two children"
TASK_TEXT = "Accompagner Khadija au certificat medical"
CODE_WORD = "Zaafrane-Tamarin"
CHILD_NAME = "Yassmine-Canary"
DRAFT_TEXT = "Brouillon-Canary-Oulad-Teima"
#: Written to a plain (unsealed) column: it MUST be found, or the search itself is broken.
CONTROL = "CasesCanaryControlUnsealed5519"

SECRETS = (
    ARABIC_NAME,
    LATIN_NAME,
    PERPETRATOR_NAME,
    PERPETRATOR_ARABIC,
    PHONE_NATIONAL,
    PHONE_E164,
    "212661234987",
    PERPETRATOR_PHONE,
    CIN_VALUE,
    PERPETRATOR_CIN,
    ADDRESS,
    NARRATIVE,
    NOTE_TEXT,
    TASK_TEXT,
    CODE_WORD,
    CHILD_NAME,
    DRAFT_TEXT,
)


def write_canaries() -> dict[str, Any]:
    """Open two cases through the intake (Arabic and Latin names), add a note, a task and a
    draft; return their ids."""
    from django.utils import timezone

    from himaya.accounts import services as accounts
    from himaya.accounts.actors import actor_for_user
    from himaya.accounts.models import Membership
    from himaya.cases import selectors, services
    from himaya.cases.classification import ViolenceForm
    from himaya.cases.intake import (
        DependantData,
        IncidentData,
        IntakeData,
        InterviewData,
        PerpetratorData,
        SurvivorData,
        intake_draft_save,
    )
    from himaya.cases.models import Relationship
    from himaya.core.actor import SYSTEM
    from himaya.network.models import Agency, AgencyKind

    unit = Agency.objects.create(
        kind=AgencyKind.POLICE_UNIT, name_ar="وحدة", name_fr=CONTROL, is_synthetic=True
    )
    user = accounts.user_create(actor=SYSTEM, username="canary.officer", password=None)
    accounts.membership_grant(actor=SYSTEM, user=user, agency=unit, role="unit_officer")
    actor = actor_for_user(user, membership=Membership.objects.get(user=user))
    incident = IncidentData(
        occurred_on=timezone.localdate() - timedelta(days=2), forms=[ViolenceForm.PHYSICAL]
    )
    cases = []
    for index, (name, phone) in enumerate(
        ((ARABIC_NAME, PHONE_NATIONAL), (LATIN_NAME, PHONE_E164))
    ):
        data = IntakeData(
            channel="walk_in",
            survivor=SurvivorData(
                full_name=name,
                phone=phone,
                cin=CIN_VALUE,
                address=ADDRESS,
                safe_contact={"code_word": CODE_WORD, "phone": PHONE_NATIONAL},
            ),
            incidents=[incident],
            perpetrators=[
                PerpetratorData(
                    relationship=Relationship.SPOUSE,
                    full_name=PERPETRATOR_NAME,
                    phone=PERPETRATOR_PHONE,
                    cin=PERPETRATOR_CIN,
                ),
                PerpetratorData(relationship=Relationship.FAMILY, full_name=PERPETRATOR_ARABIC),
            ],
            dependants=[DependantData(first_name=CHILD_NAME, age=6)],
            narrative=NARRATIVE,
            interview=InterviewData(others_present=LATIN_NAME),
        )
        key = f"canary-intake-{index}"
        cases.append(services.case_open_from_intake(actor=actor, data=data, idempotency_key=key))
    services.note_add(actor=actor, case_id=cases[0].pk, body=f"{NOTE_TEXT} {PHONE_NATIONAL}")
    services.task_add(
        actor=actor, case_id=cases[1].pk, description=TASK_TEXT, due_on=timezone.localdate()
    )
    intake_draft_save(
        actor=actor,
        draft_id=None,
        step="survivor",
        data={"survivor": {"full_name": DRAFT_TEXT, "phone": PHONE_NATIONAL}},
    )
    # Searches are audited: the values typed must not reach the audit log either.
    selectors.find_by_phone(actor=actor, phone=PHONE_NATIONAL)
    selectors.find_by_name(actor=actor, name=ARABIC_NAME)
    return {"cases": [str(case.pk) for case in cases]}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "himaya.settings")
    os.environ["HIMAYA_ENV"] = "test"
    import django

    django.setup()
    from django.apps import apps
    from django.db import connection

    with connection.schema_editor() as editor:
        for model in apps.get_models():
            editor.create_model(model)
    result = write_canaries()
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    sys.stdin.readline()
    connection.close()


if __name__ == "__main__":
    main()
