"""The daily snapshot task, its schedule, the trends it feeds, and first-touch times."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from config.schedules import REPORT_SNAPSHOTS, SCHEDULES
from reports.figures.sales import untouched
from reports.filters import ReportFilters
from reports.models import ReportSnapshot
from reports.services import take_snapshot
from reports.tasks import snapshot_reports
from reports.trends import trends
from sla.models import PacingSnapshot
from tests.agreements.factories import AgreementFactory, ResponseRuleFactory, signed_and_active
from tests.reports.conftest import NOW, at, by
from tests.reports.sales_world import give, mql, rule_agreement

__all__ = ["rule_agreement"]

JUNE_30 = dt.datetime(2025, 6, 30, 23, 55, tzinfo=dt.UTC)
# The nightly task's time: just after midnight, it stores the day before.
JULY_1 = dt.datetime(2025, 7, 1, 0, 5, tzinfo=dt.UTC)


def value(day, metric, dimension="all", key=0):
    return ReportSnapshot.objects.get(date=day, dimension=dimension, key=key, metric=metric).value


def test_running_the_task_twice_the_same_day_keeps_one_value_per_figure(sales_world, time_machine):
    time_machine.move_to(JULY_1, tick=False)
    first = snapshot_reports()
    second = snapshot_reports()
    assert first["snapshot_rows"] == second["snapshot_rows"]
    assert ReportSnapshot.objects.filter(date=JUNE_30.date()).count() == first["snapshot_rows"]
    assert not ReportSnapshot.objects.exclude(date=JUNE_30.date()).exists()


def test_trends_read_the_snapshots_and_the_pacing(sales_world, time_machine):
    for day in (28, 29, 30):
        take_snapshot(dt.datetime(2025, 6, day, 23, 0, tzinfo=dt.UTC))
    PacingSnapshot.objects.create(
        date=dt.date(2025, 6, 30),
        period="month",
        period_start=dt.date(2025, 6, 1),
        period_end=dt.date(2025, 6, 30),
        figure="mqls",
        target=Decimal("4"),
        delivered=Decimal("3"),
        expected_by_now=Decimal("4"),
        days_left=0,
    )
    june = ReportFilters(start_day=dt.date(2025, 6, 1), end_day=dt.date(2025, 6, 30))
    rows = trends(june, NOW)
    days = [r for r in rows if r["section"] == "day"]
    assert [r["key"] for r in days] == [dt.date(2025, 6, d) for d in (28, 29, 30)]
    assert days[-1]["stage_working"] == 2
    pace = by(rows, "pace")
    assert (pace["delivered"], pace["expected_by_now"], pace["pace"]) == (
        Decimal("3"),
        Decimal("4"),
        Decimal("75.0"),
    )


@pytest.mark.django_db
def test_migrate_creates_the_daily_snapshot_schedule_once():
    call_command("migrate", verbosity=0)
    call_command("migrate", verbosity=0)
    tasks = PeriodicTask.objects.filter(name=REPORT_SNAPSHOTS)
    assert tasks.count() == 1
    assert tasks.get().task == "reports.tasks.snapshot_reports"
    assert tasks.get().crontab is not None


def test_a_schedule_ops_changed_is_left_alone(db):
    task = PeriodicTask.objects.get(name=REPORT_SNAPSHOTS)
    task.enabled = False
    task.save()
    call_command("migrate", verbosity=0)
    assert PeriodicTask.objects.get(name=REPORT_SNAPSHOTS).enabled is False


# --- Time to first touch, in business time, stamped at the touch --------------------


@pytest.fixture
def berlin_agreement(marketer, manager, ops):
    """Berlin office hours, Monday to Friday 9–17; a 4 business-hour rule for MQLs."""
    draft = AgreementFactory()
    ResponseRuleFactory(agreement=draft, within_amount=4, within_unit="hours")
    return signed_and_active(draft, marketer, manager, by=ops)


def test_at_helper_is_utc():
    assert at(3, 1).tzinfo is dt.UTC


def test_each_tenure_reaches_its_threshold_in_one_nightly_snapshot_across_dst(
    rule_agreement, marketer, manager, rep, settings, time_machine
):
    # The site in Berlin; three tenures in March, never touched (30 days: 30 × 24 h):
    #  10 Mar 23:00 CET (22:00 UTC) → 9 Apr 22:00 UTC = 10 Apr 00:00 CEST: 10 April;
    #  10 Mar 23:58 CET (22:58 UTC) → 9 Apr 22:58 UTC = 10 Apr 00:58 CEST: 10 April;
    #  28 Mar 23:30 CET (22:30 UTC) → 27 Apr 22:30 UTC = 28 Apr 00:30 CEST: 28 April.
    # The old 23:55 snapshot of "today" saw none of them (each ran out after 23:55 the
    # day before, by 24 h days across the change to summer time); the sales report counts 3.
    settings.TIME_ZONE = "Europe/Berlin"
    berlin = ZoneInfo("Europe/Berlin")
    for started in (
        dt.datetime(2026, 3, 10, 23, 0, tzinfo=berlin),
        dt.datetime(2026, 3, 10, 23, 58, tzinfo=berlin),
        dt.datetime(2026, 3, 28, 23, 30, tzinfo=berlin),
    ):
        give(mql(marketer, at=started), rep, manager, started)
    march = ReportFilters(start_day=dt.date(2026, 3, 1), end_day=dt.date(2026, 3, 31))
    assert untouched(30).total(march, dt.datetime(2026, 6, 1, tzinfo=dt.UTC)) == 3
    found = {}
    for day in range(8, 31):  # each night just after midnight, as the task runs
        after = dt.date(2026, 4, day) + dt.timedelta(days=1)
        time_machine.move_to(dt.datetime.combine(after, dt.time(0, 5), berlin), tick=False)
        snapshot_reports()
        found[day] = value(dt.date(2026, 4, day), "untouched_1")
    assert {day: n for day, n in found.items() if n} == {10: 2, 28: 1}


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_the_nightly_snapshot_after_midnight():
    task = PeriodicTask.objects.get(name=REPORT_SNAPSHOTS)
    assert (task.crontab.minute, task.crontab.hour) == ("5", "0")
    executor = MigrationExecutor(connection)
    executor.migrate([("reports", "0011_drop_report_facts")])
    # Back: an untouched schedule returns to 23:55; forward: to 00:05 again.
    task.refresh_from_db()
    assert (task.crontab.minute, task.crontab.hour) == ("55", "23")
    assert task.description.startswith("Stores today's funnel")
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    task.refresh_from_db()
    assert (task.crontab.minute, task.crontab.hour) == ("5", "0")
    [schedule] = [s for s in SCHEDULES if s.name == REPORT_SNAPSHOTS]
    assert task.description == schedule.description
    # A time ops chose stays theirs.
    CrontabSchedule.objects.filter(pk=task.crontab_id).update(minute="30", hour="22")
    executor.loader.build_graph()
    executor.migrate([("reports", "0011_drop_report_facts")])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    task.refresh_from_db()
    assert (task.crontab.minute, task.crontab.hour) == ("30", "22")
