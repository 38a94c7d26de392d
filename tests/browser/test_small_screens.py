"""The queue, the desk and the lead page on a 390 px phone: nothing scrolls the page
sideways, and the search box shows its whole placeholder (on a laptop too)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from agreements.stages import Stage
from tests.browser.test_workspaces import screenshot, sign_in, sign_out
from tests.factories import ActivityFactory, CampaignFactory, LeadFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}

# How wide the placeholder's text is and how wide the box's text area is, in CSS px.
PLACEHOLDER_FIT = """el => {
  const style = getComputedStyle(el);
  const ctx = document.createElement("canvas").getContext("2d");
  ctx.font = style.font;
  const inner = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return [ctx.measureText(el.placeholder).width, inner];
}"""


def sideways_overflow(page: Page) -> int:
    """How many CSS px the page is wider than the window (0: no sideways scroll)."""
    return page.evaluate(
        "() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
    )


# The innermost elements reaching past the window's right edge (what to fix).
TOO_WIDE = """() => {
  const past = el => el.getBoundingClientRect().right > window.innerWidth + 0.5;
  const name = el => `${el.tagName.toLowerCase()}.${el.className}`;
  return [...document.querySelectorAll("body *")]
    .filter(el => past(el) && ![...el.children].some(past))
    .slice(0, 8)
    .map(el => `${name(el)} ${Math.round(el.getBoundingClientRect().right)}px`);
}"""


def assert_fits(page: Page, name: str) -> None:
    overflow = sideways_overflow(page)
    if overflow:
        screenshot(page, f"small-screen-{name}.png")
    assert overflow == 0, (
        f"{name}: the page scrolls {overflow}px sideways: {page.evaluate(TOO_WIDE)}"
    )


def assert_placeholder_shows(page: Page) -> None:
    """Every search box (the header's and the page's filter) shows its whole placeholder."""
    boxes = page.locator("input[type=search]")
    assert boxes.count() >= 2
    for i in range(boxes.count()):
        box = boxes.nth(i)
        text, room = box.evaluate(PLACEHOLDER_FIT)
        name = box.get_attribute("name")
        assert text <= room, f"{name}: placeholder needs {text:.0f}px, the box has {room:.0f}px"


@pytest.fixture
def busy_leads(rep, marketer):
    """A rep's lead with a long story and long names, and a desk lead."""
    now = timezone.now()
    campaign = CampaignFactory(name="Spring webinar: the long-named campaign for EMEA partners")
    lead = LeadFactory(
        owner=rep,
        stage=Stage.MQL,
        campaign=campaign,
        first_name="Maximiliane-Annabella",
        last_name="Schwarzenberger-Oppenheimer",
        email="maximiliane.schwarzenberger-oppenheimer@a-very-long-company-domain.example.com",
        company="Internationale Handelsgesellschaft für Maschinenbau und Anlagentechnik GmbH",
        title="Head of Procurement, Operations and Strategic Sourcing",
        sla_status="pending",
        sla_due_at=now + dt.timedelta(hours=3),
    )
    for i in range(3):
        ActivityFactory(
            lead=lead,
            actor=rep,
            subject=f"Call {i}",
            body=f"Notes: https://example.com/a/very/long/link/without/spaces/{'x' * 60}",
        )
    LeadFactory(owner=None, stage=Stage.MQL, company=lead.company, email="desk@example.com")
    return lead


def test_queue_desk_and_lead_page_fit_a_phone(page, live_server, rep, manager, busy_leads):
    page.set_viewport_size(PHONE)
    sign_in(page, live_server.url, rep.username)
    page.goto(f"{live_server.url}/queue/")
    assert_fits(page, "queue")
    assert_placeholder_shows(page)
    page.goto(f"{live_server.url}/leads/{busy_leads.pk}/")
    assert_fits(page, "lead")
    sign_out(page)
    sign_in(page, live_server.url, manager.username)
    page.goto(f"{live_server.url}/desk/")
    assert_fits(page, "desk")
    assert_placeholder_shows(page)
    screenshot(page, "small-screen-desk.png")


def test_the_search_placeholder_shows_on_a_laptop(page, live_server, rep, busy_leads):
    page.set_viewport_size(LAPTOP)
    sign_in(page, live_server.url, rep.username)
    page.goto(f"{live_server.url}/queue/")
    assert_placeholder_shows(page)
    assert_fits(page, "queue-laptop")
