"""A survivor whose clock waits for a first touch keeps its own touch times: the merged
lead's touches did not answer its clock (copied, they resolved its breach unescalated and
kept its real first touch out of time to first touch)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from customers.merge import merge_leads, plan_merge
from leads import services
from leads.clock import awaits_first_touch
from leads.models import Lead, LeadEvent
from leads.services import run_transition
from notifications.models import Notification
from sla.check import run_check
from sla.models import Breach
from tests.agreements.factories import AgreementFactory, ResponseRuleFactory, signed_and_active
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def agreement(marketer, manager, ops):
    draft = AgreementFactory()
    ResponseRuleFactory(
        agreement=draft, within_amount=4, warn_at_percent=75, escalate_after_amount=8
    )
    return signed_and_active(draft, marketer, manager, by=ops)


def twins(rep) -> tuple[Lead, Lead]:
    """(a, b): one person under two addresses. b raised her hand last week and the rep
    touched it; a raises her hand today (13 March 10:00), its clock due at 14:00."""
    b = LeadFactory(email="grace@gmail.example", stage="fan", owner=rep, first_name="Grace")
    with time_machine.travel(berlin(2026, 3, 9, 10), tick=False):
        b = run_transition(b, "hand_raise", by=None)
    with time_machine.travel(berlin(2026, 3, 9, 11), tick=False):
        services.log_touch(Lead.objects.get(pk=b.pk), by=rep, kind="call")
    a = LeadFactory(email="grace@navy.example", stage="fan", owner=rep, first_name="Grace")
    with time_machine.travel(berlin(2026, 3, 13, 10), tick=False):
        a = run_transition(a, "hand_raise", by=None)
    return a, b


def merged_into(a: Lead, b: Lead, ops) -> Lead:
    """b merged into a (the survivor), now."""
    plan = plan_merge([a.pk, b.pk], ops, survivor=a.pk)
    assert not plan.blockers
    merge_leads(plan, ops)
    return Lead.objects.get(pk=a.pk)


def setup(rep, ops):
    a, b = twins(rep)
    assert Lead.objects.get(pk=a.pk).sla_status == "pending"
    with time_machine.travel(berlin(2026, 3, 13, 10, 30), tick=False):
        return merged_into(a, b, ops), b


def test_survivor_with_running_clock_still_waits_for_its_first_touch(agreement, rep, ops):
    a, _b = setup(rep, ops)
    # Nobody touched a since its clock started: it still waits (its last touch is its own,
    # none); the person's first touch ever, on b on 9 March, is the merged lead's.
    assert a.sla_status == "pending"
    assert awaits_first_touch(a)
    assert a.last_touch_at is None
    assert a.first_touch_at == berlin(2026, 3, 9, 11)


def test_a_closed_survivors_stopped_clock_does_not_wait(agreement, rep, ops, manager):
    # A lead in nurture whose clock ended overdue waits for nothing: the merge takes the
    # touch times of all the leads, as for any survivor without a running clock.
    a, b = twins(rep)
    run_check(berlin(2026, 3, 13, 15))
    with time_machine.travel(berlin(2026, 3, 13, 16), tick=False):
        a = run_transition(
            Lead.objects.get(pk=a.pk), "nurture", by=rep, return_on=dt.date(2026, 6, 1)
        )
        merged_into(a, b, ops)
    a = Lead.objects.get(pk=a.pk)
    assert a.stage == "nurture"
    assert a.last_touch_at == berlin(2026, 3, 9, 11)


def test_breach_of_the_survivors_clock_still_escalates(agreement, rep, ops, manager):
    a, _b = setup(rep, ops)
    run_check(berlin(2026, 3, 13, 14))
    assert Lead.objects.get(pk=a.pk).sla_status == "breached"
    breach = Breach.objects.get(lead=a, due_at=berlin(2026, 3, 13, 14))
    run_check(berlin(2026, 3, 16, 10))  # 8 business hours after the start
    breach.refresh_from_db()
    assert breach.resolved_at is None, f"resolved at {breach.resolved_at} though nobody touched it"
    assert breach.escalation != Breach.Escalation.SKIPPED
    assert Notification.objects.filter(user=manager, kind=Notification.Kind.SLA_ESCALATION).exists()


def test_first_touch_on_the_survivors_clock_is_in_the_ledger(agreement, rep, ops):
    b = LeadFactory(email="grace@gmail.example", stage="working", owner=rep, first_name="Grace")
    a = LeadFactory(email="grace@navy.example", stage="fan", owner=rep, first_name="Grace")
    with time_machine.travel(berlin(2026, 3, 13, 10), tick=False):
        a = run_transition(a, "hand_raise", by=None)
    with time_machine.travel(berlin(2026, 3, 13, 10, 15), tick=False):
        services.log_touch(Lead.objects.get(pk=b.pk), by=rep, kind="call")  # the other address
    with time_machine.travel(berlin(2026, 3, 13, 10, 30), tick=False):
        merge_leads(plan_merge([a.pk, b.pk], ops, survivor=a.pk), ops)
    with time_machine.travel(berlin(2026, 3, 13, 11), tick=False):
        services.log_touch(Lead.objects.get(pk=a.pk), by=rep, kind="call")
    a = Lead.objects.get(pk=a.pk)
    assert a.sla_status == "met"
    started = berlin(2026, 3, 13, 10)
    firsts = LeadEvent.objects.filter(lead=a, kind=LeadEvent.Kind.FIRST_TOUCH, started_at=started)
    assert firsts.exists(), "the clock met at 11:00 has no first-touch row: no time to first touch"


def test_the_survivors_tenures_take_its_stage_and_an_undo_gives_them_back(agreement, rep, ops):
    """The merged lead's tenure moves to the survivor still held: it counts by the
    survivor's stage now (the sales report's "by their stage now"), as the survivor's own
    tenure; an undo puts back the stage it had."""
    from customers.merge import undo_merge
    from customers.models import Merge

    a, b = twins(rep)
    for lead in (a, b):  # through the desk and back: each gets a tenure on the ledger
        services.reassign([Lead.objects.get(pk=lead.pk)], None, by=None)
        services.reassign([Lead.objects.get(pk=lead.pk)], rep, by=None)
    b = Lead.objects.get(pk=b.pk)
    assert (Lead.objects.get(pk=a.pk).stage, b.stage) == ("mql", "working")

    def held(lead_id: int) -> list[str]:
        tenures = LeadEvent.objects.filter(lead_id=lead_id, kind="assigned", held_until=None)
        return sorted(tenures.values_list("held_stage", flat=True))

    survivor = merged_into(Lead.objects.get(pk=a.pk), b, ops)
    assert held(survivor.pk) == [survivor.stage] * 2

    undo_merge(Merge.objects.get(survivor=survivor), ops)
    assert (held(a.pk), held(b.pk)) == (["mql"], ["working"])


def test_the_moved_ledger_rows_take_the_survivors_facts_and_an_undo_their_own(agreement, rep, ops):
    """The reports read a lead's campaign from its ledger rows: the rows a merge moves
    count under the survivor's campaign; an undo gives them back the merged lead's."""
    from customers.merge import undo_merge
    from customers.models import Merge
    from tests.factories import CampaignFactory

    a, b = twins(rep)
    spring, summer = CampaignFactory(name="Spring"), CampaignFactory(name="Summer")
    for lead, campaign in ((a, spring), (b, summer)):
        lead = Lead.objects.get(pk=lead.pk)
        lead.campaign = campaign
        lead.save()
    b_rows = set(LeadEvent.objects.filter(lead=b).values_list("pk", flat=True))

    survivor = merged_into(Lead.objects.get(pk=a.pk), Lead.objects.get(pk=b.pk), ops)
    moved = LeadEvent.objects.filter(pk__in=b_rows)
    assert {e.lead_id for e in moved} == {survivor.pk}
    assert set(moved.values_list("lead_campaign", flat=True)) == {survivor.campaign_id}

    undo_merge(Merge.objects.get(survivor=survivor), ops)
    assert set(moved.values_list("lead_campaign", flat=True)) == {summer.pk}


def test_the_merged_leads_tenure_on_the_survivor_flags_nobody(agreement, rep, other_rep, ops):
    """A merge moves the merged lead's tenure to the survivor still held by its rep, who
    no longer holds the lead: the untouched flags are for the lead's owner only."""
    import datetime as dt

    from sla.untouched import flag_untouched_leads

    _, b = twins(rep)  # b: touched by its rep
    services.reassign([Lead.objects.get(pk=b.pk)], None, by=None)
    services.reassign([Lead.objects.get(pk=b.pk)], other_rep, by=None)
    c = LeadFactory(email="grace@home.example", stage="working", first_name="Grace")
    services.reassign([c], rep, by=None)
    # b is kept with its owner (its lead was touched last); c's tenure (rep's) moves to it.
    survivor = merged_into(Lead.objects.get(pk=b.pk), Lead.objects.get(pk=c.pk), ops)
    assert survivor.owner == other_rep
    held = LeadEvent.objects.filter(lead=survivor, kind="assigned", held_until=None)
    assert {e.owner_id for e in held} == {rep.pk, other_rep.pk}  # one is not the owner's

    flag_untouched_leads(dt.datetime.now(dt.UTC) + dt.timedelta(days=400))

    flagged = set(survivor.untouched_flags.values_list("owner", flat=True))
    assert flagged == {other_rep.pk}
