"""Trigram indexes for the search (Postgres only; SQLite scans): one over each lead's
search text and one over each company's, the expressions of customers.sql as of now."""

from django.db import migrations

LEAD_TEXT = (
    "(lower(first_name || ' ' || last_name || '|' || email || '|' || company)"
    " || '|' || regexp_replace(phone, '[^0-9]+', '', 'g'))"
)
ACCOUNT_TEXT = "lower(name || '|' || coalesce(domain, ''))"
INDEXES = [
    ("lead_search_text", "leads_lead", LEAD_TEXT),
    ("account_search_text", "leads_account", ACCOUNT_TEXT),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension: the database's owner may create it (no superuser).
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, text in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (({text}) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    # The extension stays: other database objects may use it, and it costs nothing.


class Migration(migrations.Migration):
    dependencies = [("leads", "0020_leadevent_tenure")]

    # Django's TrigramExtension cannot be unapplied on SQLite (it asks pg_extension), so
    # the extension is created here, on Postgres only.
    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
