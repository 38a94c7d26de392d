"""The notification list, opening one, marking all read, and the header badge."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import queries, services
from .models import Notification

PAGE_SIZE = 50


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    """Everything Accord told the signed-in user, newest first; unread ones stand out."""
    unread_only = request.GET.get("show") == "unread"
    rows = queries.notifications_for(request.user, unread_only=unread_only)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    leads = {n.lead_id for n in page if n.lead_id is not None}
    context = {
        "page": page,
        "visible_leads": queries.visible_leads(request.user, leads),
        "unread_only": unread_only,
        "unread_count": queries.unread_count(request.user),
    }
    return render(request, "notifications/list.html", context)


@login_required
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark one notification read and go to what it is about."""
    notification = get_object_or_404(Notification, pk=notification_id, user=request.user)
    services.mark_read(request.user, [notification.pk])
    target = notification.url
    lead = notification.lead
    to_lead_page = lead is not None and target == lead.get_absolute_url()
    if to_lead_page and not queries.visible_leads(request.user, {lead.pk}):
        # Reassigned or moved to the lead desk since, say: its page would answer 404.
        messages.info(request, f"You cannot open {lead} now: it is not among your leads.")
        return redirect("notifications:list")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("notifications:list")


@require_POST
@login_required
def mark_all_read(request: HttpRequest) -> HttpResponse:
    """Mark every notification of the user read."""
    services.mark_read(request.user)
    return redirect("notifications:list")


@login_required
def unread_badge(request: HttpRequest) -> HttpResponse:
    """The header's bell with the unread count; htmx loads it after the page, and polls."""
    return render(
        request,
        "notifications/_badge.html",
        {"unread_count": queries.unread_count(request.user)},
    )
