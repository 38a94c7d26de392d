from django.db import migrations, models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce


def backfill(apps, schema_editor):
    """A clock started when its lead last entered the rule's stage before the due time
    (a lead created in that stage has no stage change: its creation)."""
    Lead = apps.get_model("leads", "Lead")
    StageChange = apps.get_model("leads", "StageChange")
    ResponseRule = apps.get_model("agreements", "ResponseRule")
    for rule_id, stage in ResponseRule.objects.values_list("pk", "stage"):
        entered = (
            StageChange.objects.filter(
                lead=OuterRef("pk"), to_stage=stage, at__lte=OuterRef("sla_due_at")
            )
            .order_by("-at", "-id")
            .values("at")[:1]
        )
        Lead.objects.filter(sla_rule_id=rule_id, sla_due_at__isnull=False).update(
            sla_started_at=Coalesce(Subquery(entered), "created_at")
        )


class Migration(migrations.Migration):
    dependencies = [("leads", "0010_lead_fewer_indexes"), ("agreements", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="sla_started_at",
            field=models.DateTimeField(
                blank=True, help_text="When the running (or last) SLA clock started.", null=True
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
