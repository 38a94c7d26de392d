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
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from leads.models import Lead, LeadEvent
from reports.filters import DESK, ReportFilters

Kind = LeadEvent.Kind

# How a report's rows group the ledger: the key of each row, as a path from an event.
GROUPS = {
    "rep": "owner_id",
    "team": "owner__rep_profile__team_id",
    "channel": "lead__channel_id",
    "campaign": "lead__campaign_id",
    "persona": "lead__persona_id",
}


def scoped(events: QuerySet[LeadEvent], f: ReportFilters) -> QuerySet[LeadEvent]:
    """Events narrowed by the filters: team and rep by the event's owner (DESK: nobody),
    channel, campaign and persona by the lead's."""
    q = Q()
    if f.rep == DESK:
        q &= Q(owner__isnull=True)
    elif f.rep is not None:
        q &= Q(owner_id=f.rep)
    if f.team is not None:
        q &= Q(owner__rep_profile__team_id=f.team)
    if f.channel is not None:
        q &= Q(lead__channel_id=f.channel)
    if f.campaign is not None:
        q &= Q(lead__campaign_id=f.campaign)
    if f.persona is not None:
        q &= Q(lead__persona_id=f.persona)
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

    def _aggregate(self) -> Any:
        if self.measure == "leads":
            return Count("lead", distinct=True)
        if self.measure == "rows":
            return Count("id")
        return Sum("amount")

    def total(self, f: ReportFilters, now: dt.datetime) -> int | Decimal:
        """The figure for the whole of the filters."""
        value = self.events(f, now).aggregate(v=self._aggregate())["v"]
        return value if value is not None else self._zero()

    def by(self, group: str, f: ReportFilters, now: dt.datetime) -> dict[Any, int | Decimal]:
        """The figure per row key of a grouping (see GROUPS); None is the lead desk."""
        path = GROUPS[group]
        rows = (
            self.events(f, now)
            .order_by()
            .values_list(path)
            .annotate(v=self._aggregate())
            .values_list(path, "v")
        )
        return {key: value if value is not None else self._zero() for key, value in rows}

    def leads(self, f: ReportFilters, now: dt.datetime) -> QuerySet[Lead]:
        """The leads this figure counts: its drill-down."""
        return Lead.objects.filter(pk__in=self.events(f, now).values("lead_id"))

    def _zero(self) -> int | Decimal:
        return Decimal("0.00") if self.measure == "amount" else 0


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
