import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0016_leadevent_kind_stage_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="ImportUpload",
            fields=[
                (
                    "batch",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="upload",
                        serialize=False,
                        to="leads.importbatch",
                    ),
                ),
                ("data", models.BinaryField(blank=True, default=b"")),
                (
                    "name",
                    models.CharField(
                        blank=True,
                        help_text=(
                            'Its name in the "imports" storage; empty: the bytes are in the '
                            "database."
                        ),
                        max_length=300,
                    ),
                ),
                ("size", models.PositiveBigIntegerField(default=0)),
            ],
        ),
        migrations.AddField(
            model_name="importbatch",
            name="attempts",
            field=models.PositiveIntegerField(
                default=0, help_text="How many times a worker started (or resumed) it."
            ),
        ),
        migrations.AddField(
            model_name="importbatch",
            name="heartbeat_at",
            field=models.DateTimeField(
                blank=True,
                help_text="The last sign of life of the worker running it (or when it was queued).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="importbatch",
            name="requeued_at",
            field=models.DateTimeField(
                blank=True, help_text="When it was last queued again after it stalled.", null=True
            ),
        ),
    ]
