"""The 1:1 report: the MQLs marketing handed over in the range, who they are, what sales
did with them since and the pipeline they made — all from reports.figures.marketing."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from agreements.models import Persona
from agreements.stages import Stage

from .delivery import reason_rows
from .figures import marketing as m
from .figures.base import Counted, Kind, Shown, nearest_rank
from .filters import NONE, ReportFilters

TOP_TITLES = 15


def _median_customer_wait(f: ReportFilters, now: dt.datetime) -> int | None:
    """The median customer wait (business seconds, nearest rank) of the first touches on
    the handed-over leads' clocks since they were handed over, in one query."""
    waits = m.since_handed_over(Kind.FIRST_TOUCH, f, now)
    return nearest_rank(waits, "customer_wait", None, (5,)).get(None, {}).get(5)


# The lead facts the handed-over leads are counted by (marketing.cohort_counts).
FACTS = ("persona", "title", "stage")
Counts = dict[tuple[Any, ...], dict[str, int]]


def _summed(counts: Counts, key: str, position: int | None) -> dict[Any, int]:
    """One cohort figure summed by one fact (its position in FACTS), or in all (None)."""
    out: dict[Any, int] = defaultdict(int)
    for combination, values in counts.items():
        if values[key]:
            out[None if position is None else combination[position]] += values[key]
    return dict(out)


def summary_row(
    f: ReportFilters, now: dt.datetime, counts: Counts, pipeline: dict[Any, Decimal]
) -> dict[str, Any]:
    """Handed over and what sales did with them."""
    row: dict[str, Any] = {key: _summed(counts, key, None).get(None, 0) for key in m.COHORT}
    row["acceptance_rate"] = Shown(row["accepted"], row["handed_over"])
    row["deals"] = m.HANDED_OVER_DEALS.tally(None, f, now)[None]
    # Each lead has one persona (or none): the personas' pipelines add up to the whole.
    row["pipeline_amount"] = sum(pipeline.values(), m.ZERO)
    # Clocks, not leads: "3 clocks on 2 leads of 4" when a lead had several. Both kinds in
    # one query over the events HANDED_OVER_SLA_MET and _BREACHED count.
    met, breached = Q(kind=Kind.CLOCK_MET), Q(kind=Kind.CLOCK_BREACHED)
    clocks = m.since_handed_over((Kind.CLOCK_MET, Kind.CLOCK_BREACHED), f, now).aggregate(
        met=Count("id", filter=met),
        met_leads=Count("lead", distinct=True, filter=met),
        breached=Count("id", filter=breached),
    )
    met_clocks = Counted(clocks["met"], clocks["met_leads"], m.HANDED_OVER_SLA_MET.unit)
    row["sla_met_share"] = Shown(met_clocks, clocks["met"] + clocks["breached"])
    row["ttft_median"] = _median_customer_wait(f, now)
    row.update(section="summary", key=None, label=f"Since {f.start_day:%d %b %Y}")
    return row


def persona_rows(counts: Counts, pipeline: dict[Any, Decimal]) -> list[dict[str, Any]]:
    """The handed-over leads by persona."""
    counted = {
        "leads": _summed(counts, "handed_over", 0),
        "accepted": _summed(counts, "accepted", 0),
        "disqualified": _summed(counts, "disqualified", 0),
        "pipeline_amount": pipeline,
    }
    names = dict(Persona.objects.values_list("pk", "name"))
    rows = []
    for key in counted["leads"]:
        row = {name: values.get(key, 0) for name, values in counted.items()}
        row["pipeline_amount"] = counted["pipeline_amount"].get(key, m.ZERO)
        row.update(
            section="persona",
            key=NONE if key is None else key,
            label=names.get(key, "No persona"),
        )
        rows.append(row)
    return sorted(rows, key=lambda r: (-r["leads"], r["label"]))


def title_rows(counts: Counts) -> list[dict[str, Any]]:
    """The most frequent titles of the handed-over leads."""
    leads = _summed(counts, "handed_over", 1)
    accepted = _summed(counts, "accepted", 1)
    top = sorted(leads.items(), key=lambda item: (-item[1], item[0]))[:TOP_TITLES]
    return [
        {
            "section": "title",
            "key": title,
            "label": title or "(no title)",
            "leads": n,
            "accepted": accepted.get(title, 0),
        }
        for title, n in top
    ]


def stage_rows(counts: Counts) -> list[dict[str, Any]]:
    """Where the handed-over leads are now."""
    found = _summed(counts, "handed_over", 2)
    return [
        {"section": "stage", "key": s.value, "label": s.label, "leads": found[s.value]}
        for s in Stage
        if found.get(s.value)
    ]


def one_on_one(f: ReportFilters, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The 1:1 report's rows. Sections: summary, stage, persona, title, reason."""
    now = now or timezone.now()
    counts = m.cohort_counts(FACTS, f, now)
    pipeline = m.HANDED_OVER_PIPELINE.by("persona", f, now)
    return [
        summary_row(f, now, counts, pipeline),
        *stage_rows(counts),
        *persona_rows(counts, pipeline),
        *title_rows(counts),
        *reason_rows(m.reason_counts(m.ONE_ON_ONE_DQ.events(f, now))),
    ]
