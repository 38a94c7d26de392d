"""SLA engine fixtures: a wall-clock rule (simple arithmetic) and leads with a running clock."""

from __future__ import annotations

import datetime as dt

import pytest

from agreements.models import ResponseRule
from leads.models import Assignment, Lead
from tests.agreements.factories import AgreementFactory, ResponseRuleFactory
from tests.factories import LeadFactory

# A Tuesday morning, UTC.
T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def make_rule(action: str = ResponseRule.Escalation.NOTIFY_MANAGER, **fields) -> ResponseRule:
    """60 wall-clock minutes to first touch, warn at 75 %, escalate 120 minutes after start."""
    agreement = fields.pop("agreement", None) or AgreementFactory()
    defaults = {
        "within_amount": 60,
        "within_unit": ResponseRule.Unit.MINUTES,
        "business_time": False,
        "warn_at_percent": 75,
        "escalate_after_amount": 120,
        "escalate_after_unit": ResponseRule.Unit.MINUTES,
        "escalate_action": action,
    }
    defaults.update(fields)
    return ResponseRuleFactory(agreement=agreement, **defaults)


@pytest.fixture
def rule(db) -> ResponseRule:
    return make_rule()


def clock_lead(rule: ResponseRule, owner=None, *, started: dt.datetime = T0, **fields) -> Lead:
    """An MQL whose first-touch clock under `rule` started at `started`."""
    lead = LeadFactory(
        stage=fields.pop("stage", "mql"),
        owner=owner,
        stage_entered_at=started,
        assigned_at=started if owner is not None else None,
        sla_status=Lead.SLAStatus.PENDING,
        sla_due_at=started + rule.due_after(None),
        sla_rule=rule,
        sla_agreement=rule.agreement,
        **fields,
    )
    if owner is not None:
        Assignment.objects.create(lead=lead, to_owner=owner, at=started, rule="test")
    return lead
