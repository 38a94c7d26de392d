"""`manage.py bench --quick --json FILE` end to end, in a subprocess, at a reduced size.

It runs against whatever database the suite runs on (SQLite, or the Postgres of
DATABASE_URL in CI's second pass), in the benchmark's own database beside it.
The data set lives under the suite's var dir, so a second local run reuses it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parents[2]
SIZE = ["--leads", "20000", "--activities", "100000", "--rows", "2000", "--sample", "200"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    env = {**os.environ, "ACCORD_VAR_DIR": str(settings.VAR)}
    completed = subprocess.run(
        [sys.executable, "manage.py", "bench", "--quick", *SIZE, "--runs", "2", "--json", out],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:] + completed.stdout[-3000:]
    data = json.loads(out.read_text())
    data["stdout"] = completed.stdout
    return data


def test_every_section_produces_figures(report):
    sections = {r["section"] for r in report["results"]}
    assert {"import", "sla", "pages", "reports", "scaling"} <= sections


def test_each_section_has_targets_with_marks(report):
    for section in ("import", "sla", "pages", "reports", "scaling"):
        marked = [
            r for r in report["results"] if r["section"] == section and r["passed"] is not None
        ]
        assert marked, f"{section} has no figure with a target"
        assert all(r["target"] for r in marked), section


def test_figures_are_measured(report):
    timed = [r for r in report["results"] if r["unit"] in ("ms", "s", "rows/s")]
    assert timed
    assert all(r["value"] > 0 for r in timed), [r for r in timed if r["value"] <= 0]


def test_scaling_compares_the_same_figures_at_a_tenth(report):
    assert report["small_spec"]["leads"] == report["spec"]["leads"] // 10
    growth = {r["name"] for r in report["results"] if r["section"] == "scaling"}
    assert {"queue page growth", "lead page growth", "check, 1% due growth"} <= growth


def test_a_missed_target_shows_its_profile(report):
    table = report["stdout"]
    for r in report["results"]:
        if r["passed"] is False:
            assert r["profile"], r["name"]
    assert table.count("MISS because") >= sum(r["passed"] is False for r in report["results"])


def test_table_prints_targets_and_marks(report):
    table = report["stdout"]
    assert "target" in table and "mark" in table
    assert "PASS" in table or "MISS" in table


def test_data_set_is_its_own_database(report):
    name = report["database"]["name"]
    assert name != settings.DATABASES["default"]["NAME"]
    assert "bench" in name
