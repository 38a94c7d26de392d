"""Content where reps work: the lead page's panel suggests published assets fitting the
lead's persona and stage, most used by colleagues first, in constant queries; a touch
logged with assets records the current version of each, with the touch's own rules
(first touch moves an MQL to Working; a closed lead refuses; nothing typed is lost)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from agreements.stages import Stage
from content import queries, services
from content.models import Asset, TouchAsset
from leads import services as lead_services
from leads.models import Activity, LeadEvent
from tests.content.library_factories import AssetFactory
from tests.factories import LeadFactory, PersonaFactory, RepFactory
from tests.sla.conftest import clock_lead, make_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def cfo():
    return PersonaFactory(name="CFO")


@pytest.fixture
def lead(rep, cfo):
    return LeadFactory(owner=rep, stage=Stage.WORKING, persona=cfo)


def use(asset: Asset, times: int, team) -> None:
    """Colleagues used the asset in `times` touches."""
    for _ in range(times):
        colleague = RepFactory(team=team)
        other = LeadFactory(owner=colleague, stage=Stage.WORKING)
        services.log_touch_with_assets(
            other, by=colleague, kind="email", subject="Sent it", assets=[asset]
        )


def test_suggestions_fit_persona_and_stage_and_come_most_used_first(lead, cfo, team):
    rarely = AssetFactory(title="Rarely used", personas=[cfo])
    often = AssetFactory(title="Often used", stages=[Stage.WORKING])
    generic = AssetFactory(title="For everyone")
    AssetFactory(title="For CTOs", personas=[PersonaFactory(name="CTO")])
    AssetFactory(title="For opportunities", stages=[Stage.OPPORTUNITY])
    AssetFactory(title="Draft", status=Asset.Status.DRAFT)
    AssetFactory(title="Retired", status=Asset.Status.RETIRED)
    use(often, 3, team)
    use(rarely, 1, team)

    found = queries.suggestions(lead)

    assert [a.title for a in found] == ["Often used", "Rarely used", "For everyone"]
    assert [a.used for a in found] == [3, 1, 0]
    assert generic in found


def test_the_panel_answers_in_constant_queries(client, rep, lead, cfo, django_assert_num_queries):
    AssetFactory.create_batch(2, personas=[cfo])
    services.share(lead, AssetFactory(), by=rep)
    client.force_login(rep)
    url = reverse("content:lead_panel", args=[lead.pk])
    client.get(url)  # the session and the user's groups are warm from here on

    with django_assert_num_queries(6) as few:
        client.get(url)
    AssetFactory.create_batch(6, personas=[cfo], stages=[Stage.WORKING])
    for asset in AssetFactory.create_batch(3):
        services.share(lead, asset, by=rep)
    with django_assert_num_queries(len(few.captured_queries)):
        html = client.get(url).content.decode()
    assert html.count('data-testid="suggestion"') == 8
    assert html.count('data-testid="shared-link"') == 4


def test_the_lead_page_loads_the_panel_and_the_picker_from_content(client, rep, lead):
    client.force_login(rep)

    html = client.get(lead.get_absolute_url()).content.decode()

    assert reverse("content:lead_panel", args=[lead.pk]) in html
    assert reverse("content:lead_picker", args=[lead.pk]) in html


def test_the_picker_sends_the_touch_form_to_content(client, rep, lead, cfo):
    AssetFactory(title="CFO deck", personas=[cfo])
    client.force_login(rep)

    html = client.get(reverse("content:lead_picker", args=[lead.pk])).content.decode()

    assert 'name="assets"' in html and "CFO deck" in html
    assert f'formaction="{reverse("content:lead_touch", args=[lead.pk])}"' in html


def test_a_touch_with_assets_records_their_current_versions(client, rep, lead):
    deck = AssetFactory(title="Deck")
    study = AssetFactory(title="Study")
    client.force_login(rep)

    response = client.post(
        reverse("content:lead_touch", args=[lead.pk]),
        {"kind": "email", "subject": "Sent the deck", "assets": [deck.pk, study.pk]},
    )

    touch = Activity.objects.get(lead=lead, kind="email")
    assert response.status_code == 302
    assert touch.is_touch and touch.actor == rep
    used = TouchAsset.objects.filter(activity=touch).order_by("asset__title")
    assert [(u.asset, u.version, u.lead, u.by) for u in used] == [
        (deck, deck.current_version, lead, rep),
        (study, study.current_version, lead, rep),
    ]
    page = client.get(lead.get_absolute_url(), follow=True).content.decode()
    assert "Email logged with 2 content items." in page


def test_a_first_touch_with_an_asset_moves_an_mql_to_working_and_meets_its_clock(rep):
    lead = clock_lead(make_rule(), rep, started=timezone.now() - dt.timedelta(minutes=5))
    asset = AssetFactory()

    services.log_touch_with_assets(lead, by=rep, kind="call", subject="Intro", assets=[asset])

    lead.refresh_from_db()
    assert lead.stage == Stage.WORKING
    kinds = set(LeadEvent.objects.filter(lead=lead).values_list("kind", flat=True))
    assert {LeadEvent.Kind.SALES_TOUCH, LeadEvent.Kind.CLOCK_MET} <= kinds
    assert TouchAsset.objects.filter(lead=lead).count() == 1


def test_an_invalid_touch_comes_back_with_what_was_typed_and_checked(client, rep, lead):
    deck = AssetFactory(title="Deck")
    client.force_login(rep)

    response = client.post(
        reverse("content:lead_touch", args=[lead.pk]),
        {"kind": "email", "subject": "", "body": "", "assets": [deck.pk]},
    )

    html = response.content.decode()
    assert response.status_code == 422
    assert "Say what happened" in html
    assert f'value="{deck.pk}" checked' in html
    assert not Activity.objects.filter(lead=lead).exists()


def test_an_asset_retired_meanwhile_refuses_the_touch_and_loses_nothing(
    client, rep, marketer, lead
):
    deck = AssetFactory(title="Deck")
    services.retire(deck, by=marketer)
    client.force_login(rep)

    response = client.post(
        reverse("content:lead_touch", args=[lead.pk]),
        {"kind": "call", "subject": "Walked through the deck", "assets": [deck.pk]},
    )

    html = response.content.decode()
    assert response.status_code == 422
    assert "not published any more" in html
    assert "Walked through the deck" in html
    assert not Activity.objects.filter(lead=lead).exists()


def test_a_lead_closed_meanwhile_answers_409_with_the_text_unsaved(client, rep, lead):
    deck = AssetFactory(title="Deck")
    lead_services.run_transition(lead, "disqualify", by=rep, reason="No budget")
    client.force_login(rep)

    response = client.post(
        reverse("content:lead_touch", args=[lead.pk]),
        {"kind": "call", "subject": "Called back", "stage": Stage.WORKING, "assets": [deck.pk]},
    )

    html = response.content.decode()
    assert response.status_code == 409
    assert "Called back" in html and "Nothing was saved" in html
    assert not TouchAsset.objects.exists()
    assert not Activity.objects.filter(lead=lead, kind="call").exists()


def test_only_the_leads_sales_side_logs_a_touch_through_content(client, other_rep, marketer, lead):
    for user, status in ((other_rep, 404), (marketer, 403)):
        client.force_login(user)
        response = client.post(
            reverse("content:lead_touch", args=[lead.pk]), {"kind": "call", "subject": "Hi"}
        )
        assert response.status_code == status
    assert not Activity.objects.filter(lead=lead).exists()
