"""The `duplicates` section: a full duplicate scan of the data set, and one lead's hint."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from customers import duplicates
from leads.models import Lead

from .profiling import count_queries, profile_line, timed
from .results import BenchContext, BenchResult

# A full scan reads every lead three times (by domain, name key and phone): at this rate
# 1,000,000 leads take under a minute, fine for an hourly task, not for a page request.
SCAN_TARGET_LEADS_PER_S = 20_000
HINT_TARGET_MS = 150


def bench_duplicates(context: BenchContext) -> list[BenchResult]:
    """Time `customers.duplicates.scan` over every lead, and the lead page's hint panel."""
    total = Lead.objects.count()
    stats = duplicates.ScanStats()
    found: list[duplicates.Match] = []

    def full_scan() -> None:
        run = duplicates.ScanStats()
        found[:] = duplicates.scan(stats=run)
        stats.rows, stats.blocks = run.rows, run.blocks  # the counts of the last run
        stats.comparisons, stats.skipped_blocks = run.comparisons, run.skipped_blocks

    runs = max(1, min(context.runs, 3))
    seconds, _ = timed(full_scan, runs)
    rate = total / seconds if seconds else 0.0
    note = (
        f"{total:,} leads; {stats.rows:,} rows read in 3 passes, {stats.blocks:,} blocks, "
        f"{stats.comparisons:,} pairs compared, {len(found):,} pairs found, "
        f"{stats.skipped_blocks:,} shared phones skipped; median of {runs}"
    )
    results = [
        BenchResult("duplicates", f"full scan{context.suffix}", seconds, "s", note),
        BenchResult(
            "duplicates", f"full scan rate{context.suffix}", rate, "leads/s",
            f"1,000,000 leads in {1_000_000 / rate:,.0f} s at this rate" if rate else "",
            f"≥ {SCAN_TARGET_LEADS_PER_S:,}", rate >= SCAN_TARGET_LEADS_PER_S,
            "" if rate >= SCAN_TARGET_LEADS_PER_S else profile_line(full_scan),
        ),
    ]  # fmt: skip
    return results + _hint(context, found)


def _hint(context: BenchContext, found: list[duplicates.Match]) -> list[BenchResult]:
    """The lead page's lazily loaded hint for a lead with a duplicate (else any lead)."""
    lead_id = found[0].a if found else Lead.objects.values_list("pk", flat=True).first()
    if lead_id is None:
        return []
    ops = get_user_model().objects.filter(groups__name="Ops").order_by("pk").first()
    if ops is None:
        return []
    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(ops)
    url = reverse("customers:duplicate_hint", args=[lead_id])

    def get() -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")

    get()  # warm up
    queries = count_queries(get)
    seconds, _ = timed(get, context.runs)
    ms = seconds * 1000
    passed = ms < HINT_TARGET_MS
    return [
        BenchResult(
            "duplicates", f"lead hint{context.suffix}", ms, "ms",
            f"GET {url} as {ops.username}; median of {context.runs}",
            f"< {HINT_TARGET_MS} ms", passed, "" if passed else profile_line(get),
        ),
        BenchResult("duplicates", f"lead hint queries{context.suffix}", queries, "queries"),
    ]  # fmt: skip
