"""Build the world the browser journeys run in, inside the database the e2e server will use.

Run as a separate process (never imported by the test process), against an empty database::

    HIMAYA_ENV=test SQLITE_PATH=… HIMAYA_VAR_DIR=… python -m tests.e2e.prepare WORLD.json

It migrates, loads the synthetic demo (real geography, the demo network, demo accounts and
demo case files) through ``load_demo``, then adds one staff account per journey so that no
two journeys spend codes of the same authenticator (django-otp refuses a code of a time step
already used). Everything goes through the real services. What the journeys need to know —
accounts and their TOTP keys, the facts a page must show — is written to ``WORLD.json``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import django


def _account(user: Any, password: str) -> dict[str, Any]:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return {
        "username": user.get_username(),
        "password": password,
        "key": device.key,  # hex, as django-otp stores it
        "step": device.step,
        "t0": device.t0,
        "digits": device.digits,
    }


def build() -> dict[str, Any]:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("load_demo", verbosity=0)

    from himaya.accounts.models import Membership, User
    from himaya.accounts.roles import Role
    from himaya.cases.models import CaseFile
    from himaya.demo.accounts import demo_password
    from himaya.network.models import Agency, AgencyKind
    from tests.accounts.helpers import TEST_PASSWORD, make_staff

    def agency_of(username: str) -> Agency:
        membership = Membership.objects.select_related("agency").get(user__username=username)
        return membership.agency

    unit = agency_of("demo.officer")
    station = agency_of("demo.focal")
    shelter = agency_of("demo.provider")
    assert station.kind == AgencyKind.DISTRICT_STATION
    assert shelter.kind == AgencyKind.SHELTER
    assert unit.commune is not None, "demo units sit in a commune"
    assert station.default_unit is not None, "demo stations refer to a default unit"
    assert shelter.protected_address, "demo shelters have a sealed address"

    accounts: dict[str, dict[str, Any]] = {}
    for name, role, agency in (
        ("officer", Role.UNIT_OFFICER, unit),  # journey 1: the intakes
        ("gate", Role.UNIT_OFFICER, unit),  # journey 2: a password alone opens nothing
        ("focal", Role.FOCAL_POINT, station),  # journeys 3 and 4
        ("chief", Role.UNIT_CHIEF, unit),  # journey 4: step-up, then the address
        ("axe", Role.UNIT_OFFICER, unit),  # journey 5: accessibility
        ("axe.focal", Role.FOCAL_POINT, station),
        ("ref.focal", Role.FOCAL_POINT, station),  # referral journeys
        ("ref.unit", Role.UNIT_OFFICER, station.default_unit),
        ("ref.provider", Role.SERVICE_PROVIDER, shelter),
        ("justice.unit", Role.UNIT_OFFICER, unit),  # justice journey
        ("justice.prosecutor", Role.PROSECUTOR, agency_of("demo.prosecutor")),
    ):
        user = make_staff(role, agency, username=f"e2e.{name}", password=TEST_PASSWORD)
        accounts[name] = _account(user, TEST_PASSWORD)
    # The portal journeys: the unit (and prosecution office) her commune routes her to.
    from himaya.cases.online import route_online

    route = route_online(commune_id=unit.commune.pk)
    assert route.unit_id is not None
    assert route.prosecution_office_id is not None
    for name, role, agency_id in (
        ("portal.unit", Role.UNIT_CHIEF, route.unit_id),
        ("portal.prosecutor", Role.PROSECUTOR, route.prosecution_office_id),
    ):
        user = make_staff(
            role, Agency.objects.get(pk=agency_id), username=f"e2e.{name}", password=TEST_PASSWORD
        )
        accounts[name] = _account(user, TEST_PASSWORD)
    survivor_journey = _survivor_journey(station, shelter, unit.commune, accounts)
    for username in ("demo.officer", "demo.chief", "demo.focal"):
        # Journey 6 (screenshots) signs in as the documented demo accounts.
        accounts[username] = _account(User.objects.get(username=username), demo_password())

    demo_case = CaseFile.objects.filter(unit=unit).order_by("created_at").first()
    assert demo_case is not None, "load_demo opens case files in the demo unit"
    default_unit = station.default_unit
    return {
        "accounts": accounts,
        "unit": {"id": unit.pk, "name_ar": unit.name_ar, "name_fr": unit.name_fr},
        # Where the intakes place her and the incident: the demo unit's own commune.
        "place": {"province": unit.commune.province.code, "commune": unit.commune.pk},
        "station": {
            "id": station.pk,
            "name_ar": station.name_ar,
            "name_fr": station.name_fr,
            "default_unit": {
                "id": default_unit.pk,
                "name_ar": default_unit.name_ar,
                "name_fr": default_unit.name_fr,
            },
        },
        "shelter": {
            "id": shelter.pk,
            "name_fr": shelter.name_fr,
            "address": shelter.protected_address,
        },
        "demo_case": {"id": str(demo_case.pk), "reference": demo_case.reference},
        # The justice journey: a case with her consent, not yet forwarded, and the office.
        "justice": {
            "case": str(CaseFile.objects.get(unit=unit, idempotency_key="demo-justice-04").pk),
            "office": agency_of("demo.prosecutor").pk,
        },
        "survivor_journey": survivor_journey,
    }


def _survivor_journey(
    station: Any, busy_shelter: Any, commune: Any, accounts: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The survivor's whole journey (``test_survivor_journey.py``): she lives in the demo
    unit's commune; the unit routing suggests for her there, the office competent for it and
    a shelter near her that no other journey uses each get an account of their own."""
    from django.conf import settings

    from himaya.accounts.roles import Role
    from himaya.network import routing
    from himaya.network.index import get_index
    from himaya.network.models import Agency, AgencyKind, Jurisdiction
    from himaya.referrals.services import suggested_unit
    from tests.accounts.helpers import TEST_PASSWORD, make_staff

    unit_id = suggested_unit(station_id=station.pk, commune_id=commune.pk)
    assert unit_id is not None, "routing suggests a unit for the demo commune"
    unit = Agency.objects.get(pk=unit_id)
    competent = list(
        Jurisdiction.objects.filter(
            commune=commune,
            office__is_active=True,
            office__kind__in=[AgencyKind.PROSECUTION_OFFICE, AgencyKind.APPEAL_COURT],
        ).values_list("office_id", flat=True)
    )
    assert len(competent) == 1, "one prosecution office is competent for the demo commune"
    office = Agency.objects.get(pk=competent[0])
    index = get_index()
    place = index.communes_by_id[commune.pk]
    nearby = routing.nearest_services(
        routing.Origin("commune", place.latitude, place.longitude, place),
        kind=AgencyKind.SHELTER,
        needs=routing.Needs(),
        limit=8,
        index=index,
    )
    shelter = next(
        Agency.objects.get(pk=c.agency.id)
        for c in nearby.results
        if c.agency.id != busy_shelter.pk and c.agency.beds
    )
    for name, role, agency in (
        ("journey.focal", Role.FOCAL_POINT, station),
        ("journey.unit", Role.UNIT_OFFICER, unit),
        ("journey.chief", Role.UNIT_CHIEF, unit),
        ("journey.provider", Role.SERVICE_PROVIDER, shelter),
        ("journey.prosecutor", Role.PROSECUTOR, office),
    ):
        user = make_staff(role, agency, username=f"e2e.{name}", password=TEST_PASSWORD)
        accounts[name] = _account(user, TEST_PASSWORD)
    return {
        "commune": {"id": commune.pk, "code": commune.code},
        "unit": {"id": unit.pk, "name_ar": unit.name_ar, "name_fr": unit.name_fr},
        "office": {"id": office.pk, "name_fr": office.name_fr},
        "shelter": {"id": shelter.pk, "name_fr": shelter.name_fr, "beds": shelter.beds},
        # The SMS "file" backend's outbox: the server runs with this process's settings.
        "sms_outbox": str(settings.HIMAYA_SMS_FILE),
    }


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "himaya.settings")
    django.setup()
    world = build()
    Path(sys.argv[1]).write_text(json.dumps(world, ensure_ascii=False, indent=2), "utf-8")


if __name__ == "__main__":
    main()
