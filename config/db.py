"""Database helpers shared by apps: one fast path for writing many rows that may exist already."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db import OperationalError, connection, connections, models, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

ROWS_PER_STATEMENT = 5000


def gather_planner_statistics(using: str = "default") -> bool:
    """Refresh the statistics SQLite's query planner chooses indexes by. True when it ran.

    SQLite keeps none until ANALYZE runs, and a migration that rebuilds a table drops that
    table's; without them it read the 1:1 report's "an MQL entry in the range before" by a
    range of every stage entry instead of the (lead, kind, at) index — minutes at 100,000
    leads. It reads every index (0.8 s at 100,000 leads; a sampled ANALYZE guessed a
    thousand rows per ledger kind and misled the planner). Empty tables get no statistics,
    so running it on a fresh database is harmless.
    Postgres gathers its own (autovacuum's analyze): nothing to do there.
    """
    target = connections[using]
    if target.vendor != "sqlite":
        return False
    with target.cursor() as cursor:
        cursor.execute("ANALYZE")
    return True


class NoTurn(Exception):
    """`in_turns` waited its whole `wait` for a turn."""


_SEMAPHORES: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_SEMAPHORES_LOCK = threading.Lock()


@contextlib.contextmanager
def in_turns(name: str, at_once: int, wait: float) -> Iterator[None]:
    """Run the block while at most `at_once` blocks of this `name` run, or raise NoTurn
    after waiting `wait` seconds for a turn; `at_once` 0: no limit.

    On Postgres the turns are shared by every process on the database (transaction-level
    advisory locks, one per turn, released with the block's transaction, a crashed
    process's with its connection); on SQLite, which serves one machine, by the threads
    of this process.
    """
    if at_once <= 0:
        yield
        return
    if connection.vendor != "postgresql":
        with _SEMAPHORES_LOCK:
            turns = _SEMAPHORES.setdefault((name, at_once), threading.BoundedSemaphore(at_once))
        if not turns.acquire(timeout=wait):
            raise NoTurn(name)
        try:
            yield
        finally:
            turns.release()
        return
    key = zlib.crc32(name.encode()) - 2**31  # the lock's first int4 key; the turn the second
    with transaction.atomic():
        with connection.cursor() as cursor:
            if not any(_try_turn(cursor, key, turn) for turn in range(at_once)):
                _queue_for_turn(cursor, name, key, threading.get_ident() % at_once, wait)
        yield


def _try_turn(cursor: Any, key: int, turn: int) -> bool:
    cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [key, turn])
    return bool(cursor.fetchone()[0])


def _queue_for_turn(cursor: Any, name: str, key: int, turn: int, wait: float) -> None:
    """Every turn is taken: wait for one (the thread's own, so waiters spread) up to `wait`."""
    cursor.execute(
        "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)",
        [f"{max(1, int(wait * 1000))}"],
    )
    before = cursor.fetchone()[0]
    try:
        with transaction.atomic():  # a savepoint: a timeout must not spoil the block's transaction
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [key, turn])
    except OperationalError as exc:
        raise NoTurn(name) from exc
    finally:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])


@contextlib.contextmanager
def at_most_parallel_workers(workers: int | None) -> Iterator[None]:
    """Postgres: run the block in a transaction whose statements use at most `workers`
    parallel workers each (None: the server's setting). SQLite has none: nothing to do."""
    if workers is None or connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('max_parallel_workers_per_gather', %s, true)", [str(workers)]
            )
        yield


def insert_ignoring_conflicts(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    conflict: Sequence[str],
) -> None:
    """INSERT rows, skipping any that hit the unique constraint on `conflict` (SQLite, Postgres).

    What bulk_create(ignore_conflicts=True) does, without building a model instance
    and compiling every value per row: the SLA check writes tens of thousands of
    rows in one run, and Django's per-value work was most of its time. See insert_rows.
    """
    insert_rows(model, fields, rows, conflict=conflict)


# SQLite's historic limit on query parameters; IN lists are split below it.
IN_CHUNK = 900


def in_chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    """The items in slices of at most `size` (transactions, IN lists)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    conflict: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """INSERT plain rows in a few statements; with `returning`, those columns of each new row.

    bulk_create without the model instances and the per-value SQL compilation, which
    were most of a large import's time. Values must be plain (ints, strings, None,
    aware datetimes; the datetimes are adapted here). Fields not given get their model
    default, evaluated once per call (so not for per-row defaults such as uuid4), and
    auto_now fields the time of the call. With `conflict`, rows hitting that unique constraint are
    skipped (ON CONFLICT DO NOTHING); without it a duplicate raises IntegrityError.
    `returning` gives raw database values (ids, text), in no promised order: return
    a unique column with the id to match rows up.
    """
    opts = model._meta
    given = [opts.get_field(name) for name in fields]
    names = {f.attname for f in given}
    defaulted = [
        f
        for f in opts.concrete_fields
        if not f.primary_key
        and f.attname not in names
        and (not f.null or f.has_default() or getattr(f, "auto_now", False))
    ]
    now = timezone.now()
    columns = [f.column for f in given + defaulted]
    extra = tuple(
        f.get_db_prep_save(
            now
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
            else f.get_default(),
            connection,
        )
        for f in defaulted
    )
    quote = connection.ops.quote_name
    # Only quoted identifiers from the model's meta go into the text; values are parameters.
    table = quote(opts.db_table)
    targets = ", ".join(quote(c) for c in columns)
    on_conflict = (
        f" ON CONFLICT ({', '.join(quote(opts.get_field(n).column) for n in conflict)}) DO NOTHING"
        if conflict
        else ""
    )
    back = (
        " RETURNING " + ", ".join(quote(opts.get_field(n).column) for n in returning)
        if returning
        else ""
    )
    params = _plain_rows(rows, [isinstance(f, models.DateTimeField) for f in given], extra)
    found: list[tuple[Any, ...]] = []
    if not params:
        return found
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array per column, unnested by the server: a handful of parameters per
            # statement however many rows, so the driver has almost nothing to parse.
            # Each array goes as one text literal built here: psycopg's own list dumper
            # quotes element by element in Python, slow for big arrays.
            types = [f.db_type(connection) for f in given + defaulted]
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            sql = (
                f"INSERT INTO {table} ({targets}) SELECT * FROM unnest({arrays})"  # noqa: S608
                f"{on_conflict}{back}"
            )
            for first in range(0, len(params), ROWS_PER_STATEMENT):
                part = params[first : first + ROWS_PER_STATEMENT]
                cursor.execute(sql, [array_literal(column) for column in zip(*part, strict=True)])
                if returning:
                    found += cursor.fetchall()
        elif not returning:
            marks = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {table} ({targets}) VALUES ({marks}){on_conflict}"  # noqa: S608
            cursor.executemany(sql, params)
        else:
            # executemany cannot return rows: multi-row VALUES, as many rows per
            # statement as SQLite's limit on parameters allows.
            one = "(" + ", ".join(["%s"] * len(columns)) + ")"
            per = max(1, _sqlite_max_params() // len(columns))
            for first in range(0, len(params), per):
                part = params[first : first + per]
                sql = (
                    f"INSERT INTO {table} ({targets}) VALUES "  # noqa: S608
                    f"{', '.join([one] * len(part))}{on_conflict}{back}"
                )
                cursor.execute(sql, [value for row in part for value in row])
                found += cursor.fetchall()
    return found


def update_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    increment: Sequence[str] = (),
) -> None:
    """UPDATE rows by primary key: each row is (pk, *values in `fields` order).

    bulk_update without its CASE WHEN per row and field, an expression Django builds
    and resolves for each value, which was most of a large import's time. `increment`
    fields go up by one (a version counter). Values must be plain, as for insert_rows.
    """
    opts = model._meta
    given = [opts.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    assignments = [f"{quote(f.column)} = %s" for f in given] + [
        f"{quote(c)} = {quote(c)} + 1" for c in (opts.get_field(n).column for n in increment)
    ]
    sql = (
        f"UPDATE {quote(opts.db_table)} SET {', '.join(assignments)} "  # noqa: S608
        f"WHERE {quote(opts.pk.column)} = %s"
    )
    params = _plain_rows(
        ((*row[1:], row[0]) for row in rows),
        [isinstance(f, models.DateTimeField) for f in given] + [False],
        (),
    )
    if params:
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)


def _plain_rows(
    rows: Iterable[Sequence[Any]], is_datetime: Sequence[bool], extra: tuple[Any, ...]
) -> list[tuple[Any, ...]]:
    """Rows as the driver takes them: datetime columns adapted (each distinct value once)."""
    if connection.vendor == "postgresql" or not any(is_datetime):
        return [tuple(row) + extra for row in rows]
    adapt = connection.ops.adapt_datetimefield_value
    adapted: dict[Any, Any] = {None: None}
    where = [i for i, flag in enumerate(is_datetime) if flag]
    params = []
    for row in rows:
        values = list(row)
        for i in where:
            value = values[i]
            if value not in adapted:
                adapted[value] = adapt(value)
            values[i] = adapted[value]
        params.append(tuple(values) + extra)
    return params


def _sqlite_max_params() -> int:
    """The SQLite library's limit on parameters per statement (999 on very old builds)."""
    connection.ensure_connection()
    return min(32_766, connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))


def array_literal(values: Iterable[Any]) -> str:
    """A Postgres array literal ('{1,NULL,"a \\"b\\""}') for plain values, cast by the caller.

    Strings are double-quoted with backslash and quote escaped (the array syntax's
    only escapes); the whole literal is then passed as one query parameter. A
    column holding one value throughout (a default, a batch id, "now") is quoted once.
    """
    values = list(values)
    if not values:
        return "{}"
    kinds = {value.__class__ for value in values}
    if kinds <= {int, type(None)}:  # ids: nothing to quote
        return "{" + ",".join(["NULL" if v is None else str(v) for v in values]) + "}"
    first = values[0]
    if values.count(first) == len(values) and all(v.__class__ is first.__class__ for v in values):
        return "{" + ",".join([_array_element(first)] * len(values)) + "}"
    return "{" + ",".join([_array_element(value) for value in values]) + "}"


def _array_element(value: Any) -> str:
    if value.__class__ is str:  # the common case first
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date):  # datetimes too: ISO 8601, with the offset if aware
        return f'"{value.isoformat()}"'
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def json_values(values: Iterable[str]) -> RawSQL:
    """A subquery yielding these strings, sent as one JSON parameter: for `field__in=`.

    Thousands of emails in one parameter instead of a placeholder each, so a lookup
    needs no chunking under SQLite's parameter limit and neither Django nor the
    driver handles the values one by one (the import looks up every email it reads).
    """
    data = json.dumps(list(values))
    if connection.vendor == "postgresql":
        return RawSQL("SELECT jsonb_array_elements_text(%s::jsonb)", [data])
    return RawSQL("SELECT value FROM json_each(%s)", [data])
