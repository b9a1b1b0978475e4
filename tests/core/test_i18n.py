"""Four languages: which one a request gets, the switch, Amazigh in Tifinagh, the catalogues."""

from __future__ import annotations

import gettext
import shutil
import subprocess
from datetime import date
from http.cookies import Morsel
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError
from django.test import Client, RequestFactory
from django.utils import formats, translation
from django.utils.functional import SimpleLazyObject
from django.utils.html import escape

from himaya.core.i18n import language_for_request
from himaya.core.pofile import compile_mo, parse_po, read_po, serialize_po
from tests.core.shell_support import html_attr, make_staff, sign_in

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
MISSING_STATIC = "/static/no-such-file.css"  # a public 404 page, rendered by the shell


def _page(client: Client, **headers: str) -> str:
    """An HTML page of the shell that anyone may fetch (the 404 page)."""
    response = client.get(MISSING_STATIC, headers=headers)
    assert response.status_code == 404
    return response.content.decode()


# --- Direction and language of the page ----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "direction"), [("ar", "rtl"), ("fr", "ltr"), ("zgh", "ltr"), ("en", "ltr")]
)
def test_base_page_declares_language_and_direction(
    client: Client, code: str, direction: str
) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = code
    html = _page(client)
    assert html_attr(html, "html", "lang") == code
    assert html_attr(html, "html", "dir") == direction


@pytest.mark.django_db
def test_signed_in_home_page_is_right_to_left_in_arabic(client: Client) -> None:
    sign_in(client, make_staff(preferred_language="ar"))
    html = client.get("/").content.decode()
    assert html_attr(html, "html", "lang") == "ar"
    assert html_attr(html, "html", "dir") == "rtl"


# --- Order of choice: cookie, user, Accept-Language, Arabic ------------------------------


@pytest.mark.django_db
def test_without_any_hint_the_language_is_arabic(client: Client) -> None:
    assert html_attr(_page(client), "html", "lang") == "ar"


@pytest.mark.django_db
def test_accept_language_picks_among_the_four_languages(client: Client) -> None:
    assert html_attr(_page(client, accept_language="fr-MA,fr;q=0.9"), "html", "lang") == "fr"
    assert html_attr(_page(client, accept_language="de, en;q=0.5"), "html", "lang") == "en"
    assert html_attr(_page(client, accept_language="de, es;q=0.5"), "html", "lang") == "ar"


@pytest.mark.django_db
def test_signed_in_users_preference_beats_accept_language(client: Client) -> None:
    sign_in(client, make_staff(preferred_language="zgh"))
    html = client.get("/", headers={"accept-language": "fr"}).content.decode()
    assert html_attr(html, "html", "lang") == "zgh"


@pytest.mark.django_db
def test_the_switch_cookie_beats_the_users_preference(client: Client) -> None:
    sign_in(client, make_staff(preferred_language="zgh"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/").content.decode()
    assert html_attr(html, "html", "lang") == "en"


@pytest.mark.django_db
def test_an_unknown_cookie_value_is_ignored(client: Client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx-evil"
    assert html_attr(_page(client, accept_language="fr"), "html", "lang") == "fr"


def test_a_database_outage_does_not_stop_the_language_choice() -> None:
    def unreachable() -> object:
        raise OperationalError("database is down")

    request = RequestFactory().get("/", headers={"accept-language": "fr"})
    request.user = SimpleLazyObject(unreachable)  # type: ignore[assignment]
    assert language_for_request(request) == "fr"


# --- The switch ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_switching_language_is_a_plain_form_post_that_sets_a_session_cookie(
    client: Client,
) -> None:
    response = client.post("/language", {"language": "fr", "next": MISSING_STATIC})
    assert response.status_code == 302
    assert response["Location"] == MISSING_STATIC
    cookie: Morsel[str] = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "fr"
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert not cookie["max-age"]
    assert not cookie["expires"]  # a session cookie: gone when the browser closes
    assert html_attr(_page(client), "html", "lang") == "fr"


@pytest.mark.django_db
def test_the_switch_is_in_every_page_and_needs_no_javascript(client: Client) -> None:
    html = _page(client)
    assert 'action="/language"' in html
    assert 'method="post"' in html
    assert "csrfmiddlewaretoken" in html
    for code in ("ar", "fr", "zgh", "en"):
        assert f'name="language" value="{code}"' in html


@pytest.mark.django_db
def test_the_switch_refuses_to_redirect_off_site(client: Client) -> None:
    response = client.post("/language", {"language": "en", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_an_unknown_language_gets_a_translated_message_not_an_error_page(
    client: Client,
) -> None:
    sign_in(client, make_staff(preferred_language="fr"))
    response = client.post("/language", {"language": "xx", "next": "/"}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert html_attr(html, "html", "lang") == "fr"
    with translation.override("fr"):
        expected = translation.gettext(
            "This language is not available. Choose one of: العربية, Français, ⵜⴰⵎⴰⵣⵉⵖⵜ, English."
        )
    assert expected.startswith("Cette langue")
    assert escape(expected) in html
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


@pytest.mark.django_db
def test_the_switch_only_accepts_post(client: Client) -> None:
    assert client.get("/language", {"language": "fr"}).status_code == 405


@pytest.mark.django_db
def test_the_switch_is_protected_against_cross_site_posts() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/language", {"language": "fr"})
    assert response.status_code == 403
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


# --- Amazigh (zgh), which Django does not ship ---------------------------------------------


def test_django_activates_amazigh_from_our_catalogue() -> None:
    assert translation.check_for_language("zgh")
    assert translation.get_language_info("zgh")["name_local"] == "ⵜⴰⵎⴰⵣⵉⵖⵜ"
    assert (LOCALE_DIR / "zgh" / "LC_MESSAGES" / "django.mo").exists()
    with translation.override("zgh"):
        assert translation.get_language() == "zgh"
        assert not translation.get_language_bidi()
        home = translation.gettext("Home")
    assert home != "Home"
    assert any("\u2d30" <= ch <= "\u2d7f" for ch in home), home  # Tifinagh block


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ar", "15 يناير، 2026"),
        ("fr", "15 janvier 2026"),
        ("zgh", "15 ⵉⵏⵏⴰⵢⵔ 2026"),
        ("en", "Jan. 15, 2026"),
    ],
)
def test_dates_are_written_in_the_users_language(code: str, expected: str) -> None:
    with translation.override(code):
        assert formats.date_format(date(2026, 1, 15)) == expected


def test_amazigh_numbers_use_moroccan_separators() -> None:
    with translation.override("zgh"):
        assert formats.get_format("DECIMAL_SEPARATOR") == ","
        assert formats.get_format("FIRST_DAY_OF_WEEK") == 1


# --- The catalogues and the pure-Python compiler -------------------------------------------


def test_the_committed_catalogues_are_complete_and_compiled() -> None:
    call_command("compilemessages_himaya", "--check")


def test_every_language_has_a_catalogue_without_empty_translations() -> None:
    for code in ("ar", "fr", "zgh"):
        catalog = read_po(LOCALE_DIR / code / "LC_MESSAGES" / "django.po")
        assert catalog.messages(), code
        assert all(e.translated and not e.fuzzy for e in catalog.messages()), code


@pytest.fixture
def locale_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, copy)
    return copy


def test_check_fails_when_a_po_is_edited_without_recompiling(locale_copy: Path) -> None:
    po = locale_copy / "fr" / "LC_MESSAGES" / "django.po"
    text = po.read_text(encoding="utf-8")
    edited = text.replace('msgstr "Accueil"', 'msgstr "Page d\'accueil"', 1)
    assert edited != text
    po.write_text(edited, encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("compilemessages_himaya", "--check", "--locale-dir", str(locale_copy))
    call_command("compilemessages_himaya", "--locale-dir", str(locale_copy))
    call_command("compilemessages_himaya", "--check", "--locale-dir", str(locale_copy))


def test_check_fails_when_a_mo_is_missing(locale_copy: Path) -> None:
    (locale_copy / "zgh" / "LC_MESSAGES" / "django.mo").unlink()
    with pytest.raises(CommandError):
        call_command("compilemessages_himaya", "--check", "--locale-dir", str(locale_copy))


def test_check_fails_on_an_untranslated_or_fuzzy_message(locale_copy: Path) -> None:
    po = locale_copy / "zgh" / "LC_MESSAGES" / "django.po"
    po.write_text(
        po.read_text(encoding="utf-8") + '\nmsgid "A brand new sentence"\nmsgstr ""\n',
        encoding="utf-8",
    )
    call_command("compilemessages_himaya", "--locale-dir", str(locale_copy))
    with pytest.raises(CommandError):
        call_command("compilemessages_himaya", "--check", "--locale-dir", str(locale_copy))
    po.write_text(
        po.read_text(encoding="utf-8").replace(
            'msgid "A brand new sentence"\nmsgstr ""',
            '#, fuzzy\nmsgid "A brand new sentence"\nmsgstr "ⴰⵡⴰⵍ"',
        ),
        encoding="utf-8",
    )
    call_command("compilemessages_himaya", "--locale-dir", str(locale_copy))
    with pytest.raises(CommandError):
        call_command("compilemessages_himaya", "--check", "--locale-dir", str(locale_copy))


def test_english_may_leave_messages_empty_as_it_is_the_source(locale_copy: Path) -> None:
    po = locale_copy / "en" / "LC_MESSAGES" / "django.po"
    po.write_text(
        po.read_text(encoding="utf-8") + '\nmsgid "A brand new sentence"\nmsgstr ""\n',
        encoding="utf-8",
    )
    call_command("compilemessages_himaya", "--locale-dir", str(locale_copy))
    call_command("compilemessages_himaya", "--check", "--locale-dir", str(locale_copy))


def test_check_fails_on_a_placeholder_the_source_does_not_have(locale_copy: Path) -> None:
    po = locale_copy / "fr" / "LC_MESSAGES" / "django.po"
    po.write_text(
        po.read_text(encoding="utf-8")
        + '\n#, python-format\nmsgid "Hello %(name)s"\nmsgstr "Bonjour %(nom)s"\n',
        encoding="utf-8",
    )
    with pytest.raises(CommandError):
        call_command("compilemessages_himaya", "--locale-dir", str(locale_copy))


def test_compiled_catalogues_serve_contexts_and_plurals(tmp_path: Path) -> None:
    catalog = parse_po(
        """
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=6; plural=n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : "
"n%100>=3 && n%100<=10 ? 3 : n%100>=11 && n%100<=99 ? 4 : 5;\\n"

msgctxt "alt. month"
msgid "May"
msgstr "ماي"

msgid "May"
msgstr "مايو"

#, python-format
msgid "%(count)s case"
msgid_plural "%(count)s cases"
msgstr[0] "لا ملفات"
msgstr[1] "ملف واحد"
msgstr[2] "ملفان"
msgstr[3] "%(count)s ملفات"
msgstr[4] "%(count)s ملفًا"
msgstr[5] "%(count)s ملف"

msgid "Untranslated"
msgstr ""

#, fuzzy
msgid "Fuzzy"
msgstr "غامض"

msgid "Multi\\n"
"line"
msgstr "سطر\\n"
"ثان \\"مقتبس\\""
"""
    )
    mo = tmp_path / "django.mo"
    mo.write_bytes(compile_mo(catalog))
    with mo.open("rb") as fp:
        trans = gettext.GNUTranslations(fp)
    assert trans.pgettext("alt. month", "May") == "ماي"
    assert trans.gettext("May") == "مايو"
    assert trans.ngettext("%(count)s case", "%(count)s cases", 2) == "ملفان"
    assert trans.ngettext("%(count)s case", "%(count)s cases", 11) == "%(count)s ملفًا"
    assert trans.gettext("Untranslated") == "Untranslated"
    assert trans.gettext("Fuzzy") == "Fuzzy"
    assert trans.gettext("Multi\nline") == 'سطر\nثان "مقتبس"'
    # Same catalogue, same bytes: what lets --check tell a stale .mo.
    assert compile_mo(parse_po(serialize_po(catalog))) == mo.read_bytes()


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext is not installed")
def test_our_compiler_agrees_with_gnu_msgfmt_on_the_real_catalogues(tmp_path: Path) -> None:
    for code in ("ar", "fr", "zgh", "en"):
        po = LOCALE_DIR / code / "LC_MESSAGES" / "django.po"
        gnu_mo = tmp_path / f"{code}.mo"
        subprocess.run(["msgfmt", "-o", str(gnu_mo), str(po)], check=True)
        with gnu_mo.open("rb") as fp:
            gnu = gettext.GNUTranslations(fp)
        ours_path = LOCALE_DIR / code / "LC_MESSAGES" / "django.mo"
        with ours_path.open("rb") as fp:
            ours = gettext.GNUTranslations(fp)
        # GNU msgfmt leaves POT-Creation-Date out of the header; every message must agree.
        ours_messages = {k: v for k, v in ours._catalog.items() if k != ""}  # type: ignore[attr-defined]
        gnu_messages = {k: v for k, v in gnu._catalog.items() if k != ""}  # type: ignore[attr-defined]
        assert ours_messages == gnu_messages, code
        assert ours.info()["plural-forms"] == gnu.info()["plural-forms"], code
        assert ours.charset() == gnu.charset() == "UTF-8", code


def test_a_fuzzy_entry_with_stale_placeholders_does_not_block_compiling(
    locale_copy: Path,
) -> None:
    # makemessages marks a changed source fuzzy and keeps the old translation, whose
    # placeholders may no longer match; it is left out of the .mo, so it must not break
    # `make messages` — but --check still refuses it.
    po = locale_copy / "fr" / "LC_MESSAGES" / "django.po"
    po.write_text(
        po.read_text(encoding="utf-8")
        + '\n#, fuzzy, python-format\nmsgid "Bye %(name)s"\nmsgstr "Au revoir %(nom)s"\n',
        encoding="utf-8",
    )
    call_command("compilemessages_himaya", "--locale-dir", str(locale_copy))
    with pytest.raises(CommandError):
        call_command("compilemessages_himaya", "--check", "--locale-dir", str(locale_copy))
