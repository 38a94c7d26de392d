"""API tokens: scopes, revocation, only a hash stored, the admin, and the rate limit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from api import tokens
from api.models import ApiToken, Scope
from leads.intake import hash_token
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

SUPPRESSION = "/api/v1/suppression/"


def test_a_token_with_the_scope_is_let_in(api, make_token):
    _token, raw = make_token(Scope.SUPPRESSION_READ)
    assert api("get", SUPPRESSION, raw).status_code == 200


def test_only_the_tokens_hash_is_stored(make_token):
    token, raw = make_token(Scope.LEADS_READ)
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.token_hash == hash_token(raw)
    assert raw not in {stored.token_hash, stored.prefix}
    assert stored.prefix == raw[:12]


def test_no_token_is_401_with_a_json_reason(api):
    response = api("get", SUPPRESSION)
    assert response.status_code == 401
    assert "Bearer" in response.json()["error"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_is_401(api, make_token):
    make_token(Scope.SUPPRESSION_READ)
    response = api("get", SUPPRESSION, "acc_api_not-a-real-token")
    assert response.status_code == 401
    assert response.json() == {"error": "This token is not valid."}


def test_a_revoked_token_is_401(api, make_token):
    token, raw = make_token(Scope.SUPPRESSION_READ)
    tokens.revoke(token)
    response = api("get", SUPPRESSION, raw)
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]


def test_a_missing_scope_is_403_naming_the_scope(api, make_token):
    _token, raw = make_token(Scope.LEADS_READ)
    response = api("get", SUPPRESSION, raw)
    assert response.status_code == 403
    assert "suppression:read" in response.json()["error"]


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("get", "/api/v1/leads/", Scope.LEADS_READ),
        ("post", "/api/v1/leads/", Scope.LEADS_WRITE),
        ("post", "/api/v1/activities/", Scope.ACTIVITIES_WRITE),
        ("get", SUPPRESSION, Scope.SUPPRESSION_READ),
    ],
)
def test_each_endpoint_needs_its_own_scope(api, make_token, method, path, scope):
    others = [s for s in Scope.values if s != scope]
    _token, raw = make_token(*others)
    body = {"email": "x@example.com"} if method == "post" else None
    response = api(method, path, raw, body)
    assert response.status_code == 403
    assert scope in response.json()["error"]


def test_the_lead_detail_needs_leads_read(api, make_token):
    lead = LeadFactory()
    _token, raw = make_token(Scope.SUPPRESSION_READ)
    assert api("get", f"/api/v1/leads/{lead.pk}/", raw).status_code == 403


def test_using_a_token_records_when(api, make_token):
    token, raw = make_token(Scope.SUPPRESSION_READ)
    assert token.last_used_at is None
    api("get", SUPPRESSION, raw)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_the_api_token_is_no_key_to_web_to_lead(client, make_token, api_channel):
    _token, raw = make_token(Scope.SUPPRESSION_READ)
    response = client.post(
        reverse("leads:intake", args=[api_channel.slug]),
        data='{"email": "a@example.com"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 401


def test_too_many_requests_are_429_with_retry_after(api, make_token, settings):
    settings.API_RATE = (3, 60)
    _token, raw = make_token(Scope.SUPPRESSION_READ)
    for _ in range(3):
        assert api("get", SUPPRESSION, raw).status_code == 200
    response = api("get", SUPPRESSION, raw)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many requests" in response.json()["error"]


def test_the_rate_is_counted_per_token(api, make_token, settings):
    settings.API_RATE = (1, 60)
    _first, raw_first = make_token(Scope.SUPPRESSION_READ, name="CRM")
    _second, raw_second = make_token(Scope.SUPPRESSION_READ, name="Marketing tool")
    assert api("get", SUPPRESSION, raw_first).status_code == 200
    assert api("get", SUPPRESSION, raw_first).status_code == 429
    assert api("get", SUPPRESSION, raw_second).status_code == 200


def test_ops_create_a_token_in_the_admin_and_see_it_once(client, ops, api_channel, api):
    client.force_login(ops)
    response = client.post(
        reverse("admin:api_apitoken_add"),
        {"name": "CRM", "channel": api_channel.pk, "scopes": ["leads:read", "suppression:read"]},
        follow=True,
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    assert token.scopes == ["leads:read", "suppression:read"]
    assert token.created_by == ops
    shown = [str(m) for m in response.context["messages"]]
    raw = shown[0].split("<code>")[1].split("</code>")[0]
    assert hash_token(raw) == token.token_hash
    page = client.get(reverse("admin:api_apitoken_change", args=[token.pk]))
    assert page.status_code == 200
    assert token.prefix in page.content.decode()
    assert raw not in page.content.decode()
    client.logout()
    assert api("get", SUPPRESSION, raw).status_code == 200


def test_ops_change_a_tokens_scopes_in_the_admin(client, ops, make_token, api):
    token, raw = make_token(Scope.LEADS_READ)
    client.force_login(ops)
    response = client.post(
        reverse("admin:api_apitoken_change", args=[token.pk]),
        {"name": "CRM", "scopes": ["suppression:read"]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.scopes == ["suppression:read"]
    client.logout()
    assert api("get", SUPPRESSION, raw).status_code == 200
    assert api("get", "/api/v1/leads/", raw).status_code == 403


def test_ops_revoke_a_token_in_the_admin(client, ops, make_token, api):
    token, raw = make_token(Scope.SUPPRESSION_READ)
    client.force_login(ops)
    client.post(
        reverse("admin:api_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    client.logout()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api("get", SUPPRESSION, raw).status_code == 401


def test_head_needs_what_get_needs(api, make_token, client):
    _token, raw = make_token(Scope.SUPPRESSION_READ)
    response = client.head(SUPPRESSION, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200


def test_a_method_an_endpoint_does_not_take_is_refused_saying_so(api, make_token):
    _token, raw = make_token(*Scope.values)
    response = api("delete", SUPPRESSION, raw)
    assert response.status_code == 403
    assert "does not take DELETE" in response.json()["error"]
