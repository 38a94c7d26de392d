"""GET /api/v1/suppression/: who marketing should not email now, and why."""

from __future__ import annotations

import pytest

from agreements.stages import Stage
from api.models import Scope
from leads.models import Feedback, Lead
from tests.factories import FeedbackFactory, LeadFactory

pytestmark = pytest.mark.django_db

SUPPRESSION = "/api/v1/suppression/"


@pytest.fixture
def raw(make_token):
    return make_token(Scope.SUPPRESSION_READ)[1]


def entries(api, raw, query=""):
    rows, page = [], api("get", SUPPRESSION + query, raw).json()
    rows += page["results"]
    while page["next"]:
        page = api("get", page["next"], raw).json()
        rows += page["results"]
    return {row["email"]: row for row in rows}


def test_the_list_holds_sales_conversations_opportunities_customers_and_competitors(api, raw):
    for stage in (Stage.SUSPECT, Stage.FAN, Stage.IQL, Stage.MQL, Stage.NURTURE):
        LeadFactory(email=f"{stage}@example.com", stage=stage)
    LeadFactory(email="working@example.com", stage=Stage.WORKING)
    LeadFactory(email="sql@example.com", stage=Stage.SQL)
    LeadFactory(email="opportunity@example.com", stage=Stage.OPPORTUNITY)
    LeadFactory(email="customer@example.com", stage=Stage.CONVERTED)
    rival = LeadFactory(email="rival@example.com", stage=Stage.DISQUALIFIED)
    FeedbackFactory(lead=rival, reason=Feedback.Reason.COMPETITOR)
    LeadFactory(
        email="rival2@example.com",
        stage=Stage.DISQUALIFIED,
        disqualify_reason="Works for a competitor",
    )
    budget = LeadFactory(email="budget@example.com", stage=Stage.DISQUALIFIED)
    FeedbackFactory(lead=budget, reason=Feedback.Reason.NO_BUDGET)
    found = entries(api, raw)
    assert {email: row["reason"] for email, row in found.items()} == {
        "working@example.com": "sales_conversation",
        "sql@example.com": "sales_conversation",
        "opportunity@example.com": "opportunity",
        "customer@example.com": "customer",
        "rival@example.com": "competitor",
        "rival2@example.com": "competitor",
    }
    assert found["customer@example.com"]["description"] == "A customer (Converted)"


def test_a_merged_leads_addresses_are_suppressed_with_it(api, raw):
    lead = LeadFactory(email="grace@navy.example", stage=Stage.OPPORTUNITY)
    lead.aliases.create(email="g.hopper@gmail.example")
    merged = LeadFactory(email="old@navy.example", stage=Stage.OPPORTUNITY)
    Lead.with_merged.filter(pk=merged.pk).update(merged_into=lead)
    found = entries(api, raw)
    assert set(found) == {"grace@navy.example", "g.hopper@gmail.example"}
    alias = found["g.hopper@gmail.example"]
    assert (alias["reason"], alias["lead"], alias["alias_of"]) == (
        "opportunity",
        lead.pk,
        "grace@navy.example",
    )


def test_the_list_pages_through_every_address_once(api, raw):
    emails = {LeadFactory(stage=Stage.WORKING).email for _ in range(7)}
    page = api("get", f"{SUPPRESSION}?limit=3", raw).json()
    assert len(page["results"]) == 3
    assert page["next"] is not None
    rows, seen = page["results"], []
    seen += [row["email"] for row in rows]
    while page["next"]:
        page = api("get", page["next"], raw).json()
        seen += [row["email"] for row in page["results"]]
    assert sorted(seen) == sorted(emails)


def test_a_bad_after_is_400(api, raw):
    response = api("get", f"{SUPPRESSION}?after=x", raw)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "after"
