"""The pages work under the Content-Security-Policy: no page of any role makes the browser
refuse a script, a style or a request, and a stage or channel name with HTML in it is
text in the playbook's diagrams, never an element."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django_celery_beat.models import CrontabSchedule
from playwright.sync_api import Page, expect

from agreements.models import Agreement, Channel, StageDefinition
from tests.agreements.factories import signed_and_active
from tests.conftest import PASSWORD
from tests.factories import LeadFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before any page script (the browser injects it; the policy does not apply to it).
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile);
});
"""
STAGE_HTML = '<img src=x id="injected-stage">MQL <b id="bold-stage">now</b>'
CHANNEL_HTML = '<b id="injected-channel">Demo</b> & "request" #1;'


@pytest.fixture
def hostile_names(marketer, manager, ops):
    """The seeded definitions and v1, signed with HTML in a stage's and a channel's name
    (transactional tests start from a flushed database)."""
    if not StageDefinition.objects.exists():
        for name in ("0002_seed_channels", "0004_seed_playbook"):
            importlib.import_module(f"agreements.migrations.{name}").seed(apps, None)
        # The words belong to a version (as migrate leaves them).
        importlib.import_module("agreements.migrations.0006_attach_words_and_calendars").attach(
            apps, None
        )
    StageDefinition.objects.filter(stage="mql").update(name=STAGE_HTML)
    Channel.objects.filter(slug="demo-request").update(name=CHANNEL_HTML)
    return signed_and_active(Agreement.objects.get(version=1), marketer, manager, by=ops)


class Violations:
    """CSP refusals seen by one page: console messages and securitypolicyviolation events."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(LISTEN)
        page.on("console", self._console)

    def _console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text or text.startswith("Refused to"):
            self.console.append(text)

    def visit(self, url: str) -> list[str]:
        self.page.goto(url)
        self.page.wait_for_load_state("networkidle")
        events = self.page.evaluate("window.__csp || []")
        return [*self.console, *events]


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def test_every_main_page_runs_without_a_policy_violation(
    page, live_server, rep, manager, marketer, ops, hostile_names
):
    lead = LeadFactory(owner=rep, stage="mql", first_name="Ada")
    seen = Violations(page)
    pages = {
        rep: ["/queue/", lead.get_absolute_url(), "/playbook/"],
        manager: ["/team/", "/reports/", "/reports/sales/", "/reports/delivery/"],
        marketer: ["/marketing/", "/imports/", "/reports/pipeline/"],
        ops: [
            "/ops/",
            "/admin/",
            f"/admin/leads/lead/{lead.pk}/change/",
            "/admin/leads/lead/export/",
            "/admin/django_celery_beat/periodictask/add/",
        ],
    }
    found: dict[str, list[str]] = {}
    for user, urls in pages.items():
        sign_in(page, live_server.url, user.username)
        for url in urls:
            violations = seen.visit(f"{live_server.url}{url}")
            assert page.url.endswith(url), f"{user.username} was sent elsewhere from {url}"
            if violations:
                found[url] = violations
            seen.console.clear()
    assert found == {}


def test_the_periodic_task_form_shows_the_crontabs_translation_under_the_policy(
    page, live_server, ops
):
    crontab = CrontabSchedule.objects.create(minute="0", hour="7", timezone="UTC")
    seen = Violations(page)
    sign_in(page, live_server.url, ops.username)
    assert seen.visit(f"{live_server.url}/admin/django_celery_beat/periodictask/add/") == []
    expect(page.locator(".field-crontab_translation")).to_be_hidden()
    page.locator("#id_crontab").select_option(str(crontab.pk))
    expect(page.locator(".field-crontab .help")).to_contain_text("Translation: At 07:00")


def test_the_admin_exports_select_all_works_under_the_policy(page, live_server, ops):
    seen = Violations(page)
    sign_in(page, live_server.url, ops.username)
    assert seen.visit(f"{live_server.url}/admin/leads/lead/export/") == []
    fields = page.locator('.selectable-field-export-row input[type="checkbox"]')
    expect(fields.first).to_be_checked()
    page.locator("input.select-toggle").uncheck()
    expect(fields.first).not_to_be_checked()
    assert page.locator('.selectable-field-export-row input[type="checkbox"]:checked').count() == 0


def test_the_playbook_diagrams_render_under_the_policy_with_names_as_text(
    page, live_server, rep, hostile_names
):
    seen = Violations(page)
    sign_in(page, live_server.url, rep.username)
    assert seen.visit(f"{live_server.url}/playbook/") == []
    expect(page.locator("html")).to_have_attribute("data-diagrams", "rendered")
    lifecycle = page.locator("#lifecycle-diagram svg")
    channels = page.locator("#channel-diagram svg")
    expect(lifecycle).to_contain_text('<img src=x id="injected-stage">MQL <b id="bold-stage">')
    expect(channels).to_contain_text('<b id="injected-channel">Demo</b> & "request" #1;')
    for injected in ("#injected-stage", "#bold-stage", "#injected-channel"):
        expect(page.locator(injected)).to_have_count(0)
