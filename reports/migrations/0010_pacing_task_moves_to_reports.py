"""The marketing pacing task is now reports.tasks.snapshot_marketing_pacing: existing beat
schedules that ran it under its old name in the sla app run it under the new one."""

from django.db import migrations
from django.utils import timezone

OLD = "sla.tasks.snapshot_marketing_pacing"
NEW = "reports.tasks.snapshot_marketing_pacing"


def rename(apps, schema_editor, old=OLD, new=NEW):
    db = schema_editor.connection.alias
    tasks = apps.get_model("django_celery_beat", "PeriodicTask").objects.using(db)
    if tasks.filter(task=old).update(task=new):
        # Beat reloads its schedule only when this row says something changed.
        apps.get_model("django_celery_beat", "PeriodicTasks").objects.using(db).update_or_create(
            ident=1, defaults={"last_update": timezone.now()}
        )


def rename_back(apps, schema_editor):
    rename(apps, schema_editor, old=NEW, new=OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0009_delivery_tally"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(rename, rename_back)]
