"""The daily snapshot task, its schedule, the trends it feeds, and first-touch times."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from config.schedules import REPORT_SNAPSHOTS
from reports.filters import ReportFilters
from reports.models import ReportSnapshot
from reports.services import take_snapshot
from reports.tasks import snapshot_reports
from reports.trends import trends
from sla.models import PacingSnapshot
from tests.agreements.factories import AgreementFactory, ResponseRuleFactory, signed_and_active
from tests.reports.conftest import NOW, at, by

JUNE_30 = dt.datetime(2025, 6, 30, 23, 55, tzinfo=dt.UTC)


def value(day, metric, dimension="all", key=0):
    return ReportSnapshot.objects.get(date=day, dimension=dimension, key=key, metric=metric).value


def test_running_the_task_twice_the_same_day_keeps_one_value_per_figure(sales_world, time_machine):
    time_machine.move_to(JUNE_30, tick=False)
    first = snapshot_reports()
    second = snapshot_reports()
    assert first["snapshot_rows"] == second["snapshot_rows"]
    assert ReportSnapshot.objects.filter(date=JUNE_30.date()).count() == first["snapshot_rows"]


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
