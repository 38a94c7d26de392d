"""Sales figures over the ledger, each against a hand count (see tests/reports/sales_world)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from leads import services
from reports import scoreboard
from reports.figures.base import nearest_rank
from reports.figures.sales import (
    FIRST_TOUCHED,
    SLA_BREACHED,
    SLA_DECIDED,
    SLA_MET,
    TOUCHES,
    not_yet,
    untouched,
)
from reports.filters import DESK, ReportFilters
from reports.models import ReportSnapshot
from reports.sales import sales_activity
from reports.scoreboard import sla_scoreboard
from reports.services import take_snapshot
from reports.tables import REPORTS
from reports.trends import trends

from .sales_world import NOW, T0, clock_world, give, mql, rule_agreement, touch

pytestmark = pytest.mark.django_db

MARCH = ReportFilters(start_day=dt.date(2026, 3, 1), end_day=dt.date(2026, 3, 31))
__all__ = ["clock_world", "rule_agreement"]


def row(rows, section, key):
    [found] = [r for r in rows if r["section"] == section and r["key"] == key]
    return found


def test_each_clock_counts_once_for_the_owner_at_its_due_time_and_the_desk_is_a_row(
    clock_world,
):
    w = clock_world
    # Met: L1, L5 (first clock), L6 for A (owner at the touch, even the manager's); L2
    # for B, who held it at the touch. Breached: L4 for A (held at 14:00, moved later),
    # L5's second clock for A, L3 for the desk (nobody owned it at 14:00).
    assert SLA_MET.by("rep", MARCH, NOW) == {w.a.pk: 3, w.b.pk: 1}
    assert SLA_BREACHED.by("rep", MARCH, NOW) == {w.a.pk: 2, None: 1}
    assert set(SLA_BREACHED.leads(MARCH.with_(rep=DESK), NOW)) == {w.l3}
    # 4 met of 7 decided in all.
    assert (SLA_MET.total(MARCH, NOW), SLA_DECIDED.total(MARCH, NOW)) == (4, 7)


def test_a_reopened_lead_counts_both_its_clocks(clock_world):
    w = clock_world
    # L5: met on 10 March, back as an MQL on 17 March and breached: 2 clocks, 1 lead.
    a = MARCH.with_(rep=w.a.pk)
    decided = SLA_DECIDED.tally(None, a, NOW)[None]
    assert (int(decided), decided.leads) == (5, 4)  # L1, L4, L5 ×2, L6
    assert str(decided) == "5 clocks on 4 leads"
    rows = sales_activity(MARCH, NOW)
    assert str(row(rows, "rep", w.a.pk)["sla_met_share"]) == "3 of 5 (60.0 %)"
    assert str(row(rows, "total", None)["sla_met_share"]) == "4 of 7 (57.1 %)"


def test_a_breach_while_the_lead_sits_on_the_desk_counts_for_the_desk(clock_world):
    rows = sales_activity(MARCH, NOW)
    desk = row(rows, "rep", DESK)
    assert desk["label"] == "Lead desk"
    assert (int(desk["sla_breached"]), int(desk["sla_met"])) == (1, 0)
    assert str(desk["sla_met_share"]) == "0 of 1 (0.0 %)"
    # The rep who got it later (C) is not charged with it.
    assert int(row(rows, "rep", clock_world.c.pk)["sla_breached"]) == 0


def test_three_times_to_first_touch_with_a_reassignment(clock_world):
    w = clock_world
    # Business seconds (Berlin 09–17), per clock answered by a touch:
    #   L1 (A):  wait 1 h,  routing 0,   response 1 h
    #   L2 (B):  wait 3 h,  routing 2 h (to B at T0+2h), response 1 h
    #   L3 (C):  wait 6 h + 1 h next morning = 7 h, routing 6 h (to C at 17:00), response 1 h
    #   L5 (A):  1 h, 0, 1 h; and its second clock 5 h, 0, 5 h
    #   L6 (A, the manager's touch): 1 h, 0, 1 h
    first = FIRST_TOUCHED.events(MARCH, NOW)
    waits = nearest_rank(first, "customer_wait", None)[None]
    routing = nearest_rank(first, "routing_delay", None)[None]
    response = nearest_rank(first, "rep_response", None)[None]
    # Six clocks; median = rank ⌈3⌉ = 3rd, p90 = rank ⌈5.4⌉ = 6th.
    # Waits 1,1,1,3,5,7 h; routing 0,0,0,0,2,6 h; response 1,1,1,1,1,5 h.
    assert waits == {5: 3600, 9: 25200}
    assert routing == {5: 0, 9: 21600}
    assert response == {5: 3600, 9: 18000}
    # A's four clocks: waits 1,1,1,5 h: median rank 2 = 1 h, p90 rank 4 = 5 h.
    assert nearest_rank(first, "customer_wait", "rep")[w.a.pk] == {5: 3600, 9: 18000}
    rows = sales_activity(MARCH, NOW)
    b = row(rows, "rep", w.b.pk)
    assert (b["customer_wait_p50"], b["routing_delay_p50"], b["rep_response_p50"]) == (
        10800,
        7200,
        3600,
    )


def test_touches_count_only_the_holders(clock_world):
    w = clock_world
    # A: L1 twice, L5 twice; the manager's touch on A's L6 is not A's. B: L2; C: L3.
    assert TOUCHES.by("rep", MARCH, NOW) == {w.a.pk: 4, w.b.pk: 1, w.c.pk: 1}
    assert set(TOUCHES.leads(MARCH.with_(rep=w.a.pk), NOW)) == {w.l1, w.l5}


def test_untouched_counts_tenures_held_n_days_without_the_holders_touch(clock_world):
    w = clock_world
    # A: L6 (only the manager touched it). B: L4 (held from T0+6h, never touched).
    # Not L2 or L4 for A: A held them hours, not 30 days.
    for days in (30, 60, 90):
        assert untouched(days).by("rep", MARCH, NOW) == {w.a.pk: 1, w.b.pk: 1}
    assert set(untouched(30).leads(MARCH.with_(rep=w.a.pk), NOW)) == {w.l6}


def test_untouched_matures_and_a_past_range_does_not_grow(rule_agreement, marketer, manager, rep):
    lead = give(mql(marketer), rep, manager, T0)
    untouched_30, not_yet_30, untouched_60 = untouched(30), not_yet(30), untouched(60)
    # 1 April: 22 days held, not yet 30.
    april_1 = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    assert (untouched_30.total(MARCH, april_1), not_yet_30.total(MARCH, april_1)) == (0, 1)
    # 20 April: 41 days untouched: counts after 30, not yet 60.
    april_20 = dt.datetime(2026, 4, 20, tzinfo=dt.UTC)
    assert (untouched_30.total(MARCH, april_20), not_yet_30.total(MARCH, april_20)) == (1, 0)
    assert not_yet(60).total(MARCH, april_20) == 1
    # A touch on 1 May (day 52) and a reassignment on 2 May change nothing for 30 days,
    # and the tenure did not last 60 untouched days.
    touch(lead, rep, dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC))
    services.assign(lead, None, by=manager, at=dt.datetime(2026, 5, 2, 9, tzinfo=dt.UTC))
    assert untouched_30.total(MARCH, NOW) == 1
    assert untouched_60.total(MARCH, NOW) == 0


def test_untouched_counts_each_tenure_of_a_lead(rule_agreement, marketer, manager, rep, other_rep):
    # One lead, two tenures in the range, neither touched: the rep's from 10 March (41 days
    # to 20 April), the other rep's from 20 April (NOW is past 30 days of it). Per rep 1
    # and 1; everyone 2 tenures, on 1 lead — DESIGN counts tenures, the drill-down the lead.
    lead = give(mql(marketer), rep, manager, T0)
    give(lead, other_rep, None, dt.datetime(2026, 4, 20, 9, tzinfo=dt.UTC))
    spring = ReportFilters(start_day=dt.date(2026, 3, 1), end_day=dt.date(2026, 4, 30))
    rows = sales_activity(spring, NOW)
    assert {r["key"]: r["untouched_1"] for r in rows if r["section"] == "rep"} == {
        rep.pk: 1,
        other_rep.pk: 1,
    }
    [everyone] = [r for r in rows if r["section"] == "total"]
    assert (int(everyone["untouched_1"]), everyone["untouched_1"].leads) == (2, 1)
    assert str(everyone["untouched_1"]) == "2 tenures on 1 lead"
    assert list(untouched(30).leads(spring, NOW)) == [lead]


def test_the_page_says_clocks_on_leads_and_the_export_gives_hours(client, ops, clock_world):
    client.force_login(ops)
    query = "start=2026-03-01&end=2026-03-31"
    page = client.get(f"/reports/sales/?{query}").content.decode()
    # A's decided clocks: 5 on 4 leads (L5 twice); met 3 of them.
    assert "3 of 5 (60.0 %)" in page
    content = client.get(f"/reports/sales/export.csv?{query}").content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(content)))
    header = next(line for line in lines if "SLA breached" in line)
    everyone = next(line for line in lines if line and line[0] == "All")
    cells = {name.split(" (")[0]: value for name, value in zip(header, everyone, strict=True)}
    # Median wait 1 h, p90 7 h, in hours; breached clocks are a plain number in the file.
    assert cells["Customer wait, median"] == "1.00"
    assert cells["Customer wait, 90th percentile"] == "7.00"
    assert cells["SLA breached"] == "3"


def test_the_scoreboard_reads_the_same_sales_figures(clock_world):
    rows = {r["key"]: r for r in sla_scoreboard(MARCH, NOW)}
    # As on the sales activity page: 4 of 7 clocks met, 2 leads untouched after 30 days.
    assert str(rows["sla_met_share"]["p0_actual"]) == "4 of 7 (57.1 %)"
    assert rows["untouched_1"]["p0_actual"] == 2
    # Became Working in March: L1, L2, L3, L5 (twice), L6; only L1 had 2 touches within
    # 7 days of it (L5's second touch came 7 days and 4 hours later).
    assert str(rows["goal_share"]["p0_actual"]) == "1 of 5 (20.0 %)"
    reached = scoreboard.FIGURES["goal_share"]
    assert list(reached.leads(MARCH, NOW)) == [clock_world.l1]  # not L5, 4 hours late
    # February, the period before: nothing happened.
    assert str(rows["sla_met_share"]["p1_actual"]) == "0 of 0"
    assert rows["untouched_1"]["p1_kept"] is True


def test_the_scoreboard_says_clocks_on_leads_as_its_drilldown_lists_leads(
    client, ops, marketer, clock_world, time_machine
):
    w = clock_world
    # L1 comes back in March: nurtured on day 3, an MQL again on day 8, touched by A an
    # hour later — a second met clock on L1. Met: L1 twice, L2, L5 (its first), L6 = 5
    # clocks on 4 leads; decided 7 + 1 = 8.
    services.run_transition(
        w.l1, "nurture", by=w.a, return_on="2099-01-01", at=T0 + dt.timedelta(days=3)
    )
    w.l1.refresh_from_db()
    services.run_transition(w.l1, "hand_raise", by=marketer, at=T0 + dt.timedelta(days=8))
    touch(w.l1, w.a, T0 + dt.timedelta(days=8, hours=1))
    rows = {r["key"]: r for r in sla_scoreboard(MARCH, NOW)}
    assert str(rows["sla_met_share"]["p0_actual"]) == "5 clocks on 4 leads of 8 (62.5 %)"
    time_machine.move_to(NOW, tick=False)
    client.force_login(ops)
    [(_, url, text)] = [
        cell
        for cell in linked_cells(client, "scoreboard", "start=2026-03-01&end=2026-03-31")
        if cell[0] == "p0_actual" and "metric=sla_met_share" in cell[1]
    ]
    total = re.search(r'data-testid="drill-total">(\d+)<', client.get(url).content.decode())
    assert (text.startswith("5 clocks on 4 leads"), int(total.group(1))) == (True, 4)


def snapshot(day: dt.date, metric: str, dimension: str = "all", key: int = 0) -> int:
    found = ReportSnapshot.objects.get(date=day, dimension=dimension, key=key, metric=metric)
    return found.value


def test_the_daily_snapshot_and_trends_read_the_same_figures(clock_world):
    w = clock_world
    march_10 = dt.date(2026, 3, 10)
    take_snapshot(dt.datetime(2026, 3, 10, 23, tzinfo=dt.UTC))
    # Clocks due on 10 March: met L1, L2, L5 (first), L6; breached L3 (desk), L4 (A).
    assert (snapshot(march_10, "sla_met"), snapshot(march_10, "sla_breached")) == (4, 2)
    assert snapshot(march_10, "sla_breached", "rep", DESK) == 1
    assert snapshot(march_10, "sla_met", "rep", w.a.pk) == 3
    # 9 April is day 30 of the tenures that started on 10 March: A's L6 and B's L4.
    april_9 = dt.date(2026, 4, 9)
    take_snapshot(dt.datetime(2026, 4, 9, 23, tzinfo=dt.UTC))
    assert snapshot(april_9, "untouched_1") == 2
    assert snapshot(april_9, "untouched_1", "rep", w.b.pk) == 1
    april = ReportFilters(start_day=april_9, end_day=april_9, rep=w.a.pk)
    [day] = [r for r in trends(april, NOW) if r["section"] == "day"]
    assert day["untouched_1"] == 1


# --- Every linked number opens exactly the leads it counts -----------------------------

CELL = re.compile(r'<td data-col="([^"]+)"[^>]*><a href="([^"]+)">([^<]+)</a></td>')


def linked_cells(client, key: str, query: str) -> list[tuple[str, str, str]]:
    page = client.get(f"/reports/{key}/?{query}")
    assert page.status_code == 200
    return [
        (col, url.replace("&amp;", "&"), text)
        for col, url, text in CELL.findall(page.content.decode())
    ]


def leads_in(text: str) -> int:
    """The leads a cell's number stands for: "5 clocks on 4 leads" → 4, "3 of 5 (…)" → 3."""
    on = re.search(r"on (\d+) leads?", text)
    if on:
        return int(on.group(1))
    return int(re.match(r"\d+", text.replace(",", "")).group(0))


@pytest.mark.parametrize("key", ["sales", "scoreboard"])
def test_every_drilldown_lists_the_number_it_opens_from(
    client, ops, clock_world, key, time_machine
):
    time_machine.move_to(NOW, tick=False)
    client.force_login(ops)
    cells = linked_cells(client, key, "start=2026-03-01&end=2026-03-31")
    assert cells
    checked = set()
    for col, url, text in cells:
        drill = client.get(url)
        assert drill.status_code == 200, url
        total = re.search(r'data-testid="drill-total">(\d+)<', drill.content.decode())
        assert int(total.group(1)) == leads_in(text), (col, url, text)
        checked.add(col)
    if key == "sales":
        assert {"assigned", "untouched_1", "sla_met", "sla_breached", "touches"} <= checked
        desk = [url for _, url, _ in cells if "rep=0" in url]
        assert desk, "the lead desk row links"
    assert set(REPORTS[key].figures) >= {c.split("_p")[0] for c in checked if c == "assigned"}
