"""The intake interview as data: what the unit records when she first comes, validated whole.

``IntakeData`` is a plain typed structure (no form or schema library): pages build it from
their forms, the API from its input schema, drafts from their saved JSON
(``intake_from_dict``). ``cases.services.case_open_from_intake`` validates it with
``validate_intake`` and opens the case from it in one transaction.

Validation collects every problem at once and raises one ``InvalidInput`` whose ``fields``
name each field by its dotted path (``survivor.phone``, ``incidents.0.occurred_on``) with a
translated message; messages never repeat the value typed.

Drafts (``intake_draft_save``, ``intake_draft_load``, ``intake_draft_discard``) keep an
interview in progress sealed with the data key that will become hers, so nothing typed is
ever stored in clear, and an abandoned draft is erased by shredding that key.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import phonenumbers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from himaya.cases import policies
from himaya.cases.classification import CaseContext, IncidentAct, ViolenceForm
from himaya.cases.models import (
    AgeRange,
    Channel,
    ConsentPurpose,
    Gender,
    IntakeDraft,
    LegalBasis,
    Relationship,
    TriState,
)
from himaya.cases.policies import Action, FieldGroup
from himaya.core import audit
from himaya.core.actor import Actor
from himaya.core.crypto import data_key_create
from himaya.core.errors import InvalidInput, NotFound, PermissionDenied
from himaya.core.models import DataKey
from himaya.core.names import is_valid_cin, normalize_cin
from himaya.core.shredding import data_key_shred
from himaya.geo.models import Commune
from himaya.network.index import get_index
from himaya.network.models import Language

__all__ = [
    "INTAKE_STEPS",
    "ConsentData",
    "DependantData",
    "IncidentData",
    "IntakeData",
    "InterviewData",
    "PerpetratorData",
    "SurvivorData",
    "age_range_on",
    "incident_from_dict",
    "intake_draft_discard",
    "intake_draft_list",
    "intake_draft_load",
    "intake_draft_save",
    "intake_from_dict",
    "perpetrator_from_dict",
    "validate_intake",
]

#: The interview's steps, in order (trauma-informed: conditions first, her account last).
INTAKE_STEPS = (
    "conditions",
    "survivor",
    "contact",
    "incidents",
    "perpetrators",
    "dependants",
    "consent",
    "narrative",
    "review",
)

#: Questions she may decline, by record; a declined question is listed, never left blank.
SURVIVOR_DECLINABLE = frozenset(
    {
        "full_name",
        "cin",
        "phone",
        "address",
        "date_of_birth",
        "age_range",
        "residence_commune",
        "preferred_language",
    }
)
INCIDENT_DECLINABLE = frozenset({"date", "commune", "forms", "acts", "context"})
PERPETRATOR_DECLINABLE = frozenset({"full_name", "cin", "phone", "age_range"})
DEPENDANT_DECLINABLE = frozenset({"first_name", "age", "relationship"})
#: ``declined`` lists the safe-contact questions she preferred not to answer.
SAFE_CONTACT_KEYS = frozenset(
    {"channel", "phone", "safe_times", "may_leave_message", "code_word", "notes", "declined"}
)
SAFE_CONTACT_DECLINABLE = SAFE_CONTACT_KEYS - {"notes", "declined"}
SHARING_PURPOSES = frozenset(policies.SHARING_PURPOSE.values())

MAX_NAME = 200
MAX_TEXT = 20_000
MAX_SHORT_TEXT = 2_000
MAX_INCIDENTS = 50
MAX_PEOPLE = 20
MAX_DRAFT_BYTES = 256 * 1024
OLDEST_AGE = 110
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


# --- the structure ------------------------------------------------------------------------


@dataclass(kw_only=True)
class SurvivorData:
    full_name: str = ""
    cin: str = ""
    phone: str = ""
    address: str = ""
    date_of_birth: date | None = None
    #: Derived from the date of birth when that is known; otherwise as estimated.
    age_range: str = ""
    residence_commune_id: int | None = None
    preferred_language: str = ""
    #: channel, phone (if different), safe times, may leave a message, code word.
    safe_contact: dict[str, Any] | None = None
    declined: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class IncidentData:
    #: Either the day, or the first and last possible days of a period.
    occurred_on: date | None = None
    occurred_from: date | None = None
    occurred_to: date | None = None
    commune_id: int | None = None
    forms: list[str] = field(default_factory=list)
    acts: list[str] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    declined: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class PerpetratorData:
    relationship: str = ""
    full_name: str = ""
    cin: str = ""
    phone: str = ""
    age_range: str = AgeRange.UNKNOWN
    number_involved: int = 1
    declined: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class DependantData:
    first_name: str = ""
    age: int | None = None
    relationship: str = ""
    at_risk: bool = True
    declined: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class ConsentData:
    purpose: str
    granted: bool
    #: Field groups (``policies.FieldGroup``) a recipient may see; sharing purposes only.
    scope: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class InterviewData:
    """How she was heard (ESP): part of the record."""

    private_room: str = ""
    interviewer_gender: str = ""
    interviewer_gender_chosen: bool = False
    interpreter_language: str = ""
    others_present: str = ""


@dataclass(kw_only=True)
class IntakeData:
    channel: str
    survivor: SurvivorData
    incidents: list[IncidentData]
    perpetrators: list[PerpetratorData] = field(default_factory=list)
    dependants: list[DependantData] = field(default_factory=list)
    consents: list[ConsentData] = field(default_factory=list)
    narrative: str = ""
    interview: InterviewData = field(default_factory=InterviewData)
    legal_basis: str = LegalBasis.LAW


# --- errors -------------------------------------------------------------------------------


class FieldErrors:
    """Collects messages by dotted field path, then raises them all at once."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str | Promise]] = {}

    def add(self, path: str, message: str | Promise) -> None:
        self.fields.setdefault(path, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.fields)

    def raise_if_any(self) -> None:
        if self.fields:
            raise InvalidInput(fields=self.fields)


MSG_REQUIRED = _("This field is required.")
MSG_CHOICE = _("Choose a value from the list.")
MSG_TOO_LONG = _("This is too long.")
MSG_PHONE = _("This is not a phone number. Type it like 0612345678 or +212612345678.")
MSG_CIN = _("A CIN is one or two letters followed by up to six digits, like BK123456.")
MSG_FUTURE_INCIDENT = _("The incident cannot be in the future.")
MSG_FUTURE_BIRTH = _("The date of birth cannot be in the future.")
MSG_BIRTH_AFTER_INCIDENT = _("Her date of birth is after the date of an incident.")
MSG_INCIDENT_BEFORE_BIRTH = _("This date is before her date of birth.")
MSG_UNKNOWN_COMMUNE = _("Unknown commune. Choose one from the list.")
MSG_DATE = _("Enter a real date, like 2025-03-14.")


# --- parsing from JSON-like input (drafts, API) -------------------------------------------


def _text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _date(value: object, path: str, errors: FieldErrors) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors.add(path, MSG_DATE)
    return None


def _int(value: object, path: str, errors: FieldErrors) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        errors.add(path, _("Enter a whole number."))
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    errors.add(path, _("Enter a whole number."))
    return None


def _bool(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _strings(value: object, path: str, errors: FieldErrors) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [_text(item) for item in value]
    errors.add(path, _("Give a list of values."))
    return []


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: object, path: str, errors: FieldErrors) -> list[Mapping[str, Any]]:
    if value in (None, ""):
        return []
    if isinstance(value, list | tuple):
        return [_mapping(item) for item in value]
    errors.add(path, _("Give a list of values."))
    return []


def _survivor_from(raw: Mapping[str, Any], errors: FieldErrors) -> SurvivorData:
    p = "survivor."
    contact = raw.get("safe_contact")
    if contact not in (None, "") and not isinstance(contact, Mapping):
        errors.add(p + "safe_contact", _("Give the safe-contact details as named fields."))
    return SurvivorData(
        full_name=_text(raw.get("full_name")),
        cin=_text(raw.get("cin")),
        phone=_text(raw.get("phone")),
        address=_text(raw.get("address")),
        date_of_birth=_date(raw.get("date_of_birth"), p + "date_of_birth", errors),
        age_range=_text(raw.get("age_range")),
        residence_commune_id=_int(
            raw.get("residence_commune_id"), p + "residence_commune_id", errors
        ),
        preferred_language=_text(raw.get("preferred_language")),
        safe_contact=dict(contact) if isinstance(contact, Mapping) else None,
        declined=_strings(raw.get("declined"), p + "declined", errors),
    )


def _incident_from(raw: Mapping[str, Any], p: str, errors: FieldErrors) -> IncidentData:
    return IncidentData(
        occurred_on=_date(raw.get("occurred_on"), p + "occurred_on", errors),
        occurred_from=_date(raw.get("occurred_from"), p + "occurred_from", errors),
        occurred_to=_date(raw.get("occurred_to"), p + "occurred_to", errors),
        commune_id=_int(raw.get("commune_id"), p + "commune_id", errors),
        forms=_strings(raw.get("forms"), p + "forms", errors),
        acts=_strings(raw.get("acts"), p + "acts", errors),
        context=_strings(raw.get("context"), p + "context", errors),
        declined=_strings(raw.get("declined"), p + "declined", errors),
    )


def _perpetrator_from(raw: Mapping[str, Any], p: str, errors: FieldErrors) -> PerpetratorData:
    number = _int(raw.get("number_involved"), p + "number_involved", errors)
    return PerpetratorData(
        relationship=_text(raw.get("relationship")),
        full_name=_text(raw.get("full_name")),
        cin=_text(raw.get("cin")),
        phone=_text(raw.get("phone")),
        age_range=_text(raw.get("age_range")) or AgeRange.UNKNOWN,
        number_involved=1 if number is None else number,
        declined=_strings(raw.get("declined"), p + "declined", errors),
    )


def intake_from_dict(raw: Mapping[str, Any]) -> IntakeData:
    """Build ``IntakeData`` from JSON-like input (dates as ``YYYY-MM-DD``, ids as numbers).

    Only the shape is checked here (``InvalidInput`` for a date that does not exist, a
    number that is not one); the meaning is checked by ``validate_intake``.
    """
    errors = FieldErrors()
    incidents = [
        _incident_from(item, f"incidents.{i}.", errors)
        for i, item in enumerate(_items(raw.get("incidents"), "incidents", errors))
    ]
    perpetrators = [
        _perpetrator_from(item, f"perpetrators.{i}.", errors)
        for i, item in enumerate(_items(raw.get("perpetrators"), "perpetrators", errors))
    ]
    dependants = [
        DependantData(
            first_name=_text(item.get("first_name")),
            age=_int(item.get("age"), f"dependants.{i}.age", errors),
            relationship=_text(item.get("relationship")),
            at_risk=_bool(item.get("at_risk", True)),
            declined=_strings(item.get("declined"), f"dependants.{i}.declined", errors),
        )
        for i, item in enumerate(_items(raw.get("dependants"), "dependants", errors))
    ]
    consents = [
        ConsentData(
            purpose=_text(item.get("purpose")),
            granted=_bool(item.get("granted")),
            scope=_strings(item.get("scope"), f"consents.{i}.scope", errors),
        )
        for i, item in enumerate(_items(raw.get("consents"), "consents", errors))
    ]
    interview = _mapping(raw.get("interview"))
    data = IntakeData(
        channel=_text(raw.get("channel")),
        survivor=_survivor_from(_mapping(raw.get("survivor")), errors),
        incidents=incidents,
        perpetrators=perpetrators,
        dependants=dependants,
        consents=consents,
        narrative=_text(raw.get("narrative")),
        interview=InterviewData(
            private_room=_text(interview.get("private_room")),
            interviewer_gender=_text(interview.get("interviewer_gender")),
            interviewer_gender_chosen=_bool(interview.get("interviewer_gender_chosen")),
            interpreter_language=_text(interview.get("interpreter_language")),
            others_present=_text(interview.get("others_present")),
        ),
        legal_basis=_text(raw.get("legal_basis")) or LegalBasis.LAW,
    )
    errors.raise_if_any()
    return data


def incident_from_dict(raw: Mapping[str, Any]) -> IncidentData:
    """One incident added to an open case, from JSON-like input: the same shape checks as
    ``intake_from_dict``, fields named without a prefix (``occurred_on``)."""
    errors = FieldErrors()
    data = _incident_from(_mapping(raw), "", errors)
    errors.raise_if_any()
    return data


def perpetrator_from_dict(raw: Mapping[str, Any]) -> PerpetratorData:
    """One perpetrator added to an open case, from JSON-like input (as ``incident_from_dict``)."""
    errors = FieldErrors()
    data = _perpetrator_from(_mapping(raw), "", errors)
    errors.raise_if_any()
    return data


# --- validation ---------------------------------------------------------------------------


def age_range_on(born: date, today: date) -> AgeRange:
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    for limit, bucket in (
        (12, AgeRange.UNDER_12),
        (18, AgeRange.FROM_12),
        (25, AgeRange.FROM_18),
        (35, AgeRange.FROM_25),
        (45, AgeRange.FROM_35),
        (60, AgeRange.FROM_45),
    ):
        if age < limit:
            return bucket
    return AgeRange.FROM_60


def clean_phone(value: str, path: str, errors: FieldErrors) -> str:
    """E.164, or an error: a number typed wrong must be corrected at the desk, not indexed."""
    value = value.strip()
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, "MA")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        errors.add(path, MSG_PHONE)
        return ""
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def clean_cin(value: str, path: str, errors: FieldErrors) -> str:
    value = value.strip()
    if not value:
        return ""
    if not is_valid_cin(value):
        errors.add(path, MSG_CIN)
        return ""
    return normalize_cin(value)


def _check_length(value: str, limit: int, path: str, errors: FieldErrors) -> str:
    value = value.strip()
    if len(value) > limit:
        errors.add(path, MSG_TOO_LONG)
    return value


def _check_choices(
    values: Iterable[str], allowed: Iterable[str], path: str, errors: FieldErrors
) -> list[str]:
    allowed_set = set(allowed)
    kept: list[str] = []
    for value in values:
        if value not in allowed_set:
            errors.add(path, MSG_CHOICE)
            continue
        if value not in kept:
            kept.append(value)
    return kept


def _check_choice(value: str, allowed: Iterable[str], path: str, errors: FieldErrors) -> str:
    if value and value not in set(allowed):
        errors.add(path, MSG_CHOICE)
    return value


def clean_survivor(
    data: SurvivorData,
    *,
    today: date,
    errors: FieldErrors,
    known_communes: set[int],
    incident_days: Sequence[date] = (),
    prefix: str = "survivor.",
) -> SurvivorData:
    """Normalized copy of ``data``; problems go to ``errors``.

    ``incident_days`` are the latest possible days of her incidents, to refuse a birth after
    an incident (the incident's own field is flagged by ``clean_incident``);
    ``known_communes`` the commune ids that exist.
    """
    p = prefix
    full_name = _check_length(data.full_name, MAX_NAME, p + "full_name", errors)
    address = _check_length(data.address, MAX_SHORT_TEXT, p + "address", errors)
    age_range = _check_choice(data.age_range, AgeRange.values, p + "age_range", errors)
    born = data.date_of_birth
    if born is not None:
        if born > today:
            errors.add(p + "date_of_birth", MSG_FUTURE_BIRTH)
        elif today.year - born.year > OLDEST_AGE:
            errors.add(p + "date_of_birth", _("Check the year of birth."))
        else:
            derived = age_range_on(born, today)
            if age_range and age_range not in (derived, AgeRange.UNKNOWN):
                errors.add(p + "age_range", _("This does not agree with her date of birth."))
            age_range = derived
            if any(born > day for day in incident_days):
                errors.add(p + "date_of_birth", MSG_BIRTH_AFTER_INCIDENT)
    commune = data.residence_commune_id
    if commune is not None and commune not in known_communes:
        errors.add(p + "residence_commune_id", MSG_UNKNOWN_COMMUNE)
    language = _check_choice(
        data.preferred_language, Language.values, p + "preferred_language", errors
    )
    contact = data.safe_contact
    if contact is not None:
        contact = dict(contact)
        if set(contact) - SAFE_CONTACT_KEYS:
            errors.add(p + "safe_contact", _("Unknown safe-contact detail."))
        declined_contact = contact.get("declined", [])
        if (
            not isinstance(declined_contact, list)
            or {_text(item) for item in declined_contact} - SAFE_CONTACT_DECLINABLE
        ):
            errors.add(p + "safe_contact", _("Unknown safe-contact detail."))
        if contact.get("phone"):
            contact["phone"] = clean_phone(
                _text(contact["phone"]), p + "safe_contact.phone", errors
            )
        if len(json.dumps(contact, cls=DjangoJSONEncoder)) > MAX_SHORT_TEXT:
            errors.add(p + "safe_contact", MSG_TOO_LONG)
    return replace(
        data,
        full_name=full_name,
        cin=clean_cin(data.cin, p + "cin", errors),
        phone=clean_phone(data.phone, p + "phone", errors),
        address=address,
        age_range=age_range or AgeRange.UNKNOWN,
        preferred_language=language,
        safe_contact=contact,
        declined=_check_choices(data.declined, SURVIVOR_DECLINABLE, p + "declined", errors),
    )


def incident_last_day(data: IncidentData) -> date | None:
    """The latest day the incident may have happened (for the birth-date check)."""
    return data.occurred_on or data.occurred_to


def incident_date_path(data: IncidentData, prefix: str) -> str:
    return prefix + ("occurred_on" if data.occurred_on else "occurred_to")


def clean_incident(
    data: IncidentData,
    *,
    today: date,
    errors: FieldErrors,
    known_communes: set[int],
    prefix: str,
    born: date | None = None,
) -> IncidentData:
    p = prefix
    declined = _check_choices(data.declined, INCIDENT_DECLINABLE, p + "declined", errors)
    on, start, end = data.occurred_on, data.occurred_from, data.occurred_to
    if on is not None and (start is not None or end is not None):
        errors.add(p + "occurred_on", _("Give either the day or a period, not both."))
    elif on is None and start is None and end is None:
        if "date" not in declined:
            errors.add(p + "occurred_on", _("Give the day, or the period when it happened."))
    elif on is None:
        if start is None:
            errors.add(p + "occurred_from", _("Give the first possible day of the period."))
        if end is None:
            errors.add(p + "occurred_to", _("Give the last possible day of the period."))
        if start is not None and end is not None and start > end:
            errors.add(p + "occurred_to", _("The end of the period is before its start."))
    for name, day in (("occurred_on", on), ("occurred_from", start), ("occurred_to", end)):
        if day is not None and day > today:
            errors.add(p + name, MSG_FUTURE_INCIDENT)
    last = incident_last_day(data)
    if born is not None and last is not None and born > last:
        errors.add(incident_date_path(data, p), MSG_INCIDENT_BEFORE_BIRTH)
    if data.commune_id is not None and data.commune_id not in known_communes:
        errors.add(p + "commune_id", MSG_UNKNOWN_COMMUNE)
    forms = _check_choices(data.forms, ViolenceForm.values, p + "forms", errors)
    if not forms and "forms" not in declined:
        errors.add(p + "forms", _("Choose at least one form of violence."))
    return replace(
        data,
        forms=forms,
        acts=_check_choices(data.acts, IncidentAct.values, p + "acts", errors),
        context=_check_choices(data.context, CaseContext.values, p + "context", errors),
        declined=declined,
    )


def clean_perpetrator(
    data: PerpetratorData, *, errors: FieldErrors, prefix: str
) -> PerpetratorData:
    p = prefix
    if not data.relationship:
        errors.add(p + "relationship", MSG_REQUIRED)
    else:
        _check_choice(data.relationship, Relationship.values, p + "relationship", errors)
    if not 1 <= data.number_involved <= 50:
        errors.add(p + "number_involved", _("Give a number between 1 and 50."))
    return replace(
        data,
        full_name=_check_length(data.full_name, MAX_NAME, p + "full_name", errors),
        cin=clean_cin(data.cin, p + "cin", errors),
        phone=clean_phone(data.phone, p + "phone", errors),
        age_range=_check_choice(
            data.age_range or AgeRange.UNKNOWN, AgeRange.values, p + "age_range", errors
        ),
        declined=_check_choices(data.declined, PERPETRATOR_DECLINABLE, p + "declined", errors),
    )


def clean_consent(data: ConsentData, *, errors: FieldErrors, prefix: str) -> ConsentData:
    p = prefix
    if not data.purpose:
        errors.add(p + "purpose", MSG_REQUIRED)
    else:
        _check_choice(data.purpose, ConsentPurpose.values, p + "purpose", errors)
    scope = _check_choices(data.scope, FieldGroup, p + "scope", errors)
    if data.purpose in SHARING_PURPOSES and data.granted and not scope:
        errors.add(p + "scope", _("Choose what she agrees to share."))
    if data.purpose not in SHARING_PURPOSES or not data.granted:
        scope = []
    return replace(data, scope=scope)


def clean_idempotency_key(value: str) -> str:
    if not IDEMPOTENCY_KEY.fullmatch(value or ""):
        raise InvalidInput(
            fields={"idempotency_key": [_("This form has expired. Reload the page and submit.")]}
        )
    return value


def existing_communes(ids: Iterable[int | None]) -> set[int]:
    """The ids among ``ids`` that are communes. Answered from the network's in-memory
    index (every commune, rebuilt when the network changes); only an id it does not hold
    is asked of the database, so a commune added since the snapshot is still known."""
    # An id no primary key can hold is simply unknown; SQLite would refuse the query.
    wanted = {i for i in ids if i is not None and 0 < i < 2**63}
    if not wanted:
        return set()
    known = get_index().communes_by_id
    found = {i for i in wanted if i in known}
    missing = wanted - found
    if missing:
        found |= set(Commune.objects.filter(pk__in=missing).values_list("pk", flat=True))
    return found


def validate_intake(data: IntakeData, *, today: date | None = None) -> IntakeData:
    """A normalized copy of ``data``, or ``InvalidInput`` naming every field at fault.

    Checked in memory: the communes against the network's index (a query only for an id
    it does not hold), everything else against the data itself.
    """
    today = today or timezone.localdate()
    errors = FieldErrors()
    communes = existing_communes(
        [data.survivor.residence_commune_id, *(i.commune_id for i in data.incidents)]
    )
    _check_choice(data.channel, Channel.values, "channel", errors)
    if not data.channel:
        errors.add("channel", MSG_REQUIRED)
    _check_choice(data.legal_basis, LegalBasis.values, "legal_basis", errors)
    if not data.incidents:
        errors.add("incidents", _("Record at least one incident."))
    if len(data.incidents) > MAX_INCIDENTS:
        errors.add("incidents", MSG_TOO_LONG)
    if len(data.perpetrators) > MAX_PEOPLE or len(data.dependants) > MAX_PEOPLE:
        errors.add("perpetrators", MSG_TOO_LONG)
    born = data.survivor.date_of_birth
    if born is not None and born > today:
        born = None  # reported on the date of birth itself, not on every incident
    incidents = [
        clean_incident(
            incident,
            today=today,
            errors=errors,
            known_communes=communes,
            prefix=f"incidents.{i}.",
            born=born,
        )
        for i, incident in enumerate(data.incidents)
    ]
    survivor = clean_survivor(
        data.survivor,
        today=today,
        errors=errors,
        known_communes=communes,
        incident_days=[day for incident in data.incidents if (day := incident_last_day(incident))],
    )
    perpetrators = [
        clean_perpetrator(p, errors=errors, prefix=f"perpetrators.{i}.")
        for i, p in enumerate(data.perpetrators)
    ]
    dependants: list[DependantData] = []
    for i, dependant in enumerate(data.dependants):
        p = f"dependants.{i}."
        if dependant.age is not None and not 0 <= dependant.age <= 30:
            errors.add(p + "age", _("Give an age between 0 and 30."))
        dependants.append(
            replace(
                dependant,
                first_name=_check_length(dependant.first_name, 100, p + "first_name", errors),
                relationship=_check_length(dependant.relationship, 32, p + "relationship", errors),
                declined=_check_choices(
                    dependant.declined, DEPENDANT_DECLINABLE, p + "declined", errors
                ),
            )
        )
    consents: list[ConsentData] = []
    seen: set[str] = set()
    for i, consent in enumerate(data.consents):
        cleaned = clean_consent(consent, errors=errors, prefix=f"consents.{i}.")
        if cleaned.purpose in seen:
            errors.add(f"consents.{i}.purpose", _("This purpose is already answered."))
        seen.add(cleaned.purpose)
        consents.append(cleaned)
    interview = data.interview
    _check_choice(interview.private_room, TriState.values, "interview.private_room", errors)
    _check_choice(
        interview.interviewer_gender, Gender.values, "interview.interviewer_gender", errors
    )
    _check_choice(
        interview.interpreter_language,
        Language.values,
        "interview.interpreter_language",
        errors,
    )
    others = _check_length(
        interview.others_present, MAX_SHORT_TEXT, "interview.others_present", errors
    )
    narrative = _check_length(data.narrative, MAX_TEXT, "narrative", errors)
    errors.raise_if_any()
    return replace(
        data,
        survivor=survivor,
        incidents=incidents,
        perpetrators=perpetrators,
        dependants=dependants,
        consents=consents,
        narrative=narrative,
        interview=replace(interview, others_present=others),
    )


# --- drafts -------------------------------------------------------------------------------


def _draft_for(actor: Actor, draft_id: uuid.UUID | str, *, lock: bool) -> IntakeDraft:
    """Her interviewer's own draft, in the unit she acts for; anything else is not found."""
    try:
        pk = uuid.UUID(str(draft_id))
    except ValueError:
        raise NotFound from None
    queryset = IntakeDraft.objects.select_related("data_key")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    draft = queryset.filter(pk=pk, created_by_id=actor.user_id, unit_id=actor.agency_id).first()
    if draft is None or actor.user_id is None:
        raise NotFound
    return draft


@transaction.atomic
def intake_draft_save(
    *,
    actor: Actor,
    draft_id: uuid.UUID | str | None,
    step: str,
    data: Mapping[str, Any],
) -> IntakeDraft:
    """Save the interview so far (sealed). A new draft gets the data key that will be hers.

    Only the officer who started it, in the same unit, can save or read it again; a
    submitted draft is frozen.
    """
    policies.require(actor, Action.OPEN_CASE)
    errors = FieldErrors()
    if step not in INTAKE_STEPS:
        errors.add("step", MSG_CHOICE)
    try:
        encoded = json.dumps(dict(data), cls=DjangoJSONEncoder, ensure_ascii=False)
    except (TypeError, ValueError):
        errors.add("data", _("Give the interview as named fields."))
        encoded = "{}"
    if len(encoded.encode()) > MAX_DRAFT_BYTES:
        errors.add("data", MSG_TOO_LONG)
    errors.raise_if_any()
    if draft_id is None:
        if actor.agency_id is None or actor.user_id is None:
            raise PermissionDenied
        key = data_key_create(actor=actor, kind=DataKey.Kind.SURVIVOR)
        draft = IntakeDraft(unit_id=actor.agency_id, data_key=key, created_by_id=actor.user_id)
        action = "intake_draft.create"
    else:
        draft = _draft_for(actor, draft_id, lock=True)
        if draft.submitted_case_id is not None:
            raise InvalidInput(_("This interview was already submitted."))
        action = "intake_draft.save"
    draft.step = step
    draft.data = json.loads(encoded)
    draft.save()
    audit.record(
        actor=actor,
        action=action,
        target_type="cases.intake_draft",
        target_id=str(draft.pk),
        metadata={"step": step},
    )
    return draft


def intake_draft_load(*, actor: Actor, draft_id: uuid.UUID | str) -> IntakeDraft:
    """The draft (audited read); not found for anyone but the officer who started it."""
    policies.require(actor, Action.OPEN_CASE)
    draft = _draft_for(actor, draft_id, lock=False)
    audit.record(
        actor=actor,
        action="intake_draft.read",
        target_type="cases.intake_draft",
        target_id=str(draft.pk),
    )
    return draft


def intake_draft_list(*, actor: Actor, limit: int = 20) -> list[IntakeDraft]:
    """The actor's own interviews in progress in the unit she acts for, newest first.

    Only ids, steps and times: the sealed content is deferred (never read, never opened),
    so listing them is not a read of anything about her. Submitted and discarded (shredded)
    drafts are left out."""
    policies.require(actor, Action.OPEN_CASE)
    if actor.user_id is None:
        return []
    return list(
        IntakeDraft.objects.filter(
            created_by_id=actor.user_id,
            unit_id=actor.agency_id,
            submitted_case__isnull=True,
            data_key__shredded_at__isnull=True,
        )
        .defer("data")
        .order_by("-updated_at", "-id")[: max(1, min(limit, 100))]
    )


@transaction.atomic
def intake_draft_discard(*, actor: Actor, draft_id: uuid.UUID | str) -> None:
    """Erase an abandoned interview for good: its data key is shredded."""
    policies.require(actor, Action.OPEN_CASE)
    draft = _draft_for(actor, draft_id, lock=True)
    if draft.submitted_case_id is not None:
        # The key is hers now: shredding it would erase the case file.
        raise InvalidInput(_("This interview was already submitted."))
    data_key_shred(actor=actor, data_key=draft.data_key, reason="intake draft discarded")
    audit.record(
        actor=actor,
        action="intake_draft.discard",
        target_type="cases.intake_draft",
        target_id=str(draft.pk),
    )
