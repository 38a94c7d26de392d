"""The reads of sales content: the library as each role sees it, one asset's versions
and usage, and the assets that fit a lead."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from agreements import roles
from leads.models import Lead

from .models import Asset, AssetStage, AssetVersion, LinkOpen, SharedLink, TouchAsset

Status = Asset.Status
SUGGESTIONS = 8
PICKER_LIMIT = 100


def sees_drafts(user: Any) -> bool:
    """Marketing and Ops see drafts and retired assets; sales sees only published ones."""
    return roles.is_marketing(user)


def visible_assets(user: Any) -> QuerySet[Asset]:
    """The assets a user may see."""
    rows = Asset.objects.all()
    if not sees_drafts(user):
        rows = rows.filter(status=Status.PUBLISHED)
    return rows


def _count(rows: QuerySet, by: str = "asset") -> Subquery:
    """The number of `rows` per asset (rows filtered on OuterRef("pk") through `by`)."""
    counted = rows.order_by().values(by).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_usage(rows: QuerySet[Asset]) -> QuerySet[Asset]:
    """Assets with how many touches used them, how many links were shared and opened."""
    return rows.annotate(
        touch_count=_count(TouchAsset.objects.filter(asset=OuterRef("pk"))),
        share_count=_count(SharedLink.objects.filter(asset=OuterRef("pk"))),
        open_count=_count(LinkOpen.objects.filter(link__asset=OuterRef("pk")), "link__asset"),
    )


def library(
    user: Any, *, kind: Any = None, persona: Any = None, stage: str = "", status: str = ""
) -> QuerySet[Asset]:
    """The library page's rows, filtered, with their kind, owner and usage."""
    rows = visible_assets(user).select_related("kind", "owner", "campaign")
    if kind is not None:
        rows = rows.filter(kind=kind)
    if persona is not None:
        rows = rows.filter(_fits_persona(persona.pk))
    if stage:
        rows = rows.filter(_fits_stage(stage))
    if status:
        rows = rows.filter(status=status)
    return with_usage(rows).prefetch_related("personas", "stages").order_by("title", "pk")


def _fits_persona(persona_id: int | None) -> Q:
    """An asset for no persona in particular, or for this one."""
    through = Asset.personas.through.objects.filter(asset_id=OuterRef("pk"))
    if persona_id is None:
        return ~Exists(through)
    return ~Exists(through) | Exists(through.filter(persona_id=persona_id))


def _fits_stage(stage: str) -> Q:
    """An asset for no stage in particular, or for this one."""
    stages = AssetStage.objects.filter(asset_id=OuterRef("pk"))
    return ~Exists(stages) | Exists(stages.filter(stage=stage))


def suggestions(lead: Lead, *, limit: int = SUGGESTIONS) -> list[Asset]:
    """Published assets fitting the lead's persona and stage, the most used by the team
    (touches and shares) first. One query."""
    rows = (
        Asset.objects.filter(status=Status.PUBLISHED, current_version__isnull=False)
        .filter(_fits_persona(lead.persona_id))
        .filter(_fits_stage(lead.stage))
        .select_related("kind")
        .annotate(
            touch_count=_count(TouchAsset.objects.filter(asset=OuterRef("pk"))),
            share_count=_count(SharedLink.objects.filter(asset=OuterRef("pk"))),
        )
        .order_by("-touch_count", "-share_count", "title", "pk")
    )
    found = list(rows[:limit])
    for asset in found:
        asset.used = asset.touch_count + asset.share_count
    return found


def pickable(lead: Lead) -> list[Asset]:
    """The published assets a touch may attach: those fitting the lead first, then the
    others, each group by title."""
    fits = _fits_persona(lead.persona_id) & _fits_stage(lead.stage)
    rows = (
        Asset.objects.filter(status=Status.PUBLISHED, current_version__isnull=False)
        .select_related("kind")
        .annotate(fits=Exists(Asset.objects.filter(pk=OuterRef("pk")).filter(fits)))
        .order_by("-fits", "title", "pk")
    )
    return list(rows[:PICKER_LIMIT])


def versions(asset: Asset) -> list[AssetVersion]:
    """The asset's versions, newest first, each with its touches, links and opens."""
    return list(
        asset.versions.select_related("created_by")
        .annotate(
            touch_count=Count("touches", distinct=True),
            share_count=Count("links", distinct=True),
            open_count=Count("links__opens", distinct=True),
        )
        .order_by("-number")
    )


def links_of_lead(lead: Lead) -> list[SharedLink]:
    """The links shared with a lead, newest first, with their asset and opens."""
    return list(
        SharedLink.objects.filter(lead=lead)
        .select_related("asset", "shared_by", "version")
        .annotate(open_count=Count("opens"))
        .order_by("-shared_at", "-pk")
    )


def recent_links(asset: Asset, user: Any, *, limit: int = 50) -> list[SharedLink]:
    """The asset's latest links on leads the user may see."""
    return list(
        SharedLink.objects.filter(asset=asset, lead__in=Lead.objects.visible_to(user))
        .select_related("lead", "shared_by", "version")
        .annotate(open_count=Count("opens"))
        .order_by("-shared_at", "-pk")[:limit]
    )
