"""The ledger: each service appends what it did to a lead, in its own transaction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from agreements.models import Channel
from leads import ledger, services
from leads.clock import breach_due_clocks
from leads.importing.cleaning import CleanRow
from leads.importing.writer import Entry, TouchPoint, take_in_leads
from leads.models import Lead, LeadEvent
from tests.agreements.factories import AgreementFactory, ResponseRuleFactory, signed_and_active
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db

Kind = LeadEvent.Kind
# A Tuesday, 10:00 UTC; the rule below counts wall-clock hours.
T0 = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)


def hours(n: float) -> dt.timedelta:
    return dt.timedelta(hours=n)


@pytest.fixture
def agreement(marketer, manager, ops):
    draft = AgreementFactory()
    ResponseRuleFactory(agreement=draft, within_amount=4, within_unit="hours", business_time=False)
    return signed_and_active(draft, marketer, manager, by=ops)


def kinds(lead: Lead) -> list[str]:
    return list(
        LeadEvent.objects.filter(lead=lead).order_by("at", "id").values_list("kind", flat=True)
    )


def hand_raised(marketer, **fields) -> Lead:
    lead = LeadFactory(stage="fan", **fields)
    return services.run_transition(lead, "hand_raise", by=marketer, at=T0)


def test_hand_raise_enters_mql_and_starts_a_clock(agreement, marketer, rep):
    lead = hand_raised(marketer, owner=rep)
    entered, started = LeadEvent.objects.filter(lead=lead).order_by("id")
    assert (entered.kind, entered.stage, entered.from_stage, entered.owner, entered.actor) == (
        Kind.STAGE_ENTERED,
        "mql",
        "fan",
        rep,
        marketer,
    )
    assert (started.kind, started.started_at, started.due_at) == (
        Kind.CLOCK_STARTED,
        T0,
        T0 + hours(4),
    )


def test_touch_in_time_meets_the_clock_and_records_the_three_waits(agreement, marketer, rep):
    lead = hand_raised(marketer, owner=rep)
    services.log_touch(lead, by=rep, kind="call", at=T0 + hours(1))

    assert kinds(lead) == [
        Kind.STAGE_ENTERED,
        Kind.CLOCK_STARTED,
        Kind.SALES_TOUCH,
        Kind.CLOCK_MET,
        Kind.FIRST_TOUCH,
        Kind.STAGE_ENTERED,
    ]
    met = LeadEvent.objects.get(lead=lead, kind=Kind.CLOCK_MET)
    assert (met.at, met.due_at, met.owner) == (T0 + hours(1), T0 + hours(4), rep)
    first = LeadEvent.objects.get(lead=lead, kind=Kind.FIRST_TOUCH)
    # Already assigned when the clock started: no routing delay; one working hour waited.
    assert (first.customer_wait, first.routing_delay, first.rep_response) == (3600, 0, 3600)


def test_routing_delay_counts_from_the_clock_to_the_assignment_of_the_rep_who_touched(
    agreement, marketer, manager, rep
):
    lead = hand_raised(marketer)  # on the lead desk
    services.assign(lead, rep, by=manager, at=T0 + hours(1))
    lead.refresh_from_db()
    services.log_touch(lead, by=rep, kind="call", at=T0 + hours(3))

    first = LeadEvent.objects.get(lead=lead, kind=Kind.FIRST_TOUCH)
    # Customer waited 3 h: 1 h on the desk, then 2 h with the rep.
    assert (first.customer_wait, first.routing_delay, first.rep_response) == (10800, 3600, 7200)
    assigned = LeadEvent.objects.get(lead=lead, kind=Kind.ASSIGNED)
    assert (assigned.at, assigned.owner, assigned.actor) == (T0 + hours(1), rep, manager)


def test_a_late_touch_before_the_check_records_one_breach_for_the_owner_at_the_due_time(
    agreement, marketer, manager, rep, other_rep
):
    lead = hand_raised(marketer, owner=rep)
    services.reassign([lead], None, by=None, at=T0 + hours(5))  # after the due time
    lead.refresh_from_db()
    services.assign(lead, rep, by=manager, at=T0 + hours(6))
    lead.refresh_from_db()
    services.log_touch(lead, by=rep, kind="call", at=T0 + hours(7))

    breach = LeadEvent.objects.get(lead=lead, kind=Kind.CLOCK_BREACHED)
    assert (breach.at, breach.owner) == (T0 + hours(4), rep)
    assert LeadEvent.objects.filter(lead=lead, kind=Kind.FIRST_TOUCH).count() == 1


def test_the_checks_breach_is_recorded_once_and_a_later_touch_only_answers_it(
    agreement, marketer, rep
):
    lead = hand_raised(marketer, owner=rep)
    breach_due_clocks(T0 + hours(5), limit=100)
    breach_due_clocks(T0 + hours(6), limit=100)
    lead.refresh_from_db()
    services.log_touch(lead, by=rep, kind="call", at=T0 + hours(7))

    assert LeadEvent.objects.filter(lead=lead, kind=Kind.CLOCK_BREACHED).count() == 1
    assert not LeadEvent.objects.filter(lead=lead, kind=Kind.CLOCK_MET).exists()
    first = LeadEvent.objects.get(lead=lead, kind=Kind.FIRST_TOUCH)
    # Business time (Berlin, 09–17): 11:00 to 17:00 local, the touch at 18:00 is after hours.
    assert first.customer_wait == 6 * 3600


def test_leaving_for_nurture_before_the_due_time_stops_the_clock(agreement, marketer, rep):
    lead = hand_raised(marketer, owner=rep)
    with time_machine.travel(T0 + hours(1), tick=False):
        services.run_transition(lead, "nurture", by=rep, return_on="2026-06-01")
    stopped = LeadEvent.objects.get(lead=lead, kind=Kind.CLOCK_STOPPED)
    assert (stopped.at, stopped.due_at) == (T0 + hours(1), T0 + hours(4))


def test_deals_open_and_win_with_their_amount(rep):
    lead = LeadFactory(stage="sql", owner=rep)
    services.run_transition(lead, "open_opportunity", by=rep, amount="12,000.50", at=T0)
    services.run_transition(lead, "win", by=rep, at=T0 + hours(1))
    opened = LeadEvent.objects.get(lead=lead, kind=Kind.DEAL_OPENED)
    won = LeadEvent.objects.get(lead=lead, kind=Kind.DEAL_WON)
    assert (opened.amount, opened.deal_id) == (Decimal("12000.50"), won.deal_id)
    assert (won.at, won.amount) == (T0 + hours(1), Decimal("12000.50"))


def entry_facts(lead: Lead) -> list[tuple[str, str]]:
    entries = LeadEvent.objects.filter(lead=lead, **ledger.MQL_ENTRY).order_by("at")
    return list(entries.values_list("lead_title", "lead_stage"))


def test_an_mql_entry_carries_its_leads_title_and_stage_now(marketer, rep):
    # The 1:1 report counts the leads handed over by title and by where they are now
    # from their MQL entries: each entry follows the lead's stage and title.
    lead = hand_raised(marketer, owner=rep, title="CTO")
    assert entry_facts(lead) == [("CTO", "mql")]
    services.log_touch(lead, by=rep, kind="call", at=T0 + hours(1))  # → Working
    assert entry_facts(lead) == [("CTO", "working")]
    lead = Lead.objects.get(pk=lead.pk)
    lead.title = "CFO"
    lead.save()
    assert entry_facts(lead) == [("CFO", "working")]
    lead = Lead.objects.get(pk=lead.pk)
    lead.title = "COO"
    lead.save(update_fields=["title"])
    assert entry_facts(lead) == [("COO", "working")]


def influenced(lead: Lead) -> dict[str, bool]:
    rows = LeadEvent.objects.filter(lead=lead, kind__in=ledger.DEAL_KINDS)
    return dict(rows.values_list("kind", "influenced"))


def test_a_deals_rows_say_whether_a_touch_point_came_before_it_opened(rep):
    # Opened at +2 h, won at +3 h. A touch point at +4 h (after the opening), or one
    # without a campaign, is no influence; one at +1 h written after the deal is.
    lead = LeadFactory(stage="sql", owner=rep)
    services.run_transition(lead, "open_opportunity", by=rep, amount="1,000", at=T0 + hours(2))
    services.run_transition(lead, "win", by=rep, at=T0 + hours(3))
    assert influenced(lead) == {Kind.DEAL_OPENED: False, Kind.DEAL_WON: False}
    campaign = CampaignFactory()
    ledger.append([ledger.event(lead, Kind.TOUCH_POINT, T0 + hours(4), campaign=campaign)])
    ledger.append([ledger.event(lead, Kind.TOUCH_POINT, T0 + hours(1))])
    assert influenced(lead) == {Kind.DEAL_OPENED: False, Kind.DEAL_WON: False}
    ledger.append([ledger.event(lead, Kind.TOUCH_POINT, T0 + hours(1), campaign=campaign)])
    assert influenced(lead) == {Kind.DEAL_OPENED: True, Kind.DEAL_WON: True}


def test_a_deal_opened_after_a_touch_point_is_influenced_from_its_first_row(rep):
    lead = LeadFactory(stage="sql", owner=rep)
    ledger.append([ledger.event(lead, Kind.TOUCH_POINT, T0, campaign=CampaignFactory())])
    services.run_transition(lead, "open_opportunity", by=rep, amount="1,000", at=T0 + hours(1))
    assert influenced(lead) == {Kind.DEAL_OPENED: True}


def test_disqualifying_with_feedback_records_the_reason_and_the_feedback(marketer, rep):
    lead = LeadFactory(stage="working", owner=rep, channel=Channel.objects.get(slug="demo-request"))
    services.disqualify_with_feedback(
        lead, by=rep, reason="No budget", fit="poor", feedback_reason="no_budget", at=T0
    )
    entered = LeadEvent.objects.get(lead=lead, kind=Kind.STAGE_ENTERED)
    feedback = LeadEvent.objects.get(lead=lead, kind=Kind.FEEDBACK)
    assert (entered.stage, entered.reason) == ("disqualified", "No budget")
    assert (feedback.at, feedback.reason, feedback.actor) == (T0, "no_budget", rep)
    # The reports count reasons from the disqualification's own row (settled from the
    # feedback, whichever of the two was written first).
    assert entered.feedback_reason == "no_budget"


def test_a_feedback_after_the_next_stage_is_not_the_disqualifications(rep):
    lead = LeadFactory(stage="working", owner=rep)
    entered = ledger.event(lead, Kind.STAGE_ENTERED, T0, stage="disqualified")
    back = ledger.event(lead, Kind.STAGE_ENTERED, T0 + hours(2), stage="nurture")
    late = ledger.event(lead, Kind.FEEDBACK, T0 + hours(3), reason="timing")
    ledger.append([late])  # written first: the disqualification finds it when it comes
    ledger.append([entered])
    assert LeadEvent.objects.get(pk=entered.pk).feedback_reason == "timing"
    ledger.append([back])  # a stage between them: that feedback is not the one given with it
    assert LeadEvent.objects.get(pk=entered.pk).feedback_reason == ""


def test_a_take_in_records_entry_clock_assignment_and_campaign_touch_point(agreement):
    channel = Channel.objects.get(slug="demo-request")
    campaign = CampaignFactory(channel=channel)
    touch = TouchPoint(side="marketing", kind="form", subject="Demo form", body="", once_key="")
    entry = Entry.prepare(channel=channel, campaign=campaign, touch=touch, at=T0, stage="mql")
    taken = take_in_leads(entry, [CleanRow(2, "new@example.com", {"email": "new@example.com"})])

    lead = Lead.objects.get(pk=taken.created_ids[0])
    events = {e.kind: e for e in LeadEvent.objects.filter(lead=lead)}
    assert set(events) == {
        Kind.STAGE_ENTERED,
        Kind.CLOCK_STARTED,
        Kind.ASSIGNED,
        Kind.TOUCH_POINT,
    }
    assert events[Kind.STAGE_ENTERED].stage == "mql"
    assert events[Kind.CLOCK_STARTED].due_at == T0 + hours(4)
    assert events[Kind.ASSIGNED].owner is None  # no routing rule: the lead desk
    assert events[Kind.ASSIGNED].held_stage == "mql"  # the lead's stage, written in bulk
    assert events[Kind.TOUCH_POINT].campaign == campaign


def test_a_tenure_row_says_how_long_it_was_held_and_untouched(marketer, manager, rep, other_rep):
    # rep gets the lead at T0; the manager's touch at +1 h is not the holder's; rep's own
    # touch at +2 h ends "untouched"; the reassignment at +3 h ends rep's tenure; the close
    # at +5 h ends other_rep's untouched stretch, and other_rep still holds the lead.
    lead = LeadFactory(stage="working")
    services.reassign([lead], rep, by=None, at=T0)
    services.log_touch(lead, by=manager, kind="call", at=T0 + hours(1))
    services.log_touch(lead, by=rep, kind="call", at=T0 + hours(2))
    services.reassign([lead], other_rep, by=None, at=T0 + hours(3))
    lead.refresh_from_db()
    services.run_transition(lead, "disqualify", by=other_rep, at=T0 + hours(5), reason="no_budget")

    tenures = LeadEvent.objects.filter(lead=lead, kind=Kind.ASSIGNED).order_by("at")
    assert [(t.owner, t.held_until, t.untouched_for) for t in tenures] == [
        (rep, T0 + hours(3), hours(2)),
        (other_rep, None, hours(2)),
    ]
    # The lead's stage rides on the tenure still held (Disqualified now); the ended one
    # keeps the stage it had when it ended (Working: the rep's touch moved the lead).
    assert [t.held_stage for t in tenures] == ["working", "disqualified"]


def test_the_tenure_still_held_follows_the_leads_stage(agreement, marketer, rep, other_rep):
    lead = LeadFactory(stage="fan")
    services.reassign([lead], rep, by=None, at=T0)

    def held() -> list[str]:
        tenures = LeadEvent.objects.filter(lead=lead, kind=Kind.ASSIGNED, held_until=None)
        return list(tenures.values_list("held_stage", flat=True))

    assert held() == ["fan"]
    lead = services.run_transition(
        Lead.objects.get(pk=lead.pk), "hand_raise", by=marketer, at=T0 + hours(1)
    )
    assert held() == ["mql"]
    services.log_touch(lead, by=rep, kind="call", at=T0 + hours(2))  # MQL → Working
    assert held() == ["working"] == [Lead.objects.get(pk=lead.pk).stage]
    services.reassign([Lead.objects.get(pk=lead.pk)], None, by=None, at=T0 + hours(3))
    services.reassign([Lead.objects.get(pk=lead.pk)], other_rep, by=None, at=T0 + hours(4))
    assert held() == ["working"]
    lead.refresh_from_db()
    services.run_transition(lead, "disqualify", by=other_rep, at=T0 + hours(5), reason="no_budget")
    assert held() == ["disqualified"]


def test_a_reassignment_ends_an_untouched_tenure(manager, rep, other_rep):
    lead = LeadFactory(stage="working")
    services.reassign([lead], rep, by=None, at=T0)
    services.reassign([lead], other_rep, by=None, at=T0 + hours(4))

    first = LeadEvent.objects.filter(lead=lead, kind=Kind.ASSIGNED).earliest("at")
    assert (first.held_until, first.untouched_for) == (T0 + hours(4), hours(4))


@pytest.mark.django_db(transaction=True)
def test_the_migration_tells_existing_tenures_their_story(manager, rep, other_rep):
    # The same story as above, written straight to the ledger as an older installation
    # has it (no tenure columns settled), then migrated.
    lead = LeadFactory(stage="disqualified")
    LeadEvent.objects.bulk_create(
        [
            LeadEvent(lead=lead, kind=Kind.ASSIGNED, at=T0, owner=rep),
            LeadEvent(lead=lead, kind=Kind.SALES_TOUCH, at=T0 + hours(1), actor=manager),
            LeadEvent(lead=lead, kind=Kind.SALES_TOUCH, at=T0 + hours(2), actor=rep),
            LeadEvent(lead=lead, kind=Kind.ASSIGNED, at=T0 + hours(3), owner=other_rep),
            LeadEvent(lead=lead, kind=Kind.STAGE_ENTERED, at=T0 + hours(5), stage="disqualified"),
        ]
    )
    executor = MigrationExecutor(connection)
    executor.migrate([("leads", "0019_importbatch_file_is_in_the_database")])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # 0020 and whatever follows it

    tenures = LeadEvent.objects.filter(lead=lead, kind=Kind.ASSIGNED).order_by("at")
    assert [(t.owner, t.held_until, t.untouched_for) for t in tenures] == [
        (rep, T0 + hours(3), hours(2)),
        (other_rep, None, hours(2)),
    ]
    # 0033: the tenure still held takes the lead's stage; the ended one is left empty.
    assert [t.held_stage for t in tenures] == ["", "disqualified"]


# --- What became of an MQL entry (leads.ledger.OUTCOMES) ---------------------------------


def outcomes(lead: Lead) -> list[dict[str, dt.datetime | None]]:
    """The outcome columns of the lead's MQL entries, in time order."""
    entries = LeadEvent.objects.filter(lead=lead, **ledger.MQL_ENTRY).order_by("at")
    return list(entries.values(*ledger.OUTCOMES))


def test_an_mql_entry_keeps_the_first_touch_acceptance_and_win_since(agreement, marketer, rep):
    # MQL at T0; a touch at +1 h (the lead goes to Working) and another at +2 h (the first
    # counts); SQL at +3 h, an opportunity at +4 h won at +6 h. Never disqualified or junked.
    lead = hand_raised(marketer, owner=rep)
    services.log_touch(lead, by=rep, kind="call", at=T0 + hours(1))
    services.log_touch(lead, by=rep, kind="email", at=T0 + hours(2))
    services.run_transition(lead, "accept", by=rep, at=T0 + hours(3))
    services.run_transition(lead, "open_opportunity", by=rep, amount="900", at=T0 + hours(4))
    services.run_transition(lead, "win", by=rep, at=T0 + hours(6))

    assert outcomes(lead) == [
        {
            "touched_at": T0 + hours(1),
            "accepted_at": T0 + hours(3),
            "disqualified_at": None,
            "junked_at": None,
            "won_at": T0 + hours(6),
        }
    ]


def test_a_junk_disqualification_is_both_outcomes_and_settles_every_entry_before_it(
    marketer, manager, rep
):
    # Two MQL entries (T0, and +2 h after a reopen); disqualified as junk at +3 h: both
    # entries were disqualified and junked then. The first entry's disqualification at
    # +1 h (not junk) is its own first disqualification; the second entry came after it.
    lead = hand_raised(marketer, owner=rep)
    services.run_transition(lead, "disqualify", by=rep, at=T0 + hours(1), reason="no_budget")
    services.run_transition(lead, "reopen", by=manager, at=T0 + hours(1.5))
    services.run_transition(lead, "mark_fan", by=marketer, at=T0 + hours(1.75))
    services.run_transition(lead, "hand_raise", by=marketer, at=T0 + hours(2))
    services.mark_junk(lead, by=rep, at=T0 + hours(3))

    first, second = outcomes(lead)
    assert (first["disqualified_at"], first["junked_at"]) == (T0 + hours(1), T0 + hours(3))
    assert (second["disqualified_at"], second["junked_at"]) == (T0 + hours(3), T0 + hours(3))


def test_the_first_outcome_counts_whatever_order_events_are_written_in(marketer, rep):
    # A touch at +3 h is logged first, then one at +1 h, then one before the entry (-1 h):
    # the entry's first touch since is +1 h.
    lead = hand_raised(marketer, owner=rep)
    for at in (T0 + hours(3), T0 + hours(1), T0 - hours(1)):
        services.log_touch(lead, by=rep, kind="call", at=at)
    assert outcomes(lead)[0]["touched_at"] == T0 + hours(1)


def test_an_mql_entry_written_after_its_outcomes_works_them_out(rep):
    lead = LeadFactory(stage="working", owner=rep)
    ledger.append([ledger.event(lead, Kind.SALES_TOUCH, T0 + hours(2), actor=rep)])
    ledger.append([ledger.event(lead, Kind.STAGE_ENTERED, T0, stage="mql")])
    assert outcomes(lead)[0]["touched_at"] == T0 + hours(2)


def test_bulk_rows_refuse_an_outcome_of_an_earlier_entry(rep):
    lead = LeadFactory(stage="working", owner=rep)
    with pytest.raises(ValueError, match="sales_touch row may settle MQL entries"):
        ledger.append_rows([ledger.row(lead.pk, Kind.SALES_TOUCH, T0)])
    moved = ledger.row(lead.pk, Kind.STAGE_ENTERED, T0, stage="sql")
    with pytest.raises(ValueError, match="stage_entered row"):
        ledger.append_rows([(*moved[:4], "working", *moved[5:])])
    assert not LeadEvent.objects.filter(lead=lead).exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_works_out_existing_mql_entries_outcomes(rep):
    # An older installation's ledger: an MQL entry, a touch, an SQL entry, written with no
    # outcome columns, then migrated.
    lead = LeadFactory(stage="sql", owner=rep)
    LeadEvent.objects.bulk_create(
        [
            LeadEvent(lead=lead, kind=Kind.STAGE_ENTERED, at=T0, stage="mql"),
            LeadEvent(lead=lead, kind=Kind.SALES_TOUCH, at=T0 + hours(1), actor=rep),
            LeadEvent(lead=lead, kind=Kind.STAGE_ENTERED, at=T0 + hours(2), stage="sql"),
        ]
    )
    executor = MigrationExecutor(connection)
    executor.migrate([("leads", "0026_ledger_partial_deal_campaign_indexes")])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert outcomes(lead) == [
        {
            "touched_at": T0 + hours(1),
            "accepted_at": T0 + hours(2),
            "disqualified_at": None,
            "junked_at": None,
            "won_at": None,
        }
    ]
