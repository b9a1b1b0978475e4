"""Opening hours: the text form, and whether an agency is open at a moment in Morocco."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from himaya.network.hours import (
    HoursSyntaxError,
    format_hours,
    is_open,
    parse_hours,
    week_ranges,
)


def test_office_hours_read_and_write_back_the_same() -> None:
    text = "mon-fri 08:30-16:30; sat 09:00-12:00"
    hours = parse_hours(text)
    assert len(hours.intervals) == 6
    assert hours.intervals[0].opens == time(8, 30)
    assert format_hours(hours) == text


def test_24_7_is_always_open() -> None:
    hours = parse_hours(" 24 / 7 ".replace(" ", ""))
    assert hours.always_open
    assert format_hours(hours) == "24/7"
    assert is_open(True, (), datetime(2025, 1, 1, 3, 0, tzinfo=UTC))


def test_two_spans_a_day_and_a_list_of_days() -> None:
    hours = parse_hours("mon,wed 09:00-12:00,14:00-18:00")
    assert [(i.weekday, i.opens.hour) for i in hours.intervals] == [
        (0, 9),
        (0, 14),
        (2, 9),
        (2, 14),
    ]


def test_an_interval_past_midnight_runs_into_the_next_day_and_sunday_into_monday() -> None:
    hours = parse_hours("sun 22:00-02:00")
    ranges = week_ranges(hours)
    # Sunday 22:00 (Morocco, UTC+1) is 21:00 UTC; Monday 01:30 local is Sunday 00:30 UTC.
    assert is_open(False, ranges, datetime(2025, 1, 19, 21, 30, tzinfo=UTC))
    assert is_open(False, ranges, datetime(2025, 1, 20, 0, 30, tzinfo=UTC))
    assert not is_open(False, ranges, datetime(2025, 1, 20, 2, 30, tzinfo=UTC))


def test_open_now_uses_moroccan_local_time() -> None:
    ranges = week_ranges(parse_hours("wed 09:00-10:00"))
    # 08:30 UTC is 09:30 in Casablanca (UTC+1 outside Ramadan).
    assert is_open(False, ranges, datetime(2025, 1, 15, 8, 30, tzinfo=UTC))
    assert not is_open(False, ranges, datetime(2025, 1, 15, 9, 30, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("monday 08:00-12:00", "monday"),
        ("mon 8h-12h", "8h"),
        ("fri-mon 08:00-12:00", "fri-mon"),
        ("mon 25:00-26:00", "25:00"),
        ("mon 08:00-08:00", "08:00-08:00"),
        ("mon", "mon"),
        ("mon 08:00-12:00; mon 08:00-13:00", "given twice"),
    ],
)
def test_malformed_hours_name_the_faulty_part(text: str, fragment: str) -> None:
    with pytest.raises(HoursSyntaxError) as caught:
        parse_hours(text)
    assert fragment in str(caught.value)


def test_empty_text_means_no_published_hours() -> None:
    hours = parse_hours("")
    assert not hours.is_published
    assert format_hours(hours) == ""
