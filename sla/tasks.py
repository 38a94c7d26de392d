"""Celery tasks of the SLA engine. Each is an idempotent scan of the database.

They take no lead ids: a lost message, a repeated one, or two workers running
the same task at once give the same records and the same notifications. A worker
killed mid-run needs no one to step in: whatever it committed stays (a breach is
written with its notifications in one transaction; warnings and escalations it
recorded but did not tell are told by the next run), and the emails it held go out
after their lease. The next scheduled run does the rest; with acks_late the broker
may also deliver the same message again, which is safe.
"""

from __future__ import annotations

from celery import shared_task

from notifications.services import deliver_pending_emails

from . import untouched
from .check import run_check


@shared_task(name="sla.tasks.check_sla", acks_late=True)
def check_sla() -> dict[str, int]:
    """Run the SLA check once, then email what it (or anything else) notified."""
    result = run_check()
    summary = result.as_dict()
    summary["emailed"] = deliver_pending_emails()
    return summary


@shared_task(name="sla.tasks.flag_untouched_leads", acks_late=True)
def flag_untouched_leads() -> dict[str, int]:
    """Flag leads untouched for the agreement's 30/60/90 days since assignment."""
    flagged = untouched.flag_untouched_leads()
    return {"flagged": flagged, "emailed": deliver_pending_emails()}
