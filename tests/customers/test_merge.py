"""Merge with undo (customers.merge): survivorship, moved rows, aliases, exact undo, figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction

from customers.merge import (
    ROW_RULES,
    MergeError,
    StalePlan,
    UndoRefused,
    lead_relations,
    merge_leads,
    plan_merge,
    row_dump,
    rule_key,
    undo_merge,
)
from customers.models import MovedRow
from leads import ledger, services
from leads.importing.cleaning import Cleaned, CleanRow
from leads.importing.writer import Entry, TouchPoint, plan_import, take_in_leads
from leads.models import Activity, Lead, LeadAlias, LeadEvent, restamp_search_text
from notifications.models import Notification
from reports import delivery
from reports.figures import marketing as m
from reports.pipeline import pipeline_contribution
from reports.sales import sales_activity
from reports.scoreboard import sla_scoreboard
from sla.models import Breach, SLAWarning, UntouchedFlag
from tests.reports.marketing_world import MARCH, NOW, build, fresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(rep, other_rep, marketer, ops):
    with time_machine.travel(NOW, tick=False):
        return build(rep, other_rep, marketer, ops)


def full_dump(lead_ids: list[int]) -> dict:
    """Every row of these leads and every row pointing at them, as stored."""
    dump = {"leads": {pk: row_dump(Lead.with_merged.get(pk=pk)) for pk in lead_ids}}
    for relation in lead_relations():
        model, fk = relation.related_model, relation.field.name
        if model._meta.app_label == "customers":
            continue  # the merge log itself
        rows = model._base_manager.filter(**{f"{fk}__in": lead_ids}).order_by("pk")
        dump[f"{model._meta.label}.{fk}"] = [row_dump(row) for row in rows]
    return dump


def figures() -> dict:
    return {
        "delivery": delivery.marketing_delivery(MARCH, NOW),
        "pipeline": pipeline_contribution(MARCH, NOW),
        "sales": sales_activity(MARCH, NOW),
        "scoreboard": sla_scoreboard(MARCH, NOW),
        "attribution": m.attribution(MARCH, NOW),
    }


def merged(world, ops, *leads):
    plan = plan_merge([lead.pk for lead in leads], ops)
    return plan, merge_leads(plan, ops)


def test_the_most_advanced_open_stage_survives_and_the_plan_says_why(world, ops):
    plan = plan_merge([world.b.pk, world.c.pk, world.d.pk], ops)
    # d is an Opportunity; b and c are MQLs.
    assert plan.survivor == world.d
    assert "Opportunity" in plan.survivor_reason
    assert plan.stage_note == "Stays Opportunity."
    assert not plan.blockers


def test_a_chosen_survivor_behind_another_lead_says_it_keeps_its_stage(world, ops):
    plan = plan_merge([world.b.pk, world.d.pk], ops, survivor=world.b.pk)
    assert plan.survivor == world.b
    assert "never moves a lead through the lifecycle" in plan.stage_note
    assert "d@x.test" in plan.stage_note


def test_contact_fields_take_the_most_recent_non_empty_value(world, ops):
    Lead.objects.filter(pk=world.b.pk).update(phone="+1 555 0100", title="")
    Lead.objects.filter(pk=world.d.pk).update(phone="+1 555 0199", updated_at=NOW)
    Lead.objects.filter(pk=world.b.pk).update(updated_at=NOW + dt.timedelta(hours=1))
    restamp_search_text([world.b.pk, world.d.pk])  # as every writer of a phone does
    plan = plan_merge([world.b.pk, world.d.pk], ops)
    by_name = {c.name: c for c in plan.choices}
    # b was updated last: its phone wins; its title is empty, so d's "CTO" stays.
    assert (by_name["phone"].value, by_name["phone"].from_lead) == ("+1 555 0100", fresh(world.b))
    assert by_name["title"].value == "CTO"
    assert by_name["phone"].changes and not by_name["title"].changes


def test_merge_moves_every_row_to_the_survivor_and_keeps_the_merged_row(world, ops):
    b, d = world.b, world.d
    b_activities = set(Activity.objects.filter(lead=b).values_list("pk", flat=True))
    b_events = set(LeadEvent.objects.filter(lead=b).values_list("pk", flat=True))
    _, merge = merged(world, ops, b, d)
    assert set(Activity.objects.filter(lead=d).values_list("pk", flat=True)) >= b_activities
    assert set(LeadEvent.objects.filter(lead=d).values_list("pk", flat=True)) >= b_events
    assert not Activity.objects.filter(lead=b).exists()
    gone = Lead.with_merged.get(pk=b.pk)
    assert gone.merged_into_id == d.pk
    assert not Lead.objects.filter(pk=b.pk).exists()  # out of every list
    assert LeadAlias.objects.get(email="b@x.test").lead_id == d.pk
    assert merge.moved_rows.filter(action=MovedRow.Action.MOVED).count() >= len(b_activities)


def test_merge_then_undo_restores_every_row_exactly(world, ops):
    ids = [world.b.pk, world.c.pk, world.d.pk]
    before = full_dump(ids)
    _, merge = merged(world, ops, world.b, world.c, world.d)
    assert full_dump(ids) != before
    undo_merge(merge, ops)
    assert full_dump(ids) == before


def test_report_figures_are_the_same_before_the_merge_and_after_its_undo(world, ops):
    before = figures()
    _, merge = merged(world, ops, world.b, world.c, world.d)
    undo_merge(merge, ops)
    assert figures() == before


def test_after_a_merge_the_pipeline_and_its_attribution_keep_every_touch_point(world, ops):
    before = m.attribution(MARCH, NOW)
    pipeline = delivery.delivered(MARCH.start, MARCH.end, NOW)["pipeline_amount"]
    # c's Spring form moves to a, the customer; a's deal opened after it, so Spring is
    # credited still and the campaigns' credits still sum to the pipeline.
    merged(world, ops, world.a, world.c)
    after = m.attribution(MARCH, NOW)
    assert delivery.delivered(MARCH.start, MARCH.end, NOW)["pipeline_amount"] == pipeline
    assert set(after) == set(before)
    for model in ("first", "last", "linear"):
        total = sum((credits.get(model, Decimal(0)) for credits in after.values()), Decimal(0))
        assert total == sum(
            (credits.get(model, Decimal(0)) for credits in before.values()), Decimal(0)
        )


def test_importing_a_merged_address_updates_the_survivor(world, ops):
    merged(world, ops, world.b, world.d)
    touch = TouchPoint(side="marketing", kind="list_import", subject="List")
    entry = Entry.prepare(channel=world.channel, campaign=None, touch=touch)
    taken = take_in_leads(
        entry, [CleanRow(2, "b@x.test", {"email": "b@x.test", "phone": "+44 20 7946 0000"})]
    )
    assert (taken.created, taken.updated) == (0, 1)
    assert taken.lead_ids["b@x.test"] == world.d.pk
    assert fresh(world.d).phone == "+44 20 7946 0000"
    assert Lead.with_merged.filter(email="b@x.test").count() == 1


def test_both_addresses_of_one_person_in_one_file_update_it_once(world, ops):
    merged(world, ops, world.b, world.d)
    touch = TouchPoint(side="marketing", kind="list_import", subject="List")
    entry = Entry.prepare(channel=world.channel, campaign=None, touch=touch)
    rows = [
        CleanRow(2, "b@x.test", {"email": "b@x.test", "phone": "+1"}),
        CleanRow(3, "d@x.test", {"email": "d@x.test", "phone": "+2"}),
    ]
    dry_run = plan_import(Cleaned(rows=rows, issues=[], total=2))
    assert (dry_run.created, dry_run.updated, dry_run.unchanged) == (0, 1, 1)
    taken = take_in_leads(entry, rows)
    assert (taken.created, taken.updated, taken.unchanged) == (0, 1, 1)


def test_undo_is_refused_and_says_why_when_the_survivor_changed_since(world, ops, rep):
    _, merge = merged(world, ops, world.b, world.d)
    services.log_touch(fresh(world.d), by=rep, kind="call")
    with pytest.raises(UndoRefused) as refused:
        undo_merge(merge, ops)
    text = " ".join(refused.value.problems)
    assert "The survivor (d@x.test) changed since the merge" in text
    assert "added to the survivor since the merge" in text
    assert Lead.with_merged.get(pk=world.b.pk).merged_into_id == world.d.pk  # nothing changed


def test_a_plan_confirmed_after_a_lead_changed_merges_nothing(world, ops):
    plan = plan_merge([world.b.pk, world.d.pk], ops)
    lead = fresh(world.b)
    lead.phone = "+1 555 0111"
    lead.save()
    with pytest.raises(StalePlan):
        merge_leads(plan, ops)
    assert Lead.objects.filter(pk=world.b.pk).exists()


def test_reps_cannot_merge(world, rep):
    with pytest.raises(MergeError):
        plan_merge([world.b.pk, world.d.pk], rep)


def test_a_merged_lead_cannot_be_merged_again(world, ops):
    merged(world, ops, world.b, world.d)
    with pytest.raises(MergeError, match="already merged"):
        plan_merge([world.b.pk, world.c.pk], ops)


def test_a_lead_with_a_running_clock_cannot_be_merged_away(world, ops):
    Lead.objects.filter(pk=world.c.pk).update(sla_status="pending", sla_due_at=NOW)
    plan = plan_merge([world.c.pk, world.d.pk], ops)
    assert plan.survivor == world.d
    assert "follow-up clock running" in plan.blockers[0]
    with pytest.raises(MergeError):
        merge_leads(plan, ops)


def test_a_merge_of_a_merge_survivor_is_undone_in_order(world, ops):
    _, first = merged(world, ops, world.b, world.d)
    _, second = merged(world, ops, world.a, world.d)
    with pytest.raises(UndoRefused, match="undo that merge first"):
        undo_merge(first, ops)
    undo_merge(second, ops)
    undo_merge(first, ops)
    assert Lead.objects.filter(pk__in=[world.a.pk, world.b.pk, world.d.pk]).count() == 3


def test_every_foreign_key_to_a_lead_has_a_merge_rule():
    # A new model pointing at Lead fails here until ROW_RULES says whether its rows move.
    keys = {rule_key(relation) for relation in lead_relations()}
    assert keys - set(ROW_RULES) == set()
    assert set(ROW_RULES) - keys == set()


def test_clock_rows_move_unless_the_survivor_has_the_same_clock_and_undo_restores_them(
    world, ops, rep
):
    b, d = world.b, world.d
    due = NOW - dt.timedelta(days=20)
    other_due = NOW - dt.timedelta(days=10)
    same = Breach.objects.create(lead=b, due_at=due, owner_at_due=rep)
    Breach.objects.create(lead=d, due_at=due, owner_at_due=rep)
    moving = Breach.objects.create(lead=b, due_at=other_due, owner_at_due=rep)
    warning = SLAWarning.objects.create(lead=b, due_at=other_due, owner=rep)
    flag = UntouchedFlag.objects.create(lead=b, threshold_days=30, assigned_at=due, owner=rep)
    notice = Notification.objects.create(user=rep, kind="untouched", lead=b, event_key="k1")
    ids = [b.pk, d.pk]
    before = full_dump(ids)
    plan, merge = merged(world, ops, b, d)
    assert "SLA breaches: 1 move; 1 stay" in [
        f"{r.label}: {r.moving} move; {r.staying} stay" for r in plan.rows
    ]
    assert Breach.objects.get(pk=same.pk).lead_id == b.pk  # the survivor has that clock
    for row in (moving, warning, flag, notice):
        assert type(row).objects.get(pk=row.pk).lead_id == d.pk
    undo_merge(merge, ops)
    assert full_dump(ids) == before


def test_choosing_another_survivor_from_the_plan_keeps_that_lead(world, ops):
    plan = plan_merge([world.b.pk, world.c.pk], ops, survivor=world.c.pk)
    merge = merge_leads(plan, ops)
    assert merge.survivor_id == world.c.pk
    assert Lead.with_merged.get(pk=world.b.pk).merged_into_id == world.c.pk


def test_the_survivors_mql_entries_learn_what_the_merged_leads_events_tell_them(world, ops):
    # b and c are MQLs; d, an Opportunity, was touched and accepted after their entries:
    # merged into d, their MQL entries were touched and accepted since, as the 1:1
    # report's cohorts count them; the undo gives them back their own outcomes.
    def entries() -> dict[int, tuple]:
        rows = LeadEvent.objects.filter(**ledger.MQL_ENTRY, lead__in=[world.d]).order_by("pk")
        return {row[0]: row[1:] for row in rows.values_list("pk", *ledger.OUTCOMES)}

    ids = [world.b.pk, world.c.pk, world.d.pk]
    moved = list(
        LeadEvent.objects.filter(**ledger.MQL_ENTRY, lead__in=ids[:2]).values_list("pk", flat=True)
    )
    assert moved
    before = full_dump(ids)
    _, merge = merged(world, ops, world.b, world.c, world.d)
    after = entries()
    assert set(moved) <= set(after)
    with transaction.atomic():
        ledger.resettle_outcomes()
        assert entries() == after  # what the ledger works out from the survivor's events
        transaction.set_rollback(True)
    assert any(after[pk] != (None,) * len(ledger.OUTCOMES) for pk in moved)
    undo_merge(merge, ops)
    assert full_dump(ids) == before
