"""Business-time arithmetic: pure functions, no ORM.

A `CalendarSpec` says when people work: a time zone, the weekdays worked, the
working hours of such a day and the holidays. Every working day has the same
hours (`start` to `end`, local time, `start < end`). Instants go in and come out
as aware datetimes in UTC; days, hours and holidays are read in the calendar's
time zone, so a daylight-saving change moves the working window with the clock
on the wall, as people expect.

Working hours are assumed not to fall inside a daylight-saving gap or overlap
(those happen at night in every zone we know); a time in a gap is read with the
offset in force before the change.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

# A calendar with no working day at all would make every deadline infinite;
# past this many days of searching we give up and say so.
MAX_SEARCH_DAYS = 3660


class CalendarError(ValueError):
    """The calendar cannot answer: no working time, naive datetimes or bad hours."""


@dataclass(frozen=True)
class CalendarSpec:
    """What 'business time' means: zone, weekdays worked (0=Monday), hours, holidays."""

    time_zone: str = "UTC"
    working_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(17, 0)
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise CalendarError("The working day must start before it ends.")
        if not set(self.working_days) <= set(range(7)):
            raise CalendarError("Working days are numbered 0 (Monday) to 6 (Sunday).")
        object.__setattr__(self, "working_days", frozenset(self.working_days))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        ZoneInfo(self.time_zone)  # raises for an unknown zone

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def workday_length(self) -> dt.timedelta:
        """The length of one working day; a 'business day' in a rule is this long."""
        today = dt.date(2000, 1, 3)
        return dt.datetime.combine(today, self.end) - dt.datetime.combine(today, self.start)

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() in self.working_days and day not in self.holidays

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The working hours of a local date as a UTC interval, or None on a day off."""
        if not self.is_working_day(day):
            return None
        zone = self.zone
        opens = dt.datetime.combine(day, self.start, tzinfo=zone).astimezone(dt.UTC)
        closes = dt.datetime.combine(day, self.end, tzinfo=zone).astimezone(dt.UTC)
        return opens, closes


DAY_NAMES = {
    name: number
    for number, names in enumerate(
        (
            ("mo", "mon", "monday"),
            ("tu", "tue", "tues", "tuesday"),
            ("we", "wed", "weds", "wednesday"),
            ("th", "thu", "thur", "thurs", "thursday"),
            ("fr", "fri", "friday"),
            ("sa", "sat", "saturday"),
            ("su", "sun", "sunday"),
        )
    )
    for name in names
}
DAY_SEPARATORS = re.compile(r"[\s,;/]+")
DAY_RANGE = re.compile(r"\s*(?:-|–|—|\bto\b)\s*")


def _day_number(word: str) -> int:
    word = word.strip().lower().rstrip(".")
    if word.isascii() and word.isdigit() and int(word) < 7:
        return int(word)
    if word in DAY_NAMES:
        return DAY_NAMES[word]
    raise CalendarError(
        f"“{word}” is not a day. Write days as mon, tue … sun (or Monday … Sunday, or 0 for "
        "Monday … 6 for Sunday), separated by commas; mon-fri is Monday to Friday."
    )


def parse_working_days(value: str | Iterable[int]) -> frozenset[int]:
    """The weekdays worked (0=Monday): '0,1,2,3,4', 'mon,tue', 'Monday, Wednesday' and
    'mon-fri' are all understood; anything else raises CalendarError with a clear message."""
    if not isinstance(value, str):
        return frozenset(value)
    days: set[int] = set()
    text = DAY_RANGE.sub("-", value.strip().lower())
    for part in DAY_SEPARATORS.split(text):
        if not part:
            continue
        if "-" in part.strip("-"):
            first, _, last = part.partition("-")
            begin, end = _day_number(first), _day_number(last)
            span = range(begin, end + 1) if begin <= end else [*range(begin, 7), *range(end + 1)]
            days.update(span)
        else:
            days.add(_day_number(part.strip("-")))
    return frozenset(days)


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CalendarError("Business-time arithmetic needs time-zone-aware datetimes.")
    return moment.astimezone(dt.UTC)


def _local_date(moment: dt.datetime, spec: CalendarSpec) -> dt.date:
    return moment.astimezone(spec.zone).date()


def add_business_duration(
    start: dt.datetime, duration: dt.timedelta, spec: CalendarSpec
) -> dt.datetime:
    """The first instant at which `duration` of working time has passed since `start`.

    Arrival outside working hours waits for the next working window; e.g. one
    business hour from Friday 18:00 is Monday 10:00. Returns UTC.
    """
    cursor = _utc(start)
    if duration < dt.timedelta(0):
        raise CalendarError("A business duration cannot be negative.")
    remaining = duration
    if not remaining:
        return cursor
    day = _local_date(cursor, spec)
    for _ in range(MAX_SEARCH_DAYS):
        window = spec.window(day)
        if window is not None:
            opens, closes = window
            begin = max(cursor, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += dt.timedelta(days=1)
    raise CalendarError("This calendar has no working time in the next ten years.")


def business_duration_between(a: dt.datetime, b: dt.datetime, spec: CalendarSpec) -> dt.timedelta:
    """The working time between two instants (negative when `b` is before `a`)."""
    a, b = _utc(a), _utc(b)
    if b < a:
        return -business_duration_between(b, a, spec)
    total = dt.timedelta(0)
    day = _local_date(a, spec)
    last = _local_date(b, spec)
    while day <= last:
        window = spec.window(day)
        if window is not None:
            begin, finish = max(a, window[0]), min(b, window[1])
            if begin < finish:
                total += finish - begin
        day += dt.timedelta(days=1)
    return total


def add_duration(
    start: dt.datetime, duration: dt.timedelta, spec: CalendarSpec | None, *, business: bool
) -> dt.datetime:
    """Wall-clock (`business=False`) or business-time addition, in one call for rules.

    Without a calendar, business time means Monday to Friday, 09:00–17:00 UTC.
    """
    if not business:
        return _utc(start) + duration
    return add_business_duration(start, duration, spec or CalendarSpec())
