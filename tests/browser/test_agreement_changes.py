"""In a real browser: what a draft changes, word by word, and signing it side by side."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from playwright.sync_api import Page, expect

from agreements import services
from agreements.models import Agreement, StageDefinition
from tests.agreements.factories import signed_and_active
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SEEDS = ("0002_seed_channels", "0004_seed_playbook", "0006_attach_words_and_calendars")


@pytest.fixture
def draft(marketer, manager, ops):
    """v1 seeded and in force; v2 a draft with a reworded term and a faster rule."""
    if not StageDefinition.objects.exists():
        for name in SEEDS:
            importlib.import_module(f"agreements.migrations.{name}").seed(apps, None)
    v1 = signed_and_active(Agreement.objects.get(version=1), marketer, manager, by=ops)
    v2 = services.clone(v1)
    term = v2.terms.get(name="Marketing Qualified Lead")
    term.definition = term.definition.replace("raised a hand", "clearly raised a hand", 1)
    term.save()
    rule = v2.rules.get(channel__slug="demo-request")
    rule.within_amount = 30
    rule.within_unit = "minutes"
    rule.save()
    return v2


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_changes_page_shows_old_and_new_wording_of_a_term_and_a_rule(page, live_server, rep, draft):
    sign_in(page, live_server.url, rep.username)
    page.goto(f"{live_server.url}/playbook/changes/?from=1&to=2")
    term = page.locator("tr.diff-row", has_text="Marketing Qualified Lead: definition")
    expect(term.locator("td.old")).not_to_contain_text("clearly")
    expect(term.locator("td.new ins")).to_contain_text("clearly")
    rule = page.locator("tr.diff-row", has_text="Marketing Qualified Leads from Demo request")
    expect(rule.locator("td.old")).to_contain_text("within 1 business hour")
    expect(rule.locator("td.old del")).to_have_text(["1", "hour"])
    expect(rule.locator("td.new")).to_contain_text("within 30 business minutes")
    expect(rule.locator("td.new ins")).to_have_text(["30", "minutes"])


def test_marketing_signs_and_its_button_is_gone(page, live_server, marketer, draft):
    sign_in(page, live_server.url, marketer.username)
    page.goto(f"{live_server.url}/playbook/?version=2")
    expect(page.locator("#what-changed")).to_contain_text("clearly")
    page.get_by_role("button", name="Sign for marketing").click()
    expect(page.get_by_test_id("signature-marketing")).to_contain_text("signed")
    expect(page.get_by_role("button", name="Sign for marketing")).to_have_count(0)
    digest = Agreement.objects.get(version=2).marketing_signed_digest
    expect(page.get_by_test_id("signature-marketing")).to_contain_text(digest)


def test_the_print_view_keeps_the_signatures_and_digest(page, live_server, rep, draft):
    sign_in(page, live_server.url, rep.username)
    page.goto(f"{live_server.url}/playbook/")
    page.emulate_media(media="print")
    expect(page.get_by_test_id("content-digest")).to_be_visible()
    expect(page.get_by_test_id("content-digest")).to_contain_text(
        Agreement.objects.get(version=1).content_digest()
    )
    expect(page.get_by_role("button", name="Print this playbook")).to_be_hidden()
