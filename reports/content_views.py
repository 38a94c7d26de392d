"""The content report's drill-down: the touches, shares, opens, deals, ratings or requests
behind one of its numbers, each with its lead (/reports/content/leads/?metric=used:12&…)."""

from __future__ import annotations

from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from config.money import money
from content.requests import visible_requests
from leads.decorators import role_required
from leads.models import Lead

from . import content
from .filters import filters_from
from .views import ANY_ROLE, _report_for

LIMIT = 200

# What each listing selects with its rows, and the path from a row to its lead.
LISTINGS = {
    "touches": (("lead", "by", "version__asset", "activity"), "lead"),
    "shares": (("lead", "shared_by", "version__asset"), "lead"),
    "opens": (("link__lead", "link__asset", "link__shared_by"), "link__lead"),
    "deals": (("lead", "lead__owner"), "lead"),
    "closed": (("lead", "deal", "owner"), "lead"),
    "ratings": (("lead", "rep", "version__asset"), "lead"),
    "requests": (("requested_by", "lead", "answer_asset", "answered_by"), "lead"),
}


def _may_read(request: HttpRequest, listing: str, lead_path: str) -> Q:
    """The rows the user may read: those about a lead they may open; a content request
    only when they may read it (its requester, their manager, marketing and Ops), as its
    own page decides, whether or not it is about a lead."""
    if listing == "requests":
        return Q(pk__in=visible_requests(request.user).values("pk"))
    return Q(**{f"{lead_path}__in": Lead.objects.visible_to(request.user).values("pk")})


@role_required(*ANY_ROLE)
def drilldown(request: HttpRequest) -> HttpResponse:
    """Every row one number of the content report counts; the first 200 the user may open."""
    report = _report_for(request, content.CONTENT_REPORT.key)
    f = filters_from(request.GET, request.user, report=report.key)
    metric = request.GET.get("metric", "")
    listing, rows = content.drill_rows(metric, f, timezone.now())
    total = rows.count()
    related, lead_path = LISTINGS.get(listing, ((), "lead"))
    visible = rows.filter(_may_read(request, listing, lead_path))
    shown = list(visible.select_related(*related).order_by("-pk")[:LIMIT]) if total else []
    hidden = total - (visible.count() if total else 0)
    # The pipeline's number is an amount: its drill-down's total is the same sum.
    amount = rows.aggregate(s=Sum("amount"))["s"] or 0 if metric.startswith("pipeline:") else None
    # "Shared by reps" counts people: its total is the reps, its rows their shares.
    people = (
        rows.aggregate(n=Count("shared_by", distinct=True))["n"]
        if metric.startswith("reps:")
        else None
    )
    return render(
        request,
        "reports/content_drilldown.html",
        {
            "report": report,
            "filters": f,
            "metric": metric,
            "metric_label": content.drill_label(metric),
            "listing": listing,
            "rows": shown,
            "total": total,
            "hidden": hidden,
            "amount": None if amount is None else money(amount),
            "people": people,
            "back": reverse("reports:report", args=[report.key]) + "?" + f.querystring(),
        },
    )
