"""An MQL entry carries its lead's title and stage now, worked out for an existing
installation, and the MQL entries' covering index carries them too. Frozen: the models of
this migration's state, today's kind and stage values."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def entry_facts(apps, schema_editor):
    """Each MQL entry takes its lead's title and stage (merged leads' rows are the
    survivor's: every row's lead is the lead that holds it)."""
    LeadEvent = apps.get_model("leads", "LeadEvent")
    Lead = apps.get_model("leads", "Lead")
    lead = Lead._base_manager.filter(pk=OuterRef("lead_id"))
    LeadEvent._base_manager.filter(kind="stage_entered", stage="mql").update(
        lead_title=Subquery(lead.values("title")[:1]),
        lead_stage=Subquery(lead.values("stage")[:1]),
    )


class Migration(migrations.Migration):

    dependencies = [
        ('agreements', '0008_agreement_touch_kinds'),
        ('leads', '0038_ledger_covering_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='leadevent',
            name='leadevent_mql_entries',
        ),
        migrations.AddField(
            model_name='leadevent',
            name='lead_stage',
            field=models.CharField(blank=True, choices=[('suspect', 'Suspect'), ('fan', 'Fan'), ('iql', 'Information Qualified Lead'), ('mql', 'Marketing Qualified Lead'), ('working', 'Working'), ('sql', 'Sales Qualified'), ('opportunity', 'Opportunity'), ('disqualified', 'Disqualified'), ('nurture', 'Needs Nurturing'), ('converted', 'Converted')], help_text="An MQL entry: its lead's stage (now).", max_length=20),
        ),
        migrations.AddField(
            model_name='leadevent',
            name='lead_title',
            field=models.CharField(blank=True, help_text="An MQL entry: its lead's job title (now).", max_length=200),
        ),
        migrations.RunPython(entry_facts, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='leadevent',
            index=models.Index(condition=models.Q(('kind', 'stage_entered'), ('stage', 'mql')), fields=['at'], include=('lead', 'owner', 'junked_at', 'touched_at', 'accepted_at', 'disqualified_at', 'won_at', 'lead_channel', 'lead_campaign', 'lead_persona', 'lead_title', 'lead_stage'), name='leadevent_mql_entries'),
        ),
    ]
