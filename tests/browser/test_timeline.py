"""Real browser: the lead page's timeline shows one side at a time in place (htmx under the
site's CSP), and the address keeps the side so a reload or a shared link shows the same."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from agreements.stages import Stage
from tests.browser.test_workspaces import assert_no_reload, mark_window, sign_in
from tests.factories import ActivityFactory, LeadFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_rep_shows_one_side_of_the_timeline_in_place(page: Page, live_server, rep):
    lead = LeadFactory(first_name="Sid", last_name="Sides", stage=Stage.WORKING, owner=rep)
    ActivityFactory(lead=lead, side="marketing", kind="webinar", subject="Spring webinar")
    ActivityFactory(lead=lead, side="customer", kind="web_visit", subject="Pricing page")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server.url, rep.username)
    page.goto(f"{live_server.url}{lead.get_absolute_url()}")
    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator("li")).to_have_count(2)
    mark_window(page)

    page.get_by_test_id("timeline-sides").get_by_role("link", name="Customer").click()

    expect(timeline.locator("li")).to_have_count(1)
    expect(timeline).to_contain_text("Pricing page")
    expect(page).to_have_url(f"{live_server.url}{lead.get_absolute_url()}?side=customer")
    assert_no_reload(page)
    page.get_by_test_id("timeline-sides").get_by_role("link", name="All").click()
    expect(timeline.locator("li")).to_have_count(2)
    assert not [e for e in errors if "Content Security Policy" in e]
