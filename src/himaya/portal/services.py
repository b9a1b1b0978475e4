"""What the portal writes: her report (and complaint), her codename, her follow-up session.

``report_submit`` is the only way a report enters: route to the competent unit (and
prosecution office), open the case (``cases.online``), file the complaint
(``justice.services.complaint_file_online``) and issue the codename, all in ONE
transaction. She is told "received" only after it commits: nothing acknowledged is lost,
and a failure leaves nothing half-written. A retry of the same submission (same signed
idempotency key) returns the same case; within ``REPLAY_WINDOW`` it issues a fresh codename
in place of the first (she may never have seen it: the answer was lost on a weak line).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from himaya.cases.models import CaseFile
from himaya.cases.online import (
    PORTAL,
    OnlineReport,
    ReportKind,
    case_open_online_with_outcome,
    route_online,
)
from himaya.core import audit
from himaya.core.errors import InvalidInput
from himaya.portal import codenames, throttle
from himaya.portal.models import Codename

REPLAY_WINDOW = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Submission:
    case: CaseFile
    #: Shown once; empty when a replay came too late to issue a new one.
    codename: str
    created: bool


def _issue(case: CaseFile, language: str, *, replace: bool) -> str:
    """A new codename for ``case`` (replacing any earlier one when ``replace``)."""
    while True:
        text = codenames.generate(language)
        parsed = codenames.parse(text)
        if parsed is None:  # pragma: no cover - generate() always parses
            continue
        lookup = codenames.lookup_digest(parsed)
        if not Codename.objects.filter(lookup=lookup).exists():
            break
    now = timezone.now()
    values = {
        "lookup": lookup,
        "secret_hash": codenames.hash_secret(parsed),
        "language": language,
        "issued_at": now,
    }
    if replace:
        Codename.objects.update_or_create(case=case, defaults=values)
    else:
        Codename.objects.create(case=case, **values)
    return text


def report_submit(*, report: OnlineReport, idempotency_key: str, language: str) -> Submission:
    """File her report (and complaint) and issue her codename; see the module docstring."""
    route = route_online(commune_id=report.commune_id)
    if route.unit_id is None:
        raise InvalidInput(
            fields={
                "commune": [
                    _("No police unit could be found for this commune. Call the numbers above.")
                ]
            }
        )
    with transaction.atomic():
        outcome = case_open_online_with_outcome(
            unit_id=route.unit_id, report=report, idempotency_key=idempotency_key
        )
        case = outcome.case
        if report.kind == ReportKind.COMPLAINT and route.prosecution_office_id is not None:
            from himaya.justice.services import complaint_file_online

            complaint_file_online(
                case=case,
                office_id=route.prosecution_office_id,
                idempotency_key=f"{idempotency_key[:56]}-online",
            )
        existing = Codename.objects.select_for_update().filter(case=case).first()
        if existing is None:
            code = _issue(case, language, replace=False)
        elif timezone.now() - existing.issued_at <= REPLAY_WINDOW:
            code = _issue(case, language, replace=True)
            audit.record(
                actor=PORTAL,
                action="portal.codename_reissued",
                target_type="cases.case",
                target_id=str(case.pk),
            )
        else:
            code = ""
    return Submission(case=case, codename=code, created=outcome.created)


@dataclass(frozen=True, slots=True)
class OpenResult:
    case: CaseFile | None
    #: "ok", "not_found", "typo", "blocked"
    outcome: str
    minutes: int = 0


def follow_open(*, request: HttpRequest, text: str) -> OpenResult:
    """Check a typed codename. Unknown and wrong say the same ("not found") and count
    toward the per-client and per-codename limits; a check that does not match its words
    (a typo) is said so and does not count; a blocked client or codename is refused before
    any hashing."""
    parsed = codenames.parse(text)
    prefix = codenames.prefix_digest(parsed) if parsed is not None else None
    state = throttle.guess_blocked(request=request, prefix=prefix)
    if state.blocked:
        return OpenResult(case=None, outcome="blocked", minutes=state.minutes)
    if parsed is not None and not parsed.check_ok:
        return OpenResult(case=None, outcome="typo")
    row = None
    if parsed is not None:
        row = (
            Codename.objects.select_related("case", "case__survivor", "case__survivor__data_key")
            .filter(lookup=codenames.lookup_digest(parsed))
            .first()
        )
    if row is None or parsed is None or not codenames.verify_secret(row.secret_hash, parsed):
        if row is None and parsed is not None:
            # Same cost as a real check, so timing does not tell "unknown" from "wrong".
            codenames.verify_secret(_DUMMY_HASH(), parsed)
        throttle.guess_failed(request=request, prefix=prefix)
        return OpenResult(case=None, outcome="not_found")
    Codename.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
    audit.record(
        actor=PORTAL,
        action="portal.follow_open",
        target_type="cases.case",
        target_id=str(row.case_id),
    )
    return OpenResult(case=row.case, outcome="ok")


_dummy: list[str] = []


def _DUMMY_HASH() -> str:  # noqa: N802 - a memoised constant
    if not _dummy:
        parsed = codenames.parse("dummy dummy dummy dummy dummy 10")
        if parsed is None:  # a literal that always parses
            raise RuntimeError("the dummy codename no longer parses")
        _dummy.append(codenames.hash_secret(parsed))
    return _dummy[0]
