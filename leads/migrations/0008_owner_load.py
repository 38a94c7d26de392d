# ruff: noqa: S608 -- SQL built from the constants below, no outside input
# Each owner's open-lead figures (open, breached, untouched, due; owner 0 is the lead
# desk), kept by triggers on leads_lead so the team page reads one row per rep and one for
# the desk instead of counting the team's leads
# (issue 8: the team page grew 5.7x from 100k to 1M leads). Triggers rather than code in
# save(): the SLA check, imports and the benchmark write leads with bulk UPDATE/INSERT.
#
# SQLite: row triggers, each firing only when a lead's share changes. Postgres: statement
# triggers over transition tables, one aggregated upsert per statement (owners in id
# order; an update that moves nothing touches no counter row), enabled ALWAYS so that a
# bulk load in session_replication_role = replica still counts.
#
# The open stages are frozen here; a change to agreements.stages.OPEN_STAGES needs a migration
# that recreates the triggers (tests/leads/test_owner_load.py compares with a recount).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

OPEN_STAGES = ("suspect", "fan", "iql", "mql", "working", "sql", "opportunity", "nurture")
OPEN = ", ".join(f"'{stage}'" for stage in OPEN_STAGES)


def shares(row: str) -> dict[str, str]:
    """Each figure's share of one lead row (`NEW`, `OLD` or a column prefix), 0 or 1."""
    is_open = f"{row}.stage IN ({OPEN})"
    return {
        "open_leads": f"({is_open})",
        "breached": f"({is_open} AND {row}.sla_status = 'breached')",
        "untouched": f"({is_open} AND {row}.first_touch_at IS NULL AND {row}.stage <> 'nurture')",
        "due": f"({is_open} AND {row}.sla_status = 'pending')",
    }


FIGURES = ("open_leads", "breached", "untouched", "due")
ADD_EXCLUDED = ", ".join(f"{f} = leads_ownerload.{f} + excluded.{f}" for f in FIGURES)
NEW, OLD = shares("NEW"), shares("OLD")
SAME_OWNER = "(OLD.owner_id IS NEW.owner_id)"

SQLITE_CREATE = [
    f"""CREATE TRIGGER leads_ownerload_insert AFTER INSERT ON leads_lead
    WHEN NEW.stage IN ({OPEN})
    BEGIN
        INSERT INTO leads_ownerload (owner_id, {", ".join(FIGURES)})
        VALUES (COALESCE(NEW.owner_id, 0), {", ".join(NEW[f] for f in FIGURES)})
        ON CONFLICT (owner_id) DO UPDATE SET {ADD_EXCLUDED};
    END""",
    f"""CREATE TRIGGER leads_ownerload_delete AFTER DELETE ON leads_lead
    WHEN OLD.stage IN ({OPEN})
    BEGIN
        UPDATE leads_ownerload SET {", ".join(f"{f} = {f} - {OLD[f]}" for f in FIGURES)}
        WHERE owner_id = COALESCE(OLD.owner_id, 0);
    END""",
    f"""CREATE TRIGGER leads_ownerload_update AFTER UPDATE ON leads_lead
    WHEN OLD.owner_id IS NOT NEW.owner_id
        OR {" OR ".join(f"{OLD[f]} <> {NEW[f]}" for f in FIGURES)}
    BEGIN
        UPDATE leads_ownerload SET {", ".join(f"{f} = {f} - {OLD[f]}" for f in FIGURES)}
        WHERE owner_id = COALESCE(OLD.owner_id, 0) AND NOT {SAME_OWNER};
        INSERT INTO leads_ownerload (owner_id, {", ".join(FIGURES)})
        SELECT COALESCE(NEW.owner_id, 0),
            {", ".join(f"{NEW[f]} - {SAME_OWNER} * {OLD[f]}" for f in FIGURES)}
        WHERE true
        ON CONFLICT (owner_id) DO UPDATE SET {ADD_EXCLUDED};
    END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS leads_ownerload_insert",
    "DROP TRIGGER IF EXISTS leads_ownerload_delete",
    "DROP TRIGGER IF EXISTS leads_ownerload_update",
]


def _pg_apply(changes: str) -> str:
    """One upsert adding the signed shares of `changes` (rows with a `sign`) per owner."""
    share = shares("change")
    sums = ", ".join(f"SUM(CASE WHEN {share[f]} THEN sign ELSE 0 END) AS {f}" for f in FIGURES)
    return f"""
        INSERT INTO leads_ownerload (owner_id, {", ".join(FIGURES)})
        SELECT owner_id, {", ".join(FIGURES)} FROM (
            SELECT COALESCE(change.owner_id, 0) AS owner_id, {sums}
            FROM ({changes}) AS change
            GROUP BY COALESCE(change.owner_id, 0)
        ) AS delta
        WHERE {" OR ".join(f"{f} <> 0" for f in FIGURES)}
        ORDER BY owner_id
        ON CONFLICT (owner_id) DO UPDATE SET {ADD_EXCLUDED};"""


COLUMNS = "owner_id, stage, sla_status, first_touch_at"
INSERTED = f"SELECT {COLUMNS}, 1 AS sign FROM new_rows"
DELETED = f"SELECT {COLUMNS}, -1 AS sign FROM old_rows"

POSTGRES_CREATE = [
    f"""CREATE FUNCTION leads_ownerload_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
        IF TG_OP = 'INSERT' THEN {_pg_apply(INSERTED)}
        ELSIF TG_OP = 'DELETE' THEN {_pg_apply(DELETED)}
        ELSE {_pg_apply(f"{INSERTED} UNION ALL {DELETED}")}
        END IF;
        RETURN NULL;
    END
    $fn$""",
    """CREATE TRIGGER leads_ownerload_insert AFTER INSERT ON leads_lead
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION leads_ownerload_apply()""",
    """CREATE TRIGGER leads_ownerload_update AFTER UPDATE ON leads_lead
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION leads_ownerload_apply()""",
    """CREATE TRIGGER leads_ownerload_delete AFTER DELETE ON leads_lead
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION leads_ownerload_apply()""",
    "ALTER TABLE leads_lead ENABLE ALWAYS TRIGGER leads_ownerload_insert",
    "ALTER TABLE leads_lead ENABLE ALWAYS TRIGGER leads_ownerload_update",
    "ALTER TABLE leads_lead ENABLE ALWAYS TRIGGER leads_ownerload_delete",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS leads_ownerload_insert ON leads_lead",
    "DROP TRIGGER IF EXISTS leads_ownerload_update ON leads_lead",
    "DROP TRIGGER IF EXISTS leads_ownerload_delete ON leads_lead",
    "DROP FUNCTION IF EXISTS leads_ownerload_apply()",
]

BACKFILL = f"""
    INSERT INTO leads_ownerload (owner_id, {", ".join(FIGURES)})
    SELECT COALESCE(owner_id, 0), COUNT(*),
        SUM(CASE WHEN sla_status = 'breached' THEN 1 ELSE 0 END),
        SUM(CASE WHEN first_touch_at IS NULL AND stage <> 'nurture' THEN 1 ELSE 0 END),
        SUM(CASE WHEN sla_status = 'pending' THEN 1 ELSE 0 END)
    FROM leads_lead
    WHERE stage IN ({OPEN})
    GROUP BY COALESCE(owner_id, 0)"""


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"sqlite": SQLITE_CREATE, "postgresql": POSTGRES_CREATE}[vendor]
    for sql in [*statements, BACKFILL]:
        schema_editor.execute(sql, params=None)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in {"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}[vendor]:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("leads", "0007_lead_indexes_only_where_queried"),
    ]

    operations = [
        migrations.CreateModel(
            name="OwnerLoad",
            fields=[
                (
                    "owner",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="lead_load",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("open_leads", models.IntegerField(default=0)),
                ("breached", models.IntegerField(default=0)),
                ("untouched", models.IntegerField(default=0)),
                ("due", models.IntegerField(default=0)),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
