"""Input and output schemas of the case-file API (``himaya.cases.api``), one pair per endpoint.

Inputs that the pages also accept (the intake, an added incident or perpetrator) are
validated by the same code as the pages: ``cases.intake`` parses them
(``intake_from_dict``, ``incident_from_dict``, ``perpetrator_from_dict``) and the services
check their meaning. Their schemas below therefore fix only the *structure* (which objects,
lists and keys exist; an unknown key is refused) and leave every value to that code, so a
wrong date or phone number gets the same message on a page and through the API. The types
they show in the OpenAPI schema are what those parsers accept.

Outputs never carry a sealed value the reader's access does not cover: ``CaseOut`` sections
belonging to a field group outside ``access.groups`` are left out of the answer entirely.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any

from django.core.validators import ProhibitNullCharactersValidator
from ninja import Schema
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    WithJsonSchema,
)

from himaya.cases.classification import CaseContext, IncidentAct, ViolenceForm
from himaya.cases.intake import (
    DEPENDANT_DECLINABLE,
    INCIDENT_DECLINABLE,
    PERPETRATOR_DECLINABLE,
    SAFE_CONTACT_KEYS,
    SURVIVOR_DECLINABLE,
)
from himaya.cases.models import (
    AgeRange,
    Channel,
    ConsentPurpose,
    Gender,
    LegalBasis,
    Relationship,
    TriState,
)
from himaya.cases.policies import FieldGroup
from himaya.cases.selectors import QueueView
from himaya.cases.states import CaseState, ClosureReason
from himaya.core.pagination import PageQuery
from himaya.network.models import Language

# --- text --------------------------------------------------------------------------------


def _no_null_characters(value: Any) -> Any:
    """Refuse U+0000 in text, as Django's form fields do on the pages (PostgreSQL cannot
    store it, so it would otherwise fail deep inside a service)."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(str(ProhibitNullCharactersValidator.message))
    return value


#: Text typed by a person: any string without a null character.
Text = Annotated[str, AfterValidator(_no_null_characters)]


# --- values checked by cases.intake, not by pydantic --------------------------------------

_Text = Annotated[Any, BeforeValidator(_no_null_characters), WithJsonSchema({"type": "string"})]
_Strings = Annotated[Any, WithJsonSchema({"type": "array", "items": {"type": "string"}})]
_Date = Annotated[Any, WithJsonSchema({"type": ["string", "null"], "format": "date"})]
_Id = Annotated[Any, WithJsonSchema({"type": ["integer", "null"]})]
_Bool = Annotated[Any, WithJsonSchema({"type": "boolean"})]
_Object = Annotated[Any, WithJsonSchema({"type": ["object", "null"]})]


def _text(default: str = "", description: str | None = None) -> Any:
    return Field(default=default, description=description)


def _enum(choices: Iterable[str]) -> list[JsonValue]:
    return [*sorted(choices)]


def _choice(choices: Iterable[str], default: str = "", description: str | None = None) -> Any:
    return Field(
        default=default, description=description, json_schema_extra={"enum": _enum(choices)}
    )


def _choices(choices: Iterable[str], description: str | None = None) -> Any:
    return Field(
        default_factory=list,
        description=description,
        json_schema_extra={"items": {"type": "string", "enum": _enum(choices)}},
    )


#: The largest primary key the database can hold: a larger number is refused as input
#: rather than sent to the database (SQLite cannot even compare it).
MAX_ID = 2**63 - 1


def _db_id(description: str | None = None, *, default: Any = ...) -> Any:
    return Field(default, ge=1, le=MAX_ID, description=description)


class _Strict(Schema):
    # A misspelt key must not be dropped silently: what was typed would be lost.
    model_config = ConfigDict(extra="forbid")


class SurvivorIn(_Strict):
    full_name: _Text = _text()
    cin: _Text = _text(description="National ID, like BK123456.")
    phone: _Text = _text(description="Moroccan or international number; stored in E.164.")
    address: _Text = _text()
    date_of_birth: _Date = Field(default=None, description="YYYY-MM-DD")
    age_range: _Text = _choice(
        [*AgeRange.values, ""], description="Only when the date of birth is not known."
    )
    residence_commune_id: _Id = None
    preferred_language: _Text = _choice([*Language.values, ""])
    safe_contact: _Object = Field(
        default=None,
        description="How to reach her safely (sealed). Keys: "
        + ", ".join(sorted(SAFE_CONTACT_KEYS))
        + ".",
    )
    declined: _Strings = _choices(
        SURVIVOR_DECLINABLE, description="Questions she preferred not to answer."
    )


class IncidentIn(_Strict):
    occurred_on: _Date = Field(default=None, description="The day (YYYY-MM-DD), if known.")
    occurred_from: _Date = Field(default=None, description="First possible day of a period.")
    occurred_to: _Date = Field(default=None, description="Last possible day of a period.")
    commune_id: _Id = None
    forms: _Strings = _choices(ViolenceForm.values, description="Law 103-13 forms; at least one.")
    acts: _Strings = _choices(IncidentAct.values)
    context: _Strings = _choices(CaseContext.values)
    declined: _Strings = _choices(INCIDENT_DECLINABLE)


class PerpetratorIn(_Strict):
    relationship: _Text = _choice(Relationship.values, description="Required.")
    full_name: _Text = _text()
    cin: _Text = _text()
    phone: _Text = _text()
    age_range: _Text = _choice(AgeRange.values, default=AgeRange.UNKNOWN.value)
    number_involved: _Id = Field(default=1, description="1 to 50.")
    declined: _Strings = _choices(PERPETRATOR_DECLINABLE)


class DependantIn(_Strict):
    first_name: _Text = _text()
    age: _Id = None
    relationship: _Text = _text()
    at_risk: _Bool = True
    declined: _Strings = _choices(DEPENDANT_DECLINABLE)


class ConsentIn(_Strict):
    purpose: _Text = _choice(ConsentPurpose.values)
    granted: _Bool = False
    scope: _Strings = _choices(
        [str(group) for group in FieldGroup],
        description="What a recipient may see; sharing purposes only.",
    )


class InterviewIn(_Strict):
    private_room: _Text = _choice([*TriState.values, ""])
    interviewer_gender: _Text = _choice([*Gender.values, ""])
    interviewer_gender_chosen: _Bool = False
    interpreter_language: _Text = _choice([*Language.values, ""])
    others_present: _Text = _text(description="Others present, with her agreement (sealed).")


class IntakeIn(_Strict):
    """The whole intake interview (``cases.intake.IntakeData``), validated all at once."""

    channel: _Text = _choice(Channel.values, description="How she first reached the unit.")
    legal_basis: _Text = _choice(LegalBasis.values, default=LegalBasis.LAW.value)
    survivor: SurvivorIn = Field(default_factory=SurvivorIn)
    incidents: list[IncidentIn] = Field(default_factory=list, description="At least one.")
    perpetrators: list[PerpetratorIn] = Field(default_factory=list)
    dependants: list[DependantIn] = Field(default_factory=list)
    consents: list[ConsentIn] = Field(default_factory=list)
    narrative: _Text = _text(description="Her account, in her words (sealed).")
    interview: InterviewIn = Field(default_factory=InterviewIn)


class IncidentAddIn(IncidentIn):
    """Another incident of the same survivor."""


class PerpetratorAddIn(PerpetratorIn):
    """Another alleged perpetrator."""


class CaseOpenedOut(Schema):
    id: uuid.UUID
    reference: str
    state: CaseState
    created_at: datetime
    replayed: bool = Field(
        description="True when this Idempotency-Key had already opened the case (answer 200)."
    )


# --- the queue ----------------------------------------------------------------------------


class QueueQueryIn(PageQuery):
    view: QueueView = QueueView.NEW


class QueueItemOut(Schema):
    id: uuid.UUID
    reference: str
    state: CaseState
    channel: Channel
    created_at: datetime
    assigned_to_id: int | None
    next_due_on: date | None
    repeat_perpetrator: bool
    survivor_name: str
    age_range: AgeRange


class QueueOut(Schema):
    items: list[QueueItemOut]
    next_cursor: str | None


# --- one case -----------------------------------------------------------------------------


class CaseQueryIn(Schema):
    notes_cursor: str | None = Field(
        default=None, max_length=512, description="next_cursor of the notes, for older notes."
    )


class AccessGrantOut(Schema):
    id: uuid.UUID
    agency_id: int
    basis: str
    scope: list[str]
    starts_at: datetime
    ends_at: datetime | None
    emergency: bool


class AccessOut(Schema):
    holding_unit: bool = Field(description="True for the staff of the unit that holds it.")
    groups: list[FieldGroup] = Field(description="The field groups in this answer.")
    bases: list[str] = Field(
        description="Why you see it: 'holding_unit', or the bases of your agency's grants "
        "(consent, minor, life_threat, court_order, break_glass)."
    )
    emergency: bool
    grants: list[AccessGrantOut] = Field(
        description="Your agency's live grants; empty for the unit."
    )


class UnitOut(Schema):
    id: int
    name_ar: str
    name_fr: str


class SurvivorOut(Schema):
    """Her record. Identity fields come with the ``identity`` group, contact fields with
    ``contact``; a field not covered is absent, and so is its entry in ``declined``."""

    full_name: str = Field(default="", description="identity")
    cin: str = Field(default="", description="identity")
    date_of_birth: str = Field(default="", description="identity; YYYY-MM-DD or empty")
    age_range: str = Field(default="", description="identity")
    phone: str = Field(default="", description="contact; E.164")
    address: str = Field(default="", description="contact")
    residence_commune_id: int | None = Field(default=None, description="contact")
    preferred_language: str = Field(default="", description="contact")
    safe_contact: dict[str, Any] | None = Field(default=None, description="contact")
    declined: list[str] = Field(default_factory=list)


class InterviewOut(Schema):
    private_room: str
    interviewer_gender: str
    interviewer_gender_chosen: bool
    interpreter_language: str
    others_present: str


class IncidentOut(Schema):
    id: int
    occurred_on: date | None
    occurred_from: date | None
    occurred_to: date | None
    commune_id: int | None
    forms: list[str]
    acts: list[str]
    gbvims_type: str
    context: list[str]
    declined: list[str]


class PerpetratorOut(Schema):
    id: uuid.UUID
    relationship: str
    full_name: str
    cin: str
    phone: str
    age_range: str
    number_involved: int
    declined: list[str]


class DependantOut(Schema):
    id: int
    first_name: str
    age: int | None
    relationship: str
    at_risk: bool
    declined: list[str]


class EvidenceOut(Schema):
    id: uuid.UUID
    kind: str
    description: str
    content_type: str
    size: int
    sha256_stored: str
    uploaded_at: datetime


class ConsentOut(Schema):
    id: int
    purpose: ConsentPurpose
    granted: bool
    scope: list[str]
    recorded_at: datetime
    revoked_at: datetime | None


class NoteOut(Schema):
    id: int
    author_id: int
    body: str
    created_at: datetime


class TaskOut(Schema):
    id: int
    case_id: uuid.UUID
    description: str
    due_on: date
    assigned_to_id: int | None
    created_at: datetime
    done_at: datetime | None


class NotesOut(Schema):
    items: list[NoteOut]
    next_cursor: str | None


class CaseOut(Schema):
    """One case, cut to what the reader may see (``access``). Sections of a field group
    outside ``access.groups`` are absent; so are the holding unit's working records (notes,
    tasks, consents, sharing, assignment) for anyone outside the unit."""

    id: uuid.UUID
    reference: str
    state: CaseState
    channel: Channel
    unit: UnitOut
    created_at: datetime
    access: AccessOut
    survivor: SurvivorOut | None = Field(default=None, description="identity or contact")
    narrative: str = Field(default="", description="narrative")
    interview: InterviewOut | None = Field(default=None, description="narrative")
    incidents: list[IncidentOut] = Field(default_factory=list, description="incidents")
    perpetrators: list[PerpetratorOut] = Field(default_factory=list, description="perpetrators")
    dependants: list[DependantOut] = Field(default_factory=list, description="dependants")
    evidence: list[EvidenceOut] = Field(default_factory=list, description="evidence")
    # The holding unit's working record.
    legal_basis: LegalBasis | None = None
    assigned_to_id: int | None = None
    repeat_perpetrator: bool = False
    next_due_on: date | None = None
    closure_reason: str = ""
    closed_at: datetime | None = None
    updated_at: datetime | None = None
    consents: list[ConsentOut] = Field(default_factory=list)
    sharing: list[AccessGrantOut] = Field(
        default_factory=list, description="Live grants to other agencies (holding unit)."
    )
    notes: NotesOut | None = None
    open_tasks: list[TaskOut] = Field(default_factory=list)


# --- the timeline -------------------------------------------------------------------------


class TimelineEntryOut(Schema):
    id: int
    at: datetime
    kind: str
    from_state: str
    to_state: str
    actor_id: int | None
    metadata: dict[str, Any] = Field(description="Kinds, states and ids; never content.")


class TimelineOut(Schema):
    items: list[TimelineEntryOut]
    next_cursor: str | None


# --- notes, tasks -------------------------------------------------------------------------


class NoteAddIn(Schema):
    body: Text = Field(description="Sealed with her key.")


class NoteAddedOut(Schema):
    id: int
    created_at: datetime


class TaskAddIn(Schema):
    description: Text
    due_on: date
    assigned_to_id: int | None = _db_id("An officer of the unit.", default=None)


class TaskAddedOut(Schema):
    id: int
    case_id: uuid.UUID
    due_on: date
    assigned_to_id: int | None
    created_at: datetime
    done_at: datetime | None


class TaskCompletedOut(Schema):
    id: int
    case_id: uuid.UUID
    due_on: date
    done_at: datetime | None


# --- consent and sharing ------------------------------------------------------------------


class ConsentRecordIn(Schema):
    purpose: ConsentPurpose
    granted: bool
    scope: list[FieldGroup] = Field(
        default_factory=list, description="What a recipient may see (sharing purposes only)."
    )


class ConsentRecordedOut(Schema):
    id: int
    purpose: ConsentPurpose
    granted: bool
    scope: list[str]
    recorded_at: datetime
    revoked_at: datetime | None


class ConsentRevokedOut(Schema):
    id: int
    purpose: ConsentPurpose
    revoked_at: datetime | None


class ShareWithoutConsentIn(Schema):
    agency_id: int = _db_id()
    basis: Text = Field(description="'minor' (her record says under 18) or 'life_threat'.")
    reason: Text = Field(description="Why, in a sentence (audited).")
    scope: list[FieldGroup]


class GrantOut(Schema):
    id: uuid.UUID
    case_id: uuid.UUID
    agency_id: int
    basis: str
    scope: list[str]
    starts_at: datetime
    ends_at: datetime | None


class BreakGlassIn(Schema):
    reason: Text = Field(description="Why, in a sentence (audited; the unit chief is alerted).")
    case_id: uuid.UUID | None = None
    reference: Text | None = Field(
        default=None, max_length=32, description="The case reference, e.g. U0042-2026-00017."
    )


class BreakGlassOut(Schema):
    id: uuid.UUID
    case_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime | None
    scope: list[str]


# --- life cycle ---------------------------------------------------------------------------


class TransitionIn(Schema):
    to_state: CaseState = Field(description="assessed, referred or forwarded.")


class AssignIn(Schema):
    officer_id: int | None = _db_id("null puts the case back in the queue.")


class ClosureRequestIn(Schema):
    reason: ClosureReason


class ReopenIn(Schema):
    reason: Text = Field(description="Why, in a sentence (audited).")


class CaseStateOut(Schema):
    id: uuid.UUID
    reference: str
    state: CaseState
    assigned_to_id: int | None
    closure_reason: str
    closed_at: datetime | None
    updated_at: datetime


# --- her record ---------------------------------------------------------------------------


class PerpetratorAddedOut(Schema):
    id: uuid.UUID
    relationship: str
    age_range: str
    number_involved: int
    created_at: datetime
    case_repeat_perpetrator: bool = Field(
        description="True when another survivor's file names the same man."
    )


class IncidentAddedOut(Schema):
    id: int
    occurred_on: date | None
    occurred_from: date | None
    occurred_to: date | None
    commune_id: int | None
    forms: list[str]
    acts: list[str]
    gbvims_type: str
    context: list[str]
    declined: list[str]
    created_at: datetime


# --- search -------------------------------------------------------------------------------


class SearchIn(_Strict):
    phone: Text | None = Field(default=None, max_length=32)
    cin: Text | None = Field(default=None, max_length=16)
    name: Text | None = Field(default=None, max_length=200)
    date_of_birth: date | None = Field(default=None, description="Narrows a name search.")
    age_range: AgeRange | None = Field(default=None, description="Narrows a name search.")
    commune: int | None = _db_id("Commune id (as in intake); narrows a name search.", default=None)


class OwnMatchOut(Schema):
    case_id: uuid.UUID
    reference: str
    state: CaseState
    created_at: datetime
    reasons: list[str]
    strong: bool


class UnitMatchOut(Schema):
    agency_id: int
    name_ar: str
    name_fr: str
    strong: bool


class SearchOut(Schema):
    own: list[OwnMatchOut] = Field(description="Files of your unit.")
    elsewhere: list[UnitMatchOut] = Field(
        description="Other units holding a matching file: which unit to contact, nothing more."
    )


# --- alerts -------------------------------------------------------------------------------


class AlertQueryIn(PageQuery):
    pass


class AlertOut(Schema):
    id: int
    kind: str
    case_id: uuid.UUID | None
    case_reference: str | None
    other_agency_id: int | None
    other_agency_name_ar: str | None
    other_agency_name_fr: str | None
    created_at: datetime
    read_at: datetime | None


class AlertListOut(Schema):
    items: list[AlertOut]
    next_cursor: str | None


# --- correcting her record after intake ---------------------------------------------------


class SurvivorUpdateIn(SurvivorIn):
    """Her identity and contact record, whole: what is sent replaces what was recorded
    (checked as at intake; a question she declines goes in ``declined``)."""


class SurvivorUpdatedOut(Schema):
    id: uuid.UUID
    age_range: str
    residence_commune_id: int | None
    preferred_language: str
    declined: list[str]


class IncidentUpdateIn(IncidentIn):
    """One incident, whole: what is sent replaces what was recorded."""


class IncidentUpdatedOut(IncidentAddedOut):
    pass


class PerpetratorUpdateIn(PerpetratorIn):
    """One alleged perpetrator, whole: what is sent replaces what was recorded."""


class PerpetratorUpdatedOut(PerpetratorAddedOut):
    pass


class DependantAddIn(DependantIn):
    """A child or other dependant at risk."""


class DependantUpdateIn(DependantIn):
    """One child or dependant, whole: what is sent replaces what was recorded."""


class DependantSavedOut(Schema):
    id: int
    age: int | None
    relationship: str
    at_risk: bool
    declined: list[str]
