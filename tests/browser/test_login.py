"""Real-browser sign-in (Playwright + Debian's chromium): each role lands on its own home."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from agreements import roles
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOMES = {
    roles.OPS: "/ops/",
    roles.MARKETING: "/marketing/",
    roles.SALES_REP: "/queue/",
    roles.SALES_MANAGER: "/team/",
}


def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize("role", list(HOMES))
def test_each_role_signs_in_and_lands_on_its_home_page(page, live_server, users_by_role, role):
    user = users_by_role[role]
    sign_in(page, live_server.url, user.username, PASSWORD)
    expect(page).to_have_url(f"{live_server.url}{HOMES[role]}")
    expect(page.get_by_test_id("role")).to_have_text(role)
    expect(page.locator("header")).to_contain_text(user.username)


def test_wrong_password_shows_an_error_and_stays_signed_out(page, live_server, rep):
    sign_in(page, live_server.url, rep.username, "not-the-password")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.locator(".errorlist")).to_contain_text("correct username and password")
    expect(page.get_by_test_id("role")).to_have_count(0)


def test_log_out_returns_to_the_login_page_and_protects_pages_again(page, live_server, rep):
    sign_in(page, live_server.url, rep.username, PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/queue/")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    page.goto(f"{live_server.url}/queue/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/queue/$"))


@pytest.mark.parametrize("path", sorted(set(HOMES.values())))
def test_anonymous_visit_to_a_protected_page_goes_to_login(page, live_server, path):
    page.goto(f"{live_server.url}{path}")
    expect(page).to_have_url(re.compile(rf"/accounts/login/\?next={re.escape(path)}$"))
    expect(page.get_by_role("heading", name="Sign in to Accord")).to_be_visible()


def test_sign_in_returns_to_the_page_asked_for(page, live_server, manager):
    page.goto(f"{live_server.url}/desk/")
    page.get_by_label("Username").fill(manager.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/desk/")
