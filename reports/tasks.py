"""Celery tasks of the reports app: the daily snapshots the trends report draws."""

from __future__ import annotations

from celery import shared_task

from . import pacing, services


@shared_task(name="reports.tasks.snapshot_reports", acks_late=True)
def snapshot_reports() -> dict[str, int]:
    """Store today's snapshot of the trends' figures (idempotent per day)."""
    return {"snapshot_rows": services.take_snapshot()}


@shared_task(name="reports.tasks.snapshot_marketing_pacing", acks_late=True)
def snapshot_marketing_pacing() -> dict[str, int]:
    """Store today's pacing of each marketing commitment (idempotent per day)."""
    return {"snapshots": pacing.snapshot_marketing_pacing()}
