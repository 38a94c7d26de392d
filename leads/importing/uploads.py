"""Where an uploaded list is kept: somewhere every web process and worker can read it.

By default the bytes go into the database (leads.ImportUpload), which every process
shares already; with an "imports" storage configured (settings.STORAGES, e.g. an
S3-compatible bucket through django-storages), they go there and the row keeps the
file's name. Nothing an import needs lives on one machine's disk.
"""

from __future__ import annotations

import io
import re
from typing import BinaryIO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

from leads.models import ImportBatch, ImportUpload

from .files import ImportFileError

STORAGE_ALIAS = "imports"
MISSING = "The uploaded file of this import is missing; upload the list again."


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
