"""The lead's facts (channel, campaign, persona) on each of its ledger rows, filled from
the leads for an existing installation. Frozen: the models of this migration's state."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

FACTS = ("channel_id", "campaign_id", "persona_id")


def lead_facts(apps, schema_editor):
    """Every ledger row takes its lead's facts."""
    Lead = apps.get_model("leads", "Lead")
    LeadEvent = apps.get_model("leads", "LeadEvent")
    lead = Lead._base_manager.filter(pk=OuterRef("lead_id"))
    LeadEvent._base_manager.update(
        **{f"lead_{name}": Subquery(lead.values(name)[:1]) for name in FACTS}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0008_agreement_touch_kinds"),
        ("leads", "0033_tenure_held_stage"),
    ]

    operations = [
        migrations.AddField(
            model_name="leadevent",
            name="lead_campaign",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="The lead's campaign (now), not a touch point's (campaign).",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="leads.campaign",
            ),
        ),
        migrations.AddField(
            model_name="leadevent",
            name="lead_channel",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="The lead's channel (now).",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="agreements.channel",
            ),
        ),
        migrations.AddField(
            model_name="leadevent",
            name="lead_persona",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="The lead's persona (now).",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="agreements.persona",
            ),
        ),
        migrations.RunPython(lead_facts, migrations.RunPython.noop),
    ]
