"""Marketing delivery, pipeline and contribution, the 1:1 report and the scoreboard on
hand-built data (conftest.marketing_world); expected figures worked out in the comments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from reports.filters import ReportFilters
from reports.queries import (
    commitment_target,
    drilldown_leads,
    marketing_delivered,
    marketing_delivery,
    one_on_one,
    pipeline_contribution,
    sales_activity,
    sla_scoreboard,
)
from tests.reports.conftest import JANUARY, MARCH, NOW, at, by

APRIL = ReportFilters(start_day=dt.date(2025, 4, 1), end_day=dt.date(2025, 4, 30))

D = Decimal


def test_delivery_totals(marketing_world):
    total = by(marketing_delivery(MARCH, NOW), "total")
    # New in March: M1, M2, M3, M4, M6 (M5 and M7 are from February; O1 is outbound).
    assert total["new_leads"] == 5
    # MQLs: M1, M3, M4, M5 entered MQL in March; M2 was created as one.
    assert total["mqls"] == 5
    # Accepted (entered SQL): M1, M2 → 2 of 5 = 40 %.
    assert total["sales_accepted"] == 2
    assert total["acceptance_rate"] == D("40.0")
    assert total["disqualified"] == 2
    # Marketing pipeline opened in March: M1 9,000 + M7 3,000.
    assert total["pipeline_amount"] == D("12000.00")


def test_feedback_coverage_is_closed_leads_with_a_deal_or_structured_feedback(marketing_world):
    total = by(marketing_delivery(MARCH, NOW), "total")
    # Closed in March: M1 (converted, with a deal), M3 (feedback), M4 (nothing) → 2 of 3.
    assert (total["closed"], total["traceable"], total["untraceable"]) == (3, 2, 1)
    assert total["feedback_coverage"] == D("66.7")
    assert list(drilldown_leads("delivery", "untraceable", MARCH, NOW)) == [marketing_world.m4]


def test_delivery_by_campaign_channel_and_persona(marketing_world):
    w = marketing_world
    rows = marketing_delivery(MARCH, NOW)
    spring = by(rows, "campaign", key=w.c1.pk)
    # Spring webinar: M1, M2 new; M1, M2, M5 MQLs; M1, M2 accepted → 66.7 %; M1 closed
    # with a deal → coverage 100 %.
    assert (spring["new_leads"], spring["mqls"], spring["sales_accepted"]) == (2, 3, 2)
    assert spring["acceptance_rate"] == D("66.7")
    assert spring["feedback_coverage"] == D("100.0")
    ebook = by(rows, "campaign", key=w.c2.pk)
    assert (ebook["mqls"], ebook["sales_accepted"], ebook["acceptance_rate"]) == (2, 0, D("0.0"))
    assert ebook["feedback_coverage"] == D("50.0")
    assert by(rows, "campaign", key=None)["new_leads"] == 1  # M6
    assert by(rows, "channel", key=w.webinar.pk)["mqls"] == 5
    assert not [r for r in rows if r["section"] == "channel" and r["key"] == w.outbound.pk]
    cto = by(rows, "persona", key=w.p1.pk)
    assert (cto["mqls"], cto["sales_accepted"], cto["acceptance_rate"]) == (2, 2, D("100.0"))


def test_disqualification_reasons(marketing_world):
    rows = marketing_delivery(MARCH, NOW)
    assert by(rows, "reason", key="wrong_persona")["leads"] == 1
    assert by(rows, "reason", key="none")["leads"] == 1


def test_delivery_against_the_commitment_with_pace(marketing_world):
    rows = marketing_delivery(MARCH, NOW)
    # The whole of March has passed: expected = the monthly target.
    mqls = by(rows, "commitment", key="mqls")
    assert (mqls["target"], mqls["expected_by_now"], mqls["delivered"]) == (D("4.00"), D("4.00"), 5)
    assert mqls["pace"] == D("125.0")
    assert by(rows, "commitment", key="new_leads")["pace"] == D("50.0")
    pipeline = by(rows, "commitment", key="pipeline_amount")
    assert pipeline["pace"] == D("120.0")
    rate = by(rows, "commitment", key="acceptance_rate")
    assert (rate["target"], rate["delivered"], rate["on_pace"]) == (D("50"), D("40.0"), False)


def test_pace_half_way_through_the_month(marketing_world):
    # 15 of 31 days gone: 4 × 15/31 = 1.935… → 1.94 MQLs expected by now.
    mid = dt.datetime(2025, 3, 16, tzinfo=dt.UTC)
    mqls = by(marketing_delivery(MARCH, mid), "commitment", key="mqls")
    assert mqls["expected_by_now"] == D("1.94")


def test_commitment_prorates_part_months():
    assert commitment_target(D("31"), "month", dt.date(2025, 3, 1), dt.date(2025, 3, 10)) == D(
        "10.00"
    )
    # 10 days of March (31) and 5 of April (30): 62 × 10/31 + 60 × 5/30... with one target:
    assert commitment_target(D("62"), "month", dt.date(2025, 3, 22), dt.date(2025, 4, 5)) == D(
        "30.33"
    )
    assert commitment_target(D("90"), "quarter", dt.date(2025, 1, 1), dt.date(2025, 3, 31)) == D(
        "90.00"
    )


def test_marketing_delivered_for_the_pacing_snapshots_agrees_with_the_report(marketing_world):
    delivered = marketing_delivered(at(3, 1, 0), at(4, 1, 0))
    assert delivered["mqls"] == 5
    assert delivered["sales_accepted"] == 2
    assert delivered["new_leads"] == 5
    assert delivered["pipeline_amount"] == D("12000")
    assert delivered["acceptance_rate"] == D("40.00")


def test_pipeline_generated_influenced_and_won(marketing_world):
    rows = pipeline_contribution(MARCH, NOW)
    # Opened in March: M1 9,000, O1 6,000, M7 3,000.
    assert (
        by(rows, "figure", key="pipeline")["deals"],
        by(rows, "figure", key="pipeline")["amount"],
    ) == (3, D("18000.00"))
    assert by(rows, "figure", key="generated")["amount"] == D("12000.00")
    # Influenced: M1 (touches before 10 March) and M7 (download in February).
    assert by(rows, "figure", key="influenced")["amount"] == D("12000.00")
    # The outbound deal had no marketing touch.
    no_touch = by(rows, "figure", key="no_marketing_touch")
    assert (no_touch["deals"], no_touch["amount"]) == (1, D("6000.00"))
    assert by(rows, "figure", key="won")["amount"] == D("9000.00")
    assert by(rows, "figure", key="won_influenced")["amount"] == D("9000.00")
    leads = drilldown_leads("pipeline", "no_marketing_touch", MARCH, NOW)
    assert list(leads) == [marketing_world.o1]


def test_attribution_first_last_and_linear(marketing_world):
    w = marketing_world
    rows = pipeline_contribution(MARCH, NOW)
    # M1 (9,000): touches C1 email, C1 form, C2 webinar before it opened (the C2 email on
    # 12 March came after) → first C1, last C2, linear 6,000 C1 + 3,000 C2.
    # M7 (3,000): one C2 download → C2 in every model.
    # O1 (6,000): no touch, no campaign → "No campaign" in every model.
    spring = by(rows, "attribution", key=w.c1.pk)
    assert (spring["first"], spring["last"], spring["linear"]) == (
        D("9000.00"),
        D("0.00"),
        D("6000.00"),
    )
    ebook = by(rows, "attribution", key=w.c2.pk)
    assert (ebook["first"], ebook["last"], ebook["linear"]) == (
        D("3000.00"),
        D("12000.00"),
        D("6000.00"),
    )
    none = by(rows, "attribution", key=None)
    assert (none["first"], none["last"], none["linear"]) == (D("6000.00"),) * 3


def test_cost_per_lead_mql_sql_and_pipeline(marketing_world):
    w = marketing_world
    rows = pipeline_contribution(MARCH, NOW)
    spring = by(rows, "cost", key=w.c1.pk)
    # 1,000 over 2 leads, 3 MQLs, 2 SQLs and 9,000 of pipeline.
    assert spring["cost_per_lead"] == D("500.00")
    assert spring["cost_per_mql"] == D("333.33")
    assert spring["cost_per_sql"] == D("500.00")
    assert spring["cost_per_pipeline"] == D("0.1111")
    ebook = by(rows, "cost", key=w.c2.pk)
    # 600 over 2 leads, 2 MQLs, no SQL, 3,000 of pipeline (M7).
    assert (ebook["cost_per_mql"], ebook["cost_per_sql"]) == (D("300.00"), None)
    assert ebook["cost_per_pipeline"] == D("0.2000")


def test_marketing_reports_for_a_period_with_no_data(marketing_world):
    total = by(marketing_delivery(JANUARY, NOW), "total")
    assert (total["new_leads"], total["mqls"], total["acceptance_rate"]) == (0, 0, None)
    assert total["feedback_coverage"] is None
    rows = pipeline_contribution(JANUARY, NOW)
    assert by(rows, "figure", key="pipeline")["amount"] == D("0.00")
    assert not [r for r in rows if r["section"] == "attribution"]


def test_one_on_one_since_a_date(marketing_world):
    w = marketing_world
    rows = one_on_one(MARCH, NOW)
    summary = by(rows, "summary")
    # Handed over (became MQLs): M1–M5. Touched: M1, M2, M3. Accepted: M1, M2.
    assert summary["handed_over"] == 5
    assert summary["touched"] == 3
    assert (summary["accepted"], summary["acceptance_rate"]) == (2, D("40.0"))
    assert (summary["disqualified"], summary["won"]) == (2, 1)
    # Open and never touched: M5 (M4 is closed).
    assert summary["untouched_open"] == 1
    assert (summary["deals"], summary["pipeline_amount"]) == (1, D("9000.00"))
    assert by(rows, "persona", key=w.p1.pk)["accepted"] == 2
    assert by(rows, "persona", key=w.p2.pk)["disqualified"] == 2
    assert by(rows, "title", label="CTO")["leads"] == 2
    assert by(rows, "stage", key="disqualified")["leads"] == 2
    assert set(drilldown_leads("one_on_one", "untouched_open", MARCH, NOW)) == {w.m5}


def test_scoreboard_puts_both_sides_next_to_their_commitments(marketing_world):
    rows = sla_scoreboard(MARCH, NOW)
    mqls = by(rows, "marketing", key="mqls")
    assert (mqls["p0_label"], mqls["p0_target"], mqls["p0_actual"], mqls["p0_kept"]) == (
        "Mar 2025",
        D("4.00"),
        5,
        True,
    )
    # The month before: February, nothing became an MQL.
    assert (mqls["p1_label"], mqls["p1_actual"], mqls["p1_kept"]) == ("Feb 2025", 0, False)
    assert mqls["p3_label"] == "Dec 2024"
    rate = by(rows, "marketing", key="acceptance_rate")
    assert (rate["p0_actual"], rate["p0_kept"]) == (D("40.0"), False)
    coverage = by(rows, "marketing", key="feedback_coverage")
    assert coverage["p0_actual"] == D("66.7")
    assert by(rows, "sales", key="untouched_1")["p0_target"] == 0


def test_previous_range_keeps_its_shape():
    week = ReportFilters(start_day=dt.date(2025, 3, 10), end_day=dt.date(2025, 3, 16))
    assert week.previous().start_day == dt.date(2025, 3, 3)
    assert week.previous().end_day == dt.date(2025, 3, 9)
    quarter = ReportFilters(start_day=dt.date(2025, 1, 1), end_day=dt.date(2025, 3, 31))
    assert (quarter.previous().start_day, quarter.previous().end_day) == (
        dt.date(2024, 10, 1),
        dt.date(2024, 12, 31),
    )


def test_scoreboard_periods_agree_with_each_report_for_that_range(marketing_world, sales_world):
    """The scoreboard reads all four ranges at once; each column equals the delivery and
    sales activity reports run for that range alone."""
    rows = sla_scoreboard(APRIL, NOW)
    period = APRIL
    for i in range(4):
        delivery = by(marketing_delivery(period, NOW), "total")
        sales = by(sales_activity(period, NOW), "total")
        for key in ("new_leads", "mqls", "sales_accepted", "pipeline_amount", "acceptance_rate"):
            assert by(rows, "marketing", key=key)[f"p{i}_actual"] == delivery[key], (i, key)
        coverage = by(rows, "marketing", key="feedback_coverage")[f"p{i}_actual"]
        assert coverage == delivery["feedback_coverage"]
        assert by(rows, "sales", key="untouched_1")[f"p{i}_actual"] == sales["untouched_1"]
        assert by(rows, "sales", key="sla_met_share")[f"p{i}_actual"] == sales["sla_met_share"]
        assert by(rows, "sales", key="goal_share")[f"p{i}_actual"] == sales["goal_share"]
        period = period.previous()
    # March (p1) has the worlds' figures; the others are empty.
    assert by(rows, "marketing", key="mqls")["p1_actual"] == 5


def test_delivery_for_one_rep_or_team_counts_the_leads_they_own(marketing_world):
    from leads.models import Lead
    from tests.factories import RepFactory

    w = marketing_world
    east, west = RepFactory(username="d-east"), RepFactory(username="d-west")
    Lead.objects.filter(pk__in=[w.m1.pk, w.m2.pk]).update(owner=east)
    Lead.objects.filter(pk=w.m3.pk).update(owner=west)

    mine = by(marketing_delivery(MARCH.with_(rep=east.pk), NOW), "total")
    theirs = by(marketing_delivery(MARCH.with_(team=west.rep_profile.team_id), NOW), "total")

    # East owns M1 and M2: both new, MQL and accepted in March. West's team owns M3 only:
    # new, MQL and disqualified in March.
    assert (mine["new_leads"], mine["mqls"], mine["sales_accepted"]) == (2, 2, 2)
    assert (theirs["new_leads"], theirs["mqls"], theirs["disqualified"]) == (1, 1, 1)


# --- The tally (whole UTC days) and the events give the same figures ---------------------


def delivery_both_ways(periods: list[ReportFilters]) -> tuple[list, list]:
    """The figures of `periods` from the tally and from the events alone."""
    from reports.queries import DELIVERY_SECTIONS, _delivery_counts, _delivery_periods

    def sections(tally: bool) -> list:
        rows = _delivery_counts(periods[0], DELIVERY_SECTIONS, tally=tally)
        return sorted(rows, key=lambda r: (r["section"], str(r["_g"])))

    return (
        [sections(True), _delivery_periods(periods, tally=True)],
        [sections(False), _delivery_periods(periods, tally=False)],
    )


def test_a_range_that_starts_and_ends_mid_day_counts_the_same_from_the_tally(marketing_world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # [3 Mar 12:00, 5 Mar 12:00): created M3 (4 Mar 9:00) and M4 (5 Mar 9:00), not M2
    # (3 Mar 9:00); M3 entered MQL on 5 Mar 9:00 (M1 on 3 Mar 9:00 is before); M1 entered
    # SQL on 5 Mar 9:00 (M2 on 6 Mar is after). The tally gives 4 March, the events the
    # two half days around it.
    f = ReportFilters(
        start_day=dt.date(2025, 3, 3),
        end_day=dt.date(2025, 3, 5),
        exact_start=at(3, 3, 12),
        exact_end=at(3, 5, 12),
    )
    before = ReportFilters(
        start_day=dt.date(2025, 3, 1),
        end_day=dt.date(2025, 3, 3),
        exact_start=at(3, 1, 6),
        exact_end=at(3, 3, 12),
    )
    with CaptureQueriesContext(connection) as queries:
        tallied, per_event = delivery_both_ways([f, before])
    assert tallied == per_event
    assert any("reports_deliverytally" in q["sql"] for q in queries.captured_queries)
    total = by(tallied[0], "total")
    assert (total["new_leads"], total["mqls"], total["sales_accepted"]) == (2, 1, 1)
    assert tallied[1][0]["new_leads"] == 2
    # Before it, [1 Mar 6:00, 3 Mar 12:00): created M1 (2 Mar) and M2 (3 Mar 9:00); MQLs
    # M5 (1 Mar), M1 (3 Mar 9:00) and M2 (created as one).
    assert (tallied[1][1]["new_leads"], tallied[1][1]["mqls"]) == (2, 3)


def test_the_tally_agrees_with_the_events_in_another_time_zone(marketing_world, settings):
    """Ranges that start at local midnight away from UTC: partial UTC days at both ends."""
    from django.utils import timezone

    from tests.factories import LeadFactory

    # Leads at the edges: 4 Mar 03:00 UTC is 3 Mar in New York; 05:00 UTC is New York's
    # midnight; 5 Mar 00:00 UTC is a UTC midnight inside New York's 4 March.
    for hour, day in ((3, 4), (5, 4), (0, 5)):
        LeadFactory(stage="suspect", channel=marketing_world.webinar, created_at=at(3, day, hour))
    settings.TIME_ZONE = "America/New_York"
    with timezone.override("America/New_York"):
        one_day = ReportFilters(start_day=dt.date(2025, 3, 4), end_day=dt.date(2025, 3, 4))
        for f in (MARCH, APRIL, one_day, one_day.previous()):
            periods = [f, f.previous(), f.previous().previous()]
            tallied, per_event = delivery_both_ways(periods)
            assert tallied == per_event, f
        # 4 March in New York is [4 Mar 05:00, 5 Mar 05:00) UTC: M3 (9:00 UTC), the leads
        # of 05:00 and of 00:00 on 5 March. The 03:00 one is New York's 3 March, with M2.
        assert by(delivery_both_ways([one_day])[0][0], "total")["new_leads"] == 3
        day_before = one_day.previous()
        assert by(delivery_both_ways([day_before])[0][0], "total")["new_leads"] == 2


def test_keys_whose_events_went_away_are_not_listed(marketing_world):
    """A lead moved to another campaign and a deleted deal leave tally rows that sum to
    nothing (until compacted): no row for them, as from the events."""
    from leads.models import Deal, Lead
    from reports.queries import _delivery_counts

    w = marketing_world
    Lead.objects.filter(pk__in=[w.m3.pk, w.m4.pk]).update(campaign=w.c1)
    Deal.objects.filter(lead=w.m7).delete()
    tallied, per_event = delivery_both_ways([MARCH, MARCH.previous()])
    assert tallied == per_event
    # The Ebook keeps M7 (created in February): nothing in March.
    by_campaign = _delivery_counts(MARCH, {"campaign": "campaign_id"})
    assert {r["_g"] for r in by_campaign} == {w.c1.pk, None}


def test_second_entries_count_the_same_from_the_tally(marketing_world):
    """Events with a previous one of their kind are not tallied: read from the events."""
    from tests.reports.conftest import move

    w = marketing_world
    # M5 (MQL on 1 Mar) went to nurture and came back on 20 Mar: still one MQL in March,
    # but one in a range that starts after the first entry. M6 entered MQL twice in April.
    move(w.m5, "mql", "nurture", at(3, 2))
    move(w.m5, "nurture", "mql", at(3, 20))
    move(w.m6, "suspect", "mql", at(4, 2))
    move(w.m6, "mql", "nurture", at(4, 3))
    move(w.m6, "nurture", "mql", at(4, 9))
    late_march = ReportFilters(start_day=dt.date(2025, 3, 15), end_day=dt.date(2025, 3, 31))
    for f in (MARCH, APRIL, late_march):
        tallied, per_event = delivery_both_ways([f, f.previous()])
        assert tallied == per_event, f
    assert by(delivery_both_ways([MARCH])[0][0], "total")["mqls"] == 5
    assert by(delivery_both_ways([APRIL])[0][0], "total")["mqls"] == 1
    assert by(delivery_both_ways([late_march])[0][0], "total")["mqls"] == 1
