"""API test helpers: a token with chosen scopes, and requests that carry it."""

from __future__ import annotations

import json

import pytest

from agreements.models import Channel
from api import tokens
from api.models import Scope

ALL_SCOPES = list(Scope.values)


@pytest.fixture
def api_channel(db):
    """The seeded demo-request channel (entry stage MQL: a post is a hand-raise)."""
    return Channel.objects.get(slug="demo-request")


@pytest.fixture
def make_token(api_channel):
    """make_token(*scopes, channel=None) → (ApiToken, raw secret)."""

    def make(*scopes: str, channel: Channel | None = None, name: str = "CRM"):
        return tokens.issue(channel or api_channel, name, scopes)

    return make


@pytest.fixture
def api(client):
    """api(method, path, raw_token, body=None, **headers) → response."""

    def call(method: str, path: str, raw: str | None = None, body=None, **headers):
        if raw is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
        send = getattr(client, method.lower())
        if body is None:
            return send(path, **headers)
        return send(path, data=json.dumps(body), content_type="application/json", **headers)

    return call
