"""Correcting her file after intake: her details, the incidents, the perpetrators, the
children and other dependants.

    GET|POST /cases/<case>/edit/her/                          identity, contact, safe contact
    GET|POST /cases/<case>/incidents/new/                     another incident
    GET|POST /cases/<case>/incidents/<n>/edit/                correct an incident
    GET|POST /cases/<case>/perpetrators/new/                  another alleged perpetrator
    GET|POST /cases/<case>/perpetrators/<uuid>/edit/          correct what she said about him
    GET|POST /cases/<case>/dependants/new/                    a child or other dependant
    GET|POST /cases/<case>/dependants/<n>/edit/               correct a child or dependant

The pages ask the intake's own questions (``forms_intake``: the same fields, the same "she
preferred not to say" boxes, the same province-then-commune picker refreshed with htmx or,
without JavaScript, with the "Show its communes" button) and the services check the answers
as the intake does (``services.survivor_update``, ``incident_add``/``incident_update``,
``perpetrator_add``/``perpetrator_update``, ``dependant_add``/``dependant_update``). A wrong
answer comes back with everything typed kept and a translated message on its field; nothing
is saved until every answer is acceptable.

Only the holding unit's staff may edit, and only while the case is not closed
(``policies.Action.EDIT``): anyone who may not see the case gets the same 404 as for a case
that does not exist; someone who may see it but not edit it gets 403. Opening a page is an
audited read of the case, like the case page. Nothing about her is in a URL or a title.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from himaya.cases import policies, selectors, services
from himaya.cases.forms_intake import (
    MSG_COMMUNE_PROVINCE,
    ContactForm,
    DependantForm,
    Draft,
    IncidentForm,
    IntakeForm,
    ItemForm,
    Label,
    PerpetratorForm,
    Section,
    SurvivorForm,
    as_data,
)
from himaya.cases.models import AgeRange, CaseFile, Dependant, Incident, Perpetrator
from himaya.cases.policies import Action
from himaya.cases.selectors import CaseDetails
from himaya.cases.views_intake import Places, StepForms, _error_summary, _setup_picker
from himaya.core import submissions
from himaya.core.actor import Actor
from himaya.core.context_processors import acting
from himaya.core.errors import InvalidInput, NotFound, PermissionDenied

type Handler = Callable[..., HttpResponse]
type Messages = dict[str, list[Any]]

#: The safe-contact questions sit in the same page as her identity: their fields carry a
#: prefix so that her own phone and the safe phone are two different boxes.
CONTACT_PREFIX = "contact"


# --- plumbing -----------------------------------------------------------------------------


def edit_view(view: Handler) -> Handler:
    """The acting person, or 404; a case she may not see is a 404 like a missing one, a case
    she may see but not edit (another agency's grant, a closed case) a 403."""

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


def _editable(actor: Actor, case_id: uuid.UUID) -> CaseDetails:
    """The case as the actor sees it (an audited read), once editing it is allowed."""
    details = selectors.case_details(actor=actor, case_id=case_id)
    policies.require(actor, Action.EDIT, details.case)
    return details


def _case_url(case_id: uuid.UUID, anchor: str) -> str:
    return f"{reverse('cases:case_detail', args=[case_id])}#{anchor}"


def _prefixed(data: MultiValueDict[str, Any], prefix: str) -> MultiValueDict[str, Any]:
    out: MultiValueDict[str, Any] = MultiValueDict()
    for key, values in data.lists():
        out.setlist(f"{prefix}-{key}", values)
    return out


def _merge(into: Messages, found: Mapping[str, Sequence[Any]]) -> None:
    for path, found_messages in found.items():
        into.setdefault(path, []).extend(found_messages)


def _place(
    form: IntakeForm, errors: Messages, places: Places, path: str, *, province: str = "province"
) -> None:
    """A commune chosen outside the province shown: the officer must choose again."""
    if places.mismatch(str(form.value(province) or ""), str(form.value("commune") or "")):
        _merge(errors, {path: [MSG_COMMUNE_PROVINCE]})


def _distribute(
    errors: Messages, targets: Sequence[tuple[IntakeForm, Mapping[str, str]]]
) -> list[str]:
    """Each message on its field (found by the forms' domain paths); the messages no field
    takes are returned, to be shown on top of the page."""
    found: list[Messages] = [{} for _target in targets]
    top: list[str] = []
    for path, path_messages in errors.items():
        for index, (form, paths) in enumerate(targets):
            name = paths.get(path)
            if name is not None and name in form.fields:
                found[index].setdefault(name, []).extend(path_messages)
                break
        else:
            top.extend(str(message) for message in path_messages)
    for (form, _paths), on_fields in zip(targets, found, strict=True):
        form.show_errors(on_fields)
    return top


def _render(
    request: HttpRequest,
    *,
    case: CaseFile,
    title: Label,
    intro: Label,
    forms_: StepForms,
    sections: list[Section],
    anchor: str,
    top: Sequence[str] = (),
    status: int = 200,
    submission: str = "",
) -> HttpResponse:
    forms_.top[:0] = list(top)
    summary = _error_summary(forms_)
    context = {
        "case": case,
        "case_url": _case_url(case.pk, anchor),
        "title": title,
        "intro": intro,
        "sections": sections,
        "top_errors": forms_.top,
        "error_summary": summary,
        "submission": submission,
    }
    return render(request, "cases/edit/form.html", context, status=status)


ALREADY_SAVED = gettext_lazy("This was already saved: it was not added a second time.")
FORM_EXPIRED = gettext_lazy(
    "This form had expired. Nothing was saved: check the answers and press Save again."
)


def _saving(request: HttpRequest) -> bool:
    """A POST saves, except "Show its communes" (``refresh:<field>``), which only redraws
    the page with what was typed (the picker without JavaScript)."""
    if request.method != "POST":
        return False
    return not str(request.POST.get("action", "save")).startswith("refresh")


# --- her details --------------------------------------------------------------------------

SURVIVOR_TITLE = gettext_lazy("Correct her details")
SURVIVOR_INTRO = gettext_lazy(
    "Change only what she asks to change or what was recorded wrongly. Every answer can be "
    "“She preferred not to say”."
)


def _survivor_draft(details: CaseDetails) -> Draft:
    survivor = details.case.survivor
    return {
        "survivor": {
            "full_name": survivor.full_name,
            "cin": survivor.cin,
            "phone": survivor.phone,
            "address": survivor.address,
            "date_of_birth": survivor.date_of_birth,
            "age_range": survivor.age_range,
            "residence_commune_id": survivor.residence_commune_id or "",
            "preferred_language": survivor.preferred_language,
            "safe_contact": survivor.safe_contact,
            "declined": list(survivor.declined or []),
        }
    }


@require_http_methods(["GET", "POST"])
@edit_view
def survivor_edit(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    """Her identity, contact and safe-contact answers, on one page."""
    details = _editable(actor, case_id)
    case = details.case
    if request.method == "POST":
        identity = SurvivorForm(data=request.POST)
        contact = ContactForm(data=request.POST, prefix=CONTACT_PREFIX)
    else:
        recorded = _survivor_draft(details)
        identity = SurvivorForm(data=SurvivorForm.data_from(recorded))
        contact = ContactForm(
            data=_prefixed(ContactForm.data_from(recorded), CONTACT_PREFIX),
            prefix=CONTACT_PREFIX,
        )
    draft: Draft = {"survivor": {}}
    identity.write(draft)
    contact.write(draft)
    places = Places.for_draft(draft)
    _setup_picker(identity, places)
    errors: Messages = {}
    if _saving(request):
        errors = _survivor_errors(draft, places, identity)
        if not errors:
            try:
                services.survivor_update(
                    actor=actor,
                    case_id=case.pk,
                    data=services.survivor_from_dict(draft["survivor"]),
                )
            except InvalidInput as exc:
                errors = {f"survivor.{path}": list(m) for path, m in exc.fields.items()}
                errors = errors or {"": [exc.message]}
            else:
                messages.success(request, _("Her details are saved."))
                return HttpResponseRedirect(_case_url(case.pk, "survivor"))
    top = _distribute(errors, [(identity, SurvivorForm.PATHS), (contact, ContactForm.PATHS)])
    return _render(
        request,
        case=case,
        title=SURVIVOR_TITLE,
        intro=SURVIVOR_INTRO,
        forms_=StepForms("edit", [identity, contact]),
        sections=[*identity.sections(), *contact.sections()],
        anchor="survivor",
        top=top,
        status=422 if errors else 200,
    )


def _survivor_errors(draft: Draft, places: Places, identity: SurvivorForm) -> Messages:
    """What the page alone knows (both answered and declined; commune outside the province)
    and the record's shape; the meaning is the service's to check."""
    errors: Messages = {}
    _merge(errors, SurvivorForm.conflicts_in(draft))
    _merge(errors, ContactForm.conflicts_in(draft))
    _place(identity, errors, places, "survivor.residence_commune_id")
    try:
        services.survivor_from_dict(draft["survivor"])
    except InvalidInput as exc:
        _merge(errors, {f"survivor.{path}": m for path, m in exc.fields.items()})
    return errors


# --- incidents, perpetrators, dependants --------------------------------------------------


def _day(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else ""


def _incident_item(incident: Incident) -> dict[str, Any]:
    return {
        "occurred_on": _day(incident.occurred_on),
        "occurred_from": _day(incident.occurred_from),
        "occurred_to": _day(incident.occurred_to),
        "commune_id": incident.commune_id or "",
        "forms": list(incident.forms),
        "acts": list(incident.acts),
        "context": list(incident.context),
        "declined": list(incident.declined),
    }


def _perpetrator_item(perpetrator: Perpetrator) -> dict[str, Any]:
    return {
        "relationship": perpetrator.relationship,
        "full_name": perpetrator.full_name,
        "cin": perpetrator.cin,
        "phone": perpetrator.phone,
        "age_range": "" if perpetrator.age_range == AgeRange.UNKNOWN else perpetrator.age_range,
        "number_involved": perpetrator.number_involved,
        "declined": list(perpetrator.declined),
    }


def _dependant_item(dependant: Dependant) -> dict[str, Any]:
    return {
        "first_name": dependant.first_name,
        "age": "" if dependant.age is None else dependant.age,
        "relationship": dependant.relationship,
        "at_risk": dependant.at_risk,
        "declined": list(dependant.declined),
    }


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of list record the pages add and correct."""

    form: type[ItemForm]
    anchor: str
    add_title: Label
    edit_title: Label
    saved: Label
    items: Callable[[CaseDetails], Sequence[Model]]
    as_item: Callable[[Any], dict[str, Any]]
    parse: Callable[[Mapping[str, Any]], Any]
    add: Callable[..., object]
    update: Callable[..., object]
    #: The update service's keyword naming the record.
    id_name: str
    intro: Label = ""


INCIDENT = Kind(
    form=IncidentForm,
    anchor="incidents",
    add_title=gettext_lazy("Record another incident"),
    edit_title=gettext_lazy("Correct an incident"),
    saved=gettext_lazy("The incident is saved and classified again."),
    items=lambda details: details.incidents,
    as_item=_incident_item,
    parse=services.incident_from_dict,
    add=services.incident_add,
    update=services.incident_update,
    id_name="incident_id",
    intro=gettext_lazy(
        "One incident at a time. A date can be a period when she does not know the day."
    ),
)
PERPETRATOR = Kind(
    form=PerpetratorForm,
    anchor="perpetrators",
    add_title=gettext_lazy("Name another alleged perpetrator"),
    edit_title=gettext_lazy("Correct what she said about him"),
    saved=gettext_lazy("What she said about him is saved."),
    items=lambda details: details.perpetrators,
    as_item=_perpetrator_item,
    parse=services.perpetrator_from_dict,
    add=services.perpetrator_add,
    update=services.perpetrator_update,
    id_name="perpetrator_id",
)
DEPENDANT = Kind(
    form=DependantForm,
    anchor="dependants",
    add_title=gettext_lazy("Record a child or dependant"),
    edit_title=gettext_lazy("Correct a child or dependant"),
    saved=gettext_lazy("The child or dependant is saved."),
    items=lambda details: details.dependants,
    as_item=_dependant_item,
    parse=services.dependant_from_dict,
    add=services.dependant_add,
    update=services.dependant_update,
    id_name="dependant_id",
)


def _item_errors(kind: Kind, form: ItemForm, item: Mapping[str, Any], places: Places) -> Messages:
    """What the page alone knows and the record's shape (see ``_survivor_errors``)."""
    errors: Messages = {}
    _merge(errors, kind.form.conflicts_of(item))
    if "commune" in form.fields:
        _place(form, errors, places, "commune_id")
    try:
        kind.parse(item)
    except InvalidInput as exc:
        _merge(errors, exc.fields)
    return errors


def _save_item(  # noqa: PLR0917 - one private step of _item_page
    request: HttpRequest,
    actor: Actor,
    kind: Kind,
    case: CaseFile,
    record: Any,
    item: Mapping[str, Any],
    token: str,
) -> tuple[HttpResponse | None, Messages]:
    """Save through the service; (redirect, {}) when saved, (None, errors) when refused."""
    try:
        data = kind.parse(item)
        if record is None:
            scope = f"user:{actor.user_id}:{kind.anchor}:{case.pk}"
            with submissions.once(scope=scope, token=token):
                kind.add(actor=actor, case_id=case.pk, data=data)
        else:
            kind.update(actor=actor, case_id=case.pk, data=data, **{kind.id_name: record.pk})
    except submissions.AlreadySubmitted:
        messages.info(request, str(ALREADY_SAVED))
    except InvalidInput as exc:
        return None, {path: list(m) for path, m in exc.fields.items()} or {"": [exc.message]}
    else:
        messages.success(request, str(kind.saved))
    return HttpResponseRedirect(_case_url(case.pk, kind.anchor)), {}


def _item_page(
    request: HttpRequest, actor: Actor, kind: Kind, case_id: uuid.UUID, record_id: object
) -> HttpResponse:
    details = _editable(actor, case_id)
    case = details.case
    record = None
    if record_id is not None:
        record = next((r for r in kind.items(details) if str(r.pk) == str(record_id)), None)
        if record is None:
            raise Http404
    if request.method == "POST":
        form = kind.form(data=request.POST)
    else:
        values = kind.form.data_from(kind.as_item(record) if record is not None else {})
        form = kind.form(data=as_data(values))
    item = form.item()
    places = Places.for_draft({"incidents": [item]} if kind is INCIDENT else {})
    if "commune" in form.fields:
        _setup_picker(form, places)
    errors: Messages = {}
    # Adding carries a one-time token: a double click or a resent form adds one record, not
    # two (core.submissions). A missing or malformed token gets a fresh one and saves nothing.
    token = str(request.POST.get("submission", "")) if request.method == "POST" else ""
    if record is None and not submissions.valid_token(token):
        token = submissions.new_token()
        if _saving(request):
            errors = {"": [str(FORM_EXPIRED)]}
    if _saving(request) and not errors:
        errors = _item_errors(kind, form, item, places)
        if not errors:
            saved, errors = _save_item(request, actor, kind, case, record, item, token)
            if saved is not None:
                return saved
    top = _distribute(errors, [(form, kind.form.PATHS)])
    title = kind.edit_title if record is not None else kind.add_title
    sections = [
        replace(section, title=title, item=None, anchor="") for section in form.item_sections(0)
    ]
    return _render(
        request,
        case=case,
        title=title,
        intro=kind.intro,
        forms_=StepForms("edit", [form]),
        sections=sections,
        anchor=kind.anchor,
        top=top,
        status=422 if errors else 200,
        submission=token,
    )


@require_http_methods(["GET", "POST"])
@edit_view
def incident_add(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    return _item_page(request, actor, INCIDENT, case_id, None)


@require_http_methods(["GET", "POST"])
@edit_view
def incident_edit(
    request: HttpRequest, actor: Actor, case_id: uuid.UUID, incident_id: int
) -> HttpResponse:
    return _item_page(request, actor, INCIDENT, case_id, incident_id)


@require_http_methods(["GET", "POST"])
@edit_view
def perpetrator_add(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    return _item_page(request, actor, PERPETRATOR, case_id, None)


@require_http_methods(["GET", "POST"])
@edit_view
def perpetrator_edit(
    request: HttpRequest, actor: Actor, case_id: uuid.UUID, perpetrator_id: uuid.UUID
) -> HttpResponse:
    return _item_page(request, actor, PERPETRATOR, case_id, perpetrator_id)


@require_http_methods(["GET", "POST"])
@edit_view
def dependant_add(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    return _item_page(request, actor, DEPENDANT, case_id, None)


@require_http_methods(["GET", "POST"])
@edit_view
def dependant_edit(
    request: HttpRequest, actor: Actor, case_id: uuid.UUID, dependant_id: int
) -> HttpResponse:
    return _item_page(request, actor, DEPENDANT, case_id, dependant_id)
