"""Real browser: ops merges two leads of one person, finds both timelines on the survivor
(the old address's page leads there), and undoes the merge."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from agreements.stages import Stage
from leads.models import Lead
from tests.browser.test_workspaces import sign_in
from tests.factories import ActivityFactory, LeadFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_ops_merges_two_leads_sees_one_timeline_and_undoes_it(page: Page, live_server, ops, rep):
    old = LeadFactory(
        email="jsmith@gmail.example", first_name="J", last_name="Smith", phone="+1 555 0100"
    )
    new = LeadFactory(
        email="john.smith@acme.example",
        first_name="John",
        last_name="Smith",
        stage=Stage.MQL,
        owner=rep,
        phone="",
    )
    ActivityFactory(lead=old, side="marketing", kind="webinar", subject="Spring webinar")
    ActivityFactory(lead=new, side="customer", kind="web_visit", subject="Pricing page")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server.url, ops.username)

    page.goto(f"{live_server.url}/merge/?ids={old.pk},{new.pk}")
    expect(page.get_by_test_id("survivor-reason")).to_contain_text("john.smith@acme.example")
    page.get_by_test_id("confirm-merge").click()

    expect(page.get_by_test_id("merge-summary")).to_contain_text("1 lead merged into")
    expect(page.get_by_test_id("replaced-values")).to_contain_text("+1 555 0100")
    page.goto(f"{live_server.url}{old.get_absolute_url()}")
    expect(page).to_have_url(f"{live_server.url}{new.get_absolute_url()}")
    expect(page.locator(".messages")).to_contain_text(
        "jsmith@gmail.example was merged into this lead on"
    )
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("Spring webinar")
    expect(timeline).to_contain_text("Pricing page")
    expect(timeline).to_contain_text("Merged with jsmith@gmail.example")

    page.get_by_test_id("merge-hint").get_by_role("link").click()
    page.get_by_test_id("undo-link").click()
    page.get_by_test_id("confirm-undo").click()

    expect(page.get_by_test_id("undone")).to_be_visible()
    assert Lead.objects.filter(pk=old.pk).exists()
    page.goto(f"{live_server.url}{old.get_absolute_url()}")
    expect(page).to_have_url(f"{live_server.url}{old.get_absolute_url()}")
    expect(page.get_by_test_id("timeline")).to_contain_text("Spring webinar")
    expect(page.get_by_test_id("timeline")).not_to_contain_text("Pricing page")
    assert not [e for e in errors if "Content Security Policy" in e]
