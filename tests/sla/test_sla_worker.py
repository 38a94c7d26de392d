"""End to end with a real Celery worker and a real beat process on the database schedule.

Default pass: the filesystem broker and the SQLite test database; with DATABASE_URL
and CELERY_BROKER_URL set (CI's second pass): Postgres and Redis. Both through the
same harness as tests/test_worker.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from config.schedules import CHECK_SLA
from leads.models import Lead
from notifications.models import Notification
from tests.test_worker import TIMEOUT, CeleryProcess, Worker, _database_env

from .conftest import clock_lead, make_rule, minutes

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


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


@pytest.fixture
def worker_and_beat(transactional_db, tmp_path):
    """A worker on its own queue, and beat sending the SLA check there every second."""
    worker = Worker(tmp_path)
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    PeriodicTask.objects.exclude(name=CHECK_SLA).update(enabled=False)
    PeriodicTask.objects.filter(name=CHECK_SLA).update(
        interval=every_second, queue=worker.queue, expire_seconds=None
    )
    beat = Beat(worker)
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
