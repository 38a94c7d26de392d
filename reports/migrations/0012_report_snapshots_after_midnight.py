"""The daily report snapshot now stores the day before, just after midnight (it ran at
23:55 for the same day and missed what happened in the day's last minutes): an existing
beat schedule still at 23:55 moves to 00:05. One that ops changed is left as it is."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

NAME = "Report snapshots (daily)"
OLD = {"minute": "55", "hour": "23"}
NEW = {"minute": "5", "hour": "0"}
OLD_DESCRIPTION = (
    "Stores today's funnel, SLA met and untouched buckets for the trends report (late in the "
    "day, so the day's touches are in), and sums the delivery tally's rows into one per day "
    "and key."
)
NEW_DESCRIPTION = (
    "Stores yesterday's funnel, SLA met and breached and untouched buckets for the trends "
    "report, counted to the end of the day (so a clock due or a tenure maturing in its last "
    "minutes is in)."
)
EVERY_DAY = {"day_of_month": "*", "month_of_year": "*", "day_of_week": "*"}


def move(apps, schema_editor, old=OLD, new=NEW, description=NEW_DESCRIPTION):
    db = schema_editor.connection.alias
    task = (
        apps.get_model("django_celery_beat", "PeriodicTask")
        .objects.using(db)
        .filter(name=NAME, crontab__isnull=False)
        .select_related("crontab")
        .first()
    )
    if task is None or any(
        getattr(task.crontab, field) != value for field, value in {**old, **EVERY_DAY}.items()
    ):
        return
    crontabs = apps.get_model("django_celery_beat", "CrontabSchedule").objects.using(db)
    wanted = {**new, **EVERY_DAY, "timezone": task.crontab.timezone or settings.TIME_ZONE}
    crontab = crontabs.filter(**wanted).order_by("pk").first() or crontabs.create(**wanted)
    task.crontab = crontab
    task.description = description
    task.save(update_fields=["crontab", "description"])
    # Beat reloads its schedule only when this row says something changed.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.using(db).update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def move_back(apps, schema_editor):
    move(apps, schema_editor, old=NEW, new=OLD, description=OLD_DESCRIPTION)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0011_drop_report_facts"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(move, move_back)]
