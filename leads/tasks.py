"""Background work on leads (Celery); beat runs it on the schedules in config/schedules.py.

Every task here is an idempotent scan of the database: it takes no lead ids,
so a lost or repeated message, or two workers running it at once, gives the
same result.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from agreements.models import Agreement, BusinessCalendar, Holiday
from config import db
from notifications.models import Notification
from notifications.services import Message, notify

from . import clock, queries
from .importing.batches import claim_batch, requeue_batch, run_batch, stalled_batch_ids
from .importing.files import ImportFileError
from .importing.uploads import expire_abandoned_uploads
from .models import Activity, ImportBatch, Lead

WAKE_SUBJECT = "Back from nurture: follow up"
BATCH = 500


def _wake_key(lead: Lead) -> str:
    """One wake-up per stay in nurture: the stay is identified by when it began."""
    return f"nurture-return:{lead.stage_entered_at.isoformat()}"


def due_nurtured_leads() -> Any:
    """Leads in nurture whose return date has arrived and that were not woken this stay."""
    woken_this_stay = Activity.objects.filter(
        lead=OuterRef("pk"),
        kind=Activity.Kind.NURTURE_RETURN,
        occurred_at__gte=OuterRef("stage_entered_at"),
    )
    return (
        Lead.objects.filter(queries.back_from_nurture(timezone.localdate()))
        .exclude(Exists(woken_this_stay))
        .order_by("pk")
        .only(
            "pk",
            "owner_id",
            "nurture_until",
            "stage_entered_at",
            "first_name",
            "last_name",
            "email",
        )
    )


@shared_task(name="leads.tasks.wake_nurtured_leads")
def wake_nurtured_leads() -> int:
    """Put "Back from nurture: follow up" on each due nurtured lead's timeline, exactly once.

    Returns how many leads were woken by this run. A unique constraint on
    (lead, once_key) makes a concurrent run skip the leads the other one got.
    """
    woken = 0
    now = timezone.now()
    last_pk = 0
    while batch := list(due_nurtured_leads().filter(pk__gt=last_pk)[:BATCH]):
        last_pk = batch[-1].pk
        woken += sum(_wake(lead, now) for lead in batch)
    return woken


def _wake(lead: Lead, now: Any) -> bool:
    """Write the wake-up activity; False when a concurrent run already did."""
    try:
        with transaction.atomic():
            Activity.objects.create(
                lead_id=lead.pk,
                side=Activity.Side.SYSTEM,
                kind=Activity.Kind.NURTURE_RETURN,
                occurred_at=now,
                subject=WAKE_SUBJECT,
                body=f"Nurture return date {lead.nurture_until:%Y-%m-%d} has arrived.",
                once_key=_wake_key(lead),
            )
            _remind_owner(lead)
    except IntegrityError:
        return False
    return True


def _remind_owner(lead: Lead) -> None:
    """The owner's in-app reminder (and email) that the lead is back in their queue."""
    if lead.owner_id is None:
        return
    notify(
        [
            Message(
                user_id=lead.owner_id,
                kind=Notification.Kind.NURTURE_WAKEUP,
                event_key=f"nurture-wakeup:{lead.pk}:{_wake_key(lead)}",
                title=f"Back from nurture: follow up with {lead}",
                body=f"The return date you set ({lead.nurture_until:%Y-%m-%d}) has arrived; "
                "the lead is back in your queue.",
                lead_id=lead.pk,
                url=lead.get_absolute_url(),
            )
        ]
    )


@shared_task(name="leads.tasks.run_import", acks_late=True)
def run_import(batch_id: int) -> dict[str, Any]:
    """Run a confirmed list import. Safe twice, or after a worker died half-way.

    Only one worker runs a batch at a time (claim_batch); leads are matched by email
    and the batch's bookkeeping says what it already did, so a re-run completes the
    import without duplicates.
    """
    batch = claim_batch(batch_id)
    if batch is None:
        return {}
    try:
        summary = run_batch(batch)
    except ImportFileError as exc:
        return {"error": str(exc)}
    except Exception:
        ImportBatch.objects.filter(pk=batch_id).update(
            status=ImportBatch.Status.FAILED,
            error="The import stopped on an unexpected error; Ops has the details in the logs.",
            finished_at=timezone.now(),
        )
        raise
    return {k: v for k, v in summary.as_dict().items() if k not in ("errors", "warnings")}


def queue_import(batch_id: int) -> None:
    """Send a batch to a worker once the caller's transaction commits."""
    transaction.on_commit(lambda: run_import.delay(batch_id))


@shared_task(name="leads.tasks.resume_stalled_imports", acks_late=True)
def resume_stalled_imports() -> int:
    """Queue again every import whose worker stopped (no heartbeat for IMPORT_STALLED_AFTER
    seconds): a killed worker's import resumes where it stopped. Returns how many."""
    resumed = 0
    for batch in ImportBatch.objects.filter(pk__in=stalled_batch_ids()):
        if requeue_batch(batch):
            queue_import(batch.pk)
            resumed += 1
    return resumed


@shared_task(name="leads.tasks.expire_abandoned_uploads")
def expire_abandoned_uploads_task() -> int:
    """Remove uploads never confirmed for a day, with their stored bytes. Returns how many."""
    return expire_abandoned_uploads()


@shared_task(name="leads.tasks.gather_planner_statistics")
def gather_planner_statistics() -> bool:
    """Refresh SQLite's planner statistics (daily; nothing on Postgres). True when it ran."""
    return db.gather_planner_statistics()


@shared_task(name="leads.tasks.recompute_clocks", acks_late=True)
def recompute_clocks() -> dict[str, int]:
    """Move the running clocks' due times to what the calendar and rules in force say now."""
    return {"moved": clock.recompute_running_clocks()}


def recompute_clocks_after_commit(sender: type, instance: Any, **kwargs: Any) -> None:
    """A version, calendar, holiday or response rule was saved or deleted: recompute once
    it is committed, when it is part of the version in force (a draft's edits wait for its
    activation). Connected in LeadsConfig.ready to those models' save and delete."""
    if in_force(instance):
        transaction.on_commit(recompute_clocks.delay)


def in_force(instance: Any) -> bool:
    """Whether a version, or a calendar, holiday or rule of one, is the version in force."""
    active = Agreement.objects.filter(status=Agreement.Status.ACTIVE)
    if isinstance(instance, Agreement):
        return instance.status == Agreement.Status.ACTIVE
    if isinstance(instance, BusinessCalendar):
        return active.filter(calendar_id=instance.pk).exists()
    if isinstance(instance, Holiday):
        return active.filter(calendar_id=instance.calendar_id).exists()
    return active.filter(pk=instance.agreement_id).exists()
