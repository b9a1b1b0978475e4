"""Distances read in the page's language."""

from __future__ import annotations

from django.utils import translation

from himaya.network.templatetags.network_tags import km


def test_french_pages_use_a_decimal_comma() -> None:
    with translation.override("fr"):
        assert km(1.04) == "1,0"


def test_english_pages_use_a_decimal_point() -> None:
    with translation.override("en"):
        assert km(12.26) == "12.3"


def test_an_unknown_distance_is_a_dash() -> None:
    assert km(None) == "—"
