"""Celery tasks of the reports app: the daily snapshots the trends report draws."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from . import pacing, services


@shared_task(name="reports.tasks.snapshot_reports", acks_late=True)
def snapshot_reports() -> dict[str, int]:
    """Store yesterday's snapshot of the trends' figures, counted to the day's end (it
    runs just after midnight; idempotent per day)."""
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    return {"snapshot_rows": services.take_snapshot(day=yesterday)}


@shared_task(name="reports.tasks.snapshot_marketing_pacing", acks_late=True)
def snapshot_marketing_pacing() -> dict[str, int]:
    """Store today's pacing of each marketing commitment (idempotent per day)."""
    return {"snapshots": pacing.snapshot_marketing_pacing()}
