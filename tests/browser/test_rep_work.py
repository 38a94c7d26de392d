"""A rep's work is never thrown away, in a real browser: a real conflict brings the form
back as typed and says what changed, form errors stay in their panel with DEBUG on or off
(django-htmx's DEBUG handler swaps the whole document on a 400), and "Deal won" asks
first."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from agreements.stages import Stage
from leads import services
from tests.browser.test_workspaces import assert_no_reload, mark_window, sign_in
from tests.factories import ChannelFactory, LeadFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_action(page: Page, name: str) -> None:
    page.locator(f"details[data-action={name}] > summary").click()


def test_a_real_conflict_returns_the_form_as_typed_and_says_what_changed(
    page: Page, live_server, rep, manager
):
    lead = LeadFactory(first_name="Cora", last_name="Conflict", stage=Stage.WORKING, owner=rep)
    sign_in(page, live_server.url, rep.username)
    page.goto(f"{live_server.url}{lead.get_absolute_url()}")
    mark_window(page)
    open_action(page, "nurture")
    nurture = page.locator("form[data-transition=nurture]")
    back_on = (timezone.localdate() + dt.timedelta(days=90)).isoformat()
    nurture.get_by_label("Return date").fill(back_on)
    nurture.get_by_label("Note (optional)").fill("Budget frozen until Q3, she said call in June")

    services.run_transition(lead, "accept", by=manager)  # the manager, meanwhile
    nurture.get_by_role("button", name="Needs nurturing").click()

    notice = page.get_by_test_id("notice")
    expect(notice).to_contain_text("changed by someone else")
    expect(notice).to_contain_text("moved it from Working to Sales Qualified")
    expect(page.get_by_test_id("stage")).to_have_text("Sales Qualified")
    nurture = page.locator("details[data-action=nurture][open] form")
    expect(nurture.get_by_label("Note (optional)")).to_have_value(
        "Budget frozen until Q3, she said call in June"
    )
    expect(nurture.get_by_label("Return date")).to_have_value(back_on)
    assert_no_reload(page)

    # Sent again, it applies to the lead as it is now.
    nurture.get_by_role("button", name="Needs nurturing").click()
    expect(page.get_by_test_id("stage")).to_have_text("Needs Nurturing")
    lead.refresh_from_db()
    assert lead.stage == Stage.NURTURE


def test_a_touch_after_a_colleagues_move_is_saved_in_place(page: Page, live_server, rep, manager):
    lead = LeadFactory(first_name="Theo", last_name="Touch", stage=Stage.WORKING, owner=rep)
    sign_in(page, live_server.url, rep.username)
    page.goto(f"{live_server.url}{lead.get_absolute_url()}")
    mark_window(page)
    page.get_by_label("What did you do?").select_option("call")
    page.get_by_label("Summary").fill("Walked through the proposal")

    services.run_transition(lead, "accept", by=manager)  # the manager, meanwhile
    page.get_by_role("button", name="Log touch").click()

    expect(page.locator("#lead-panel .messages")).to_contain_text("Call logged.")
    expect(page.get_by_test_id("stage")).to_have_text("Sales Qualified")
    expect(page.locator("ol.timeline li[data-side=sales]").first).to_contain_text(
        "Walked through the proposal"
    )
    assert_no_reload(page)


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_form_errors_render_inside_their_panel(page: Page, live_server, settings, rep, debug):
    settings.DEBUG = debug  # the live server runs in this process: `make run` has DEBUG on
    lead = LeadFactory(
        first_name="Eve",
        last_name="Errors",
        stage=Stage.SQL,
        owner=rep,
        channel=ChannelFactory(is_marketing_sourced=False),
    )
    sign_in(page, live_server.url, rep.username)
    page.goto(f"{live_server.url}{lead.get_absolute_url()}")
    expect(page.locator("script[src*='django-htmx.js']")).to_have_count(1 if debug else 0)
    mark_window(page)

    # A past nurture date: the error shows in the nurture form, the page around it stays.
    open_action(page, "nurture")
    nurture = page.locator("form[data-transition=nurture]")
    past = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    nurture.get_by_label("Return date").fill(past)
    nurture.get_by_label("Note (optional)").fill("Typed before the error")
    nurture.get_by_role("button", name="Needs nurturing").click()
    nurture = page.locator("details[data-action=nurture][open] form")
    expect(nurture.locator(".errorlist")).to_contain_text("must be in the future")
    expect(nurture.get_by_label("Note (optional)")).to_have_value("Typed before the error")
    expect(page.locator("header.topbar")).to_be_visible()
    expect(page.locator("link[href*='accord.css']")).to_have_count(1)

    # A blank disqualify reason: the browser's own check is skipped, the server's shows.
    open_action(page, "disqualify")
    disqualify = page.locator("form[data-transition=disqualify]")
    disqualify.evaluate("form => form.noValidate = true")
    disqualify.get_by_role("button", name="Disqualify").click()
    disqualify = page.locator("details[data-action=disqualify][open] form")
    expect(disqualify.locator(".has-error .errorlist")).to_contain_text("required")

    # An amount of 0 for the deal.
    open_action(page, "open_opportunity")
    deal = page.locator("form[data-transition=open_opportunity]")
    deal.get_by_label("Deal amount").fill("0")
    deal.get_by_role("button", name="Open opportunity").click()
    deal = page.locator("details[data-action=open_opportunity][open] form")
    expect(deal.locator(".errorlist")).to_contain_text("amount")

    # An empty touch.
    page.get_by_label("What did you do?").select_option("call")
    page.get_by_role("button", name="Log touch").click()
    expect(page.get_by_test_id("touch-error")).to_contain_text("write a summary or notes")

    expect(page.get_by_test_id("stage")).to_have_text("Sales Qualified")
    expect(page.locator("header.topbar")).to_be_visible()
    assert_no_reload(page)
    lead.refresh_from_db()
    assert (lead.stage, lead.activities.count()) == (Stage.SQL, 0)


def test_deal_won_asks_first(page: Page, live_server, rep):
    lead = LeadFactory(first_name="Wanda", last_name="Won", stage=Stage.SQL, owner=rep)
    services.run_transition(lead, "open_opportunity", by=rep, amount="18000")
    sign_in(page, live_server.url, rep.username)
    page.goto(f"{live_server.url}{lead.get_absolute_url()}")
    mark_window(page)

    expect(page.get_by_role("button", name="Yes, the deal is won")).to_be_hidden()
    page.locator("details[data-action=win] > summary").click()
    question = page.get_by_test_id("confirm-win")
    expect(question).to_contain_text("Close the deal of 18,000 EUR as won?")
    expect(question).to_contain_text("cannot be undone")
    lead.refresh_from_db()
    assert lead.stage == Stage.OPPORTUNITY  # opening the question changed nothing

    page.get_by_role("button", name="Yes, the deal is won").click()
    expect(page.get_by_test_id("stage")).to_have_text("Converted")
    expect(page.locator("[data-testid=deal]")).to_contain_text("Won")
    assert_no_reload(page)
