"""The content library's pages, the lead page's content panel and touch picker, and
the public tracked link (/c/<token>)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods, require_POST

from agreements import roles
from config.security import client_ip, take_slot, too_many
from leads import queries as lead_queries
from leads import services as lead_services
from leads.forms import TOUCH_CHOICES, TouchForm
from leads.models import Activity, Lead, LeadError, sales_may

from . import bots, files, queries, services
from .forms import AssetForm, AttachForm, LibraryFilterForm, NewAssetForm, VersionForm
from .models import Asset, AssetVersion, SharedLink

INVALID = 422
CONFLICT = 409
# Requests to one link in a minute before it answers 429 (counted opens are limited in
# services.record_open; this only keeps a flood off the database).
LINK_REQUESTS_PER_MINUTE = 60
# Uploaded files a tracked link shows in the browser; every other type is downloaded.
INLINE_TYPES = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "video/mp4",
        "video/webm",
        "audio/mpeg",
        "text/plain",
    }
)


def _asset_or_404(request: HttpRequest, asset_id: int) -> Asset:
    """An asset the user may see: sales sees only published ones (others are 404)."""
    return get_object_or_404(queries.visible_assets(request.user), pk=asset_id)


def _must_edit(request: HttpRequest) -> None:
    if not services.may_edit_library(request.user):
        raise PermissionDenied("Only Marketing and Ops can change the content library.")


# --- The library ---------------------------------------------------------------


@login_required
def library(request: HttpRequest) -> HttpResponse:
    """Every asset the user may see, filtered by kind, persona, stage and status."""
    sees_drafts = queries.sees_drafts(request.user)
    form = LibraryFilterForm(request.GET or None, sees_drafts=sees_drafts)
    assets = queries.library(request.user, **form.filters())
    return render(
        request,
        "content/library.html",
        {
            "form": form,
            "assets": assets,
            "can_edit": services.may_edit_library(request.user),
            "sees_drafts": sees_drafts,
        },
    )


@login_required
def asset_detail(request: HttpRequest, asset_id: int) -> HttpResponse:
    """One asset: what it is, whom it fits, its versions and their usage."""
    asset = _asset_or_404(request, asset_id)
    return render(
        request,
        "content/asset_detail.html",
        {
            "asset": asset,
            "versions": queries.versions(asset),
            "links": queries.recent_links(asset, request.user),
            "can_edit": services.may_edit_library(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def asset_new(request: HttpRequest) -> HttpResponse:
    """A new draft asset with its link or file."""
    _must_edit(request)
    form = NewAssetForm(request.POST, request.FILES) if request.method == "POST" else NewAssetForm()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            asset = services.create_asset(
                by=request.user,
                **_asset_fields(data),
                link_url=data["link_url"],
                upload=data["upload"],
            )
        except services.ContentError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"“{asset.title}” saved as a draft.")
            return redirect("content:asset", asset.pk)
    status = INVALID if form.is_bound else 200
    return render(request, "content/asset_form.html", {"form": form, "asset": None}, status=status)


def _asset_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": data["title"],
        "kind": data["kind"],
        "description": data["description"],
        "personas": data["personas"],
        "stages": data["stages"],
        "campaign": data["campaign"],
        "owner": data["owner"],
    }


@login_required
@require_http_methods(["GET", "POST"])
def asset_edit(request: HttpRequest, asset_id: int) -> HttpResponse:
    """Change an asset's title, kind, description, fit, campaign and owner."""
    _must_edit(request)
    asset = _asset_or_404(request, asset_id)
    if request.method == "POST":
        form = AssetForm(request.POST)
        if form.is_valid():
            fields = _asset_fields(form.cleaned_data)
            fields["owner"] = fields["owner"] or request.user
            services.update_asset(asset, by=request.user, **fields)
            messages.success(request, f"“{asset.title}” saved.")
            return redirect("content:asset", asset.pk)
        status = INVALID
    else:
        form, status = AssetForm(initial=AssetForm.initial_for(asset)), 200
    return render(request, "content/asset_form.html", {"form": form, "asset": asset}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def asset_replace(request: HttpRequest, asset_id: int) -> HttpResponse:
    """A new version of the asset's link or file; the old ones keep their history."""
    _must_edit(request)
    asset = _asset_or_404(request, asset_id)
    form = VersionForm(request.POST, request.FILES) if request.method == "POST" else VersionForm()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            version = services.replace(
                asset,
                by=request.user,
                link_url=data["link_url"],
                upload=data["upload"],
                note=data["note"],
            )
        except services.ContentError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Version {version.number} of “{asset.title}” saved.")
            return redirect("content:asset", asset.pk)
    status = INVALID if form.is_bound else 200
    return render(
        request, "content/asset_replace.html", {"form": form, "asset": asset}, status=status
    )


@require_POST
@login_required
def asset_publish(request: HttpRequest, asset_id: int) -> HttpResponse:
    """Reps see and share the asset from now on."""
    _must_edit(request)
    asset = _asset_or_404(request, asset_id)
    services.publish(asset, by=request.user)
    messages.success(request, f"“{asset.title}” is published: reps see it now.")
    return redirect("content:asset", asset.pk)


@require_POST
@login_required
def asset_retire(request: HttpRequest, asset_id: int) -> HttpResponse:
    """Reps no longer see or share the asset."""
    _must_edit(request)
    asset = _asset_or_404(request, asset_id)
    services.retire(asset, by=request.user)
    messages.success(request, f"“{asset.title}” is retired: reps no longer see it.")
    return redirect("content:asset", asset.pk)


@login_required
def version_file(request: HttpRequest, asset_id: int, number: int) -> HttpResponse:
    """A version's uploaded file (or its link), for people who may see the asset."""
    asset = _asset_or_404(request, asset_id)
    version = get_object_or_404(AssetVersion, asset=asset, number=number)
    return _serve(version, download=True)


def _serve(version: AssetVersion, *, download: bool = False) -> HttpResponse:
    """Redirect to a version's link, or answer with its file."""
    if not version.is_file:
        return HttpResponseRedirect(version.link_url)
    try:
        data = files.read_file(version)
    except files.FileGone as exc:
        raise Http404("The file of this content is missing.") from exc
    content_type = version.content_type or "application/octet-stream"
    response = HttpResponse(data, content_type=content_type)
    # Only types that cannot run script open in the browser; HTML, SVG, XML and the rest
    # are downloaded, so an upload never runs as a page of our site.
    inline = not download and content_type in INLINE_TYPES
    # filename*= for names beyond Latin-1: a header Django would MIME-encode is unreadable
    # to browsers, which would then show the file inline.
    response["Content-Disposition"] = content_disposition_header(not inline, version.file_name)
    response["X-Content-Type-Options"] = "nosniff"
    # Anything else opens sandboxed. Not a PDF: Chrome's PDF viewer refuses a sandboxed
    # document ("blocked by Chrome"), and it runs a PDF's script in its own origin anyway.
    if content_type != "application/pdf":
        response["Content-Security-Policy"] = "sandbox"
    return response


# --- Content where reps work -------------------------------------------------------


def _lead_or_404(request: HttpRequest, lead_id: int) -> Lead:
    try:
        return lead_queries.lead_for_page(request.user, lead_id)
    except Lead.DoesNotExist as exc:
        raise Http404("No such lead.") from exc


def _is_sales_for(request: HttpRequest, lead: Lead) -> bool:
    user = request.user
    return roles.has_role(user, roles.SALES_REP, roles.SALES_MANAGER) and sales_may(lead, user)


def _link_url(request: HttpRequest, link: SharedLink) -> str:
    return request.build_absolute_uri(reverse("content:open", args=[link.token]))


@login_required
def lead_panel(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The lead page's "Content for this lead": suggestions to share, and the links
    already shared with the lead (loaded by htmx after the page)."""
    lead = _lead_or_404(request, lead_id)
    links = queries.links_of_lead(lead)
    for link in links:
        link.url = _link_url(request, link)
    return render(
        request,
        "content/_lead_panel.html",
        {
            "lead": lead,
            "suggestions": queries.suggestions(lead),
            "links": links,
            "can_share": _is_sales_for(request, lead) and lead.is_open,
        },
    )


@login_required
def lead_picker(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The touch form's content picker (loaded by htmx into the form): it sends the
    touch to this app's lead_touch, which records the assets with it."""
    lead = _lead_or_404(request, lead_id)
    if not _is_sales_for(request, lead):
        return HttpResponse("")
    return render(
        request, "content/_touch_picker.html", {"lead": lead, "assets": queries.pickable(lead)}
    )


@require_POST
@login_required
def lead_share(request: HttpRequest, lead_id: int, asset_id: int) -> HttpResponse:
    """Share an asset with the lead: a tracked link, shown to copy in the content panel."""
    lead = _lead_or_404(request, lead_id)
    asset = get_object_or_404(Asset, pk=asset_id, status=Asset.Status.PUBLISHED)
    if not _is_sales_for(request, lead):
        raise PermissionDenied("Only the lead's rep or their manager can share content.")
    try:
        services.share(lead, asset, by=request.user)
    except services.ContentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"“{asset.title}” shared: copy its link from “Content for this lead”."
        )
    return redirect(lead.get_absolute_url())


@require_POST
@login_required
def link_revoke(request: HttpRequest, link_id: int) -> HttpResponse:
    """The link answers 404 from now on."""
    link = get_object_or_404(SharedLink.objects.select_related("lead", "asset"), pk=link_id)
    lead = _lead_or_404(request, link.lead_id)
    if not (_is_sales_for(request, lead) or services.may_edit_library(request.user)):
        raise PermissionDenied("Only the lead's rep or their manager can revoke this link.")
    services.revoke(link, by=request.user)
    messages.success(request, f"The link to “{link.asset.title}” is revoked.")
    return redirect(lead.get_absolute_url())


@require_POST
@login_required
def lead_touch(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Log a touch with the content it used (leads.services.log_touch, and the assets in
    the same transaction). A refusal answers with what was typed and checked, unsaved."""
    lead = _lead_or_404(request, lead_id)
    if not _is_sales_for(request, lead):
        raise PermissionDenied("Only the lead's rep or their manager can log a touch.")
    form = TouchForm(request.POST)
    attach = AttachForm(request.POST)
    if not (form.is_valid() & attach.is_valid()):
        return _touch_refused(request, lead, form, attach, status=INVALID)
    data = form.cleaned_data
    try:
        touch = services.log_touch_with_assets(
            lead,
            by=request.user,
            kind=data["kind"],
            subject=data["subject"],
            body=data["body"],
            assets=list(attach.cleaned_data["assets"]),
        )
    except (LeadError, services.ContentError) as exc:
        fresh = _lead_or_404(request, lead_id)
        seen = data["stage"] or lead.stage
        status = CONFLICT if fresh.stage != seen else INVALID
        return _touch_refused(request, fresh, form, attach, status=status, notice=str(exc))
    label = "Note" if data["kind"] == Activity.Kind.NOTE else dict(TOUCH_CHOICES)[data["kind"]]
    used = len(attach.cleaned_data["assets"])
    with_what = f" with {used} content item{'s' if used != 1 else ''}" if used else ""
    messages.success(request, lead_services.logged_message(touch, label, with_what))
    return redirect(lead.get_absolute_url())


def _touch_refused(
    request: HttpRequest,
    lead: Lead,
    form: TouchForm,
    attach: AttachForm,
    *,
    status: int,
    notice: str = "",
) -> HttpResponse:
    """The touch form again, with what was typed and the content checked: nothing saved."""
    checked = {str(v) for v in attach.data.getlist("assets")}
    return render(
        request,
        "content/touch_refused.html",
        {
            "lead": lead,
            "form": form,
            "attach": attach,
            "assets": queries.pickable(lead),
            "checked": checked,
            "notice": notice,
            "can_touch": _is_sales_for(request, lead) and lead.is_open,
        },
        status=status,
    )


# --- The tracked link -----------------------------------------------------------------


def _ip_hash(request: HttpRequest) -> str:
    """A keyed hash of the client's address: repeat opens are told apart without
    keeping the address."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, client_ip(request).encode(), hashlib.sha256).hexdigest()


@require_http_methods(["GET", "HEAD"])
def open_link(request: HttpRequest, token: str) -> HttpResponse:
    """A customer opens shared content: no login. A revoked or unknown link is 404. The
    open counts (timeline, ledger, the owner told) unless it is a HEAD request, a bot
    or a link preview, or repeats too soon (services.record_open)."""
    link = (
        SharedLink.objects.select_related("version", "asset")
        .filter(token=token, revoked_at__isnull=True)
        .first()
    )
    if link is None:
        raise Http404("This link does not exist or was revoked.")
    wait = take_slot(f"content-link:{link.token}", LINK_REQUESTS_PER_MINUTE, 60)
    if wait:
        return too_many(request, wait, "Opening this link")
    if request.method == "GET" and not bots.is_automated(request):
        services.record_open(
            link, user_agent=request.headers.get("User-Agent", ""), ip_hash=_ip_hash(request)
        )
    response = _serve(link.version)
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
