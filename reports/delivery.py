"""Marketing delivery: leads, MQLs and accepted leads against the commitment, by channel,
campaign and persona, and why sales disqualified them — all from reports.figures.marketing.

The pacing snapshots read `delivered`, the same figures as the page.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone

from agreements.models import Agreement, Channel, MarketingCommitment, Persona
from leads.models import Campaign

from .figures import marketing as m
from .figures.base import CURRENCY, Figure, Shown, leads_by_facts, share, tally_together
from .filters import NONE, ReportFilters

CENT = Decimal("0.01")

# The figures of a delivery row, by column.
ROW_FIGURES: tuple[Figure, ...] = (
    m.NEW_LEADS,
    m.MQLS_DELIVERED,
    m.MQLS_ACCEPTED,
    m.DISQUALIFIED,
    m.JUNK_SPAM,
    m.CLOSED,
    m.TRACEABLE,
)
GROUP_NAMES = {"channel": Channel, "campaign": Campaign, "persona": Persona}
FACTS = tuple(GROUP_NAMES)

FIGURES: dict[str, Figure] = {**m.DELIVERY_FIGURES, "pipeline_amount": m.PIPELINE.amount}

COMMITMENT_FIGURES = (
    ("new_leads", "New leads"),
    ("mqls", "MQLs"),
    ("sales_accepted", "Sales-accepted leads (SQL)"),
    ("pipeline_amount", f"Pipeline amount ({CURRENCY})"),
    ("acceptance_rate", "Acceptance rate (%)"),
)


def summed(counts: dict[tuple[Any, ...], int], position: int | None) -> dict[Any, int]:
    """The counts of `by_lead_facts` summed by one fact (its position), or in all (None)."""
    out: dict[Any, int] = defaultdict(int)
    for combination, n in counts.items():
        out[None if position is None else combination[position]] += n
    return dict(out)


def _with_rates(row: dict[str, Any]) -> dict[str, Any]:
    row["acceptance_rate"] = Shown(row["sales_accepted"], row["mqls"])
    row["feedback_coverage"] = Shown(row["traceable"], row["closed"])
    return row


def totals(
    f: ReportFilters, now: dt.datetime, counted: dict[str, dict[tuple[Any, ...], int]] | None = None
) -> dict[str, Any]:
    """The delivery figures for the whole of the filters, with the pipeline opened."""
    if counted is None:
        # The figures of one base in one pass over its rows (tally_together).
        together = tally_together(ROW_FIGURES, None, f, now)
        row: dict[str, Any] = {key: values[None] for key, values in together.items()}
    else:
        row = {key: summed(values, None).get(None, 0) for key, values in counted.items()}
    row["pipeline_amount"] = m.PIPELINE.amount.total(f, now)
    return _with_rates(row)


def _group_rows(group: str, counts: dict[str, dict[tuple[Any, ...], int]]) -> list[dict[str, Any]]:
    counted = {key: summed(values, FACTS.index(group)) for key, values in counts.items()}
    keys = {key for values in counted.values() for key in values}
    names = dict(GROUP_NAMES[group].objects.filter(pk__in=keys).values_list("pk", "name"))
    rows = []
    for key in keys:
        row = {name: values.get(key, 0) for name, values in counted.items()}
        row.update(
            section=group,
            key=NONE if key is None else key,
            label=names.get(key, f"No {group}"),
        )
        rows.append(_with_rates(row))
    return sorted(rows, key=lambda r: (-r["mqls"], -r["new_leads"], r["label"]))


def reason_rows(counts: dict[str, int], junk: int = 0) -> list[dict[str, Any]]:
    """Rows of disqualified leads per structured reason, then the junk / spam line (leads
    disqualified as junk: no feedback, so no reason) when there is any."""
    rows = [
        {"section": "reason", "key": reason, "label": m.reason_label(reason), "leads": n}
        for reason, n in counts.items()
    ]
    rows.sort(key=lambda r: (-r["leads"], r["label"]))
    if junk:
        rows.append(
            {"section": "reason", "key": m.JUNK, "label": m.reason_label(m.JUNK), "leads": junk}
        )
    return rows


def marketing_delivery(f: ReportFilters, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The delivery report's rows. Sections: commitment, total, channel, campaign,
    persona, reason."""
    now = now or timezone.now()
    counts = leads_by_facts(ROW_FIGURES, FACTS, f, now)
    total = totals(f, now, counts)
    total.update(section="total", key=None, label="All leads")
    rows = commitment_rows(f, total, now)
    rows.append(total)
    for group in GROUP_NAMES:
        rows += _group_rows(group, counts)
    rows += reason_rows(m.reason_counts(m.DISQUALIFIED.events(f, now)), total[m.JUNK])
    return rows


def delivered(start: dt.datetime, end: dt.datetime, now: dt.datetime) -> dict[str, Decimal]:
    """What marketing delivered in [start, end), as the pacing snapshots store it: the
    delivery report's figures (acceptance rate in %, 0 without MQLs)."""
    f = ReportFilters(
        start_day=timezone.localtime(start).date(),
        end_day=timezone.localtime(end).date(),
        exact_start=start,
        exact_end=end,
    )
    row = totals(f, now)
    rate = row["acceptance_rate"].percent
    return {
        "new_leads": Decimal(row["new_leads"]),
        "mqls": Decimal(row["mqls"]),
        "sales_accepted": Decimal(row["sales_accepted"]),
        "pipeline_amount": Decimal(row["pipeline_amount"]),
        "acceptance_rate": rate if rate is not None else Decimal(0),
    }


# --- Against the commitment --------------------------------------------------------------


def _period_of(day: dt.date, period: str) -> tuple[dt.date, dt.date]:
    first_month = day.month if period == "month" else 3 * ((day.month - 1) // 3) + 1
    start = day.replace(month=first_month, day=1)
    months = 1 if period == "month" else 3
    year, month = divmod(first_month - 1 + months, 12)
    return start, dt.date(day.year + year, month + 1, 1) - dt.timedelta(days=1)


def commitment_target(target: Decimal, period: str, start: dt.date, end: dt.date) -> Decimal:
    """A month's or quarter's target for the days [start, end]: whole periods count whole,
    parts count by their share of the period's days."""
    total = Decimal(0)
    day = start
    while day <= end:
        p_start, p_end = _period_of(day, period)
        last = min(p_end, end)
        part = Decimal((last - day).days + 1) / Decimal((p_end - p_start).days + 1)
        total += Decimal(target) * part
        day = last + dt.timedelta(days=1)
    return total.quantize(CENT, ROUND_HALF_UP)


def active_commitment(agreement: Agreement | None = None) -> MarketingCommitment | None:
    """The active agreement's monthly commitment (or its quarterly one)."""
    agreement = agreement or Agreement.current()
    if agreement is None:
        return None
    found = {c.period: c for c in agreement.commitments.all()}
    return found.get("month") or found.get("quarter")


def commitment_rows(
    f: ReportFilters, total: dict[str, Any], now: dt.datetime
) -> list[dict[str, Any]]:
    """Each committed figure: the target prorated to the days, what the days so far should
    have brought, and what was delivered (the same figures as the total row)."""
    commitment = active_commitment()
    if commitment is None:
        return []
    elapsed = min(max(now, f.start), f.end) - f.start
    so_far = Decimal(elapsed.total_seconds()) / Decimal((f.end - f.start).total_seconds())
    rows = []
    for key, label in COMMITMENT_FIGURES:
        if key == "acceptance_rate":
            done = total[key].percent
            target = expected = Decimal(commitment.min_acceptance_rate)
        else:
            done = total[key]
            target = commitment_target(
                getattr(commitment, key), commitment.period, f.start_day, f.end_day
            )
            expected = (target * so_far).quantize(CENT, ROUND_HALF_UP)
        rows.append(
            {
                "section": "commitment",
                "key": key,
                "label": label,
                "target": target,
                "expected_by_now": expected,
                "delivered": done,
                "pace": share(done or 0, expected) if expected else None,
                "on_pace": None if done is None else done >= expected,
            }
        )
    return rows
