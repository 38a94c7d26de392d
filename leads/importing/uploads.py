"""Where an uploaded list is kept: somewhere every web process and worker can read it.

By default the bytes go into the database (leads.ImportUpload), which every process
shares already; with an "imports" storage configured (settings.STORAGES, e.g. an
S3-compatible bucket through django-storages), they go there and the row keeps the
file's name. Nothing an import needs lives on one machine's disk.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import BinaryIO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.utils import timezone

from leads.models import ImportBatch, ImportUpload

from .files import ImportFileError

STORAGE_ALIAS = "imports"
MISSING = "The uploaded file of this import is missing; upload the list again."
# An upload never confirmed for this long is abandoned: the sweeper removes it.
ABANDONED_AFTER = dt.timedelta(days=1)
EXPIRE_CHUNK = 200


def _storage() -> Storage | None:
    """The configured "imports" storage, or None: keep the bytes in the database."""
    if STORAGE_ALIAS not in settings.STORAGES:
        return None
    return storages[STORAGE_ALIAS]


def store_upload(batch: ImportBatch, data: bytes) -> ImportUpload:
    """Keep a saved batch's file (in the caller's transaction)."""
    storage = _storage()
    if storage is None:
        return ImportUpload.objects.create(batch=batch, data=data, size=len(data))
    safe = re.sub(r"[^\w.-]", "_", batch.file_name)[-100:] or "upload.csv"
    name = storage.save(f"{batch.pk}/{safe}", ContentFile(data))
    return ImportUpload.objects.create(batch=batch, name=name, size=len(data))


def open_upload(batch: ImportBatch) -> BinaryIO:
    """The batch's file as a binary, seekable file object; close it after reading.

    Raises ImportFileError with a message fit for the user when the file is gone.
    """
    upload = ImportUpload.objects.filter(batch_id=batch.pk).first()
    if upload is None:
        raise ImportFileError(MISSING)
    if not upload.name:
        return io.BytesIO(bytes(upload.data))
    storage = _storage()
    if storage is None or not storage.exists(upload.name):
        raise ImportFileError(MISSING)
    return storage.open(upload.name, "rb")


def expire_abandoned_uploads(now: dt.datetime | None = None) -> int:
    """Remove every batch uploaded but never confirmed for ABANDONED_AFTER, with its
    stored bytes (and its preview's rejected rows). Returns how many went.

    Each chunk is deleted only while still unconfirmed, in one statement, so an upload
    confirmed meanwhile stays; a stored file is deleted once its row is gone.
    """
    cutoff = (now or timezone.now()) - ABANDONED_AFTER
    abandoned = ImportBatch.objects.filter(
        status=ImportBatch.Status.UPLOADED, created_at__lt=cutoff
    ).order_by("pk")
    removed = 0
    while ids := list(abandoned.values_list("pk", flat=True)[:EXPIRE_CHUNK]):
        with transaction.atomic():
            names = list(
                ImportUpload.objects.filter(batch_id__in=ids)
                .exclude(name="")
                .values_list("name", flat=True)
            )
            removed += abandoned.filter(pk__in=ids).delete()[1].get(ImportBatch._meta.label, 0)
            transaction.on_commit(lambda names=names: _delete_files(names))
    return removed


def _delete_files(names: list[str]) -> None:
    storage = _storage()
    if storage is None:
        return
    for name in names:
        storage.delete(name)
