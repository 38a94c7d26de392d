"""POST /api/v1/leads/: the same one way in, and the same rules, as web-to-lead."""

from __future__ import annotations

import pytest

from agreements.stages import Stage
from api.models import Scope
from leads.models import Activity, Assignment, IntakeSubmission, Lead, LeadEvent
from tests.agreements.factories import AgreementFactory, ResponseRuleFactory, signed_and_active
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

LEADS = "/api/v1/leads/"
ADA = {
    "email": "Ada@Analytical.example",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "company": "Analytical Engines",
    "country": "United Kingdom",
    "hand_raise": True,
    "message": "Please show me a demo.",
}


@pytest.fixture
def raw(make_token):
    return make_token(Scope.LEADS_WRITE)[1]


def test_a_hand_raise_creates_an_mql_with_a_running_clock(api, raw, marketer, manager, ops):
    draft = AgreementFactory()
    ResponseRuleFactory(agreement=draft, within_amount=4, within_unit="hours")
    signed_and_active(draft, marketer, manager, by=ops)
    response = api("post", LEADS, raw, ADA)
    assert response.status_code == 201
    lead = Lead.objects.get()
    assert response.json()["lead"] == lead.pk
    assert (lead.email, lead.stage, lead.country) == ("ada@analytical.example", Stage.MQL, "GB")
    assert lead.sla_status == Lead.SLAStatus.PENDING
    assert lead.sla_due_at is not None
    # An owner decision, as for every MQL: routed, or the lead desk with a reason.
    assert Assignment.objects.filter(lead=lead).exists()
    kinds = set(LeadEvent.objects.filter(lead=lead).values_list("kind", flat=True))
    assert {LeadEvent.Kind.STAGE_ENTERED, LeadEvent.Kind.CLOCK_STARTED} <= kinds
    form = Activity.objects.get(lead=lead)
    assert (form.kind, form.body) == (Activity.Kind.FORM, "Please show me a demo.")


def test_a_known_lead_gets_its_empty_fields_filled_and_raises_its_hand(api, raw):
    lead = LeadFactory(email="ada@analytical.example", company="", stage=Stage.FAN)
    response = api("post", LEADS, raw, ADA)
    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.company, lead.stage) == ("Analytical Engines", Stage.MQL)
    assert response.json()["created"] is False


def test_the_same_idempotency_key_answers_the_first_result(api, raw):
    first = api("post", LEADS, raw, ADA, HTTP_IDEMPOTENCY_KEY="k-1")
    again = api("post", LEADS, raw, ADA, HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["duplicate"] is True
    assert again.json()["lead"] == first.json()["lead"]
    assert Lead.objects.count() == 1
    assert Activity.objects.count() == 1
    assert IntakeSubmission.objects.count() == 1


def test_an_idempotency_key_reused_for_another_payload_is_422(api, raw):
    api("post", LEADS, raw, ADA, HTTP_IDEMPOTENCY_KEY="k-1")
    response = api("post", LEADS, raw, {**ADA, "company": "Other"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


def test_invalid_fields_are_400_each_named(api, raw):
    response = api("post", LEADS, raw, {"email": "not an address", "hand_raise": "maybe"})
    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"email", "hand_raise"} <= fields
    assert Lead.objects.count() == 0


def test_a_body_that_is_not_json_is_400(api, raw, client):
    response = client.post(
        LEADS, data="{nope", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "The body is not valid JSON."


def test_a_body_too_large_is_413(api, raw, settings):
    settings.INTAKE_MAX_BODY_BYTES = 1024
    response = api("post", LEADS, raw, {**ADA, "message": "x" * 2000})
    assert response.status_code == 413
    assert Lead.objects.count() == 0


def test_a_merged_address_lands_on_the_lead_it_was_merged_into(api, raw):
    survivor = LeadFactory(email="ada@engines.example", company="")
    survivor.aliases.create(email="ada@analytical.example")
    response = api("post", LEADS, raw, ADA)
    assert response.status_code == 200
    assert response.json()["lead"] == survivor.pk
    assert Lead.objects.count() == 1
