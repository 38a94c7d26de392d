"""Marketing pacing: delivered-so-far against each commitment, stored daily for the trends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_celery_beat.models import PeriodicTask

from config.schedules import MARKETING_PACING
from leads import services
from reports.delivery import marketing_delivery
from reports.filters import ReportFilters
from reports.pacing import period_bounds, snapshot_marketing_pacing
from sla.models import PacingSnapshot
from tests.agreements.factories import (
    AgreementFactory,
    MarketingCommitmentFactory,
    signed_and_active,
)
from tests.factories import ChannelFactory, LeadFactory

NOW = dt.datetime(2026, 6, 15, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def commitment(marketer, manager, ops):
    draft = AgreementFactory(calendar=None)
    MarketingCommitmentFactory(agreement=draft, mqls=30, new_leads=300)
    return signed_and_active(draft, marketer, manager, by=ops).commitments.get()


@pytest.mark.django_db
def test_period_bounds_for_month_and_quarter():
    assert period_bounds(dt.date(2026, 5, 20), "month") == (
        dt.date(2026, 5, 1),
        dt.date(2026, 5, 31),
    )
    assert period_bounds(dt.date(2026, 11, 3), "quarter") == (
        dt.date(2026, 10, 1),
        dt.date(2026, 12, 31),
    )


@pytest.mark.django_db
def test_pacing_snapshot_counts_delivered_so_far_and_the_pace_needed(commitment, marketer):
    # Six hand-raises on 3 June and one on 30 May: 6 MQLs delivered in June so far, the
    # delivery report's own figure (reports.figures.marketing.MQLS_DELIVERED).
    channel = ChannelFactory(is_marketing_sourced=True)
    in_june = dt.datetime(2026, 6, 3, 12, tzinfo=dt.UTC)
    for _ in range(6):
        lead = LeadFactory(channel=channel, stage="fan")
        services.run_transition(lead, "hand_raise", by=marketer, at=in_june)
    may = LeadFactory(channel=channel, stage="fan")
    services.run_transition(
        may, "hand_raise", by=marketer, at=dt.datetime(2026, 5, 30, tzinfo=dt.UTC)
    )

    snapshot_marketing_pacing(NOW)

    mqls = PacingSnapshot.objects.get(figure="mqls")
    assert (mqls.date, mqls.period_start, mqls.period_end) == (
        dt.date(2026, 6, 15),
        dt.date(2026, 6, 1),
        dt.date(2026, 6, 30),
    )
    assert (mqls.target, mqls.delivered, mqls.days_left) == (Decimal(30), Decimal(6), 15)
    assert mqls.expected_by_now == Decimal("15.00")
    assert mqls.pace_needed_per_day == Decimal("1.60")
    assert mqls.on_pace is False


@pytest.mark.django_db
def test_pacing_counts_the_sites_days_as_the_delivery_report_does(marketer, manager, ops, settings):
    draft = AgreementFactory()  # a Berlin office calendar
    MarketingCommitmentFactory(agreement=draft, mqls=30, new_leads=300)
    signed_and_active(draft, marketer, manager, by=ops)
    # The site in UTC, the agreement's calendar in Berlin. An MQL at
    # 31 March 23:30 UTC (1 April 01:30 in Berlin) is March's on the delivery report, which
    # counts the site's days: the pace of April has none delivered yet, as the report says.
    assert settings.TIME_ZONE == "UTC"
    late = LeadFactory(channel=ChannelFactory(is_marketing_sourced=True), stage="fan")
    services.run_transition(
        late, "hand_raise", by=marketer, at=dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC)
    )
    april_1 = dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC)
    snapshot_marketing_pacing(april_1)
    april = ReportFilters(start_day=dt.date(2026, 4, 1), end_day=dt.date(2026, 4, 1))
    [reported] = [
        r["delivered"]
        for r in marketing_delivery(april, april_1)
        if r["section"] == "commitment" and r["key"] == "mqls"
    ]
    mqls = PacingSnapshot.objects.get(figure="mqls")
    assert (mqls.period_start, mqls.delivered, reported) == (dt.date(2026, 4, 1), 0, 0)
    # On 1 April in Berlin's evening (22:30 UTC) it is still 1 April on the site: one day.
    snapshot_marketing_pacing(dt.datetime(2026, 4, 1, 22, 30, tzinfo=dt.UTC))
    assert PacingSnapshot.objects.filter(figure="mqls").count() == 1


@pytest.mark.django_db
def test_pacing_snapshot_is_one_row_per_day_and_figure(commitment):
    snapshot_marketing_pacing(NOW)
    snapshot_marketing_pacing(NOW + dt.timedelta(hours=3))
    snapshot_marketing_pacing(NOW + dt.timedelta(days=1))

    assert PacingSnapshot.objects.filter(figure="mqls").count() == 2
    assert set(PacingSnapshot.objects.values_list("figure", flat=True)) == set(
        PacingSnapshot.Figure.values
    )


@pytest.mark.django_db
def test_pipeline_counts_deals_opened_on_marketing_leads(commitment, rep):
    lead = LeadFactory(channel=ChannelFactory(is_marketing_sourced=True), stage="sql", owner=rep)
    services.run_transition(lead, "open_opportunity", by=rep, amount="1200.50", at=NOW)

    snapshot_marketing_pacing(NOW + dt.timedelta(minutes=1))

    assert PacingSnapshot.objects.get(figure="pipeline_amount").delivered == Decimal("1200.50")


@pytest.mark.django_db
def test_no_active_agreement_no_snapshot():
    assert snapshot_marketing_pacing(NOW) == 0


@pytest.mark.django_db(transaction=True)
def test_migration_moves_the_existing_pacing_schedule_to_the_reports_task():
    PeriodicTask.objects.filter(name=MARKETING_PACING).update(
        task="sla.tasks.snapshot_marketing_pacing"
    )
    executor = MigrationExecutor(connection)
    executor.migrate([("reports", "0009_delivery_tally")])
    executor.loader.build_graph()
    executor.migrate([("reports", "0010_pacing_task_moves_to_reports")])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # the latest state for later tests

    task = PeriodicTask.objects.get(name=MARKETING_PACING)
    assert task.task == "reports.tasks.snapshot_marketing_pacing"
