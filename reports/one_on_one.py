"""The 1:1 report: the MQLs marketing handed over in the range, who they are, what sales
did with them since and the pipeline they made — all from reports.figures.marketing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from agreements.models import Persona
from agreements.stages import Stage

from .delivery import by_lead_facts, reason_rows, summed
from .figures import marketing as m
from .figures.base import Kind, Shown
from .filters import NONE, ReportFilters

TOP_TITLES = 15


def _median_customer_wait(f: ReportFilters, now: dt.datetime) -> int | None:
    """The median customer wait (business seconds, nearest rank) of the first touches on
    the handed-over leads' clocks since they became MQLs."""
    waits = m.since_handed_over(Kind.FIRST_TOUCH, f, now).filter(customer_wait__isnull=False)
    n = waits.count()
    if not n:
        return None
    rank = (n + 1) // 2  # nearest rank: ⌈n × 0.5⌉
    return waits.order_by("customer_wait").values_list("customer_wait", flat=True)[rank - 1]


# The lead facts the handed-over leads are counted by, once each (delivery.by_lead_facts).
FACTS = ("persona", "title", "stage")
Counts = dict[str, dict[tuple[Any, ...], int]]


def summary_row(f: ReportFilters, now: dt.datetime, counts: Counts) -> dict[str, Any]:
    """Handed over and what sales did with them."""
    row: dict[str, Any] = {
        figure.key: figure.total(f, now)
        for figure in (m.TOUCHED, m.OPEN_UNTOUCHED, m.NURTURE, m.WON_SINCE)
    }
    for key in ("handed_over", "disqualified", "accepted"):
        row[key] = summed(counts[key], None).get(None, 0)
    row["acceptance_rate"] = Shown(row["accepted"], row["handed_over"])
    row["deals"] = m.HANDED_OVER_DEALS.tally(None, f, now)[None]
    row["pipeline_amount"] = m.HANDED_OVER_PIPELINE.total(f, now)
    # Clocks, not leads: "3 clocks on 2 leads of 4" when a lead had several.
    met = m.HANDED_OVER_SLA_MET.tally(None, f, now)[None]
    breached = m.HANDED_OVER_SLA_BREACHED.total(f, now)
    row["sla_met_share"] = Shown(met, int(met) + int(breached))
    row["ttft_median"] = _median_customer_wait(f, now)
    row.update(section="summary", key=None, label=f"Since {f.start_day:%d %b %Y}")
    return row


def persona_rows(f: ReportFilters, now: dt.datetime, counts: Counts) -> list[dict[str, Any]]:
    """The handed-over leads by persona."""
    counted = {
        "leads": summed(counts["handed_over"], 0),
        "accepted": summed(counts["accepted"], 0),
        "disqualified": summed(counts["disqualified"], 0),
        "pipeline_amount": m.HANDED_OVER_PIPELINE.by("persona", f, now),
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
    leads = summed(counts["handed_over"], 1)
    accepted = summed(counts["accepted"], 1)
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
    found = summed(counts["handed_over"], 2)
    return [
        {"section": "stage", "key": s.value, "label": s.label, "leads": found[s.value]}
        for s in Stage
        if found.get(s.value)
    ]


def one_on_one(f: ReportFilters, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The 1:1 report's rows. Sections: summary, stage, persona, title, reason."""
    now = now or timezone.now()
    counts = {
        figure.key: by_lead_facts(figure, FACTS, f, now)
        for figure in (m.HANDED_OVER, m.MQLS_ACCEPTED, m.ONE_ON_ONE_DISQUALIFIED)
    }
    counts["accepted"] = counts.pop(m.MQLS_ACCEPTED.key)
    return [
        summary_row(f, now, counts),
        *stage_rows(counts),
        *persona_rows(f, now, counts),
        *title_rows(counts),
        *reason_rows(m.reason_counts(m.ONE_ON_ONE_DQ.events(f, now))),
    ]
