"""A real `celery worker` process for the import tests, on a machine of its own.

It has its own ACCORD_VAR_DIR (its own disk: media, static, logs) and shares only the
database and the broker with the test process, which plays the web process: it uploads,
confirms and sends tasks exactly as the pages and beat do (to the default queue).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

from config.celery import app
from tests.test_worker import CeleryProcess

TIMEOUT = 120


def purge_default_queue() -> None:
    """Drop messages earlier tests left in the shared broker's default queue."""
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)


class ImportWorker(CeleryProcess):
    """`celery -A config worker` with its own var dir, consuming the default queue."""

    def __init__(self, var_dir: Path, *, log_name: str = "worker.log", **extra_env: str) -> None:
        var_dir.mkdir(parents=True, exist_ok=True)
        if settings.CELERY_BROKER_URL.startswith("filesystem://"):
            # The embedded broker is a folder: this machine mounts the web process's.
            broker = var_dir / "broker"
            if not broker.exists():
                broker.symlink_to(Path(settings.VAR) / "broker", target_is_directory=True)
        self.var_dir = var_dir
        self.log_path = var_dir / log_name
        self._start_worker(
            var_dir, "-n", f"import-test-{os.getpid()}-{time.monotonic_ns()}@%h", **extra_env
        )

    def kill(self) -> None:
        """SIGKILL: the worker dies on the spot, mid-transaction, acknowledging nothing."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def wait_until(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited ({self.process.returncode}):\n{self.log()}")
            time.sleep(0.02)
        pytest.fail(f"{what}: not within {TIMEOUT}s:\n{self.log()}")
