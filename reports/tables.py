"""What each report shows: its sections, their columns and charts, who may open it.

The page and the exports read the same rows (each report's module, over the figures of
reports.figures) through the same column definitions, so a number looks the same on
screen and in the file: `display` formats it for the page, `export_value` gives the
spreadsheet its number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import QuerySet

from agreements import roles
from agreements.stages import Stage
from config.money import money
from leads.models import Lead

from . import sales, scoreboard, trends
from .delivery import FIGURES as DELIVERY_FIGURES
from .delivery import marketing_delivery
from .figures.base import CURRENCY, Figure, Shown
from .figures.marketing import ONE_ON_ONE_FIGURES
from .filters import ReportFilters
from .one_on_one import one_on_one
from .pipeline import FIGURES as PIPELINE_FIGURES
from .pipeline import pipeline_contribution

MANAGERS = (roles.SALES_MANAGER, roles.OPS)


# The unit of each row of a figure column (the commitment and the scoreboard list figures
# of different units, one a row); a row not named here is a count of leads.
ROW_UNITS = {
    "pipeline_amount": "money",
    "acceptance_rate": "pct",
    "feedback_coverage": "pct",
    "sla_met_share": "pct",
    "goal_share": "pct",
}


@dataclass(frozen=True)
class Measure:
    """A value of a figure column with the unit of its row: "count", "money" or "pct"."""

    value: Any
    unit: str

    @property
    def kind(self) -> str:
        """How the value is shown: a rate ("n of m") is shown as one whatever its row."""
        return "rate" if isinstance(self.value, Shown) else self.unit


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    # text, int, number (a count with decimals), pct, rate (n of m), money, ratio, hours,
    # date, bool; "figure": each row's own unit (ROW_UNITS), its value a Measure.
    kind: str = "int"
    drill: str | None = None  # the drill-down metric; "=key" drills the row's own key
    # On the page: the heading over a run of columns of the same group, the column's
    # heading under it (the label stays whole in files and drill-down titles), and
    # whether it is a detail, shown when the reader asks for every column.
    group: str = ""
    short: str = ""
    detail: bool = False

    def value(self, row: dict[str, Any]) -> Any:
        value = row.get(self.key)
        if self.kind == "figure" and value is not None:
            return Measure(value, ROW_UNITS.get(str(row.get("key")), "count"))
        return value

    @property
    def heading(self) -> str:
        """The column's heading on the page."""
        return self.short or self.label


@dataclass(frozen=True)
class Chart:
    """A chart drawn from a section's rows: one dataset per column, one label per row."""

    title: str
    type: str
    columns: tuple[str, ...]
    horizontal: bool = False
    stacked: bool = False


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    columns: tuple[Column, ...]
    chart: Chart | None = None
    # How a row of this section narrows the drill-down filters (e.g. "rep": rep=row key).
    row_filter: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Report:
    key: str
    title: str
    summary: str
    query: Callable[..., list[dict[str, Any]]]
    roles: tuple[str, ...]
    sections: tuple[Section, ...] = field(default_factory=tuple)
    sections_for: Callable[[list[dict[str, Any]]], tuple[Section, ...]] | None = None
    # The report's linked numbers by drill metric: each lists exactly what it counts.
    figures: Mapping[str, Figure] = field(default_factory=dict)
    # False for a report that reads only small tables (daily snapshots, the content
    # library): it is worked out at once instead of waiting for a turn behind the reports
    # that count the ledger (reports.views._in_turn).
    takes_turns: bool = True

    def drilldown(self, metric: str, f: ReportFilters, now: dt.datetime) -> QuerySet[Lead]:
        """The leads behind one linked number of this report."""
        figure = self.figures.get(metric)
        if figure is None:
            return Lead.objects.none()
        return figure.leads(f, now)

    def sections_of(self, rows: list[dict[str, Any]]) -> tuple[Section, ...]:
        return self.sections_for(rows) if self.sections_for else self.sections


# --- Formatting (one place for page and export) ----------------------------------------


def hours(seconds: Any) -> Decimal | None:
    """Seconds as hours to two decimals, the unit every time figure is shown in."""
    if seconds is None:
        return None
    return (Decimal(str(seconds)) / 3600).quantize(Decimal("0.01"), ROUND_HALF_UP)


def number(value: Any) -> str:
    """A number as people read it: thousands separated, at most two decimals, none when
    it is whole ("25,000", "12.5")."""
    amount = Decimal(str(value))
    if amount == amount.to_integral_value():
        return f"{amount:,.0f}"
    return f"{amount.quantize(Decimal('0.01'), ROUND_HALF_UP):,.2f}".rstrip("0")


def display(value: Any, kind: str) -> str:
    """The text a page shows for a value."""
    if isinstance(value, Measure):
        return display(value.value, value.kind)
    if value is None:
        return "—"
    if kind == "pct":
        return f"{value} %"
    if kind == "rate":
        return str(value)  # a figures.base.Shown: "12 of 40 (30.0 %)"
    if kind == "money":
        return money(value)
    if kind in ("number", "count"):
        return number(value)
    if kind == "hours":
        return f"{hours(value)} h"
    if kind == "bool":
        return "yes" if value else "no"
    if kind == "date" and isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def export_value(value: Any, kind: str) -> Any:
    """The value a spreadsheet cell gets: numbers stay numbers, empty stays empty."""
    if isinstance(value, Measure):
        return export_value(value.value, value.kind)
    if value is None:
        return ""
    if kind == "hours":
        return hours(value)
    if kind == "rate":
        return "" if value.percent is None else value.percent
    if kind == "bool":
        return "yes" if value else "no"
    if kind == "date" and isinstance(value, dt.date):
        return value.isoformat()
    if kind in ("int",) and isinstance(value, int | Decimal):
        # A count of clocks or touches is a number in a file (the page adds its leads).
        return int(value) if isinstance(value, int) else value
    if isinstance(value, Decimal | int | float):
        return value
    return str(value)


# --- Sales activity --------------------------------------------------------------------


def _thresholds(rows: list[dict[str, Any]]) -> list[int]:
    """The untouched thresholds the rows were counted with (the agreement's otherwise)."""
    found = [
        rows[0][f"untouched_{i}_days"]
        for i in (1, 2, 3)
        if rows and f"untouched_{i}_days" in rows[0]
    ]
    return found or sales.untouched_thresholds()


TTFT_LABELS = {
    "customer_wait": "Customer wait",
    "routing_delay": "Routing delay",
    "rep_response": "Rep response",
}


def _sales_sections(rows: list[dict[str, Any]]) -> tuple[Section, ...]:
    thresholds = _thresholds(rows)
    untouched = tuple(
        Column(
            f"untouched_{i}",
            f"Untouched after {d} days",
            drill=f"untouched_{i}",
            group="Untouched after",
            short=f"{d} days",
        )
        for i, d in enumerate(thresholds, start=1)
    )
    not_yet = tuple(
        Column(
            f"not_yet_{i}",
            f"Not yet {d} days",
            drill=f"not_yet_{i}",
            group="Not yet at",
            short=f"{d} days",
            detail=True,
        )
        for i, d in enumerate(thresholds, start=1)
    )
    times = tuple(
        Column(
            f"{name}_{p}",
            f"{label}, {which}",
            "hours",
            group=f"Time to first touch, {which} (business hours)",
            short=label,
            detail=p == "p90",
        )
        for p, which in (("p50", "median"), ("p90", "90th percentile"))
        for name, label in TTFT_LABELS.items()
    )
    sla = "SLA clocks"
    inputs = (
        Column("label", "", "text"),
        Column("assigned", "Leads assigned", drill="assigned"),
        *untouched,
        *not_yet,
        Column("sla_met", "SLA met", drill="sla_met", group=sla, short="Met"),
        Column("sla_breached", "SLA breached", drill="sla_breached", group=sla, short="Breached"),
        Column(
            "sla_met_share", "SLA met share", "rate", drill="sla_met", group=sla, short="Met share"
        ),
        Column(
            "first_touched",
            "Clocks answered by a touch",
            drill="first_touched",
            group=sla,
            short="Answered by a touch",
            detail=True,
        ),
        *times,
        Column("touches", "Touches", drill="touches"),
    )
    outcomes = (
        Column("label", "", "text"),
        *(
            Column(f"stage_{s.value}", s.label, drill=f"stage_{s.value}")
            for s in Stage
            if s != Stage.SUSPECT or any(r.get("stage_suspect") for r in rows)
        ),
    )
    days = "/".join(str(d) for d in thresholds)
    note = (
        "Leads assigned: assignments to the rep in the range (each starts a tenure, which "
        "lasts until the next assignment or the lead closes). "
        f"Untouched after {days} days: of those, the tenures held that long with no sales "
        "touch by the rep, counted once the days have passed (until then: not yet); a lead "
        "held untouched by two reps is two tenures. "
        "SLA met/breached: each clock once, in the range holding its due time, for the "
        "owner at the due time (or at the touch, if met earlier); the lead desk when nobody "
        "owned it. Times to first touch: over the clocks due in the range answered by a "
        "touch, median and 90th percentile by nearest rank, in business hours. Touches: "
        "sales touches in the range by the rep holding the lead. Times in business hours."
    )
    chart = Chart(
        "Assigned and left untouched",
        "bar",
        ("assigned", *(c.key for c in untouched)),
    )
    return (
        Section(
            "team",
            "By team",
            inputs,
            chart=Chart(
                "Untouched tenures by team",
                "bar",
                tuple(c.key for c in untouched),
            ),
            row_filter="team",
            note=note,
        ),
        Section("rep", "By rep", inputs, chart=chart, row_filter="rep", note=note),
        Section("total", "Everyone", inputs, row_filter=None, note=note),
        Section(
            "rep_outcomes",
            "Where each rep's leads are now",
            outcomes,
            chart=Chart(
                "Leads still held, by stage now",
                "bar",
                tuple(c.key for c in outcomes[1:]),
                stacked=True,
            ),
            row_filter="rep",
            note="Of the leads assigned to the rep in the range, those the rep still holds, "
            "by their stage now.",
        ),
    )


# --- Marketing delivery ----------------------------------------------------------------

_IN = "Came in"
_CLOSED = "Closed in the range"
DELIVERY_COLUMNS = (
    Column("label", "", "text"),
    Column("new_leads", "New leads", drill="new_leads", group=_IN, short="New leads"),
    Column("mqls", "MQLs", drill="mqls", group=_IN),
    Column(
        "sales_accepted",
        "Sales-accepted (SQL)",
        drill="sales_accepted",
        group=_IN,
        short="Accepted (SQL)",
    ),
    Column(
        "acceptance_rate",
        "Acceptance rate (MQL → SQL)",
        "rate",
        drill="acceptance_rate",
        group=_IN,
        short="Acceptance rate",
    ),
    Column("disqualified", "Disqualified", drill="disqualified", group=_CLOSED),
    Column("closed", "Closed", drill="closed", group=_CLOSED, short="All closed"),
    Column("traceable", "Deal or feedback", drill="traceable", group=_CLOSED),
    Column(
        "feedback_coverage",
        "Feedback coverage",
        "rate",
        drill="feedback_coverage",
        group=_CLOSED,
    ),
)

DELIVERY_NOTE = (
    "New leads: leads that came into Accord in the range. MQLs: leads that entered MQL in "
    "the range, each once. Accepted: of those MQLs, the ones that reached SQL since; the "
    "acceptance rate is accepted of MQLs. Disqualified / closed: leads disqualified / "
    "disqualified or converted in the range; deal or feedback: of the closed, those with a "
    "deal or structured feedback (feedback coverage). Leads disqualified as junk / spam "
    "count on their own line, in none of these."
)

DELIVERY_SECTIONS = (
    Section(
        "commitment",
        "Against the commitment",
        (
            Column("label", "Figure", "text"),
            # Counts, an amount and a rate: each row's label and cells say its unit.
            Column("target", "Committed for the range", "figure"),
            Column("expected_by_now", "Expected by now", "figure"),
            Column("delivered", "Delivered", "figure", drill="=key"),
            Column("pace", "Pace", "pct"),
            Column("on_pace", "On pace", "bool"),
        ),
        chart=Chart("Delivered against expected by now", "bar", ("expected_by_now", "delivered")),
        note="The active agreement's commitment, prorated to the chosen days; pace is "
        "delivered ÷ what the days so far should have brought. The chart draws counts, the "
        "amount and the rate apart, each on its own scale.",
    ),
    Section(
        "total",
        "All marketing leads",
        (
            *DELIVERY_COLUMNS,
            Column("pipeline_amount", "Pipeline opened", "money", drill="pipeline_amount"),
        ),
        note=DELIVERY_NOTE + " Pipeline opened: the amount of the deals opened in the range.",
    ),
    Section(
        "channel",
        "By channel",
        DELIVERY_COLUMNS,
        chart=Chart("MQLs and accepted by channel", "bar", ("mqls", "sales_accepted")),
        row_filter="channel",
        note=DELIVERY_NOTE,
    ),
    Section(
        "campaign",
        "By campaign",
        DELIVERY_COLUMNS,
        chart=Chart("MQLs and accepted by campaign", "bar", ("mqls", "sales_accepted")),
        row_filter="campaign",
        note=DELIVERY_NOTE,
    ),
    Section(
        "persona",
        "By persona",
        DELIVERY_COLUMNS,
        chart=Chart("MQLs and accepted by persona", "bar", ("mqls", "sales_accepted")),
        row_filter="persona",
        note=DELIVERY_NOTE,
    ),
    Section(
        "reason",
        "Disqualification reasons (sales' structured feedback)",
        (Column("label", "Reason", "text"), Column("leads", "Leads", drill="reason")),
        chart=Chart("Why leads were disqualified", "bar", ("leads",), horizontal=True),
        note="Leads disqualified in the range, by the structured reason of the feedback "
        "given with the disqualification.",
    ),
)

# --- Pipeline and contribution ---------------------------------------------------------

PIPELINE_SECTIONS = (
    Section(
        "figure",
        "Pipeline and revenue",
        (
            Column("label", "", "text"),
            Column("deals", "Deals", drill="=key"),
            Column("amount", "Amount", "money", drill="=key"),
        ),
        chart=Chart("Pipeline and revenue", "bar", ("amount",), horizontal=True),
        note="Pipeline: deals opened in the range; won: deals won in the range. Sourced: on "
        "leads of marketing-sourced channels; influenced: with a touch point before the deal "
        "opened. A deal count says on how many leads (a lead can have several deals).",
    ),
    Section(
        "attribution",
        "Attribution of the pipeline to campaigns",
        (
            Column("label", "Campaign", "text"),
            Column("first", "First touch", "money"),
            Column("last", "Last touch", "money"),
            Column("linear", "Linear", "money"),
        ),
        chart=Chart("Attributed pipeline by model", "bar", ("first", "last", "linear")),
        note="Touch points: the campaign touches (list imports, forms, …) before the deal "
        "opened. First / last touch credit the whole amount to one; linear splits it in cents, "
        "each share rounded down to the cent and the remainder on the last (never a negative "
        "share); deals without a touch point are unattributed. Each column adds up to the "
        "pipeline opened.",
    ),
    Section(
        "cost",
        "Campaign cost",
        (
            Column("label", "Campaign", "text"),
            Column("cost", "Cost in the range", "money"),
            Column("leads", "Leads", drill="leads"),
            Column("mqls", "MQLs", drill="mqls"),
            Column("sqls", "SQLs (accepted MQLs)", drill="sqls"),
            Column("pipeline_amount", "Pipeline sourced", "money", drill="pipeline_amount"),
            Column("cost_per_lead", "Cost per lead", "money", group="Cost per", short="Lead"),
            Column("cost_per_mql", "Cost per MQL", "money", group="Cost per", short="MQL"),
            Column("cost_per_sql", "Cost per SQL", "money", group="Cost per", short="SQL"),
            Column(
                "cost_per_pipeline",
                f"Cost per {CURRENCY} of pipeline",
                "ratio",
                group="Cost per",
                short=f"{CURRENCY} of pipeline",
            ),
        ),
        chart=Chart("Cost per MQL and per SQL", "bar", ("cost_per_mql", "cost_per_sql")),
        row_filter="campaign",
        note="Cost in the range: the campaign's cost × the share of its days inside the "
        "range. Leads, MQLs, SQLs and pipeline: as in the delivery report, for the leads of "
        "the campaign; each cost per divides the cost in the range.",
    ),
)

# --- SLA scoreboard ----------------------------------------------------------------------


def _scoreboard_sections(rows: list[dict[str, Any]]) -> tuple[Section, ...]:
    first = rows[0] if rows else {}
    periods = [i for i in range(scoreboard.SCOREBOARD_PERIODS) if f"p{i}_label" in first]
    columns = [Column("label", "Commitment", "text"), Column("promise", "Promise", "text")]
    for i in periods:
        name = first.get(f"p{i}_label", "")
        # The two latest periods first; the older ones are details.
        detail = i >= 2
        columns += [
            # A count, an amount or a rate ("n of m"), as the row's figure is.
            Column(
                f"p{i}_target",
                f"{name} target",
                "figure",
                group=name,
                short="Target",
                detail=detail,
            ),
            Column(
                f"p{i}_actual",
                f"{name} actual",
                "figure",
                drill=f"p{i}",
                group=name,
                short="Actual",
                detail=detail,
            ),
            Column(f"p{i}_kept", f"{name} kept", "bool", group=name, short="Kept", detail=detail),
        ]
    note = (
        "Each commitment of the agreement in force: its target for the period (prorated to "
        "its days), what happened and whether it was kept; the figures are those of the "
        "delivery and sales activity reports for the same days."
    )
    return (
        Section(
            "marketing",
            "Marketing's commitments",
            tuple(columns),
            chart=Chart(
                "Marketing: actual by period", "bar", tuple(f"p{i}_actual" for i in periods)
            ),
            note=note,
        ),
        Section(
            "sales",
            "Sales' commitments",
            tuple(columns),
            chart=Chart("Sales: actual by period", "bar", tuple(f"p{i}_actual" for i in periods)),
            note=note,
        ),
    )


# --- 1:1 -----------------------------------------------------------------------------------

_DID = "What sales did"
_BECAME = "What became of them"

ONE_ON_ONE_SECTIONS = (
    Section(
        "summary",
        "Handed over and what sales did",
        (
            Column("label", "", "text"),
            Column("handed_over", "Handed over (MQLs)", drill="handed_over"),
            Column("touched", "Touched", drill="touched", group=_DID),
            Column("untouched_open", "Open, never touched", drill="untouched_open", group=_DID),
            Column(
                "ttft_median",
                "Median customer wait",
                "hours",
                group=_DID,
                short="Median customer wait (business hours)",
            ),
            Column("sla_met_share", "SLA met", "rate", drill="sla_met_share", group=_DID),
            Column("accepted", "Accepted (SQL)", drill="accepted", group=_BECAME),
            Column(
                "acceptance_rate",
                "Acceptance rate",
                "rate",
                drill="acceptance_rate",
                group=_BECAME,
            ),
            Column("disqualified", "Disqualified", drill="disqualified", group=_BECAME),
            Column("nurture", "Nurture", drill="nurture", group=_BECAME),
            Column("won", "Won", drill="won", group=_BECAME),
            Column("deals", "Deals opened", drill="deals", group=_BECAME),
            Column(
                "pipeline_amount",
                "Pipeline created",
                "money",
                drill="pipeline_amount",
                group=_BECAME,
            ),
        ),
        note="Handed over: leads that entered MQL in the range, each once. The other figures "
        "are what became of them since: a sales touch, still open and never touched, reached "
        "SQL, disqualified, in nurture now, a deal won, deals opened and their amount; SLA met "
        "of their clocks met or breached; median customer wait by nearest rank.",
    ),
    Section(
        "stage",
        "Where they are now",
        (Column("label", "Stage", "text"), Column("leads", "Leads", drill="stage")),
        chart=Chart("Handed-over leads by stage", "bar", ("leads",)),
        note="The leads handed over in the range, by their stage now.",
    ),
    Section(
        "persona",
        "Personas",
        (
            Column("label", "Persona", "text"),
            Column("leads", "Leads", drill="leads"),
            Column("accepted", "Accepted", drill="accepted"),
            Column("disqualified", "Disqualified", drill="disqualified"),
            Column("pipeline_amount", "Pipeline", "money", drill="pipeline_amount"),
        ),
        chart=Chart("By persona", "bar", ("leads", "accepted", "disqualified")),
        row_filter="persona",
        note="The leads handed over in the range by persona: how many, how many reached SQL "
        "and how many were disqualified since, and the amount of their deals opened.",
    ),
    Section(
        "title",
        "Titles (top 15)",
        (
            Column("label", "Title", "text"),
            Column("leads", "Leads", drill="title"),
            Column("accepted", "Accepted"),
        ),
        note="The most frequent titles of the leads handed over in the range.",
    ),
    Section(
        "reason",
        "Why sales disqualified them",
        (Column("label", "Reason", "text"), Column("leads", "Leads", drill="reason")),
        note="The handed-over leads disqualified since, by the structured reason of the "
        "feedback given with the disqualification.",
    ),
)

# --- Trends ----------------------------------------------------------------------------------

_FUNNEL = tuple(
    f"stage_{s}"
    for s in (
        Stage.MQL,
        Stage.WORKING,
        Stage.SQL,
        Stage.OPPORTUNITY,
        Stage.CONVERTED,
        Stage.DISQUALIFIED,
        Stage.NURTURE,
    )
)


def _trend_sections(rows: list[dict[str, Any]]) -> tuple[Section, ...]:
    thresholds = _thresholds([r for r in rows if r.get("section") == "day"])
    stage_labels = dict(Stage.choices)
    day = Column("label", "Day", "date")
    return (
        Section(
            "funnel",
            "Funnel",
            (day, *(Column(k, stage_labels[k[6:]]) for k in _FUNNEL)),
            chart=Chart("Leads per stage", "line", _FUNNEL),
            note="Each day: the leads in each stage at the day's snapshot.",
        ),
        Section(
            "sla",
            "SLA met over time",
            (
                day,
                Column("sla_met", "Met that day"),
                Column("sla_breached", "Breached that day"),
                Column("sla_met_share", "Met share", "pct"),
            ),
            chart=Chart("SLA met share", "line", ("sla_met_share",)),
            note="Clocks due that day, met or breached, counted as in the sales activity "
            "report (each clock once, for the owner at its due time).",
        ),
        Section(
            "untouched",
            "Untouched after N days",
            (
                day,
                *(
                    Column(f"untouched_{i}", f"Reached {d} days untouched")
                    for i, d in enumerate(thresholds, start=1)
                ),
            ),
            chart=Chart(
                "Tenures that reached N days with no touch by their rep",
                "line",
                tuple(f"untouched_{i}" for i in range(1, len(thresholds) + 1)),
            ),
            note="Each day: the tenures that started N days before it and were held those "
            "N days with no sales touch by their rep (the sales activity report's figure).",
        ),
        Section(
            "pace",
            "Commitment pace (MQLs)",
            (
                day,
                Column("target", "Target", "number"),
                Column("expected_by_now", "Expected by then", "number"),
                Column("delivered", "Delivered", "number"),
                Column("pace", "Pace", "pct"),
            ),
            chart=Chart("MQLs delivered vs expected", "line", ("expected_by_now", "delivered")),
            note="Each day: the MQLs committed for the period, those the days so far should "
            "have brought, those delivered, and pace = delivered ÷ expected.",
        ),
    )


# Sections that show rows of another name.
SECTION_SOURCE = {
    "rep_outcomes": "rep",
    "funnel": "day",
    "sla": "day",
    "untouched": "day",
    "pace": "pace",
}


def rows_of(section: Section, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows a section shows."""
    source = SECTION_SOURCE.get(section.key, section.key)
    return [r for r in rows if r.get("section") == source]


REPORTS: dict[str, Report] = {
    "sales": Report(
        "sales",
        "Sales activity",
        "Per team, rep and the lead desk: leads assigned, untouched after the agreed days, "
        "SLA met, customer wait, routing delay and rep response, touches and where the "
        "leads are now.",
        sales.sales_activity,
        (*MANAGERS, roles.SALES_REP),
        sections_for=_sales_sections,
        figures=sales.FIGURES,
    ),
    "delivery": Report(
        "delivery",
        "Marketing delivery",
        "Leads, MQLs and accepted leads against the commitment, acceptance rate, "
        "disqualification reasons and feedback coverage.",
        marketing_delivery,
        (*MANAGERS, roles.MARKETING),
        DELIVERY_SECTIONS,
        figures=DELIVERY_FIGURES,
    ),
    "pipeline": Report(
        "pipeline",
        "Pipeline and contribution",
        "Pipeline generated and influenced by marketing, won revenue, attribution to "
        "campaigns and what each lead, MQL, SQL and unit of pipeline cost.",
        pipeline_contribution,
        (*MANAGERS, roles.MARKETING),
        PIPELINE_SECTIONS,
        figures=PIPELINE_FIGURES,
    ),
    "scoreboard": Report(
        "scoreboard",
        "SLA scoreboard",
        "Both sides' commitments next to what happened, this period and the three before.",
        scoreboard.sla_scoreboard,
        (*MANAGERS, roles.MARKETING),
        sections_for=_scoreboard_sections,
        figures=scoreboard.FIGURES,
    ),
    "one_on_one": Report(
        "one_on_one",
        "1:1 report",
        "For the marketing and sales leads' fortnightly meeting: what marketing handed over "
        "since a date, who they are, what sales did with them and the pipeline created.",
        one_on_one,
        (*MANAGERS, roles.MARKETING),
        ONE_ON_ONE_SECTIONS,
        figures=ONE_ON_ONE_FIGURES,
    ),
    "trends": Report(
        "trends",
        "Trends",
        "Daily snapshots: the funnel, SLA met over time, untouched aging buckets and "
        "marketing's commitment pace.",
        trends.trends,
        MANAGERS,
        sections_for=_trend_sections,
        takes_turns=False,
    ),
}


def reports_for(user: Any) -> list[Report]:
    """The reports a user's roles may open, in menu order."""
    return [r for r in REPORTS.values() if roles.has_role(user, *r.roles)]
