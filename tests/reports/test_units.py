"""Units everywhere: amounts in the site's currency, one unit per chart axis, a unit in
every export heading that has one, and each table's definitions under it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from reports.exports import header
from reports.figures.base import CURRENCY
from reports.tables import REPORTS, display, export_value
from tests.reports import conftest as worlds
from tests.reports.marketing_world import MARCH, NOW, build
from tests.reports.test_views import Cells, csv_blocks

pytestmark = pytest.mark.django_db

RANGE = "start=2026-03-01&end=2026-03-31"
ROOT = Path(__file__).resolve().parents[2]
agreement = worlds.agreement


@pytest.fixture
def world(agreement, rep, other_rep, marketer, ops):
    """The marketing reports' world under an agreement with a commitment."""
    return build(rep, other_rep, marketer, ops)


def test_amounts_show_the_currency_without_empty_cents():
    assert display(Decimal("25000.00"), "money") == f"25,000 {CURRENCY}"
    assert display(Decimal("12.345"), "money") == f"12.35 {CURRENCY}"
    assert display(Decimal("15.50"), "number") == "15.5"
    # The file keeps the number; its heading names the currency.
    assert export_value(Decimal("25000.00"), "money") == Decimal("25000.00")


def test_the_currency_is_a_setting_read_from_the_environment():
    code = "import django; django.setup(); from django.conf import settings; "
    code += "print(settings.ACCORD_CURRENCY)"
    env = {**os.environ, "ACCORD_CURRENCY": "CHF", "DJANGO_SETTINGS_MODULE": "config.settings"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.stdout.strip().splitlines()[-1] == "CHF", out.stderr
    assert "`ACCORD_CURRENCY`" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("key", ["delivery", "pipeline", "one_on_one", "scoreboard"])
def test_every_export_heading_with_a_unit_says_it(client, manager, world, key, time_machine):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)
    blocks = csv_blocks(client.get(f"/reports/{key}/export.csv?{RANGE}").content)
    report = REPORTS[key]
    checked = 0
    for section in report.sections_of(report.query(MARCH, NOW)):
        heads = blocks[section.title][0]
        for column, head in zip(section.columns, heads, strict=True):
            assert head == header(column)
            if column.kind in ("money", "hours", "pct", "rate"):
                assert head.endswith(")"), head
                checked += 1
    assert checked or key == "scoreboard"  # its figure columns: units in row labels
    one = csv_blocks(client.get(f"/reports/one_on_one/export.csv?{RANGE}").content)
    assert "Median customer wait (business hours)" in one["Handed over and what sales did"][0]


def test_the_commitment_shows_each_row_in_its_unit(client, manager, world, time_machine):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)
    parser = Cells()
    parser.feed(client.get(f"/reports/delivery/?{RANGE}").content.decode())
    cells = parser.cells
    # The agreement commits 10,000 of pipeline a month and a minimum acceptance rate.
    assert cells[("commitment", "commitment:pipeline_amount", "target")] == f"10,000 {CURRENCY}"
    assert cells[("commitment", "commitment:acceptance_rate", "target")].endswith(" %")
    assert not cells[("commitment", "commitment:mqls", "target")].endswith((CURRENCY, "%"))
    # Amounts in every other table carry the currency too.
    assert cells[("total", "total:None", "pipeline_amount")].endswith(f" {CURRENCY}")


def _charts(html: str) -> dict[str, dict]:
    found = re.findall(r'<script id="(chart-[^"]+)" type="application/json">(.*?)</script>', html)
    return {chart_id: json.loads(body) for chart_id, body in found}


def test_counts_money_and_rates_never_share_a_chart_axis(client, manager, world, time_machine):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)
    html = client.get(f"/reports/delivery/?{RANGE}").content.decode()
    charts = _charts(html)
    commitment = {k: v for k, v in charts.items() if k.startswith("chart-commitment-")}
    assert set(commitment) == {
        "chart-commitment-count",
        "chart-commitment-money",
        "chart-commitment-pct",
    }
    money = commitment["chart-commitment-money"]
    assert money["data"]["labels"] == [f"Pipeline amount ({CURRENCY})"]
    assert money["options"]["scales"]["y"]["title"]["text"] == CURRENCY
    assert "Pipeline amount" not in str(commitment["chart-commitment-count"]["data"]["labels"])
    # Every chart on every page names its axis's unit.
    for key in ("delivery", "pipeline", "one_on_one", "scoreboard"):
        page = client.get(f"/reports/{key}/?{RANGE}").content.decode()
        for config in _charts(page).values():
            scales = config["options"]["scales"]
            assert any(axis.get("title", {}).get("text") for axis in scales.values()), key


@pytest.mark.parametrize("key", list(REPORTS))
def test_every_table_has_its_definitions_under_it(client, manager, world, key, time_machine):
    time_machine.move_to(NOW, tick=False)
    report = REPORTS[key]
    sections = report.sections_of(report.query(MARCH, NOW))
    assert all(section.note for section in sections), [s.key for s in sections if not s.note]
    client.force_login(manager)
    html = client.get(f"/reports/{key}/?{RANGE}").content.decode()
    for block in html.split('<section class="card report-section"')[1:]:
        assert block.index("</table>") < block.index('<details class="definitions">')
