"""Languages: which one a request gets, and what Django needs to know about Amazigh.

Himaya speaks Arabic (the default, right-to-left), French, Standard Moroccan Amazigh in
Tifinagh script (``zgh``) and English. Django ships catalogues and formats for ``ar``, ``fr``
and ``en`` but knows nothing of ``zgh``: this module registers its metadata, and
``himaya.core.formats.zgh`` gives it date and number formats (``FORMAT_MODULE_PATH``).

Order of choice for a request (``language_for_request``):

1. the ``himaya_lang`` cookie written by the language switch (a session cookie, so nothing
   outlives the browser on a shared device);
2. the signed-in user's ``preferred_language``;
3. the browser's ``Accept-Language``, among the four languages;
4. Arabic.

Anything that is not one of the four codes is ignored, never an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast

from django.conf import locale as django_locale
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext_lazy, pgettext_lazy, trans_real

logger = logging.getLogger(__name__)

ZGH_INFO = {
    "bidi": False,
    "code": "zgh",
    "name": "Standard Moroccan Amazigh",
    "name_local": "ⵜⴰⵎⴰⵣⵉⵖⵜ",
}


@dataclass(frozen=True, slots=True)
class LanguageChoice:
    code: str
    name_local: str
    bidi: bool


def register_languages() -> None:
    """Teach Django's ``LANG_INFO`` about ``zgh`` (called from ``CoreConfig.ready``)."""
    django_locale.LANG_INFO.setdefault("zgh", ZGH_INFO)


def supported_codes() -> tuple[str, ...]:
    return tuple(code for code, _name in settings.LANGUAGES)


def is_supported(code: object) -> bool:
    return isinstance(code, str) and code in supported_codes()


def language_choices() -> list[LanguageChoice]:
    """The languages the switch offers, each named in its own language and script."""
    bidi = set(settings.LANGUAGES_BIDI)
    return [
        LanguageChoice(code=code, name_local=str(name), bidi=code in bidi)
        for code, name in settings.LANGUAGES
    ]


def _from_accept_language(header: str) -> str | None:
    for candidate, _quality in trans_real.parse_accept_lang_header(header):
        if candidate == "*":
            return None
        primary = candidate.split("-")[0]
        for code in (candidate, primary):
            if is_supported(code):
                return code
    return None


def _user_preference(request: HttpRequest) -> str | None:
    user = getattr(request, "user", None)
    if user is None:
        return None
    try:
        if not user.is_authenticated:
            return None
        preferred: Any = getattr(user, "preferred_language", None)
    except DatabaseError:
        # The language must never be what breaks a request: with the database down the
        # error page still has to render, in the browser's language.
        logger.warning("could not read the user's preferred language; database unavailable")
        return None
    return preferred if is_supported(preferred) else None


def language_for_request(request: HttpRequest) -> str:
    """The language to serve this request in (see the module docstring for the order)."""
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if is_supported(cookie):
        return str(cookie)
    preferred = _user_preference(request)
    if preferred:
        return preferred
    accepted = _from_accept_language(request.headers.get("Accept-Language", ""))
    if accepted:
        return accepted
    return str(settings.LANGUAGE_CODE)


def remember_language(response: HttpResponseBase, code: str) -> None:
    """Write the language cookie: a session cookie, HttpOnly, Secure in production."""
    if not is_supported(code):
        raise ValueError("unsupported language")
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=cast(Literal["Lax", "Strict", "None"], settings.LANGUAGE_COOKIE_SAMESITE),
    )


# Month and weekday names used by the date formats. Django translates them from its own
# catalogues, which have no Amazigh; listing them here puts them in our catalogues (and
# ``makemessages`` keeps them) so dates read in Tifinagh too. For ar/fr our entries repeat
# Django's own translations.
DATE_NAMES = (
    gettext_lazy("January"),
    gettext_lazy("February"),
    gettext_lazy("March"),
    gettext_lazy("April"),
    gettext_lazy("May"),
    gettext_lazy("June"),
    gettext_lazy("July"),
    gettext_lazy("August"),
    gettext_lazy("September"),
    gettext_lazy("October"),
    gettext_lazy("November"),
    gettext_lazy("December"),
    pgettext_lazy("alt. month", "January"),
    pgettext_lazy("alt. month", "February"),
    pgettext_lazy("alt. month", "March"),
    pgettext_lazy("alt. month", "April"),
    pgettext_lazy("alt. month", "May"),
    pgettext_lazy("alt. month", "June"),
    pgettext_lazy("alt. month", "July"),
    pgettext_lazy("alt. month", "August"),
    pgettext_lazy("alt. month", "September"),
    pgettext_lazy("alt. month", "October"),
    pgettext_lazy("alt. month", "November"),
    pgettext_lazy("alt. month", "December"),
    gettext_lazy("Monday"),
    gettext_lazy("Tuesday"),
    gettext_lazy("Wednesday"),
    gettext_lazy("Thursday"),
    gettext_lazy("Friday"),
    gettext_lazy("Saturday"),
    gettext_lazy("Sunday"),
)


class _Bilingual(Protocol):
    @property
    def name_ar(self) -> str: ...
    @property
    def name_fr(self) -> str: ...


def localized_name(obj: _Bilingual) -> str:
    """An agency's or a place's name in the reader's script: Arabic for Arabic pages, the
    French (Latin-script) name otherwise."""
    from django.utils.translation import get_language

    return obj.name_ar if (get_language() or "").startswith("ar") and obj.name_ar else obj.name_fr
