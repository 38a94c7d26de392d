"""A lead's SLA clock: started, settled, stopped and recomputed here and nowhere else.

Entering a stage that a response rule of the agreement in force covers (an MQL
hand-raise) starts a clock, due after the rule's allowance in the agreement's
business time. The first sales touch settles it (met when at or before the due
time, breached after). Leaving for a stage where nobody is expected to touch the
lead stops it. A calendar or rule change recomputes the running clocks.

The functions set the lead's fields in memory; the caller saves, in its transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.dispatch import Signal

from agreements.calendar import CalendarSpec, add_duration, business_duration_between
from agreements.models import Agreement, ResponseRule
from agreements.stages import CLOCK_STOPPING_STAGES, Stage

from .models import Lead, StageChange

PENDING = Lead.SLAStatus.PENDING
MET = Lead.SLAStatus.MET
BREACHED = Lead.SLAStatus.BREACHED
NONE = Lead.SLAStatus.NONE

RECOMPUTE_BATCH = 2000

# Sent (lead=, at=) inside the touch's transaction when a touch comes after its clock was
# due: the SLA engine, a layer above, records or resolves the breach.
touched_after_due = Signal()


@dataclass(frozen=True)
class ClockStart:
    """A clock a rule starts: which rule of which agreement, from when, due when."""

    rule: ResponseRule
    agreement: Agreement
    started_at: dt.datetime
    due_at: dt.datetime


@dataclass(frozen=True)
class Rules:
    """The agreement in force and its business calendar, read once per operation."""

    agreement: Agreement | None
    spec: CalendarSpec | None

    @classmethod
    def in_force(cls) -> Rules:
        """The active agreement with its calendar (no agreement: no clocks start)."""
        agreement = Agreement.current()
        return cls(agreement, agreement.calendar_spec() if agreement is not None else None)

    @property
    def calendar(self) -> CalendarSpec:
        """The business calendar time to first touch is counted in (Mon–Fri 09–17 UTC
        without one)."""
        return self.spec or CalendarSpec()

    def due_at(self, rule: ResponseRule, started_at: dt.datetime) -> dt.datetime:
        """When a clock of `rule` started at `started_at` is due, in the rule's kind of time."""
        return add_duration(
            started_at, rule.due_after(self.spec), self.spec, business=rule.business_time
        )

    def warn_at(self, rule: ResponseRule, started_at: dt.datetime) -> dt.datetime:
        """When the owner is warned: after the rule's warning share of the window."""
        share = rule.due_after(self.spec) * (rule.warn_at_percent or 100) / 100
        return add_duration(started_at, share, self.spec, business=rule.business_time)

    def escalate_at(self, rule: ResponseRule, started_at: dt.datetime) -> dt.datetime | None:
        """When a breach of the rule escalates, counted from the clock's start."""
        after = rule.escalate_after(self.spec)
        if after is None:
            return None
        return add_duration(started_at, after, self.spec, business=rule.business_time)

    def start(self, stage: str, channel_id: int | None, at: dt.datetime) -> ClockStart | None:
        """The clock a lead entering `stage` from `channel_id` at `at` starts, if any."""
        if self.agreement is None:
            return None
        rule = self.agreement.rule_for(stage, channel_id)
        if rule is None:
            return None
        return ClockStart(rule, self.agreement, at, self.due_at(rule, at))


def set_running(lead: Lead, clock: ClockStart) -> None:
    """Write a started clock onto the lead (in memory)."""
    lead.sla_started_at = clock.started_at
    lead.sla_due_at = clock.due_at
    lead.sla_status = PENDING
    lead.sla_rule = clock.rule
    lead.sla_agreement = clock.agreement


def enter_stage(lead: Lead, at: dt.datetime, rules: Rules | None = None) -> ClockStart | None:
    """Start, keep or stop the lead's clock for the stage it has just entered.

    A covered stage starts a new clock. Otherwise a running clock keeps running into
    the sales stages (the first touch still settles it there) and stops in nurture,
    disqualified or converted: breached if already overdue, else no SLA. A settled
    clock keeps its outcome. Returns the clock started, if one was.
    """
    rules = rules or Rules.in_force()
    clock = rules.start(lead.stage, lead.channel_id, at)
    if clock is not None:
        set_running(lead, clock)
        return clock
    if lead.sla_status == PENDING:
        if lead.stage in CLOCK_STOPPING_STAGES:
            if lead.sla_due_at is not None and at > lead.sla_due_at:
                lead.sla_status = BREACHED
            else:
                clear(lead)
        return None
    if lead.sla_status not in (MET, BREACHED):
        lead.sla_status = NONE
    return None


def clear(lead: Lead) -> None:
    """No clock on the lead."""
    lead.sla_status = NONE
    lead.sla_started_at = None
    lead.sla_due_at = None
    lead.sla_rule = None
    lead.sla_agreement = None


def settle_on_touch(lead: Lead, at: dt.datetime) -> str | None:
    """A sales touch at `at` settles a running clock: met at or before the due time, else
    breached. Returns the outcome, or None when no clock was running."""
    if lead.sla_status != PENDING or lead.sla_due_at is None:
        return None
    lead.sla_status = MET if at <= lead.sla_due_at else BREACHED
    return lead.sla_status


def record_sales_touch(lead: Lead, at: dt.datetime, rules: Rules) -> str | None:
    """Stamp a human sales touch on the lead: first and last touch, business time to the
    first touch, and the clock it settles. Returns the clock's outcome, if one ran."""
    first = lead.first_touch_at is None
    if first:
        lead.first_touch_at = at
        lead.business_seconds_to_first_touch = business_seconds_to_first_touch(
            lead, at, rules.calendar
        )
    if lead.last_touch_at is None or at > lead.last_touch_at:
        lead.last_touch_at = at
    # Any touch settles a running clock: a lead back in MQL after earlier touches gets a
    # new clock, and its next touch is what meets (or misses) it.
    outcome = settle_on_touch(lead, at)
    if outcome == BREACHED or (first and lead.sla_status == BREACHED):
        touched_after_due.send(sender=Lead, lead=lead, at=at)
    return outcome


def reached_sales_at(lead: Lead, at: dt.datetime) -> dt.datetime:
    """When the lead became the rep's to answer: the latest of its creation, its last
    entry into MQL before `at` and its assignment to the current owner."""
    moments = [lead.created_at]
    if lead.assigned_at is not None:
        moments.append(lead.assigned_at)
    if lead.pk is not None:
        entered = (
            StageChange.objects.filter(lead_id=lead.pk, to_stage=Stage.MQL, at__lte=at)
            .order_by("-at")
            .values_list("at", flat=True)
            .first()
        )
        if entered is not None:
            moments.append(entered)
    return min(max(moments), at)


def business_seconds_to_first_touch(lead: Lead, at: dt.datetime, spec: CalendarSpec) -> int:
    """Whole seconds of working time from `reached_sales_at` to the first touch at `at`."""
    spent = business_duration_between(reached_sales_at(lead, at), at, spec)
    return max(int(spent.total_seconds()), 0)


def running_clocks(agreement: Agreement) -> Q:
    """The leads whose clock runs under `agreement` (for recomputing them)."""
    return Q(sla_status=PENDING, sla_agreement=agreement, sla_started_at__isnull=False)


def recompute_running_clocks(now: dt.datetime | None = None) -> int:
    """Move the due time of every running clock of the agreement in force to what its rule
    and today's calendar say (after a holiday, working hours or a rule changed).

    A clock whose new due time is already past stays pending: the next SLA check
    breaches it as it does any due clock. Returns how many due times moved.
    """
    rules = Rules.in_force()
    if rules.agreement is None:
        return 0
    by_rule = {rule.pk: rule for rule in rules.agreement.rules.all()}
    moved = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                Lead.objects.select_for_update(of=("self",))
                .filter(running_clocks(rules.agreement), pk__gt=last_pk)
                .order_by("pk")
                .only("pk", "sla_started_at", "sla_due_at", "sla_rule_id", "version")[
                    :RECOMPUTE_BATCH
                ]
            )
            if not batch:
                return moved
            last_pk = batch[-1].pk
            changed = []
            for lead in batch:
                rule = by_rule.get(lead.sla_rule_id)
                if rule is None:
                    continue
                due = rules.due_at(rule, lead.sla_started_at)
                if due != lead.sla_due_at:
                    lead.sla_due_at = due
                    changed.append(lead)
            Lead.objects.bulk_update(changed, ["sla_due_at"])
            moved += len(changed)
