"""Ids read from URLs, forms and API bodies: a digit that is not ASCII ("²" passes
str.isdigit(), int() refuses it) or a number past 64 bits (SQLite cannot compare it) gets
the view's own refusal, never a 500. One helper reads them all: config.ids.as_id."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from agreements.calendar import CalendarError, parse_working_days
from agreements.models import Channel
from agreements.stages import Stage
from api import tokens
from api.models import Scope
from config.ids import MAX_ID, as_id
from leads.importing.batches import create_batch
from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

TOO_BIG = "9" * 25
SUPERSCRIPT_TWO = "\u00b2"
BAD = [TOO_BIG, SUPERSCRIPT_TWO, str(MAX_ID + 1)]


def test_as_id_reads_ascii_whole_numbers_a_row_can_have():
    assert [as_id(t) for t in ("12", " 7 ", "0", str(MAX_ID), 5)] == [12, 7, 0, MAX_ID, 5]
    for text in (*BAD, "", "-1", "1.5", "12a", "١٢", True, -3, MAX_ID + 1):
        assert as_id(text) is None, text


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _api(ops, scope: str, method: str, path: str, body: object = None):
    raw = tokens.issue(Channel.objects.get(slug="demo-request"), "CRM", [scope], by=ops)[1]
    client = Client(raise_request_exception=False)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    if body is None:
        return getattr(client, method)(path, **headers)
    return getattr(client, method)(
        path, data=json.dumps(body), content_type="application/json", **headers
    )


@pytest.mark.parametrize("bad", BAD)
def test_merge_plan_refuses_a_bad_id_with_its_message(ops, rep, bad):
    a = LeadFactory(owner=rep, stage=Stage.MQL)
    response = _client(ops).get(reverse("customers:merge_plan"), {"ids": f"{a.pk},{bad}"})
    assert response.status_code == 400
    assert "Give the leads to merge as ids" in response.content.decode()


@pytest.mark.parametrize("bad", BAD)
def test_merge_plan_ignores_a_bad_survivor(ops, rep, bad):
    a, b = (LeadFactory(owner=rep, stage=Stage.MQL) for _ in range(2))
    response = _client(ops).get(
        reverse("customers:merge_plan"), {"ids": f"{a.pk},{b.pk}", "survivor": bad}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("bad", BAD)
def test_merging_with_a_bad_version_asks_for_a_review(ops, rep, bad):
    a, b = (LeadFactory(owner=rep, stage=Stage.MQL) for _ in range(2))
    response = _client(ops).post(
        reverse("customers:merge_plan"),
        {"ids": f"{a.pk},{b.pk}", "action": "merge", f"version_{a.pk}": bad,
         f"version_{b.pk}": str(b.version)},
    )  # fmt: skip
    assert response.status_code == 400
    assert "Review the plan before merging." in response.content.decode()
    assert Lead.objects.filter(pk__in=[a.pk, b.pk]).count() == 2


@pytest.mark.parametrize("bad", BAD)
def test_api_suppression_refuses_a_bad_after(ops, bad):
    response = _api(ops, Scope.SUPPRESSION_READ, "get", f"/api/v1/suppression/?after={bad}")
    assert response.status_code == 400
    assert "after must be a lead id" in response.content.decode()


@pytest.mark.parametrize("bad", BAD)
def test_api_merge_refuses_ids_past_64_bits(ops, bad):
    if not bad.isascii():
        pytest.skip("JSON carries numbers, not digits of other scripts")
    a = LeadFactory(stage=Stage.SUSPECT)
    response = _api(ops, Scope.MERGE_WRITE, "post", "/api/v1/merges/", {"leads": [a.pk, int(bad)]})
    assert response.status_code == 400
    response = _api(
        ops, Scope.MERGE_WRITE, "post", "/api/v1/merges/",
        {"leads": [a.pk, a.pk + 1], "survivor": int(bad)},
    )  # fmt: skip
    assert response.status_code == 400


@pytest.mark.parametrize("bad", BAD)
def test_import_mapping_ignores_a_bad_saved_mapping(marketer, rep, bad):
    lead = LeadFactory(owner=rep, stage=Stage.MQL)
    batch, _ = create_batch(
        b"email,first_name\nm@example.com,Max\n", "m.csv", channel=lead.channel, by=marketer
    )
    response = _client(marketer).get(
        reverse("leads:import_mapping", args=[batch.pk]), {"saved": bad}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("bad", BAD)
def test_reassigning_a_bad_id_moves_nothing_and_says_so(manager, rep, bad):
    lead = LeadFactory(owner=rep, stage=Stage.MQL)
    response = _client(manager).post(
        reverse("leads:reassign"), {"leads": [lead.pk, bad], "to_user": rep.pk}, follow=True
    )
    assert response.status_code == 200
    assert "Nothing was reassigned: Choose leads from the list." in response.content.decode()


@pytest.mark.parametrize("bad", BAD)
def test_dismissing_a_bad_id_says_choose_existing_leads(ops, bad):
    a, b = LeadFactory(), LeadFactory()
    response = _client(ops).post(
        reverse("customers:duplicates_dismiss"), {"ids": f"{a.pk},{b.pk},{bad}"}, follow=True
    )
    assert response.status_code == 200
    assert "Choose two or more existing leads" in response.content.decode()


@pytest.mark.parametrize("bad", BAD)
def test_a_touch_naming_a_bad_asset_is_refused_as_a_stale_choice(rep, bad):
    lead = LeadFactory(owner=rep, stage=Stage.MQL)
    response = _client(rep).post(
        reverse("content:lead_touch", args=[lead.pk]),
        {"kind": "call", "subject": "x", "assets": [bad]},
    )
    assert response.status_code == 422
    assert "not published any more" in response.content.decode()
    assert not lead.activities.exists()


@pytest.mark.parametrize("bad", BAD)
def test_the_playbook_answers_404_for_a_version_that_is_no_number(client, rep, bad):
    client.force_login(rep)
    assert client.get(f"/playbook/?version={bad}").status_code == 404
    assert client.get(f"/playbook/changes/?to={bad}").status_code == 404


@pytest.mark.parametrize("bad", BAD)
def test_a_content_drilldown_for_a_bad_asset_lists_nothing(client, marketer, bad):
    client.force_login(marketer)
    response = client.get(f"/reports/content/leads/?metric=used:{bad}")
    assert response.status_code == 200
    assert 'data-testid="drill-total">0<' in response.content.decode()


@pytest.mark.parametrize("bad", BAD)
def test_the_admins_owner_filter_ignores_a_bad_owner(client, ops, bad):
    client.force_login(ops)
    assert client.get(f"/admin/leads/lead/?owner={bad}").status_code in (200, 302)


def test_a_working_day_spelled_in_other_digits_is_a_clear_error():
    with pytest.raises(CalendarError, match="is not a day"):
        parse_working_days("\u00b2")
