"""A tenure's story on its assignment row (held_until, untouched_for), filled in from the
ledger for an existing installation. Frozen: it names today's table and stage values and
imports no app module."""

from django.db import migrations, models
from django.db.models import ExpressionWrapper, F, OuterRef, Q, Subquery

# The lead's next assignment ends a tenure.
HELD_UNTIL = """
UPDATE leads_leadevent SET held_until = (
    SELECT MIN(n.at) FROM leads_leadevent n
    WHERE n.lead_id = leads_leadevent.lead_id AND n.kind = 'assigned'
      AND n.at > leads_leadevent.at
)
WHERE kind = 'assigned'
"""


def untouched_for(apps, schema_editor):
    """How long each assignment went untouched: until the first of the next assignment,
    the lead's close and the holder's first sales touch (frozen: today's stage values)."""
    LeadEvent = apps.get_model("leads", "LeadEvent")
    later = LeadEvent.objects.filter(lead=OuterRef("lead")).filter(
        Q(kind="assigned", at__gt=OuterRef("at"))
        | Q(kind="stage_entered", stage__in=("disqualified", "converted"), at__gt=OuterRef("at"))
        | Q(kind="sales_touch", actor=OuterRef("owner"), at__gte=OuterRef("at"))
    )
    first = Subquery(later.order_by("at").values("at")[:1], output_field=models.DateTimeField())
    LeadEvent.objects.filter(kind="assigned").update(
        untouched_for=ExpressionWrapper(first - F("at"), output_field=models.DurationField())
    )


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
            name="untouched_for",
            field=models.DurationField(
                blank=True,
                help_text="How long an assignment went untouched: until the first of its end, "
                "the lead's close and the holder's first sales touch. Empty while it goes on "
                "untouched.",
                null=True,
            ),
        ),
        migrations.RunSQL(HELD_UNTIL, migrations.RunSQL.noop),
        migrations.RunPython(untouched_for, migrations.RunPython.noop),
    ]
