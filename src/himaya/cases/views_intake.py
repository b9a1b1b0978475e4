"""The guided intake: the unit officer hears her once, step by step, and opens her file.

    GET  /cases/intake/                       her interviews in progress; start a new one
    POST /cases/intake/                       start: a sealed draft, then its first step
    GET  /cases/intake/<draft>/<step>/        one step, as saved
    POST /cases/intake/<draft>/<step>/        save the step (always), then go where asked
    POST /cases/intake/<draft>/submit/        open the case (one case, however many posts)
    POST /cases/intake/<draft>/discard/       erase the draft (its key is shredded)
    POST /cases/intake/communes/              the communes of a province (htmx comfort)

Every POST of a step saves the draft first, whatever was typed, so an interrupted interview
loses nothing; then the domain (``cases.intake``) checks the whole draft and the page shows
each message next to its field. Moving between steps is never blocked: only "Save and
continue" stays on a step with errors, and the review lists what is left to correct.

Draft ids are random UUIDs; step names are fixed words. Nothing about her is ever in a URL
or a page title. A draft is visible only to the officer who started it, in the same unit:
anyone else gets the same 404 as for a draft that does not exist.
"""

from __future__ import annotations

import contextlib
import copy
import re
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import wraps
from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats
from django.utils.datastructures import MultiValueDict
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from himaya.cases import policies, selectors, services
from himaya.cases.classification import CaseContext, IncidentAct, ViolenceForm
from himaya.cases.forms_intake import (
    CONSENT_ANSWERS,
    DECLINED_LABEL,
    DEPENDANT_RELATIONSHIPS,
    MSG_COMMUNE_PROVINCE,
    PURPOSES,
    SAFE_CHANNELS,
    SCOPE_CHOICES,
    YES_NO,
    ConditionsForm,
    ConsentForm,
    ContactForm,
    DependantForm,
    Draft,
    IncidentForm,
    IntakeForm,
    ItemForm,
    Label,
    NarrativeForm,
    PerpetratorForm,
    Section,
    StepForm,
    SurvivorForm,
    as_data,
    label_of,
)
from himaya.cases.intake import (
    INTAKE_STEPS,
    intake_draft_discard,
    intake_draft_list,
    intake_draft_load,
    intake_draft_save,
    intake_from_dict,
    validate_intake,
)
from himaya.cases.models import AgeRange, Channel, ConsentPurpose, Gender, IntakeDraft, Relationship
from himaya.cases.policies import Action
from himaya.cases.search import SearchResult
from himaya.core.actor import Actor
from himaya.core.context_processors import acting
from himaya.core.errors import InvalidInput, NotFound, PermissionDenied
from himaya.geo.models import Commune, Province
from himaya.network.models import Language
from himaya.network.text import fold

type Handler = Callable[..., HttpResponse]
#: A message as the domain gives it: text, or a lazy translation.
type Message = str | Promise
type Messages = dict[str, list[Message]]

STEP_TITLES: dict[str, Label] = {
    "conditions": gettext_lazy("Interview conditions"),
    "survivor": gettext_lazy("About her"),
    "contact": gettext_lazy("Safe contact"),
    "incidents": gettext_lazy("What happened"),
    "perpetrators": gettext_lazy("Alleged perpetrators"),
    "dependants": gettext_lazy("Children and dependants"),
    "consent": gettext_lazy("Her consent"),
    "narrative": gettext_lazy("Her account"),
    "review": gettext_lazy("Review and open the file"),
}
STEP_INTROS: dict[str, Label] = {
    "conditions": gettext_lazy(
        "Before anything else: where she is heard, by whom, and who else is there. She may "
        "stop at any time; everything is saved as you go."
    ),
    "incidents": gettext_lazy(
        "One incident at a time. A date can be a period when she does not know the day."
    ),
    "perpetrators": gettext_lazy(
        "Record what she says about the man or men who did it. Leave a form empty if there "
        "is nobody to record."
    ),
    "dependants": gettext_lazy(
        "Children or other dependants who live with her or are at risk. Leave empty if none."
    ),
    "consent": gettext_lazy(
        "Ask her about each purpose separately, before anything is shared. Explain that she "
        "can say no, that saying no does not change the help the unit gives her, and that "
        "she can change her mind at any time."
    ),
}
if set(STEP_TITLES) != set(INTAKE_STEPS):  # pragma: no cover - caught by any test run
    raise RuntimeError("every step of the intake needs a title")

SINGLE_FORMS: dict[str, type[StepForm]] = {
    "conditions": ConditionsForm,
    "survivor": SurvivorForm,
    "contact": ContactForm,
    "consent": ConsentForm,
    "narrative": NarrativeForm,
}
ITEM_FORMS: dict[str, type[ItemForm]] = {
    "incidents": IncidentForm,
    "perpetrators": PerpetratorForm,
    "dependants": DependantForm,
}
ADD_LABELS: dict[str, Label] = {
    "incidents": gettext_lazy("Add another incident"),
    "perpetrators": gettext_lazy("Add another perpetrator"),
    "dependants": gettext_lazy("Add a child or dependant"),
}
REMOVE_LABELS: dict[str, Label] = {
    "incidents": gettext_lazy("Remove this incident"),
    "perpetrators": gettext_lazy("Remove this perpetrator"),
    "dependants": gettext_lazy("Remove this child or dependant"),
}
#: Where a domain path's messages belong: the first part of the path names the step.
PATH_STEPS: dict[str, str] = {
    "channel": "conditions",
    "interview": "conditions",
    "legal_basis": "conditions",
    "survivor": "survivor",
    "incidents": "incidents",
    "perpetrators": "perpetrators",
    "dependants": "dependants",
    "consents": "consent",
    "narrative": "narrative",
}
#: A commune picker's field: ``commune`` or ``inc-<n>-commune`` (for the htmx refresh).
COMMUNE_FIELD = re.compile(r"^(?:inc-\d{1,2}-)?commune$")
#: The key that makes submission idempotent: generated here, kept in the draft.
IDEMPOTENCY_BYTES = 24


# --- plumbing -----------------------------------------------------------------------------


def intake_view(view: Handler) -> Handler:
    """The acting unit officer or chief, or 404 for anyone else: a focal point, an analyst
    or an administrator learns nothing, not even that the page exists."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        actor = acting(request)
        if actor is None or not policies.allowed(actor, Action.OPEN_CASE):
            raise Http404
        try:
            return view(request, actor, *args, **kwargs)
        except (NotFound, PermissionDenied) as exc:
            raise Http404 from exc

    return wrapped


def step_of(path: str) -> str:
    if path.startswith("survivor.safe_contact"):
        return "contact"
    return PATH_STEPS.get(path.split(".", 1)[0], "review")


def _step_url(draft_id: uuid.UUID, step: str, anchor: str = "") -> str:
    url = reverse("cases:intake_step", args=[draft_id, step])
    return f"{url}#{anchor}" if anchor else url


def case_url(case_id: uuid.UUID) -> str:
    return reverse("cases:case_detail", args=[case_id])


def _new_key() -> str:
    return secrets.token_urlsafe(IDEMPOTENCY_BYTES)


def _load(actor: Actor, draft_id: uuid.UUID) -> tuple[IntakeDraft, Draft | None]:
    """The draft and its content; content ``None`` once submitted (the draft is frozen)."""
    draft = intake_draft_load(actor=actor, draft_id=draft_id)
    data = draft.data
    if draft.submitted_case_id is not None or not isinstance(data, dict):
        return draft, None
    return draft, data


# --- communes: province first, then the commune -------------------------------------------


def _place_name(place: Province | Commune) -> str:
    return place.name_ar if (get_language() or "").startswith("ar") else place.name_fr


@dataclass(slots=True)
class Places:
    """The communes of every province a picker of the draft shows (one query whatever the
    number of incidents), and the list of provinces when a page draws a picker (one more)."""

    communes: dict[int, Commune]
    by_province: dict[str, list[Commune]]
    _provinces: list[tuple[str, str]] | None = None

    @classmethod
    def for_draft(cls, data: Draft) -> Places:
        codes: set[str] = set()
        ids: set[int] = set()
        for province, commune in _pickers(data):
            if province:
                codes.add(province)
            if commune.isdigit():
                ids.add(int(commune))
        communes: dict[int, Commune] = {}
        by_province: dict[str, list[Commune]] = {}
        if codes or ids:
            wanted = Province.objects.filter(Q(code__in=codes) | Q(communes__pk__in=ids))
            for row in (
                Commune.objects.filter(province__in=wanted.values("pk"))
                .select_related("province")
                .only("code", "name_ar", "name_fr", "province__code")
            ):
                communes[row.pk] = row
                by_province.setdefault(row.province.code, []).append(row)
        for rows in by_province.values():
            rows.sort(key=lambda c: fold(_place_name(c)))
        return cls(communes=communes, by_province=by_province)

    @property
    def provinces(self) -> list[tuple[str, str]]:
        """Every province and prefecture, by name in the page's language."""
        if self._provinces is None:
            self._provinces = sorted(
                (
                    (p.code, _place_name(p))
                    for p in Province.objects.only("code", "name_ar", "name_fr")
                ),
                key=lambda item: fold(item[1]),
            )
        return self._provinces

    def province_of(self, province: str, commune: str) -> str:
        """The province to show: the one chosen, else the chosen commune's."""
        if province:
            return province
        found = self.communes.get(int(commune)) if commune.isdigit() else None
        return found.province.code if found is not None else ""

    def mismatch(self, province: str, commune: str) -> bool:
        found = self.communes.get(int(commune)) if commune.isdigit() else None
        return bool(province) and found is not None and found.province.code != province

    def options(self, province: str) -> list[tuple[str, str]]:
        if not province:
            return [("", _("Choose the province first"))]
        return [("", _("Choose…"))] + [
            (str(c.pk), _place_name(c)) for c in self.by_province.get(province, [])
        ]


def commune_options(province: str) -> list[tuple[str, str]]:
    """The commune list of one province (one query), as the picker shows it."""
    if not province:
        return [("", _("Choose the province first"))]
    communes = sorted(
        Commune.objects.filter(province__code=province).only("name_ar", "name_fr"),
        key=lambda c: fold(_place_name(c)),
    )
    return [("", _("Choose…"))] + [(str(c.pk), _place_name(c)) for c in communes]


def _pickers(data: Draft) -> list[tuple[str, str]]:
    """(province, commune) of every commune picker in the draft."""
    survivor = data.get("survivor") or {}
    found = [
        (
            str(survivor.get("residence_province") or ""),
            str(survivor.get("residence_commune_id") or ""),
        )
    ]
    for item in data.get("incidents") or []:
        if isinstance(item, Mapping):
            found.append((str(item.get("province") or ""), str(item.get("commune_id") or "")))
    return found


def _setup_picker(form: IntakeForm, places: Places) -> None:
    """Fill a form's province and commune lists; the province list refreshes the communes
    in place with htmx, and without JavaScript the "Show its communes" button does."""
    province = str(form.value("province") or "")
    commune = str(form.value("commune") or "")
    shown = places.province_of(province, commune)
    if shown and not province:
        data: MultiValueDict[str, Any] = MultiValueDict()
        data.update(form.data)
        data[form.add_prefix("province")] = shown
        form.data = data
    form.fields["province"].widget.choices = [("", _("Choose…")), *places.provinces]
    form.fields["commune"].widget.choices = places.options(shown)
    commune_name = form.add_prefix("commune")
    form.fields["province"].widget.attrs.update(
        {
            "hx-post": reverse("cases:intake_communes"),
            "hx-trigger": "change",
            "hx-target": f"#{form['commune'].auto_id}",
            "hx-swap": "outerHTML",
            # Only the province and which picker: nothing else of the form leaves the page.
            "hx-params": f"{form.add_prefix('province')},target",
            "hx-vals": f'{{"target": "{commune_name}"}}',
        }
    )


# --- errors: the domain's, on the draft as saved ------------------------------------------


def _blank_path(data: Any, path: str) -> None:
    """Empty the value at a dotted path (so the second pass can check everything else)."""
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return
    last = parts[-1]
    if isinstance(node, dict) and last in node:
        node[last] = None
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = {}


def _merge(into: Messages, found: Mapping[str, Sequence[Message]]) -> None:
    for path, messages_ in found.items():
        into.setdefault(path, []).extend(messages_)


def draft_errors(data: Draft, places: Places) -> Messages:
    """Everything wrong with the draft, by dotted path, with the domain's messages.

    Two passes: the shape (a date that does not exist, a number that is not one) and then
    the meaning (future dates, unknown communes, CIN and phone formats…) with the
    misshapen values set aside, so one bad date never hides another problem. Then what
    only the pages know: a question both answered and declined, a commune outside the
    province chosen."""
    errors: Messages = {}
    raw = copy.deepcopy(data)
    try:
        intake = intake_from_dict(raw)
    except InvalidInput as exc:
        _merge(errors, exc.fields)
        for path in exc.fields:
            _blank_path(raw, path)
        try:
            intake = intake_from_dict(raw)
        except InvalidInput:  # pragma: no cover - every misshapen value was set aside
            return errors
    try:
        validate_intake(intake)
    except InvalidInput as exc:
        # A value set aside already has its message ("enter a real date"): not also
        # "give the day", which would read as if nothing had been typed.
        _merge(errors, {p: m for p, m in exc.fields.items() if p not in errors})
    _merge(errors, SurvivorForm.conflicts_in(data))
    _merge(errors, ContactForm.conflicts_in(data))
    for form_class in ITEM_FORMS.values():
        for index, item in enumerate(data.get(form_class.KEY) or []):
            if isinstance(item, Mapping):
                for name, messages_ in form_class.conflicts_of(item).items():
                    _merge(errors, {f"{form_class.KEY}.{index}.{name}": messages_})
    survivor = data.get("survivor") or {}
    if places.mismatch(
        str(survivor.get("residence_province") or ""),
        str(survivor.get("residence_commune_id") or ""),
    ):
        _merge(errors, {"survivor.residence_commune_id": [MSG_COMMUNE_PROVINCE]})
    for index, item in enumerate(data.get("incidents") or []):
        if isinstance(item, Mapping) and places.mismatch(
            str(item.get("province") or ""), str(item.get("commune_id") or "")
        ):
            _merge(errors, {f"incidents.{index}.commune_id": [MSG_COMMUNE_PROVINCE]})
    return errors


def errors_by_step(errors: Messages) -> dict[str, Messages]:
    found: dict[str, Messages] = {}
    for path, messages_ in errors.items():
        found.setdefault(step_of(path), {})[path] = messages_
    return found


def _consent_paths(data: Draft) -> dict[str, str]:
    """``consents.<n>.scope`` → the form field of that purpose's scope."""
    paths: dict[str, str] = {}
    for index, consent in enumerate(data.get("consents") or []):
        if isinstance(consent, Mapping):
            purpose = str(consent.get("purpose") or "")
            paths[f"consents.{index}.scope"] = f"{purpose}_scope"
            paths[f"consents.{index}.purpose"] = purpose
    return paths


# --- building a step's forms --------------------------------------------------------------


@dataclass(slots=True)
class StepForms:
    """The bound forms of one step and the messages that go above them."""

    step: str
    forms: list[IntakeForm]
    top: list[str] = field(default_factory=list)

    def sections(self) -> list[Section]:
        if self.step in ITEM_FORMS:
            return [
                section
                for index, form in enumerate(self.forms)
                if isinstance(form, ItemForm)
                for section in form.item_sections(index)
            ]
        form = self.forms[0] if self.forms else None
        return form.sections() if isinstance(form, StepForm) else []


def _items(data: Draft, key: str) -> list[Mapping[str, Any]]:
    return [item for item in data.get(key) or [] if isinstance(item, Mapping)]


def forms_from_draft(step: str, data: Draft) -> StepForms:
    if step in SINGLE_FORMS:
        form_class = SINGLE_FORMS[step]
        return StepForms(step, [form_class(data=form_class.data_from(data))])
    if step in ITEM_FORMS:
        item_class = ITEM_FORMS[step]
        items = _items(data, item_class.KEY) or [{}]
        forms_: list[IntakeForm] = []
        for index, item in enumerate(items):
            prefix = f"{item_class.PREFIX}-{index}"
            values = item_class.data_from(item)
            forms_.append(item_class(data=as_data(values, prefix), prefix=prefix))
        return StepForms(step, forms_)
    return StepForms(step, [])


def forms_from_post(step: str, request: HttpRequest) -> StepForms:
    if step in SINGLE_FORMS:
        return StepForms(step, [SINGLE_FORMS[step](data=request.POST)])
    if step in ITEM_FORMS:
        item_class = ITEM_FORMS[step]
        try:
            count = int(request.POST.get("count", "1"))
        except ValueError:
            count = 1
        count = max(0, min(count, item_class.MAX_ITEMS))
        return StepForms(
            step,
            [
                item_class(data=request.POST, prefix=f"{item_class.PREFIX}-{index}")
                for index in range(count)
            ],
        )
    return StepForms(step, [])


def write_step(forms_: StepForms, data: Draft, *, keep_blank: bool) -> None:
    """Copy what was typed into the draft. Empty list items are dropped when leaving the
    step (an untouched form is not a perpetrator), except the first incident: its empty
    fields are what is left to ask."""
    if forms_.step in SINGLE_FORMS:
        form = forms_.forms[0]
        if isinstance(form, StepForm):
            form.write(data)
        return
    if forms_.step in ITEM_FORMS:
        item_class = ITEM_FORMS[forms_.step]
        items = [form.item() for form in forms_.forms if isinstance(form, ItemForm)]
        if not keep_blank:
            kept = [item for item in items if not item_class.is_blank(item)]
            if not kept and item_class is IncidentForm and items:
                kept = items[:1]
            items = kept
        data[item_class.KEY] = items


def show_errors(
    forms_: StepForms, data: Draft, errors: Messages, *, hide_blank_items: bool
) -> None:
    """Put the step's messages on their fields; what fits no field goes on top."""
    if forms_.step in SINGLE_FORMS:
        form = forms_.forms[0]
        paths: Mapping[str, str] = getattr(form, "PATHS", {})
        if forms_.step == "consent":
            paths = _consent_paths(data)
        on_fields: dict[str, list[Message]] = {}
        for path, messages_ in errors.items():
            name = paths.get(path)
            if name is None:
                forms_.top.extend(str(m) for m in messages_)
            else:
                on_fields.setdefault(name, []).extend(messages_)
        form.show_errors(on_fields)
        return
    if forms_.step in ITEM_FORMS:
        item_class = ITEM_FORMS[forms_.step]
        items = _items(data, item_class.KEY)
        per_item: dict[int, dict[str, list[Message]]] = {}
        for path, messages_ in errors.items():
            parts = path.split(".", 2)
            if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(forms_.forms):
                index = int(parts[1])
                if hide_blank_items and index < len(items) and item_class.is_blank(items[index]):
                    continue
                name = item_class.PATHS.get(parts[2], parts[2])
                per_item.setdefault(index, {}).setdefault(name, []).extend(messages_)
            else:
                forms_.top.extend(str(m) for m in messages_)
        for index, form in enumerate(forms_.forms):
            form.show_errors(per_item.get(index, {}))
        return
    for messages_ in errors.values():
        forms_.top.extend(str(m) for m in messages_)


# --- the review ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One answer as the review shows it, with what is wrong with it."""

    label: Label
    value: str
    declined: bool = False
    blank: bool = False
    ltr: bool = False
    long: bool = False
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Block:
    step: str
    title: Label
    entries: tuple[Entry, ...] = ()
    groups: tuple[tuple[str, tuple[Entry, ...]], ...] = ()
    #: The step's messages that belong to no single answer.
    errors: tuple[str, ...] = ()


def _shown(
    label: Label,
    value: object,
    *,
    declined: bool = False,
    choices: Sequence[tuple[str, Label]] | None = None,
    ltr: bool = False,
    long: bool = False,
    when: bool = False,
) -> Entry:
    if declined:
        return Entry(label, str(DECLINED_LABEL), declined=True)
    if value in (None, "", []):
        return Entry(label, _("Not answered"), blank=True)
    if isinstance(value, bool):
        return Entry(label, _("Yes") if value else _("No"))
    if isinstance(value, list):
        shown = ", ".join(str(label_of(choices or [], str(v))) for v in value)
        return Entry(label, shown)
    text = str(value)
    if when:
        with contextlib.suppress(ValueError):
            text = formats.date_format(date.fromisoformat(text), "DATE_FORMAT")
    elif choices is not None:
        text = str(label_of(choices, text))
    return Entry(label, text, ltr=ltr, long=long)


def _commune_name(places: Places, value: object) -> str:
    text = str(value or "")
    found = places.communes.get(int(text)) if text.isdigit() else None
    return _place_name(found) if found is not None else text


class Review:
    """Builds the review: every answer as she gave it, each with its own messages."""

    def __init__(self, data: Draft, places: Places, errors: Messages) -> None:
        self.data = data
        self.places = places
        self.errors = errors
        self.used: set[str] = set()

    def entry(self, label: Label, value: object, *paths: str, **options: Any) -> Entry:
        shown = _shown(label, value, **options)
        found: list[str] = []
        for path in paths:
            if path in self.errors:
                self.used.add(path)
                found.extend(str(m) for m in self.errors[path])
        return replace(shown, errors=tuple(found))

    def rest(self, step: str) -> tuple[str, ...]:
        return tuple(
            str(message)
            for path, messages_ in self.errors.items()
            if step_of(path) == step and path not in self.used
            for message in messages_
        )

    def blocks(self) -> list[Block]:
        # Each builder marks the messages it places; the rest go under the step's title.
        built = [
            ("conditions", (self.conditions(), ())),
            ("survivor", (self.survivor(), ())),
            ("contact", (self.contact(), ())),
            ("incidents", ((), self.incidents())),
            ("perpetrators", ((), self.perpetrators())),
            ("dependants", ((), self.dependants())),
            ("consent", (self.consents(), ())),
            ("narrative", (self.narrative(), ())),
        ]
        return [
            Block(step, STEP_TITLES[step], entries, groups, errors=self.rest(step))
            for step, (entries, groups) in built
        ]

    def conditions(self) -> tuple[Entry, ...]:
        interview = self.data.get("interview") or {}
        e = self.entry
        return (
            e(_("First contact"), self.data.get("channel"), "channel", choices=Channel.choices),
            e(
                _("Private room"),
                interview.get("private_room"),
                "interview.private_room",
                choices=YES_NO,
            ),
            e(
                _("Interviewer"),
                interview.get("interviewer_gender"),
                "interview.interviewer_gender",
                choices=Gender.choices,
            ),
            e(
                _("She chose the interviewer's gender"),
                bool(interview.get("interviewer_gender_chosen")),
            ),
            e(
                _("Interpreter"),
                interview.get("interpreter_language"),
                "interview.interpreter_language",
                choices=Language.choices,
            ),
            e(_("Others present"), interview.get("others_present"), "interview.others_present"),
        )

    def survivor(self) -> tuple[Entry, ...]:
        survivor = self.data.get("survivor") or {}
        declined = set(survivor.get("declined") or [])

        def e(label: Label, key: str, name: str = "", **options: Any) -> Entry:
            name = name or key
            return self.entry(
                label,
                survivor.get(key),
                f"survivor.{key}",
                declined=name in declined,
                **options,
            )

        commune = self.entry(
            _("Commune"),
            _commune_name(self.places, survivor.get("residence_commune_id")),
            "survivor.residence_commune_id",
            declined="residence_commune" in declined,
        )
        return (
            e(_("Full name"), "full_name"),
            e(_("CIN"), "cin", ltr=True),
            e(_("Phone"), "phone", ltr=True),
            e(_("Date of birth"), "date_of_birth", when=True),
            e(_("Age"), "age_range", choices=AgeRange.choices),
            e(_("Language"), "preferred_language", choices=Language.choices),
            e(_("Address"), "address"),
            commune,
        )

    def contact(self) -> tuple[Entry, ...]:
        contact = (self.data.get("survivor") or {}).get("safe_contact") or {}
        declined = set(contact.get("declined") or [])

        def e(label: Label, key: str, **options: Any) -> Entry:
            return self.entry(
                label,
                contact.get(key),
                f"survivor.safe_contact.{key}",
                declined=key in declined,
                **options,
            )

        return (
            e(_("How"), "channel", choices=SAFE_CHANNELS),
            e(_("Safe phone"), "phone", ltr=True),
            e(_("Safe times"), "safe_times"),
            e(_("A message may be left"), "may_leave_message"),
            e(_("Code word"), "code_word"),
            e(_("Notes"), "notes"),
        )

    def incidents(self) -> tuple[tuple[str, tuple[Entry, ...]], ...]:
        groups = []
        for index, item in enumerate(_items(self.data, "incidents")):
            declined = set(item.get("declined") or [])
            p = f"incidents.{index}."
            dates = (p + "occurred_on", p + "occurred_from", p + "occurred_to", p + "date")
            if item.get("occurred_from") or item.get("occurred_to"):
                period = " – ".join(
                    _shown("", item.get(k), when=True).value
                    for k in ("occurred_from", "occurred_to")
                )
                when = self.entry(_("When"), period, *dates, declined="date" in declined)
            else:
                when = self.entry(
                    _("When"),
                    item.get("occurred_on"),
                    *dates,
                    declined="date" in declined,
                    when=True,
                )
            groups.append(
                (
                    IncidentForm.item_title(index + 1),
                    (
                        when,
                        self.entry(
                            _("Where"),
                            _commune_name(self.places, item.get("commune_id")),
                            p + "commune_id",
                            declined="commune" in declined,
                        ),
                        self.entry(
                            _("Forms of violence"),
                            item.get("forms"),
                            p + "forms",
                            declined="forms" in declined,
                            choices=ViolenceForm.choices,
                        ),
                        self.entry(
                            _("What happened"),
                            item.get("acts"),
                            p + "acts",
                            declined="acts" in declined,
                            choices=IncidentAct.choices,
                        ),
                        self.entry(
                            _("Context"),
                            item.get("context"),
                            p + "context",
                            declined="context" in declined,
                            choices=CaseContext.choices,
                        ),
                    ),
                )
            )
        return tuple(groups)

    def answer(
        self, label: Label, record: Mapping[str, Any], prefix: str, key: str, **options: Any
    ) -> Entry:
        """A list item's answer, declined or not, with the messages at ``prefix + key``."""
        declined = key in set(record.get("declined") or [])
        return self.entry(label, record.get(key), prefix + key, declined=declined, **options)

    def perpetrators(self) -> tuple[tuple[str, tuple[Entry, ...]], ...]:
        groups = []
        for index, item in enumerate(_items(self.data, "perpetrators")):
            p = f"perpetrators.{index}."
            a = self.answer
            groups.append(
                (
                    PerpetratorForm.item_title(index + 1),
                    (
                        a(_("Relationship"), item, p, "relationship", choices=Relationship.choices),
                        a(_("Name"), item, p, "full_name"),
                        a(_("CIN"), item, p, "cin", ltr=True),
                        a(_("Phone"), item, p, "phone", ltr=True),
                        a(_("Age"), item, p, "age_range", choices=AgeRange.choices),
                        a(_("Men involved"), item, p, "number_involved"),
                    ),
                )
            )
        return tuple(groups)

    def dependants(self) -> tuple[tuple[str, tuple[Entry, ...]], ...]:
        groups = []
        for index, item in enumerate(_items(self.data, "dependants")):
            p = f"dependants.{index}."
            a = self.answer
            groups.append(
                (
                    DependantForm.item_title(index + 1),
                    (
                        a(_("First name"), item, p, "first_name"),
                        a(_("Age"), item, p, "age"),
                        a(
                            _("Relationship"),
                            item,
                            p,
                            "relationship",
                            choices=DEPENDANT_RELATIONSHIPS,
                        ),
                        self.entry(_("At risk"), bool(item.get("at_risk", True))),
                    ),
                )
            )
        return tuple(groups)

    def consents(self) -> tuple[Entry, ...]:
        answers: dict[str, tuple[int, Mapping[str, Any]]] = {}
        for index, consent in enumerate(self.data.get("consents") or []):
            if isinstance(consent, Mapping):
                answers[str(consent.get("purpose"))] = (index, consent)
        entries = []
        for purpose in PURPOSES:
            label = label_of(ConsentPurpose.choices, purpose)
            if purpose not in answers:
                entries.append(Entry(label, _("Not asked yet"), blank=True))
                continue
            index, answer = answers[purpose]
            text = str(label_of(CONSENT_ANSWERS, str(answer.get("answer") or "no")))
            if answer.get("granted") and answer.get("scope"):
                text += " — " + ", ".join(
                    str(label_of(SCOPE_CHOICES, str(s))) for s in answer.get("scope") or []
                )
            entries.append(
                self.entry(label, text, f"consents.{index}.scope", f"consents.{index}.purpose")
            )
        return tuple(entries)

    def narrative(self) -> tuple[Entry, ...]:
        return (self.entry(_("Her account"), self.data.get("narrative"), "narrative", long=True),)


@dataclass(frozen=True, slots=True)
class Candidate:
    text: str
    url: str = ""
    strong: bool = False


def duplicate_notes(actor: Actor, data: Draft) -> list[Candidate]:
    """Is she already known? Files of this unit (by reference, to open) and other units to
    contact (by name only): never anything from another unit's file."""
    survivor = data.get("survivor") or {}
    name = str(survivor.get("full_name") or "")
    phone = str(survivor.get("phone") or "")
    cin = str(survivor.get("cin") or "")
    if not (name.strip() or phone.strip() or cin.strip()):
        return []
    born: date | None = None
    try:
        born = date.fromisoformat(str(survivor.get("date_of_birth") or ""))
    except ValueError:
        born = None
    commune = str(survivor.get("residence_commune_id") or "")
    try:
        result: SearchResult = selectors.duplicate_candidates(
            actor=actor,
            full_name=name,
            phone=phone,
            cin=cin,
            date_of_birth=born,
            age_range=str(survivor.get("age_range") or ""),
            commune_id=int(commune) if commune.isdigit() else None,
        )
    except InvalidInput:
        return []  # a phone or CIN typed wrong: its own message asks to correct it first
    arabic = (get_language() or "").startswith("ar")
    notes = [
        Candidate(
            text=_("A file in your unit may be hers: %(reference)s")
            % {"reference": match.case.reference},
            url=case_url(match.case.pk),
            strong=match.strong,
        )
        for match in result.own
    ]
    notes += [
        Candidate(
            text=_("An earlier contact exists in %(unit)s — contact them.")
            % {"unit": unit.name_ar if arabic and unit.name_ar else unit.name_fr},
            strong=unit.strong,
        )
        for unit in result.elsewhere
    ]
    return notes


# --- pages --------------------------------------------------------------------------------


def _nav(
    draft_id: uuid.UUID, current: str, data: Draft, by_step: Mapping[str, Messages]
) -> list[dict[str, Any]]:
    visited = set(data.get("visited") or [])
    return [
        {
            "step": step,
            "number": number,
            "title": STEP_TITLES[step],
            "current": step == current,
            "attention": step in visited and bool(by_step.get(step)),
            "done": step in visited and not by_step.get(step),
        }
        for number, step in enumerate(INTAKE_STEPS, start=1)
    ]


def _error_summary(forms_: StepForms) -> list[dict[str, Any]]:
    """Every message of the page, with a link to its field (messages that fit no field
    join the ones on top)."""
    item_class = ITEM_FORMS.get(forms_.step)
    summary: list[dict[str, Any]] = []
    for index, form in enumerate(forms_.forms):
        title = item_class.item_title(index + 1) if item_class is not None else ""
        for name, messages_ in form.errors.items():
            if name not in form.fields:
                forms_.top.extend(str(m) for m in messages_)
                continue
            label = (
                form.summary_label(name)
                if isinstance(form, StepForm)
                else str(form.fields[name].label or "")
            )
            summary.append(
                {
                    "id": form[name].auto_id,
                    "label": f"{title} — {label}" if title else label,
                    "messages": [str(m) for m in messages_],
                }
            )
    return summary


def render_step(
    request: HttpRequest,
    actor: Actor,
    draft: IntakeDraft,
    data: Draft,
    step: str,
    *,
    show_all: bool = False,
    extra_errors: Messages | None = None,
    top: Sequence[Message] = (),
    posted: StepForms | None = None,
    status: int = 200,
) -> HttpResponse:
    places = Places.for_draft(data)
    errors = draft_errors(data, places)
    if extra_errors:
        _merge(errors, extra_errors)
    by_step = errors_by_step(errors)
    visited = set(data.get("visited") or [])
    forms_ = posted or forms_from_draft(step, data)
    for form in forms_.forms:
        if "commune" in form.fields:
            _setup_picker(form, places)
    if step != "review" and (show_all or step in visited):
        show_errors(forms_, data, by_step.get(step, {}), hide_blank_items=not show_all)
    else:
        for form in forms_.forms:
            form.show_errors({})
    forms_.top[:0] = [str(message) for message in top]
    error_summary = _error_summary(forms_)
    context: dict[str, Any] = {
        "draft": draft,
        "step": step,
        "step_title": STEP_TITLES[step],
        "step_intro": STEP_INTROS.get(step, ""),
        "step_number": INTAKE_STEPS.index(step) + 1,
        "step_count": len(INTAKE_STEPS),
        "nav": _nav(draft.pk, step, data, by_step),
        "first": step == INTAKE_STEPS[0],
        "forms": forms_,
        "sections": forms_.sections(),
        "top_errors": forms_.top,
        "error_summary": error_summary,
        "is_list": step in ITEM_FORMS,
        "count": len(forms_.forms),
        "add_label": ADD_LABELS.get(step, ""),
        "remove_label": REMOVE_LABELS.get(step, ""),
        "can_add": step in ITEM_FORMS and len(forms_.forms) < ITEM_FORMS[step].MAX_ITEMS,
    }
    if step == "review":
        blocks = Review(data, places, errors).blocks()
        context.update(
            {
                "blocks": blocks,
                "review_errors": [
                    str(message)
                    for messages_ in by_step.get("review", {}).values()
                    for message in messages_
                ],
                "ready": not errors,
                "candidates": duplicate_notes(actor, data),
                "idempotency_key": str(data.get("idempotency_key") or ""),
            }
        )
    return render(request, "cases/intake/step.html", context, status=status)


@require_http_methods(["GET", "POST"])
@intake_view
def intake_start(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Her interviews in progress; a POST starts a new one (a sealed draft with the key
    that will make its submission idempotent)."""
    if request.method == "POST":
        draft = intake_draft_save(
            actor=actor,
            draft_id=None,
            step=INTAKE_STEPS[0],
            data={"idempotency_key": _new_key(), "visited": []},
        )
        return HttpResponseRedirect(_step_url(draft.pk, INTAKE_STEPS[0]))
    drafts = [
        {
            "draft": draft,
            "step_title": STEP_TITLES.get(draft.step, ""),
            "url": _step_url(
                draft.pk, draft.step if draft.step in STEP_TITLES else INTAKE_STEPS[0]
            ),
        }
        for draft in intake_draft_list(actor=actor)
    ]
    return render(request, "cases/intake/start.html", {"drafts": drafts})


@require_http_methods(["GET", "POST"])
@intake_view
def intake_step(request: HttpRequest, actor: Actor, draft_id: uuid.UUID, step: str) -> HttpResponse:
    if step not in STEP_TITLES:
        raise Http404
    draft, data = _load(actor, draft_id)
    if data is None:
        if draft.submitted_case_id is not None:
            return HttpResponseRedirect(case_url(draft.submitted_case_id))
        raise Http404
    if request.method == "GET":
        return render_step(request, actor, draft, data, step)
    return _save_step(request, actor, draft, data, step)


def _edit(step: str, data: Draft, kind: str, argument: str) -> str:
    """Add or remove a list item, or refresh a commune list; the anchor to come back to."""
    if kind == "refresh":
        return f"id_{argument}" if COMMUNE_FIELD.fullmatch(argument) else ""
    item_class = ITEM_FORMS.get(step)
    if item_class is None:
        return ""
    items = data[item_class.KEY]
    if kind == "add" and len(items) < item_class.MAX_ITEMS:
        items.append({})
        return f"{item_class.PREFIX}-{len(items) - 1}"
    if kind == "remove" and argument.isdigit() and int(argument) < len(items):
        del items[int(argument)]
    return ""


def _mark_visited(data: Draft, step: str) -> None:
    visited = [s for s in data.get("visited") or [] if s in STEP_TITLES]
    if step not in visited:
        visited.append(step)
    data["visited"] = visited


def _save_step(
    request: HttpRequest, actor: Actor, draft: IntakeDraft, data: Draft, step: str
) -> HttpResponse:
    kind, _sep, argument = request.POST.get("action", "next").partition(":")
    # "autosave" comes from intake.js as the officer types: saved, nothing else changes.
    editing = kind in {"add", "remove", "refresh", "autosave"}
    write_step(forms_from_post(step, request), data, keep_blank=editing)
    anchor = _edit(step, data, kind, argument) if editing else ""
    if not editing:
        _mark_visited(data, step)
    try:
        draft = intake_draft_save(actor=actor, draft_id=draft.pk, step=step, data=data)
    except InvalidInput as exc:
        # Too much text for one draft, or submitted meanwhile: nothing was saved, so the
        # page shows what was posted, with the reason on top.
        refreshed = intake_draft_load(actor=actor, draft_id=draft.pk)
        if refreshed.submitted_case_id is not None:
            return HttpResponseRedirect(case_url(refreshed.submitted_case_id))
        problem: list[Message] = [exc.message]
        for messages_ in exc.fields.values():
            problem.extend(messages_)
        posted = forms_from_post(step, request)
        return render_step(
            request, actor, draft, data, step, posted=posted, top=problem, status=422
        )
    index = INTAKE_STEPS.index(step)
    target = INTAKE_STEPS[min(index + 1, len(INTAKE_STEPS) - 1)]
    if kind == "autosave":
        return HttpResponse(status=204)
    if editing:
        return HttpResponseRedirect(_step_url(draft.pk, step, anchor))
    if kind == "later":
        messages.success(
            request,
            _("The interview is saved. Resume it from “New intake” when she is ready."),
        )
        return HttpResponseRedirect(reverse("cases:intake_start"))
    if kind == "back":
        target = INTAKE_STEPS[max(0, index - 1)]
    elif kind == "goto" and argument in STEP_TITLES:
        target = argument
    elif step != "review" and errors_by_step(draft_errors(data, Places.for_draft(data))).get(step):
        # "Save and continue" stays on a step while it has something to correct.
        return render_step(request, actor, draft, data, step, show_all=True, status=422)
    return HttpResponseRedirect(_step_url(draft.pk, target))


@require_POST
@intake_view
def intake_submit(request: HttpRequest, actor: Actor, draft_id: uuid.UUID) -> HttpResponse:
    """Open her case from the draft. The key generated when the interview started makes a
    double click, a retry after a time-out or two racing posts open ONE case."""
    draft, data = _load(actor, draft_id)
    if data is None:
        if draft.submitted_case_id is not None:
            return HttpResponseRedirect(case_url(draft.submitted_case_id))
        raise Http404
    key = str(data.get("idempotency_key") or request.POST.get("idempotency_key") or "")
    places = Places.for_draft(data)
    errors = draft_errors(data, places)
    if not errors:
        try:
            case = services.case_open_from_intake(
                actor=actor, data=intake_from_dict(data), idempotency_key=key, draft_id=draft.pk
            )
        except InvalidInput as exc:
            errors = {path: list(m) for path, m in exc.fields.items()} or {"submit": [exc.message]}
        else:
            messages.success(request, _("Her case file is open."))
            return HttpResponseRedirect(case_url(case.pk))
    return render_step(
        request,
        actor,
        draft,
        data,
        "review",
        extra_errors={p: m for p, m in errors.items() if step_of(p) == "review"},
        status=422,
    )


@require_POST
@intake_view
def intake_discard(request: HttpRequest, actor: Actor, draft_id: uuid.UUID) -> HttpResponse:
    """Erase an abandoned interview: its data key is shredded, nothing of it can be read."""
    draft, data = _load(actor, draft_id)
    if data is None and draft.submitted_case_id is not None:
        return HttpResponseRedirect(case_url(draft.submitted_case_id))
    intake_draft_discard(actor=actor, draft_id=draft.pk)
    messages.success(request, _("The interview was discarded and erased."))
    return HttpResponseRedirect(reverse("cases:intake_start"))


@require_POST
@intake_view
def intake_communes(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The commune list of a province, for the picker's htmx refresh (a POST, so the
    province never lands in a URL or a log line)."""
    target = request.POST.get("target", "")
    if not COMMUNE_FIELD.fullmatch(target):
        raise Http404
    prefix = target.removesuffix("commune")
    province = request.POST.get(f"{prefix}province", "")
    return render(
        request,
        "cases/intake/_commune_select.html",
        {"name": target, "id": f"id_{target}", "options": commune_options(province)},
    )
