"""Every report fits the screen at 1366 px and on a 390 px phone: no page scrolls sideways,
a table's details open behind a toggle, its first column stays put, and the commitment
is drawn as one small chart per unit."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from reports.services import take_snapshot
from tests.agreements.factories import (
    AgreementFactory,
    MarketingCommitmentFactory,
    ResponseRuleFactory,
    TouchGoalFactory,
    signed_and_active,
)
from tests.browser.test_reports import DRAWN_PIXELS, RESULTS, sign_in
from tests.reports import sales_world as ledger_world
from tests.reports.marketing_world import MARCH as MARKETING_MONTH
from tests.reports.marketing_world import build as build_marketing_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

clock_world = ledger_world.clock_world

SALES_MONTH = "start=2026-03-01&end=2026-03-31"  # the ledger world's month
WIDTHS = (1366, 390)

# The page's own width against the window's: more means the page scrolls sideways.
PAGE_FITS = "document.documentElement.scrollWidth <= window.innerWidth"
# Tables wider than their box (they scroll inside it, the first column in place).
WIDE_TABLES = """() => Array.from(document.querySelectorAll('.table-wrap'))
  .filter(w => w.scrollWidth > w.clientWidth + 1)
  .map(w => w.closest('section').dataset.section)"""


@pytest.fixture
def rule_agreement(marketer, manager, ops):
    """The sales ledger's agreement (an MQL answered within 4 wall-clock hours, 2 touches
    in 7 days) with the report tests' monthly commitment."""
    draft = AgreementFactory()
    ResponseRuleFactory(agreement=draft, within_amount=4, within_unit="hours", business_time=False)
    TouchGoalFactory(agreement=draft, touches=2, within_days=7)
    MarketingCommitmentFactory(
        agreement=draft,
        new_leads=10,
        mqls=4,
        sales_accepted=2,
        pipeline_amount=Decimal("10000"),
        min_acceptance_rate=50,
    )
    return signed_and_active(draft, marketer, manager, by=ops)


@pytest.fixture
def world(rule_agreement, rep, other_rep, marketer, ops, clock_world):
    """The marketing reports' world, the sales ledger's clocks, reps and desk, and a
    month of daily snapshots for the trends."""
    built = build_marketing_world(rep, other_rep, marketer, ops)
    for day in range(1, 32, 3):
        take_snapshot(dt.datetime(2026, 3, day, 23, 0, tzinfo=dt.UTC))
    return built


def open_report(page: Page, url: str) -> None:
    page.goto(url)
    canvas = page.locator("canvas[data-chart]").first
    if canvas.count():
        expect(canvas).to_have_attribute("data-drawn", "true")


@pytest.mark.parametrize("width", WIDTHS)
def test_no_report_scrolls_the_page_sideways(page, live_server, ops, world, width):
    page.set_viewport_size({"width": width, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server.url, ops.username)
    queries = {key: MARKETING_MONTH.querystring() for key in ("delivery", "pipeline")}
    queries.update(one_on_one=MARKETING_MONTH.querystring(), scoreboard=SALES_MONTH)
    queries.update(sales=SALES_MONTH, trends=SALES_MONTH)
    for key, query in queries.items():
        open_report(page, f"{live_server.url}/reports/{key}/?{query}")
        expect(page.locator("section.report-section table").first).to_be_visible()
        sizes = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        shots = Path(os.environ.get("ACCORD_SCREENSHOTS", RESULTS))
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / f"report-layout-{key}-{width}.png"), full_page=True)
        assert page.evaluate(PAGE_FITS), (key, width, sizes)
        if width >= 1366:
            # At a laptop's width every table shows whole, without scrolling its box.
            assert page.evaluate(WIDE_TABLES) == [], (key, width)
    # The leads behind a number: their table scrolls in its box too.
    page.goto(f"{live_server.url}/reports/sales/leads/?{SALES_MONTH}&metric=assigned")
    expect(page.locator("tr[data-lead]").first).to_be_visible()
    assert page.evaluate(PAGE_FITS), ("drilldown", width)
    assert errors == []


def test_the_sales_table_opens_its_details_and_keeps_its_first_column(
    page, live_server, manager, world, clock_world
):
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, manager.username)
    page.goto(f"{live_server.url}/reports/sales/?{SALES_MONTH}")
    section = page.locator('section[data-section="rep"]')
    row = section.locator(f'tr[data-row="rep:{clock_world.a.pk}"]')
    detail = row.locator('td[data-col="not_yet_1"]')
    expect(detail).to_be_hidden()
    expect(row.locator('td[data-col="untouched_1"]')).to_be_visible()
    # The headings sit under their groups.
    expect(section.locator("tr.groups-summary th", has_text="Untouched after")).to_be_visible()
    section.get_by_test_id("details-rep").click()
    expect(detail).to_be_visible()
    expect(section.locator("tr.groups-all th", has_text="Not yet at")).to_be_visible()
    expect(section.locator("tr.groups-summary")).to_be_hidden()
    assert page.evaluate(PAGE_FITS)
    # On a phone the table scrolls in its box, its first column (the rep) in place.
    page.set_viewport_size({"width": 390, "height": 800})
    wrap = section.locator(".table-wrap")
    wrap.evaluate("w => { w.scrollLeft = w.scrollWidth; }")
    first = row.locator("td").first
    box, frame = first.bounding_box(), wrap.bounding_box()
    assert box is not None and frame is not None
    assert abs(box["x"] - frame["x"]) < 2
    assert page.evaluate(PAGE_FITS)
    # Each table's definitions: one line under it, whole when opened.
    definitions = section.locator("details.definitions summary")
    height = definitions.bounding_box()["height"]
    definitions.click()
    assert definitions.bounding_box()["height"] > 2 * height


def test_the_commitment_draws_counts_money_and_rates_apart(page, live_server, ops, world):
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, ops.username)
    page.goto(f"{live_server.url}/reports/delivery/?{MARKETING_MONTH.querystring()}")
    charts = page.locator('section[data-section="commitment"] canvas[data-chart]')
    expect(charts).to_have_count(3)
    for i in range(3):
        expect(charts.nth(i)).to_have_attribute("data-drawn", "true")
        assert charts.nth(i).evaluate(DRAWN_PIXELS) > 500
    units = page.locator('section[data-section="commitment"] .chart-unit').all_inner_texts()
    assert units == ["Counts", "Amounts (EUR)", "Rates (%)"]
    amount = page.locator('tr[data-row="commitment:pipeline_amount"] td[data-col="target"]')
    expect(amount).to_have_text("10,000 EUR")
