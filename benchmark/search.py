"""The `search` section: the header's search box (/search/?q=) for typical queries, as a rep."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse

from leads.models import Lead

from .profiling import count_queries, profile_line, timed
from .results import BenchContext, BenchResult

# Server time of one search, on Postgres at 1,000,000 leads (trigram indexes); SQLite scans.
SEARCH_TARGET_MS = {"postgresql": 100}


def typical_queries(lead: Lead) -> list[tuple[str, str]]:
    """(figure, typed text) for one lead of the data set: what people type into the box."""
    digits = "".join(c for c in lead.phone if c.isdigit())
    return [
        ("full name", f"{lead.first_name} {lead.last_name}"),
        ("part of a last name", lead.last_name[:5]),
        ("email prefix", lead.email.split("@")[0]),
        ("company", lead.company),
        ("phone", f"{digits[-7:-4]} {digits[-4:]}"),
        ("no match", "zqxv nobody"),
    ]


def bench_search(context: BenchContext) -> list[BenchResult]:
    """GET /search/?q= for each typical query, as the focus rep, against the bench data."""
    total = Lead.objects.count()
    focus = context.dataset.focus_for(max(1, context.workload_leads // 200))
    rep = get_user_model().objects.get(pk=focus["rep"])
    middle = Lead.objects.filter(pk__gte=max(1, total // 2)).order_by("pk").first()
    if middle is None:
        return []
    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(rep)
    url = reverse("customers:search")
    target = SEARCH_TARGET_MS.get(connection.vendor)
    results = []
    for name, text in typical_queries(middle):

        def get(text: str = text) -> None:
            response = client.get(url, {"q": text})
            if response.status_code != 200:
                raise RuntimeError(f"GET {url}?q={text} answered {response.status_code}")

        get()  # warm up: templates, URL resolver, session, the index pages
        queries = count_queries(get)
        seconds, _ = timed(get, context.runs)
        ms = seconds * 1000
        passed = None if target is None else ms < target
        note = (
            f"q={text!r} as {rep.username}; {total:,} leads; {queries} queries; "
            f"median of {context.runs}"
        )
        results.append(
            BenchResult(
                "search", f"{name}{context.suffix}", ms, "ms", note,
                f"< {target} ms (Postgres)" if target else "", passed,
                profile_line(get) if passed is False else "",
            )
        )  # fmt: skip
    return results
