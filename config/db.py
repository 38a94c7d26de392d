"""Database helpers shared by apps: one fast path for writing many rows that may exist already."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models

ROWS_PER_STATEMENT = 5000


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
    rows in one run, and Django's per-value work was most of its time. Values must
    be plain (ints, strings, None, aware datetimes); datetimes are adapted here.
    Fields not given get their model default (evaluated once per call).
    """
    opts = model._meta
    given = [opts.get_field(name) for name in fields]
    names = {f.attname for f in given}
    defaulted = [
        f
        for f in opts.concrete_fields
        if not f.primary_key and f.attname not in names and not f.null
    ]
    columns = [f.column for f in given + defaulted]
    extra = tuple(f.get_db_prep_save(f.get_default(), connection) for f in defaulted)
    is_datetime = [isinstance(f, models.DateTimeField) for f in given]
    adapt = connection.ops.adapt_datetimefield_value
    quote = connection.ops.quote_name
    # Only quoted identifiers from the model's meta go into the text; values are parameters.
    table = quote(opts.db_table)
    targets = ", ".join(quote(c) for c in columns)
    keys = ", ".join(quote(opts.get_field(n).column) for n in conflict)
    marks = ", ".join(["%s"] * len(columns))
    params = [
        tuple(
            adapt(v) if dt and v is not None else v for v, dt in zip(row, is_datetime, strict=True)
        )
        + extra
        for row in rows
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array per column, unnested by the server: a handful of parameters per
            # statement however many rows, so the driver has almost nothing to parse.
            # Each array goes as one text literal built here: psycopg's own list dumper
            # quotes element by element in Python and was a third of the SLA check's time.
            types = [f.db_type(connection) for f in given + defaulted]
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            sql = (
                f"INSERT INTO {table} ({targets}) SELECT * FROM unnest({arrays}) "  # noqa: S608
                f"ON CONFLICT ({keys}) DO NOTHING"
            )
            for first in range(0, len(params), ROWS_PER_STATEMENT):
                part = params[first : first + ROWS_PER_STATEMENT]
                cursor.execute(sql, [array_literal(column) for column in zip(*part, strict=True)])
        else:
            sql = (
                f"INSERT INTO {table} ({targets}) VALUES ({marks}) "  # noqa: S608
                f"ON CONFLICT ({keys}) DO NOTHING"
            )
            cursor.executemany(sql, params)


def array_literal(values: Iterable[Any]) -> str:
    """A Postgres array literal ('{1,NULL,"a \\"b\\""}') for plain values, cast by the caller.

    Strings are double-quoted with backslash and quote escaped (the array syntax's
    only escapes); the whole literal is then passed as one query parameter.
    """
    parts = []
    for value in values:
        if value is None:
            parts.append("NULL")
        elif isinstance(value, bool):
            parts.append("t" if value else "f")
        elif isinstance(value, int):
            parts.append(str(value))
        elif isinstance(value, dt.date):  # datetimes too: ISO 8601, with the offset if aware
            parts.append(f'"{value.isoformat()}"')
        else:
            text = str(value).replace("\\", "\\\\").replace('"', '\\"')
            parts.append(f'"{text}"')
    return "{" + ",".join(parts) + "}"
