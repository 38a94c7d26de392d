"""List import batches: create (store the file and map its headers), preview (the dry run),
run (clean, then take the rows in through the writer), confirm, progress and revert.

A batch runs in phases, as pretix's importer does: read the file, map its headers,
clean every row before anything is written (each error naming row and column), then
write in short transactions, idempotent by email and batch bookkeeping so a re-run
after a crash and a re-import of the same file create nothing new. A revert removes
what a batch created (unless worked) and restores the fields it filled.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from leads.models import (
    Account,
    Activity,
    ImportBatch,
    ImportChange,
    ImportRowError,
    Lead,
    LeadError,
)

from .cleaning import clean_rows
from .columns import FILL_FIELDS
from .files import ImportFileError, Table, read_table
from .presets import auto_mapping, detect_preset
from .writer import (
    IN_CHUNK,
    Summary,
    activity_key,
    get_campaign,
    in_chunks,
    plan_import,
    write_import,
)


@contextlib.contextmanager
def bulk_phase() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a file is read, cleaned or written.

    An import keeps a few objects per cell alive until it ends, and each collection
    of the oldest generation walks all of them again: a tenth to a fifth of an
    import's time. The import makes no reference cycles; whatever others leave
    meanwhile is collected once the collector is back on (only if it was on before).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@bulk_phase()
def create_batch(
    data: bytes,
    file_name: str,
    *,
    channel: Any,
    campaign_name: str = "",
    by: Any = None,
    saved_mapping: dict[str, str] | None = None,
) -> tuple[ImportBatch, Table]:
    """Store an uploaded file as a new batch with its automatic header mapping.

    Raises ImportFileError when the file as a whole cannot be read.
    """
    table = read_table(data, file_name)
    preset = detect_preset(table.headers)
    with transaction.atomic():
        batch = ImportBatch(
            created_by=by if getattr(by, "is_authenticated", False) else None,
            file_name=(file_name or "upload.csv")[-255:],
            file_size=len(data),
            checksum=checksum(data),
            channel=channel,
            campaign=get_campaign(campaign_name, channel),
            preset=preset.identifier if preset else "",
            mapping={
                "headers": table.headers,
                "columns": auto_mapping(table.headers, saved_mapping),
            },
            total_rows=len(table.rows),
        )
        batch.file.save(
            re.sub(r"[^\w.-]", "_", batch.file_name)[-100:], ContentFile(data), save=False
        )
        batch.save()
    batch._table = table  # the same bytes as the stored file: run_batch need not read it again
    return batch, table


def batch_table(batch: ImportBatch) -> Table:
    """The batch's file, read (once per batch object: create_batch keeps what it read)."""
    table = getattr(batch, "_table", None)
    if table is None:
        with batch.file.open("rb") as handle:
            table = read_table(handle.read(), batch.file_name)
        batch._table = table
    return table


def batch_mapping(batch: ImportBatch, table: Table) -> list[str]:
    """The batch's mapping aligned to the file's headers (auto-mapped where unset)."""
    mapping = list(batch.mapping.get("columns", [])) if batch.mapping else []
    if len(mapping) != len(table.headers):
        mapping = auto_mapping(table.headers)
    return mapping


def _replace_row_errors(batch: ImportBatch, issues: Any) -> None:
    """Store a batch's rejected rows, replacing those of an earlier preview or run."""
    ImportRowError.objects.filter(batch=batch).delete()
    ImportRowError.objects.bulk_create(
        [
            ImportRowError(
                batch=batch,
                row=i.row,
                column=i.column[:200],
                reason=i.reason[:500],
                values=[v[:1000] for v in i.values[:200]],
            )
            for i in issues
        ],
        batch_size=500,
    )


@bulk_phase()
def preview_batch(batch: ImportBatch) -> Summary:
    """Dry-run a batch and keep the counts and rejected rows for the preview page."""
    table = batch_table(batch)
    cleaned = clean_rows(table, batch_mapping(batch, table))
    summary = plan_import(cleaned)
    with transaction.atomic():
        _replace_row_errors(batch, summary.issues)
        batch.preview = {
            "total": summary.total,
            "created": summary.created,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "rejected": summary.rejected,
        }
        batch.total_rows = summary.total
        batch.save(update_fields=["preview", "total_rows"])
    return summary


@bulk_phase()
def run_batch(
    batch: ImportBatch, *, progress: Callable[[ImportBatch], None] | None = None
) -> Summary:
    """Run (or finish) a confirmed batch: read, clean and write; record the outcome."""
    now = timezone.now()
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.RUNNING, started_at=batch.started_at or now, error=""
    )
    batch.status = ImportBatch.Status.RUNNING
    batch.started_at = batch.started_at or now
    try:
        table = batch_table(batch)
        cleaned = clean_rows(table, batch_mapping(batch, table))
    except ImportFileError as exc:
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.FAILED, error=str(exc), finished_at=timezone.now()
        )
        raise
    ImportBatch.objects.filter(pk=batch.pk).update(total_rows=cleaned.total)
    batch.total_rows = cleaned.total
    with transaction.atomic():
        _replace_row_errors(batch, cleaned.issues)
    summary = write_import(batch, cleaned, progress=progress)
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.DONE, finished_at=timezone.now()
    )
    batch.status = ImportBatch.Status.DONE
    return summary


def confirm_batch(batch: ImportBatch) -> None:
    """Mark a previewed batch as queued (once); the caller then queues leads.tasks.run_import."""
    if batch.status != ImportBatch.Status.UPLOADED:
        raise LeadError("This import was already confirmed.")
    updated = ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.UPLOADED).update(
        status=ImportBatch.Status.QUEUED
    )
    if not updated:
        raise LeadError("This import was already confirmed.")
    batch.status = ImportBatch.Status.QUEUED


@dataclass
class Progress:
    done: int
    total: int
    percent: int
    rate: float  # rows per second
    eta_seconds: int | None


def progress_of(batch: ImportBatch, now: dt.datetime | None = None) -> Progress:
    """Rows done, rows per second and the time left, from the batch's bookkeeping."""
    now = now or timezone.now()
    total = max(batch.total_rows, batch.rows_done)
    percent = (
        100
        if batch.status == ImportBatch.Status.DONE
        else (int(100 * batch.rows_done / total) if total else 0)
    )
    end = batch.finished_at or now
    elapsed = (end - batch.started_at).total_seconds() if batch.started_at else 0
    rate = batch.rows_done / elapsed if elapsed > 0 else 0.0
    eta = int((total - batch.rows_done) / rate) if rate and not batch.is_finished else None
    return Progress(batch.rows_done, total, percent, rate, eta)


# --- Revert --------------------------------------------------------------------


def worked_lead_ids(lead_ids: Sequence[int]) -> dict[int, str]:
    """Of these leads, the ones someone worked since the import, with why (kept by a revert)."""
    worked: dict[int, str] = {}
    for part in in_chunks(list(lead_ids), IN_CHUNK):
        for pk, version, touched in Lead.objects.filter(pk__in=part).values_list(
            "pk", "version", "first_touch_at"
        ):
            if touched is not None:
                worked[pk] = "a rep touched it"
            elif version > 1:
                worked[pk] = "it was changed after the import"
        for pk in (
            Activity.objects.filter(lead_id__in=part)
            .exclude(kind=Activity.Kind.LIST_IMPORT)
            .values_list("lead_id", flat=True)
        ):
            worked.setdefault(pk, "it has activities")
        for pk in (
            Lead.objects.filter(pk__in=part)
            .filter(
                Q(stage_changes__isnull=False) | Q(deals__isnull=False) | Q(feedback__isnull=False)
            )
            .values_list("pk", flat=True)
        ):
            worked.setdefault(pk, "it moved through the lifecycle")
    return worked


def revert_batch(batch: ImportBatch, *, by: Any) -> list[dict[str, Any]]:
    """Undo a batch: delete the leads it created (except worked ones) and restore what it filled.

    Returns the leads kept because they were worked ({id, email, reason}).
    """
    if batch.status in (ImportBatch.Status.QUEUED, ImportBatch.Status.RUNNING):
        raise LeadError("This import is still running; wait for it to finish before reverting.")
    if batch.status == ImportBatch.Status.REVERTED:
        raise LeadError("This import was already reverted.")
    key = activity_key(batch)
    with transaction.atomic():
        created = list(Lead.objects.filter(source_batch=batch).values_list("pk", "email"))
        worked = worked_lead_ids([pk for pk, _ in created])
        kept = [
            {"id": pk, "email": email, "reason": worked[pk]}
            for pk, email in created
            if pk in worked
        ]
        remove = [pk for pk, _ in created if pk not in worked]
        for part in in_chunks(remove, IN_CHUNK):
            Lead.objects.filter(pk__in=part).delete()
        for change in ImportChange.objects.filter(batch=batch).iterator(chunk_size=1000):
            restore = {}
            lead = (
                Lead.objects.filter(pk=change.lead_id)
                .only(*FILL_FIELDS, "account_id", "persona_id")
                .first()
            )
            if lead is None:
                continue
            for name, value in change.filled.items():
                if getattr(lead, name) == value:  # untouched since the import wrote it
                    restore[name] = None if name.endswith("_id") else ""
            if restore:
                Lead.objects.filter(pk=lead.pk).update(
                    **restore, version=F("version") + 1, updated_at=timezone.now()
                )
            if change.wrote_activity:
                Activity.objects.filter(lead_id=lead.pk, once_key=key).delete()
        ImportChange.objects.filter(batch=batch).delete()
        for part in in_chunks(list(batch.accounts_created), IN_CHUNK):
            Account.objects.filter(pk__in=part, lead__isnull=True, deal__isnull=True).delete()
        batch.status = ImportBatch.Status.REVERTED
        batch.reverted_at = timezone.now()
        batch.reverted_by = by if getattr(by, "is_authenticated", False) else None
        batch.revert_kept = kept
        batch.save(update_fields=["status", "reverted_at", "reverted_by", "revert_kept"])
    return kept
