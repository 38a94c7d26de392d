"""`manage.py bench load` end to end at a tiny size, on the embedded default.

Three simulated users for five seconds against gunicorn (production settings) and a real
Celery worker on the filesystem broker, on a copy of a 1,000-lead SQLite data set, while
a 300-row import runs through the wizard and the SLA check is queued.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from benchmark.load import _percentile

ROOT = Path(__file__).resolve().parents[2]
LEADS = 1000
SIZE = ["--leads", str(LEADS), "--activities", "5000", "--users", "3", "--seconds", "5",
        "--load-rows", "300"]  # fmt: skip
EMBEDDED = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "BENCH_DATABASE_URL")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("load") / "load.json"
    env = {k: v for k, v in os.environ.items() if k not in EMBEDDED}
    env["ACCORD_VAR_DIR"] = str(settings.VAR)
    completed = subprocess.run(
        [sys.executable, "manage.py", "bench", "load", "--database", "sqlite", *SIZE,
         "--json", out],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:] + completed.stdout[-3000:]
    report = json.loads(out.read_text())
    report["stdout"] = completed.stdout
    report["var"] = Path(settings.VAR)
    return report


def figures(run):
    return {r["name"]: r for r in run["results"] if r["section"] == "load"}


@pytest.mark.bench
def test_load_reports_throughput_latency_and_no_errors(run):
    load = figures(run)
    assert {"requests per second", "p50 latency", "p95 latency", "p99 latency", "errors",
            "import under load", "longest SLA check under load"} <= set(load)  # fmt: skip
    assert load["errors"]["value"] == 0, load["errors"]["note"]
    assert load["errors"]["passed"] is True
    assert load["requests per second"]["value"] > 0
    p50, p95, p99 = (load[f"p{n} latency"]["value"] for n in (50, 95, 99))
    assert 0 < p50 <= p95 <= p99
    assert load["p95 latency"]["target"].startswith("< 500 ms")
    assert load["p95 latency"]["passed"] is not None
    assert "load     p95 latency" in run["stdout"]


@pytest.mark.bench
def test_the_import_and_the_sla_check_ran_in_the_background(run):
    imported = figures(run)["import under load"]
    assert imported["value"] > 0, imported["note"]
    assert "300 rows uploaded through the import wizard" in imported["note"]
    checks = figures(run)["longest SLA check under load"]
    assert checks["value"] > 0, checks["note"]
    ran, _, queued = checks["note"].split(" queued checks succeeded")[0].partition(" of ")
    assert int(ran) == int(queued) >= 1, checks["note"]


@pytest.mark.bench
def test_the_load_run_leaves_the_data_set_as_it_was(run):
    data_set = run["var"] / "bench" / f"accord-bench-{LEADS}.sqlite3"
    with sqlite3.connect(data_set) as db:
        assert db.execute("SELECT count(*) FROM leads_lead").fetchone()[0] == LEADS
        assert db.execute("SELECT count(*) FROM leads_importbatch").fetchone()[0] == 0
    assert not (run["var"] / "bench" / "load" / "accord-load.sqlite3").exists()


def test_load_is_a_listed_section(capsys):
    call_command("bench", "--list")
    assert "load: Simulated reps and managers" in capsys.readouterr().out


@pytest.mark.parametrize("option", ["--users", "--seconds", "--load-rows"])
def test_load_sizes_must_be_positive(option):
    with pytest.raises(CommandError, match="at least 1"):
        call_command("bench", "load", option, "0")


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert _percentile(values, 0.95) == 95
    assert _percentile(values, 0.50) == 50
    assert _percentile([7.0], 0.99) == 7
    assert _percentile([], 0.95) == 0
