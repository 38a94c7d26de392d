"""Daily work: untouched flags, marketing pacing snapshots, nurture reminders, the schedules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from leads.models import Activity, Deal, StageChange
from leads.tasks import wake_nurtured_leads
from notifications.models import Notification
from sla.models import PacingSnapshot, UntouchedFlag
from sla.schedules import CHECK_SLA, SCHEDULES
from sla.services import flag_untouched_leads, period_bounds, snapshot_marketing_pacing
from tests.agreements.factories import (
    AgreementFactory,
    MarketingCommitmentFactory,
    signed_and_active,
)
from tests.factories import ChannelFactory, LeadFactory, RepFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 6, 0, tzinfo=dt.UTC)


def assigned(rep, days_ago: float, **fields):
    return LeadFactory(
        stage=fields.pop("stage", "working"),
        owner=rep,
        assigned_at=NOW - dt.timedelta(days=days_ago),
        **fields,
    )


def flags(lead) -> list[int]:
    return sorted(lead.untouched_flags.values_list("threshold_days", flat=True))


# --- Untouched flags ------------------------------------------------------------


def test_lead_untouched_past_each_threshold_gets_one_flag_per_threshold(rep):
    lead = assigned(rep, 61)

    flag_untouched_leads(NOW)
    flag_untouched_leads(NOW)

    assert flags(lead) == [30, 60]
    flag = lead.untouched_flags.get(threshold_days=60)
    assert (flag.owner, flag.assigned_at) == (rep, lead.assigned_at)


def test_lead_touched_since_assignment_is_not_flagged(rep):
    lead = assigned(rep, 95, last_touch_at=NOW - dt.timedelta(days=80))

    flag_untouched_leads(NOW)

    assert flags(lead) == []


def test_touch_before_a_reassignment_does_not_count(rep):
    lead = assigned(rep, 31, last_touch_at=NOW - dt.timedelta(days=40))

    flag_untouched_leads(NOW)

    assert flags(lead) == [30]


def test_nurtured_closed_and_unowned_leads_are_not_flagged(rep):
    parked = assigned(rep, 100, stage="nurture")
    closed = assigned(rep, 100, stage="converted")
    desk = LeadFactory(stage="working", assigned_at=NOW - dt.timedelta(days=100))

    flag_untouched_leads(NOW)

    assert not UntouchedFlag.objects.filter(lead__in=[parked, closed, desk]).exists()


def test_thresholds_come_from_the_active_agreement(rep, marketer, manager, ops):
    draft = AgreementFactory(untouched_days_1=7, untouched_days_2=14, untouched_days_3=21)
    signed_and_active(draft, marketer, manager, by=ops)
    lead = assigned(rep, 15)

    flag_untouched_leads(NOW)

    assert flags(lead) == [7, 14]


def test_owner_and_manager_get_one_digest_per_threshold_and_day(rep, manager):
    for _ in range(3):
        assigned(rep, 35)

    flag_untouched_leads(NOW)
    flag_untouched_leads(NOW + dt.timedelta(hours=1))

    (mine,) = Notification.objects.filter(user=rep, kind=Notification.Kind.UNTOUCHED)
    assert mine.title == "3 of your leads had no sales touch for 30 days"
    (theirs,) = Notification.objects.filter(user=manager, kind=Notification.Kind.UNTOUCHED)
    assert "rep: 3" in theirs.body


# --- Marketing pacing -------------------------------------------------------------


@pytest.fixture
def commitment(marketer, manager, ops):
    draft = AgreementFactory(calendar=None)
    MarketingCommitmentFactory(agreement=draft, mqls=30, new_leads=300)
    return signed_and_active(draft, marketer, manager, by=ops).commitments.get()


def test_period_bounds_for_month_and_quarter():
    assert period_bounds(dt.date(2026, 5, 20), "month") == (
        dt.date(2026, 5, 1),
        dt.date(2026, 5, 31),
    )
    assert period_bounds(dt.date(2026, 11, 3), "quarter") == (
        dt.date(2026, 10, 1),
        dt.date(2026, 12, 31),
    )


def test_pacing_snapshot_counts_delivered_so_far_and_the_pace_needed(commitment):
    channel = ChannelFactory(is_marketing_sourced=True)
    in_june = dt.datetime(2026, 6, 3, 12, tzinfo=dt.UTC)
    for _ in range(6):
        lead = LeadFactory(channel=channel, created_at=in_june)
        StageChange.objects.create(
            lead=lead, from_stage="iql", to_stage="mql", transition="hand_raise", at=in_june
        )
    sales_list = LeadFactory(channel=ChannelFactory(is_marketing_sourced=False))
    StageChange.objects.create(
        lead=sales_list, from_stage="iql", to_stage="mql", transition="hand_raise", at=in_june
    )
    may = LeadFactory(channel=channel)
    StageChange.objects.create(
        lead=may,
        from_stage="iql",
        to_stage="mql",
        transition="hand_raise",
        at=dt.datetime(2026, 5, 30, tzinfo=dt.UTC),
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


def test_pacing_snapshot_is_one_row_per_day_and_figure(commitment):
    snapshot_marketing_pacing(NOW)
    snapshot_marketing_pacing(NOW + dt.timedelta(hours=3))
    snapshot_marketing_pacing(NOW + dt.timedelta(days=1))

    assert PacingSnapshot.objects.filter(figure="mqls").count() == 2
    assert set(PacingSnapshot.objects.values_list("figure", flat=True)) == set(
        PacingSnapshot.Figure.values
    )


def test_pipeline_counts_deals_opened_on_marketing_leads(commitment):
    lead = LeadFactory(channel=ChannelFactory(is_marketing_sourced=True))
    Deal.objects.create(lead=lead, amount=Decimal("1200.50"), opened_at=NOW)

    snapshot_marketing_pacing(NOW + dt.timedelta(minutes=1))

    assert PacingSnapshot.objects.get(figure="pipeline_amount").delivered == Decimal("1200.50")


def test_no_active_agreement_no_snapshot():
    assert snapshot_marketing_pacing(NOW) == 0


# --- Nurture reminder --------------------------------------------------------------


def test_nurture_wake_up_reminds_the_owner_once(rep, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC), tick=False)
    lead = LeadFactory(
        stage="nurture",
        owner=rep,
        nurture_until=dt.date(2026, 3, 10),
        stage_entered_at=timezone.now() - dt.timedelta(days=30),
    )

    wake_nurtured_leads()
    wake_nurtured_leads()

    (reminder,) = Notification.objects.filter(user=rep)
    assert reminder.kind == Notification.Kind.NURTURE_WAKEUP
    assert reminder.lead == lead
    assert lead.activities.filter(kind=Activity.Kind.NURTURE_RETURN).count() == 1


# --- Schedules ------------------------------------------------------------------


def test_migrate_creates_the_schedules_once_and_keeps_ops_changes():
    check = PeriodicTask.objects.get(name=CHECK_SLA)
    assert check.task == "sla.tasks.check_sla"
    assert (check.interval.every, check.interval.period) == (1, "minutes")
    check.interval.every = 5
    check.interval.save()

    call_command("migrate", verbosity=0)

    for spec in SCHEDULES:
        assert PeriodicTask.objects.filter(name=spec["name"], task=spec["task"]).count() == 1
    assert PeriodicTask.objects.get(name=CHECK_SLA).interval.every == 5


def test_flag_untouched_digest_ignores_other_reps(rep):
    other = RepFactory(username="someone")
    assigned(other, 31)

    flag_untouched_leads(NOW)

    assert not Notification.objects.filter(user=rep).exists()


def test_ops_can_read_the_sla_records_in_the_admin(client, ops):
    client.force_login(ops)

    for path in ("/admin/sla/breach/", "/admin/sla/untouchedflag/", "/admin/sla/pacingsnapshot/"):
        assert client.get(path).status_code == 200
    assert client.get("/admin/sla/breach/add/").status_code == 403
