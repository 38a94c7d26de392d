"""Every report in a real browser, as a manager: vendored Chart.js draws its charts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from reports.services import take_snapshot
from tests.conftest import PASSWORD
from tests.reports import conftest as worlds
from tests.reports import sales_world as ledger_world
from tests.reports.marketing_world import MARCH as MARKETING_MONTH
from tests.reports.marketing_world import build as build_marketing_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The hand-built worlds of the report tests.
agreement = worlds.agreement
sales_world = worlds.sales_world
marketing_world = worlds.marketing_world
rule_agreement = ledger_world.rule_agreement
clock_world = ledger_world.clock_world

RESULTS = Path(__file__).resolve().parents[2] / "test-results"
MARCH = "start=2025-03-01&end=2025-03-31"

# How many drawn pixels a canvas has (alpha > 0): blank canvases have none.
DRAWN_PIXELS = """canvas => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) drawn++;
  return drawn;
}"""


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def snapshots(sales_world):
    for day in (27, 28, 29, 30):
        take_snapshot(dt.datetime(2025, 6, day, 23, 0, tzinfo=dt.UTC))


def test_each_report_draws_its_charts_for_a_manager(
    page, live_server, manager, sales_world, marketing_world, snapshots, clock_world
):
    page.set_viewport_size({"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server.url, manager.username)
    # The marketing reports draw theirs in test_the_marketing_reports_draw_their_charts.
    ranges = {key: MARCH for key in ("sales", "scoreboard")}
    ranges["trends"] = "start=2025-06-01&end=2025-06-30"
    ranges["sales"] = "start=2026-03-01&end=2026-03-31"  # the ledger world's month
    for key, query in ranges.items():
        page.goto(f"{live_server.url}/reports/{key}/?{query}")
        canvas = page.locator("canvas[data-chart]").first
        expect(canvas).to_have_attribute("data-drawn", "true")
        charts = page.evaluate("window.reportCharts.length")
        assert charts >= 1, key
        assert page.evaluate("window.reportCharts[0] instanceof window.Chart"), key
        assert canvas.evaluate(DRAWN_PIXELS) > 500, key
        # A table under every chart.
        expect(page.locator("section.report-section table").first).to_be_visible()
        if key == "sales":
            RESULTS.mkdir(exist_ok=True)
            page.screenshot(path=str(RESULTS / "reports-sales.png"), full_page=True)
    assert errors == []


def test_a_number_opens_the_leads_behind_it(page, live_server, manager, clock_world):
    sign_in(page, live_server.url, manager.username)
    page.goto(f"{live_server.url}/reports/sales/?start=2026-03-01&end=2026-03-31")
    row = page.locator(f'tr[data-row="rep:{clock_world.a.pk}"]').first
    row.locator('td[data-col="untouched_1"] a').click()
    # A held L6 30 days; only the manager touched it.
    expect(page.get_by_test_id("drill-total")).to_have_text("1")
    expect(page.locator(f'tr[data-lead="{clock_world.l6.pk}"]')).to_be_visible()


def test_the_lead_desk_row_opens_its_leads(page, live_server, ops, clock_world):
    sign_in(page, live_server.url, ops.username)
    page.goto(f"{live_server.url}/reports/sales/?start=2026-03-01&end=2026-03-31")
    page.locator('tr[data-row="rep:0"]').first.locator('td[data-col="sla_breached"] a').click()
    # L3 sat on the desk when its clock was due.
    expect(page.get_by_test_id("drill-total")).to_have_text("1")
    expect(page.locator(f'tr[data-lead="{clock_world.l3.pk}"]')).to_be_visible()


@pytest.fixture
def marketing_ledger(rep, other_rep, marketer, ops):
    """The marketing reports' world, built through the services."""
    return build_marketing_world(rep, other_rep, marketer, ops)


def test_the_marketing_reports_draw_their_charts(page, live_server, ops, marketing_ledger):
    page.set_viewport_size({"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server.url, ops.username)
    for key in ("delivery", "pipeline", "one_on_one"):
        page.goto(f"{live_server.url}/reports/{key}/?{MARKETING_MONTH.querystring()}")
        canvas = page.locator("canvas[data-chart]").first
        expect(canvas).to_have_attribute("data-drawn", "true")
        assert canvas.evaluate(DRAWN_PIXELS) > 500, key
    # A desk lead's drill-down renders ("Lead desk"), and a "No campaign" row links.
    page.goto(f"{live_server.url}/reports/delivery/?{MARKETING_MONTH.querystring()}")
    page.locator('tr[data-row="campaign:0"] td[data-col="mqls"] a').click()
    expect(page.get_by_test_id("drill-total")).to_have_text("1")
    expect(page.locator(f'tr[data-lead="{marketing_ledger.d.pk}"]')).to_be_visible()
    assert errors == []
