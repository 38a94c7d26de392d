# ruff: noqa: S608 -- SQL built from the constants below, no outside input
"""Stored report facts: the tenure table (`reports.Tenure`), kept by database triggers.

The sales activity report and the scoreboard count over tenures — one row per assignment
with the lookups each figure needs (the lead's next assignment, its first sales touch
and first exit from the queue since the assignment, the touches during the tenure, the
stages the lead reached and when it became Working, its first touches from then, and the
lead's own columns the figures filter and count on). Computed per report, those lookups
ran over millions of activities for every assignment in the range; stored, a report
reads one row per assignment.

One SELECT (`tenure_select`) defines every column from the source tables. It fills the
table (`rebuild_tenures`: the migration's backfill and the benchmark's bulk load) and
each trigger: a write to an assignment, a sales touch (`is_touch`) or a stage change the
facts use recomputes the tenures of the leads it belongs to, and a lead's update writes
its copied columns on its tenures (`LEAD_COPY`), so the facts equal a fresh
rebuild after any write path (services, admin, imports, bulk UPDATE/DELETE;
tests/reports/test_facts.py compares them).

SQLite: row triggers. Postgres: statement triggers over transition tables, one
recompute per statement for the leads it touched (enabled as ORIGIN, so a bulk load in
session_replication_role = replica skips them and rebuilds once after).

The marketing side has the same kind of stored facts, below: the delivery events
(`reports.DeliveryEvent`, one row per event a delivery figure counts, kept by triggers on
leads, stage changes, deals and feedback) and their tally per UTC day
(`reports.DeliveryTally`, kept by triggers on the event table).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection as default_connection
from django.db import transaction

TABLE = "reports_tenure"
# The lead's columns repeated on its tenures (tenure column → lead column), kept by a
# trigger on lead updates: the reports filter and count on them without a join.
LEAD_COPY = {
    "stage": "stage",
    "channel_id": "channel_id",
    "campaign_id": "campaign_id",
    "persona_id": "persona_id",
    "first_touch_at": "first_touch_at",
    "sla_status": "sla_status",
    "sla_due_at": "sla_due_at",
    "ttft": "business_seconds_to_first_touch",
}
# The lead's first sales touches from its first entry into Working, in order: a touch
# goal of K ≤ this many touches within D days is reached iff the K-th is before
# Working + D (any goal the agreement sets, without counting touches per report).
WORKING_TOUCHES = 8
WORKING_TOUCH_COLUMNS = tuple(f"working_touch_{n}_at" for n in range(1, WORKING_TOUCHES + 1))
COLUMNS = (
    "assignment_id",
    "lead_id",
    "rep_id",
    "started_at",
    "next_at",
    "prev_at",
    "touched_at",
    "left_at",
    "touches",
    "reached",
    "working_at",
    *LEAD_COPY,
    *WORKING_TOUCH_COLUMNS,
)
# Leaving the queue (a lead in these stages is done or parked, not "untouched") and the
# stages reached, as bits. Frozen here: a change needs a migration that reinstalls.
LEFT_STAGES = ("disqualified", "converted", "nurture")
REACHED_BITS = {"working": 1, "sql": 2, "opportunity": 4}
FACT_STAGES = tuple(sorted({*LEFT_STAGES, *REACHED_BITS}))


def _in(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def tenure_select(lead: str | None = None) -> str:
    """Every tenure column for the assignments of the leads whose id matches `lead` (a
    condition on a lead id column, e.g. "= NEW.lead_id"; None: every lead)."""

    def only(column: str) -> str:
        return "1 = 1" if lead is None else f"{column} {lead}"

    bits = " + ".join(
        f"MAX(CASE WHEN s.to_stage = '{stage}' THEN {bit} ELSE 0 END)"
        for stage, bit in REACHED_BITS.items()
    )
    # Per lead: the stages reached and the first entry into Working.
    stages = f"""(SELECT s.lead_id, {bits} AS reached,
            MIN(CASE WHEN s.to_stage = 'working' THEN s.at END) AS working_at
        FROM leads_stagechange s
        WHERE s.to_stage IN ({_in(list(REACHED_BITS))}) AND {only("s.lead_id")}
        GROUP BY s.lead_id)"""
    nth = ", ".join(
        f"MIN(CASE WHEN r.n = {n} THEN r.at END) AS t{n}" for n in range(1, WORKING_TOUCHES + 1)
    )
    working_touches = f"""(SELECT r.lead_id, {nth} FROM (
            SELECT x.lead_id, x.occurred_at AS at,
                ROW_NUMBER() OVER (PARTITION BY x.lead_id ORDER BY x.occurred_at) AS n
            FROM leads_activity x INNER JOIN {stages} w ON w.lead_id = x.lead_id
            WHERE x.is_touch AND x.occurred_at >= w.working_at AND {only("x.lead_id")}
        ) r WHERE r.n <= {WORKING_TOUCHES} GROUP BY r.lead_id)"""
    wt = ", ".join(f"wt.t{n}" for n in range(1, WORKING_TOUCHES + 1))
    copied = ", ".join(f"l.{column}" for column in LEAD_COPY.values())
    return f"""
        SELECT b.id, b.lead_id, b.to_owner_id, b.at, b.next_at, b.prev_at,
            (SELECT MIN(x.occurred_at) FROM leads_activity x
             WHERE x.lead_id = b.lead_id AND x.is_touch AND x.occurred_at >= b.at),
            (SELECT MIN(s.at) FROM leads_stagechange s
             WHERE s.lead_id = b.lead_id AND s.to_stage IN ({_in(LEFT_STAGES)})
               AND s.at >= b.at),
            (SELECT COUNT(*) FROM leads_activity x
             WHERE x.lead_id = b.lead_id AND x.is_touch AND x.occurred_at >= b.at
               AND (b.next_at IS NULL OR x.occurred_at < b.next_at)),
            COALESCE(st.reached, 0), st.working_at, {copied}, {wt}
        FROM (
            SELECT a.id, a.lead_id, a.to_owner_id, a.at,
                LEAD(a.at) OVER (PARTITION BY a.lead_id ORDER BY a.at, a.id) AS next_at,
                LAG(a.at) OVER (PARTITION BY a.lead_id ORDER BY a.at, a.id) AS prev_at
            FROM leads_assignment a WHERE {only("a.lead_id")}
        ) b
        INNER JOIN leads_lead l ON l.id = b.lead_id
        LEFT JOIN {stages} st ON st.lead_id = b.lead_id
        LEFT JOIN {working_touches} wt ON wt.lead_id = b.lead_id"""


def _refresh(lead: str) -> list[str]:
    """Statements that recompute the tenures of the lead(s) matching `lead` (a condition
    on a `lead_id` column, e.g. "= NEW.lead_id")."""
    return [
        f"DELETE FROM {TABLE} WHERE lead_id {lead}",
        f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) {tenure_select(lead)}",
    ]


def rebuild_tenures(connection: Any = None) -> int:
    """Recompute the whole tenure table from assignments, touches and stage changes
    (set-based, one statement); returns the number of tenures."""
    connection = connection or default_connection
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) {tenure_select()}")
        cursor.execute(f"SELECT COUNT(*) FROM {TABLE}")
        return cursor.fetchone()[0]


# Which writes change the facts: (table, the rows that matter, as a condition on a row).
SOURCES = {
    "leads_assignment": "1 = 1",
    "leads_activity": "{row}.is_touch",
    "leads_stagechange": f"{{row}}.to_stage IN ({_in(FACT_STAGES)})",
}


def _changed(columns: Iterable[str], old: str, new: str, distinct: str) -> str:
    """Whether any of `columns` differs between rows `old` and `new`."""
    return " OR ".join(f"{old}.{c} {distinct} {new}.{c}" for c in columns)


def _lead_copy_set(new: str) -> str:
    return ", ".join(f"{t} = {new}.{c}" for t, c in LEAD_COPY.items())


def _sqlite_create() -> list[str]:
    # A lead's update writes its copy on its tenures (only a change of a copied column).
    statements = [
        f"""CREATE TRIGGER {TABLE}_leads_lead_update
        AFTER UPDATE OF {", ".join(LEAD_COPY.values())} ON leads_lead
        WHEN {_changed(LEAD_COPY.values(), "OLD", "NEW", "IS NOT")}
        BEGIN UPDATE {TABLE} SET {_lead_copy_set("NEW")} WHERE lead_id = NEW.id; END"""
    ]
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
    return [f"DROP TRIGGER IF EXISTS {TABLE}_leads_lead_update"] + [
        f"DROP TRIGGER IF EXISTS {TABLE}_{table}_{op}"
        for table in SOURCES
        for op in ("insert", "delete", "update")
    ]


def _pg_refresh_function(name: str, new: str, old: str, body: str) -> str:
    """A statement trigger's function: run `body` for the lead ids (`ids`, sorted, distinct)
    that `new` / `old` (SELECTs over the transition tables) give, if there are any."""
    return f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$
        DECLARE ids bigint[];
        BEGIN
            IF TG_OP = 'INSERT' THEN ids := ARRAY({new});
            ELSIF TG_OP = 'DELETE' THEN ids := ARRAY({old});
            ELSE ids := ARRAY({new} UNION {old});
            END IF;
            IF cardinality(ids) > 0 THEN
                ids := ARRAY(SELECT DISTINCT unnest(ids) ORDER BY 1);
                {body};
            END IF;
            RETURN NULL;
        END
        $fn$"""


def _pg_create() -> list[str]:
    # A lead's update writes its copy on its tenures: one UPDATE per statement, for the
    # leads whose copied columns changed (the SLA check rewrites thousands at once).
    statements = [
        f"""CREATE FUNCTION {TABLE}_leads_lead_copy() RETURNS trigger LANGUAGE plpgsql AS $fn$
        DECLARE ids bigint[];
        BEGIN
            ids := ARRAY(SELECT n.id FROM new_rows n INNER JOIN old_rows o ON o.id = n.id
                WHERE {_changed(LEAD_COPY.values(), "o", "n", "IS DISTINCT FROM")} ORDER BY 1);
            IF cardinality(ids) > 0 THEN
                UPDATE {TABLE} t SET {_lead_copy_set("n")} FROM new_rows n
                WHERE t.lead_id = ANY(ids) AND n.id = t.lead_id;
            END IF;
            RETURN NULL;
        END
        $fn$""",
        f"""CREATE TRIGGER {TABLE}_leads_lead_update AFTER UPDATE ON leads_lead
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
        EXECUTE FUNCTION {TABLE}_leads_lead_copy()""",
    ]
    for table, condition in SOURCES.items():
        changed = {
            "new": f"SELECT lead_id FROM new_rows r WHERE {condition.format(row='r')}",
            "old": f"SELECT lead_id FROM old_rows r WHERE {condition.format(row='r')}",
        }
        body = "; ".join(_refresh("= ANY(ids)"))
        statements.append(
            _pg_refresh_function(f"{TABLE}_{table}_refresh", changed["new"], changed["old"], body)
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
    statements = [f"DROP TRIGGER IF EXISTS {TABLE}_leads_lead_update ON leads_lead"]
    statements += [
        f"DROP TRIGGER IF EXISTS {TABLE}_{table}_{op} ON {table}"
        for table in SOURCES
        for op in ("insert", "delete", "update")
    ]
    functions = [f"{TABLE}_{table}_refresh" for table in SOURCES] + [f"{TABLE}_leads_lead_copy"]
    return statements + [f"DROP FUNCTION IF EXISTS {name}()" for name in functions]


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
    drop_delivery_triggers(connection)
    drop_tally_triggers(connection)
    try:
        yield
    finally:
        install_triggers(connection)
        rebuild_tenures(connection)
        install_delivery_triggers(connection)
        rebuild_delivery(connection)
        install_tally_triggers(connection)
        rebuild_tally(connection)


# --- Delivery events (reports.DeliveryEvent) -------------------------------------------
#
# The marketing delivery figures count leads with an event in the range: created, became
# an MQL, entered SQL, disqualified, closed (and the pipeline: deals opened, with their
# amounts, each one counting). One row per event with the lead's previous
# event of the same kind: the leads with such an event in [start, end) are the events in
# it whose previous one is before `start`, so a report counts the range's events (or
# their tally per day, below) without grouping per lead. The lead's channel, campaign, persona,
# whether it is closed now and traceable, and its latest structured reason are repeated
# on each of its events. A lead's events are recomputed when it, one of its stage
# changes, deals or feedback is written.

DELIVERY_TABLE = "reports_deliveryevent"
DELIVERY_COLUMNS = (
    "lead_id",
    "kind",
    "at",
    "prev_at",
    "channel_id",
    "campaign_id",
    "persona_id",
    "closed",
    "traceable",
    "reason",
    "amount",
)
# Frozen like the stages above (reports.models.DeliveryEvent.Kind, agreements.stages).
CLOSED = ("converted", "disqualified")
ENTRY_KINDS = {"mql": 1, "sql": 2, "disqualified": 3}
CLOSED_KIND = 4
DEAL_KIND = 5
# Lead columns whose change changes the lead's events.
LEAD_FACT_COLUMNS = ("stage", "channel_id", "campaign_id", "persona_id", "created_at")


def delivery_select(where: str) -> str:
    """Every event column of the leads matching `where` (alias `l`, leads_lead)."""
    w = f"l.channel_id IS NOT NULL AND ({where})"
    born = (
        "(SELECT s.from_stage FROM leads_stagechange s WHERE s.lead_id = l.id"
        " ORDER BY s.at, s.id LIMIT 1)"
    )
    kind = " ".join(f"WHEN '{stage}' THEN {k}" for stage, k in ENTRY_KINDS.items())
    closed = f"l.stage IN ({_in(CLOSED)})"
    traceable = (
        f"{closed} AND (l.stage = 'converted'"
        " OR EXISTS (SELECT 1 FROM leads_deal d WHERE d.lead_id = l.id)"
        " OR EXISTS (SELECT 1 FROM leads_feedback fb WHERE fb.lead_id = l.id"
        " AND fb.reply_to_id IS NULL AND NOT (fb.reason = '' AND fb.fit = '')))"
    )
    reason = (
        "(SELECT fb.reason FROM leads_feedback fb WHERE fb.lead_id = l.id"
        " AND fb.reply_to_id IS NULL AND fb.reason <> ''"
        " ORDER BY fb.created_at DESC, fb.id DESC LIMIT 1)"
    )
    return f"""
        SELECT ev.lead_id, ev.kind, ev.at,
            CASE WHEN ev.kind < {DEAL_KIND} THEN
                LAG(ev.at) OVER (PARTITION BY ev.lead_id, ev.kind ORDER BY ev.at) END,
            lf.channel_id, lf.campaign_id, lf.persona_id, lf.closed, lf.traceable, lf.reason,
            ev.amount
        FROM (
            SELECT l.id AS lead_id, 0 AS kind, l.created_at AS at,
                CAST(NULL AS DECIMAL(14, 2)) AS amount
            FROM leads_lead l WHERE {w}
            UNION ALL
            SELECT l.id, 1, l.created_at, NULL FROM leads_lead l
            WHERE {w} AND COALESCE({born}, l.stage) = 'mql'
            UNION ALL
            SELECT s.lead_id, CASE s.to_stage {kind} END, s.at, NULL
            FROM leads_stagechange s INNER JOIN leads_lead l ON l.id = s.lead_id
            WHERE {w} AND s.to_stage IN ({_in(list(ENTRY_KINDS))})
            UNION ALL
            SELECT s.lead_id, {CLOSED_KIND}, s.at, NULL
            FROM leads_stagechange s INNER JOIN leads_lead l ON l.id = s.lead_id
            WHERE {w} AND s.to_stage IN ({_in(CLOSED)})
            UNION ALL
            SELECT d.lead_id, {DEAL_KIND}, d.opened_at, d.amount
            FROM leads_deal d INNER JOIN leads_lead l ON l.id = d.lead_id WHERE {w}
        ) ev
        INNER JOIN (
            SELECT l.id, l.channel_id, l.campaign_id, l.persona_id, {closed} AS closed,
                {traceable} AS traceable, {reason} AS reason
            FROM leads_lead l WHERE {w}
        ) lf ON lf.id = ev.lead_id"""


def _delivery_refresh(lead: str) -> list[str]:
    """Statements that recompute the events of the lead(s) whose id matches `lead`."""
    return [
        f"DELETE FROM {DELIVERY_TABLE} WHERE lead_id {lead}",
        f"INSERT INTO {DELIVERY_TABLE} ({', '.join(DELIVERY_COLUMNS)})"
        f" {delivery_select(f'l.id {lead}')}",
    ]


def rebuild_delivery(connection: Any = None) -> int:
    """Recompute the whole delivery event table (set-based, one statement); returns the
    number of events."""
    connection = connection or default_connection
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DELIVERY_TABLE}")
        cursor.execute(
            f"INSERT INTO {DELIVERY_TABLE} ({', '.join(DELIVERY_COLUMNS)})"
            f" {delivery_select('1 = 1')}"
        )
        cursor.execute(f"SELECT COUNT(*) FROM {DELIVERY_TABLE}")
        return cursor.fetchone()[0]


# Which writes change the events: table → the column naming the lead.
DELIVERY_SOURCES = {
    "leads_lead": "id",
    "leads_stagechange": "lead_id",
    "leads_deal": "lead_id",
    "leads_feedback": "lead_id",
}


def _delivery_sqlite_create() -> list[str]:
    statements = []
    for table, column in DELIVERY_SOURCES.items():
        new = "; ".join(_delivery_refresh(f"= NEW.{column}"))
        old = "; ".join(_delivery_refresh(f"= OLD.{column}"))
        if table == "leads_lead":
            # The SLA check and the import rewrite leads: only a change the events use.
            update = (
                f"AFTER UPDATE OF {', '.join(LEAD_FACT_COLUMNS)} ON {table}"
                f" WHEN {_changed(LEAD_FACT_COLUMNS, 'OLD', 'NEW', 'IS NOT')} BEGIN {new}; END"
            )
        else:
            update = f"AFTER UPDATE ON {table} BEGIN {old}; {new}; END"
        insert = ""
        if table == "leads_lead":
            # A new lead with no history yet (the import's case): its events follow from
            # the row alone, without the general recompute (delivery_select gives the same).
            fresh = _fresh_lead()
            statements.append(
                f"CREATE TRIGGER {DELIVERY_TABLE}_{table}_insert_new AFTER INSERT ON {table}"
                f" WHEN NEW.channel_id IS NOT NULL AND NOT ({fresh['history']})"
                f" BEGIN {fresh['insert']}; END"
            )
            insert = f" WHEN {fresh['history']}"
        statements += [
            f"CREATE TRIGGER {DELIVERY_TABLE}_{table}_insert AFTER INSERT ON {table}{insert}"
            f" BEGIN {new}; END",
            f"CREATE TRIGGER {DELIVERY_TABLE}_{table}_delete AFTER DELETE ON {table}"
            f" BEGIN {old}; END",
            f"CREATE TRIGGER {DELIVERY_TABLE}_{table}_update {update}",
        ]
    return statements


def _fresh_lead(row: str = "NEW") -> dict[str, str]:
    """Whether a new lead (`row`: NEW in a SQLite row trigger, an alias over Postgres's
    transition table) has history already, and the SELECT of the events of one that has
    none: created, and an MQL if it was created as one (no stage change: it is one now);
    closed and traceable (converted) from its stage; no reason, no deal."""
    history = " OR ".join(
        f"EXISTS (SELECT 1 FROM {table} x WHERE x.lead_id = {row}.id)"
        for table in ("leads_stagechange", "leads_deal", "leads_feedback")
    )
    events = (
        f"SELECT {row}.id, k.kind, {row}.created_at, NULL, {row}.channel_id,"
        f" {row}.campaign_id, {row}.persona_id, {row}.stage IN ({_in(CLOSED)}),"
        f" {row}.stage = 'converted', NULL, NULL"
    )
    kinds = f"(SELECT 0 AS kind UNION ALL SELECT 1 WHERE {row}.stage = 'mql') k"
    target = f"INSERT INTO {DELIVERY_TABLE} ({', '.join(DELIVERY_COLUMNS)})"
    return {"history": history, "target": target, "events": events, "kinds": kinds,
            "insert": f"{target} {events} FROM {kinds}"}  # fmt: skip


def _delivery_sqlite_drop() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {DELIVERY_TABLE}_{table}_{op}"
        for table in DELIVERY_SOURCES
        for op in ("insert", "insert_new", "delete", "update")
    ]


def _delivery_pg_create() -> list[str]:
    statements = []
    body = "; ".join(_delivery_refresh("= ANY(ids)"))
    # New leads (the import's case): those with no history yet get their events from the
    # row alone, as on SQLite, instead of the general recompute of every imported lead.
    fresh = _fresh_lead("n")
    statements.append(
        f"""CREATE FUNCTION {DELIVERY_TABLE}_leads_lead_insert() RETURNS trigger
        LANGUAGE plpgsql AS $fn$
        DECLARE ids bigint[];
        BEGIN
            ids := ARRAY(SELECT n.id FROM new_rows n WHERE {fresh["history"]} ORDER BY 1);
            IF cardinality(ids) > 0 THEN {body}; END IF;
            {fresh["target"]} {fresh["events"]} FROM new_rows n CROSS JOIN LATERAL {fresh["kinds"]}
            WHERE n.channel_id IS NOT NULL AND NOT (n.id = ANY(ids));
            RETURN NULL;
        END
        $fn$"""
    )
    for table, column in DELIVERY_SOURCES.items():
        new = f"SELECT {column} FROM new_rows"
        old = f"SELECT {column} FROM old_rows"
        statements.append(_pg_refresh_function(f"{DELIVERY_TABLE}_{table}_refresh", new, old, body))
        ops = [
            ("insert", "NEW TABLE AS new_rows", "refresh"),
            ("delete", "OLD TABLE AS old_rows", "refresh"),
        ]
        if table != "leads_lead":
            ops.append(("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows", "refresh"))
        else:
            ops[0] = ("insert", "NEW TABLE AS new_rows", "insert")
        for op, refs, function in ops:
            statements.append(
                f"""CREATE TRIGGER {DELIVERY_TABLE}_{table}_{op} AFTER {op.upper()} ON {table}
                REFERENCING {refs} FOR EACH STATEMENT
                EXECUTE FUNCTION {DELIVERY_TABLE}_{table}_{function}()"""
            )
    # Leads: a row trigger that runs only when a column the events use changed (the SLA
    # check's and the import's rewrites of other columns pay the WHEN test only).
    statements.append(
        f"""CREATE FUNCTION {DELIVERY_TABLE}_leads_lead_row() RETURNS trigger
        LANGUAGE plpgsql AS $fn$
        DECLARE ids bigint[] := ARRAY[NEW.id];
        BEGIN
            {body};
            RETURN NULL;
        END
        $fn$"""
    )
    statements.append(
        f"""CREATE TRIGGER {DELIVERY_TABLE}_leads_lead_update AFTER UPDATE ON leads_lead
        FOR EACH ROW WHEN ({_changed(LEAD_FACT_COLUMNS, "OLD", "NEW", "IS DISTINCT FROM")})
        EXECUTE FUNCTION {DELIVERY_TABLE}_leads_lead_row()"""
    )
    return statements


def _delivery_pg_drop() -> list[str]:
    statements = [
        f"DROP TRIGGER IF EXISTS {DELIVERY_TABLE}_{table}_{op} ON {table}"
        for table in DELIVERY_SOURCES
        for op in ("insert", "delete", "update")
    ]
    functions = [f"{DELIVERY_TABLE}_{table}_refresh" for table in DELIVERY_SOURCES]
    functions += [f"{DELIVERY_TABLE}_leads_lead_row", f"{DELIVERY_TABLE}_leads_lead_insert"]
    return statements + [f"DROP FUNCTION IF EXISTS {name}()" for name in functions]


def _delivery_drop_statements(connection: Any) -> list[str]:
    return {"sqlite": _delivery_sqlite_drop, "postgresql": _delivery_pg_drop}[connection.vendor]()


def install_delivery_triggers(connection: Any = None) -> None:
    """Create the triggers that keep the delivery events (replacing any there are)."""
    connection = connection or default_connection
    create = {"sqlite": _delivery_sqlite_create, "postgresql": _delivery_pg_create}
    with connection.cursor() as cursor:
        for sql in [*_delivery_drop_statements(connection), *create[connection.vendor]()]:
            cursor.execute(sql)


def drop_delivery_triggers(connection: Any = None) -> None:
    """Remove the delivery event triggers (stale until `rebuild_delivery`)."""
    connection = connection or default_connection
    with connection.cursor() as cursor:
        for sql in _delivery_drop_statements(connection):
            cursor.execute(sql)


# --- Delivery tally (reports.DeliveryTally) ---------------------------------------------
#
# The delivery events without a previous one of their kind, counted per UTC day and per
# the columns the figures split and filter on: a ledger that triggers on the event table
# append to (+n for inserted events, -n for deleted ones), so no tally row is ever
# updated and concurrent writers never wait on one. `compact_tally` sums it per key.

TALLY_TABLE = "reports_deliverytally"
TALLY_KEY = ("day", "kind", "channel_id", "campaign_id", "persona_id", "closed", "traceable")
TALLY_COLUMNS = (*TALLY_KEY, "events", "amount")


def _utc_day(column: str, vendor: str) -> str:
    """SQL: the UTC date of a datetime column (SQLite stores UTC text, date first)."""
    if vendor == "sqlite":
        return f"substr({column}, 1, 10)"
    return f"CAST(({column} AT TIME ZONE 'UTC') AS date)"


def _tally_insert(source: str, row: str, sign: str, vendor: str, grouped: bool) -> str:
    """INSERT of the tally rows of the events `source` (`row`: its alias), signed."""
    keys = [_utc_day(f"{row}.at", vendor), *(f"{row}.{c}" for c in TALLY_KEY[1:5])]
    # Closed and traceable count for Closed events only: the other kinds keep one row per
    # day and key when their lead closes.
    keys += [f"({row}.{c} AND {row}.kind = {CLOSED_KIND})" for c in TALLY_KEY[5:]]
    if grouped:
        values = f"{sign}COUNT(*), {sign}SUM({row}.amount)"
        tail = f" GROUP BY {', '.join(keys)}"
    else:
        values, tail = f"{sign}1, {sign}{row}.amount", ""
    return (
        f"INSERT INTO {TALLY_TABLE} ({', '.join(TALLY_COLUMNS)})"
        f" SELECT {', '.join(keys)}, {values} FROM {source}"
        f" WHERE {row}.prev_at IS NULL{tail}"
    )


def _tally_sqlite_create() -> list[str]:
    def one(row: str, sign: str) -> str:
        # A row trigger's NEW / OLD as a one-row source.
        return _tally_insert(
            f"(SELECT {row}.at AS at, {', '.join(f'{row}.{c} AS {c}' for c in ('prev_at', *TALLY_KEY[1:], 'amount'))}) r",  # noqa: E501
            "r",
            sign,
            "sqlite",
            grouped=False,
        )

    name = f"{TALLY_TABLE}_{DELIVERY_TABLE}"
    return [
        f"CREATE TRIGGER {name}_insert AFTER INSERT ON {DELIVERY_TABLE}"
        f" WHEN NEW.prev_at IS NULL BEGIN {one('NEW', '')}; END",
        f"CREATE TRIGGER {name}_delete AFTER DELETE ON {DELIVERY_TABLE}"
        f" WHEN OLD.prev_at IS NULL BEGIN {one('OLD', '-')}; END",
        f"CREATE TRIGGER {name}_update AFTER UPDATE ON {DELIVERY_TABLE}"
        f" BEGIN {one('OLD', '-')}; {one('NEW', '')}; END",
    ]


def _tally_sqlite_drop() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {TALLY_TABLE}_{DELIVERY_TABLE}_{op}"
        for op in ("insert", "delete", "update")
    ]


def _tally_pg_create() -> list[str]:
    statements = []
    steps = {
        "insert": [("new_rows", "")],
        "delete": [("old_rows", "-")],
        "update": [("old_rows", "-"), ("new_rows", "")],
    }
    refs = {
        "insert": "NEW TABLE AS new_rows",
        "delete": "OLD TABLE AS old_rows",
        "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    }
    for op, parts in steps.items():
        name = f"{TALLY_TABLE}_{DELIVERY_TABLE}_{op}"
        body = "; ".join(
            _tally_insert(f"{table} e", "e", sign, "postgresql", grouped=True)
            for table, sign in parts
        )
        statements += [
            f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN {body}; RETURN NULL; END
            $fn$""",
            f"""CREATE TRIGGER {name} AFTER {op.upper()} ON {DELIVERY_TABLE}
            REFERENCING {refs[op]} FOR EACH STATEMENT EXECUTE FUNCTION {name}()""",
        ]
    return statements


def _tally_pg_drop() -> list[str]:
    statements = []
    for op in ("insert", "delete", "update"):
        name = f"{TALLY_TABLE}_{DELIVERY_TABLE}_{op}"
        statements += [
            f"DROP TRIGGER IF EXISTS {name} ON {DELIVERY_TABLE}",
            f"DROP FUNCTION IF EXISTS {name}()",
        ]
    return statements


def install_tally_triggers(connection: Any = None) -> None:
    """Create the triggers that keep the delivery tally (replacing any there are)."""
    connection = connection or default_connection
    create = {"sqlite": _tally_sqlite_create, "postgresql": _tally_pg_create}
    with connection.cursor() as cursor:
        for sql in [*_tally_drop_statements(connection), *create[connection.vendor]()]:
            cursor.execute(sql)


def _tally_drop_statements(connection: Any) -> list[str]:
    return {"sqlite": _tally_sqlite_drop, "postgresql": _tally_pg_drop}[connection.vendor]()


def drop_tally_triggers(connection: Any = None) -> None:
    """Remove the delivery tally triggers (stale until `rebuild_tally`)."""
    connection = connection or default_connection
    with connection.cursor() as cursor:
        for sql in _tally_drop_statements(connection):
            cursor.execute(sql)


def rebuild_tally(connection: Any = None) -> int:
    """Recompute the tally from the delivery events (one row per key); returns its rows."""
    connection = connection or default_connection
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # No event written (no tally row appended) between the delete and the insert.
            cursor.execute(f"LOCK TABLE {DELIVERY_TABLE} IN SHARE MODE")
        cursor.execute(f"DELETE FROM {TALLY_TABLE}")
        cursor.execute(
            _tally_insert(f"{DELIVERY_TABLE} e", "e", "", connection.vendor, grouped=True)
        )
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {TALLY_TABLE}")
        cursor.execute(f"SELECT COUNT(*) FROM {TALLY_TABLE}")
        return cursor.fetchone()[0]


def compact_tally(connection: Any = None) -> int:
    """Sum the tally's rows per key into one (dropping keys that sum to no events), in
    one transaction; rows appended meanwhile stay as they are. Returns the rows left."""
    connection = connection or default_connection
    key = ", ".join(TALLY_KEY)
    columns = ", ".join(TALLY_COLUMNS)
    sums = f"SELECT {key}, SUM(events), SUM(amount) FROM {{}} GROUP BY {key}"
    sums += " HAVING SUM(events) <> 0"
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement, one snapshot: what it deletes is what it sums.
            cursor.execute(
                f"WITH gone AS (DELETE FROM {TALLY_TABLE} RETURNING {columns})"
                f" INSERT INTO {TALLY_TABLE} ({columns}) {sums.format('gone')}"
            )
            cursor.execute(f"ANALYZE {TALLY_TABLE}")
        else:
            # SQLite has one writer: the transaction sees every row it replaces.
            cursor.execute(f"SELECT MAX(id) FROM {TALLY_TABLE}")
            last = cursor.fetchone()[0] or 0
            cursor.execute(
                f"INSERT INTO {TALLY_TABLE} ({columns})"
                f" {sums.format(f'(SELECT * FROM {TALLY_TABLE} WHERE id <= {int(last)})')}"
            )
            cursor.execute(f"DELETE FROM {TALLY_TABLE} WHERE id <= %s", [last])
        cursor.execute(f"SELECT COUNT(*) FROM {TALLY_TABLE}")
        return cursor.fetchone()[0]
