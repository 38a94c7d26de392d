"""The leads' trigram index moves to their search texts beside them (leads.LeadSearch):
a lead's stage, owner or clock changing no longer rewrites it. Postgres only, as 0001.
Frozen: 0001's expression, to put the old index back."""

from django.db import migrations

OLD_LEAD_TEXT = (
    "(lower(first_name || ' ' || last_name || '|' || email || '|' || company)"
    " || '|' || regexp_replace(phone, '[^0-9]+', '', 'g'))"
)


def move_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS lead_search_trgm ON leads_leadsearch "
        "USING gin (text gin_trgm_ops)"
    )
    schema_editor.execute("DROP INDEX IF EXISTS lead_search_text")


def move_back(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS lead_search_text ON leads_lead "
        f"USING gin (({OLD_LEAD_TEXT}) gin_trgm_ops)"
    )
    schema_editor.execute("DROP INDEX IF EXISTS lead_search_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_accounts_by_domain"),
        ("leads", "0040_lead_search"),
    ]

    operations = [migrations.RunPython(move_index, move_back, elidable=False)]
