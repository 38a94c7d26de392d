"""Factories of the content library: kinds, assets with a current version, links."""

from __future__ import annotations

import secrets

import factory

from content.models import Asset, AssetKind, AssetStage, AssetVersion, SharedLink


class AssetKindFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AssetKind
        django_get_or_create = ("name",)

    name = "Case study"


class AssetFactory(factory.django.DjangoModelFactory):
    """A published asset whose current version is a link."""

    class Meta:
        model = Asset
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Asset {n}")
    kind = factory.SubFactory(AssetKindFactory)
    status = Asset.Status.PUBLISHED

    @factory.post_generation
    def link(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        url = extracted or f"https://example.com/content/{self.title.lower().replace(' ', '-')}"
        version = AssetVersion.objects.create(asset=self, number=1, link_url=url)
        self.current_version = version
        self.save()

    @factory.post_generation
    def stages(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        for stage in extracted or ():
            AssetStage.objects.create(asset=self, stage=stage)

    @factory.post_generation
    def personas(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if extracted:
            self.personas.set(extracted)


def link_for(lead, asset, by) -> SharedLink:
    """A shared link made without the service (for tests of the link page itself)."""
    return SharedLink.objects.create(
        token=secrets.token_urlsafe(24),
        lead=lead,
        asset=asset,
        version=asset.current_version,
        shared_by=by,
    )
