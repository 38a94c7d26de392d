"""The check keeps the agreement's calendar: clocks set by the rule breach, warn and escalate at
business-time instants (Berlin office hours 09–17, Monday to Friday, holidays, DST)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from leads.models import Lead
from leads.services import run_transition
from notifications.models import Notification
from sla.check import run_check
from sla.models import Breach, SLAWarning
from tests.agreements.factories import (
    AgreementFactory,
    HolidayFactory,
    ResponseRuleFactory,
    signed_and_active,
)
from tests.factories import ChannelFactory, LeadFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
ONE_MINUTE = dt.timedelta(minutes=1)


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def agreement(marketer, manager, ops):
    """4 business hours to first touch (warn at 75 %, escalate after 8); IQL: 24 wall-clock h."""
    draft = AgreementFactory()
    HolidayFactory(calendar=draft.calendar, date=dt.date(2026, 12, 25))
    ResponseRuleFactory(
        agreement=draft, within_amount=4, warn_at_percent=75, escalate_after_amount=8
    )
    ResponseRuleFactory(
        agreement=draft,
        stage="iql",
        within_amount=24,
        business_time=False,
        escalate_after_amount=48,
    )
    return signed_and_active(draft, marketer, manager, by=ops)


def enters_mql(moment: dt.datetime, rep) -> Lead:
    lead = LeadFactory(stage="fan", owner=rep)
    with time_machine.travel(moment, tick=False):
        return run_transition(lead, "hand_raise", by=None)


def status(lead: Lead) -> str:
    return Lead.objects.get(pk=lead.pk).sla_status


def breached_between(lead: Lead, before: dt.datetime, at: dt.datetime) -> bool:
    run_check(before)
    if status(lead) != Lead.SLAStatus.PENDING:
        return False
    run_check(at)
    return status(lead) == Lead.SLAStatus.BREACHED


def test_after_hours_arrival_breaches_the_next_working_day(agreement, rep):
    lead = enters_mql(berlin(2026, 3, 10, 20, 15), rep)

    assert breached_between(lead, berlin(2026, 3, 11, 12, 59), berlin(2026, 3, 11, 13))


def test_after_hours_arrival_warns_when_one_business_hour_is_left(agreement, rep):
    lead = enters_mql(berlin(2026, 3, 10, 20, 15), rep)

    run_check(berlin(2026, 3, 11, 11, 59))
    assert not SLAWarning.objects.exists()
    run_check(berlin(2026, 3, 11, 12))

    assert SLAWarning.objects.get().lead == lead


def test_weekend_neither_warns_nor_breaches(agreement, rep):
    lead = enters_mql(berlin(2026, 3, 13, 16), rep)  # Friday; due Monday 12:00

    for day in (14, 15):
        for hour in (0, 9, 12, 18):
            run_check(berlin(2026, 3, day, hour))

    assert status(lead) == Lead.SLAStatus.PENDING
    assert not Notification.objects.exists()
    run_check(berlin(2026, 3, 16, 11))
    assert SLAWarning.objects.filter(lead=lead).exists()
    assert breached_between(lead, berlin(2026, 3, 16, 11, 59), berlin(2026, 3, 16, 12))


def test_holiday_does_not_count(agreement, rep):
    lead = enters_mql(berlin(2026, 12, 24, 15), rep)  # Thu; Fri 25 Dec is a holiday

    run_check(berlin(2026, 12, 25, 16))
    assert status(lead) == Lead.SLAStatus.PENDING
    assert breached_between(lead, berlin(2026, 12, 28, 10, 59), berlin(2026, 12, 28, 11))


def test_dst_switch_breaches_at_the_local_office_hour(agreement, rep):
    lead = enters_mql(berlin(2026, 3, 27, 15), rep)  # due Mon 30 Mar 11:00 CEST = 09:00 UTC

    assert breached_between(
        lead,
        dt.datetime(2026, 3, 30, 8, 59, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 30, 9, 0, tzinfo=dt.UTC),
    )
    assert Breach.objects.get().due_at == berlin(2026, 3, 30, 11)


def test_due_time_spanning_several_business_days(marketer, manager, ops, rep):
    channel = ChannelFactory(slug="partner-referral")
    draft = AgreementFactory()
    ResponseRuleFactory(
        agreement=draft,
        channel=channel,
        within_amount=2,
        within_unit="days",
        escalate_after_amount=3,
        escalate_after_unit="days",
    )
    signed_and_active(draft, marketer, manager, by=ops)
    lead = LeadFactory(stage="fan", owner=rep, channel=channel)
    with time_machine.travel(berlin(2026, 3, 12, 10), tick=False):  # Thursday
        lead = run_transition(lead, "hand_raise", by=None)

    # Two working days of 8 hours: Thu 7 h + Fri 8 h + Mon 1 h.
    assert lead.sla_due_at == berlin(2026, 3, 16, 10)
    assert breached_between(lead, berlin(2026, 3, 16, 9, 59), berlin(2026, 3, 16, 10))
    assert Breach.objects.get().escalate_at == berlin(2026, 3, 17, 10)


def test_escalation_counts_business_hours_across_the_weekend(agreement, rep, manager):
    lead = enters_mql(berlin(2026, 3, 13, 13), rep)  # due Fri 17:00, escalates Mon 13:00

    run_check(berlin(2026, 3, 13, 17))
    assert status(lead) == Lead.SLAStatus.BREACHED
    assert Breach.objects.get().escalate_at == berlin(2026, 3, 16, 13)
    for moment in (berlin(2026, 3, 14, 13), berlin(2026, 3, 16, 12, 59)):
        run_check(moment)
        assert Breach.objects.get().escalated_at is None
    run_check(berlin(2026, 3, 16, 13))

    assert Breach.objects.get().escalated_at == berlin(2026, 3, 16, 13)
    assert Notification.objects.filter(user=manager, kind=Notification.Kind.SLA_ESCALATION).exists()


def test_wall_clock_rule_breaches_on_the_weekend(agreement, rep):
    lead = LeadFactory(stage="fan", owner=rep)
    with time_machine.travel(berlin(2026, 3, 13, 18), tick=False):
        lead = run_transition(lead, "qualify_information", by=None)

    assert breached_between(lead, berlin(2026, 3, 14, 17, 59), berlin(2026, 3, 14, 18))


def test_wall_clock_rule_warns_at_wall_clock_share(agreement, rep):
    lead = LeadFactory(stage="fan", owner=rep)
    with time_machine.travel(berlin(2026, 3, 13, 18), tick=False):
        run_transition(lead, "qualify_information", by=None)

    run_check(berlin(2026, 3, 14, 11, 59))  # 75 % of 24 h is 18 h: Saturday 12:00
    assert not SLAWarning.objects.exists()
    run_check(berlin(2026, 3, 14, 12))
    assert SLAWarning.objects.exists()
