# The team page now counts each rep's open leads per queue bucket in one grouped query
# (leads.queries.team_load), with the queue's own rules, so the trigger-kept OwnerLoad
# counters (0008_owner_load) go: first the triggers, then the table.
#
# The trigger and function names are frozen here from 0008. Going back recreates an empty
# OwnerLoad table without its triggers.

from django.db import migrations

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS leads_ownerload_insert",
    "DROP TRIGGER IF EXISTS leads_ownerload_delete",
    "DROP TRIGGER IF EXISTS leads_ownerload_update",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS leads_ownerload_insert ON leads_lead",
    "DROP TRIGGER IF EXISTS leads_ownerload_update ON leads_lead",
    "DROP TRIGGER IF EXISTS leads_ownerload_delete ON leads_lead",
    "DROP FUNCTION IF EXISTS leads_ownerload_apply()",
]


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in {"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}[vendor]:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0013_ledger_from_history"),
    ]

    operations = [
        migrations.RunPython(drop_triggers, migrations.RunPython.noop),
        migrations.DeleteModel(name="OwnerLoad"),
    ]
