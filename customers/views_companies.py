"""Company pages: /companies/ (the list, searchable) and /companies/<id>/."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from agreements import roles
from leads.decorators import role_required
from leads.models import Account

from .companies import companies, company_page, people_counts
from .search import clean_query

COMPANIES_PER_PAGE = 50


@role_required(*roles.ROLES)
def company_list(request: HttpRequest) -> HttpResponse:
    """Every company, by name; `q` keeps those whose name or domain contains it."""
    query = clean_query(request.GET.get("q", ""))
    page = Paginator(companies(query), COMPANIES_PER_PAGE).get_page(request.GET.get("page"))
    counts = people_counts(page)
    rows = [(account, counts.get(account.pk, 0)) for account in page]
    return render(request, "customers/companies.html", {"page": page, "rows": rows, "query": query})


@role_required(*roles.ROLES)
def company_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    """One company: its people, their timeline, deals and pipeline, reps and campaigns."""
    account = get_object_or_404(Account, pk=account_id)
    content = company_page(
        request.user,
        account,
        page=request.GET.get("page", 1),
        events_page=request.GET.get("events", 1),
    )
    return render(request, "customers/company.html", {"company": content, "page": content.people})
