"""Floods held back without shutting her out, and a breach she reports herself."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from himaya.accounts.roles import Role
from himaya.cases.models import Alert, AlertKind, CaseFile
from himaya.portal import views
from himaya.portal.wizard import load_state
from tests.cases.helpers import make_actor
from tests.portal.helpers import World, codename_in, hidden, post, walk

pytestmark = pytest.mark.django_db


@override_settings(PORTAL_REPORTS_PER_CLIENT=1)
def test_when_traffic_is_suspicious_she_answers_a_simple_question(
    client: Client, world: World
) -> None:
    first, _ = walk(client, world)
    assert first.status_code == 200
    review, state = walk(client, world, stop_before="review")
    page = review.content.decode()
    assert 'name="answer"' in page
    wrong = post(client, "/p/fr/form/", {"state": state, "step": "review", "answer": "999"})
    assert wrong.status_code == 422
    assert 'id="err-answer"' in wrong.content.decode()
    assert CaseFile.objects.count() == 1
    # The question is a sum of two digits; the page says which.
    again = wrong.content.decode()
    numbers = [int(n) for n in re.findall(r"(\d) \+ (\d)", again)[0]]
    right = post(
        client,
        "/p/fr/form/",
        {"state": hidden(again, "state"), "step": "review", "answer": str(sum(numbers))},
    )
    assert right.status_code == 200
    assert CaseFile.objects.count() == 2


@override_settings(PORTAL_REPORTS_PER_CLIENT=1, PORTAL_POW_BITS=4)
def test_a_proof_of_work_spares_her_the_question(client: Client, world: World) -> None:
    walk(client, world)
    _review, raw = walk(client, world, stop_before="review")
    state = load_state(raw)
    assert state is not None
    challenge = views._pow_challenge(state)
    nonce = next(
        str(n)
        for n in range(100_000)
        if hashlib.sha256(f"{challenge}:{n}".encode()).digest()[0] >> 4 == 0
    )
    response = post(client, "/p/fr/form/", {"state": raw, "step": "review", "pow": nonce})
    assert response.status_code == 200
    assert CaseFile.objects.count() == 2


@override_settings(PORTAL_REPORTS_PER_CLIENT=1, PORTAL_REPORTS_PER_CLIENT_MAX=1)
def test_a_flood_from_one_client_is_refused_with_the_phone_numbers(
    client: Client, world: World
) -> None:
    walk(client, world)
    refused, _ = walk(client, world, stop_before="review")
    assert refused.status_code == 429
    assert "8350" in refused.content.decode()
    other = Client(REMOTE_ADDR="192.0.2.44")
    assert walk(other, world)[0].status_code == 200


def test_she_reports_a_breach_of_her_protection_measure(client: Client, world: World) -> None:
    from himaya.justice.models import Breach, Complaint, IssuingAuthority, MeasureBasis
    from himaya.justice.services import measure_order

    done, _ = walk(client, world, kind="complaint")
    complaint = Complaint.objects.get()
    prosecutor = make_actor(Role.PROSECUTOR, world.office)
    measure_order(
        actor=prosecutor,
        complaint_id=complaint.pk,
        kind="no_contact",
        legal_basis=MeasureBasis.PC_88_3,
        authority=IssuingAuthority.PROSECUTOR,
        starts_on=timezone.localdate(),
    )
    her = Client()
    assert (
        post(her, "/p/fr/follow/", {"codename": codename_in(done.content.decode())}).status_code
        == 303
    )
    page = her.get("/p/fr/mine/breach/").content.decode()
    assert 'name="measure"' in page
    measure = re.search(r'name="measure" value="(\d+)"', page)
    assert measure is not None
    data = {
        "t": hidden(page, "t"),
        "key": hidden(page, "key"),
        "measure": measure.group(1),
        "description": "Il est venu devant la maison hier soir.",
    }
    response = post(her, "/p/fr/mine/breach/", data)
    assert response.status_code == 200, response.content.decode()[:500]
    assert Breach.objects.count() == 1
    assert Alert.objects.filter(kind=AlertKind.MEASURE_BREACH, case=CaseFile.objects.get()).exists()


def test_find_help_never_shows_a_shelter_by_name_or_address(world: World) -> None:
    from himaya.network.index import invalidate
    from himaya.network.models import AgencyKind
    from tests.accounts.helpers import make_agency

    shelter = make_agency(
        AgencyKind.SHELTER,
        commune=world.commune,
        latitude=33.5,
        longitude=-7.6,
        phone="0522000000",
    )
    type(shelter).objects.filter(pk=shelter.pk).update(name_fr="Refuge Nour")
    invalidate()
    response = post(
        Client(),
        "/p/fr/nearby/",
        {"province": world.commune.province.code, "commune": str(world.commune.pk)},
    )
    text = response.content.decode()
    assert world.unit.name_fr in text
    assert "Refuge Nour" not in text
    assert "0522000000" not in text
    assert "never shown here" in text or "jamais" in text
