"""Following a report with the codename: status, inbox, messages both ways, who opened the
file; and the guessing limits (per codename, per client, forged X-Forwarded-For)."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from himaya.accounts.roles import Role
from himaya.cases import notices, selectors
from himaya.cases.models import Alert, AlertKind, CaseFile, SurvivorMessage
from himaya.portal.codenames import check_digits, parse
from himaya.portal.models import PortalSession
from tests.cases.helpers import make_actor
from tests.portal.helpers import World, codename_in, hidden, post, walk

pytestmark = pytest.mark.django_db


def _filed(client: Client, world: World) -> str:
    response, _ = walk(client, world)
    assert response.status_code == 200
    return codename_in(response.content.decode())


def _open(client: Client, code: str, lang: str = "fr") -> None:
    response = post(client, f"/p/{lang}/follow/", {"codename": code})
    assert response.status_code == 303, response.content.decode()[:500]


def test_the_codename_opens_her_status_in_plain_words(client: Client, world: World) -> None:
    code = _filed(client, world)
    fresh = Client()
    _open(fresh, code)
    page = fresh.get("/p/fr/mine/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Your report has been received." in text or "reçu" in text
    assert world.unit.name_fr in text


def test_the_codename_works_typed_loosely(client: Client, world: World) -> None:
    code = _filed(client, world)
    loose = " - ".join(code.upper().split())
    _open(Client(), loose)


def test_a_message_from_the_unit_arrives_in_her_inbox(client: Client, world: World) -> None:
    code = _filed(client, world)
    case = CaseFile.objects.get()
    officer = make_actor(Role.UNIT_OFFICER, world.unit)
    notices.message_to_her(
        actor=officer,
        case_id=case.pk,
        body="Nous vous appelons demain à 10h.",
        idempotency_key="unit-msg-00001",
    )
    her = Client()
    _open(her, code)
    assert "Nous vous appelons demain à 10h." in her.get("/p/fr/mine/").content.decode()
    assert "Nous vous appelons demain à 10h." in her.get("/p/fr/mine/messages/").content.decode()


def test_she_writes_to_the_unit_once_even_if_the_form_is_sent_twice(
    client: Client, world: World
) -> None:
    code = _filed(client, world)
    her = Client()
    _open(her, code)
    page = her.get("/p/fr/mine/messages/").content.decode()
    data = {"t": hidden(page, "t"), "key": hidden(page, "key"), "body": "Il est revenu."}
    assert post(her, "/p/fr/mine/messages/", data).status_code == 200
    assert post(her, "/p/fr/mine/messages/", data).status_code == 200
    assert SurvivorMessage.objects.count() == 1
    assert Alert.objects.filter(kind=AlertKind.SURVIVOR_MESSAGE, agency=world.unit).exists()


def test_an_empty_message_is_refused_next_to_the_field(client: Client, world: World) -> None:
    code = _filed(client, world)
    her = Client()
    _open(her, code)
    page = her.get("/p/fr/mine/messages/").content.decode()
    data = {"t": hidden(page, "t"), "key": hidden(page, "key"), "body": "  "}
    response = post(her, "/p/fr/mine/messages/", data)
    assert response.status_code == 422
    assert 'id="err-body"' in response.content.decode()


def test_a_form_inside_her_session_needs_its_token(client: Client, world: World) -> None:
    code = _filed(client, world)
    her = Client()
    _open(her, code)
    response = post(her, "/p/fr/mine/messages/", {"key": "abcdefgh12", "body": "x"})
    assert response.status_code == 400
    assert SurvivorMessage.objects.count() == 0


def test_she_sees_which_agencies_opened_her_file_never_who(client: Client, world: World) -> None:
    code = _filed(client, world)
    case = CaseFile.objects.get()
    officer = make_actor(Role.UNIT_OFFICER, world.unit)
    selectors.case_get(actor=officer, case_id=case.pk)
    her = Client()
    _open(her, code)
    text = her.get("/p/fr/mine/opened/").content.decode()
    assert world.unit.name_fr in text
    assert officer.username not in text


def test_without_a_session_the_follow_up_pages_say_it_ended(world: World) -> None:
    for url in ("/p/fr/mine/", "/p/fr/mine/messages/", "/p/fr/mine/opened/"):
        assert Client().get(url).status_code == 401


def test_an_idle_session_ends(client: Client, world: World) -> None:
    code = _filed(client, world)
    her = Client()
    _open(her, code)
    from datetime import timedelta

    from django.utils import timezone

    PortalSession.objects.update(last_seen_at=timezone.now() - timedelta(hours=1))
    assert her.get("/p/fr/mine/").status_code == 401
    assert PortalSession.objects.count() == 0


def test_closing_the_session_forgets_it_on_the_server(client: Client, world: World) -> None:
    code = _filed(client, world)
    her = Client()
    _open(her, code)
    page = her.get("/p/fr/mine/").content.decode()
    post(her, "/p/fr/mine/end/", {"t": hidden(page, "t")})
    assert PortalSession.objects.count() == 0
    assert her.get("/p/fr/mine/").status_code == 401


def _wrong(code: str) -> str:
    words = code.split()[:-1]
    words[-1] = "zebre" if words[-1] != "zebre" else "velo"
    return " ".join([*words, check_digits(list(words))])


def test_an_unknown_codename_says_only_not_found(world: World) -> None:
    words = ["lune", "soleil", "pomme", "poire", "vent"]
    typed = " ".join([*words, check_digits(words)])
    with override_settings(LANGUAGE_CODE="en"):
        response = post(Client(), "/p/en/follow/", {"codename": typed})
    assert response.status_code == 422
    assert "This codename was not found. Check it and try again." in response.content.decode()


@override_settings(PORTAL_GUESSES_PER_CLIENT=3, PORTAL_GUESSES_PER_CODENAME=100)
def test_guessing_is_limited_per_client_even_with_forged_forwarded_for(
    client: Client, world: World
) -> None:
    code = _filed(client, world)
    attacker = Client()
    for n in range(3):
        guess = f"lune soleil pomme poire vent{n} 10"
        parsed = parse(guess)
        assert parsed is not None
        fixed = " ".join([*parsed.words, check_digits(list(parsed.words))])
        post(attacker, "/p/fr/follow/", {"codename": fixed}, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    # Even the right codename is refused from this client now, whatever header it forges.
    blocked = post(attacker, "/p/fr/follow/", {"codename": code}, HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert blocked.status_code == 429
    # Another client is not affected.
    other = Client(REMOTE_ADDR="192.0.2.7")
    assert post(other, "/p/fr/follow/", {"codename": code}).status_code == 303


@override_settings(PORTAL_GUESSES_PER_CLIENT=100, PORTAL_GUESSES_PER_CODENAME=3)
def test_guessing_the_end_of_a_codename_is_limited_per_codename(
    client: Client, world: World
) -> None:
    code = _filed(client, world)
    for n in range(3):
        guesser = Client(REMOTE_ADDR=f"198.51.100.{n + 1}")
        post(guesser, "/p/fr/follow/", {"codename": _wrong(code) if n == 0 else _vary(code, n)})
    owner = Client(REMOTE_ADDR="203.0.113.5")
    assert post(owner, "/p/fr/follow/", {"codename": code}).status_code == 429


def _vary(code: str, n: int) -> str:
    """A wrong codename with the same first words: its last word swapped for another (never
    the real one: the generated codename may itself end with one of these words)."""
    words = code.split()[:-1]
    others = [w for w in ("table", "chaise", "jardin", "lampe", "fenetre") if w != words[-1]]
    words[-1] = others[n]
    return " ".join([*words, check_digits(words)])


def test_a_mistyped_check_does_not_count_as_a_guess(client: Client, world: World) -> None:
    code = _filed(client, world)
    words = code.split()
    typo = " ".join([*words[:-1], str((int(words[-1]) - 10 + 1) % 90 + 10)])
    with override_settings(PORTAL_GUESSES_PER_CLIENT=1):
        her = Client()
        response = post(her, "/p/fr/follow/", {"codename": typo})
        assert response.status_code == 422
        _open(her, code)
