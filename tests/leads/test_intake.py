"""POST /intake/<channel>/: website forms and tools send leads with a per-channel token."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from agreements.models import Channel
from agreements.stages import Stage
from leads.intake import issue_token, revoke_token
from leads.models import Activity, Assignment, IntakeSubmission, Lead, RoutingRule, StageChange
from reports.figures.marketing import MQLS_DELIVERED
from reports.filters import ReportFilters
from tests.agreements.factories import AgreementFactory, ResponseRuleFactory, signed_and_active
from tests.factories import LeadFactory, RepFactory

pytestmark = pytest.mark.django_db

DEMO = {
    "email": "Ada@Analytical.example",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "company": "Analytical Engines",
    "title": "VP Engineering",
    "country": "United Kingdom",
    "message": "Please show me a demo.",
}


@pytest.fixture
def demo_channel():
    return Channel.objects.get(slug="demo-request")


@pytest.fixture
def token(demo_channel):
    return issue_token(demo_channel, "Website demo form")[1]


def post_json(client, payload, token=None, slug="demo-request", **headers):
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.post(
        reverse("leads:intake", args=[slug]),
        data=json.dumps(payload),
        content_type="application/json",
        **headers,
    )


def test_json_hand_raise_creates_an_mql(client, token):
    response = post_json(client, DEMO, token)
    assert response.status_code == 201
    lead = Lead.objects.get()
    assert response.json()["lead"] == lead.pk
    assert (lead.email, lead.stage, lead.channel.slug) == (
        "ada@analytical.example",
        Stage.MQL,
        "demo-request",
    )
    assert lead.country == "GB"
    activity = Activity.objects.get(lead=lead)
    assert (activity.kind, activity.side, activity.body) == (
        Activity.Kind.FORM,
        Activity.Side.CUSTOMER,
        "Please show me a demo.",
    )


def test_a_country_we_do_not_know_keeps_the_lead_and_says_so(client, token):
    response = post_json(client, {**DEMO, "country": "Untied States"}, token)
    assert response.status_code == 201
    assert Lead.objects.get().country == ""
    assert response.json()["notes"] == [
        "country: Country “Untied States” is not one we know; left empty."
    ]
    assert post_json(client, {**DEMO, "email": "b@x.example"}, token).json()["notes"] == []


def test_a_new_mql_starts_the_follow_up_clock(client, token, marketer, manager, ops):
    draft = AgreementFactory()
    ResponseRuleFactory(agreement=draft, within_amount=4, within_unit="hours")
    signed_and_active(draft, marketer, manager, by=ops)
    post_json(client, DEMO, token)
    lead = Lead.objects.get()
    assert lead.sla_status == Lead.SLAStatus.PENDING
    assert lead.sla_due_at is not None


def test_form_encoded_post_works_too(client, token):
    response = client.post(
        reverse("leads:intake", args=["demo-request"]),
        data={"Email": "grace@cobol.example", "First Name": "Grace", "Company": "Cobol"},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 201
    assert Lead.objects.get().first_name == "Grace"


def test_existing_lead_is_filled_and_moved_to_mql_through_the_transition(client, token):
    lead = LeadFactory(email="ada@analytical.example", stage=Stage.FAN, title="", first_name="A")
    response = post_json(client, DEMO, token)
    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.stage, lead.first_name, lead.title) == (Stage.MQL, "A", "VP Engineering")
    change = StageChange.objects.get(lead=lead)
    assert (change.transition, change.by) == ("hand_raise", None)


def test_a_lead_already_worked_by_sales_is_not_moved_back(client, token, rep):
    lead = LeadFactory(email="ada@analytical.example", stage=Stage.WORKING, owner=rep)
    post_json(client, DEMO, token)
    lead.refresh_from_db()
    assert lead.stage == Stage.WORKING
    assert Activity.objects.filter(lead=lead, kind=Activity.Kind.FORM).exists()


def test_a_new_hand_raise_is_routed(client, token, team):
    RepFactory(username="rep-uk", team=team)
    RoutingRule.objects.create(name="UK", country="GB", team=team)
    post_json(client, DEMO, token)
    lead = Lead.objects.get()
    assert lead.owner.username == "rep-uk"
    assert Assignment.objects.get(lead=lead).rule == "UK"


def test_bad_input_gets_400_with_every_field_error(client, token):
    response = post_json(
        client, {"email": "nope", "title": "x" * 300, "hand_raise": "maybe"}, token
    )
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"email", "title", "hand_raise"}
    assert not Lead.objects.exists()


def test_missing_email_is_a_field_error(client, token):
    response = post_json(client, {"first_name": "Ada"}, token)
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "email", "message": "Email is required."}]


def test_invalid_json_is_a_400(client, token):
    response = client.post(
        reverse("leads:intake", args=["demo-request"]),
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 400


def test_missing_token_is_401(client, token):
    response = post_json(client, DEMO)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_wrong_token_is_401(client, token):
    assert post_json(client, DEMO, "acc_not-the-token").status_code == 401


def test_a_token_only_works_for_its_own_channel(client, token):
    assert post_json(client, DEMO, token, slug="webinar").status_code == 401


def test_revoked_token_is_403(client, demo_channel):
    intake_token, raw = issue_token(demo_channel, "Old form")
    revoke_token(intake_token)
    assert post_json(client, DEMO, raw).status_code == 403
    assert not Lead.objects.exists()


def test_identical_retries_create_no_duplicates(client, token):
    first = post_json(client, DEMO, token)
    second = post_json(client, DEMO, token)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["duplicate"] is True
    assert Lead.objects.count() == 1
    assert Activity.objects.filter(kind=Activity.Kind.FORM).count() == 1
    assert IntakeSubmission.objects.count() == 1


def test_retries_with_an_idempotency_key_return_the_first_answer(client, token):
    post_json(client, DEMO, token, HTTP_IDEMPOTENCY_KEY="form-123")
    again = post_json(client, DEMO, token, HTTP_IDEMPOTENCY_KEY="form-123")
    assert again.json()["duplicate"] is True
    assert Activity.objects.filter(kind=Activity.Kind.FORM).count() == 1


def test_a_new_submission_from_a_known_lead_is_recorded(client, token):
    post_json(client, DEMO, token)
    post_json(client, {**DEMO, "message": "Any update?"}, token)
    assert Lead.objects.count() == 1
    assert Activity.objects.filter(kind=Activity.Kind.FORM).count() == 2


def test_the_endpoint_needs_no_csrf_token(token):
    from django.test import Client

    response = post_json(Client(enforce_csrf_checks=True), DEMO, token)
    assert response.status_code == 201


def test_only_post_is_allowed(client, token):
    response = client.get(reverse("leads:intake", args=["demo-request"]))
    assert response.status_code == 405


def test_a_known_leads_hand_raise_counts_for_the_rep_it_is_routed_to(client, token, team):
    rep = RepFactory(username="rep-uk", team=team)
    RoutingRule.objects.create(name="UK", country="GB", team=team)
    lead = LeadFactory(email="ada@analytical.example", stage=Stage.FAN, country="GB")
    post_json(client, DEMO, token)
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == (Stage.MQL, rep)
    # The MQL entry and its routing share one instant, so "MQLs delivered" (the holder at
    # the entry, or its first assignment since) credits the routed rep, not the desk.
    today = timezone.localdate()
    f = ReportFilters(start_day=today, end_day=today)
    assert MQLS_DELIVERED.by("rep", f, timezone.now()) == {rep.pk: 1}
