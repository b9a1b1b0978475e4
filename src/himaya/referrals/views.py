"""The referral pages: the queues (focal point, unit, service provider), a new first contact,
one referral with every step on it, a case's referrals with "refer to a service", and the
printable letter.

Thin, like every page: parse a form, call ``referrals.selectors`` or ``referrals.services``
with the request's actor, render. Every step is a plain POST form that works without
JavaScript, answered by a redirect (post/redirect/get) or by the page again with the message
next to the field. Lists show agencies, states and deadlines, never anything about her; a
referral the actor's agency neither sent nor received is a 404 identical to a missing one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from himaya.cases.forms import FIELD_GROUP_LABELS, add_service_errors
from himaya.cases.models import ConsentPurpose, SharingBasis
from himaya.cases.policies import FieldGroup
from himaya.core.actor import Actor
from himaya.core.context_processors import acting
from himaya.core.errors import Conflict, HimayaError, InvalidInput, NotFound, PermissionDenied
from himaya.core.i18n import localized_name
from himaya.network import routing
from himaya.network.selectors import find_communes
from himaya.referrals import letter, policies, selectors, services
from himaya.referrals.forms import (
    CloseForm,
    CompleteForm,
    DeclineForm,
    FirstContactForm,
    NeedsForm,
    ProvidedForm,
    ReferAgainForm,
    ServiceReferralForm,
)
from himaya.referrals.models import Danger, Need, Referral, ReferralKind, Urgency
from himaya.referrals.policies import Side, Step
from himaya.referrals.selectors import Box
from himaya.referrals.states import EscalationLevel, ReferralState

type Handler = Callable[..., HttpResponse]

PER_PAGE = 50
STATE_LABELS = dict(ReferralState.choices)
KIND_LABELS = dict(ReferralKind.choices)
NEED_LABELS = dict(Need.choices)
URGENCY_LABELS = dict(Urgency.choices)
DANGER_LABELS = dict(Danger.choices)
BASIS_LABELS = dict(SharingBasis.choices)
PURPOSE_LABELS = dict(ConsentPurpose.choices)
CLOSE_LABELS = dict(services.CloseReason.CHOICES)
ESCALATION_LABELS = dict(EscalationLevel.choices)
EVENT_LABELS: dict[str, Any] = {
    # One referral, on its timeline (the tab "Sent" lists many).
    "sent": pgettext_lazy("referral step", "Sent"),
    "accepted": gettext_lazy("Accepted"),
    "declined": gettext_lazy("Declined"),
    "withdrawn": gettext_lazy("Withdrawn"),
    "provided": gettext_lazy("What was provided recorded"),
    "completed": gettext_lazy("Completed"),
    "closed": gettext_lazy("Closed"),
    "admitted": gettext_lazy("Arrived at the shelter"),
    "departed": gettext_lazy("Left the shelter"),
    "access_ended": gettext_lazy("Access ended"),
    "escalated_chief": gettext_lazy("Overdue: unit chief alerted"),
    "escalated_central": gettext_lazy("Overdue: central unit alerted"),
}


def staff_view(view: Handler) -> Handler:
    """The acting person (404 without one); domain errors of a read become error pages:
    not found and not yours look the same."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        actor = acting(request)
        if actor is None or actor.is_system:
            raise Http404
        try:
            return view(request, actor, *args, **kwargs)
        except NotFound as exc:
            raise Http404 from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied from exc

    return wrapped


def _detail_url(referral_id: uuid.UUID | str) -> str:
    return reverse("referrals:detail", args=[referral_id])


def _name(agency: Any) -> str:
    return localized_name(agency) if agency is not None else ""


def _rows(referrals: Sequence[Referral], now: datetime) -> list[dict[str, Any]]:
    """What each row of a referral list shows, as ready strings (as ``cases.views`` does for
    the case queue): fifty rows of ``{% url %}``, localized ``|date`` and label lookups in
    the template were most of the page's time. The address comes from one ``reverse``, each
    deadline is formatted once, in the page's language and time zone."""
    marker = uuid.UUID(int=0)
    detail = _detail_url(marker)
    overdue = _("overdue")
    rows: list[dict[str, Any]] = []
    for referral in referrals:
        deadline = timezone.localtime(referral.deadline_at)
        late = selectors.is_overdue(referral, now)
        rows.append(
            {
                "url": detail.replace(str(marker), str(referral.pk)),
                "kind": KIND_LABELS.get(referral.kind, referral.kind),
                "state_key": referral.state,
                "state": STATE_LABELS.get(referral.state, referral.state),
                "from": _name(referral.from_agency),
                "to": _name(referral.to_agency),
                "need": NEED_LABELS.get(referral.need, ""),
                "urgency": URGENCY_LABELS.get(referral.urgency, ""),
                "deadline_iso": deadline.isoformat(),
                "deadline": date_format(deadline, "DATETIME_FORMAT"),
                "overdue": overdue if late else "",
                "escalation": ESCALATION_LABELS.get(referral.escalation_level, "")
                if referral.escalation_level
                else "",
                "reference": referral.case.reference if referral.case is not None else "",
            }
        )
    return rows


# --- queues -------------------------------------------------------------------------------


@require_GET
@staff_view
def queue(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The actor's queues: what her agency received (waiting and accepted, by deadline; or
    finished) and what it sent (newest first). References, agencies, states only."""
    if not policies.has_referral_pages(actor):
        raise Http404
    receives = policies.is_unit_staff(actor) or policies.may_receive_services(actor)
    sends = policies.is_focal_point(actor) or policies.is_unit_staff(actor)
    if policies.is_unit_staff(actor):
        # A station's referral is handed over once accepted (selectors.waiting_states).
        received_tabs = [
            ("incoming", _("Waiting for an answer")),
            ("done", _("Accepted or finished")),
        ]
    else:
        received_tabs = [("incoming", _("Waiting and accepted")), ("done", _("Finished"))]
    tabs_available = [
        *(received_tabs if receives else []),
        *([("sent", _("Sent"))] if sends else []),
    ]
    tab = request.GET.get("tab") or tabs_available[0][0]
    if tab not in {key for key, _label in tabs_available}:
        tab = tabs_available[0][0]
    cursor = request.GET.get("cursor") or None

    def load(cursor: str | None) -> selectors.ReferralPage:
        if tab == Box.SENT:
            return selectors.outgoing(actor=actor, cursor=cursor, limit=PER_PAGE)
        return selectors.incoming(
            actor=actor, active=tab == "incoming", cursor=cursor, limit=PER_PAGE
        )

    try:
        page = load(cursor)
    except InvalidInput:
        messages.warning(request, _("That page link had expired: here is the first page."))
        page, cursor = load(None), None
    base = reverse("referrals:queue")
    now = timezone.now()
    return render(
        request,
        "referrals/queue.html",
        {
            "tabs": [
                {
                    "label": label,
                    "url": f"{base}?{urlencode({'tab': key})}",
                    "current": key == tab,
                }
                for key, label in tabs_available
            ],
            "tab": tab,
            "rows": _rows(page.items, now),
            "next_url": f"{base}?{urlencode({'tab': tab, 'cursor': page.next_cursor})}"
            if page.next_cursor
            else None,
            "first_url": f"{base}?{urlencode({'tab': tab})}" if cursor else None,
            "is_focal_point": policies.is_focal_point(actor),
        },
    )


# --- district focal point -----------------------------------------------------------------


def _first_contact_data(form: FirstContactForm) -> tuple[services.FirstContactData, bool]:
    """The service's input from the form; False when the commune could not be resolved."""
    data = form.cleaned_data
    declined = list(data.get("declined") or [])
    contact: dict[str, object] | None = None
    if data.get("safe_channel") or data.get("safe_times") or "safe_contact" in declined:
        contact = {
            "channel": data.get("safe_channel") or "",
            "safe_times": data.get("safe_times") or "",
            "may_leave_message": bool(data.get("may_leave_message")),
        }
        if "safe_contact" in declined:
            contact = {"declined": ["channel", "safe_times", "may_leave_message"]}
    commune_id = None
    text = (data.get("commune") or "").strip()
    ok = True
    if text:
        found = find_communes(text, limit=2)
        if len(found) == 1:
            commune_id = found[0].id
        else:
            form.add_error("commune", _("No single commune matches. Type its code."))
            ok = False
    return (
        services.FirstContactData(
            full_name=data.get("full_name") or "",
            phone=data.get("phone") or "",
            needs=data.get("needs") or "",
            immediate_danger=data.get("immediate_danger") or "",
            safe_contact=contact,
            note=data.get("note") or "",
            residence_commune_id=commune_id,
            preferred_language=data.get("preferred_language") or "",
            forms=list(data.get("violence") or []),
            occurred_on=data.get("occurred_on"),
            declined=declined,
        ),
        ok,
    )


_FIRST_CONTACT_FIELDS = {
    "to_unit_id": "to_unit",
    "residence_commune_id": "commune",
    "forms": "violence",
    "safe_contact.phone": "safe_channel",
}


@require_http_methods(["GET", "POST"])
@staff_view
def first_contact(request: HttpRequest, actor: Actor) -> HttpResponse:
    """A new first contact at the station and its referral to the unit."""
    if not policies.is_focal_point(actor) or actor.agency_id is None:
        raise Http404
    units = selectors.unit_choices()
    suggestion = services.suggested_unit(station_id=actor.agency_id)
    names = dict(units)
    context: dict[str, Any] = {"suggested": names.get(suggestion, "") if suggestion else ""}
    if request.method != "POST":
        context["form"] = FirstContactForm(units=units)
        return render(request, "referrals/first_contact.html", context)
    form = FirstContactForm(request.POST, units=units)
    context["form"] = form
    if form.is_valid():
        data, ok = _first_contact_data(form)
        if ok:
            try:
                referral = services.first_contact_refer(
                    actor=actor,
                    data=data,
                    to_unit_id=form.cleaned_data.get("to_unit"),
                    override_reason=form.cleaned_data.get("override_reason") or "",
                )
            except InvalidInput as exc:
                add_service_errors(form, exc.fields, rename=_FIRST_CONTACT_FIELDS)
                if not exc.fields:
                    form.add_error(None, str(exc.message))
            except Conflict as exc:
                form.add_error(None, str(exc.message))
            else:
                messages.success(request, _("The referral was sent to the unit."))
                return HttpResponseRedirect(_detail_url(referral.pk))
    return render(request, "referrals/first_contact.html", context, status=422)


# --- one referral -------------------------------------------------------------------------


def _first_contact_rows(view: selectors.ReferralView) -> list[tuple[str, str]]:
    fc = view.first_contact
    if fc is None:
        return []
    declined = set(fc.declined)
    not_said = _("She preferred not to say")

    def value(name: str, text: object) -> str:
        if name in declined:
            return not_said
        return str(text) if text else "—"

    contact = fc.safe_contact if isinstance(fc.safe_contact, dict) else {}
    contact_text = (
        not_said
        if "safe_contact" in declined or contact.get("declined")
        else ", ".join(
            str(v) for k, v in contact.items() if v not in ("", None, False) and k != "declined"
        )
    )
    return [
        (_("Name"), value("full_name", fc.full_name)),
        (_("Phone"), value("phone", fc.phone)),
        (_("What she needs now"), value("needs", fc.needs)),
        (_("Immediate danger"), str(DANGER_LABELS.get(fc.immediate_danger, "—"))),
        (_("Safe contact"), contact_text or "—"),
        (_("Short note"), str(fc.note) if fc.note else "—"),
        (_("Commune"), _name(fc.residence_commune) or value("residence_commune", "")),
    ]


def _received_context(view: selectors.ReferralView) -> dict[str, Any] | None:
    received = view.received
    if received is None:
        return None
    return {
        "groups": [FIELD_GROUP_LABELS[FieldGroup(g)] for g in received.groups],
        "basis": BASIS_LABELS.get(received.basis, received.basis),
        "consent": received.basis == SharingBasis.CONSENT,
        "purpose": PURPOSE_LABELS.get(received.consent_purpose, ""),
        "recorded_at": received.consent_recorded_at,
        "legal_reason": received.legal_reason,
        "live": received.live,
        "ended_at": received.ended_at,
    }


def _render_detail(
    request: HttpRequest,
    actor: Actor,
    referral_id: uuid.UUID,
    *,
    forms: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    view = selectors.referral_view(actor=actor, referral_id=referral_id)
    referral = view.referral

    def may(step: Step) -> bool:
        return policies.allowed(actor, step, referral)

    is_shelter = referral.to_agency.kind == "shelter"
    forms = forms or {}
    return render(
        request,
        "referrals/detail.html",
        {
            "view": view,
            "referral": referral,
            "row": _rows([referral], timezone.now())[0],
            "side": str(view.side),
            "first_contact_rows": _first_contact_rows(view),
            "received": _received_context(view),
            "case": view.case,
            "sees": {str(g): view.case.access.sees(g) for g in FieldGroup} if view.case else {},
            "message": str(referral.message or "") if referral.message else "",
            "decline_reason": str(referral.decline_reason or "") if referral.decline_reason else "",
            "provided": str(referral.provided or "") if referral.provided else "",
            "override_reason": str(referral.override_reason or "")
            if referral.override_reason and view.side is Side.SENDER
            else "",
            "close_reason": CLOSE_LABELS.get(referral.close_reason, ""),
            "events": [
                {
                    "at": event.at,
                    "label": EVENT_LABELS.get(event.kind, event.kind),
                    "by": str(event.actor) if event.actor_id else _("the system"),
                }
                for event in view.events
            ],
            "can": {
                "accept": may(Step.ACCEPT),
                "decline": may(Step.DECLINE),
                "withdraw": may(Step.WITHDRAW),
                "provided": may(Step.RECORD_PROVIDED),
                "complete": may(Step.COMPLETE),
                "close": may(Step.CLOSE),
                "admit": may(Step.ADMIT) and is_shelter and referral.admitted_at is None,
                "depart": may(Step.DEPART)
                and is_shelter
                and referral.admitted_at is not None
                and referral.departed_at is None,
                "refer_again": may(Step.REFER_AGAIN) and referral.kind == ReferralKind.TO_UNIT,
                "consent_withdrawn": may(Step.CONSENT_WITHDRAWN)
                and view.received is not None
                and view.received.basis == SharingBasis.CONSENT
                and view.received.live,
                "letter": referral.kind == ReferralKind.TO_SERVICE
                and view.received is not None
                and view.received.live,
            },
            "decline_form": forms.get("decline") or DeclineForm(),
            "provided_form": forms.get("provided") or ProvidedForm(),
            "complete_form": forms.get("complete") or CompleteForm(),
            "close_form": forms.get("close") or CloseForm(),
            "error": forms.get("error"),
        },
        status=status,
    )


@require_GET
@staff_view
def detail(request: HttpRequest, actor: Actor, referral_id: uuid.UUID) -> HttpResponse:
    return _render_detail(request, actor, referral_id)


def _step(
    request: HttpRequest,
    actor: Actor,
    referral_id: uuid.UUID,
    *,
    run: Callable[[], object],
    done: str,
    form_key: str | None = None,
    form: Any = None,
) -> HttpResponse:
    """Run one step; on a refusal show the referral again with the reason."""
    try:
        run()
    except InvalidInput as exc:
        if form is not None and form_key is not None:
            add_service_errors(form, exc.fields)
            if not exc.fields:
                form.add_error(None, str(exc.message))
            return _render_detail(request, actor, referral_id, forms={form_key: form}, status=422)
        return _render_detail(
            request, actor, referral_id, forms={"error": _first_message(exc)}, status=422
        )
    except Conflict as exc:
        return _render_detail(
            request, actor, referral_id, forms={"error": str(exc.message)}, status=409
        )
    except HimayaError as exc:
        if isinstance(exc, NotFound | PermissionDenied):
            raise
        return _render_detail(
            request, actor, referral_id, forms={"error": str(exc.message)}, status=exc.http_status
        )
    messages.success(request, done)
    return HttpResponseRedirect(_detail_url(referral_id))


def _first_message(exc: InvalidInput) -> str:
    for field_messages in exc.fields.values():
        if field_messages:
            return str(field_messages[0])
    return str(exc.message)


@require_POST
@staff_view
def accept(request: HttpRequest, actor: Actor, referral_id: uuid.UUID) -> HttpResponse:
    return _step(
        request,
        actor,
        referral_id,
        run=lambda: services.referral_accept(actor=actor, referral_id=referral_id),
        done=_("Accepted."),
    )


@require_POST
@staff_view
def decline(request: HttpRequest, actor: Actor, referral_id: uuid.UUID) -> HttpResponse:
    form = DeclineForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else request.POST.get("reason", "")
    return _step(
        request,
        actor,
        referral_id,
        run=lambda: services.referral_decline(
            actor=actor, referral_id=referral_id, reason=str(reason)
        ),
        done=_("Declined. The sender was told."),
        form_key="decline",
        form=form,
    )


@require_POST
@staff_view
def withdraw(request: HttpRequest, actor: Actor, referral_id: uuid.UUID) -> HttpResponse:
    return _step(
        request,
        actor,
        referral_id,
        run=lambda: services.referral_withdraw(actor=actor, referral_id=referral_id),
        done=_("Withdrawn. The receiver no longer sees anything of her file."),
    )


@require_POST
@staff_view
def provided(request: HttpRequest, actor: Actor, referral_id: uuid.UUID) -> HttpResponse:
    form = ProvidedForm(request.POST)
    text = form.cleaned_data["provided"] if form.is_valid() else ""
    return _step(
        request,
        actor,
        referral_id,
        run=lambda: services.referral_record_provided(
            actor=actor, referral_id=referral_id, provided=str(text)
        ),
        done=_("Recorded."),
        form_key="provided",
        form=form,
    )


@require_POST
@staff_view
def complete(request: HttpRequest, actor: Actor, referral_id: uuid.UUID) -> HttpResponse:
    form = CompleteForm(request.POST)
    text = form.cleaned_data.get("provided", "") if form.is_valid() else ""
    return _step(
        request,
        actor,
        referral_id,
        run=lambda: services.referral_complete(
            actor=actor, referral_id=referral_id, provided=str(text or "")
        ),
        done=_("Completed. Your access to her file has ended."),
        form_key="complete",
        form=form,
    )


@require_POST
@staff_view
def close(request: HttpRequest, actor: Actor, referral_id: uuid.UUID) -> HttpResponse:
    form = CloseForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else request.POST.get("reason", "")
    return _step(
        request,
        actor,
        referral_id,
        run=lambda: services.referral_close(
            actor=actor, referral_id=referral_id, reason=str(reason)
        ),
        done=_("Closed."),
        form_key="close",
        form=form,
    )


@require_POST
@staff_view
def admit(request: HttpRequest, actor: Actor, referral_id: uuid.UUID) -> HttpResponse:
    return _step(
        request,
        actor,
        referral_id,
        run=lambda: services.shelter_admit(actor=actor, referral_id=referral_id),
        done=_("Her arrival is recorded."),
    )


@require_POST
@staff_view
def depart(request: HttpRequest, actor: Actor, referral_id: uuid.UUID) -> HttpResponse:
    return _step(
        request,
        actor,
        referral_id,
        run=lambda: services.shelter_depart(actor=actor, referral_id=referral_id),
        done=_("Her departure is recorded; the bed is free."),
    )


@require_POST
@staff_view
def consent_withdrawn(request: HttpRequest, actor: Actor, referral_id: uuid.UUID) -> HttpResponse:
    return _step(
        request,
        actor,
        referral_id,
        run=lambda: services.referral_consent_withdrawn(actor=actor, referral_id=referral_id),
        done=_("Her consent is withdrawn; the service no longer sees anything of her file."),
    )


@require_http_methods(["GET", "POST"])
@staff_view
def refer_again(request: HttpRequest, actor: Actor, referral_id: uuid.UUID) -> HttpResponse:
    """After a decline: the same first contact to another unit, nothing re-typed."""
    view = selectors.referral_view(actor=actor, referral_id=referral_id)
    if not policies.allowed(actor, Step.REFER_AGAIN, view.referral):
        raise Http404
    units = [
        (pk, name) for pk, name in selectors.unit_choices() if pk != view.referral.to_agency_id
    ]
    form = ReferAgainForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        try:
            again = services.referral_refer_again(
                actor=actor,
                referral_id=referral_id,
                to_unit_id=form.cleaned_data.get("to_unit"),
                override_reason=form.cleaned_data.get("override_reason") or "",
            )
        except InvalidInput as exc:
            add_service_errors(form, exc.fields, rename={"to_unit_id": "to_unit"})
        except Conflict as exc:
            form.add_error(None, str(exc.message))
        else:
            messages.success(request, _("The referral was sent to the unit."))
            return HttpResponseRedirect(_detail_url(again.pk))
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "referrals/refer_again.html",
        {"form": form, "referral": view.referral, "to": _name(view.referral.to_agency)},
        status=status,
    )


# --- a case's referrals (the unit) --------------------------------------------------------


def _needs(form: NeedsForm) -> tuple[str, routing.Needs]:
    data = form.cleaned_data if form.is_valid() else {}
    need = data.get("need") or Need.SHELTER
    service = {
        Need.LIVELIHOODS: "livelihoods",
        Need.LISTENING: "listening",
    }.get(need)
    return need, routing.Needs(
        language=data.get("language") or None,
        service=service,
        children=bool(data.get("children")),
        step_free_access=bool(data.get("step_free_access")),
        open_24_7=bool(data.get("open_24_7")),
    )


@require_http_methods(["GET", "POST"])
@staff_view
def case_referrals(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    """A case's referrals with their states, and "refer to a service": routing by need
    (GET), the referral itself (POST)."""
    listed = selectors.case_referrals(actor=actor, case_id=case_id)
    needs_form = NeedsForm(request.GET or None)
    need, needs = _needs(needs_form)
    candidates = selectors.service_candidates(actor=actor, case_id=case_id, need=need, needs=needs)
    open_choices = [(c.agency_id, c.name) for c in candidates if not c.full]
    suggested = open_choices[0][0] if open_choices else None
    status = 200
    if request.method == "POST":
        post_candidates = dict(selectors.service_choices(candidates))
        chosen = request.POST.get("agency", "")
        choices = list(post_candidates.items())
        if chosen.isdigit() and int(chosen) not in post_candidates:
            # Chosen from an earlier search (other needs): still a valid choice; the service
            # checks the agency itself.
            choices.append((int(chosen), _("the chosen service")))
        form = ServiceReferralForm(request.POST, agencies=choices, suggested=None)
        if form.is_valid():
            data = form.cleaned_data
            try:
                referral = services.referral_send(
                    actor=actor,
                    case_id=case_id,
                    data=services.ServiceReferralData(
                        agency_id=data["agency"],
                        need=data["need"],
                        urgency=data["urgency"],
                        scope=list(data["scope"]),
                        message=data.get("message") or "",
                        basis=data["basis"],
                        legal_reason=data.get("legal_reason") or "",
                        suggested_agency_id=data.get("suggested"),
                        override_reason=data.get("override_reason") or "",
                    ),
                )
            except InvalidInput as exc:
                add_service_errors(
                    form, exc.fields, rename={"agency_id": "agency", "reason": "legal_reason"}
                )
            except (Conflict, PermissionDenied) as exc:
                if isinstance(exc, PermissionDenied) and exc.code == "forbidden":
                    raise
                form.add_error(None, str(exc.message))
            else:
                messages.success(request, _("The referral was sent."))
                return HttpResponseRedirect(_detail_url(referral.pk))
        status = 422
    else:
        form = ServiceReferralForm(
            agencies=open_choices, suggested=suggested, initial={"need": need}
        )
    now = timezone.now()
    return render(
        request,
        "referrals/case_referrals.html",
        {
            "case_id": case_id,
            "rows": _rows(listed, now),
            "needs_form": needs_form,
            "candidates": candidates,
            "form": form,
        },
        status=status,
    )


# --- the letter ---------------------------------------------------------------------------


@require_GET
@staff_view
def letter_page(request: HttpRequest, actor: Actor, referral_id: uuid.UUID) -> HttpResponse:
    view = selectors.referral_for_letter(actor=actor, referral_id=referral_id)
    return HttpResponse(letter.render_letter_html(view, for_pdf=False))


@require_GET
@staff_view
def letter_pdf(request: HttpRequest, actor: Actor, referral_id: uuid.UUID) -> HttpResponse:
    view = selectors.referral_for_letter(actor=actor, referral_id=referral_id)
    response = HttpResponse(letter.render_letter_pdf(view), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{letter.PDF_FILENAME}"'
    response["Cache-Control"] = "no-store"
    return response
