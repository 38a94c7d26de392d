"""The benchmark's data set: generated once per size from a fixed seed, into its own database.

Every section of `manage.py bench` measures on the same data: leads across reps in
teams with realistic stage and channel mixes and a year of history (activities,
stage changes, assignments, deals, feedback, SLA clocks and breaches) and the ledger
(`leads.LeadEvent`) the services would have appended for that history. Rows are
written in bulk (executemany on SQLite, COPY on Postgres) with the secondary indexes
dropped and foreign keys off during the load and rebuilt after, as a DBA would load a
table.

The database is never the user's: a file under var/bench/ on SQLite, a database
`<name>_bench_<leads>` on the Postgres server of DATABASE_URL (or of
BENCH_DATABASE_URL). A small meta table records the seed and sizes; a later run
with the same parameters reuses the data instead of generating it again.

Shape of the baseline (what sections may rely on): no SLA clock is due, no breach
waits for escalation and no clock is in its warning share, so a check run against
it does nothing until a section arms some clocks; running clocks are due 45 to 75
days after generation (a data set older than 30 days is generated again). Two
"focus" reps hold `leads // 200` and `leads // 20` open leads, so a run at one size
and a run at a tenth of it can both look at a rep with the same queue; each is the
only rep of a team of its own (beside the spec's teams), so the team page of its
manager shows the same workload at both sizes too; each focus rep has one richly
documented lead for the lead page.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import dj_database_url
import psycopg
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import connection, connections, models, transaction

from agreements import roles
from agreements import services as agreement_services
from agreements.calendar import CalendarSpec, business_duration_between
from agreements.models import Agreement, Channel, Persona, ResponseRule
from leads import ledger
from leads.models import (
    LEDGER_FACTS,
    Account,
    Activity,
    Assignment,
    Campaign,
    Deal,
    Feedback,
    Lead,
    LeadEvent,
    LeadSearch,
    RepProfile,
    StageChange,
    Team,
    search_text,
)
from sla.models import Breach

SEED = 20260101
GENERATOR_VERSION = 11  # 2: the ledger (leads.LeadEvent); 3: no stored first-touch time;
# 4, 5: tenures settled on their assignment rows (5: untouched_for); 6: past escalations told;
# 7: the ledger stored in time order on Postgres; 8: each focus rep in a team of its own;
# 9: a rep's note is not a sales touch (it was written as one, with its ledger row);
# 10: a tenure's row carries its lead's stage now (held_stage); every ledger row its
# lead's channel, campaign and persona; 11: a deal's rows say whether marketing influenced it,
# an MQL entry its lead's title and stage
META_TABLE = "accord_bench_meta"
STALE_AFTER_DAYS = 30
DAY = 86_400
HOUR = 3_600

Out = Callable[[str], None]


@dataclass(frozen=True)
class DataSpec:
    """What a data set holds; two runs with equal specs measure on identical data."""

    leads: int
    activities: int
    reps: int = 50
    teams: int = 5
    seed: int = SEED
    version: int = GENERATOR_VERSION

    @property
    def focus_sizes(self) -> tuple[int, int]:
        """Open leads of the two focus reps: this size's rep and the 10×-size run's rep."""
        return max(1, self.leads // 200), max(1, self.leads // 20)

    def tenth(self) -> DataSpec:
        return DataSpec(
            max(1, self.leads // 10), max(0, self.activities // 10), self.reps, self.teams,
            self.seed, self.version,
        )  # fmt: skip


@dataclass
class Dataset:
    """A ready data set in the current default connection, and the ids sections need."""

    spec: DataSpec
    name: str
    anchor: float  # epoch seconds: "now" when the data was generated
    reused: bool
    seconds: float
    focus: list[dict[str, int]] = field(default_factory=list)  # rep, leads, page_lead, manager
    counts: dict[str, int] = field(default_factory=dict)

    def focus_for(self, rep_leads: int) -> dict[str, int]:
        """The focus rep whose open-lead count is closest to `rep_leads`."""
        return min(self.focus, key=lambda f: abs(f["leads"] - rep_leads))


# --- Which database -----------------------------------------------------------------


@dataclass
class Server:
    """Where benchmark databases are made: an SQLite folder or a Postgres server."""

    vendor: str  # "sqlite" or "postgresql"
    settings_dict: dict[str, Any]

    def database_name(self, spec: DataSpec) -> str:
        if self.vendor == "sqlite":
            return str(Path(settings.VAR) / "bench" / f"accord-bench-{spec.leads}.sqlite3")
        return f"{self.settings_dict['NAME']}_bench_{spec.leads}"


def choose_server(database: str | None) -> Server:
    """The server for --database (default: the app's own kind of database)."""
    default = connections["default"].settings_dict
    current = "postgresql" if "postgresql" in default["ENGINE"] else "sqlite"
    wanted = "postgresql" if (database or current).startswith("postgres") else "sqlite"
    if wanted == "sqlite":
        base = dict(default) if current == "sqlite" else _sqlite_settings(default)
        return Server("sqlite", base)
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        # The app's own options only carry over from a Postgres default; SQLite's
        # (transaction_mode, init_command) mean nothing to psycopg.
        base = dict(default) if current == "postgresql" else {**default, "OPTIONS": {}}
        base.update(dj_database_url.parse(url))
        base.setdefault("OPTIONS", {}).update(settings.POSTGRES_OPTIONS)
        return Server("postgresql", base)
    if current == "postgresql":
        return Server("postgresql", dict(default))
    raise CommandError(
        "--database postgres needs a Postgres server: set DATABASE_URL (the bench creates "
        "<name>_bench_<leads> beside it) or BENCH_DATABASE_URL=postgres://user:pw@host/name."
    )


def _sqlite_settings(default: dict[str, Any]) -> dict[str, Any]:
    base = dict(default)
    base.update(
        ENGINE="django.db.backends.sqlite3",
        HOST="",
        PORT="",
        USER="",
        PASSWORD="",
        OPTIONS={
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    )
    return base


@contextlib.contextmanager
def use_database(server: Server, name: str) -> Iterator[None]:
    """Point the default connection at a benchmark database for the duration (DEBUG off)."""
    db = connections["default"]
    original = dict(db.settings_dict)
    if name == original["NAME"] or (
        server.vendor == "sqlite"
        and "sqlite" in original["ENGINE"]
        and Path(name).resolve() == Path(str(original["NAME"])).resolve()
    ):
        raise RuntimeError("The benchmark database must not be the app's database.")
    db.close()
    db.settings_dict.clear()
    db.settings_dict.update(server.settings_dict, NAME=name)
    if server.vendor == "postgresql":
        db.settings_dict["CONN_MAX_AGE"] = None  # one connection for the whole run
    # The backend class follows the engine: swap it when the bench vendor differs.
    swapped = original["ENGINE"] != db.settings_dict["ENGINE"]
    if swapped:
        connections._settings = None
        connections.settings["default"] = db.settings_dict
        del connections["default"]
    debug = settings.DEBUG
    settings.DEBUG = False  # as in production: no per-query logging in the timings
    try:
        yield
    finally:
        settings.DEBUG = debug
        connections["default"].close()
        if swapped:
            del connections["default"]
            connections.settings["default"] = original
        else:
            db.settings_dict.clear()
            db.settings_dict.update(original)


def _pg_admin(server: Server, sql: str) -> None:
    """Run CREATE/DROP DATABASE on the server (outside any transaction)."""
    s = server.settings_dict
    with psycopg.connect(
        dbname=s["NAME"],
        user=s.get("USER") or None,
        password=s.get("PASSWORD") or None,
        host=s.get("HOST") or None,
        port=s.get("PORT") or None,
        autocommit=True,
    ) as conn:
        conn.execute(sql)


def settle_database(*tables: str) -> None:
    """After writing to the data set and removing what was written: on Postgres, VACUUM
    ANALYZE the `tables` (default: all), as autovacuum would in time on a live server.
    SQLite keeps no dead row versions: nothing to do. Never timed.

    The removal leaves dead rows and clears the visibility map of every page it touched,
    so the sections after it read the heap where index-only scans read the index alone:
    after the import section the sales activity report measured 5.2 s at 1M leads, 3.7 s
    on the same data set vacuumed (the ledger had 20 % of its pages all-visible).
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE " + ", ".join(quote(t) for t in tables))


def drop_pg_database(server: Server, name: str, attempts: int = 10) -> None:
    """DROP DATABASE name, whoever is still connected to it.

    A plain DROP first: Postgres stops an autovacuum worker on the database itself, which
    WITH (FORCE) refuses to do for a role that is not a superuser ("must be a member of
    the role whose process is being terminated": a load run's copy is often being
    vacuumed when it ends, and autovacuum visits a new database soon after it is made).
    FORCE when a client is still connected; while a worker is in the way, again a
    second later.
    """
    for attempt in range(attempts):
        try:
            _pg_admin(server, f'DROP DATABASE IF EXISTS "{name}"')
            return
        except psycopg.errors.ObjectInUse:
            try:
                _pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except psycopg.errors.InsufficientPrivilege:
                if attempt == attempts - 1:
                    raise
                time.sleep(1)


def _pg_exists(server: Server, name: str) -> bool:
    s = server.settings_dict
    with psycopg.connect(
        dbname=s["NAME"],
        user=s.get("USER") or None,
        password=s.get("PASSWORD") or None,
        host=s.get("HOST") or None,
        port=s.get("PORT") or None,
    ) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        return row is not None


def _fresh_database(server: Server, name: str) -> None:
    if server.vendor == "sqlite":
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(name + suffix).unlink(missing_ok=True)
        return
    drop_pg_database(server, name)
    _pg_admin(server, f'CREATE DATABASE "{name}"')


def _read_meta() -> dict[str, Any] | None:
    tables = connection.introspection.table_names()
    if META_TABLE not in tables:
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, value FROM {META_TABLE}")  # noqa: S608
        return {key: json.loads(value) for key, value in cursor.fetchall()}


def _write_meta(values: dict[str, Any]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key varchar(50) PRIMARY KEY, value text)"
        )
        for key, value in values.items():
            cursor.execute(f"DELETE FROM {META_TABLE} WHERE key = %s", [key])  # noqa: S608
            cursor.execute(
                f"INSERT INTO {META_TABLE} (key, value) VALUES (%s, %s)",  # noqa: S608
                [key, json.dumps(value)],
            )


@contextlib.contextmanager
def dataset(server: Server, spec: DataSpec, out: Out = print) -> Iterator[Dataset]:
    """The data set for `spec` in its own database, generated unless an equal one exists."""
    name = server.database_name(spec)
    exists = Path(name).exists() if server.vendor == "sqlite" else _pg_exists(server, name)
    meta = None
    if exists:
        with use_database(server, name):
            meta = _read_meta()
    fresh = (
        meta is not None
        and meta.get("status") == "complete"
        and meta.get("spec") == asdict(spec)
        and time.time() - meta["info"]["anchor"] < STALE_AFTER_DAYS * DAY
    )
    if not fresh:
        _fresh_database(server, name)
    with use_database(server, name):
        call_command("migrate", verbosity=0, interactive=False)
        if fresh:
            info = meta["info"]
            out(f"data: reusing {_describe(spec)} in {name}")
            yield Dataset(spec, name, info["anchor"], True, 0.0, info["focus"], info["counts"])
            return
        out(f"data: generating {_describe(spec)} into {name} (seed {spec.seed})…")
        started = time.perf_counter()
        _write_meta({"status": "generating", "spec": asdict(spec)})
        info = Generator(spec, out).run()
        seconds = time.perf_counter() - started
        info["seconds"] = round(seconds, 1)
        _write_meta({"status": "complete", "spec": asdict(spec), "info": info})
        rows = sum(info["counts"].values())
        out(f"data: {rows:,} rows in {seconds:.0f} s ({rows / max(seconds, 1e-9):,.0f} rows/s)")
        yield Dataset(spec, name, info["anchor"], False, seconds, info["focus"], info["counts"])


def _describe(spec: DataSpec) -> str:
    return (
        f"{spec.leads:,} leads / {spec.activities:,} activities / "
        f"{spec.reps} reps in {spec.teams} teams and 2 focus teams"
    )


# --- Bulk loading -------------------------------------------------------------------


class Loader:
    """Buffered bulk insert of plain tuples into one model's table (ids given by us)."""

    FLUSH = 50_000

    def __init__(self, model: type[models.Model], fields: Sequence[str]) -> None:
        opts = model._meta
        self.table = opts.db_table
        self.columns = [opts.get_field(name).column for name in fields]
        self.rows: list[tuple[Any, ...]] = []
        self.count = 0
        quote = connection.ops.quote_name
        self.targets = ", ".join(quote(c) for c in self.columns)
        self.sqlite_sql = (
            f"INSERT INTO {quote(self.table)} ({self.targets}) "  # noqa: S608
            f"VALUES ({', '.join('?' * len(self.columns))})"
        )

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.FLUSH:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        rows, self.rows = self.rows, []
        self.count += len(rows)
        connection.ensure_connection()
        raw = connection.connection
        if connection.vendor == "sqlite":
            with transaction.atomic():
                raw.cursor().executemany(self.sqlite_sql, rows)
            return
        quote = connection.ops.quote_name
        statement = f"COPY {quote(self.table)} ({self.targets}) FROM STDIN"
        with transaction.atomic(), raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)


def _secondary_indexes(table: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the table's indexes that no constraint depends on."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = %s AND sql IS NOT NULL",
                [table],
            )
        else:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
                [table],
            )
        return list(cursor.fetchall())


def _foreign_keys(tables: Sequence[str]) -> list[tuple[str, str, str]]:
    """(table, name, definition) of the foreign keys on these Postgres tables."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s) "
            "ORDER BY 1, 2",
            [list(tables)],
        )
        return list(cursor.fetchall())


LEDGER = "leads_leadevent"


def _in_time_order(cursor: Any) -> None:
    """Store the ledger in time order, as a live installation has it: the app appends
    each event when it happens, while the generator writes every event of one lead
    before the next lead's. A report over a date range then reads that range's pages,
    not a few rows from every page of the table."""
    quote = connection.ops.quote_name
    index = quote("bench_ledger_time_order")
    cursor.execute(f"CREATE INDEX {index} ON {quote(LEDGER)} (at, id)")
    cursor.execute(f"CLUSTER {quote(LEDGER)} USING {index}")
    cursor.execute(f"DROP INDEX {index}")


@contextlib.contextmanager
def bulk_load(tables: Sequence[str], out: Out) -> Iterator[None]:
    """Load without the tables' secondary indexes and foreign-key checks; rebuild after.

    On Postgres the foreign keys are dropped and added again after the load, which checks
    every row once; that needs only the ownership of the tables (the bench's role created
    the database), where skipping the per-row checks in place would need a superuser.
    """
    dropped = [index for table in tables for index in _secondary_indexes(table)]
    keys = _foreign_keys(tables) if connection.vendor == "postgresql" else []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for index_name, _ in dropped:
            cursor.execute(f"DROP INDEX {quote(index_name)}")
        for table, name, _ in keys:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA foreign_keys = OFF")
            cursor.execute("PRAGMA synchronous = OFF")
    try:
        yield
    finally:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA foreign_keys = ON")
                cursor.execute("PRAGMA synchronous = NORMAL")
            if connection.vendor == "postgresql" and LEDGER in tables:
                _in_time_order(cursor)
            for _, create in dropped:
                cursor.execute(create)
            for table, name, definition in keys:
                cursor.execute(
                    f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}"
                )
            # On Postgres VACUUM also marks the pages all-visible, as autovacuum does on a
            # live server: index-only scans need it. It cannot run in a transaction.
            postgres = connection.vendor == "postgresql"
            vacuum = postgres and not connection.in_atomic_block
            cursor.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")
        out(f"data: {len(dropped)} indexes and {len(keys)} foreign keys rebuilt and statistics "
            f"gathered in {time.perf_counter() - started:.0f} s")  # fmt: skip


def _reset_sequences(models_: Sequence[type[models.Model]]) -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), list(models_))
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def ts(seconds: float) -> str:
    """Epoch seconds as the text both databases read as a UTC timestamp."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))


# --- The generator --------------------------------------------------------------------

# A ledger row's columns after its lead, and what a row leaves empty.
EVENT_FIELDS = (
    "at", "kind", "stage", "from_stage", "owner", "actor", "campaign", "deal", "amount",
    "started_at", "due_at", "customer_wait", "routing_delay", "rep_response", "reason",
    "held_until", "untouched_for", "held_stage", "feedback_reason", "influenced",
    "lead_title", "lead_stage", *ledger.OUTCOMES,
)  # fmt: skip
# The lead's facts every ledger row carries (leads.models.LEDGER_FACTS), written last.
EVENT_FACTS = tuple(LEDGER_FACTS.values())
EVENT_INDEX = {name: n for n, name in enumerate(EVENT_FIELDS)}
TEXT_FIELDS = (
    "stage", "from_stage", "reason", "held_stage", "feedback_reason", "lead_title", "lead_stage",
)  # fmt: skip
EVENT_EMPTY = tuple(
    "" if name in TEXT_FIELDS else False if name == "influenced" else None
    for name in EVENT_FIELDS[2:]
)

# Stage mix of the whole table (percent) and channel mix (percent), a year into using Accord.
STAGE_MIX = {
    "suspect": 28,
    "fan": 11,
    "iql": 9,
    "mql": 5,
    "working": 16,
    "sql": 5,
    "opportunity": 3,
    "converted": 3,
    "disqualified": 15,
    "nurture": 5,
}
CHANNEL_MIX = {
    "purchased-list": 28,
    "content-download": 15,
    "webinar": 12,
    "paid": 12,
    "event": 8,
    "cold-prospecting": 8,
    "contact-request": 7,
    "demo-request": 6,
    "referral": 4,
}
PATH = ["suspect", "fan", "iql", "mql", "working", "sql", "opportunity"]
LEVEL = {stage: n for n, stage in enumerate(PATH)}
OPEN_OWNED = {"mql", "working", "sql", "opportunity", "nurture"}
TRANSITION = {
    "fan": "mark_fan",
    "iql": "qualify_information",
    "mql": "hand_raise",
    "working": "start_working",
    "sql": "accept",
    "opportunity": "open_opportunity",
    "converted": "win",
    "disqualified": "disqualify",
    "nurture": "nurture",
}
# Activities per lead by stage (relative weights; scaled to the requested total).
ACTIVITY_WEIGHT = {
    "suspect": 1.0,
    "fan": 2.5,
    "iql": 3.0,
    "mql": 4.0,
    "working": 9.0,
    "sql": 13.0,
    "opportunity": 17.0,
    "converted": 20.0,
    "disqualified": 6.0,
    "nurture": 9.0,
}
INTAKE_KIND = {
    "purchased-list": ("marketing", "list_import"),
    "content-download": ("customer", "content_download"),
    "webinar": ("customer", "webinar"),
    "paid": ("customer", "web_visit"),
    "event": ("customer", "form"),
    "cold-prospecting": ("marketing", "list_import"),
    "contact-request": ("customer", "form"),
    "demo-request": ("customer", "form"),
    "referral": ("marketing", "email"),
}
MARKETING_KINDS = [
    ("marketing", "email"),
    ("marketing", "social"),
    ("customer", "web_visit"),
    ("customer", "content_download"),
    ("customer", "webinar"),
    ("customer", "form"),
]
SALES_KINDS = [
    "call",
    "email",
    "email",
    "sequence_step",
    "sequence_step",
    "meeting",
    "social",
    "note",
]
SUBJECTS = ["Intro", "Follow-up", "Pricing question", "Demo recap", "Checking in", "Next steps"]
FIRST = [
    "Ada",
    "Grace",
    "Linus",
    "Zoë",
    "René",
    "Priya",
    "Kenji",
    "Amara",
    "Mateo",
    "Olga",
    "Sam",
    "Noor",
    "Lena",
    "Tomás",
    "Ines",
    "Yuki",
    "Omar",
    "Hana",
    "Ivan",
    "Maya",
]
LAST = [
    "Lovelace",
    "Hopper",
    "Berg",
    "Dupré",
    "Müller",
    "Patel",
    "Sato",
    "Okafor",
    "Silva",
    "Novak",
    "Haddad",
    "Kim",
    "Weber",
    "Rossi",
    "Lee",
    "Nakamura",
    "Costa",
    "Ali",
]
TITLES = [
    "VP Sales",
    "Head of Marketing",
    "CTO",
    "RevOps Manager",
    "Director of Growth",
    "Account Executive",
    "Chief Revenue Officer",
    "Demand Gen Lead",
    "Engineer",
    "CFO",
]
COUNTRIES = ["US", "US", "US", "DE", "GB", "FR", "SE", "CA", "NL", "ES"]
INDUSTRIES = ["computer software", "financial services", "logistics", "retail", "banking"]
REASONS = ["bad_data", "wrong_persona", "no_budget", "no_engagement", "competitor", "not_a_fit"]


class Generator:
    """Writes one data set into the (empty, migrated) current database."""

    CHUNK = 20_000

    def __init__(self, spec: DataSpec, out: Out) -> None:
        self.spec = spec
        self.out = out
        self.rng = random.Random(spec.seed)
        self.anchor = float(int(time.time()) // 60 * 60)

    def run(self) -> dict[str, Any]:
        self._reference_data()
        plan = self._plan()
        big = [
            Lead, Activity, StageChange, Assignment, Breach, Deal, Feedback, Account, LeadEvent,
        ]  # fmt: skip
        tables = [m._meta.db_table for m in (*big, LeadSearch)]  # no sequence of its own
        with bulk_load(tables, self.out):
            self._accounts()
            self._rows(plan)
        _reset_sequences(big)
        return {
            "anchor": self.anchor,
            "users": self.users,
            "focus": self.focus,
            "counts": self.counts,
        }

    # Users, teams, the agreement in force, campaigns: a few hundred rows through the ORM.
    def _reference_data(self) -> None:
        spec, rng = self.spec, self.rng

        def user(username: str, role: str, **extra: Any) -> User:
            person = User(username=username, email=f"{username}@bench.accord.invalid", **extra)
            person.set_unusable_password()
            person.save()
            person.groups.set([Group.objects.get(name=role)])
            return person

        ops = user("bench-ops", roles.OPS, is_staff=True, first_name="Otto", last_name="Ops")
        marketer = user("bench-marketer", roles.MARKETING, first_name="Mia", last_name="Mark")
        managers, teams = [], []
        for t in range(spec.teams):
            manager = user(f"bench-manager-{t}", roles.SALES_MANAGER, first_name=f"Manager {t}")
            managers.append(manager)
            teams.append(Team.objects.create(name=f"Bench team {t + 1}", manager=manager))
        # The two focus reps each make up a team of their own, with its own manager: the
        # team page then shows the same workload at a size and at a tenth of it (the focus
        # rep's leads), as the queue does. The other reps share the spec's teams.
        for slot in ("a", "b"):
            manager = user(
                f"bench-manager-focus-{slot}", roles.SALES_MANAGER,
                first_name=f"Focus manager {slot.upper()}",
            )  # fmt: skip
            managers.append(manager)
            name = f"Bench focus team {slot.upper()}"
            teams.append(Team.objects.create(name=name, manager=manager))
        self.reps: list[int] = []
        self.manager_of: dict[int, int] = {}
        others = max(1, spec.reps - 2)
        for r in range(spec.reps):
            team_index = spec.teams + r if r < 2 else (r - 2) * spec.teams // others
            rep = user(f"bench-rep-{r:02d}", roles.SALES_REP, first_name=f"Rep {r:02d}")
            RepProfile.objects.create(user=rep, team=teams[team_index], open_lead_cap=10**9)
            self.reps.append(rep.pk)
            self.manager_of[rep.pk] = managers[team_index].pk
        draft = Agreement.objects.filter(status=Agreement.Status.DRAFT).order_by("version").first()
        if Agreement.current() is None and draft is not None:
            agreement_services.sign(draft, marketer, agreement_services.MARKETING_SIDE)
            agreement_services.sign(draft, managers[0], agreement_services.SALES_SIDE)
            agreement_services.activate(draft, by=ops)
        agreement = Agreement.current()
        self.agreement_id = agreement.pk if agreement else None
        # First-touch waits are counted in the agreement's business calendar, as the clock does.
        self.calendar = (agreement.calendar_spec() if agreement else None) or CalendarSpec()
        self.channels = {c.slug: c for c in Channel.objects.all()}
        rules = list(ResponseRule.objects.filter(agreement=agreement)) if agreement else []
        default_rule = next((r for r in rules if r.channel_id is None), None)
        self.rule_for: dict[str, tuple[int | None, int]] = {}
        for slug, channel in self.channels.items():
            rule = next((r for r in rules if r.channel_id == channel.pk), default_rule)
            window = _window_seconds(rule) if rule else 4 * HOUR
            self.rule_for[slug] = (rule.pk if rule else None, window)
        self.campaigns: dict[str, list[int]] = {}
        start_day = dt.datetime.fromtimestamp(self.anchor - 365 * DAY, tz=dt.UTC)
        for slug, channel in sorted(self.channels.items()):
            self.campaigns[slug] = []
            for q in range(4):
                campaign = Campaign.objects.create(
                    name=f"{channel.name} Q{q + 1} (bench)",
                    channel=channel,
                    cost=Decimal(rng.randrange(2_000, 60_000)),
                    starts_on=(start_day + dt.timedelta(days=91 * q)).date(),
                    ends_on=(start_day + dt.timedelta(days=91 * q + 90)).date(),
                )
                self.campaigns[slug].append(campaign.pk)
        # Campaigns that touch leads of any channel (a webinar invite, an ad) before a deal.
        self.touch_slugs = sorted(s for s, c in self.channels.items() if c.is_marketing_sourced)
        self.personas = list(Persona.objects.values_list("pk", flat=True))
        self.users = {
            "ops": ops.pk,
            "marketer": marketer.pk,
            **{f"manager-{t}": m.pk for t, m in enumerate(managers)},
        }

    def _plan(self) -> dict[str, Any]:
        """Stage, channel, focus owner and activity count of every lead (cheap, in memory)."""
        spec, rng = self.spec, self.rng
        n = spec.leads
        stages = rng.choices(list(STAGE_MIX), weights=list(STAGE_MIX.values()), k=n)
        channels = rng.choices(list(CHANNEL_MIX), weights=list(CHANNEL_MIX.values()), k=n)
        for i in range(n):
            entry = self.channels[channels[i]].entry_stage
            if stages[i] in LEVEL and LEVEL[stages[i]] < LEVEL.get(entry, 0):
                stages[i] = entry
        candidates = [i for i in range(n) if stages[i] in OPEN_OWNED]
        f0, f1 = spec.focus_sizes
        wanted = min(len(candidates), f0 + f1)
        picked = rng.sample(candidates, wanted)
        focus_owner: dict[int, int] = {}
        self.focus = []
        for slot, (rep, size) in enumerate(((self.reps[0], f0), (self.reps[1], f1))):
            part = picked[: min(size, len(picked))] if slot == 0 else picked[f0:]
            for i in part:
                focus_owner[i] = rep
                stages[i] = stages[i] if stages[i] != "mql" else "working"
            working = sorted(i for i in part if stages[i] == "working") or sorted(part)
            page = working[0] if working else None
            self.focus.append(
                {
                    "rep": rep,
                    "leads": len(part),
                    "page_lead": (page + 1) if page is not None else 0,
                    "manager": self.manager_of[rep],
                }
            )
        weights = [ACTIVITY_WEIGHT[s] for s in stages]
        page_leads = {f["page_lead"] - 1 for f in self.focus if f["page_lead"]}
        for i in page_leads:
            weights[i] = 0.0
        rich = 60 if spec.activities >= 1_000 else 0
        budget = spec.activities - rich * len(page_leads)
        scale = budget / sum(weights) if sum(weights) else 0
        counts = [int(w * scale) for w in weights]
        for i in page_leads:
            counts[i] = rich
        others = [i for i in range(n) if i not in page_leads]
        for i in rng.sample(others, max(0, min(len(others), spec.activities - sum(counts)))):
            counts[i] += 1
        return {"stages": stages, "channels": channels, "focus": focus_owner, "acts": counts}

    def _accounts(self) -> None:
        self.n_accounts = max(1, self.spec.leads // 8)
        loader = Loader(Account, ["id", "name", "domain", "industry", "country", "created_at"])
        created = ts(self.anchor - 366 * DAY)
        for k in range(self.n_accounts):
            loader.add(
                (k + 1, f"Company {k}", f"co{k}.bench.example", INDUSTRIES[k % 5],
                 COUNTRIES[k % 10], created)
            )  # fmt: skip
        loader.flush()
        self.counts = {"accounts": loader.count}

    def _rows(self, plan: dict[str, Any]) -> None:
        L = Loader(
            Lead,
            ["id", "email", "first_name", "last_name", "title", "company", "phone", "country",
             "industry", "website", "stage", "owner", "channel", "campaign", "persona", "account",
             "created_at", "updated_at", "stage_entered_at", "assigned_at", "first_touch_at",
             "last_touch_at", "sla_started_at", "sla_due_at",
             "sla_status", "sla_rule", "sla_agreement", "nurture_until", "disqualify_reason",
             "version"],
        )  # fmt: skip
        A = Loader(
            Activity,
            ["id", "lead", "side", "kind", "actor", "occurred_at", "campaign", "subject", "body",
             "is_touch", "once_key"],
        )  # fmt: skip
        S = Loader(
            StageChange,
            ["id", "lead", "from_stage", "to_stage", "transition", "by", "at", "note", "agreement"],
        )
        G = Loader(Assignment, ["id", "lead", "to_owner", "at", "rule", "reason"])
        B = Loader(
            Breach,
            ["id", "lead", "rule", "agreement", "due_at", "detected_at", "owner_at_due",
             "manager_at_due", "resolved_at", "escalate_at", "escalated_at", "escalation",
             "escalation_notified_at"],
        )  # fmt: skip
        D = Loader(Deal, ["id", "lead", "account", "amount", "status", "opened_by", "opened_at",
                          "closed_at"])  # fmt: skip
        F = Loader(Feedback, ["id", "lead", "author", "fit", "reason", "text", "created_at"])
        E = Loader(LeadEvent, ["id", "lead", *EVENT_FIELDS, *EVENT_FACTS])
        self._search = Loader(LeadSearch, ["lead", "text"])
        self._ids = {"a": 0, "s": 0, "g": 0, "b": 0, "d": 0, "f": 0, "e": 0}
        n = self.spec.leads
        started = time.perf_counter()
        for first in range(0, n, self.CHUNK):
            for i in range(first, min(n, first + self.CHUNK)):
                self._lead(i, plan, L, A, S, G, B, D, F, E)
            done = min(n, first + self.CHUNK)
            if done % 200_000 == 0 or done == n:
                rate = done / max(time.perf_counter() - started, 1e-9)
                self.out(f"data: {done:,} of {n:,} leads with their history ({rate:,.0f} leads/s)")
        for loader in (L, A, S, G, B, D, F, E, self._search):
            loader.flush()
        self.counts.update(
            leads=L.count, activities=A.count, stage_changes=S.count, assignments=G.count,
            breaches=B.count, deals=D.count, feedback=F.count, lead_events=E.count,
        )  # fmt: skip

    def _business_seconds(self, start: float, end: float) -> int:
        """Whole working seconds from `start` to `end` (epoch seconds) in the agreement's
        calendar: agreements.calendar itself, on the whole seconds the rows store."""
        if end <= start:
            return 0
        a = dt.datetime.fromtimestamp(int(start), dt.UTC)
        b = dt.datetime.fromtimestamp(int(end), dt.UTC)
        return int(business_duration_between(a, b, self.calendar).total_seconds())

    def _touch_campaign(self, at: float) -> int:
        """A campaign of any marketing channel running at `at` (its quarter's)."""
        slug = self.touch_slugs[self.rng.randrange(len(self.touch_slugs))]
        return self.campaigns[slug][_quarter(at, self.anchor)]

    def _lead(self, i: int, plan: dict[str, Any], L, A, S, G, B, D, F, E) -> None:
        rng, anchor = self.rng, self.anchor
        lead_id = i + 1
        stage = plan["stages"][i]
        slug = plan["channels"][i]
        channel = self.channels[slug]
        marketing_sourced = channel.is_marketing_sourced
        entry = channel.entry_stage
        rule_id, window = self.rule_for[slug]

        # The path through the funnel, and the gaps between its steps.
        start = LEVEL.get(entry, 0)
        funnel = [s for s in PATH[start:] if not (slug == "cold-prospecting" and s == "mql")]
        if stage in LEVEL:
            path = funnel[: funnel.index(stage) + 1] if stage in funnel else [entry]
        elif stage == "converted":
            path = [*funnel, "converted"]
        elif stage == "nurture":
            cut = funnel.index("working") + 1 + rng.randrange(2) if "working" in funnel else 1
            path = [*funnel[:cut], "nurture"]
        else:  # disqualified, from anywhere in the funnel
            path = [*funnel[: 1 + rng.randrange(len(funnel))], "disqualified"]
        reached_sales = "working" in path or "mql" in path or "converted" in path
        gaps = []
        breach_late = rng.random() < 0.2
        for previous, step in itertools.pairwise(path):
            if previous == "mql" and step != "working" and rng.random() < 0.15:
                # Taken out of MQL before anyone had to answer (a duplicate, a bad address):
                # its clock stops rather than breaches.
                gaps.append(rng.uniform(0.1, 0.9) * window)
            elif step == "working":
                gaps.append(
                    window + rng.expovariate(1 / (6 * HOUR))
                    if breach_late
                    else rng.uniform(300, max(600, window * 0.95))
                )
            elif step in ("sql", "opportunity"):
                gaps.append(rng.expovariate(1 / (12 * DAY)))
            elif step in ("converted", "disqualified", "nurture"):
                gaps.append(rng.expovariate(1 / (20 * DAY)))
            else:
                gaps.append(rng.expovariate(1 / (15 * DAY)))
        span = sum(gaps)
        latest_start = anchor - 3 * HOUR - span
        created = rng.uniform(anchor - 365 * DAY, anchor - 2 * DAY)
        if created > latest_start:
            created = max(anchor - 365 * DAY, latest_start)
            if created + span > anchor - 3 * HOUR:
                factor = (anchor - 3 * HOUR - created) / span
                gaps = [g * factor for g in gaps]
        times = [created]
        for g in gaps:
            times.append(times[-1] + g)
        entered = dict(zip(path, times, strict=True))
        stage_entered = times[-1]

        # Owner: the focus reps' leads, else any rep once the lead reached sales.
        owner = plan["focus"].get(i)
        on_desk = stage == "mql" and rng.random() < 0.08  # a few MQLs wait on the desk
        if (
            owner is None
            and reached_sales
            and stage not in ("suspect", "fan", "iql")
            and not on_desk
        ):
            owner = self.reps[2 + rng.randrange(len(self.reps) - 2)]
        mql_at = entered.get("mql", entered.get("working"))
        assigned = None
        if owner is not None:
            base = mql_at if mql_at is not None else created
            assigned = base + rng.uniform(20, 600)
        first_touch = entered.get("working")
        if first_touch is not None and assigned is not None and first_touch < assigned:
            assigned = first_touch - 1
        touch_count = 0
        acts = plan["acts"][i]
        if first_touch is not None:
            touch_count = max(1, acts // 2) if acts else 0
        last_touch = None
        if first_touch is not None:
            end = stage_entered if stage in ("converted", "disqualified", "nurture") else anchor
            last_touch = first_touch + (max(0.0, end - first_touch) * rng.random())

        def holder(at: float) -> int | None:
            """The lead's owner at `at`: its one owner from the assignment on, else the desk."""
            return owner if assigned is not None and at >= assigned else None

        # The ledger, as the services append it (leads.ledger), gathered per lead and
        # written in time order: (at, kind, stage, from_stage, owner, actor, campaign, deal,
        # amount, started_at, due_at, customer_wait, routing_delay, rep_response, reason).
        events: list[list[Any]] = []

        def note(at: float, kind: str, **fields: Any) -> None:
            row = [at, kind, *EVENT_EMPTY]
            for name, value in fields.items():
                row[EVENT_INDEX[name]] = value
            events.append(row)

        # The SLA clock: MQLs from a rule's channel get one, started on entering MQL, and it
        # ends once: met by the first touch in time, breached at its due time (a late touch,
        # or none), or stopped when the lead left MQL untouched before it was due.
        sla_status, started, due, breach = "none", None, None, None
        if mql_at is not None and slug != "cold-prospecting":
            started, due = mql_at, mql_at + window
            if stage == "mql":
                # Running clocks are due well after generation (see the module docstring);
                # so is any clock that would fall due within the last day.
                if rng.random() < 0.6 or due > anchor - DAY:
                    sla_status = "pending"
                    due = anchor + rng.uniform(45 * DAY, 75 * DAY)
                else:
                    sla_status = "breached"
                    breach = (due, None)
            elif first_touch is not None:
                sla_status = "met" if first_touch <= due else "breached"
                if sla_status == "breached":
                    breach = (due, first_touch)
            else:
                left = times[path.index("mql") + 1]  # into nurture or disqualified
                if left > due:
                    sla_status = "breached"
                    breach = (due, None)
                else:
                    sla_status = "stopped"
            bounds = {"started_at": ts(started), "due_at": ts(due)}
            note(started, "clock_started", owner=holder(started), **bounds)
            if sla_status == "breached":
                note(due, "clock_breached", owner=holder(due), **bounds)
            elif sla_status == "stopped":
                note(left, "clock_stopped", owner=holder(left), **bounds)
                sla_status, started, due = "none", None, None  # a stopped clock is cleared

        first = FIRST[i % 20]
        last = LAST[(i // 20) % 18]
        account = (i % self.n_accounts) + 1 if i % 5 else None
        campaigns = self.campaigns[slug]
        campaign = campaigns[_quarter(created, anchor)] if marketing_sourced else None
        persona = self.personas[i % len(self.personas)] if self.personas and i % 5 < 3 else None
        nurture_until = None
        if stage == "nurture":
            nurture_until = time.strftime(
                "%Y-%m-%d", time.gmtime(anchor + rng.uniform(10 * DAY, 120 * DAY))
            )

        # History: stage changes, the assignment, the breach, deals, feedback.
        ids = self._ids
        note(created, "stage_entered", stage=path[0], owner=holder(created))
        reason = "No budget this year" if stage == "disqualified" else ""
        for before, after in itertools.pairwise(path):
            ids["s"] += 1
            by = owner if after not in ("fan", "iql", "mql") else None
            S.add((ids["s"], lead_id, before, after, TRANSITION[after], by, ts(entered[after]),
                   "", self.agreement_id))  # fmt: skip
            if after != "working":  # noted below, after the first touch that moved the lead
                note(entered[after], "stage_entered", stage=after, from_stage=before,
                     owner=holder(entered[after]), actor=by,
                     reason=reason if after == "disqualified" else "")  # fmt: skip
        if owner is not None:
            ids["g"] += 1
            G.add((ids["g"], lead_id, owner, ts(assigned), "Bench routing", ""))
            note(assigned, "assigned", owner=owner, reason="Bench routing")
        if breach is not None:
            ids["b"] += 1
            due_at, resolved = breach
            escalate = due_at + 8 * HOUR
            B.add(
                (ids["b"], lead_id, rule_id, self.agreement_id, ts(due_at), ts(due_at + 60),
                 owner, self.manager_of.get(owner), ts(resolved) if resolved else None,
                 ts(escalate), ts(min(anchor - 60, escalate + 60)), "notify_manager",
                 ts(min(anchor - 60, escalate + 60)))
            )  # fmt: skip
        if "opportunity" in path:
            ids["d"] += 1
            opened = entered["opportunity"]
            status = {"converted": "won", "disqualified": "lost"}.get(stage, "open")
            closed = ts(stage_entered) if status != "open" else None
            amount = Decimal(rng.randrange(5, 150) * 1000)
            D.add((ids["d"], lead_id, account, amount, status, owner, ts(opened), closed))
            note(opened, "deal_opened", owner=holder(opened), actor=owner, deal=ids["d"],
                 amount=amount)  # fmt: skip
            if status != "open":
                note(stage_entered, f"deal_{status}", owner=holder(stage_entered), actor=owner,
                     deal=ids["d"], amount=amount)  # fmt: skip
        if stage == "disqualified" and marketing_sourced and owner and rng.random() < 0.75:
            ids["f"] += 1
            F.add((ids["f"], lead_id, owner, rng.choice(["poor", "partial"]),
                   REASONS[i % 6], "Not a fit this quarter.", ts(stage_entered)))  # fmt: skip
            note(stage_entered, "feedback", owner=holder(stage_entered), actor=owner,
                 reason=REASONS[i % 6])  # fmt: skip

        # Activities: the intake, marketing and customer touches, then sales touches. The
        # intake carries the lead's own campaign; a share of leads also met 1–3 other
        # campaigns before sales picked them up (so before any deal), which is what makes
        # first-, last-touch and linear attribution differ. Each is a ledger touch point.
        if acts:
            marketing_end = first_touch if first_touch is not None else max(created, stage_entered)
            side, kind = INTAKE_KIND[slug]
            ids["a"] += 1
            A.add((ids["a"], lead_id, side, kind, None, ts(created), campaign, "", "", False, ""))
            if campaign is not None:
                note(created, "touch_point", campaign=campaign)
            others = acts - 1 - touch_count
            extra = 1 + rng.randrange(3) if others > 0 and rng.random() < 0.45 else 0
            for m in range(others):
                side, kind = MARKETING_KINDS[rng.randrange(6)]
                at = rng.uniform(created, max(created, marketing_end))
                met = self._touch_campaign(at) if m < extra else None
                ids["a"] += 1
                A.add((ids["a"], lead_id, side, kind, None, ts(at), met, "", "", False, ""))
                if met is not None:
                    note(at, "touch_point", campaign=met)
            if touch_count and first_touch is not None:
                for t in range(min(touch_count, acts - 1) or 0):
                    at = first_touch if t == 0 else rng.uniform(first_touch, last_touch)
                    ids["a"] += 1
                    kind = SALES_KINDS[rng.randrange(8)]
                    if t == 0 and kind == "note":
                        kind = "call"  # the first touch settles the clock: a touch
                    touched = kind != "note"  # a note is never a sales touch
                    A.add((ids["a"], lead_id, "sales", kind, owner, ts(at), None,
                           SUBJECTS[t % 6], "", touched, ""))  # fmt: skip
                    if touched:
                        note(at, "sales_touch", owner=holder(at), actor=owner)
        if first_touch is not None:
            # The first touch settles the clock (met, or its breach noted at the due time
            # above), records the three waits and moves the lead to Working.
            if started is not None:
                if sla_status == "met":
                    note(first_touch, "clock_met", owner=holder(first_touch),
                         started_at=ts(started), due_at=ts(due))  # fmt: skip
                # The toucher is the owner; handed over at the later of start and assignment.
                handed = max(started, assigned) if assigned is not None else started
                routing = self._business_seconds(started, handed)
                response = self._business_seconds(handed, first_touch)
                note(first_touch, "first_touch", owner=holder(first_touch), actor=owner,
                     started_at=ts(started), due_at=ts(due), customer_wait=routing + response,
                     routing_delay=routing, rep_response=response)  # fmt: skip
            if path.index("working") > 0:
                note(first_touch, "stage_entered", stage="working",
                     from_stage=path[path.index("working") - 1], owner=holder(first_touch),
                     actor=owner)  # fmt: skip

        email = f"{first}.{last}.{i}@co{i % self.n_accounts}.bench.example".lower()
        company, phone = f"Company {i % self.n_accounts}", f"+1 555 {i % 10_000:04d}"
        self._search.add((lead_id, search_text(first, last, email, company, phone)))
        L.add(
            (
                lead_id, email, first, last, TITLES[i % 10], company,
                phone, COUNTRIES[i % 10], INDUSTRIES[i % 5], "",
                stage, owner, channel.pk, campaign, persona, account,
                ts(created), ts(stage_entered), ts(stage_entered),
                ts(assigned) if assigned else None,
                ts(first_touch) if first_touch else None,
                ts(last_touch) if last_touch else None,
                ts(started) if started is not None else None,
                ts(due) if due and sla_status != "none" else None,
                sla_status,
                rule_id if sla_status != "none" else None,
                self.agreement_id if sla_status != "none" else None,
                nurture_until,
                reason,
                1,
            )
        )  # fmt: skip
        events.sort(key=_event_time)
        _settle_tenure(events, owner, stage)
        _settle_outcomes(events)
        _settle_feedback_reasons(events)
        _settle_influence(events)
        _stamp_entries(events, TITLES[i % 10], stage)
        for event in events:
            ids["e"] += 1
            E.add((ids["e"], lead_id, ts(event[0]), *event[1:], channel.pk, campaign, persona))
        for loader in (L, A, S, G, B, D, F, E):
            if len(loader.rows) >= Loader.FLUSH:
                loader.flush()


def _event_time(event: list[Any]) -> float:
    return event[0]


CLOSING = ("converted", "disqualified")
UNTOUCHED_FOR = LeadEvent._meta.get_field("untouched_for")


def _settle_tenure(events: list[list[Any]], owner: int | None, stage_now: str) -> None:
    """What leads.ledger writes on the lead's one assignment row: how long it went
    untouched (settle_tenures: until its close, or its holder's first sales touch) and the
    lead's stage now (keep_held_stage). A bench lead is assigned once, so it is held
    until now."""
    kind, stage, actor = EVENT_INDEX["kind"], EVENT_INDEX["stage"], EVENT_INDEX["actor"]
    assigned = next((e for e in events if e[kind] == "assigned"), None)
    if assigned is None:
        return
    assigned[EVENT_INDEX["held_stage"]] = stage_now
    start = assigned[0]
    for e in events:
        ends = e[kind] == "stage_entered" and e[stage] in CLOSING and e[0] > start
        touched = e[kind] == "sales_touch" and e[actor] == owner and e[0] >= start
        if ends or touched:
            untouched = dt.timedelta(seconds=e[0] - start)
            assigned[EVENT_INDEX["untouched_for"]] = UNTOUCHED_FOR.get_db_prep_value(
                untouched, connection
            )
            return


def _matches(event: list[Any], fields: dict[str, str]) -> bool:
    return all(event[EVENT_INDEX[name]] == value for name, value in fields.items())


def _settle_outcomes(events: list[list[Any]]) -> None:
    """What leads.ledger.settle_outcomes writes on the lead's MQL entries: per outcome
    (ledger.OUTCOMES), the time of the first matching event at or after the entry.
    `events` are in time order."""
    for entry in events:
        if not _matches(entry, ledger.MQL_ENTRY):
            continue
        for column, fields in ledger.OUTCOMES.items():
            first = next((e[0] for e in events if e[0] >= entry[0] and _matches(e, fields)), None)
            if first is not None:
                entry[EVENT_INDEX[column]] = ts(first)


def _settle_feedback_reasons(events: list[list[Any]]) -> None:
    """What leads.ledger.settle_feedback_reasons writes on the lead's disqualifications:
    the reason of its first feedback with one at or after it, before its next stage entry.
    `events` are in time order (a feedback at the instant of its disqualification comes
    after it: it was noted after it)."""
    kind, stage, reason = EVENT_INDEX["kind"], EVENT_INDEX["stage"], EVENT_INDEX["reason"]
    for n, entry in enumerate(events):
        if entry[kind] != "stage_entered" or entry[stage] != "disqualified":
            continue
        for e in events[n + 1 :]:
            if e[kind] == "stage_entered" and e[0] > entry[0]:
                break
            if e[kind] == "feedback" and e[reason] and e[0] >= entry[0]:
                entry[EVENT_INDEX["feedback_reason"]] = e[reason]
                break


def _settle_influence(events: list[list[Any]]) -> None:
    """What leads.ledger.settle_influence writes on the lead's deal rows (opened, won):
    whether a touch point with a campaign came before the deal opened."""
    kind, deal = EVENT_INDEX["kind"], EVENT_INDEX["deal"]
    campaign = EVENT_INDEX["campaign"]
    opened = {e[deal]: e[0] for e in events if e[kind] == "deal_opened"}
    points = [e[0] for e in events if e[kind] == "touch_point" and e[campaign] is not None]
    for e in events:
        if e[kind] in ("deal_opened", "deal_won"):
            e[EVENT_INDEX["influenced"]] = any(at < opened[e[deal]] for at in points)


def _stamp_entries(events: list[list[Any]], title: str, stage: str) -> None:
    """What leads.models.restamp_entry_facts writes on the lead's MQL entries: its title
    and stage now."""
    for e in events:
        if _matches(e, ledger.MQL_ENTRY):
            e[EVENT_INDEX["lead_title"]] = title
            e[EVENT_INDEX["lead_stage"]] = stage


def _quarter(at: float, anchor: float) -> int:
    """Which of the year's four campaign quarters `at` falls in."""
    return min(3, max(0, int((at - (anchor - 365 * DAY)) // (91.25 * DAY))))


def _window_seconds(rule: Any) -> int:
    unit = str(rule.within_unit)
    per = {"minutes": 60, "hours": HOUR, "days": DAY}.get(unit, HOUR)
    return int(rule.within_amount) * per
