"""A lead's search text beside it (leads.LeadSearch), made for every existing lead; the
ledger's copies of a lead's facts without database foreign keys (the lead's own are
checked). Frozen: the text as leads.models.search_text makes it today."""

import django.db.models.deletion
from django.db import migrations, models

CHUNK = 10_000


def _text(first_name, last_name, email, company, phone):
    digits = "".join(char for char in phone if char in "0123456789")
    return f"{first_name} {last_name}|{email}|{company}|{digits}".lower()


def search_texts(apps, schema_editor):
    """Every lead's text, merged ones too (an undone merge finds them again), in chunks."""
    Lead = apps.get_model("leads", "Lead")
    LeadSearch = apps.get_model("leads", "LeadSearch")
    fields = ("first_name", "last_name", "email", "company", "phone")
    last = 0
    while True:
        rows = list(
            Lead._base_manager.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", *fields)[:CHUNK]
        )
        if not rows:
            return
        LeadSearch.objects.bulk_create(
            [LeadSearch(lead_id=pk, text=_text(*person)) for pk, *person in rows]
        )
        last = rows[-1][0]


class Migration(migrations.Migration):

    dependencies = [
        ('agreements', '0008_agreement_touch_kinds'),
        ('leads', '0039_mql_entries_carry_title_and_stage'),
    ]

    operations = [
        migrations.CreateModel(
            name='LeadSearch',
            fields=[
                ('lead', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='search', serialize=False, to='leads.lead')),
                ('text', models.TextField()),
            ],
        ),
        migrations.RunPython(search_texts, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name='leadevent',
            name='lead_campaign',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, help_text="The lead's campaign (now), not a touch point's (campaign).", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='leads.campaign'),
        ),
        migrations.AlterField(
            model_name='leadevent',
            name='lead_channel',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, help_text="The lead's channel (now).", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='agreements.channel'),
        ),
        migrations.AlterField(
            model_name='leadevent',
            name='lead_persona',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, help_text="The lead's persona (now).", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='agreements.persona'),
        ),
    ]
