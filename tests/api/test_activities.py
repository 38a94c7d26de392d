"""POST /api/v1/activities/: events from other tools, kept once per external id."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from agreements.stages import Stage
from api.models import ActivityReceipt, Scope
from leads.models import Activity, Lead, LeadEvent
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db

ACTIVITIES = "/api/v1/activities/"


def event(**fields):
    when = timezone.now() - dt.timedelta(hours=2)
    return {
        "external_id": "evt-1",
        "email": "grace@navy.example",
        "kind": "webinar_attended",
        "occurred_at": when.isoformat(),
        **fields,
    }


@pytest.fixture
def raw(make_token):
    return make_token(Scope.ACTIVITIES_WRITE)[1]


@pytest.fixture
def grace(db):
    return LeadFactory(email="grace@navy.example", stage=Stage.FAN)


def test_an_event_with_a_campaign_is_an_activity_and_a_touch_point(api, raw, grace):
    campaign = CampaignFactory(name="Compilers webinar")
    body = event(campaign="compilers WEBINAR")
    response = api("post", ACTIVITIES, raw, body)
    assert response.status_code == 201
    activity = Activity.objects.get(lead=grace)
    assert (activity.kind, activity.side, activity.campaign) == (
        Activity.Kind.WEBINAR,
        Activity.Side.CUSTOMER,
        campaign,
    )
    assert activity.occurred_at == dt.datetime.fromisoformat(body["occurred_at"])
    point = LeadEvent.objects.get(lead=grace, kind=LeadEvent.Kind.TOUCH_POINT)
    assert (point.campaign, point.at) == (campaign, activity.occurred_at)
    assert response.json() == {
        "activity": activity.pk,
        "lead": grace.pk,
        "created": True,
        "lead_created": False,
        "ignored": [],
    }


@pytest.mark.parametrize(
    ("kind", "side", "activity_kind", "touch_point"),
    [
        ("email_sent", "marketing", "email", False),
        ("email_opened", "customer", "email", False),
        ("email_clicked", "customer", "email", True),
        ("web_visit", "customer", "web_visit", False),
        ("form", "customer", "form", True),
        ("content_download", "customer", "content_download", True),
    ],
)
def test_each_kind_becomes_its_activity(api, raw, grace, kind, side, activity_kind, touch_point):
    campaign = CampaignFactory(name="Newsletter")
    assert api("post", ACTIVITIES, raw, event(kind=kind, campaign="Newsletter")).status_code == 201
    activity = Activity.objects.get(lead=grace)
    assert (activity.side, activity.kind, activity.campaign) == (side, activity_kind, campaign)
    assert not activity.is_touch  # never a sales touch: no clock is met by it
    points = LeadEvent.objects.filter(lead=grace, kind=LeadEvent.Kind.TOUCH_POINT)
    assert points.exists() is touch_point


def test_an_event_without_a_campaign_is_no_touch_point(api, raw, grace):
    assert api("post", ACTIVITIES, raw, event()).status_code == 201
    assert Activity.objects.filter(lead=grace).count() == 1
    assert not LeadEvent.objects.filter(lead=grace, kind=LeadEvent.Kind.TOUCH_POINT).exists()


def test_the_same_external_id_twice_is_one_activity(api, raw, grace):
    CampaignFactory(name="Newsletter")
    body = event(campaign="Newsletter")
    first = api("post", ACTIVITIES, raw, body)
    again = api("post", ACTIVITIES, raw, body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["activity"] == first.json()["activity"]
    assert again.json()["created"] is False
    assert Activity.objects.filter(lead=grace).count() == 1
    assert LeadEvent.objects.filter(lead=grace, kind=LeadEvent.Kind.TOUCH_POINT).count() == 1


def test_an_external_id_reused_for_another_event_is_422(api, raw, grace):
    api("post", ACTIVITIES, raw, event())
    response = api("post", ACTIVITIES, raw, event(kind="web_visit"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "external_id"
    assert Activity.objects.filter(lead=grace).count() == 1


def test_external_ids_are_per_integration(api, make_token, grace):
    _crm, first = make_token(Scope.ACTIVITIES_WRITE, name="CRM")
    _tool, second = make_token(Scope.ACTIVITIES_WRITE, name="Marketing tool")
    assert api("post", ACTIVITIES, first, event()).status_code == 201
    assert api("post", ACTIVITIES, second, event()).status_code == 201
    assert Activity.objects.filter(lead=grace).count() == 2


def test_an_unknown_address_is_refused_without_the_suspect_scope(api, raw):
    response = api("post", ACTIVITIES, raw, event(email="nobody@example.com"))
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "email"
    assert "activities:create_suspects" in response.json()["errors"][0]["message"]
    assert not Lead.objects.exists()
    assert not ActivityReceipt.objects.exists()


def test_an_unknown_address_becomes_a_suspect_with_the_scope(api, make_token, api_channel):
    _token, raw = make_token(Scope.ACTIVITIES_WRITE, Scope.ACTIVITIES_CREATE_SUSPECTS)
    body = event(email="New@Example.com", lead={"first_name": "Nia", "company": "Acme"})
    response = api("post", ACTIVITIES, raw, body)
    assert response.status_code == 201
    lead = Lead.objects.get()
    assert (lead.email, lead.stage, lead.first_name, lead.company, lead.channel) == (
        "new@example.com",
        Stage.SUSPECT,
        "Nia",
        "Acme",
        api_channel,
    )
    assert response.json()["lead_created"] is True
    assert LeadEvent.objects.filter(
        lead=lead, kind=LeadEvent.Kind.STAGE_ENTERED, stage=Stage.SUSPECT
    ).exists()
    assert Activity.objects.get(lead=lead).kind == Activity.Kind.WEBINAR


def test_a_merged_address_lands_on_the_surviving_lead(api, raw, grace):
    grace.aliases.create(email="g.hopper@navy.example")
    response = api("post", ACTIVITIES, raw, event(email="g.hopper@navy.example"))
    assert response.status_code == 201
    assert response.json()["lead"] == grace.pk
    assert Activity.objects.get().lead == grace


def test_an_unknown_campaign_is_422_and_nothing_is_kept(api, raw, grace):
    response = api("post", ACTIVITIES, raw, event(campaign="No such campaign"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "campaign"
    assert not Activity.objects.exists()


def test_missing_and_bad_fields_are_400_each_named(api, raw):
    response = api("post", ACTIVITIES, raw, {"kind": "fax", "occurred_at": "yesterday"})
    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"external_id", "email", "kind", "occurred_at"}


def test_an_event_in_the_future_is_refused(api, raw, grace):
    later = (timezone.now() + dt.timedelta(days=1)).isoformat()
    response = api("post", ACTIVITIES, raw, event(occurred_at=later))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "occurred_at"
