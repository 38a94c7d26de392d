"""Writes of the reports app: the daily snapshot, and filling in first-touch times."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from agreements.stages import OPEN_STAGES, Stage
from leads.clock import Rules, business_seconds_to_first_touch
from leads.models import Lead

from .filters import local_midnight
from .models import ReportSnapshot
from .queries import untouched_thresholds

DIMENSIONS: dict[str, str | None] = {
    ReportSnapshot.Dimension.ALL: None,
    ReportSnapshot.Dimension.TEAM: "owner__rep_profile__team_id",
    ReportSnapshot.Dimension.REP: "owner_id",
    ReportSnapshot.Dimension.CHANNEL: "channel_id",
    ReportSnapshot.Dimension.CAMPAIGN: "campaign_id",
    ReportSnapshot.Dimension.PERSONA: "persona_id",
}
UNTOUCHED_STAGES = sorted(OPEN_STAGES - {Stage.NURTURE})


def _grouped(qs: Any, group: str | None, **aggs: Any) -> list[tuple[int, dict[str, int]]]:
    if group is None:
        return [(0, qs.order_by().aggregate(**aggs))]
    rows = qs.order_by().values(group).annotate(**aggs).order_by()
    return [(row.pop(group), row) for row in rows if row.get(group) is not None]


def take_snapshot(now: dt.datetime | None = None) -> int:
    """Store today's figures (leads per stage, SLA met/breached today, untouched buckets)
    for everyone and per team, rep, channel, campaign and persona. Running it again the
    same day replaces that day's rows. Returns the number of rows written."""
    now = now or timezone.now()
    day = timezone.localtime(now).date()
    day_start = local_midnight(day)
    day_end = local_midnight(day + dt.timedelta(days=1))
    thresholds = untouched_thresholds()
    values: dict[tuple[str, int], dict[str, int]] = {}
    for dimension, group in DIMENSIONS.items():
        stage_field = "stage"
        if group is None:
            funnel = Lead.objects.order_by().values(stage_field).annotate(n=Count("pk"))
            for row in funnel:
                values.setdefault((dimension, 0), {})[f"stage_{row['stage']}"] = row["n"]
        else:
            funnel = (
                Lead.objects.filter(**{f"{group}__isnull": False})
                .order_by()
                .values(group, stage_field)
                .annotate(n=Count("pk"))
                .order_by()
            )
            for row in funnel:
                values.setdefault((dimension, row[group]), {})[f"stage_{row['stage']}"] = row["n"]
        decided = Lead.objects.filter(
            Q(first_touch_at__gte=day_start, first_touch_at__lt=day_end)
            | Q(sla_due_at__gte=day_start, sla_due_at__lt=day_end)
        )
        for key, row in _grouped(
            decided,
            group,
            sla_met=Count(
                "pk",
                filter=Q(
                    sla_status=Lead.SLAStatus.MET,
                    first_touch_at__gte=day_start,
                    first_touch_at__lt=day_end,
                ),
            ),
            sla_breached=Count(
                "pk",
                filter=Q(
                    sla_status=Lead.SLAStatus.BREACHED,
                    sla_due_at__gte=day_start,
                    sla_due_at__lt=day_end,
                ),
            ),
        ):
            values.setdefault((dimension, key), {}).update(row)
        waiting = Lead.objects.filter(owner__isnull=False, stage__in=UNTOUCHED_STAGES).filter(
            Q(last_touch_at__isnull=True) | Q(last_touch_at__lt=F("assigned_at"))
        )
        buckets = {
            f"untouched_{i}": Count("pk", filter=Q(assigned_at__lte=now - dt.timedelta(days=days)))
            for i, days in enumerate(thresholds, start=1)
        }
        for key, row in _grouped(waiting, group, **buckets):
            values.setdefault((dimension, key), {}).update(row)
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


def fill_first_touch_times(batch: int = 500) -> int:
    """Stamp `business_seconds_to_first_touch` on touched leads that lack it (demo data,
    leads touched before the field existed). Idempotent. Returns how many were filled."""
    spec = Rules.in_force().calendar
    filled = 0
    while True:
        leads = list(
            Lead.objects.filter(
                first_touch_at__isnull=False, business_seconds_to_first_touch__isnull=True
            ).order_by("pk")[:batch]
        )
        if not leads:
            return filled
        for lead in leads:
            seconds = business_seconds_to_first_touch(lead, lead.first_touch_at, spec)
            Lead.objects.filter(pk=lead.pk).update(business_seconds_to_first_touch=seconds)
        filled += len(leads)
