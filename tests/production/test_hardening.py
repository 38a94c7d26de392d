"""Hardening with production settings (DEBUG off): nothing here works only because DEBUG is on."""

from __future__ import annotations

import json
import secrets

import pytest
from django.conf import settings
from django.urls import reverse

from leads.intake import issue_token
from leads.models import Lead
from tests.conftest import PASSWORD
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def an_address() -> str:
    return "10.{}.{}.{}".format(*secrets.token_bytes(3))


def test_the_policy_header_is_sent_with_debug_off(client):
    assert settings.DEBUG is False
    policy = client.get("/accounts/login/", secure=True)["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-eval" not in policy


def test_the_lockout_page_renders_with_debug_off(client, rep):
    address = an_address()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            "/accounts/login/",
            {"username": rep.username, "password": "wrong"},
            REMOTE_ADDR=address,
            secure=True,
        )
    response = client.post(
        "/accounts/login/",
        {"username": rep.username, "password": PASSWORD},
        REMOTE_ADDR=address,
        secure=True,
    )
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ('{"email": "a@example.com", "n": NaN}', 400),
        ('{"email": "a@example.com", "n": 1e400}', 400),
        ("[" * 5000 + "]" * 5000, 400),
        (json.dumps({"email": "a@example.com", "message": "x" * 70_000}), 413),
    ],
    ids=["nan", "1e400", "deep", "too-large"],
)
def test_hostile_intake_posts_get_json_errors_with_debug_off(client, body, status):
    token = issue_token(ChannelFactory(slug="prod-intake"), "Form")[1]
    response = client.post(
        reverse("leads:intake", args=["prod-intake"]),
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        secure=True,
    )
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["errors"][0]["message"]
    assert not Lead.objects.exists()
