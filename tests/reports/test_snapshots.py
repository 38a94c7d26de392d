"""The daily snapshot task, its schedule, the trends it feeds, and first-touch times."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from config.schedules import REPORT_SNAPSHOTS
from leads.models import Lead
from leads.services import log_touch
from reports.filters import ReportFilters
from reports.models import DeliveryTally, ReportSnapshot
from reports.services import fill_first_touch_times, take_snapshot
from reports.tasks import snapshot_reports
from reports.trends import trends
from sla.models import PacingSnapshot
from tests.agreements.factories import AgreementFactory, ResponseRuleFactory, signed_and_active
from tests.factories import LeadFactory
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
    # The delivery tally is summed to one row per key.
    assert first["tally_rows"] == second["tally_rows"] == DeliveryTally.objects.count() > 0


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


def test_first_touch_stores_business_seconds_since_the_lead_reached_sales(
    berlin_agreement, rep, time_machine
):
    # Assigned Friday 16:00 Berlin (15:00 UTC), touched Monday 10:00 Berlin (09:00 UTC):
    # one business hour on Friday and one on Monday = 7,200 s.
    friday = dt.datetime(2026, 3, 13, 15, 0, tzinfo=dt.UTC)
    lead = LeadFactory(stage="mql", owner=rep, assigned_at=friday, created_at=friday)
    monday = dt.datetime(2026, 3, 16, 9, 0, tzinfo=dt.UTC)
    time_machine.move_to(monday, tick=False)
    log_touch(lead, by=rep, kind="call")
    lead.refresh_from_db()
    assert lead.business_seconds_to_first_touch == 7200
    # A second touch does not change it.
    time_machine.move_to(monday + dt.timedelta(hours=3), tick=False)
    log_touch(lead, by=rep, kind="email")
    lead.refresh_from_db()
    assert lead.business_seconds_to_first_touch == 7200


def test_missing_first_touch_times_are_filled_once(berlin_agreement, rep):
    lead = LeadFactory(
        stage="working",
        owner=rep,
        created_at=dt.datetime(2026, 3, 10, 8, 0, tzinfo=dt.UTC),
        first_touch_at=dt.datetime(2026, 3, 10, 9, 30, tzinfo=dt.UTC),
    )
    assert fill_first_touch_times() == 1
    assert fill_first_touch_times() == 0
    # 09:00 to 10:30 Berlin time.
    assert Lead.objects.get(pk=lead.pk).business_seconds_to_first_touch == 5400


def test_at_helper_is_utc():
    assert at(3, 1).tzinfo is dt.UTC
