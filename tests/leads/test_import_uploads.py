"""Uploaded lists are kept where every web process and worker reads them: the database by
default, or a configured "imports" storage (an S3-compatible bucket in production)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from agreements.models import Channel
from leads.importing.batches import batch_table, create_batch
from leads.importing.files import ImportFileError
from leads.importing.uploads import open_upload
from leads.models import ImportBatch, ImportUpload
from tests.leads import import_files as files

DATA = files.messy_file("apollo")[0]


@pytest.fixture
def channel(db):
    return Channel.objects.get(slug="purchased-list")


@pytest.mark.django_db
def test_an_upload_is_kept_in_the_database_not_on_disk(channel, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path

    batch, _ = create_batch(DATA, "apollo.csv", channel=channel)

    upload = ImportUpload.objects.get(batch=batch)
    assert (bytes(upload.data), upload.name, upload.size) == (DATA, "", len(DATA))
    with open_upload(ImportBatch.objects.get(pk=batch.pk)) as handle:
        assert handle.read() == DATA
    assert not list(tmp_path.rglob("*.csv"))


@pytest.mark.django_db
def test_an_upload_goes_to_the_imports_storage_when_one_is_configured(channel, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "imports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "bucket")},
        },
    }

    batch, _ = create_batch(DATA, "apollo q1.csv", channel=channel)

    upload = ImportUpload.objects.get(batch=batch)
    assert (bytes(upload.data), upload.size) == (b"", len(DATA))
    assert (tmp_path / "bucket" / upload.name).read_bytes() == DATA
    fresh = ImportBatch.objects.get(pk=batch.pk)
    assert len(batch_table(fresh).rows) == len(batch_table(batch).rows)


@pytest.mark.django_db
def test_a_missing_upload_gives_a_clear_message(client, marketer, channel):
    batch, _ = create_batch(DATA, "apollo.csv", channel=channel)
    ImportUpload.objects.filter(batch=batch).delete()
    with pytest.raises(ImportFileError, match="missing"):
        open_upload(batch)
    client.force_login(marketer)

    response = client.get(reverse("leads:import_preview", args=[batch.pk]), follow=True)

    assert response.status_code == 200
    assert "The uploaded file of this import is missing" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_migrating_moves_uploads_from_disk_into_the_database(settings, tmp_path, capsys):
    settings.MEDIA_ROOT = tmp_path
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    before = [("leads", "0017_import_resume_and_uploads")]
    try:
        executor.migrate(before)
        old = executor.loader.project_state(before).apps
        channel = old.get_model("agreements", "Channel").objects.create(
            slug="old-list", name="Old list"
        )
        batches = old.get_model("leads", "ImportBatch").objects
        (tmp_path / "imports" / "2026" / "11").mkdir(parents=True)
        (tmp_path / "imports" / "2026" / "11" / "kept.csv").write_bytes(DATA)
        kept = batches.create(
            file="imports/2026/11/kept.csv", file_name="kept.csv", channel_id=channel.pk
        )
        lost = batches.create(
            file="imports/2026/11/lost.csv", file_name="lost.csv", channel_id=channel.pk
        )

        executor.loader.build_graph()
        executor.migrate([("leads", "0019_importbatch_file_is_in_the_database")])

        assert bytes(ImportUpload.objects.get(batch_id=kept.pk).data) == DATA
        assert not ImportUpload.objects.filter(batch_id=lost.pk).exists()
        assert f"#{lost.pk} (imports/2026/11/lost.csv)" in capsys.readouterr().out
    finally:
        executor.loader.build_graph()
        executor.migrate(leaves)
