"""The list pages that are not queues, at scale (issue 7: "every queue and list page at 10k
and at 1M cases"): what one case holds, its referrals and its complaint, the unit chief's
alerts, the search page, the officer's drafts and API tokens, the service network, and her
portal pages. The queues are timed elsewhere: ``/cases/`` by ``bench_cases.py``,
``/referrals/`` by ``bench_referrals.py``, ``/justice/`` by ``bench_justice.py``.

    BENCH_SCALE=full .venv/bin/python bench/bench_pages.py --database postgresql
    BENCH_CASES=<n>  .venv/bin/python bench/bench_pages.py --database sqlite

Reuses the scratch database ``generate.py`` left at this scale (grown to it when smaller),
adds the referrals ``generate_referrals.py`` writes for cases that have none yet, and
``generate_audit`` adds the audit trail the generators leave out: each case's opening and
one to three reads by its unit's officers, chained and hashed as ``core.audit`` appends
them (the portal's "who opened my file" and every audited read work on this table).

The baseline is the same pages in a second scratch database with the same keys, grown to
1 % of the scale by the same recipe, measured first in the same run. There, ``CASES_TIMED``
open cases are chosen; generation is deterministic, so the same cases exist in the big
database. Each of them gets, at both stages and through the real services, what a case
accumulates in its first weeks: ``NOTES`` notes, ``TASKS`` tasks (``DONE`` of them done),
``EVIDENCE`` photos, ``MESSAGES`` messages to her. Up to ``COMPLAINTS`` of them, still in
the unit's hands, are forwarded to the competent prosecution office (her consent recorded,
the complaint forwarded by the officer; the office's prosecutor opens proceedings, sets a
hearing and orders a no-contact measure). The officer of each of their units gets
``DRAFTS`` interviews in progress (the intake service), and an officer of each unit who
no other benchmark uses (``API_USER``, made through the accounts services) holds
``API_TOKENS`` API tokens (``token_create``). ``PORTAL_CASES`` reports filed online
through the portal's service (in the same communes) each get messages both ways and reads
by the unit, and a portal session (the cookie the codename would give her); so does each
forwarded case. Every page then shows the same content at both stages: the ratio measures
what a national database costs a page, not a fuller page.

Pages timed with Django's test client (middleware, session, gate, selectors, audit,
template), each loaded once untimed, then ``ROUNDS`` times with the data-key cache emptied:

* ``case``: ``/cases/<id>/`` (her record, incidents, perpetrators, evidence, consents,
  grants, notes, tasks, timeline) for a unit officer;
* ``case.evidence``, ``case.messages``, ``case.referrals``: the case's evidence list, its
  thread with her, its referrals;
* ``referral``: ``/referrals/<id>/``, the case's first referral (sent or received by the
  unit) with its timeline;
* ``justice.case``: ``/justice/cases/<id>/`` of each forwarded case (its complaints and
  measures) for the unit's officer; ``justice.complaint``:
  ``/justice/complaints/<id>/`` (decisions, hearings, measures, timeline, her file as
  shared) for the office's prosecutor;
* ``search``: ``POST /cases/search/`` with her name and date of birth (her files here,
  other units holding one);
* ``alerts``: ``/cases/alerts/`` for the chiefs of those cases' units;
* ``intake.drafts``: ``/cases/intake/``, the officer's interviews in progress;
* ``tokens``: ``/accounts/tokens/``, the API user's tokens;
* ``network.directory``, ``network.agency``: ``/network/`` and the page of one's own
  agency (``/network/agencies/<id>/``) for the units' officers, a focal point of a station
  referring to each unit and the offices' prosecutors; ``network.coverage``:
  ``/network/coverage/`` (communes farthest from a unit) for the officers. These read
  the service network only, not the cases;
* ``portal.case``, ``portal.messages``, ``portal.opened``, ``portal.files``: her status
  page, her messages, which agencies opened her file, the form to add a file (it lists
  nothing of hers), on the reports filed online; ``portal.breach``: the measures in force
  she can report a breach of, on the forwarded cases.

Prints each page's p95 (p50) at both stages and its statements, and writes
``bench/results/pages.json`` (``--no-results``: not, for the CI smoke test).
"""

from __future__ import annotations

import functools
import io
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

SEED = 7_2026
CASES_TIMED = 40
PORTAL_CASES = 20
NOTES = 6
TASKS = 4
DONE = 2
EVIDENCE = 2
MESSAGES = 3
REPLIES = 2
#: Of the timed cases still in the unit's hands, up to this many are forwarded to the
#: prosecutor (through the services: her consent, the forwarding, the office's decisions).
COMPLAINTS = 10
#: Case states a complaint is forwarded from. Not "forwarded": ``bench_justice.py`` gives
#: those a generated complaint, which the first stage, in its own database, would not have.
FORWARDABLE = ("open", "assessed", "referred")
DRAFTS = 3
API_TOKENS = 2
#: An officer of each unit who holds API tokens: an account no other benchmark uses (their
#: officers get tokens of their own), named to sort after the unit's ``bench.u`` staff so
#: that ``Bench.desk`` never picks it for the other pages.
API_USER = "bench.v{unit}.officer"
ROUNDS = 3
PAGE_TARGET_S = 0.050
RATIO_TARGET = 1.5
AUDIT_BATCH = 20_000
PROGRESS_TABLE = "bench_audit_done"
#: Up to this many cases, the whole audit chain is verified after the events are added.
VERIFY_UP_TO = 20_000
#: name -> (who looks, path; ``{...}`` is filled in per load, see ``targets``)
PAGES: dict[str, tuple[str, str]] = {
    "case": ("officer", "/cases/{case}/"),
    "case.evidence": ("officer", "/cases/{case}/evidence/"),
    "case.messages": ("officer", "/cases/{case}/messages/"),
    "case.referrals": ("officer", "/referrals/case/{case}/"),
    "referral": ("officer", "/referrals/{referral}/"),
    "justice.case": ("officer", "/justice/cases/{case}/"),
    "justice.complaint": ("prosecutor", "/justice/complaints/{complaint}/"),
    "search": ("officer", "/cases/search/"),
    "alerts": ("chief", "/cases/alerts/"),
    "intake.drafts": ("officer", "/cases/intake/"),
    "tokens": ("token holder", "/accounts/tokens/"),
    "network.directory": ("staff", "/network/"),
    "network.agency": ("staff", "/network/agencies/{agency}/"),
    "network.coverage": ("officer", "/network/coverage/"),
    "portal.case": ("her", "/p/fr/mine/"),
    "portal.messages": ("her", "/p/fr/mine/messages/"),
    "portal.opened": ("her", "/p/fr/mine/opened/"),
    "portal.files": ("her", "/p/fr/mine/files/"),
    "portal.breach": ("her", "/p/fr/mine/breach/"),
}


# --- the audit trail the generators leave out ---------------------------------------------


def _progress(cursor: Any) -> int:
    """The last generated case (its row in ``generate.BASELINE_TABLE``) given a trail."""
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} (id integer PRIMARY KEY, last integer)"
    )
    cursor.execute(f"SELECT last FROM {PROGRESS_TABLE} WHERE id = 1")  # noqa: S608  # nosec B608
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def generate_audit(seed: int = SEED) -> tuple[int, float]:
    """Each generated case's ``case.open`` and one to three ``case.read`` by officers of its
    unit (at times after it opened), in time order, appended to the chain with their
    hashes, for the cases ``generate.py`` wrote since an earlier run (in the order it wrote
    them: its baseline table's ids). Cases the services opened (the portal reports) have
    their own events already and get none. Returns (events, seconds)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from bench import generate
    from himaya.accounts.models import Membership
    from himaya.core import audit
    from himaya.core.models import AuditEvent

    started = time.perf_counter()
    staff: dict[int, list[tuple[int, str, int]]] = {}
    for user_id, username, agency, membership in Membership.objects.filter(
        role="unit_officer", user__username__startswith="bench.u"
    ).values_list("user_id", "user__username", "agency_id", "id"):
        staff.setdefault(int(agency), []).append((int(user_id), str(username), int(membership)))
    now = timezone.now()
    fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    insert = (
        f"INSERT INTO {AuditEvent._meta.db_table} ({columns}) "  # noqa: S608  # nosec B608
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    read_meta = {"holding_unit": True, "bases": [], "emergency": False, "groups": ["all"]}
    with transaction.atomic(), connection.cursor() as cursor:
        done = _progress(cursor)
        # The baseline keeps the case's id with hyphens; SQLite stores it without.
        same = (
            "c.id = replace(b.case_id, '-', '')"
            if connection.vendor == "sqlite"
            else "c.id = b.case_id::uuid"
        )
        cursor.execute(
            f"SELECT b.id, c.id, c.unit_id, c.created_at FROM {generate.BASELINE_TABLE} b "  # noqa: S608  # nosec B608
            f"JOIN cases_casefile c ON {same} WHERE b.id > %s ORDER BY b.id",
            [done],
        )
        cases = cursor.fetchall()
        last = int(cases[-1][0]) if cases else done
        rng = random.Random(seed + done)
        planned: list[tuple[datetime, str, tuple[int, str, int], int, str]] = []
        for _row, case_id, unit_id, opened in cases:
            people = staff.get(int(unit_id))
            if not people:
                continue
            at = _as_datetime(opened)
            target = str(case_id) if "-" in str(case_id) else str(_uuid(case_id))
            planned.append((at, "case.open", rng.choice(people), int(unit_id), target))
            for _ in range(rng.randint(1, 3)):
                seen = min(now, at + timedelta(days=rng.uniform(0, 60)))
                planned.append((seen, "case.read", rng.choice(people), int(unit_id), target))
        planned.sort(key=lambda p: p[0])
        sequence, head = audit._lock_head()
        batch: list[list[Any]] = []
        for at, action, (user_id, username, membership), unit_id, target in planned:
            sequence += 1
            event = AuditEvent(
                sequence=sequence,
                occurred_at=at,
                actor_user_id=user_id,
                actor_username=username,
                actor_role="unit_officer",
                agency_id=unit_id,
                membership_id=membership,
                action=action,
                target_type="cases.case",
                target_id=target,
                request_id="",
                reason="",
                metadata=read_meta if action == "case.read" else {"incidents": 1},
                prev_hash=head,
            )
            event.hash = head = audit.event_hash(head, event)
            batch.append(
                [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
            )
            if len(batch) >= AUDIT_BATCH:
                cursor.executemany(insert, batch)
                batch.clear()
        if batch:
            cursor.executemany(insert, batch)
        cursor.execute(audit._HEAD_UPDATE, [sequence, head])
        cursor.execute(f"DELETE FROM {PROGRESS_TABLE}")  # noqa: S608  # nosec B608
        cursor.execute(
            f"INSERT INTO {PROGRESS_TABLE} (id, last) VALUES (1, %s)",  # noqa: S608  # nosec B608
            [last],
        )
    return len(planned), time.perf_counter() - started


def _as_datetime(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _uuid(value: Any) -> Any:
    import uuid

    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


# --- what the timed cases hold ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """One page load: who (a signed-in client) and what (a path, and a form for a POST)."""

    client: Any
    path: str
    form: dict[str, str] | None = None


def pick_cases(count: int) -> list[str]:
    """``count`` open cases (not closed: evidence may still be added), drawn at random; a
    busier unit holds more of them, so it is drawn more often."""
    from himaya.cases.models import CaseFile

    ids = sorted(
        str(pk) for pk in CaseFile.objects.exclude(state="closed").values_list("id", flat=True)
    )
    return random.Random(SEED).sample(ids, min(count, len(ids)))


def _photo(n: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 240), (120 + n % 100, 80, 60)).save(out, format="PNG")
    return out.getvalue()


def enrich(desks: Any, case_ids: list[str]) -> None:
    """Notes, tasks, photos and messages on each case, through the services, as an officer
    of its unit would add them; a case already given them (an earlier run) is left as is."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from himaya.cases import evidence, notices, services
    from himaya.cases.models import CaseFile, Note, Task

    today = timezone.localdate()
    for n, case_id in enumerate(case_ids):
        if Note.objects.filter(case_id=_uuid(case_id)).count() >= NOTES:
            continue
        unit = CaseFile.objects.values_list("unit_id", flat=True).get(pk=case_id)
        actor = desks.desk(unit, "unit_officer").actor
        for k in range(NOTES):
            services.note_add(
                actor=actor,
                case_id=case_id,
                body=f"Note de suivi {k + 1} (synthétique) : appel, rendez-vous, orientation.",
            )
        for k in range(TASKS):
            services.task_add(
                actor=actor,
                case_id=case_id,
                description=f"Tâche {k + 1} (synthétique)",
                due_on=today + timedelta(days=k + 1),
            )
        for task in Task.objects.filter(case_id=_uuid(case_id)).order_by("id")[:DONE]:
            services.task_complete(actor=actor, task_id=task.pk)
        for k in range(EVIDENCE):
            upload = SimpleUploadedFile(f"photo-{k}.png", _photo(n + k), "image/png")
            evidence.evidence_add(actor=actor, case_id=case_id, kind="injury_photo", upload=upload)
        for k in range(MESSAGES):
            notices.message_to_her(
                actor=actor,
                case_id=case_id,
                body=f"Message {k + 1} de l'unité (synthétique).",
                idempotency_key=f"bench-m{k}-{case_id[:8]}",
            )


def portal_cases(desks: Any, case_ids: list[str], count: int) -> list[str]:
    """Reports filed online (the portal's service) in the communes of ``case_ids``, each
    read by its unit, with messages both ways, and her portal session's cookie value."""
    from django.utils import timezone

    from himaya.cases import notices, selectors
    from himaya.cases.models import CaseFile
    from himaya.cases.online import OnlineReport, ReportKind
    from himaya.portal import services

    tokens: list[str] = []
    for n, case_id in enumerate(case_ids[:count]):
        commune = CaseFile.objects.values_list("survivor__residence_commune_id", flat=True).get(
            pk=case_id
        )
        report = OnlineReport(
            kind=ReportKind.HELP,
            commune_id=int(commune),
            forms=["psychological"],
            occurred_on=timezone.localdate() - timedelta(days=3 + n % 20),
            account="Récit synthétique pour le banc d'essai.",
        )
        try:
            filed = services.report_submit(
                report=report, idempotency_key=f"bench-portal-{n:04d}", language="fr"
            ).case
        except Exception as exc:
            raise SystemExit(f"online report refused: {getattr(exc, 'fields', exc)}") from exc
        actor = desks.desk(filed.unit_id, "unit_officer").actor
        for _ in range(3):
            selectors.case_get(actor=actor, case_id=filed.pk)
        for k in range(MESSAGES):
            notices.message_to_her(
                actor=actor,
                case_id=filed.pk,
                body=f"Message {k + 1} de l'unité (synthétique).",
                idempotency_key=f"bench-pm{k}-{n:04d}",
            )
        for k in range(REPLIES):
            notices.survivor_message_add(
                case=filed,
                body=f"Réponse {k + 1} (synthétique).",
                idempotency_key=f"bench-r{k}-{n:04d}",
            )
        tokens.append(_session(filed))
    return tokens


def _session(case: Any) -> str:
    from django.http import HttpResponse

    from himaya.portal import session

    return session.session_open(HttpResponse(), case=case)


@dataclass(frozen=True, slots=True)
class Forwarded:
    """A timed case forwarded to the prosecutor: its complaint and the office."""

    case_id: str
    complaint_id: int
    office_id: int


def forward(desks: Any, case_ids: list[str], count: int) -> list[Forwarded]:
    """Up to ``count`` of ``case_ids`` (in their order) still in the unit's hands, forwarded
    to the office competent for them as the unit would: her consent to share with the
    prosecutor recorded, the complaint forwarded; then, by the office's prosecutor,
    proceedings opened, a hearing set and a no-contact order. A case an earlier run
    forwarded (a complaint someone forwarded) is taken as it is."""
    from django.utils import timezone

    from bench.bench_justice import _prosecutors
    from himaya.accounts.roles import Role
    from himaya.cases import services as case_services
    from himaya.cases.models import CaseFile, ConsentPurpose
    from himaya.justice import services
    from himaya.justice.models import Complaint, IssuingAuthority, MeasureBasis, MeasureKind
    from himaya.justice.states import DecisionKind

    out: list[Forwarded] = []
    today = timezone.localdate()
    for case_id in case_ids:
        if len(out) >= count:
            break
        done = (
            Complaint.objects.filter(case_id=_uuid(case_id), forwarded_by__isnull=False)
            .values_list("id", "office_id")
            .first()
        )
        if done is not None:
            out.append(Forwarded(case_id, int(done[0]), int(done[1])))
            continue
        case = CaseFile.objects.select_related("survivor").get(pk=case_id)
        office = services.competent_office_id(case)
        if case.state not in FORWARDABLE or office is None:
            continue
        officer = desks.desk(case.unit_id, "unit_officer").actor
        case_services.consent_record(
            actor=officer,
            case_id=case_id,
            purpose=ConsentPurpose.SHARE_PROSECUTOR,
            granted=True,
            scope=[str(g) for g in services.PROSECUTOR_SCOPE],
        )
        complaint = services.complaint_forward(actor=officer, case_id=case_id, office_id=office)
        _prosecutors({office})
        prosecutor = desks.desk(office, Role.PROSECUTOR).actor
        services.decision_record(
            actor=prosecutor, complaint_id=complaint.pk, kind=DecisionKind.OPEN_PROCEEDINGS
        )
        services.hearing_schedule(
            actor=prosecutor,
            complaint_id=complaint.pk,
            scheduled_at=timezone.now() + timedelta(days=40),
            place="Tribunal de première instance",
        )
        services.measure_order(
            actor=prosecutor,
            complaint_id=complaint.pk,
            kind=MeasureKind.NO_CONTACT,
            legal_basis=MeasureBasis.PC_88_3,
            authority=IssuingAuthority.PROSECUTOR,
            starts_on=today,
            ends_on=today + timedelta(days=180),
        )
        out.append(Forwarded(case_id, complaint.pk, office))
    return out


def _units(case_ids: list[str]) -> list[int]:
    """The units holding ``case_ids``, each once, in the cases' order."""
    from himaya.cases.models import CaseFile

    held = dict(
        CaseFile.objects.filter(pk__in=[_uuid(c) for c in case_ids]).values_list("id", "unit_id")
    )
    return list(dict.fromkeys(int(held[_uuid(c)]) for c in case_ids))


def drafts(desks: Any, units: list[int]) -> None:
    """``DRAFTS`` interviews in progress, saved through the intake service, for the officer
    of each unit who looks at the pages (fewer when an earlier run saved some)."""
    from himaya.cases.intake import INTAKE_STEPS, intake_draft_list, intake_draft_save

    for unit in units:
        actor = desks.desk(unit, "unit_officer").actor
        for k in range(len(intake_draft_list(actor=actor)), DRAFTS):
            step = INTAKE_STEPS[1 + k]
            intake_draft_save(
                actor=actor,
                draft_id=None,
                step=step,
                data={
                    "idempotency_key": f"bench-draft-{unit}-{k}",
                    "visited": list(INTAKE_STEPS[: 2 + k]),
                    "survivor": {"full_name": f"Entretien {k + 1} (synthétique)"},
                },
            )


def token_holders(desks: Any, units: list[int]) -> list[Any]:
    """A signed-in desk per unit for ``API_USER``, an officer made through the accounts
    services, holding ``API_TOKENS`` tokens made through ``token_create``."""
    from himaya.accounts import services, tokens
    from himaya.accounts.models import Membership, User
    from himaya.accounts.roles import Role
    from himaya.core.actor import SYSTEM
    from himaya.network.models import Agency

    out = []
    for unit in units:
        name = API_USER.format(unit=unit)
        user = User.objects.filter(username=name).first() or services.user_create(
            actor=SYSTEM, username=name, password=None, display_name=name
        )
        granted = services.membership_grant(
            actor=SYSTEM, user=user, agency=Agency.objects.get(pk=unit), role=Role.UNIT_OFFICER
        )
        desk = desks.sign_in(Membership.objects.select_related("user").get(pk=granted.pk))
        for k in range(len(tokens.token_list(actor=desk.actor).items), API_TOKENS):
            tokens.token_create(
                actor=desk.actor,
                name=f"Export {k + 1}",
                scopes=["cases:read", "referrals:read"],
                expires_in_days=30,
            )
        out.append(desk)
    return out


def _her(token: str) -> Any:
    """A browser holding her portal session."""
    from django.test import Client

    from himaya.portal import session

    her = Client()
    her.cookies[session.COOKIE] = token
    her.cookies[session.COOKIE]["path"] = session.PATH
    return her


def targets(
    desks: Any,
    case_ids: list[str],
    tokens: list[str],
    forwarded: list[Forwarded],
    holders: list[Any],
) -> dict[str, list[Target]]:
    """Each page's loads: for each timed case, its unit's officer (and the unit's chief,
    once per unit); the prosecutors of the forwarded cases, and her portal session on them;
    her portal session on each report filed online; the network's pages for the officers,
    the focal points of a station referring to their units and the prosecutors, each on
    the page of their own agency."""
    from django.db.models import Q

    from himaya.accounts.roles import Role
    from himaya.cases.models import CaseFile
    from himaya.referrals.models import Referral

    def page(name: str, **fields: object) -> str:
        return PAGES[name][1].format(**fields)

    out: dict[str, list[Target]] = {name: [] for name in PAGES}
    units: set[int] = set()
    for case_id in case_ids:
        case = CaseFile.objects.select_related("survivor", "survivor__data_key").get(pk=case_id)
        unit = int(case.unit_id)
        officer = desks.desk(unit, "unit_officer").client
        for name in ("case", "case.evidence", "case.messages", "case.referrals"):
            out[name].append(Target(officer, page(name, case=case_id)))
        referral = (
            Referral.objects.filter(case_id=case.pk)
            .filter(Q(from_agency_id=unit) | Q(to_agency_id=unit))
            .order_by("created_at", "id")
            .values_list("id", flat=True)
            .first()
        )
        if referral is not None:
            out["referral"].append(Target(officer, page("referral", referral=referral)))
        born = case.survivor.date_of_birth
        form = {"name": str(case.survivor.full_name)}
        if born:
            form["date_of_birth"] = str(born)
        out["search"].append(Target(officer, page("search"), form))
        if unit in units:
            continue
        units.add(unit)
        out["alerts"].append(Target(desks.desk(unit, "unit_chief").client, page("alerts")))
        for name in ("intake.drafts", "network.directory", "network.coverage"):
            out[name].append(Target(officer, page(name)))
        out["network.agency"].append(Target(officer, page("network.agency", agency=unit)))
        stations = desks.world.places[unit].stations if unit in desks.world.places else []
        if stations:
            focal = desks.desk(stations[0], Role.FOCAL_POINT).client
            out["network.directory"].append(Target(focal, page("network.directory")))
            out["network.agency"].append(Target(focal, page("network.agency", agency=stations[0])))
    offices: set[int] = set()
    for f in forwarded:
        unit = int(CaseFile.objects.values_list("unit_id", flat=True).get(pk=f.case_id))
        officer = desks.desk(unit, "unit_officer").client
        out["justice.case"].append(Target(officer, page("justice.case", case=f.case_id)))
        prosecutor = desks.desk(f.office_id, Role.PROSECUTOR).client
        out["justice.complaint"].append(
            Target(prosecutor, page("justice.complaint", complaint=f.complaint_id))
        )
        case = CaseFile.objects.get(pk=f.case_id)
        out["portal.breach"].append(Target(_her(_session(case)), page("portal.breach")))
        if f.office_id not in offices:
            offices.add(f.office_id)
            out["network.directory"].append(Target(prosecutor, page("network.directory")))
            out["network.agency"].append(
                Target(prosecutor, page("network.agency", agency=f.office_id))
            )
    for holder in holders:
        out["tokens"].append(Target(holder.client, page("tokens")))
    for token in tokens:
        her = _her(token)
        for name in ("portal.case", "portal.messages", "portal.opened", "portal.files"):
            out[name].append(Target(her, page(name)))
    empty = [name for name, loads in out.items() if not loads]
    assert not empty, f"pages with nothing to load: {empty}"
    return out


def load(target: Target) -> None:
    if target.form is None:
        response = target.client.get(target.path)
    else:
        response = target.client.post(target.path, target.form)
    assert response.status_code == 200, (target.path, response.status_code)


@dataclass(frozen=True, slots=True)
class Stage:
    timings: dict[str, common.Timing]
    statements: dict[str, int]
    cases: int
    audit_events: int


def measure(desks: Any, case_ids: list[str], cases: int) -> Stage:
    from bench.bench_cases import count_statements
    from himaya.core.crypto import clear_data_key_cache
    from himaya.core.models import AuditEvent

    enrich(desks, case_ids)
    forwarded = forward(desks, case_ids, COMPLAINTS)
    units = _units(case_ids)
    drafts(desks, units)
    holders = token_holders(desks, units)
    tokens = portal_cases(desks, case_ids, PORTAL_CASES)
    chosen = targets(desks, case_ids, tokens, forwarded, holders)
    common.prewarm()
    timings: dict[str, common.Timing] = {}
    statements: dict[str, int] = {}
    for name, loads in chosen.items():
        for target in loads:
            load(target)
        timings[name] = common.time_calls(loads * ROUNDS, load, before=clear_data_key_cache)
        # The fewer of two loads: a session's "last seen" stamp belongs to the clock.
        first = functools.partial(load, loads[0])
        statements[name] = min(count_statements(first) for _ in range(2))
    return Stage(timings, statements, cases, AuditEvent.objects.count())


def grow(cases: int) -> None:
    """Cases up to ``cases``, the referrals of those that have none, their audit trail."""
    from bench import generate, generate_referrals

    world = generate_referrals.load_world()
    if generate.case_count() < cases:
        generate.generate(cases, world=world.base)
    added = generate_referrals.generate_referrals(world=world)
    events, seconds = generate_audit()
    print(
        f"{generate.case_count():,} cases; {added.referrals:,} referrals added; "
        f"{events:,} audit events added in {seconds:.1f} s"
    )
    if cases <= VERIFY_UP_TO:
        # The events were chained like core.audit's own: the whole chain verifies.
        from himaya.core import audit

        report = audit.verify_chain()
        assert report.ok, report.problem
        print(f"audit chain verified: {report.events:,} events")


def main() -> None:
    database = common.database_name()
    total = common.scale_cases()
    first = min(max(1_000, total // 100), max(1, total // 10))
    # The desks signed in at the first stage sign in again at the second (another database).
    common.setup(database, fresh=False)
    from django.db import connection

    from bench import generate
    from bench.bench_referrals import Bench

    vendor = connection.vendor
    if generate.case_count() < total:
        generate.generate(total, world=generate.load_world())
    common.use_side_database(database)
    grow(first)
    case_ids = pick_cases(CASES_TIMED if total >= 100_000 else 8)
    small = measure(Bench(database), case_ids, generate.case_count())
    print(f"pages timed at {small.cases:,} cases; load average {os.getloadavg()[0]:.1f}")
    common.drop_side_database(database)
    grow(total)
    missing = [c for c in case_ids if not _exists(c)]
    assert not missing, f"cases of the first stage missing at full scale: {missing[:3]}"
    big = measure(Bench(database), case_ids, generate.case_count())
    print(f"pages timed at {big.cases:,} cases; load average {os.getloadavg()[0]:.1f}")

    scale = f"{big.cases:,} cases, {big.audit_events:,} audit events"
    there = f"{small.cases:,} cases, {small.audit_events:,} audit events"
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for name, (_who, path) in PAGES.items():
        timing, before = big.timings[name], small.timings[name]
        rows.append(
            common.row(
                name=f"pages.{name}",
                metric=f"p95 server time of {'POST ' if name == 'search' else ''}{path} "
                "(test client), the same content at both stages",
                value=round(timing.p95 * 1000, 2),
                unit="ms",
                scale=scale,
                database=vendor,
                compared_to=(
                    f"the same pages at {there}, same run: p95 {before.p95 * 1000:.2f} ms "
                    f"(p50 here {timing.p50 * 1000:.2f} ms, there {before.p50 * 1000:.2f} ms; "
                    f"{len(timing.samples)} loads)"
                ),
                ratio=round(timing.p95 / before.p95, 2),
            )
        )
        rows.append(
            common.row(
                name=f"pages.{name}.statements",
                metric="SQL statements of one load (transaction control aside, audit included)",
                value=big.statements[name],
                unit="queries",
                scale=scale,
                database=vendor,
                compared_to=f"the same page at {there}: {small.statements[name]} queries",
                ratio=round(big.statements[name] / max(1, small.statements[name]), 2),
            )
        )
        if timing.p95 > PAGE_TARGET_S:
            failures.append(f"{name} p95 {timing.p95 * 1000:.1f} ms > 50 ms")
        if timing.p95 > RATIO_TARGET * before.p95:
            failures.append(f"{name} grew x{timing.p95 / before.p95:.2f} > {RATIO_TARGET}")
        if big.statements[name] > small.statements[name]:
            failures.append(
                f"{name}: {big.statements[name]} statements, {small.statements[name]} at first"
            )
    common.print_rows(rows)
    print(f"\n{'page':<20} {'loads':>5}  p95 (p50) ms at {small.cases:,} -> at {big.cases:,}")
    for name in PAGES:
        a, b = small.timings[name], big.timings[name]
        print(
            f"{name:<20} {len(b.samples):>5}  {a.p95 * 1000:.1f} ({a.p50 * 1000:.1f})"
            f" -> {b.p95 * 1000:.1f} ({b.p50 * 1000:.1f}), x{b.p95 / a.p95:.2f};"
            f" statements {small.statements[name]} -> {big.statements[name]}"
        )
    print(f"machine: {common.machine()}")
    if "--no-results" not in sys.argv:
        common.write_results("pages", rows)
    for failure in failures:
        print("TARGET MISSED:", failure)


def _exists(case_id: str) -> bool:
    from himaya.cases.models import CaseFile

    return CaseFile.objects.filter(pk=case_id).exists()


if __name__ == "__main__":
    main()
