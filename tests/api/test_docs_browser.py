"""The API docs in a real browser: Swagger UI renders the schema under the site's
Content-Security-Policy (its scripts and styles are Accord's own static files)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_csp import Violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_docs_render_every_endpoint_without_a_policy_violation(page, live_server, marketer):
    violations = Violations(page)
    sign_in(page, live_server.url, marketer.username)
    assert violations.visit(f"{live_server.url}/api/docs/") == []
    expect(page.get_by_text("Accord API").first).to_be_visible()
    for path in ("/api/v1/leads/", "/api/v1/activities/", "/api/v1/suppression/"):
        expect(page.get_by_text(path, exact=True).first).to_be_visible()
