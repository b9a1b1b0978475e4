"""The unit's pages for case files: the queue, finding her again, the chief's alerts, the case
page with every action on it, emergency access, and her complaint receipt.

Thin, like every page: parse a form, call ``cases.selectors`` or ``cases.services`` with
``request.actor``, render. Who may do what is decided by ``cases.policies`` alone (the page
only asks it which buttons to show; the services refuse anyway). Every action is a plain
POST form that works without JavaScript, answered by a redirect to the case page
(post/redirect/get) or, when a field is wrong, by the case page again with the message next
to the field.

What never appears: a survivor's name or number in a URL, a page title, a list or a log.
Lists (queue, search results, alerts) show references and non-identifying facts only: her
identity is read on the case page, where every read is an audited ``case.read``. Searches
are POSTed, so what was typed stays out of URLs and browser histories. A case another
agency may not see is a 404 identical to a missing one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import get_language, get_language_bidi, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from himaya.cases import policies, receipts, selectors, services
from himaya.cases.classification import CaseContext, GbvimsType, IncidentAct, ViolenceForm
from himaya.cases.forms import (
    FIELD_GROUP_LABELS,
    QUEUE_LABELS,
    AssignForm,
    BreakGlassForm,
    ClosureRequestForm,
    ConsentForm,
    ConsentRevokeForm,
    NoteForm,
    ReopenForm,
    SearchForm,
    ShareWithoutConsentForm,
    TaskForm,
    TransitionForm,
    add_service_errors,
)
from himaya.cases.forms_intake import DEPENDANT_RELATIONSHIPS, SAFE_CHANNELS
from himaya.cases.models import (
    AgeRange,
    AlertKind,
    CaseFile,
    Channel,
    ConsentPurpose,
    Gender,
    LegalBasis,
    Relationship,
    SharingBasis,
    TimelineEntry,
    TriState,
)
from himaya.cases.policies import Action, FieldGroup
from himaya.cases.search import CaseMatch, MatchReason, SearchResult, UnitMatch
from himaya.cases.selectors import QueueView
from himaya.cases.states import ACTIVE_STATES, TRANSITIONS, CaseState, ClosureReason
from himaya.core.actor import Actor
from himaya.core.context_processors import acting
from himaya.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StepUpRequired,
)
from himaya.core.i18n import is_supported, language_choices
from himaya.network import selectors as network_selectors
from himaya.network.index import get_index
from himaya.network.models import AgencyKind, Language

type Handler = Callable[..., HttpResponse]

TIMELINE_PER_PAGE = 30
ALERTS_PER_PAGE = 50
QUEUE_PER_PAGE = 50


# --- plumbing -----------------------------------------------------------------------------


def staff_view(view: Handler) -> Handler:
    """Resolve the acting person (404 without one) and turn the domain errors a read can
    raise into the site's error pages: not found and not yours look the same."""

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


def _case_url(case_id: uuid.UUID | str, anchor: str = "") -> str:
    url = reverse("cases:case_detail", args=[case_id])
    return f"{url}#{anchor}" if anchor else url


def _step_up(next_url: str) -> HttpResponse:
    return HttpResponseRedirect(f"{reverse('accounts:step_up')}?{urlencode({'next': next_url})}")


def _agency_name(agency: object) -> str:
    """The agency's name in the page's language (Arabic pages: Arabic; others: French)."""
    if (get_language() or "").startswith("ar"):
        return str(getattr(agency, "name_ar", "") or getattr(agency, "name_fr", ""))
    return str(getattr(agency, "name_fr", "") or getattr(agency, "name_ar", ""))


def _agency_names(ids: object) -> list[str]:
    """Names of agencies named by id in timeline metadata (from the in-memory index)."""
    agencies = get_index().agencies
    values = ids if isinstance(ids, list) else [ids]
    names = []
    for value in values:
        entry = agencies.get(value) if isinstance(value, int) else None
        names.append(_agency_name(entry) if entry is not None else _("another agency"))
    return names


def _labels(choices: Mapping[str, Any], values: object) -> list[str]:
    items = values if isinstance(values, list) else []
    return [str(choices.get(v, v)) for v in items if isinstance(v, str)]


def _label(choices: Mapping[str, Any], value: object) -> str:
    return str(choices.get(value, value)) if isinstance(value, str) and value else ""


STATE_LABELS = dict(CaseState.choices)
CLOSURE_LABELS = dict(ClosureReason.choices)
PURPOSE_LABELS = dict(ConsentPurpose.choices)
BASIS_LABELS = dict(SharingBasis.choices)
CHANNEL_LABELS = dict(Channel.choices)
FORM_LABELS = dict(ViolenceForm.choices)
ACT_LABELS = dict(IncidentAct.choices)
CONTEXT_LABELS = dict(CaseContext.choices)
GBVIMS_LABELS = dict(GbvimsType.choices)
RELATIONSHIP_LABELS = dict(Relationship.choices)
AGE_LABELS = dict(AgeRange.choices)
LANGUAGE_LABELS = dict(Language.choices)
TRI_LABELS = dict(TriState.choices)
GENDER_LABELS = dict(Gender.choices)
LEGAL_BASIS_LABELS = dict(LegalBasis.choices)
ALERT_LABELS = dict(AlertKind.choices)
SAFE_CHANNEL_LABELS = dict(SAFE_CHANNELS)
DEPENDANT_LABELS = dict(DEPENDANT_RELATIONSHIPS)
GROUP_LABELS = {str(k): v for k, v in FIELD_GROUP_LABELS.items()}
REASON_LABELS: dict[str, Any] = {
    MatchReason.PHONE: gettext_lazy("same phone"),
    MatchReason.CIN: gettext_lazy("same CIN"),
    MatchReason.NAME_AND_BIRTH_DATE: gettext_lazy("same name and date of birth"),
    MatchReason.PARTIAL_NAME_AND_BIRTH_DATE: gettext_lazy("part of the name and date of birth"),
    MatchReason.NAME_AND_COMMUNE: gettext_lazy("same name in the same commune"),
    MatchReason.NAME: gettext_lazy("name"),
}
SURVIVOR_FIELD_LABELS: dict[str, Any] = {
    "full_name": gettext_lazy("name"),
    "cin": gettext_lazy("CIN"),
    "phone": gettext_lazy("phone"),
    "address": gettext_lazy("address"),
    "date_of_birth": gettext_lazy("date of birth"),
    "age_range": gettext_lazy("age range"),
    "residence_commune": gettext_lazy("commune of residence"),
    "preferred_language": gettext_lazy("preferred language"),
    "safe_contact": gettext_lazy("safe contact"),
    "declined": gettext_lazy("questions she preferred not to answer"),
}
TIMELINE_LABELS: dict[str, Any] = {
    "opened": gettext_lazy("File opened"),
    "prior_contact": gettext_lazy("Earlier contact found"),
    "repeat_perpetrator": gettext_lazy("Repeat perpetrator"),
    "transition": gettext_lazy("Step changed"),
    "assigned": gettext_lazy("Assigned"),
    "closure_requested": gettext_lazy("Closure requested"),
    "closed": gettext_lazy("Closed"),
    "closure_declined": gettext_lazy("Closure declined"),
    "reopened": gettext_lazy("Reopened"),
    "note_added": gettext_lazy("Note added"),
    "task_added": gettext_lazy("Task added"),
    "task_completed": gettext_lazy("Task completed"),
    "consent_recorded": gettext_lazy("Consent recorded"),
    "consent_revoked": gettext_lazy("Consent withdrawn"),
    "shared": gettext_lazy("Shared with her consent"),
    "shared_without_consent": gettext_lazy("Shared without her consent"),
    "sharing_ended": gettext_lazy("Sharing ended"),
    "break_glass": gettext_lazy("Emergency access"),
    "survivor_updated": gettext_lazy("Her details updated"),
    "perpetrator_added": gettext_lazy("Alleged perpetrator added"),
    "incident_added": gettext_lazy("Incident added"),
    "incident_updated": gettext_lazy("Incident corrected"),
    "perpetrator_updated": gettext_lazy("Alleged perpetrator corrected"),
    "dependant_added": gettext_lazy("Child or dependant added"),
    "dependant_updated": gettext_lazy("Child or dependant corrected"),
    "evidence_added": gettext_lazy("Evidence added"),
}


# --- the queue ----------------------------------------------------------------------------


def _queue_rows(cases: Sequence[CaseFile]) -> list[dict[str, object]]:
    """What each row of a work list shows, as ready strings: fifty rows of template
    lookups through the case, ``{% url %}``, localized ``|date`` and ``{% translate %}``
    were most of the page's time. Same output: the date in DATE_FORMAT (each distinct day
    formatted once) with the ISO form ``|date:'c'`` gave, the address from one ``reverse``."""
    today = timezone.localdate()
    marker = uuid.UUID(int=0)
    detail = reverse("cases:case_detail", args=[marker])
    days: dict[date, str] = {}

    def day(value: date) -> str:
        if value not in days:
            days[value] = date_format(value, "DATE_FORMAT")
        return days[value]

    overdue, repeat, automated = _("overdue"), _("repeat perpetrator"), _("looks automated")
    rows: list[dict[str, object]] = []
    for case in cases:
        opened = timezone.localtime(case.created_at)
        due = case.next_due_on
        flags = [(repeat, True)] if case.repeat_perpetrator else []
        if case.suspected_automated:
            flags.append((automated, False))
        rows.append(
            {
                "url": detail.replace(str(marker), str(case.pk)),
                "reference": case.reference,
                "state_key": case.state,
                "state": STATE_LABELS.get(case.state, case.state),
                "channel": CHANNEL_LABELS.get(case.channel, case.channel),
                "officer": str(case.assigned_to) if case.assigned_to_id else "",
                "opened_iso": opened.isoformat(),
                "opened": day(opened.date()),
                "due_iso": due.isoformat() if due is not None else "",
                "due": day(due) if due is not None else "",
                "overdue": overdue if due is not None and due < today else "",
                # (label, is it an alert): the badges of the "Flags" column.
                "flags": flags,
            }
        )
    return rows


@require_GET
@staff_view
def queue(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The unit's work lists. References and facts only: no names (see the module doc)."""
    if actor.agency_id is None or not policies.is_unit_staff(actor, actor.agency_id):
        raise Http404
    tab = request.GET.get("tab") or QueueView.NEW
    if tab not in QueueView.__members__.values():
        tab = QueueView.NEW
    cursor = request.GET.get("cursor") or None
    try:
        page = selectors.unit_queue(
            actor=actor, view=tab, cursor=cursor, limit=QUEUE_PER_PAGE, with_survivor=False
        )
    except InvalidInput:
        messages.warning(request, _("That page link had expired: here is the first page."))
        page = selectors.unit_queue(
            actor=actor, view=tab, limit=QUEUE_PER_PAGE, with_survivor=False
        )
        cursor = None
    tabs = [
        {
            "key": str(view),
            "label": QUEUE_LABELS[view],
            "url": f"{reverse('cases:queue')}?{urlencode({'tab': str(view)})}",
            "current": view == tab,
        }
        for view in QueueView
    ]
    next_url = None
    if page.next_cursor:
        next_url = f"{reverse('cases:queue')}?{urlencode({'tab': tab, 'cursor': page.next_cursor})}"
    return render(
        request,
        "cases/queue.html",
        {
            "tabs": tabs,
            "tab": tab,
            "tab_label": QUEUE_LABELS[QueueView(tab)],
            "rows": _queue_rows(page.items),
            "next_url": next_url,
            "first_url": f"{reverse('cases:queue')}?{urlencode({'tab': tab})}" if cursor else None,
            "is_chief": actor.role == "unit_chief",
        },
    )


# --- finding her again --------------------------------------------------------------------


@dataclass
class _Merged:
    own: dict[uuid.UUID, tuple[CaseFile, set[MatchReason]]] = field(default_factory=dict)
    elsewhere: dict[int, UnitMatch] = field(default_factory=dict)

    def add(self, result: SearchResult) -> None:
        for match in result.own:
            _, reasons = self.own.setdefault(match.case.pk, (match.case, set()))
            reasons.update(match.reasons)
        for unit in result.elsewhere:
            known = self.elsewhere.get(unit.agency_id)
            if known is None or (unit.strong and not known.strong):
                self.elsewhere[unit.agency_id] = unit


def _resolve_commune(form: SearchForm) -> tuple[bool, int | None]:
    text = (form.cleaned_data.get("commune") or "").strip()
    if not text:
        return True, None
    found = network_selectors.find_communes(text, limit=8)
    if len(found) == 1:
        return True, found[0].id
    if not found:
        form.add_error("commune", _("No commune matches. Type its code or its name."))
    else:
        names = list_separator().join(f"{_agency_name(c)} ({c.code})" for c in found)
        form.add_error(
            "commune",
            _("Several communes match: %(names)s. Type the code of hers.") % {"names": names},
        )
    return False, None


def _run_search(actor: Actor, form: SearchForm) -> _Merged | None:
    ok, commune_id = _resolve_commune(form)
    if not ok:
        return None
    data = form.cleaned_data
    merged = _Merged()
    errors: dict[str, list[object]] = {}
    calls: list[Callable[[], SearchResult]] = []
    if data.get("phone"):
        calls.append(lambda: selectors.find_by_phone(actor=actor, phone=data["phone"]))
    if data.get("cin"):
        calls.append(lambda: selectors.find_by_cin(actor=actor, cin=data["cin"]))
    if (data.get("name") or "").strip():
        calls.append(
            lambda: selectors.find_by_name(
                actor=actor,
                name=data["name"],
                date_of_birth=data.get("date_of_birth"),
                age_range=data.get("age_range") or "",
                commune_id=commune_id,
            )
        )
    for call in calls:
        try:
            merged.add(call())
        except InvalidInput as exc:
            for name, field_messages in exc.fields.items():
                errors.setdefault(name, []).extend(field_messages)
    if errors:
        add_service_errors(form, errors)
        return None
    return merged


def _own_rows(merged: _Merged) -> list[dict[str, Any]]:
    """Her files in this unit: strong matches first, then the newest."""
    matches = [
        CaseMatch(case=case, reasons=frozenset(reasons)) for case, reasons in merged.own.values()
    ]
    matches.sort(key=lambda m: (not m.strong, -m.case.created_at.timestamp()))
    return [
        {
            "case": match.case,
            "state": STATE_LABELS.get(match.case.state, match.case.state),
            "strong": match.strong,
            "reasons": [str(REASON_LABELS.get(r, r)) for r in sorted(match.reasons)],
        }
        for match in matches
    ]


@require_http_methods(["GET", "POST"])
@staff_view
def search(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Is she already known? Her files in this unit (links), and which other units hold
    one (a unit to contact, never a link, a reference or any content)."""
    if not policies.allowed(actor, Action.SEARCH):
        raise Http404
    if request.method != "POST":
        return render(request, "cases/search.html", {"form": SearchForm(), "searched": False})
    form = SearchForm(request.POST)
    merged = _run_search(actor, form) if form.is_valid() else None
    if merged is None:
        context = {"form": form, "searched": False}
        return render(request, "cases/search.html", context, status=422)
    elsewhere = sorted(merged.elsewhere.values(), key=lambda u: (not u.strong, _agency_name(u)))
    return render(
        request,
        "cases/search.html",
        {
            # The form comes back empty: what was typed is not kept on the page.
            "form": SearchForm(),
            "searched": True,
            "list_sep": list_separator(),
            "own": _own_rows(merged),
            "elsewhere": [{"name": _agency_name(u), "strong": u.strong} for u in elsewhere],
        },
    )


# --- the chief's alerts -------------------------------------------------------------------


@require_GET
@staff_view
def alerts(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The unit chief's unread alerts, newest first, ``ALERTS_PER_PAGE`` at a time (a busy
    unit can have hundreds: none is out of reach until the newer ones are read)."""
    if not policies.may_read_alerts(actor):
        raise Http404
    cursor = request.GET.get("cursor") or None
    try:
        page = selectors.alert_page(actor=actor, cursor=cursor, limit=ALERTS_PER_PAGE)
    except InvalidInput:
        messages.warning(request, _("That page link had expired: here is the first page."))
        page = selectors.alert_page(actor=actor, limit=ALERTS_PER_PAGE)
        cursor = None
    rows = []
    for alert in page.items:
        at = timezone.localtime(alert.created_at)
        rows.append(
            {
                "id": alert.pk,
                "kind_key": alert.kind,
                "kind": ALERT_LABELS.get(alert.kind, alert.kind),
                "case_id": alert.case_id,
                "reference": alert.case.reference if alert.case is not None else "",
                "other": _agency_name(alert.other_agency) if alert.other_agency else "",
                "iso": at.isoformat(),
                "when": f"{date_format(at, 'DATE_FORMAT')} {date_format(at, 'H:i')}",
            }
        )
    here = reverse("cases:alerts")
    return render(
        request,
        "cases/alerts.html",
        {
            "rows": rows,
            "next_url": f"{here}?{urlencode({'cursor': page.next_cursor})}"
            if page.next_cursor
            else None,
            "first_url": here if cursor else None,
        },
    )


@require_POST
@staff_view
def alert_read(request: HttpRequest, actor: Actor, alert_id: int) -> HttpResponse:
    services.alert_mark_read(actor=actor, alert_id=alert_id)
    return HttpResponseRedirect(reverse("cases:alerts"))


# --- the case page ------------------------------------------------------------------------


def _officer_choices(actor: Actor) -> list[tuple[int, str]]:
    return [(user.pk, str(user)) for user in selectors.unit_officers(actor=actor)]


def _share_agencies(case: CaseFile) -> list[tuple[str, list[tuple[int, str]]]]:
    """Active agencies other than the holding unit, grouped by kind (in-memory index)."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for entry in get_index().agencies.values():
        if not entry.is_active or entry.id == case.unit_id:
            continue
        groups.setdefault(entry.kind, []).append((entry.id, _agency_name(entry)))
    kinds = dict(AgencyKind.choices)
    return [
        (str(kinds.get(kind, kind)), sorted(items, key=lambda item: item[1]))
        for kind, items in sorted(groups.items(), key=lambda kv: str(kinds.get(kv[0], kv[0])))
    ]


def _date_of_birth(value: str) -> date | str:
    try:
        return date.fromisoformat(value) if value else ""
    except ValueError:
        return value


@dataclass(frozen=True, slots=True)
class _Reader:
    """Who reads the timeline: her other files are the unit's business, not a grantee's."""

    holding: bool
    officers: Mapping[int, str]


def _states(entry: TimelineEntry) -> list[str]:
    if not (entry.from_state or entry.to_state):
        return []
    after = _label(STATE_LABELS, entry.to_state)
    if not entry.from_state:
        return [after]
    return [f"{_label(STATE_LABELS, entry.from_state)} → {after}"]


def _day(value: object) -> str:
    """An ISO day from timeline metadata, in the page's language."""
    try:
        return date_format(date.fromisoformat(str(value)), "DATE_FORMAT")
    except ValueError:
        return ""


def list_separator() -> str:
    """Lists inside a sentence: the Arabic comma on right-to-left pages."""
    return "، " if get_language_bidi() else ", "


def _officer(meta: Mapping[str, Any], reader: _Reader) -> list[str]:
    officer = meta.get("officer")
    if not isinstance(officer, int):
        return [_("nobody")]
    return [reader.officers.get(officer, _("an officer of the unit"))]


def _consent(meta: Mapping[str, Any], reader: _Reader) -> list[str]:
    answer = _("she agrees") if meta.get("granted") else _("she does not agree")
    return [_label(PURPOSE_LABELS, meta.get("purpose")), answer]


def _contacts(meta: Mapping[str, Any], reader: _Reader) -> list[str]:
    units = meta.get("other_units") or ([meta["other_unit"]] if "other_unit" in meta else [])
    details = []
    if units:
        names = list_separator().join(_agency_names(units))
        details.append(_("contact: %(units)s") % {"units": names})
    earlier = meta.get("earlier_here")
    if reader.holding and isinstance(earlier, list) and earlier:
        refs = list_separator().join(map(str, earlier))
        details.append(_("earlier files here: %(refs)s") % {"refs": refs})
    return details


def _agency_with(
    *extra: tuple[str, Mapping[str, Any]],
) -> Callable[[Mapping[str, Any], _Reader], list[str]]:
    def describe(meta: Mapping[str, Any], reader: _Reader) -> list[str]:
        details = _agency_names(meta.get("agency"))
        for key, labels in extra:
            details.append(_label(labels, meta.get(key)))
        return details + _labels(GROUP_LABELS, meta.get("scope"))

    return describe


#: How each kind of timeline entry is put in words (its metadata: codes and ids only).
_DESCRIBE: dict[str, Callable[[Mapping[str, Any], _Reader], list[str]]] = {
    "opened": lambda meta, _r: [_label(CHANNEL_LABELS, meta.get("channel"))],
    "closure_requested": lambda meta, _r: [_label(CLOSURE_LABELS, meta.get("reason"))],
    "closed": lambda meta, _r: [_label(CLOSURE_LABELS, meta.get("reason"))],
    "assigned": _officer,
    "task_added": lambda meta, _r: [_("due %(day)s") % {"day": _day(meta.get("due_on"))}],
    "consent_recorded": _consent,
    "consent_revoked": lambda meta, _r: [_label(PURPOSE_LABELS, meta.get("purpose"))],
    "shared": _agency_with(("purpose", PURPOSE_LABELS)),
    "shared_without_consent": _agency_with(("basis", BASIS_LABELS)),
    "sharing_ended": _agency_with(),
    "break_glass": _agency_with(),
    "prior_contact": _contacts,
    "repeat_perpetrator": _contacts,
    "survivor_updated": lambda meta, _r: _labels(SURVIVOR_FIELD_LABELS, meta.get("fields")),
    "incident_added": lambda meta, _r: [_label(GBVIMS_LABELS, meta.get("gbvims_type"))],
    "incident_updated": lambda meta, _r: [_label(GBVIMS_LABELS, meta.get("gbvims_type"))],
}


def _describe(entry: TimelineEntry, reader: _Reader) -> list[str]:
    """What a timeline entry says, in words."""
    meta = entry.metadata if isinstance(entry.metadata, dict) else {}
    details = _states(entry)
    describe = _DESCRIBE.get(entry.kind)
    if describe is not None:
        details += describe(meta, reader)
    if meta.get("grants_ended"):
        details.append(_("sharing ended: %(n)s") % {"n": meta["grants_ended"]})
    return [d for d in details if d]


def _timeline_rows(page: Any, reader: _Reader) -> list[dict[str, Any]]:
    """The rows ready to show, each day's date formatted once (three date filters per row
    in the template were a third of the timeline's cost)."""
    days: dict[date, str] = {}
    rows = []
    for entry in page.items:
        at = timezone.localtime(entry.at)
        day = days.get(at.date())
        if day is None:
            day = days[at.date()] = date_format(at, "DATE_FORMAT")
        rows.append(
            {
                "iso": at.isoformat(),
                "when": f"{day} {date_format(at, 'H:i')}",
                "label": TIMELINE_LABELS.get(entry.kind, entry.kind),
                "who": str(entry.actor) if entry.actor_id else _("Himaya"),
                "details": _describe(entry, reader),
                "without_consent": entry.kind == "shared_without_consent",
            }
        )
    return rows


def _page_url(request: HttpRequest, name: str, cursor: str | None, anchor: str) -> str | None:
    if not cursor:
        return None
    params = request.GET.copy()
    params[name] = cursor
    return f"?{params.urlencode()}#{anchor}"


def _allowed(actor: Actor, case: CaseFile) -> dict[str, bool]:
    return {
        action.value: policies.allowed(actor, action, case)
        for action in (
            Action.EDIT,
            Action.ADD_NOTE,
            Action.RECORD_CONSENT,
            Action.ASSIGN,
            Action.TRANSITION,
            Action.REQUEST_CLOSURE,
            Action.APPROVE_CLOSURE,
            Action.REOPEN,
            Action.SHARE_WITHOUT_CONSENT,
        )
    }


def _case_context(
    request: HttpRequest, actor: Actor, case_id: uuid.UUID, bound: Mapping[str, Any]
) -> dict[str, Any]:
    notes_cursor = request.GET.get("notes") or None
    timeline_cursor = request.GET.get("timeline") or None
    try:
        details = selectors.case_details(
            actor=actor,
            case_id=case_id,
            notes_cursor=notes_cursor,
            timeline_cursor=timeline_cursor,
            timeline_limit=TIMELINE_PER_PAGE,
        )
    except InvalidInput:  # a cursor that was tampered with: the first pages
        details = selectors.case_details(
            actor=actor, case_id=case_id, timeline_limit=TIMELINE_PER_PAGE
        )
    case, access, timeline = details.case, details.access, details.timeline
    if timeline is None:  # pragma: no cover - asked for above
        raise RuntimeError("the case page's timeline was not loaded")
    holding = access.holding_unit
    can = _allowed(actor, case)
    officers = _officer_choices(actor) if holding else []
    officer_names = dict(officers)
    survivor = case.survivor
    contact = survivor.safe_contact if isinstance(survivor.safe_contact, dict) else {}
    transitions = []
    if can[Action.TRANSITION]:
        targets = TRANSITIONS.get(CaseState(case.state), frozenset()) & ACTIVE_STATES
        transitions = [(state.value, state.label) for state in CaseState if state in targets]
    context: dict[str, Any] = {
        "list_sep": list_separator(),
        "case": case,
        "survivor": survivor,
        "access": access,
        "holding": holding,
        "sees": {group.value: access.sees(group) for group in FieldGroup},
        "received_groups": [GROUP_LABELS[g.value] for g in FieldGroup if access.sees(g)],
        "details": details,
        "can": can,
        "transitions": transitions,
        "state_label": STATE_LABELS.get(case.state, case.state),
        "closure_label": _label(CLOSURE_LABELS, case.closure_reason),
        "channel_label": _label(CHANNEL_LABELS, case.channel),
        "legal_basis_label": _label(LEGAL_BASIS_LABELS, case.legal_basis),
        "unit_name": _agency_name(case.unit),
        "date_of_birth": _date_of_birth(str(survivor.date_of_birth or ""))
        if access.sees(FieldGroup.IDENTITY)
        else "",
        "age_label": _label(AGE_LABELS, survivor.age_range),
        "language_label": _label(LANGUAGE_LABELS, survivor.preferred_language),
        "declined": set(survivor.declined or []),
        "safe_contact": contact,
        "safe_channel": _label(SAFE_CHANNEL_LABELS, contact.get("channel")),
        "dependants": [
            {"dependant": d, "relationship": _label(DEPENDANT_LABELS, d.relationship)}
            for d in details.dependants
        ],
        "interview": {
            "private_room": _label(TRI_LABELS, case.private_room),
            "interviewer_gender": _label(GENDER_LABELS, case.interviewer_gender),
            "interpreter": _label(LANGUAGE_LABELS, case.interpreter_language),
        },
        "incidents": [
            {
                "incident": incident,
                "forms": _labels(FORM_LABELS, incident.forms),
                "acts": _labels(ACT_LABELS, incident.acts),
                "context": _labels(CONTEXT_LABELS, incident.context),
                "type": _label(GBVIMS_LABELS, incident.gbvims_type),
                "commune": _agency_name(incident.commune) if incident.commune_id else "",
                "declined": set(incident.declined or []),
            }
            for incident in details.incidents
        ],
        "perpetrators": [
            {
                "perpetrator": p,
                "relationship": _label(RELATIONSHIP_LABELS, p.relationship),
                "age": _label(AGE_LABELS, p.age_range),
            }
            for p in details.perpetrators
        ],
        "consents": [
            {
                "consent": consent,
                "purpose": _label(PURPOSE_LABELS, consent.purpose),
                "scope": _labels(GROUP_LABELS, consent.scope),
            }
            for consent in details.consents
        ],
        "grants": [
            {
                "grant": grant,
                "agency": _agency_name(grant.agency),
                "basis": _label(BASIS_LABELS, grant.basis),
                "purpose": _label(PURPOSE_LABELS, grant.consent.purpose) if grant.consent else "",
                "scope": _labels(GROUP_LABELS, grant.scope),
                "emergency": policies.is_emergency(grant),
            }
            for grant in details.grants
        ],
        "timeline": _timeline_rows(timeline, _Reader(holding=holding, officers=officer_names)),
        "timeline_next": _page_url(request, "timeline", timeline.next_cursor, "timeline"),
        "notes_next": _page_url(
            request, "notes", details.notes.next_cursor if details.notes else None, "notes"
        ),
        "residence_commune": _agency_name(
            get_index().communes_by_id.get(survivor.residence_commune_id)
        )
        if access.sees(FieldGroup.CONTACT) and survivor.residence_commune_id
        else "",
        "today": timezone.localdate(),
        "receipt_languages": [(c.code, c.name_local) for c in language_choices()],
        "receipt_default": _receipt_language(request, case) if holding else "",
    }
    # A refused step comes back here with its message (the buttons themselves carry none).
    context["transition_form"] = bound.get("transition_form")
    if can[Action.ADD_NOTE]:
        context["note_form"] = bound.get("note_form") or NoteForm()
    if can[Action.EDIT]:
        context["task_form"] = bound.get("task_form") or TaskForm(officers=officers)
    if can[Action.ASSIGN]:
        context["assign_form"] = bound.get("assign_form") or AssignForm(
            officers=officers, initial={"officer_id": case.assigned_to_id}
        )
    if can[Action.REQUEST_CLOSURE]:
        context["closure_form"] = bound.get("closure_form") or ClosureRequestForm()
    if can[Action.REOPEN]:
        context["reopen_form"] = bound.get("reopen_form") or ReopenForm()
    if can[Action.RECORD_CONSENT]:
        context["consent_form"] = bound.get("consent_form") or ConsentForm()
    return context


def _render_case(
    request: HttpRequest,
    actor: Actor,
    case_id: uuid.UUID,
    *,
    bound: Mapping[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = _case_context(request, actor, case_id, bound or {})
    return render(request, "cases/case_detail.html", context, status=status)


@require_GET
@staff_view
def case_detail(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    """The case file, cut to what the actor may see; every view is an audited read."""
    return _render_case(request, actor, case_id)


def _act(
    request: HttpRequest,
    actor: Actor,
    case_id: uuid.UUID,
    *,
    form: Any,
    form_name: str,
    call: Callable[[dict[str, Any]], object],
    done: str,
    anchor: str,
    rename: Mapping[str, str] | None = None,
) -> HttpResponse:
    """Run one action of the case page: valid form → service → back to the case page
    with a message; a field the service refuses → the case page again, message next to it."""
    if form.is_valid():
        try:
            call(form.cleaned_data)
        except InvalidInput as exc:
            if exc.fields:
                add_service_errors(form, exc.fields, rename=rename or {})
            else:
                form.add_error(None, str(exc.message))
        except Conflict as exc:
            # Someone moved the case meanwhile (or the step is no longer possible): say so
            # and show the case as it is now.
            messages.error(request, str(exc.message))
            return HttpResponseRedirect(_case_url(case_id, anchor))
        else:
            messages.success(request, done)
            return HttpResponseRedirect(_case_url(case_id, anchor))
    return _render_case(request, actor, case_id, bound={form_name: form}, status=422)


@require_POST
@staff_view
def note_add(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    return _act(
        request,
        actor,
        case_id,
        form=NoteForm(request.POST),
        form_name="note_form",
        call=lambda d: services.note_add(actor=actor, case_id=case_id, body=d["body"]),
        done=_("Note added."),
        anchor="notes",
    )


@require_POST
@staff_view
def task_add(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    return _act(
        request,
        actor,
        case_id,
        form=TaskForm(request.POST, officers=_officer_choices(actor)),
        form_name="task_form",
        call=lambda d: services.task_add(
            actor=actor,
            case_id=case_id,
            description=d["description"],
            due_on=d["due_on"],
            assigned_to_id=d["assigned_to_id"],
        ),
        done=_("Task added."),
        anchor="tasks",
    )


@require_POST
@staff_view
def task_complete(
    request: HttpRequest, actor: Actor, case_id: uuid.UUID, task_id: int
) -> HttpResponse:
    task = services.task_complete(actor=actor, task_id=task_id)
    messages.success(request, _("Task done."))
    return HttpResponseRedirect(_case_url(task.case_id, "tasks"))


@require_POST
@staff_view
def assign(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    return _act(
        request,
        actor,
        case_id,
        form=AssignForm(request.POST, officers=_officer_choices(actor)),
        form_name="assign_form",
        call=lambda d: services.case_assign(
            actor=actor, case_id=case_id, officer_id=d["officer_id"]
        ),
        done=_("Assignment saved."),
        anchor="progress",
    )


@require_POST
@staff_view
def transition(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a step from the buttons."))
        return HttpResponseRedirect(_case_url(case_id, "progress"))
    return _act(
        request,
        actor,
        case_id,
        form=form,
        form_name="transition_form",
        call=lambda d: services.case_transition(
            actor=actor, case_id=case_id, to_state=d["to_state"]
        ),
        done=_("Step saved."),
        anchor="progress",
    )


@require_POST
@staff_view
def request_closure(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    return _act(
        request,
        actor,
        case_id,
        form=ClosureRequestForm(request.POST),
        form_name="closure_form",
        call=lambda d: services.case_request_closure(
            actor=actor, case_id=case_id, reason=d["reason"]
        ),
        done=_("Closure requested. The unit chief decides."),
        anchor="progress",
    )


@require_POST
@staff_view
def approve_closure(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    try:
        services.case_approve_closure(actor=actor, case_id=case_id)
    except Conflict as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The case is closed."))
    return HttpResponseRedirect(_case_url(case_id, "progress"))


@require_POST
@staff_view
def decline_closure(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    try:
        services.case_decline_closure(actor=actor, case_id=case_id)
    except Conflict as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Closure declined: the case goes on."))
    return HttpResponseRedirect(_case_url(case_id, "progress"))


@require_POST
@staff_view
def reopen(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    return _act(
        request,
        actor,
        case_id,
        form=ReopenForm(request.POST),
        form_name="reopen_form",
        call=lambda d: services.case_reopen(actor=actor, case_id=case_id, reason=d["reason"]),
        done=_("The case is open again."),
        anchor="progress",
    )


@require_POST
@staff_view
def consent_record(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    return _act(
        request,
        actor,
        case_id,
        form=ConsentForm(request.POST),
        form_name="consent_form",
        call=lambda d: services.consent_record(
            actor=actor,
            case_id=case_id,
            purpose=d["purpose"],
            granted=d["granted"],
            scope=d["scope"],
        ),
        done=_("Her answer is recorded."),
        anchor="consents",
    )


@require_http_methods(["GET", "POST"])
@staff_view
def consent_revoke(
    request: HttpRequest, actor: Actor, case_id: uuid.UUID, purpose: str
) -> HttpResponse:
    """She withdraws a consent: a confirmation page first (GET), then the POST. From that
    moment the sharing it covered stops."""
    if purpose not in ConsentPurpose.values:
        raise Http404
    case, _access = selectors.case_get(actor=actor, case_id=case_id)
    if not policies.allowed(actor, Action.RECORD_CONSENT, case):
        raise DjangoPermissionDenied
    form = ConsentRevokeForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.consent_revoke(actor=actor, case_id=case_id, purpose=purpose)
            except InvalidInput as exc:
                add_service_errors(form, exc.fields)
            else:
                messages.success(
                    request, _("Consent withdrawn. The sharing it covered has stopped.")
                )
                return HttpResponseRedirect(_case_url(case_id, "consents"))
        status = 422
    return render(
        request,
        "cases/consent_revoke.html",
        {
            "case": case,
            "purpose": purpose,
            "purpose_label": _label(PURPOSE_LABELS, purpose),
            "form": form,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@staff_view
def share_without_consent(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    """Share on a legal basis (she is a minor; her life is at risk) when her consent cannot
    be had. Marked on the file and the timeline; the chief is alerted."""
    case, _access = selectors.case_get(actor=actor, case_id=case_id)
    if not policies.allowed(actor, Action.SHARE_WITHOUT_CONSENT, case):
        raise DjangoPermissionDenied
    agencies = _share_agencies(case)
    form = ShareWithoutConsentForm(
        request.POST if request.method == "POST" else None, agencies=agencies
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.share_without_consent(
                    actor=actor,
                    case_id=case_id,
                    agency_id=data["agency_id"],
                    basis=data["basis"],
                    reason=data["reason"],
                    scope=data["scope"],
                )
            except InvalidInput as exc:
                add_service_errors(form, exc.fields)
            else:
                messages.success(request, _("Shared. The unit chief has been alerted."))
                return HttpResponseRedirect(_case_url(case_id, "sharing"))
        status = 422
    return render(
        request,
        "cases/share_without_consent.html",
        {"case": case, "form": form},
        status=status,
    )


@require_POST
@staff_view
def grant_end(
    request: HttpRequest, actor: Actor, case_id: uuid.UUID, grant_id: uuid.UUID
) -> HttpResponse:
    grant = services.grant_end(actor=actor, grant_id=grant_id)
    messages.success(request, _("Sharing ended."))
    return HttpResponseRedirect(_case_url(grant.case_id, "sharing"))


# --- emergency access ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_view
def break_glass(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Emergency access to another unit's file, for a few hours: a written reason and a
    fresh second factor; the holding unit's chief is alerted at once."""
    if actor.role not in policies.BREAK_GLASS_ROLES or actor.agency_id is None:
        raise Http404
    here = reverse("cases:break_glass")
    if not actor.recently_verified and request.method == "GET":
        return _step_up(here)
    form = BreakGlassForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                grant = services.break_glass(
                    actor=actor,
                    reason=form.cleaned_data["reason"],
                    reference=form.cleaned_data["reference"],
                )
            except StepUpRequired:
                return _step_up(here)
            except InvalidInput as exc:
                add_service_errors(form, exc.fields)
            except NotFound:
                form.add_error("reference", _("No case file can be opened with this reference."))
            except PermissionDenied:
                form.add_error(
                    "reference", _("Your own unit holds this file: open it from your queue.")
                )
            else:
                messages.warning(
                    request,
                    _("Emergency access granted for %(hours)s hours. The unit chief is alerted.")
                    % {"hours": policies.BREAK_GLASS_HOURS},
                )
                return HttpResponseRedirect(_case_url(grant.case_id))
        status = 422
    return render(
        request,
        "cases/break_glass.html",
        {"form": form, "hours": policies.BREAK_GLASS_HOURS},
        status=status,
    )


# --- her receipt --------------------------------------------------------------------------


def _receipt_case(actor: Actor, case_id: uuid.UUID) -> CaseFile:
    """Only the holding unit hands her a receipt; anyone else is answered as not found."""
    case, access = selectors.case_get(actor=actor, case_id=case_id)
    if not access.holding_unit:
        raise NotFound
    return case


def _receipt_language(request: HttpRequest, case: CaseFile) -> str:
    """The language she asked for, else her preferred one, else the page's."""
    wanted = request.GET.get("lang") or ""
    if is_supported(wanted):
        return wanted
    preferred = case.survivor.preferred_language
    if is_supported(preferred):
        return str(preferred)
    return get_language() or "ar"


@require_GET
@staff_view
def receipt(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    """Her complaint receipt as a printable page (print stylesheet), in her language."""
    case = _receipt_case(actor, case_id)
    language = _receipt_language(request, case)
    with translation.override(language):
        html = receipts.render_receipt_html(case, language=language, for_pdf=False)
    return HttpResponse(html)


@require_GET
@staff_view
def receipt_pdf(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    """The same receipt as a PDF download with a neutral file name: a file called after a
    police case on her phone could betray her."""
    case = _receipt_case(actor, case_id)
    language = _receipt_language(request, case)
    with translation.override(language):
        pdf = receipts.render_receipt_pdf(case, language=language)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{receipts.PDF_FILENAME}"'
    response["Cache-Control"] = "no-store"
    return response


__all__ = [
    "alert_read",
    "alerts",
    "approve_closure",
    "assign",
    "break_glass",
    "case_detail",
    "consent_record",
    "consent_revoke",
    "decline_closure",
    "grant_end",
    "note_add",
    "queue",
    "receipt",
    "receipt_pdf",
    "reopen",
    "request_closure",
    "search",
    "share_without_consent",
    "staff_view",
    "task_add",
    "task_complete",
    "transition",
]
