"""The trends report: the daily snapshots (reports.services.take_snapshot, which reads the
sales activity report's figures) and marketing's commitment pace."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sla.models import PacingSnapshot

from .figures.base import share
from .filters import ReportFilters
from .models import ReportSnapshot
from .sales import untouched_thresholds


def trends(f: ReportFilters, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The daily snapshots in the range, one row per day: leads per stage, SLA met and
    breached that day, tenures that reached each untouched threshold that day; and
    marketing's commitment pace (the SLA engine's pacing snapshots). The most specific
    filter chosen picks the stored series. Sections: day, pace."""
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
        day["sla_met_share"] = share(day["sla_met"], day["sla_met"] + day["sla_breached"])
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
                "pace": share(p["delivered"], p["expected_by_now"])
                if p["expected_by_now"]
                else None,
            }
        )
    return rows
