"""Accountability reports (the index; each report arrives with its own issue)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from leads import roles
from leads.decorators import role_required


@role_required(roles.SALES_MANAGER, roles.OPS, roles.MARKETING, roles.SALES_REP)
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "reports/index.html")
