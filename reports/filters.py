"""The filters every report takes: a date range, team, rep, channel, campaign and persona.

Dates are local calendar days (the site's time zone), the end day included; the
queries get the half-open instant range [start, end). A rep's filters are always
narrowed to the rep, whatever the URL says.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from django.utils import timezone

from agreements import roles
from config.ids import as_id

FILTER_FIELDS = ("team", "rep", "channel", "campaign", "persona")
# The rep filter's value for the lead desk (leads nobody owned at the time).
DESK = 0
# The channel, campaign or persona filter's value for leads without one ("No campaign").
NONE = 0


def local_midnight(day: dt.date) -> dt.datetime:
    """The first instant of a local day, as an aware datetime."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(0)))


@dataclass(frozen=True)
class ReportFilters:
    """What a report is about. `end_day` is included: [start_day 00:00, end_day+1 00:00)."""

    start_day: dt.date
    end_day: dt.date
    team: int | None = None
    rep: int | None = None
    channel: int | None = None
    campaign: int | None = None
    persona: int | None = None
    # Exact instants instead of whole days (the SLA engine's pacing counts up to "now").
    exact_start: dt.datetime | None = None
    exact_end: dt.datetime | None = None

    @property
    def start(self) -> dt.datetime:
        return self.exact_start or local_midnight(self.start_day)

    @property
    def end(self) -> dt.datetime:
        return self.exact_end or local_midnight(self.end_day + dt.timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.end_day - self.start_day).days + 1

    def with_(self, **changes: Any) -> ReportFilters:
        return replace(self, **changes)

    def params(self) -> dict[str, str]:
        """The filters as query-string parameters (empty ones left out)."""
        out = {"start": self.start_day.isoformat(), "end": self.end_day.isoformat()}
        for name in FILTER_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = str(value)
        return out

    def querystring(self, **extra: Any) -> str:
        params = self.params()
        params.update({k: str(v) for k, v in extra.items() if v is not None})
        return urlencode(params)

    def previous(self) -> ReportFilters:
        """The range of the same shape just before this one (whole months stay whole months)."""
        if self.start_day.day == 1 and (self.end_day + dt.timedelta(days=1)).day == 1:
            months = (self.end_day.year - self.start_day.year) * 12 + (
                self.end_day.month - self.start_day.month
            )
            months += 1
            year, month = self.start_day.year, self.start_day.month - months
            while month < 1:
                month += 12
                year -= 1
            start = dt.date(year, month, 1)
            return replace(self, start_day=start, end_day=self.start_day - dt.timedelta(days=1))
        length = dt.timedelta(days=self.days)
        return replace(
            self,
            start_day=self.start_day - length,
            end_day=self.start_day - dt.timedelta(days=1),
        )

    def label(self) -> str:
        one_month = (self.start_day.year, self.start_day.month) == (
            self.end_day.year,
            self.end_day.month,
        )
        if one_month and self.start_day.day == 1 and (self.end_day + dt.timedelta(days=1)).day == 1:
            return f"{self.start_day:%b %Y}"
        return f"{self.start_day:%d %b %Y} – {self.end_day:%d %b %Y}"


# Reports whose figures need a long window: leads untouched after 90 days are counted
# 90 days after their assignment, and trends are drawn over time.
YEAR_BY_DEFAULT = frozenset({"sales", "trends"})


def default_range(today: dt.date | None = None, report: str = "") -> tuple[dt.date, dt.date]:
    """This month so far; the last 12 months for the sales activity and trends reports."""
    today = today or timezone.localdate()
    if report in YEAR_BY_DEFAULT:
        return today - dt.timedelta(days=364), today
    return today.replace(day=1), today


def _int(value: Any) -> int | None:
    number = as_id(value) if value is not None else None
    return number if number else None


# The days a report may be about: wide enough for any history, narrow enough that the
# day after the end and the scoreboard's three ranges before the start are dates.
FIRST_DAY = dt.date(1970, 1, 1)
LAST_DAY = dt.date(2199, 12, 31)


def _date(value: Any) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def filters_from(
    params: Any, user: Any = None, today: dt.date | None = None, report: str = ""
) -> ReportFilters:
    """Read filters from request.GET; bad values fall back to the report's defaults; a rep
    sees only their own numbers."""
    start_default, end_default = default_range(today, report)
    start = _date(params.get("start")) or start_default
    end = _date(params.get("end")) or end_default
    if end < start:
        start, end = end, start
    values = {name: _int(params.get(name)) for name in FILTER_FIELDS}
    if str(params.get("rep", "")).strip() == str(DESK):
        values["rep"] = DESK
    for name in ("channel", "campaign", "persona"):
        if str(params.get(name, "")).strip() == str(NONE):
            values[name] = NONE
    filters = ReportFilters(start_day=start, end_day=end, **values)
    return scope_to(filters, user)


def is_rep_only(user: Any) -> bool:
    """A rep who is not also a manager, Ops or marketing: sees their own numbers only."""
    if user is None or user.is_superuser:
        return False
    return roles.has_role(user, roles.SALES_REP) and not roles.has_role(
        user, roles.SALES_MANAGER, roles.OPS, roles.MARKETING
    )


def scope_to(filters: ReportFilters, user: Any) -> ReportFilters:
    """Narrow the filters to what the user may see."""
    if is_rep_only(user):
        return filters.with_(rep=user.pk, team=None)
    return filters
