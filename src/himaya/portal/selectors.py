"""What the portal reads for her: the state of her file in plain words, who opened it, her
protection measures, and services near a commune.

Every function takes the case her codename session authenticated (never an id from the
request), so she reads her own file and nothing else. Nothing here names a staff member:
agencies and dates only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from himaya.cases.models import CaseFile
from himaya.cases.states import CaseState
from himaya.core.i18n import localized_name
from himaya.core.models import AuditEvent
from himaya.network.models import Agency, AgencyKind


@dataclass(frozen=True, slots=True)
class Status:
    headline: str
    detail: str
    unit_name: str
    complaint: str


_STATE_WORDS = {
    CaseState.OPEN: (
        gettext_lazy("Your report has been received."),
        gettext_lazy("The unit will contact you in the way you chose. Messages also arrive here."),
    ),
    CaseState.ASSESSED: (
        gettext_lazy("The unit has looked at your situation with you."),
        gettext_lazy("They are preparing the next steps with you."),
    ),
    CaseState.REFERRED: (
        gettext_lazy("The unit has asked services to help you."),
        gettext_lazy("You will be told here when a service accepts."),
    ),
    CaseState.FORWARDED: (
        gettext_lazy("Your file was sent to the prosecutor."),
        gettext_lazy("The prosecutor's office will tell you what comes next."),
    ),
    CaseState.CLOSURE_REQUESTED: (
        gettext_lazy("Your file is about to be closed."),
        gettext_lazy("You can still write to the unit here."),
    ),
    CaseState.CLOSED: (
        gettext_lazy("Your file is closed."),
        gettext_lazy("You can come back at any time: write to the unit or call the numbers above."),
    ),
}


def status_for(case: CaseFile) -> Status:
    headline, detail = _STATE_WORDS.get(CaseState(case.state), _STATE_WORDS[CaseState.OPEN])
    unit = Agency.objects.only("name_ar", "name_fr").get(pk=case.unit_id)
    complaint_text = ""
    from himaya.justice.models import Complaint

    complaint = Complaint.objects.filter(case=case).select_related("office").first()
    if complaint is not None:
        complaint_text = (
            _("Your complaint is with %(office)s. They will contact you to confirm it in person.")
            if complaint.needs_confirmation
            else _("Your complaint is with %(office)s.")
        ) % {"office": localized_name(complaint.office)}
    return Status(
        headline=str(headline),
        detail=str(detail),
        unit_name=localized_name(unit),
        complaint=complaint_text,
    )


@dataclass(frozen=True, slots=True)
class Opening:
    agency: str
    day: date
    times: int


def agencies_opened(case: CaseFile, *, limit: int = 100) -> list[Opening]:
    """Which agencies opened her file, and when: audited ``case.read`` events grouped by
    agency and day. Agency names only, never staff."""
    rows = (
        AuditEvent.objects.filter(
            target_type="cases.case", target_id=str(case.pk), action="case.read"
        )
        .exclude(agency_id__isnull=True)
        .order_by("-sequence")
        .values_list("agency_id", "occurred_at")[:2000]
    )
    grouped: dict[tuple[int, date], int] = {}
    for agency_id, at in rows:
        if not isinstance(at, datetime):  # the column is a datetime; keeps mypy exact
            continue
        key = (int(agency_id), timezone.localdate(at))
        grouped[key] = grouped.get(key, 0) + 1
    names = {
        a.pk: localized_name(a)
        for a in Agency.objects.filter(pk__in={k[0] for k in grouped}).only("name_ar", "name_fr")
    }
    return [
        Opening(agency=names.get(agency_id, "—"), day=day, times=times)
        for (agency_id, day), times in list(grouped.items())[:limit]
    ]


@dataclass(frozen=True, slots=True)
class MeasureRow:
    id: int
    kind: str
    ends_on: date | None


def measures_for(case: CaseFile) -> list[MeasureRow]:
    """Her protection measures in force (for reporting a breach)."""
    from himaya.justice.models import ProtectionMeasure
    from himaya.justice.states import MeasureState

    rows = ProtectionMeasure.objects.filter(complaint__case=case, state=MeasureState.ACTIVE)
    try:
        from himaya.justice.services import measure_kinds

        labels = measure_kinds()
    except ImportError:  # pragma: no cover - justice always provides it
        labels = {}
    return [
        MeasureRow(id=m.pk, kind=str(labels.get(m.kind, m.kind)), ends_on=m.ends_on)
        for m in rows.order_by("starts_on", "pk")[:50]
    ]


@dataclass(frozen=True, slots=True)
class ServiceRow:
    name: str
    kind: str
    phone: str
    address: str
    km: float
    shelter: bool


def services_near(commune_id: int, *, limit: int = 8) -> list[ServiceRow]:
    """Police units and services nearest her commune. A shelter is never shown with its
    name or place: only that one exists and how to reach it (through the helpline)."""
    from himaya.network import routing
    from himaya.network.index import get_index

    index = get_index()
    commune = index.communes_by_id.get(commune_id)
    if commune is None:
        return []
    origin = routing.origin_from_commune(commune.code, index=index)
    found: list[routing.Candidate] = []
    for kind in (
        AgencyKind.POLICE_UNIT,
        AgencyKind.NGO_CENTRE,
        AgencyKind.HOSPITAL_UNIT,
        AgencyKind.LEGAL_AID,
        AgencyKind.PSYCHOSOCIAL,
        AgencyKind.SHELTER,
    ):
        answer = routing.nearest_services(origin, kind=kind, limit=2, index=index)
        found.extend(answer.results)
    found.sort(key=lambda c: c.distance_km)
    found = found[:limit]
    public = {
        a.pk: a
        for a in Agency.objects.filter(pk__in=[c.agency.id for c in found]).only(
            "name_ar", "name_fr", "phone", "address", "kind"
        )
    }
    labels = dict(AgencyKind.choices)
    rows = []
    for c in found:
        agency = public.get(c.agency.id)
        if agency is None:
            continue
        shelter = agency.kind == AgencyKind.SHELTER
        rows.append(
            ServiceRow(
                name="" if shelter else localized_name(agency),
                kind=str(labels.get(agency.kind, "")),
                phone="" if shelter else agency.phone,
                address="" if shelter else agency.address,
                km=round(c.distance_km, 1),
                shelter=shelter,
            )
        )
    return rows
