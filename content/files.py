"""Where an asset's uploaded file is kept: somewhere every web process can read it.

As with imported lists (leads.importing.uploads), the bytes go into the database
(content.AssetFile) by default; with a "content" storage configured (settings.STORAGES,
e.g. an S3-compatible bucket through django-storages) they go there and the version
keeps the file's name. Nothing lives on one machine's disk.
"""

from __future__ import annotations

import mimetypes
import re

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.core.files.uploadedfile import UploadedFile

from .models import AssetFile, AssetVersion

STORAGE_ALIAS = "content"
MAX_FILE_BYTES = 25 * 1024 * 1024


class FileGone(Exception):
    """The stored file of a version cannot be read any more."""


def _storage() -> Storage | None:
    """The configured "content" storage, or None: keep the bytes in the database."""
    if STORAGE_ALIAS not in settings.STORAGES:
        return None
    return storages[STORAGE_ALIAS]


def safe_name(name: str) -> str:
    """A file name fit for a header and a storage path."""
    return re.sub(r"[^\w.-]", "_", name)[-100:] or "file"


def describe(upload: UploadedFile) -> dict[str, object]:
    """The version fields an upload fills: name, type and size."""
    name = safe_name(upload.name or "file")
    guessed = mimetypes.guess_type(name)[0]
    return {
        "file_name": name,
        "content_type": guessed or "application/octet-stream",
        "size": upload.size or 0,
    }


def store_file(version: AssetVersion, upload: UploadedFile) -> None:
    """Keep a saved version's file (in the caller's transaction)."""
    data = b"".join(upload.chunks())
    storage = _storage()
    if storage is None:
        AssetFile.objects.create(version=version, data=data)
        return
    name = storage.save(
        f"{version.asset_id}/{version.number}/{version.file_name}", ContentFile(data)
    )
    version.storage_name = name
    version.save(update_fields=["storage_name"])


def read_file(version: AssetVersion) -> bytes:
    """The bytes of a version's file; FileGone when they are not there any more."""
    if not version.storage_name:
        stored = AssetFile.objects.filter(version_id=version.pk).first()
        if stored is None:
            raise FileGone(version.pk)
        return bytes(stored.data)
    storage = _storage()
    if storage is None or not storage.exists(version.storage_name):
        raise FileGone(version.pk)
    with storage.open(version.storage_name, "rb") as f:
        return f.read()
