"""A deal's opened and won rows say whether marketing influenced the deal, worked out from
the ledger for an existing installation. Frozen: the models of this migration's state,
today's kind values."""

from django.db import migrations, models
from django.db.models import Exists, OuterRef, Subquery


def influenced(apps, schema_editor):
    """A deal's rows are influenced when its lead had a touch point with a campaign before
    the deal opened."""
    LeadEvent = apps.get_model("leads", "LeadEvent")
    Deal = apps.get_model("leads", "Deal")
    events = LeadEvent._base_manager
    opened_at = Deal._base_manager.filter(pk=OuterRef(OuterRef("deal"))).values("opened_at")[:1]
    points = events.filter(
        kind="touch_point",
        campaign__isnull=False,
        lead=OuterRef("lead"),
        at__lt=Subquery(opened_at),
    )
    events.filter(kind__in=("deal_opened", "deal_won")).update(influenced=Exists(points))


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0036_ledger_before_lookups'),
    ]

    operations = [
        migrations.AddField(
            model_name='leadevent',
            name='influenced',
            field=models.BooleanField(default=False, help_text='A deal opened or won: its lead had a touch point with a campaign before the deal opened.'),
        ),
        migrations.RunPython(influenced, migrations.RunPython.noop),
    ]
