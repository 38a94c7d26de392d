"""Possible duplicates: the /duplicates/ page, its "Not duplicates" button and the lead
page's hint."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from agreements import roles
from config.ids import as_id
from leads.decorators import role_required
from leads.models import Lead

from . import duplicates
from .models import DuplicatePair

PAGE_SIZE = 25
REVIEWERS = (roles.OPS, roles.MARKETING, roles.SALES_MANAGER)


@require_GET
@role_required(*REVIEWERS)
def duplicate_list(request: HttpRequest) -> HttpResponse:
    """Groups of likely duplicates from the last scan, the surest first."""
    page = Paginator(duplicates.group_rows(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    last = DuplicatePair.objects.order_by("-found_at").values_list("found_at", flat=True)
    return render(
        request,
        "customers/duplicates.html",
        {
            "page": page,
            "groups": duplicates.shown_groups(request.user, page.object_list),
            "can_dismiss": duplicates.can_dismiss(request.user),
            "scanned_at": last.first(),
            "threshold": duplicates.THRESHOLD,
        },
    )


@require_POST
@role_required(roles.OPS, roles.MARKETING)
def dismiss(request: HttpRequest) -> HttpResponse:
    """ "Not duplicates": the group's leads are never proposed as duplicates of each other."""
    given = [as_id(i) for i in request.POST.get("ids", "").split(",") if i.strip()]
    ids = set() if None in given else {i for i in given if i is not None}
    leads = list(Lead.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if len(ids) < 2 or len(leads) != len(ids):
        messages.error(request, "Choose two or more existing leads to mark as not duplicates.")
    else:
        duplicates.dismiss(leads, by=request.user)
        messages.success(request, f"Marked {len(leads)} leads as not duplicates.")
    return redirect(f"{reverse('customers:duplicates')}?{request.GET.urlencode()}")


@require_GET
@login_required
def duplicate_hint(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The lead page's lazily loaded "Possible duplicate" panel (empty when there is none)."""
    if not roles.user_roles(request.user) and not request.user.is_superuser:
        raise PermissionDenied("Your role does not give access to this page.")
    lead = get_object_or_404(Lead.objects.visible_to(request.user), pk=lead_id)
    found = duplicates.hint_for(lead, request.user)
    return render(
        request,
        "customers/_duplicate_hint.html",
        {
            "lead": lead,
            "found": found,
            "can_review": duplicates.can_review(request.user),
        },
    )
