# Postgres: new leads with no history get their delivery events from the inserted rows
# alone, as on SQLite since 0006 (the general recompute per statement was most of a large
# import's time); reinstall the triggers. No rebuild needed: the events are the same.

from django.db import migrations


def install(apps, schema_editor):
    # The report facts and their triggers are gone (0011 drops them with frozen
    # SQL); reports count the ledger. Nothing to install or rebuild any more.
    pass

class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0006_delivery_new_lead_trigger"),
    ]

    operations = [
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
