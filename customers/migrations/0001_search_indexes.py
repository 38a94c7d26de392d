"""Trigram indexes for the search (Postgres only; SQLite scans): one over each lead's
search text and one over each company's, the expressions of customers.sql as of now."""

from django.contrib.postgres.operations import TrigramExtension
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
    for name, table, text in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (({text}) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("leads", "0020_leadevent_tenure")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
