"""Every periodic task beat runs, in one table, and the post_migrate hook that writes it.

django-celery-beat keeps the schedules in the database so ops can change them in
the admin. Each one here is created by name when it is missing and then left
alone: a later migrate never undoes ops' change of its time, its interval or its
enabled flag. Tasks are named by their dotted Celery name, as plain strings, so
config imports no app of ours. The hook is connected once, by LeadsConfig.ready.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from config.db import gather_planner_statistics


@dataclass(frozen=True)
class Schedule:
    """One periodic task: `when` is "every N minutes|hours|..." or a crontab
    "minute hour day-of-month month day-of-week" in settings.TIME_ZONE."""

    name: str
    task: str
    when: str
    description: str
    # A run that waited longer than this in the queue is dropped: the next one comes.
    expire_seconds: int | None = None


CHECK_SLA = "SLA check (every minute)"
UNTOUCHED_FLAGS = "Untouched lead flags (daily)"
MARKETING_PACING = "Marketing commitment pacing (daily)"
REPORT_SNAPSHOTS = "Report snapshots (daily)"
# Just after midnight: the day before is over (reports.migrations.0012 moved it from 23:55).
REPORT_SNAPSHOTS_AT = "5 0 * * *"
WAKE_NURTURED = "Wake nurtured leads (daily)"
RESUME_IMPORTS = "Resume stalled imports (every minute)"
EXPIRE_UPLOADS = "Expire abandoned uploads (hourly)"
FIND_DUPLICATES = "Find duplicate leads (hourly)"
PLANNER_STATISTICS = "Database planner statistics (daily)"

SCHEDULES: list[Schedule] = [
    Schedule(
        CHECK_SLA,
        "sla.tasks.check_sla",
        "every 1 minutes",
        "Warns owners before a first-touch clock runs out, records breaches, "
        "notifies owner and manager, escalates as the rule says, then sends the emails.",
        expire_seconds=60,
    ),
    Schedule(
        RESUME_IMPORTS,
        "leads.tasks.resume_stalled_imports",
        "every 1 minutes",
        "Queues again every list import whose worker stopped (no sign of life for "
        "IMPORT_STALLED_AFTER seconds), so it resumes where it stopped, without duplicates.",
        expire_seconds=60,
    ),
    Schedule(
        EXPIRE_UPLOADS,
        "leads.tasks.expire_abandoned_uploads",
        "17 * * * *",
        "Removes list imports uploaded but never confirmed for a day, with their stored file.",
        expire_seconds=3600,
    ),
    Schedule(
        FIND_DUPLICATES,
        "customers.tasks.refresh_duplicates",
        "41 * * * *",
        "Scans every lead for likely duplicates (personal and work address, initials, "
        "typos, one phone) and stores them for the Possible duplicates page.",
        expire_seconds=3600,
    ),
    Schedule(
        UNTOUCHED_FLAGS,
        "sla.tasks.flag_untouched_leads",
        "30 5 * * *",
        "Flags leads with no sales touch 30/60/90 days (the agreement's "
        "thresholds) after assignment and tells each owner and manager once.",
    ),
    Schedule(
        MARKETING_PACING,
        "reports.tasks.snapshot_marketing_pacing",
        "45 5 * * *",
        "Stores delivered-so-far against each marketing commitment of the "
        "active agreement, with the pace still needed, for the reports' trends.",
    ),
    Schedule(
        WAKE_NURTURED,
        "leads.tasks.wake_nurtured_leads",
        "0 6 * * *",
        "Leads whose nurture return date has arrived get a follow-up "
        "activity on their timeline, once per stay in nurture.",
    ),
    Schedule(
        PLANNER_STATISTICS,
        "leads.tasks.gather_planner_statistics",
        "15 4 * * *",
        "On SQLite, refreshes the statistics the database chooses its indexes by, so the "
        "reports stay fast as the data grows (Postgres keeps its own; nothing runs there).",
        expire_seconds=3600,
    ),
    Schedule(
        REPORT_SNAPSHOTS,
        "reports.tasks.snapshot_reports",
        REPORT_SNAPSHOTS_AT,
        "Stores yesterday's funnel, SLA met and breached and untouched buckets for "
        "the trends report, counted to the end of the day (so a clock due or a tenure "
        "maturing in its last minutes is in).",
    ),
]


def gather_statistics_after_migrate(**kwargs: Any) -> None:
    """Statistics for SQLite's planner after a migrate (a post_migrate handler).

    A migration that rebuilds a table drops its statistics; without this the reports
    would plan without them until the daily run.
    """
    gather_planner_statistics(str(kwargs.get("using") or "default"))


def ensure_schedules(**kwargs: Any) -> None:
    """Create each periodic task of SCHEDULES that is missing (a post_migrate handler)."""
    using = str(kwargs.get("using") or "default")
    if PeriodicTask._meta.db_table not in connections[using].introspection.table_names():
        return  # django_celery_beat is not migrated yet
    tasks = PeriodicTask.objects.using(using)
    for schedule in SCHEDULES:
        if tasks.filter(name=schedule.name).exists():
            continue
        tasks.get_or_create(
            name=schedule.name,
            defaults={
                "task": schedule.task,
                "description": schedule.description,
                "expire_seconds": schedule.expire_seconds,
                **_timing(schedule.when, using),
            },
        )


def _timing(when: str, using: str) -> dict[str, IntervalSchedule | CrontabSchedule]:
    """The interval or crontab row for `when`, reusing an identical one if there is one.

    Neither table is unique on its fields (ops may have made a twin in the admin), so
    the oldest match is taken rather than get_or_create, which would fail on a twin.
    """
    fields = when.split()
    if fields[0] == "every":
        every = {"every": int(fields[1]), "period": fields[2]}
        intervals = IntervalSchedule.objects.using(using)
        interval = intervals.filter(**every).order_by("pk").first() or intervals.create(**every)
        return {"interval": interval}
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    cron = {
        "minute": minute,
        "hour": hour,
        "day_of_month": day_of_month,
        "month_of_year": month_of_year,
        "day_of_week": day_of_week,
        "timezone": settings.TIME_ZONE,
    }
    crontabs = CrontabSchedule.objects.using(using)
    crontab = crontabs.filter(**cron).order_by("pk").first() or crontabs.create(**cron)
    return {"crontab": crontab}
