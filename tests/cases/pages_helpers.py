"""Helpers for the tests of the case pages: staff who can really sign in (password and TOTP
through the real pages) and act, through the same person, in the services.

    unit = make_unit()
    chief = signed_staff(Role.UNIT_CHIEF, unit)
    case = open_case(chief.actor, survivor=SurvivorData(full_name="Fatima Tazi"))
    login_staff(client, chief.user)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.test import Client
from django.urls import reverse

from himaya.accounts.actors import actor_for_user
from himaya.accounts.models import Membership
from himaya.network.models import Agency
from tests.accounts.helpers import login_staff, make_staff
from tests.cases.helpers import Staff

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

#: Per-request CSRF tokens (the meta tag, and the hidden input of every form of the shell).
_CSRF = re.compile(r'(name="csrf-token" content|name="csrfmiddlewaretoken" value)="[^"]*"')
_TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def signed_staff(role: str, agency: Agency) -> Staff:
    """A staff member with a TOTP device (so the test can sign in as her) and her actor."""
    user = make_staff(role, agency)
    membership = Membership.objects.get(user=user, agency=agency, role=role)
    return Staff(user=user, actor=actor_for_user(user, membership=membership))


def signed_in(staff: Staff) -> Client:
    client = Client()
    login_staff(client, staff.user)
    return client


def case_url(case_id: object) -> str:
    return reverse("cases:case_detail", args=[case_id])


def body(response: Response) -> str:
    return response.content.decode()


def comparable(response: Response) -> str:
    """The page without its per-request CSRF token, to compare two answers byte for byte."""
    return _CSRF.sub(r"\1", body(response))


def title(response: Response) -> str:
    found = _TITLE.search(body(response))
    assert found is not None, "the page has no <title>"
    return found.group(1)


def shown(message: object, response: Response) -> str:
    """``message`` as the page shows it: in the page's language, HTML-escaped."""
    from django.utils import translation
    from django.utils.html import escape

    with translation.override(response.headers.get("Content-Language") or "en"):
        return str(escape(str(message)))
