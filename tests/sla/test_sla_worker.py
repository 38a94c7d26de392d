"""End to end with a real Celery worker and a real beat process on the database schedule.

Default pass: the filesystem broker and the SQLite test database; with DATABASE_URL
and CELERY_BROKER_URL set (CI's second pass): Postgres and Redis. Both through the
same harness as tests/test_worker.py.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from config.schedules import CHECK_SLA
from leads.models import Lead
from notifications.models import Notification
from sla.check import run_check
from sla.models import Breach
from tests.factories import RepFactory
from tests.notifications.mail_backend import accepted_emails, mail_folder
from tests.test_worker import TIMEOUT, CeleryProcess, Worker, _database_env

from .conftest import clock_lead, make_rule, minutes

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def mail_domain() -> str:
    """The host of the site's address, which every Message-ID carries."""
    return urlsplit(settings.SITE_URL).hostname or ""


class Beat(CeleryProcess):
    """A `celery -A config beat` subprocess reading the schedule from the test database."""

    def __init__(self, worker: Worker) -> None:
        self.log_path = worker.var_dir / "beat.log"
        env = {**os.environ, **_database_env()}
        env.update(
            ACCORD_VAR_DIR=str(worker.var_dir),
            DJANGO_SETTINGS_MODULE="config.settings",
            PYTHONUNBUFFERED="1",
        )
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel=INFO",
                f"--schedule={worker.var_dir / 'beat-schedule'}",
                "--max-interval=1",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )


def check_every_second(worker: Worker) -> Beat:
    """Beat sending the SLA check to `worker`'s queue every second (and nothing else)."""
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    PeriodicTask.objects.exclude(name=CHECK_SLA).update(enabled=False)
    PeriodicTask.objects.filter(name=CHECK_SLA).update(
        interval=every_second, queue=worker.queue, expire_seconds=None
    )
    return Beat(worker)


@pytest.fixture
def worker_and_beat(transactional_db, tmp_path):
    """A worker on its own queue, and beat sending the SLA check there every second."""
    worker = Worker(tmp_path)
    beat = check_every_second(worker)
    yield worker, beat
    beat.stop()
    worker.stop()


def checks_done(worker: Worker) -> int:
    return len(re.findall(r"Task sla\.tasks\.check_sla\[[^\]]+\] succeeded", worker.log()))


def test_clock_running_out_under_worker_and_beat_breaches_and_notifies_the_owner_once(
    worker_and_beat, rep
):
    worker, beat = worker_and_beat
    rule = make_rule(warn_at_percent=100, escalate_after_amount=None)
    # The first-touch clock runs out three seconds from now.
    lead = clock_lead(rule, rep, started=timezone.now() - minutes(60) + minutes(0.05))

    deadline = time.monotonic() + TIMEOUT
    breached_after = None
    while time.monotonic() < deadline:
        if worker.process.poll() is not None or beat.process.poll() is not None:
            pytest.fail(f"worker or beat exited:\n{worker.log()}\n--- beat ---\n{beat.log()}")
        status = Lead.objects.filter(pk=lead.pk).values_list("sla_status", flat=True).get()
        if status == Lead.SLAStatus.BREACHED and breached_after is None:
            breached_after = checks_done(worker)
        # Let beat run the check several more times after the breach.
        if breached_after is not None and checks_done(worker) >= breached_after + 3:
            break
        time.sleep(0.25)
    else:
        pytest.fail(f"no breach within {TIMEOUT}s:\n{worker.log()}\n--- beat ---\n{beat.log()}")

    owner_notes = Notification.objects.filter(user=rep)
    assert list(owner_notes.values_list("kind", "lead_id")) == [
        (Notification.Kind.SLA_BREACH, lead.pk)
    ]
    assert owner_notes.get().emailed_at is not None
    assert lead.breaches.count() == 1


def mail_server_for_workers(tmp_path: Path, settings: Any, monkeypatch: Any) -> Path:
    """Workers started from now on send through the test mail server (mail_backend.py), with
    a short lease; returns its folder, which the test reads too."""
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    folder = mail_folder()
    for name, value in {
        "EMAIL_BACKEND": "tests.notifications.mail_backend.OutageBackend",
        "EMAIL_FILE_PATH": str(folder),
        "NOTIFICATION_EMAIL_LEASE_SECONDS": "3",
    }.items():
        monkeypatch.setenv(name, value)
    return folder


def wait_until(condition, *processes: CeleryProcess, what: str) -> None:
    """Poll `condition` until it holds; fail with the processes' logs if it does not in time."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if condition():
            return
        for process in processes:
            if process.process.poll() is not None:
                pytest.fail(f"a celery process exited while waiting for {what}:\n{process.log()}")
        time.sleep(0.2)
    logs = "\n---\n".join(process.log() for process in processes)
    pytest.fail(f"no {what} within {TIMEOUT}s:\n{logs}")


def test_a_worker_killed_mid_delivery_is_replaced_and_every_email_goes_exactly_once(
    transactional_db, tmp_path, settings, monkeypatch, rep, manager
):
    """SIGKILL a real worker while it sends the SLA check's emails; a restarted worker on
    the same queue completes the check's work and the delivery with no human step: each
    breach recorded once, each notification written once and emailed exactly once."""
    folder = mail_server_for_workers(tmp_path, settings, monkeypatch)
    (folder / "stall").write_text("2")  # the mail server hangs after two emails
    teammate = RepFactory(team=rep.rep_profile.team)
    rule = make_rule(warn_at_percent=100, escalate_after_amount=None)
    ran_out = timezone.now() - minutes(61)
    leads = [clock_lead(rule, rep, started=ran_out) for _ in range(5)]
    leads += [clock_lead(rule, teammate, started=ran_out) for _ in range(2)]

    first = Worker(tmp_path)
    beat = check_every_second(first)
    try:
        wait_until((folder / "stalled").exists, first, beat, what="stalled delivery")
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)
        first.stop()
        written = Notification.objects.count()
        assert len(accepted_emails()) == 2
        assert Notification.objects.filter(emailed_at__isnull=False).count() == 2

        (folder / "stall").unlink()
        second = Worker(tmp_path, queue=first.queue, name="restarted-worker")
        try:
            wait_until(
                lambda: not Notification.objects.filter(emailed_at__isnull=True).exists(),
                second,
                beat,
                what="every email sent after the restart",
            )
            checks = checks_done(second)
            wait_until(lambda: checks_done(second) >= checks + 3, second, beat, what="more checks")
        finally:
            second.stop()
    finally:
        beat.stop()
        first.stop()

    notes = list(Notification.objects.all())
    assert len(notes) == written == 4  # the rep's digest, the teammate's two, the manager's
    sent = accepted_emails()
    assert sorted(email["message_id"] for email in sent) == sorted(
        f"<notification.{note.pk}@{mail_domain()}>" for note in notes
    )
    assert Breach.objects.count() == len(leads)
    assert {
        lead.sla_status for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads])
    } == {Lead.SLAStatus.BREACHED}


def test_a_worker_killed_mid_check_is_replaced_and_the_check_completes_once(
    transactional_db, tmp_path, settings, monkeypatch, rep, manager
):
    """SIGKILL a real worker in the middle of the SLA check, after its breaches committed and
    while its escalation waits for a lead another session holds; a restarted worker
    completes the escalation, and everyone is told and emailed exactly once."""
    if connection.vendor != "postgresql":
        pytest.skip("holds one lead's row lock to stop the check mid-way: Postgres row locks")
    mail_server_for_workers(tmp_path, settings, monkeypatch)
    rule = make_rule(warn_at_percent=100)  # due after 60 minutes, escalates after 120
    now = timezone.now()
    held = clock_lead(rule, rep, started=now - minutes(125))
    run_check(now - minutes(6))  # its breach: recorded and told, to escalate 5 minutes ago
    fresh = [clock_lead(rule, rep, started=now - minutes(61)) for _ in range(5)]
    db = connection.settings_dict
    locker = psycopg.connect(
        host=db["HOST"] or "localhost",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"],
        dbname=db["NAME"],
    )
    locker.execute("SELECT 1 FROM leads_lead WHERE id = %s FOR UPDATE", [held.pk])

    first = Worker(tmp_path)
    beat = check_every_second(first)
    try:
        wait_until(
            lambda: Breach.objects.count() == 1 + len(fresh) and escalation_waits_for_a_lock(),
            first,
            beat,
            what="the check's breaches committed and its escalation waiting",
        )
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)
        first.stop()
        assert Breach.objects.get(lead=held).escalated_at is None
        locker.rollback()
        locker.close()

        second = Worker(tmp_path, queue=first.queue, name="restarted-worker")
        try:
            wait_until(
                lambda: (
                    Breach.objects.filter(lead=held, escalation_notified_at__isnull=False).exists()
                    and not Notification.objects.filter(emailed_at__isnull=True).exists()
                ),
                second,
                beat,
                what="the escalation told and every email sent after the restart",
            )
            checks = checks_done(second)
            wait_until(lambda: checks_done(second) >= checks + 3, second, beat, what="more checks")
        finally:
            second.stop()
    finally:
        locker.close()
        beat.stop()
        first.stop()

    assert Breach.objects.count() == 1 + len(fresh)
    escalations = Notification.objects.filter(kind=Notification.Kind.SLA_ESCALATION)
    assert list(escalations.values_list("user_id", "lead_id")) == [(manager.pk, held.pk)]
    told_rep = Notification.objects.filter(user=rep, kind=Notification.Kind.SLA_BREACH)
    assert sorted(told_rep.values_list("title", flat=True)) == sorted(
        [f"Follow-up time missed: {held}", "5 of your leads missed their follow-up"]
    )
    notes = list(Notification.objects.all())
    assert sorted(email["message_id"] for email in accepted_emails()) == sorted(
        f"<notification.{note.pk}@{mail_domain()}>" for note in notes
    )


def escalation_waits_for_a_lock() -> bool:
    """Whether another session of this database waits for a row lock (the worker's check)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0
