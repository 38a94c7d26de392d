"""Report figures, one function each: pages, exports, snapshots and tests call the same one.

Every figure is aggregated by the database (annotate/aggregate, conditional counts,
correlated subqueries and window functions); no function loads the rows of a big
table into Python. Each report returns plain rows (dicts) with a `section` key; a
drill-down (`drilldown_leads`) turns a (report, metric, row) back into the leads
behind the number, from the same conditions the number was counted with. Where Django
would repeat a subquery inside every figure that uses it (the sales activity's tenures,
the marketing delivery's flags), each row's lookups are made once, as columns of a
materialized CTE, and the figures are conditions on those columns.

Definitions (the words the pages and the tests use):

- **Sales activity** counts assignments to reps made in the range. A lead
  reassigned mid-period counts for each rep who got it. Inputs happen in a
  *tenure* — from the assignment to the lead's next assignment (or now):
  untouched after N days (the agreement's thresholds) means the rep held the lead
  N days with no sales touch and the lead stayed open and out of nurture; the first
  touch, its business time and the SLA outcome count for the rep whose tenure they
  fell in; touches are the sales touches during the tenure. Outcomes (current
  stage, conversion, touch goal) count for the rep who holds the lead now.
- **Time to first touch** is `Lead.business_seconds_to_first_touch`, stamped at
  the touch (see leads/response_time.py: business time from when the lead reached
  sales — the latest of creation, MQL entry and assignment — to the touch). SQL
  cannot follow a calendar's hours, holidays and DST, so it is stored, and the
  median and 90th percentile (linear interpolation, as Postgres' percentile_cont)
  are picked by window functions.
- **Marketing delivery** (here only for the SLA scoreboard's marketing rows; the
  marketing reports count the ledger, reports.figures.marketing) counts leads from
  marketing-sourced channels: created in the range; MQLs (entered MQL in the range,
  or were created as MQLs in it); sales-accepted (entered SQL in the range).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    BooleanField,
    CharField,
    DateTimeField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from agreements.models import Agreement, Channel, MarketingCommitment, TouchGoal
from agreements.models import untouched_thresholds as agreement_thresholds
from agreements.stages import CLOSED_STAGES, Stage
from leads.models import Activity, Deal, Feedback, Lead, StageChange, Team
from sla.models import PacingSnapshot

from . import facts
from .filters import ReportFilters
from .models import DeliveryEvent, DeliveryTally, ReportSnapshot, Tenure

ZERO = Decimal("0")
CENT = Decimal("0.01")
TENTH = Decimal("0.1")
MONEY = DecimalField(max_digits=16, decimal_places=2)

# Activities that are marketing touches: marketing's own, and the customer's answers to
# it (forms, webinars, downloads, visits). Imports and system moves are not touches.
NOT_TOUCH_KINDS = (
    Activity.Kind.LIST_IMPORT,
    Activity.Kind.ASSIGNMENT,
    Activity.Kind.NURTURE_RETURN,
)
TOUCH_SIDES = (Activity.Side.MARKETING, Activity.Side.CUSTOMER)
TOUCH_KINDS = tuple(k for k in Activity.Kind.values if k not in NOT_TOUCH_KINDS)
MARKETING_TOUCH = Q(side__in=TOUCH_SIDES, kind__in=TOUCH_KINDS)


FUNNEL_STAGES = [s.value for s in Stage]


# --- Small helpers -------------------------------------------------------------------


def pct(part: Any, whole: Any) -> Decimal | None:
    """part ÷ whole in percent, one decimal (None when there is nothing to divide by)."""
    if not whole:
        return None
    return (Decimal(part or 0) * 100 / Decimal(whole)).quantize(TENTH, ROUND_HALF_UP)


def ratio(part: Any, whole: Any, places: Decimal = CENT) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part or 0) / Decimal(whole)).quantize(places, ROUND_HALF_UP)


def money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT, ROUND_HALF_UP)


def _lead_q(f: ReportFilters, prefix: str = "", *, owner: bool = True) -> Q:
    """The filters that are facts of the lead (and, if `owner`, of its current owner)."""
    q = Q()
    for name in ("channel", "campaign", "persona"):
        value = getattr(f, name)
        if value is not None:
            q &= Q(**{f"{prefix}{name}_id": value})
    if owner and f.rep is not None:
        q &= Q(**{f"{prefix}owner_id": f.rep})
    if owner and f.team is not None:
        q &= Q(**{f"{prefix}owner__rep_profile__team_id": f.team})
    return q


def _names(user_ids: Iterable[int | None]) -> dict[int, str]:
    ids = {pk for pk in user_ids if pk is not None}
    users = get_user_model().objects.filter(pk__in=ids)
    return {u.pk: u.get_full_name() or u.get_username() for u in users}


_CURRENT: Any = object()


def agreement_in_force() -> Agreement | None:
    """The active agreement with its touch goals, commitments and rules (4 queries)."""
    return (
        Agreement.objects.filter(status=Agreement.Status.ACTIVE)
        .select_related("calendar")
        .prefetch_related("touch_goals", "commitments", "rules")
        .first()
    )


def untouched_thresholds(agreement: Any = _CURRENT) -> list[int]:
    """The untouched thresholds of the given agreement (default: the one in force)."""
    if agreement is _CURRENT:
        agreement = Agreement.current()
    return agreement_thresholds(agreement)


def _interpolate(
    rows: Iterable[tuple[Any, int, int, Any]], fractions: tuple[float, ...]
) -> dict[Any, list[Decimal | None]]:
    """Percentiles from the rows around each position: (group, row number, rows, value)."""
    by_group: dict[Any, dict[int, Decimal]] = defaultdict(dict)
    sizes: dict[Any, int] = {}
    for g, rn, n, v in rows:
        by_group[g][rn] = Decimal(v)
        sizes[g] = n
    result: dict[Any, list[Decimal | None]] = {}
    for g, values in by_group.items():
        n = sizes[g]
        out: list[Decimal | None] = []
        for fraction in fractions:
            pos = 1 + Decimal(str(fraction)) * (n - 1)
            low = int(pos)
            high = min(low + (1 if pos > low else 0), n)
            lo, hi = values.get(low), values.get(high)
            if lo is None or hi is None:
                out.append(None)
                continue
            out.append((lo + (pos - low) * (hi - lo)).quantize(Decimal("1"), ROUND_HALF_UP))
        result[g] = out
    return result


# --- Stage entries ---------------------------------------------------------------------


def _entered(stage: str | Iterable[str], start: dt.datetime, end: dt.datetime) -> Exists:
    stages = [stage] if isinstance(stage, str) else list(stage)
    return Exists(
        StageChange.objects.filter(
            lead=OuterRef("pk"), to_stage__in=stages, at__gte=start, at__lt=end
        )
    )


def _became_mql(qs: QuerySet, start: dt.datetime, end: dt.datetime) -> QuerySet:
    """Annotate `_mql` on a Lead queryset (which has `_entered_mql`): became an MQL in
    [start, end) — entered the stage, or was created as one (a hand-raise form, an MQL
    channel: its first stage change leaves MQL, or it has none and is still an MQL)."""
    first_from = (
        StageChange.objects.filter(lead=OuterRef("pk"))
        .order_by("at", "pk")
        .values("from_stage")[:1]
    )
    # Born an MQL: its first stage change leaves MQL, or it has none and is an MQL now
    # (one reference to the subquery, which Django would otherwise repeat).
    return qs.alias(
        _born_as=Coalesce(Subquery(first_from), F("stage"), output_field=CharField())
    ).annotate(
        _mql=ExpressionWrapper(
            Q(_entered_mql=True) | Q(created_at__gte=start, created_at__lt=end, _born_as=Stage.MQL),
            output_field=BooleanField(),
        )
    )


def _touched_in_range_ids(start: dt.datetime, end: dt.datetime, stages: Iterable[str]) -> QuerySet:
    return (
        StageChange.objects.filter(to_stage__in=list(stages), at__gte=start, at__lt=end)
        .order_by()
        .values("lead_id")
    )


def marketing_leads(f: ReportFilters, *, stages: Iterable[str] = ()) -> QuerySet:
    """Marketing-sourced leads with something in the range: created, or entering `stages`."""
    start, end = f.start, f.end
    in_range = Q(created_at__gte=start, created_at__lt=end)
    if stages:
        # One list of ids from both indexes (created_at; to_stage, at): as an OR of the two
        # conditions the database builds the stage-change list twice and rechecks rows.
        created = Lead.objects.filter(in_range).order_by().values("pk")
        in_range = Q(pk__in=created.union(_touched_in_range_ids(start, end, stages)))
    return (
        Lead.objects.filter(channel__is_marketing_sourced=True).filter(_lead_q(f)).filter(in_range)
    )


def _delivery_annotated(f: ReportFilters) -> QuerySet:
    start, end = f.start, f.end
    qs = marketing_leads(
        f, stages=[Stage.MQL, Stage.SQL, Stage.DISQUALIFIED, Stage.CONVERTED]
    ).annotate(
        _entered_mql=_entered(Stage.MQL, start, end),
        _entered_sql=_entered(Stage.SQL, start, end),
        _entered_dq=_entered(Stage.DISQUALIFIED, start, end),
        _closed_in=_entered(list(CLOSED_STAGES), start, end),
    )
    qs = qs.annotate(
        _closed=ExpressionWrapper(
            Q(stage__in=list(CLOSED_STAGES)) & Q(_closed_in=True), output_field=BooleanField()
        )
    )
    qs = _became_mql(qs, start, end)
    structured = Feedback.objects.filter(lead=OuterRef("pk"), reply_to__isnull=True).exclude(
        reason="", fit=""
    )
    return qs.annotate(
        _traceable=ExpressionWrapper(
            Q(stage=Stage.CONVERTED)
            | Q(Exists(Deal.objects.filter(lead=OuterRef("pk"))))
            | Q(Exists(structured)),
            output_field=BooleanField(),
        )
    )


DELIVERY_METRICS: dict[str, Q] = {
    "new_leads": Q(_new=True),
    "mqls": Q(_mql=True),
    "sales_accepted": Q(_entered_sql=True),
    "disqualified": Q(_entered_dq=True),
    "closed": Q(_closed=True),
    "traceable": Q(_closed=True, _traceable=True),
    "untraceable": Q(_closed=True, _traceable=False),
}


def _delivery_qs(f: ReportFilters) -> QuerySet:
    return _delivery_annotated(f).annotate(
        _new=ExpressionWrapper(
            Q(created_at__gte=f.start, created_at__lt=f.end), output_field=BooleanField()
        )
    )


def _marketing_sourced(column: str) -> str:
    """SQL: `column` is a marketing-sourced channel. The few channel ids are read once
    (Postgres: an array; SQLite: a list it indexes) instead of joined to every row."""
    ids = f"SELECT c.id FROM {_table(Channel)} c WHERE c.is_marketing_sourced"  # noqa: S608
    if connection.vendor == "postgresql":
        return f"{column} = ANY(ARRAY({ids}))"
    return f"{column} IN ({ids})"


def _first_in_range(f: ReportFilters) -> tuple[list[str], list[Any]]:
    """Conditions on delivery events `e`: of a marketing-sourced channel, in f's range and
    the first of its kind there (its previous one is before the range); with f's filters."""
    start, end = (connection.ops.adapt_datetimefield_value(d) for d in (f.start, f.end))
    where, params = _delivery_where(f)
    conditions = [
        _marketing_sourced("e.channel_id"),
        "e.at >= %s",
        "e.at < %s",
        "(e.prev_at IS NULL OR e.prev_at < %s)",
        *where,
    ]
    return conditions, [start, end, start, *params]


def _delivery_where(f: ReportFilters) -> tuple[list[str], list[Any]]:
    """The report filters as conditions on delivery events (reports.DeliveryEvent): the
    channel, campaign and persona copied on the event, the owner through its lead."""
    where, params = _dimension_where(f, "e")
    owner, owner_params = _owner_where(f)
    if owner:
        where.append(
            f"e.lead_id IN (SELECT l.id FROM leads_lead l WHERE {' AND '.join(owner)})"  # noqa: S608
        )
        params += owner_params
    return where, params


def _dimension_where(f: ReportFilters, alias: str) -> tuple[list[str], list[Any]]:
    """The channel, campaign and persona filters on a table aliased `alias`."""
    where, params = [], []
    for name in ("channel", "campaign", "persona"):
        value = getattr(f, name)
        if value is not None:
            where.append(f"{alias}.{name}_id = %s")
            params.append(value)
    return where, params


def _owner_where(f: ReportFilters) -> tuple[list[str], list[Any]]:
    """The rep and team filters on a lead aliased `l`."""
    where, params = [], []
    if f.rep is not None:
        where.append("l.owner_id = %s")
        params.append(f.rep)
    if f.team is not None:
        where.append(
            "l.owner_id IN (SELECT p.user_id FROM leads_repprofile p WHERE p.team_id = %s)"
        )
        params.append(f.team)
    return where, params


# Each figure as a condition on a row of delivery events (`_event_rows`: one event, or a
# tally of `n` events of one day and key; each event is a lead's first of its kind in the
# range, so a lead counts once). `closed` and `traceable` only go with the Closed kind:
# the tally has them for Closed events only.
DELIVERY_EVENT_FIGURES = {
    "new_leads": f"e.kind = {DeliveryEvent.Kind.CREATED}",
    "mqls": f"e.kind = {DeliveryEvent.Kind.MQL}",
    "sales_accepted": f"e.kind = {DeliveryEvent.Kind.SQL}",
    "disqualified": f"e.kind = {DeliveryEvent.Kind.DISQUALIFIED}",
    "closed": f"e.kind = {DeliveryEvent.Kind.CLOSED} AND e.closed",
    "traceable": f"e.kind = {DeliveryEvent.Kind.CLOSED} AND e.closed AND e.traceable",
    "untraceable": f"e.kind = {DeliveryEvent.Kind.CLOSED} AND e.closed AND NOT e.traceable",
}
assert list(DELIVERY_EVENT_FIGURES) == list(DELIVERY_METRICS)

DELIVERY_SECTIONS = {
    "total": None,
    "channel": "channel_id",
    "campaign": "campaign_id",
    "persona": "persona_id",
}


def _utc_days(moment: dt.datetime) -> tuple[dt.date, dt.date]:
    """The UTC day a moment falls in, and the first UTC day that starts at or after it."""
    utc = moment.astimezone(dt.UTC)
    day = utc.date()
    whole = utc.time() == dt.time(0)
    return day, day if whole else day + dt.timedelta(days=1)


def _event_rows(
    periods: list[ReportFilters], *, reasons: bool = False, tally: bool | None = None
) -> tuple[str, list[Any]]:
    """SQL (and its parameters) of the delivery events that count for each range, as rows
    (p: the range's index, kind, closed, traceable (read with the Closed kind only),
    channel_id, campaign_id, persona_id, reason, n: how many events, amount: their deals'
    amount): an event counts for the
    range it falls in when it is of a marketing-sourced channel and its previous event of
    the kind is before the range. The filters are the first range's (the others have the
    same).

    From the tally (reports.DeliveryTally) when no rep or team filter nor the reasons are
    asked for (`tally` forces either way): its rows for the whole UTC days of each range,
    and the events for the rest — the events with a previous one (a partial index) and
    those in a range's first and last partial day (none when the ranges start at UTC
    midnight). Otherwise one row per event from the events' `at` index."""
    f = periods[0]
    adapt = connection.ops.adapt_datetimefield_value
    bounds = [(p.start, p.end) for p in periods]
    exact = f.rep is None and f.team is None and not reasons
    if tally is None:
        tally = exact
    elif tally and not exact:
        raise ValueError("the tally has no owner and no reason: read the events")
    event = _table(DeliveryEvent)
    columns = "e.kind, e.closed, e.traceable, e.channel_id, e.campaign_id, e.persona_id"

    def counted(
        spans: list[tuple[int, dt.datetime, dt.datetime]], more: Iterable[str] = ()
    ) -> tuple[str, list[Any]]:
        """Rows of the events in `spans` ((range index, from, to)) that count for it."""
        where, params = _delivery_where(f)
        which = " ".join(f"WHEN e.at >= %s AND e.at < %s THEN {i}" for i, _, _ in spans)
        ranges = list(dict.fromkeys(i for i, _, _ in spans))
        starts = " ".join(f"WHEN {i} THEN %s" for i in ranges)
        conditions = " AND ".join(
            [_marketing_sourced("e.channel_id"), "e.at >= %s", "e.at < %s", *more, *where]
        )
        reason = "e.reason" if reasons else "NULL"
        sql = (
            f"SELECT p, {columns}, {reason} AS reason, 1 AS n, e.amount"  # noqa: S608
            f" FROM (SELECT e.*, CASE {which} END AS p FROM {event} e WHERE {conditions}) e"
            " WHERE p IS NOT NULL AND (e.prev_at IS NULL OR e.prev_at < CASE p"
            f" {starts} END)"
        )
        return sql, [
            *(adapt(d) for _, lo, hi in spans for d in (lo, hi)),
            adapt(min(lo for _, lo, _ in spans)),
            adapt(max(hi for _, _, hi in spans)),
            *params,
            *(adapt(bounds[i][0]) for i in ranges),
        ]

    spans = [(i, lo, hi) for i, (lo, hi) in enumerate(bounds)]
    if not tally:
        return counted(spans)

    parts, params = [], []
    # The events with a previous one of their kind: not in the tally.
    sql, more = counted(spans, ["e.prev_at IS NOT NULL"])
    parts.append(sql)
    params += more
    days, edges = [], []
    for i, (lo, hi) in enumerate(bounds):
        first = _utc_days(lo)[1]
        last = _utc_days(hi)[0]
        if first < last:
            days.append((i, first, last))
            inner_lo, inner_hi = (dt.datetime.combine(d, dt.time(0), dt.UTC) for d in (first, last))
            edges += [(i, lo, inner_lo), (i, inner_hi, hi)]
        else:
            edges.append((i, lo, hi))
    # The partial days at a range's ends, each read on its own through the index.
    for span in (s for s in edges if s[1] < s[2]):
        sql, more = counted([span], ["e.prev_at IS NULL"])
        parts.append(sql)
        params += more
    if days:
        where, more = _dimension_where(f, "t")
        which = " ".join(f"WHEN t.day >= %s AND t.day < %s THEN {i}" for i, _, _ in days)
        conditions = " AND ".join(
            [_marketing_sourced("t.channel_id"), "t.day >= %s", "t.day < %s", *where]
        )
        day = connection.ops.adapt_datefield_value
        parts.append(
            f"SELECT p, {columns.replace('e.', 't.')}, NULL, t.events, t.amount"  # noqa: S608
            f" FROM (SELECT t.*, CASE {which} END AS p FROM {_table(DeliveryTally)} t"
            f" WHERE {conditions}) t WHERE p IS NOT NULL"
        )
        params += [
            *(day(d) for _, a, b in days for d in (a, b)),
            day(min(a for _, a, _ in days)),
            day(max(b for _, _, b in days)),
            *more,
        ]
    return " UNION ALL ".join(parts), params


def _figure_sums(cast: bool = True) -> list[str]:
    """SQL: each delivery figure summed over event rows `e` (of `_event_rows`)."""
    sums = []
    for cond in DELIVERY_EVENT_FIGURES.values():
        total = f"SUM(CASE WHEN {cond} THEN e.n ELSE 0 END)"
        sums.append(f"CAST(COALESCE({total}, 0) AS BIGINT)" if cast else total)
    return sums


def _delivery_counts(
    f: ReportFilters,
    groups: dict[str, str | None] | None = None,
    *,
    reasons: bool = False,
    tally: bool | None = None,
) -> list[dict[str, Any]]:
    """The delivery figures per group of each section (`groups`: section → column, None
    for one row in total; default: the total only), and with `reasons` the
    disqualified leads per latest structured reason (section "reason", figure
    `disqualified`), in one statement over the rows of `_event_rows`. Each row also has
    `pipeline_amount`: the amount of the deals opened in the range.

    A lead counts for a figure when it has an event of the figure's kind in the range
    whose previous event of the kind is before the range (`_event_rows`: one row per event,
    or tallied per day). They are counted per (channel, campaign, persona, reason) once;
    the sections sum those few rows. The same definitions as `_delivery_qs` (the
    drill-downs), which the tests hold to the same figures."""
    groups = groups or {"total": None}
    source, params = _event_rows([f], reasons=reasons, tally=tally)
    names = list(DELIVERY_EVENT_FIGURES)
    counts = ", ".join(
        f"{total} AS {name}" for name, total in zip(names, _figure_sums(False), strict=True)
    )
    counts += f", SUM(CASE WHEN e.kind = {DeliveryEvent.Kind.DEAL} THEN e.amount END) AS pipeline"
    reason = f"CASE WHEN e.kind = {DeliveryEvent.Kind.DISQUALIFIED} THEN e.reason END"
    grouped = (
        f"SELECT e.channel_id, e.campaign_id, e.persona_id, {reason} AS r, {counts}"  # noqa: S608
        f" FROM ({source}) e"
        f" GROUP BY e.channel_id, e.campaign_id, e.persona_id, {reason}"
        # A key whose tallied events were all removed again (until the tally is compacted).
        " HAVING SUM(e.n) <> 0"
    )
    sums = ", ".join(f"CAST(COALESCE(SUM({n}), 0) AS BIGINT)" for n in names)
    sums += ", SUM(pipeline)"
    parts = [
        f"SELECT {_literal(section)}, {group or 'NULL'}, NULL, {sums} FROM g"  # noqa: S608
        + (f" GROUP BY {group}" if group else "")
        for section, group in groups.items()
    ]
    if reasons:
        zeros = ", ".join(
            "CAST(SUM(disqualified) AS BIGINT)" if k == "disqualified" else "0" for k in names
        )
        zeros += ", NULL"
        parts.append(
            f"SELECT 'reason', NULL, r, {zeros} FROM g GROUP BY r HAVING SUM(disqualified) > 0"  # noqa: S608
        )
    query = f"WITH g AS {_materialized()}({grouped}) {' UNION ALL '.join(parts)}"
    keys = ["section", "_g", "_reason", *DELIVERY_METRICS, "pipeline_amount"]
    rows = [dict(zip(keys, row, strict=True)) for row in _fetch(query, params)]
    for row in rows:
        row["pipeline_amount"] = _amount(row["pipeline_amount"])
        reason_value = row.pop("_reason")
        if row["section"] == "reason":
            row["_g"] = reason_value
    return rows


def _delivery_periods(
    periods: list[ReportFilters], *, tally: bool | None = None
) -> list[dict[str, Any]]:
    """The delivery totals (and pipeline) of each range, in one statement over the rows of
    `_event_rows` for all the ranges. The filters are the first range's."""
    source, params = _event_rows(periods, tally=tally)
    names = list(DELIVERY_EVENT_FIGURES)
    sql = (
        f"SELECT p, {', '.join(_figure_sums())},"  # noqa: S608
        f" SUM(CASE WHEN e.kind = {DeliveryEvent.Kind.DEAL} THEN e.amount END)"
        f" FROM ({source}) e GROUP BY p"
    )
    found = {row[0]: row[1:] for row in _fetch(sql, params)}
    rows = []
    for i in range(len(periods)):
        values = found.get(i, (0,) * len(names) + (None,))
        row = dict(zip(names, values[:-1], strict=True))
        row["pipeline_amount"] = _amount(values[-1])
        rows.append(row)
    return rows


def _delivery_rates(row: dict[str, Any]) -> dict[str, Any]:
    row["acceptance_rate"] = pct(row["sales_accepted"], row["mqls"])
    row["feedback_coverage"] = pct(row["traceable"], row["closed"])
    return row


# --- Commitments -------------------------------------------------------------------------


def _month_starts(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    day = start.replace(day=1)
    while day <= end:
        yield day
        day = (day + dt.timedelta(days=32)).replace(day=1)


def _period_of(day: dt.date, period: str) -> tuple[dt.date, dt.date]:
    first_month = day.month if period == "month" else 3 * ((day.month - 1) // 3) + 1
    start = day.replace(month=first_month, day=1)
    months = 1 if period == "month" else 3
    year, month = divmod(first_month - 1 + months, 12)
    return start, dt.date(day.year + year, month + 1, 1) - dt.timedelta(days=1)


def commitment_target(target: Decimal, period: str, start: dt.date, end: dt.date) -> Decimal:
    """A month's or quarter's target for the days [start, end]: whole periods count whole,
    parts count by their share of the period's days."""
    total = ZERO
    day = start
    while day <= end:
        p_start, p_end = _period_of(day, period)
        last = min(p_end, end)
        share = Decimal((last - day).days + 1) / Decimal((p_end - p_start).days + 1)
        total += Decimal(target) * share
        day = last + dt.timedelta(days=1)
    return total.quantize(CENT, ROUND_HALF_UP)


def active_commitment(agreement: Any = _CURRENT) -> MarketingCommitment | None:
    """The active agreement's monthly commitment (or its quarterly one)."""
    if agreement is _CURRENT:
        agreement = Agreement.current()
    if agreement is None:
        return None
    found = {c.period: c for c in agreement.commitments.all()}
    return found.get("month") or found.get("quarter")


COMMITMENT_FIGURES = (
    ("new_leads", "New leads"),
    ("mqls", "MQLs"),
    ("sales_accepted", "Sales-accepted leads (SQL)"),
    ("pipeline_amount", "Pipeline amount"),
    ("acceptance_rate", "Acceptance rate (%)"),
)


# --- 1. Sales activity ---------------------------------------------------------------
#
# The figures count over a *tenure table*: one row per assignment to a rep in the range,
# from the stored facts (reports.Tenure: the lead's next and previous assignment, its
# first sales touch and exit from the queue after it, the touches during it, the stages
# it reached, its first touches from Working, and the lead's own columns). Each figure
# is a plain condition on those columns, turned into a 0/1 per tenure once (`flags`).
#
# Figures count distinct leads. A lead with one tenure in the range is one row, so its
# flags add up as they are; only the leads with several (`multi`: one of them has its
# previous or next assignment in the range) are grouped per lead first.

TENURE_NEEDS = ("untouched", "touches", "reached", "goals")
REACHED_BITS = facts.REACHED_BITS  # stage → the bit the tenure's `reached` has for it
# The stored facts of each tenure (reports.models.Tenure, kept by reports/facts.py).
FACT_COLUMNS = facts.COLUMNS[3:]  # after assignment, lead and rep


@dataclass(frozen=True)
class Tenures:
    """The tenure table as SQL: a WITH clause that defines `tenure`, its parameters, and
    each figure's condition on the table's columns ("" counts every tenure)."""

    with_sql: str
    params: tuple[Any, ...]
    metrics: dict[str, str]
    needs: frozenset[str]

    def run(self, more: str, tail: str) -> list[tuple[Any, ...]]:
        """Rows of `tail` (a SELECT) under the WITH clause and `more` (its next CTEs)."""
        return _fetch(f"{self.with_sql}{more} {tail}", self.params)

    def lead_ids(self, metric: str) -> RawSQL:
        """The ids of the leads behind one figure, for `pk__in`."""
        where = self.metrics[metric]
        sql = f"{self.with_sql} SELECT lead_id FROM tenure" + (f" WHERE {where}" if where else "")  # noqa: S608
        return RawSQL(sql, self.params)  # noqa: S611


# Postgres: a report statement's sorts and hashes over the range's facts (a few hundred
# thousand rows at 1,000,000 leads) spilled to disk at the default 4 MB of work_mem. SET
# LOCAL sent in the same query string (one implicit transaction) raises it for that
# statement only (inside a transaction: until its end).
REPORT_WORK_MEM = "64MB"


def _fetch(sql: str, params: Iterable[Any]) -> list[tuple[Any, ...]]:
    """The rows of one report statement (with the report's work_mem on Postgres)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'; {sql}", list(params))
            cursor.nextset()
        else:
            cursor.execute(sql, list(params))
        return cursor.fetchall()


def _col(model: Any, field: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field).column)


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _literal(value: str) -> str:
    """A stage or status name as an SQL literal (they are plain lowercase words)."""
    if not re.fullmatch(r"[a-z_]+", value):
        raise ValueError(f"not a plain name: {value!r}")
    return f"'{value}'"


def _plus_days(column: str, days: int) -> str:
    """SQL for a datetime column plus whole days, native on both databases (SQLite's
    generic datetime arithmetic calls back into Python for every row)."""
    days = int(days)
    if connection.vendor == "sqlite":
        # Stored as UTC text "YYYY-MM-DD HH:MM:SS[.ffffff]": shift the whole seconds,
        # keep the fraction, so the result compares exactly like the stored values.
        return (
            f"(strftime('%%Y-%%m-%%d %%H:%%M:%%S', substr({column}, 1, 19), '+{days} days')"
            f" || substr({column}, 20))"
        )
    # In hours: a fixed length added as is (days make Postgres convert to local time for
    # every row); the same in the UTC sessions Django opens.
    return f"({column} + INTERVAL '{days * 24} hours')"


def _materialized() -> str:
    """Evaluate each CTE once (Postgres inlines a CTE used once; so may SQLite)."""
    if connection.vendor == "sqlite" and connection.Database.sqlite_version_info < (3, 35):
        return ""
    return "MATERIALIZED "


def _goal_hit(goal: TouchGoal, working: str) -> str:
    """SQL: the held lead made the goal's touches within its days of `working`."""
    if goal.touches <= 0:
        return "1 = 1"
    end = _plus_days(working, goal.within_days)
    if goal.touches <= facts.WORKING_TOUCHES:
        nth = f"b.working_touch_{int(goal.touches)}_at"
        return f"{nth} IS NOT NULL AND {nth} < {end}"
    # More touches than the facts keep: count them.
    activity, touch_at = _table(Activity), _col(Activity, "occurred_at")
    return (
        f"(SELECT COUNT(*) FROM {activity} x WHERE x.{_col(Activity, 'lead')} = b.lead_id"  # noqa: S608
        f" AND x.{_col(Activity, 'is_touch')} AND x.{touch_at} >= {working}"
        f" AND x.{touch_at} < {end}) >= {int(goal.touches)}"
    )


def _tenures(
    f: ReportFilters,
    now: dt.datetime,
    agreement: Any = _CURRENT,
    *,
    needs: Iterable[str] = TENURE_NEEDS,
    thresholds: list[int] | None = None,
    periods: list[ReportFilters] | None = None,
) -> Tenures:
    """Assignments to reps in the range as a tenure table with the columns `needs` asks
    for: "untouched" (the first touch and exit after the assignment), "touches" (during
    the tenure), "reached" (stages, for the lead's current holder), "goals" (whether the
    touch goal was reached in its window from Working). With `periods` (ranges with f's
    other filters): the assignments of all of them, with a column `period` (the index of
    the range the assignment falls in)."""
    needs = set(needs)
    if agreement is _CURRENT:
        agreement = agreement_in_force()
    if thresholds is None:
        thresholds = untouched_thresholds(agreement)
    goals = _touch_goals(agreement) if "goals" in needs else []
    now_param = connection.ops.adapt_datetimefield_value(now)
    start = min(p.start for p in periods) if periods else f.start
    end = max(p.end for p in periods) if periods else f.end
    # The lead's channel, campaign and persona are columns of the tenure (no join).
    started = F("started_at")
    if connection.vendor == "sqlite":
        # SQLite (no statistics) would read the range through the started_at index, one
        # table lookup per tenure (~1 s for 500,000); a scan of the whole table costs
        # ~0.1 s per 1,000,000. "+" (a no-op) keeps the index out.
        started = Func(started, template="+%(expressions)s", output_field=DateTimeField())
    base = (
        Tenure.objects.annotate(_started=started)
        .filter(rep__isnull=False, _started__gte=start, _started__lt=end)
        .filter(_lead_q(f, owner=False))
    )
    if f.rep is not None:
        base = base.filter(rep_id=f.rep)
    if f.team is not None:
        base = base.filter(rep__rep_profile__team_id=f.team)
    base = (
        base.annotate(_team=F("rep__rep_profile__team_id"))
        .order_by()
        .values_list("lead_id", "rep_id", "_team", *FACT_COLUMNS)
    )
    base_sql, base_params = base.query.sql_with_params()
    range_params = [connection.ops.adapt_datetimefield_value(d) for d in (start, end)]
    params: list[Any] = [*base_params, now_param, *range_params]

    columns = [
        "b.lead_id",
        "b.rep",
        "b.team",
        "b.started_at",
        "b.next_at",
        "COALESCE(b.next_at, %s) AS held_until",
        # The lead has another tenure in the range (its figures are grouped per lead).
        "CASE WHEN b.prev_at >= %s OR b.next_at < %s THEN 1 ELSE 0 END AS multi",
        *(f"b.{name}" for name in facts.LEAD_COPY),
    ]
    if periods:
        which = " ".join(
            f"WHEN b.started_at >= %s AND b.started_at < %s THEN {i}" for i in range(len(periods))
        )
        columns.append(f"CASE {which} END AS period")
        for p in periods:
            params += [connection.ops.adapt_datetimefield_value(d) for d in (p.start, p.end)]
    metrics: dict[str, str] = {"assigned": ""}
    if "untouched" in needs and thresholds:
        columns += [
            f"{_plus_days('b.started_at', days)} AS after_{i}"
            for i, days in enumerate(thresholds, start=1)
        ]
        columns += ["b.touched_at", "b.left_at"]
        for i in range(1, len(thresholds) + 1):
            # Held N days with no sales touch, still open and out of nurture.
            metrics[f"untouched_{i}"] = (
                f"held_until >= after_{i} AND (touched_at IS NULL OR touched_at >= after_{i})"
                f" AND (left_at IS NULL OR left_at >= after_{i})"
            )
    first_touched = "first_touch_at >= started_at AND first_touch_at < held_until"
    metrics["first_touched"] = first_touched
    metrics["sla_met"] = f"{first_touched} AND sla_status = {_literal(Lead.SLAStatus.MET)}"
    metrics["sla_breached"] = (
        f"sla_status = {_literal(Lead.SLAStatus.BREACHED)}"
        " AND sla_due_at >= started_at AND sla_due_at < held_until"
    )
    held = "next_at IS NULL"
    metrics["held"] = held
    for stage in FUNNEL_STAGES:
        metrics[f"stage_{stage}"] = f"{held} AND stage = {_literal(stage)}"
    if "reached" in needs:
        columns.append("CASE WHEN b.next_at IS NULL THEN b.reached END AS reached")
        for stage, bit in REACHED_BITS.items():
            metrics[f"reached_{stage}"] = f"{held} AND (reached & {bit}) <> 0"
    metrics["won"] = f"{held} AND stage = {_literal(Stage.CONVERTED)}"
    if "touches" in needs:
        columns.append("b.touches")
    if goals:
        working = "(CASE WHEN b.next_at IS NULL THEN b.working_at END)"
        columns.append(f"{working} AS working_at")
        specific = [g.channel_id for g in goals if g.channel_id is not None]
        eligible, reached = [], []
        for g in goals:
            hit = _goal_hit(g, working)
            columns.append(
                f"CASE WHEN {working} IS NOT NULL AND {hit} THEN 1 ELSE 0 END AS goal_hit_{g.pk}"
            )
            end_sql = _plus_days(working, g.within_days)
            columns.append(f"CASE WHEN {end_sql} <= %s THEN 1 ELSE 0 END AS goal_over_{g.pk}")
            params.append(now_param)
            if g.channel_id is not None:
                scope = f"channel_id = {int(g.channel_id)}"
            elif specific:
                others = ", ".join(str(int(pk)) for pk in specific)
                scope = f"(channel_id IS NULL OR channel_id NOT IN ({others}))"
            else:
                scope = "1 = 1"
            reached.append(f"({scope} AND goal_hit_{g.pk} = 1)")
            eligible.append(f"({scope} AND (goal_hit_{g.pk} = 1 OR goal_over_{g.pk} = 1))")
        started = f"{held} AND working_at IS NOT NULL"
        metrics["goal_eligible"] = f"{started} AND ({' OR '.join(eligible)})"
        metrics["goal_reached"] = f"{started} AND ({' OR '.join(reached)})"
    with_sql = (
        f"WITH tenure_base (lead_id, rep, team, {', '.join(FACT_COLUMNS)}) AS ({base_sql}),"  # noqa: S608
        # Read in place by each use (Postgres would store a CTE used twice first).
        f" tenure AS {'NOT ' if _materialized() else ''}{_materialized()}"
        f"(SELECT {', '.join(columns)} FROM tenure_base b)"
    )
    return Tenures(with_sql, tuple(params), metrics, frozenset(needs))


def _touch_goals(agreement: Agreement | None) -> list[TouchGoal]:
    return list(agreement.touch_goals.all()) if agreement is not None else []


def _needs_of(metric: str) -> tuple[str, ...]:
    """The tenure columns one figure needs (a drill-down computes only those)."""
    for prefix, need in (("untouched_", "untouched"), ("reached_", "reached"), ("goal_", "goals")):
        if metric.startswith(prefix):
            return (need,)
    return ()


SALES_GROUPS = {"rep": "rep", "team": "team", "total": None}


def _sales_counts(
    tenures: Tenures,
    groups: dict[str, str | None],
    keys: Iterable[str] | None = None,
    *,
    ttft: bool = False,
) -> list[dict[str, Any]]:
    """Each figure (distinct leads) and the touches per group of each section (`groups`:
    section → tenure column, None: one row for all), in one statement over the table;
    with `ttft` also the rows `_ttft_percentiles` reads (sections "ttft_<section>")."""
    keys = list(tenures.metrics if keys is None else keys)
    flags = [
        f"CASE WHEN {tenures.metrics[k]} THEN 1 ELSE 0 END" if tenures.metrics[k] else "1"
        for k in keys
    ]
    names = [f"m{i}" for i in range(len(keys))]
    # A group's figure: its single-tenure leads' flags summed, plus 1 per other lead
    # with the flag on any of its tenures in the group.
    totals = [
        f"CAST(COALESCE(SUM(CASE WHEN ml IS NULL THEN {n} WHEN {n} > 0 THEN 1 ELSE 0 END), 0)"
        " AS BIGINT)"
        for n in names
    ]
    if "touches" in tenures.needs:
        flags.append("touches")
        names.append("touches")
        totals.append("CAST(COALESCE(SUM(touches), 0) AS BIGINT)")
        keys.append("touches")
    by = [g for g in dict.fromkeys(groups.values()) if g]
    m = _materialized()
    sums = ", ".join(f"SUM({flag}) AS {name}" for flag, name in zip(flags, names, strict=True))
    resums = ", ".join(f"SUM({name}) AS {name}" for name in names)
    # One grouping of the tenures by every section's columns and, for the leads with
    # several tenures in the range (`multi`), by lead too (`ml`; NULL for the others).
    ml = "CASE WHEN multi = 1 THEN lead_id END"
    more = (
        f", grouped AS {m}(SELECT {', '.join([*by, f'{ml} AS ml', sums])}"  # noqa: S608
        f" FROM tenure GROUP BY {', '.join([*by, ml])})"
    )
    parts = []
    for i, (section, group) in enumerate(groups.items()):
        parts.append(
            f"SELECT {_literal(section)}, {'g' if group else 'NULL'}, {', '.join(totals)}"  # noqa: S608
            f" FROM (SELECT {group or 'NULL'} AS g, ml, {resums} FROM grouped"
            f" GROUP BY {f'{group}, ' if group else ''}ml) d{i}" + (" GROUP BY g" if group else "")
        )
    tail = " UNION ALL ".join(parts)
    if ttft:
        # The percentiles' rows in the same statement, as (section "ttft_…", group, row
        # number, rows, value, 0, …): the tenures with the lead's first touch, once.
        more += (
            f", tt AS {m}(SELECT {', '.join([*by, 'ttft AS v'])} FROM tenure"  # noqa: S608
            f" WHERE {tenures.metrics['first_touched']} AND ttft IS NOT NULL)"
        )
        padding = "".join(", 0" for _ in names[3:])
        tail += f" UNION ALL SELECT 'ttft_' || section, g, rn, n, v{padding} FROM ({_ttft_tail(groups)}) tt"  # noqa: S608, E501
    return [
        dict(zip(["section", "_g", *keys], row, strict=True)) for row in tenures.run(more, tail)
    ]


def _ttft_percentiles(
    rows: Iterable[tuple[Any, ...]], fractions: tuple[float, ...] = (0.5, 0.9)
) -> dict[tuple[str, Any], list[Decimal | None]]:
    """Median and p90 business time to first touch of the tenures with their lead's first
    touch, per (section, group) (Postgres' percentile_cont, rounded to whole units; a section
    without a group has the key 0), from the rows of `_ttft_tail`: (section, group, row
    number, rows, value)."""
    return _interpolate((((s, g), rn, n, v) for s, g, rn, n, v in rows), fractions)


def _ttft_tail(groups: dict[str, str | None], fractions: tuple[float, ...] = (0.5, 0.9)) -> str:
    """A SELECT over `tt` of the rows around each percentile's position (`v`: the
    business time to first touch of the tenure that has the lead's first touch)."""
    # Position of fraction p (1-based): 1 + p(n-1). With p = k/10 and integers only:
    # 10·rn is within 10 of 10 + k(n-1) exactly for the floor and ceiling rows.
    near = " OR ".join(f"ABS(rn * 10 - (n - 1) * {round(p * 10)} - 10) < 10" for p in fractions)
    ranked = []
    for section, group in groups.items():
        over = f"PARTITION BY {group}" if group else ""
        ranked.append(
            f"SELECT section, g, rn, n, v FROM (SELECT {_literal(section)} AS section,"  # noqa: S608
            f" {group or '0'} AS g,"
            f" v, ROW_NUMBER() OVER ({over} ORDER BY v) AS rn,"
            # The same window as the row number's (one sort for both).
            f" COUNT(*) OVER ({over} ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING"
            f" AND UNBOUNDED FOLLOWING) AS n FROM tt) r{len(ranked)}"
            f" WHERE {near}"
        )
    return " UNION ALL ".join(ranked)


def sales_activity(f: ReportFilters, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Per rep, per team and in total: leads assigned in the range, untouched after each
    threshold, time to first touch (median and p90, business seconds), SLA met share,
    touches per lead and touch goal, current stages and the Working→SQL→Opportunity→Won
    conversion. One row per group; `section` is rep, team or total."""
    now = now or timezone.now()
    agreement = agreement_in_force()
    tenures = _tenures(f, now, agreement)
    thresholds = untouched_thresholds(agreement)
    found = _sales_counts(tenures, SALES_GROUPS, ttft=True)
    # A percentile row carries (row number, rows, value) in the first three figures.
    ttft = _ttft_percentiles(
        (r["section"][5:], r["_g"], *list(r.values())[2:5])
        for r in found
        if r["section"].startswith("ttft_")
    )
    rows: list[dict[str, Any]] = []
    for row in (r for r in found if not r["section"].startswith("ttft_")):
        g = row.pop("_g")
        median, p90 = ttft.get(
            (row["section"], g if SALES_GROUPS[row["section"]] else 0), [None, None]
        )
        row.update(key=g, ttft_median=median, ttft_p90=p90)
        rows.append(row)

    names = _names(r["key"] for r in rows if r["section"] == "rep")
    teams = dict(Team.objects.values_list("pk", "name"))
    for row in rows:
        if row["section"] == "rep":
            row["label"] = names.get(row["key"], "?")
        elif row["section"] == "team":
            row["label"] = teams.get(row["key"], "No team")
        else:
            row["label"] = "All"
        _sales_rates(row, thresholds)
    order = {"rep": 1, "team": 0, "total": 2}
    rows.sort(key=lambda r: (order[r["section"]], r["label"]))
    if rows and rows[-1]["section"] == "total" and rows[-1]["assigned"] == 0:
        rows[-1]["label"] = "All (no leads assigned in this range)"
    return rows


def _sales_rates(row: dict[str, Any], thresholds: list[int]) -> None:
    for i, days in enumerate(thresholds, start=1):
        row[f"untouched_{i}_days"] = days
    row["sla_decided"] = row["sla_met"] + row["sla_breached"]
    row["sla_met_share"] = pct(row["sla_met"], row["sla_decided"])
    row["touches_per_lead"] = ratio(row["touches"], row["assigned"])
    row["reassigned"] = row["assigned"] - row["held"]
    if "goal_reached" in row:
        row["goal_share"] = pct(row["goal_reached"], row["goal_eligible"])
    else:
        row["goal_reached"] = row["goal_eligible"] = 0
        row["goal_share"] = None
    row["working_to_sql"] = pct(row["reached_sql"], row["reached_working"])
    row["sql_to_opportunity"] = pct(row["reached_opportunity"], row["reached_sql"])
    row["opportunity_to_won"] = pct(row["won"], row["reached_opportunity"])


# --- 2. Marketing delivery ------------------------------------------------------------


# --- 3. Pipeline and contribution ---------------------------------------------------


# --- 4. SLA scoreboard ----------------------------------------------------------------


SCOREBOARD_PERIODS = 4


def sla_scoreboard(f: ReportFilters, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Both sides' commitments next to what happened, for the range and the three ranges
    of the same shape before it. One row per commitment; `p0_*` is the chosen range."""
    now = now or timezone.now()
    periods = [f]
    for _ in range(SCOREBOARD_PERIODS - 1):
        periods.append(periods[-1].previous())
    agreement = agreement_in_force()
    commitment = active_commitment(agreement)
    thresholds = untouched_thresholds(agreement)
    goals = _touch_goals(agreement)
    rules = list(agreement.rules.all()) if agreement is not None else []
    rows: dict[str, dict[str, Any]] = {}

    def row(key: str, side: str, label: str, promise: str) -> dict[str, Any]:
        return rows.setdefault(
            key, {"section": side, "key": key, "label": label, "promise": promise}
        )

    delivered = _delivery_periods(periods)
    tenures = _tenures(
        f, now, agreement, needs=("untouched", "goals"), thresholds=thresholds[:1], periods=periods
    )
    keys = ["sla_met", "sla_breached", "untouched_1", "goal_reached", "goal_eligible"]
    keys = [k for k in keys if k in tenures.metrics]
    sales = {r["_g"]: r for r in _sales_counts(tenures, {"period": "period"}, keys)}
    for i, p in enumerate(periods):
        counts = _delivery_rates(delivered[i])
        for key, label in COMMITMENT_FIGURES:
            if commitment is None:
                target = None
            elif key == "acceptance_rate":
                target = Decimal(commitment.min_acceptance_rate)
            else:
                target = commitment_target(
                    getattr(commitment, key), commitment.period, p.start_day, p.end_day
                )
            r = row(key, "marketing", label, "at least the target")
            actual = counts[key]
            r[f"p{i}_label"] = p.label()
            r[f"p{i}_target"] = target
            r[f"p{i}_actual"] = actual
            r[f"p{i}_kept"] = None if target is None or actual is None else actual >= target
        feedback = row(
            "feedback_coverage", "marketing", "Feedback coverage (%)", "every closed lead"
        )
        feedback[f"p{i}_label"] = p.label()
        feedback[f"p{i}_target"] = Decimal(100)
        feedback[f"p{i}_actual"] = counts["feedback_coverage"]
        feedback[f"p{i}_kept"] = (
            None if counts["feedback_coverage"] is None else counts["feedback_coverage"] >= 100
        )
        s = sales.get(i) or dict.fromkeys(["sla_met", "sla_breached", "untouched_1"], 0)
        s.setdefault("goal_reached", 0)
        s.setdefault("goal_eligible", 0)
        s["sla_met_share"] = pct(s["sla_met"], s["sla_met"] + s["sla_breached"])
        s["goal_share"] = pct(s["goal_reached"], s["goal_eligible"]) if goals else None
        promise = "; ".join(r.within_text + f" ({r.get_stage_display()})" for r in rules[:3])
        r = row("sla_met_share", "sales", "First touch within the SLA (%)", promise or "—")
        r[f"p{i}_label"] = p.label()
        r[f"p{i}_target"] = Decimal(100)
        r[f"p{i}_actual"] = s["sla_met_share"]
        r[f"p{i}_kept"] = None if s["sla_met_share"] is None else s["sla_met_share"] >= 100
        r = row(
            "untouched_1",
            "sales",
            f"Leads untouched after {thresholds[0]} days",
            "none",
        )
        r[f"p{i}_label"] = p.label()
        r[f"p{i}_target"] = Decimal(0)
        r[f"p{i}_actual"] = s["untouched_1"]
        r[f"p{i}_kept"] = s["untouched_1"] == 0
        goal_text = ", ".join(f"{g.touches} touches in {g.within_days} days" for g in goals[:2])
        r = row("goal_share", "sales", "Leads that reached the touch goal (%)", goal_text or "—")
        r[f"p{i}_label"] = p.label()
        r[f"p{i}_target"] = Decimal(100) if goals else None
        r[f"p{i}_actual"] = s["goal_share"]
        r[f"p{i}_kept"] = None if s["goal_share"] is None else s["goal_share"] >= 100
    order = [
        *[k for k, _ in COMMITMENT_FIGURES],
        "feedback_coverage",
        "sla_met_share",
        "untouched_1",
        "goal_share",
    ]
    return [rows[k] for k in order if k in rows]


# --- 5. The 1:1 report ----------------------------------------------------------------


def _amount(value: Any) -> Decimal:
    return money(Decimal(str(value)) if isinstance(value, float) else value)


# --- 6. Trends (daily snapshots) -----------------------------------------------------


def trends(f: ReportFilters, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The daily snapshots in the range, one row per day: leads per stage, SLA met that
    day, untouched aging buckets; and marketing's commitment pace (the SLA engine's
    pacing snapshots). Snapshots are kept per team, rep, channel, campaign and persona;
    the most specific filter chosen picks which. Sections: day, pace."""
    dimension, key = ReportSnapshot.dimension_for(f)
    snaps = (
        ReportSnapshot.objects.filter(
            date__gte=f.start_day, date__lte=f.end_day, dimension=dimension, key=key
        )
        .order_by("date")
        .values("date", "metric", "value")
    )
    days: dict[dt.date, dict[str, Any]] = {}
    for s in snaps:
        day = days.setdefault(s["date"], {"section": "day", "key": s["date"], "label": s["date"]})
        day[s["metric"]] = s["value"]
    rows = []
    thresholds = untouched_thresholds() if days else []
    for day in days.values():
        for metric in ReportSnapshot.METRICS:
            day.setdefault(metric, 0)
        for i, threshold in enumerate(thresholds, start=1):
            day[f"untouched_{i}_days"] = threshold
        day["sla_met_share"] = pct(day["sla_met"], day["sla_met"] + day["sla_breached"])
        rows.append(day)
    pace = (
        PacingSnapshot.objects.filter(date__gte=f.start_day, date__lte=f.end_day, figure="mqls")
        .order_by("date", "period")
        .values("date", "period", "target", "delivered", "expected_by_now")
    )
    seen = set()
    for p in pace:
        if p["date"] in seen:
            continue  # one period per day: the month's if there is one (sorted first)
        seen.add(p["date"])
        rows.append(
            {
                "section": "pace",
                "key": p["date"],
                "label": p["date"],
                "period": p["period"],
                "target": p["target"],
                "delivered": p["delivered"],
                "expected_by_now": p["expected_by_now"],
                "pace": pct(p["delivered"], p["expected_by_now"]),
            }
        )
    return rows


# --- Drill-down ----------------------------------------------------------------------


def drilldown_leads(
    report: str, metric: str, f: ReportFilters, now: dt.datetime | None = None
) -> QuerySet:
    """The leads behind one number: the same conditions the report counted them with.

    The row is given by the filters themselves (a rep row sets `rep`, a team row
    `team`, a channel row `channel`, …). Unknown metrics answer no leads.
    """
    now = now or timezone.now()
    if report == "sales":
        tenures = _tenures(f, now, needs=_needs_of(metric))
        if metric not in tenures.metrics:
            return Lead.objects.none()
        return Lead.objects.filter(pk__in=tenures.lead_ids(metric))
    if report == "scoreboard":
        if metric == "pipeline_amount":
            return Lead.objects.filter(
                pk__in=Deal.objects.filter(
                    opened_at__gte=f.start,
                    opened_at__lt=f.end,
                    lead__channel__is_marketing_sourced=True,
                )
                .filter(_lead_q(f, "lead__"))
                .values("lead_id")
            )
        if metric.startswith("reason:"):
            reason = metric.split(":", 1)[1]
            qs = _delivery_qs(f).filter(_entered_dq=True)
            latest = (
                Feedback.objects.filter(lead=OuterRef("pk"), reply_to__isnull=True)
                .exclude(reason="")
                .order_by("-created_at", "-pk")
                .values("reason")[:1]
            )
            qs = qs.annotate(_reason=Subquery(latest))
            qs = qs.filter(_reason__isnull=True) if reason == "none" else qs.filter(_reason=reason)
            return Lead.objects.filter(pk__in=qs.values("pk"))
        if metric in DELIVERY_METRICS:
            qs = _delivery_qs(f).filter(DELIVERY_METRICS[metric])
            return Lead.objects.filter(pk__in=qs.values("pk"))
        return drilldown_leads("sales", metric, f, now)
    return Lead.objects.none()


def drilldown_page(leads: QuerySet, limit: int = 200) -> list[Lead]:
    """The first leads of a drill-down, with what the list shows, in two queries."""
    return list(
        leads.select_related("owner", "channel", "campaign", "persona").order_by(
            "-created_at", "-pk"
        )[:limit]
    )


def latest_activity_at() -> dt.datetime | None:
    return Activity.objects.aggregate(m=Max("occurred_at"))["m"]
