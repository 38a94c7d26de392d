"""Ratings: a rep says whether an asset version they used on a lead helped, and why.

One rating per rep, asset version and lead; rating again changes it. Only a version the
rep used on the lead (a touch of theirs that carried it) can be rated. Writes raise
`RatingError` with a message fit to show the user.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from agreements import roles
from leads.models import Lead

from .models import AssetVersion, Rating, TouchAsset

RATERS = (roles.SALES_REP, roles.SALES_MANAGER)
REASON_LIMIT = 500


class RatingError(Exception):
    """A rating was refused; the message is fit to show the user."""


@dataclass(frozen=True)
class Used:
    """An asset version a rep used on a lead, with the rep's rating of it (if any)."""

    version: AssetVersion
    last_used_at: dt.datetime
    rating: Rating | None


def used_by(rep: Any, lead: Lead) -> list[Used]:
    """The asset versions `rep` used on `lead` (newest use first), each with their rating:
    two queries."""
    uses: dict[int, Used] = {}
    touches = (
        TouchAsset.objects.filter(lead=lead, by=rep)
        .select_related("version__asset")
        .order_by("-at", "-pk")
    )
    ratings = {
        r.version_id: r for r in Rating.objects.filter(lead=lead, rep=rep).order_by("-rated_at")
    }
    for touch in touches:
        if touch.version_id not in uses:
            uses[touch.version_id] = Used(touch.version, touch.at, ratings.get(touch.version_id))
    return list(uses.values())


def rate(
    rep: Any,
    lead: Lead,
    version: AssetVersion,
    *,
    helped: bool,
    reason: str,
    at: dt.datetime | None = None,
) -> Rating:
    """Record (or change) `rep`'s verdict on a version they used on `lead`."""
    if not roles.has_role(rep, *RATERS):
        raise RatingError("Only the sales reps and managers who used an asset rate it.")
    words = (reason or "").strip()
    if not words:
        raise RatingError("Say why, in a few words: marketing learns from the reason.")
    if len(words) > REASON_LIMIT:
        raise RatingError(f"Keep the reason under {REASON_LIMIT} characters.")
    if not TouchAsset.objects.filter(lead=lead, version=version, by=rep).exists():
        raise RatingError("Rate an asset after you used it on this lead (a touch with it).")
    with transaction.atomic():
        rating, _ = Rating.objects.update_or_create(
            rep=rep,
            version=version,
            lead=lead,
            defaults={
                "asset_id": version.asset_id,
                "helped": helped,
                "reason": words,
                "rated_at": at or timezone.now(),
            },
        )
    return rating
