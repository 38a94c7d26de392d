"""Marketing's figures: what it delivered and what sales did with it."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, QuerySet

from leads.models import LeadEvent
from reports.filters import ReportFilters

from .base import Figure, Kind, Rate, in_range

# --- Marketing delivery ---------------------------------------------------------------


def _mqls_delivered(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
    return in_range(Kind.STAGE_ENTERED, f).filter(stage="mql")


MQLS_DELIVERED = Figure(
    "mqls",
    "MQLs delivered",
    "Leads that entered MQL in the range, each lead once.",
    _mqls_delivered,
)


def _mqls_accepted(f: ReportFilters, now: dt.datetime) -> QuerySet[LeadEvent]:
    reached_sql = LeadEvent.objects.filter(
        kind=Kind.STAGE_ENTERED, stage="sql", lead=OuterRef("lead"), at__gte=OuterRef("at")
    )
    return _mqls_delivered(f, now).filter(Exists(reached_sql.filter(at__lte=now)))


MQLS_ACCEPTED = Figure(
    "sales_accepted",
    "Accepted by sales (SQL)",
    "Of the MQLs delivered in the range, those that reached Sales Qualified since.",
    _mqls_accepted,
)

ACCEPTANCE_RATE = Rate("acceptance_rate", "Acceptance rate", MQLS_ACCEPTED, MQLS_DELIVERED)

FIGURES: dict[str, Figure] = {figure.key: figure for figure in (MQLS_DELIVERED, MQLS_ACCEPTED)}
