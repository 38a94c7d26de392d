"""Accountability reports: the index, each report's page, its exports and its drill-downs.

Views stay thin: the figures come from each report's module, the columns from
reports.tables; a view only checks the role, reads the filters and lays out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from agreements import roles
from agreements.models import Channel, Persona
from config.db import NoTurn, at_most_parallel_workers, in_turns
from leads.decorators import role_required
from leads.models import Campaign, Lead, Team

from . import exports, queries
from .figures.base import CURRENCY, Shown
from .filters import ReportFilters, filters_from, is_rep_only
from .tables import (
    REPORTS,
    ROW_UNITS,
    Column,
    Measure,
    Report,
    Section,
    display,
    reports_for,
    rows_of,
)

ANY_ROLE = (roles.SALES_MANAGER, roles.OPS, roles.MARKETING, roles.SALES_REP)


def _report_for(request: HttpRequest, key: str) -> Report:
    report = REPORTS.get(key)
    if report is None:
        raise Http404("No such report.")
    if not roles.has_role(request.user, *report.roles):
        raise PermissionDenied("Your role does not give access to this report.")
    return report


@role_required(*ANY_ROLE)
def index(request: HttpRequest) -> HttpResponse:
    """The reports this user may open."""
    f = filters_from(request.GET, request.user)
    return render(
        request,
        "reports/index.html",
        {"reports": reports_for(request.user), "query": f.querystring()},
    )


@role_required(*ANY_ROLE)
def report(request: HttpRequest, key: str) -> HttpResponse:
    """One report for the chosen filters: charts, a table under each, export links."""
    report = _report_for(request, key)
    f = filters_from(request.GET, request.user, report=key)
    try:
        rows = _computed(report, f)
    except NoTurn:
        return _busy(request, report)
    sections = [_layout(report, section, rows, f) for section in report.sections_of(rows)]
    return render(
        request,
        "reports/report.html",
        {
            "report": report,
            "reports": reports_for(request.user),
            "filters": f,
            "sections": sections,
            "options": _options(request.user, report),
            "rep_only": is_rep_only(request.user),
            "query": f.querystring(),
            "has_rows": any(s["rows"] for s in sections),
        },
    )


@contextlib.contextmanager
def _in_turn(report: Report) -> Iterator[None]:
    """Work out the block's figures in turn with the other reports being worked out and with
    their share of the cores (settings.REPORTS_AT_ONCE, REPORT_PARALLEL_WORKERS), so reports
    never take every core from the reps' pages. Raises NoTurn when no turn came in time."""
    at_once = settings.REPORTS_AT_ONCE if report.takes_turns else 0
    with (
        in_turns("reports", at_once, settings.REPORT_WAIT_SECONDS),
        at_most_parallel_workers(settings.REPORT_PARALLEL_WORKERS),
    ):
        yield


def _computed(report: Report, f: ReportFilters) -> list[dict[str, Any]]:
    """The report's rows, worked out in turn (_in_turn)."""
    with _in_turn(report):
        return list(report.query(f))


def _busy(request: HttpRequest, report: Report) -> HttpResponse:
    """503: every turn stayed taken for the whole wait; nothing was computed."""
    response = render(
        request,
        "reports/busy.html",
        {"report": report, "reports": reports_for(request.user), "query": request.GET.urlencode()},
        status=503,
    )
    response["Retry-After"] = "30"
    return response


@role_required(*ANY_ROLE)
def export(request: HttpRequest, key: str, fmt: str) -> HttpResponse:
    """The report as CSV or XLSX, from the same rows as the page."""
    report = _report_for(request, key)
    f = filters_from(request.GET, request.user, report=key)
    try:
        rows = _computed(report, f)
    except NoTurn:
        return _busy(request, report)
    if fmt == "csv":
        return exports.csv_export(report, f, rows)
    if fmt == "xlsx":
        return exports.xlsx_export(report, f, rows)
    raise Http404("Export as csv or xlsx.")


@role_required(*ANY_ROLE)
def drilldown(request: HttpRequest, key: str) -> HttpResponse:
    """The leads behind one number of a report (the first 200), with the same filters."""
    report = _report_for(request, key)
    f = filters_from(request.GET, request.user, report=key)
    metric = request.GET.get("metric", "")
    leads = report.drilldown(metric, f, timezone.now())
    visible = leads.filter(pk__in=Lead.objects.visible_to(request.user).values("pk"))
    try:
        with _in_turn(report):
            total = leads.count()
            shown = queries.drilldown_page(visible)
            hidden = total - (visible.count() if total else 0)
    except NoTurn:
        return _busy(request, report)
    return render(
        request,
        "reports/drilldown.html",
        {
            "report": report,
            "filters": f,
            "metric": metric,
            "metric_label": _metric_label(report, metric),
            "leads": shown,
            "total": total,
            "hidden": hidden,
            "back": reverse("reports:report", args=[report.key]) + "?" + f.querystring(),
        },
    )


# --- Layout ------------------------------------------------------------------------------


def _metric_label(report: Report, metric: str) -> str:
    for section in report.sections_of([]):
        for column in section.columns:
            if column.drill == metric:
                return column.label
    return metric.replace("_", " ").replace(":", ": ")


def _drill_url(
    report: Report,
    section: Section,
    column: Column,
    row: dict[str, Any],
    f: ReportFilters,
) -> str | None:
    if not column.drill:
        return None
    narrowed = f
    if section.row_filter:
        if row.get("key") is None:
            return None
        narrowed = f.with_(**{section.row_filter: row["key"]})
    metric = column.drill
    if metric == "=key":
        metric = str(row.get("key"))
    elif metric in ("reason", "stage", "title") or metric.endswith(":"):
        metric = f"{metric.rstrip(':')}:{row.get('key')}"
    elif report.key == "scoreboard" and metric.startswith("p"):
        period = f
        for _ in range(int(metric[1:])):
            period = period.previous()
        narrowed, metric = period, str(row.get("key"))
    url = reverse("reports:drilldown", args=[report.key])
    return f"{url}?{narrowed.querystring(metric=metric)}"


def _group_heads(columns: tuple[Column, ...] | list[Column]) -> list[dict[str, Any]]:
    """The row of group headings over the columns: one cell per run of columns of the
    same group (an empty one over columns of none); the first column's own, as it stays
    in place when the table scrolls."""
    heads: list[dict[str, Any]] = []
    for i, column in enumerate(columns):
        if i > 1 and heads[-1]["label"] == column.group:
            heads[-1]["span"] += 1
        else:
            heads.append({"label": column.group, "span": 1})
    return heads


def _layout(
    report: Report, section: Section, rows: list[dict[str, Any]], f: ReportFilters
) -> dict[str, Any]:
    shown = rows_of(section, rows)
    table = []
    for row in shown:
        cells = []
        for column in section.columns:
            value = column.value(row)
            plain = value.value if isinstance(value, Measure) else value
            cells.append(
                {
                    "key": column.key,
                    "text": display(value, column.kind),
                    "url": _drill_url(report, section, column, row, f)
                    if plain not in (None, 0)
                    else None,
                    "numeric": column.kind != "text",
                    "detail": column.detail,
                }
            )
        table.append({"id": f"{row.get('section')}:{row.get('key')}", "cells": cells})
    grouped = any(c.group for c in section.columns)
    details = sum(1 for c in section.columns if c.detail)
    return {
        "key": section.key,
        "title": section.title,
        "note": section.note,
        "columns": section.columns,
        "groups": _group_heads(section.columns) if grouped else None,
        "summary_groups": _group_heads([c for c in section.columns if not c.detail])
        if grouped and details
        else None,
        "details": details,
        "rows": table,
        "charts": _charts(section, shown) if section.chart and shown else [],
    }


PALETTE = ["#3b6fd8", "#e3a008", "#dc2626", "#0e9f6e", "#7e3af2", "#6b7280", "#ff8a4c"]


def _number(value: Any) -> float | None:
    if isinstance(value, Measure):
        value = value.value
    if isinstance(value, Shown):
        value = value.percent  # a rate is charted as its share
    if value is None or isinstance(value, bool | str):
        return None
    return float(value)


# The unit of a chart's value axis, by the kind of its values: one unit per axis.
UNIT_OF_KIND = {"money": "money", "pct": "pct", "rate": "pct", "hours": "hours"}
UNIT_NAMES = {
    "count": "Counts",
    "money": f"Amounts ({CURRENCY})",
    "pct": "Rates (%)",
    "hours": "Business hours",
}
AXIS_TITLES = {"count": "leads", "money": CURRENCY, "pct": "%", "hours": "business hours"}


def _charts(section: Section, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A section's chart, as one small chart per unit when its values have several
    (counts, money and rates never share an axis): a figure column's rows are split by
    their unit, other columns by their kind."""
    chart = section.chart
    assert chart is not None
    kinds = {c.key: c.kind for c in section.columns}
    parts: dict[str, tuple[list[dict[str, Any]], list[str]]] = {}
    if any(kinds.get(key) == "figure" for key in chart.columns):
        for row in rows:
            unit = ROW_UNITS.get(str(row.get("key")), "count")
            parts.setdefault(unit, ([], list(chart.columns)))[0].append(row)
    else:
        for key in chart.columns:
            unit = UNIT_OF_KIND.get(kinds.get(key, ""), "count")
            parts.setdefault(unit, (rows, []))[1].append(key)
    split = len(parts) > 1
    return [
        _chart(section, unit_rows, tuple(keys), unit, split)
        for unit, (unit_rows, keys) in parts.items()
    ]


def _chart(
    section: Section, rows: list[dict[str, Any]], keys: tuple[str, ...], unit: str, split: bool
) -> dict[str, Any]:
    chart = section.chart
    assert chart is not None
    labels_by_key = {c.key: c.label for c in section.columns}
    label_column = section.columns[0]
    datasets = []
    for i, key in enumerate(keys):
        colour = PALETTE[i % len(PALETTE)]
        values = [row.get(key) for row in rows]
        if key in ("ttft_median", "ttft_p90"):
            values = [None if v is None else v / 3600 for v in values]
        datasets.append(
            {
                "label": labels_by_key.get(key, key),
                "data": [_number(v) for v in values],
                "backgroundColor": colour,
                "borderColor": colour,
                "spanGaps": True,
            }
        )
    title = f"{chart.title}: {UNIT_NAMES[unit].lower()}" if split else chart.title
    value_axis, index_axis = ("x", "y") if chart.horizontal else ("y", "x")
    return {
        "id": f"chart-{section.key}-{unit}",
        "title": title,
        "heading": UNIT_NAMES[unit] if split else "",
        "config": {
            "type": chart.type,
            "data": {
                "labels": [display(label_column.value(r), label_column.kind) for r in rows],
                "datasets": datasets,
            },
            "options": {
                "animation": False,
                "responsive": True,
                "maintainAspectRatio": False,
                "indexAxis": "y" if chart.horizontal else "x",
                "plugins": {"title": {"display": False}, "legend": {"position": "bottom"}},
                "scales": {
                    value_axis: {
                        "beginAtZero": True,
                        "stacked": chart.stacked,
                        "title": {"display": True, "text": AXIS_TITLES[unit]},
                        # Leads are counted whole: no 2.5 on a count's axis.
                        "ticks": {"precision": 0} if unit == "count" else {},
                    },
                    index_axis: {"stacked": chart.stacked},
                },
            },
        },
    }


def _options(user: Any, report: Report) -> dict[str, Any]:
    """The choices of the filter form (a rep gets no team or rep choice)."""
    options: dict[str, Any] = {
        "channels": list(Channel.objects.order_by("name").values_list("pk", "name")),
        "campaigns": list(Campaign.objects.order_by("name").values_list("pk", "name")),
        "personas": list(Persona.objects.order_by("name").values_list("pk", "name")),
    }
    if not is_rep_only(user):
        options["teams"] = list(Team.objects.order_by("name").values_list("pk", "name"))
        reps = (
            get_user_model()
            .objects.filter(rep_profile__isnull=False)
            .order_by("first_name", "last_name", "username")
        )
        options["reps"] = [(u.pk, roles.display_name(u)) for u in reps]
    return options
