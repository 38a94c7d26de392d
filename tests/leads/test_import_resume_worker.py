"""Real worker processes: an import survives `kill -9` of its worker, and runs on a worker
that shares nothing with the web process but the database and the broker.

Default pass: the embedded filesystem broker and the SQLite test database file. With
DATABASE_URL / CELERY_BROKER_URL set (CI's second pass): Postgres and Redis.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from agreements.models import Channel
from leads.importing.batches import confirm_batch, create_batch
from leads.models import Activity, ImportBatch, Lead, LeadEvent
from leads.tasks import resume_stalled_imports, run_import
from tests.factories import ChannelFactory
from tests.leads import import_files as files
from tests.leads.import_worker import ImportWorker, purge_default_queue

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Many small chunks: the kill lands mid-import even on a fast machine.
ROWS = 4000
CHUNK = 50
STALLED_AFTER = 3  # seconds without a heartbeat


@pytest.fixture
def channel(transactional_db):
    """The seeded channel (a flush by an earlier transactional test removes it: made again)."""
    found = Channel.objects.filter(slug="purchased-list").first()
    return found or ChannelFactory(slug="purchased-list", name="Purchased list")


@pytest.fixture
def workers(transactional_db):
    """Start workers with start(var_dir, ...); every one still running is stopped at the end."""
    purge_default_queue()
    started: list[ImportWorker] = []

    def start(var_dir: Path, **kwargs) -> ImportWorker:
        worker = ImportWorker(var_dir, **kwargs)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.stop()


def big_list(rows: int) -> bytes:
    people = []
    for i in range(rows):
        p = files.person(i)
        p["email"] = f"person{i}@list{i % 50}.example"
        people.append(files.row_for("apollo", p))
    return files.to_csv(files.records("apollo", people))


def batch_now(batch: ImportBatch) -> ImportBatch:
    return ImportBatch.objects.get(pk=batch.pk)


def test_an_import_whose_worker_is_killed_completes_after_a_restart_without_duplicates(
    workers, channel, settings, tmp_path
):
    settings.IMPORT_STALLED_AFTER = STALLED_AFTER
    tuning = {"IMPORT_CHUNK_ROWS": str(CHUNK), "IMPORT_STALLED_AFTER": str(STALLED_AFTER)}
    batch, _ = create_batch(big_list(ROWS), "big.csv", channel=channel, campaign_name="Big list")
    confirm_batch(batch)
    first = workers(tmp_path / "worker", **tuning)
    run_import.delay(batch.pk)

    first.wait_until(lambda: batch_now(batch).rows_done >= CHUNK, "the import got going")
    first.kill()

    killed = batch_now(batch)
    assert killed.status == ImportBatch.Status.RUNNING
    assert 0 < killed.rows_done < ROWS, "the worker finished before it was killed"
    second = workers(tmp_path / "worker", log_name="restarted.log", **tuning)
    second.wait_until(lambda: batch_now(batch).is_stalled, "the batch shows as stalled")
    resume_stalled_imports.delay()  # what beat sends every minute
    second.wait_until(
        lambda: batch_now(batch).status == ImportBatch.Status.DONE, "the import completed"
    )

    done = batch_now(batch)
    assert done.attempts == 2, second.log()
    assert (done.created, done.updated, done.unchanged, done.rejected) == (ROWS, 0, 0, 0)
    assert (done.rows_done, done.total_rows, done.attempts) == (ROWS, ROWS, 2)
    leads = Lead.objects.filter(source_batch=batch)
    assert leads.count() == ROWS == Lead.objects.count()
    assert_once_per_lead(Activity.objects.filter(kind=Activity.Kind.LIST_IMPORT), "lead_id")
    for kind in (LeadEvent.Kind.STAGE_ENTERED, LeadEvent.Kind.TOUCH_POINT):
        assert_once_per_lead(LeadEvent.objects.filter(kind=kind), "lead_id")


def assert_once_per_lead(queryset, column: str) -> None:
    counts = Counter(queryset.values_list(column, flat=True))
    assert len(counts) == ROWS
    assert set(counts.values()) == {1}


def test_a_worker_on_another_machine_runs_an_import_the_web_process_stored(
    workers, channel, client, marketer, tmp_path
):
    """Nothing shared but the database and the broker: the worker's var dir (its disk) is not
    the web process's, yet it reads the uploaded file."""
    machine = tmp_path / "worker-machine"
    assert machine.resolve() != Path(settings.VAR).resolve()
    worker = workers(machine)
    client.force_login(marketer)
    data, expected = files.messy_file("apollo")

    client.post(
        reverse("leads:imports"),
        {"file": SimpleUploadedFile("apollo.csv", data), "channel": channel.pk},
    )
    batch = ImportBatch.objects.get()
    client.post(reverse("leads:import_confirm", args=[batch.pk]))  # queues run_import

    worker.wait_until(
        lambda: batch_now(batch).is_finished, "the worker on the other machine finished"
    )
    done = batch_now(batch)
    assert done.status == ImportBatch.Status.DONE, f"{done.error}\n{worker.log()}"
    assert (done.created, done.rejected) == (expected["created"], expected["rejected"])
    assert not list((machine / "media").glob("**/*.csv"))
