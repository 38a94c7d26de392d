"""List import batches: create (store the file and map its headers), preview (the dry run),
run (clean, then take the rows in through the writer), confirm, progress, and resume.

A batch runs in phases, as pretix's importer does: read the file, map its headers,
clean every row before anything is written (each error naming row and column), then
write in short transactions, idempotent by email and batch bookkeeping so a re-run
after a crash and a re-import of the same file create nothing new. The worker running
a batch beats its heartbeat; a batch with none for IMPORT_STALLED_AFTER seconds is
stalled, and the sweeper (leads.tasks.resume_stalled_imports) or a person queues it
again, to resume where it stopped. Reverting is in revert.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from config.memory import bulk_phase
from leads.models import (
    ImportBatch,
    ImportRowError,
    LeadError,
)

from .cleaning import clean_rows
from .files import ImportFileError, Table, read_table
from .presets import auto_mapping, detect_preset, unrecognised_columns
from .uploads import open_upload, store_upload
from .writer import (
    Summary,
    get_campaign,
    plan_import,
    write_import,
)

# Row warnings kept on a batch for its pages (the rest are counted).
WARNINGS_KEPT = 100


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
    table: Table | None = None,
) -> tuple[ImportBatch, Table]:
    """Store an uploaded file as a new batch with its automatic header mapping; `table` is
    the file already read by read_table(data, file_name), when the caller has read it.

    Raises ImportFileError when the file as a whole cannot be read.
    """
    if table is None:
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
                # Columns to show on the mapping step before the preview (a vendor's
                # export names its other columns on the preview as not imported).
                "unrecognised": columns_to_look_at(table, saved_mapping),
            },
            total_rows=len(table.rows),
        )
        batch.save()
        store_upload(batch, data)
    batch._table = table  # the same bytes as the stored file: run_batch need not read it again
    return batch, table


def columns_to_look_at(table: Table, saved_mapping: dict[str, str] | None = None) -> list[int]:
    """The columns a person must see before the rows are imported: those neither we nor the
    saved mapping know, unless the file is a vendor's export (the preview names its other
    columns as not imported)."""
    if detect_preset(table.headers):
        return []
    return unrecognised_columns(table.headers, table.rows, saved_mapping)


def batch_table(batch: ImportBatch) -> Table:
    """The batch's file, read (once per batch object: create_batch keeps what it read)."""
    table = getattr(batch, "_table", None)
    if table is None:
        chosen = (batch.mapping or {}).get("encoding", "")
        with open_upload(batch) as handle:  # an XLSX is read from it as a stream
            table = read_table(handle, batch.file_name, chosen)
        batch._table = table
    return table


def change_encoding(batch: ImportBatch, encoding: str) -> Table:
    """Read an uploaded batch's file again in the encoding a person chose ("" for the
    guess); headers that read differently now are mapped afresh.

    Raises ImportFileError (and changes nothing) when the file cannot be read so.
    """
    old = batch.mapping or {}
    batch._table = None
    chosen = {**old, "encoding": encoding}
    with open_upload(batch) as handle:
        table = read_table(handle, batch.file_name, encoding)
    if table.headers != old.get("headers"):
        chosen["headers"] = table.headers
        chosen["columns"] = auto_mapping(table.headers)
        preset = detect_preset(table.headers)
        batch.preset = preset.identifier if preset else ""
        chosen["unrecognised"] = columns_to_look_at(table)
    batch.mapping = chosen
    batch.total_rows = len(table.rows)
    batch.save(update_fields=["mapping", "total_rows", "preset"])
    batch._table = table
    return table


def needs_mapping(batch: ImportBatch) -> bool:
    """Whether the mapping step comes before the preview: no email column, or a column
    the automatic mapping does not know (nothing is dropped without a person seeing it)."""
    mapping = batch.mapping or {}
    return "email" not in mapping.get("columns", []) or bool(mapping.get("unrecognised"))


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
            "warned": len(summary.warnings),
            "warnings": [w.as_dict() for w in summary.warnings[:WARNINGS_KEPT]],
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
        status=ImportBatch.Status.RUNNING,
        started_at=batch.started_at or now,
        heartbeat_at=now,
        error="",
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
    rejected = len(cleaned.issues)
    ImportBatch.objects.filter(pk=batch.pk).update(
        total_rows=cleaned.total, rejected=rejected, heartbeat_at=timezone.now()
    )
    batch.total_rows, batch.rejected = cleaned.total, rejected
    with transaction.atomic():
        _replace_row_errors(batch, cleaned.issues)
    summary = write_import(batch, cleaned, progress=progress)
    # A file whose rows were all rejected writes no chunk, so the counts are set here too.
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.DONE,
        finished_at=timezone.now(),
        rows_done=cleaned.total,
        rejected=rejected,
    )
    batch.status, batch.rows_done = ImportBatch.Status.DONE, cleaned.total
    return summary


def confirm_batch(batch: ImportBatch) -> None:
    """Mark a previewed batch as queued (once); the caller then queues leads.tasks.run_import."""
    if batch.status != ImportBatch.Status.UPLOADED:
        raise LeadError("This import was already confirmed.")
    now = timezone.now()
    updated = ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.UPLOADED).update(
        status=ImportBatch.Status.QUEUED, heartbeat_at=now
    )
    if not updated:
        raise LeadError("This import was already confirmed.")
    batch.status = ImportBatch.Status.QUEUED
    batch.heartbeat_at = now


# --- Resuming after a worker died ---------------------------------------------------


def _silent_since() -> dt.datetime:
    """A batch whose last sign of life is older than this is stalled."""
    return timezone.now() - dt.timedelta(seconds=settings.IMPORT_STALLED_AFTER)


def _stalled() -> Q:
    """Queued or running with no sign of a worker for IMPORT_STALLED_AFTER seconds."""
    silent = Q(heartbeat_at__lt=_silent_since()) | Q(heartbeat_at__isnull=True)
    return Q(status__in=[ImportBatch.Status.QUEUED, ImportBatch.Status.RUNNING]) & silent


def claim_batch(batch_id: int) -> ImportBatch | None:
    """Take a queued (or stalled) batch for this worker, once: None when it is finished,
    or another worker runs it and is alive (a repeated or redelivered message)."""
    now = timezone.now()
    claimable = Q(status=ImportBatch.Status.QUEUED) | _stalled()
    claimed = ImportBatch.objects.filter(claimable, pk=batch_id).update(
        status=ImportBatch.Status.RUNNING,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        started_at=Coalesce("started_at", now),
        error="",
    )
    if not claimed:
        return None
    return ImportBatch.objects.select_related("channel", "campaign").get(pk=batch_id)


def stalled_batch_ids() -> list[int]:
    """The batches the sweeper queues again (see requeue_batch)."""
    return list(ImportBatch.objects.filter(_stalled()).order_by("pk").values_list("pk", flat=True))


def requeue_batch(batch: ImportBatch, *, failed_too: bool = False) -> bool:
    """Mark a stalled batch (or, with `failed_too`, a failed one) as queued again; the
    caller then queues leads.tasks.run_import. False when it is not stalled (any more)."""
    requeueable = _stalled()
    if failed_too:
        requeueable |= Q(status=ImportBatch.Status.FAILED)
    now = timezone.now()
    updated = ImportBatch.objects.filter(requeueable, pk=batch.pk).update(
        status=ImportBatch.Status.QUEUED, heartbeat_at=now, requeued_at=now, error=""
    )
    if updated:
        batch.status, batch.heartbeat_at, batch.requeued_at = ImportBatch.Status.QUEUED, now, now
    return bool(updated)


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
