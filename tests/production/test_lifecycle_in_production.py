"""The lifecycle under production settings: nothing may work only because DEBUG is on."""

from __future__ import annotations

import datetime as dt
import gc

import pytest
from django.conf import settings

from leads.models import Lead, StageChange
from leads.services import log_touch, run_transition
from sla.models import Breach
from tests.agreements.factories import AgreementFactory, ResponseRuleFactory, signed_and_active
from tests.factories import ChannelFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_settings_were_imported_with_production_values():
    assert settings.PRODUCTION is True
    assert settings.DEBUG is False


def test_transition_records_its_stage_change_and_starts_the_clock(marketer, manager, ops):
    draft = AgreementFactory()
    ResponseRuleFactory(agreement=draft, within_amount=4, within_unit="hours")
    signed_and_active(draft, marketer, manager, by=ops)
    lead = LeadFactory(stage="suspect", channel=ChannelFactory(slug="prod-demo"))
    # A receiver held only weakly would be gone after a collection.
    gc.collect()

    lead = run_transition(lead, "hand_raise", by=marketer)

    change = StageChange.objects.get(lead=lead)
    assert (change.from_stage, change.to_stage, change.by) == ("suspect", "mql", marketer)
    lead.refresh_from_db()
    assert lead.sla_status == Lead.SLAStatus.PENDING
    assert lead.sla_due_at is not None


def test_every_transition_of_a_lead_is_recorded(marketer, manager, ops, rep):
    lead = LeadFactory(stage="suspect", owner=rep)
    gc.collect()
    for name in ("mark_fan", "qualify_information", "hand_raise"):
        lead = run_transition(lead, name, by=marketer)
    lead = run_transition(lead, "start_working", by=rep)
    lead = run_transition(lead, "accept", by=rep)
    changes = StageChange.objects.filter(lead=lead).order_by("at", "id")
    stages = list(changes.values_list("to_stage", flat=True))
    assert stages == ["fan", "iql", "mql", "working", "sql"]


def test_a_touch_after_the_due_time_records_the_breach(marketer, manager, ops, rep):
    draft = AgreementFactory()
    ResponseRuleFactory(agreement=draft, within_amount=4, within_unit="hours")
    signed_and_active(draft, marketer, manager, by=ops)
    lead = run_transition(LeadFactory(stage="fan", owner=rep), "hand_raise", by=marketer)
    gc.collect()

    late = lead.sla_due_at + dt.timedelta(minutes=5)
    log_touch(lead, by=rep, kind="call", at=late)

    lead.refresh_from_db()
    assert lead.sla_status == Lead.SLAStatus.BREACHED
    breach = Breach.objects.get(lead=lead)
    assert (breach.due_at, breach.resolved_at, breach.owner_at_due) == (
        lead.sla_due_at,
        late,
        rep,
    )
