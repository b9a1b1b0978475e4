"""Helpers of the portal tests: a small network (a commune, its police unit, its prosecution
office) and a browser-like client that walks the report form one screen at a time, exactly
as a phone with JavaScript off would (plain POSTs, the signed state carried in the page)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from django.test import Client

from himaya.geo.models import Commune
from himaya.network.index import invalidate
from himaya.network.models import Agency, AgencyKind, Jurisdiction
from tests.accounts.helpers import make_agency
from tests.cases.helpers import make_commune

ORIGIN = {"HTTP_ORIGIN": "http://testserver"}


@dataclass(frozen=True)
class World:
    commune: Commune
    unit: Agency
    office: Agency
    other_unit: Agency


def make_world() -> World:
    commune = make_commune("Portail")
    far = make_commune("Loin")
    Commune.objects.filter(pk=far.pk).update(latitude=30.0, longitude=-9.0)
    unit = make_agency(AgencyKind.POLICE_UNIT, commune=commune, latitude=33.5, longitude=-7.6)
    other = make_agency(AgencyKind.POLICE_UNIT, commune=far, latitude=30.0, longitude=-9.0)
    office = make_agency(
        AgencyKind.PROSECUTION_OFFICE, commune=commune, latitude=33.51, longitude=-7.61
    )
    Jurisdiction.objects.create(office=office, commune=commune)
    invalidate()
    return World(commune=commune, unit=unit, office=office, other_unit=other)


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name}"
    return html.unescape(match.group(1))


def post(client: Client, url: str, data: dict[str, Any], **extra: Any) -> Any:
    return client.post(url, data, **{**ORIGIN, **extra})


ANSWERS: dict[str, dict[str, Any]] = {
    "who": {"who": "self"},
    "what": {
        "forms_": ["physical", "psychological"],
        "relationship": "spouse",
        "account": "Il m'a frappée hier soir.",
    },
    "when": {"when": "yesterday"},
    "where": {},
    "place": {},
    "safety": {"safe_now": "no", "children": "2", "children_at_risk": "yes", "woman_officer": "on"},
    "contact": {
        "channel": "sms",
        "phone": "0612345678",
        "safe_times": "9h-11h",
        "may_leave_message": "no",
    },
    "identity": {"full_name": "Amina Portail", "cin": "BK123456", "date_of_birth": "1990-04-02"},
    "review": {},
}


def walk(
    client: Client,
    world: World,
    *,
    kind: str = "help",
    lang: str = "fr",
    overrides: dict[str, dict[str, Any]] | None = None,
    stop_before: str | None = None,
    extra_review: dict[str, Any] | None = None,
) -> tuple[Any, str]:
    """Walk every step; returns the last response and the last state."""
    url = f"/p/{lang}/form/"
    response = post(client, url, {"kind": kind})
    assert response.status_code == 200
    steps = ["who", "what", "when", "where", "place", "safety", "contact", "identity", "review"]
    for step in steps:
        page = response.content.decode()
        if step == stop_before:
            return response, hidden(page, "state") if 'name="state"' in page else ""
        state = hidden(page, "state")
        data: dict[str, Any] = {"state": state, "step": step, "go": "next"}
        data.update(ANSWERS[step])
        if step == "where":
            data["province"] = world.commune.province.code
        if step == "place":
            data["commune"] = str(world.commune.pk)
        data.update((overrides or {}).get(step, {}))
        if step == "review":
            data.update(extra_review or {})
        response = post(client, url, data)
    return response, hidden(
        response.content.decode(), "receipt"
    ) if response.status_code == 200 and "receipt" in response.content.decode() else ""


CODENAME = re.compile(r'<p class="code"[^>]*>([^<]+)</p>')


def codename_in(page: str) -> str:
    match = CODENAME.search(page)
    assert match, "no codename on the page"
    return html.unescape(match.group(1)).strip()
