"""The Actor built from a request: acting membership and step-up freshness."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.test.utils import override_settings
from django.urls import reverse

from himaya.accounts import services, session_keys
from himaya.accounts.actors import actor_from_request
from himaya.accounts.models import Membership
from himaya.accounts.roles import Role
from himaya.core.actor import SYSTEM, Actor
from himaya.core.errors import PermissionDenied
from tests.accounts.helpers import login_staff, make_agency, make_staff, totp_code

pytestmark = pytest.mark.django_db

HOME = reverse("core:home")
STEP_UP = reverse("accounts:step_up")
CHOOSE = reverse("accounts:choose_membership")


def _actor(client: Client) -> Actor:
    """The actor the staff gate attached to a real request of this client."""
    response = client.get(HOME)
    assert response.status_code == 200
    actor = getattr(response.wsgi_request, "actor", None)
    assert isinstance(actor, Actor)
    return actor


def test_an_anonymous_request_never_becomes_an_actor() -> None:
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    request.session = {}  # type: ignore[assignment]  # no session engine needed here
    with pytest.raises(PermissionDenied):
        actor_from_request(request)


def test_the_actor_carries_the_single_membership(client: Client) -> None:
    user = make_staff(Role.PROSECUTOR)
    membership = Membership.objects.get(user=user)
    login_staff(client, user)
    actor = _actor(client)
    assert actor.user_id == user.pk
    assert actor.role == Role.PROSECUTOR
    assert actor.agency_id == membership.agency_id
    assert actor.membership_id == membership.pk


@override_settings(STEP_UP_SECONDS=300)
def test_step_up_freshness_follows_the_last_totp_proof(client: Client) -> None:
    user = make_staff(Role.UNIT_CHIEF)
    login_staff(client, user)
    assert _actor(client).recently_verified is True

    session = client.session
    session[session_keys.OTP_AT] -= 301
    session.save()
    assert _actor(client).recently_verified is False

    page = client.get(f"{STEP_UP}?next=/")
    assert page.status_code == 200
    response = client.post(STEP_UP, {"code": totp_code(user), "next": "/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _actor(client).recently_verified is True


def test_a_wrong_step_up_code_leaves_the_actor_unverified(client: Client) -> None:
    user = make_staff(Role.UNIT_CHIEF)
    login_staff(client, user)
    session = client.session
    session[session_keys.OTP_AT] -= 10_000
    session.save()
    good = totp_code(user)
    response = client.post(STEP_UP, {"code": f"{(int(good) + 1) % 1_000_000:06d}"})
    assert response.status_code == 200
    assert "This code is not correct" in response.text
    assert _actor(client).recently_verified is False


@override_settings(LOGIN_MAX_FAILURES=2)
def test_too_many_wrong_step_up_codes_end_the_session(client: Client) -> None:
    user = make_staff(Role.UNIT_CHIEF)
    login_staff(client, user)
    wrong = f"{(int(totp_code(user)) + 1) % 1_000_000:06d}"
    client.post(STEP_UP, {"code": wrong})
    response = client.post(STEP_UP, {"code": wrong})
    assert response["Location"] == reverse("accounts:login")
    assert client.get(HOME).status_code == 302


def test_a_person_with_several_memberships_chooses_whom_they_act_for(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    first = Membership.objects.get(user=user)
    second = services.membership_grant(
        actor=SYSTEM, user=user, agency=make_agency(), role=Role.UNIT_CHIEF
    )
    client.post(
        reverse("accounts:login"),
        {"username": user.username, "password": "correct horse battery staple 42"},
    )
    response = client.post(reverse("accounts:login_otp"), {"code": totp_code(user)})
    assert response["Location"] == CHOOSE
    assert _actor(client).membership_id is None

    page = client.get(CHOOSE)
    assert page.status_code == 200
    assert first.agency.name_fr in page.text
    assert client.post(CHOOSE, {"membership": str(second.pk)}).status_code == 302
    actor = _actor(client)
    assert actor.membership_id == second.pk
    assert actor.role == Role.UNIT_CHIEF
    # The header shows the acting role and agency.
    home = client.get(HOME)
    assert "Acting as" in home.text
    assert second.agency.name_fr in home.text


def test_nobody_can_act_through_someone_elses_membership(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    stranger = make_staff(Role.UNIT_CHIEF)
    foreign = Membership.objects.get(user=stranger)
    login_staff(client, user)
    response = client.post(CHOOSE, {"membership": str(foreign.pk)})
    assert response.status_code == 200
    assert _actor(client).membership_id != foreign.pk


def test_a_revoked_membership_stops_being_the_acting_one(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    membership = Membership.objects.get(user=user)
    login_staff(client, user)
    services.membership_revoke(actor=SYSTEM, membership=membership)
    actor = _actor(client)
    assert actor.membership_id is None
    assert actor.role is None
