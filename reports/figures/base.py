"""Report figures, each defined once over the ledger (leads.LeadEvent): the machinery.

A figure names the ledger rows it counts for a report's filters (`events`). The same
rows give the number on the page, the number in the export and the leads of its
drill-down, so a drill-down lists exactly what its number counts. A rate is two
figures, shown "n of m", and drills into its numerator.

Team and rep filters mean the owner at the time of the event: the row's `owner`
(a tenure's holder, a clock's owner at its due time, the rep who received an MQL).
Rows with no owner belong to the lead desk, a row of every sales table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, F, IntegerField, Q, QuerySet, Sum, Value, Window
from django.db.models.functions import RowNumber

from leads.models import FACT_NAMES, Lead, LeadEvent
from reports.filters import DESK, NONE, ReportFilters

Kind = LeadEvent.Kind
# Amounts carry no currency of their own: the installation's, EUR unless set.
CURRENCY: str = getattr(settings, "ACCORD_CURRENCY", "EUR")

# How a report's rows group the ledger: the key of each row, as a path from an event.
GROUPS = {
    "rep": "owner_id",
    "team": "owner_profile__team_id",
    "channel": "lead_channel_id",
    "campaign": "lead_campaign_id",
    "persona": "lead_persona_id",
    "title": "lead__title",
    "stage": "lead__stage",
}
# The lead's facts each ledger row carries (kept in step with the lead: leads.models
# LEDGER_FACTS), read from the row; any other fact of the lead from the lead.
ON_THE_ROW = tuple(sorted(FACT_NAMES))


def fact_path(name: str) -> str:
    """Where an event's lead's fact is read: the row's copy, or the lead."""
    return f"lead_{name}" if name in ON_THE_ROW else f"lead__{name}"


def scoped(events: QuerySet[LeadEvent], f: ReportFilters) -> QuerySet[LeadEvent]:
    """Events narrowed by the filters: team and rep by the event's owner (DESK: nobody),
    channel, campaign and persona by the lead's (NONE: the lead has none)."""
    q = Q()
    if f.rep == DESK:
        q &= Q(owner__isnull=True)
    elif f.rep is not None:
        q &= Q(owner_id=f.rep)
    if f.team is not None:
        q &= Q(owner_profile__team_id=f.team)
    for name in ON_THE_ROW:
        value = getattr(f, name)
        if value == NONE:
            q &= Q(**{f"{fact_path(name)}__isnull": True})
        elif value is not None:
            q &= Q(**{f"{fact_path(name)}_id": value})
    return events.filter(q)


def in_range(kind: str, f: ReportFilters, *, field: str = "at") -> QuerySet[LeadEvent]:
    """The events of one kind whose `field` falls in the filters' range, scoped."""
    events = LeadEvent.objects.filter(
        kind=kind, **{f"{field}__gte": f.start, f"{field}__lt": f.end}
    )
    return scoped(events, f)


@dataclass(frozen=True)
class Figure:
    """One number: the ledger rows it counts, and how (distinct leads, rows or an amount)."""

    key: str
    label: str
    definition: str
    events: Callable[[ReportFilters, dt.datetime], QuerySet[LeadEvent]]
    # "leads": distinct leads; "rows": events (clocks, tenures, deals); "amount": Σ amount.
    measure: str = "leads"
    # What one row is, for "3 clocks on 2 leads" (measure "rows").
    unit: str = "rows"
    # Groupings this figure's rows key differently (an MQL's rep is the one who received it).
    paths: Mapping[str, str] = field(default_factory=dict)
    # A figure made by `part_of`: the rows it narrows and the condition it narrows them by,
    # so `tally_together` counts the figures of one base in one pass over its rows.
    base: Callable[[ReportFilters, dt.datetime], QuerySet[LeadEvent]] | None = None
    where: Callable[[ReportFilters, dt.datetime], Q] | None = None

    @classmethod
    def part_of(
        cls,
        base: Callable[[ReportFilters, dt.datetime], QuerySet[LeadEvent]],
        where: Callable[[ReportFilters, dt.datetime], Q],
        key: str,
        label: str,
        definition: str,
        **options: Any,
    ) -> Figure:
        """The figure of `base`'s rows that meet `where`: its events are exactly those."""

        def events(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
            return base(f, now).filter(where(f, now))

        return cls(key, label, definition, events, base=base, where=where, **options)

    def _aggregate(self, condition: Q | None = None) -> Any:
        if self.measure == "leads":
            return Count("lead", distinct=True, filter=condition)
        if self.measure == "rows":
            # Every row has a lead: counting it (not the id) keeps the count on the columns
            # a covering index holds.
            return Count("lead", filter=condition)
        return Sum("amount", filter=condition)

    def total(self, f: ReportFilters, now: dt.datetime) -> int | Decimal:
        """The figure for the whole of the filters."""
        value = self.events(f, now).aggregate(v=self._aggregate())["v"]
        return value if value is not None else self._zero()

    def by(self, group: str, f: ReportFilters, now: dt.datetime) -> dict[Any, int | Decimal]:
        """The figure per row key of a grouping (see GROUPS); None is the lead desk."""
        path = self.paths.get(group, GROUPS[group])
        rows = (
            self.events(f, now)
            .order_by()
            .values_list(path)
            .annotate(v=self._aggregate())
            .values_list(path, "v")
        )
        return {key: value if value is not None else self._zero() for key, value in rows}

    def tally(
        self, group: str | None, f: ReportFilters, now: dt.datetime
    ) -> dict[Any, int | Decimal]:
        """The figure per row key of a grouping (None: one row, key None), in one query;
        a count of rows is a `Counted` that knows its leads ("3 clocks on 2 leads")."""
        events = self.events(f, now).order_by()
        aggregates = {"v": self._aggregate()}
        if self.measure == "rows":
            aggregates["n"] = Count("lead", distinct=True)
        names = list(aggregates)
        if group is None:
            found = events.aggregate(**aggregates)
            rows = [(None, *(found[name] for name in names))]
        else:
            path = self.paths.get(group, GROUPS[group])
            grouped = events.values_list(path).annotate(**aggregates)
            rows = list(grouped.values_list(path, *names))
        return {key: self._value(value, *leads) for key, value, *leads in rows}

    def _value(self, value: Any, leads: int | None = None) -> int | Decimal:
        if self.measure == "rows":
            return Counted(value or 0, leads or 0, self.unit)
        return value if value is not None else self._zero()

    def leads(self, f: ReportFilters, now: dt.datetime) -> QuerySet[Lead]:
        """The leads this figure counts: its drill-down."""
        return Lead.objects.filter(pk__in=self.events(f, now).values("lead_id"))

    def _zero(self) -> int | Decimal:
        return Decimal("0.00") if self.measure == "amount" else 0


def _by_base(
    figures: tuple[Figure, ...], alone: Callable[[Figure], bool] = lambda figure: False
) -> dict[Any, list[Figure]]:
    """The figures by the pass over the ledger that counts them: those `part_of` one base
    under that base (one pass, a condition each); any other, or one `alone` says, under
    its own key (a str), by itself."""
    passes: dict[Any, list[Figure]] = {}
    for figure in figures:
        shared = figure.base is not None and figure.where is not None and not alone(figure)
        passes.setdefault(figure.base if shared else figure.key, []).append(figure)
    return passes


def tally_together(
    figures: tuple[Figure, ...], group: str | None, f: ReportFilters, now: dt.datetime
) -> dict[str, dict[Any, int | Decimal]]:
    """`Figure.tally` of several figures, by figure key: the figures `part_of` one base
    in one query (a conditional count each over the base's rows), the others one each."""
    out: dict[str, dict[Any, int | Decimal]] = {}
    # A figure that keys this grouping its own way (`paths`) is counted on its own.
    for base, parts in _by_base(figures, alone=lambda figure: group in figure.paths).items():
        if isinstance(base, str):
            out[base] = parts[0].tally(group, f, now)
            continue
        aggregates: dict[str, Any] = {}
        for i, figure in enumerate(parts):
            condition = figure.where(f, now) or None  # type: ignore[misc]
            aggregates[f"v{i}"] = figure._aggregate(condition)
            if figure.measure == "rows":
                aggregates[f"n{i}"] = Count("lead", distinct=True, filter=condition)
        events = base(f, now).order_by()
        if group is None:
            rows = [{"key": None, **events.aggregate(**aggregates)}]
        else:
            path = GROUPS[group]
            grouped = events.values(key=F(path)).annotate(**aggregates)
            rows = list(grouped.values("key", *aggregates))
        for i, figure in enumerate(parts):
            values = out.setdefault(figure.key, {})
            for row in rows:
                value, leads = row[f"v{i}"], row.get(f"n{i}")
                # A group with none of this figure's rows is not one of its keys, as in tally.
                found = {"rows": leads, "amount": value is not None}.get(figure.measure, value)
                if group is None or found:
                    values[row["key"]] = figure._value(value, leads)
    return out


def leads_by_facts(
    figures: tuple[Figure, ...], fields: tuple[str, ...], f: ReportFilters, now: dt.datetime
) -> dict[str, dict[tuple[Any, ...], int]]:
    """Per figure (by key), its leads per combination of the leads' own facts (e.g.
    channel, campaign, persona): one query per base for the figures `part_of` one (a
    conditional count each), one each for the others. Each lead has one value of each
    fact, so the counts of any grouping by these facts, or the total, are sums of these."""
    paths = [fact_path(name) for name in fields]
    for figure in figures:
        if figure.measure != "leads":
            raise ValueError(f"{figure.key} counts {figure.measure}, not leads")
    out: dict[str, dict[tuple[Any, ...], int]] = {}
    for base, parts in _by_base(figures).items():
        if isinstance(base, str):  # a figure of its own
            events, conditions = parts[0].events(f, now), [None]
        else:
            events = base(f, now)
            conditions = [figure.where(f, now) or None for figure in parts]  # type: ignore[misc]
        counts = {
            f"v{i}": Count("lead", distinct=True, filter=condition)
            for i, condition in enumerate(conditions)
        }
        rows = events.order_by().values_list(*paths).annotate(**counts)
        for row in rows.values_list(*paths, *counts):
            combination, values = tuple(row[: len(paths)]), row[len(paths) :]
            for figure, value in zip(parts, values, strict=True):
                if value:
                    out.setdefault(figure.key, {})[combination] = value
    return {figure.key: out.get(figure.key, {}) for figure in figures}


class Counted(int):
    """A count of rows (clocks, touches) that knows on how many leads they fell: its
    drill-down lists the leads, so the page says both when they differ."""

    leads: int
    unit: str

    def __new__(cls, value: int, leads: int, unit: str = "rows") -> Counted:
        number = super().__new__(cls, value)
        number.leads = leads
        number.unit = unit
        return number

    def __str__(self) -> str:
        if int(self) == self.leads:
            return str(int(self))
        return f"{int(self)} {self.unit} on {self.leads} lead{'s' if self.leads != 1 else ''}"

    __repr__ = __str__


def nearest_rank(
    events: QuerySet[LeadEvent], field: str, group: str | None, tenths: tuple[int, ...] = (5, 9)
) -> dict[Any, dict[int, int]]:
    """Per row key (see GROUPS; None: one row), the percentiles of `field` given in
    tenths (5: median, 9: 90th) by nearest rank: the value at rank ⌈p·n⌉."""
    return nearest_ranks(events, (field,), group, tenths)[field]


def nearest_ranks(
    events: QuerySet[LeadEvent],
    fields: tuple[str, ...],
    group: str | None,
    tenths: tuple[int, ...] = (5, 9),
) -> dict[str, dict[Any, dict[int, int]]]:
    """Per field, per row key (see GROUPS; None: one row), the percentiles of the field's
    values given in tenths (5: median, 9: 90th) by nearest rank: the value at rank
    ⌈p·n⌉ among the rows that have one. The database ranks the rows once per field, in
    one query, and returns only the picked ones."""
    path = GROUPS[group] if group else None
    partition = [F(path)] if path else None
    ranks: dict[str, Any] = {}
    picked = Q()
    for i, name in enumerate(fields):
        # Empty values rank last, after the n that have one.
        order = [F(name).asc(nulls_last=True)]
        ranks[f"_r{i}"] = Window(RowNumber(), partition_by=partition, order_by=order) * 10
        ranks[f"_n{i}"] = Window(Count(name), partition_by=partition)
        for t in tenths:
            # 10·rank ≥ t·n > 10·(rank − 1): rank is ⌈t·n / 10⌉, in whole numbers.
            picked |= Q(**{f"{name}__isnull": False, f"_r{i}__gte": F(f"_n{i}") * t}) & Q(
                **{f"_r{i}__lt": F(f"_n{i}") * t + 10}
            )
    key = F(path) if path else Value(None, output_field=IntegerField())
    ranked = events.order_by().annotate(_key=key, **ranks).filter(picked)
    out: dict[str, dict[Any, dict[int, int]]] = {name: {} for name in fields}
    columns = ["_key", *fields, *ranks]
    for row in ranked.values(*columns):
        for i, name in enumerate(fields):
            value, r10, n = row[name], row[f"_r{i}"], row[f"_n{i}"]
            for t in tenths:
                if value is not None and t * n <= r10 < t * n + 10:
                    out[name].setdefault(row["_key"], {})[t] = value
    return out


@dataclass(frozen=True)
class Rate:
    """A share, "n of m": its numerator's rows are a subset of its denominator's."""

    key: str
    label: str
    numerator: Figure
    denominator: Figure


def share(part: int, whole: int) -> Decimal | None:
    """part ÷ whole as a percentage with one decimal; None when there is nothing to divide."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def n_of_m(part: int, whole: int) -> str:
    """A rate as people read it: "12 of 40 (30.0 %)"."""
    pct = share(part, whole)
    return f"{part} of {whole}" + (f" ({pct} %)" if pct is not None else "")


@dataclass(frozen=True)
class Shown:
    """A rate's value on a page and in an export: "12 of 40 (30.0 %)", or 30.0 as a number."""

    part: int
    whole: int

    @property
    def percent(self) -> Decimal | None:
        """The share in percent (one decimal); None when there is nothing to divide."""
        return share(self.part, self.whole)

    def __str__(self) -> str:
        return n_of_m(self.part, self.whole)


class LazyFigures(Mapping[str, Figure]):
    """A report's linked figures by drill metric, worked out when asked: some depend on
    the agreement in force (its untouched thresholds, its touch goals)."""

    def __init__(self, make: Callable[[], dict[str, Figure]]) -> None:
        self._make = make

    def __getitem__(self, metric: str) -> Figure:
        return self._make()[metric]

    def __iter__(self) -> Iterator[str]:
        return iter(self._make())

    def __len__(self) -> int:
        return len(self._make())
