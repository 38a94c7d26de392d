# SQLite: a new lead with no history gets its delivery events from the row alone (a
# cheaper insert trigger, the same events); reinstall the triggers. No rebuild needed.

from django.db import migrations


def install(apps, schema_editor):
    # The report facts and their triggers are gone (0011 drops them with frozen
    # SQL); reports count the ledger. Nothing to install or rebuild any more.
    pass

class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0005_delivery_event_covering_index"),
    ]

    operations = [
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
