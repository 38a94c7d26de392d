"""The `load` section: simulated users against the production setup while an import and the
SLA check run, with requests per second, latency percentiles and errors.

On a copy of the bench data set (so the other sections keep measuring on unchanged data)
it starts what production runs: gunicorn serving config.wsgi with DJANGO_ENV=production
(DEBUG off, static files collected), a real Celery worker on the broker of
CELERY_BROKER_URL (the embedded filesystem broker in a folder of its own when that is not
set), both on the copy. Locust (benchmark/load_users.py) then runs reps working their
queues and logging touches and managers opening reports. Once every simulated user has
signed in, the measured window opens: an ops user confirms a list import uploaded through
the import wizard, which the worker runs, and the SLA check is queued every
SLA_EVERY_SECONDS on clocks armed to fall due before and during the window. Every request
that starts in the window counts; the copy is dropped afterwards.

Target (DESIGN's 2-core machine, Postgres): 0 errors, p95 < 500 ms.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any

from celery import Celery
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import connections, transaction
from django.utils import timezone

from agreements import roles
from agreements.models import Agreement, Channel, ResponseRule
from leads import queries
from leads.forms import TOUCH_CHOICES
from leads.models import ImportBatch, Lead
from reports.tables import reports_for

from .data import Server, _pg_admin, drop_pg_database, use_database
from .lead_import import apollo_file
from .results import BenchContext, BenchResult

P95_TARGET_MS = 500
SPAWN_RATE = 2  # users signing in per second: each login hashes a password
SLA_EVERY_SECONDS = 15  # beat's schedule is every minute; four times as often here
THINK_SECONDS = {"rep": (1.0, 4.0), "manager": (3.0, 10.0)}  # between a user's actions
READ_SECONDS = (1.0, 3.0)  # a rep reading a lead before logging the touch
TOUCH_SHARE = 0.7  # of opened leads, the share a touch is logged on
ARMED_SHARE = 0.001  # leads whose SLA clock is armed to fall due around the window
START_TIMEOUT = 90  # seconds for gunicorn or the worker to come up
# gunicorn as the README runs it in production: 2 × CPUs + 1 processes, each with a few
# threads, so a report a manager waits on does not hold a whole process while reps wait.
GUNICORN_THREADS = 4


def _gunicorn_workers() -> int:
    return 2 * (os.cpu_count() or 1) + 1


LOCUST_FILE = Path(__file__).with_name("load_users.py")
COLLECT_STATIC = (
    "import django; from django.conf import settings; django.setup(); "
    "settings.STORAGES['staticfiles']['BACKEND'] = "
    "'django.contrib.staticfiles.storage.ManifestStaticFilesStorage'; "
    "from django.core.management import call_command; "
    "call_command('collectstatic', interactive=False, verbosity=0)"
)


@dataclass(frozen=True)
class LoadSize:
    """How many simulated users, for how long, and the rows of the import that runs meanwhile."""

    users: int
    seconds: int
    rows: int

    @property
    def managers(self) -> int:
        return max(1, self.users // 10) if self.users > 1 else 0


FULL = LoadSize(users=50, seconds=60, rows=50_000)
QUICK = LoadSize(users=10, seconds=20, rows=5_000)


@dataclass
class Setup:
    """What the copy holds for the run: accounts, the import's channel, the armed clocks."""

    password: str
    reps: list[str]
    managers: list[str]
    ops: str
    report_keys: list[str]
    channel_id: int
    armed: int
    leads: int


@dataclass
class Run:
    """What came back from one load run, before it is turned into figures."""

    window_start: float
    window_end: float
    records: list[list[Any]]
    logins: list[list[Any]]
    unfinished: int
    import_batch: dict[str, Any]
    sla_checks: list[float] = field(default_factory=list)
    task_failures: list[str] = field(default_factory=list)
    sla_sent: int = 0
    notes: list[str] = field(default_factory=list)


def bench_load(context: BenchContext, *, size: LoadSize, server: Server) -> list[BenchResult]:
    """Copy the data set, start the production processes on it, load them, drop the copy."""
    if importlib.util.find_spec("locust") is None:
        return [
            BenchResult(
                "load", "skipped", 0, "", "Locust is not installed: it comes with the dev "
                "extra (pip install -e '.[dev]')."
            )
        ]  # fmt: skip
    out = context.out
    folder = Path(settings.VAR) / "bench" / "load"
    _fresh_folder(folder)
    load_before = os.getloadavg()[0]
    out(f"  copying the data set for the load run ({context.dataset.name})…")
    copy = _copy_dataset(server, context.dataset.name, folder)
    try:
        with use_database(server, copy):
            setup = _prepare(size)
        env = _process_env(server, copy, folder)
        run = _run(size, setup, server, copy, env, folder, out)
    finally:
        _drop_copy(server, copy)
    run.notes.append(f"1-minute load average before the run: {load_before:.1f}")
    return _figures(size, setup, run, server.vendor)


# --- The copy ----------------------------------------------------------------------


def _fresh_folder(folder: Path) -> None:
    """The run's own var dir (broker, static files, logs): emptied, never another's."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


def _copy_dataset(server: Server, name: str, folder: Path) -> str:
    """A throwaway copy of the data set: what the run writes never reaches the original."""
    connections["default"].close()
    if server.vendor == "sqlite":
        copy = str(folder / "accord-load.sqlite3")
        with (
            contextlib.closing(sqlite3.connect(name)) as source,
            contextlib.closing(sqlite3.connect(copy)) as target,
        ):
            source.backup(target)
        return copy
    copy = f"{name}_load"
    drop_pg_database(server, copy)
    # FILE_COPY (Postgres 15+) copies the files at once instead of logging every page.
    strategy = " STRATEGY FILE_COPY" if _pg_version(server) >= 15 else ""
    _pg_admin(server, f'CREATE DATABASE "{copy}" TEMPLATE "{name}"{strategy}')
    return copy


def _pg_version(server: Server) -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        version = int(cursor.fetchone()[0]) // 10_000
    connections["default"].close()
    return version


def _drop_copy(server: Server, copy: str) -> None:
    if server.vendor == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(copy + suffix).unlink(missing_ok=True)
        return
    drop_pg_database(server, copy)


def _prepare(size: LoadSize) -> Setup:
    """Passwords for the bench accounts, the import's channel, SLA clocks due around the run."""
    password = secrets.token_urlsafe(18)
    users = User.objects.filter(username__startswith="bench-")
    users.update(password=make_password(password))  # one hash for all: each costs ~0.5 s
    reps = sorted(users.filter(groups__name=roles.SALES_REP).values_list("username", flat=True))
    managers = sorted(
        users.filter(groups__name=roles.SALES_MANAGER).values_list("username", flat=True)
    )
    ops = users.filter(groups__name=roles.OPS).values_list("username", flat=True).first()
    if not reps or not managers or ops is None:
        raise RuntimeError("The bench data set has no reps, managers or ops user to sign in.")
    manager = User.objects.get(username=managers[0])
    channel, _ = Channel.objects.get_or_create(
        slug="purchased-list", defaults={"name": "Purchased list"}
    )
    leads = Lead.objects.count()
    armed = _arm_clocks(max(10, int(leads * ARMED_SHARE)), size)
    return Setup(
        password=password,
        reps=reps,
        managers=managers,
        ops=ops,
        report_keys=[r.key for r in reports_for(manager)],
        channel_id=channel.pk,
        armed=armed,
        leads=leads,
    )


def _arm_clocks(count: int, size: LoadSize) -> int:
    """MQL clocks on owned leads: half already due, half falling due through the window."""
    agreement = Agreement.current()
    rule = ResponseRule.objects.filter(agreement=agreement, channel__isnull=True).first()
    ids = list(
        Lead.objects.filter(owner__isnull=False, sla_status__in=["met", "none"])
        .order_by("pk")
        .values_list("pk", flat=True)[:count]
    )
    now = timezone.now().replace(microsecond=0)
    ramp = size.users / SPAWN_RATE + 30
    spread = ramp + size.seconds
    with transaction.atomic():
        for index, pk in enumerate(ids):
            late = index % 2 == 0
            offset = -300 if late else spread * index / max(1, len(ids))
            Lead.objects.filter(pk=pk).update(
                stage="mql",
                sla_status="pending",
                sla_due_at=now + dt.timedelta(seconds=offset),
                sla_rule=rule,
                sla_agreement_id=rule.agreement_id if rule else None,
                first_touch_at=None,
            )
    return len(ids)


# --- The processes -----------------------------------------------------------------


def _database_url(server: Server, name: str) -> str:
    s = server.settings_dict
    user = urllib.parse.quote(s.get("USER") or "", safe="")
    password = urllib.parse.quote(s.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if user else ""
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{credentials}{s.get('HOST') or ''}{port}/{name}"


def _process_env(server: Server, copy: str, folder: Path) -> dict[str, str]:
    """Production settings on the copy, for gunicorn, the worker and collectstatic."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "SQLITE_PATH", "DEBUG", "CELERY_TASK_ALWAYS_EAGER")
    }
    env.update(
        DJANGO_ENV="production",
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # Plain HTTP on the loopback: the simulated users send X-Forwarded-Proto as the
        # TLS proxy would, so nothing is redirected; the health check sends nothing.
        SECURE_SSL_REDIRECT="0",
        ACCORD_VAR_DIR=str(folder),
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if server.vendor == "sqlite":
        env["SQLITE_PATH"] = copy
    else:
        env["DATABASE_URL"] = _database_url(server, copy)
    # A queue of the run's own: the worker takes no task queued before it (the data set's
    # generation queues some) or by anything else on a shared Redis, and no other worker
    # takes the run's.
    env["CELERY_TASK_DEFAULT_QUEUE"] = f"accord-bench-load-{uuid.uuid4().hex[:12]}"
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        env.pop("CELERY_BROKER_URL", None)  # the embedded broker, in the run's own folder
    else:
        env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """The processes a run starts, each in its own session; all are stopped at the end."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.env = env
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(  # noqa: S603 (our own Python with fixed arguments)
            [sys.executable, *args],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.started.append((name, process))
        return process

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        """SIGTERM each started process (it stops its own children); after 20 seconds,
        SIGKILL the process group of any that is still running."""
        for _, process in self.started:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 20
        for _, process in self.started:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _wait_for(what: str, ready: Any, processes: Processes, name: str, timeout: float) -> None:
    """Poll `ready()` until true; a dead process or the timeout stops the run with its log."""
    deadline = time.monotonic() + timeout
    process = dict(processes.started)[name]
    while time.monotonic() < deadline:
        if ready():
            return
        if process.poll() is not None:
            break
        time.sleep(0.5)
    raise RuntimeError(
        f"{what} did not come up; the end of its log:\n{processes.log(name)[-3000:]}"
    )


def _run(
    size: LoadSize,
    setup: Setup,
    server: Server,
    copy: str,
    env: dict[str, str],
    folder: Path,
    out: Any,
) -> Run:
    processes = Processes(folder, env)
    try:
        _static_files(env, out)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        workers = _gunicorn_workers()
        out(
            f"  starting gunicorn ({workers} workers × {GUNICORN_THREADS} threads) and a "
            "Celery worker…"
        )
        processes.start(
            "gunicorn",
            ["-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--threads", str(GUNICORN_THREADS), "--preload",
             "--timeout", "120",
             "--graceful-timeout", "10"],
        )  # fmt: skip
        processes.start(
            "worker",
            ["-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
             "--concurrency", str(max(2, os.cpu_count() or 1)), "--hostname",
             f"bench-load-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle"],
        )  # fmt: skip
        _wait_for("gunicorn", lambda: _answers(base), processes, "gunicorn", START_TIMEOUT)
        _wait_for(
            "The Celery worker",
            lambda: " ready." in processes.log("worker"),
            processes,
            "worker",
            START_TIMEOUT,
        )
        out(f"  uploading {size.rows:,} rows through the import wizard…")
        importer = Browser(base)
        importer.sign_in(setup.ops, setup.password)
        batch_id = importer.upload(
            apollo_file(size.rows, f"load{int(time.time())}"), setup.channel_id
        )
        queue = env["CELERY_TASK_DEFAULT_QUEUE"]
        broker = _broker_client(env.get("CELERY_BROKER_URL", "filesystem://"), folder, queue)
        try:
            run = _drive(size, setup, base, folder, processes, importer, batch_id, broker, out)
        finally:
            with contextlib.suppress(Exception), broker.connection_for_write() as connection:
                connection.default_channel.queue_delete(queue)  # what is left of it
            broker.close()
        with use_database(server, copy):
            run.import_batch = _wait_for_import(batch_id, size.rows)
        _wait_for_checks(processes, run.sla_sent)
        _read_worker_log(processes.log("worker"), run)
        locust_log = processes.log("locust")
        if "CPU usage above 90%" in locust_log:
            run.notes.append("Locust warned that its own CPU use was above 90 %")
        return run
    finally:
        processes.stop_all()


def _static_files(env: dict[str, str], out: Any) -> None:
    """Collect the static files with the production manifest (the pages link the hashed
    names), without whitenoise's gzip and brotli copies: compressing them takes a minute
    and the simulated users fetch no static file."""
    out("  collecting static files for the production settings…")
    collect = subprocess.run(  # noqa: S603 (our own Python with fixed arguments)
        [sys.executable, "-c", COLLECT_STATIC],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if collect.returncode != 0:
        raise RuntimeError(f"collectstatic failed:\n{collect.stderr[-3000:]}")


def _answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/accounts/login/", timeout=5) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


def _broker_client(url: str, folder: Path, queue: str) -> Celery:
    """A Celery client on the run's broker and queue (not the app's), to queue the SLA check."""
    if url == "filesystem://":
        url = "filesystem://localhost/"  # the same folders; kombu only wants a host name
    client = Celery("accord-bench-load", broker=url, set_as_current=False)
    client.conf.task_default_queue = queue
    if url.startswith("filesystem://"):
        broker = folder / "broker"
        client.conf.broker_transport_options = {
            "data_folder_in": str(broker / "queue"),
            "data_folder_out": str(broker / "queue"),
            "processed_folder": str(broker / "processed"),
            "control_folder": str(broker / "control"),
        }
    return client


def _drive(
    size: LoadSize,
    setup: Setup,
    base: str,
    folder: Path,
    processes: Processes,
    importer: Browser,
    batch_id: int,
    broker: Celery,
    out: Any,
) -> Run:
    """Run Locust; when its window opens, confirm the import and queue SLA checks in it."""
    marker, results = folder / "window.json", folder / "results.json"
    config = {
        "users": size.users,
        "managers": size.managers,
        "duration": size.seconds,
        "accounts": {"rep": setup.reps, "manager": setup.managers},
        "password": setup.password,
        "report_keys": setup.report_keys,
        "buckets": list(queries.Urgency.KEYS.values()),
        "touch_kinds": [k for k, _ in TOUCH_CHOICES if k != "note"],
        "touch_share": TOUCH_SHARE,
        "think_seconds": THINK_SECONDS,
        "read_seconds": READ_SECONDS,
        "marker_path": str(marker),
        "results_path": str(results),
    }
    config_path = folder / "locust.json"
    config_path.write_text(json.dumps(config))
    processes.env = {**processes.env, "ACCORD_LOAD_CONFIG": str(config_path)}
    ramp_timeout = math.ceil(size.users / SPAWN_RATE + 2 * size.users + 60)
    cap = ramp_timeout + size.seconds + 60
    out(
        f"  {size.users} simulated users ({size.users - size.managers} reps, {size.managers} "
        f"managers) signing in, then {size.seconds} s measured…"
    )
    locust = processes.start(
        "locust",
        ["-m", "locust", "-f", str(LOCUST_FILE), "--headless", "--users", str(size.users),
         "--spawn-rate", str(SPAWN_RATE), "--run-time", f"{cap}s", "--host", base,
         "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"],
    )  # fmt: skip
    _wait_for("Locust's users", marker.exists, processes, "locust", ramp_timeout)
    window_start = json.loads(marker.read_text())["window_start"]
    # The confirmation waits its turn in the web server's queue like any request; the
    # checks keep their schedule meanwhile (one per slot; a slot missed is skipped).
    failures: list[BaseException] = []
    confirm = threading.Thread(target=_confirm, args=(importer, batch_id, failures))
    confirm.start()
    sent, next_check = 0, window_start
    while locust.poll() is None and time.time() < window_start + size.seconds:
        if time.time() >= next_check:
            broker.send_task(CHECK_TASK)
            sent += 1
            while next_check <= time.time():
                next_check += SLA_EVERY_SECONDS
        time.sleep(0.2)
    confirm.join(timeout=cap)
    if failures:
        raise RuntimeError(f"The import could not be confirmed: {failures[0]}")
    try:
        locust.wait(timeout=cap)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError("Locust did not stop after its window.") from exc
    if not results.exists():
        raise RuntimeError(f"Locust wrote no results:\n{processes.log('locust')[-3000:]}")
    data = json.loads(results.read_text())
    return Run(
        window_start=data["window_start"],
        window_end=data["window_end"],
        records=data["records"],
        logins=data["logins"],
        unfinished=data["unfinished"],
        import_batch={},
        sla_sent=sent,
    )


def _confirm(importer: Browser, batch_id: int, failures: list[BaseException]) -> None:
    try:
        importer.confirm(batch_id)
    except Exception as exc:  # reported by the caller, which stops the run
        failures.append(exc)


def _wait_for_import(batch_id: int, rows: int) -> dict[str, Any]:
    """The import's outcome once the worker finished it (or where it stood at the timeout)."""
    deadline = time.monotonic() + max(300, rows / 50)
    finished = (ImportBatch.Status.DONE, ImportBatch.Status.FAILED, ImportBatch.Status.REVERTED)
    while True:
        batch = ImportBatch.objects.get(pk=batch_id)
        if batch.status in finished or time.monotonic() > deadline:
            break
        connections["default"].close()
        time.sleep(1)
    return {
        "status": batch.status,
        "rows_done": batch.rows_done,
        "total_rows": batch.total_rows,
        "started": batch.started_at.timestamp() if batch.started_at else None,
        "finished": batch.finished_at.timestamp() if batch.finished_at else None,
        "error": batch.error,
    }


def _wait_for_checks(processes: Processes, sent: int, timeout: float = 120) -> None:
    """Until the worker has run every SLA check the run queued (or the timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [m for m in TASK_LINE.finditer(processes.log("worker")) if m[1] == CHECK_TASK]
        if len(done) >= sent:
            return
        time.sleep(0.5)


CHECK_TASK = "sla.tasks.check_sla"
TASK_LINE = re.compile(r"Task ([\w.]+)\[[\w-]+\] (succeeded in ([\d.]+)s|raised .*)")


def _read_worker_log(log: str, run: Run) -> None:
    """The SLA checks' times and any task that raised, from the worker's log."""
    for match in TASK_LINE.finditer(log):
        name, outcome, seconds = match.groups()
        if seconds is None:
            run.task_failures.append(f"{name}: {outcome}"[:300])
        elif name == CHECK_TASK:
            run.sla_checks.append(float(seconds))


# --- The import wizard, as an ops user's browser ----------------------------------------


class _ProxiedCookiePolicy(DefaultCookiePolicy):
    """Return the app's Secure cookies over the bench's plain HTTP, as over the TLS proxy."""

    def return_ok_secure(self, cookie: Any, request: Any) -> bool:
        return True


class Browser:
    """Signs in through the login form and drives the import wizard (upload, preview, confirm)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.origin = "https://" + base.split("://", 1)[1]
        self.cookies = CookieJar(policy=_ProxiedCookiePolicy())
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.opener.addheaders = [("X-Forwarded-Proto", "https"), ("User-Agent", "accord-bench")]

    def _open(self, path: str, data: bytes | None = None, content_type: str = "") -> Any:
        request = urllib.request.Request(self.base + path, data=data)  # noqa: S310
        if data is not None:
            request.add_header("Origin", self.origin)
            request.add_header("Referer", self.origin + path)
            request.add_header("Content-Type", content_type)
        try:
            response = self.opener.open(request, timeout=600)
        except urllib.error.HTTPError as exc:
            body = exc.read().decode(errors="replace")[:2000]
            raise RuntimeError(f"{path} answered {exc.code}: {body}") from exc
        with response:
            response.text = response.read().decode(errors="replace")
        return response

    def _token(self) -> str:
        return next((c.value for c in self.cookies if c.name == "csrftoken"), "")

    def sign_in(self, username: str, password: str) -> None:
        self._open("/accounts/login/")
        fields = {"username": username, "password": password, "csrfmiddlewaretoken": self._token()}
        response = self._open(
            "/accounts/login/",
            urllib.parse.urlencode(fields).encode(),
            "application/x-www-form-urlencoded",
        )
        if "/accounts/login/" in response.url:
            raise RuntimeError(f"{username} could not sign in for the import.")

    def upload(self, data: bytes, channel_id: int) -> int:
        """Upload the file (the wizard then shows its preview); returns the batch's id."""
        self._open("/imports/")
        boundary = uuid.uuid4().hex
        parts = [
            ("csrfmiddlewaretoken", None, self._token().encode()),
            ("channel", None, str(channel_id).encode()),
            ("campaign", None, b""),
            ("file", "apollo-load.csv", data),
        ]
        body = b""
        for name, file_name, value in parts:
            disposition = f'form-data; name="{name}"' + (
                f'; filename="{file_name}"\r\nContent-Type: text/csv' if file_name else ""
            )
            body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
            body += value + b"\r\n"
        body += f"--{boundary}--\r\n".encode()
        response = self._open("/imports/", body, f"multipart/form-data; boundary={boundary}")
        found = re.search(r"/imports/(\d+)/preview/", response.url)
        if found is None:
            raise RuntimeError(f"The upload did not reach the preview: {response.url}")
        return int(found.group(1))

    def confirm(self, batch_id: int) -> None:
        """Confirm the previewed import: the web process queues it for the worker."""
        self._open(f"/imports/{batch_id}/")
        fields = urllib.parse.urlencode({"csrfmiddlewaretoken": self._token()}).encode()
        self._open(f"/imports/{batch_id}/confirm/", fields, "application/x-www-form-urlencoded")


# --- The figures --------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _figures(size: LoadSize, setup: Setup, run: Run, vendor: str) -> list[BenchResult]:
    window = [r for r in run.records if run.window_start <= r[0] < run.window_end]
    times = [r[2] for r in window]
    failed = [r for r in window if not r[3]]
    failed_logins = [r for r in run.logins if not r[3]]
    seconds = run.window_end - run.window_start
    p50, p95, p99 = (_percentile(times, s) for s in (0.50, 0.95, 0.99))
    by_page: dict[str, list[float]] = {}
    for r in window:
        by_page.setdefault(r[1], []).append(r[2])
    pages = sorted(by_page.items(), key=lambda item: -_percentile(item[1], 0.95))
    per_page = "; ".join(
        f"{name} {len(values)}× p95 {_percentile(values, 0.95):,.0f} ms" for name, values in pages
    )
    batch = run.import_batch
    imported = batch.get("status") == ImportBatch.Status.DONE and batch["rows_done"] >= size.rows
    errors = len(failed) + run.unfinished + len(failed_logins) + len(run.task_failures)
    error_lines = [f"{r[1]}: {r[4]}" for r in failed[:5]]
    error_lines += [f"login: {r[4]}" for r in failed_logins[:3]]
    error_lines += run.task_failures[:3]
    if run.unfinished:
        error_lines.append(f"{run.unfinished} requests still running 30 s after the window")
    if not imported:
        error_lines.append(f"the import did not complete: {batch}")
        errors += 1
    checks = run.sla_checks
    failed_checks = sum(CHECK_TASK in line for line in run.task_failures)
    lost_checks = max(0, run.sla_sent - len(checks) - failed_checks)
    if lost_checks:
        error_lines.append(f"{lost_checks} of {run.sla_sent} queued SLA checks did not finish")
        errors += lost_checks
    logins = [r[2] for r in run.logins if r[1] == "login"]
    who = f"{size.users - size.managers} reps and {size.managers} managers"
    setup_note = (
        f"{who} for {seconds:.0f} s after all signed in (logins: {len(logins)}, p95 "
        f"{_percentile(logins, 0.95):,.0f} ms, not counted); gunicorn "
        f"{_gunicorn_workers()} workers × {GUNICORN_THREADS} threads, "
        f"DJANGO_ENV=production, a Celery worker; {setup.leads:,} leads"
    )
    target = f"< {P95_TARGET_MS} ms" + ("" if vendor == "postgresql" else " (Postgres)")
    import_note, import_rate = _import_note(batch, run, size)
    sla_note = (
        f"{len(checks)} of {run.sla_sent} queued checks succeeded (one every {SLA_EVERY_SECONDS} s "
        f"from the window's start; {setup.armed:,} clocks armed to fall due before and during "
        f"it); median {_percentile(checks, 0.5):.2f} s"
    )
    return [
        BenchResult(
            "load", "requests per second", len(window) / seconds if seconds else 0, "req/s",
            "\n".join([setup_note, *run.notes]),
        ),
        BenchResult("load", "p50 latency", p50, "ms", f"{len(window):,} requests"),
        BenchResult(
            "load", "p95 latency", p95, "ms", per_page, target, p95 < P95_TARGET_MS,
            "slowest pages by p95: " + per_page,
        ),
        BenchResult("load", "p99 latency", p99, "ms"),
        BenchResult(
            "load", "errors", errors, "errors", "; ".join(error_lines[:8]), "0", errors == 0,
            "\n".join(error_lines) or "",
        ),
        BenchResult("load", "import under load", import_rate, "rows/s", import_note),
        BenchResult(
            "load", "longest SLA check under load", max(checks, default=0), "s", sla_note
        ),
    ]  # fmt: skip


def _import_note(batch: dict[str, Any], run: Run, size: LoadSize) -> tuple[str, float]:
    started, finished = batch.get("started"), batch.get("finished")
    if batch.get("status") != ImportBatch.Status.DONE or not started or not finished:
        return (
            f"{size.rows:,} rows through the import wizard: {batch.get('status')} "
            f"({batch.get('rows_done', 0):,} done) {batch.get('error') or ''}".strip(),
            0.0,
        )
    took = finished - started
    inside = max(0.0, min(finished, run.window_end) - max(started, run.window_start))
    share = inside / took if took > 0 else 1.0
    return (
        f"{size.rows:,} rows uploaded through the import wizard and run by the worker in "
        f"{took:.1f} s, {share:.0%} of it inside the window",
        size.rows / took if took > 0 else 0.0,
    )
