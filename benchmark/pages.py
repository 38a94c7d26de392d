"""The `pages` section: server time and query count of the rep queue, lead and team pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse

from leads.models import Lead

from .profiling import count_queries, profile_line, timed
from .results import BenchContext, BenchResult

# Server time of the pages reps live in: Postgres is where users grow, SQLite embedded.
PAGE_TARGET_MS = {"postgresql": 50, "sqlite": 150}


def bench_pages(context: BenchContext) -> list[BenchResult]:
    """GET each page through Django's test client as its user, against the bench data."""
    runs = context.runs
    focus = context.dataset.focus_for(max(1, context.workload_leads // 200))
    User = get_user_model()
    rep = User.objects.get(pk=focus["rep"])
    manager = User.objects.get(pk=focus["manager"])
    open_leads = Lead.objects.filter(owner=rep).count()
    team_leads = Lead.objects.filter(owner__rep_profile__team__manager=manager).count()
    total = Lead.objects.count()
    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    rep_client, manager_client = Client(), Client()
    rep_client.force_login(rep)
    manager_client.force_login(manager)
    page_target = PAGE_TARGET_MS.get(connection.vendor, 150)
    pages = [
        ("queue page", rep_client, reverse("leads:queue"), page_target),
        ("lead page", rep_client, reverse("leads:detail", args=[focus["page_lead"]]),
         page_target),
        ("team page", manager_client, reverse("leads:team"), None),
    ]  # fmt: skip
    results = []
    for name, client, url, target in pages:

        def get(client: Client = client, url: str = url) -> None:
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url} answered {response.status_code}")

        get()  # warm up: templates, URL resolver, session
        queries = count_queries(get)
        seconds, _ = timed(get, runs)
        ms = seconds * 1000
        passed = None if target is None else ms < target
        who = (
            f"{rep.username}, who owns {open_leads:,} leads"
            if client is rep_client
            else f"{manager.username}, whose team owns {team_leads:,} leads"
        )
        note = f"GET {url} as {who}; {total:,} leads in the database; median of {runs}"
        results.append(
            BenchResult(
                "pages", f"{name}{context.suffix}", ms, "ms", note,
                f"< {target} ms" if target else "", passed, profile_line(get),
            )
        )  # fmt: skip
        results.append(BenchResult("pages", f"{name} queries{context.suffix}", queries, "queries"))
    return results
