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

from benchmark.load import LoadSize, Run, Setup, _figures, _percentile

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


def _run_with(records, **changes):
    done = {"status": "done", "rows_done": 100, "total_rows": 100, "started": 10.0,
            "finished": 20.0, "error": ""}  # fmt: skip
    values = {"window_start": 0.0, "window_end": 60.0, "records": records, "logins": [],
              "unfinished": 0, "import_batch": done, "sla_checks": [0.5, 0.7],
              "sla_sent": 2}  # fmt: skip
    values.update(changes)
    return Run(**values)


SETUP = Setup("pw", ["bench-rep-00"], ["bench-manager-0"], "bench-ops", ["sales"], 1, 10, 1000)
SIZE_100 = LoadSize(users=10, seconds=60, rows=100)


def by_name(results):
    return {r.name: r for r in results}


def test_figures_count_only_the_window_and_every_kind_of_error():
    records = [[1.0 + i, "/queue/", 100.0 + i, True, ""] for i in range(50)]
    records.append([70.0, "/queue/", 9000.0, True, ""])  # after the window: not counted
    records.append([5.0, "/leads/[id]/touch/", 300.0, False, "HTTPError: 409 Conflict"])
    clean = by_name(_figures(SIZE_100, SETUP, _run_with(records[:51]), "postgresql"))
    assert clean["errors"].value == 0 and clean["errors"].passed is True
    assert clean["p99 latency"].value == 149
    assert clean["requests per second"].value == pytest.approx(50 / 60)

    broken = _run_with(
        records, unfinished=1, sla_checks=[0.5], sla_sent=3,
        task_failures=["sla.tasks.check_sla: raised OperationalError"],
        import_batch={"status": "failed", "rows_done": 0, "total_rows": 100, "started": 10.0,
                      "finished": 11.0, "error": "boom"},
    )  # fmt: skip
    figures_ = by_name(_figures(SIZE_100, SETUP, broken, "postgresql"))
    # the 409, the unfinished request, the failed check, the lost check, the import
    assert figures_["errors"].value == 5
    assert figures_["errors"].passed is False and "409" in figures_["errors"].profile
    assert figures_["import under load"].value == 0


def test_p95_target_is_marked_and_named_for_postgres():
    slow = [[1.0 + i / 10, "/reports/sales/", 600.0, True, ""] for i in range(100)]
    pg = by_name(_figures(SIZE_100, SETUP, _run_with(slow), "postgresql"))["p95 latency"]
    assert (pg.target, pg.passed) == ("< 500 ms", False)
    assert "/reports/sales/ 100× p95 600 ms" in pg.profile
    lite = by_name(_figures(SIZE_100, SETUP, _run_with(slow[:1]), "sqlite"))["p95 latency"]
    assert lite.target == "< 500 ms (Postgres)"
