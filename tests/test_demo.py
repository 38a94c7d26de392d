"""After a fresh `seed_demo`, every report shows real figures on its default range: the
manager who runs `make run` sees the story, not empty tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from leads.models import Deal
from reports.filters import filters_from
from reports.models import ReportSnapshot
from reports.tables import REPORTS, rows_of
from sla.models import PacingSnapshot

pytestmark = pytest.mark.django_db

# A Wednesday afternoon in the middle of a month (the demo's calendar is Europe/Berlin).
NOW = dt.datetime(2026, 12, 16, 14, 30, tzinfo=ZoneInfo("Europe/Berlin"))


# Sections whose rows are all zeros by what they list: assets nobody used in 90 days.
ZERO_BY_DEFINITION = {("content", "unused")}


def _number(value: Any) -> Decimal:
    """A cell's number: a rate or an "n of m" counts its part."""
    part = getattr(value, "part", None)
    if part is not None:
        return _number(part)
    if isinstance(value, bool) or value is None:
        return Decimal(0)
    if isinstance(value, int | float | Decimal):
        return Decimal(value)
    return Decimal(0)


def _figures(key: str, manager: User) -> dict[str, list[dict[str, Any]]]:
    """Each section's rows of a report on its default range, as the manager sees them."""
    report = REPORTS[key]
    f = filters_from({}, manager, report=key)
    rows = report.query(f, timezone.now())
    return {section.key: rows_of(section, rows) for section in report.sections_of(rows)}


def _nonzero(rows: list[dict[str, Any]], column: str) -> bool:
    return any(_number(row.get(column)) > 0 for row in rows)


def _report_pages_open(client: Any, manager: User) -> None:
    """Every report opens on its default range, and each of its sections has a figure."""
    client.force_login(manager)
    for key in REPORTS:
        assert client.get(f"/reports/{key}/").status_code == 200, key
        for section, rows in _figures(key, manager).items():
            assert rows, (key, section)
            if (key, section) in ZERO_BY_DEFINITION:
                continue
            values = [v for row in rows for k, v in row.items() if k not in ("key", "label")]
            assert any(_number(v) > 0 for v in values), (key, section)


def _sales_activity(manager: User) -> None:
    """Untouched after 30/60/90 days, times to first touch, SLA met and breached."""
    sales = _figures("sales", manager)
    (total,) = sales["total"]
    for n in (1, 2, 3):
        assert total[f"untouched_{n}"] > 0, (n, total)
    assert [total[f"untouched_{n}_days"] for n in (1, 2, 3)] == [30, 60, 90]
    assert total["sla_met"] > 0 and total["sla_breached"] > 0
    assert total["customer_wait_p50"] and total["customer_wait_p50"] > 0
    assert total["assigned"] > 0 and total["touches"] > 0
    assert _nonzero(sales["rep"], "sla_met") and _nonzero(sales["team"], "untouched_3")


def _marketing_delivery(manager: User) -> None:
    """Acceptance, feedback coverage, reasons and the commitment."""
    delivery = _figures("delivery", manager)
    (total,) = delivery["total"]
    assert total["mqls"] > 0 and total["sales_accepted"] > 0
    assert total["acceptance_rate"].part > 0
    assert total["closed"] > 0 and total["traceable"] > 0
    assert {row["key"] for row in delivery["commitment"]} >= {"mqls", "new_leads"}


def _pipeline(manager: User) -> None:
    """Attribution where first, last and linear touch give different answers."""
    pipeline = _figures("pipeline", manager)
    attribution = pipeline["attribution"]
    assert any(len({row["first"], row["last"], row["linear"]}) > 1 for row in attribution)
    assert _nonzero(pipeline["cost"], "cost") and _nonzero(pipeline["cost"], "mqls")
    assert {deal.status for deal in Deal.objects.all()} == set(Deal.Status.values)


def _one_on_one_and_scoreboard(manager: User) -> None:
    (summary,) = _figures("one_on_one", manager)["summary"]
    assert summary["handed_over"] > 0 and summary["touched"] > 0
    assert summary["sla_met_share"].part > 0
    scoreboard = _figures("scoreboard", manager)
    assert scoreboard["marketing"] and scoreboard["sales"]
    assert any(_number(row.get("p0_actual")) > 0 for row in scoreboard["sales"])


def _trends(manager: User) -> None:
    """Snapshots over twelve months, each day's stage counts as they were that day."""
    trends = _figures("trends", manager)
    days = sorted(row["key"] for row in trends["funnel"])
    today = timezone.localdate()
    assert days[0] <= today - dt.timedelta(days=350), days[0]
    assert days[-1] == today - dt.timedelta(days=1)
    assert len({(day.year, day.month) for day in days}) >= 12
    assert _nonzero(trends["sla"], "sla_met") and _nonzero(trends["sla"], "sla_breached")
    assert all(_nonzero(trends["untouched"], f"untouched_{n}") for n in (1, 2, 3))
    assert _nonzero(trends["pace"], "delivered")
    first, last = trends["funnel"][0], trends["funnel"][-1]
    assert sum(first[k] for k in first if k.startswith("stage_")) < sum(
        last[k] for k in last if k.startswith("stage_")
    )
    assert ReportSnapshot.objects.filter(dimension="rep").exists()
    assert PacingSnapshot.objects.filter(figure="mqls").values("date").distinct().count() >= len(
        days
    )


def _content(manager: User) -> None:
    """The demo's library is used, shared, opened and rated; one request is answered."""
    content = _figures("content", manager)
    assert _nonzero(content["asset"], "used") and _nonzero(content["asset"], "opens")
    assert _nonzero(content["asset"], "shared") and _nonzero(content["asset"], "rated")
    (requests,) = content["requests"]
    assert (int(requests["requested"]), int(requests["open"])) == (3, 2)


def test_after_a_fresh_seed_every_report_shows_the_story_on_its_default_range(client):
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", stdout=StringIO())
        manager = User.objects.get(username="manager")
        _report_pages_open(client, manager)
        _sales_activity(manager)
        _marketing_delivery(manager)
        _pipeline(manager)
        _one_on_one_and_scoreboard(manager)
        _trends(manager)
        _content(manager)


def test_sales_activity_and_trends_default_to_the_last_twelve_months():
    today = dt.date(2026, 12, 16)
    for key in ("sales", "trends"):
        f = filters_from({}, None, today=today, report=key)
        assert (f.start_day, f.end_day) == (dt.date(2025, 12, 17), today)
    for key in ("delivery", "pipeline", "one_on_one", "scoreboard", ""):
        f = filters_from({}, None, today=today, report=key)
        assert (f.start_day, f.end_day) == (dt.date(2026, 12, 1), today)
    # A chosen range wins over the default.
    f = filters_from({"start": "2026-03-01", "end": "2026-03-31"}, None, today, report="sales")
    assert (f.start_day, f.end_day) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
