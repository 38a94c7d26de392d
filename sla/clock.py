"""The SLA engine's view of the response rules: when to warn and when to escalate.

All time arithmetic goes through agreements.calendar, in business time when the
rule says so (the agreement's calendar: zone, hours, weekends, holidays, DST) and
in wall-clock time otherwise.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from agreements.calendar import CalendarSpec, add_duration
from agreements.models import ResponseRule


@dataclass(frozen=True)
class RuleClock:
    """One response rule with its calendar, ready for arithmetic without the database."""

    rule: ResponseRule
    spec: CalendarSpec | None

    @property
    def business(self) -> bool:
        return self.rule.business_time

    @property
    def window(self) -> dt.timedelta:
        """The promised time to first touch."""
        return self.rule.due_after(self.spec)

    def warning_horizon(self, now: dt.datetime) -> dt.datetime | None:
        """Clocks due at or before this instant have used up the rule's warning share by now.

        The warning comes when `warn_at_percent` of the window has passed, i.e. when
        the time left (in the rule's kind of time) is at most the rest of the window.
        None: the rule warns at 100 %, which is the breach itself.
        """
        percent = self.rule.warn_at_percent or 0
        if percent >= 100:
            return None
        left = self.window * (100 - percent) / 100
        return add_duration(now, left, self.spec, business=self.business)

    def escalation_time(self, due_at: dt.datetime) -> dt.datetime | None:
        """When a breached clock escalates; the rule counts the delay from the clock's start.

        Adding (escalation delay − window) to the due time lands on the same instant
        as adding the whole delay to the start, in business time as in wall-clock time.
        """
        extra = self._escalation_extra
        if extra is None:
            return None
        return add_duration(due_at, extra, self.spec, business=self.business)

    @functools.cached_property
    def _escalation_extra(self) -> dt.timedelta | None:
        """The escalation delay beyond the window (worked out once per rule and check)."""
        after = self.rule.escalate_after(self.spec)
        if after is None:
            return None
        return max(after - self.window, dt.timedelta(0))


class RuleBook:
    """Every response rule (of every agreement version) with its calendar, loaded in 3 queries."""

    def __init__(self, clocks: dict[int, RuleClock]) -> None:
        self.clocks = clocks

    @classmethod
    def load(cls) -> RuleBook:
        rules = ResponseRule.objects.select_related(
            "agreement__calendar", "escalate_to"
        ).prefetch_related("agreement__calendar__holidays")
        specs: dict[int, CalendarSpec] = {}
        clocks = {}
        for rule in rules:
            calendar = rule.agreement.calendar
            spec = None
            if calendar is not None:
                if calendar.pk not in specs:
                    holidays = [h.date for h in calendar.holidays.all()]
                    specs[calendar.pk] = calendar.spec(holidays=holidays)
                spec = specs[calendar.pk]
            clocks[rule.pk] = RuleClock(rule=rule, spec=spec)
        return cls(clocks)

    def get(self, rule_id: int | None) -> RuleClock | None:
        return self.clocks.get(rule_id) if rule_id is not None else None

    def warning_horizons(self, now: dt.datetime) -> dict[int, dt.datetime]:
        """Per rule id: leads due at or before this instant are in their warning share."""
        horizons = {}
        for rule_id, clock in self.clocks.items():
            horizon = clock.warning_horizon(now)
            if horizon is not None and horizon > now:
                horizons[rule_id] = horizon
        return horizons

    def escalation_time(self, rule_id: int | None, due_at: dt.datetime) -> dt.datetime | None:
        clock = self.get(rule_id)
        return clock.escalation_time(due_at) if clock is not None else None
