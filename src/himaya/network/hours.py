"""Weekly opening hours: parsing the compact text form, and "open at this moment?".

Text form (used by the CSV import/export and the edit form)::

    24/7
    mon-fri 08:30-16:30; sat 09:00-12:00
    mon,wed 09:00-12:00,14:00-18:00
    fri 20:00-02:00            (an interval may run past midnight)

Hours are local time in Morocco whatever the viewer's time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

MOROCCO_TZ = ZoneInfo("Africa/Casablanca")
DAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
ALWAYS = "24/7"

_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class HoursSyntaxError(ValueError):
    """The text form of opening hours could not be read; the message says where."""


@dataclass(frozen=True, slots=True)
class Interval:
    weekday: int  # 0 = Monday
    opens: time
    closes: time


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    always_open: bool
    intervals: tuple[Interval, ...]

    @property
    def is_published(self) -> bool:
        return self.always_open or bool(self.intervals)


def _parse_time(text: str) -> time:
    match = _TIME_RE.match(text.strip())
    if not match:
        raise HoursSyntaxError(_("“%(value)s” is not a time like 08:30.") % {"value": text})
    return time(int(match.group(1)), int(match.group(2)))


def _parse_days(text: str) -> list[int]:
    days: list[int] = []
    for raw_part in text.split(","):
        part = raw_part.strip().lower()
        if "-" in part:
            first, _sep, last = part.partition("-")
            if first not in DAY_CODES or last not in DAY_CODES:
                raise HoursSyntaxError(_("“%(value)s” is not a range of days.") % {"value": part})
            start, end = DAY_CODES.index(first), DAY_CODES.index(last)
            if end < start:
                raise HoursSyntaxError(
                    _("“%(value)s”: a range of days runs from Monday towards Sunday.")
                    % {"value": part}
                )
            days.extend(range(start, end + 1))
        elif part in DAY_CODES:
            days.append(DAY_CODES.index(part))
        else:
            raise HoursSyntaxError(
                _("“%(value)s” is not a day (mon, tue, wed, thu, fri, sat, sun).") % {"value": part}
            )
    return days


def parse_hours(text: str) -> WeeklyHours:
    """Read the text form; raise ``HoursSyntaxError`` naming the faulty part."""
    text = text.strip()
    if not text:
        return WeeklyHours(always_open=False, intervals=())
    if text.replace(" ", "") == ALWAYS:
        return WeeklyHours(always_open=True, intervals=())
    intervals: list[Interval] = []
    for raw_group in text.split(";"):
        group = raw_group.strip()
        if not group:
            continue
        days_text, _sep, times_text = group.partition(" ")
        if not times_text.strip():
            raise HoursSyntaxError(
                _("“%(value)s”: write the days, a space, then times like 08:30-16:30.")
                % {"value": group}
            )
        days = _parse_days(days_text)
        for span in times_text.split(","):
            opens_text, sep, closes_text = span.strip().partition("-")
            if not sep:
                raise HoursSyntaxError(
                    _("“%(value)s” is not a span like 08:30-16:30.") % {"value": span.strip()}
                )
            opens, closes = _parse_time(opens_text), _parse_time(closes_text)
            if opens == closes:
                raise HoursSyntaxError(
                    _("“%(value)s” opens and closes at the same time.") % {"value": span.strip()}
                )
            intervals.extend(Interval(day, opens, closes) for day in days)
    seen: set[tuple[int, time]] = set()
    for interval in intervals:
        key = (interval.weekday, interval.opens)
        if key in seen:
            raise HoursSyntaxError(
                _("%(day)s %(time)s is given twice.")
                % {"day": DAY_CODES[interval.weekday], "time": f"{interval.opens:%H:%M}"}
            )
        seen.add(key)
    return WeeklyHours(
        always_open=False,
        intervals=tuple(sorted(intervals, key=lambda i: (i.weekday, i.opens))),
    )


def format_hours(hours: WeeklyHours) -> str:
    """The canonical text form (days with identical spans grouped into ranges)."""
    if hours.always_open:
        return ALWAYS
    spans_by_day: dict[int, list[str]] = {}
    for interval in hours.intervals:
        spans_by_day.setdefault(interval.weekday, []).append(
            f"{interval.opens:%H:%M}-{interval.closes:%H:%M}"
        )
    groups: list[str] = []
    day = 0
    while day < 7:
        if day not in spans_by_day:
            day += 1
            continue
        spans = spans_by_day[day]
        end = day
        while end + 1 < 7 and spans_by_day.get(end + 1) == spans:
            end += 1
        days = DAY_CODES[day] if end == day else f"{DAY_CODES[day]}-{DAY_CODES[end]}"
        groups.append(f"{days} {','.join(spans)}")
        day = end + 1
    return "; ".join(groups)


def week_ranges(hours: WeeklyHours) -> tuple[tuple[int, int], ...]:
    """Half-open ``[start, end)`` minute-of-week ranges; overnight spans wrap into the next
    day, and Sunday night wraps into Monday morning."""
    ranges: list[tuple[int, int]] = []
    for interval in hours.intervals:
        start = (
            interval.weekday * MINUTES_PER_DAY + interval.opens.hour * 60 + interval.opens.minute
        )
        close = (
            interval.weekday * MINUTES_PER_DAY + interval.closes.hour * 60 + interval.closes.minute
        )
        if interval.closes <= interval.opens:
            close += MINUTES_PER_DAY
        if close > MINUTES_PER_WEEK:
            ranges.append((start, MINUTES_PER_WEEK))
            ranges.append((0, close - MINUTES_PER_WEEK))
        else:
            ranges.append((start, close))
    return tuple(sorted(ranges))


def minute_of_week(at: datetime) -> int:
    """Minutes since Monday 00:00, Moroccan local time. ``at`` must be aware."""
    local = at.astimezone(MOROCCO_TZ)
    return local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute


def is_open(always_open: bool, ranges: tuple[tuple[int, int], ...], at: datetime) -> bool:
    if always_open:
        return True
    minute = minute_of_week(at)
    return any(start <= minute < end for start, end in ranges)
