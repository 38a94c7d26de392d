"""Applying the rules: entering a covered stage starts a first-touch clock from the active rule."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from agreements import services
from agreements.models import StageDefinition
from leads import clock
from leads.models import Lead, StageChange
from leads.services import log_touch, run_transition
from tests.agreements.factories import (
    AgreementFactory,
    HolidayFactory,
    ResponseRuleFactory,
    signed_and_active,
)
from tests.factories import ChannelFactory, LeadFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def channel():
    return ChannelFactory(slug="demo-request-test", name="Demo request")


@pytest.fixture
def agreement(marketer, manager, ops, channel):
    draft = AgreementFactory()
    HolidayFactory(calendar=draft.calendar, date=dt.date(2026, 12, 25))
    ResponseRuleFactory(agreement=draft, within_amount=4, within_unit="hours")
    ResponseRuleFactory(agreement=draft, channel=channel, within_amount=1, within_unit="hours")
    ResponseRuleFactory(
        agreement=draft,
        stage="iql",
        within_amount=24,
        within_unit="hours",
        business_time=False,
        escalate_after_amount=48,
    )
    return signed_and_active(draft, marketer, manager, by=ops)


def hand_raise_at(moment: dt.datetime, **lead_fields) -> Lead:
    lead = LeadFactory(stage="fan", **lead_fields)
    with time_machine.travel(moment, tick=False):
        return run_transition(lead, "hand_raise", by=None)


def test_hand_raise_in_working_hours_is_due_within_business_hours(agreement):
    lead = hand_raise_at(berlin(2026, 3, 10, 10))
    assert lead.sla_due_at == berlin(2026, 3, 10, 14)
    assert lead.sla_status == Lead.SLAStatus.PENDING


def test_clock_is_saved_with_the_rule_and_version_that_set_it(agreement):
    lead = hand_raise_at(berlin(2026, 3, 10, 10))
    lead.refresh_from_db()
    assert lead.sla_rule == agreement.rules.get(channel__isnull=True, stage="mql")
    assert lead.sla_agreement == agreement
    assert lead.sla_due_at == berlin(2026, 3, 10, 14)


def test_arrival_after_hours_is_due_the_next_morning(agreement):
    lead = hand_raise_at(berlin(2026, 3, 10, 20, 15))
    assert lead.sla_due_at == berlin(2026, 3, 11, 13)


def test_arrival_on_friday_evening_is_due_on_monday(agreement):
    lead = hand_raise_at(berlin(2026, 3, 13, 16))
    assert lead.sla_due_at == berlin(2026, 3, 16, 12)


def test_arrival_on_a_holiday_is_due_after_it(agreement):
    # Friday 25 December is a holiday of the calendar; then the weekend.
    lead = hand_raise_at(berlin(2026, 12, 25, 11))
    assert lead.sla_due_at == berlin(2026, 12, 28, 13)


def test_arrival_before_a_dst_change_is_due_in_local_time_after_it(agreement):
    # Friday 27 March 15:00 + 4 business hours → Monday 30 March 11:00 (summer time).
    lead = hand_raise_at(berlin(2026, 3, 27, 15))
    assert lead.sla_due_at == berlin(2026, 3, 30, 11)
    assert lead.sla_due_at == dt.datetime(2026, 3, 30, 9, tzinfo=dt.UTC)


def test_channel_rule_beats_the_any_channel_rule(agreement, channel):
    lead = hand_raise_at(berlin(2026, 3, 10, 10), channel=channel)
    assert lead.sla_due_at == berlin(2026, 3, 10, 11)
    assert lead.sla_rule.channel == channel


def test_wall_clock_rule_counts_nights_and_weekends(agreement):
    lead = LeadFactory(stage="fan")
    with time_machine.travel(berlin(2026, 3, 13, 18), tick=False):
        lead = run_transition(lead, "qualify_information", by=None)
    assert lead.stage == "iql"
    assert lead.sla_due_at == berlin(2026, 3, 14, 18)


def test_wall_clock_rule_across_a_dst_change_counts_real_hours(agreement):
    lead = LeadFactory(stage="fan")
    with time_machine.travel(berlin(2026, 3, 28, 12), tick=False):
        lead = run_transition(lead, "qualify_information", by=None)
    assert lead.sla_due_at == berlin(2026, 3, 29, 13)


def test_stage_no_rule_covers_has_no_sla(agreement):
    lead = LeadFactory(stage="suspect")
    lead = run_transition(lead, "mark_fan", by=None)
    assert lead.sla_status == Lead.SLAStatus.NONE
    assert lead.sla_due_at is None


def test_without_an_active_agreement_there_is_no_clock():
    lead = hand_raise_at(berlin(2026, 3, 10, 10))
    assert lead.sla_status == Lead.SLAStatus.NONE
    assert lead.sla_due_at is None


def test_a_later_agreement_does_not_move_a_running_clock(agreement, marketer, manager, ops):
    lead = hand_raise_at(berlin(2026, 3, 10, 10))
    newer = services.clone(agreement)
    rule = newer.rules.get(channel__isnull=True, stage="mql")
    rule.within_amount = 1
    rule.save()
    signed_and_active(newer, marketer, manager, by=ops)
    lead.refresh_from_db()
    assert lead.sla_due_at == berlin(2026, 3, 10, 14)
    assert lead.sla_agreement == agreement


def test_the_next_clock_uses_the_new_agreement(agreement, marketer, manager, ops):
    newer = services.clone(agreement)
    rule = newer.rules.get(channel__isnull=True, stage="mql")
    rule.within_amount = 1
    rule.save()
    signed_and_active(newer, marketer, manager, by=ops)
    lead = hand_raise_at(berlin(2026, 3, 10, 10))
    assert lead.sla_due_at == berlin(2026, 3, 10, 11)
    assert lead.sla_agreement == newer


def test_first_touch_in_time_is_met_and_stays_met_in_working(agreement, rep):
    lead = hand_raise_at(berlin(2026, 3, 10, 10), owner=rep)
    with time_machine.travel(berlin(2026, 3, 10, 11), tick=False):
        log_touch(lead, by=rep, kind="call")
    lead.refresh_from_db()
    assert lead.stage == "working"
    assert lead.sla_status == Lead.SLAStatus.MET
    assert lead.sla_due_at == berlin(2026, 3, 10, 14)


def test_leaving_for_nurture_keeps_a_met_outcome(agreement, rep):
    lead = hand_raise_at(berlin(2026, 3, 10, 10), owner=rep)
    with time_machine.travel(berlin(2026, 3, 10, 11), tick=False):
        log_touch(lead, by=rep, kind="call")
        lead = run_transition(
            lead, "nurture", by=None, return_on=dt.date(2026, 6, 1), note="Next budget"
        )
    assert lead.stage == "nurture"
    assert lead.sla_status == Lead.SLAStatus.MET


def test_leaving_for_nurture_after_the_deadline_is_a_breach(agreement):
    lead = hand_raise_at(berlin(2026, 3, 10, 10))
    with time_machine.travel(berlin(2026, 3, 11, 10), tick=False):
        lead = run_transition(lead, "nurture", by=None, return_on=dt.date(2026, 6, 1))
    assert lead.sla_status == Lead.SLAStatus.BREACHED


def test_disqualifying_before_the_deadline_stops_the_clock(agreement):
    lead = hand_raise_at(berlin(2026, 3, 10, 10))
    with time_machine.travel(berlin(2026, 3, 10, 10, 30), tick=False):
        lead = run_transition(lead, "disqualify", by=None, reason="Duplicate")
    assert lead.sla_status == Lead.SLAStatus.NONE
    assert lead.sla_due_at is None


def test_start_working_without_a_touch_keeps_the_clock_running(agreement, rep):
    lead = hand_raise_at(berlin(2026, 3, 10, 10), owner=rep)
    with time_machine.travel(berlin(2026, 3, 10, 10, 30), tick=False):
        lead = run_transition(lead, "start_working", by=rep)
    assert lead.sla_status == Lead.SLAStatus.PENDING
    assert lead.sla_due_at == berlin(2026, 3, 10, 14)


def test_stage_change_records_agreement_and_definition_version(agreement, marketer, manager, ops):
    draft = services.clone(agreement)
    definition = StageDefinition.objects.get(agreement=draft, stage="mql")
    definition.exit_criteria = "Reworded exit criteria."
    definition.save()
    signed_and_active(draft, marketer, manager, by=ops)
    lead = hand_raise_at(berlin(2026, 3, 10, 10))
    change = StageChange.objects.get(lead=lead, to_stage="mql")
    assert change.agreement == draft
    assert change.stage_definition_version == 2
    old_words = definition.words_at_version(1)
    assert old_words.exit_criteria != "Reworded exit criteria."


def test_new_lead_created_in_an_sla_stage_gets_its_clock(agreement, channel):
    lead = LeadFactory.build(stage="mql", channel=channel)
    clock.enter_stage(lead, berlin(2026, 3, 10, 10))
    lead.save()
    lead.refresh_from_db()
    assert lead.sla_status == Lead.SLAStatus.PENDING
    assert lead.sla_due_at == berlin(2026, 3, 10, 11)


def test_response_deadlines_give_warning_and_escalation(agreement):
    rule = agreement.rules.get(channel__isnull=True, stage="mql")
    rules = clock.Rules(agreement, agreement.calendar.spec())
    started = berlin(2026, 3, 10, 10)
    assert rules.warn_at(rule, started) == berlin(2026, 3, 10, 13)
    assert rules.due_at(rule, started) == berlin(2026, 3, 10, 14)
    assert rules.escalate_at(rule, started) == berlin(2026, 3, 11, 10)


def test_business_days_are_working_days_of_the_calendar(agreement):
    rule = agreement.rules.get(channel__isnull=True, stage="mql")
    rule.agreement = AgreementFactory(calendar=agreement.calendar)
    rule.within_unit = "days"
    rule.within_amount = 2
    rules = clock.Rules(agreement, agreement.calendar.spec())
    assert rules.due_at(rule, berlin(2026, 3, 13, 15)) == berlin(2026, 3, 17, 15)
