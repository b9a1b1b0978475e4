"""HEAD on the sign-in page answers like GET (monitors and link checkers use it), without
touching a sign-in in progress."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from himaya.accounts import session_keys

pytestmark = pytest.mark.django_db


def test_head_on_the_sign_in_page_answers_200_like_get() -> None:
    client = Client()
    head = client.head(reverse("accounts:login"))
    get = client.get(reverse("accounts:login"))
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head["Content-Type"] == get["Content-Type"]


def test_head_leaves_a_pending_sign_in_alone() -> None:
    client = Client()
    session = client.session
    session[session_keys.PENDING_USER_ID] = 12345
    session.save()
    client.head(reverse("accounts:login"))
    assert client.session.get(session_keys.PENDING_USER_ID) == 12345
    client.get(reverse("accounts:login"))
    assert client.session.get(session_keys.PENDING_USER_ID) is None
