"""Tracked content links with production settings (DEBUG off): a customer's open without
login redirects and counts, a shared file is served, a revoked link is a plain 404."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from agreements.stages import Stage
from content import services
from content.models import LinkOpen
from leads.models import Activity
from tests.content.library_factories import AssetFactory
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari"


def test_a_customer_opens_a_shared_link_with_debug_off(client, rep, marketer):
    assert settings.DEBUG is False
    lead = LeadFactory(owner=rep, stage=Stage.WORKING)
    linked = services.share(lead, AssetFactory(link="https://example.com/study"), by=rep)
    kind = AssetFactory().kind
    sheet = services.create_asset(
        by=marketer, title="Sheet", kind=kind, upload=SimpleUploadedFile("s.pdf", b"%PDF-1.4")
    )
    services.publish(sheet, by=marketer)
    filed = services.share(lead, sheet, by=rep)

    redirect = client.get(f"/c/{linked.token}/", HTTP_USER_AGENT=BROWSER, secure=True)
    served = client.get(f"/c/{filed.token}", HTTP_USER_AGENT=BROWSER, secure=True)

    assert (redirect.status_code, redirect["Location"]) == (302, "https://example.com/study")
    assert (served.status_code, served.content) == (200, b"%PDF-1.4")
    assert LinkOpen.objects.count() == 2
    assert Activity.objects.filter(lead=lead, kind=Activity.Kind.CONTENT_OPENED).count() == 2


def test_a_revoked_link_is_a_404_page_with_debug_off(client, rep):
    lead = LeadFactory(owner=rep, stage=Stage.WORKING)
    link = services.revoke(services.share(lead, AssetFactory(), by=rep), by=rep)

    response = client.get(f"/c/{link.token}/", HTTP_USER_AGENT=BROWSER, secure=True)

    assert response.status_code == 404
    assert b"Not found" in response.content
    assert not LinkOpen.objects.exists()
