"""Numbers and dates in every language of the site. Numbers shown grouped
(``floatformat:"0g"``) are grouped by three in every language of the site, Arabic included;
numbers in form fields are never grouped."""

from __future__ import annotations

import pytest
from django import forms
from django.template.defaultfilters import floatformat
from django.utils import translation


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ar", "1.234.567"), ("fr", "1\u202f234\u202f567"), ("en", "1,234,567")],
)
def test_a_grouped_number_is_grouped_by_three(language: str, expected: str) -> None:
    with translation.override(language):
        shown = floatformat(1234567, "0g")
    if language == "fr":
        # Django's French separator is a narrow or plain no-break space depending on version.
        assert shown.replace("\xa0", "\u202f") == expected
    else:
        assert shown == expected


def test_a_number_in_a_form_field_is_never_grouped() -> None:
    class AgeForm(forms.Form):
        age = forms.IntegerField()

    with translation.override("ar"):
        html = str(AgeForm(initial={"age": 12345})["age"])
    assert 'value="12345"' in html


def test_arabic_dates_put_the_day_first_with_a_24_hour_clock() -> None:
    from datetime import UTC, datetime

    from django.utils.formats import date_format

    moment = datetime(2026, 11, 30, 17, 4, tzinfo=UTC)
    with translation.override("ar"):
        shown = date_format(moment, "DATETIME_FORMAT")
    assert shown.startswith("30 ")
    assert shown.endswith("17:04")
