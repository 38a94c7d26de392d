"""A tenure's story on its assignment row (held_until, untouched_until), filled in from the
ledger for an existing installation. Frozen SQL: it names today's tables and stage values
and imports no app module."""

from django.db import migrations, models

# The lead's next assignment ends a tenure.
HELD_UNTIL = """
UPDATE leads_leadevent SET held_until = (
    SELECT MIN(n.at) FROM leads_leadevent n
    WHERE n.lead_id = leads_leadevent.lead_id AND n.kind = 'assigned'
      AND n.at > leads_leadevent.at
)
WHERE kind = 'assigned'
"""
# Untouched until the first of: the next assignment, the lead's close, the holder's first
# sales touch.
UNTOUCHED_UNTIL = """
UPDATE leads_leadevent SET untouched_until = (
    SELECT MIN(n.at) FROM leads_leadevent n
    WHERE n.lead_id = leads_leadevent.lead_id AND (
        (n.kind = 'assigned' AND n.at > leads_leadevent.at)
        OR (n.kind = 'stage_entered' AND n.stage IN ('disqualified', 'converted')
            AND n.at > leads_leadevent.at)
        OR (n.kind = 'sales_touch' AND n.actor_id = leads_leadevent.owner_id
            AND n.at >= leads_leadevent.at)
    )
)
WHERE kind = 'assigned'
"""


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0019_importbatch_file_is_in_the_database"),
    ]

    operations = [
        migrations.AddField(
            model_name="leadevent",
            name="held_until",
            field=models.DateTimeField(
                blank=True,
                help_text="An assignment's end: the lead's next assignment.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="leadevent",
            name="untouched_until",
            field=models.DateTimeField(
                blank=True,
                help_text="When an assignment stopped being untouched: the first of its end, "
                "the lead's close and the holder's first sales touch.",
                null=True,
            ),
        ),
        migrations.RunSQL(HELD_UNTIL, migrations.RunSQL.noop),
        migrations.RunSQL(UNTOUCHED_UNTIL, migrations.RunSQL.noop),
    ]
