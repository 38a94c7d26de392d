"""A real Celery worker process consumes a real task from the broker and writes to the database.

Default pass: the filesystem broker (in a temporary folder) and the SQLite test
database file. With DATABASE_URL / CELERY_BROKER_URL set (CI's second pass):
Postgres and Redis.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery import app
from leads.models import Activity
from leads.tasks import WAKE_SUBJECT, wake_nurtured_leads
from tests.factories import LeadFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TIMEOUT = 60


def _database_env() -> dict[str, str]:
    """Point the worker at the database this test run uses (the test database)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return {"SQLITE_PATH": str(db["NAME"])}
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return {"DATABASE_URL": f"postgres://{credentials}{host}{port}/{db['NAME']}"}


def _filesystem_broker(root: Path) -> dict[str, str] | None:
    """The folders a worker with ACCORD_VAR_DIR=root uses (see config/settings.py)."""
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        return None
    broker = root / "broker"
    return {
        "data_folder_in": str(broker / "queue"),
        "data_folder_out": str(broker / "queue"),
        "processed_folder": str(broker / "processed"),
        "control_folder": str(broker / "control"),
    }


class CeleryProcess:
    """A celery subprocess whose output goes to `log_path`; stopped with SIGTERM, then killed."""

    log_path: Path
    process: subprocess.Popen
    _log: Any

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _start_worker(self, var_dir: Path, *args: str, **extra_env: str) -> None:
        """Start `celery -A config worker` (solo pool) with `var_dir` as its var dir, the
        test database and `args` (queue, node name), its output in `log_path`."""
        env = {**os.environ, **_database_env(), **extra_env}
        env.update(
            ACCORD_VAR_DIR=str(var_dir),
            DJANGO_SETTINGS_MODULE="config.settings",
            PYTHONUNBUFFERED="1",
            CELERY_TASK_ALWAYS_EAGER="false",
        )
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                *args,
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


class Worker(CeleryProcess):
    """A `celery -A config worker` subprocess on its own queue, with its log in a file."""

    def __init__(self, var_dir: Path, queue: str | None = None, name: str = "worker") -> None:
        """A new queue, or `queue` for a worker restarted where another one was killed."""
        self.queue = queue or f"accord-test-{uuid.uuid4().hex[:10]}"
        self.var_dir = var_dir
        self.log_path = var_dir / f"{name}.log"
        self.transport_options = _filesystem_broker(var_dir)
        self._start_worker(var_dir, "-Q", self.queue, "-n", f"{self.queue}@%h")

    def send(self, task) -> str:
        """Send `task` to this worker's queue through the broker; returns the task id."""
        for folder in (self.transport_options or {}).values():
            Path(folder).mkdir(parents=True, exist_ok=True)
        with app.connection_for_write(transport_options=self.transport_options) as conn:
            return task.apply_async(queue=self.queue, connection=conn).id

    def results(self, task_ids: list[str]) -> dict[str, str]:
        """What the worker logged as each finished task's return value."""
        found = {}
        for task_id in task_ids:
            match = re.search(rf"\[{task_id}\] succeeded in [\d.]+s: (.*)", self.log())
            if match:
                found[task_id] = match.group(1).strip()
        return found

    def wait_for(self, task_ids: list[str]) -> dict[str, str]:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            results = self.results(task_ids)
            if len(results) == len(task_ids):
                return results
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited ({self.process.returncode}):\n{self.log()}")
            time.sleep(0.25)
        pytest.fail(f"no result from the worker within {TIMEOUT}s:\n{self.log()}")


@pytest.fixture
def worker(transactional_db, tmp_path):
    started = Worker(tmp_path)
    yield started
    started.stop()


def test_a_real_worker_wakes_due_nurtured_leads_exactly_once(worker, rep):
    today = timezone.localdate()
    entered = timezone.now() - dt.timedelta(days=30)
    due = [
        LeadFactory(stage="nurture", owner=rep, nurture_until=day, stage_entered_at=entered)
        for day in (today, today - dt.timedelta(days=3), today - dt.timedelta(days=40))
    ]
    not_due = LeadFactory(
        stage="nurture",
        owner=rep,
        nurture_until=today + dt.timedelta(days=2),
        stage_entered_at=entered,
    )

    first = worker.send(wake_nurtured_leads)
    second = worker.send(wake_nurtured_leads)
    results = worker.wait_for([first, second])

    assert sorted(results.values()) == ["0", "3"], worker.log()
    for lead in due:
        assert list(lead.activities.values_list("subject", "side")) == [
            (WAKE_SUBJECT, Activity.Side.SYSTEM)
        ]
    assert not not_due.activities.exists()
