"""Nothing stuck: a batch whose worker stopped is stalled, the sweeper queues it again, it
resumes where it stopped without duplicates, and the page says so and offers a retry."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from agreements.models import Channel
from config.celery import app as celery_app
from config.schedules import RESUME_IMPORTS
from leads.importing import writer
from leads.importing.batches import claim_batch, confirm_batch, create_batch, run_batch
from leads.models import Activity, ImportBatch, Lead
from leads.tasks import resume_stalled_imports
from tests.leads import import_files as files

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(db):
    return Channel.objects.get(slug="purchased-list")


@pytest.fixture
def eager(django_capture_on_commit_callbacks):
    """Tasks queued inside the block run at once (Celery eager, on-commit hooks executed)."""

    class Eager:
        def __enter__(self):
            celery_app.conf.task_always_eager = True
            self.hooks = django_capture_on_commit_callbacks(execute=True)
            return self.hooks.__enter__()

        def __exit__(self, *exc):
            try:
                return self.hooks.__exit__(*exc)
            finally:
                celery_app.conf.task_always_eager = False

    return Eager


def apollo(count: int) -> bytes:
    rows = [files.row_for("apollo", files.person(i)) for i in range(count)]
    return files.to_csv(files.records("apollo", rows))


def silent_for(batch: ImportBatch, seconds: int) -> None:
    """As if the worker running it last reported `seconds` ago."""
    ImportBatch.objects.filter(pk=batch.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(seconds=seconds)
    )


def killed_half_way(channel, monkeypatch) -> ImportBatch:
    """A confirmed batch whose worker died during its second chunk (3 rows per chunk)."""
    batch, _ = create_batch(apollo(8), "list.csv", channel=channel, campaign_name="Spring")
    confirm_batch(batch)
    claim_batch(batch.pk)
    monkeypatch.setattr(writer, "CHUNK", 3)
    real = writer.take_in_leads
    calls = {"n": 0}

    def dies_on_second_chunk(entry, rows):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed")
        return real(entry, rows)

    monkeypatch.setattr(writer, "take_in_leads", dies_on_second_chunk)
    with pytest.raises(SystemExit):
        run_batch(batch)
    monkeypatch.setattr(writer, "take_in_leads", real)
    batch.refresh_from_db()
    return batch


def test_a_batch_is_claimed_by_one_worker_only(channel):
    batch, _ = create_batch(apollo(2), "list.csv", channel=channel)
    confirm_batch(batch)

    assert claim_batch(batch.pk) is not None
    assert claim_batch(batch.pk) is None  # a repeated message while the first worker lives


def test_a_silent_running_batch_is_stalled_and_can_be_claimed_again(channel, settings):
    batch, _ = create_batch(apollo(2), "list.csv", channel=channel)
    confirm_batch(batch)
    claimed = claim_batch(batch.pk)
    assert not claimed.is_stalled

    silent_for(batch, settings.IMPORT_STALLED_AFTER + 1)

    batch.refresh_from_db()
    assert batch.is_stalled
    again = claim_batch(batch.pk)
    assert again is not None and again.attempts == 2


def test_the_sweeper_resumes_a_stalled_import_without_duplicates(
    channel, monkeypatch, settings, eager
):
    batch = killed_half_way(channel, monkeypatch)
    assert (batch.status, batch.rows_done) == (ImportBatch.Status.RUNNING, 3)
    silent_for(batch, settings.IMPORT_STALLED_AFTER + 1)

    with eager():
        assert resume_stalled_imports() == 1

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert (batch.created, batch.rows_done, batch.attempts) == (8, 8, 2)
    assert Lead.objects.count() == 8
    assert Activity.objects.filter(kind=Activity.Kind.LIST_IMPORT).count() == 8


def test_the_sweeper_leaves_a_live_import_alone(channel, eager):
    batch, _ = create_batch(apollo(2), "list.csv", channel=channel)
    confirm_batch(batch)
    claim_batch(batch.pk)

    with eager():
        assert resume_stalled_imports() == 0

    batch.refresh_from_db()
    assert (batch.status, batch.attempts) == (ImportBatch.Status.RUNNING, 1)


def test_the_sweeper_runs_every_minute_from_the_schedules_table():
    task = PeriodicTask.objects.get(name=RESUME_IMPORTS)
    assert task.task == "leads.tasks.resume_stalled_imports"
    assert (task.interval.every, task.interval.period) == (1, "minutes")


def test_the_page_shows_a_stalled_import_and_retry_resumes_it(
    client, marketer, channel, monkeypatch, settings, eager
):
    batch = killed_half_way(channel, monkeypatch)
    silent_for(batch, settings.IMPORT_STALLED_AFTER + 1)
    client.force_login(marketer)

    page = client.get(batch.get_absolute_url()).content.decode()
    assert "Stalled, resuming" in page
    assert 'data-testid="retry-form"' in page
    assert "Stalled, resuming" in client.get(reverse("leads:imports")).content.decode()

    with eager():
        client.post(reverse("leads:import_retry", args=[batch.pk]))

    batch.refresh_from_db()
    assert (batch.status, batch.created) == (ImportBatch.Status.DONE, 8)
    assert Lead.objects.count() == 8


def test_a_resuming_import_says_so(client, marketer, channel, monkeypatch, settings):
    batch = killed_half_way(channel, monkeypatch)
    silent_for(batch, settings.IMPORT_STALLED_AFTER + 1)
    resume_stalled_imports()  # queued again; no worker has taken it yet
    client.force_login(marketer)

    page = client.get(reverse("leads:import_progress", args=[batch.pk])).content.decode()

    assert "Stalled, resuming" in page
    assert "stopped after 3 rows" in page


def test_a_live_import_offers_no_retry(client, marketer, channel):
    batch, _ = create_batch(apollo(2), "list.csv", channel=channel)
    confirm_batch(batch)
    claim_batch(batch.pk)
    client.force_login(marketer)

    page = client.get(batch.get_absolute_url()).content.decode()
    client.post(reverse("leads:import_retry", args=[batch.pk]))

    assert 'data-testid="retry-form"' not in page
    batch.refresh_from_db()
    assert (batch.status, batch.attempts) == (ImportBatch.Status.RUNNING, 1)


def test_sales_reps_cannot_retry_an_import(client, rep, channel, settings):
    batch, _ = create_batch(apollo(2), "list.csv", channel=channel)
    confirm_batch(batch)
    silent_for(batch, settings.IMPORT_STALLED_AFTER + 1)
    client.force_login(rep)

    response = client.post(reverse("leads:import_retry", args=[batch.pk]))

    assert response.status_code in (302, 403)
    batch.refresh_from_db()
    assert batch.requeued_at is None


def test_a_failed_import_offers_retry_and_revert(client, marketer, channel, eager):
    batch, _ = create_batch(apollo(3), "list.csv", channel=channel)
    confirm_batch(batch)
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.FAILED, error="The import stopped on an unexpected error."
    )
    client.force_login(marketer)

    page = client.get(batch.get_absolute_url()).content.decode()
    assert 'data-testid="retry-form"' in page and 'data-testid="revert-link"' in page

    with eager():
        client.post(reverse("leads:import_retry", args=[batch.pk]))

    batch.refresh_from_db()
    assert (batch.status, batch.created, batch.error) == (ImportBatch.Status.DONE, 3, "")
