"""A rule the SLA check cannot count with is set aside: every other lead's clock settles,
the problem is recorded once and Ops are told."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from leads.clock import RuleBook
from leads.models import Lead
from leads.services import run_transition
from notifications.models import Notification
from sla.check import run_check
from sla.models import Breach, SLAWarning
from tests.agreements.factories import AgreementFactory, ResponseRuleFactory, signed_and_active
from tests.factories import ChannelFactory, LeadFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def broken_channel():
    return ChannelFactory(slug="trade-show", name="Trade show")


@pytest.fixture
def agreement(marketer, manager, ops, broken_channel):
    """Any channel: 4 business hours, escalated after 8. Trade show: escalated after 5,000
    business days, which no ten-year calendar search reaches."""
    draft = AgreementFactory()
    ResponseRuleFactory(agreement=draft, within_amount=4, escalate_after_amount=8)
    ResponseRuleFactory(
        agreement=draft,
        channel=broken_channel,
        within_amount=1,
        escalate_after_amount=5000,
        escalate_after_unit="days",
    )
    return signed_and_active(draft, marketer, manager, by=ops)


def hand_raise(moment: dt.datetime, owner, channel=None, email=None) -> Lead:
    lead = LeadFactory(stage="fan", owner=owner, channel=channel, email=email or None)
    with time_machine.travel(moment, tick=False):
        return run_transition(lead, "hand_raise", by=None)


def test_a_broken_rule_on_one_channel_leaves_the_others_clocks_settling(
    agreement, rep, ops, broken_channel
):
    broken = hand_raise(berlin(2026, 3, 10, 10), rep, broken_channel, "show@example.com")
    overdue = hand_raise(berlin(2026, 3, 10, 10), rep, email="web@example.com")
    soon = hand_raise(berlin(2026, 3, 10, 13), rep, email="later@example.com")

    result = run_check(now=berlin(2026, 3, 10, 16, 30))

    assert result.breached == 2
    assert Lead.objects.get(pk=overdue.pk).sla_status == Lead.SLAStatus.BREACHED
    assert Breach.objects.get(lead=overdue).escalate_at == berlin(2026, 3, 11, 10)
    assert Lead.objects.get(pk=broken.pk).sla_status == Lead.SLAStatus.BREACHED
    assert Breach.objects.get(lead=broken).escalate_at is None
    assert SLAWarning.objects.filter(lead=soon).exists()
    told = Notification.objects.filter(user=ops, kind="agreement")
    assert told.count() == 1
    assert "Trade show" in told.get().body

    run_check(now=berlin(2026, 3, 10, 16, 45))
    assert Notification.objects.filter(user=ops, kind="agreement").count() == 1


def test_the_rule_book_sets_a_broken_rule_aside_with_its_problem(agreement, broken_channel):
    book = RuleBook.load(berlin(2026, 3, 10, 10))
    broken = agreement.rules.get(channel=broken_channel)
    assert book.get(broken.pk).problem
    assert len(book.problems) == 1
    fine = agreement.rules.get(channel__isnull=True)
    assert not book.get(fine.pk).problem
