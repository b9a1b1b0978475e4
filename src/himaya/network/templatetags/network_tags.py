"""Template helpers of the network pages."""

from __future__ import annotations

from django import template
from django.utils import formats
from django.utils.translation import get_language

from himaya.network.models import AgencyKind, Language, Service

register = template.Library()

_KIND_LABELS = dict(AgencyKind.choices)
_LANGUAGE_LABELS = dict(Language.choices)
_SERVICE_LABELS = dict(Service.choices)


@register.filter
def local_name(obj: object) -> str:
    """The Arabic name when the page is in Arabic, else the French one."""
    if (get_language() or "").startswith("ar"):
        return str(getattr(obj, "name_ar", "") or getattr(obj, "name_fr", ""))
    return str(getattr(obj, "name_fr", ""))


@register.filter
def kind_label(kind: str) -> str:
    return str(_KIND_LABELS.get(kind, kind))


@register.filter
def language_labels(codes: object) -> str:
    items = sorted(codes) if isinstance(codes, frozenset | set) else list(codes or [])  # type: ignore[call-overload]
    return ", ".join(str(_LANGUAGE_LABELS.get(c, c)) for c in items)


@register.filter
def service_labels(codes: object) -> str:
    items = sorted(codes) if isinstance(codes, frozenset | set) else list(codes or [])  # type: ignore[call-overload]
    return ", ".join(str(_SERVICE_LABELS.get(c, c)) for c in items)


@register.filter
def km(value: float | None) -> str:
    """One decimal, in the page's language (``1,0`` in French, ``1.0`` in English)."""
    return "—" if value is None else formats.number_format(round(value, 1), 1, use_l10n=True)
