"""Every write to the service network. Keyword-only, one transaction each, policy checked,
audit event written in the same transaction, routing index invalidated.

A shelter's address is sealed under the shelter's own data key and never stored in clear;
its position is its commune's reference point, never the building's.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from himaya.core import audit
from himaya.core.actor import Actor
from himaya.core.crypto import data_key_create
from himaya.core.errors import Conflict, InvalidInput
from himaya.core.models import DataKey
from himaya.geo.models import Commune
from himaya.network import policies
from himaya.network.errors import AgencyNotFound
from himaya.network.index import bump_revision
from himaya.network.models import Agency, AgencyKind, FocalPoint, Jurisdiction, OpeningHours
from himaya.network.validation import AgencyData, CommuneRef, check_agency

#: Columns copied as they are from ``AgencyData`` to the model.
_PLAIN_FIELDS = (
    "kind",
    "name_ar",
    "name_fr",
    "step_free_access",
    "accessibility_notes",
    "beds",
    "accepts_single_mothers",
    "accepts_children",
    "accepts_minors",
    "accepts_women_with_disabilities",
    "phone",
    "email",
    "website",
    "default_unit_id",
    "is_active",
    "is_synthetic",
)
MIN_REASON_LENGTH = 10


def _commune_ref(commune_id: int | None) -> tuple[Commune | None, CommuneRef | None]:
    if commune_id is None:
        return None, None
    commune = Commune.objects.filter(pk=commune_id).first()
    if commune is None:
        return None, None
    return commune, CommuneRef(commune.pk, commune.latitude, commune.longitude)


def validate(data: AgencyData, *, agency_id: int | None = None) -> dict[str, list[str]]:
    """Every broken rule of ``data`` for a new agency or the agency ``agency_id``."""
    _commune, ref = _commune_ref(data.commune_id)
    unit_kind = None
    if data.default_unit_id is not None:
        unit_kind = (
            Agency.objects.filter(pk=data.default_unit_id).values_list("kind", flat=True).first()
        )
    errors = check_agency(data, commune=ref, default_unit_kind=unit_kind)
    if data.code:
        taken = Agency.objects.filter(code=data.code)
        if agency_id is not None:
            taken = taken.exclude(pk=agency_id)
        if taken.exists():
            errors.setdefault("code", []).append(_("Another agency already has this code."))
    return errors


def apply_agency(
    *, actor: Actor, agency: Agency, data: AgencyData, commune: CommuneRef | None
) -> list[str]:
    """Copy ``data`` onto ``agency`` and its child rows; returns the names of changed fields.

    No policy check and no audit: for callers that have done both for a whole batch (the
    services below, the CSV import, the demo builder), inside their transaction.
    """
    changed: list[str] = []

    def put(name: str, value: object) -> None:
        if getattr(agency, name) != value:
            setattr(agency, name, value)
            changed.append(name)

    for name in _PLAIN_FIELDS:
        put(name, getattr(data, name))
    put("code", data.code or None)
    put("commune_id", data.commune_id)
    put("languages", sorted(set(data.languages)))
    put("services", sorted(set(data.services)))
    put("open_24_7", data.hours.always_open)
    if data.kind == AgencyKind.SHELTER:
        # Never the building: only the commune's reference point.
        put("latitude", commune.latitude if commune else None)
        put("longitude", commune.longitude if commune else None)
        put("address", "")
    else:
        lat, lon = data.latitude, data.longitude
        if lat is None and commune is not None:
            lat, lon = commune.latitude, commune.longitude
        put("latitude", lat)
        put("longitude", lon)
        if data.address is not None:
            put("address", data.address.strip())
    sealed_change = _apply_protected_address(actor=actor, agency=agency, data=data)
    if sealed_change:
        changed.append("protected_address")
    is_new = agency.pk is None
    if is_new or changed:
        agency.save()
    if _replace_children(agency, data, is_new=is_new):
        changed.append("children")
    return changed


def _apply_protected_address(*, actor: Actor, agency: Agency, data: AgencyData) -> bool:
    """Seal a shelter's address under its own data key; other kinds never hold one."""
    if data.kind != AgencyKind.SHELTER:
        if agency.__dict__.get("protected_address") is not None:
            agency.protected_address = None
            return True
        return False
    if data.address is None:
        return False
    text = data.address.strip()
    if agency.pk is not None and agency.data_key_id is not None:
        # Opening the current value costs one decryption; it keeps re-imports of an
        # unchanged file from re-sealing (and reporting as changed) every shelter.
        current = agency.protected_address
        if current is not None and str(current) == text:
            return False
    if agency.data_key_id is None:
        agency.data_key = data_key_create(actor=actor, kind=DataKey.Kind.AGENCY)
    agency.protected_address = text
    return True


def _replace_children(agency: Agency, data: AgencyData, *, is_new: bool) -> bool:
    """Hours, focal points and jurisdiction: replaced as a whole when they differ."""
    changed = False
    wanted_hours = sorted((i.weekday, i.opens, i.closes) for i in data.hours.intervals)
    current_hours = (
        [] if is_new else sorted(agency.opening_hours.values_list("weekday", "opens", "closes"))
    )
    if wanted_hours != current_hours:
        agency.opening_hours.all().delete()
        OpeningHours.objects.bulk_create(
            OpeningHours(agency=agency, weekday=w, opens=o, closes=c) for w, o, c in wanted_hours
        )
        changed = True
    wanted_points = [(n.strip(), p.strip()) for n, p in data.focal_points]
    current_points = (
        [] if is_new else list(agency.focal_points.order_by("id").values_list("full_name", "phone"))
    )
    if wanted_points != current_points:
        agency.focal_points.all().delete()
        FocalPoint.objects.bulk_create(
            FocalPoint(station=agency, full_name=n, phone=p) for n, p in wanted_points
        )
        changed = True
    wanted_communes = sorted(set(data.competent_commune_ids))
    current_communes = (
        [] if is_new else sorted(agency.jurisdictions.values_list("commune_id", flat=True))
    )
    if wanted_communes != current_communes:
        agency.jurisdictions.all().delete()
        taken = Jurisdiction.objects.filter(commune_id__in=wanted_communes).exclude(office=agency)
        if taken.exists():
            raise Conflict(
                _("Some of these communes already belong to another prosecution office.")
            )
        Jurisdiction.objects.bulk_create(
            Jurisdiction(office=agency, commune_id=c) for c in wanted_communes
        )
        changed = True
    return changed


@transaction.atomic
def agency_create(*, actor: Actor, data: AgencyData) -> Agency:
    policies.check_edit_network(actor)
    errors = validate(data)
    if errors:
        raise InvalidInput(fields=errors)
    _commune, ref = _commune_ref(data.commune_id)
    agency = Agency()
    apply_agency(actor=actor, agency=agency, data=data, commune=ref)
    audit.record(
        actor=actor,
        action="network.agency.create",
        target_type="network.agency",
        target_id=agency.pk,
        metadata={"kind": agency.kind},
    )
    bump_revision()
    return agency


@transaction.atomic
def agency_update(*, actor: Actor, agency_id: int, data: AgencyData) -> Agency:
    policies.check_edit_network(actor)
    agency = Agency.objects.select_for_update().filter(pk=agency_id).first()
    if agency is None:
        raise AgencyNotFound()
    errors = validate(data, agency_id=agency.pk)
    if errors:
        raise InvalidInput(fields=errors)
    _commune, ref = _commune_ref(data.commune_id)
    changed = apply_agency(actor=actor, agency=agency, data=data, commune=ref)
    audit.record(
        actor=actor,
        action="network.agency.update",
        target_type="network.agency",
        target_id=agency.pk,
        metadata={"fields": sorted(changed)},
    )
    bump_revision()
    return agency


@transaction.atomic
def agency_set_availability(
    *,
    actor: Actor,
    agency_id: int,
    unavailable: bool,
    until: datetime | None = None,
    reason: str = "",
) -> Agency:
    """Mark an agency temporarily unavailable (routing moves on to the next) or available."""
    agency = Agency.objects.select_for_update().filter(pk=agency_id).first()
    if agency is None:
        raise AgencyNotFound()
    policies.check_set_availability(actor, agency_id=agency.pk, kind=agency.kind)
    if until is not None and until <= timezone.now():
        raise InvalidInput(fields={"until": [_("Give a moment in the future.")]})
    agency.temporarily_unavailable = unavailable
    agency.unavailable_until = until if unavailable else None
    agency.unavailable_reason = reason.strip()[:200] if unavailable else ""
    agency.save(
        update_fields=[
            "temporarily_unavailable",
            "unavailable_until",
            "unavailable_reason",
            "updated_at",
        ]
    )
    audit.record(
        actor=actor,
        action="network.agency.availability",
        target_type="network.agency",
        target_id=agency.pk,
        reason=reason,
        metadata={"unavailable": unavailable, "until_set": until is not None},
    )
    bump_revision()
    return agency


@transaction.atomic
def shelter_address_reveal(*, actor: Actor, agency_id: int, reason: str) -> str:
    """A shelter's address, for a role that takes survivors there, after a fresh second
    factor and a written reason. Every reveal is an audit event; refusals reveal nothing."""
    agency = Agency.objects.select_related("data_key").filter(pk=agency_id).first()
    if agency is None or agency.kind != AgencyKind.SHELTER:
        raise AgencyNotFound()
    policies.check_reveal_shelter_address(actor, shelter_id=agency.pk)
    reason = reason.strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise InvalidInput(
            fields={
                "reason": [
                    _("Say why you need the address (at least %(n)d characters).")
                    % {"n": MIN_REASON_LENGTH}
                ]
            }
        )
    audit.record(
        actor=actor,
        action="network.shelter_address.reveal",
        target_type="network.agency",
        target_id=agency.pk,
        reason=reason,
    )
    return str(agency.protected_address or "")
