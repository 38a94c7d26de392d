"""Marketing's figures: what it delivered, what sales did with it and the pipeline it made.

Each figure is the ledger rows it counts (see base.Figure); the delivery report, the
pipeline report, the 1:1 report, the pacing snapshots and every drill-down read them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce, NullIf, Round

from agreements.stages import CLOSED_STAGES, Stage
from leads.models import ENTRY_FACTS, JUNK_REASON, Feedback, LeadEvent, RepProfile
from reports.filters import DESK, ReportFilters

from .base import Figure, Kind, Rate, fact_path, in_range, scoped

# The key of a disqualification without structured feedback.
NO_REASON = "none"
# The key of the junk / spam line of the reasons (leads.models.JUNK_REASON).
JUNK = "junk"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


# --- Marketing delivery ---------------------------------------------------------------


def _new_leads(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
    # A lead's first stage entry has no stage it came from: the take-in's.
    return in_range(Kind.STAGE_ENTERED, f).filter(from_stage="")


NEW_LEADS = Figure(
    "new_leads", "New leads", "Leads that came into Accord in the range.", _new_leads
)


def received(events: QuerySet[LeadEvent]) -> QuerySet[LeadEvent]:
    """MQL entries with the rep who received each (`received_by`) and that rep's team:
    the holder at the entry or, if nobody held it, its first assignment since; None:
    the lead desk."""
    first_assignment = (
        LeadEvent.objects.filter(
            kind=Kind.ASSIGNED, lead=OuterRef("lead"), at__gte=OuterRef("at"), owner__isnull=False
        )
        .order_by("at", "id")
        .values("owner_id")[:1]
    )
    events = events.annotate(
        received_by=Coalesce(F("owner_id"), Subquery(first_assignment), output_field=IntegerField())
    )
    team = RepProfile.objects.filter(user_id=OuterRef("received_by")).values("team_id")[:1]
    return events.annotate(received_team=Subquery(team, output_field=IntegerField()))


# An MQL counts for the rep who received it (reports.filters: rep and team).
RECEIVED = {"rep": "received_by", "team": "received_team"}


def since(outcome: str, now: dt.datetime) -> Q:
    """An MQL entry whose outcome (a column of leads.ledger.OUTCOMES: touched_at,
    accepted_at, …) came at or after it, by `now`."""
    return Q(**{f"{outcome}__lte": now})


def not_since(outcome: str, now: dt.datetime) -> Q:
    """An MQL entry whose outcome had not come by `now`."""
    return Q(**{f"{outcome}__isnull": True}) | Q(**{f"{outcome}__gt": now})


def _mqls_delivered(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
    events = LeadEvent.objects.filter(
        kind=Kind.STAGE_ENTERED, stage="mql", at__gte=f.start, at__lt=f.end
    ).filter(not_since("junked_at", now))
    events = received(scoped(events, f.with_(rep=None, team=None)))
    if f.rep == DESK:
        events = events.filter(received_by__isnull=True)
    elif f.rep is not None:
        events = events.filter(received_by=f.rep)
    if f.team is not None:
        events = events.filter(received_team=f.team)
    return events


# MQLs delivered and accepted are one base's rows (`part_of`), so a total counts both
# in one pass over the MQL entries.
MQLS_DELIVERED = Figure.part_of(
    _mqls_delivered,
    lambda f, now: Q(),
    "mqls",
    "MQLs delivered",
    "Leads that entered MQL in the range, each lead once; leads disqualified as junk / "
    "spam since are not MQLs delivered.",
    paths=RECEIVED,
)

MQLS_ACCEPTED = Figure.part_of(
    _mqls_delivered,
    lambda f, now: COHORT["accepted"](now),
    "sales_accepted",
    "Accepted by sales (SQL)",
    "Of the MQLs delivered in the range, those that reached Sales Qualified since.",
    paths=RECEIVED,
)

ACCEPTANCE_RATE = Rate("acceptance_rate", "Acceptance rate", MQLS_ACCEPTED, MQLS_DELIVERED)


def _closings(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
    """Entries into a closing stage in the range: the rows the junk, disqualified, closed
    and traceable figures narrow (`part_of`), so a report counts them in one pass."""
    return in_range(Kind.STAGE_ENTERED, f).filter(stage__in=CLOSED_STAGES)


def _is_junk() -> Q:
    return Q(stage=Stage.DISQUALIFIED, reason=JUNK_REASON)


JUNK_SPAM = Figure.part_of(
    _closings,
    lambda f, now: _is_junk(),
    JUNK,
    "Junk / spam",
    "Leads disqualified in the range as junk or spam (bot sign-ups, test entries): no "
    "feedback is asked for them, and they count in neither feedback coverage nor acceptance.",
)

DISQUALIFIED = Figure.part_of(
    _closings,
    lambda f, now: Q(stage=Stage.DISQUALIFIED) & ~_is_junk(),
    "disqualified",
    "Disqualified",
    "Leads disqualified in the range, junk / spam not included.",
)

CLOSED = Figure.part_of(
    _closings,
    lambda f, now: ~_is_junk(),
    "closed",
    "Closed",
    "Leads disqualified or converted in the range, junk / spam not included.",
)


def _traced(f: ReportFilters, now: dt.datetime) -> Q:
    of_lead = LeadEvent.objects.filter(lead=OuterRef("lead"), at__lte=now)
    deal = of_lead.filter(kind=Kind.DEAL_OPENED)
    feedback = of_lead.filter(kind=Kind.FEEDBACK).exclude(reason="")
    return ~_is_junk() & (Q(Exists(deal)) | Q(Exists(feedback)))


TRACEABLE = Figure.part_of(
    _closings,
    _traced,
    "traceable",
    "Deal or feedback",
    "Of the leads closed in the range, those with a deal or structured feedback.",
)

FEEDBACK_COVERAGE = Rate("feedback_coverage", "Feedback coverage", TRACEABLE, CLOSED)


def with_reason(events: QuerySet[LeadEvent]) -> QuerySet[LeadEvent]:
    """Disqualifications with `_reason`: the structured reason of the feedback given with
    it (the lead's first feedback at or after it, before its next stage: settled on the
    row by leads.ledger.settle_feedback_reasons), NO_REASON without one."""
    return events.annotate(
        _reason=Coalesce(NullIf(F("feedback_reason"), Value("")), Value(NO_REASON))
    )


def reason_counts(events: QuerySet[LeadEvent]) -> dict[str, int]:
    """Disqualified leads per reason (see `with_reason`), in one query."""
    rows = (
        with_reason(events)
        .order_by()
        .values_list("_reason")
        .annotate(n=Count("lead", distinct=True))
        .values_list("_reason", "n")
    )
    return dict(rows)


def reason_label(reason: str) -> str:
    """How a reason row is named."""
    if reason == JUNK:
        return "Junk / spam (no feedback asked)"
    return dict(Feedback.Reason.choices).get(reason, "No structured feedback")


def reason_figure(key: str, reason: str, disqualified: Figure) -> Figure:
    """The leads of one disqualification figure given one reason."""

    def events(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
        return with_reason(disqualified.events(f, now)).filter(_reason=reason)

    return Figure(key, reason_label(reason), f"{disqualified.definition} Reason: {reason}.", events)


REASONS = (*Feedback.Reason.values, NO_REASON)

DELIVERY_FIGURES: dict[str, Figure] = {
    figure.key: figure
    for figure in (
        NEW_LEADS,
        MQLS_DELIVERED,
        MQLS_ACCEPTED,
        DISQUALIFIED,
        JUNK_SPAM,
        CLOSED,
        TRACEABLE,
    )
}
# A rate's cell opens its numerator's leads.
DELIVERY_FIGURES["acceptance_rate"] = MQLS_ACCEPTED
DELIVERY_FIGURES["feedback_coverage"] = TRACEABLE
DELIVERY_FIGURES.update(
    {f"reason:{r}": reason_figure(f"reason:{r}", r, DISQUALIFIED) for r in REASONS}
)
# The reasons' junk / spam line: the junk figure itself.
DELIVERY_FIGURES[f"reason:{JUNK}"] = JUNK_SPAM

# --- Pipeline and contribution ---------------------------------------------------------


def _opened(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
    return in_range(Kind.DEAL_OPENED, f)


def _won(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
    return in_range(Kind.DEAL_WON, f)


# The deal rows a deal figure narrows, by kind: the figures of one kind are `part_of` one
# base, so `tally_together` counts them (deals, leads, amounts) in one pass.
DEAL_ROWS = {Kind.DEAL_OPENED: _opened, Kind.DEAL_WON: _won}


def _sourced(kind: str) -> Q:
    return Q(lead_channel__is_marketing_sourced=True)


def _influenced(kind: str) -> Q:
    # A touch point with a campaign before the deal opened: settled on the deal's opened
    # and won rows by leads.ledger.settle_influence.
    return Q(influenced=True)


def _unattributed(kind: str) -> Q:
    return Q(influenced=False)


@dataclass(frozen=True)
class DealFigure:
    """A set of deals counted twice: deals (on how many leads) and their amount."""

    key: str
    label: str
    deals: Figure
    amount: Figure


def _deal_figure(
    key: str,
    label: str,
    definition: str,
    kind: str,
    narrow: Callable[[str], Q] | None = None,
) -> DealFigure:
    """The deals whose `kind` row (opened, won) falls in the range, narrowed if given."""

    def where(f: ReportFilters, now: dt.datetime) -> Q:
        return narrow(kind) if narrow is not None else Q()

    base = DEAL_ROWS[kind]
    return DealFigure(
        key,
        label,
        Figure.part_of(base, where, key, label, definition, measure="rows", unit="deals"),
        Figure.part_of(base, where, f"{key}:amount", label, definition, measure="amount"),
    )


PIPELINE = _deal_figure(
    "pipeline", "Pipeline opened", "Deals opened in the range, with their amount.", Kind.DEAL_OPENED
)
SOURCED = _deal_figure(
    "generated",
    "Sourced by marketing",
    "Deals opened in the range on leads from marketing-sourced channels.",
    Kind.DEAL_OPENED,
    _sourced,
)
INFLUENCED = _deal_figure(
    "influenced",
    "Influenced by marketing",
    "Deals opened in the range with a touch point before they opened.",
    Kind.DEAL_OPENED,
    _influenced,
)
UNATTRIBUTED = _deal_figure(
    "unattributed",
    "Unattributed (no touch point)",
    "Deals opened in the range without a touch point before they opened.",
    Kind.DEAL_OPENED,
    _unattributed,
)
WON = _deal_figure("won", "Won", "Deals won in the range, with their amount.", Kind.DEAL_WON)
WON_SOURCED = _deal_figure(
    "won_generated",
    "Won, sourced by marketing",
    "Deals won in the range on leads from marketing-sourced channels.",
    Kind.DEAL_WON,
    _sourced,
)
WON_INFLUENCED = _deal_figure(
    "won_influenced",
    "Won, influenced by marketing",
    "Deals won in the range with a touch point before they opened.",
    Kind.DEAL_WON,
    _influenced,
)
DEAL_FIGURES = (PIPELINE, SOURCED, INFLUENCED, UNATTRIBUTED, WON, WON_SOURCED, WON_INFLUENCED)


def attribution(f: ReportFilters, now: dt.datetime) -> dict[int, dict[str, Decimal]]:
    """Each campaign's credit for the pipeline opened in the range, by first, last and
    linear touch, in one query. Amounts are counted in whole cents so that both
    databases divide integers alike: a linear share is the deal's cents ÷ its touch
    points rounded down, and the last touch point takes the remainder, so the credits
    of a deal add up to its amount."""
    # The deals (the pipeline figure's rows) and the touch points, as the ORM builds them.
    deals = (
        _opened(f, now)
        .order_by()
        .values(
            deal_row=F("pk"),
            deal_lead=F("lead_id"),
            deal_at=F("at"),
            cents=Cast(Round(F("amount") * 100), BigIntegerField()),
        )
    )
    points = (
        LeadEvent.objects.filter(kind=Kind.TOUCH_POINT, campaign__isnull=False)
        .order_by()
        .values(
            point_row=F("pk"),
            point_lead=F("lead_id"),
            point_at=F("at"),
            point_campaign=F("campaign_id"),
        )
    )
    deals_sql, deals_params = deals.query.sql_with_params()
    points_sql, points_params = points.query.sql_with_params()
    # Each touch point paired with each deal of its lead opened after it, numbered in time
    # order per deal (the n-th of n). Plain SQL around the ORM's two queries: the ORM
    # cannot group rows by a window function's value, and its correlated counts instead
    # took 1.8–2.5 s at 1,000,000 leads (Postgres) against ~0.2 s for this statement.
    sql = f"""
        SELECT point_campaign,
            SUM(CASE WHEN position = 1 THEN cents ELSE 0 END),
            SUM(CASE WHEN position = n THEN cents ELSE 0 END),
            SUM(CASE WHEN position = n THEN cents - (n - 1) * (cents / n) ELSE cents / n END)
        FROM (
            SELECT p.point_campaign, d.cents,
                ROW_NUMBER() OVER (PARTITION BY d.deal_row ORDER BY p.point_at, p.point_row)
                    AS position,
                COUNT(*) OVER (PARTITION BY d.deal_row) AS n
            FROM ({deals_sql}) AS d
            JOIN ({points_sql}) AS p ON p.point_lead = d.deal_lead AND p.point_at < d.deal_at
        ) AS pairs
        GROUP BY point_campaign"""  # noqa: S608 (the two subqueries are the ORM's, with parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, (*deals_params, *points_params))
        rows = cursor.fetchall()
    return {
        campaign: {
            "first": Decimal(first) * CENT,
            "last": Decimal(last_) * CENT,
            "linear": Decimal(linear) * CENT,
        }
        for campaign, first, last_, linear in rows
    }


PIPELINE_FIGURES: dict[str, Figure] = {d.key: d.deals for d in DEAL_FIGURES}
PIPELINE_FIGURES.update(
    {
        "leads": NEW_LEADS,
        "mqls": MQLS_DELIVERED,
        "sqls": MQLS_ACCEPTED,
        "pipeline_amount": PIPELINE.amount,
    }
)

# --- The 1:1 report: what became of the MQLs handed over ------------------------------


def _untouched_open(now: dt.datetime) -> Q:
    return not_since("touched_at", now) & ~Q(lead_stage__in=[*CLOSED_STAGES, Stage.NURTURE])


def entry_path(name: str) -> str:
    """Where an MQL entry finds its lead's field: its own copy (the facts every row
    carries, the title and stage its MQL entries carry: leads.models.ENTRY_FACTS), or
    the lead."""
    return ENTRY_FACTS.get(name) or fact_path(name)


# What became of an MQL delivered in the range, as a condition on its MQL entry (whose
# outcomes leads.ledger keeps on the entry): each cohort figure below is the MQLs delivered
# narrowed by one, and `cohort_counts` counts them all in one query with the same conditions
# (the lead's stage now: the entry's copy).
COHORT: dict[str, Callable[[dt.datetime], Q]] = {
    "handed_over": lambda now: Q(),
    "touched": lambda now: since("touched_at", now),
    "untouched_open": _untouched_open,
    "accepted": lambda now: since("accepted_at", now),
    "disqualified": lambda now: since("disqualified_at", now),
    "nurture": lambda now: Q(lead_stage=Stage.NURTURE),
    "won": lambda now: since("won_at", now),
}


def _cohort(key: str) -> Callable[[ReportFilters, dt.datetime], QuerySet[LeadEvent]]:
    def events(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
        return _mqls_delivered(f, now).filter(COHORT[key](now))

    return events


def cohort_counts(
    fields: tuple[str, ...], f: ReportFilters, now: dt.datetime
) -> dict[tuple[Any, ...], dict[str, int]]:
    """Every cohort figure's leads per combination of the leads' own facts (e.g. persona,
    title, stage), in one query; each lead has one combination, so groupings and totals
    are sums of these."""
    paths = [entry_path(name) for name in fields]
    counts = {
        key: Count("lead", distinct=True, filter=condition(now))
        for key, condition in COHORT.items()
    }
    rows = _mqls_delivered(f, now).order_by().values_list(*paths).annotate(**counts)
    return {
        tuple(row[: len(paths)]): dict(zip(COHORT, row[len(paths) :], strict=True))
        for row in rows.values_list(*paths, *COHORT)
    }


HANDED_OVER = Figure(
    "handed_over",
    "Handed over (MQLs)",
    "Leads that entered MQL in the range, each lead once.",
    _mqls_delivered,
    paths=RECEIVED,
)
TOUCHED = Figure(
    "touched",
    "Touched",
    "Of those, the ones with a sales touch since they became an MQL.",
    _cohort("touched"),
    paths=RECEIVED,
)
OPEN_UNTOUCHED = Figure(
    "untouched_open",
    "Open, never touched",
    "Of those, the ones still open (not in nurture) with no sales touch since.",
    _cohort("untouched_open"),
    paths=RECEIVED,
)
ONE_ON_ONE_DISQUALIFIED = Figure(
    "disqualified",
    "Disqualified",
    "Of those, the ones disqualified since.",
    _cohort("disqualified"),
    paths=RECEIVED,
)
NURTURE = Figure(
    "nurture",
    "Nurture",
    "Of those, the ones in nurture now.",
    _cohort("nurture"),
    paths=RECEIVED,
)
WON_SINCE = Figure(
    "won",
    "Won",
    "Of those, the ones with a deal won since.",
    _cohort("won"),
    paths=RECEIVED,
)


def since_handed_over(
    kind: str | tuple[str, ...], f: ReportFilters, now: dt.datetime
) -> QuerySet[LeadEvent]:
    """Events of a kind (or kinds) on the handed-over leads, at or after an MQL entry
    that handed them over: one of the MQLs delivered in the range (not junk since, and
    received in the filters' team or by their rep). A lead's junk MQL, or one another
    rep received, does not start its "since"."""
    kinds = (kind,) if isinstance(kind, str) else kind
    handed_over = _mqls_delivered(f, now).filter(lead=OuterRef("lead"), at__lte=OuterRef("at"))
    # Never before the range's start (an MQL entry in it comes first): the bound lets the
    # database read the range's events only, not every event of the kind.
    return LeadEvent.objects.filter(kind__in=kinds, at__gte=f.start, at__lte=now).filter(
        Exists(handed_over)
    )


def _handed_over_deals(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
    return since_handed_over(Kind.DEAL_OPENED, f, now)


def _handed_over_disqualifications(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
    return since_handed_over(Kind.STAGE_ENTERED, f, now).filter(stage=Stage.DISQUALIFIED)


HANDED_OVER_DEALS = Figure(
    "deals",
    "Deals opened",
    "Deals opened on those leads since they were handed over (the MQL delivered).",
    _handed_over_deals,
    measure="rows",
    unit="deals",
)
HANDED_OVER_PIPELINE = Figure(
    "pipeline_amount",
    "Pipeline created",
    HANDED_OVER_DEALS.definition,
    _handed_over_deals,
    measure="amount",
)


def _handed_over_clocks(kind: str) -> Any:
    def events(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
        return since_handed_over(kind, f, now)

    return events


HANDED_OVER_SLA_MET = Figure(
    "sla_met",
    "SLA met",
    "The handed-over leads' clocks met since they were handed over.",
    _handed_over_clocks(Kind.CLOCK_MET),
    measure="rows",
    unit="clocks",
)
HANDED_OVER_SLA_BREACHED = Figure(
    "sla_breached",
    "SLA breached",
    "The handed-over leads' clocks breached since they were handed over.",
    _handed_over_clocks(Kind.CLOCK_BREACHED),
    measure="rows",
    unit="clocks",
)

ONE_ON_ONE_DQ = Figure(
    "disqualified",
    "Disqualified",
    "The handed-over leads' disqualifications since they were handed over.",
    _handed_over_disqualifications,
)


def _by_field(field: str, value: Any, base: Figure) -> Figure:
    """The leads of a cohort figure (MQL entries) with one value of a lead's field."""

    def events(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
        return base.events(f, now).filter(**{entry_path(field): value})

    return Figure(f"{field}:{value}", str(value), base.definition, events)


ONE_ON_ONE_FIXED: dict[str, Figure] = {
    figure.key: figure
    for figure in (
        HANDED_OVER,
        TOUCHED,
        OPEN_UNTOUCHED,
        ONE_ON_ONE_DISQUALIFIED,
        NURTURE,
        WON_SINCE,
        HANDED_OVER_DEALS,
        HANDED_OVER_SLA_MET,
    )
}
ONE_ON_ONE_FIXED.update(
    {
        "accepted": MQLS_ACCEPTED,
        "acceptance_rate": MQLS_ACCEPTED,
        "leads": HANDED_OVER,
        "sla_met_share": HANDED_OVER_SLA_MET,
    }
)
ONE_ON_ONE_FIXED["pipeline_amount"] = HANDED_OVER_PIPELINE


class OneOnOneFigures(Mapping[str, Figure]):
    """The 1:1 report's drill metrics: the fixed figures, and one per stage, title and
    disqualification reason of the handed-over leads."""

    def __getitem__(self, metric: str) -> Figure:
        if metric in ONE_ON_ONE_FIXED:
            return ONE_ON_ONE_FIXED[metric]
        prefix, _, value = metric.partition(":")
        if prefix == "stage" and value in Stage.values:
            return _by_field("stage", value, HANDED_OVER)
        if prefix == "title":
            return _by_field("title", value, HANDED_OVER)
        if prefix == "reason" and value in REASONS:
            return reason_figure(metric, value, ONE_ON_ONE_DQ)
        raise KeyError(metric)

    def __iter__(self) -> Iterator[str]:
        return iter(ONE_ON_ONE_FIXED)

    def __len__(self) -> int:
        return len(ONE_ON_ONE_FIXED)


ONE_ON_ONE_FIGURES = OneOnOneFigures()
