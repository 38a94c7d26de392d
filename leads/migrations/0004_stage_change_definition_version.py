from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0003_nurture_wakeup_once_per_stint"),
    ]

    operations = [
        migrations.AddField(
            model_name="stagechange",
            name="stage_definition_version",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Version of the target stage's definition in force at the time "
                "(agreements.StageDefinition.words_at_version reads its words).",
                null=True,
            ),
        ),
    ]
