"""The playbook in a real browser: vendored Mermaid draws both diagrams; a screenshot is kept."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.apps import apps
from playwright.sync_api import Page, expect

from agreements.models import Agreement, StageDefinition
from tests.agreements.factories import signed_and_active
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RESULTS = Path(__file__).resolve().parents[2] / "test-results"


@pytest.fixture
def active_playbook(marketer, manager, ops):
    """The seeded definitions, glossary and v1 (transactional tests start from a flushed DB)."""
    if not StageDefinition.objects.exists():
        for name in ("0002_seed_channels", "0004_seed_playbook", "0006_attach_words_and_calendars"):
            importlib.import_module(f"agreements.migrations.{name}").seed(apps, None)
    return signed_and_active(Agreement.objects.get(version=1), marketer, manager, by=ops)


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_playbook_diagrams_render_as_svg(page, live_server, rep, active_playbook):
    page.set_viewport_size({"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server.url, rep.username)
    page.goto(f"{live_server.url}/playbook/")
    expect(page.locator("#lifecycle-diagram svg")).to_be_visible()
    expect(page.locator("#channel-diagram svg")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-diagrams", "rendered")
    lifecycle = page.locator("#lifecycle-diagram svg")
    for name in ("Suspect", "Marketing Qualified Lead", "Opportunity", "Converted"):
        expect(lifecycle).to_contain_text(name)
    expect(page.locator("#channel-diagram svg")).to_contain_text("Demo request")
    assert errors == []
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / "playbook.png"), full_page=True)


def test_playbook_print_view_keeps_the_diagrams(page, live_server, rep, active_playbook):
    sign_in(page, live_server.url, rep.username)
    page.goto(f"{live_server.url}/playbook/")
    expect(page.locator("#lifecycle-diagram svg")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.locator("#lifecycle-diagram svg")).to_be_visible()
    expect(page.get_by_role("button", name="Print this playbook")).to_be_hidden()
