"""The `reports` section: each report's query over the data set (last 90 days, all teams)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.db import at_most_parallel_workers
from reports.filters import ReportFilters
from reports.tables import REPORTS

from .profiling import count_queries, profile_line, timed
from .results import BenchContext, BenchResult

# Every report under a second on both engines (Postgres at 1M leads, SQLite at 100k).
REPORT_TARGET_S = {"postgresql": 1.0, "sqlite": 1.0}


def bench_reports(context: BenchContext) -> list[BenchResult]:
    """Time each report's query function as the report page calls it (its parallel workers
    too: settings.REPORT_PARALLEL_WORKERS)."""
    anchor = dt.datetime.fromtimestamp(context.dataset.anchor, tz=dt.UTC)
    end_day = timezone.localtime(anchor).date()
    filters = ReportFilters(start_day=end_day - dt.timedelta(days=89), end_day=end_day)
    target = REPORT_TARGET_S.get(connection.vendor, 1.0)
    workers = settings.REPORT_PARALLEL_WORKERS
    runs = max(1, min(3, context.runs))
    results = []
    for report in REPORTS.values():

        def call(function: Callable[..., Any] = report.query) -> None:
            # As the report page works it out: with the parallel workers its share of the
            # cores allows (reports.views; none on two cores).
            with at_most_parallel_workers(workers):
                list(function(filters))

        try:
            queries = count_queries(call)  # also the warm-up
            seconds, _ = timed(call, runs)
        except Exception as exc:  # a failing report is a figure (a MISS), not a crash
            results.append(
                BenchResult("reports", report.title, 0, "s", f"failed: {exc!r}"[:300],
                            f"< {target:g} s", False)
            )  # fmt: skip
            continue
        passed = seconds < target
        note = (
            f"{filters.start_day} – {filters.end_day}, all teams; {queries} queries; "
            f"median of {runs}"
            + (f"; {workers} parallel workers" if connection.vendor == "postgresql" else "")
        )
        profile = "" if passed else profile_line(call)
        results.append(
            BenchResult(
                "reports", report.title, seconds, "s", note, f"< {target:g} s", passed, profile
            )
        )
    return results
