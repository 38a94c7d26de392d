"""Celery tasks of the reports app: the daily snapshot the trends report draws."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="reports.tasks.snapshot_reports", acks_late=True)
def snapshot_reports() -> dict[str, int]:
    """Fill missing first-touch times, then store today's snapshot (idempotent per day)."""
    filled = services.fill_first_touch_times()
    return {"first_touch_times": filled, "snapshot_rows": services.take_snapshot()}
