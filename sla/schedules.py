"""The SLA engine's beat schedules, written to django-celery-beat on every migrate.

Each is created once, by name, and then left alone, so ops can change its
interval or disable it in the admin without a deploy undoing the change.
"""

from __future__ import annotations

from typing import Any

CHECK_SLA = "SLA check (every minute)"

SCHEDULES: list[dict[str, Any]] = [
    {
        "name": CHECK_SLA,
        "task": "sla.tasks.check_sla",
        "interval": {"every": 1, "period": "minutes"},
        # A run that waited longer than this in the queue is dropped: the next one comes.
        "expire_seconds": 60,
        "description": "Warns owners before a first-touch clock runs out, records breaches, "
        "notifies owner and manager, escalates as the rule says, then sends the emails.",
    },
    {
        "name": "Untouched lead flags (daily)",
        "task": "sla.tasks.flag_untouched_leads",
        "crontab": {"minute": "30", "hour": "5"},
        "description": "Flags leads with no sales touch 30/60/90 days (the agreement's "
        "thresholds) after assignment and tells each owner and manager once.",
    },
    {
        "name": "Marketing commitment pacing (daily)",
        "task": "sla.tasks.snapshot_marketing_pacing",
        "crontab": {"minute": "45", "hour": "5"},
        "description": "Stores delivered-so-far against each marketing commitment of the "
        "active agreement, with the pace still needed, for the reports' trends.",
    },
]


def ensure_schedules(**kwargs: Any) -> None:
    """Create the periodic tasks above if they are missing (post_migrate handler)."""
    from django.conf import settings
    from django.db import connections
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    using = str(kwargs.get("using") or "default")
    if PeriodicTask._meta.db_table not in connections[using].introspection.table_names():
        return  # django_celery_beat is not migrated yet
    tasks = PeriodicTask.objects.using(using)
    for spec in SCHEDULES:
        if tasks.filter(name=spec["name"]).exists():
            continue
        schedule: dict[str, Any] = {}
        if "interval" in spec:
            interval = IntervalSchedule.objects.using(using).filter(**spec["interval"]).order_by(
                "pk"
            ).first() or IntervalSchedule.objects.using(using).create(**spec["interval"])
            schedule["interval"] = interval
        else:
            crontab = (
                CrontabSchedule.objects.using(using)
                .filter(
                    **spec["crontab"],
                    day_of_week="*",
                    day_of_month="*",
                    month_of_year="*",
                    timezone=settings.TIME_ZONE,
                )
                .order_by("pk")
                .first()
            ) or CrontabSchedule.objects.using(using).create(
                **spec["crontab"],
                day_of_week="*",
                day_of_month="*",
                month_of_year="*",
                timezone=settings.TIME_ZONE,
            )
            schedule["crontab"] = crontab
        tasks.get_or_create(
            name=spec["name"],
            defaults={
                "task": spec["task"],
                "description": spec["description"],
                "expire_seconds": spec.get("expire_seconds"),
                **schedule,
            },
        )
