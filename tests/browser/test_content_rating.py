"""A rep rates, from the lead page, an asset they used on the lead: the lazily loaded panel
offers it, the rating is saved without a page reload, and changing it keeps one rating."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from agreements.stages import Stage
from content import services
from content.models import Rating
from tests.browser.test_workspaces import assert_no_reload, mark_window, sign_in
from tests.content.library_factories import AssetFactory
from tests.factories import LeadFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_rep_rates_the_asset_they_used_from_the_lead_page(page: Page, live_server, rep):
    lead = LeadFactory(first_name="Ada", last_name="Acme", stage=Stage.WORKING, owner=rep)
    asset = AssetFactory(title="Acme case study")
    services.log_touch_with_assets(lead, by=rep, kind="email", subject="Story", assets=[asset])

    sign_in(page, live_server.url, rep.username)
    page.goto(f"{live_server.url}{lead.get_absolute_url()}")
    mark_window(page)
    panel = page.get_by_test_id("content-feedback")
    item = panel.get_by_test_id("rate-item")
    expect(item).to_contain_text("Acme case study")
    item.get_by_label("It helped").check()
    item.get_by_placeholder("Why?").fill("They forwarded it to their CFO")
    item.get_by_role("button", name="Rate").click()

    expect(panel.get_by_test_id("my-rating")).to_contain_text("it helped")
    item = page.get_by_test_id("content-feedback").get_by_test_id("rate-item")
    item.get_by_label("It didn't").check()
    item.get_by_placeholder("Why?").fill("Too long")
    item.get_by_role("button", name="Change").click()
    expect(page.get_by_test_id("my-rating")).to_contain_text("it didn't help")
    assert_no_reload(page)

    (rating,) = Rating.objects.all()
    assert (rating.helped, rating.reason) == (False, "Too long")
    expect(page.get_by_test_id("request-content")).to_be_visible()
