"""Every write to a referral. Pages and the API call these; nothing else writes the models.

Each service is keyword-only, takes the acting ``Actor``, checks ``referrals.policies``
(and, for the case, ``cases.policies`` through the cases services it calls), runs in one
transaction, locks the referral row it changes (``select_for_update``: two people acting on
one referral at once queue, and the second gets a clear ``Conflict`` instead of overwriting),
writes a referral event, a case timeline entry where there is a case, and an audit event in
the same transaction, and returns the referral.

Access of the receiving agency rests on a cases ``Grant`` (``case_share`` on her consent,
``share_without_consent`` on a legal basis). Every step that makes a referral inactive
(declined, withdrawn, completed, closed) ends that grant in the same transaction: from the
commit on, the receiver sees nothing more.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from himaya.cases import from_referral
from himaya.cases import policies as case_policies
from himaya.cases import services as case_services
from himaya.cases.classification import ViolenceForm
from himaya.cases.intake import (
    SAFE_CONTACT_DECLINABLE,
    SAFE_CONTACT_KEYS,
    ConsentData,
    FieldErrors,
    IncidentData,
    IntakeData,
    SurvivorData,
    clean_phone,
)
from himaya.cases.models import (
    CaseFile,
    Channel,
    ConsentPurpose,
    Grant,
    NoticeEvent,
    SharingBasis,
)
from himaya.cases.notices import notice_language
from himaya.cases.policies import Action, FieldGroup
from himaya.cases.services import MAX_REASON, clean_reason
from himaya.cases.states import CaseState, can_transition
from himaya.core import audit
from himaya.core.actor import Actor, person_id
from himaya.core.crypto import data_key_create
from himaya.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from himaya.core.models import DataKey
from himaya.geo.models import Commune
from himaya.network import routing
from himaya.network.models import Agency, AgencyKind, Language
from himaya.referrals import notify, policies
from himaya.referrals.models import (
    Danger,
    FirstContact,
    Need,
    Referral,
    ReferralEvent,
    ReferralKind,
    ShelterOccupancy,
    Urgency,
)
from himaya.referrals.policies import Side, Step
from himaya.referrals.states import ACTIVE_STATES, ReferralState
from himaya.referrals.states import can_transition as may_move

__all__ = [
    "CloseReason",
    "FirstContactData",
    "ServiceReferralData",
    "acceptance_deadline",
    "first_contact_refer",
    "referral_accept",
    "referral_close",
    "referral_complete",
    "referral_consent_withdrawn",
    "referral_decline",
    "referral_record_provided",
    "referral_refer_again",
    "referral_send",
    "referral_withdraw",
    "shelter_admit",
    "shelter_depart",
    "suggested_unit",
]

TARGET = "referrals.referral"
MAX_TEXT = 2000
MAX_NAME = 200

#: Questions of the first contact she may decline (listed by name, never left blank).
FIRST_CONTACT_DECLINABLE = frozenset(
    {
        "full_name",
        "phone",
        "needs",
        "safe_contact",
        "residence_commune",
        "preferred_language",
        "forms",
        "date",
    }
)


class CloseReason:
    """Why an accepted referral was closed (stored as a short code)."""

    NO_LONGER_NEEDED = "no_longer_needed"
    SHE_LEFT = "she_left"
    NO_CONTACT = "no_contact"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    ACCESS_ENDED = "access_ended"
    OTHER = "other"

    CHOICES = (
        (NO_LONGER_NEEDED, _("She no longer needs it")),
        (SHE_LEFT, _("She left the service")),
        (NO_CONTACT, _("No safe contact possible")),
        (CONSENT_WITHDRAWN, _("She withdrew her consent")),
        (ACCESS_ENDED, _("Access to her file ended")),
        (OTHER, _("Other reason")),
    )
    #: Reasons a person may choose (the others are set by the system).
    CHOSEN = frozenset({NO_LONGER_NEEDED, SHE_LEFT, NO_CONTACT, OTHER})


# --- helpers ------------------------------------------------------------------------------


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise NotFound from None


def _hours(name: str, default: int) -> int:
    value = getattr(settings, name, default)
    return value if isinstance(value, int) and value > 0 else default


def acceptance_deadline(urgency: str = Urgency.ROUTINE, *, now: datetime | None = None) -> datetime:
    """When an answer is due: ``REFERRAL_ACCEPT_HOURS`` (default 24), shorter when urgent."""
    now = now or timezone.now()
    hours = _hours("REFERRAL_ACCEPT_HOURS", 24)
    if urgency == Urgency.URGENT:
        hours = min(hours, 8)
    elif urgency == Urgency.EMERGENCY:
        hours = min(hours, 2)
    return now + timedelta(hours=hours)


def _locked(actor: Actor, referral_id: uuid.UUID | str, step: Step) -> tuple[Referral, Side]:
    """The referral, row-locked until the transaction ends, once ``step`` is allowed.

    The lock is taken before the state is checked: of two people accepting at once, the
    second waits here, then sees the first one's answer and gets a ``Conflict``."""
    referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("data_key", "to_agency", "from_agency")
        .filter(pk=_uuid(referral_id))
        .first()
    )
    if referral is None:
        raise NotFound
    side = policies.require(actor, step, referral)
    return referral, side


def _event(
    referral: Referral,
    actor: Actor | None,
    kind: str,
    *,
    from_state: str = "",
    to_state: str = "",
    **metadata: object,
) -> ReferralEvent:
    return ReferralEvent.objects.create(
        referral=referral,
        actor_id=actor.user_id if actor is not None else None,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        metadata=metadata,
    )


def _audit(
    actor: Actor,
    action: str,
    referral: Referral,
    *,
    reason: str = "",
    metadata: dict[str, object] | None = None,
) -> None:
    audit.record(
        actor=actor,
        action=action,
        target_type=TARGET,
        target_id=str(referral.pk),
        reason=reason,
        metadata=metadata,
    )


def _move(
    referral: Referral, actor: Actor, target: ReferralState, kind: str, **meta: object
) -> str:
    """Change the state (already checked by the policy; checked again against the table)."""
    previous = referral.state
    if not may_move(previous, target):
        raise Conflict(_("This referral cannot go to that step from where it is now."))
    referral.state = target
    _event(referral, actor, kind, from_state=previous, to_state=target, **meta)
    return previous


def _case_timeline(referral: Referral, actor: Actor | None, kind: str, **meta: object) -> None:
    if referral.case_id is not None:
        from_referral.timeline_add(
            actor=actor,
            case_id=referral.case_id,
            kind=kind,
            referral=str(referral.pk),
            agency=referral.to_agency_id,
            **meta,
        )


def _end_access(referral: Referral, actor: Actor) -> bool:
    """End the grant the referral rests on (the receiver sees nothing from now on)."""
    if referral.grant_id is None:
        return False
    return from_referral.referral_grant_end(actor=actor, grant_id=referral.grant_id)


def _free_bed(referral: Referral, now: datetime) -> None:
    if referral.admitted_at is None or referral.departed_at is not None:
        return
    occupancy = ShelterOccupancy.objects.select_for_update().filter(agency_id=referral.to_agency_id)
    row = occupancy.first()
    if row is not None and row.occupied > 0:
        row.occupied -= 1
        row.save(update_fields=["occupied", "updated_at"])
    referral.departed_at = now


def _finish(referral: Referral, actor: Actor, now: datetime) -> bool:
    """What every step out of the active states does: stamp, free a bed, end access."""
    referral.ended_at = now
    _free_bed(referral, now)
    return _end_access(referral, actor)


def _save(referral: Referral) -> None:
    referral.save()


def _active_agency(agency_id: int | None, *, kinds: frozenset[str], field: str) -> Agency:
    """The receiving agency: exists, of the right kind, active and available now."""
    agency = Agency.objects.filter(pk=agency_id).first() if agency_id is not None else None
    if agency is None or agency.kind not in kinds:
        raise InvalidInput(fields={field: [_("Choose an agency from the directory.")]})
    if not agency.is_active:
        raise InvalidInput(fields={field: [_("This agency is closed. Choose another one.")]})
    now = timezone.now()
    if agency.temporarily_unavailable and (
        agency.unavailable_until is None or agency.unavailable_until > now
    ):
        raise InvalidInput(
            fields={field: [_("This agency is temporarily unavailable. Choose another one.")]}
        )
    return agency


def shelter_is_full(agency: Agency) -> bool:
    if agency.kind != AgencyKind.SHELTER or agency.beds is None:
        return False
    occupied = (
        ShelterOccupancy.objects.filter(agency_id=agency.pk)
        .values_list("occupied", flat=True)
        .first()
    )
    return (occupied or 0) >= agency.beds


# --- district focal point → unit ----------------------------------------------------------


@dataclass(kw_only=True)
class FirstContactData:
    """What the focal point records. Any question may be left unasked (blank) or declined
    (listed in ``declined``); "she preferred not to say" is an answer."""

    full_name: str = ""
    phone: str = ""
    needs: str = ""
    immediate_danger: str = ""
    safe_contact: dict[str, object] | None = None
    note: str = ""
    residence_commune_id: int | None = None
    preferred_language: str = ""
    forms: list[str] = field(default_factory=list)
    occurred_on: date | None = None
    declined: list[str] = field(default_factory=list)


def _clean_safe_contact(
    raw: dict[str, object] | None, errors: FieldErrors
) -> dict[str, object] | None:
    """The same safe-contact keys as at intake, so the case takes them over unchanged."""
    contact = dict(raw) if raw else None
    if contact is None:
        return None
    if set(contact) - SAFE_CONTACT_KEYS:
        errors.add("safe_contact", _("Unknown safe-contact detail."))
    contact_declined = contact.get("declined", [])
    if not isinstance(contact_declined, list) or (
        {str(item) for item in contact_declined} - SAFE_CONTACT_DECLINABLE
    ):
        errors.add("safe_contact", _("Unknown safe-contact detail."))
    if contact.get("phone"):
        contact["phone"] = clean_phone(str(contact["phone"]), "safe_contact.phone", errors)
    return contact


def _clean_first_contact(data: FirstContactData) -> FirstContactData:
    errors = FieldErrors()
    name = data.full_name.strip()
    if len(name) > MAX_NAME:
        errors.add("full_name", _("This is too long."))
    phone = clean_phone(data.phone or "", "phone", errors)
    needs = data.needs.strip()
    note = data.note.strip()
    for label, text in (("needs", needs), ("note", note)):
        if len(text) > MAX_TEXT:
            errors.add(label, _("This is too long."))
    if data.immediate_danger not in Danger.values:
        errors.add("immediate_danger", _("Ask her, or mark that she preferred not to say."))
    declined = list(dict.fromkeys(data.declined))
    if set(declined) - FIRST_CONTACT_DECLINABLE:
        errors.add("declined", _("Choose a value from the list."))
    contact = _clean_safe_contact(data.safe_contact, errors)
    commune = data.residence_commune_id
    if commune is not None and not Commune.objects.filter(pk=commune).exists():
        errors.add("residence_commune_id", _("Unknown commune. Choose one from the list."))
    language = data.preferred_language.strip()
    if language and language not in Language.values:
        errors.add("preferred_language", _("Choose a value from the list."))
    forms = list(dict.fromkeys(data.forms))
    if set(forms) - set(ViolenceForm.values):
        errors.add("forms", _("Choose a value from the list."))
    if data.occurred_on is not None and data.occurred_on > timezone.localdate():
        errors.add("occurred_on", _("The incident cannot be in the future."))
    errors.raise_if_any()
    return FirstContactData(
        full_name=name,
        phone=phone,
        needs=needs,
        immediate_danger=data.immediate_danger,
        safe_contact=contact,
        note=note,
        residence_commune_id=commune,
        preferred_language=language,
        forms=forms,
        occurred_on=data.occurred_on,
        declined=declined,
    )


def suggested_unit(*, station_id: int, commune_id: int | None = None) -> int | None:
    """The unit routing suggests for her: from her commune when she gave it, else from the
    station (its default unit first). None when routing finds no available unit."""
    try:
        origin: routing.Origin | None = None
        if commune_id is not None:
            code = Commune.objects.filter(pk=commune_id).values_list("code", flat=True).first()
            if code:
                origin = routing.origin_from_commune(code)
        if origin is None:
            origin = routing.origin_from_station(station_id)
        answer = routing.nearest_unit(origin)
    except (InvalidInput, NotFound):  # the network's routing errors: no suggestion
        return None
    return answer.unit.agency.id if answer.unit is not None else None


def _station(actor: Actor) -> Agency:
    if not policies.is_focal_point(actor) or actor.agency_id is None:
        raise NotFound
    station = Agency.objects.filter(
        pk=actor.agency_id, kind=AgencyKind.DISTRICT_STATION, is_active=True
    ).first()
    if station is None:
        raise PermissionDenied
    return station


def _to_unit(
    *,
    actor: Actor,
    station: Agency,
    first_contact: FirstContact,
    to_unit_id: int | None,
    override_reason: str,
    exclude: set[int] | None = None,
) -> Referral:
    suggestion = suggested_unit(
        station_id=station.pk, commune_id=first_contact.residence_commune_id
    )
    if suggestion is not None and exclude and suggestion in exclude:
        suggestion = None
    chosen_id = to_unit_id if to_unit_id is not None else suggestion
    if chosen_id is None:
        raise InvalidInput(fields={"to_unit_id": [_("Choose the unit to refer her to.")]})
    unit = _active_agency(chosen_id, kinds=frozenset({AgencyKind.POLICE_UNIT}), field="to_unit_id")
    why = ""
    if suggestion is not None and unit.pk != suggestion:
        why = clean_reason(override_reason, field="override_reason")
    referral = Referral(
        kind=ReferralKind.TO_UNIT,
        from_agency=station,
        to_agency=unit,
        data_key_id=first_contact.data_key_id,
        first_contact=first_contact,
        suggested_agency_id=suggestion,
        override_reason=why,
        urgency=Urgency.EMERGENCY
        if first_contact.immediate_danger == Danger.YES
        else Urgency.URGENT,
        deadline_at=acceptance_deadline(),
        created_by_id=person_id(actor),
    )
    if first_contact.immediate_danger == Danger.YES:
        # In danger she is not made to wait a day: the unit answers within two hours.
        referral.deadline_at = acceptance_deadline(Urgency.EMERGENCY)
    try:
        with transaction.atomic():
            referral.save()
    except IntegrityError:
        raise Conflict(_("She is already referred to a unit; wait for its answer.")) from None
    _event(referral, actor, "sent", to_state=ReferralState.SENT, overridden=bool(why))
    _audit(
        actor,
        "referral.send",
        referral,
        reason=why,
        metadata={
            "kind": ReferralKind.TO_UNIT,
            "to": unit.pk,
            "suggested": suggestion,
            "overridden": bool(why),
        },
    )
    return referral


@transaction.atomic
def first_contact_refer(
    *,
    actor: Actor,
    data: FirstContactData,
    to_unit_id: int | None = None,
    override_reason: str = "",
) -> Referral:
    """Record her first contact at the focal point's station and refer her to a unit.

    The unit is the one routing suggests for her commune (or for the station) unless the
    focal point chooses another one, which needs a reason. The first contact is sealed with
    a new data key that will become hers when the unit opens her case."""
    station = _station(actor)
    clean = _clean_first_contact(data)
    key = data_key_create(actor=actor, kind=DataKey.Kind.SURVIVOR)
    first_contact = FirstContact(
        station=station,
        data_key=key,
        full_name=clean.full_name,
        phone=clean.phone,
        needs=clean.needs,
        immediate_danger=clean.immediate_danger,
        safe_contact=clean.safe_contact,
        note=clean.note,
        residence_commune_id=clean.residence_commune_id,
        preferred_language=clean.preferred_language,
        forms=clean.forms,
        occurred_on=clean.occurred_on,
        declined=clean.declined,
        recorded_by_id=person_id(actor),
    )
    first_contact.save()
    audit.record(
        actor=actor,
        action="referral.first_contact",
        target_type="referrals.first_contact",
        target_id=str(first_contact.pk),
        metadata={"danger": clean.immediate_danger, "declined": sorted(clean.declined)},
    )
    return _to_unit(
        actor=actor,
        station=station,
        first_contact=first_contact,
        to_unit_id=to_unit_id,
        override_reason=override_reason,
    )


@transaction.atomic
def referral_refer_again(
    *,
    actor: Actor,
    referral_id: uuid.UUID | str,
    to_unit_id: int | None = None,
    override_reason: str = "",
) -> Referral:
    """After a unit declined (or she was withdrawn), the focal point refers the same first
    contact to another unit: nothing re-typed. The units that declined are not suggested."""
    previous, _side = _locked(actor, referral_id, Step.REFER_AGAIN)
    if previous.kind != ReferralKind.TO_UNIT or previous.first_contact_id is None:
        raise PermissionDenied
    station = _station(actor)
    first_contact = FirstContact.objects.select_for_update().get(pk=previous.first_contact_id)
    refused = set(
        Referral.objects.filter(
            first_contact=first_contact, state=ReferralState.DECLINED
        ).values_list("to_agency_id", flat=True)
    )
    if to_unit_id is not None and to_unit_id in refused:
        raise InvalidInput(fields={"to_unit_id": [_("This unit already declined her.")]})
    return _to_unit(
        actor=actor,
        station=station,
        first_contact=first_contact,
        to_unit_id=to_unit_id,
        override_reason=override_reason,
        exclude=refused,
    )


def _intake_from_first_contact(fc: FirstContact) -> IntakeData:
    declined = set(fc.declined)
    survivor_declined = [
        name
        for name in ("full_name", "phone", "residence_commune", "preferred_language")
        if name in declined
    ]
    contact = fc.safe_contact if isinstance(fc.safe_contact, dict) else None
    incident_declined = [name for name in ("forms", "date") if name in declined]
    # Not asked at the station is not "declined": the unit asks at the interview. Until
    # then the first incident says what she said, and what she was not asked reads as such.
    if not fc.forms and "forms" not in incident_declined:
        incident_declined.append("forms")
    if fc.occurred_on is None and "date" not in incident_declined:
        incident_declined.append("date")
    # The station asked "how may the unit contact her safely?": her answer is her consent
    # to be contacted that way (DOMAIN: consent per purpose), carried into the case so the
    # unit's first notice can reach her — no other purpose is implied by it.
    channel = contact.get("channel") if contact is not None else None
    contact_purpose = {
        "sms": ConsentPurpose.CONTACT_SMS,
        "phone_call": ConsentPurpose.CONTACT_PHONE,
        "phone": ConsentPurpose.CONTACT_PHONE,
        "call": ConsentPurpose.CONTACT_PHONE,
    }.get(str(channel or ""))
    consents = (
        [ConsentData(purpose=contact_purpose, granted=True)] if contact_purpose is not None else []
    )
    return IntakeData(
        channel=Channel.FOCAL_POINT,
        consents=consents,
        survivor=SurvivorData(
            full_name=str(fc.full_name or ""),
            phone=str(fc.phone or ""),
            residence_commune_id=fc.residence_commune_id,
            preferred_language=fc.preferred_language,
            safe_contact=dict(contact) if contact is not None else None,
            declined=survivor_declined,
        ),
        incidents=[
            IncidentData(
                occurred_on=fc.occurred_on,
                commune_id=fc.residence_commune_id,
                forms=list(fc.forms),
                declined=incident_declined,
            )
        ],
    )


@transaction.atomic
def referral_accept(*, actor: Actor, referral_id: uuid.UUID | str) -> Referral:
    """The receiver accepts. For a referral to a unit, her case opens from the first
    contact in this transaction (channel "focal point", her survivor record sealed with the
    first contact's key): nothing is re-typed. She is told (a notice) either way."""
    referral, _side = _locked(actor, referral_id, Step.ACCEPT)
    now = timezone.now()
    if referral.kind == ReferralKind.TO_SERVICE and referral.grant_id is not None:
        live = Grant.objects.filter(pk=referral.grant_id, revoked_at__isnull=True).exists()
        if not live:
            raise Conflict(
                _(
                    "The unit stopped sharing her file or she withdrew her consent: this "
                    "referral can no longer be accepted."
                )
            )
    previous = _move(referral, actor, ReferralState.ACCEPTED, "accepted")
    referral.answered_at = now
    referral.answered_by_id = person_id(actor)
    if referral.kind == ReferralKind.TO_UNIT and referral.first_contact_id is not None:
        first_contact = FirstContact.objects.select_related("data_key").get(
            pk=referral.first_contact_id
        )
        outcome = from_referral.case_open_from_first_contact(
            actor=actor,
            data=_intake_from_first_contact(first_contact),
            data_key_id=first_contact.data_key_id,
            idempotency_key=f"referral-{referral.pk}",
        )
        referral.case = outcome.case
        _save(referral)
        _case_timeline(referral, actor, "referral_received", station=referral.from_agency_id)
        unit = referral.to_agency
        notify.tell_her(
            case=outcome.case,
            event=NoticeEvent.CASE_ACCEPTED,
            dedupe_key=f"referral-accepted-{referral.pk}",
            author=actor,
            params={
                "agency": unit.name_ar if notice_language(outcome.case) == "ar" else unit.name_fr
            },
        )
    else:
        _save(referral)
        _case_timeline(referral, actor, "referral_accepted")
        if referral.case is not None:
            notify.tell_her(
                case=referral.case,
                event=NoticeEvent.REFERRAL_ACCEPTED,
                dedupe_key=f"referral-accepted-{referral.pk}",
                author=actor,
            )
    _audit(
        actor,
        "referral.accept",
        referral,
        metadata={"from": previous, "case": str(referral.case_id) if referral.case_id else None},
    )
    return referral


@transaction.atomic
def referral_decline(*, actor: Actor, referral_id: uuid.UUID | str, reason: str) -> Referral:
    """The receiver declines, saying why. The sender is alerted (a referral to a service:
    the unit's chief, ``REFERRAL_DECLINED``) and picks another agency."""
    referral, _side = _locked(actor, referral_id, Step.DECLINE)
    why = clean_reason(reason)
    now = timezone.now()
    previous = _move(referral, actor, ReferralState.DECLINED, "declined")
    referral.decline_reason = why
    referral.answered_at = now
    referral.answered_by_id = person_id(actor)
    _case_timeline(referral, actor, "referral_declined")
    ended = _finish(referral, actor, now)
    _save(referral)
    if referral.kind == ReferralKind.TO_SERVICE:
        from_referral.referral_declined_alert(
            unit_id=referral.from_agency_id,
            case_id=referral.case_id,
            agency_id=referral.to_agency_id,
        )
    _audit(
        actor,
        "referral.decline",
        referral,
        reason=why,
        metadata={"from": previous, "access_ended": ended},
    )
    return referral


@transaction.atomic
def referral_withdraw(*, actor: Actor, referral_id: uuid.UUID | str, reason: str = "") -> Referral:
    """The sender takes back a referral still waiting; the receiver's access ends now."""
    referral, _side = _locked(actor, referral_id, Step.WITHDRAW)
    now = timezone.now()
    previous = _move(referral, actor, ReferralState.WITHDRAWN, "withdrawn")
    _case_timeline(referral, actor, "referral_withdrawn")
    ended = _finish(referral, actor, now)
    _save(referral)
    _audit(
        actor,
        "referral.withdraw",
        referral,
        reason=(reason or "").strip()[:MAX_REASON],
        metadata={"from": previous, "access_ended": ended},
    )
    return referral


@transaction.atomic
def referral_record_provided(
    *, actor: Actor, referral_id: uuid.UUID | str, provided: str
) -> Referral:
    """The receiver records what it provided (a consultation, nights of shelter…)."""
    referral, _side = _locked(actor, referral_id, Step.RECORD_PROVIDED)
    text = (provided or "").strip()
    if not text:
        raise InvalidInput(fields={"provided": [_("This field is required.")]})
    if len(text) > MAX_TEXT:
        raise InvalidInput(fields={"provided": [_("This is too long.")]})
    referral.provided = text
    _save(referral)
    _event(referral, actor, "provided")
    _case_timeline(referral, actor, "referral_provided")
    _audit(actor, "referral.provided", referral)
    return referral


@transaction.atomic
def referral_complete(
    *, actor: Actor, referral_id: uuid.UUID | str, provided: str = ""
) -> Referral:
    """The receiver completes the referral (with what it provided, if not yet recorded);
    its access ends now and a shelter bed she still held is freed."""
    referral, _side = _locked(actor, referral_id, Step.COMPLETE)
    text = (provided or "").strip()
    if len(text) > MAX_TEXT:
        raise InvalidInput(fields={"provided": [_("This is too long.")]})
    if text:
        referral.provided = text
    now = timezone.now()
    previous = _move(referral, actor, ReferralState.COMPLETED, "completed")
    _case_timeline(referral, actor, "referral_completed")
    ended = _finish(referral, actor, now)
    _save(referral)
    _audit(actor, "referral.complete", referral, metadata={"from": previous, "access_ended": ended})
    return referral


@transaction.atomic
def referral_close(*, actor: Actor, referral_id: uuid.UUID | str, reason: str) -> Referral:
    """Either side closes an accepted referral for one of ``CloseReason.CHOSEN``; the
    receiver's access ends now."""
    referral, side = _locked(actor, referral_id, Step.CLOSE)
    if reason not in CloseReason.CHOSEN:
        raise InvalidInput(fields={"reason": [_("Choose a value from the list.")]})
    now = timezone.now()
    previous = _move(referral, actor, ReferralState.CLOSED, "closed", reason=reason, by=side)
    referral.close_reason = reason
    _case_timeline(referral, actor, "referral_closed", reason=reason)
    ended = _finish(referral, actor, now)
    _save(referral)
    _audit(
        actor,
        "referral.close",
        referral,
        metadata={"from": previous, "reason": reason, "by": str(side), "access_ended": ended},
    )
    return referral


def _close_dead(referral: Referral, actor: Actor, now: datetime, reason: str) -> None:
    """An active referral whose access already ended elsewhere (her consent revoked on
    the case page) is closed, so that the lists tell the truth."""
    target = (
        ReferralState.WITHDRAWN if referral.state == ReferralState.SENT else ReferralState.CLOSED
    )
    previous = _move(referral, actor, target, "access_ended", reason=reason)
    referral.close_reason = reason
    _finish(referral, actor, now)
    _save(referral)
    _audit(actor, "referral.access_ended", referral, metadata={"from": previous, "reason": reason})


@transaction.atomic
def referral_consent_withdrawn(*, actor: Actor, referral_id: uuid.UUID | str) -> Referral:
    """She withdraws the consent this referral rests on: the consent is revoked on her case
    (``cases.services.consent_revoke``: every grant resting on it ends now) and every active
    referral that rested on it is closed, in one transaction."""
    referral, _side = _locked(actor, referral_id, Step.CONSENT_WITHDRAWN)
    grant = (
        Grant.objects.select_related("consent").filter(pk=referral.grant_id).first()
        if referral.grant_id is not None
        else None
    )
    if referral.case_id is None or grant is None or grant.consent is None:
        raise InvalidInput(
            fields={"consent": [_("This referral rests on a legal basis, not on her consent.")]}
        )
    consent = grant.consent
    if consent.revoked_at is None:
        case_services.consent_revoke(actor=actor, case_id=referral.case_id, purpose=consent.purpose)
    now = timezone.now()
    others = (
        Referral.objects.select_for_update(of=("self",))
        .filter(grant__consent=consent, state__in=ACTIVE_STATES)
        .select_related("to_agency", "data_key")
    )
    for other in others:
        _close_dead(other, actor, now, CloseReason.CONSENT_WITHDRAWN)
        _case_timeline(other, actor, "referral_consent_withdrawn")
    referral.refresh_from_db()
    return referral


# --- unit → services ----------------------------------------------------------------------


@dataclass(kw_only=True)
class ServiceReferralData:
    agency_id: int | None
    need: str
    urgency: str = Urgency.ROUTINE
    scope: Sequence[str] = ()
    message: str = ""
    #: "consent" (her consent on record for this kind of agency) or a legal basis.
    basis: str = SharingBasis.CONSENT
    legal_reason: str = ""
    suggested_agency_id: int | None = None
    override_reason: str = ""


def _clean_service(data: ServiceReferralData) -> tuple[list[str], str]:
    errors = FieldErrors()
    if data.need not in Need.values:
        errors.add("need", _("Choose a value from the list."))
    if data.urgency not in Urgency.values:
        errors.add("urgency", _("Choose a value from the list."))
    scope = list(dict.fromkeys(str(g) for g in data.scope))
    if not scope:
        errors.add("scope", _("Choose what to share."))
    elif set(scope) - {str(g) for g in FieldGroup}:
        errors.add("scope", _("Choose a value from the list."))
    message = (data.message or "").strip()
    if len(message) > MAX_TEXT:
        errors.add("message", _("This is too long."))
    if data.basis != SharingBasis.CONSENT and data.basis not in case_policies.WITHOUT_CONSENT_BASES:
        errors.add("basis", _("Choose a value from the list."))
    errors.raise_if_any()
    return scope, message


def _purpose_for(agency: Agency) -> ConsentPurpose | None:
    return case_policies.SHARING_PURPOSE.get(agency.kind)


@transaction.atomic
def referral_send(*, actor: Actor, case_id: uuid.UUID | str, data: ServiceReferralData) -> Referral:
    """Refer her case to a service. The referral rests on a grant the cases services create:
    ``case_share`` on her live consent for that kind of agency (the scope must stay within
    what she agreed to), or ``share_without_consent`` on a legal basis with a written reason
    (which alerts the chief). Refused: no consent and no legal basis, an agency that is
    closed, unavailable or (a shelter) full, and a second active referral to the same agency.
    """
    case = (
        CaseFile.objects.select_for_update(of=("self",))
        .select_related("survivor")
        .filter(pk=_uuid(case_id))
        .first()
    )
    if case is None:
        raise NotFound
    case_policies.require(actor, Action.SHARE, case)
    scope, message = _clean_service(data)
    agency = _active_agency(data.agency_id, kinds=policies.SERVICE_KINDS, field="agency_id")
    if shelter_is_full(agency):
        raise InvalidInput(fields={"agency_id": [_("This shelter is full. Choose another one.")]})
    now = timezone.now()
    existing = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("grant", "to_agency", "data_key")
        .filter(case=case, to_agency=agency, state__in=ACTIVE_STATES)
        .first()
    )
    if existing is not None:
        grant = existing.grant
        if grant is not None and grant.revoked_at is None:
            raise Conflict(
                _("She is already referred to this agency. Follow that referral instead.")
            )
        _close_dead(existing, actor, now, CloseReason.ACCESS_ENDED)
    suggestion = data.suggested_agency_id
    why = ""
    if suggestion is not None and suggestion != agency.pk:
        why = clean_reason(data.override_reason, field="override_reason")
    if data.basis == SharingBasis.CONSENT:
        if _purpose_for(agency) is None:
            raise InvalidInput(fields={"basis": [_("Choose a value from the list.")]})
        grant = case_services.case_share(
            actor=actor, case_id=case.pk, agency_id=agency.pk, scope=scope
        )
    else:
        grant = case_services.share_without_consent(
            actor=actor,
            case_id=case.pk,
            agency_id=agency.pk,
            basis=data.basis,
            reason=data.legal_reason,
            scope=scope,
        )
    referral = Referral(
        kind=ReferralKind.TO_SERVICE,
        from_agency_id=case.unit_id,
        to_agency=agency,
        data_key_id=case.survivor.data_key_id,
        case=case,
        grant=grant,
        suggested_agency_id=suggestion,
        override_reason=why,
        need=data.need,
        urgency=data.urgency,
        message=message,
        deadline_at=acceptance_deadline(data.urgency, now=now),
        created_by_id=person_id(actor),
    )
    try:
        with transaction.atomic():
            referral.save()
    except IntegrityError:
        raise Conflict(
            _("She is already referred to this agency. Follow that referral instead.")
        ) from None
    _event(referral, actor, "sent", to_state=ReferralState.SENT, basis=grant.basis, scope=scope)
    _case_timeline(referral, actor, "referral_sent", basis=grant.basis, scope=scope)
    if can_transition(case.state, CaseState.REFERRED) and case.state != CaseState.REFERRED:
        case_services.case_transition(actor=actor, case_id=case.pk, to_state=CaseState.REFERRED)
    _audit(
        actor,
        "referral.send",
        referral,
        reason=why,
        metadata={
            "kind": ReferralKind.TO_SERVICE,
            "to": agency.pk,
            "basis": grant.basis,
            "scope": scope,
            "grant": str(grant.pk),
        },
    )
    return referral


# --- shelter admissions -------------------------------------------------------------------


@transaction.atomic
def shelter_admit(*, actor: Actor, referral_id: uuid.UUID | str) -> Referral:
    """She arrived at the shelter: one bed taken (refused when the shelter is full)."""
    referral, _side = _locked(actor, referral_id, Step.ADMIT)
    if referral.to_agency.kind != AgencyKind.SHELTER:
        raise PermissionDenied
    if referral.admitted_at is not None:
        raise Conflict(_("Her arrival is already recorded."))
    ShelterOccupancy.objects.bulk_create(
        [ShelterOccupancy(agency_id=referral.to_agency_id, occupied=0)], ignore_conflicts=True
    )
    occupancy = ShelterOccupancy.objects.select_for_update().get(agency_id=referral.to_agency_id)
    beds = referral.to_agency.beds
    if beds is not None and occupancy.occupied >= beds:
        raise Conflict(_("Every bed of this shelter is taken. Record a departure first."))
    occupancy.occupied += 1
    occupancy.save(update_fields=["occupied", "updated_at"])
    referral.admitted_at = timezone.now()
    _save(referral)
    _event(referral, actor, "admitted", occupied=occupancy.occupied)
    _case_timeline(referral, actor, "referral_admitted")
    _audit(actor, "referral.admit", referral, metadata={"occupied": occupancy.occupied})
    return referral


@transaction.atomic
def shelter_depart(*, actor: Actor, referral_id: uuid.UUID | str) -> Referral:
    """She left the shelter: her bed is free again (the referral stays open until closed)."""
    referral, _side = _locked(actor, referral_id, Step.DEPART)
    if referral.admitted_at is None or referral.departed_at is not None:
        raise Conflict(_("Her arrival is not recorded, or her departure already is."))
    _free_bed(referral, timezone.now())
    _save(referral)
    _event(referral, actor, "departed")
    _case_timeline(referral, actor, "referral_departed")
    _audit(actor, "referral.depart", referral)
    return referral
