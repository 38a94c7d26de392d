"""The sales activity, scoreboard and trends pages on the ledger world: page, file and
query agree, who sees what, and query counts (numbers from tests/reports/sales_world)."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from reports.tables import REPORTS, display, export_value, rows_of
from tests.reports.test_views import Cells, csv_blocks

from .sales_world import NOW, T0, clock_world, give, mql, rule_agreement
from .test_sales_figures import MARCH

RANGE = "start=2026-03-01&end=2026-03-31"
__all__ = ["clock_world", "rule_agreement"]


def lead_ids(html: str) -> set[int]:
    return {int(x) for x in re.findall(r'data-lead="(\d+)"', html)}


@pytest.mark.parametrize("key", ["sales", "scoreboard"])
def test_page_export_and_query_show_the_same_numbers(client, ops, clock_world, key, time_machine):
    time_machine.move_to(NOW, tick=False)
    report = REPORTS[key]
    rows = report.query(MARCH, NOW)
    client.force_login(ops)
    parser = Cells()
    parser.feed(client.get(f"/reports/{key}/?{RANGE}").content.decode())
    blocks = csv_blocks(client.get(f"/reports/{key}/export.csv?{RANGE}").content)
    checked = 0
    for section in report.sections_of(rows):
        shown = rows_of(section, rows)
        block = blocks[section.title]
        assert len(block) - 1 == len(shown)
        for line, row in zip(block[1:], shown, strict=True):
            row_id = f"{row['section']}:{row['key']}"
            for cell, column in zip(line, section.columns, strict=True):
                value = column.value(row)
                assert parser.cells[(section.key, row_id, column.key)] == display(
                    value, column.kind
                )
                assert cell == str(export_value(value, column.kind))
                checked += 1
    assert checked > 20


def test_sales_page_shows_the_hand_worked_figures(client, manager, clock_world, time_machine):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)
    parser = Cells()
    parser.feed(client.get(f"/reports/sales/?{RANGE}").content.decode())
    a = f"rep:{clock_world.a.pk}"
    assert parser.cells[("rep", a, "assigned")] == "5"  # L1, L2, L4, L5, L6
    assert parser.cells[("rep", a, "untouched_1")] == "1"  # L6
    assert parser.cells[("rep", a, "sla_met_share")] == "3 of 5 (60.0 %)"
    # A's waits 1, 1, 1, 5 h: median 1 h, p90 5 h.
    assert parser.cells[("rep", a, "customer_wait_p90")] == "5.00 h"
    assert parser.cells[("rep", "rep:0", "sla_breached")] == "1"  # L3 on the desk
    assert parser.cells[("total", "total:None", "sla_breached")] == "3"


def test_xlsx_export_has_a_sheet_per_section_with_numbers(
    client, manager, clock_world, time_machine
):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)
    response = client.get(f"/reports/sales/export.xlsx?{RANGE}")
    book = load_workbook(io.BytesIO(response.content))
    sheet = book["By rep"]
    header = [c.value for c in sheet[2]]
    rows = {r[0].value: [c.value for c in r] for r in sheet.iter_rows(min_row=3)}
    name = clock_world.a.get_full_name() or clock_world.a.username
    assert rows[name][header.index("Leads assigned")] == 5
    assert rows["Lead desk"][header.index("SLA breached")] == 1


def test_a_rep_sees_only_their_own_numbers_whatever_the_url_says(client, clock_world, time_machine):
    time_machine.move_to(NOW, tick=False)
    w = clock_world
    client.force_login(w.a)
    west = w.c.rep_profile.team_id
    page = client.get(f"/reports/sales/?{RANGE}&rep={w.c.pk}&team={west}")
    parser = Cells()
    parser.feed(page.content.decode())
    assert {row for (section, row, _c) in parser.cells if section == "rep"} == {f"rep:{w.a.pk}"}
    assert parser.cells[("total", "total:None", "assigned")] == "5"
    drill = client.get(f"/reports/sales/leads/?{RANGE}&metric=assigned&rep={w.c.pk}")
    html = drill.content.decode()
    # Her five assignments; L2 and L4 are B's now: counted, not listed to her.
    assert lead_ids(html) == {w.l1.pk, w.l5.pk, w.l6.pk}
    assert 'data-testid="drill-total">5<' in html


def test_the_desk_row_links_to_the_leads_breached_on_the_desk(
    client, manager, clock_world, time_machine
):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)
    page = client.get(f"/reports/sales/?{RANGE}").content.decode()
    link = (
        "/reports/sales/leads/?start=2026-03-01&amp;end=2026-03-31"
        "&amp;rep=0&amp;metric=sla_breached"
    )
    assert link in page
    drill = client.get(link.replace("&amp;", "&"))
    assert drill.status_code == 200
    # L3 is West's now: counted for the desk, not listed to East's manager.
    assert 'data-testid="drill-total">1<' in drill.content.decode()
    assert "1 of them is outside what you may open" in drill.content.decode()


def test_drilldown_page_lists_the_leads_with_the_same_filters(
    client, manager, clock_world, time_machine
):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)
    page = client.get(f"/reports/sales/?{RANGE}").content.decode()
    link = (
        "/reports/sales/leads/?start=2026-03-01&amp;end=2026-03-31"
        f"&amp;rep={clock_world.a.pk}&amp;metric=untouched_1"
    )
    assert link in page
    drill = client.get(link.replace("&amp;", "&")).content.decode()
    assert lead_ids(drill) == {clock_world.l6.pk}


# --- Query counts ------------------------------------------------------------------------

# The scoreboard counts each of its four periods' delivery figures in four queries: new
# leads; MQLs delivered and accepted; the closing entries (junk, disqualified, closed,
# traceable), each pair or set a base `tally_together` counts in one pass; the pipeline.
QUERIES = {"sales": 26, "scoreboard": 41, "trends": 11}


@pytest.mark.parametrize("key", list(QUERIES))
def test_report_pages_run_a_fixed_number_of_queries(
    client,
    marketer,
    manager,
    rep,
    clock_world,
    django_assert_num_queries,
    key,
    time_machine,
    settings,
):
    time_machine.move_to(NOW, tick=False)
    # The report's own queries: taking a turn and capping parallel workers add a fixed few
    # on Postgres (tests/test_in_turns.py), none on SQLite.
    settings.REPORTS_AT_ONCE, settings.REPORT_PARALLEL_WORKERS = 0, None
    client.force_login(manager)
    client.get(f"/reports/{key}/?{RANGE}")  # warm the session and caches
    with django_assert_num_queries(QUERIES[key]):
        assert client.get(f"/reports/{key}/?{RANGE}").status_code == 200
    # More leads and reps, the same number of queries.
    for _ in range(3):
        give(mql(marketer, T0), rep, manager, T0)
    with django_assert_num_queries(QUERIES[key]):
        assert client.get(f"/reports/{key}/?{RANGE}").status_code == 200


def test_drilldown_runs_a_fixed_number_of_queries(
    client, manager, clock_world, django_assert_num_queries, time_machine, settings
):
    time_machine.move_to(NOW, tick=False)
    # The drill-down's own queries: its turn adds a fixed few on Postgres (see above).
    settings.REPORTS_AT_ONCE, settings.REPORT_PARALLEL_WORKERS = 0, None
    client.force_login(manager)
    url = f"/reports/sales/leads/?{RANGE}&metric=sla_met"
    client.get(url)
    with django_assert_num_queries(8):
        client.get(url)
