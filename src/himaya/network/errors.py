"""Domain errors of the network app (mapped to HTTP by the core handlers)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from himaya.core.errors import InvalidInput, NotFound


class UnknownCommune(InvalidInput):
    code = "unknown_commune"
    default_message = _("No commune has this code.")


class OutsideMorocco(InvalidInput):
    code = "outside_morocco"
    default_message = _("This point is outside Morocco.")


class AmbiguousOrigin(InvalidInput):
    code = "ambiguous_origin"
    default_message = _(
        "Give exactly one of: a commune, a point (latitude and longitude), or a district station."
    )


class AgencyNotFound(NotFound):
    code = "agency_not_found"


class UnknownKind(InvalidInput):
    code = "unknown_kind"
    default_message = _("This is not a kind of agency.")


class UnknownLanguage(InvalidInput):
    code = "unknown_language"
    default_message = _("This is not a language of the directory.")
