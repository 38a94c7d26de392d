"""Report pages, exports and drill-downs: roles, agreement between page, file and query,
formula escaping and query counts."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

from reports.exports import header
from reports.tables import REPORTS, display, export_value, rows_of
from tests.factories import LeadFactory
from tests.reports.conftest import MARCH, NOW, assign, at

RANGE = "start=2025-03-01&end=2025-03-31"
ALL = ["sales", "delivery", "pipeline", "scoreboard", "one_on_one", "trends"]


class Cells(HTMLParser):
    """{(section, row id, column): text} of every report table on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str, str], str] = {}
        self.section = self.row = self.col = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "data-section" in a:
            self.section = a["data-section"]
        elif tag == "tr" and "data-row" in a:
            self.row = a["data-row"]
        elif tag == "td" and "data-col" in a:
            self.col, self.text = a["data-col"], []

    def handle_data(self, data):
        if self.col is not None:
            self.text.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self.col is not None:
            self.cells[(self.section, self.row, self.col)] = "".join(self.text).strip()
            self.col = None


def csv_blocks(content: bytes) -> dict[str, list[list[str]]]:
    """Section title → [header, *rows] of a report CSV."""
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    blocks: dict[str, list[list[str]]] = {}
    current = None
    for line in lines[1:]:
        if not line:
            current = None
        elif current is None:
            current = line[0]
            blocks[current] = []
        else:
            blocks[current].append(line)
    return blocks


@pytest.mark.parametrize("key", ["sales"])
def test_page_export_and_query_show_the_same_numbers(
    client, manager, sales_world, key, time_machine
):
    time_machine.move_to(NOW, tick=False)
    report = REPORTS[key]
    rows = report.query(MARCH, NOW)
    client.force_login(manager)
    page = client.get(f"/reports/{key}/?{RANGE}")
    parser = Cells()
    parser.feed(page.content.decode())
    blocks = csv_blocks(client.get(f"/reports/{key}/export.csv?{RANGE}").content)
    checked = 0
    for section in report.sections_of(rows):
        shown = rows_of(section, rows)
        block = blocks[section.title]
        assert block[0] == [header(c) for c in section.columns]
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


def test_sales_page_shows_the_hand_worked_figures(client, manager, sales_world, time_machine):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)
    parser = Cells()
    parser.feed(client.get(f"/reports/sales/?{RANGE}").content.decode())
    row = f"rep:{sales_world.a.pk}"
    assert parser.cells[("rep", row, "assigned")] == "4"
    assert parser.cells[("rep", row, "untouched_1")] == "1"
    assert parser.cells[("rep", row, "ttft_median")] == "1.50 h"
    assert parser.cells[("rep", row, "sla_met_share")] == "50.0 %"


def test_xlsx_export_has_a_sheet_per_section_with_numbers(
    client, manager, sales_world, time_machine
):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)
    response = client.get(f"/reports/sales/export.xlsx?{RANGE}")
    book = load_workbook(io.BytesIO(response.content))
    assert "By rep" in book.sheetnames
    sheet = book["By rep"]
    header = [c.value for c in sheet[2]]
    rows = {r[0].value: [c.value for c in r] for r in sheet.iter_rows(min_row=3)}
    name = sales_world.a.get_full_name() or sales_world.a.username
    assert rows[name][header.index("Leads assigned")] == 4


# --- Who sees what --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("Sales manager", set(ALL)),
        ("Ops", set(ALL)),
        ("Marketing", {"delivery", "pipeline", "scoreboard", "one_on_one"}),
        ("Sales rep", {"sales"}),
    ],
)
def test_each_role_opens_only_its_reports(client, users_by_role, role, allowed):
    client.force_login(users_by_role[role])
    for key in ALL:
        for url in (
            f"/reports/{key}/?{RANGE}",
            f"/reports/{key}/export.csv?{RANGE}",
            f"/reports/{key}/leads/?{RANGE}&metric=assigned",
        ):
            expected = 200 if key in allowed else 403
            assert client.get(url).status_code == expected, (role, url)
    index = client.get("/reports/").content.decode()
    for key in ALL:
        assert (f'data-report="{key}"' in index) == (key in allowed)


def test_a_rep_sees_only_their_own_numbers_whatever_the_url_says(client, sales_world, time_machine):
    time_machine.move_to(NOW, tick=False)
    client.force_login(sales_world.a)
    page = client.get(f"/reports/sales/?{RANGE}&rep={sales_world.c.pk}&team={sales_world.west.pk}")
    parser = Cells()
    parser.feed(page.content.decode())
    reps = {row for (section, row, _c) in parser.cells if section == "rep"}
    assert reps == {f"rep:{sales_world.a.pk}"}
    assert parser.cells[("total", "total:None", "assigned")] == "4"
    csv_text = client.get(
        f"/reports/sales/export.csv?{RANGE}&rep={sales_world.c.pk}"
    ).content.decode()
    assert "Cy" not in csv_text
    drill = client.get(f"/reports/sales/leads/?{RANGE}&metric=assigned&rep={sales_world.c.pk}")
    ids = {int(x.split('"')[0]) for x in drill.content.decode().split('data-lead="')[1:]}
    # Her four assignments; L4 is B's now, so it is counted but not listed to her.
    assert ids == {lead.pk for lead in (sales_world.l1, sales_world.l2, sales_world.l3)}
    assert 'data-testid="drill-total">4<' in drill.content.decode()


def test_the_rep_filter_form_has_no_team_or_rep_choice(client, sales_world):
    client.force_login(sales_world.a)
    page = client.get(f"/reports/sales/?{RANGE}").content.decode()
    assert 'name="rep"' not in page and 'name="team"' not in page


def test_drilldown_page_lists_the_leads_with_the_same_filters(
    client, manager, sales_world, time_machine
):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)
    page = client.get(f"/reports/sales/?{RANGE}").content.decode()
    link = (
        "/reports/sales/leads/?start=2025-03-01&amp;end=2025-03-31"
        f"&amp;rep={sales_world.a.pk}&amp;metric=untouched_1"
    )
    assert link in page
    drill = client.get(link.replace("&amp;", "&")).content.decode()
    ids = {int(x.split('"')[0]) for x in drill.split('data-lead="')[1:]}
    assert ids == {sales_world.l3.pk}
    assert 'data-testid="drill-total">1<' in drill


def test_a_manager_is_not_shown_leads_of_teams_he_does_not_manage(
    client, manager, sales_world, time_machine
):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)
    drill = client.get(f"/reports/sales/leads/?{RANGE}&metric=untouched_1").content.decode()
    ids = {int(x.split('"')[0]) for x in drill.split('data-lead="')[1:]}
    # L5 is West's: counted in the figure (3) but not listed to East's manager.
    assert ids == {sales_world.l3.pk, sales_world.l4.pk}
    assert "1 of them is outside what you may open" in drill


def test_a_period_with_no_data_says_so(client, manager, sales_world):
    client.force_login(manager)
    page = client.get("/reports/delivery/?start=2025-01-01&end=2025-01-31").content.decode()
    assert 'data-testid="no-data"' not in page or "No data for this range" in page
    trends = client.get("/reports/trends/?start=2025-01-01&end=2025-01-31").content.decode()
    assert 'data-testid="no-data"' in trends


def test_bad_filters_fall_back_to_defaults(client, manager):
    client.force_login(manager)
    assert client.get("/reports/sales/?start=nonsense&team=abc&rep=-3").status_code == 200
    assert client.get("/reports/sales/export.pdf").status_code == 404
    assert client.get("/reports/nope/").status_code == 404


# --- Query counts ------------------------------------------------------------------------

# The marketing reports' counts: tests/reports/test_marketing_views.py.
QUERIES = {
    "sales": 15,
    "scoreboard": 14,
    "trends": 11,
}


@pytest.mark.parametrize("key", list(QUERIES))
def test_report_pages_run_a_fixed_number_of_queries(
    client, manager, sales_world, django_assert_num_queries, key, time_machine
):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)
    client.get(f"/reports/{key}/?{RANGE}")  # warm the session and caches
    with django_assert_num_queries(QUERIES[key]):
        assert client.get(f"/reports/{key}/?{RANGE}").status_code == 200
    # Twice the leads, the same number of queries.
    for lead in sales_world.leads:
        copy = LeadFactory(stage=lead.stage, channel=lead.channel, created_at=at(3, 2))
        assign(copy, lead.owner, at(3, 3))
    with django_assert_num_queries(QUERIES[key]):
        assert client.get(f"/reports/{key}/?{RANGE}").status_code == 200


def test_drilldown_runs_a_fixed_number_of_queries(
    client, manager, sales_world, django_assert_num_queries, time_machine
):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)
    url = f"/reports/sales/leads/?{RANGE}&metric=assigned"
    client.get(url)
    with django_assert_num_queries(11):
        client.get(url)
