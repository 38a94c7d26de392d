"""A tenure's lead stage on its assignment row (held_stage), for the sales report's "by
their stage now": the tenures still held take their lead's stage. Frozen: the models of
this migration's state only."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def held_stages(apps, schema_editor):
    """Each tenure still held (an assignment no later one ended) takes its lead's stage."""
    Lead = apps.get_model("leads", "Lead")
    LeadEvent = apps.get_model("leads", "LeadEvent")
    stage_now = Lead._base_manager.filter(pk=OuterRef("lead_id")).values("stage")[:1]
    LeadEvent._base_manager.filter(kind="assigned", held_until__isnull=True).update(
        held_stage=Subquery(stage_now)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0032_breached_bucket_reads_clock_start"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="leadevent",
            name="leadevent_tenures",
        ),
        migrations.AddField(
            model_name="leadevent",
            name="held_stage",
            field=models.CharField(
                blank=True,
                choices=[
                    ("suspect", "Suspect"),
                    ("fan", "Fan"),
                    ("iql", "Information Qualified Lead"),
                    ("mql", "Marketing Qualified Lead"),
                    ("working", "Working"),
                    ("sql", "Sales Qualified"),
                    ("opportunity", "Opportunity"),
                    ("disqualified", "Disqualified"),
                    ("nurture", "Needs Nurturing"),
                    ("converted", "Converted"),
                ],
                help_text="An assignment still held: the lead's stage now (one that ended keeps the stage it had then).",
                max_length=20,
            ),
        ),
        migrations.RunPython(held_stages, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="leadevent",
            index=models.Index(
                condition=models.Q(("kind", "assigned")),
                fields=["at"],
                include=("lead", "owner", "untouched_for", "held_until", "held_stage"),
                name="leadevent_tenures",
            ),
        ),
    ]
