"""Time to first touch in business time, stamped on the lead when the touch happens.

Reports take medians and percentiles of it in SQL; the business-time arithmetic
itself stays in agreements.calendar (SQL cannot follow a calendar's hours,
holidays and daylight-saving changes), so the figure is computed once, here.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from agreements.calendar import CalendarSpec, business_duration_between

if TYPE_CHECKING:
    from .models import Lead


def reached_sales_at(lead: Lead, at: dt.datetime) -> dt.datetime:
    """When the lead became the rep's to answer: the latest of its creation, its last
    entry into MQL before `at` and its assignment to the current owner."""
    from agreements.stages import Stage

    from .models import StageChange

    moments = [lead.created_at]
    if lead.assigned_at is not None:
        moments.append(lead.assigned_at)
    if lead.pk is not None:
        entered = (
            StageChange.objects.filter(lead_id=lead.pk, to_stage=Stage.MQL, at__lte=at)
            .order_by("-at")
            .values_list("at", flat=True)
            .first()
        )
        if entered is not None:
            moments.append(entered)
    return min(max(moments), at)


def calendar_now() -> CalendarSpec:
    """The active agreement's business calendar (Mon–Fri 09–17 UTC without one)."""
    from agreements.models import Agreement

    agreement = Agreement.current()
    spec = agreement.calendar_spec() if agreement is not None else None
    return spec or CalendarSpec()


def business_seconds_to_first_touch(
    lead: Lead, at: dt.datetime, spec: CalendarSpec | None = None
) -> int:
    """Whole seconds of working time from `reached_sales_at` to the first touch at `at`."""
    start = reached_sales_at(lead, at)
    spent = business_duration_between(start, at, spec or calendar_now())
    return max(int(spent.total_seconds()), 0)
