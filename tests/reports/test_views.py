"""Report pages, exports and drill-downs: roles, agreement between page, file and query,
formula escaping and query counts."""

from __future__ import annotations

import csv
import datetime as dt
import io
from html.parser import HTMLParser

import pytest

from reports.filters import default_range, filters_from

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


def test_the_rep_filter_form_has_no_team_or_rep_choice(client, sales_world):
    client.force_login(sales_world.a)
    page = client.get(f"/reports/sales/?{RANGE}").content.decode()
    assert 'name="rep"' not in page and 'name="team"' not in page


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


@pytest.mark.parametrize("key", ["sales", "delivery", "pipeline", "scoreboard", "one_on_one"])
@pytest.mark.parametrize(
    "query",
    [
        "start=2026-03-01&end=9999-12-31",  # the day after the end is no date
        "start=0001-01-01&end=2026-03-31",  # the scoreboard's ranges before it are none
        "start=1969-12-31&end=2200-01-01",
        "start=2026-03-01&end=2026-03-31&team=99999999999999999999&campaign=%C2%B2",
    ],
)
def test_dates_and_ids_out_of_bounds_fall_back_to_defaults(client, ops, key, query):
    client.force_login(ops)
    for path in (
        f"/reports/{key}/?{query}",
        f"/reports/{key}/export.csv?{query}",
        f"/reports/{key}/leads/?{query}&metric=mqls",
    ):
        assert client.get(path).status_code in (200, 404), path


def test_a_date_out_of_bounds_is_read_as_the_default():
    today = dt.date(2026, 3, 15)
    f = filters_from({"start": "0001-01-01", "end": "9999-12-31", "team": "9" * 25}, today=today)
    assert (f.start_day, f.end_day, f.team) == (*default_range(today), None)
    f = filters_from({"start": "1970-01-01", "end": "2199-12-31"}, today=today)
    assert (f.start_day, f.end_day) == (dt.date(1970, 1, 1), dt.date(2199, 12, 31))
    assert len({p.start_day for p in [f, f.previous(), f.previous().previous()]}) == 3
