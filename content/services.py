"""The writes of sales content: publishing assets, touches that used them, and tracked
links with their opens. Each runs in one transaction and raises ContentError, whose
message is fit to show the user."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from agreements import roles
from agreements.models import Persona
from leads import ledger
from leads import services as lead_services
from leads.models import Activity, Campaign, Lead, LeadEvent, sales_may
from notifications.models import Notification
from notifications.services import Message, notify

from . import files
from .models import Asset, AssetKind, AssetStage, AssetVersion, LinkOpen, SharedLink, TouchAsset

Status = Asset.Status
TOKEN_BYTES = 24  # 32 characters in the link: unguessable
# An open counts unless the same address opened the link within REPEAT_WINDOW, or the
# link already counted MAX_OPENS_PER_DAY opens in the last day.
REPEAT_WINDOW = dt.timedelta(minutes=30)
MAX_OPENS_PER_DAY = 20


class ContentError(Exception):
    """A content action was refused; the message says why, in words for the user."""


def may_edit_library(user: Any) -> bool:
    """Marketing and Ops publish, edit and retire assets."""
    return roles.is_marketing(user)


def _must_edit(user: Any) -> None:
    if not may_edit_library(user):
        raise ContentError("Only Marketing and Ops can change the content library.")


# --- The library -------------------------------------------------------------


def create_asset(
    *,
    by: Any,
    title: str,
    kind: AssetKind,
    description: str = "",
    personas: Iterable[Persona] = (),
    stages: Iterable[str] = (),
    campaign: Campaign | None = None,
    owner: Any = None,
    link_url: str = "",
    upload: Any = None,
) -> Asset:
    """A new draft asset with its first version (a link or an uploaded file)."""
    _must_edit(by)
    with transaction.atomic():
        asset = Asset.objects.create(
            title=title,
            kind=kind,
            description=description,
            campaign=campaign,
            owner=owner or by,
        )
        _set_fits(asset, personas, stages)
        _add_version(asset, by=by, link_url=link_url, upload=upload, note="First version")
    return asset


def update_asset(
    asset: Asset,
    *,
    by: Any,
    title: str,
    kind: AssetKind,
    description: str,
    personas: Iterable[Persona],
    stages: Iterable[str],
    campaign: Campaign | None,
    owner: Any,
) -> Asset:
    """Change what an asset is and whom it fits (its link or file: `replace`)."""
    _must_edit(by)
    with transaction.atomic():
        asset.title = title
        asset.kind = kind
        asset.description = description
        asset.campaign = campaign
        asset.owner = owner
        asset.save()
        _set_fits(asset, personas, stages)
    return asset


def _set_fits(asset: Asset, personas: Iterable[Persona], stages: Iterable[str]) -> None:
    asset.personas.set(list(personas))
    wanted = set(stages)
    asset.stages.exclude(stage__in=wanted).delete()
    have = set(asset.stages.values_list("stage", flat=True))
    AssetStage.objects.bulk_create(
        [AssetStage(asset=asset, stage=s) for s in sorted(wanted - have)]
    )


def replace(
    asset: Asset, *, by: Any, link_url: str = "", upload: Any = None, note: str = ""
) -> AssetVersion:
    """A new version of the asset's link or file. The old versions stay, with the touches
    and links that used them; shares and touches from now on use the new one."""
    _must_edit(by)
    if asset.status == Status.RETIRED:
        raise ContentError("This asset is retired: publish it again before replacing its file.")
    with transaction.atomic():
        locked = Asset.objects.select_for_update().get(pk=asset.pk)
        version = _add_version(locked, by=by, link_url=link_url, upload=upload, note=note)
    asset.current_version = version
    return version


def _add_version(asset: Asset, *, by: Any, link_url: str, upload: Any, note: str) -> AssetVersion:
    if bool(link_url) == bool(upload):
        raise ContentError("Give either a link or a file.")
    if upload is not None and (upload.size or 0) > files.MAX_FILE_BYTES:
        limit = files.MAX_FILE_BYTES // (1024 * 1024)
        raise ContentError(f"The file is too large: at most {limit} MB.")
    last = asset.versions.order_by("-number").values_list("number", flat=True).first() or 0
    fields = files.describe(upload) if upload is not None else {"link_url": link_url}
    version = AssetVersion.objects.create(
        asset=asset, number=last + 1, note=note[:200], created_by=by, **fields
    )
    if upload is not None:
        files.store_file(version, upload)
    asset.current_version = version
    asset.save(update_fields=["current_version", "updated_at"])
    return version


def publish(asset: Asset, *, by: Any) -> Asset:
    """Reps see the asset from now on (a retired asset can be published again)."""
    _must_edit(by)
    if asset.status == Status.PUBLISHED:
        return asset
    asset.status = Status.PUBLISHED
    asset.published_at = timezone.now()
    asset.retired_at = None
    asset.save(update_fields=["status", "published_at", "retired_at", "updated_at"])
    return asset


def retire(asset: Asset, *, by: Any) -> Asset:
    """Reps no longer see or share the asset; links already shared keep working until
    revoked, and its usage history stays."""
    _must_edit(by)
    if asset.status == Status.RETIRED:
        return asset
    asset.status = Status.RETIRED
    asset.retired_at = timezone.now()
    asset.save(update_fields=["status", "retired_at", "updated_at"])
    return asset


# --- Content where reps work --------------------------------------------------


def _must_be_sales_for(lead: Lead, by: Any) -> None:
    if not (roles.has_role(by, roles.SALES_REP, roles.SALES_MANAGER) and sales_may(lead, by)):
        raise ContentError("Only the lead's rep or their manager can use content with this lead.")


def _published(assets: Iterable[Asset]) -> list[Asset]:
    chosen = list(assets)
    for asset in chosen:
        if asset.status != Status.PUBLISHED or asset.current_version_id is None:
            raise ContentError(f"“{asset.title}” is not published any more: choose another.")
    return chosen


def log_touch_with_assets(
    lead: Lead,
    *,
    by: Any,
    kind: str,
    subject: str = "",
    body: str = "",
    assets: Sequence[Asset] = (),
    at: dt.datetime | None = None,
) -> Activity:
    """Log a touch (leads.services.log_touch: its rules, clock and ledger) and record the
    current version of each asset it used, in one transaction."""
    chosen = _published(assets)
    with transaction.atomic():
        touch = lead_services.log_touch(lead, by=by, kind=kind, subject=subject, body=body, at=at)
        TouchAsset.objects.bulk_create(
            [
                TouchAsset(
                    activity=touch,
                    asset=asset,
                    version_id=asset.current_version_id,
                    lead_id=touch.lead_id,
                    by=by,
                    at=touch.occurred_at,
                )
                for asset in chosen
            ]
        )
    return touch


def share(lead: Lead, asset: Asset, *, by: Any, at: dt.datetime | None = None) -> SharedLink:
    """A tracked link to the asset's current version for this lead, shown on its
    timeline ("Shared: <title>") and in the ledger."""
    _must_be_sales_for(lead, by)
    if not lead.is_open:
        raise ContentError(
            f"This lead is closed ({lead.get_stage_display()}): "
            "content is no longer shared with it."
        )
    (asset,) = _published([asset])
    at = at or timezone.now()
    with transaction.atomic():
        # The lead's row held, as every writer of its ledger holds it: the facts its
        # ledger row copies (channel, campaign, persona) are the ones committed last.
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        activity = Activity.objects.create(
            lead=lead,
            side=Activity.Side.SALES,
            kind=Activity.Kind.CONTENT_SHARED,
            actor=by,
            occurred_at=at,
            subject=asset.title[:200],
        )
        link = SharedLink.objects.create(
            token=secrets.token_urlsafe(TOKEN_BYTES),
            lead=lead,
            asset=asset,
            version_id=asset.current_version_id,
            shared_by=by,
            shared_at=at,
            activity=activity,
        )
        ledger.append(
            [
                ledger.event(
                    lead,
                    LeadEvent.Kind.CONTENT_SHARED,
                    at,
                    owner_id=lead.owner_id,
                    actor=by,
                    reason=asset.title[:200],
                )
            ]
        )
    return link


def revoke(link: SharedLink, *, by: Any) -> SharedLink:
    """The link answers 404 from now on."""
    if not (link.shared_by_id == getattr(by, "pk", None) or may_edit_library(by)):
        _must_be_sales_for(link.lead, by)
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.revoked_by = by
        link.save(update_fields=["revoked_at", "revoked_by"])
    return link


# --- Opens --------------------------------------------------------------------


def record_open(
    link: SharedLink, *, user_agent: str, ip_hash: str, at: dt.datetime | None = None
) -> bool:
    """Count a customer's open of a shared link unless the same address opened it within
    REPEAT_WINDOW or the link reached MAX_OPENS_PER_DAY: a LinkOpen, a customer-side
    "Opened: <title>" on the lead's timeline, a ledger event, and a notice to the
    lead's owner (once per asset, lead and day). Returns whether it counted."""
    at = at or timezone.now()
    with transaction.atomic():
        locked = (
            SharedLink.objects.select_for_update().select_related("asset", "lead").get(pk=link.pk)
        )
        if locked.revoked_at is not None or not _may_count(locked, ip_hash, at):
            return False
        title = locked.asset.title
        LinkOpen.objects.create(link=locked, at=at, user_agent=user_agent[:300], ip_hash=ip_hash)
        Activity.objects.create(
            lead=locked.lead,
            side=Activity.Side.CUSTOMER,
            kind=Activity.Kind.CONTENT_OPENED,
            occurred_at=at,
            subject=title[:200],
        )
        ledger.append(
            [
                ledger.event(
                    locked.lead,
                    LeadEvent.Kind.CONTENT_OPENED,
                    at,
                    owner_id=locked.lead.owner_id,
                    reason=title[:200],
                )
            ]
        )
        _tell_owner(locked, at)
    return True


def _may_count(link: SharedLink, ip_hash: str, at: dt.datetime) -> bool:
    opens = LinkOpen.objects.filter(link=link)
    if ip_hash and opens.filter(ip_hash=ip_hash, at__gt=at - REPEAT_WINDOW).exists():
        return False
    return opens.filter(at__gt=at - dt.timedelta(days=1)).count() < MAX_OPENS_PER_DAY


def _tell_owner(link: SharedLink, at: dt.datetime) -> None:
    """The lead's owner (else whoever shared the link) hears of it once a day per asset."""
    lead = link.lead
    user_id = lead.owner_id or link.shared_by_id
    if user_id is None:
        return
    day = timezone.localdate(at).isoformat()
    notify(
        [
            Message(
                user_id=user_id,
                kind=Notification.Kind.CONTENT_OPENED,
                event_key=f"content-opened:{link.asset_id}:{lead.pk}:{day}:{user_id}",
                title=f"{lead} opened “{link.asset.title}”",
                body="A customer opened content shared with them: a good moment to follow up.",
                lead_id=lead.pk,
                url=lead.get_absolute_url(),
            )
        ],
        at=at,
    )
