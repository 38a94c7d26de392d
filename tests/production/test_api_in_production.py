"""The REST API with production settings (DEBUG off): tokens, JSON refusals, the docs' assets."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from agreements.models import Channel
from api import tokens
from api.models import Scope
from leads.models import Lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def raw(db):
    channel = Channel.objects.get(slug="demo-request")
    return tokens.issue(channel, "CRM", [Scope.LEADS_WRITE, Scope.LEADS_READ])[1]


def test_a_lead_posted_with_a_token_is_taken_in_with_debug_off(client, raw):
    assert settings.DEBUG is False
    response = client.post(
        "/api/v1/leads/",
        data='{"email": "ada@example.com", "hand_raise": true}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        secure=True,
    )
    assert response.status_code == 201
    assert Lead.objects.get().stage == "mql"


def test_refusals_are_json_with_debug_off(client, raw):
    unknown = client.get("/api/v1/leads/", HTTP_AUTHORIZATION="Bearer nope", secure=True)
    assert (unknown.status_code, unknown["Content-Type"]) == (401, "application/json")
    assert unknown.json()["error"]
    missing = client.get("/api/v1/suppression/", HTTP_AUTHORIZATION=f"Bearer {raw}", secure=True)
    assert missing.status_code == 403
    assert "suppression:read" in missing.json()["error"]
    bad = client.post(
        "/api/v1/leads/",
        data="[" * 5000 + "]" * 5000,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        secure=True,
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["message"]


def test_the_docs_page_and_its_assets_are_served_with_debug_off(client, marketer):
    client.force_login(marketer)
    response = client.get("/api/docs/", secure=True)
    assert response.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.content.decode())
    assert len(assets) >= 4
    for asset in assets:
        served = client.get(asset, secure=True)
        assert served.status_code == 200, asset
