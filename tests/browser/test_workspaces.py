"""Real-browser workspaces: the rep's queue and lead page, marketing's inbox, the manager's
reassignment. Actions happen in place (htmx): a window marker proves no page reload."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from agreements.stages import Stage
from tests.conftest import PASSWORD
from tests.factories import (
    ActivityFactory,
    CampaignFactory,
    ChannelFactory,
    LeadFactory,
    RepFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RESULTS = Path(__file__).resolve().parents[2] / "test-results"


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()


def mark_window(page: Page) -> None:
    page.evaluate("window.accordMarker = 'no reload'")


def assert_no_reload(page: Page) -> None:
    assert page.evaluate("window.accordMarker") == "no reload"


def queue_order(page: Page) -> list[int]:
    return [
        int(v)
        for v in page.locator("table.leads tbody tr[data-lead]").evaluate_all(
            "rows => rows.map(r => r.dataset.lead)"
        )
    ]


def screenshot(page: Page, name: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / name), full_page=True)


@pytest.fixture
def rep_leads(rep):
    now = timezone.now()
    channel = ChannelFactory(slug="webinar", name="Webinar", is_marketing_sourced=True)
    campaign = CampaignFactory(name="Spring webinar", channel=channel)
    common = {"owner": rep, "channel": channel, "campaign": campaign}
    leads = {
        "working": LeadFactory(
            first_name="Walt",
            last_name="Working",
            stage=Stage.WORKING,
            first_touch_at=now - dt.timedelta(days=2),
            last_touch_at=now - dt.timedelta(days=2),
            **common,
        ),
        "new": LeadFactory(first_name="Nina", last_name="New", stage=Stage.MQL, **common),
        "due": LeadFactory(
            first_name="Mia",
            last_name="Due",
            stage=Stage.MQL,
            title="Head of IT",
            sla_status="pending",
            sla_due_at=now + dt.timedelta(hours=2),
            **common,
        ),
        "breached": LeadFactory(
            first_name="Bob",
            last_name="Breached",
            stage=Stage.MQL,
            sla_status="breached",
            sla_due_at=now - dt.timedelta(hours=3),
            **common,
        ),
    }
    ActivityFactory(lead=leads["due"], side="customer", kind="form", subject="Demo request")
    ActivityFactory(lead=leads["due"], side="marketing", kind="email", subject="Webinar invite")
    return leads


def test_rep_works_the_queue_in_place_and_marketing_reads_the_feedback(
    page: Page, live_server, rep, marketer, rep_leads
):
    base = live_server.url
    sign_in(page, base, rep.username)
    expect(page).to_have_url(f"{base}/queue/")
    expected = [rep_leads[k].pk for k in ("breached", "due", "new", "working")]
    assert queue_order(page) == expected
    due_row = page.locator(f"tr[data-lead='{rep_leads['due'].pk}']")
    expect(due_row.locator("time[data-countdown]")).to_contain_text(re.compile(r"1h 5\dm left"))
    screenshot(page, "workspaces-queue.png")

    # Open the MQL with the running clock and log a call: Working, SLA met, no reload.
    page.get_by_role("link", name="Mia Due").click()
    expect(page.get_by_test_id("stage")).to_have_text("Marketing Qualified Lead")
    mark_window(page)
    page.get_by_label("What did you do?").select_option("call")
    page.get_by_label("Summary").fill("Intro call, wants a demo")
    page.get_by_role("button", name="Log touch").click()
    expect(page.get_by_test_id("stage")).to_have_text("Working")
    expect(page.locator(".lead-badges [data-testid=sla-status]")).to_have_text("Met")
    expect(page.locator("#lead-panel .messages")).to_contain_text("Call logged.")
    expect(page.locator("ol.timeline li[data-side=sales][data-kind=call]").first).to_contain_text(
        "Intro call"
    )
    assert_no_reload(page)
    screenshot(page, "workspaces-lead.png")

    # Disqualify another lead with a reason and feedback to marketing, in place too.
    page.goto(f"{base}{rep_leads['new'].get_absolute_url()}")
    mark_window(page)
    page.locator("details[data-action=disqualify] > summary").click()
    page.get_by_label("Why is it disqualified?").fill("A student, not a buyer")
    page.get_by_label("How well did it fit?").select_option("poor")
    page.get_by_label("What was wrong?").select_option("wrong_persona")
    page.get_by_label("Feedback to marketing").fill("Students love the spring webinar")
    page.get_by_role("button", name="Disqualify", exact=True).click()
    expect(page.get_by_test_id("stage")).to_have_text("Disqualified")
    assert_no_reload(page)

    # Marketing sees the feedback in the inbox, one click from the lead.
    sign_out(page)
    sign_in(page, base, marketer.username)
    expect(page).to_have_url(f"{base}/marketing/")
    item = page.locator("article.feedback").filter(has_text="Students love the spring webinar")
    expect(item).to_contain_text("Poor fit")
    expect(item).to_contain_text("Wrong persona or title")
    screenshot(page, "workspaces-inbox.png")
    item.get_by_role("link", name="Nina New").click()
    expect(page.get_by_test_id("stage")).to_have_text("Disqualified")


def test_a_touch_from_an_older_page_is_appended_to_the_fresh_lead(
    page: Page, live_server, rep, rep_leads
):
    from leads import services

    lead = rep_leads["due"]
    sign_in(page, live_server.url, rep.username)
    page.goto(f"{live_server.url}{lead.get_absolute_url()}")
    services.log_touch(lead, by=rep, kind="email", subject="Sent the deck")  # meanwhile
    mark_window(page)
    page.get_by_label("What did you do?").select_option("call")
    page.get_by_label("Summary").fill("Talked it through")
    page.get_by_role("button", name="Log touch").click()
    expect(page.locator("#lead-panel .messages")).to_contain_text("Call logged.")
    expect(page.get_by_test_id("stage")).to_have_text("Working")
    assert_no_reload(page)
    assert lead.activities.filter(side="sales").count() == 2


def test_manager_reassigns_a_lead_from_one_queue_to_another(
    page: Page, live_server, manager, rep, team, rep_leads
):
    teammate = RepFactory(username="rita", first_name="Rita", last_name="Rep", team=team)
    moving = rep_leads["working"]
    base = live_server.url
    sign_in(page, base, manager.username)
    expect(page).to_have_url(f"{base}/team/")
    page.get_by_role("link", name=rep.username, exact=True).click()
    expect(page.locator(f"tr[data-lead='{moving.pk}']")).to_be_visible()
    mark_window(page)
    page.get_by_label(f"Select {moving}").check()
    page.get_by_label("Assign to").select_option(str(teammate.pk))
    page.get_by_label("Why (optional)").fill("Rita covers this account")
    page.get_by_role("button", name="Reassign").click()
    expect(page.locator(".messages")).to_contain_text("Moved 1 lead to Rita Rep")
    expect(page.locator(f"tr[data-lead='{moving.pk}']")).to_have_count(0)
    assert_no_reload(page)
    screenshot(page, "workspaces-team-rep.png")
    page.get_by_role("link", name="← Team").click()
    screenshot(page, "workspaces-team.png")

    sign_out(page)
    sign_in(page, base, teammate.username)
    expect(page.locator(f"tr[data-lead='{moving.pk}']")).to_be_visible()
    sign_out(page)
    sign_in(page, base, rep.username)
    expect(page.locator("table.leads")).to_be_visible()
    expect(page.locator(f"tr[data-lead='{moving.pk}']")).to_have_count(0)
    assert re.search(r"/queue/$", page.url)
