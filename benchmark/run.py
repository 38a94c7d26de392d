"""Run the benchmark: the data set, each section on it, the 1/10 size for scaling; one table.

`run_bench` returns everything as plain data (the --json file); `render` prints the
table with each figure's target and PASS/MISS mark, and the notes (with the profile
line of each missed target) under it.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from django.db import connection

from .data import DataSpec, choose_server, dataset
from .duplicates import bench_duplicates
from .lead_import import bench_import, import_profile
from .load import FULL, LoadSize, bench_load
from .pages import bench_pages
from .report_queries import bench_reports
from .results import BenchContext, BenchResult, Section
from .search import bench_search
from .sla_check import bench_sla

GROWTH_TARGET = 1.5
SCALED_SECTIONS = ("sla", "pages")
# name → (section, what it measures), in the order `bench` runs and `--list` prints them.
SECTIONS: dict[str, tuple[Section, str]] = {
    "import": (
        bench_import,
        "List import: ours vs plain bulk_create vs a stock import-export resource",
    ),
    "sla": (bench_sla, "SLA check: one run with 1% and with 0.01% of the leads due"),
    "pages": (
        bench_pages,
        "Server time and queries of the rep queue, the lead page, the team page",
    ),
    "reports": (
        bench_reports,
        "Each report's time over the whole data set (last 90 days, all teams)",
    ),
    "search": (
        bench_search,
        "The header's search as a rep: name, email prefix, company, phone, no match",
    ),
    "duplicates": (
        bench_duplicates,
        "A full duplicate scan of every lead (blocked by domain, name key, phone) and the "
        "lead page's duplicate hint",
    ),
    "load": (
        bench_load,
        "Simulated reps and managers against gunicorn, a worker and the database while an "
        "import and the SLA check run: requests/s, p50/p95/p99 latency, errors",
    ),
}


def run_bench(
    *,
    names: list[str],
    leads: int,
    activities: int,
    database: str | None,
    rows: int,
    sample: int,
    runs: int,
    import_runs: int,
    scaling: bool,
    out: Callable[[str], None],
    load: LoadSize = FULL,
) -> dict[str, Any]:
    """Measure the named sections on the data set (and at 1/10 of it for the scaling figures)."""
    started = time.perf_counter()
    server = choose_server(database)
    spec = DataSpec(leads, activities)
    report: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "spec": asdict(spec),
        "results": [],
        "small_results": [],
    }
    with dataset(server, spec, out) as data:
        report["database"] = database_info(data.name)
        report["data"] = {"reused": data.reused, "seconds": round(data.seconds, 1), **data.counts}
        context = BenchContext(data, leads, rows, sample, runs, "", out)
        for name in names:
            out(f"{name}: measuring…")
            section = SECTIONS[name][0]
            if name == "load":
                section = functools.partial(bench_load, size=load, server=server)
            count = import_runs if name == "import" else 1
            results = _median_of([section(context) for _ in range(count)])
            if name == "import" and any(r.passed is False and not r.profile for r in results):
                profile = import_profile(context)
                for r in results:
                    r.profile = r.profile or (profile if r.passed is False else "")
            report["results"] += results
    if scaling and any(n in SCALED_SECTIONS for n in names):
        small = spec.tenth()
        report["small_spec"] = asdict(small)
        with dataset(server, small, out) as data:
            context = BenchContext(data, leads, rows, sample, runs, " @1/10", out)
            for name in names:
                if name in SCALED_SECTIONS:
                    out(f"{name} at 1/10 ({small.leads:,} leads): measuring…")
                    report["small_results"] += SECTIONS[name][0](context)
        report["results"] += growth(report["results"], report["small_results"], spec, small)
    report["elapsed_s"] = round(time.perf_counter() - started, 1)
    report["results"] = [asdict(r) for r in report["results"]]
    report["small_results"] = [asdict(r) for r in report["small_results"]]
    return report


def _median_of(runs: list[list[BenchResult]]) -> list[BenchResult]:
    """One list of results from several runs of a section: each figure's median."""
    if len(runs) == 1:
        return runs[0]
    merged = []
    for index, first in enumerate(runs[0]):
        values = [run[index].value for run in runs if index < len(run)]
        passes = [run[index].passed for run in runs if index < len(run)]
        value = statistics.median(values)
        passed = first.passed
        if first.passed is not None:
            # The mark of the median run (the run whose value is the median, or the majority).
            passed = statistics.median([1 if p else 0 for p in passes]) >= 0.5
        note = (first.note + "\n" if first.note else "") + (
            f"median of {len(values)} runs: " + ", ".join(_fmt(v, first.unit) for v in values)
        )
        merged.append(
            BenchResult(
                first.section, first.name, value, first.unit, note, first.target, passed,
                first.profile,
            )
        )  # fmt: skip
    return merged


def growth(
    results: list[BenchResult], small: list[BenchResult], spec: DataSpec, tenth: DataSpec
) -> list[BenchResult]:
    """Growth factor of each scaled figure from 1/10 of the size to the full size."""
    by_name = {(r.section, r.name.removesuffix(" @1/10")): r for r in small}
    rows = []
    for r in results:
        other = by_name.get((r.section, r.name))
        if other is None:
            continue
        where = f"{_fmt(r.value, r.unit)} {r.unit} at {spec.leads:,} leads vs " + (
            f"{_fmt(other.value, other.unit)} {other.unit} at {tenth.leads:,} (same workload)"
        )
        if r.unit == "queries":
            rows.append(
                BenchResult(
                    "scaling", r.name, r.value, "queries", where, "same at 1/10",
                    r.value == other.value,
                )
            )  # fmt: skip
            continue
        factor = r.value / other.value if other.value else 0.0
        profile = f"at {spec.leads:,}: {r.profile}\nat {tenth.leads:,}: {other.profile}"
        rows.append(
            BenchResult(
                "scaling", f"{r.name} growth", factor, "×", where, f"≤ {GROWTH_TARGET}",
                factor <= GROWTH_TARGET, profile if r.profile else "",
            )
        )  # fmt: skip
    return rows


def machine() -> dict[str, Any]:
    """CPUs, memory, platform and Python of this machine, for the table's heading."""
    memory = 0
    try:
        with open("/proc/meminfo") as meminfo:
            memory = int(meminfo.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(memory / 2**30),
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
    }


def database_info(name: str) -> dict[str, Any]:
    """Vendor, name and server version of the data set's database."""
    version = ""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            version = "SQLite " + cursor.fetchone()[0]
        else:
            cursor.execute("SHOW server_version")
            version = "PostgreSQL " + cursor.fetchone()[0]
    return {"vendor": connection.vendor, "name": name, "version": version}


# --- The table ----------------------------------------------------------------------


def _fmt(value: float, unit: str) -> str:
    if unit in ("×", "s"):
        return f"{value:,.2f}"
    if unit == "req/s":
        return f"{value:,.1f}"
    if unit == "ms":
        return f"{value:,.1f}" if value < 10 else f"{value:,.0f}"
    return f"{value:,.0f}"


def render(report: dict[str, Any]) -> list[str]:
    """The printed table: one line per figure with target and mark, notes indented below."""
    m, db, spec = report["machine"], report.get("database", {}), report["spec"]
    lines = [
        "",
        f"Accord benchmark — {spec['leads']:,} leads, {spec['activities']:,} activities, "
        f"{spec['reps']} reps in {spec['teams']} teams (seed {spec['seed']})",
        f"{db.get('version', '')}, database {db.get('name', '')}; {m['cpus']} CPUs, "
        f"{m['memory_gb']} GB; {report['started_at']}; took {report['elapsed_s']:.0f} s",
        "",
        f"{'section':<8} {'figure':<36} {'value':>12} {'unit':<8} {'target':<18} mark",
        "-" * 92,
    ]
    missed = 0
    for r in report["results"]:
        mark = "" if r["passed"] is None else ("PASS" if r["passed"] else "MISS")
        missed += r["passed"] is False
        lines.append(
            f"{r['section']:<8} {r['name']:<36} {_fmt(r['value'], r['unit']):>12} "
            f"{r['unit']:<8} {r['target']:<18} {mark}".rstrip()
        )
        for note in (r["note"] or "").splitlines():
            lines.append(f"{'':<9}{note}")
        if r["passed"] is False:
            for line in (r.get("profile") or "no profile recorded").splitlines():
                lines.append(f"{'':<9}MISS because → {line}")
    lines.append("-" * 92)
    marked = sum(1 for r in report["results"] if r["passed"] is not None)
    lines.append(f"{marked - missed} of {marked} targets met; {missed} missed (see notes).")
    return lines
