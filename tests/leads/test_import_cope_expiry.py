"""Uploads abandoned for a day (uploaded, never confirmed) expire with their stored bytes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from agreements.models import Channel
from config.schedules import EXPIRE_UPLOADS, SCHEDULES
from leads.importing.batches import confirm_batch, create_batch
from leads.models import ImportBatch, ImportUpload
from leads.tasks import expire_abandoned_uploads_task

DATA = b"Email,First Name\nada@analytical.example,Ada\n"


@pytest.fixture
def channel(db):
    return Channel.objects.get(slug="purchased-list")


def _aged(batch: ImportBatch, hours: float) -> ImportBatch:
    when = timezone.now() - dt.timedelta(hours=hours)
    ImportBatch.objects.filter(pk=batch.pk).update(created_at=when)
    return batch


def test_an_upload_never_confirmed_for_a_day_is_removed_with_its_bytes(
    channel, django_capture_on_commit_callbacks
):
    old, _ = create_batch(DATA, "old.csv", channel=channel)
    recent, _ = create_batch(DATA, "recent.csv", channel=channel)
    confirmed, _ = create_batch(DATA, "confirmed.csv", channel=channel)
    confirm_batch(confirmed)
    for batch, hours in ((old, 25), (recent, 23), (confirmed, 48)):
        _aged(batch, hours)
    with django_capture_on_commit_callbacks(execute=True):
        assert expire_abandoned_uploads_task() == 1
    assert set(ImportBatch.objects.values_list("file_name", flat=True)) == {
        "recent.csv",
        "confirmed.csv",
    }
    assert not ImportUpload.objects.filter(batch_id=old.pk).exists()
    assert ImportUpload.objects.count() == 2


def test_a_stored_file_goes_with_its_upload(
    channel, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.STORAGES = {
        **settings.STORAGES,
        "imports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    batch, _ = create_batch(DATA, "old.csv", channel=channel)
    name = ImportUpload.objects.get(batch=batch).name
    assert (tmp_path / name).exists()
    _aged(batch, 30)
    with django_capture_on_commit_callbacks(execute=True):
        assert expire_abandoned_uploads_task() == 1
    assert not (tmp_path / name).exists()


def test_the_expiry_runs_on_the_one_schedules_table():
    spec = next(s for s in SCHEDULES if s.name == EXPIRE_UPLOADS)
    assert spec.task == "leads.tasks.expire_abandoned_uploads"
