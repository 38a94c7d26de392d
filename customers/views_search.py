"""The header's search box: /search/?q=."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from agreements import roles
from leads.decorators import role_required

from .search import MIN_LENGTH, SHOWN, search


@role_required(*roles.ROLES)
def search_page(request: HttpRequest) -> HttpResponse:
    """People and companies matching the typed text; colleagues' leads show only their owner."""
    results = search(request.user, request.GET.get("q", ""))
    return render(
        request,
        "customers/search.html",
        {
            "results": results,
            "search_query": results.query,
            "min_length": MIN_LENGTH,
            "shown": SHOWN,
        },
    )
