"""Merge pages: the plan, the confirmation (roles, CSRF, stale versions), the log, undo, and
a merged lead's old page."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from agreements.models import Channel
from customers.merge import merge_leads, plan_merge
from customers.models import Merge
from leads.intake import issue_token
from leads.models import Lead
from tests.factories import ActivityFactory, LeadFactory, RepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(rep):
    old = LeadFactory(email="jsmith@gmail.example", first_name="J", phone="", owner=rep)
    new = LeadFactory(email="john.smith@acme.example", first_name="John", owner=rep, stage="mql")
    ActivityFactory(lead=old, subject="Called about pricing", actor=rep)
    return old, new


def plan_url(*leads) -> str:
    return reverse("customers:merge_plan") + "?ids=" + ",".join(str(lead.pk) for lead in leads)


def confirm(client, *leads, **extra):
    data = {"ids": ",".join(str(lead.pk) for lead in leads), "action": "merge", **extra}
    for lead in leads:
        data.setdefault(f"version_{lead.pk}", Lead.with_merged.get(pk=lead.pk).version)
    return client.post(reverse("customers:merge_plan"), data)


def test_the_plan_page_shows_the_survivor_and_every_value(client, ops, pair):
    old, new = pair
    client.force_login(ops)
    page = client.get(plan_url(old, new))
    assert page.status_code == 200
    text = page.content.decode()
    assert "john.smith@acme.example</strong> stays" in text
    assert 'data-field="first_name"' in text and 'name="version_' in text
    assert not Merge.objects.exists()  # GET merges nothing


@pytest.mark.parametrize("who", ["ops", "marketer", "manager"])
def test_ops_marketing_and_managers_may_merge(client, request, who, pair):
    old, new = pair
    client.force_login(request.getfixturevalue(who))
    answer = confirm(client, old, new)
    merge = Merge.objects.get()
    assert answer.status_code == 302 and answer["Location"] == merge.get_absolute_url()
    assert Lead.with_merged.get(pk=old.pk).merged_into_id == new.pk


def test_reps_may_not_merge(client, rep, pair):
    client.force_login(rep)
    assert client.get(plan_url(*pair)).status_code == 403
    assert confirm(client, *pair).status_code == 403
    assert client.get(reverse("customers:merge_list")).status_code == 403


def test_the_confirmation_needs_csrf(ops, pair):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ops)
    assert confirm(client, *pair).status_code == 403
    assert not Merge.objects.exists()


def test_a_lead_changed_since_the_plan_answers_409_and_merges_nothing(client, ops, pair):
    old, new = pair
    client.force_login(ops)
    seen = old.version
    old.phone = "+1 555 0100"
    old.save()
    answer = confirm(client, old, new, **{f"version_{old.pk}": seen})
    assert answer.status_code == 409
    assert "changed since this plan was shown" in answer.content.decode()
    assert not Merge.objects.exists()


def test_a_foreign_or_bad_id_is_a_clear_message(client, manager, other_rep, pair):
    foreign = LeadFactory(owner=other_rep)  # not in the manager's team
    client.force_login(manager)
    answer = client.get(plan_url(pair[0], foreign))
    assert answer.status_code == 400
    assert f"There is no lead {foreign.pk} you may merge." in answer.content.decode()
    assert client.get(reverse("customers:merge_plan") + "?ids=x").status_code == 400
    assert client.get(reverse("customers:merge_plan") + "?ids=999999,1").status_code == 400


def test_a_merged_lead_cannot_be_merged_again_from_the_page(client, ops, pair):
    old, new = pair
    client.force_login(ops)
    confirm(client, old, new)
    other = LeadFactory()
    answer = client.get(plan_url(old, other))
    assert answer.status_code == 400
    assert "was already merged" in answer.content.decode()


def test_the_old_page_redirects_to_the_survivor_with_a_notice(client, ops, rep, pair):
    old, new = pair
    merge_leads(plan_merge([old.pk, new.pk], ops), ops)
    client.force_login(rep)
    answer = client.get(old.get_absolute_url())
    assert answer.status_code == 302 and answer["Location"] == new.get_absolute_url()
    page = client.get(answer["Location"])
    assert "jsmith@gmail.example was merged into this lead on" in page.content.decode()
    assert "Called about pricing" in page.content.decode()  # the moved timeline


def test_the_old_page_of_a_lead_merged_into_someone_elses_lead_is_404(client, ops, other_rep):
    old = LeadFactory(owner=other_rep)
    new = LeadFactory(owner=other_rep)
    merge_leads(plan_merge([old.pk, new.pk], ops), ops)
    client.force_login(RepFactory())
    assert client.get(old.get_absolute_url()).status_code == 404


def test_undo_asks_first_then_restores(client, ops, pair):
    old, new = pair
    merge = merge_leads(plan_merge([old.pk, new.pk], ops), ops)
    client.force_login(ops)
    detail = client.get(merge.get_absolute_url())
    assert detail.status_code == 200 and 'data-testid="undo-link"' in detail.content.decode()
    ask = client.get(reverse("customers:merge_undo", args=[merge.pk]))
    assert ask.status_code == 200 and "Yes, undo the merge" in ask.content.decode()
    assert Lead.with_merged.get(pk=old.pk).merged_into_id == new.pk  # asking changes nothing
    done = client.post(reverse("customers:merge_undo", args=[merge.pk]))
    assert done.status_code == 302
    assert Lead.objects.filter(pk=old.pk).exists()
    listing = client.get(reverse("customers:merge_list"))
    assert f'data-merge="{merge.pk}"' in listing.content.decode()


def test_undo_after_the_survivor_changed_says_what_and_changes_nothing(client, ops, pair):
    old, new = pair
    merge = merge_leads(plan_merge([old.pk, new.pk], ops), ops)
    survivor = Lead.objects.get(pk=new.pk)
    survivor.title = "CTO"
    survivor.save()
    client.force_login(ops)
    detail = client.get(merge.get_absolute_url()).content.decode()
    assert "can no longer be undone exactly" in detail and "title" in detail
    answer = client.post(reverse("customers:merge_undo", args=[merge.pk]))
    assert answer.status_code == 409
    assert Lead.with_merged.get(pk=old.pk).merged_into_id == new.pk


def test_a_web_to_lead_post_for_a_merged_address_lands_on_the_survivor(client, ops, pair):
    old, new = pair
    merge_leads(plan_merge([old.pk, new.pk], ops), ops)
    token = issue_token(Channel.objects.get(slug="demo-request"), "Website demo form")[1]
    answer = client.post(
        reverse("leads:intake", args=["demo-request"]),
        data=json.dumps({"email": "JSmith@gmail.example", "message": "A demo, please."}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert answer.status_code in (200, 201)
    assert answer.json()["lead"] == new.pk
    assert Lead.objects.get(pk=new.pk).activities.filter(body="A demo, please.").exists()


def test_review_with_another_survivor_shows_its_plan_and_merges_nothing(client, ops, pair):
    old, new = pair
    client.force_login(ops)
    data = {"ids": f"{old.pk},{new.pk}", "survivor": old.pk, "action": "review"}
    page = client.post(reverse("customers:merge_plan"), data)
    assert page.status_code == 200
    assert "jsmith@gmail.example</strong> stays: chosen by you" in page.content.decode()
    assert not Merge.objects.exists()


def test_the_survivors_page_links_to_the_merge_for_those_who_may_merge(client, ops, rep, pair):
    old, new = pair
    merge = merge_leads(plan_merge([old.pk, new.pk], ops), ops)
    url = reverse("customers:merge_hint", args=[new.pk])
    client.force_login(ops)
    assert merge.get_absolute_url() in client.get(url).content.decode()
    client.force_login(rep)
    answer = client.get(url)
    assert answer.status_code == 200 and merge.get_absolute_url() not in answer.content.decode()
