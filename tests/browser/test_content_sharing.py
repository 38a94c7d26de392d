"""Issue 20's acceptance in a real browser: a rep logs a touch with an asset and shares a
tracked link from the lead page; the link opened by a browser without login shows the
content, and the lead's timeline then shows the share and the open; the owner is told
once, and a known bot opening the same link adds nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import Browser, Page, expect

from agreements.stages import Stage
from content import services
from content.models import LinkOpen, TouchAsset
from notifications.models import Notification
from tests.browser.test_workspaces import assert_no_reload, mark_window, sign_in
from tests.content.library_factories import AssetKindFactory
from tests.factories import LeadFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A customer's browser. Headless Chromium announces itself as "HeadlessChrome", which
# CrawlerDetect rightly counts as a bot, so the customer's context says what a person's
# Chrome says.
CUSTOMER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def test_touch_with_an_asset_share_and_open_without_login(
    page: Page, browser: Browser, live_server, rep, marketer
):
    lead = LeadFactory(first_name="Ada", last_name="Acme", stage=Stage.WORKING, owner=rep)
    asset = services.create_asset(
        by=marketer,
        title="Acme case study",
        kind=AssetKindFactory(name="Case study"),
        upload=SimpleUploadedFile("acme.txt", b"Acme cut its lead response time by 40 %."),
    )
    services.publish(asset, by=marketer)

    sign_in(page, live_server.url, rep.username)
    page.goto(f"{live_server.url}{lead.get_absolute_url()}")
    mark_window(page)
    page.get_by_label("What did you do?").select_option("email")
    page.get_by_test_id("content-picker").get_by_label("Acme case study").check()
    page.get_by_role("button", name="Log touch").click()
    # Nothing said what happened: the form comes back with the content still checked.
    expect(page.get_by_test_id("touch-error")).to_contain_text("Say what happened")
    expect(page.get_by_test_id("content-picker").get_by_label("Acme case study")).to_be_checked()
    page.get_by_label("Summary").fill("Sent the Acme story")
    page.get_by_role("button", name="Log touch").click()
    expect(page.locator("#lead-panel .messages")).to_contain_text(
        "Email logged with 1 content item."
    )
    assert TouchAsset.objects.filter(asset=asset, lead=lead).count() == 1

    page.get_by_role("button", name="Share Acme case study").click()
    link_field = page.get_by_test_id("link-url")
    expect(link_field).to_have_count(1)
    url = link_field.input_value()
    assert url.startswith(f"{live_server.url}/c/")
    assert_no_reload(page)

    bot = browser.new_context(user_agent=GOOGLEBOT)
    bot.new_page().goto(url)
    bot.close()
    assert not LinkOpen.objects.exists()

    customer = browser.new_context(user_agent=CUSTOMER_UA)
    customer_page = customer.new_page()
    customer_page.goto(url)
    expect(customer_page.locator("body")).to_contain_text("lead response time by 40 %")
    customer.close()

    page.reload()
    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator("li[data-side=customer]").first).to_contain_text(
        "Opened: Acme case study"
    )
    expect(timeline).to_contain_text("Shared: Acme case study")
    expect(timeline).to_contain_text("Sent the Acme story")
    assert LinkOpen.objects.count() == 1
    assert Notification.objects.filter(user=rep, kind="content_opened").count() == 1
