"""The sales activity report: per team, per rep, the lead desk and everyone, each number
one figure of reports.figures.sales (page, export and drill-down alike)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from agreements.models import Agreement
from agreements.models import untouched_thresholds as agreement_thresholds
from agreements.stages import Stage
from leads.models import Team

from .figures.base import Counted, LazyFigures, Shown, nearest_ranks, tally_together
from .figures.sales import (
    ASSIGNED,
    FIRST_TOUCHED,
    SLA_BREACHED,
    SLA_DECIDED,
    SLA_MET,
    TOUCHES,
    TTFT_FIELDS,
    figures_for,
)
from .filters import DESK, ReportFilters

# Section → how its rows group the ledger (None: one row for everyone).
SECTIONS: dict[str, str | None] = {"team": "team", "rep": "rep", "total": None}
# The figures counted per row (those of one base in one query) per section.
COUNTED = (ASSIGNED, SLA_MET, SLA_BREACHED, SLA_DECIDED, FIRST_TOUCHED, TOUCHES)


def untouched_thresholds() -> list[int]:
    """The untouched thresholds of the agreement in force (30/60/90 without one)."""
    return agreement_thresholds(Agreement.current())


FIGURES = LazyFigures(lambda: figures_for(untouched_thresholds()))


def _labels(section: str, keys: set[Any]) -> dict[Any, str]:
    if section == "team":
        teams = dict(Team.objects.filter(pk__in=keys - {None}).values_list("pk", "name"))
        return {key: teams.get(key, "No team") for key in keys}
    if section == "rep":
        users = get_user_model().objects.filter(pk__in=keys - {None})
        names = {u.pk: u.get_full_name() or u.get_username() for u in users}
        return {key: names.get(key, "Lead desk") for key in keys}
    return dict.fromkeys(keys, "All")


def sales_activity(f: ReportFilters, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Rows per team, per rep (the lead desk as rep key 0) and for everyone: leads
    assigned, untouched after each threshold and not yet, clocks met and breached, the
    three times to first touch (median and p90, business seconds), touches, and the
    stages of the leads the rep still holds."""
    now = now or timezone.now()
    thresholds = untouched_thresholds()
    figures = figures_for(thresholds)
    untouched = [k for k in figures if k.startswith(("untouched_", "not_yet_"))]
    stages = [f"stage_{stage}" for stage in Stage.values]
    rows: list[dict[str, Any]] = []
    for section, group in SECTIONS.items():
        found: dict[Any, dict[str, Any]] = {}
        counted = (*COUNTED, *(figures[k] for k in untouched), *(figures[k] for k in stages))
        for name, values in tally_together(counted, group, f, now).items():
            for key, value in values.items():
                found.setdefault(key, {})[name] = value
        first = FIRST_TOUCHED.events(f, now)
        for name, ranked in nearest_ranks(first, TTFT_FIELDS, group).items():
            for key, picked in ranked.items():
                row = found.setdefault(key, {})
                row[f"{name}_p50"], row[f"{name}_p90"] = picked.get(5), picked.get(9)
        if group is None and not found:
            found[None] = {}
        labels = _labels(section, set(found))
        for key, values in found.items():
            row = {"section": section, "key": key, "label": labels[key], **values}
            if section == "rep" and key is None:
                row["key"] = DESK
            _complete(row, thresholds)
            rows.append(row)
    order = {"team": 0, "rep": 1, "total": 2}
    rows.sort(key=lambda r: (order[r["section"]], r["key"] == DESK, r["label"]))
    return rows


def _complete(row: dict[str, Any], thresholds: list[int]) -> None:
    """Fill what a row had no events for, and the SLA met rate as people read it."""
    for figure in COUNTED:
        if figure.measure == "rows":
            row.setdefault(figure.key, Counted(0, 0, figure.unit))
        else:
            row.setdefault(figure.key, 0)
    for i, days in enumerate(thresholds, start=1):
        row.setdefault(f"untouched_{i}", 0)
        row.setdefault(f"not_yet_{i}", 0)
        row[f"untouched_{i}_days"] = days
    for stage in Stage.values:
        row.setdefault(f"stage_{stage}", 0)
    met, decided = int(row["sla_met"]), int(row["sla_decided"])
    row["sla_met_share"] = Shown(met, decided) if decided else None
