"""Real browser: the lead page's duplicate hint loads by itself and leads to the merge
review; on /duplicates/ marketing marks a group as not duplicates and it is gone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from customers import duplicates
from tests.browser.test_workspaces import sign_in
from tests.factories import LeadFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def one_person_twice():
    personal = LeadFactory(
        email="grace.hopper@gmail.com", first_name="Grace", last_name="Hopper", company="Navy"
    )
    work = LeadFactory(
        email="grace.hopper@navy.example", first_name="Grace", last_name="Hopper", company="Navy"
    )
    return personal, work


def test_lead_page_hint_leads_to_the_merge_review(page: Page, live_server, ops):
    personal, work = one_person_twice()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server.url, ops.username)

    page.goto(f"{live_server.url}{work.get_absolute_url()}")

    hint = page.get_by_test_id("duplicate-hint")
    expect(hint).to_contain_text("Possible duplicate: Grace Hopper (grace.hopper@gmail.com")
    expect(hint).to_contain_text("personal (gmail.com) and work (navy.example) address")
    hint.get_by_role("link", name="Review merge").click()
    expect(page).to_have_url(f"{live_server.url}/merge/?ids={work.pk},{personal.pk}")
    assert not [e for e in errors if "Content Security Policy" in e]


def test_marketing_marks_a_group_as_not_duplicates(page: Page, live_server, marketer):
    _, work = one_person_twice()
    duplicates.refresh()
    sign_in(page, live_server.url, marketer.username)

    page.goto(f"{live_server.url}/duplicates/")
    group = page.get_by_test_id("duplicate-group")
    expect(group).to_contain_text("grace.hopper@navy.example")
    group.get_by_role("button", name="Not duplicates").click()

    expect(page.locator(".messages")).to_contain_text("Marked 2 leads as not duplicates.")
    expect(page.get_by_test_id("no-duplicates")).to_be_visible()
    with page.expect_response(lambda r: "/duplicates/hint/" in r.url and r.ok):
        page.goto(f"{live_server.url}{work.get_absolute_url()}")
    expect(page.get_by_test_id("stage")).to_be_visible()
    expect(page.get_by_test_id("duplicate-hint")).to_have_count(0)
