"""Background work of the customers app (Celery); beat runs it per config/schedules.py."""

from __future__ import annotations

from celery import shared_task

from . import duplicates


@shared_task(name="customers.tasks.refresh_duplicates")
def refresh_duplicates() -> int:
    """Scan every lead for likely duplicates and store the pairs the page shows.

    A scan reads every lead (seconds at a million), too slow for a page request, so the
    page shows the last scan's pairs. Safe to run twice: it replaces them in one go.
    """
    return duplicates.refresh()
