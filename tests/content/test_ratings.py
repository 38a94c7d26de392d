"""Ratings: a rep says whether an asset version they used on a lead helped, and why — once
per rep, version and lead, changeable; only what they used."""

from __future__ import annotations

import pytest
from django.urls import reverse

from content import ratings
from content import services as content_services
from content.models import Rating
from leads.models import Lead
from tests.content.library_factories import AssetFactory
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(rep):
    return LeadFactory(owner=rep, stage="working")


@pytest.fixture
def asset(db):
    return AssetFactory(title="Hospital case study")


def used(lead, rep, asset):
    content_services.log_touch_with_assets(
        Lead.objects.get(pk=lead.pk), by=rep, kind="call", assets=[asset]
    )


def rate(client, lead, version, helped="yes", reason="They asked for it", **headers):
    return client.post(
        reverse("content:rate", args=[lead.pk]),
        {"version": version.pk, "helped": helped, "reason": reason},
        **headers,
    )


def test_the_panel_offers_to_rate_what_the_rep_used(client, rep, lead, asset):
    used(lead, rep, asset)
    client.force_login(rep)

    html = client.get(reverse("content:lead_feedback", args=[lead.pk])).content.decode()

    assert 'id="content-feedback"' in html
    assert f'data-version="{asset.current_version.pk}"' in html
    assert "Request content from marketing" in html


def test_a_rep_rates_an_asset_they_used_and_can_change_it(client, rep, lead, asset):
    used(lead, rep, asset)
    client.force_login(rep)

    first = rate(
        client, lead, asset.current_version, "yes", "Opened the meeting", HTTP_HX_REQUEST="true"
    )
    second = rate(client, lead, asset.current_version, "no", "Too long for them")

    (rating,) = Rating.objects.all()
    assert first.status_code == 200 and 'id="content-feedback"' in first.content.decode()
    assert second.status_code == 302
    assert (rating.rep, rating.lead, rating.asset, rating.helped) == (rep, lead, asset, False)
    assert rating.reason == "Too long for them"


def test_each_version_is_rated_on_its_own(rep, marketer, lead, asset):
    used(lead, rep, asset)
    old = asset.current_version
    content_services.replace(asset, by=marketer, link_url="https://example.com/v2")
    used(lead, rep, asset)

    ratings.rate(rep, lead, old, helped=True, reason="Good")
    ratings.rate(rep, lead, asset.current_version, helped=False, reason="Worse")

    assert Rating.objects.filter(lead=lead, rep=rep).count() == 2


def test_an_asset_not_used_on_the_lead_cannot_be_rated(client, rep, lead, asset):
    client.force_login(rep)

    response = rate(client, lead, asset.current_version)

    assert response.status_code == 422
    assert "after you used it" in response.content.decode()
    assert not Rating.objects.exists()


def test_a_rating_needs_a_reason(client, rep, lead, asset):
    used(lead, rep, asset)
    client.force_login(rep)

    response = rate(client, lead, asset.current_version, reason="  ")

    assert response.status_code == 422
    assert not Rating.objects.exists()


def test_a_rep_cannot_open_or_rate_on_another_reps_lead(client, rep, other_rep, asset):
    theirs = LeadFactory(owner=other_rep, stage="working")
    used(theirs, other_rep, asset)
    client.force_login(rep)

    assert client.get(reverse("content:lead_feedback", args=[theirs.pk])).status_code == 404
    assert rate(client, theirs, asset.current_version).status_code == 404
    assert not Rating.objects.exists()


def test_marketing_reads_ratings_but_does_not_rate(client, rep, marketer, lead, asset):
    used(lead, rep, asset)
    ratings.rate(rep, lead, asset.current_version, helped=True, reason="Opened the door")
    client.force_login(marketer)

    html = client.get(reverse("content:lead_feedback", args=[lead.pk])).content.decode()

    assert "Opened the door" in html
    assert rate(client, lead, asset.current_version).status_code == 403


def test_the_lead_page_loads_the_panel_lazily(client, rep, lead):
    client.force_login(rep)

    html = client.get(lead.get_absolute_url()).content.decode()

    assert reverse("content:lead_feedback", args=[lead.pk]) in html
