"""Daily: how marketing paces against each commitment of the active agreement.

Stores delivered-so-far against target, the share expected by today and the pace
still needed, in sla.models.PacingSnapshot, for the reports' trends.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from agreements.models import Agreement
from sla.models import PacingSnapshot

from .delivery import delivered as marketing_delivered
from .filters import local_midnight


def period_bounds(day: dt.date, period: str) -> tuple[dt.date, dt.date]:
    """The first and last day of the month or quarter containing `day`."""
    first_month = day.month if period == "month" else 3 * ((day.month - 1) // 3) + 1
    start = day.replace(month=first_month, day=1)
    months = 1 if period == "month" else 3
    year, month = divmod(first_month - 1 + months, 12)
    end = dt.date(day.year + year, month + 1, 1) - dt.timedelta(days=1)
    return start, end


def snapshot_marketing_pacing(now: dt.datetime | None = None) -> int:
    """Store today's delivered-so-far vs target for each commitment of the active agreement.

    One row per day, period and figure (re-running the same day refreshes it).
    Returns the number of rows written.
    """
    now = now or timezone.now()
    agreement = Agreement.current()
    if agreement is None:
        return 0
    # The site's days, as the delivery report counts its commitments (an MQL late on
    # 31 March is March's on both, whatever the agreement calendar's zone).
    today = timezone.localdate(now)
    written = 0
    for commitment in agreement.commitments.all():
        start, end = period_bounds(today, commitment.period)
        since = local_midnight(start)
        delivered = marketing_delivered(since, now, now)
        total_days = (end - start).days + 1
        elapsed = (today - start).days + 1
        days_left = total_days - elapsed
        targets = {
            PacingSnapshot.Figure.NEW_LEADS: commitment.new_leads,
            PacingSnapshot.Figure.MQLS: commitment.mqls,
            PacingSnapshot.Figure.SALES_ACCEPTED: commitment.sales_accepted,
            PacingSnapshot.Figure.PIPELINE: commitment.pipeline_amount,
            PacingSnapshot.Figure.ACCEPTANCE_RATE: commitment.min_acceptance_rate,
        }
        with transaction.atomic():
            for figure, target in targets.items():
                target = Decimal(target or 0)
                done = delivered[figure]
                is_rate = figure == PacingSnapshot.Figure.ACCEPTANCE_RATE
                expected = None if is_rate else _cents(target * elapsed / total_days)
                needed = None
                if not is_rate:
                    needed = _cents(max(target - done, Decimal(0)) / max(days_left, 1))
                PacingSnapshot.objects.update_or_create(
                    date=today,
                    period=commitment.period,
                    figure=figure,
                    defaults={
                        "agreement": agreement,
                        "period_start": start,
                        "period_end": end,
                        "target": target,
                        "delivered": done,
                        "expected_by_now": expected,
                        "pace_needed_per_day": needed,
                        "days_left": days_left,
                        "taken_at": now,
                    },
                )
                written += 1
    return written


def _cents(value: Decimal) -> Decimal:
    """Money and lead counts per day are stored to the cent."""
    return Decimal(value).quantize(Decimal("0.01"))
