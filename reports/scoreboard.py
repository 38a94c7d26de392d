"""The SLA scoreboard: both sides' commitments next to what happened, for the range and
the three ranges of the same shape before it — the same figures as the delivery and
sales activity reports (reports.figures)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.utils import timezone

from agreements.models import Agreement, TouchGoal

from . import delivery
from .figures.base import Figure, LazyFigures, Shown, tally_together
from .figures.sales import SLA_DECIDED, SLA_MET, touch_goal, untouched
from .filters import ReportFilters
from .sales import untouched_thresholds

SCOREBOARD_PERIODS = 4


def periods_of(f: ReportFilters) -> list[ReportFilters]:
    """The range and the ranges of the same shape before it, newest first."""
    periods = [f]
    for _ in range(SCOREBOARD_PERIODS - 1):
        periods.append(periods[-1].previous())
    return periods


def _goals() -> list[TouchGoal]:
    agreement = Agreement.current()
    return list(agreement.touch_goals.all()) if agreement is not None else []


def sales_figures() -> dict[str, Figure]:
    """The sales rows' figures by row key (a rate: its numerator), for the agreement in
    force."""
    figures: dict[str, Figure] = {"sla_met_share": SLA_MET}
    first = untouched(untouched_thresholds()[0])
    figures["untouched_1"] = replace(first, key="untouched_1")
    goals = _goals()
    if goals:
        figures["goal_share"] = touch_goal(goals)[0]
    return figures


# Each row's figure by drill metric (the row key): marketing's from the delivery report,
# sales' from the sales activity report.
FIGURES = LazyFigures(lambda: {**delivery.FIGURES, **sales_figures()})


def _kept(actual: Any, target: Decimal | None, *, at_most: bool = False) -> bool | None:
    if isinstance(actual, Shown):
        actual = actual.percent
    if target is None or actual is None:
        return None
    return actual <= target if at_most else actual >= target


def sla_scoreboard(f: ReportFilters, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """One row per commitment, `p0_*` the chosen range and `p1_*`… the ones before it:
    label, target, actual (a rate as "n of m") and whether it was kept."""
    now = now or timezone.now()
    periods = periods_of(f)
    commitment = delivery.active_commitment()
    thresholds = untouched_thresholds()
    goals = _goals()
    first_untouched = untouched(thresholds[0])
    goal_reached, goal_decided = touch_goal(goals) if goals else (None, None)
    sales = tuple(
        figure
        for figure in (SLA_MET, SLA_DECIDED, first_untouched, goal_reached, goal_decided)
        if figure is not None
    )
    rows: dict[str, dict[str, Any]] = {}

    def put(key: str, side: str, label: str, promise: str, i: int, **cells: Any) -> None:
        row = rows.setdefault(
            key, {"section": side, "key": key, "label": label, "promise": promise}
        )
        row[f"p{i}_label"] = periods[i].label()
        for name, value in cells.items():
            row[f"p{i}_{name}"] = value

    promise = "; ".join(f"{g.touches} touches in {g.within_days} days" for g in goals[:2])
    for i, p in enumerate(periods):
        done = delivery.totals(p, now)
        for key, label in delivery.COMMITMENT_FIGURES:
            if commitment is None:
                target = None
            elif key == "acceptance_rate":
                target = Decimal(commitment.min_acceptance_rate)
            else:
                target = delivery.commitment_target(
                    getattr(commitment, key), commitment.period, p.start_day, p.end_day
                )
            actual = done[key]
            put(
                key,
                "marketing",
                label,
                "at least the target",
                i,
                target=target,
                actual=actual,
                kept=_kept(actual, target),
            )
        coverage = done["feedback_coverage"]
        put(
            "feedback_coverage",
            "marketing",
            "Feedback coverage (%)",
            "every closed lead",
            i,
            target=Decimal(100),
            actual=coverage,
            kept=_kept(coverage, Decimal(100)),
        )
        counted = {
            key: values.get(None, 0) for key, values in tally_together(sales, None, p, now).items()
        }
        # Clocks, as the drill-down's leads say: "5 clocks on 4 leads of 8" when a lead
        # had two (a Counted keeps its leads).
        met = Shown(counted[SLA_MET.key], int(counted[SLA_DECIDED.key]))
        put(
            "sla_met_share",
            "sales",
            "First touch within the SLA (%)",
            "every clock met",
            i,
            target=Decimal(100),
            actual=met,
            kept=_kept(met, Decimal(100)),
        )
        left = counted[first_untouched.key]
        put(
            "untouched_1",
            "sales",
            f"Tenures untouched after {thresholds[0]} days",
            "none",
            i,
            target=Decimal(0),
            actual=left,
            kept=left == 0,
        )
        if goal_reached is not None and goal_decided is not None:
            goal = Shown(counted[goal_reached.key], counted[goal_decided.key])
            put(
                "goal_share",
                "sales",
                "Leads that reached the touch goal (%)",
                promise,
                i,
                target=Decimal(100),
                actual=goal,
                kept=_kept(goal, Decimal(100)),
            )
    return list(rows.values())
