"""The reports' beat schedule, written to django-celery-beat on every migrate.

Created once, by name, then left alone: ops may change its time or disable it in
the admin without a deploy undoing the change.
"""

from __future__ import annotations

from typing import Any

SNAPSHOT = "Report snapshots (daily)"
SNAPSHOT_TASK = "reports.tasks.snapshot_reports"


def ensure_schedules(**kwargs: Any) -> None:
    """Create the daily snapshot task if it is missing (post_migrate handler)."""
    from django.conf import settings
    from django.db import connections
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    using = str(kwargs.get("using") or "default")
    if PeriodicTask._meta.db_table not in connections[using].introspection.table_names():
        return
    tasks = PeriodicTask.objects.using(using)
    if tasks.filter(name=SNAPSHOT).exists():
        return
    cron = dict(
        minute="55",
        hour="23",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    crontabs = CrontabSchedule.objects.using(using)
    crontab = crontabs.filter(**cron).order_by("pk").first() or crontabs.create(**cron)
    tasks.get_or_create(
        name=SNAPSHOT,
        defaults={
            "task": SNAPSHOT_TASK,
            "crontab": crontab,
            "description": "Stores today's funnel, SLA met and untouched buckets for the "
            "trends report (late in the day, so the day's touches are in), and sums "
            "the delivery tally's rows into one per day and key.",
        },
    )
