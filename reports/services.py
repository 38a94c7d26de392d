"""Writes of the reports app: the daily snapshot, and filling in first-touch times."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from leads.models import Lead

from .figures.base import Figure
from .figures.sales import SLA_BREACHED, SLA_MET, untouched
from .filters import ReportFilters, local_midnight
from .models import ReportSnapshot
from .sales import untouched_thresholds

DIMENSIONS: dict[str, str | None] = {
    ReportSnapshot.Dimension.ALL: None,
    ReportSnapshot.Dimension.TEAM: "owner__rep_profile__team_id",
    ReportSnapshot.Dimension.REP: "owner_id",
    ReportSnapshot.Dimension.CHANNEL: "channel_id",
    ReportSnapshot.Dimension.CAMPAIGN: "campaign_id",
    ReportSnapshot.Dimension.PERSONA: "persona_id",
}
# The snapshot's dimensions as the figures group the ledger (reports.figures.base.GROUPS).
FIGURE_GROUPS = {
    ReportSnapshot.Dimension.TEAM: "team",
    ReportSnapshot.Dimension.REP: "rep",
    ReportSnapshot.Dimension.CHANNEL: "channel",
    ReportSnapshot.Dimension.CAMPAIGN: "campaign",
    ReportSnapshot.Dimension.PERSONA: "persona",
}


def _day(day: dt.date) -> ReportFilters:
    return ReportFilters(start_day=day, end_day=day)


def _figure_values(
    metric: str, figure: Figure, f: ReportFilters, now: dt.datetime
) -> dict[tuple[str, int], dict[str, int]]:
    """One figure for everyone and per dimension; a key nobody has (the lead desk, no
    campaign, …) is stored as 0, the filters' value for it. Teams have no such row."""
    values = {(ReportSnapshot.Dimension.ALL, 0): {metric: int(figure.total(f, now))}}
    for dimension, group in FIGURE_GROUPS.items():
        for key, value in figure.by(group, f, now).items():
            if key is None and dimension == ReportSnapshot.Dimension.TEAM:
                continue
            values[(dimension, key or 0)] = {metric: int(value)}
    return values


def take_snapshot(now: dt.datetime | None = None, *, day: dt.date | None = None) -> int:
    """Store a day's figures for everyone and per team, rep (0: the lead desk), channel,
    campaign and persona: leads per stage now; SLA met and breached (the sales activity
    report's clocks due that day); untouched after each threshold (the tenures whose N
    days ran out that day, up to now). `day`: a finished day, counted to its end (the
    nightly task's, just after midnight); else today, up to now. Running it again for a
    day replaces that day's rows. Returns the number of rows written."""
    if day is not None:
        # In UTC: arithmetic on a zoned datetime counts wall-clock days, not 24 h ones.
        now = local_midnight(day + dt.timedelta(days=1)).astimezone(dt.UTC)
    now = (now or timezone.now()).astimezone(dt.UTC)
    day = day or timezone.localtime(now).date()
    values: dict[tuple[str, int], dict[str, int]] = {}
    for dimension, group in DIMENSIONS.items():
        if group is None:
            funnel = Lead.objects.order_by().values("stage").annotate(n=Count("pk"))
            for row in funnel:
                values.setdefault((dimension, 0), {})[f"stage_{row['stage']}"] = row["n"]
            continue
        funnel = (
            Lead.objects.filter(**{f"{group}__isnull": False})
            .order_by()
            .values(group, "stage")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for row in funnel:
            values.setdefault((dimension, row[group]), {})[f"stage_{row['stage']}"] = row["n"]
    figures: list[tuple[str, Figure, ReportFilters]] = [
        ("sla_met", SLA_MET, _day(day)),
        ("sla_breached", SLA_BREACHED, _day(day)),
    ]
    for i, days in enumerate(untouched_thresholds(), start=1):
        # The tenures whose N days (of 24 h, as the figure counts them) ran out in the
        # day: started N days before its first instant up to N days before now. Each
        # tenure reaches its threshold in one day's snapshot, across a DST change too.
        held = dt.timedelta(days=days)
        cohort = ReportFilters(
            start_day=day - held,
            end_day=day - held,
            exact_start=local_midnight(day).astimezone(dt.UTC) - held,
            exact_end=now - held,
        )
        figures.append((f"untouched_{i}", untouched(days), cohort))
    for metric, figure, f in figures:
        for key, found in _figure_values(metric, figure, f, now).items():
            values.setdefault(key, {}).update(found)
    rows = [
        ReportSnapshot(
            date=day, dimension=dimension, key=key, metric=metric, value=value or 0, taken_at=now
        )
        for (dimension, key), metrics in values.items()
        for metric, value in metrics.items()
    ]
    with transaction.atomic():
        ReportSnapshot.objects.filter(date=day).delete()
        ReportSnapshot.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
