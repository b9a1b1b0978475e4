"""Pages of the justice chain: the prosecutor's queue, the complaint page with every action
on it, and the unit's side of one case (its justice status, "Forward to the prosecutor").

Thin, like every page: parse a form, call ``justice.selectors`` or ``justice.services`` with
the acting person, render. Every action is a POST form that works without JavaScript,
answered by a redirect (post/redirect/get) or, when a field is wrong, by the same page with
the message next to the field (422). Complaints are addressed by row number, cases by their
random id: nothing about her in a URL or a title. Another office's complaint is a 404
identical to a missing one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from himaya.cases.forms import FIELD_GROUP_LABELS
from himaya.cases.models import SharingBasis
from himaya.cases.policies import FieldGroup
from himaya.cases.views import staff_view
from himaya.core.actor import Actor
from himaya.core.errors import Conflict, InvalidInput, PermissionDenied
from himaya.justice import policies, selectors, services
from himaya.justice.forms import (
    BreachForm,
    DecisionForm,
    ForwardForm,
    HearingForm,
    MeasureForm,
    OutcomeForm,
    add_service_errors,
)
from himaya.justice.models import (
    BreachReporter,
    ComplaintSource,
    Hearing,
    IssuingAuthority,
    MeasureBasis,
    ProtectionMeasure,
)
from himaya.justice.states import ComplaintState, DecisionKind, HearingState

QUEUE_PER_PAGE = 50

#: The complaint's timeline, in words (rows hold kinds and states only).
EVENT_LABELS: dict[str, Any] = {
    "received": gettext_lazy("Complaint received"),
    "decision": gettext_lazy("Decision recorded"),
    "hearing_set": gettext_lazy("Hearing set"),
    "hearing_held": gettext_lazy("Hearing held"),
    "judged": gettext_lazy("Judged"),
    "measure_ordered": gettext_lazy("Protection measure ordered"),
    "breach_reported": gettext_lazy("Breach reported"),
    "measure_expiring": gettext_lazy("Measure near expiry: flagged for review"),
}


def _name(agency: object) -> str:
    if (get_language() or "").startswith("ar"):
        return str(getattr(agency, "name_ar", "") or getattr(agency, "name_fr", ""))
    return str(getattr(agency, "name_fr", "") or getattr(agency, "name_ar", ""))


def _complaint_url(complaint_id: int, anchor: str = "") -> str:
    url = reverse("justice:complaint", args=[complaint_id])
    return f"{url}#{anchor}" if anchor else url


def _status_url(case_id: uuid.UUID | str) -> str:
    return reverse("justice:case_status", args=[case_id])


def _measure_label(kind: str) -> str:
    return services.measure_kinds().get(kind, kind)


def _measure_row(measure: ProtectionMeasure, names: Mapping[str, str]) -> dict[str, Any]:
    return {
        "measure": measure,
        "kind": _measure_label(measure.kind),
        "basis": MeasureBasis(measure.legal_basis).label
        if measure.legal_basis in MeasureBasis.values
        else measure.legal_basis,
        "authority": IssuingAuthority(measure.authority).label
        if measure.authority in IssuingAuthority.values
        else measure.authority,
        "protected": [names.get(p, _("a dependant")) for p in measure.protected],
        "state": measure.get_state_display(),
    }


# --- the prosecutor's queue ---------------------------------------------------------------


@require_GET
@staff_view
def queue(request: HttpRequest, actor: Actor) -> HttpResponse:
    cursor = request.GET.get("cursor") or None
    try:
        work = selectors.prosecutor_queue(actor=actor, cursor=cursor, limit=QUEUE_PER_PAGE)
    except InvalidInput:
        return HttpResponseRedirect(reverse("justice:queue"))
    return render(request, "justice/queue.html", _queue_context(work))


def _queue_context(work: selectors.ProsecutorQueue) -> dict[str, Any]:
    """What the queue's rows show, as ready strings (as the case and referral queues do):
    over a hundred rows of ``{% url %}``, localized ``|date`` and ``get_*_display`` in the
    template were most of the page's time at 1,000,000 cases. One ``reverse`` gives every
    address; each day is formatted once, in the page's language and time zone."""
    today = timezone.localdate()
    base = _complaint_url(0)
    days: dict[date, str] = {}

    def url(complaint_id: int, anchor: str = "") -> str:
        address = base.replace("/0/", f"/{complaint_id}/")
        return f"{address}#{anchor}" if anchor else address

    def day(value: date) -> str:
        if value not in days:
            days[value] = date_format(value, "DATE_FORMAT")
        return days[value]

    def moment(value: datetime) -> tuple[str, str, str]:
        local = timezone.localtime(value)
        return local.isoformat(), day(local.date()), local.strftime("%H:%M")

    states, sources = dict(ComplaintState.choices), dict(ComplaintSource.choices)
    reporters = dict(BreachReporter.choices)
    overdue = _("overdue")
    awaiting = []
    for c in work.awaiting.items:
        received_iso, received, _time = moment(c.received_at)
        late = c.decision_due_on < today
        awaiting.append(
            {
                "url": url(c.pk),
                "reference": c.case.reference,
                "state": states.get(c.state, c.state),
                "received_iso": received_iso,
                "received": received,
                "due_iso": c.decision_due_on.isoformat(),
                "due": day(c.decision_due_on),
                "overdue": overdue if late else "",
                "source": sources.get(c.source, c.source),
                "to_confirm": c.needs_confirmation,
            }
        )
    hearings = []
    for h in work.hearings:
        iso, when, clock = moment(h.scheduled_at)
        hearings.append(
            {
                "iso": iso,
                "when": f"{when} {clock}",
                "url": url(h.complaint_id, "hearings"),
                "reference": h.complaint.case.reference,
                "remote": h.remote,
            }
        )
    expiring = [
        {
            "kind": _measure_label(m.kind),
            "url": url(m.complaint_id, "measures"),
            "reference": m.complaint.case.reference,
            "ends_iso": m.ends_on.isoformat() if m.ends_on else "",
            "ends": day(m.ends_on) if m.ends_on else "",
        }
        for m in work.expiring
    ]
    breaches = []
    for b in work.breaches:
        iso, when, clock = moment(b.created_at)
        breaches.append(
            {
                "iso": iso,
                "when": f"{when} {clock}",
                "url": url(b.measure.complaint_id, "measures"),
                "reference": b.measure.complaint.case.reference,
                "reporter": reporters.get(b.reported_by_kind, b.reported_by_kind),
            }
        )
    return {
        "awaiting": awaiting,
        "next_cursor": work.awaiting.next_cursor,
        "hearings": hearings,
        "expiring": expiring,
        "breaches": breaches,
    }


# --- one complaint ------------------------------------------------------------------------


def _render_complaint(
    request: HttpRequest,
    actor: Actor,
    complaint_id: int,
    *,
    bound: Mapping[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    details = selectors.complaint_details(actor=actor, complaint_id=complaint_id)
    complaint = details.complaint
    bound = bound or {}
    file = details.file
    dependants = file.dependants if file is not None else []
    names = {"survivor": _("Her")}
    names |= {
        str(d.pk): (str(d.first_name) or _("a dependant")) + (f" ({d.age})" if d.age else "")
        for d in dependants
    }
    protected_choices = [("survivor", _("Her"))] + [
        (str(d.pk), names[str(d.pk)]) for d in dependants
    ]
    grant = complaint.grant
    live = selectors.live_grant(complaint)
    hearing_rows = []
    for hearing in details.hearings:
        form = bound.get(f"outcome_{hearing.pk}") or OutcomeForm(auto_id=f"id_h{hearing.pk}_%s")
        hearing_rows.append(
            {
                "hearing": hearing,
                "outcome": hearing.get_outcome_display() if hearing.outcome else "",
                "form": form if hearing.state == HearingState.SCHEDULED else None,
            }
        )
    breach_counts: dict[int, int] = {}
    for breach in details.breaches:
        breach_counts[breach.measure_id] = breach_counts.get(breach.measure_id, 0) + 1
    measure_rows = []
    for measure in details.measures:
        row = _measure_row(measure, names)
        row["breaches"] = breach_counts.get(measure.pk, 0)
        row["form"] = bound.get(f"breach_{measure.pk}") or BreachForm(
            auto_id=f"id_m{measure.pk}_%s"
        )
        measure_rows.append(row)
    measure_form = bound.get("measure_form")
    if measure_form is not None:
        measure_form.fields["protected"].choices = protected_choices
    context = {
        "complaint": complaint,
        "case": complaint.case,
        "details": details,
        "file": file,
        "sees": {str(g): file.access.sees(g) for g in FieldGroup} if file else {},
        "office_name": _name(complaint.office),
        "unit_name": _name(complaint.case.unit),
        "state_label": ComplaintState(complaint.state).label,
        "online": complaint.source == ComplaintSource.ONLINE,
        "grant": grant,
        "live": live is not None,
        "basis_label": SharingBasis(grant.basis).label if grant is not None else "",
        "groups": [FIELD_GROUP_LABELS.get(g, g) for g in (grant.scope if grant else [])],
        "decisions": [
            {"decision": d, "label": DecisionKind(d.kind).label} for d in details.decisions
        ],
        "hearings": hearing_rows,
        "measures": measure_rows,
        "breaches": [
            {
                "breach": b,
                "kind": _measure_label(b.measure.kind),
                "by": b.get_reported_by_kind_display(),
            }
            for b in details.breaches
        ],
        "events": [
            {
                "event": e,
                "label": EVENT_LABELS.get(e.kind, e.kind),
                "to": ComplaintState(e.to_state).label
                if e.to_state in ComplaintState.values
                else "",
            }
            for e in details.events
        ],
        "decision_form": bound.get("decision_form") or DecisionForm(),
        "hearing_form": bound.get("hearing_form") or HearingForm(),
        "measure_form": measure_form
        or MeasureForm(kinds=list(services.measure_kinds().items()), protected=protected_choices),
        "protected_choices": protected_choices,
        "can_order_measure": policies.may_decide(actor, complaint)
        and complaint.state != ComplaintState.DISMISSED,
    }
    return render(request, "justice/complaint.html", context, status=status)


@require_GET
@staff_view
def complaint_detail(request: HttpRequest, actor: Actor, complaint_id: int) -> HttpResponse:
    return _render_complaint(request, actor, complaint_id)


def _act(
    request: HttpRequest,
    actor: Actor,
    complaint_id: int,
    *,
    form: Any,
    form_name: str,
    call: Callable[[dict[str, Any]], object],
    done: str,
    anchor: str,
) -> HttpResponse:
    if form.is_valid():
        try:
            call(form.cleaned_data)
        except InvalidInput as exc:
            if exc.fields:
                add_service_errors(form, exc.fields)
            else:
                form.add_error(None, str(exc.message))
        except (Conflict, PermissionDenied) as exc:
            messages.error(request, str(exc.message))
            return HttpResponseRedirect(_complaint_url(complaint_id, anchor))
        else:
            messages.success(request, done)
            return HttpResponseRedirect(_complaint_url(complaint_id, anchor))
    return _render_complaint(request, actor, complaint_id, bound={form_name: form}, status=422)


@require_POST
@staff_view
def decision_add(request: HttpRequest, actor: Actor, complaint_id: int) -> HttpResponse:
    return _act(
        request,
        actor,
        complaint_id,
        form=DecisionForm(request.POST),
        form_name="decision_form",
        call=lambda d: services.decision_record(
            actor=actor, complaint_id=complaint_id, kind=d["kind"], reason=d["reason"]
        ),
        done=_("Decision recorded."),
        anchor="decisions",
    )


@require_POST
@staff_view
def hearing_add(request: HttpRequest, actor: Actor, complaint_id: int) -> HttpResponse:
    return _act(
        request,
        actor,
        complaint_id,
        form=HearingForm(request.POST),
        form_name="hearing_form",
        call=lambda d: services.hearing_schedule(
            actor=actor,
            complaint_id=complaint_id,
            scheduled_at=d["scheduled_at"],
            place=d["place"],
            remote=d["remote"],
        ),
        done=_("Hearing set. She will be told through the channel she chose."),
        anchor="hearings",
    )


def _complaint_of(model: type[Hearing] | type[ProtectionMeasure], pk: int) -> int:
    """The complaint a hearing or measure belongs to, for the page to return to (the service
    still decides; a missing one is the same 404 as one of another office)."""
    from himaya.core.errors import NotFound

    complaint_id = model.objects.filter(pk=pk).values_list("complaint_id", flat=True).first()
    if complaint_id is None:
        raise NotFound
    return int(complaint_id)


@require_POST
@staff_view
def hearing_outcome(request: HttpRequest, actor: Actor, hearing_id: int) -> HttpResponse:
    complaint_id = _complaint_of(Hearing, hearing_id)
    return _act(
        request,
        actor,
        complaint_id,
        form=OutcomeForm(request.POST, auto_id=f"id_h{hearing_id}_%s"),
        form_name=f"outcome_{hearing_id}",
        call=lambda d: services.hearing_record_outcome(
            actor=actor, hearing_id=hearing_id, outcome=d["outcome"], sentence=d["sentence"]
        ),
        done=_("Outcome recorded."),
        anchor="hearings",
    )


@require_POST
@staff_view
def measure_add(request: HttpRequest, actor: Actor, complaint_id: int) -> HttpResponse:
    # The choices are checked again by the service; here they only type the form.
    form = MeasureForm(
        request.POST,
        kinds=list(services.measure_kinds().items()),
        protected=[(v, v) for v in request.POST.getlist("protected")],
    )
    return _act(
        request,
        actor,
        complaint_id,
        form=form,
        form_name="measure_form",
        call=lambda d: services.measure_order(
            actor=actor,
            complaint_id=complaint_id,
            kind=d["kind"],
            legal_basis=d["legal_basis"],
            authority=d["authority"],
            starts_on=d["starts_on"],
            ends_on=d["ends_on"],
            protected=d["protected"],
            conditions=d["conditions"],
            distance_m=d["distance_m"],
            on_conviction=d["on_conviction"],
        ),
        done=_("Protection measure recorded. She will be told through the channel she chose."),
        anchor="measures",
    )


@require_POST
@staff_view
def breach_add(request: HttpRequest, actor: Actor, measure_id: int) -> HttpResponse:
    complaint_id = _complaint_of(ProtectionMeasure, measure_id)
    return _act(
        request,
        actor,
        complaint_id,
        form=BreachForm(request.POST, auto_id=f"id_m{measure_id}_%s"),
        form_name=f"breach_{measure_id}",
        call=lambda d: services.breach_report(
            actor=actor, measure_id=measure_id, description=d["description"]
        ),
        done=_("Breach reported. The unit chief and the prosecution office are alerted."),
        anchor="measures",
    )


# --- the unit's side ----------------------------------------------------------------------


def _render_status(
    request: HttpRequest,
    actor: Actor,
    case_id: uuid.UUID,
    *,
    form: ForwardForm | None = None,
    status: int = 200,
) -> HttpResponse:
    state = selectors.case_justice(actor=actor, case_id=case_id)
    offices = [(o.pk, _name(o)) for o in state.offices]
    names = {"survivor": _("Her")}
    complaints = [
        {
            "complaint": c,
            "office": _name(c.office),
            "state": ComplaintState(c.state).label,
            "online": c.source == ComplaintSource.ONLINE,
        }
        for c in state.complaints
    ]
    return render(
        request,
        "justice/case_status.html",
        {
            "case": state.case,
            "state": state,
            "complaints": complaints,
            "measures": [_measure_row(m, names) for m in state.measures],
            "competent_name": _name(state.competent_office) if state.competent_office else "",
            "consent_ok": bool(state.consent is not None and state.consent.granted),
            "consent_groups": [
                FIELD_GROUP_LABELS.get(g, g)
                for g in (state.consent.scope if state.consent is not None else [])
                if g in services.PROSECUTOR_SCOPE
            ],
            "form": form or ForwardForm(offices=offices),
        },
        status=status,
    )


@require_GET
@staff_view
def case_status(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    return _render_status(request, actor, case_id)


@require_POST
@staff_view
def forward(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    state = selectors.case_justice(actor=actor, case_id=case_id)
    form = ForwardForm(request.POST, offices=[(o.pk, _name(o)) for o in state.offices])
    if form.is_valid():
        data = form.cleaned_data
        try:
            outcome = services.complaint_forward_with_outcome(
                actor=actor,
                case_id=case_id,
                office_id=data["office_id"],
                basis=data["basis"],
                reason=data["reason"],
            )
        except InvalidInput as exc:
            if exc.fields:
                add_service_errors(form, exc.fields, rename={"agency_id": "office_id"})
            else:
                form.add_error(None, str(exc.message))
        except (Conflict, PermissionDenied) as exc:
            messages.error(request, str(exc.message))
            return HttpResponseRedirect(_status_url(case_id))
        else:
            messages.success(
                request,
                _("Complaint forwarded to the prosecutor. She will be told.")
                if outcome.created
                else _(
                    "This complaint was already forwarded to this office; nothing was sent twice."
                ),
            )
            return HttpResponseRedirect(_status_url(case_id))
    return _render_status(request, actor, case_id, form=form, status=422)


__all__ = [
    "breach_add",
    "case_status",
    "complaint_detail",
    "decision_add",
    "forward",
    "hearing_add",
    "hearing_outcome",
    "measure_add",
    "queue",
]
