# Each owner's open-lead figures, once kept by database triggers on leads_lead. The team
# page now counts the leads itself (leads.queries) and 0014 drops the table and whatever
# triggers an installation still has, so a fresh installation creates none here.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("leads", "0007_lead_indexes_only_where_queried"),
    ]

    operations = [
        migrations.CreateModel(
            name="OwnerLoad",
            fields=[
                (
                    "owner",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="lead_load",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("open_leads", models.IntegerField(default=0)),
                ("breached", models.IntegerField(default=0)),
                ("untouched", models.IntegerField(default=0)),
                ("due", models.IntegerField(default=0)),
            ],
        ),
    ]
