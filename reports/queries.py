"""Report figures, one function each: pages, exports, snapshots and tests call the same one.

Every figure is aggregated by the database (annotate/aggregate, conditional counts,
correlated subqueries and window functions); no function loads the rows of a big
table into Python. Each report returns plain rows (dicts) with a `section` key; a
drill-down (`drilldown_leads`) turns a (report, metric, row) back into the leads
behind the number, from the same conditions the number was counted with. Where Django
would repeat a subquery inside every figure that uses it (the marketing delivery's
flags), each row's lookups are made once, as columns of a materialized CTE, and the
figures are conditions on those columns. The sales activity report, the SLA scoreboard
and the trends count the ledger (reports.sales, reports.scoreboard, reports.trends).

Definitions (the words the pages and the tests use):

- **Marketing delivery** (no report reads it any more: the marketing reports and the
  SLA scoreboard count the ledger, reports.figures.marketing) counts leads from
  marketing-sourced channels: created in the range; MQLs (entered MQL in the range,
  or were created as MQLs in it); sales-accepted (entered SQL in the range).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    CharField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from agreements.models import Agreement, Channel, MarketingCommitment
from agreements.stages import CLOSED_STAGES, Stage
from leads.models import Activity, Deal, Feedback, Lead, StageChange

from .filters import ReportFilters
from .models import DeliveryEvent, DeliveryTally

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


_CURRENT: Any = object()


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


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _literal(value: str) -> str:
    """A stage or status name as an SQL literal (they are plain lowercase words)."""
    if not re.fullmatch(r"[a-z_]+", value):
        raise ValueError(f"not a plain name: {value!r}")
    return f"'{value}'"


def _materialized() -> str:
    """Evaluate each CTE once (Postgres inlines a CTE used once; so may SQLite)."""
    if connection.vendor == "sqlite" and connection.Database.sqlite_version_info < (3, 35):
        return ""
    return "MATERIALIZED "


# --- 2. Marketing delivery ------------------------------------------------------------


# --- 3. Pipeline and contribution ---------------------------------------------------


# --- 5. The 1:1 report ----------------------------------------------------------------


def _amount(value: Any) -> Decimal:
    return money(Decimal(str(value)) if isinstance(value, float) else value)


# --- Drill-down ----------------------------------------------------------------------


def drilldown_leads(
    report: str, metric: str, f: ReportFilters, now: dt.datetime | None = None
) -> QuerySet:
    """The leads behind one number: the same conditions the report counted them with.

    The row is given by the filters themselves (a rep row sets `rep`, a team row
    `team`, a channel row `channel`, …). Unknown metrics answer no leads.
    """
    now = now or timezone.now()
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
