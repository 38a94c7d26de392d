"""A disqualification's feedback reason on its own ledger row, worked out from the ledger
for an existing installation. Frozen: the models of this migration's state, today's kind
and stage values."""

from django.db import migrations, models
from django.db.models import Exists, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce


def feedback_reasons(apps, schema_editor):
    """Each disqualification takes the reason of the lead's first feedback with one at or
    after it, before its next stage entry."""
    LeadEvent = apps.get_model("leads", "LeadEvent")
    events = LeadEvent._base_manager
    moved_between = events.filter(
        kind="stage_entered",
        lead=OuterRef("lead"),
        at__gt=OuterRef(OuterRef("at")),
        at__lt=OuterRef("at"),
    )
    given = (
        events.filter(kind="feedback", lead=OuterRef("lead"), at__gte=OuterRef("at"))
        .exclude(reason="")
        .filter(~Exists(moved_between))
        .order_by("at", "id")
        .values("reason")[:1]
    )
    events.filter(kind="stage_entered", stage="disqualified").update(
        feedback_reason=Coalesce(Subquery(given), Value(""))
    )


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0034_ledger_rows_carry_lead_facts'),
    ]

    operations = [
        migrations.AddField(
            model_name='leadevent',
            name='feedback_reason',
            field=models.CharField(blank=True, help_text="A disqualification: the structured reason of the feedback given with it (the lead's first feedback with a reason at or after it, before its next stage); empty: none.", max_length=200),
        ),
        migrations.RunPython(feedback_reasons, migrations.RunPython.noop),
    ]
