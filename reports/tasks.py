"""Celery tasks of the reports app: the daily snapshots the trends report draws."""

from __future__ import annotations

from celery import shared_task

from . import facts, pacing, services


@shared_task(name="reports.tasks.snapshot_reports", acks_late=True)
def snapshot_reports() -> dict[str, int]:
    """Fill missing first-touch times, store today's snapshot (idempotent per day), and sum
    the delivery tally's rows into one per key (its triggers append a row per change)."""
    filled = services.fill_first_touch_times()
    return {
        "first_touch_times": filled,
        "snapshot_rows": services.take_snapshot(),
        "tally_rows": facts.compact_tally(),
    }


@shared_task(name="reports.tasks.snapshot_marketing_pacing", acks_late=True)
def snapshot_marketing_pacing() -> dict[str, int]:
    """Store today's pacing of each marketing commitment (idempotent per day)."""
    return {"snapshots": pacing.snapshot_marketing_pacing()}
