"""Report pages, exports and drill-downs: roles, agreement between page, file and query,
formula escaping and query counts."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pytest

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
