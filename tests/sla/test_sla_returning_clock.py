"""A lead touched on its first clock, nurtured, back to MQL: its second clock waits for a
touch of its own — breached, escalated and settled as a first clock is (the breach code
read the lead's first touch ever, on the earlier clock)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from agreements.models import ResponseRule
from leads.models import Lead
from leads.services import log_touch, run_transition
from notifications.models import Notification
from sla.check import run_check
from sla.models import Breach
from tests.agreements.factories import AgreementFactory, signed_and_active
from tests.factories import LeadFactory
from tests.sla.conftest import T0, make_rule, minutes

pytestmark = pytest.mark.django_db


@pytest.fixture
def active_rule(marketer, manager, ops):
    draft = AgreementFactory()
    rule = make_rule(ResponseRule.Escalation.NOTIFY_MANAGER, agreement=draft)
    signed_and_active(draft, marketer, manager, by=ops)
    rule.refresh_from_db()
    return rule


def returned_lead(rep) -> Lead:
    lead = LeadFactory(stage="fan", owner=rep)
    with time_machine.travel(T0, tick=False):
        lead = run_transition(lead, "hand_raise", by=None, at=T0)
        log_touch(lead, by=rep, kind="call", at=T0 + minutes(10))
        lead.refresh_from_db()
        lead = run_transition(
            lead, "nurture", by=rep, at=T0 + minutes(20), return_on=dt.date(2026, 6, 1)
        )
        lead = run_transition(lead, "hand_raise", by=None, at=T0 + minutes(100))
    lead.refresh_from_db()
    assert lead.sla_status == Lead.SLAStatus.PENDING
    assert lead.sla_due_at == T0 + minutes(160)
    return lead


def test_second_clock_of_a_returning_mql_escalates(active_rule, rep, manager):
    lead = returned_lead(rep)

    run_check(T0 + minutes(161))
    breach = Breach.objects.get(lead=lead)
    assert breach.escalate_at == T0 + minutes(220)
    run_check(T0 + minutes(221))

    breach.refresh_from_db()
    # Never touched on this clock (only on the first, at T0+10): the manager is told.
    assert breach.resolved_at is None, f"resolved at {breach.resolved_at} (the old clock's touch)"
    assert breach.escalation == Breach.Escalation.NOTIFY_MANAGER
    assert Notification.objects.filter(user=manager, kind="sla_escalation").exists()


def test_late_touch_on_second_clock_resolves_its_breach(active_rule, rep):
    lead = returned_lead(rep)
    run_check(T0 + minutes(161))
    lead.refresh_from_db()

    log_touch(lead, by=rep, kind="call", at=T0 + minutes(170))

    assert Breach.objects.get(lead=lead).resolved_at == T0 + minutes(170)


def test_late_touch_before_check_on_second_clock_records_the_breach(active_rule, rep):
    lead = returned_lead(rep)

    log_touch(lead, by=rep, kind="call", at=T0 + minutes(170))

    lead.refresh_from_db()
    assert lead.sla_status == Lead.SLAStatus.BREACHED
    assert Breach.objects.filter(lead=lead, due_at=T0 + minutes(160)).exists()
