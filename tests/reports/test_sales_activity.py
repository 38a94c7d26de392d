"""Sales activity on hand-built data: every expected figure is worked out in the comments."""

from __future__ import annotations

from decimal import Decimal

from agreements.models import TouchGoal
from reports.queries import drilldown_leads, sales_activity
from tests.factories import LeadFactory
from tests.reports.conftest import JANUARY, MARCH, NOW, assign, at, by, move, touch


def test_rep_a_untouched_buckets_count_only_the_lead_she_held_for_the_whole_threshold(
    sales_world,
):
    # A got L1, L2, L3 and L4. L3 was never touched: untouched after 30, 60 and 90 days.
    # L4 left her after 19 days, so it never reached 30 days in her hands.
    a = by(sales_activity(MARCH, NOW), "rep", key=sales_world.a.pk)
    assert a["assigned"] == 4
    assert (a["untouched_1"], a["untouched_2"], a["untouched_3"]) == (1, 1, 1)


def test_a_lead_reassigned_mid_period_counts_for_both_reps_and_once_for_their_team(sales_world):
    rows = sales_activity(MARCH, NOW)
    b = by(rows, "rep", key=sales_world.b.pk)
    # B got L4 on 20 March and touched it on 1 May (42 days): untouched after 30, not 60.
    assert b["assigned"] == 1
    assert (b["untouched_1"], b["untouched_2"], b["untouched_3"]) == (1, 0, 0)
    assert b["reassigned"] == 0
    assert by(rows, "rep", key=sales_world.a.pk)["reassigned"] == 1
    east = by(rows, "team", key=sales_world.east.pk)
    # Distinct leads L1–L4; untouched 30: L3 (A) and L4 (B); 60 and 90: L3 only.
    assert east["assigned"] == 4
    assert (east["untouched_1"], east["untouched_2"], east["untouched_3"]) == (2, 1, 1)
    assert east["reassigned"] == 0


def test_a_lead_that_comes_back_to_its_first_rep_counts_once_for_her(sales_world):
    w = sales_world
    # L7: A has it two days, C two days, then A again, who never touches it.
    l7 = LeadFactory(stage="mql", channel=w.l1.channel, created_at=at(2, 20))
    assign(l7, w.a, at(3, 2))
    assign(l7, w.c, at(3, 4), from_owner=w.a)
    assign(l7, w.a, at(3, 6), from_owner=w.c)
    rows = sales_activity(MARCH, NOW)
    a = by(rows, "rep", key=w.a.pk)
    # A: L1–L4 and L7 once. Untouched after 30/60/90 days: L3, and L7 from 6 March
    # (to 1 July, 117 days). She holds L1, L2, L3 and L7: one reassigned (L4).
    assert a["assigned"] == 5
    assert (a["untouched_1"], a["untouched_2"], a["untouched_3"]) == (2, 2, 2)
    assert (a["held"], a["reassigned"]) == (4, 1)
    c = by(rows, "rep", key=w.c.pk)
    # C: L5, L6 and L7 (two days: not untouched 30 days); holds L5 and L6.
    assert (c["assigned"], c["untouched_1"], c["reassigned"]) == (3, 1, 1)
    east = by(rows, "team", key=w.east.pk)
    # East: L1–L4 and L7; untouched 30: L3, L4 (B), L7; 60 and 90: L3, L7.
    assert east["assigned"] == 5
    assert (east["untouched_1"], east["untouched_2"], east["untouched_3"]) == (3, 2, 2)
    total = by(rows, "total")
    assert (total["assigned"], total["held"], total["reassigned"]) == (7, 7, 0)


def test_a_touch_goal_of_more_touches_than_the_facts_keep(sales_world):
    w = sales_world
    # L8: B's, Working on 2 March at 10:00, ten touches by the next day's 13:00.
    l8 = LeadFactory(stage="working", channel=w.l1.channel, created_at=at(2, 20))
    assign(l8, w.b, at(3, 2))
    move(l8, "mql", "working", at(3, 2, 10))
    for when in [at(3, 2, hour) for hour in range(11, 16)] + [
        at(3, 3, hour) for hour in range(9, 14)
    ]:
        touch(l8, w.b, when)
    # Goal 10 touches in 7 days: L8 reached it, L1 (3 touches) did not; eligible (the
    # week is over for both): L1, L2, L4 (Working 1 May), L8.
    TouchGoal.objects.update(touches=10)
    total = by(sales_activity(MARCH, NOW), "total")
    assert (total["goal_reached"], total["goal_eligible"]) == (1, 4)
    # 11 touches: nobody; 8 (the last one the facts keep in order): L8 again.
    TouchGoal.objects.update(touches=11)
    assert by(sales_activity(MARCH, NOW), "total")["goal_reached"] == 0
    TouchGoal.objects.update(touches=8)
    assert by(sales_activity(MARCH, NOW), "total")["goal_reached"] == 1
    # Within one day of Working: the eighth touch came the next day at 11:00 (25 hours).
    TouchGoal.objects.update(within_days=1)
    assert by(sales_activity(MARCH, NOW), "total")["goal_reached"] == 0


def test_a_lead_touched_only_by_marketing_is_untouched_by_sales(sales_world):
    # C: L5 (only a marketing email) is untouched after 30/60/90; L6 was disqualified on
    # day 2, so it left the queue and is not "untouched".
    c = by(sales_activity(MARCH, NOW), "rep", key=sales_world.c.pk)
    assert c["assigned"] == 2
    assert (c["untouched_1"], c["untouched_2"], c["untouched_3"]) == (1, 1, 1)
    assert c["touches"] == 0
    assert c["first_touched"] == 0
    assert c["ttft_median"] is None


def test_median_and_p90_time_to_first_touch_in_business_seconds(sales_world):
    rows = sales_activity(MARCH, NOW)
    a = by(rows, "rep", key=sales_world.a.pk)
    # A first-touched L1 (3,600 s) and L2 (7,200 s): median 5,400;
    # p90 at position 1 + 0.9·1 = 1.9 → 3,600 + 0.9·3,600 = 6,840.
    assert a["first_touched"] == 2
    assert a["ttft_median"] == 5400
    assert a["ttft_p90"] == 6840
    # B's only first touch is L4's 100,800 s (28 business hours).
    b = by(rows, "rep", key=sales_world.b.pk)
    assert (b["ttft_median"], b["ttft_p90"]) == (100800, 100800)
    # East: 3,600, 7,200, 100,800 → median 7,200; p90 at 2.8 → 7,200 + 0.8·93,600 = 82,080.
    east = by(rows, "team", key=sales_world.east.pk)
    assert (east["ttft_median"], east["ttft_p90"]) == (7200, 82080)


def test_sla_met_share_credits_a_breach_to_the_rep_who_held_the_lead_when_it_was_due(
    sales_world,
):
    rows = sales_activity(MARCH, NOW)
    a = by(rows, "rep", key=sales_world.a.pk)
    # Met: L1, L2 (first touched by A in time). Breached with A: L3 (due 10 Mar) and L4
    # (due 1 Mar, while A held it). 2 of 4 = 50 %.
    assert (a["sla_met"], a["sla_breached"], a["sla_met_share"]) == (2, 2, Decimal("50.0"))
    b = by(rows, "rep", key=sales_world.b.pk)
    assert (b["sla_met"], b["sla_breached"], b["sla_met_share"]) == (0, 0, None)


def test_touches_per_lead_and_touch_goal(sales_world):
    rows = sales_activity(MARCH, NOW)
    a = by(rows, "rep", key=sales_world.a.pk)
    # A's touches in her tenures: L1 3, L2 1, L3 0, L4 0 → 4 over 4 leads.
    assert (a["touches"], a["touches_per_lead"]) == (4, Decimal("1.00"))
    # Goal 3 touches in 7 days of Working: L1 yes (3), L2 no (1) → 1 of 2 = 50 %.
    assert (a["goal_reached"], a["goal_eligible"], a["goal_share"]) == (1, 2, Decimal("50.0"))
    total = by(rows, "total")
    # Everyone: 3 + 1 (A) + 1 (B on L4) = 5 touches over 6 leads = 0.83.
    assert (total["touches"], total["touches_per_lead"]) == (5, Decimal("0.83"))
    # Eligible: L1, L2, L4; reached: L1 → 33.3 %.
    assert total["goal_share"] == Decimal("33.3")


def test_stages_and_conversion_count_for_the_rep_who_holds_the_lead(sales_world):
    rows = sales_activity(MARCH, NOW)
    a = by(rows, "rep", key=sales_world.a.pk)
    # A holds L1 (opportunity), L2 (working), L3 (mql); L4 went to B.
    assert (a["stage_opportunity"], a["stage_working"], a["stage_mql"]) == (1, 1, 1)
    # Reached Working: L1, L2; SQL: L1; Opportunity: L1; won: none.
    assert (a["reached_working"], a["reached_sql"], a["reached_opportunity"], a["won"]) == (
        2,
        1,
        1,
        0,
    )
    assert a["working_to_sql"] == Decimal("50.0")
    assert a["sql_to_opportunity"] == Decimal("100.0")
    assert a["opportunity_to_won"] == Decimal("0.0")
    total = by(rows, "total")
    assert (total["stage_working"], total["stage_mql"], total["stage_disqualified"]) == (2, 2, 1)


def test_a_period_with_no_data_gives_one_empty_total_row(sales_world):
    rows = sales_activity(JANUARY, NOW)
    assert [r["section"] for r in rows] == ["total"]
    total = rows[0]
    assert total["assigned"] == 0
    assert total["untouched_1"] == 0
    assert total["ttft_median"] is None
    assert total["sla_met_share"] is None
    assert total["touches_per_lead"] is None


def test_filters_narrow_to_a_team_and_a_rep(sales_world):
    west = sales_activity(MARCH.with_(team=sales_world.west.pk), NOW)
    assert {r["label"] for r in west if r["section"] == "rep"} == {"Cy"}
    assert by(west, "total")["assigned"] == 2
    only_b = sales_activity(MARCH.with_(rep=sales_world.b.pk), NOW)
    assert by(only_b, "total")["assigned"] == 1


def test_drilldown_lists_the_leads_behind_a_number(sales_world):
    w = sales_world
    untouched = drilldown_leads("sales", "untouched_1", MARCH.with_(rep=w.a.pk), NOW)
    assert list(untouched) == [w.l3]
    everyone = drilldown_leads("sales", "untouched_1", MARCH, NOW)
    assert set(everyone) == {w.l3, w.l4, w.l5}
    breached = drilldown_leads("sales", "sla_breached", MARCH.with_(rep=w.a.pk), NOW)
    assert set(breached) == {w.l3, w.l4}
    assert set(drilldown_leads("sales", "assigned", MARCH, NOW)) == set(w.leads)
