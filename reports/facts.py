# ruff: noqa: S608 -- SQL built from the constants below, no outside input
"""Stored report facts: the tenure table (`reports.Tenure`), kept by database triggers.

The sales activity report and the scoreboard count over tenures — one row per assignment
with the lookups each figure needs (the lead's next assignment, its first sales touch
and first exit from the queue since the assignment, the touches during the tenure, the
stages the lead reached and when it became Working). Computed per report, those lookups
ran over millions of activities for every assignment in the range; stored, a report
reads one row per assignment.

One SELECT (`tenure_select`) defines every column from the source tables. It fills the
table (`rebuild_tenures`: the migration's backfill and the benchmark's bulk load) and
each trigger: a write to an assignment, a sales touch (`is_touch`) or a stage change the
facts use recomputes the tenures of the leads it belongs to, so the facts equal a fresh
rebuild after any write path (services, admin, imports, bulk UPDATE/DELETE;
tests/reports/test_facts.py compares them).

SQLite: row triggers. Postgres: statement triggers over transition tables, one
recompute per statement for the leads it touched (enabled as ORIGIN, so a bulk load in
session_replication_role = replica skips them and rebuilds once after).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.db import connection as default_connection

TABLE = "reports_tenure"
COLUMNS = (
    "assignment_id",
    "lead_id",
    "rep_id",
    "started_at",
    "next_at",
    "touched_at",
    "left_at",
    "touches",
    "reached",
    "working_at",
)
# Leaving the queue (reports.queries.LEFT_QUEUE_STAGES) and the stages reached, as bits
# (reports.queries.REACHED_BITS). Frozen here: a change needs a migration that reinstalls.
LEFT_STAGES = ("disqualified", "converted", "nurture")
REACHED_BITS = {"working": 1, "sql": 2, "opportunity": 4}
FACT_STAGES = tuple(sorted({*LEFT_STAGES, *REACHED_BITS}))


def _in(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def tenure_select(where: str) -> str:
    """Every tenure column for the assignments matching `where` (alias `a`); a lead's
    assignments must be all in or all out (the next assignment is a window over them)."""
    bits = " + ".join(
        f"MAX(CASE WHEN s.to_stage = '{stage}' THEN {bit} ELSE 0 END)"
        for stage, bit in REACHED_BITS.items()
    )
    return f"""
        SELECT b.id, b.lead_id, b.to_owner_id, b.at, b.next_at,
            (SELECT MIN(x.occurred_at) FROM leads_activity x
             WHERE x.lead_id = b.lead_id AND x.is_touch AND x.occurred_at >= b.at),
            (SELECT MIN(s.at) FROM leads_stagechange s
             WHERE s.lead_id = b.lead_id AND s.to_stage IN ({_in(LEFT_STAGES)})
               AND s.at >= b.at),
            (SELECT COUNT(*) FROM leads_activity x
             WHERE x.lead_id = b.lead_id AND x.is_touch AND x.occurred_at >= b.at
               AND (b.next_at IS NULL OR x.occurred_at < b.next_at)),
            COALESCE((SELECT {bits} FROM leads_stagechange s
             WHERE s.lead_id = b.lead_id AND s.to_stage IN ({_in(list(REACHED_BITS))})), 0),
            (SELECT MIN(s.at) FROM leads_stagechange s
             WHERE s.lead_id = b.lead_id AND s.to_stage = 'working')
        FROM (
            SELECT a.id, a.lead_id, a.to_owner_id, a.at,
                LEAD(a.at) OVER (PARTITION BY a.lead_id ORDER BY a.at, a.id) AS next_at
            FROM leads_assignment a WHERE {where}
        ) b"""


def _refresh(lead: str) -> list[str]:
    """Statements that recompute the tenures of the lead(s) matching `lead` (a condition
    on a `lead_id` column, e.g. "= NEW.lead_id")."""
    return [
        f"DELETE FROM {TABLE} WHERE lead_id {lead}",
        f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) {tenure_select(f'a.lead_id {lead}')}",
    ]


def rebuild_tenures(connection: Any = None) -> int:
    """Recompute the whole tenure table from assignments, touches and stage changes
    (set-based, one statement); returns the number of tenures."""
    connection = connection or default_connection
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) {tenure_select('1 = 1')}")
        cursor.execute(f"SELECT COUNT(*) FROM {TABLE}")
        return cursor.fetchone()[0]


# Which writes change the facts: (table, the rows that matter, as a condition on a row).
SOURCES = {
    "leads_assignment": "1 = 1",
    "leads_activity": "{row}.is_touch",
    "leads_stagechange": f"{{row}}.to_stage IN ({_in(FACT_STAGES)})",
}


def _sqlite_create() -> list[str]:
    statements = []
    for table, condition in SOURCES.items():
        new, old = condition.format(row="NEW"), condition.format(row="OLD")
        refresh_new = "; ".join(_refresh("= NEW.lead_id"))
        refresh_old = "; ".join(_refresh("= OLD.lead_id"))
        statements += [
            f"""CREATE TRIGGER {TABLE}_{table}_insert AFTER INSERT ON {table}
            WHEN {new} BEGIN {refresh_new}; END""",
            f"""CREATE TRIGGER {TABLE}_{table}_delete AFTER DELETE ON {table}
            WHEN {old} BEGIN {refresh_old}; END""",
            f"""CREATE TRIGGER {TABLE}_{table}_update AFTER UPDATE ON {table}
            WHEN {old} OR {new} BEGIN {refresh_old}; {refresh_new}; END""",
        ]
    return statements


def _sqlite_drop() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {TABLE}_{table}_{op}"
        for table in SOURCES
        for op in ("insert", "delete", "update")
    ]


def _pg_create() -> list[str]:
    statements = []
    for table, condition in SOURCES.items():
        changed = {
            "new": f"SELECT lead_id FROM new_rows r WHERE {condition.format(row='r')}",
            "old": f"SELECT lead_id FROM old_rows r WHERE {condition.format(row='r')}",
        }
        body = "; ".join(_refresh("= ANY(ids)"))
        statements.append(
            f"""CREATE FUNCTION {TABLE}_{table}_refresh() RETURNS trigger LANGUAGE plpgsql AS $fn$
            DECLARE ids bigint[];
            BEGIN
                IF TG_OP = 'INSERT' THEN ids := ARRAY({changed["new"]});
                ELSIF TG_OP = 'DELETE' THEN ids := ARRAY({changed["old"]});
                ELSE ids := ARRAY({changed["new"]} UNION {changed["old"]});
                END IF;
                IF cardinality(ids) > 0 THEN
                    ids := ARRAY(SELECT DISTINCT unnest(ids) ORDER BY 1);
                    {body};
                END IF;
                RETURN NULL;
            END
            $fn$"""
        )
        for op, refs in (
            ("insert", "NEW TABLE AS new_rows"),
            ("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("delete", "OLD TABLE AS old_rows"),
        ):
            statements.append(
                f"""CREATE TRIGGER {TABLE}_{table}_{op} AFTER {op.upper()} ON {table}
                REFERENCING {refs} FOR EACH STATEMENT
                EXECUTE FUNCTION {TABLE}_{table}_refresh()"""
            )
    return statements


def _pg_drop() -> list[str]:
    statements = [
        f"DROP TRIGGER IF EXISTS {TABLE}_{table}_{op} ON {table}"
        for table in SOURCES
        for op in ("insert", "delete", "update")
    ]
    return statements + [f"DROP FUNCTION IF EXISTS {TABLE}_{table}_refresh()" for table in SOURCES]


def install_triggers(connection: Any = None) -> None:
    """Create the triggers that keep the tenure table (replacing any there are)."""
    connection = connection or default_connection
    create = {"sqlite": _sqlite_create, "postgresql": _pg_create}[connection.vendor]
    with connection.cursor() as cursor:
        for sql in [*_drop_statements(connection), *create()]:
            cursor.execute(sql)


def _drop_statements(connection: Any) -> list[str]:
    return {"sqlite": _sqlite_drop, "postgresql": _pg_drop}[connection.vendor]()


def drop_triggers(connection: Any = None) -> None:
    """Remove the tenure triggers (the table then goes stale until `rebuild_tenures`)."""
    connection = connection or default_connection
    with connection.cursor() as cursor:
        for sql in _drop_statements(connection):
            cursor.execute(sql)


@contextlib.contextmanager
def bulk_loading(connection: Any = None) -> Iterator[None]:
    """For a bulk load of the source tables: no per-row upkeep during it, one rebuild after."""
    connection = connection or default_connection
    drop_triggers(connection)
    try:
        yield
    finally:
        install_triggers(connection)
        rebuild_tenures(connection)
