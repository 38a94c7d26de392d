"""Business-time arithmetic: explicit cases and properties against a minute-by-minute reference."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreements.calendar import (
    CalendarError,
    CalendarSpec,
    add_business_duration,
    add_duration,
    business_duration_between,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC
OFFICE = CalendarSpec(
    time_zone="Europe/Berlin",
    start=dt.time(9),
    end=dt.time(17),
    holidays=frozenset({dt.date(2026, 12, 25), dt.date(2026, 12, 26), dt.date(2026, 10, 3)}),
)


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


def hours(n: float) -> dt.timedelta:
    return dt.timedelta(hours=n)


# --- Explicit cases -------------------------------------------------------------------------


def test_inside_working_hours_adds_plainly():
    # Tuesday 10:00 + 2 business hours = Tuesday 12:00
    assert add_business_duration(berlin(2026, 3, 10, 10), hours(2), OFFICE) == berlin(
        2026, 3, 10, 12
    )


def test_arrival_after_hours_waits_for_the_next_morning():
    # Tuesday 19:30 + 1 business hour = Wednesday 10:00
    assert add_business_duration(berlin(2026, 3, 10, 19, 30), hours(1), OFFICE) == berlin(
        2026, 3, 11, 10
    )


def test_arrival_before_opening_starts_at_opening():
    assert add_business_duration(berlin(2026, 3, 10, 6, 15), hours(1), OFFICE) == berlin(
        2026, 3, 10, 10
    )


def test_rest_of_the_day_carries_over_to_the_next_working_day():
    # Tuesday 16:00 + 4 business hours = 1 h Tuesday + 3 h Wednesday → Wednesday 12:00
    assert add_business_duration(berlin(2026, 3, 10, 16), hours(4), OFFICE) == berlin(
        2026, 3, 11, 12
    )


def test_friday_evening_arrival_is_due_on_monday():
    # Friday 18:00 + 1 business hour = Monday 10:00
    assert add_business_duration(berlin(2026, 3, 13, 18), hours(1), OFFICE) == berlin(
        2026, 3, 16, 10
    )


def test_weekend_arrival_is_due_on_monday():
    assert add_business_duration(berlin(2026, 3, 14, 11), hours(2), OFFICE) == berlin(
        2026, 3, 16, 11
    )


def test_holiday_is_skipped():
    # German Unity Day 2026 is a Saturday; Christmas Day 2026 is a Friday.
    # Thursday 24 Dec 16:30 + 1 h: 30 min Thursday, Fri 25 + Sat + Sun off, Mon 28 09:30
    assert add_business_duration(berlin(2026, 12, 24, 16, 30), hours(1), OFFICE) == berlin(
        2026, 12, 28, 9, 30
    )


def test_arrival_on_a_holiday_waits_for_the_next_working_day():
    assert add_business_duration(berlin(2026, 12, 25, 10), hours(1), OFFICE) == berlin(
        2026, 12, 28, 10
    )


def test_spring_forward_keeps_local_working_hours():
    # Berlin moves to summer time on Sunday 29 March 2026: 09:00 is 08:00 UTC on
    # Friday but 07:00 UTC on Monday. Friday 16:00 + 2 h → Monday 10:00 local.
    due = add_business_duration(berlin(2026, 3, 27, 16), hours(2), OFFICE)
    assert due == berlin(2026, 3, 30, 10)
    assert due == dt.datetime(2026, 3, 30, 8, tzinfo=UTC)


def test_fall_back_keeps_local_working_hours():
    # Back to winter time on Sunday 25 October 2026.
    due = add_business_duration(berlin(2026, 10, 23, 16), hours(2), OFFICE)
    assert due == berlin(2026, 10, 26, 10)
    assert due == dt.datetime(2026, 10, 26, 9, tzinfo=UTC)


def test_wall_clock_across_a_dst_change_counts_real_hours():
    # 24 wall-clock hours from Saturday 28 March 12:00 Berlin is Sunday 13:00 local.
    due = add_duration(berlin(2026, 3, 28, 12), hours(24), OFFICE, business=False)
    assert due == berlin(2026, 3, 29, 13)


def test_several_business_days():
    # 3 business days (24 h of 8-hour days) from Wednesday 11:00 → Monday 11:00
    assert add_business_duration(
        berlin(2026, 3, 11, 11), 3 * OFFICE.workday_length, OFFICE
    ) == berlin(2026, 3, 16, 11)


def test_exact_end_of_day_is_due_at_closing_not_next_morning():
    assert add_business_duration(berlin(2026, 3, 10, 9), hours(8), OFFICE) == berlin(
        2026, 3, 10, 17
    )


def test_result_is_in_utc():
    assert add_business_duration(berlin(2026, 3, 10, 10), hours(1), OFFICE).tzinfo == UTC


def test_other_time_zone_calendar():
    spec = CalendarSpec(time_zone="America/New_York")
    start = dt.datetime(2026, 3, 10, 22, tzinfo=UTC)  # 18:00 in New York
    assert add_business_duration(start, hours(1), spec) == dt.datetime(
        2026, 3, 11, 10, tzinfo=NEW_YORK
    )


def test_duration_between_over_a_weekend():
    assert business_duration_between(
        berlin(2026, 3, 13, 16), berlin(2026, 3, 16, 10), OFFICE
    ) == hours(2)


def test_duration_between_is_antisymmetric():
    a, b = berlin(2026, 3, 13, 16), berlin(2026, 3, 16, 10)
    assert business_duration_between(b, a, OFFICE) == -hours(2)


def test_naive_datetimes_are_refused():
    with pytest.raises(CalendarError):
        add_business_duration(dt.datetime(2026, 3, 10, 10), hours(1), OFFICE)


def test_calendar_without_working_days_is_refused():
    spec = CalendarSpec(working_days=frozenset())
    with pytest.raises(CalendarError):
        add_business_duration(berlin(2026, 3, 10, 10), hours(1), spec)


def test_working_day_must_start_before_it_ends():
    with pytest.raises(CalendarError):
        CalendarSpec(start=dt.time(17), end=dt.time(9))


# --- Properties against a minute-by-minute reference ------------------------------------------

MINUTE = dt.timedelta(minutes=1)


def _is_business_minute(moment: dt.datetime, spec: CalendarSpec) -> bool:
    local = moment.astimezone(spec.zone)
    return (
        local.weekday() in spec.working_days
        and local.date() not in spec.holidays
        and spec.start <= local.time().replace(second=0, microsecond=0) < spec.end
    )


def reference_add(start: dt.datetime, duration: dt.timedelta, spec: CalendarSpec) -> dt.datetime:
    """Walk minute by minute, counting working minutes, until `duration` has passed."""
    moment, left = start.astimezone(UTC), duration
    while left > dt.timedelta(0):
        if _is_business_minute(moment, spec):
            left -= MINUTE
        moment += MINUTE
    return moment  # the end of the last working minute counted


def reference_between(a: dt.datetime, b: dt.datetime, spec: CalendarSpec) -> dt.timedelta:
    total, moment = dt.timedelta(0), a.astimezone(UTC)
    while moment < b:
        if _is_business_minute(moment, spec):
            total += MINUTE
        moment += MINUTE
    return total


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]

# Instants around both 2026 DST changes in the northern and southern hemispheres.
starts = st.datetimes(
    min_value=dt.datetime(2026, 3, 25), max_value=dt.datetime(2026, 4, 8)
) | st.datetimes(min_value=dt.datetime(2026, 10, 20), max_value=dt.datetime(2026, 11, 5))


@st.composite
def calendars(draw: st.DrawFn) -> CalendarSpec:
    # Working hours avoid 00:00–04:00, where DST changes happen (see calendar.py).
    start_minute = draw(st.integers(4 * 60, 20 * 60))
    end_minute = draw(st.integers(start_minute + 30, 23 * 60 + 59))
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    holidays = draw(
        st.frozensets(st.dates(dt.date(2026, 3, 20), dt.date(2026, 11, 30)), max_size=8)
    )
    return CalendarSpec(
        time_zone=draw(st.sampled_from(ZONES)),
        working_days=days,
        start=dt.time(start_minute // 60, start_minute % 60),
        end=dt.time(end_minute // 60, end_minute % 60),
        holidays=holidays,
    )


def _aware(naive: dt.datetime) -> dt.datetime:
    return naive.replace(second=0, microsecond=0, tzinfo=UTC)


@settings(max_examples=60, deadline=None)
@given(spec=calendars(), start=starts, minutes=st.integers(0, 3 * 8 * 60))
def test_add_matches_the_minute_by_minute_reference(spec, start, minutes):
    start = _aware(start)
    duration = dt.timedelta(minutes=minutes)
    assert add_business_duration(start, duration, spec) == reference_add(start, duration, spec)


@settings(max_examples=60, deadline=None)
@given(spec=calendars(), a=starts, span=st.integers(0, 6 * 24 * 60))
def test_between_matches_the_minute_by_minute_reference(spec, a, span):
    a = _aware(a)
    b = a + dt.timedelta(minutes=span)
    assert business_duration_between(a, b, spec) == reference_between(a, b, spec)


@settings(max_examples=100, deadline=None)
@given(spec=calendars(), start=starts, minutes=st.integers(0, 5 * 24 * 60))
def test_adding_then_measuring_gives_the_duration_back(spec, start, minutes):
    start = _aware(start)
    duration = dt.timedelta(minutes=minutes)
    due = add_business_duration(start, duration, spec)
    assert due >= start
    assert business_duration_between(start, due, spec) == duration
