# Three indexes no query uses, which every lead write paid for (the SLA check rewrites
# each breached lead through all of them): lower(company) (the search's icontains cannot
# use it), channel and persona (a handful of values, each a tenth of the leads or more).
#
# The two foreign-key indexes are dropped by name rather than by AlterField: on SQLite
# AlterField rebuilds the table, which drops the owner-load triggers of 0008 (and
# rewrites every lead). The names are the ones Django gave them on both databases.

import django.db.models.deletion
from django.db import migrations, models

FK_INDEXES = {
    "channel": "leads_lead_channel_id_179aa769",
    "persona": "leads_lead_persona_id_3ee2f783",
}


def _field(name: str, on_delete):
    return models.ForeignKey(
        blank=True, db_index=False, null=True, on_delete=on_delete, to=f"agreements.{name}"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0004_seed_playbook"),
        ("leads", "0009_report_indexes_touches_stage_entries_assignment_range"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="lead", name="lead_company_lower"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="lead",
                    name="channel",
                    field=_field("channel", django.db.models.deletion.PROTECT),
                ),
                migrations.AlterField(
                    model_name="lead",
                    name="persona",
                    field=_field("persona", django.db.models.deletion.SET_NULL),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{index}"',
                    f'CREATE INDEX "{index}" ON "leads_lead" ("{field}_id")',
                )
                for field, index in FK_INDEXES.items()
            ],
        ),
    ]
