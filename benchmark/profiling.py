"""Timing and profiling helpers the sections share: median times, query counts, why slow."""

from __future__ import annotations

import cProfile
import pstats
import statistics
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext


def timed(function: Callable[[], Any], runs: int) -> tuple[float, list[float]]:
    """Median wall time of `runs` calls (seconds), and every run's time."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def profile_line(function: Callable[[], Any]) -> str:
    """Why a call is slow: its SQL share and slowest statement, or its hottest function."""
    profiler = cProfile.Profile()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        profiler.enable()
        try:
            function()
        finally:
            profiler.disable()
        wall = time.perf_counter() - started
    sql = sum(float(q["time"]) for q in queries.captured_queries)
    parts = [f"profile: {wall * 1000:.0f} ms, SQL {sql * 1000:.0f} ms in {len(queries)} queries"]
    if queries.captured_queries:
        slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
        text = " ".join(slowest["sql"].split())
        parts.append(f"slowest {float(slowest['time']) * 1000:.0f} ms: {text[:220]}")
    if sql < wall * 0.5:
        stats = pstats.Stats(profiler)
        own = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # tottime
        hot = [
            f"{_short_path(func[0])}:{func[1]}({func[2]}) {values[2] * 1000:.0f} ms"
            for func, values in own[:3]
        ]
        parts.append("Python: " + "; ".join(hot))
    return " | ".join(parts)


def _short_path(filename: str) -> str:
    base = str(settings.BASE_DIR) + "/"
    return filename.replace(base, "").split("site-packages/")[-1]


def count_queries(function: Callable[[], Any]) -> int:
    """How many SQL statements one call runs."""
    with CaptureQueriesContext(connection) as queries:
        function()
    return len(queries)
