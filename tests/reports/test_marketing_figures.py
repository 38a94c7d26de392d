"""The marketing figures as DESIGN.md defines them, each worked out by hand in its comments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from leads import services
from leads.models import Campaign
from reports import delivery
from reports.figures import marketing as m
from reports.figures.base import Shown
from reports.filters import DESK, ReportFilters
from reports.one_on_one import one_on_one
from reports.pipeline import campaign_cost, pipeline_contribution
from tests.factories import ChannelFactory, LeadFactory
from tests.reports.marketing_world import MARCH, NOW, T0, build, day, fresh, take_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(rep, other_rep, marketer, ops):
    return build(rep, other_rep, marketer, ops)


def section(rows: list[dict], name: str) -> dict:
    return {r["key"]: r for r in rows if r["section"] == name}


def test_delivery_counts_each_mql_once_and_acceptance_as_a_cohort(world):
    total = section(delivery.marketing_delivery(MARCH, NOW), "total")[None]
    # a, b, c, e (Spring), d (no campaign), f (Ebook) came in and became MQLs; b and d
    # became MQLs twice (reopened) and count once: 6. Of them a and d reached SQL: 2.
    assert (total["new_leads"], total["mqls"], total["sales_accepted"]) == (6, 6, 2)
    assert str(total["acceptance_rate"]) == "2 of 6 (33.3 %)"
    # Disqualified: b, d, e; closed: those and a (won, converted); with a deal or feedback:
    # a (deal), b (feedback), d (both) — e was disqualified without feedback.
    assert (total["disqualified"], total["closed"], total["traceable"]) == (3, 4, 3)
    assert total["feedback_coverage"] == Shown(3, 4)


def test_acceptance_is_never_above_all_in_any_row(world):
    rows = delivery.marketing_delivery(MARCH, NOW)
    rates = [r["acceptance_rate"] for r in rows if "acceptance_rate" in r]
    assert rates and all(rate.part <= rate.whole for rate in rates)
    # By campaign: Spring 1 of 4 (a of a, b, c, e), Ebook 0 of 1 (f), none 1 of 1 (d).
    by_campaign = {
        r["label"]: str(r["acceptance_rate"]) for r in rows if r["section"] == "campaign"
    }
    assert by_campaign == {
        "Spring": "1 of 4 (25.0 %)",
        "Ebook": "0 of 1 (0.0 %)",
        "No campaign": "1 of 1 (100.0 %)",
    }


def test_disqualification_reasons_come_from_the_feedback_given_with_it(world):
    reasons = section(delivery.marketing_delivery(MARCH, NOW), "reason")
    # b: no budget; d: wrong persona; e: disqualified by the system without feedback.
    assert {k: r["leads"] for k, r in reasons.items()} == {
        "no_budget": 1,
        "wrong_persona": 1,
        "none": 1,
    }
    no_budget = delivery.FIGURES["reason:no_budget"].leads(MARCH, NOW)
    assert list(no_budget) == [world.b]


def test_pacing_reads_the_same_mqls_delivered_as_the_report(world):
    done = delivery.delivered(MARCH.start, MARCH.end, NOW)
    # The same six MQLs, two accepted (33.33… → 33.3 %) and 10,800 of pipeline.
    assert done["mqls"] == m.MQLS_DELIVERED.total(MARCH, NOW) == 6
    assert (done["sales_accepted"], done["acceptance_rate"]) == (2, Decimal("33.3"))
    assert done["pipeline_amount"] == Decimal("10800.00")


def test_pipeline_says_how_many_deals_on_how_many_leads(world):
    figures = section(pipeline_contribution(MARCH, NOW), "figure")
    # a: 10,000; d: 300 (lost when disqualified) and 500 after it was reopened.
    assert str(figures["pipeline"]["deals"]) == "3 deals on 2 leads"
    assert figures["pipeline"]["amount"] == Decimal("10800.00")
    # Only a's deal had touch points before it opened (Spring on T0, Ebook on day 2).
    assert (figures["influenced"]["deals"], figures["influenced"]["amount"]) == (
        1,
        Decimal("10000.00"),
    )
    assert str(figures["unattributed"]["deals"]) == "2 deals on 1 lead"


def test_first_last_and_linear_differ_when_forms_and_lists_carry_campaigns(world):
    credit = section(pipeline_contribution(MARCH, NOW), "attribution")
    spring, ebook = credit[world.spring.pk], credit[world.ebook.pk]
    # a's 10,000: first touch Spring (T0), last Ebook (day 2), linear 5,000 each.
    assert (spring["first"], spring["last"], spring["linear"]) == (
        Decimal("10000.00"),
        Decimal("0.00"),
        Decimal("5000.00"),
    )
    assert (ebook["first"], ebook["last"], ebook["linear"]) == (
        Decimal("0.00"),
        Decimal("10000.00"),
        Decimal("5000.00"),
    )
    # d's 300 + 500 had no touch point: unattributed; every column adds up to 10,800.
    assert credit["unattributed"]["linear"] == Decimal("800.00")
    for model in ("first", "last", "linear"):
        assert sum(r[model] for r in credit.values()) == Decimal("10800.00")


def test_campaign_cost_is_prorated_to_the_days_of_the_range(world):
    # Spring: 3,100 over 1–31 March, all inside March: 3,100.00. Ebook: 600 over 15 Feb to
    # 15 April (14 + 31 + 15 = 60 days), 31 of them in March: 600 × 31 / 60 = 310.00.
    assert campaign_cost(world.spring, MARCH) == Decimal("3100.00")
    assert campaign_cost(world.ebook, MARCH) == Decimal("310.00")
    first_week = ReportFilters(start_day=dt.date(2026, 3, 1), end_day=dt.date(2026, 3, 7))
    # 3,100 × 7 / 31 = 700.00; 1,000 over three days, one in the range: 333.33.
    assert campaign_cost(world.spring, first_week) == Decimal("700.00")
    short = Campaign(
        cost=Decimal("1000"), starts_on=dt.date(2026, 3, 7), ends_on=dt.date(2026, 3, 9)
    )
    assert campaign_cost(short, first_week) == Decimal("333.33")
    assert campaign_cost(Campaign(cost=Decimal("5")), first_week) is None
    costs = section(pipeline_contribution(MARCH, NOW), "cost")
    # Ebook's 310.00 over its one lead (f), one MQL and no SQL.
    assert (costs[world.ebook.pk]["cost_per_mql"], costs[world.ebook.pk]["cost_per_sql"]) == (
        Decimal("310.00"),
        None,
    )
    # Spring: 3,100.00 over 4 MQLs = 775.00, over 1 SQL (a) = 3,100.00.
    assert costs[world.spring.pk]["cost_per_mql"] == Decimal("775.00")


@pytest.mark.parametrize(
    ("amount", "points", "shares"),
    [
        # 1,000,000 cents ÷ 3 = 333,333 rest 1: 3,333.33 twice, the last 3,333.34.
        ("10000", 3, ["3333.33", "3333.33", "3333.34"]),
        # 1 cent ÷ 2 = 0 rest 1: nothing to the first, the cent to the last.
        ("0.01", 2, ["0.00", "0.01"]),
        # 100,000,001 cents ÷ 7 = 14,285,714 rest 3: 142,857.14 six times, the last
        # 100,000,001 − 6 × 14,285,714 = 14,285,717 → 142,857.17.
        ("1000000.01", 7, ["142857.14"] * 6 + ["142857.17"]),
    ],
)
def test_linear_shares_are_exact_cents_that_add_up_to_the_deal(rep, amount, points, shares):
    channel = ChannelFactory(slug="forms", is_marketing_sourced=True)
    campaigns = [Campaign.objects.create(name=f"C{i}", channel=channel) for i in range(points)]
    for i, campaign in enumerate(campaigns):
        (lead,) = take_in(channel, campaign, ["buyer@x.test"], day(i))
    services.assign(fresh(lead), rep, by=None, at=day(points))
    services.log_touch(fresh(lead), by=rep, kind="call", at=day(points + 0.1))
    services.run_transition(fresh(lead), "accept", by=rep, at=day(points + 0.2))
    services.run_transition(
        fresh(lead), "open_opportunity", by=rep, amount=amount, at=day(points + 1)
    )

    credit = m.attribution(MARCH, NOW)
    assert [credit[c.pk]["linear"] for c in campaigns] == [Decimal(s) for s in shares]
    assert sum(credit[c.pk]["linear"] for c in campaigns) == Decimal(amount)
    assert credit[campaigns[0].pk]["first"] == credit[campaigns[-1].pk]["last"] == Decimal(amount)


def test_twelve_deals_on_eleven_leads(rep, ops, marketer):
    leads = [LeadFactory(stage="sql", owner=rep) for _ in range(11)]
    for i, lead in enumerate(leads):
        services.run_transition(lead, "open_opportunity", by=rep, amount="100", at=day(i / 10))
    # The first lead's deal is lost, the lead reopened and worked again: a second deal.
    again = fresh(leads[0])
    services.run_transition(again, "disqualify", by=rep, reason="Went quiet", at=day(2))
    services.run_transition(fresh(again), "reopen", by=ops, at=day(3))
    services.run_transition(fresh(again), "hand_raise", by=marketer, at=day(4))
    services.log_touch(fresh(again), by=rep, kind="call", at=day(5))
    services.run_transition(fresh(again), "accept", by=rep, at=day(6))
    services.run_transition(fresh(again), "open_opportunity", by=rep, amount="50", at=day(7))

    figures = section(pipeline_contribution(MARCH, NOW), "figure")
    assert str(figures["pipeline"]["deals"]) == "12 deals on 11 leads"
    # 11 × 100 + 50.
    assert figures["pipeline"]["amount"] == Decimal("1150.00")
    assert m.PIPELINE.deals.leads(MARCH, NOW).count() == 11


def test_one_on_one_follows_the_handed_over_leads(world):
    rows = one_on_one(MARCH, NOW)
    summary = section(rows, "summary")[None]
    # Handed over: the six MQLs. Touched since: a, d. Open and never touched: b (an MQL
    # again after reopening) and c (on the desk); e is closed and f in nurture.
    assert (summary["handed_over"], summary["touched"], summary["untouched_open"]) == (6, 2, 2)
    # Disqualified since: b, d, e; nurture now: f; won: a; deals: a's and d's two.
    assert (summary["disqualified"], summary["nurture"], summary["won"]) == (3, 1, 1)
    assert str(summary["deals"]) == "3 deals on 2 leads"
    assert summary["pipeline_amount"] == Decimal("10800.00")
    assert str(summary["acceptance_rate"]) == "2 of 6 (33.3 %)"
    reasons = section(rows, "reason")
    assert {k: r["leads"] for k, r in reasons.items()} == {
        "no_budget": 1,
        "wrong_persona": 1,
        "none": 1,
    }
    figure = m.ONE_ON_ONE_FIGURES["reason:wrong_persona"]
    assert list(figure.leads(MARCH, NOW)) == [world.d]
    assert list(m.ONE_ON_ONE_FIGURES["title:CTO"].leads(MARCH, NOW)) == [world.d]


def test_the_range_starts_the_cohort(world):
    # From day 5 (15 March) on, only b (MQL again on day 5) and f (day 6) were handed over.
    later = ReportFilters(start_day=dt.date(2026, 3, 15), end_day=dt.date(2026, 3, 31))
    assert set(m.HANDED_OVER.leads(later, NOW)) == {world.b, world.f}
    assert T0.date() < later.start_day


def test_an_mql_counts_for_the_rep_who_received_it_or_the_lead_desk(world, rep, other_rep):
    # Every take-in here went to the lead desk (no routing rule). a, b, d and f were then
    # assigned to rep: she received them. b came back as an MQL on day 5 held by
    # rep-west: his too. c and e were never assigned: the lead desk's.
    assert m.MQLS_DELIVERED.by("rep", MARCH, NOW) == {rep.pk: 4, other_rep.pk: 1, None: 2}
    assert set(m.MQLS_DELIVERED.leads(MARCH.with_(rep=DESK), NOW)) == {world.c, world.e}
    east = rep.rep_profile.team_id
    assert set(m.MQLS_DELIVERED.leads(MARCH.with_(team=east), NOW)) == {
        world.a,
        world.b,
        world.d,
        world.f,
    }
    # Accepted, for the same receivers: a and d, both rep's.
    assert m.MQLS_ACCEPTED.by("rep", MARCH, NOW) == {rep.pk: 2}


def test_a_disqualification_without_feedback_keeps_no_reason_after_a_later_one(rep, ops, marketer):
    # Disqualified on day 1 without feedback, reopened on day 2, an MQL again, then
    # disqualified on day 4 with "no budget": two rows, one lead each.
    channel = ChannelFactory(slug="forms", is_marketing_sourced=True)
    (lead,) = take_in(channel, None, ["twice@x.test"], T0)
    services.run_transition(fresh(lead), "disqualify", by=None, reason="Spam", at=day(1))
    services.run_transition(fresh(lead), "reopen", by=ops, at=day(2))
    services.run_transition(fresh(lead), "hand_raise", by=marketer, at=day(3))
    services.disqualify_with_feedback(
        fresh(lead), by=None, reason="Budget", fit="poor", feedback_reason="no_budget", at=day(4)
    )
    assert m.reason_counts(m.DISQUALIFIED.events(MARCH, NOW)) == {"none": 1, "no_budget": 1}


def test_since_the_hand_over_starts_at_the_mql_delivered(rep, other_rep, ops, marketer):
    # One lead, two MQLs in March. The first, on the desk at T0, is disqualified as junk
    # on day 1: not an MQL delivered. Reopened on day 2, it raises its hand on day 3 and
    # rep receives it (assigned at once); she disqualifies it on day 4 with feedback.
    # Handed over: the lead once; disqualified since: day 4 only — the junk verdict of
    # day 1 came before any MQL delivered.
    channel = ChannelFactory(slug="forms", is_marketing_sourced=True)
    (lead,) = take_in(channel, None, ["twice@x.test"], T0)
    services.mark_junk(fresh(lead), by=ops, at=day(1))
    services.run_transition(fresh(lead), "reopen", by=ops, at=day(2))
    services.run_transition(fresh(lead), "hand_raise", by=marketer, at=day(3))
    services.assign(fresh(lead), rep, by=None, at=day(3))
    services.disqualify_with_feedback(
        fresh(lead), by=rep, reason="Budget", fit="poor", feedback_reason="no_budget", at=day(4)
    )
    assert list(m.HANDED_OVER.leads(MARCH, NOW)) == [lead]
    assert [e.at for e in m.ONE_ON_ONE_DQ.events(MARCH, NOW)] == [day(4)]
    summary = section(one_on_one(MARCH, NOW), "summary")[None]
    assert summary["disqualified"] == 1
    assert {r["key"]: r["leads"] for r in section(one_on_one(MARCH, NOW), "reason").values()} == {
        "no_budget": 1
    }


def test_a_reps_hand_over_starts_at_the_mql_she_received(rep, other_rep, ops, marketer):
    # The lead's first MQL (T0) went to rep-west, who disqualified it on day 1 (no junk);
    # reopened on day 2 and given to rep, its second MQL (day 3) is hers; she disqualified
    # it on day 4.
    # For rep, the hand-over is day 3's: one disqualification since (day 4); for
    # rep-west, T0's: both (day 1 and day 4, the lead's events since he received it).
    channel = ChannelFactory(slug="forms", is_marketing_sourced=True)
    (lead,) = take_in(channel, None, ["twice@x.test"], T0)
    services.assign(fresh(lead), other_rep, by=None, at=T0)
    services.run_transition(fresh(lead), "disqualify", by=other_rep, reason="Quiet", at=day(1))
    services.run_transition(fresh(lead), "reopen", by=ops, at=day(2))
    services.assign(fresh(lead), rep, by=None, at=day(2.5))
    services.run_transition(fresh(lead), "hand_raise", by=marketer, at=day(3))
    services.run_transition(fresh(lead), "disqualify", by=rep, reason="Budget", at=day(4))
    mine = MARCH.with_(rep=rep.pk)
    assert [e.at for e in m.ONE_ON_ONE_DQ.events(mine, NOW)] == [day(4)]
    his = MARCH.with_(rep=other_rep.pk)
    assert [e.at for e in m.ONE_ON_ONE_DQ.events(his, NOW)] == [day(1), day(4)]
