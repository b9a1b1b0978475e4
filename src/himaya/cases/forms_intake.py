"""Forms of the guided intake: they ask the questions and read back what was typed.

They decide nothing. What the officer typed goes into the draft exactly as typed (dates and
numbers as text), and the domain (``cases.intake.validate_intake``) says what is wrong, on
which field, with the same translated messages the API gives. So nothing typed is ever lost
to a validation error, and there is one set of rules whatever the door.

The draft is the dictionary ``cases.intake.intake_from_dict`` reads, plus a few keys of the
page's own (``idempotency_key``, ``visited``, the province chosen before a commune, the
consent answer "later"), which ``intake_from_dict`` ignores.

"She preferred not to say" is an answer: every question she may decline has a
"She preferred not to say" checkbox (``<name>_declined``) that lists it in the record's
``declined`` field, so a blank only ever means "not asked yet".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.forms.boundfield import BoundField, BoundWidget
from django.forms.utils import ErrorDict
from django.utils.datastructures import MultiValueDict
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from himaya.cases.classification import CaseContext, IncidentAct, ViolenceForm
from himaya.cases.intake import MAX_INCIDENTS, MAX_PEOPLE
from himaya.cases.models import AgeRange, Channel, ConsentPurpose, Gender, Relationship
from himaya.cases.policies import SHARING_PURPOSE, FieldGroup
from himaya.network.models import Language

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

type Draft = dict[str, Any]
#: A message or a label: text, or a lazy translation.
type Label = str | _StrPromise
type Choices = Sequence[tuple[str, Label]]

MSG_BOTH = _("Either write her answer or tick “She preferred not to say”, not both.")
MSG_COMMUNE_PROVINCE = _(
    "This commune is not in the province chosen. Choose the commune again from the list."
)
DECLINED_LABEL = _("She preferred not to say")

# --- plain words --------------------------------------------------------------------------

#: Law 103-13's forms of violence, explained as an officer would say them to her.
FORM_HINTS: dict[str, Label] = {
    ViolenceForm.PHYSICAL: _(
        "Any act that hurts her body: hitting, slapping, pushing, burning, injuring, "
        "locking her in."
    ),
    ViolenceForm.SEXUAL: _(
        "Any sexual act, touching or words imposed on her, including by her husband, and "
        "sexual harassment."
    ),
    ViolenceForm.PSYCHOLOGICAL: _(
        "Insults, threats, humiliation, constant control, intimidation, keeping her from "
        "her family, threatening to take the children."
    ),
    ViolenceForm.ECONOMIC: _(
        "Taking or keeping her money, wages, property or papers; refusing maintenance "
        "(nafaqa); stopping her from working."
    ),
    ViolenceForm.TECHNOLOGY: _(
        "Harassment or threats by phone or online, or her pictures or words spread without "
        "her agreement."
    ),
}

#: What each consent purpose means for her, in plain words.
PURPOSE_HINTS: dict[str, Label] = {
    ConsentPurpose.SHARE_PROSECUTOR: _(
        "The prosecutor's office receives what she chooses below, to examine her complaint "
        "and ask for protection measures."
    ),
    ConsentPurpose.SHARE_SHELTER: _(
        "A shelter receives what she chooses below, to offer her (and her children) a safe "
        "place to stay."
    ),
    ConsentPurpose.SHARE_HEALTH: _(
        "A hospital unit for women victims of violence receives what she chooses below, to "
        "care for her and write a medical certificate."
    ),
    ConsentPurpose.SHARE_LEGAL_AID: _(
        "A lawyer or legal aid service receives what she chooses below, to advise and "
        "represent her."
    ),
    ConsentPurpose.SHARE_PSYCHOSOCIAL: _(
        "A psychologist or social worker receives what she chooses below, to support her."
    ),
    ConsentPurpose.SHARE_NGO: _(
        "An association that supports women receives what she chooses below, to accompany her."
    ),
    ConsentPurpose.CONTACT_PHONE: _(
        "The unit may call her about her case, following her safe-contact preferences."
    ),
    ConsentPurpose.CONTACT_SMS: _(
        "The unit may send her text messages, following her safe-contact preferences."
    ),
    ConsentPurpose.STATISTICS: _(
        "Her case is counted in statistics that never name her or show anything that "
        "identifies her."
    ),
}

SCOPE_CHOICES: Choices = [
    (FieldGroup.IDENTITY, _("Who she is (name, CIN, date of birth)")),
    (FieldGroup.CONTACT, _("How to reach her (phone, address, safe-contact preferences)")),
    (FieldGroup.INCIDENTS, _("What happened, when and where")),
    (FieldGroup.PERPETRATORS, _("Who did it")),
    (FieldGroup.NARRATIVE, _("Her account, in her own words")),
    (FieldGroup.EVIDENCE, _("Evidence (photos, certificates)")),
    (FieldGroup.DEPENDANTS, _("Her children and other dependants")),
]

CONSENT_ANSWERS: Choices = [
    ("yes", _("She agrees")),
    ("no", _("She does not agree")),
    ("later", _("She wants to decide later (recorded as not agreed)")),
]

SAFE_CHANNELS: Choices = [
    ("phone_call", _("Phone call")),
    ("sms", _("Text message (SMS)")),
    ("in_person", _("Only in person, when she comes to the unit")),
    ("trusted_person", _("Through a person she trusts")),
    ("no_contact", _("Do not contact her")),
]

DEPENDANT_RELATIONSHIPS: Choices = [
    ("child", _("Her child")),
    ("stepchild", _("Her partner's child")),
    ("sibling", _("Her brother or sister")),
    ("other", _("Another dependant")),
]

YES_NO: Choices = [("yes", _("Yes")), ("no", _("No"))]

DATE_KINDS: Choices = [
    ("day", _("On a day she knows")),
    ("period", _("Some time in a period (she does not know the exact day)")),
]


def _blank(label: Label) -> list[tuple[str, Label]]:
    return [("", label)]


def label_of(choices: Iterable[tuple[str, Label]], value: object) -> Label:
    """The label of ``value`` among ``choices``; the value itself when it is not one."""
    for key, label in choices:
        if key == value:
            return label
    return str(value)


# --- fields that render but never judge ---------------------------------------------------


def text(
    label: Label,
    help_text: Label = "",
    *,
    max_length: int | None = None,
    widget: forms.Widget | None = None,
) -> forms.CharField:
    field = forms.CharField(
        label=label,
        help_text=help_text,
        required=False,
        widget=widget or forms.TextInput(),
    )
    attrs = field.widget.attrs
    ltr = attrs.get("type") in {"tel", "date"} or attrs.get("inputmode") == "numeric"
    if not ltr and "ltr" not in attrs.get("class", ""):
        # A name or her words may be typed in Arabic or in Latin letters, whatever the
        # page's language: each box takes the direction of what is typed in it.
        attrs.setdefault("dir", "auto")
    if max_length is not None:
        # The browser stops at the domain's limit; the domain still checks it.
        field.widget.attrs["maxlength"] = str(max_length)
    return field


def choice(
    label: Label, choices: Choices, help_text: Label = "", *, radio: bool = False
) -> forms.CharField:
    widget: forms.Widget = (
        forms.RadioSelect(choices=choices) if radio else forms.Select(choices=choices)
    )
    return forms.CharField(label=label, help_text=help_text, required=False, widget=widget)


def several(label: Label, choices: Choices, help_text: Label = "") -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label,
        help_text=help_text,
        required=False,
        choices=choices,
        widget=forms.CheckboxSelectMultiple,
    )


def flag(label: Label = DECLINED_LABEL, help_text: Label = "") -> forms.BooleanField:
    return forms.BooleanField(label=label, help_text=help_text, required=False)


def date_input(label: Label, help_text: Label = "") -> forms.CharField:
    return text(label, help_text, widget=forms.DateInput(attrs={"type": "date"}))


def phone_input(label: Label, help_text: Label = "") -> forms.CharField:
    return text(label, help_text, max_length=32, widget=forms.TextInput(attrs={"type": "tel"}))


def number_input(label: Label, help_text: Label = "") -> forms.CharField:
    return text(
        label,
        help_text,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "pattern": "[0-9]*", "size": "4", "maxlength": "3"}
        ),
    )


# --- how a page is laid out ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Option:
    """One radio button or checkbox, with its plain-words explanation."""

    widget: BoundWidget
    hint: Label = ""


@dataclass(frozen=True, slots=True)
class Row:
    """One question: its field, the "she preferred not to say" box, and how to draw it.

    ``kind``: ``input`` (text, date, select, textarea), ``radio`` or ``checks`` (a group in a
    fieldset), ``check`` (a single yes/no box), ``commune`` (province then commune)."""

    kind: str
    field: BoundField
    declined: BoundField | None = None
    options: tuple[Option, ...] = ()
    province: BoundField | None = None


@dataclass(frozen=True, slots=True)
class Section:
    title: Label
    rows: tuple[Row, ...]
    intro: Label = ""
    #: The form of a list item (its prefix and position) for the "remove" button.
    item: int | None = None
    anchor: str = ""
    #: An extra class for the page's stylesheet.
    css: str = ""


def _raw(value: object) -> object:
    """A draft value as form data: text as is, booleans as a ticked box, lists as lists."""
    if value is True:
        return "on"
    if value is False or value is None:
        return ""
    if isinstance(value, list):
        return [str(item) for item in value]
    return str(value)


def as_data(values: Mapping[str, object], prefix: str | None = None) -> MultiValueDict[str, Any]:
    data: MultiValueDict[str, Any] = MultiValueDict()
    for name, value in values.items():
        key = f"{prefix}-{name}" if prefix else name
        raw = _raw(value)
        if isinstance(raw, list):
            data.setlist(key, raw)
        elif raw != "":
            data[key] = raw
    return data


class IntakeForm(forms.Form):
    """A form that renders and reads back; the domain validates (see the module docstring).

    ``full_clean`` does nothing on purpose: errors are the domain's, added with
    ``show_errors``, so a value the domain accepts is never refused by a form rule."""

    #: Declinable fields: form field → the name the record lists in ``declined``.
    DECLINABLE: ClassVar[Mapping[str, str]] = {}
    #: Plain-words explanations of options, by field and value.
    HINTS: ClassVar[Mapping[str, Mapping[str, Label]]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for name in self.DECLINABLE:
            self.fields[f"{name}_declined"] = flag()

    def full_clean(self) -> None:
        self._errors = ErrorDict()
        self.cleaned_data = {}

    def show_errors(self, errors: Mapping[str, Sequence[str | Promise]]) -> None:
        """Put messages on their fields (unknown names go on top of the form)."""
        self.full_clean()
        for name, messages in errors.items():
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, str(message))

    def value(self, name: str) -> Any:
        """What was typed or ticked, as the widget reads it (never cleaned)."""
        data = self[name].data
        if isinstance(data, str):
            return data.strip()
        return data

    def declined_names(self) -> list[str]:
        return [
            record_name
            for name, record_name in self.DECLINABLE.items()
            if self.value(f"{name}_declined")
        ]

    def row(self, name: str, *, kind: str | None = None) -> Row:
        bound = self[name]
        widget = bound.field.widget
        if kind is None:
            if isinstance(widget, forms.CheckboxSelectMultiple):
                kind = "checks"
            elif isinstance(widget, forms.RadioSelect):
                kind = "radio"
            elif isinstance(widget, forms.CheckboxInput):
                kind = "check"
            else:
                kind = "input"
        hints = self.HINTS.get(name, {})
        options: tuple[Option, ...] = ()
        if kind in {"radio", "checks"}:
            options = tuple(
                Option(widget=sub, hint=hints.get(str(sub.data["value"]), ""))
                for sub in bound.subwidgets
            )
        declined = self[f"{name}_declined"] if name in self.DECLINABLE else None
        return Row(kind=kind, field=bound, declined=declined, options=options)

    def commune_row(self, commune: str = "commune", province: str = "province") -> Row:
        row = self.row(commune)
        return Row(kind="commune", field=row.field, declined=row.declined, province=self[province])


class StepForm(IntakeForm):
    """The one form of a step that is not a list (conditions, survivor, contact, consent,
    narrative)."""

    #: Domain paths → fields.
    PATHS: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def data_from(cls, draft: Draft) -> MultiValueDict[str, Any]:
        """The draft as form data, to show it as saved."""
        raise NotImplementedError

    def write(self, draft: Draft) -> None:
        """Copy what was typed into the draft."""
        raise NotImplementedError

    def sections(self) -> list[Section]:
        raise NotImplementedError

    def summary_label(self, name: str) -> str:
        """How the list of errors on top of the page names a field."""
        return str(self.fields[name].label or "")


def declined_data(declined: Iterable[str], mapping: Mapping[str, str]) -> dict[str, bool]:
    """The ``<field>_declined`` boxes to tick for the names a record lists as declined."""
    listed = set(declined)
    return {f"{field}_declined": True for field, name in mapping.items() if name in listed}


def conflicts(
    values: Mapping[str, object], declined: Iterable[str], mapping: Mapping[str, str]
) -> dict[str, list[Label]]:
    """Fields both answered and marked as declined: the officer must choose one."""
    listed = set(declined)
    found: dict[str, list[Label]] = {}
    for field, name in mapping.items():
        value = values.get(field)
        # False is an answer ("no"); only nothing typed or ticked is no answer.
        if name in listed and value is not None and value not in ("", []):
            found[field] = [MSG_BOTH]
    return found


def _text_of(mapping: Mapping[str, Any], key: str) -> str:
    value = mapping.get(key)
    return "" if value is None else str(value)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


# --- step 1: how she is heard -------------------------------------------------------------


class ConditionsForm(StepForm):
    channel = choice(
        _("How did she first reach the unit?"),
        _blank(_("Choose…")) + list(Channel.choices),
    )
    private_room = choice(
        _("Is she heard in a private room, where nobody else can hear?"), YES_NO, radio=True
    )
    interviewer_gender = choice(_("The officer interviewing her is"), Gender.choices, radio=True)
    interviewer_gender_chosen = flag(
        _("She chose whether a woman or a man would interview her"),
        _("Tick if she was asked and chose."),
    )
    interpreter_language = choice(
        _("Interpreter"),
        _blank(_("No interpreter")) + list(Language.choices),
        _("The language the interpreter translates, if there is one."),
    )
    others_present = text(
        _("Who else is present, with her agreement"),
        _("For example: her sister, a social worker. Leave empty if nobody."),
        max_length=2000,
    )

    #: Domain paths → fields.
    PATHS: ClassVar[Mapping[str, str]] = {
        "channel": "channel",
        "interview.private_room": "private_room",
        "interview.interviewer_gender": "interviewer_gender",
        "interview.interpreter_language": "interpreter_language",
        "interview.others_present": "others_present",
    }

    @classmethod
    def data_from(cls, draft: Draft) -> MultiValueDict[str, Any]:
        interview = _mapping(draft.get("interview"))
        return as_data(
            {
                "channel": draft.get("channel"),
                "private_room": interview.get("private_room"),
                "interviewer_gender": interview.get("interviewer_gender"),
                "interviewer_gender_chosen": bool(interview.get("interviewer_gender_chosen")),
                "interpreter_language": interview.get("interpreter_language"),
                "others_present": interview.get("others_present"),
            }
        )

    def write(self, draft: Draft) -> None:
        draft["channel"] = self.value("channel") or ""
        draft["interview"] = {
            "private_room": self.value("private_room") or "",
            "interviewer_gender": self.value("interviewer_gender") or "",
            "interviewer_gender_chosen": bool(self.value("interviewer_gender_chosen")),
            "interpreter_language": self.value("interpreter_language") or "",
            "others_present": self.value("others_present") or "",
        }

    def sections(self) -> list[Section]:
        return [
            Section(
                title=_("How she came"),
                rows=(self.row("channel"),),
            ),
            Section(
                title=_("Where and by whom she is heard"),
                intro=_(
                    "Offer her a private room and the choice of a woman or a man to interview "
                    "her. Nobody else stays without her agreement."
                ),
                rows=(
                    self.row("private_room"),
                    self.row("interviewer_gender"),
                    self.row("interviewer_gender_chosen"),
                    self.row("interpreter_language"),
                    self.row("others_present"),
                ),
            ),
        ]


# --- step 2: who she is -------------------------------------------------------------------


class SurvivorForm(StepForm):
    full_name = text(_("Her full name"), max_length=200)
    cin = text(
        _("National ID (CIN)"),
        _("One or two letters and up to six digits, like BK123456."),
        max_length=16,
        widget=forms.TextInput(attrs={"class": "ltr", "autocapitalize": "characters"}),
    )
    phone = phone_input(_("Her phone number"), _("Like 0612345678 or +212612345678."))
    date_of_birth = date_input(_("Date of birth"))
    age_range = choice(
        _("Age"),
        _blank(_("Choose…")) + [c for c in AgeRange.choices if c[0] != AgeRange.UNKNOWN],
        _("Only if she does not know her date of birth."),
    )
    address = text(_("Address"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    province = choice(_("Province or prefecture where she lives"), _blank(_("Choose…")))
    commune = choice(_("Commune where she lives"), _blank(_("Choose the province first")))
    preferred_language = choice(
        _("Language she prefers to be spoken to in"),
        _blank(_("Choose…")) + list(Language.choices),
    )

    DECLINABLE: ClassVar[Mapping[str, str]] = {
        "full_name": "full_name",
        "cin": "cin",
        "phone": "phone",
        "date_of_birth": "date_of_birth",
        "age_range": "age_range",
        "address": "address",
        "commune": "residence_commune",
        "preferred_language": "preferred_language",
    }
    PATHS: ClassVar[Mapping[str, str]] = {
        "survivor.full_name": "full_name",
        "survivor.cin": "cin",
        "survivor.phone": "phone",
        "survivor.date_of_birth": "date_of_birth",
        "survivor.age_range": "age_range",
        "survivor.address": "address",
        "survivor.residence_commune_id": "commune",
        "survivor.preferred_language": "preferred_language",
    }
    #: Draft keys of the survivor record for each form field.
    KEYS: ClassVar[Mapping[str, str]] = {
        "full_name": "full_name",
        "cin": "cin",
        "phone": "phone",
        "date_of_birth": "date_of_birth",
        "age_range": "age_range",
        "address": "address",
        "province": "residence_province",
        "commune": "residence_commune_id",
        "preferred_language": "preferred_language",
    }

    @classmethod
    def data_from(cls, draft: Draft) -> MultiValueDict[str, Any]:
        survivor = _mapping(draft.get("survivor"))
        values: dict[str, object] = {field: survivor.get(key) for field, key in cls.KEYS.items()}
        if values.get("age_range") == AgeRange.UNKNOWN:
            values["age_range"] = ""
        values.update(declined_data(_list(survivor.get("declined")), cls.DECLINABLE))
        return as_data(values)

    def write(self, draft: Draft) -> None:
        survivor = dict(_mapping(draft.get("survivor")))
        for field, key in self.KEYS.items():
            survivor[key] = self.value(field) or ""
        survivor["declined"] = self.declined_names()
        draft["survivor"] = survivor

    @classmethod
    def conflicts_in(cls, draft: Draft) -> dict[str, list[Label]]:
        survivor = _mapping(draft.get("survivor"))
        values = {field: survivor.get(key) for field, key in cls.KEYS.items()}
        found = conflicts(values, _list(survivor.get("declined")), cls.DECLINABLE)
        reverse = {field: path for path, field in cls.PATHS.items()}
        return {reverse[field]: messages for field, messages in found.items()}

    def sections(self) -> list[Section]:
        return [
            Section(
                title=_("Who she is"),
                intro=_(
                    "Ask only what she is ready to say. Every answer can be “She preferred "
                    "not to say”."
                ),
                rows=(
                    self.row("full_name"),
                    self.row("cin"),
                    self.row("phone"),
                    self.row("date_of_birth"),
                    self.row("age_range"),
                    self.row("preferred_language"),
                ),
            ),
            Section(
                title=_("Where she lives"),
                rows=(self.row("address"), self.commune_row()),
            ),
        ]


# --- step 3: how to reach her safely ------------------------------------------------------


class ContactForm(StepForm):
    channel = choice(_("How may the unit contact her?"), SAFE_CHANNELS, radio=True)
    phone = phone_input(
        _("A safe number to reach her, if different from her own"),
        _("Like 0612345678 or +212612345678."),
    )
    safe_times = text(
        _("When is it safe to contact her?"),
        _("For example: weekdays between 10:00 and 12:00, when he is at work."),
        max_length=300,
    )
    may_leave_message = choice(
        _("May a message be left (voicemail, text, with someone who answers)?"),
        YES_NO,
        radio=True,
    )
    code_word = text(
        _("Code word"),
        _(
            "A word to say at the start of a call so she knows it is the unit and can tell "
            "you whether it is safe to talk."
        ),
        max_length=100,
    )
    notes = text(
        _("Anything else to know before contacting her"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
    )

    DECLINABLE: ClassVar[Mapping[str, str]] = {
        "channel": "channel",
        "phone": "phone",
        "safe_times": "safe_times",
        "may_leave_message": "may_leave_message",
        "code_word": "code_word",
    }
    PATHS: ClassVar[Mapping[str, str]] = {
        "survivor.safe_contact.phone": "phone",
        "survivor.safe_contact.channel": "channel",
        "survivor.safe_contact.safe_times": "safe_times",
        "survivor.safe_contact.may_leave_message": "may_leave_message",
        "survivor.safe_contact.code_word": "code_word",
    }

    @classmethod
    def data_from(cls, draft: Draft) -> MultiValueDict[str, Any]:
        contact = _mapping(_mapping(draft.get("survivor")).get("safe_contact"))
        values: dict[str, object] = {
            name: contact.get(name)
            for name in ("channel", "phone", "safe_times", "code_word", "notes")
        }
        leave = contact.get("may_leave_message")
        values["may_leave_message"] = "" if leave is None else ("yes" if leave else "no")
        values.update(declined_data(_list(contact.get("declined")), cls.DECLINABLE))
        return as_data(values)

    def write(self, draft: Draft) -> None:
        survivor = dict(_mapping(draft.get("survivor")))
        contact: dict[str, Any] = {}
        for name in ("channel", "phone", "safe_times", "code_word", "notes"):
            if value := self.value(name):
                contact[name] = value
        leave = self.value("may_leave_message")
        if leave in {"yes", "no"}:
            contact["may_leave_message"] = leave == "yes"
        elif leave:
            contact["may_leave_message"] = leave  # refused by the domain, shown on the field
        if declined := self.declined_names():
            contact["declined"] = declined
        survivor["safe_contact"] = contact or None
        draft["survivor"] = survivor

    @classmethod
    def conflicts_in(cls, draft: Draft) -> dict[str, list[Label]]:
        contact = _mapping(_mapping(draft.get("survivor")).get("safe_contact"))
        found = conflicts(contact, _list(contact.get("declined")), cls.DECLINABLE)
        return {f"survivor.safe_contact.{field}": messages for field, messages in found.items()}

    def sections(self) -> list[Section]:
        return [
            Section(
                title=_("Reaching her safely"),
                intro=_(
                    "A call or a message at the wrong moment can put her in danger. Ask how, "
                    "when and whether the unit may contact her."
                ),
                rows=(
                    self.row("channel"),
                    self.row("phone"),
                    self.row("safe_times"),
                    self.row("may_leave_message"),
                    self.row("code_word"),
                    self.row("notes"),
                ),
            )
        ]


# --- list steps: incidents, perpetrators, dependants --------------------------------------


class ItemForm(IntakeForm):
    """One item of a list step (an incident, a perpetrator, a dependant)."""

    #: The draft's list key, the forms' prefix, the most items, the item's title.
    KEY: ClassVar[str]
    PREFIX: ClassVar[str]
    MAX_ITEMS: ClassVar[int]
    PATHS: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def data_from(cls, item: Mapping[str, Any]) -> dict[str, object]:
        raise NotImplementedError

    def item(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def is_blank(cls, item: Mapping[str, Any]) -> bool:
        raise NotImplementedError

    @classmethod
    def conflicts_of(cls, item: Mapping[str, Any]) -> dict[str, list[Label]]:
        raise NotImplementedError

    @classmethod
    def item_title(cls, number: int) -> str:
        raise NotImplementedError

    def item_sections(self, index: int) -> list[Section]:
        raise NotImplementedError


class IncidentForm(ItemForm):
    KEY = "incidents"
    PREFIX = "inc"
    MAX_ITEMS = MAX_INCIDENTS

    date_kind = choice(_("When did it happen?"), DATE_KINDS, radio=True)
    occurred_on = date_input(_("Day"))
    occurred_from = date_input(_("From (first possible day)"))
    occurred_to = date_input(_("To (last possible day)"))
    province = choice(_("Province or prefecture where it happened"), _blank(_("Choose…")))
    commune = choice(_("Commune where it happened"), _blank(_("Choose the province first")))
    forms = several(
        _("Forms of violence she describes (Law 103-13)"),
        ViolenceForm.choices,
        _("Tick every form she describes; several can apply."),
    )
    acts = several(
        _("What happened, more precisely (optional)"),
        IncidentAct.choices,
        _("Used for the international (GBVIMS) classification. Tick only what she said."),
    )
    context = several(_("Context"), CaseContext.choices)

    DECLINABLE: ClassVar[Mapping[str, str]] = {
        "date_kind": "date",
        "commune": "commune",
        "forms": "forms",
        "acts": "acts",
        "context": "context",
    }
    HINTS: ClassVar[Mapping[str, Mapping[str, Label]]] = {"forms": FORM_HINTS}
    PATHS: ClassVar[Mapping[str, str]] = {
        "occurred_on": "occurred_on",
        "occurred_from": "occurred_from",
        "occurred_to": "occurred_to",
        "commune_id": "commune",
        "forms": "forms",
        "acts": "acts",
        "context": "context",
        "date": "date_kind",
    }

    @classmethod
    def data_from(cls, item: Mapping[str, Any]) -> dict[str, object]:
        kind = _text_of(item, "date_kind")
        if not kind:
            kind = "period" if item.get("occurred_from") or item.get("occurred_to") else "day"
        values: dict[str, object] = {
            "date_kind": kind,
            "occurred_on": item.get("occurred_on"),
            "occurred_from": item.get("occurred_from"),
            "occurred_to": item.get("occurred_to"),
            "province": item.get("province"),
            "commune": item.get("commune_id"),
            "forms": _list(item.get("forms")),
            "acts": _list(item.get("acts")),
            "context": _list(item.get("context")),
        }
        values.update(declined_data(_list(item.get("declined")), cls.DECLINABLE))
        return values

    def item(self) -> dict[str, Any]:
        declined = self.declined_names()
        kind = self.value("date_kind") or "day"
        on, start, end = (
            self.value("occurred_on") or "",
            self.value("occurred_from") or "",
            self.value("occurred_to") or "",
        )
        # Only the kind of date chosen is kept: a day, or a period. A declined date keeps
        # what was typed so the officer sees the conflict instead of losing it.
        if "date" not in declined:
            if kind == "day":
                start = end = ""
            else:
                on = ""
        return {
            "date_kind": kind,
            "occurred_on": on,
            "occurred_from": start,
            "occurred_to": end,
            "province": self.value("province") or "",
            "commune_id": self.value("commune") or "",
            "forms": list(self.value("forms") or []),
            "acts": list(self.value("acts") or []),
            "context": list(self.value("context") or []),
            "declined": declined,
        }

    @classmethod
    def is_blank(cls, item: Mapping[str, Any]) -> bool:
        return not any(
            item.get(key)
            for key in (
                "occurred_on",
                "occurred_from",
                "occurred_to",
                "province",
                "commune_id",
                "forms",
                "acts",
                "context",
                "declined",
            )
        )

    @classmethod
    def conflicts_of(cls, item: Mapping[str, Any]) -> dict[str, list[Label]]:
        declined = _list(item.get("declined"))
        found: dict[str, list[Label]] = {}
        if "date" in declined and any(
            item.get(k) for k in ("occurred_on", "occurred_from", "occurred_to")
        ):
            found["date"] = [MSG_BOTH]
        values = {
            "commune": item.get("commune_id"),
            **{k: item.get(k) for k in ("forms", "acts", "context")},
        }
        for field, messages in conflicts(
            values, declined, {k: v for k, v in cls.DECLINABLE.items() if k != "date_kind"}
        ).items():
            found["commune_id" if field == "commune" else field] = messages
        return found

    @classmethod
    def item_title(cls, number: int) -> str:
        return gettext("Incident %(number)s") % {"number": number}

    def item_sections(self, index: int) -> list[Section]:
        return [
            Section(
                title=self.item_title(index + 1),
                item=index,
                anchor=f"{self.PREFIX}-{index}",
                rows=(
                    self.row("date_kind"),
                    self.row("occurred_on"),
                    self.row("occurred_from"),
                    self.row("occurred_to"),
                    self.commune_row(),
                    self.row("forms"),
                    self.row("acts"),
                    self.row("context"),
                ),
            )
        ]


class PerpetratorForm(ItemForm):
    KEY = "perpetrators"
    PREFIX = "per"
    MAX_ITEMS = MAX_PEOPLE

    relationship = choice(_("Who is he to her?"), _blank(_("Choose…")) + list(Relationship.choices))
    full_name = text(_("His name"), max_length=200)
    cin = text(
        _("His national ID (CIN)"),
        _("One or two letters and up to six digits, like BK123456."),
        max_length=16,
        widget=forms.TextInput(attrs={"class": "ltr", "autocapitalize": "characters"}),
    )
    phone = phone_input(_("His phone number"), _("Like 0612345678 or +212612345678."))
    age_range = choice(
        _("His age"),
        _blank(_("Unknown")) + [c for c in AgeRange.choices if c[0] != AgeRange.UNKNOWN],
    )
    number_involved = number_input(_("How many men were involved"), _("1 if he acted alone."))

    DECLINABLE: ClassVar[Mapping[str, str]] = {
        "full_name": "full_name",
        "cin": "cin",
        "phone": "phone",
        "age_range": "age_range",
    }
    PATHS: ClassVar[Mapping[str, str]] = {
        name: name
        for name in ("relationship", "full_name", "cin", "phone", "age_range", "number_involved")
    }

    @classmethod
    def data_from(cls, item: Mapping[str, Any]) -> dict[str, object]:
        values: dict[str, object] = {
            name: item.get(name)
            for name in (
                "relationship",
                "full_name",
                "cin",
                "phone",
                "age_range",
                "number_involved",
            )
        }
        if values["age_range"] == AgeRange.UNKNOWN:
            values["age_range"] = ""
        values.update(declined_data(_list(item.get("declined")), cls.DECLINABLE))
        return values

    def item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            name: self.value(name) or ""
            for name in ("relationship", "full_name", "cin", "phone", "age_range")
        }
        item["number_involved"] = self.value("number_involved") or "1"
        item["declined"] = self.declined_names()
        return item

    @classmethod
    def is_blank(cls, item: Mapping[str, Any]) -> bool:
        return (
            not any(
                item.get(k)
                for k in ("relationship", "full_name", "cin", "phone", "age_range", "declined")
            )
            and str(item.get("number_involved") or "1") == "1"
        )

    @classmethod
    def conflicts_of(cls, item: Mapping[str, Any]) -> dict[str, list[Label]]:
        return conflicts(item, _list(item.get("declined")), cls.DECLINABLE)

    @classmethod
    def item_title(cls, number: int) -> str:
        return gettext("Alleged perpetrator %(number)s") % {"number": number}

    def item_sections(self, index: int) -> list[Section]:
        return [
            Section(
                title=self.item_title(index + 1),
                item=index,
                anchor=f"{self.PREFIX}-{index}",
                rows=tuple(
                    self.row(name)
                    for name in (
                        "relationship",
                        "full_name",
                        "cin",
                        "phone",
                        "age_range",
                        "number_involved",
                    )
                ),
            )
        ]


class DependantForm(ItemForm):
    KEY = "dependants"
    PREFIX = "dep"
    MAX_ITEMS = MAX_PEOPLE

    first_name = text(_("First name"), max_length=100)
    age = number_input(_("Age"), _("In years."))
    relationship = choice(
        _("Who is this to her?"), _blank(_("Choose…")) + list(DEPENDANT_RELATIONSHIPS)
    )
    at_risk = flag(_("At risk"), _("Untick if this child or dependant is not at risk."))

    DECLINABLE: ClassVar[Mapping[str, str]] = {
        "first_name": "first_name",
        "age": "age",
        "relationship": "relationship",
    }
    PATHS: ClassVar[Mapping[str, str]] = {
        "first_name": "first_name",
        "age": "age",
        "relationship": "relationship",
    }

    @classmethod
    def data_from(cls, item: Mapping[str, Any]) -> dict[str, object]:
        values: dict[str, object] = {
            "first_name": item.get("first_name"),
            "age": item.get("age"),
            "relationship": item.get("relationship"),
            "at_risk": bool(item.get("at_risk", True)),
        }
        values.update(declined_data(_list(item.get("declined")), cls.DECLINABLE))
        return values

    def item(self) -> dict[str, Any]:
        return {
            "first_name": self.value("first_name") or "",
            "age": self.value("age") or "",
            "relationship": self.value("relationship") or "",
            "at_risk": bool(self.value("at_risk")),
            "declined": self.declined_names(),
        }

    @classmethod
    def is_blank(cls, item: Mapping[str, Any]) -> bool:
        return not any(item.get(k) for k in ("first_name", "age", "relationship", "declined"))

    @classmethod
    def conflicts_of(cls, item: Mapping[str, Any]) -> dict[str, list[Label]]:
        return conflicts(item, _list(item.get("declined")), cls.DECLINABLE)

    @classmethod
    def item_title(cls, number: int) -> str:
        return gettext("Child or dependant %(number)s") % {"number": number}

    def item_sections(self, index: int) -> list[Section]:
        return [
            Section(
                title=self.item_title(index + 1),
                item=index,
                anchor=f"{self.PREFIX}-{index}",
                rows=tuple(
                    self.row(name) for name in ("first_name", "age", "relationship", "at_risk")
                ),
            )
        ]


# --- consent ------------------------------------------------------------------------------

#: Purposes in the order she is asked: sharing first (what the unit will ask soonest).
PURPOSES: tuple[str, ...] = tuple(ConsentPurpose.values)
SHARING: frozenset[str] = frozenset(SHARING_PURPOSE.values())


class ConsentForm(StepForm):
    """One answer per purpose, and for sharing, what may be shared."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for purpose in PURPOSES:
            self.fields[purpose] = choice(_("Her answer"), CONSENT_ANSWERS, radio=True)
            if purpose in SHARING:
                self.fields[f"{purpose}_scope"] = several(
                    _("If she agrees: what may be shared"), SCOPE_CHOICES
                )

    @classmethod
    def data_from(cls, draft: Draft) -> MultiValueDict[str, Any]:
        values: dict[str, object] = {}
        for raw in _list(draft.get("consents")):
            consent = _mapping(raw)
            purpose = _text_of(consent, "purpose")
            answer = _text_of(consent, "answer") or ("yes" if consent.get("granted") else "no")
            values[purpose] = answer
            if purpose in SHARING:
                values[f"{purpose}_scope"] = _list(consent.get("scope"))
        return as_data(values)

    def write(self, draft: Draft) -> None:
        consents = []
        for purpose in PURPOSES:
            answer = self.value(purpose)
            if not answer:
                continue  # not asked yet: nothing recorded, nothing shared
            consent: dict[str, Any] = {
                "purpose": purpose,
                "answer": answer,
                "granted": answer == "yes",
                "scope": [],
            }
            if purpose in SHARING and answer == "yes":
                consent["scope"] = list(self.value(f"{purpose}_scope") or [])
            consents.append(consent)
        draft["consents"] = consents

    def summary_label(self, name: str) -> str:
        purpose = name.removesuffix("_scope")
        return f"{label_of(ConsentPurpose.choices, purpose)} — {super().summary_label(name)}"

    def sections(self) -> list[Section]:
        sections = []
        for purpose in PURPOSES:
            rows = [self.row(purpose)]
            if purpose in SHARING:
                rows.append(self.row(f"{purpose}_scope"))
            sections.append(
                Section(
                    title=label_of(ConsentPurpose.choices, purpose),
                    intro=PURPOSE_HINTS.get(purpose, ""),
                    rows=tuple(rows),
                    anchor=f"consent-{purpose}",
                    css="intake-consent",
                )
            )
        return sections


# --- her account --------------------------------------------------------------------------


class NarrativeForm(StepForm):
    narrative = text(
        _("Her account, in her own words"),
        _(
            "Write it once, as she tells it, in her words. It is sealed: only your unit, and "
            "the services she agrees to, can read it. She will not have to tell it again."
        ),
        widget=forms.Textarea(attrs={"rows": 14}),
        max_length=20000,
    )

    PATHS: ClassVar[Mapping[str, str]] = {"narrative": "narrative"}

    @classmethod
    def data_from(cls, draft: Draft) -> MultiValueDict[str, Any]:
        return as_data({"narrative": draft.get("narrative")})

    def write(self, draft: Draft) -> None:
        # Her words as typed: only the ends are trimmed, and browsers' CR LF become LF.
        draft["narrative"] = (self.value("narrative") or "").replace("\r\n", "\n")

    def sections(self) -> list[Section]:
        return [Section(title=_("Her account"), rows=(self.row("narrative"),))]
