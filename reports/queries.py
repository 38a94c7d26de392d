"""Report figures, one function each: pages, exports, snapshots and tests call the same one."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Sum

from leads.models import Deal, Lead, StageChange
from leads.stages import Stage


def marketing_delivered(start: dt.datetime, end: dt.datetime) -> dict[str, Decimal]:
    """What marketing delivered in [start, end): leads from marketing-sourced channels.

    new_leads (created), mqls and sales_accepted (distinct leads that entered MQL /
    SQL), pipeline_amount (deals opened) and acceptance_rate (SQL per MQL, in %).
    """
    marketing = {"lead__channel__is_marketing_sourced": True}
    new_leads = Lead.objects.filter(
        channel__is_marketing_sourced=True, created_at__gte=start, created_at__lt=end
    ).count()
    entered = StageChange.objects.filter(at__gte=start, at__lt=end, **marketing)
    mqls = entered.filter(to_stage=Stage.MQL).values("lead_id").distinct().count()
    accepted = entered.filter(to_stage=Stage.SQL).values("lead_id").distinct().count()
    pipeline = Deal.objects.filter(opened_at__gte=start, opened_at__lt=end, **marketing).aggregate(
        total=Sum("amount")
    )["total"] or Decimal("0")
    rate = (Decimal(accepted) * 100 / mqls).quantize(Decimal("0.01")) if mqls else Decimal("0")
    return {
        "new_leads": Decimal(new_leads),
        "mqls": Decimal(mqls),
        "sales_accepted": Decimal(accepted),
        "pipeline_amount": Decimal(pipeline),
        "acceptance_rate": rate,
    }
