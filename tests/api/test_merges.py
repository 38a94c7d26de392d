"""POST /api/v1/merges/ and /merges/<id>/undo/: customers.merge, in the token creator's name."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from agreements.stages import Stage
from api import tokens
from api.models import Scope
from customers import merge as merging
from customers.models import Merge
from leads.models import Activity, Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

MERGES = "/api/v1/merges/"


@pytest.fixture
def raw(ops, api_channel):
    scopes = [Scope.MERGE_WRITE, Scope.LEADS_READ, Scope.ACTIVITIES_WRITE]
    return tokens.issue(api_channel, "CRM", scopes, by=ops)[1]


@pytest.fixture
def pair(db):
    keep = LeadFactory(email="grace@navy.example", stage=Stage.FAN, phone="")
    other = LeadFactory(email="g.hopper@gmail.example", stage=Stage.SUSPECT, phone="+1 555 0100")
    return keep, other


def test_a_merge_keeps_one_lead_and_the_old_id_redirects(api, raw, pair, ops):
    keep, other = pair
    response = api("post", MERGES, raw, {"leads": [keep.pk, other.pk]})
    assert response.status_code == 201
    body = response.json()
    assert (body["survivor"], body["merged"]) == (keep.pk, [other.pk])
    done = Merge.objects.get(pk=body["merge"])
    assert done.merged_by == ops
    assert Lead.with_merged.get(pk=other.pk).merged_into_id == keep.pk
    redirect = api("get", f"/api/v1/leads/{other.pk}/", raw)
    assert redirect.status_code == 307
    assert redirect.json()["merged_into"] == keep.pk


def test_after_a_merge_an_activity_for_the_merged_address_lands_on_the_survivor(api, raw, pair):
    keep, other = pair
    api("post", MERGES, raw, {"leads": [keep.pk, other.pk]})
    event = {
        "external_id": "e-1",
        "email": "g.hopper@gmail.example",
        "kind": "web_visit",
        "occurred_at": (timezone.now() - dt.timedelta(minutes=5)).isoformat(),
    }
    response = api("post", "/api/v1/activities/", raw, event)
    assert response.status_code == 201
    assert response.json()["lead"] == keep.pk


def test_an_undo_restores_both_leads(api, raw, pair):
    keep, other = pair
    before = {lead.pk: (lead.email, lead.phone, lead.stage) for lead in pair}
    merge_id = api("post", MERGES, raw, {"leads": [keep.pk, other.pk]}).json()["merge"]
    response = api("post", f"{MERGES}{merge_id}/undo/", raw)
    assert response.status_code == 200
    assert response.json()["undone_at"] is not None
    after = {lead.pk: (lead.email, lead.phone, lead.stage) for lead in Lead.objects.all()}
    assert after == before
    assert api("get", f"/api/v1/leads/{other.pk}/", raw).status_code == 200


def test_an_undo_that_cannot_be_exact_is_409_saying_why(api, raw, pair):
    keep, other = pair
    merge_id = api("post", MERGES, raw, {"leads": [keep.pk, other.pk]}).json()["merge"]
    Activity.objects.create(lead=keep, side="sales", kind="note", subject="Later")
    response = api("post", f"{MERGES}{merge_id}/undo/", raw)
    assert response.status_code == 409
    assert "added to the survivor" in response.json()["errors"][0]["message"]
    assert Lead.with_merged.get(pk=other.pk).merged_into_id == keep.pk


def test_undoing_twice_is_409(api, raw, pair):
    merge_id = api("post", MERGES, raw, {"leads": [lead.pk for lead in pair]}).json()["merge"]
    api("post", f"{MERGES}{merge_id}/undo/", raw)
    assert api("post", f"{MERGES}{merge_id}/undo/", raw).status_code == 409


def test_a_refused_merge_is_422_saying_why(api, raw, pair):
    keep, _other = pair
    response = api("post", MERGES, raw, {"leads": [keep.pk, 999999]})
    assert response.status_code == 422
    assert "999999" in response.json()["errors"][0]["message"]


def test_fewer_than_two_leads_is_400(api, raw, pair):
    response = api("post", MERGES, raw, {"leads": [pair[0].pk]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "leads"


def test_an_unknown_merge_is_404(api, raw):
    assert api("post", f"{MERGES}999999/undo/", raw).status_code == 404


def test_a_token_whose_creator_may_not_merge_is_403(api, make_token, pair):
    _token, raw = make_token(Scope.MERGE_WRITE)  # created by nobody (a script)
    response = api("post", MERGES, raw, {"leads": [lead.pk for lead in pair]})
    assert response.status_code == 403
    assert "created it" in response.json()["error"]
    assert not Merge.objects.exists()


def test_merging_needs_the_merge_scope(api, make_token, ops, pair):
    _token, raw = make_token(Scope.LEADS_READ)
    response = api("post", MERGES, raw, {"leads": [lead.pk for lead in pair]})
    assert response.status_code == 403
    assert "merge:write" in response.json()["error"]


def test_a_managers_token_cannot_undo_a_merge_of_another_teams_leads(
    api, api_channel, manager, other_rep, ops
):
    """The web's undo checks the survivor's row; the API's undo did not (undone: 200)."""
    keep = LeadFactory(email="ada@west.example", owner=other_rep)
    other = LeadFactory(email="a.lovelace@gmail.example", owner=other_rep)
    done = merging.merge_leads(merging.plan_merge([keep.pk, other.pk], ops), ops)
    raw = tokens.issue(api_channel, "CRM", [Scope.MERGE_WRITE], by=manager)[1]
    response = api("post", f"{MERGES}{done.pk}/undo/", raw)
    assert response.status_code == 404
    done.refresh_from_db()
    assert done.undone_at is None
    with pytest.raises(merging.MergeError, match="you may undo"):
        merging.undo_merge(done, manager)
