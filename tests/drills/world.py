"""What the drills do inside their own database, each step in a process of its own.

    HIMAYA_ENV=test SQLITE_PATH=… HIMAYA_VAR_DIR=… python -m tests.drills.world STEP OUT.json [ARG]

The drills (``test_crash.py``, ``test_restore.py``) never touch the suite's test database:
each builds a scratch database (``tests/asgi_server.py``) and runs these steps against it
with the environment of the server, so that what is checked is what the server and the
management commands left on disk, read back by a fresh process with the keys (or without
them). Steps:

* ``prepare``: migrate, create the master key, one police unit, a commune, an officer with
  a ``cases:write`` API token;
* ``inspect``: every case file complete (her record and its key, incidents, perpetrators,
  consents, blind-index entries, timeline, the ``case.open`` audit event), each idempotency
  key used once, and the audit chain verified;
* ``seed N``: ``prepare``, then open N cases through the services, with canary names,
  phones and addresses;
* ``shred ID``: crypto-shred one survivor (``data_key_shred``);
* ``read``: open every sealed field of every survivor, perpetrator and case file.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import django

#: Fields sealed with her key, read back by ``read`` (every one must open, or be erased).
SURVIVOR_FIELDS = ("full_name", "phone", "cin", "address", "date_of_birth")
CANARY_PREFIX = "Drillcanary"


def _world() -> tuple[Any, Any, str]:
    """Keys, schema, one unit's officer, a commune, a ``cases:write`` token."""
    from django.core.management import call_command

    call_command("init_keys", verbosity=0)
    call_command("migrate", interactive=False, verbosity=0)

    from himaya.accounts import tokens
    from tests.cases.helpers import make_commune, make_person

    officer = make_person("unit_officer")
    commune = make_commune("Drill")
    _, token = tokens.token_create(
        actor=officer.actor, name="drill", scopes=["cases:write"], expires_in_days=1
    )
    return officer, commune, token


def prepare() -> dict[str, Any]:
    officer, commune, token = _world()
    return {"token": token, "commune_id": commune.pk, "unit_id": officer.actor.agency_id}


def inspect() -> dict[str, Any]:
    """Every problem found, as plain sentences naming case ids only (never content)."""
    from django.db.models import Count

    from himaya.cases.models import CaseFile, Consent, Incident, Perpetrator, TimelineEntry
    from himaya.core.audit import verify_chain
    from himaya.core.models import BlindIndexEntry
    from himaya.core.models.audit import AuditEvent

    problems: list[str] = []
    cases = list(
        CaseFile.objects.select_related("survivor", "survivor__data_key").values_list(
            "id", "idempotency_key", "survivor_id", "survivor__data_key__wrapped_key"
        )
    )

    def counts(model: Any, field: str = "case_id") -> Counter[str]:
        rows = model.objects.values(field).annotate(n=Count("pk")).values_list(field, "n")
        return Counter({str(key): n for key, n in rows})

    incidents, perpetrators = counts(Incident), counts(Perpetrator)
    consents, timeline = counts(Consent), counts(TimelineEntry)
    indexed = counts(BlindIndexEntry, "object_id")
    opened = Counter(
        AuditEvent.objects.filter(action="case.open").values_list("target_id", flat=True)
    )
    for case_id, _key, survivor_id, wrapped in cases:
        case = str(case_id)
        missing = [
            what
            for what, present in (
                ("her data key", wrapped is not None),
                ("incidents", incidents[case] >= 1),
                ("perpetrators", perpetrators[case] >= 1),
                ("consents", consents[case] == 2),
                ("blind-index entries", indexed[str(survivor_id)] >= 3),
                ("timeline", timeline[case] >= 1),
                ("the case.open audit event", opened[case] == 1),
            )
            if not present
        ]
        if missing:
            problems.append(f"case {case} is half-written: no {', '.join(missing)}")
    keys = Counter(key for _, key, _, _ in cases)
    problems.extend(f"idempotency key {k} opened {n} cases" for k, n in keys.items() if n > 1)
    orphans = set(opened) - {str(case_id) for case_id, *_ in cases}
    problems.extend(f"audit event case.open for missing case {o}" for o in sorted(orphans))
    report = verify_chain()
    if not report.ok:
        problems.append(f"the audit chain does not verify: {report.problem}")
    return {
        "cases": len(cases),
        "by_key": {key: str(case_id) for case_id, key, _, _ in cases},
        "audit_events": report.events,
        "problems": problems,
    }


def seed(count: int) -> dict[str, Any]:
    from himaya.cases.intake import SurvivorData
    from tests.cases.helpers import open_case

    officer, commune, _ = _world()
    opened = []
    for n in range(count):
        case = open_case(
            officer.actor,
            survivor=SurvivorData(
                full_name=f"{CANARY_PREFIX} Amina{n:03d}",
                phone=f"0661{n:06d}",
                cin=f"DR{n:06d}",
                address=f"{CANARY_PREFIX} street {n}",
                residence_commune_id=commune.pk,
            ),
        )
        opened.append({"case": str(case.pk), "survivor": str(case.survivor_id), "n": n})
    return {"opened": opened}


def shred(survivor_id: str) -> dict[str, Any]:
    from himaya.cases.models import Survivor
    from himaya.core.actor import SYSTEM
    from himaya.core.shredding import data_key_shred

    survivor = Survivor.objects.select_related("data_key").get(pk=survivor_id)
    data_key_shred(actor=SYSTEM, data_key=survivor.data_key, reason="drill: erasure request")
    return {"shredded": survivor_id}


def read() -> dict[str, Any]:
    """Open every sealed value; count what opened, what reads as erased, what failed (and
    why, by exception type only)."""
    from himaya.cases.models import CaseFile, Perpetrator, Survivor
    from himaya.cases.search import SURVIVOR_PHONE
    from himaya.core.blind_index import index_lookup
    from himaya.core.crypto import clear_data_key_cache, is_erased

    clear_data_key_cache()
    opened, erased, failed = 0, 0, Counter[str]()
    names: dict[str, str] = {}
    erased_ids: list[str] = []

    def take(value_of: Any) -> object:
        nonlocal opened, erased
        try:
            value = value_of()
        except Exception as exc:  # the drill reports every kind of failure
            failed[type(exc).__name__] += 1
            return None
        if is_erased(value):
            erased += 1
        else:
            opened += 1
        return value

    for survivor in Survivor.objects.select_related("data_key").order_by("pk"):
        values = [take(lambda f=f, s=survivor: getattr(s, f)) for f in SURVIVOR_FIELDS]
        if values[0] is not None and not is_erased(values[0]):
            names[str(survivor.pk)] = str(values[0])
        elif values[0] is not None:
            erased_ids.append(str(survivor.pk))
    for perpetrator in Perpetrator.objects.select_related("data_key"):
        take(lambda p=perpetrator: p.full_name)
    for case in CaseFile.objects.select_related("survivor__data_key"):
        take(lambda c=case: c.narrative)
    findable = {
        str(pk)
        for pk in Survivor.objects.filter(
            pk__in=index_lookup(index=SURVIVOR_PHONE, value="0661000000", model=Survivor)
        ).values_list("pk", flat=True)
    }
    return {
        "opened": opened,
        "erased": erased,
        "failed": dict(failed),
        "names": names,
        "erased_survivors": erased_ids,
        "found_by_first_phone": sorted(findable),
    }


def main() -> None:
    step, out = sys.argv[1], Path(sys.argv[2])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "himaya.settings")
    django.setup()
    result: dict[str, Any]
    if step == "prepare":
        result = prepare()
    elif step == "inspect":
        result = inspect()
    elif step == "seed":
        result = seed(int(sys.argv[3]))
    elif step == "shred":
        result = shred(sys.argv[3])
    elif step == "read":
        result = read()
    else:
        raise SystemExit(f"unknown step {step}")
    out.write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
