"""The marketing reports' pages and files: the same numbers as the figures, units in the
headers, escaped cells and a fixed number of queries."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from leads.models import Campaign
from reports.exports import CURRENCY, header
from reports.tables import REPORTS, display, export_value, rows_of
from tests.reports.marketing_world import MARCH, NOW, build, day, take_in
from tests.reports.test_views import Cells, csv_blocks

pytestmark = pytest.mark.django_db

RANGE = "start=2026-03-01&end=2026-03-31"
MARKETING_REPORTS = ("delivery", "pipeline", "one_on_one")


@pytest.fixture
def world(rep, other_rep, marketer, ops):
    return build(rep, other_rep, marketer, ops)


@pytest.mark.parametrize("key", MARKETING_REPORTS)
def test_page_export_and_figures_show_the_same_numbers(client, manager, world, key, time_machine):
    time_machine.move_to(NOW, tick=False)
    report = REPORTS[key]
    client.force_login(manager)
    page = client.get(f"/reports/{key}/?{RANGE}")
    rows = report.query(MARCH, NOW)
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
            for cell, column in zip(line, section.columns, strict=True):
                value = column.value(row)
                cell_id = (section.key, f"{row['section']}:{row['key']}", column.key)
                assert parser.cells[cell_id] == display(value, column.kind)
                assert cell == str(export_value(value, column.kind))
                checked += 1
    assert checked > 20


def test_exports_name_the_unit_of_every_amount_time_and_rate(client, manager, world):
    client.force_login(manager)
    blocks = csv_blocks(client.get(f"/reports/delivery/export.csv?{RANGE}").content)
    total = blocks["All marketing leads"]
    assert f"Pipeline opened ({CURRENCY})" in total[0]
    assert "Acceptance rate (MQL → SQL) (%)" in total[0]
    # The rate is a number in the file (2 of 6 = 33.3 %), its "n of m" on the page.
    assert total[1][total[0].index("Acceptance rate (MQL → SQL) (%)")] == "33.3"
    one = csv_blocks(client.get(f"/reports/one_on_one/export.csv?{RANGE}").content)
    assert "Median customer wait (business hours)" in one["Handed over and what sales did"][0]
    response = client.get(f"/reports/pipeline/export.xlsx?{RANGE}")
    book = load_workbook(io.BytesIO(response.content))
    heads = [c.value for c in book["Campaign cost"][2]]
    assert f"Cost in the range ({CURRENCY})" in heads


def test_exports_escape_cells_that_a_spreadsheet_would_run(client, manager, world):
    evil = Campaign.objects.create(name='=HYPERLINK("http://evil")', channel=world.channel)
    take_in(world.channel, evil, ["evil@x.test"], day(1))
    client.force_login(manager)
    text = client.get(f"/reports/delivery/export.csv?{RANGE}").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text and '"=HYPERLINK' not in text
    book = load_workbook(io.BytesIO(client.get(f"/reports/delivery/export.xlsx?{RANGE}").content))
    values = [c.value for c in book["By campaign"]["A"]]
    assert '\'=HYPERLINK("http://evil")' in values
    assert not any(isinstance(v, str) and v.startswith("=") for v in values)


def test_an_xlsx_export_holds_a_name_with_a_control_character(client, manager, world):
    # A vertical tab pasted into a campaign's name: openpyxl refuses it in a cell (the
    # export answered 500); the sheet has a space there, the CSV keeps the name as it is.
    spring = Campaign.objects.create(name="Spring\x0bWebinar", channel=world.channel)
    take_in(world.channel, spring, ["tab@x.test"], day(1))
    client.force_login(manager)
    response = client.get(f"/reports/delivery/export.xlsx?{RANGE}")
    assert response.status_code == 200
    values = [c.value for c in load_workbook(io.BytesIO(response.content))["By campaign"]["A"]]
    assert "Spring Webinar" in values
    text = client.get(f"/reports/delivery/export.csv?{RANGE}").content.decode("utf-8-sig")
    assert "Spring\x0bWebinar" in text


@pytest.mark.parametrize("key", MARKETING_REPORTS)
def test_report_pages_run_as_many_queries_for_more_leads(
    client, manager, world, key, django_assert_max_num_queries, time_machine
):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)
    url = f"/reports/{key}/?{RANGE}"
    client.get(url)
    with django_assert_max_num_queries(200) as first:
        assert client.get(url).status_code == 200
    more = [f"more{i}@x.test" for i in range(10)]
    take_in(world.channel, world.ebook, more, day(9))
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert client.get(url).status_code == 200
