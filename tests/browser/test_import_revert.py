"""Real browser: reverting an import shows what goes and what stays, and asks first."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from agreements.models import Channel
from leads.importing.batches import create_batch, run_batch
from leads.models import ImportBatch, Lead
from tests.browser.test_import import sign_in
from tests.factories import ChannelFactory
from tests.leads import import_files as files

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def imported(people: range, name: str, campaign: str) -> ImportBatch:
    channel = Channel.objects.filter(slug="purchased-list").first() or ChannelFactory(
        slug="purchased-list", name="Purchased list"
    )
    rows = [files.row_for("apollo", files.person(i)) for i in people]
    batch, _ = create_batch(
        files.to_csv(files.records("apollo", rows)), name, channel=channel, campaign_name=campaign
    )
    run_batch(batch)
    return batch


def test_revert_shows_what_stays_and_asks_before_it_reverts(page: Page, live_server, marketer):
    first = imported(range(6), "first.csv", "First list")
    imported(range(4, 8), "second.csv", "Second list")  # contains two of the first's people
    sign_in(page, live_server.url, marketer.username)
    page.goto(f"{live_server.url}{first.get_absolute_url()}")

    page.get_by_test_id("revert-link").click()

    expect(page.get_by_role("heading", name="Revert the import of first.csv?")).to_be_visible()
    expect(page.get_by_test_id("revert-remove")).to_have_text("4")
    kept = page.get_by_test_id("revert-kept")
    expect(kept).to_contain_text(files.person(4)["email"])
    expect(kept).to_contain_text("second.csv) also contained it")
    assert ImportBatch.objects.get(pk=first.pk).status == ImportBatch.Status.DONE
    assert Lead.objects.count() == 8  # looking at the plan changed nothing

    page.get_by_role("button", name="Yes, revert this import").click()

    expect(page.get_by_role("heading", name="Reverted")).to_be_visible()
    expect(page.get_by_test_id("revert-kept")).to_contain_text(files.person(5)["email"])
    assert ImportBatch.objects.get(pk=first.pk).status == ImportBatch.Status.REVERTED
    assert Lead.objects.count() == 4


def test_cancel_on_the_revert_page_keeps_everything(page: Page, live_server, marketer):
    batch = imported(range(3), "list.csv", "")
    sign_in(page, live_server.url, marketer.username)
    page.goto(f"{live_server.url}{batch.get_absolute_url()}")

    page.get_by_test_id("revert-link").click()
    page.get_by_role("link", name="Cancel").click()

    expect(page.get_by_role("heading", name="Import of list.csv")).to_be_visible()
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.DONE
    assert Lead.objects.count() == 3
