"""The content library's roles: only Marketing and Ops create, publish, retire and
replace; reps and managers see published assets only (a draft's page is 404 to them);
versions keep the usage of the file they replaced."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from agreements.stages import Stage
from content import services
from content.models import Asset, AssetKind, AssetVersion, TouchAsset
from tests.content.library_factories import AssetFactory, AssetKindFactory
from tests.factories import LeadFactory, PersonaFactory

pytestmark = pytest.mark.django_db

Status = Asset.Status


def test_the_data_migration_seeds_the_usual_kinds_once():
    # The migration's own function: a flush by an earlier transactional test empties the
    # table the migration filled, so the test runs it (twice: it adds nothing the second time).
    seed = importlib.import_module("content.migrations.0002_asset_kinds").seed_kinds
    AssetKind.objects.all().delete()

    seed(django_apps, None)
    seed(django_apps, None)

    names = list(AssetKind.objects.values_list("name", flat=True))
    assert names == ["Case study", "Deck", "Data sheet", "Blog post", "Video", "Template"]


@pytest.mark.parametrize("who", ["marketer", "ops"])
def test_marketing_and_ops_create_publish_and_retire(client, request, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    kind = AssetKindFactory(name="Deck")

    response = client.post(
        reverse("content:asset_new"),
        {"title": "Healthcare deck", "kind": kind.pk, "link_url": "https://example.com/deck"},
    )
    asset = Asset.objects.get(title="Healthcare deck")
    assert response.status_code == 302
    assert (asset.status, asset.owner, asset.current_version.number) == (Status.DRAFT, user, 1)

    client.post(reverse("content:asset_publish", args=[asset.pk]))
    asset.refresh_from_db()
    assert asset.status == Status.PUBLISHED

    client.post(reverse("content:asset_retire", args=[asset.pk]))
    asset.refresh_from_db()
    assert asset.status == Status.RETIRED


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_sales_may_not_write_the_library(client, request, who):
    client.force_login(request.getfixturevalue(who))
    asset = AssetFactory(status=Status.DRAFT)
    kind = AssetKindFactory()

    answers = [
        client.get(reverse("content:asset_new")).status_code,
        client.post(
            reverse("content:asset_new"),
            {"title": "Mine", "kind": kind.pk, "link_url": "https://example.com/x"},
        ).status_code,
        client.post(reverse("content:asset_publish", args=[asset.pk])).status_code,
        client.post(reverse("content:asset_retire", args=[asset.pk])).status_code,
        client.get(reverse("content:asset_edit", args=[asset.pk])).status_code,
        client.get(reverse("content:asset_replace", args=[asset.pk])).status_code,
    ]

    assert answers == [403] * 6
    asset.refresh_from_db()
    assert asset.status == Status.DRAFT
    assert not Asset.objects.filter(title="Mine").exists()


def test_a_rep_sees_only_published_assets(client, rep):
    published = AssetFactory(title="Published study")
    draft = AssetFactory(title="Draft study", status=Status.DRAFT)
    retired = AssetFactory(title="Retired study", status=Status.RETIRED)
    client.force_login(rep)

    html = client.get(reverse("content:library")).content.decode()

    assert "Published study" in html
    assert "Draft study" not in html and "Retired study" not in html
    assert client.get(reverse("content:asset", args=[published.pk])).status_code == 200
    assert client.get(reverse("content:asset", args=[draft.pk])).status_code == 404
    assert client.get(reverse("content:asset", args=[retired.pk])).status_code == 404
    # A status filter typed by hand shows nothing more.
    html = client.get(reverse("content:library"), {"status": "draft"}).content.decode()
    assert "Draft study" not in html


def test_marketing_sees_drafts_and_filters_by_kind_persona_stage_and_status(client, marketer):
    cfo = PersonaFactory(name="CFO")
    deck = AssetKindFactory(name="Deck")
    AssetFactory(title="For CFOs in SQL", personas=[cfo], stages=[Stage.SQL])
    AssetFactory(title="Any deck", kind=deck)
    AssetFactory(title="Draft for CTOs", personas=[PersonaFactory(name="CTO")], status=Status.DRAFT)
    client.force_login(marketer)

    def titles(**filters) -> set[str]:
        page = client.get(reverse("content:library"), filters)
        return {a.title for a in page.context["assets"]}

    assert titles() == {"For CFOs in SQL", "Any deck", "Draft for CTOs"}
    assert titles(kind=deck.pk) == {"Any deck"}
    # An asset for no persona in particular fits every persona.
    assert titles(persona=cfo.pk) == {"For CFOs in SQL", "Any deck"}
    assert titles(stage=Stage.MQL) == {"Any deck", "Draft for CTOs"}
    assert titles(status=Status.DRAFT) == {"Draft for CTOs"}


def test_library_page_query_count_does_not_grow_with_assets(
    client, marketer, django_assert_max_num_queries
):
    persona = PersonaFactory()
    AssetFactory.create_batch(3, personas=[persona], stages=[Stage.SQL])
    client.force_login(marketer)
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("content:library"))
    AssetFactory.create_batch(10, personas=[persona], stages=[Stage.MQL])
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("content:library"))


def test_replacing_the_file_keeps_the_old_versions_usage(client, marketer, rep):
    asset = AssetFactory(title="Pricing sheet")
    lead = LeadFactory(owner=rep, stage=Stage.WORKING)
    touch = services.log_touch_with_assets(
        lead, by=rep, kind="email", subject="Prices", assets=[asset]
    )
    client.force_login(marketer)

    upload = SimpleUploadedFile("pricing v2.pdf", b"%PDF-1.4 new prices", "application/pdf")
    response = client.post(
        reverse("content:asset_replace", args=[asset.pk]), {"upload": upload, "note": "2027"}
    )

    asset.refresh_from_db()
    assert response.status_code == 302
    assert asset.current_version.number == 2
    assert asset.current_version.file_name == "pricing_v2.pdf"
    old = AssetVersion.objects.get(asset=asset, number=1)
    assert TouchAsset.objects.get(activity=touch).version == old
    page = client.get(reverse("content:asset", args=[asset.pk]))
    used = {v.number: v.touch_count for v in page.context["versions"]}
    assert used == {2: 0, 1: 1}
    download = client.get(reverse("content:version_file", args=[asset.pk, 2]))
    assert download.content == b"%PDF-1.4 new prices"


def test_a_version_needs_a_link_or_a_file_not_both(client, marketer):
    asset = AssetFactory()
    client.force_login(marketer)
    upload = SimpleUploadedFile("a.pdf", b"x", "application/pdf")

    neither = client.post(reverse("content:asset_replace", args=[asset.pk]), {})
    both = client.post(
        reverse("content:asset_replace", args=[asset.pk]),
        {"upload": upload, "link_url": "https://example.com/a"},
    )

    assert (neither.status_code, both.status_code) == (422, 422)
    assert "Give either a link or a file." in neither.content.decode()
    assert asset.versions.count() == 1


def test_marketing_edits_what_an_asset_fits(client, marketer):
    asset = AssetFactory(title="Old title", stages=[Stage.MQL])
    cfo = PersonaFactory(name="CFO")
    client.force_login(marketer)

    response = client.post(
        reverse("content:asset_edit", args=[asset.pk]),
        {
            "title": "New title",
            "kind": asset.kind_id,
            "personas": [cfo.pk],
            "stages": [Stage.SQL, Stage.OPPORTUNITY],
        },
    )

    asset.refresh_from_db()
    assert response.status_code == 302
    assert asset.title == "New title"
    assert list(asset.personas.all()) == [cfo]
    assert sorted(asset.stages.values_list("stage", flat=True)) == ["opportunity", "sql"]
    assert asset.owner == marketer


def test_ops_edit_the_kinds_in_the_admin(client, ops):
    client.force_login(ops)

    listed = client.get(reverse("admin:content_assetkind_changelist"))
    added = client.post(
        reverse("admin:content_assetkind_add"), {"name": "Webinar recording", "position": 70}
    )

    assert listed.status_code == 200
    assert added.status_code == 302
    assert AssetKind.objects.filter(name="Webinar recording").exists()


def test_a_rep_cannot_fetch_the_file_of_a_draft_or_retired_asset(client, rep, marketer):
    draft = services.create_asset(
        by=marketer,
        title="Draft pricing",
        kind=AssetKindFactory(),
        upload=SimpleUploadedFile("pricing.pdf", b"%PDF-1.4 secret"),
    )
    retired = AssetFactory(title="Old pricing", status=Status.RETIRED)
    client.force_login(rep)

    for asset in (draft, retired):
        response = client.get(reverse("content:version_file", args=[asset.pk, 1]))
        assert response.status_code == 404
    client.force_login(marketer)
    response = client.get(reverse("content:version_file", args=[draft.pk, 1]))
    assert (response.status_code, response.content) == (200, b"%PDF-1.4 secret")
    assert response["Content-Disposition"] == 'attachment; filename="pricing.pdf"'
