"""The drill-down list's read: the first leads behind a number, with what the page shows.

Every number itself is a figure over the ledger (reports.figures), which also gives its
leads (`Report.drilldown`).
"""

from __future__ import annotations

from django.db.models import QuerySet

from leads.models import Lead


def drilldown_page(leads: QuerySet[Lead], limit: int = 200) -> list[Lead]:
    """The first leads of a drill-down, with what the list shows, in two queries."""
    return list(
        leads.select_related("owner", "channel", "campaign", "persona").order_by(
            "-created_at", "-pk"
        )[:limit]
    )
