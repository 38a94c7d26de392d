"""Pipeline and contribution: deals opened and won (sourced and influenced by marketing),
the pipeline's attribution to campaigns and what each campaign cost in the range."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

from leads.models import Campaign

from .figures import marketing as m
from .figures.base import Figure, tally_together
from .filters import ReportFilters

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

FIGURES: dict[str, Figure] = m.PIPELINE_FIGURES


def campaign_cost(campaign: Campaign, f: ReportFilters) -> Decimal | None:
    """The campaign's cost × the share of its days inside the range, to the cent; None
    for a campaign without both dates (its days are unknown)."""
    if campaign.starts_on is None or campaign.ends_on is None:
        return None
    days = (campaign.ends_on - campaign.starts_on).days + 1
    first, last = max(campaign.starts_on, f.start_day), min(campaign.ends_on, f.end_day)
    inside = max((last - first).days + 1, 0)
    if days <= 0:
        return ZERO
    return (campaign.cost * inside / days).quantize(CENT, ROUND_HALF_UP)


def _per(cost: Decimal | None, count: Any, places: Decimal = CENT) -> Decimal | None:
    if cost is None or not count:
        return None
    return (cost / Decimal(count)).quantize(places, ROUND_HALF_UP)


def deal_tallies(f: ReportFilters, now: dt.datetime) -> dict[str, Any]:
    """Every deal figure's deals (on how many leads) and amount, by figure key: one pass
    over the deals opened and one over the deals won (`tally_together`)."""
    figures = tuple(x for d in m.DEAL_FIGURES for x in (d.deals, d.amount))
    return {key: values[None] for key, values in tally_together(figures, None, f, now).items()}


def figure_rows(tallies: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per deal figure: its deals (on how many leads) and their amount."""
    return [
        {
            "section": "figure",
            "key": d.key,
            "label": d.label,
            "deals": tallies[d.deals.key],
            "amount": tallies[d.amount.key],
        }
        for d in m.DEAL_FIGURES
    ]


def attribution_rows(
    f: ReportFilters, now: dt.datetime, tallies: dict[str, Any]
) -> list[dict[str, Any]]:
    """Each campaign's first, last and linear credit, then the deals without a touch
    point; each column adds up to the pipeline opened."""
    credit = m.attribution(f, now)
    names = dict(Campaign.objects.filter(pk__in=credit).values_list("pk", "name"))
    rows = [
        {"section": "attribution", "key": key, "label": names[key], **credit[key]}
        for key in sorted(credit, key=lambda k: names[k])
    ]
    unattributed = tallies[m.UNATTRIBUTED.amount.key]
    if unattributed:
        rows.append(
            {
                "section": "attribution",
                "key": "unattributed",
                "label": "Unattributed",
                "first": unattributed,
                "last": unattributed,
                "linear": unattributed,
            }
        )
    return rows


def cost_rows(f: ReportFilters, now: dt.datetime) -> list[dict[str, Any]]:
    """Per campaign: its cost in the range and what its leads did in the range."""
    mqls = tally_together((m.MQLS_DELIVERED, m.MQLS_ACCEPTED), "campaign", f, now)
    counts = {
        "leads": m.NEW_LEADS.by("campaign", f, now),
        "mqls": mqls[m.MQLS_DELIVERED.key],
        "sqls": mqls[m.MQLS_ACCEPTED.key],
        "pipeline_amount": m.PIPELINE.amount.by("campaign", f, now),
    }
    active = {key for values in counts.values() for key in values if key is not None}
    overlapping = Q(
        Q(starts_on__isnull=True) | Q(starts_on__lte=f.end_day),
        Q(ends_on__isnull=True) | Q(ends_on__gte=f.start_day),
        cost__gt=0,
    )
    campaigns = Campaign.objects.filter(Q(pk__in=active) | overlapping)
    if f.channel is not None:
        campaigns = campaigns.filter(channel_id=f.channel)
    if f.campaign is not None:
        campaigns = campaigns.filter(pk=f.campaign)
    rows = []
    for campaign in campaigns.order_by("name"):
        row = {name: values.get(campaign.pk, 0) for name, values in counts.items()}
        row["pipeline_amount"] = row["pipeline_amount"] or ZERO
        cost = campaign_cost(campaign, f)
        row.update(
            section="cost",
            key=campaign.pk,
            label=campaign.name,
            cost=cost,
            cost_per_lead=_per(cost, row["leads"]),
            cost_per_mql=_per(cost, row["mqls"]),
            cost_per_sql=_per(cost, row["sqls"]),
            cost_per_pipeline=_per(cost, row["pipeline_amount"], Decimal("0.0001")),
        )
        rows.append(row)
    return rows


def pipeline_contribution(f: ReportFilters, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The pipeline report's rows. Sections: figure, attribution, cost."""
    now = now or timezone.now()
    tallies = deal_tallies(f, now)
    return [*figure_rows(tallies), *attribution_rows(f, now, tallies), *cost_rows(f, now)]
