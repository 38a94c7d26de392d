"""Sales' figures over the ledger: tenures, untouched cohorts, clocks, times to first
touch and touches, each defined once."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from django.db.models import (
    DateTimeField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.lookups import LessThan

from agreements.models import TouchGoal
from agreements.stages import Stage
from leads.models import LeadEvent
from reports.filters import ReportFilters

from .base import Figure, Kind, Rate, in_range, scoped

TTFT_FIELDS = ("customer_wait", "routing_delay", "rep_response")


def tenures(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
    """Tenures that started in the range: assignments to a rep, by their holder."""
    return in_range(Kind.ASSIGNED, f).filter(owner__isnull=False)


ASSIGNED = Figure.part_of(
    tenures,
    lambda f, now: Q(),
    "assigned",
    "Leads assigned",
    "Leads given to the rep in the range (each assignment starts a tenure).",
)


def untouched(days: int) -> Figure:
    """Tenures that started in the range, held `days` days with no sales touch by the
    holder; counted once the days have passed."""

    def where(f: ReportFilters, now: dt.datetime) -> Q:
        # The tenure's row says how long it went untouched (leads.ledger): no date
        # arithmetic per row.
        # Days of 24 h: in UTC, as arithmetic on a zoned datetime counts wall-clock days.
        held = dt.timedelta(days=days)
        return Q(at__lte=now.astimezone(dt.UTC) - held) & (
            Q(untouched_for__isnull=True) | Q(untouched_for__gte=held)
        )

    return Figure.part_of(
        tenures,
        where,
        f"untouched_{days}",
        f"Untouched after {days} days",
        f"Of the tenures that started in the range (a lead assigned to a rep), those the "
        f"rep held {days} days with no sales touch of theirs; counted once the days have "
        "passed.",
        measure="rows",
        unit="tenures",
    )


def not_yet(days: int) -> Figure:
    """Tenures that started in the range less than `days` days ago."""

    def where(f: ReportFilters, now: dt.datetime) -> Q:
        return Q(at__gt=now.astimezone(dt.UTC) - dt.timedelta(days=days))

    return Figure.part_of(
        tenures,
        where,
        f"not_yet_{days}",
        f"Not yet {days} days",
        f"Tenures that started in the range less than {days} days ago: not yet counted as "
        f"untouched after {days} days.",
        measure="rows",
        unit="tenures",
    )


def _clocks(*kinds: str) -> QuerySet[LeadEvent]:
    return LeadEvent.objects.filter(kind__in=kinds)


def _decided(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
    clocks = _clocks(Kind.CLOCK_MET, Kind.CLOCK_BREACHED)
    return scoped(clocks.filter(due_at__gte=f.start, due_at__lt=f.end), f)


SLA_MET = Figure.part_of(
    _decided,
    lambda f, now: Q(kind=Kind.CLOCK_MET),
    "sla_met",
    "SLA met",
    "Clocks due in the range that a sales touch met by their due time, for the owner at the touch.",
    measure="rows",
    unit="clocks",
)
SLA_BREACHED = Figure.part_of(
    _decided,
    lambda f, now: Q(kind=Kind.CLOCK_BREACHED),
    "sla_breached",
    "SLA breached",
    "Clocks due in the range with no sales touch by their due time, for the owner at "
    "the due time (the lead desk when nobody owned the lead).",
    measure="rows",
    unit="clocks",
)
SLA_DECIDED = Figure.part_of(
    _decided,
    lambda f, now: Q(),
    "sla_decided",
    "Clocks met or breached",
    "Clocks due in the range, met or breached.",
    measure="rows",
    unit="clocks",
)
SLA_MET_RATE = Rate("sla_met_share", "SLA met", SLA_MET, SLA_DECIDED)


def _first_touches(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
    return in_range(Kind.FIRST_TOUCH, f, field="due_at")


FIRST_TOUCHED = Figure(
    "first_touched",
    "Clocks answered by a touch",
    "Clocks due in the range with a first sales touch (met or late), for the owner at "
    "the touch; the times to first touch are theirs.",
    _first_touches,
    measure="rows",
    unit="clocks",
)


def _touches(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
    return in_range(Kind.SALES_TOUCH, f).filter(actor_id=F("owner_id"))


TOUCHES = Figure(
    "touches",
    "Touches",
    "Sales touches in the range by the rep who held the lead.",
    _touches,
    measure="rows",
    unit="touches",
)


def held_now_in(stage: str) -> Figure:
    """Leads assigned in the range that the same rep still holds, now in `stage`."""

    def where(f: ReportFilters, now: dt.datetime) -> Q:
        # Still held: no later assignment ended the tenure; the lead's stage now rides on
        # the tenure's row (both kept by leads.ledger), so no lead is read.
        return Q(held_until__isnull=True, held_stage=stage)

    return Figure.part_of(
        tenures,
        where,
        f"stage_{stage}",
        Stage(stage).label,
        "Of the leads assigned in the range, those the rep still holds, by their stage now.",
    )


def untouched_figures(thresholds: list[int]) -> list[tuple[Figure, Figure]]:
    """(untouched after N days, not yet N days) for each of the agreement's thresholds."""
    return [(untouched(days), not_yet(days)) for days in thresholds]


def figures_for(thresholds: list[int]) -> dict[str, Figure]:
    """Every linked figure of the sales tables, by drill metric."""
    found = [ASSIGNED, SLA_MET, SLA_BREACHED, SLA_DECIDED, FIRST_TOUCHED, TOUCHES]
    for i, (gone, pending) in enumerate(untouched_figures(thresholds), start=1):
        found += [
            replace(gone, key=f"untouched_{i}"),
            replace(pending, key=f"not_yet_{i}"),
        ]
    found += [held_now_in(s) for s in Stage.values]
    return {figure.key: figure for figure in found}


# A condition every row meets (an empty Q would vanish from an OR).
EVERY = Q(pk__isnull=False)


def _nth_touch_less(n: int, days: int) -> Subquery:
    """When the outer event's lead had its n-th sales touch from the event on, less `days`
    days (none: null): before the event's own time when the touch came within the days."""
    touches = LeadEvent.objects.filter(
        kind=Kind.SALES_TOUCH, lead=OuterRef("lead"), at__gte=OuterRef("at")
    )
    # The days come off the one touch found, not onto every event: on SQLite datetime
    # arithmetic is a call into Python per value (half the goal's count at 100,000 leads).
    earlier = ExpressionWrapper(F("at") - dt.timedelta(days=days), output_field=DateTimeField())
    # The n-th time is the same whichever of equal times comes first: no tie-break, so
    # the (lead, kind, at) index gives it without a sort.
    return Subquery(touches.order_by("at").values(earlier=earlier).values("earlier")[n - 1 : n])


def touch_goal(goals: list[TouchGoal]) -> tuple[Figure, Figure]:
    """(reached, decided) for the agreement's touch goals: of the leads that became
    Working in the range, those with the goal's touches within its days of it; decided:
    reached, or the days are over. A channel's own goal applies to its leads, the
    general one to the others."""
    own = [g.channel_id for g in goals if g.channel_id is not None]

    def conditions(now: dt.datetime) -> tuple[Q, Q]:
        reached, decided = Q(pk__in=[]), Q(pk__in=[])
        for g in goals:
            if g.channel_id is not None:
                scope = Q(lead_channel_id=g.channel_id)
            elif own:
                scope = Q(lead_channel_id__isnull=True) | ~Q(lead_channel_id__in=own)
            else:
                scope = EVERY  # the general goal and no other: no join to the lead
            # Reached: the goal's last touch came before its days were over (its time
            # less the days is before the entry's).
            nth = _nth_touch_less(g.touches, g.within_days) if g.touches else None
            touched = Q(LessThan(nth, F("at"))) if nth is not None else EVERY
            reached |= scope & touched
            # The days first: only the leads still within them need their touches looked up.
            decided |= scope & (Q(at__lte=now - dt.timedelta(days=g.within_days)) | touched)
        return reached, decided

    def working(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
        return in_range(Kind.STAGE_ENTERED, f).filter(stage=Stage.WORKING)

    def reached_where(f: ReportFilters, now: dt.datetime) -> Q:
        return conditions(now)[0]

    def decided_where(f: ReportFilters, now: dt.datetime) -> Q:
        return conditions(now)[1]

    text = ", ".join(f"{g.touches} touches in {g.within_days} days" for g in goals)
    return (
        Figure.part_of(
            working,
            reached_where,
            "goal_reached",
            "Reached the touch goal",
            f"Of the leads that became Working in the range, those touched as the goal says "
            f"({text}) from then on.",
        ),
        Figure.part_of(
            working,
            decided_where,
            "goal_decided",
            "Touch goal decided",
            "Of the leads that became Working in the range, those that reached the touch "
            "goal or whose days for it are over.",
        ),
    )
